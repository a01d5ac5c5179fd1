// The shipped policy (policies/): its own test_* rules pass when compiled by the project's
// compiler, and it evaluates as documented.
import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { compileModules } from '../../../src/compiler/index.js'
import { loadWasmPolicy } from '../../../src/policy/eval/index.js'

const dir = path.resolve(import.meta.dirname, '../../../policies')
const modules = readdirSync(dir).filter((f) => f.endsWith('.rego')).map((f) => ({ file: path.join(dir, f), source: readFileSync(path.join(dir, f), 'utf8') }))
const data = JSON.parse(readFileSync(path.join(dir, 'data.json'), 'utf8'))

t.test('test_* rules in policies/*_test.rego pass', async (t) => {
  const tests = modules.filter((m) => m.file.endsWith('_test.rego')).flatMap((m) => [...m.source.matchAll(/^(test_\w+)\s+if/gm)].map((x) => `bouncer/${x[1]}`))
  t.ok(tests.length >= 10, `${tests.length} policy tests`)
  const c = compileModules({ modules, entrypoints: tests })
  const p = await loadWasmPolicy(c.wasm, data)
  for (const ep of tests) t.equal(p.evaluator(ep)({}), true, ep)
})
