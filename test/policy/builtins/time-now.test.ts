// time.now_ns is one instant per evaluation, as in OPA (it reads the clock once and every call
// in the evaluation answers with it): a policy comparing two readings, or checking a token's
// expiry twice, must not see time move within one decision.
import t from 'tap'
import { loadRego } from '../../../src/policy/eval/rego.js'
import { isRawJson, rawJsonText } from '../../../src/exact-json.js'

const num = (v: unknown): bigint => BigInt(isRawJson(v) ? rawJsonText(v) : String(v))

t.test('time.now_ns: the same instant throughout one evaluation, a new one for the next', async (t) => {
  const { policy } = await loadRego({
    modules: [{
      file: 'p.rego',
      source: `package x

r := [a, n, b] if {
	a := time.now_ns()
	n := count([y | some y in numbers.range(1, 200000); y % 7 == 0])
	n > 0
	b := time.now_ns()
}
`,
    }],
    entrypoints: ['x/r'],
  }, {})
  const ev = policy.evaluator('x/r')
  const t0 = performance.now()
  const [a, n, b] = ev({}) as unknown[]
  const took = performance.now() - t0
  t.equal(n, 28571)
  t.ok(took > 1, `the work between the two readings took ${took.toFixed(1)} ms (the clock counts microseconds)`)
  t.equal(num(a), num(b), 'both readings are the evaluation\'s one instant')
  const wall = BigInt(Date.now()) * 1_000_000n
  t.ok(num(a) <= wall && wall - num(a) < 60_000_000_000n, 'the wall clock, in ns')
  await new Promise((resolve) => setTimeout(resolve, 5))
  const [a2] = ev({}) as unknown[]
  t.ok(num(a2) > num(a), 'the next evaluation reads the clock again')
})
