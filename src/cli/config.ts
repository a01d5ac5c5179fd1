// bouncer config schema            print the configuration JSON Schema (Helm's values.schema.json source)
// bouncer config check [run flags] validate file + env + flags like `run` does; print the result
import { configSchema, ConfigError, FLAGS_HELP, loadConfig, parseConfigFlags, problemsText, requiredToRun } from '../config/index.js'
import { isBouncerError } from '../errors.js'
import { suggest } from './args.js'
import { redactUrl } from '../redact-url.js'
import { preflight } from '../app/preflight.js'

const USAGE = `usage: bouncer config schema
       bouncer config check [options]

schema  print the configuration JSON Schema (the source of Helm's values.schema.json)
check   validate the config file, BOUNCER_* environment variables and flags as \`run\` does,
        and print the resulting configuration (secrets redacted); exit 2 when invalid

check options:
${FLAGS_HELP}
`

const SECRET = /(^|_)(secret|hash_key|password|token|key)$/

function redact (v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => redact(x, key))
  // A JWK carries its secret in fields named for their math (k, d, p, q, dp, dq, qi).
  if (key === 'jwk' && v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, JWK_SECRET.has(k) ? '[redacted]' : x]))
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x, k)]))
  if (typeof v !== 'string') return v
  if (SECRET.test(key)) return '[redacted]'
  // URLs may hold a password or a token in their query (redis://:pw@..., ?api_key=...).
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? redactUrl(v) : v
}

const JWK_SECRET = new Set(['k', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'oth'])

export async function main (argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === '-h' || sub === '--help' || ((sub === 'schema' || sub === 'check') && (rest.includes('-h') || rest.includes('--help')))) {
    process.stdout.write(USAGE)
    return 0
  }
  if (sub === 'schema') {
    if (rest.length > 0) {
      process.stderr.write(`bouncer config schema: unexpected argument ${JSON.stringify(rest[0])}\nRun 'bouncer config --help' for usage.\n`)
      return 2
    }
    process.stdout.write(JSON.stringify(configSchema, null, 2) + '\n')
    return 0
  }
  if (sub === 'check') {
    try {
      const flags = parseConfigFlags(rest)
      const config = loadConfig({ file: flags.file, env: process.env, flags: flags.flags })
      // What run refuses beyond the schema (no upstream, no policy source) is refused here too.
      const problems = requiredToRun(config)
      // And what the components refuse at start: files settings name, keys (src/app/preflight.ts).
      if (problems.length === 0) problems.push(...await preflight(config))
      if (problems.length > 0) { process.stderr.write(problemsText('config check', problems)); return 2 }
      process.stdout.write(JSON.stringify(redact(config), null, 2) + '\n')
      return 0
    } catch (e) {
      if (e instanceof ConfigError) process.stderr.write(problemsText('config check', e.problems))
      else if (isBouncerError(e)) process.stderr.write(`${e.message}\n`)
      else throw e
      return 2
    }
  }
  const hint = sub !== undefined ? suggest(sub, ['schema', 'check']) : undefined
  const what = sub === undefined ? 'expected a subcommand (schema or check)' : `unknown subcommand "${sub}"${hint !== undefined ? ` (did you mean "${hint}"?)` : ''}`
  process.stderr.write(`bouncer config: ${what}\n\n${USAGE}`)
  return 2
}
