// Rules where the data defines something (review helper, 2026-12-07). OPA's compiler refuses
// them (CheckPathConflicts with storage.NonEmpty: "conflicting rule for data path ... found") in
// opa eval, opa build, opa test and bundle activation. We compiled them, and the two documents
// mixed: a direct reference read the rule, iterating the enclosing document read the data, so
// `some p in data.policies; p.allow` allowed a user the rule itself denied.
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { compile, formatDiagnostic } from '../../src/compiler/index.js'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { loadRego } from '../../src/policy/eval/rego.js'
import { loadPolicyFromPath } from '../../src/policy/load.js'

const RULE = 'package policies.x\n\ndefault allow := false\n\nallow if input.user == "alice"\n'
const MAIN = 'package main\n\nallow_any if {\n  some p in data.policies\n  p.allow == true\n}\n'

const diagnostics = (data: unknown, ...sources: string[]): string[] => {
  const r = compile({ modules: sources.map((source, i) => ({ file: `m${i}.rego`, source })), entrypoints: [], data })
  return r.wasm === null ? r.diagnostics.map(formatDiagnostic) : []
}

t.test('a rule at a path the data defines is a compile error, as in OPA', async t => {
  t.same(diagnostics({ policies: { x: { allow: true } } }, RULE, MAIN),
    ['m0.rego:3:1: rego_compile_error: conflicting rule for data path policies/x/allow found'])
  t.same(diagnostics({ x: { cfg: { enabled: true } } }, 'package x\n\ncfg := {"enabled": false}\n'),
    ['m0.rego:3:1: rego_compile_error: conflicting rule for data path x/cfg found'], 'data below the rule\'s path')
  t.same(diagnostics({ x: 1 }, 'package x\n\ny := 2\n'),
    ['m0.rego:3:1: rego_compile_error: conflicting rule for data path x/y found'], 'a data value that is not an object above it')
  t.same(diagnostics({ x: [1, 2] }, 'package x\n\ny := 2\n'),
    ['m0.rego:3:1: rego_compile_error: conflicting rule for data path x/y found'], 'an array above it')
  t.same(diagnostics({ x: { r: {} } }, 'package x\n\nr[k] := 1 if k := input.k\n'),
    ['m0.rego:3:1: rego_compile_error: conflicting rule for data path x/r found'], 'a rule with a variable key, at its ground prefix')
  t.same(diagnostics({ x: { cfg: {} } }, 'package x.other\n\np := 1\n'), [], 'a rule beside a data object: no conflict')
  // OPA's rule tree puts these below a key that is not a string, which cannot conflict with data.
  t.same(diagnostics({ x: { p: { 2: 'b' } } }, 'package x\n\np[1] := "a"\n'), [], 'a number key')
  t.same(diagnostics({ x: { p: 5 } }, 'package x\n\np[true] := "a"\n'), [], 'a boolean key')
  t.same(diagnostics({ x: { p: 5 } }, 'package x\n\np[[1, 2]] := "a"\n'), [], 'a ground array key')
  t.same(diagnostics({ x: { cfg: 1 } }, 'package x\n\nother := 1\n'), [], 'a rule beside a data value')
  t.same(diagnostics({ x: {} }, 'package x.y\n'), [], 'an empty package is no rule')
  t.same(diagnostics(undefined, RULE), [], 'without data nothing is checked')
})

t.test('every way a policy is loaded refuses it: eval\'s loader, policy directories, bundles built from Rego', async t => {
  const data = { policies: { x: { allow: true } } }
  const modules = [{ file: 'p.rego', source: RULE }, { file: 'm.rego', source: MAIN }]
  await t.rejects(loadRego({ modules, entrypoints: ['main/allow_any'] }, data), /conflicting rule for data path policies\/x\/allow found/)
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-conflict-'))
  writeFileSync(path.join(dir, 'p.rego'), RULE)
  writeFileSync(path.join(dir, 'm.rego'), MAIN)
  writeFileSync(path.join(dir, 'data.json'), JSON.stringify(data))
  await t.rejects(loadPolicyFromPath(dir, 'main/allow_any'), /conflicting rule for data path policies\/x\/allow found/, 'a policy directory is not activated')
  await t.rejects(compileBundle({ paths: [dir], entrypoints: ['main/allow_any'] }), /conflicting rule for data path/, 'bouncer build refuses it')
  // Without the data file the same policy denies bob.
  const ok = await loadRego({ modules, entrypoints: ['main/allow_any'] }, {})
  t.same(ok.policy.evaluate({ user: 'bob' }, 'main/allow_any'), [], 'bob is not allowed by the rule')
})
