// `bouncer run --mode ext_authz` as a real process (bin/bouncer.js): the README's example config,
// a Check over gRPC and a check over HTTP, SIGTERM → exit 0; and the config errors.
import t from 'tap'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { request } from 'undici'
import { freePort } from '../helpers/index.js'
import { authzClient, checkRequest } from './fixtures/client.js'

const root = path.resolve(import.meta.dirname, '../..')
const bin = path.join(root, 'bin/bouncer.js')

function run (args: string[]): { out: () => string; err: () => string; exited: Promise<number | null>; kill (s: NodeJS.Signals): void; running (): boolean } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOUNCER_')))
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { out: () => out, err: () => err, exited, kill: (s) => child.kill(s), running: () => child.exitCode === null }
}

t.test('bouncer run --mode ext_authz with the README example', async (t) => {
  const grpcPort = await freePort()
  const httpPort = await freePort()
  const p = run(['run', '--config', 'docs/examples/ext-authz/bouncer.yaml', '--admin-port', '0',
    '--set', `ext_authz.grpc.port=${grpcPort}`, '--set', `ext_authz.http.port=${httpPort}`, '--set', 'decision_logs.enabled=false'])
  t.teardown(() => { if (p.running()) p.kill('SIGKILL') })
  // Ready when the 'listening' line is out (it is written once every listener is bound).
  while (!p.out().includes('"msg":"listening"')) {
    if (!p.running()) throw new Error(`exited early: ${p.err()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const listening = p.out().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'listening')!
  t.equal(listening.mode, 'ext_authz')
  t.equal(listening.proxy, undefined, 'no proxy port')
  t.equal(listening.ext_authz_grpc, `127.0.0.1:${grpcPort}`)

  const c = authzClient(grpcPort)
  const ok = await c.check(checkRequest({ method: 'GET', path: '/people/42' }))
  t.equal(ok.status?.code ?? 0, 0)
  t.equal(ok.http_response, 'ok_response')
  const no = await c.check(checkRequest({ method: 'DELETE', path: '/people/42' }))
  t.equal(no.status?.code, 7)
  t.equal(no.denied_response?.body, 'Unauthorized Request')
  c.close()

  const http = await request(`http://127.0.0.1:${httpPort}/people/1`)
  t.equal(http.statusCode, 200)
  t.equal(http.headers['x-ext-auth-allow'], 'yes')
  await http.body.dump()

  p.kill('SIGTERM')
  t.equal(await p.exited, 0)
})

t.test('bouncer run --mode ext_authz: configuration errors exit 2', async (t) => {
  const none = run(['run', '--mode', 'ext_authz', '--policy', 'docs/examples/ext-authz/policy.rego'])
  t.equal(await none.exited, 2)
  t.match(none.err(), /mode \(flag --mode\): "ext_authz" needs ext_authz\.grpc\.enabled or ext_authz\.http\.enabled/)
  t.notMatch(none.err(), /upstream\.url/, 'no upstream asked for')
  const bad = run(['run', '--mode', 'envoy'])
  t.equal(await bad.exited, 2)
  t.match(bad.err(), /mode \(flag --mode\): must be one of "proxy", "ext_authz", got "envoy"/)
  const proxy = run(['run', '--policy', 'docs/examples/ext-authz/policy.rego'])
  t.equal(await proxy.exited, 2)
  t.match(proxy.err(), /upstream\.url: is required .* unless --mode ext_authz/)
})
