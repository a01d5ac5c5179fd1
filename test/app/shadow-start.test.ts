// The shadow bundle (bundles.shadow_resource) is not critical, so start-up does not wait for its
// first download: a bundle service that holds the shadow's request (a hung connection, long
// polling) delays neither the active bundle nor the listeners. A shadow that arrives later is
// compared from then on; close() stops a first download that is still waiting. A real bouncer, a
// real upstream and a real bundle service (node:http) serving bundles compiled by the project's
// compiler.
import { writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { startBouncer, startUpstream, type StartedBouncer } from '../helpers/index.js'
import { tempDir, waitFor } from '../decision-log/fixtures/control-plane.js'

const ACTIVE = `package bouncer

default decision := {"allow": false, "status": 403}

decision := {"allow": true} if input.parsed_path[0] == "tighten"
`

const SHADOW = `package bouncer

default decision := {"allow": false, "status": 403}
`

/** The value of one sample in the Prometheus text (0 when absent). */
function sample (text: string, name: string, labels = ''): number {
  const re = new RegExp(`^${name}${labels.replace(/[{}"]/g, (c) => '\\' + c)} (\\S+)$`, 'm')
  const m = re.exec(text)
  return m ? Number(m[1]) : 0
}

/** `p`, or a failure naming `what` once `ms` have passed without it settling. */
async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

interface Service {
  url: string
  /** What happened, in order ("active requested (shadow answered: false)", "shadow requested", ...). */
  events: string[]
  /** Shadow bundle requests held unanswered. */
  held: Array<{ req: IncomingMessage; res: ServerResponse; closed: boolean }>
  /** Answer the held requests (and every later one) with the shadow bundle. */
  release (): void
  close (): Promise<void>
}

/** A bundle service that serves the active bundle at once and holds the shadow's until release(). */
async function bundleService (t: { teardown: (fn: () => void) => void }): Promise<Service> {
  const build = async (source: string, rev: string): Promise<Buffer> => {
    const dir = tempDir(t)
    writeFileSync(join(dir, 'p.rego'), source)
    return (await compileBundle({ paths: [dir], entrypoints: ['bouncer/decision'], revision: rev })).tarGz
  }
  const bodies: Record<string, { etag: string; body: Buffer }> = {
    '/bundles/active.tar.gz': { etag: '"a1"', body: await build(ACTIVE, 'active-1') },
    '/bundles/shadow.tar.gz': { etag: '"s1"', body: await build(SHADOW, 'shadow-1') },
  }
  const events: string[] = []
  const held: Service['held'] = []
  let holding = true
  let shadowAnswered = false
  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const b = bodies[req.url ?? '']
    if (b === undefined) { res.writeHead(404); res.end(); return }
    if (req.url === '/bundles/shadow.tar.gz') { shadowAnswered = true; events.push('shadow answered') }
    if (req.headers['if-none-match'] === b.etag) { res.writeHead(304); res.end(); return }
    res.writeHead(200, { 'content-type': 'application/gzip', etag: b.etag })
    res.end(b.body)
  }
  const server = createServer((req, res) => {
    if (req.url === '/bundles/shadow.tar.gz') {
      events.push('shadow requested')
      if (holding) {
        const h = { req, res, closed: false }
        res.once('close', () => { h.closed = true })
        held.push(h)
        return
      }
    } else {
      events.push(`active requested (shadow answered: ${shadowAnswered})`)
    }
    answer(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    held,
    release () {
      holding = false
      for (const h of held) if (!h.closed) answer(h.req, h.res)
    },
    async close () {
      for (const h of held) h.res.destroy()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/**
 * Starts a bouncer on the service; the start is bounded so that one waiting for the held shadow
 * download fails the test instead of hanging it (teardown lets it finish and closes it).
 */
async function startOn (t: { teardown: (fn: () => Promise<void> | void) => void }, svc: Service, upstream: string): Promise<StartedBouncer> {
  const starting = startBouncer({
    upstream,
    config: {
      bundles: {
        service_url: svc.url,
        resource: 'bundles/active.tar.gz',
        shadow_resource: 'bundles/shadow.tar.gz',
        // Long polling: a service may hold a request for the whole wait (plus the 30 s request timeout).
        polling: { min_delay_seconds: 0.05, max_delay_seconds: 0.1, long_polling_timeout_seconds: 60 },
        persist_dir: tempDir(t),
      },
    },
  })
  t.teardown(async () => {
    // A start still waiting on the shadow (the old behaviour) goes on once its request fails.
    await svc.close()
    await (await starting).close()
  })
  return await within(starting, 10_000, 'start() with the shadow bundle request unanswered')
}

t.test('a shadow bundle whose first download hangs delays neither the active bundle nor the listeners; once it arrives it is compared', async (t) => {
  const svc = await bundleService(t)
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startOn(t, svc, up.url)

  await waitFor(() => svc.held.length > 0, 5000, 'the shadow bundle request')
  t.equal(svc.held.filter((h) => !h.closed).length, 1, 'started while the shadow bundle request is still unanswered')
  t.ok(svc.events.includes('active requested (shadow answered: false)'), 'the active bundle was requested while the shadow\'s request was waiting')
  t.notOk(svc.events.includes('shadow answered'))
  t.equal(b.app.holder.current?.revision, 'active-1', 'the active bundle is active')
  t.equal(b.app.shadow!.holder.current, null, 'no shadow yet')
  t.equal((await request(`${b.adminUrl}/readyz`)).statusCode, 200, 'ready: the shadow is not critical')

  // Served by the active policy alone meanwhile.
  let r = await request(`${b.url}/tighten`)
  await r.body.dump()
  t.equal(r.statusCode, 200)
  b.app.shadow!.drain()
  let m = await b.app.metrics.render()
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="no_shadow_policy"}'), 1)
  t.equal(sample(m, 'bouncer_shadow_decisions_total', '{agreement="allow_to_deny"}'), 0)

  // The shadow bundle arrives: it is activated as the shadow and compared from then on.
  svc.release()
  await within(b.app.shadow!.started!, 10_000, 'the shadow bundle\'s first attempt')
  t.equal(b.app.shadow!.holder.current?.revision, 'shadow-1', 'the shadow that arrived later is active as the shadow')
  r = await request(`${b.url}/tighten`)
  await r.body.dump()
  t.equal(r.statusCode, 200, 'still the active policy\'s decision')
  b.app.shadow!.drain()
  m = await b.app.metrics.render()
  t.equal(sample(m, 'bouncer_shadow_decisions_total', '{agreement="allow_to_deny"}'), 1, 'and it is compared')
  t.equal(sample(m, 'bouncer_shadow_skipped_total', '{reason="no_shadow_policy"}'), 1)
  t.equal(sample(m, 'bouncer_shadow_load_failures_total'), 0)
  t.equal(svc.events.indexOf('shadow answered') > svc.events.indexOf('active requested (shadow answered: false)'), true, 'in that order')
})

t.test('close() while the shadow bundle\'s first download still waits: it is abandoned, not counted as a failure, and over when close() returns', async (t) => {
  const svc = await bundleService(t)
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startOn(t, svc, up.url)
  await waitFor(() => svc.held.length > 0, 5000, 'the shadow bundle request')
  t.equal(svc.held.length, 1, 'the shadow bundle request waits')
  let settled = false
  void b.app.shadow!.started!.then(() => { settled = true })

  await within(b.close(), 10_000, 'close()')
  t.ok(settled, 'the shadow bundle\'s first attempt is over when close() returns')
  await waitFor(() => svc.held[0]!.closed, 5000, 'the shadow bundle request to be closed by the bouncer')
  t.equal(svc.held.length, 1, 'no other shadow request was made')
  t.equal(b.app.shadow!.holder.current, null)
  const m = await b.app.metrics.render()
  t.equal(sample(m, 'bouncer_shadow_load_failures_total'), 0, 'a download stopped by shutdown is not a failure')
  t.equal(sample(m, 'bouncer_bundle_failures_total', '{name="shadow",reason="download"}'), 0)
})
