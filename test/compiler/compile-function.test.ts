// compile(): Rego sources in, { wasm, facts, diagnostics } out; user mistakes come back as
// diagnostics (never thrown); the facts are what `bouncer build` records in the manifest and
// what the policy loader reads back.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { BOUNCER_METADATA_KEY, readEntrypointFacts } from '../../src/bundle/index.js'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { compile, compileModules, CompileError } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'

const SOURCE = `package p

allow if input.user.role == "admin"

stamp := time.now_ns()
`

t.test('sources -> wasm and facts', async t => {
  const r = compile({ modules: [{ file: 'p.rego', source: SOURCE }], entrypoints: ['p/allow', 'p/stamp'] })
  t.same(r.diagnostics, [])
  if (r.wasm === null) { t.fail('no module'); return }
  t.same([...r.wasm.subarray(0, 4)], [0, 0x61, 0x73, 0x6d], 'a Wasm module')
  t.same(r.facts.entrypoints, ['p/allow', 'p/stamp'])
  t.same(r.facts.entrypointFacts['p/allow'], { inputPaths: [['user', 'role']], builtins: [], nondeterministic: false })
  t.same(r.facts.entrypointFacts['p/stamp'], { inputPaths: [], builtins: ['time.now_ns'], nondeterministic: true })
  t.ok(r.facts.timings.parse !== undefined && r.facts.timings.link !== undefined, 'stages timed')
  const policy = await loadWasmPolicy(r.wasm)
  t.same(policy.evaluate({ user: { role: 'admin' } }, 'p/allow'), [{ result: true }], 'the policy loader runs it')
  t.same(policy.evaluate({ user: { role: 'dev' } }, 'p/allow'), [], 'undefined is an empty result set')
})

t.test('mistakes are diagnostics, not exceptions; compileModules throws the same ones', async t => {
  const modules = [{ file: 'bad.rego', source: 'package p\n\nx := count(5)\n' }]
  const r = compile({ modules, entrypoints: ['p/x'] })
  t.equal(r.wasm, null)
  t.equal(r.facts, null)
  t.match(r.diagnostics, [{ code: 'rego_type_error', loc: { file: 'bad.rego', line: 3 } }])
  let thrown: unknown
  try { compileModules({ modules, entrypoints: ['p/x'] }) } catch (e) { thrown = e }
  t.ok(thrown instanceof CompileError)
  t.same((thrown as CompileError).diagnostics, r.diagnostics)
  const parse = compile({ modules: [{ file: 'syntax.rego', source: 'package p\n\nx := {\n' }], entrypoints: [] })
  t.equal(parse.wasm, null)
  t.match(parse.diagnostics, [{ code: 'rego_parse_error', loc: { file: 'syntax.rego' } }])
})

t.test('bouncer build records the facts in the manifest; the loader reads them back', async t => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-facts-'))
  writeFileSync(path.join(dir, 'p.rego'), SOURCE)
  const b = await compileBundle({ paths: [dir], entrypoints: ['p/allow', 'p/stamp'] })
  t.same(b.manifest.metadata, {
    [BOUNCER_METADATA_KEY]: {
      compiler: 'bouncer',
      entrypoints: {
        'p/allow': { input_paths: [['user', 'role']], nondeterministic: false, builtins: [] },
        'p/stamp': { input_paths: [], nondeterministic: true, builtins: ['time.now_ns'] },
      },
    },
  })
  t.same(readEntrypointFacts(b.manifest.metadata, 'p/stamp'), { inputPaths: [], nondeterministic: true, builtins: ['time.now_ns'] })
  t.same(readEntrypointFacts(b.manifest.metadata, 'p/other'), { inputPaths: undefined, nondeterministic: undefined, builtins: [] }, 'unknown entrypoint: nothing known')
  t.same(readEntrypointFacts({ [BOUNCER_METADATA_KEY]: { entrypoints: { e: { input_paths: [[1]], nondeterministic: 'yes', builtins: ['a', 2] } } } }, 'e'),
    { inputPaths: undefined, nondeterministic: undefined, builtins: ['a'] }, 'malformed facts are unknown')
})
