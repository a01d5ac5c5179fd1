// bouncer check [--strict] [--v0-compatible] [--format pretty|json] [--max-errors N] <paths...>
// Parses and compiles Rego files (type checking included) without building anything, and
// prints the errors as `opa check` does. Exit status: 0 no errors, 1 errors found, 2 usage
// error or unreadable path.
import { checkSources } from '../compiler/check.js'
import { CompileError, formatDiagnostic, loadSources } from '../compiler/index.js'
import { bool, type CommandSpec, EXIT_ERROR, EXIT_FAILURE, EXIT_OK, formatErrors, parseOrExit, str, usageError } from './args.js'
import { errorsJson } from './eval.js'

export const spec: CommandSpec = {
  name: 'check',
  summary: 'Check Rego files for parse, compile and type errors, as opa check does.',
  usage: '[flags] <paths...>',
  description: 'Paths are .rego files or directories of them. --strict adds opa check --strict\'s checks:\n' +
    'unused imports, unused local assignments, some declarations and function arguments,\n' +
    'duplicate imports, rules or variables named input or data, deprecated builtins.\n' +
    'Exit status: 0 no errors, 1 errors found, 2 usage error or unreadable path.',
  flags: {
    strict: { type: 'boolean', short: 'S', help: 'enable strict mode checks' },
    format: { type: 'string', short: 'f', arg: 'FORMAT', help: 'output format', choices: ['pretty', 'json'], default: 'pretty' },
    'max-errors': { type: 'string', short: 'm', arg: 'N', help: 'report at most N errors (-1: all)', default: '10' },
    'v0-compatible': { type: 'boolean', help: 'parse the sources as Rego v0' },
  },
  positionals: { min: 1 },
}

export async function main (argv: string[]): Promise<number> {
  const a = parseOrExit(spec, argv)
  if (typeof a === 'number') return a
  const max = Number(str(a.values, 'max-errors') ?? '10')
  if (!Number.isInteger(max) || max < -1) return usageError(spec, `--max-errors: want a whole number (-1 for no limit), got ${JSON.stringify(str(a.values, 'max-errors'))}`)
  const json = str(a.values, 'format') === 'json'
  let modules
  try {
    modules = (await loadSources(a.positionals)).modules
  } catch (e) {
    if (e instanceof CompileError) {
      report(e.diagnostics, json, max)
      return EXIT_FAILURE
    }
    process.stderr.write(`error: ${(e as Error).message}\n`)
    return EXIT_ERROR
  }
  const diagnostics = checkSources({
    modules,
    strict: bool(a.values, 'strict'),
    ...(bool(a.values, 'v0-compatible') ? { regoVersion: 0 as const } : {}),
  })
  if (diagnostics.length === 0) {
    if (json) process.stdout.write('{}\n')
    return EXIT_OK
  }
  report(diagnostics, json, max)
  return EXIT_FAILURE
}

function report (diagnostics: CompileError['diagnostics'], json: boolean, max: number): void {
  const shown = max > 0 && diagnostics.length > max ? diagnostics.slice(0, max) : diagnostics
  const more = shown.length < diagnostics.length
  if (json) {
    const errors = errorsJson(new CompileError(shown))
    if (more) errors.push({ message: 'too many errors', code: 'rego_compile_error' })
    process.stdout.write(JSON.stringify({ errors }, null, 2) + '\n')
    return
  }
  const lines = shown.map(formatDiagnostic)
  if (more) lines.push('rego_compile_error: too many errors')
  process.stderr.write(formatErrors(lines))
}
