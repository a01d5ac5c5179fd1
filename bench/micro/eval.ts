// Micro-benchmark: the default policy evaluated through opa-wasm (compiled by our compiler,
// loaded the way the proxy loads it) against the hand-written JavaScript decision
// (bench/policy-js.ts). Both must agree on every case below before anything is timed.
// eval_ns gives the evaluator the whole input object (JSON.stringify'd per call, as before
// input projection); eval_projected_ns calls it as the proxy does (src/proxy/engine.ts): the
// input projected to the paths the policy reads, serialised canonically and handed over as
// text (InputJson) that the evaluator writes into the module's memory as UTF-8 — the
// projection's cost is inside the timed call (the proxy pays it for evaluation; only with the
// decision cache on is the same text also the cache key's), and the result is shared as the
// proxy's evaluator shares it (src/policy/load.ts: equal result text, the same frozen object,
// not parsed again).
//   node --import tsx bench/micro/eval.ts [--quick]      → BENCH {"type":"result",...}
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decideJs } from '../policy-js.js'
import { CASES, TYPICAL } from './cases.js'
import { ROOT_DIR } from '../lib/procs.js'
import { timeInterleaved } from '../lib/timing.js'
import { send } from '../servers/child.js'

const quick = process.argv.includes('--quick')

function canonical (v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v !== null && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`
  return JSON.stringify(v) ?? 'undefined'
}

async function main (): Promise<void> {
  const { compileBundle } = await import('../../src/compiler/bundle/index.js')
  const { loadWasmPolicy, InputJson } = await import('../../src/policy/eval/index.js')
  const { compileInputView } = await import('../../src/proxy/projection.js')
  const bundle = await compileBundle({ paths: [join(ROOT_DIR, 'policies')], entrypoints: ['bouncer/decision'] })
  // As the proxy does (src/policy/load.ts): one instance, the entrypoint resolved once.
  const instance = async (shareResults = false) => (await loadWasmPolicy(bundle.wasm, bundle.data)).evaluator('bouncer/decision', { shareResults })
  const data = JSON.parse(readFileSync(join(ROOT_DIR, 'policies', 'data.json'), 'utf8')) as unknown
  const policy = { evaluate: await instance() }
  const proxyEvaluate = await instance(true)

  const view = compileInputView(bundle.inputPaths['bouncer/decision'])
  // exactly the proxy's call (src/proxy/engine.ts)
  const projected = (evaluate: (input: unknown) => unknown) => (input: unknown) => evaluate(new InputJson(view.text(input)))

  const disagreements: string[] = []
  for (const [name, input] of CASES) {
    const w = canonical(policy.evaluate(input))
    const j = canonical(decideJs(input, data))
    if (w !== j) disagreements.push(`${name}: wasm ${w} ≠ js ${j}`)
    const p = canonical(projected(proxyEvaluate)(input))
    if (p !== j) disagreements.push(`${name}: wasm on the projected input ${p} ≠ js ${j}`)
  }
  if (disagreements.length) {
    send('error', { message: `the JS policy disagrees with the Wasm policy on ${disagreements.length} of ${CASES.length} inputs:\n  ${disagreements.join('\n  ')}` })
    process.exit(1)
  }

  // Stability: the same instance answers every case many times (as it does in the proxy).
  const unstable: string[] = []
  for (const [name, input] of CASES) {
    const fresh = await instance()
    let i = 0
    try { for (; i < 500; i++) fresh(input) } catch (e) { unstable.push(`${name}: evaluation ${i + 1} of the same instance failed: ${(e as Error).message}`) }
  }

  const n = quick ? 10_000 : 40_000
  const runs = quick ? 5 : 11
  // A fresh instance for timing (a failed evaluation above may have left the other one broken).
  const timed = await instance()
  const timedProjected = projected(await instance(true))
  const [evalNs, jsNs, projectedNs] = timeInterleaved([
    { fn: () => timed(TYPICAL), n },
    { fn: () => decideJs(TYPICAL, data), n: n * 5 },
    { fn: () => timedProjected(TYPICAL), n },
  ], runs)
  send('result', { eval_ns: evalNs, eval_js_ns: jsNs, eval_projected_ns: projectedNs, cases: CASES.length, agree: CASES.length, unstable })
}

main().catch((e: Error) => { send('error', { message: e.stack ?? e.message }); process.exit(1) })
