// bouncer test <paths...> [-v] [--run REGEX]
// Runs every rule named test_* like `opa test`: PASS when it evaluates to true, FAIL when it
// is false or undefined, ERROR when evaluation fails. Exits non-zero unless all pass.
import { CompileError, compileModules, formatDiagnostic, loadSources, parseSources } from '../compiler/index.js'
import { loadCompiledPolicy } from '../compiler/load.js'
import { flag, parseArgs, reportFailure } from './args.js'

export interface TestResult { name: string; outcome: 'PASS' | 'FAIL' | 'ERROR'; durationUs: number; error?: string }

export async function runTests (paths: string[], filter?: RegExp): Promise<TestResult[]> {
  const { modules, data } = await loadSources(paths)
  const parsed = parseSources(modules)
  if (parsed.diagnostics.length > 0) throw new CompileError(parsed.diagnostics)
  const tests: string[] = []
  for (const m of parsed.modules) {
    const pkg = m.package.path.map(t => (t.type === 'string' ? t.value : '?'))
    for (const r of m.rules) {
      const head = r.ref[0]
      if (r.ref.length === 1 && head.type === 'var' && head.name.startsWith('test_') && r.args === undefined) {
        const ep = [...pkg, head.name].join('/')
        if (!tests.includes(ep) && (filter === undefined || filter.test(ep))) tests.push(ep)
      }
    }
  }
  if (tests.length === 0) return []
  const compiled = compileModules({ modules, entrypoints: tests })
  const policy = await loadCompiledPolicy(compiled)
  policy.setData(data)
  const results: TestResult[] = []
  for (const t of tests) {
    const name = 'data.' + t.split('/').join('.')
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

export async function main (argv: string[]): Promise<number> {
  const a = parseArgs(argv, new Set(['v', 'verbose']))
  if (a.positional.length === 0) {
    console.error('usage: bouncer test <paths...> [-v] [--run REGEX]')
    return 2
  }
  const run = flag(a, 'run')
  let results: TestResult[]
  try {
    results = await runTests(a.positional, run === undefined ? undefined : new RegExp(run))
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
