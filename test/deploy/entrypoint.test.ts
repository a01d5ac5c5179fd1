// docker/entrypoint.sh outside a container. First its own logic against a stub bin/bouncer.js
// (argument defaults, exec so signals reach Node, the tmp fallback, healthcheck); then the
// real bouncer started from a copy of the runtime image's file layout, derived from the
// Dockerfile's COPY lines: it becomes ready, enforces a policy, answers the evidence
// commands of docs/compliance.md, and exits 0 on SIGTERM.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { copyArgs, parseDockerfile } from './fixtures/dockerfile.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const ENTRYPOINT = join(root, 'docker/entrypoint.sh')

function tmp (t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** env without BOUNCER_* (the bouncer rejects unknown ones) plus overrides */
function cleanEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BOUNCER_') && !k.startsWith('TAP') && k !== 'NODE_OPTIONS') env[k] = v
  return { ...env, ...extra }
}

interface Run { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }
function start (cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = root): Run {
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { err += d })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  return { child, stdout: () => out, stderr: () => err, exit }
}
async function runToEnd (cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = root) {
  const r = start(cmd, args, env, cwd)
  const { code } = await r.exit
  await new Promise((res) => setImmediate(res))
  return { code, stdout: r.stdout(), stderr: r.stderr() }
}
async function until<T> (what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as { port: number }
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

// A stub bouncer: reports how it was started, and on SIGTERM says so and exits 0.
const STUB = `
process.on('SIGTERM', () => { console.log('TERM'); process.exit(0) })
console.log(JSON.stringify({ pid: process.pid, argv: process.argv.slice(2) }))
if (process.argv.includes('--wait')) setInterval(() => {}, 1000)
`
function stubLayout (t: Test): string {
  const dir = tmp(t, 'entry-stub-')
  mkdirSync(join(dir, 'docker'))
  mkdirSync(join(dir, 'bin'))
  copyFileSync(ENTRYPOINT, join(dir, 'docker/entrypoint.sh'))
  chmodSync(join(dir, 'docker/entrypoint.sh'), 0o755)
  writeFileSync(join(dir, 'bin/bouncer.js'), STUB)
  mkdirSync(join(dir, 'dist/cli'), { recursive: true })
  writeFileSync(join(dir, 'dist/cli/index.js'), '')
  return dir
}
const firstJson = (s: string) => JSON.parse(s.split('\n').find((l) => l.startsWith('{'))!) as { pid: number; argv: string[] }

t.test('POSIX sh syntax (dash, as /bin/sh in the Debian image)', async (t) => {
  for (const shell of ['sh', 'dash']) {
    try { execFileSync('which', [shell]) } catch { continue }
    t.doesNotThrow(() => execFileSync(shell, ['-n', ENTRYPOINT]), `${shell} -n`)
  }
})

t.test('arguments: default command is run; bare options go to run; other commands pass through', async (t) => {
  const dir = stubLayout(t)
  const ep = join(dir, 'docker/entrypoint.sh')
  t.same(firstJson((await runToEnd(ep, [], cleanEnv())).stdout).argv, ['run'])
  t.same(firstJson((await runToEnd(ep, ['--port', '8081'], cleanEnv())).stdout).argv, ['run', '--port', '8081'])
  t.same(firstJson((await runToEnd(ep, ['verify-log', '/x', '--json'], cleanEnv())).stdout).argv, ['verify-log', '/x', '--json'])
  t.same(firstJson((await runToEnd(ep, ['run', '--config', 'a b.yaml'], cleanEnv())).stdout).argv, ['run', '--config', 'a b.yaml'], 'arguments with spaces survive')
})

t.test('exec: node replaces the shell, so SIGTERM reaches it and its exit status is the container\'s', async (t) => {
  const dir = stubLayout(t)
  const r = start(join(dir, 'docker/entrypoint.sh'), ['run', '--wait'], cleanEnv())
  const info = await until('stub start', async () => (r.stdout().includes('{') ? firstJson(r.stdout()) : undefined), 10_000)
  t.equal(info.pid, r.child.pid, 'the node process has the entrypoint\'s PID (exec, no wrapper shell)')
  r.child.kill('SIGTERM')
  const { code, signal } = await r.exit
  t.equal(code, 0)
  t.equal(signal, null)
  t.match(r.stdout(), /TERM/, 'the handler in node ran')
})

t.test('missing app: a JSON error and exit 127', async (t) => {
  const dir = stubLayout(t)
  rmSync(join(dir, 'bin/bouncer.js'))
  const r = await runToEnd(join(dir, 'docker/entrypoint.sh'), ['run'], cleanEnv())
  t.equal(r.code, 127)
  const line = JSON.parse(r.stderr.trim()) as { level: string; time: string; msg: string }
  // The bouncer's own shape (src/app/logger.ts): the level's label and an ISO time.
  t.equal(line.level, 'error')
  t.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.ok(Math.abs(Date.parse(line.time) - Date.now()) < 60_000, 'now')
  t.match(line.msg, /bin\/bouncer\.js not found/)
})

t.test('not built: a JSON error naming dist/ and exit 127', async (t) => {
  const dir = stubLayout(t)
  rmSync(join(dir, 'dist'), { recursive: true })
  const r = await runToEnd(join(dir, 'docker/entrypoint.sh'), ['run'], cleanEnv())
  t.equal(r.code, 127)
  t.match((JSON.parse(r.stderr.trim()) as { msg: string }).msg, /dist\/cli\/index\.js not found/)
})

t.test('healthcheck subcommand: /healthz on the admin port', async (t) => {
  let status = 200
  const seen: string[] = []
  const server: Server = createServer((req, res) => { seen.push(req.url ?? ''); res.statusCode = status; res.end() })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const port = String((server.address() as { port: number }).port)
  const hc = (env: Record<string, string>) => runToEnd(ENTRYPOINT, ['healthcheck'], cleanEnv(env))
  t.equal((await hc({ BOUNCER_ADMIN_PORT: port })).code, 0, '200 → healthy')
  t.equal((await hc({ BOUNCER_ADMIN_PORT: port, BOUNCER_ADMIN_HOST: '0.0.0.0' })).code, 0, 'a wildcard admin host is probed on 127.0.0.1')
  t.same(seen, ['/healthz', '/healthz'])
  status = 503
  t.equal((await hc({ BOUNCER_ADMIN_PORT: port })).code, 1, '503 → unhealthy')
  const closed = await hc({ BOUNCER_ADMIN_PORT: String(await freePort()) })
  t.equal(closed.code, 1, 'nothing listening → unhealthy')
  t.match(closed.stderr, /ECONNREFUSED/)
})

// ---------------------------------------------------------------------------------------
// the real bouncer, from the runtime image's layout

/** Copies what the Dockerfile's runtime stage copies (context files, and the build stage's /src/<path> = repo <path>) into dir/app. */
function imageLayout (t: Test): string {
  const df = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'))
  const runtime = df.stages[df.stages.length - 1]
  const build = df.stages.find((s) => s.name === 'build')!
  const buildWorkdir = build.instructions.filter((i) => i.keyword === 'WORKDIR').pop()!.args
  const app = join(tmp(t, 'entry-image-'), 'app')
  let workdir = '/'
  for (const ins of runtime.instructions) {
    if (ins.keyword === 'WORKDIR') workdir = posix.resolve(workdir, ins.args)
    if (ins.keyword !== 'COPY') continue
    const { flags, sources, dest } = copyArgs(ins.args)
    const target = posix.resolve(workdir, dest)
    // `npm ci --omit=dev` in stage deps; linked below
    if (flags.from === 'deps') continue
    for (const src of sources) {
      const repoPath = flags.from ? posix.relative(buildWorkdir, src) : src
      const to = sources.length > 1 || dest.endsWith('/') ? posix.join(target, posix.basename(repoPath)) : target
      const hostTo = join(app, posix.relative('/app', to))
      mkdirSync(dirname(hostTo), { recursive: true })
      cpSync(join(root, repoPath), hostTo, { recursive: true })
    }
  }
  // `npm ci --omit=dev` in the image; here the repository's node_modules (the dockerfile
  // test checks that src/ imports production dependencies only).
  symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'), 'dir')
  return app
}

const POLICY = `package bouncer

import rego.v1

default allow := false

allow if input.attributes.request.http.method == "GET"

decision := {"allow": allow, "reason": "GET only"}
`
const POLICY_TEST = `package bouncer

import rego.v1

test_get_allowed if allow with input as {"attributes": {"request": {"http": {"method": "GET"}}}}

test_post_denied if not allow with input as {"attributes": {"request": {"http": {"method": "POST"}}}}
`

const haveCli = existsSync(join(root, 'bin/bouncer.js')) && existsSync(join(root, 'dist/cli/run.js'))
const haveRuntime = existsSync(join(root, 'build/runtime.wasm'))
const haveCurl = (() => { try { execFileSync('which', ['curl']); return true } catch { return false } })()

t.test('the real bouncer through the entrypoint, from the image layout', {
  skip: !haveCli ? 'dist/ not built: run npm run build' : !haveRuntime ? 'build/runtime.wasm missing: run npm run build:runtime' : false,
}, async (t) => {
  const app = imageLayout(t)
  const ep = join(app, 'docker/entrypoint.sh')
  t.ok(existsSync(join(app, 'build/runtime.wasm')) && existsSync(join(app, 'bin/bouncer.js')) && existsSync(join(app, 'dist/cli/index.js')), 'layout has the runtime and the built CLI')
  t.notOk(existsSync(join(app, 'src')), 'and no TypeScript sources: this runs the built dist/')

  const work = tmp(t, 'entry-run-')
  const policyDir = join(work, 'policy')
  mkdirSync(policyDir)
  writeFileSync(join(policyDir, 'authz.rego'), POLICY)
  writeFileSync(join(policyDir, 'authz_test.rego'), POLICY_TEST)

  const upstreamSeen: string[] = []
  const upstream = createServer((req, res) => { upstreamSeen.push(`${req.method} ${req.url}`); res.setHeader('content-type', 'text/plain'); res.end('from upstream') })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => upstream.close(() => r())))
  const upstreamPort = (upstream.address() as { port: number }).port
  const proxyPort = await freePort()
  const adminPort = await freePort()
  const spool = join(work, 'spool')
  const exportFile = join(work, 'decisions.jsonl')
  const config = join(work, 'bouncer.yaml')
  writeFileSync(config, [
    'server: {host: 127.0.0.1, port: ' + proxyPort + '}',
    'admin: {host: 127.0.0.1, port: ' + adminPort + '}',
    'upstream: {url: "http://127.0.0.1:' + upstreamPort + '"}',
    'policy: {path: "' + policyDir + '", entrypoint: bouncer/decision}',
    'decision_logs: {enabled: true, sinks: [file], file_path: "' + exportFile + '", spool_dir: "' + spool + '", fsync: always}',
    'bundles: {persist_dir: "' + join(work, 'bundles') + '"}',
    'logging: {level: info}',
    '',
  ].join('\n'))

  // /tmp unwritable, as with readOnlyRootFilesystem and no /tmp volume
  const roTmp = join(work, 'ro-tmp')
  writeFileSync(roTmp, '')
  const r = start(ep, ['run', '--config', config], cleanEnv({ TMPDIR: roTmp }), work)
  t.teardown(() => { if (r.child.exitCode === null) r.child.kill('SIGKILL') })
  const admin = `http://127.0.0.1:${adminPort}`
  try {
    await until('/readyz 200', async () => ((await fetch(`${admin}/readyz`)).status === 200 ? true : undefined), 90_000)
  } catch (e) {
    t.fail(`not ready: ${(e as Error).message}\nstdout:\n${r.stdout()}\nstderr:\n${r.stderr()}`)
    return
  }
  t.pass('ready with the policy compiled at start, on a read-only /tmp')

  const hc = await runToEnd(ep, ['healthcheck'], cleanEnv({ BOUNCER_ADMIN_PORT: String(adminPort) }))
  t.equal(hc.code, 0, 'the image HEALTHCHECK command passes against the running bouncer')

  const token = 'Bearer entrypoint-test-secret-token'
  const get = await fetch(`http://127.0.0.1:${proxyPort}/public/x`, { headers: { authorization: token } })
  t.equal(get.status, 200)
  t.equal(await get.text(), 'from upstream')
  const post = await fetch(`http://127.0.0.1:${proxyPort}/public/x`, { method: 'POST', body: 'x', headers: { authorization: token } })
  t.equal(post.status, 403, 'denied by the policy')
  await post.text()
  t.same(upstreamSeen, ['GET /public/x'], 'the denied request never reached the upstream')

  const curl = async (path: string) => {
    if (haveCurl) return execFileSync('curl', ['-s', `${admin}${path}`]).toString()
    return (await fetch(`${admin}${path}`)).text()
  }
  await t.test('evidence: curl -s http://127.0.0.1:9090/readyz', async (t) => {
    const body = JSON.parse(await curl('/readyz')) as { components?: Record<string, { status: string; revision?: string }> }
    t.equal(body.components?.policy?.status, 'OK', 'the policy component is OK')
    t.match(body.components?.policy?.revision, /\S/, 'and names the active revision')
  })
  await t.test('evidence: curl -s http://127.0.0.1:9090/metrics', async (t) => {
    const body = await curl('/metrics')
    t.match(body, /^bouncer_requests_total\{[^}]*decision="allow"[^}]*\} 1$/m, 'one allowed request counted')
    t.match(body, /^bouncer_requests_total\{[^}]*decision="deny"[^}]*\} 1$/m, 'one denied request counted')
    t.match(body, /^# TYPE bouncer_fail_closed_total counter$/m)
    t.match(body, /^# TYPE bouncer_decision_log_dropped_total counter$/m)
  })
  await t.test('evidence: bouncer test <policy-dir>', async (t) => {
    const res = await runToEnd(ep, ['test', '-v', policyDir], cleanEnv(), work)
    t.equal(res.code, 0, res.stdout + res.stderr)
    t.match(res.stdout, /test_get_allowed/)
    t.match(res.stdout, /test_post_denied/)
    const failing = join(work, 'failing')
    mkdirSync(failing)
    writeFileSync(join(failing, 'authz.rego'), POLICY)
    writeFileSync(join(failing, 'authz_test.rego'), 'package bouncer\n\nimport rego.v1\n\ntest_post_allowed if allow with input as {"attributes": {"request": {"http": {"method": "POST"}}}}\n')
    t.not((await runToEnd(ep, ['test', failing], cleanEnv(), work)).code, 0, 'a failing policy test fails the command')
  })

  r.child.kill('SIGTERM')
  const { code, signal } = await r.exit
  t.equal(code, 0, `SIGTERM → exit 0 (stderr: ${r.stderr().slice(-500)})`)
  t.equal(signal, null)
  const hcAfter = await runToEnd(ep, ['healthcheck'], cleanEnv({ BOUNCER_ADMIN_PORT: String(adminPort) }))
  t.equal(hcAfter.code, 1, 'healthcheck fails once it is gone')

  await t.test('evidence: bouncer verify-log /var/lib/bouncer/spool', async (t) => {
    const written = existsSync(spool) && readdirSync(spool).length > 0
    t.ok(written, 'decision_logs.enabled: bouncer run wrote the spool (needs the DecisionLogger wired into `bouncer run`)')
    if (!written) return
    const res = await runToEnd(ep, ['verify-log', spool], cleanEnv(), work)
    t.equal(res.code, 0, res.stdout + res.stderr)
    t.match(res.stdout, /^OK: spool, 2 record\(s\) \(2 decision\(s\)/m, 'both decisions, chain intact')
    const exported = await runToEnd(ep, ['verify-log', exportFile], cleanEnv(), work)
    t.equal(exported.code, 0, exported.stdout + exported.stderr)
    t.match(exported.stdout, /^OK: 1 file\(s\), 2 record\(s\)/m)
    // P1/C1: the bearer token never reaches the decision log, on disk or exported
    const onDisk = readdirSync(spool).map((f) => { try { return readFileSync(join(spool, f), 'utf8') } catch { return '' } }).join('\n') + readFileSync(exportFile, 'utf8')
    t.notMatch(onDisk, /entrypoint-test-secret-token/, 'authorization is erased from logged input')
    // and an edit is detected
    const lines = readFileSync(exportFile, 'utf8').trimEnd().split('\n')
    writeFileSync(exportFile, [lines[0].replace('"GET"', '"PUT"'), ...lines.slice(1)].join('\n') + '\n')
    const tampered = await runToEnd(ep, ['verify-log', exportFile], cleanEnv(), work)
    t.equal(tampered.code, 1, 'a tampered export is reported')
    t.match(tampered.stdout, /BROKEN at seq/)
  })
})
