// A data ref with a computed key (data[x].allow.see) reads only the rules its constant keys can
// reach, as in OPA: the recursion check took it for a read of all of data, so a rule reading
// data[x].allow in its own package was "recursive" (OPA issue 7399) and the bundle did not compile.
import t from 'tap'
import { CompileError, compileModules } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'

async function query (modules: string[], q: string, input: unknown = {}): Promise<unknown> {
  const c = compileModules({ modules: modules.map((source, i) => ({ file: `m${i}.rego`, source })), entrypoints: [], query: q })
  const p = await loadWasmPolicy(c.wasm, { base: { allow: { see: { it: 'base' } } } })
  const rs = p.evaluate(input, '$query') as Array<{ result: Array<Record<string, unknown>> }>
  return rs[0]!.result.map(r => r.x)
}

const primary = 'package primary\n\nallow[action].something if action := "show"\n\nallow.see.it := "yes"\n'
const other = 'package other\n\nallow.see.it := "other"\n\nnot_allow.see.it := 1\n'

t.test('a computed key reads the rules its constant keys reach, not the reading rule itself', async t => {
  const test = 'package test\n\np := data[first].allow.see.it if first := "primary"\n\nall contains v if v := data[_].allow.see.it\n\nkeys contains k if data[k].allow\n'
  t.same(await query([test, primary, other], 'x := data.test.p'), ['yes'])
  t.same(await query([test, primary, other], 'x := data.test.all'), [['base', 'other', 'yes']], 'rules of every package and base data')
  t.same(await query([test, primary, other], 'x := data.test.keys'), [['base', 'other', 'primary']])
  t.same(await query([test, primary, other], 'x := data[input.k].allow.show', { k: 'primary' }), [{ something: true }])
})

t.test('a computed key that can reach the reading rule is still recursion', async t => {
  const err = t.throws(() => compileModules({ modules: [{ file: 'm.rego', source: 'package test\n\np := data[x].p if x := "test"\n' }], entrypoints: [] })) as unknown
  t.ok(err instanceof CompileError)
  t.match((err as CompileError).diagnostics.map(d => d.code), ['rego_recursion_error'])
})
