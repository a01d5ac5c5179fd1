// bundles.signing.shadow_scope: the shadow bundle is signed with its own scope, so whoever can
// write the bundle store (but holds no signing key) cannot move an unapproved candidate from the
// shadow resource to the active one and have it enforced: the active manager refuses its scope.
// Real bundle server, real signed bundles built by the project's compiler and writer.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { writeBundle } from '../../src/bundle/index.js'
import { createConfig } from '../../src/config/index.js'
import { startBouncer, startBundleService, startUpstream } from '../helpers/index.js'
import { tempDir, waitFor } from '../decision-log/fixtures/control-plane.js'

const SECRET = 'a-bundle-signing-secret-of-32-bytes!'
const ACTIVE = 'package bouncer\n\ndefault decision := {"allow": false, "status": 403}\n\ndecision := {"allow": true} if input.attributes.request.http.method == "GET"\n'
const CANDIDATE = 'package bouncer\n\ndecision := {"allow": true}\n'

t.test('a bundle signed for shadow evaluation is refused as the active policy', async (t) => {
  const build = async (source: string, revision: string, scope: string): Promise<Buffer> => {
    const dir = tempDir(t)
    writeFileSync(join(dir, 'p.rego'), source)
    const c = await compileBundle({ paths: [dir], entrypoints: ['bouncer/decision'], revision })
    return await writeBundle({ manifest: c.manifest, wasm: c.wasm, data: c.data }, { key: SECRET, alg: 'HS256', keyId: 'k1', scope })
  }
  const served: Record<string, { etag: string; body: Buffer }> = {
    '/bundles/active.tar.gz': { etag: '"a1"', body: await build(ACTIVE, 'active-1', 'prod') },
    '/bundles/shadow.tar.gz': { etag: '"c1"', body: await build(CANDIDATE, 'candidate-1', 'candidate') },
  }
  const service = await startBundleService(served)
  const activeRequests = (): number => service.requests.filter((r) => r.url === '/bundles/active.tar.gz').length
  const up = await startUpstream()
  const b = await startBouncer({
    upstream: up.url,
    config: {
      bundles: {
        service_url: service.url,
        resource: 'bundles/active.tar.gz',
        shadow_resource: 'bundles/shadow.tar.gz',
        polling: { min_delay_seconds: 0.05, max_delay_seconds: 0.1 },
        persist_dir: tempDir(t),
        signing: { keys: { k1: { algorithm: 'HS256', key: SECRET } }, scope: 'prod', shadow_scope: 'candidate' },
      },
    },
  })
  t.teardown(async () => { await b.close(); await up.close(); await service.close() })
  await b.app.shadow!.started
  t.equal(b.app.holder.current?.revision, 'active-1')
  t.equal(b.app.shadow!.holder.current?.revision, 'candidate-1', 'the candidate, signed with the shadow scope, is the shadow')
  const del = async (): Promise<number> => {
    const r = await request(`${b.url}/accounts/1`, { method: 'DELETE' })
    await r.body.dump()
    return r.statusCode
  }
  t.equal(await del(), 403, 'the active policy denies')

  // The store is written: the candidate now sits at the active resource.
  served['/bundles/active.tar.gz'] = { etag: '"swapped"', body: served['/bundles/shadow.tar.gz']!.body }
  const seen = activeRequests()
  await waitFor(() => activeRequests() > seen + 1, 5000, 'the active resource polled again')
  t.equal(b.app.holder.current?.revision, 'active-1', 'the swapped bundle was not activated')
  t.equal(await del(), 403, 'the candidate is not enforced')
  t.match(await (await request(`${b.adminUrl}/metrics`)).body.text(), /bouncer_bundle_failures_total\{name="bouncer",reason="[a-z_]+"\} [1-9]/, 'counted as a failure')
})

t.test('shadow_scope is checked at start: the same as scope, or without scope, is refused; production requires it', async (t) => {
  const base = { upstream: { url: 'http://x' } }
  const bundles = (signing: Record<string, unknown>) => ({ service_url: 'https://b.example', shadow_resource: 'bundles/shadow.tar.gz', signing: { keys: { k1: { algorithm: 'HS256', key: SECRET } }, ...signing } })
  const problems = (cfg: Record<string, unknown>): string => { try { createConfig(cfg); return '' } catch (e) { return (e as Error).message } }
  t.match(problems({ ...base, bundles: bundles({ scope: 'prod', shadow_scope: 'prod' }) }), /bundles\.signing\.shadow_scope.*: must differ from bundles\.signing\.scope \("prod"\)/)
  t.match(problems({ ...base, bundles: bundles({ shadow_scope: 'candidate' }) }), /bundles\.signing\.scope.*: must be set when bundles\.signing\.shadow_scope is/)
  t.match(problems({ ...base, production: true, server: { tls: { enabled: true, cert_file: '/x', key_file: '/y' } }, bundles: bundles({ scope: 'prod' }) }), /bundles\.signing\.shadow_scope.*: is required in production mode/)
  t.equal(problems({ ...base, bundles: bundles({ scope: 'prod', shadow_scope: 'candidate' }) }), '', 'two scopes: fine')
})
