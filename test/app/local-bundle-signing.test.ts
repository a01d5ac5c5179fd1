// A bundle archive named by policy.path is verified with bundles.signing's keys, as a downloaded
// one is (OPA: `opa run -b bundle.tar.gz --verification-key`): a signed archive loads with them
// (before, it was refused for want of keys that were configured), and with keys configured an
// unsigned archive, or one signed with another key or scope, is refused at start.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { writeBundle } from '../../src/bundle/index.js'
import { startBouncer, startUpstream } from '../helpers/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'

const SECRET = 'a-bundle-signing-secret-of-32-bytes!'
const POLICY = 'package bouncer\n\ndefault decision := {"allow": false, "status": 403}\n\ndecision := {"allow": true} if input.attributes.request.http.method == "GET"\n'

async function archive (t: Test, sign?: { key: string; scope?: string }): Promise<string> {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'p.rego'), POLICY)
  const c = await compileBundle({ paths: [dir], entrypoints: ['bouncer/decision'], revision: 'local-1' })
  const bytes = await writeBundle({ manifest: c.manifest, wasm: c.wasm, data: c.data }, sign === undefined ? undefined : { key: sign.key, alg: 'HS256', keyId: 'k1', ...(sign.scope ? { scope: sign.scope } : {}) })
  const file = join(tempDir(t), 'bundle.tar.gz')
  writeFileSync(file, bytes)
  return file
}

const signing = (scope?: string, shadowScope?: string) => ({ bundles: { signing: { keys: { k1: { algorithm: 'HS256', key: SECRET } }, ...(scope ? { scope } : {}), ...(shadowScope ? { shadow_scope: shadowScope } : {}) } } })

t.test('a signed local bundle loads with the configured keys and enforces', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startBouncer({ upstream: up.url, policyPath: await archive(t, { key: SECRET, scope: 'prod' }), config: signing('prod') })
  t.teardown(() => b.close())
  t.equal(b.app.holder.current?.revision, 'local-1')
  const get = await request(`${b.url}/x`)
  await get.body.dump()
  t.equal(get.statusCode, 200)
  const del = await request(`${b.url}/x`, { method: 'DELETE' })
  await del.body.dump()
  t.equal(del.statusCode, 403)
})

t.test('with keys configured, an unsigned, wrongly signed or wrongly scoped local bundle is refused at start', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ['unsigned', await archive(t), signing(), /signature|signed/i],
    ['another key', await archive(t, { key: 'another-secret-of-at-least-32-bytes!!' }), signing(), /signature|verif/i],
    ['another scope', await archive(t, { key: SECRET, scope: 'candidate' }), signing('prod'), /scope/i],
  ]
  for (const [name, file, config, why] of cases) {
    await t.rejects(startBouncer({ upstream: up.url, policyPath: file, config }), why, name)
  }
})

t.test('a local shadow archive (policy.shadow) is checked against shadow_scope, not the active scope', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const active = await archive(t, { key: SECRET, scope: 'prod' })
  const start = async (shadow: string) => {
    const b = await startBouncer({ upstream: up.url, policyPath: active, config: { ...signing('prod', 'candidate'), policy: { shadow } } })
    t.teardown(() => b.close())
    return b
  }
  const good = await start(await archive(t, { key: SECRET, scope: 'candidate' }))
  t.equal(good.app.holder.current?.revision, 'local-1', 'the active bundle, signed for prod')
  t.equal(good.app.shadow!.holder.current?.revision, 'local-1', 'the shadow, signed for candidate, is loaded')
  const swapped = await start(await archive(t, { key: SECRET, scope: 'prod' }))
  t.equal(swapped.app.shadow!.holder.current, null, 'a bundle signed for the active scope is not taken as the shadow')
})

t.test('shadow_scope rules hold for a policy.shadow archive as for bundles.shadow_resource', async (t) => {
  const { createConfig } = await import('../../src/config/index.js')
  const keys = { k1: { algorithm: 'HS256', key: SECRET } }
  const base = { upstream: { url: 'http://127.0.0.1:1' }, policy: { path: '/etc/p/active.tar.gz', shadow: '/etc/p/shadow.tar.gz' } }
  t.throws(() => createConfig({ ...base, bundles: { signing: { keys, scope: 'prod', shadow_scope: 'prod' } } }), /bundles\.signing\.shadow_scope.*must differ from bundles\.signing\.scope/)
  t.throws(() => createConfig({ ...base, bundles: { signing: { keys, shadow_scope: 'candidate' } } }), /bundles\.signing\.scope.*must be set when bundles\.signing\.shadow_scope is/)
  t.throws(() => createConfig({ ...base, production: true, bundles: { signing: { keys, scope: 'prod' } } }), /shadow_scope.*is required in production mode with a shadow bundle/)
  t.ok(createConfig({ ...base, bundles: { signing: { keys, scope: 'prod', shadow_scope: 'candidate' } } }), 'two scopes: accepted')
  t.ok(createConfig({ ...base, policy: { path: '/etc/p/active.tar.gz', shadow: '/etc/p/candidate-rego/' }, bundles: { signing: { keys, scope: 'prod', shadow_scope: 'prod' } } }), 'a Rego directory as the shadow is not a signed bundle: no rule')
})
