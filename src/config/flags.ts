// CLI flags that override settings. Each named flag maps to one schema path; `--set a.b=v`
// reaches any other setting. Flags win over env vars, which win over the config file.
import { BouncerError } from '../errors.js'

export const FLAG_PATHS: Readonly<Record<string, string>> = Object.freeze({
  '--upstream': 'upstream.url',
  '--policy': 'policy.path',
  '--entrypoint': 'policy.entrypoint',
  '--port': 'server.port',
  '--host': 'server.host',
  '--admin-port': 'admin.port',
  '--admin-host': 'admin.host',
  '--log-level': 'logging.level',
  '--mode': 'mode',
})
const BOOLEAN_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  '--production': 'production',
  '--allow-insecure': 'allow_insecure',
})

export interface ParsedFlags {
  file?: string
  flags: Array<readonly [dotted: string, value: unknown, flag: string]>
  help: boolean
}

export const FLAGS_HELP = `  --config FILE          YAML/JSON config file (env BOUNCER_CONFIG)
  --upstream URL         upstream.url
  --policy PATH          policy.path: Rego directory, .rego file or bundle .tar.gz
  --entrypoint NAME      policy.entrypoint (default bouncer/decision)
  --port N               server.port (default 8080)
  --host ADDR            server.host (default 0.0.0.0)
  --admin-port N         admin.port (default 9090)
  --admin-host ADDR      admin.host
  --log-level LEVEL      logging.level
  --mode MODE            mode: proxy (default) or ext_authz (Envoy asks; see ext_authz.*)
  --production           production mode
  --allow-insecure       allow plaintext/unsigned in production mode
  --set KEY=VALUE        any other setting by dotted path (e.g. --set cache.enabled=true)
  Every setting is also read from BOUNCER_<PATH> (e.g. BOUNCER_UPSTREAM_URL).`

export function parseConfigFlags (argv: readonly string[]): ParsedFlags {
  const out: ParsedFlags = { flags: [], help: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '-h' || arg === '--help') { out.help = true; continue }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
    const name = eq > 0 ? arg.slice(0, eq) : arg
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined
    const value = (): string => {
      if (inline !== undefined) return inline
      const v = argv[++i]
      if (v === undefined) throw new BouncerError('BOUNCER_ERR_CONFIG_FLAG', [`${name} needs a value`])
      return v
    }
    if (name === '--config') { out.file = value(); continue }
    if (name in BOOLEAN_FLAGS) {
      out.flags.push([BOOLEAN_FLAGS[name], inline === undefined ? true : inline, name])
      continue
    }
    if (name in FLAG_PATHS) { out.flags.push([FLAG_PATHS[name], value(), name]); continue }
    if (name === '--set') {
      const kv = value()
      const k = kv.indexOf('=')
      if (k <= 0) throw new BouncerError('BOUNCER_ERR_CONFIG_FLAG', [`--set expects KEY=VALUE, got ${JSON.stringify(kv)}`])
      out.flags.push([kv.slice(0, k), kv.slice(k + 1), `--set ${kv.slice(0, k)}`])
      continue
    }
    throw new BouncerError('BOUNCER_ERR_CONFIG_FLAG', [`unknown flag ${JSON.stringify(arg)}`])
  }
  return out
}
