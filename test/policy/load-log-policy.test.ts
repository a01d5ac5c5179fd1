// A bundle's decision-log policies (data.system.log.mask / drop) reach the ActivePolicy however
// the policy is loaded: from a directory of Rego, or as a Wasm bundle built by `bouncer build`
// (which compiles them as entrypoints of their own, without being asked).
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { loadPolicyFromPath } from '../../src/policy/load.js'

const EP = 'bouncer/decision'

function sources (withLog: boolean): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-logpol-'))
  writeFileSync(path.join(dir, 'p.rego'), 'package bouncer\n\ndecision := {"allow": true}\n')
  if (withLog) writeFileSync(path.join(dir, 'log.rego'), 'package system.log\n\nmask contains "/input/password"\n\ndrop if input.input.quiet\n')
  return dir
}

t.test('from Rego and from a built Wasm bundle', async (t) => {
  const dir = sources(true)
  const b = await compileBundle({ paths: [dir], entrypoints: [EP] })
  t.same(b.manifest.wasm?.map((w) => w.entrypoint), [EP, 'system/log/mask', 'system/log/drop'], 'bouncer build compiled the log policies too')
  const bundle = path.join(dir, 'bundle.tar.gz')
  writeFileSync(bundle, b.tarGz)
  for (const [what, p] of [['rego', await loadPolicyFromPath(dir, EP)], ['wasm bundle', await loadPolicyFromPath(bundle, EP)]] as const) {
    t.ok(p.logPolicy?.mask && p.logPolicy.drop, `${what}: both policies`)
    t.same(p.logPolicy!.mask!({ input: { password: 'x' } }), ['/input/password'], `${what}: mask evaluates`)
    t.equal(p.logPolicy!.drop!({ input: { quiet: true } }), true, `${what}: drop evaluates`)
    t.equal(p.logPolicy!.drop!({ input: {} }), undefined)
  }
})

t.test('a bundle without them has none', async (t) => {
  const p = await loadPolicyFromPath(sources(false), EP)
  t.equal(p.logPolicy, undefined)
  const b = await compileBundle({ paths: [sources(false)], entrypoints: [EP] })
  t.same(b.manifest.wasm?.map((w) => w.entrypoint), [EP])
})
