// bouncer eval [-d <path> ...] [-i input.json | -I] [--format json|pretty|raw] '<query>'
// Evaluates a query against Rego files and data, as `opa eval` does. --format json prints the
// result set in opa eval's shape: {"result": [{"expressions": [...], "bindings": {...}}]};
// pretty prints a single value as indented JSON (or a table of bindings, or "undefined");
// raw prints each expression's value (strings without quotes), one result per line.
// print() output goes to stderr.
import { readFile } from 'node:fs/promises'
import { CompileError, formatDiagnostic, loadSources, type RegoVersion } from '../compiler/index.js'
import { parseQuery } from '../compiler/parser/index.js'
import { evaluationMessage, WASM_MAX_MEMORY_PAGES } from '../policy/eval/index.js'
import { loadRego } from '../policy/eval/rego.js'
import { bool, type CommandSpec, diagnosticsOf, EXIT_ERROR, EXIT_FAILURE, EXIT_OK, parseOrExit, printFailure, str, strs, usageError } from './args.js'
import { parseJsonExact } from '../exact-json.js'

const EXPR_VAR = '__bouncer_expr__'

export const spec: CommandSpec = {
  name: 'eval',
  summary: 'Evaluate a Rego query against policies, data and an input document.',
  usage: '[flags] <query>',
  description: 'The query is Rego (e.g. data.bouncer.decision, or x := data.admins[i]). print() output goes\n' +
    'to stderr. Exit status: 0 evaluated (even when undefined), 1 --fail/--fail-defined matched,\n' +
    '2 usage, compile or evaluation error.',
  flags: {
    data: { type: 'string', short: 'd', multiple: true, arg: 'PATH', help: 'Rego file, data file or directory to load' },
    input: { type: 'string', short: 'i', arg: 'FILE', help: 'input document (JSON or YAML file)' },
    'stdin-input': { type: 'boolean', short: 'I', help: 'read the input document from stdin' },
    format: { type: 'string', short: 'f', arg: 'FORMAT', help: 'output format', choices: ['json', 'pretty', 'raw'], default: 'json' },
    fail: { type: 'boolean', help: 'exit 1 when the result is undefined' },
    'fail-defined': { type: 'boolean', help: 'exit 1 when the result is defined' },
    'strict-builtin-errors': { type: 'boolean', help: 'a failing builtin is an error, not undefined' },
    'v0-compatible': { type: 'boolean', help: 'parse the query and sources as Rego v0' },
  },
  positionals: { min: 1, max: 1 },
}

export interface EvalOptions {
  regoVersion?: RegoVersion
  strictBuiltinErrors?: boolean
  /** print() output, one line per call */
  onPrint?: (line: string) => void
}

export interface EvalExpression { value: unknown; text: string; location: { row: number; col: number } }
export interface EvalResult { expressions: EvalExpression[]; bindings?: Record<string, unknown> }
export interface EvalOutput { result: EvalResult[] }

export async function evalQuery (paths: string[], query: string, input: unknown, opts: EvalOptions = {}): Promise<EvalOutput> {
  const { modules, data } = paths.length > 0 ? await loadSources(paths) : { modules: [], data: {} }
  const parsed = parseQuery(query, '<query>', { regoVersion: opts.regoVersion ?? 1 })
  if (parsed.body === null) throw new CompileError(parsed.diagnostics)
  // A single-expression query that is not itself a unification reports its value, like opa eval.
  // (with its with modifiers: they apply to the capturing expression as they did to the term)
  const single = parsed.body.length === 1 && parsed.body[0].kind.type === 'term' && !parsed.body[0].negated
  const prefix = single ? `${EXPR_VAR} = ` : ''
  const onPrint = opts.onPrint
  let policy
  try {
    ({ policy } = await loadRego({ modules, entrypoints: [], query: prefix + query, printStatements: true }, data, {
      ...(opts.regoVersion !== undefined ? { regoVersion: opts.regoVersion } : {}),
      strictBuiltinErrors: opts.strictBuiltinErrors === true,
      evalStepBudget: 0, // as opa eval: no step budget, no memory cap
      maxMemoryPages: WASM_MAX_MEMORY_PAGES,
      ...(onPrint !== undefined ? { onPrint: (line: string) => onPrint(line) } : {}),
    }))
  } catch (e) {
    // locations in the query as the user wrote it, not in the value-capturing wrapper
    if (e instanceof CompileError && prefix !== '') {
      throw new CompileError(e.diagnostics.map(d => d.loc.file === '<query>' && d.loc.line === 1 && d.loc.col > prefix.length
        ? { ...d, loc: { ...d.loc, col: d.loc.col - prefix.length } }
        : d))
    }
    throw e
  }
  let rs
  try {
    rs = policy.evaluate(input, '$query')
  } catch (e) {
    // the engine's words (eval_conflict_error: ...), as opa eval reports them
    throw new Error(evaluationMessage(e), { cause: e })
  }
  const rows = rs.length === 0 ? [] : rs[0].result as Array<Record<string, unknown>>
  return {
    result: rows.map(row => {
      const bindings: Record<string, unknown> = { ...row }
      const value = single ? bindings[EXPR_VAR] : true
      delete bindings[EXPR_VAR]
      const out: EvalResult = { expressions: [{ value, text: query, location: { row: 1, col: 1 } }] }
      if (Object.keys(bindings).length > 0) out.bindings = bindings
      return out
    }),
  }
}

export async function main (argv: string[]): Promise<number> {
  const a = parseOrExit(spec, argv)
  if (typeof a === 'number') return a
  const query = a.positionals[0]
  const inputFile = str(a.values, 'input')
  if (inputFile !== undefined && bool(a.values, 'stdin-input')) return usageError(spec, '--input and --stdin-input cannot be used together')
  let input: unknown
  if (inputFile !== undefined || bool(a.values, 'stdin-input')) {
    const what = inputFile ?? 'stdin'
    try {
      const text = inputFile !== undefined ? await readFile(inputFile, 'utf8') : await readStdin()
      input = await parseDocument(text, what)
    } catch (e) {
      process.stderr.write(`error: cannot read input ${what}: ${(e as Error).message}\n`)
      return EXIT_ERROR
    }
  }
  let out: EvalOutput
  try {
    out = await evalQuery(strs(a.values, 'data'), query, input, {
      ...(bool(a.values, 'v0-compatible') ? { regoVersion: 0 as const } : {}),
      strictBuiltinErrors: bool(a.values, 'strict-builtin-errors'),
      onPrint: (line) => { process.stderr.write(line + '\n') },
    })
  } catch (e) {
    // as opa eval: with --format json the errors are the JSON output, otherwise text on stderr
    if ((str(a.values, 'format') ?? 'json') === 'json') process.stdout.write(JSON.stringify({ errors: errorsJson(e) }, null, 2) + '\n')
    else printFailure(e, formatDiagnostic)
    return EXIT_ERROR
  }
  process.stdout.write(formatResult(out, str(a.values, 'format') ?? 'json'))
  const defined = out.result.length > 0
  if (bool(a.values, 'fail') && !defined) return EXIT_FAILURE
  if (bool(a.values, 'fail-defined') && defined) return EXIT_FAILURE
  return EXIT_OK
}

/** Errors in opa's JSON shape: message, code and location (compile errors), message otherwise. */
export function errorsJson (e: unknown): Array<Record<string, unknown>> {
  const diagnostics = diagnosticsOf(e)
  if (diagnostics === null) return [{ message: e instanceof Error ? e.message : String(e) }]
  return diagnostics.map(d => ({
    message: d.message,
    code: d.code,
    location: { file: d.loc.file, row: d.loc.line, col: d.loc.col },
    ...(d.details !== undefined ? { details: d.details } : {}),
  }))
}

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function parseDocument (text: string, what: string): Promise<unknown> {
  try {
    return parseJsonExact(text)
  } catch (e) {
    if (what.endsWith('.json')) throw e
    return (await import('../opa-yaml.js')).parseOpaYaml(text)
  }
}

/** The result set in one of opa eval's formats. */
export function formatResult (out: EvalOutput, format: string): string {
  if (format === 'raw') {
    return out.result.map(r => r.expressions.map(e => typeof e.value === 'string' ? e.value : JSON.stringify(e.value)).join(' ') + '\n').join('')
  }
  if (format === 'pretty') return prettyResult(out.result)
  return JSON.stringify(out, null, 2) + '\n'
}

function prettyResult (rs: EvalResult[]): string {
  if (rs.length === 0) return 'undefined\n'
  if (rs.length === 1 && rs[0].bindings === undefined && rs[0].expressions.length === 1) {
    return JSON.stringify(rs[0].expressions[0].value, null, 2) + '\n'
  }
  // a table: one column per bound variable (sorted), then the non-boolean expressions
  const vars = [...new Set(rs.flatMap(r => Object.keys(r.bindings ?? {})))].sort()
  const exprs = rs[0].expressions.map((e, i) => [e, i] as const).filter(([e]) => typeof e.value !== 'boolean').map(([e, i]) => [e.text, i] as const)
  const header = [...vars, ...exprs.map(([t]) => t)]
  const rows = rs.map(r => [
    ...vars.map(v => r.bindings !== undefined && v in r.bindings ? JSON.stringify(r.bindings[v]) : ''),
    ...exprs.map(([, i]) => JSON.stringify(r.expressions[i]?.value)),
  ])
  if (header.length === 0) return JSON.stringify(rs[0].expressions[0]?.value ?? true, null, 2) + '\n'
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)))
  const rule = '+' + widths.map(w => '-'.repeat(w + 2)).join('+') + '+\n'
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |\n'
  return rule + line(header) + rule + rows.map(line).join('') + rule
}
