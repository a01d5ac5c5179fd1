// The benchmark harness in a tiny mode: two scenarios (direct, bare-proxy), 1 s runs, no
// micro-benchmarks. Asserts the shape of the results document and that ratios are computed —
// never timings (this machine's numbers are noise).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { renderChart, renderMarkdown } from '../../bench/chart.js'
import type { BenchResults } from '../../bench/lib/report.js'
import { computeRatios } from '../../bench/lib/report.js'
import { decideJs } from '../../bench/policy-js.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

function runBench (args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'run.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

t.test('tiny run: direct and bare-proxy, JSON shape and ratios', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'out.json')
  const r = await runBench(['--quick', '--scenarios', 'direct,bare-proxy', '--duration', '1', '--warmup', '0.5', '--connections', '8', '--no-micro', '--json', file], 90_000)
  t.equal(r.code, 0, `exit code (stderr: ${r.stderr.slice(-800)})`)
  const res = JSON.parse(readFileSync(file, 'utf8')) as BenchResults

  t.same(Object.keys(res.scenarios).sort(), ['bare-proxy', 'direct'])
  for (const name of ['direct', 'bare-proxy']) {
    const s = res.scenarios[name]!
    t.notOk(s.failed, `${name} did not fail (${s.failed ?? ''})`)
    for (const k of ['rps', 'p50_ms', 'p99_ms'] as const) t.type(s[k], 'number', `${name}.${k} is a number`)
    t.ok(s.rps! > 0, `${name} answered`)
    t.ok('rss_mb' in s, `${name}.rss_mb present`)
  }

  t.equal(res.ratios['bare-proxy/bare-proxy'], 1, 'baseline ratio is 1')
  t.type(res.ratios['direct/bare-proxy'], 'number', 'direct ratio computed')
  t.ok(Math.abs(res.ratios['direct/bare-proxy']! - res.scenarios.direct!.rps! / res.scenarios['bare-proxy']!.rps!) < 0.01, 'ratio = rps / bare rps')

  for (const k of ['eval_ns', 'eval_js_ns', 'compile_ms', 'mask_100kb_ms'] as const) t.ok(k in res.micro, `micro.${k} present`)
  t.ok(res.latency_at_half_rate, 'fixed-rate latency run happened')
  t.type(res.latency_at_half_rate!.rate_rps, 'number')
  t.equal(res.latency_at_half_rate!.added_p99_ms['bare-proxy'], 0)

  for (const k of ['cpu', 'cores', 'node', 'load_average_start', 'command'] as const) t.ok(res.machine[k] !== undefined, `machine.${k}`)
  t.ok(Array.isArray(res.targets) && res.targets.length > 0, 'targets listed')
  t.match(r.stdout, /vs bare-proxy/, 'table printed with the ratio column')
  t.match(r.stdout, /load average/, 'machine footer printed')

  const svg = renderChart(res)
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  t.equal((svg.match(/<rect [^>]*rx="2"/g) ?? []).length, 4, 'one RPS bar and one p99 bar per scenario')
  t.match(renderMarkdown(res), /\| `bare-proxy` \|/)
})

t.test('ratios leave out skipped and failed scenarios', async (t) => {
  const n = { p50_ms: 1, p99_ms: 2, rss_mb: 3 }
  const r = computeRatios({
    'bare-proxy': { rps: 1000, ...n },
    a: { rps: 500, ...n },
    b: { rps: null, p50_ms: null, p99_ms: null, rss_mb: null, skipped: 'not yet' },
    c: { rps: 10, ...n, failed: 'bad answers' },
  })
  t.same(r, { 'bare-proxy/bare-proxy': 1, 'a/bare-proxy': 0.5 })
  t.same(computeRatios({ a: { rps: 1, ...n } }), {}, 'no baseline, no ratios')
})

t.test('the hand-written JS policy decides like the compiled one', async (t) => {
  const { compileBundle } = await import('../../src/compiler/bundle/index.js')
  const { loadWasmPolicy } = await import('../../src/policy/eval/index.js')
  const { CASES } = await import('../../bench/micro/cases.js')
  const bundle = await compileBundle({ paths: [join(root, 'policies')], entrypoints: ['bouncer/decision'] })
  for (const [name, input] of CASES) {
    // a fresh instance per input: the comparison is about decisions, not instance reuse
    const policy = await loadWasmPolicy(bundle.wasm, bundle.data)
    t.strictSame(decideJs(input, bundle.data), policy.evaluator('bouncer/decision')(input), name)
  }
})

t.test('targets: every issue 18 ratio is judged against its goal', async (t) => {
  const { computeTargets } = await import('../../bench/lib/report.js')
  const { emptyMicro } = await import('../../bench/lib/micro.js')
  const sc = (rps: number) => ({ rps }) as unknown as BenchResults['scenarios'][string]
  const scenarios = {
    'bare-proxy': sc(1000), 'bouncer-eval': sc(900), 'bouncer-l1': sc(900), 'bouncer-redis': sc(860),
    'bouncer-logs': sc(790), 'bare-proxy-100kb': sc(500), 'bouncer-mask': sc(310),
  }
  const micro = { ...emptyMicro(), eval_ns: 5000, eval_js_ns: 1000, eval_ratio: 5, eval_projected_ns: 3500 }
  const targets = computeTargets({ scenarios, micro, ratios: computeRatios(scenarios), latency_at_half_rate: null, soak: null, profile: null } as unknown as Omit<BenchResults, 'targets'>)
  const met = (name: string) => targets.find((x) => x.name === name)?.met
  t.equal(met('bouncer-eval RPS'), true)
  t.equal(met('bouncer-l1 RPS'), false, '90% < 95%')
  t.equal(met('bouncer-redis RPS'), true, '86% >= 85%')
  t.equal(met('bouncer-logs RPS'), false, '79% < 80%')
  t.equal(met('bouncer-mask RPS'), true, '62% of bare-proxy-100kb >= 60%')
  t.equal(met('eval vs hand-written JS'), false, '5× > 4×')
  t.match(targets.find((x) => x.name === 'eval vs hand-written JS')?.value, /as the proxy calls it \(projected input\) 3\.5×/)
})
