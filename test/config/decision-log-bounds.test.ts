// The schema (which `bouncer config check` and the Helm chart's values.schema.json apply) and
// the decision logger's own checks must agree on what is valid: a value the schema accepted and
// the logger refused passed `config check` and `helm install`, then crash-looped the pod
// (review helper, 2026-12-07: max_bytes 8192, max_delay_seconds 0, fsync_interval_seconds 0).
import t from 'tap'
import { configSchema, createConfig } from '../../src/config/index.js'
import { resolveDecisionLogConfig } from '../../src/decision-log/config.js'

const props = (configSchema as unknown as { properties: { decision_logs: { properties: Record<string, { type?: string; minimum?: number }> } } }).properties.decision_logs.properties

t.test('every number of decision_logs at the schema\'s minimum passes the logger\'s checks', async (t) => {
  const numeric = Object.entries(props).filter(([, p]) => (p.type === 'number' || p.type === 'integer') && p.minimum !== undefined)
  t.ok(numeric.length >= 6, `${numeric.length} numeric settings`)
  for (const [name, p] of numeric) {
    const base = { enabled: true, sinks: ['console'], spool_dir: '/tmp/x' } as Record<string, unknown>
    // Settings bounded by another (max_delay_seconds >= min_delay_seconds) get it at its minimum too.
    const extra = name === 'max_delay_seconds' ? { min_delay_seconds: 0 } : {}
    const c = createConfig({ upstream: { url: 'http://127.0.0.1:1' }, decision_logs: { ...base, ...extra, [name]: p.minimum } } as Parameters<typeof createConfig>[0])
    t.doesNotThrow(() => resolveDecisionLogConfig(c.decision_logs as never), `${name}: ${p.minimum}`)
  }
  t.throws(() => createConfig({ upstream: { url: 'http://127.0.0.1:1' }, decision_logs: { max_bytes: 8192 } } as Parameters<typeof createConfig>[0]), /decision_logs\.max_bytes/, 'under it: refused by the schema, naming the setting')
})
