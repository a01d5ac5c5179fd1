// bouncer run [--config bouncer.yaml] [--upstream URL] [--policy PATH] [--entrypoint E]
//             [--port N] [--admin-port N] [--host H] [--set key=value ...]
// Flags override BOUNCER_* environment variables, which override the config file. Invalid
// configuration: one line per bad field, exit 2. SIGTERM/SIGINT: graceful, bounded shutdown,
// exit 0.
import { buildApp } from '../index.js'
import { preflight } from '../app/preflight.js'
import { configSchema, ConfigError, FLAGS_HELP, loadConfig, parseConfigFlags, problemsText, requiredToRun } from '../config/index.js'
import { isBouncerError } from '../errors.js'
import { suggest } from './args.js'

const V0_FLAG = '--v0-compatible'

const USAGE = `usage: bouncer run [options]

Runs the proxy (the sidecar), or with --mode ext_authz the Envoy external authorization
service (ext_authz.grpc / ext_authz.http). Exit status: 0 after a clean shutdown, 1 when it cannot start,
2 invalid configuration or usage.

${FLAGS_HELP}
  ${V0_FLAG}        compile a Rego policy.path as Rego v0 (policy.rego_version=0)
  -h, --help             show this help
`

/** Every flag `run` takes (for suggestions): the config flags' help lists them all. */
const KNOWN_FLAGS = [...new Set([...(FLAGS_HELP.match(/--[a-z][a-z0-9-]*/g) ?? []), V0_FLAG, '--help'])]

/** policy.rego_version exists in the configuration schema (the Rego version of policy.path) */
function hasRegoVersionSetting (): boolean {
  const policy = (configSchema as { properties?: Record<string, { properties?: Record<string, unknown> }> }).properties?.policy
  return policy?.properties?.rego_version !== undefined
}

export interface RunIo {
  env: Readonly<Record<string, string | undefined>>
  stderr: (s: string) => void
  stdout: (s: string) => void
  /** resolves with the signal name when the process should stop */
  signals: (onSignal: (signal: string) => void) => () => void
}

const processIo: RunIo = {
  env: process.env,
  stderr: (s) => process.stderr.write(s),
  stdout: (s) => process.stdout.write(s),
  signals: (on) => {
    // Kept until the process ends: a second signal during the drain is reported, never Node's
    // default (an exit that cuts the requests still being finished).
    const term = () => on('SIGTERM')
    const int = () => on('SIGINT')
    process.on('SIGTERM', term)
    process.on('SIGINT', int)
    return () => { process.off('SIGTERM', term); process.off('SIGINT', int) }
  },
}

export async function main (argv: string[], io: RunIo = processIo): Promise<number> {
  let config
  try {
    const v0 = argv.includes(V0_FLAG)
    const flags = parseConfigFlags(argv.filter(a => a !== V0_FLAG))
    if (flags.help) { io.stdout(USAGE); return 0 }
    if (v0) {
      if (!hasRegoVersionSetting()) {
        io.stderr(`bouncer run: ${V0_FLAG} is not available: this build has no policy.rego_version setting\n`)
        return 2
      }
      flags.flags.push(['policy.rego_version', 0, V0_FLAG])
    }
    config = loadConfig({ file: flags.file, env: io.env, flags: flags.flags })
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr(problemsText('run', e.problems))
    } else if (isBouncerError(e)) {
      const unknown = /unknown flag "([^"]+)"/.exec(e.message)
      const hint = unknown !== null ? suggest(unknown[1], KNOWN_FLAGS) : undefined
      io.stderr(`bouncer run: ${e.message}${hint !== undefined ? ` (did you mean ${hint}?)` : ''}\n${unknown !== null ? "Run 'bouncer run --help' for usage.\n" : ''}`)
    } else throw e
    return 2
  }
  // What the components refuse at start (files, keys), all of it, as `config check` reports it.
  const problems = requiredToRun(config)
  if (problems.length === 0) problems.push(...await preflight(config))
  if (problems.length) {
    io.stderr(problemsText('run', problems))
    return 2
  }

  let app
  try {
    app = await buildApp(config)
  } catch (e) {
    io.stderr(`bouncer run: ${(e as Error).message}\n`)
    // A file a setting names that cannot be read is invalid configuration too (usage: exit 2).
    return e instanceof ConfigError ? 2 : 1
  }
  let stopSignals: () => void = () => {}
  let received: string | undefined
  const stopped = new Promise<string>((resolve) => {
    stopSignals = io.signals((signal) => {
      if (received !== undefined) { app.log.warn({ signal }, 'signal received again; still shutting down'); return }
      received = signal
      resolve(signal)
    })
  })
  // A signal during start (a first bundle download, a policy compile) stops it there: the
  // start is abandoned (bundle pollers aborted) and no port is opened.
  const starting = app.start().then(() => undefined, (e: unknown) => e)
  const first = await Promise.race([starting.then((e) => ({ e })), stopped.then((signal) => ({ signal }))])
  if ('signal' in first) {
    app.log.info({ signal: first.signal }, 'signal received while starting')
    const closed = await app.close().then(() => true, () => false)
    await starting
    stopSignals()
    return closed ? 0 : 1
  }
  if (first.e !== undefined) {
    const e = first.e
    app.log.fatal({ err: e }, 'cannot start')
    stopSignals()
    await app.close(0).catch(() => {})
    io.stderr(`bouncer run: ${(e as Error).message}\n`)
    return 1
  }
  // Only while nothing is active: start() may already have activated the first bundle.
  if (!config.policy.path && app.holder.current === null) app.log.warn('no policy.path: waiting for a bundle to be activated (not ready until then)')
  const signal = await stopped
  app.log.info({ signal }, 'signal received')
  try {
    await app.close()
    return 0
  } catch (e) {
    io.stderr(`bouncer run: shutdown failed: ${(e as Error).message}\n`)
    return 1
  } finally {
    stopSignals()
  }
}
