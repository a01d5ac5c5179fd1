// The evaluation budget: modules built by the project's compiler count their steps and stop
// past policy.eval_step_budget with BOUNCER_ERR_POLICY_EVAL_TIMEOUT; the instance keeps
// working; ordinary policies stay far below the default; modules that cannot count (built by
// `opa build`) load and run as before.
import t, { type Test } from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { compileModules } from '../../../src/compiler/index.js'
import { isBouncerError } from '../../../src/errors.js'
import { DEFAULT_EVAL_STEP_BUDGET, loadWasmPolicy } from '../../../src/policy/eval/index.js'
import { loadPolicyFromPath } from '../../../src/policy/load.js'

// Nested iteration over an input array: n³ steps, n = 1000 → 10⁹ iterations.
const HOSTILE = `package h

n := count([1 | some a in input.xs; some b in input.xs; some c in input.xs])
`
const compile = (source: string, ep: string) => compileModules({ modules: [{ file: 'p.rego', source }], entrypoints: [ep] }).wasm
const xs = (n: number) => Array.from({ length: n }, (_, i) => i)

function timeoutError (t: Test, fn: () => unknown, what: string): void {
  try {
    fn()
    t.fail(`${what}: expected the budget to stop the evaluation`)
  } catch (e) {
    t.ok(isBouncerError(e, 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT'), `${what}: ${(e as Error).message}`)
    t.match((e as Error).message, /policy evaluation exceeded its limit: evaluation stopped after \d+ steps \(policy\.eval_step_budget\)/)
  }
}

t.test('the hostile policy is stopped under the default budget; the next evaluation works', async t => {
  const p = await loadWasmPolicy(compile(HOSTILE, 'h/n'))
  t.equal(p.stepBudget, DEFAULT_EVAL_STEP_BUDGET)
  const ev = p.evaluator('h/n')
  const t0 = performance.now()
  timeoutError(t, () => ev({ xs: xs(1000) }), '1000 elements')
  const ms = performance.now() - t0
  t.comment(`stopped after ${p.lastEvalSteps()} steps in ${ms.toFixed(0)} ms`)
  t.ok(p.lastEvalSteps()! > DEFAULT_EVAL_STEP_BUDGET, 'counted up to the budget')
  t.ok(ms < 5000, 'stopped long before the 10⁹ iterations would finish')
  t.equal(ev({ xs: xs(10) }), 1000, 'the same instance evaluates the next input')
  t.ok(p.lastEvalSteps()! < 10_000, 'and the count starts again')
  const t1 = performance.now()
  timeoutError(t, () => ev({ xs: xs(1000) }), 'again')
  t.comment(`again: ${(performance.now() - t1).toFixed(0)} ms`)
  t.equal(ev({ xs: [] }), 0)
})

t.test('the budget is configurable; 0 means none', async t => {
  const wasm = compile(HOSTILE, 'h/n')
  const small = await loadWasmPolicy(wasm, {}, { evalStepBudget: 100_000 })
  t.equal(small.stepBudget, 100_000)
  timeoutError(t, () => small.evaluator('h/n')({ xs: xs(60) }), '60 elements, budget 100k')
  t.equal(small.evaluator('h/n')({ xs: xs(20) }), 8000, '20 elements fit')
  const none = await loadWasmPolicy(wasm, {}, { evalStepBudget: 0 })
  t.equal(none.evaluator('h/n')({ xs: xs(60) }), 216000, 'no budget: runs to the end')
  t.ok(none.lastEvalSteps()! > 100_000)
  await t.rejects(loadWasmPolicy(wasm, {}, { evalStepBudget: -1 }), /invalid evaluation step budget/)
  await t.rejects(loadWasmPolicy(wasm, {}, { evalStepBudget: 1.5 }), /invalid evaluation step budget/)
})

t.test('a builtin asked for a huge result is charged before it builds it', async t => {
  const p = await loadWasmPolicy(compile('package h\n\nn := count(numbers.range(1, input.n))\n', 'h/n'), {}, { evalStepBudget: 1_000_000 })
  const ev = p.evaluator('h/n')
  t.equal(ev({ n: 1000 }), 1000)
  const before = p.memoryBytes()
  timeoutError(t, () => ev({ n: 50_000_000 }), 'numbers.range(1, 5e7)')
  t.equal(p.memoryBytes(), before, 'nothing was allocated for it')
})

t.test('ordinary policies are unaffected: the shipped policy stays far below the default', async t => {
  const dir = path.resolve(import.meta.dirname, '../../../policies')
  t.ok(readdirSync(dir).includes('policy.rego'))
  const p = await loadPolicyFromPath(dir, 'bouncer/decision')
  const req = (method: string, segs: string[], identity?: Record<string, unknown>, tenant = 'acme') => ({
    attributes: { request: { http: { method, path: '/' + segs.join('/'), headers: { 'x-tenant': tenant } } } },
    parsed_path: segs,
    ...(identity ? { identity } : { identity_error: 'missing' }),
  })
  const many = { sub: 'm', tenant: 'acme', roles: ['viewer', 'support', 'admin', ...xs(20).map(i => `r${i}`)] }
  const cases: Array<[unknown, boolean]> = [
    [req('GET', ['v1', 'products']), true],
    [req('GET', ['v1', 'customers']), false],
    [req('GET', ['v1', 'customers', '42'], { sub: 'alice', tenant: 'acme', roles: ['admin'] }), true],
    [req('DELETE', ['v1', 'orders', '9'], { sub: 'bob', tenant: 'acme', roles: ['support'] }), false],
    [req('GET', ['v1', 'customers', '1'], { sub: 'root', tenant: 'ops', roles: ['platform-admin', 'support'] }, 'other'), true],
    [req('GET', ['v1', 'customers', '1'], many), true],
  ]
  let max = 0
  for (const [input, allow] of cases) {
    t.equal((p.evaluate(input) as { allow: boolean }).allow, allow)
    max = Math.max(max, p.wasm.lastEvalSteps()!)
  }
  t.comment(`shipped policy: at most ${max} steps per request; default budget ${DEFAULT_EVAL_STEP_BUDGET}`)
  t.ok(max <= 1000, `at most 1000 steps (${max})`)
  t.ok(DEFAULT_EVAL_STEP_BUDGET / max >= 10_000, 'a margin of at least 10⁴')
})

t.test('a module without the budget exports (as built by opa build) loads and runs unbounded', async t => {
  // Rename the exports (same length, so the module stays valid): the loader must not need them.
  const wasm = Buffer.from(compile(HOSTILE, 'h/n'))
  for (const name of ['bouncer_eval_step_budget_set', 'bouncer_eval_steps']) {
    const from = Buffer.from(name)
    const to = Buffer.from('x' + name.slice(1))
    let i: number
    let n = 0
    while ((i = wasm.indexOf(from)) >= 0) { to.copy(wasm, i); n++ }
    t.ok(n >= 1, `${name} renamed`)
  }
  const p = await loadWasmPolicy(new Uint8Array(wasm))
  t.equal(p.stepBudget, null)
  t.equal(p.lastEvalSteps(), undefined)
  t.equal(p.evaluator('h/n')({ xs: xs(100) }), 1_000_000, 'a million iterations, no budget applied')
})
