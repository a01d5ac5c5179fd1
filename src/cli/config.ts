// bouncer config schema            print the configuration JSON Schema (Helm's values.schema.json source)
// bouncer config check [run flags] validate file + env + flags like `run` does; print the result
import { configSchema, ConfigError, FLAGS_HELP, loadConfig, parseConfigFlags } from '../config/index.js'
import { isBouncerError } from '../errors.js'

const SECRET = /(^|_)(secret|hash_key|password|token|key)$/

function redact (v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => redact(x))
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x, k)]))
  return typeof v === 'string' && SECRET.test(key) ? '[redacted]' : v
}

export async function main (argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === 'schema') {
    process.stdout.write(JSON.stringify(configSchema, null, 2) + '\n')
    return 0
  }
  if (sub === 'check') {
    try {
      const flags = parseConfigFlags(rest)
      const config = loadConfig({ file: flags.file, env: process.env, flags: flags.flags })
      process.stdout.write(JSON.stringify(redact(config), null, 2) + '\n')
      return 0
    } catch (e) {
      if (e instanceof ConfigError) process.stderr.write(`invalid configuration:\n${e.problems.map((p) => `  - ${p}\n`).join('')}`)
      else if (isBouncerError(e)) process.stderr.write(`${e.message}\n`)
      else throw e
      return 2
    }
  }
  process.stderr.write(`usage: bouncer config schema\n       bouncer config check [options]\n\n${FLAGS_HELP}\n`)
  return 2
}
