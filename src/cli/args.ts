// Command-line parsing shared by the commands: node:util parseArgs in strict mode, driven by
// one declaration per command (flags, positionals, usage) from which the --help text comes.
// Exit codes follow opa's: 0 success, 1 the command's check failed (test failures, policy
// errors found by check/build, eval --fail), 2 the command could not run (usage errors,
// unreadable files, compile errors where a policy had to run).
import { parseArgs } from 'node:util'
import type { Diagnostic } from '../compiler/diagnostics.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_ERROR = 2

export interface FlagSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  readonly multiple?: boolean
  /** placeholder for the value in --help (string flags), e.g. FILE */
  readonly arg?: string
  readonly help: string
  /** the values a string flag accepts */
  readonly choices?: readonly string[]
  readonly default?: string
}

export interface CommandSpec {
  readonly name: string
  readonly summary: string
  /** after "usage: bouncer <name> " */
  readonly usage: string
  /** paragraphs printed after the usage line */
  readonly description?: string
  readonly flags: Readonly<Record<string, FlagSpec>>
  /** how many positional arguments the command takes */
  readonly positionals: { readonly min: number; readonly max?: number }
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>

export type ParseResult =
  | { readonly kind: 'help' }
  | { readonly kind: 'ok'; readonly values: FlagValues; readonly positionals: string[] }
  | { readonly kind: 'usage'; readonly message: string }

const HELP_FLAG: FlagSpec = { type: 'boolean', short: 'h', help: 'show this help' }

/** Parses `argv` for `spec`: unknown flags, missing values, bad choices and a wrong number
 *  of positionals are usage errors (with the closest known flag suggested). */
export function parseCommand (spec: CommandSpec, argv: readonly string[]): ParseResult {
  const flags: Record<string, FlagSpec> = { ...spec.flags, help: HELP_FLAG }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {}
  for (const [name, f] of Object.entries(flags)) {
    options[name] = { type: f.type, ...(f.short !== undefined ? { short: f.short } : {}), ...(f.multiple === true ? { multiple: true } : {}) }
  }
  let parsed: { values: FlagValues; positionals: string[] }
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, allowNegative: false }) as { values: FlagValues; positionals: string[] }
  } catch (e) {
    return { kind: 'usage', message: describeParseError(e, flags) }
  }
  if (parsed.values.help === true) return { kind: 'help' }
  for (const [name, f] of Object.entries(flags)) {
    const v = parsed.values[name]
    if (f.choices !== undefined && v !== undefined) {
      for (const one of Array.isArray(v) ? v : [v]) {
        if (typeof one === 'string' && !f.choices.includes(one)) {
          return { kind: 'usage', message: `invalid value ${JSON.stringify(one)} for --${name}: want one of ${f.choices.join(', ')}` }
        }
      }
    }
    if (v === undefined && f.default !== undefined) parsed.values[name] = f.default
  }
  const n = parsed.positionals.length
  const { min, max } = spec.positionals
  if (n < min) return { kind: 'usage', message: min === 1 && max === 1 ? 'expected one argument' : `expected at least ${min} argument${min === 1 ? '' : 's'}` }
  if (max !== undefined && n > max) {
    return { kind: 'usage', message: max === 0 ? `unexpected argument ${JSON.stringify(parsed.positionals[0])}` : `too many arguments (at most ${max})` }
  }
  return { kind: 'ok', values: parsed.values, positionals: parsed.positionals }
}

function describeParseError (e: unknown, flags: Record<string, FlagSpec>): string {
  const err = e as { code?: string; message?: string }
  const msg = String(err.message ?? e)
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const m = /Unknown option '([^']+)'/.exec(msg)
    const flag = m?.[1] ?? '?'
    // a long flag is compared with the long flags, a short one with the short ones
    const known = flag.startsWith('--')
      ? Object.keys(flags).map(n => `--${n}`)
      : Object.values(flags).flatMap(f => (f.short !== undefined ? [`-${f.short}`] : []))
    const hint = suggest(flag, known)
    return `unknown flag: ${flag}${hint !== undefined ? ` (did you mean ${hint}?)` : ''}`
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /Option '(?:-\w, )?(--[\w-]+)/.exec(msg)
    const flag = m?.[1] ?? '?'
    if (/does not take an argument/.test(msg)) return `flag ${flag} does not take a value`
    return `flag needs an argument: ${flag}`
  }
  return msg
}

/** The candidate closest to `word` (edit distance, ignoring leading dashes), if close enough. */
export function suggest (word: string, candidates: readonly string[]): string | undefined {
  const bare = (s: string): string => s.replace(/^-+/, '').replace(/=.*$/, '')
  const w = bare(word)
  // one letter is too little to guess from, unless only its case is wrong (-V for -v)
  if (w.length === 1) return candidates.find(c => bare(c).toLowerCase() === w.toLowerCase())
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const b = bare(c)
    let d = editDistance(w, b)
    if (w.length >= 2 && b.length >= 2 && (b.startsWith(w) || w.startsWith(b))) d = Math.min(d, 1)
    if (d < bestD) { best = c; bestD = d }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(w.length / 3)) ? best : undefined
}

function editDistance (a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length]
}

/** The --help text of a command. */
export function helpText (spec: CommandSpec): string {
  const lines = [`usage: bouncer ${spec.name} ${spec.usage}`, '', spec.summary]
  if (spec.description !== undefined) lines.push('', spec.description)
  const flags: Array<[string, FlagSpec]> = [...Object.entries(spec.flags), ['help', HELP_FLAG]]
  const left = flags.map(([name, f]) => {
    const short = f.short !== undefined ? `-${f.short}, ` : '    '
    const arg = f.type === 'string' ? ` ${f.arg ?? 'VALUE'}` : ''
    return `  ${short}--${name}${arg}`
  })
  const width = Math.max(...left.map(s => s.length)) + 2
  lines.push('', 'flags:')
  flags.forEach(([, f], i) => {
    let help = f.help
    if (f.choices !== undefined) help += ` (${f.choices.join('|')}${f.default !== undefined ? `; default ${f.default}` : ''})`
    else if (f.default !== undefined) help += ` (default ${f.default})`
    if (f.multiple === true) help += ' (repeatable)'
    lines.push(left[i].padEnd(width) + help)
  })
  return lines.join('\n') + '\n'
}

export interface CliIo { stdout: (s: string) => void; stderr: (s: string) => void }

export const processIo: CliIo = {
  stdout: (s) => { process.stdout.write(s) },
  stderr: (s) => { process.stderr.write(s) },
}

/** Prints a usage error the way every command does and returns exit code 2. */
export function usageError (spec: CommandSpec, message: string, io: CliIo = processIo): number {
  io.stderr(`bouncer ${spec.name}: ${message}\nRun 'bouncer ${spec.name} --help' for usage.\n`)
  return EXIT_ERROR
}

/** Parses argv for a command; prints help (exit 0) or a usage error (exit 2) itself. */
export function parseOrExit (spec: CommandSpec, argv: readonly string[], io: CliIo = processIo):
  { values: FlagValues; positionals: string[] } | number {
  const r = parseCommand(spec, argv)
  if (r.kind === 'help') { io.stdout(helpText(spec)); return EXIT_OK }
  if (r.kind === 'usage') return usageError(spec, r.message, io)
  return { values: r.values, positionals: r.positionals }
}

export const str = (v: FlagValues, name: string): string | undefined => {
  const x = v[name]
  return typeof x === 'string' ? x : undefined
}
export const strs = (v: FlagValues, name: string): string[] => {
  const x = v[name]
  return Array.isArray(x) ? x : typeof x === 'string' ? [x] : []
}
export const bool = (v: FlagValues, name: string): boolean => v[name] === true

/** OPA's error list: "1 error occurred: <err>" or "N errors occurred:\n<err>\n<err>". */
export function formatErrors (lines: readonly string[]): string {
  if (lines.length === 1) return `1 error occurred: ${lines[0]}\n`
  return `${lines.length} errors occurred:\n${lines.join('\n')}\n`
}

/** A compile error's diagnostics, or null for any other failure. */
export function diagnosticsOf (e: unknown): Diagnostic[] | null {
  const d = (e as { diagnostics?: Diagnostic[] } | null)?.diagnostics
  return e instanceof Error && e.name === 'CompileError' && Array.isArray(d) ? d : null
}

/** Prints a command's failure: every diagnostic of a compile error (OPA's layout), or the
 *  message of any other error. */
export function printFailure (e: unknown, formatDiagnostic: (d: Diagnostic) => string, io: CliIo = processIo): void {
  const diagnostics = diagnosticsOf(e)
  if (diagnostics !== null) io.stderr(formatErrors(diagnostics.map(formatDiagnostic)))
  else io.stderr(`error: ${e instanceof Error ? e.message : String(e)}\n`)
}
