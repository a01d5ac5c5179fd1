// `bouncer config check` reports what `bouncer run` refuses at start (review helper, 2026-12-07):
// it passed configs whose files run could not read, and the pod crash-looped on them.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { createConfig } from '../../src/config/index.js'
import { preflight } from '../../src/app/preflight.js'

const dir = mkdtempSync(path.join(tmpdir(), 'preflight-'))
const short = path.join(dir, 'short.key')
writeFileSync(short, 'abc\n')
const good = path.join(dir, 'good.key')
writeFileSync(good, 'x'.repeat(40))
const cfg = (over: Record<string, unknown>) => createConfig({ upstream: { url: 'http://127.0.0.1:1' }, policy: { path: 'policies' }, ...over } as Parameters<typeof createConfig>[0])

t.test('each file a setting names, read as the component reads it at start', async (t) => {
  t.same(await preflight(cfg({})), [], 'the shipped policies/ and nothing else: no problem')
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['policy path', { policy: { path: '/nonexistent/policy' } }, /^policy\.path: \/nonexistent\/policy: no such file or directory$/],
    ['server TLS', { server: { tls: { enabled: true, cert_file: '/nonexistent/tls.crt', key_file: '/nonexistent/tls.key' } } }, /server\.tls\.cert_file: cannot read \/nonexistent\/tls\.crt/],
    ['masking key file missing', { masking: { hash_key_file: '/nonexistent/hash.key' } }, /masking\.hash_key_file/],
    ['masking key file short', { masking: { hash_key_file: short } }, /masking\.hash_key_file: .* holds a 3-byte key/],
    ['integrity key', { cache: { enabled: true, redis: { enabled: true, url: 'redis://127.0.0.1:1', integrity_key_file: '/nonexistent/i.key' } } }, /cache\.redis\.integrity_key_file/],
    ['JWT PEM file', { auth: { jwt: { enabled: true, keys: [{ alg: 'RS256', pem_file: '/nonexistent/k.pem' }] } } }, /^auth\.jwt: .*pem_file/],
    ['JWT short secret', { auth: { jwt: { enabled: true, keys: [{ alg: 'HS256', secret: 'twelve-bytes' }] } } }, /^auth\.jwt: .*at least 32 bytes/], // security-gate: allow-secret
    ['decision-log token file', { decision_logs: { enabled: true, service_url: 'http://127.0.0.1:1', bearer_token_file: '/nonexistent/token' } }, /decision_logs\.bearer_token_file/],
    // Found by the review of the first version.
    ['Redis password file', { cache: { enabled: true, redis: { enabled: true, url: 'redis://127.0.0.1:1', password_file: '/nonexistent/pw' } } }, /cache\.redis\.password_file/],
    ['bundle signing key that is no key', { bundles: { signing: { keys: { k1: { algorithm: 'RS256', key_file: good } } } } }, /^bundles\.signing: .*k1/],
    ['two shadow policies', { policy: { path: 'policies', shadow: 'policies' }, bundles: { service_url: 'http://127.0.0.1:1', shadow_resource: 'b.tar.gz' } }, /bundles\.shadow_resource: not together with policy\.shadow/],
  ]
  for (const [name, over, re] of cases) {
    const problems = await preflight(cfg(over))
    t.equal(problems.length, 1, `${name}: one problem (${problems.join(' | ')})`)
    t.match(problems[0], re, name)
  }
  t.same(await preflight(cfg({ masking: { hash_key_file: good } })), [], 'a readable key of the right size passes')
  const ext = createConfig({ mode: 'ext_authz', policy: { path: 'policies' }, ext_authz: { http: { enabled: true } }, upstream: { http2: { url: 'https://127.0.0.1:1' }, tls: { ca_file: '/nonexistent/ca.pem' } } } as Parameters<typeof createConfig>[0])
  t.match((await preflight(ext)).join('\n'), /upstream\.tls\.ca_file/, 'the gRPC upstream\'s TLS without upstream.url (ext_authz mode)')
})
