// The runtime's evaluation budget as the opa-wasm SDK sees it: without a call to
// bouncer_eval_step_budget_set the module is an ordinary OPA module (no budget); with one,
// an evaluation past the budget aborts through opa_abort with a recognisable message, and the
// instance keeps evaluating.
import t from 'tap'
import { loadPolicy } from '@open-policy-agent/opa-wasm'
import { compileModules } from '../../../src/compiler/index.js'
import { ensureRuntime, type Exports } from './helpers.js'

const SOURCE = 'package h\n\nn := count([1 | some a in input.xs; some b in input.xs])\n'
const xs = (n: number) => Array.from({ length: n }, (_, i) => i)

t.test('no budget unless the host sets one; then opa_abort past it', async t => {
  ensureRuntime()
  const c = compileModules({ modules: [{ file: 'h.rego', source: SOURCE }], entrypoints: ['h/n'] })
  const p = await loadPolicy(c.wasm)
  const ex = (p.wasmInstance as WebAssembly.Instance).exports as Exports
  t.type(ex.bouncer_eval_step_budget_set, 'function')
  t.type(ex.bouncer_eval_steps, 'function')
  t.same(p.evaluate({ xs: xs(300) }, 'h/n'), [{ result: 90000 }], 'the SDK alone: no budget')
  const used = ex.bouncer_eval_steps() as number
  t.ok(used > 90000, `steps are counted (${used})`)

  ex.bouncer_eval_step_budget_set(used - 1)
  let thrown: unknown
  try { p.evaluate({ xs: xs(300) }, 'h/n') } catch (e) { thrown = e }
  t.equal(thrown, `bouncer_eval_budget_exceeded: evaluation stopped after ${used - 1} steps`, 'the SDK throws the abort message')
  t.same(p.evaluate({ xs: xs(3) }, 'h/n'), [{ result: 9 }], 'the instance keeps working')
  ex.bouncer_eval_step_budget_set(used)
  t.same(p.evaluate({ xs: xs(300) }, 'h/n'), [{ result: 90000 }], 'exactly the steps it needs')
  t.equal(ex.bouncer_eval_steps(), used, 'the count is deterministic')
  ex.bouncer_eval_step_budget_set(0)
  t.same(p.evaluate({ xs: xs(300) }, 'h/n'), [{ result: 90000 }], '0 = no budget again')
})

t.test('memory: past the maximum an evaluation aborts with "out of memory", and the instance keeps evaluating', async t => {
  ensureRuntime()
  const { loadWasmPolicy } = await import('../../../src/policy/eval/index.js')
  const src = 'package m\n\nbig := concat("", [s | some _ in numbers.range(1, input.n); s := "0123456789"])\n\nlen := count(big)\n'
  const c = compileModules({ modules: [{ file: 'm.rego', source: src }], entrypoints: ['m/len'] })
  const p = await loadWasmPolicy(c.wasm, {}, { maxMemoryPages: 64 })
  const ev = p.evaluator('m/len')
  t.equal(ev({ n: 10 }), 100)
  t.throws(() => ev({ n: 1_000_000 }), /policy evaluation failed: out of memory: the evaluation needs more than the module's maximum memory/)
  t.equal(p.memoryBytes(), 64 * 65536, 'at its maximum')
  t.equal(ev({ n: 20 }), 200, 'the next evaluation runs')
})
