// policy.eval_step_budget: an integer number of steps, 0 = no budget; bad values are refused
// with the key named; environment and file values are coerced like every other integer.
import t from 'tap'
import { base, problemsOf } from './problems.js'
import { createConfig, loadConfig } from '../../src/config/index.js'
import { DEFAULT_EVAL_STEP_BUDGET } from '../../src/config/schema.js'
import { DEFAULT_EVAL_STEP_BUDGET as EVAL_DEFAULT } from '../../src/policy/eval/index.js'


t.test('default, and the evaluator uses the same one', async t => {
  t.equal(createConfig(base).policy.eval_step_budget, DEFAULT_EVAL_STEP_BUDGET)
  t.equal(EVAL_DEFAULT, DEFAULT_EVAL_STEP_BUDGET)
  t.equal(DEFAULT_EVAL_STEP_BUDGET, 10_000_000)
})

t.test('valid values', async t => {
  for (const v of [0, 1, 50_000, 1_000_000_000_000]) {
    t.equal(createConfig({ ...base, policy: { eval_step_budget: v } }).policy.eval_step_budget, v, String(v))
  }
  t.equal(loadConfig({ env: { BOUNCER_UPSTREAM_URL: 'http://x:1', BOUNCER_POLICY_EVAL_STEP_BUDGET: '250000' } }).policy.eval_step_budget, 250000, 'from the environment')
})

t.test('invalid values are refused, naming the key', async t => {
  for (const v of [-1, 1.5, 1e13, '100', null, true]) {
    const p = problemsOf(() => createConfig({ ...base, policy: { eval_step_budget: v } } as Record<string, unknown>))
    t.ok(p.some(m => m.includes('policy.eval_step_budget')), `${JSON.stringify(v)}: ${p.join('; ')}`)
  }
  const env = problemsOf(() => loadConfig({ env: { BOUNCER_UPSTREAM_URL: 'http://x:1', BOUNCER_POLICY_EVAL_STEP_BUDGET: 'lots' } }))
  t.ok(env.some(m => m.includes('BOUNCER_POLICY_EVAL_STEP_BUDGET') || m.includes('policy.eval_step_budget')), env.join('; '))
})
