// A bundle's Rego modules lie under its manifest's roots, their packages read by the compiler's
// parser wherever a bundle is loaded (review helpers, 2026-12-07: a pattern missed spellings the
// compiler accepts and skipped the check, so a bundle rooted at authz could ship
// data.system.log.drop; a "/" inside a part passed a deeper root).
import t, { type Test } from 'tap'
import { readBundle } from '../../src/bundle/index.js'
import { isBundleError, type BundleErrorCode } from '../../src/bundle/bundle-error.js'
import { checkRegoRoots } from '../../src/policy/bundle-roots.js'
import { loadPolicyFromBundle } from '../../src/policy/load.js'
import { parsePackagePath } from '../../src/compiler/parser/index.js'
import { rawTarGz } from './bundle/helpers.js'

const m = { name: '/.manifest', body: JSON.stringify({ revision: 'x', roots: ['authz/policy', 'roles'] }) }

async function refused (t: Test, files: Array<{ name: string; body: string }>, code: BundleErrorCode, file: string, reason: RegExp): Promise<void> {
  const bundle = await readBundle(await rawTarGz([m, ...files]))
  let err: unknown
  try { await checkRegoRoots(bundle) } catch (e) { err = e }
  t.ok(isBundleError(err, code), `${code} (got ${String(err)})`)
  if (isBundleError(err)) { t.equal(err.file, file); t.match(err.reason, reason) }
}

t.test('the compiler\'s parser reads the package clause', async (t) => {
  t.same(parsePackagePath('# c\npackage a.b.c\n', 'x.rego'), { path: ['a', 'b', 'c'] })
  t.same(parsePackagePath('package a["b-c"].d\n', 'x.rego'), { path: ['a', 'b-c', 'd'] })
  t.same(parsePackagePath('package a[ "b" ]\n', 'x.rego'), { path: ['a', 'b'] })
  t.same(parsePackagePath('package\n  a.b\n', 'x.rego'), { path: ['a', 'b'] })
  t.ok('error' in parsePackagePath('allow := true', 'x.rego'))
})

t.test('every module outside the roots is refused, however its package is spelt', async (t) => {
  await refused(t, [{ name: '/x.rego', body: 'package authz.other\nallow := true\n' }], 'BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS', 'x.rego', /package authz\.other is not under/)
  for (const [i, body] of ['package system[ "log" ]\ndrop := true\n', 'package\nsystem.log\ndrop := true\n', '# c\npackage   system.log # x\n', 'package system["log"]\n',
    'package\tsystem["l\\u006fg"]\n', 'package other["x y"]\n'].entries()) {
    await refused(t, [{ name: `/authz/policy/${i}.rego`, body }], 'BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS', `authz/policy/${i}.rego`, /package (system\.log|other\["x y"\]) is not under/)
  }
  await refused(t, [{ name: '/authz/policy/s.rego', body: 'package authz["policy/x"]\nallow := true\n' }], 'BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS', 'authz/policy/s.rego', /package authz\["policy\/x"\] is not under/)
  await refused(t, [{ name: '/authz/policy/p.rego', body: 'allow := true\n' }], 'BOUNCER_ERR_BUNDLE_REGO', 'authz/policy/p.rego', /line 1, column 1: unexpected .*expected package/)
  await refused(t, [{ name: '/authz/policy/p.rego', body: 'package 1\n' }], 'BOUNCER_ERR_BUNDLE_REGO', 'authz/policy/p.rego', /line 1/)
  const ok = await readBundle(await rawTarGz([m, { name: '/authz/policy/p.rego', body: '# METADATA\n# title: x\npackage authz.policy["sub"]\nallow := true\n' }]))
  await checkRegoRoots(ok)
  t.pass('a package under the roots, however spelt, is accepted')
})

t.test('the loader checks it before anything is compiled', async (t) => {
  const bundle = await readBundle(await rawTarGz([m, { name: '/authz/policy/p.rego', body: 'package authz.policy\ndecision := true\n' }, { name: '/authz/policy/log.rego', body: 'package system[ "log" ]\ndrop := true\n' }]))
  await t.rejects(loadPolicyFromBundle(bundle, 'authz/policy/decision'), { code: 'BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS' })
})
