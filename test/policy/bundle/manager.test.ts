// The bundle manager against a real bundle server on 127.0.0.1: every bad input from
// issue 7 is rejected with a reason (status, logs, metrics) while the previously activated
// bundle stays; ETag/304; long-polling latency; backoff; persistence across a restart with
// the server down; production-mode refusals. policy.wasm is arbitrary bytes here because
// activation is injected (real compiled policies arrive with the compiler).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { packFiles, signBundleFiles, writeBundle, type LoadedBundle, type SignOptions } from '../../../src/bundle/index.js'
import { BundleManager, type BundleManagerConfig, type BundleMetrics, type Logger } from '../../../src/policy/bundle/index.js'
import { BundleServer, gzipZeros, pemKeys, rawTarGz, ustarHeader, waitFor } from './helpers.js'

const keys = pemKeys('ec')
const SIGN: SignOptions = { key: keys.privateKey, alg: 'ES256', keyId: 'cp-1', scope: 'authz' }
const SIGNING = { keys: { 'cp-1': { key: keys.publicKey, algorithm: 'ES256' as const, scope: 'authz' } } }
const WASM = Buffer.from('\0asm arbitrary bytes; activation is injected')

async function signedBundle (revision: string, extra: Partial<Parameters<typeof writeBundle>[0]> = {}, sign: SignOptions = SIGN): Promise<Buffer> {
  return await writeBundle({
    manifest: { revision, roots: ['authz'], wasm: [{ entrypoint: 'authz/allow', module: '/policy.wasm' }] },
    wasm: WASM,
    data: { authz: { revision } },
    ...extra
  }, sign)
}

/** Signs arbitrary files (bypassing the writer's validation) to reach checks behind the signature. */
async function signedRaw (files: Record<string, string | Buffer>): Promise<Buffer> {
  const m = new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)]))
  m.set('.signatures.json', Buffer.from(await signBundleFiles(m, SIGN)))
  return await packFiles(m)
}

class Recorder implements BundleMetrics, Logger {
  revisions: string[] = []
  failures: string[] = []
  lastSuccess = 0
  logs: { level: string; obj: object; msg?: string | undefined }[] = []
  setRevision = (_b: string, r: string): void => { this.revisions.push(r) }
  setLastSuccess = (_b: string, s: number): void => { this.lastSuccess = s }
  incFailure = (_b: string, reason: string): void => { this.failures.push(reason) }
  downloads: string[] = []
  incDownload = (_b: string, outcome: string): void => { this.downloads.push(outcome) }
  debug = (obj: object, msg?: string): void => { this.logs.push({ level: 'debug', obj, msg }) }
  info = (obj: object, msg?: string): void => { this.logs.push({ level: 'info', obj, msg }) }
  warn = (obj: object, msg?: string): void => { this.logs.push({ level: 'warn', obj, msg }) }
  error = (obj: object, msg?: string): void => { this.logs.push({ level: 'error', obj, msg }) }
}

interface Harness {
  server: BundleServer
  manager: BundleManager
  activated: { revision: string; at: number }[]
  rec: Recorder
}

async function harness (t: Test, cfg: Partial<BundleManagerConfig> = {}, activate?: (b: LoadedBundle) => Promise<void>): Promise<Harness> {
  const server = await BundleServer.start()
  const activated: Harness['activated'] = []
  const rec = new Recorder()
  const manager = new BundleManager({
    name: 'authz',
    service: { url: server.url, bearerToken: 'secret-token' },
    resource: 'bundles/authz.tar.gz',
    polling: { minDelaySeconds: 0.02, maxDelaySeconds: 0.05, maxBackoffSeconds: 0.1 },
    requestTimeoutSeconds: 0.5,
    signing: SIGNING,
    status: { enabled: true, labels: { app: 'test' } },
    ...cfg
  }, {
    activate: async (b) => {
      if (activate !== undefined) await activate(b)
      activated.push({ revision: b.manifest.revision, at: performance.now() })
    },
    metrics: rec,
    logger: rec
  })
  t.teardown(async () => {
    await manager.stop()
    await server.close()
  })
  return { server, manager, activated, rec }
}

t.test('every bad input is rejected with a reason and the previous bundle keeps serving', async (t) => {
  const h = await harness(t, {}, async (b) => {
    // An activation failure (e.g. the Wasm does not load) must also leave A in place.
    if (b.manifest.revision === 'poison') throw new Error('wasm module failed to instantiate')
  })
  h.server.serve({ kind: 'bundle', bytes: await signedBundle('A'), etag: '"A"' })
  await h.manager.start()
  t.equal(h.manager.status().state, 'OK')
  t.same(h.activated.map(a => a.revision), ['A'])

  const GiB = 1024 * 1024 * 1024
  const other = pemKeys('ec')
  const good = await signedBundle('B-parts')
  const cases: { name: string; serve: () => Promise<Parameters<BundleServer['serve']>[0]>; code: string; file: string | RegExp; reason: RegExp; kind: string; http?: number }[] = [
    { name: 'corrupt gzip', serve: async () => ({ kind: 'bundle', bytes: Buffer.concat([good.subarray(0, 40), Buffer.alloc(64, 0xaa), good.subarray(104)]), etag: '"c1"' }), code: 'BOUNCER_ERR_BUNDLE_GZIP', file: /bundles\/authz\.tar\.gz$/, reason: /./, kind: 'gzip' },
    { name: 'truncated tar', serve: async () => ({ kind: 'bundle', bytes: (await import('node:zlib')).gzipSync((await import('node:zlib')).gunzipSync(good).subarray(0, 700)), etag: '"c2"' }), code: 'BOUNCER_ERR_BUNDLE_TAR', file: /authz\.tar\.gz$/, reason: /truncated/, kind: 'tar' },
    { name: '../ entry', serve: async () => ({ kind: 'bundle', bytes: await rawTarGz([{ name: '../../etc/evil', body: 'x' }]), etag: '"c3"' }), code: 'BOUNCER_ERR_BUNDLE_UNSAFE_PATH', file: '"../../etc/evil"', reason: /escapes/, kind: 'unsafe_path' },
    { name: 'absolute entry', serve: async () => ({ kind: 'bundle', bytes: await rawTarGz([{ name: '//etc/passwd', body: 'x' }]), etag: '"c4"' }), code: 'BOUNCER_ERR_BUNDLE_UNSAFE_PATH', file: '"//etc/passwd"', reason: /absolute/, kind: 'unsafe_path' },
    { name: 'symlink entry', serve: async () => ({ kind: 'bundle', bytes: await rawTarGz([{ name: 'data.json', type: 'symlink', linkname: '/etc/shadow' }]), etag: '"c5"' }), code: 'BOUNCER_ERR_BUNDLE_ENTRY_TYPE', file: '"data.json"', reason: /symlink -> \/etc\/shadow/, kind: 'entry_type' },
    { name: '1 GiB decompression bomb', serve: async () => ({ kind: 'bundle', bytes: await gzipZeros(ustarHeader('policy.wasm', GiB), GiB), etag: '"c6"' }), code: 'BOUNCER_ERR_BUNDLE_TOO_LARGE', file: 'policy.wasm', reason: /max_file_bytes/, kind: 'too_large' },
    { name: 'overlapping roots', serve: async () => ({ kind: 'bundle', bytes: await signedRaw({ '.manifest': JSON.stringify({ revision: 'o', roots: ['authz', 'authz/admin'] }), 'data.json': '{}' }), etag: '"c7"' }), code: 'BOUNCER_ERR_BUNDLE_ROOTS_OVERLAP', file: '.manifest', reason: /"authz" and "authz\/admin"/, kind: 'roots_overlap' },
    { name: 'missing wasm entrypoint module', serve: async () => ({ kind: 'bundle', bytes: await signedRaw({ '.manifest': JSON.stringify({ revision: 'm', roots: ['authz'], wasm: [{ entrypoint: 'authz/allow', module: '/authz/policy.wasm' }] }), 'data.json': '{}' }), etag: '"c8"' }), code: 'BOUNCER_ERR_BUNDLE_WASM_MODULE', file: 'authz/policy.wasm', reason: /no such file/, kind: 'wasm_module' },
    { name: 'bad signature', serve: async () => ({ kind: 'bundle', bytes: await signedBundle('evil', {}, { ...SIGN, key: other.privateKey }), etag: '"c9"' }), code: 'BOUNCER_ERR_BUNDLE_SIGNATURE', file: '.signatures.json', reason: /not valid/, kind: 'signature' },
    { name: 'wrong scope', serve: async () => ({ kind: 'bundle', bytes: await signedBundle('scoped', {}, { ...SIGN, scope: 'billing' }), etag: '"c10"' }), code: 'BOUNCER_ERR_BUNDLE_SIGNATURE', file: '.signatures.json', reason: /scope mismatch/, kind: 'signature' },
    { name: 'unknown kid', serve: async () => ({ kind: 'bundle', bytes: await signedBundle('kid', {}, { ...SIGN, keyId: 'rogue' }), etag: '"c11"' }), code: 'BOUNCER_ERR_BUNDLE_SIGNATURE', file: '.signatures.json', reason: /unknown key id "rogue"/, kind: 'signature' },
    {
      name: 'extra unsigned file',
      serve: async () => {
        const signed = await signedBundle('extra')
        const { gunzipSync, gzipSync } = await import('node:zlib')
        const tarBytes = gunzipSync(signed)
        const end = tarBytes.length - 1024 // drop the end-of-archive blocks, append an entry
        const extra = Buffer.concat([ustarHeader('authz/backdoor.rego', 38), Buffer.from('package authz\nallow := true # always!\n'.slice(0, 38)), Buffer.alloc(512 - 38), Buffer.alloc(1024)])
        return { kind: 'bundle', bytes: gzipSync(Buffer.concat([tarBytes.subarray(0, end), extra])), etag: '"c12"' }
      },
      code: 'BOUNCER_ERR_BUNDLE_SIGNATURE', file: 'authz/backdoor.rego', reason: /not covered by the bundle signature/, kind: 'signature'
    },
    { name: 'unsigned bundle', serve: async () => ({ kind: 'bundle', bytes: await writeBundle({ manifest: { revision: 'u', roots: ['authz'] }, data: {} }), etag: '"c13"' }), code: 'BOUNCER_ERR_BUNDLE_UNSIGNED', file: /authz\.tar\.gz$/, reason: /no \.signatures\.json/, kind: 'unsigned' },
    { name: 'server 500', serve: async () => ({ kind: 'status', code: 500 }), code: 'BOUNCER_ERR_BUNDLE_DOWNLOAD', file: /authz\.tar\.gz$/, reason: /^server answered HTTP 500 \(Internal Server Error\)$/, kind: 'download', http: 500 },
    { name: 'server 404', serve: async () => ({ kind: 'status', code: 404 }), code: 'BOUNCER_ERR_BUNDLE_DOWNLOAD', file: /authz\.tar\.gz$/, reason: /HTTP 404/, kind: 'download', http: 404 },
    { name: 'server hangs before answering', serve: async () => ({ kind: 'hang' }), code: 'BOUNCER_ERR_BUNDLE_DOWNLOAD', file: /authz\.tar\.gz$/, reason: /no complete response within 500 ms/, kind: 'download' },
    { name: 'server hangs mid-body', serve: async () => ({ kind: 'hang-body', bytes: await signedBundle('half') }), code: 'BOUNCER_ERR_BUNDLE_DOWNLOAD', file: /authz\.tar\.gz$/, reason: /no complete response within 500 ms/, kind: 'download' },
    { name: 'activation failure', serve: async () => ({ kind: 'bundle', bytes: await signedBundle('poison'), etag: '"c14"' }), code: 'BOUNCER_ERR_BUNDLE_ACTIVATION', file: 'poison', reason: /wasm module failed to instantiate/, kind: 'activation' }
  ]

  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const failuresBefore = h.rec.failures.length
      const postsBefore = h.server.ts.statusPosts.length
      h.server.serve(await c.serve())
      await waitFor(() => h.manager.status().lastError?.code === c.code && h.rec.failures.length > failuresBefore, 5000, `${c.name} to be rejected`)
      const s = h.manager.status()
      t.equal(s.lastError!.code, c.code)
      if (typeof c.file === 'string') t.equal(s.lastError!.file, c.file, 'names the file')
      else t.match(s.lastError!.file, c.file, 'names the file')
      t.match(s.lastError!.reason, c.reason, 'gives the reason')
      if (c.http !== undefined) t.equal(s.lastError!.httpCode, c.http)
      t.equal(s.state, 'WARN', 'WARN: failing, but a policy is active')
      t.equal(s.activeRevision, 'A', 'A stays active')
      t.equal(h.manager.active?.manifest.revision, 'A')
      t.same(h.activated.map(a => a.revision), ['A'], 'nothing else was activated')
      t.equal(h.rec.failures.at(-1), c.kind, 'failure counted by reason')
      const warn = [...h.rec.logs].reverse().find(l => l.level === 'warn')!
      t.match(warn.obj, { code: c.code, activeRevision: 'A' }, 'logged with the reason')
      t.match(warn.msg, /previous policy stays active/)
      await waitFor(() => h.server.ts.statusPosts.length > postsBefore, 2000, 'a status report')
      await h.manager.flushStatus()
      const report = h.server.ts.statusPosts.at(-1) as { bundles: { authz: Record<string, unknown> }; plugins: { bundle: { state: string } } }
      t.match(report.bundles.authz, { name: 'authz', active_revision: 'A', code: 'bundle_error', errors: [{ code: c.code }] }, 'reported to the status API')
      t.equal(report.plugins.bundle.state, 'WARN')
    })
  }

  await t.test('recovery: a good bundle after all that activates', async (t) => {
    h.server.serve({ kind: 'bundle', bytes: await signedBundle('B'), etag: '"B"' })
    await waitFor(() => h.manager.status().activeRevision === 'B', 5000, 'B')
    t.same(h.activated.map(a => a.revision), ['A', 'B'])
    t.equal(h.manager.status().state, 'OK')
    t.equal(h.manager.status().lastError, null)
    t.same(h.rec.revisions, ['A', 'B'])
    t.ok(h.rec.lastSuccess > 0)
  })
})

t.test('ETag / If-None-Match / 304: an unchanged bundle is neither re-downloaded nor re-activated', async (t) => {
  const h = await harness(t)
  const bytesA = await signedBundle('A')
  h.server.serve({ kind: 'bundle', bytes: bytesA, etag: '"etag-A"' })
  await h.manager.start()
  const start = h.server.ts.requests.length
  await waitFor(() => h.server.ts.requests.length >= start + 5, 3000, 'five more polls')
  const later = h.server.ts.requests.slice(1)
  t.equal(h.server.ts.requests[0]!.headers['if-none-match'], undefined, 'first request has no ETag')
  t.ok(later.every(r => r.headers['if-none-match'] === '"etag-A"'), 'later requests send the ETag')
  t.ok(h.server.ts.requests.every(r => r.headers.authorization === 'Bearer secret-token'), 'bearer token on every request')
  t.ok(h.server.ts.requests.every(r => r.headers.prefer === undefined), 'no Prefer header without long polling')
  t.same(h.activated.map(a => a.revision), ['A'], 'activated once')
  t.equal(h.rec.downloads[0], '200')
  t.ok(h.rec.downloads.slice(1).every(o => o === '304') && h.rec.downloads.length >= 5, 'later requests counted as 304')
  t.equal(h.manager.status().state, 'OK')
  // Polls are spaced by the jittered delay (20–50 ms), not hammered.
  const gaps = later.slice(1).map((r, i) => r.at - later[i]!.at)
  t.ok(gaps.every(g => g >= 15), `gaps respect min delay: ${gaps.map(g => g.toFixed(0)).join(', ')} ms`)

  // A server without ETags that re-sends identical bytes does not cause a re-activation either.
  h.server.serve({ kind: 'bundle', bytes: bytesA, etag: '' })
  const n = h.server.ts.requests.length
  await waitFor(() => h.server.ts.requests.length >= n + 3, 3000, 'polls')
  t.same(h.activated.map(a => a.revision), ['A'])
})

t.test('long polling: activation follows a server-side change within milliseconds', async (t) => {
  const h = await harness(t, { polling: { longPollingTimeoutSeconds: 5, minDelaySeconds: 10, maxDelaySeconds: 20 } })
  h.server.longPoll = true
  h.server.serve({ kind: 'bundle', bytes: await signedBundle('A'), etag: '"A"' })
  await h.manager.start()
  t.same(h.activated.map(a => a.revision), ['A'])

  const latencies: number[] = []
  for (let i = 1; i <= 5; i++) {
    await waitFor(() => h.server.waiters.length === 1, 3000, 'a held long poll')
    const held = h.server.ts.requests.at(-1)!
    t.equal(held.headers.prefer, 'wait=5', 'Prefer: wait=N')
    t.equal(held.headers['if-none-match'], i === 1 ? '"A"' : `"R${i - 1}"`)
    const rev = `R${i}`
    const bytes = await signedBundle(rev)
    h.server.serve({ kind: 'bundle', bytes, etag: `"${rev}"` })
    await waitFor(() => h.activated.at(-1)?.revision === rev, 3000, rev)
    latencies.push(h.activated.at(-1)!.at - h.server.switchedAt)
  }
  // Polling delays are 10–20 s here, so only long polling can explain sub-second activation.
  t.ok(latencies.every(l => l < 1000), 'every change activated in under a second')
  const sorted = [...latencies].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]!
  t.comment(`long-poll activation latency (server switch → activate called): ${latencies.map(l => l.toFixed(1)).join(', ')} ms; median ${median.toFixed(1)} ms`)
  console.log(`# LONG_POLL_LATENCY_MS median=${median.toFixed(1)} all=${latencies.map(l => l.toFixed(1)).join(',')}`)

  // A server timing out the wait answers 304 with the long-poll type; the client re-polls at once.
  t.equal(h.manager.status().state, 'OK')
})

t.test('long polling against a server that does not support it falls back to periodic polling', async (t) => {
  const h = await harness(t, { polling: { longPollingTimeoutSeconds: 5, minDelaySeconds: 0.2, maxDelaySeconds: 0.2 } })
  h.server.longPoll = false // answers application/gzip and never holds
  h.server.serve({ kind: 'bundle', bytes: await signedBundle('A'), etag: '"A"' })
  await h.manager.start()
  const n = h.server.ts.requests.length
  await new Promise(resolve => setTimeout(resolve, 700))
  const polls = h.server.ts.requests.length - n
  t.ok(polls >= 2 && polls <= 4, `polled every ~200 ms, not in a tight loop (${polls} polls in 700 ms)`)
})

t.test('failures back off exponentially', async (t) => {
  // Deterministic: the manager's sleep (node:timers/promises) is replaced by one that records
  // the delay it was asked for and returns at once, and jitter is pinned (random = 0.5, the
  // middle of ±20%). The sixth sleep is held until stop(), so exactly six failed cycles run;
  // nothing depends on how fast this machine is.
  const delays: number[] = []
  let sixth!: () => void
  const sixSleeps = new Promise<void>((resolve) => { sixth = resolve })
  const sleep = async (ms: number, _value?: unknown, opts?: { signal?: AbortSignal }): Promise<void> => {
    delays.push(ms)
    if (delays.length === 6) sixth()
    if (delays.length < 6) return
    await new Promise<void>((_resolve, reject) => {
      if (opts?.signal?.aborted) { reject(new Error('aborted')); return }
      opts?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
    })
  }
  const { BundleManager: Mocked } = await t.mockImport<typeof import('../../../src/policy/bundle/index.js')>('../../../src/policy/bundle/index.js', {
    'node:timers/promises': { setTimeout: sleep },
  })
  const server = await BundleServer.start()
  const manager = new Mocked({
    name: 'authz',
    service: { url: server.url },
    resource: 'bundles/authz.tar.gz',
    polling: { minDelaySeconds: 0.05, maxDelaySeconds: 0.05, maxBackoffSeconds: 0.4 },
    requestTimeoutSeconds: 5,
    signing: SIGNING,
  }, { activate: async () => {}, random: () => 0.5 })
  t.teardown(async () => { await manager.stop(); await server.close() })
  server.serve({ kind: 'status', code: 503 })
  await manager.start()
  t.equal(manager.status().state, 'ERROR', 'ERROR: failing and nothing active')
  await sixSleeps
  t.same(delays.slice(0, 6), [50, 100, 200, 400, 400, 400], 'min delay doubled per consecutive failure, capped at max_backoff')
  t.equal(server.ts.requests.length, 6, 'one request per cycle')
  t.equal(manager.status().consecutiveFailures, 6, 'every failure counted before its backoff')
  t.equal(manager.status().cycles, 6)
})

t.test('response size limit', async (t) => {
  const h = await harness(t, { limits: { maxCompressedBytes: 2048 } })
  h.server.serve({ kind: 'bundle', bytes: await signedBundle('big', { data: { authz: { blob: Array.from({ length: 3000 }, (_, i) => i * 7919 % 10007) } } }), etag: '"big"' })
  await h.manager.start()
  t.match(h.manager.status().lastError, { code: 'BOUNCER_ERR_BUNDLE_DOWNLOAD', reason: /exceeds max_compressed_bytes \(2048\)/ })
  t.same(h.activated, [])
})

t.test('persistence: the last good bundle is loaded at start when the service is down', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-persist-'))
  const first = await harness(t, { persistDir: dir })
  first.server.serve({ kind: 'bundle', bytes: await signedBundle('A'), etag: '"A"' })
  await first.manager.start()
  first.server.serve({ kind: 'bundle', bytes: await signedBundle('B'), etag: '"B"' })
  await waitFor(() => first.manager.status().activeRevision === 'B', 3000, 'B')
  await first.manager.stop()
  const deadUrl = first.server.url
  await first.server.close()

  // Restart: the service is unreachable (connection refused).
  const activated: string[] = []
  const rec = new Recorder()
  const second = new BundleManager({
    name: 'authz', service: { url: deadUrl }, resource: 'bundles/authz.tar.gz', signing: SIGNING, persistDir: dir,
    polling: { minDelaySeconds: 0.05, maxDelaySeconds: 0.05, maxBackoffSeconds: 0.1 }, requestTimeoutSeconds: 0.5
  }, { activate: async (b) => { activated.push(b.manifest.revision) }, logger: rec, metrics: rec })
  t.teardown(async () => { await second.stop() })
  await second.start()
  t.same(activated, ['B'], 'the persisted (last good) bundle was activated before the service was asked')
  t.equal(second.status().source, 'persisted')
  // The service is asked in the background: its failure shows once the attempt has ended.
  await waitFor(() => second.status().state === 'WARN', 3000, 'the failed attempt')
  const s = second.status()
  t.equal(s.state, 'WARN', 'serving, but the service is still failing')
  t.equal(s.lastError?.code, 'BOUNCER_ERR_BUNDLE_DOWNLOAD')
  t.match(s.lastError?.reason, /ECONNREFUSED/)
  t.ok(rec.logs.some(l => l.msg?.includes('loading the persisted bundle')))

  // A tampered persisted file is verified like a download and refused.
  const dir2 = mkdtempSync(join(tmpdir(), 'bundle-persist-bad-'))
  const { BundlePersistence } = await import('../../../src/policy/bundle/index.js')
  const p = new BundlePersistence(dir2, 'authz')
  await p.save(await signedBundle('A'), { revision: 'A', etag: '' })
  writeFileSync(p.archivePath, await signedBundle('forged', {}, { ...SIGN, key: pemKeys('ec').privateKey }))
  const rec3 = new Recorder()
  const third = new BundleManager({
    name: 'authz', service: { url: deadUrl }, signing: SIGNING, persistDir: dir2, requestTimeoutSeconds: 0.5,
    polling: { minDelaySeconds: 1, maxDelaySeconds: 1 }
  }, { activate: async () => { t.fail('must not activate a forged persisted bundle') }, logger: rec3, metrics: rec3 })
  t.teardown(async () => { await third.stop() })
  await third.start()
  t.equal(third.status().state, 'ERROR')
  t.ok(rec3.logs.some((l) => (l.obj as { code?: string }).code === 'BOUNCER_ERR_BUNDLE_SIGNATURE'), 'the forged persisted bundle refused for its signature')
  t.equal(third.status().lastError?.code, 'BOUNCER_ERR_BUNDLE_DOWNLOAD', 'then the service was asked (and is down)')
})

t.test('status reports carry OPA\'s fields', async (t) => {
  const h = await harness(t, { status: { enabled: true, labels: { app: 'bouncer-test' }, partition: 'p1' } })
  h.server.serve({ kind: 'bundle', bytes: await signedBundle('A'), etag: '"A"' })
  await h.manager.start()
  await h.manager.flushStatus()
  await waitFor(() => h.server.ts.statusPosts.length >= 1, 2000, 'status post')
  const r = h.server.ts.statusPosts[0] as Record<string, any>
  t.match(r.labels, { app: 'bouncer-test', id: 'authz' })
  const b = r.bundles.authz
  t.match(b, { name: 'authz', active_revision: 'A', type: 'snapshot' })
  for (const f of ['last_request', 'last_successful_request', 'last_successful_download', 'last_successful_activation']) {
    t.ok(!Number.isNaN(Date.parse(b[f])), `${f} is an RFC 3339 time`)
  }
  t.ok(b.size > 0)
  t.notOk('code' in b, 'no error fields on success')
  t.same(r.plugins, { bundle: { state: 'OK' } })
})

/** Asserts a config error naming `field` (and matching `reason` when given). */
function configError (t: Test, fn: () => unknown, field: string, reason?: RegExp): void {
  let err: unknown
  try { fn() } catch (e) { err = e }
  t.match(err, { code: 'BOUNCER_ERR_BUNDLE_CONFIG', file: field, ...(reason === undefined ? {} : { reason }) }, `config error on ${field}`)
}

t.test('config validation and production mode', async (t) => {
  const base = { name: 'authz', service: { url: 'https://cp.example' }, signing: SIGNING }
  const activate = async (): Promise<void> => {}
  configError(t, () => new BundleManager({ ...base, production: true, service: { url: 'http://cp.example' } }, { activate }), 'service.url', /refuses plaintext http/)
  t.ok(new BundleManager({ ...base, production: true, service: { url: 'http://cp.example' }, allowInsecureHttp: true }, { activate }))
  configError(t, () => new BundleManager({ name: 'authz', service: { url: 'https://cp.example' }, production: true }, { activate }), 'signing', /refuses unsigned bundles/)
  t.ok(new BundleManager({ name: 'authz', service: { url: 'https://cp.example' }, production: true, allowUnsigned: true }, { activate }))
  configError(t, () => new BundleManager({ ...base, polling: { minDelaySeconds: 10, maxDelaySeconds: 5 } }, { activate }), 'polling.maxDelaySeconds')
  configError(t, () => new BundleManager({ ...base, polling: { minDelaySeconds: -1 } }, { activate }), 'polling.minDelaySeconds')
  configError(t, () => new BundleManager({ ...base, service: { url: 'ftp://x' } }, { activate }), 'service.url')
  configError(t, () => new BundleManager({ ...base, limits: { maxFileBytes: 0 } }, { activate }), 'limits')
  configError(t, () => new BundleManager({ ...base, signing: { keys: { k: { key: 'junk', algorithm: 'RS256' } } } }, { activate }), 'keys.k.key')
  configError(t, () => new BundleManager({ ...base, production: true, service: { url: 'https://cp.example', tls: { rejectUnauthorized: false } } }, { activate }), 'service.tls.rejectUnauthorized')
  const m = new BundleManager(base, { activate })
  t.equal(m.url, 'https://cp.example/bundles/authz', 'resource defaults to bundles/<name>')
  t.equal(m.status().state, 'NOT_READY')
})

t.test('an unsigned-bundle setup (signing not configured) still refuses signed bundles it cannot check', async (t) => {
  const h = await harness(t, { signing: undefined as never })
  h.server.serve({ kind: 'bundle', bytes: await writeBundle({ manifest: { revision: 'plain', roots: [''] }, wasm: WASM }), etag: '"p"' })
  await h.manager.start()
  t.same(h.activated.map(a => a.revision), ['plain'])
  h.server.serve({ kind: 'bundle', bytes: await signedBundle('S'), etag: '"s"' })
  await waitFor(() => h.manager.status().lastError !== null, 3000, 'rejection')
  t.match(h.manager.status().lastError, { code: 'BOUNCER_ERR_BUNDLE_SIGNATURE', reason: /no verification keys/ })
})

t.test('persistence: a service that accepts and never answers does not hold the start while a good bundle is on disk', async (t) => {
  // It held start() for the request timeout plus the long-poll wait (2+ minutes with a long
  // poll of 100 s): past the startup probe, the pod was restarted and waited again.
  const dir = mkdtempSync(join(tmpdir(), 'bundle-persist-hang-'))
  const first = await harness(t, { persistDir: dir })
  first.server.serve({ kind: 'bundle', bytes: await signedBundle('A'), etag: '"A"' })
  await first.manager.start()
  await first.manager.stop()
  await first.server.close()
  const { createServer } = await import('node:net')
  const held: import('node:net').Socket[] = []
  const silent = createServer((s) => { held.push(s); s.on('error', () => {}) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => { for (const s of held) s.destroy(); silent.close() })
  const activated: string[] = []
  const m = new BundleManager({
    name: 'authz', service: { url: `http://127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}` }, resource: 'bundles/authz.tar.gz', signing: SIGNING, persistDir: dir,
    polling: { minDelaySeconds: 1, maxDelaySeconds: 1, longPollingTimeoutSeconds: 600 }, requestTimeoutSeconds: 600
  }, { activate: async (b) => { activated.push(b.manifest.revision) } })
  t.teardown(async () => { await m.stop() })
  await m.start() // the request would take 20 minutes: start() must not wait for it
  t.same(activated, ['A'])
  t.equal(m.status().source, 'persisted')
  await waitFor(() => held.length === 1, 3000, 'the request to the service')
})

t.test('rollback: a bundle signed before the active one is logged, and refused with refuseRollback (review, session 52)', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const newer = await signedBundle('v2-strict', {}, { ...SIGN, claims: { iat: now } })
  const older = await signedBundle('v1-permissive', {}, { ...SIGN, claims: { iat: now - 3600 } })
  await t.test('default (as OPA): activated, with a warning naming both signing times', async (t) => {
    const h = await harness(t)
    h.server.serve({ kind: 'bundle', bytes: newer, etag: '"2"' })
    await h.manager.start()
    await waitFor(() => h.manager.status().activeRevision === 'v2-strict', 5000, 'v2')
    h.server.serve({ kind: 'bundle', bytes: older, etag: '"1"' })
    await waitFor(() => h.manager.status().activeRevision === 'v1-permissive', 5000, 'v1 replayed')
    const warn = h.rec.logs.find((l) => l.level === 'warn' && /signed before the active one/.test(l.msg ?? ''))
    t.ok(warn, 'the rollback is logged')
    t.match(warn?.obj, { revision: 'v1-permissive', active_revision: 'v2-strict', signed_at: new Date((now - 3600) * 1000).toISOString() })
  })
  await t.test('refuseRollback: refused with its code, the newer policy stays', async (t) => {
    const h = await harness(t, { refuseRollback: true })
    h.server.serve({ kind: 'bundle', bytes: newer, etag: '"2"' })
    await h.manager.start()
    await waitFor(() => h.manager.status().activeRevision === 'v2-strict', 5000, 'v2')
    h.server.serve({ kind: 'bundle', bytes: older, etag: '"1"' })
    await waitFor(() => h.manager.status().lastError !== null, 5000, 'the replay refused')
    const err = h.manager.status().lastError!
    t.equal(err.code, 'BOUNCER_ERR_BUNDLE_ROLLBACK')
    t.match(err.reason, /revision "v1-permissive" was signed at .*, before the active revision "v2-strict" \(signed at .*\): refused \(bundles\.signing\.refuse_rollback\)/)
    t.equal(h.manager.status().activeRevision, 'v2-strict', 'the newer policy stays active')
    t.same(h.activated.map((a) => a.revision), ['v2-strict'])
    t.ok(h.rec.failures.includes('rollback'), 'counted as a failure of kind rollback')
    // A bundle signed later than the active one (or at the same second) activates.
    const next = await signedBundle('v3', {}, { ...SIGN, claims: { iat: now } })
    h.server.serve({ kind: 'bundle', bytes: next, etag: '"3"' })
    await waitFor(() => h.manager.status().activeRevision === 'v3', 5000, 'v3')
    // An iat in the future (milliseconds for seconds) is not a point to compare: it activates,
    // and does not lock out the correct bundles after it (second review).
    const ms = await signedBundle('v4-ms', {}, { ...SIGN, claims: { iat: now * 1000 } })
    h.server.serve({ kind: 'bundle', bytes: ms, etag: '"4"' })
    await waitFor(() => h.manager.status().activeRevision === 'v4-ms', 5000, 'v4')
    const after = await signedBundle('v5', {}, { ...SIGN, claims: { iat: now } })
    h.server.serve({ kind: 'bundle', bytes: after, etag: '"5"' })
    await waitFor(() => h.manager.status().activeRevision === 'v5', 5000, 'v5 after a bundle with a future iat')
  })
})

t.test('a 304 with no bundle active is a failure with its reason, not ERROR without one (review, session 52)', async (t) => {
  const h = await harness(t)
  h.server.serve({ kind: 'status', code: 304 })
  await h.manager.start()
  await waitFor(() => h.manager.status().lastError !== null, 5000, 'the 304 reported')
  const s = h.manager.status()
  t.equal(s.state, 'ERROR')
  t.equal(s.lastError?.code, 'BOUNCER_ERR_BUNDLE_DOWNLOAD')
  t.match(s.lastError?.reason, /304 Not Modified, but no bundle is active/)
  t.equal(s.activeRevision, null)
  h.server.serve({ kind: 'bundle', bytes: await signedBundle('A'), etag: '"A"' })
  await waitFor(() => h.manager.status().activeRevision === 'A', 5000, 'a bundle after it activates')
  t.equal(h.manager.status().lastError, null)
})
