// bouncer test <paths...> [-v] [--run REGEX] [--format pretty|json] [--coverage [--threshold N]]
// Runs every rule named test_* like `opa test`: PASS when it evaluates to true, FAIL when it
// is false or undefined, ERROR when evaluation fails; todo_test_* rules are SKIPPED. Like
// `opa test`, each test rule runs on its own even when several share a name: the second
// `test_x` of a package is reported as `test_x#01`, the third as `test_x#02`, ... (OPA's
// tester renames them in a compiler stage; we rename them in the parsed modules before
// planning), so a failing duplicate cannot hide behind a passing one. --run takes a Go (RE2)
// regular expression, matched against the reported name (data.pkg.test_x#01).
//
// Parameterized tests (OPA 1.2): a test rule whose head goes on past its name, `test_x[tc.note]
// if { some tc in cases; ... }`, is one test over the object it builds, a case per key: the
// test passes when every case is true. As OPA's tester does, a call is injected into the body
// just after the head's variables are first used, so a case that fails further down is still
// known (and reported as failing) although it never appears in the object.
//
// Output (pretty): the tests that did not pass (every test with -v) with their location,
// duration and print() output, then the counts. --format json: opa test's JSON report.
// --coverage: opa test --coverage's JSON report (per file: covered and not covered lines).
// Exit status: 0 every test passed, 1 a test failed or errored (or coverage is below
// --threshold), 2 usage or compile error.
import type { Expr, Module, Rule, Term } from '../compiler/ast/index.js'
import { forEachVar } from '../compiler/planner/index.js'
import { CompileError, formatDiagnostic, loadSources, parseSources, type RegoVersion } from '../compiler/index.js'
import { coverageReport, type CoverageReport } from '../compiler/coverage.js'
import { compileGoRegexp, GoRegexpError } from '../policy/builtins/goregexp.js'
import { evaluationMessage, WASM_MAX_MEMORY_PAGES } from '../policy/eval/index.js'
import { loadRego } from '../policy/eval/rego.js'
import { bool, type CommandSpec, EXIT_ERROR, EXIT_FAILURE, EXIT_OK, parseOrExit, printFailure, str, usageError } from './args.js'

export const spec: CommandSpec = {
  name: 'test',
  summary: 'Run the test_* rules of Rego files, as opa test does.',
  usage: '<paths...> [flags]',
  description: 'Paths are .rego files, data files or directories of them. A test passes when it is true;\n' +
    'a parameterized test (test_x[case] if ...) when every case is true; todo_test_* rules are\n' +
    'skipped. Exit status: 0 all passed, 1 a test failed or errored (or\n' +
    'coverage is below --threshold), 2 usage or compile error.',
  flags: {
    verbose: { type: 'boolean', short: 'v', help: 'print every test with its result and time (and its print() output)' },
    run: { type: 'string', short: 'r', arg: 'REGEX', help: 'run only tests whose name (data.pkg.test_x) matches this Go regular expression' },
    format: { type: 'string', short: 'f', arg: 'FORMAT', help: 'output format', choices: ['pretty', 'json'], default: 'pretty' },
    coverage: { type: 'boolean', short: 'c', help: 'report coverage (opa test --coverage JSON: covered and not covered lines per file)' },
    threshold: { type: 'string', arg: 'PERCENT', help: 'with --coverage: fail when coverage is below this percentage' },
    'v0-compatible': { type: 'boolean', help: 'parse the sources as Rego v0' },
  },
  positionals: { min: 1 },
}

/** One case of a parameterized test: its key path (each key a string, or JSON for others). */
export interface TestCase { name: string; outcome: 'PASS' | 'FAIL' }

export interface TestResult {
  /** data.<package>.<rule>, as reported */
  name: string
  /** data.<package> */
  package: string
  /** the test rule's name (test_x, test_x#01) */
  rule: string
  location?: { file: string; row: number; col: number }
  outcome: 'PASS' | 'FAIL' | 'ERROR' | 'SKIP'
  durationNs: number
  error?: string
  /** lines printed by print() while the test ran */
  output: string[]
  /** a parameterized test's cases */
  cases?: TestCase[]
}

export interface RunTestsOptions {
  filter?: TestFilter
  regoVersion?: RegoVersion
  coverage?: boolean
}

export interface TestRun { results: TestResult[]; coverage?: CoverageReport }

const TEST_PREFIX = 'test_'
const TODO_PREFIX = 'todo_test_'

/** The name of a test rule (`test_x if ...`, `test_x := ...`, a parameterized `test_x[c] if
 *  ...`): its first name, no args. */
function testRuleName (r: Rule): string | undefined {
  const head = r.ref[0]
  if (head.type !== 'var' || r.args !== undefined) return undefined
  return head.name.startsWith(TEST_PREFIX) || head.name.startsWith(TODO_PREFIX) ? head.name : undefined
}

// The injected call prints this, then the case's head values as JSON (print goes to the
// runner's onPrint; these lines are taken out of the test's output).
const CASE_MARK = '\u0000bouncer-test-case'

/**
 * Into each parameterized test rule, `internal.print([{CASE_MARK}, {json.marshal([head
 * values])}])` just below the expression that first uses the last of the head's variables
 * (OPA's injectTestCaseFunc, pass 2; the top of the body when the head has none).
 */
export function injectCaseMarks (modules: Module[]): void {
  for (const m of modules) {
    for (const r of m.rules) {
      if (r.ref.length < 2 || testRuleName(r) === undefined || r.body.length === 0) continue
      const tail = r.ref.slice(1)
      const vars = new Set<string>()
      // Comprehension bodies included: a template string (`$"{a}"`) is a comprehension whose body
      // reads `a`, and a test named by one had its mark put before `a` was bound (review session
      // 52). A comprehension's own variables never occur in the rule's body: they move no mark.
      for (const t of tail) forEachVar(t, (n) => { vars.add(n) }, 'bodies')
      let below = -1
      for (const v of vars) {
        const first = r.body.findIndex(e => exprMentions(e, v))
        if (first > below) below = first
      }
      const loc = r.loc
      const set = (term: Term): Term => ({ type: 'set', items: [term], loc })
      const mark: Expr = {
        loc, negated: false, with: [],
        kind: {
          type: 'term',
          term: {
            type: 'call', name: 'internal.print', loc,
            args: [{ type: 'array', loc, items: [set({ type: 'string', value: CASE_MARK, loc }), set({ type: 'call', name: 'json.marshal', loc, args: [{ type: 'array', items: markCopy(tail), loc }] })] }],
          },
        },
      }
      r.body.splice(below + 1, 0, mark)
    }
  }
}

/**
 * The head's terms for the mark, copied with the parser's template-string variables renamed:
 * the same `$tmplN` in the head and in the body's copy is one variable of the rule to the
 * planner, which the copy's comprehension then reads unbound.
 */
function markCopy (terms: Term[]): Term[] {
  const copy = structuredClone(terms)
  const rename = (x: unknown): void => {
    if (x === null || typeof x !== 'object') return
    if (Array.isArray(x)) { x.forEach(rename); return }
    const o = x as { type?: unknown; name?: unknown }
    if (o.type === 'var' && typeof o.name === 'string' && o.name.startsWith('$tmpl')) o.name = `$mark${o.name.slice(1)}`
    for (const v of Object.values(o)) rename(v)
  }
  rename(copy)
  return copy
}

/**
 * Whether the expression names the variable in the rule's own scope: not inside a comprehension
 * or an `every` body, whose variables are their own (a body's `[x | x := ...]` is not where a
 * head's `x` is bound, and taking it for that hid a failing case, review session 52).
 */
function exprMentions (e: Expr, name: string): boolean {
  let found = false
  const cb = (n: string): void => { if (n === name) found = true }
  const k = e.kind
  switch (k.type) {
    case 'term': forEachVar(k.term, cb, false); break
    case 'unify': case 'assign': forEachVar(k.left, cb, false); forEachVar(k.right, cb, false); break
    case 'somein':
      if (k.key !== undefined) forEachVar(k.key, cb, false)
      forEachVar(k.value, cb, false)
      forEachVar(k.collection, cb, false)
      break
    // every's key and value are its own, as its body's variables are.
    case 'every': forEachVar(k.collection, cb, false); break
    case 'some': for (const v of k.vars) cb(v.name); break
  }
  for (const w of e.with) forEachVar(w.value, cb, false)
  return found
}

/** The cases of a parameterized test's object: key paths to leaves, PASS where the leaf is true. */
function caseResults (value: unknown, started: readonly string[]): TestCase[] {
  const out = new Map<string, TestCase>()
  const walk = (v: unknown, path: string[]): void => {
    if (path.length > 0 && (v === null || typeof v !== 'object' || Array.isArray(v))) {
      out.set(JSON.stringify(path), { name: path.join('.'), outcome: v === true ? 'PASS' : 'FAIL' })
      return
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, [...path, k])
  }
  walk(value, [])
  // A case that started (the injected call ran) but is not in the object failed further down.
  for (const json of started) {
    let keys: unknown
    try { keys = JSON.parse(json) } catch { continue }
    if (!Array.isArray(keys)) continue
    const path = keys.map(k => (typeof k === 'string' ? k : JSON.stringify(k)))
    const id = JSON.stringify(path)
    if (!out.has(id) && ![...out.keys()].some(o => o.startsWith(id.slice(0, -1) + ','))) out.set(id, { name: path.join('.'), outcome: 'FAIL' })
  }
  return [...out.values()]
}

const packagePath = (m: Module): string[] => m.package.path.map(t => (t.type === 'string' ? t.value : '?'))

/**
 * Gives every test rule after the first with the same name in the same package its own name,
 * as OPA's tester does (rewriteDuplicateTestNames): `test_x`, `test_x#01`, `test_x#02`, ...
 * (the count goes across files, in load order; a default rule counts as a definition).
 * Deterministic, so the names found before compiling are the names compiled.
 */
export function renameDuplicateTests (modules: Module[]): void {
  const count = new Map<string, number>()
  for (const m of modules) {
    const pkg = packagePath(m).join('/')
    for (const r of m.rules) {
      const name = testRuleName(r)
      if (name === undefined) continue
      const key = pkg + '/' + name
      const k = count.get(key)
      if (k !== undefined) r.ref[0] = { ...r.ref[0], name: `${name}#${String(k).padStart(2, '0')}` } as Rule['ref'][0]
      count.set(key, (k ?? 0) + 1)
    }
  }
}

export interface TestFilter { test: (name: string) => boolean }

/** --run: a Go regular expression (as `opa test --run`); throws on an invalid one. */
export function testFilter (pattern: string): TestFilter {
  try {
    return compileGoRegexp(pattern)
  } catch (e) {
    if (e instanceof GoRegexpError) throw new Error(`--run: ${e.message}`)
    throw e
  }
}

interface Found { ep: string; pkg: string[]; rule: string; loc: Rule['loc']; skip: boolean; parameterized: boolean }

/** Runs the tests under `paths`. Throws CompileError when the sources do not compile. */
export async function runTests (paths: string[], filterOrOpts?: TestFilter | RunTestsOptions): Promise<TestResult[]> {
  const opts: RunTestsOptions = filterOrOpts !== undefined && 'test' in filterOrOpts ? { filter: filterOrOpts as TestFilter } : (filterOrOpts as RunTestsOptions | undefined) ?? {}
  return (await runTestSuite(paths, opts)).results
}

export async function runTestSuite (paths: string[], opts: RunTestsOptions = {}): Promise<TestRun> {
  const { modules, data } = await loadSources(paths)
  const versioned = opts.regoVersion !== undefined ? { regoVersion: opts.regoVersion } : {}
  const parsed = parseSources(modules, versioned)
  if (parsed.diagnostics.length > 0) throw new CompileError(parsed.diagnostics)
  renameDuplicateTests(parsed.modules)
  const found: Found[] = []
  for (const m of parsed.modules) {
    const pkg = packagePath(m)
    for (const r of m.rules) {
      const name = testRuleName(r)
      if (name === undefined) continue
      const ep = [...pkg, name].join('/')
      if (found.some(f => f.ep === ep)) continue
      if (opts.filter !== undefined && !opts.filter.test(reportedName(ep))) continue
      found.push({ ep, pkg, rule: name, loc: r.loc, skip: name.startsWith(TODO_PREFIX), parameterized: r.ref.length > 1 })
    }
  }
  const toRun = found.filter(f => !f.skip)
  const results: TestResult[] = []
  const base = (f: Found): Omit<TestResult, 'outcome' | 'durationNs'> => ({
    name: reportedName(f.ep),
    package: 'data.' + f.pkg.join('.'),
    rule: f.rule,
    location: { file: f.loc.file, row: f.loc.line, col: f.loc.col },
    output: [],
  })
  if (toRun.length === 0) return { results: found.map(f => ({ ...base(f), outcome: 'SKIP' as const, durationNs: 0 })) }
  let output: string[] = []
  let started: string[] = []
  const hits = new Set<number>()
  const rewrite = (ms: Module[]): void => { renameDuplicateTests(ms); injectCaseMarks(ms) }
  const { policy, facts } = await loadRego({ modules, entrypoints: toRun.map(f => f.ep), rewriteModules: rewrite }, data, {
    ...versioned,
    evalStepBudget: 0, // as opa test: no step budget, no memory cap
    maxMemoryPages: WASM_MAX_MEMORY_PAGES,
    onPrint: (line) => { if (line.startsWith(CASE_MARK + ' ')) started.push(line.slice(CASE_MARK.length + 1)); else output.push(line) },
    ...(opts.coverage === true ? { onCoverage: (id: number) => { hits.add(id) } } : {}),
  })
  for (const f of found) {
    if (f.skip) { results.push({ ...base(f), outcome: 'SKIP', durationNs: 0 }); continue }
    output = []
    started = []
    const t0 = process.hrtime.bigint()
    let outcome: TestResult['outcome']
    let error: string | undefined
    let cases: TestCase[] | undefined
    try {
      const rs = policy.evaluate(undefined, f.ep)
      if (!f.parameterized) outcome = rs.length > 0 && rs[0].result === true ? 'PASS' : 'FAIL'
      else if (rs.length === 0) outcome = 'FAIL'
      else {
        cases = caseResults(rs[0].result, started)
        outcome = cases.some(c => c.outcome === 'FAIL') ? 'FAIL' : 'PASS'
      }
    } catch (e) {
      outcome = 'ERROR'
      error = evaluationMessage(e)
    }
    const durationNs = Number(process.hrtime.bigint() - t0)
    results.push({ ...base(f), outcome, durationNs, ...(error !== undefined ? { error } : {}), output, ...(cases !== undefined ? { cases } : {}) })
  }
  const run: TestRun = { results }
  if (opts.coverage === true) run.coverage = coverageReport(facts.coveragePoints ?? [], hits)
  return run
}

const reportedName = (ep: string): string => 'data.' + ep.split('/').join('.')

/** Go's time.Duration formatting (1.5ms, 812.3µs, 2.000431s), as opa test prints durations. */
export function goDuration (ns: number): string {
  if (ns === 0) return '0s'
  const fmt = (v: number, unit: string): string => `${Number(v.toFixed(9)).toString()}${unit}`
  if (ns < 1e3) return `${ns}ns`
  if (ns < 1e6) return fmt(ns / 1e3, 'µs')
  if (ns < 1e9) return fmt(ns / 1e6, 'ms')
  return fmt(ns / 1e9, 's')
}

/** opa test's pretty report. */
export function prettyReport (results: TestResult[], verbose: boolean): string {
  let out = ''
  let dirty = false
  let lastFile = ''
  for (const r of results) {
    if (!verbose && r.outcome === 'PASS') continue
    if (r.location !== undefined) {
      if (lastFile !== '' && lastFile !== r.location.file) out += '\n'
      out += `${r.location.file}:${r.location.row}:\n`
      lastFile = r.location.file
    }
    dirty = true
    const outcome = r.outcome === 'SKIP' ? 'SKIPPED' : r.outcome
    out += `${r.name}: ${outcome}${r.outcome === 'SKIP' ? '' : ` (${goDuration(r.durationNs)})`}\n`
    if (r.output.length > 0 && (verbose || r.outcome !== 'PASS')) {
      out += '\n' + r.output.map(l => `  ${l}\n`).join('') + '\n'
    }
    if (r.error !== undefined) out += `  ${r.error}\n`
    for (const c of r.cases ?? []) if (verbose || c.outcome !== 'PASS') out += `  ${c.name}: ${c.outcome}\n`
  }
  if (dirty) out += '-'.repeat(80) + '\n'
  const total = results.length
  const n = (o: TestResult['outcome']): number => results.filter(r => r.outcome === o).length
  if (n('PASS') > 0) out += `PASS: ${n('PASS')}/${total}\n`
  if (n('FAIL') > 0) out += `FAIL: ${n('FAIL')}/${total}\n`
  if (n('SKIP') > 0) out += `SKIPPED: ${n('SKIP')}/${total}\n`
  if (n('ERROR') > 0) out += `ERROR: ${n('ERROR')}/${total}\n`
  return out
}

/** opa test --format json: one object per test. */
export function jsonReport (results: TestResult[]): string {
  return JSON.stringify(results.map(r => ({
    location: r.location ?? null,
    package: r.package,
    name: r.rule,
    ...(r.outcome === 'FAIL' ? { fail: true } : {}),
    ...(r.outcome === 'ERROR' ? { error: { message: r.error ?? '' } } : {}),
    ...(r.outcome === 'SKIP' ? { skip: true } : {}),
    duration: r.durationNs,
    ...(r.cases !== undefined ? { sub_results: Object.fromEntries(r.cases.map(c => [c.name, { name: c.name, ...(c.outcome === 'FAIL' ? { fail: true } : {}) }])) } : {}),
    ...(r.output.length > 0 ? { output: Buffer.from(r.output.map(l => l + '\n').join('')).toString('base64') } : {}),
  })), null, 2) + '\n'
}

export async function main (argv: string[]): Promise<number> {
  const a = parseOrExit(spec, argv)
  if (typeof a === 'number') return a
  const run = str(a.values, 'run')
  const coverage = bool(a.values, 'coverage')
  const thresholdText = str(a.values, 'threshold')
  let threshold: number | undefined
  if (thresholdText !== undefined) {
    threshold = Number(thresholdText)
    if (!coverage) return usageError(spec, '--threshold needs --coverage')
    if (!Number.isFinite(threshold) || threshold < 0 || threshold > 100) return usageError(spec, `--threshold: want a percentage from 0 to 100, got ${JSON.stringify(thresholdText)}`)
  }
  let filter: TestFilter | undefined
  if (run !== undefined) {
    try { filter = testFilter(run) } catch (e) { return usageError(spec, (e as Error).message) }
  }
  let suite: TestRun
  try {
    suite = await runTestSuite(a.positionals, {
      ...(filter !== undefined ? { filter } : {}),
      ...(bool(a.values, 'v0-compatible') ? { regoVersion: 0 as const } : {}),
      coverage,
    })
  } catch (e) {
    printFailure(e, formatDiagnostic)
    return EXIT_ERROR
  }
  const { results } = suite
  const verbose = bool(a.values, 'verbose')
  const failed = results.some(r => r.outcome === 'FAIL' || r.outcome === 'ERROR')
  if (suite.coverage !== undefined) {
    // as opa test --coverage: failures are reported instead of the coverage report
    if (failed) { process.stdout.write(prettyReport(results.filter(r => r.outcome !== 'PASS'), verbose)); return EXIT_FAILURE }
    const report = suite.coverage
    if (threshold !== undefined && report.coverage < threshold) {
      let msg = `Code coverage threshold not met: got ${report.coverage.toFixed(2)} instead of ${threshold.toFixed(2)}`
      if (verbose) {
        msg += '\nLines not covered:'
        for (const file of Object.keys(report.files).sort()) {
          for (const r of report.files[file].not_covered ?? []) msg += `\n\t${file}:${r.start.row === r.end.row ? r.start.row : `${r.start.row}-${r.end.row}`}`
        }
      }
      process.stderr.write(msg + '\n')
      return EXIT_FAILURE
    }
    process.stdout.write(JSON.stringify(report, null, 2) + '\n')
    return EXIT_OK
  }
  if ((str(a.values, 'format') ?? 'pretty') === 'json') process.stdout.write(jsonReport(results))
  else if (results.length === 0) process.stdout.write('no tests found\n')
  else process.stdout.write(prettyReport(results, verbose))
  if (results.length === 0) return EXIT_FAILURE
  return failed ? EXIT_FAILURE : EXIT_OK
}
