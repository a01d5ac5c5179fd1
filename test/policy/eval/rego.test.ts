// One options type for compiling and running a policy (src/policy/eval/rego.ts): options that
// matter to both the compiler and the module are given once and reach both.
import t from 'tap'
import { CompileError } from '../../../src/compiler/index.js'
import { isBouncerError } from '../../../src/errors.js'
import { evaluationMessage } from '../../../src/policy/eval/index.js'
import { loadRego } from '../../../src/policy/eval/rego.js'
import { loadPolicyFromRego } from '../../../src/policy/load.js'

// count() is native (in the Wasm runtime), base64.decode is a host builtin
const SOURCE = 'package p\n\nn := count(input.n)\n\nb := base64.decode(input.s)\n'

t.test('strict builtin errors reach native and host builtins alike', async t => {
  const lax = await loadRego({ modules: [{ file: 'p.rego', source: SOURCE }], entrypoints: ['p/n', 'p/b'] }, {})
  t.same(lax.policy.evaluate({ n: 5 }, 'p/n'), [], 'native: undefined when not strict')
  t.same(lax.policy.evaluate({ s: '%%' }, 'p/b'), [], 'host: undefined when not strict')
  const strict = await loadRego({ modules: [{ file: 'p.rego', source: SOURCE }], entrypoints: ['p/n', 'p/b'] }, {}, { strictBuiltinErrors: true })
  t.throws(() => strict.policy.evaluate({ n: 5 }, 'p/n'), /eval_type_error: count/, 'native: an error when strict')
  t.throws(() => strict.policy.evaluate({ s: '%%' }, 'p/b'), /base64\.decode/, 'host: an error when strict')

  // the proxy's loader takes the same options (policy.strict_builtin_errors)
  const proxied = await loadPolicyFromRego([{ file: 'p.rego', source: SOURCE }], {}, 'p/n', { source: 'test' }, { strictBuiltinErrors: true })
  let thrown: unknown
  try { proxied.evaluate({ n: 5 }) } catch (e) { thrown = e }
  t.ok(isBouncerError(thrown, 'BOUNCER_ERR_POLICY_EVAL'), 'fails closed')
  t.match(evaluationMessage(thrown), /^eval_type_error: count: operand 1 must be one of/, "the engine's words")
})

t.test('print statements follow the print hook; coverage points follow the coverage hook', async t => {
  const source = 'package p\n\nx := 1 if {\n\tprint("seen", input.a)\n}\n'
  const lines: string[] = []
  const withPrint = await loadRego({ modules: [{ file: 'p.rego', source }], entrypoints: ['p/x'] }, {}, { onPrint: (l) => lines.push(l) })
  t.same(withPrint.policy.evaluate({ a: 7 }, 'p/x'), [{ result: 1 }])
  t.same(lines, ['seen 7'])
  t.ok(withPrint.policy.builtins.some((b) => b.includes('print')), 'print compiled in')
  const without = await loadRego({ modules: [{ file: 'p.rego', source }], entrypoints: ['p/x'] }, {})
  t.same(without.policy.evaluate({ a: 7 }, 'p/x'), [{ result: 1 }])
  t.notOk(without.policy.builtins.some((b) => b.includes('print')), 'no hook: print compiled out')

  const hits: number[] = []
  const covered = await loadRego({ modules: [{ file: 'p.rego', source }], entrypoints: ['p/x'] }, {}, { onCoverage: (n) => hits.push(n) })
  covered.policy.evaluate({ a: 7 }, 'p/x')
  t.ok((covered.facts.coveragePoints ?? []).length > 0, 'coverage points compiled in')
  t.ok(hits.length > 0, 'and reported')
  t.equal(without.facts.coveragePoints, undefined, 'none without a coverage hook')
})

t.test('Rego version and data; mistakes are CompileError', async t => {
  const v0 = 'package p\n\nallow { input.user == data.admin }\n'
  await t.rejects(loadRego({ modules: [{ file: 'v0.rego', source: v0 }], entrypoints: ['p/allow'] }, {}), CompileError)
  const r = await loadRego({ modules: [{ file: 'v0.rego', source: v0 }], entrypoints: ['p/allow'] }, { admin: 'ann' }, { regoVersion: 0 })
  t.same(r.policy.evaluate({ user: 'ann' }, 'p/allow'), [{ result: true }])
  t.same(r.facts.entrypointFacts['p/allow'].inputPaths, [['user']])
})
