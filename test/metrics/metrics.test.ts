// The registry: prom-client's default metrics under their standard names (stock Node.js
// dashboards query process_* / nodejs_*), bouncer_build_info, and bouncer_ready mirroring
// /readyz at scrape time.
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { createMetrics } from '../../src/metrics/index.js'
import { buildInfo } from '../../src/metrics/build-info.js'
import { Health } from '../../src/health/index.js'
import { createAdminServer } from '../../src/health/admin.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
const names = (m: ReturnType<typeof createMetrics>) => (m.registry.getMetricsAsArray() as unknown as Array<{ name: string }>).map((x) => x.name)

t.test('default metrics keep their standard names', async (t) => {
  const on = names(createMetrics({ defaultMetrics: true }))
  for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'process_open_fds',
    'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds', 'nodejs_version_info']) {
    t.ok(on.includes(n), `${n} exported`)
  }
  t.same(on.filter((n) => /^bouncer_(process|nodejs)_/.test(n)), [], 'nothing renamed bouncer_process_* / bouncer_nodejs_*')
  const off = names(createMetrics({ defaultMetrics: false }))
  t.same(off.filter((n) => !n.startsWith('bouncer_')), [], 'admin.default_metrics=false: only our own')
})

t.test('bouncer_build_info{version,revision,node}', async (t) => {
  const b = buildInfo()
  t.equal(b.version, pkg.version, 'version from package.json')
  t.equal(b.node, process.version)
  t.match(b.revision, /^(unknown|[0-9a-f]{7,40}|\S+)$/)
  const text = await createMetrics({ build: { version: '1.2.3', revision: 'abc123', node: 'v24.0.0' } }).render()
  t.match(text, /^bouncer_build_info\{version="1\.2\.3",revision="abc123",node="v24\.0\.0"\} 1$/m)
  t.match(await createMetrics().render(), new RegExp(`^bouncer_build_info\\{version="${pkg.version.replace(/\./g, '\\.')}",revision="[^"]+",node="${process.version.replace(/\./g, '\\.')}"\\} 1$`, 'm'))
})

t.test('bouncer_ready follows /readyz at every scrape', async (t) => {
  const metrics = createMetrics()
  const health = new Health()
  let status: 'OK' | 'NOT_READY' = 'NOT_READY'
  health.register('policy', () => ({ status }), { critical: true })
  const server = createAdminServer({ health, metrics })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const scrape = async () => (await (await request(`${base}/metrics`)).body.text()).match(/^bouncer_ready (\d)$/m)?.[1]
  t.equal(await scrape(), '0', 'not ready: 0')
  status = 'OK'
  t.equal(await scrape(), '1', 'ready: 1')
  health.markShuttingDown()
  t.equal(await scrape(), '0', 'shutting down: 0')
})
