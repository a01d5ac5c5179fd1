// The `bouncer` command: a thin dispatcher. Each subcommand lives in src/cli/<name>.ts and
// exports main(argv): Promise<number>; they are imported on demand so a subcommand that is
// not there (yet) is reported as such instead of breaking the others.
import { pathToFileURL } from 'node:url'
import { suggest } from './args.js'

interface Command { readonly module: string; readonly summary: string }

const COMMANDS: Readonly<Record<string, Command>> = Object.freeze({
  run: { module: './run.js', summary: 'run the proxy (the sidecar)' },
  demo: { module: './demo.js', summary: 'run a demo upstream behind the bouncer with policies/' },
  build: { module: './build.js', summary: 'compile Rego into an OPA bundle (.tar.gz)' },
  eval: { module: './eval.js', summary: 'evaluate a query or entrypoint against an input' },
  test: { module: './test.js', summary: 'run test_* rules in Rego files' },
  check: { module: './check.js', summary: 'check Rego files for parse, compile and type errors (--strict: opa\'s strict mode)' },
  capabilities: { module: './capabilities.js', summary: 'print the builtins and features Bouncer supports (OPA capabilities JSON)' },
  version: { module: './version.js', summary: 'print the version, build commit, runtime ABI and Node.js version' },
  'verify-log': { module: './verify-log.js', summary: 'verify a decision-log hash chain' },
  evidence: { module: './evidence.js', summary: 'write an audit evidence report from decision logs (html, md, json)' },
  replay: { module: './replay.js', summary: 'replay a decision log against a candidate policy and report changed decisions' },
  config: { module: './config.js', summary: 'print the config JSON schema, or check a config' },
})

function usage (): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length))
  return 'usage: bouncer <command> [options]\n\ncommands:\n' +
    Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join('\n') +
    '\n\nRun "bouncer <command> --help" for the options of a command.\n'
}

export async function main (argv: string[]): Promise<number> {
  // `bouncer capabilities | head`: a closed pipe ends the output, not the process with a trace
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); else throw e })
  let [name, ...rest] = argv
  if (name === 'help' && rest.length > 0) {
    // `bouncer help <command>` is `bouncer <command> --help`
    name = rest[0]
    rest = ['--help']
  }
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    if (name === undefined) { process.stdout.write(usage()); return 2 }
    process.stdout.write(usage())
    return 0
  }
  if (name === '--version') { name = 'version'; rest = [] }
  const cmd = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined
  if (!cmd) {
    const hint = suggest(name, Object.keys(COMMANDS))
    const what = name.startsWith('-') ? `unknown flag: ${name}` : `unknown command "${name}"`
    process.stderr.write(`bouncer: ${what}${hint !== undefined ? ` (did you mean "${hint}"?)` : ''}\n\n${usage()}`)
    return 2
  }
  let mod: { main?: (argv: string[]) => Promise<number> }
  const url = new URL(cmd.module, import.meta.url)
  try {
    mod = await import(cmd.module)
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { url?: string }
    const missing = err.code === 'ERR_MODULE_NOT_FOUND' &&
      (err.url === url.href || String(err.message).includes(url.pathname.replace(/\.js$/, '')))
    if (missing) {
      process.stderr.write(`bouncer ${name}: not available yet\n`)
      return 2
    }
    throw e
  }
  if (typeof mod.main !== 'function') {
    process.stderr.write(`bouncer ${name}: not available yet\n`)
    return 2
  }
  return await mod.main(rest)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (e: unknown) => {
    process.stderr.write(`bouncer: ${(e as Error).stack ?? String(e)}\n`)
    process.exitCode = 1
  })
}
