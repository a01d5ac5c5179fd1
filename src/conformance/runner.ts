// Runs OPA's language test cases (YAML, read in place) through our compiler and the policy
// loader the proxy uses (src/policy/eval). Each case: compile modules + query, load with the
// case's data (no step budget, as OPA runs them), evaluate, compare with want_result / want_error(_code). Cases the runner cannot express
// are "unsupported"; cases listed in test/conformance-disputed.json are "disputed". Neither
// ever counts as passed.
//
// Rego version of a case: OPA keeps v0 cases under testdata/v0 and v1 ones under testdata/v1
// and parses each tree with that version. Files read from an older OPA (before the split, when
// every case was v0) can sit under v1 with v0 syntax: a case whose modules all parse as v0,
// some of them only as v0, is run as v0, as OPA ran it then (caseRegoVersion).
import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { CompileError, type RegoVersion } from '../compiler/index.js'
import { parseModule } from '../compiler/parser/index.js'
import { evaluationMessage, WASM_MAX_MEMORY_PAGES } from '../policy/eval/index.js'
import { loadRego } from '../policy/eval/rego.js'
import { isRawJson, parseJsonExact, rawJson, rawJsonText } from '../exact-json.js'
import { parseOpaYaml } from '../opa-yaml.js'

export type Outcome = 'passed' | 'failed' | 'unsupported' | 'disputed'

export interface CaseResult { category: string; note: string; file: string; outcome: Outcome; detail?: string }

export interface Counts { cases: number; passed: number; failed: number; unsupported: number; disputed: number }

export interface RunReport { total: Counts; categories: Record<string, Counts>; results: CaseResult[] }

export interface RunOptions { dir: string; filter?: string; disputed?: Record<string, string>; onResult?: (r: CaseResult) => void }

interface TestCase {
  note: string
  query?: string
  modules?: string[]
  data?: unknown
  input?: unknown
  input_term?: string
  want_result?: Array<Record<string, unknown>>
  want_error_code?: string
  want_error?: string
  sort_bindings?: boolean
  strict_error?: boolean
}

export async function listCaseFiles (dir: string): Promise<Array<{ category: string; file: string }>> {
  const entries = (await readdir(dir)).sort()
  const out: Array<{ category: string; file: string }> = []
  for (const e of entries) {
    const p = path.join(dir, e)
    const s = await stat(p)
    if (s.isDirectory()) {
      for (const f of (await readdir(p)).sort()) {
        if (f.endsWith('.yaml') || f.endsWith('.yml')) out.push({ category: e, file: path.join(p, f) })
      }
    } else if (e.endsWith('.yaml') || e.endsWith('.yml')) {
      out.push({ category: e.replace(/\.ya?ml$/, ''), file: p })
    }
  }
  return out
}

const empty = (): Counts => ({ cases: 0, passed: 0, failed: 0, unsupported: 0, disputed: 0 })

export async function runConformance (opts: RunOptions): Promise<RunReport> {
  const files = await listCaseFiles(opts.dir)
  const report: RunReport = { total: empty(), categories: {}, results: [] }
  for (const { category, file } of files) {
    let doc: { cases?: TestCase[] }
    try {
      doc = parseOpaYaml(await readFile(file, 'utf8')) as { cases?: TestCase[] }
    } catch (e) {
      record(report, { category, note: path.basename(file), file, outcome: 'unsupported', detail: 'unreadable YAML: ' + (e as Error).message }, opts)
      continue
    }
    for (const tc of doc?.cases ?? []) {
      if (opts.filter !== undefined && !tc.note.includes(opts.filter) && !file.includes(opts.filter)) continue
      if (opts.disputed?.[tc.note] !== undefined) {
        record(report, { category, note: tc.note, file, outcome: 'disputed', detail: opts.disputed[tc.note] }, opts)
        continue
      }
      const r = await runCase(tc, caseRegoVersion(file, tc))
      record(report, { category, note: tc.note, file, ...r }, opts)
    }
  }
  return report
}

function record (report: RunReport, r: CaseResult, opts: RunOptions): void {
  report.results.push(r)
  const c = report.categories[r.category] ?? (report.categories[r.category] = empty())
  for (const x of [c, report.total]) { x.cases++; x[r.outcome]++ }
  opts.onResult?.(r)
}

/** The Rego version a case runs with (see the header comment). */
export function caseRegoVersion (file: string, tc: { modules?: string[] }): RegoVersion {
  if (file.split(/[\\/]/).includes('v0')) return 0
  const modules = tc.modules ?? []
  if (modules.length === 0) return 1
  const parses = (v: RegoVersion): boolean[] => modules.map((m, i) => parseModule(m, `module${i}.rego`, { regoVersion: v }).diagnostics.length === 0)
  // v1 unless some module only parses as v0 (a module that parses either way, e.g. an empty
  // one, does not decide)
  if (parses(1).every(ok => ok)) return 1
  return parses(0).every(ok => ok) ? 0 : 1
}

export async function runCase (tc: TestCase, regoVersion: RegoVersion = 1): Promise<{ outcome: Outcome; detail?: string }> {
  if (tc.query === undefined) return { outcome: 'unsupported', detail: 'no query' }
  let input: unknown
  if (tc.input_term !== undefined) {
    try { input = parseJsonExact(tc.input_term) } catch { return { outcome: 'unsupported', detail: 'input_term is not JSON' } }
  } else input = tc.input
  const wantError = tc.want_error_code !== undefined || tc.want_error !== undefined
  let rows: unknown
  try {
    const { policy } = await loadRego({
      modules: (tc.modules ?? []).map((source, i) => ({ file: `module${i}.rego`, source })),
      entrypoints: [],
      query: tc.query,
      printStatements: true, // compiled in (as OPA's test runner does), output dropped
      // OPA's topdown test harness compiles without the data path conflict check (a case reads
      // base and virtual documents at one path: "base/virtual: conflicts"); opa eval has it.
      data: undefined,
    }, tc.data ?? {}, { strictBuiltinErrors: tc.strict_error === true, regoVersion, evalStepBudget: 0, maxMemoryPages: WASM_MAX_MEMORY_PAGES })
    const rs = policy.evaluate(input, '$query')
    rows = rs.length === 0 ? [] : rs[0].result
  } catch (e) {
    const msg = e instanceof CompileError ? e.diagnostics.map(d => `${d.code}: ${d.message}`).join('; ') : evaluationMessage(e)
    if (!wantError) return { outcome: 'failed', detail: 'error: ' + msg }
    return matchError(tc, msg)
  }
  if (wantError) return { outcome: 'failed', detail: `expected error ${tc.want_error_code ?? ''} ${tc.want_error ?? ''}, got ${JSON.stringify(rows)}` }
  const want = tc.want_result ?? []
  return compareRows(want, rows as unknown[], tc.sort_bindings === true)
}

function matchError (tc: TestCase, msg: string): { outcome: Outcome; detail?: string } {
  if (tc.want_error_code !== undefined && !msg.includes(tc.want_error_code)) {
    return { outcome: 'failed', detail: `want error code ${tc.want_error_code}, got: ${msg}` }
  }
  // expectations often carry OPA's "file:row: " location prefix; compare the reason itself
  const wantText = tc.want_error?.replace(/^[\w./-]+:\d+: /, '')
  if (wantText !== undefined && !msg.includes(wantText)) {
    // messages differ in wording between engines; the code is the contract, text is advisory
    if (tc.want_error_code === undefined) return { outcome: 'failed', detail: `want error "${tc.want_error}", got: ${msg}` }
  }
  return { outcome: 'passed' }
}

/** Canonical form for comparison: numbers by value (integers past 2^53 by their digits), object keys sorted. */
function canon (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(x => canon(x))
  // a number kept as its text (exact-json.ts): by value, as OPA's runner compares (3.0 is 3)
  if (isRawJson(v)) return rawJson(rawJsonText(v))
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) out[k] = canon((v as Record<string, unknown>)[k])
    return out
  }
  if (typeof v === 'bigint') return Number(v)
  return v
}

/**
 * The rows compared as OPA's own case runner compares them: as a set of binding objects (the
 * order of a query's result set is not part of a case, and a row given twice counts once), and
 * with sort_bindings, a binding whose value is an array compared with its elements sorted (that
 * array only, not arrays inside it).
 */
function compareRows (want: unknown[], got: unknown[], sortBindings: boolean): { outcome: Outcome; detail?: string } {
  const norm = (rows: unknown[]): string[] => [...new Set(rows.map((r) => {
    let row = canon(r)
    if (sortBindings && row !== null && typeof row === 'object' && !Array.isArray(row)) {
      row = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort(byText) : v]))
    }
    return JSON.stringify(row)
  }))].sort()
  const a = norm(want)
  const b = norm(got)
  if (JSON.stringify(a) === JSON.stringify(b)) return { outcome: 'passed' }
  return { outcome: 'failed', detail: `want ${a.join(',')} got ${b.join(',')}`.slice(0, 600) }
}

function byText (x: unknown, y: unknown): number {
  const a = JSON.stringify(x)
  const b = JSON.stringify(y)
  return a < b ? -1 : a > b ? 1 : 0
}
