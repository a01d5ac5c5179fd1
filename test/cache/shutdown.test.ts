// Closing the Redis tier releases everything at once when Redis is unreachable, dead or hung,
// so the process can exit within server.shutdown_timeout_seconds. ioredis ends a socket with a
// 2 s "destroy it if still open" timer that keeps the process alive, and arms it even when the
// socket is already gone: every shutdown with Redis down used to take 2 s. Each case runs in a
// child process that lists the timers still holding its event loop once close() has resolved
// (fixtures/close-child.ts); none may be long. Nothing here measures elapsed time.
import t from 'tap'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, redisServerMissing, startRedis } from './fixtures/redis-server.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const CHILD = join(root, 'test/cache/fixtures/close-child.ts')

/** The "lingering [...]" line's delays; every one must be short (ioredis' old one was 2000). */
function lingering (seen: string[]): number[] {
  const l = seen.find((x) => x.startsWith('lingering '))
  return l === undefined ? [-1] : JSON.parse(l.slice('lingering '.length)) as number[]
}
const SHORT = (ms: number) => ms >= 0 && ms < 1000

function child (url: string, mode: 'ready' | 'killed' | 'down', deadlineMs?: number) {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, url, mode, ...(deadlineMs === undefined ? [] : [String(deadlineMs)])], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
  const seen: string[] = []
  const waiters: Array<{ line: string; resolve: () => void }> = []
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    seen.push(line)
    for (const w of waiters.filter((x) => x.line === line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve() }
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  return {
    seen,
    exited,
    line: (line: string) => seen.includes(line) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ line, resolve })),
    close: () => { proc.stdin!.end('close\n') },
    kill: () => { if (proc.exitCode === null) proc.kill('SIGKILL') },
  }
}

t.test('nothing listens on the port (connection refused, ioredis reconnecting)', async (t) => {
  const c = child(`redis://127.0.0.1:${await freePort()}`, 'down')
  t.teardown(c.kill)
  c.close()
  t.equal(await c.exited, 0, 'the process ended by itself after close()')
  t.same(c.seen.slice(0, -1), ['state reconnecting'])
  t.ok(lingering(c.seen).every(SHORT), `no long timer left: ${JSON.stringify(lingering(c.seen))}`)
})

const skip = redisServerMissing()

t.test('a real redis-server that was killed after the tier started using it', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  // 'killed': the child waits until ioredis has seen the server go (the socket's close arrives
  // some time after the process is gone) before it reports its state and closes.
  const c = child(`redis://127.0.0.1:${redis.port}`, 'killed')
  t.teardown(c.kill)
  await c.line('ready')
  await redis.kill()
  c.close()
  t.equal(await c.exited, 0, 'the process ended by itself after close()')
  t.same(c.seen.slice(0, -1), ['ready', 'state reconnecting'])
  t.ok(lingering(c.seen).every(SHORT), `no long timer left: ${JSON.stringify(lingering(c.seen))}`)
})

t.test('a hung redis-server (SIGSTOP): QUIT is bounded by the deadline, then the socket is dropped', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const c = child(`redis://127.0.0.1:${redis.port}`, 'ready', 100)
  t.teardown(c.kill)
  await c.line('ready')
  redis.pause()
  c.close()
  t.equal(await c.exited, 0, 'the process ended by itself after close()')
  t.same(c.seen.slice(0, -1), ['ready', 'state ready'], 'closed while the connection still looked ready')
  t.ok(lingering(c.seen).every(SHORT), `no long timer left: ${JSON.stringify(lingering(c.seen))}`)
})

t.test('a healthy redis-server: QUIT, then nothing left behind', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const c = child(`redis://127.0.0.1:${redis.port}`, 'ready')
  t.teardown(c.kill)
  await c.line('ready')
  c.close()
  t.equal(await c.exited, 0)
  t.same(c.seen.slice(0, -1), ['ready', 'state ready'])
  t.ok(lingering(c.seen).every(SHORT), `no long timer left: ${JSON.stringify(lingering(c.seen))}`)
})

t.test('bouncer run with Redis configured and down: SIGTERM leaves no timer that outlives the shutdown timeout', async (t) => {
  // A preload (fixtures/linger-probe.mjs) lists, when the bouncer logs "stopped", the timers
  // still holding the event loop open. ioredis' 2 s disconnect timer used to be one of them:
  // the process then lived on for 2 s after a 1 s shutdown timeout.
  const { startUpstream, freePort: free } = await import('../helpers/index.js')
  const { request } = await import('undici')
  const up = await startUpstream()
  t.teardown(() => up.close())
  const [port, adminPort, redisPort] = [await free(), await free(), await freePort()]
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOUNCER_')))
  const proc = spawn(process.execPath, ['--import', join(root, 'test/cache/fixtures/linger-probe.mjs'), join(root, 'bin/bouncer.js'),
    'run', '--upstream', up.url, '--policy', 'policies', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...cleanEnv,
      BOUNCER_ADMIN_PORT: String(adminPort), BOUNCER_ADMIN_HOST: '127.0.0.1', BOUNCER_SERVER_SHUTDOWN_TIMEOUT_SECONDS: '1',
      BOUNCER_CACHE_ENABLED: 'true', BOUNCER_CACHE_REDIS_ENABLED: 'true', BOUNCER_CACHE_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    },
  })
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL') })
  let out = ''
  let err = ''
  proc.stdout!.on('data', (b: Buffer) => { out += b.toString() })
  proc.stderr!.on('data', (b: Buffer) => { err += b.toString() })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  // Ready (a policy is active; Redis being down only degrades), serving; then stop it.
  for (;;) {
    if (proc.exitCode !== null) break
    const ready = await request(`http://127.0.0.1:${adminPort}/readyz`).then(async (r) => ({ status: r.statusCode, body: await r.body.json() as { status: string } }), () => undefined)
    if (ready?.status === 200) { t.equal(ready.body.status, 'degraded', 'ready, degraded by the unreachable Redis'); break }
    await new Promise((r) => setTimeout(r, 50))
  }
  const anon = await request(`http://127.0.0.1:${port}/v1/products`)
  t.equal(anon.statusCode, 200, 'requests are served without Redis')
  await anon.body.dump()
  proc.kill('SIGTERM')
  t.equal(await exited, 0, 'exit 0')
  t.ok(out.split('\n').some((l) => l.includes('"msg":"stopped"')), 'logged "stopped"')
  const m = /lingering-timers (\[.*\])/.exec(err)
  t.ok(m, `the probe reported (stderr: ${err.slice(-300)})`)
  const delays = m ? JSON.parse(m[1]) as number[] : []
  t.same(delays.filter((ms) => ms >= 1000), [], `no pending timer of 1 s (the shutdown timeout) or more once stopped: ${JSON.stringify(delays)}`)
})
