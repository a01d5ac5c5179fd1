// Rego versions when policies are loaded: policy.rego_version (LoadPolicyOptions.regoVersion),
// a bundle manifest's rego_version and file_rego_versions (OPA 1.x), a directory's .manifest;
// and policy.print (onPrint with the request's input; print compiled out when off).
import t from 'tap'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { normalizeManifest, regoVersionForFile, serializeManifest, writeBundle } from '../../src/bundle/index.js'
import { loadPolicyFromPath } from '../../src/policy/load.js'
import { compileModules } from '../../src/compiler/index.js'
import { loadWasmPolicy } from '../../src/policy/eval/index.js'

const V0 = 'package bouncer\n\ndefault decision = {"allow": false}\n\ndecision = {"allow": true} {\n  input.user == "alice"\n}\n'
const V1 = 'package lib\n\nok if input.user == "alice"\n'
const EP = 'bouncer/decision'

t.test('manifest: file_rego_versions is validated, kept and matched as OPA does', async t => {
  const m = normalizeManifest({ revision: 'r', rego_version: 1, file_rego_versions: { '/legacy/*.rego': 0, '/x/one.rego': 0 } })
  t.same(m.file_rego_versions, { '/legacy/*.rego': 0, '/x/one.rego': 0 })
  t.match(serializeManifest(m), /"file_rego_versions":\{"\/legacy\/\*\.rego":0,"\/x\/one\.rego":0\}/)
  t.equal(regoVersionForFile(m, 'legacy/a.rego', 1), 0)
  t.equal(regoVersionForFile(m, '/legacy/deep/b.rego', 1), 0, '* crosses directories (no separators, as gobwas/glob)')
  t.equal(regoVersionForFile(m, 'x/one.rego', 1), 0)
  t.equal(regoVersionForFile(m, 'x/two.rego', 0), 1, 'otherwise the manifest\'s rego_version')
  t.equal(regoVersionForFile(normalizeManifest({ revision: '' }), 'a.rego', 0), 0, 'otherwise the fallback')
  t.equal(regoVersionForFile(normalizeManifest({ revision: '', file_rego_versions: { 'a.{rego,txt}': 0 } }), '/a.rego', 1), 0, 'a pattern without a leading slash matches too')
  t.throws(() => normalizeManifest({ revision: '', file_rego_versions: { '/a.rego': 2 } }), /must be 0 or 1/)
  t.throws(() => normalizeManifest({ revision: '', file_rego_versions: ['x'] }), /must be an object/)
  t.throws(() => normalizeManifest({ revision: '', file_rego_versions: { '/[a.rego': 0 } }), /unterminated/)
})

t.test('a Rego-only bundle compiles each file with its version', async t => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-regov-'))
  const file = path.join(dir, 'b.tar.gz')
  const lib = 'package lib\n\nok { input.user == "alice" }\n'
  const main = 'package bouncer\n\nimport data.lib\n\ndecision := {"allow": true} if lib.ok\n\ndefault decision := {"allow": false}\n'
  writeFileSync(file, await writeBundle({
    manifest: { revision: 'rv', roots: [''], rego_version: 1, file_rego_versions: { '/legacy/*.rego': 0 } },
    data: {},
    rego: [{ path: 'legacy/lib.rego', source: lib }, { path: 'main.rego', source: main }],
  }))
  const p = await loadPolicyFromPath(file, EP)
  t.same(p.evaluate({ user: 'alice' }), { allow: true })
  t.same(p.evaluate({ user: 'bob' }), { allow: false })
  // the same bundle with the v0 file declared v1 does not compile
  const bad = path.join(dir, 'bad.tar.gz')
  writeFileSync(bad, await writeBundle({ manifest: { revision: 'rv', roots: [''] }, data: {}, rego: [{ path: 'legacy/lib.rego', source: lib }, { path: 'main.rego', source: main }] }))
  await t.rejects(loadPolicyFromPath(bad, EP), /`if` keyword is required before rule body/)
  // with the runtime default at v0 (policy.rego_version: 0), main.rego (v1 syntax, no imports) fails instead
  await t.rejects(loadPolicyFromPath(bad, EP, { regoVersion: 0 }), /rego_parse_error/)
})

t.test('a directory: policy.rego_version, or its .manifest', async t => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-regov-dir-'))
  writeFileSync(path.join(dir, 'policy.rego'), V0)
  await t.rejects(loadPolicyFromPath(dir, EP), /`if` keyword is required/)
  const p = await loadPolicyFromPath(dir, EP, { regoVersion: 0 })
  t.same(p.evaluate({ user: 'alice' }), { allow: true })
  const withManifest = mkdtempSync(path.join(tmpdir(), 'bouncer-regov-man-'))
  mkdirSync(path.join(withManifest, 'old'))
  writeFileSync(path.join(withManifest, 'old', 'policy.rego'), V0)
  writeFileSync(path.join(withManifest, 'lib.rego'), V1)
  writeFileSync(path.join(withManifest, '.manifest'), JSON.stringify({ revision: 'x', file_rego_versions: { '/old/*': 0 } }))
  const q = await loadPolicyFromPath(withManifest, EP)
  t.same(q.evaluate({ user: 'bob' }), { allow: false })
})

t.test('policy.print: lines with the input that printed them; off, print is compiled out', async t => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-print-'))
  writeFileSync(path.join(dir, 'p.rego'), 'package bouncer\n\nimport rego.v1\n\ndecision := {"allow": true} if {\n  print("user", input.user)\n}\n')
  const seen: Array<[string, unknown]> = []
  const on = await loadPolicyFromPath(dir, EP, { onPrint: (line, ev) => seen.push([line, (ev.input as { id: string }).id]) })
  t.same(on.evaluate({ user: 'alice', id: 'req-1' }), { allow: true })
  t.same(on.evaluate({ id: 'req-2' }), { allow: true })
  t.same(seen, [['user alice', 'req-1'], ['user <undefined>', 'req-2']])
  const off = await loadPolicyFromPath(dir, EP)
  t.notOk(off.wasm.builtins.includes('internal.print'), 'no print import when policy.print is off')
  t.same(off.evaluate({ user: 'x' }), { allow: true })
  // a module built with print (a bundle) and no hook: print is a no-op
  const c = compileModules({ modules: [{ file: 'p.rego', source: 'package p\n\nimport rego.v1\n\nr if print("x")\n' }], entrypoints: ['p/r'] })
  const w = await loadWasmPolicy(c.wasm)
  t.equal(w.evaluator('p/r')({}), true)
})
