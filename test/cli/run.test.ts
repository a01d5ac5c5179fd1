// `bouncer run` as a real process (bin/bouncer.js): config errors, the shipped policy,
// a bundle archive, env overrides, SIGTERM with a request in flight → exit 0.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { freePort, startBundleService, startUpstream } from '../helpers/index.js'

const root = path.resolve(import.meta.dirname, '../..')
const bin = path.join(root, 'bin/bouncer.js')

interface Proc { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> }

function run (args: string[], env: Record<string, string> = {}): Proc {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOUNCER_')))
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, out: () => out, err: () => err, exited }
}

async function waitReady (adminPort: number, proc: Proc, ms = 30000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    try {
      const r = await request(`http://127.0.0.1:${adminPort}/readyz`)
      await r.body.dump()
      if (r.statusCode === 200) return
    } catch { /* not listening yet */ }
    if (proc.child.exitCode !== null) throw new Error(`exited early: ${proc.err()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`not ready in time; stdout: ${proc.out().slice(-2000)} stderr: ${proc.err()}`)
}

t.test('dispatcher', async (t) => {
  const none = run([])
  t.equal(await none.exited, 2)
  t.match(none.out(), /usage: bouncer <command>/)
  const unknown = run(['frobnicate'])
  t.equal(await unknown.exited, 2)
  t.match(unknown.err(), /unknown command "frobnicate"/)
})

t.test('invalid configuration: one line per bad field, exit 2', async (t) => {
  const p = run(['run', '--port', 'http', '--upstream', 'ftp://x', '--set', 'cache.l1.max_entriez=1'], { BOUNCER_POLICY_ERROR_STATUS: '418' })
  t.equal(await p.exited, 2)
  const err = p.err()
  t.match(err, /server\.port \(flag --port\): must be integer, got "http"/)
  t.match(err, /upstream\.url \(flag --upstream\): "ftp:\/\/x" does not match/)
  t.match(err, /policy\.error_status \(env BOUNCER_POLICY_ERROR_STATUS\): must be one of 403, 500/)
  t.match(err, /--set cache\.l1\.max_entriez: unknown setting/)
  const missing = run(['run', '--upstream', 'http://127.0.0.1:1'])
  t.equal(await missing.exited, 2)
  t.match(missing.err(), /policy\.path: is required/)
  const unreadable = run(['run', '--upstream', 'http://127.0.0.1:1', '--policy', 'policies', '--set', 'masking.hash_key_file=/tmp'])
  t.equal(await unreadable.exited, 2, 'a file a setting names that cannot be read: invalid configuration, exit 2')
  t.match(unreadable.err(), /invalid configuration \(1 problem\):\n {2}- masking\.hash_key_file: cannot read \/tmp/)
  // A policy path that does not exist: invalid configuration too, found before anything starts
  // (src/app/preflight.ts, as config check finds it).
  const badPolicy = run(['run', '--upstream', 'http://127.0.0.1:1', '--policy', '/nonexistent', '--port', String(await freePort()), '--admin-port', String(await freePort())])
  t.equal(await badPolicy.exited, 2)
  t.match(badPolicy.err(), /policy\.path: \/nonexistent: no such file or directory/)
})

t.test('serves the shipped policy; SIGTERM finishes in-flight requests and exits 0', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const port = await freePort()
  const adminPort = await freePort()
  const p = run(['run', '--upstream', up.url, '--policy', 'policies', '--port', String(port), '--host', '127.0.0.1'],
    { BOUNCER_ADMIN_PORT: String(adminPort), BOUNCER_ADMIN_HOST: '127.0.0.1', BOUNCER_SERVER_SHUTDOWN_TIMEOUT_SECONDS: '10' })
  t.teardown(() => { if (p.child.exitCode === null) p.child.kill('SIGKILL') })
  await waitReady(adminPort, p)
  const pub = await request(`http://127.0.0.1:${port}/v1/products`)
  t.equal(pub.statusCode, 200, 'public route allowed')
  await pub.body.dump()
  const anon = await request(`http://127.0.0.1:${port}/v1/customers`)
  t.equal(anon.statusCode, 401, 'protected route needs a token')
  t.equal(anon.headers['www-authenticate'], 'Bearer')
  await anon.body.dump()

  let release!: () => void
  up.raw = (req, res) => { req.resume(); release = () => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('done') } }
  const inflight = request(`http://127.0.0.1:${port}/v1/products/slow`)
  await new Promise((r) => setTimeout(r, 200))
  p.child.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 200))
  release()
  const r = await inflight
  t.equal(r.statusCode, 200)
  t.equal(await r.body.text(), 'done', 'in-flight request completed after SIGTERM')
  t.equal(await p.exited, 0, 'exit 0')
  const lines = p.out().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
  t.ok(lines.some((l) => l.msg === 'signal received' && l.signal === 'SIGTERM'))
  t.ok(lines.some((l) => l.msg === 'stopped'))
  t.equal(lines.filter((l) => l.msg === 'request').length, 3, 'one log line per request')
})

t.test('loads a bundle archive built by the project', async (t) => {
  const { compileBundle } = await import('../../src/compiler/bundle/index.js')
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-cli-'))
  writeFileSync(path.join(dir, 'p.rego'), 'package bouncer\n\ndecision := {"allow": input.attributes.request.http.method == "GET", "response_headers": {"x-rev": "bundle"}}\n')
  const b = await compileBundle({ paths: [dir], entrypoints: ['bouncer/decision'], revision: 'cli-1' })
  const file = path.join(dir, 'bundle.tar.gz')
  writeFileSync(file, b.tarGz)
  const up = await startUpstream()
  t.teardown(() => up.close())
  const port = await freePort()
  const adminPort = await freePort()
  const p = run(['run', '--upstream', up.url, '--policy', file, '--port', String(port), '--admin-port', String(adminPort), '--host', '127.0.0.1', '--admin-host', '127.0.0.1'])
  t.teardown(() => { if (p.child.exitCode === null) p.child.kill('SIGKILL') })
  await waitReady(adminPort, p)
  const ok = await request(`http://127.0.0.1:${port}/x`)
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['x-rev'], 'bundle')
  await ok.body.dump()
  const no = await request(`http://127.0.0.1:${port}/x`, { method: 'DELETE' })
  t.equal(no.statusCode, 403)
  await no.body.dump()
  const metrics = await (await request(`http://127.0.0.1:${adminPort}/metrics`)).body.text()
  t.match(metrics, /bouncer_policy_info\{revision="cli-1"/)
  p.child.kill('SIGINT')
  t.equal(await p.exited, 0)
})

t.test('a bundle server: "waiting for a bundle" is logged only while none is active', async (t) => {
  const { compileBundle } = await import('../../src/compiler/bundle/index.js')
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-cli-'))
  writeFileSync(path.join(dir, 'p.rego'), 'package bouncer\n\ndecision := {"allow": true}\n')
  const b = await compileBundle({ paths: [dir], entrypoints: ['bouncer/decision'], revision: 'cli-2' })
  const svc = await startBundleService({ '/bundles/bundle.tar.gz': { etag: '"1"', body: Buffer.from(b.tarGz) } })
  const up = await startUpstream()
  t.teardown(async () => { await up.close(); await svc.close() })
  for (const [resource, waits] of [['bundles/bundle.tar.gz', false], ['bundles/missing.tar.gz', true]] as const) {
    const port = await freePort()
    const adminPort = await freePort()
    const p = run(['run', '--upstream', up.url, '--port', String(port), '--admin-port', String(adminPort), '--host', '127.0.0.1', '--admin-host', '127.0.0.1',
      '--set', `bundles.service_url=${svc.url}`, '--set', `bundles.resource=${resource}`,
      // A fresh last-good copy: the persisted bundle of the first run would be activated at start.
      '--set', `bundles.persist_dir=${mkdtempSync(path.join(tmpdir(), 'bouncer-cli-persist-'))}`])
    t.teardown(() => { if (p.child.exitCode === null) p.child.kill('SIGKILL') })
    // Listening (the admin port answers) means start() has returned and the warning, if any, is out.
    const end = Date.now() + 30_000
    for (;;) {
      const r = await request(`http://127.0.0.1:${adminPort}/healthz`).catch(() => undefined)
      if (r !== undefined) { await r.body.dump(); break }
      if (p.child.exitCode !== null || Date.now() > end) throw new Error(`did not start: ${p.err()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    const warned = p.out().includes('waiting for a bundle to be activated')
    t.equal(warned, waits, `${resource}: ${waits ? 'warned (nothing active)' : 'no warning (the bundle is active)'}`)
    p.child.kill('SIGINT')
    await p.exited
  }
})

t.test('signals: a second one during the drain is logged and the drain goes on; one during start stops it without opening a port', async (t) => {
  const up = await startUpstream()
  t.teardown(() => up.close())
  const port = await freePort()
  const adminPort = await freePort()
  const env = { BOUNCER_ADMIN_PORT: String(adminPort), BOUNCER_ADMIN_HOST: '127.0.0.1', BOUNCER_SERVER_SHUTDOWN_TIMEOUT_SECONDS: '10' }
  const p = run(['run', '--upstream', up.url, '--policy', 'policies', '--port', String(port), '--host', '127.0.0.1'], env)
  t.teardown(() => { if (p.child.exitCode === null) p.child.kill('SIGKILL') })
  await waitReady(adminPort, p)
  let release!: () => void
  const arrived = new Promise<void>((resolve) => { up.raw = (req, res) => { req.resume(); release = () => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('done') }; resolve() } })
  const inflight = request(`http://127.0.0.1:${port}/v1/products/slow`)
  await arrived
  p.child.kill('SIGTERM')
  const logged = (msg: string): boolean => p.out().split('\n').some((l) => l.includes(`"msg":"${msg}"`))
  for (let i = 0; i < 100 && !logged('signal received'); i++) await new Promise((r) => setTimeout(r, 20))
  p.child.kill('SIGINT') // Node's default would exit at once (130), cutting the request
  for (let i = 0; i < 100 && !logged('signal received again; still shutting down'); i++) await new Promise((r) => setTimeout(r, 20))
  release()
  const r = await inflight
  t.equal(await r.body.text(), 'done', 'the in-flight request completed')
  t.equal(await p.exited, 0)
  t.ok(logged('signal received again; still shutting down'))

  // A bundle service that accepts and never answers, nothing on disk: start waits on the first
  // download; SIGTERM stops it there.
  const { createServer } = await import('node:net')
  const held: import('node:net').Socket[] = []
  const silent = createServer((s) => { held.push(s); s.on('error', () => {}) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => { for (const s of held) s.destroy(); silent.close() })
  const q = run(['run', '--upstream', up.url, '--port', String(port), '--host', '127.0.0.1'], {
    ...env,
    BOUNCER_BUNDLES_SERVICE_URL: `http://127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}`,
    BOUNCER_BUNDLES_PERSIST_DIR: mkdtempSync(path.join(tmpdir(), 'bouncer-run-persist-')),
  })
  t.teardown(() => { if (q.child.exitCode === null) q.child.kill('SIGKILL') })
  for (let i = 0; i < 300 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 20))
  t.equal(held.length, 1, 'the first download was asked for')
  q.child.kill('SIGTERM')
  t.equal(await q.exited, 0, 'exit 0, without waiting for the download')
  t.match(q.out(), /"msg":"signal received while starting"/)
  t.notMatch(q.out(), /"msg":"listening"/, 'no port was opened')
})

t.test('an older Node.js is refused with a plain message', async (t) => {
  // The machines have Node 20 beside the project's Node 24: run the executable with it.
  const { spawnSync } = await import('node:child_process')
  const old = ['/usr/bin/node', '/usr/local/bin/node'].find((n) => {
    const v = spawnSync(n, ['-p', 'process.versions.node'], { encoding: 'utf8' })
    return v.status === 0 && Number(v.stdout.split('.')[0]) < 24
  })
  if (old === undefined) { t.pass('no Node older than 24 on this machine to try'); return }
  const r = spawnSync(old, [bin, 'run'], { encoding: 'utf8' })
  t.equal(r.status, 2)
  t.match(r.stderr, /^bouncer: Node\.js 24 or later is required \(this is v\d+\./)
})
