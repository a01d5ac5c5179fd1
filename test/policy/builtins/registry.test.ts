// The host registry and the compiler's builtin table agree; strict errors, the evaluation
// clock and per-evaluation memos are scoped to one evaluate().
import t from 'tap'
import { BUILTINS } from '../../../src/compiler/builtins.js'
import { compileModules } from '../../../src/compiler/index.js'
import { loadWasmPolicy } from '../../../src/policy/eval/index.js'
import { hostBuiltins, missingBuiltins, NONDETERMINISTIC_BUILTINS, OPA_MODULE_BUILTINS, runEvaluation, SDK_BUILTINS, strictBuiltinErrors } from '../../../src/policy/builtins/index.js'
import { evalOne } from './helpers.js'
import { isRawJson } from '../../../src/exact-json.js'

t.test('every host builtin of the compiler exists in the registry (or the SDK), and vice versa', async t => {
  const host = Object.entries(BUILTINS).filter(([, i]) => i.impl === 'host').map(([n]) => n)
  t.ok(host.length > 50)
  t.same(missingBuiltins(host), [], 'compiler host builtins without an implementation')
  const notHost = Object.keys(hostBuiltins).filter(n => BUILTINS[n]?.impl !== 'host' && !OPA_MODULE_BUILTINS.has(n))
  t.same(notHost, [], 'registry entries the compiler does not call through the host')
  for (const n of OPA_MODULE_BUILTINS) t.equal(BUILTINS[n]?.impl, 'native', `${n}: native in our runtime, kept in the registry for OPA-built modules`)
  for (const n of SDK_BUILTINS) {
    t.notOk(Object.prototype.hasOwnProperty.call(hostBuiltins, n), `${n} is the SDK's (it would shadow ours)`)
  }
  for (const [n, i] of Object.entries(BUILTINS)) {
    if (i.nondeterministic === true) t.ok(NONDETERMINISTIC_BUILTINS.has(n), `${n} is listed as non-deterministic`)
  }
})

t.test('strict builtin errors: undefined by default, an OPA-coded error when strict', async t => {
  t.same(await evalOne('time.parse_rfc3339_ns(input.t)', { input: { t: 'garbage' } }), {})
  const e = await evalOne('time.parse_rfc3339_ns(input.t)', { input: { t: 'garbage' }, strict: true })
  t.match(e.error, /^eval_builtin_error: time\.parse_rfc3339_ns: parsing time "garbage"/)
  const ty = await evalOne('crypto.sha256(input.x)', { input: { x: 1 }, strict: true })
  t.equal(ty.error, 'eval_type_error: crypto.sha256: operand 1 must be string but got number')
  t.same(await evalOne('crypto.sha256(input.x)', { input: { x: 1 } }), {})
  t.equal(strictBuiltinErrors(), false, 'the setting does not leak out of the evaluation')
})

t.test('errors that abort whatever the mode: http.send', async t => {
  for (const strict of [false, true]) {
    const h = await evalOne('http.send({"method": "get", "url": "http://localhost"})', { strict })
    t.equal(h.error, 'eval_builtin_error: http.send: not available in the sidecar')
  }
  // walk is a relation, run in the runtime (test/compiler/builtins-features.test.ts)
  t.notOk(Object.prototype.hasOwnProperty.call(hostBuiltins, 'walk'), 'walk runs in the Wasm runtime')
})

t.test('time.now_ns: one value per evaluation, a new one for the next', async t => {
  const c = compileModules({
    modules: [{ file: 't.rego', source: 'package t\n\nx := [time.now_ns(), a, b]\n\na := time.now_ns()\n\nb := y if { count([1 | some i in numbers.range(1, 20000)]) > 0; y := time.now_ns() }\n' }],
    entrypoints: ['t/x'],
  })
  const p = await loadWasmPolicy(c.wasm)
  // Nanoseconds are past 2^53: the result holds their exact digits (src/exact-json.ts).
  const ns = (v: unknown): bigint => BigInt(isRawJson(v) ? v.rawJSON : v as number)
  const first = (p.evaluate({}, 't/x') as Array<{ result: unknown[] }>)[0].result.map(ns)
  t.equal(first[0], first[1])
  t.equal(first[1], first[2])
  t.ok(Math.abs(Number(first[0]! / 1_000_000n) - Date.now()) < 60_000, 'close to the wall clock')
  await new Promise(resolve => setTimeout(resolve, 5))
  const second = (p.evaluate({}, 't/x') as Array<{ result: unknown[] }>)[0].result.map(ns)
  t.ok(second[0] > first[0], 'the next evaluation reads the clock again')
  t.equal(runEvaluation(() => hostBuiltins['time.now_ns'](), { nowNs: 42n }), 42, 'a fixed clock can be injected')
})

t.test('uuid.rfc4122: same seed → same UUID within an evaluation, fresh across evaluations', async t => {
  const c = compileModules({
    modules: [{ file: 't.rego', source: 'package t\n\nx := [uuid.rfc4122("a"), uuid.rfc4122("a"), uuid.rfc4122("b")]\n' }],
    entrypoints: ['t/x'],
  })
  const p = await loadWasmPolicy(c.wasm)
  const [a1, a2, b] = (p.evaluate({}, 't/x') as Array<{ result: string[] }>)[0].result
  t.equal(a1, a2)
  t.not(a1, b)
  t.match(a1, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  const [next] = (p.evaluate({}, 't/x') as Array<{ result: string[] }>)[0].result
  t.not(next, a1)
  const r = await evalOne('[rand.intn("x", 10), rand.intn("x", 10)]')
  const [r1, r2] = r.value as number[]
  t.equal(r1, r2)
  t.ok(r1 >= 0 && r1 < 10)
})
