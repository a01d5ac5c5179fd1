// bouncer test <paths...> [-v] [--run REGEX]
// Runs every rule named test_* like `opa test`: PASS when it evaluates to true, FAIL when it
// is false or undefined, ERROR when evaluation fails. Exits non-zero unless all pass.
// Like `opa test`, each test rule runs on its own even when several share a name: the second
// `test_x` of a package is reported as `test_x#01`, the third as `test_x#02`, ... (OPA's
// tester renames them in a compiler stage; we rename them in the parsed modules before
// planning), so a failing duplicate cannot hide behind a passing one. --run takes a Go (RE2)
// regular expression, matched against the reported name (data.pkg.test_x#01).
import type { Module, Rule } from '../compiler/ast/index.js'
import { CompileError, compileModules, formatDiagnostic, loadSources, parseSources } from '../compiler/index.js'
import { loadCompiledPolicy } from '../compiler/load.js'
import { compileGoRegexp, GoRegexpError } from '../policy/builtins/goregexp.js'
import { flag, parseArgs, reportFailure } from './args.js'

export interface TestResult { name: string; outcome: 'PASS' | 'FAIL' | 'ERROR'; durationUs: number; error?: string }

const TEST_PREFIX = 'test_'

/** The name of a test rule (`test_x if ...`, `test_x := ...`): a plain name, no args. */
function testRuleName (r: Rule): string | undefined {
  const head = r.ref[0]
  if (r.ref.length !== 1 || head.type !== 'var' || r.args !== undefined) return undefined
  return head.name.startsWith(TEST_PREFIX) ? head.name : undefined
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

export async function runTests (paths: string[], filter?: TestFilter): Promise<TestResult[]> {
  const { modules, data } = await loadSources(paths)
  const parsed = parseSources(modules)
  if (parsed.diagnostics.length > 0) throw new CompileError(parsed.diagnostics)
  renameDuplicateTests(parsed.modules)
  const tests: string[] = []
  for (const m of parsed.modules) {
    const pkg = packagePath(m)
    for (const r of m.rules) {
      const name = testRuleName(r)
      if (name === undefined) continue
      const ep = [...pkg, name].join('/')
      if (!tests.includes(ep) && (filter === undefined || filter.test(reportedName(ep)))) tests.push(ep)
    }
  }
  if (tests.length === 0) return []
  const compiled = compileModules({ modules, entrypoints: tests, rewriteModules: renameDuplicateTests })
  const policy = await loadCompiledPolicy(compiled)
  policy.setData(data)
  const results: TestResult[] = []
  for (const t of tests) {
    const name = reportedName(t)
    const t0 = performance.now()
    try {
      const rs = policy.evaluate(undefined, t) as Array<{ result: unknown }>
      const ok = rs.length > 0 && rs[0].result === true
      results.push({ name, outcome: ok ? 'PASS' : 'FAIL', durationUs: (performance.now() - t0) * 1000 })
    } catch (e) {
      results.push({ name, outcome: 'ERROR', durationUs: (performance.now() - t0) * 1000, error: (e as Error).message ?? String(e) })
    }
  }
  return results
}

const reportedName = (ep: string): string => 'data.' + ep.split('/').join('.')

export async function main (argv: string[]): Promise<number> {
  const a = parseArgs(argv, new Set(['v', 'verbose']))
  if (a.positional.length === 0) {
    console.error('usage: bouncer test <paths...> [-v] [--run REGEX]')
    return 2
  }
  const run = flag(a, 'run')
  let results: TestResult[]
  try {
    results = await runTests(a.positional, run === undefined ? undefined : testFilter(run))
  } catch (e) {
    return reportFailure(e, formatDiagnostic)
  }
  for (const r of results) {
    console.log(`${r.name}: ${r.outcome} (${r.durationUs.toFixed(0)}µs)${r.error !== undefined ? ' ' + r.error : ''}`)
  }
  const passed = results.filter(r => r.outcome === 'PASS').length
  console.log('-'.repeat(40))
  if (results.length === 0) { console.log('no tests found'); return 1 }
  if (passed === results.length) console.log(`PASS: ${passed}/${results.length}`)
  else {
    console.log(`PASS: ${passed}/${results.length}`)
    const failed = results.filter(r => r.outcome === 'FAIL').length
    const errored = results.length - passed - failed
    if (failed > 0) console.log(`FAIL: ${failed}/${results.length}`)
    if (errored > 0) console.log(`ERROR: ${errored}/${results.length}`)
  }
  return passed === results.length ? 0 : 1
}
