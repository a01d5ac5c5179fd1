// bouncer run [--config bouncer.yaml] [--upstream URL] [--policy PATH] [--entrypoint E]
//             [--port N] [--admin-port N] [--host H] [--set key=value ...]
// Flags override BOUNCER_* environment variables, which override the config file. Invalid
// configuration: one line per bad field, exit 2. SIGTERM/SIGINT: graceful, bounded shutdown,
// exit 0.
import { buildApp } from '../index.js'
import { ConfigError, FLAGS_HELP, loadConfig, parseConfigFlags } from '../config/index.js'
import { isBouncerError } from '../errors.js'

const USAGE = `usage: bouncer run [options]

${FLAGS_HELP}
`

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
    const term = () => on('SIGTERM')
    const int = () => on('SIGINT')
    process.once('SIGTERM', term)
    process.once('SIGINT', int)
    return () => { process.off('SIGTERM', term); process.off('SIGINT', int) }
  },
}

export async function main (argv: string[], io: RunIo = processIo): Promise<number> {
  let config
  try {
    const flags = parseConfigFlags(argv)
    if (flags.help) { io.stdout(USAGE); return 0 }
    config = loadConfig({ file: flags.file, env: io.env, flags: flags.flags })
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr(`bouncer run: invalid configuration (${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}):\n${e.problems.map((p) => `  - ${p}\n`).join('')}`)
    } else if (isBouncerError(e)) {
      io.stderr(`bouncer run: ${e.message}\n`)
    } else throw e
    return 2
  }
  const problems: string[] = []
  if (!config.upstream.url) problems.push('upstream.url: is required (--upstream or BOUNCER_UPSTREAM_URL)')
  if (!config.policy.path && !config.bundles.service_url) problems.push('policy.path: is required (--policy or BOUNCER_POLICY_PATH) unless bundles.service_url is set')
  if (problems.length) {
    io.stderr(`bouncer run: invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}\n`).join('')}`)
    return 2
  }

  let app
  try {
    app = await buildApp(config)
  } catch (e) {
    io.stderr(`bouncer run: ${(e as Error).message}\n`)
    return 1
  }
  let stopSignals: () => void = () => {}
  const stopped = new Promise<string>((resolve) => { stopSignals = io.signals(resolve) })
  try {
    await app.start()
  } catch (e) {
    app.log.fatal({ err: e }, 'cannot start')
    stopSignals()
    await app.close(0).catch(() => {})
    io.stderr(`bouncer run: ${(e as Error).message}\n`)
    return 1
  }
  if (!config.policy.path) app.log.warn('no policy.path: waiting for a bundle to be activated (not ready until then)')
  const signal = await stopped
  stopSignals()
  app.log.info({ signal }, 'signal received')
  try {
    await app.close()
    return 0
  } catch (e) {
    io.stderr(`bouncer run: shutdown failed: ${(e as Error).message}\n`)
    return 1
  }
}
