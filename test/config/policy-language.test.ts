// policy.rego_version (0 | 1, default 1) and policy.print (default false): validated with the
// key named, from files and the environment.
import t from 'tap'
import { base, problemsOf } from './problems.js'
import { createConfig, loadConfig } from '../../src/config/index.js'


t.test('defaults: Rego v1, print off', async t => {
  const c = createConfig(base)
  t.equal(c.policy.rego_version, 1)
  t.equal(c.policy.print, false)
})

t.test('valid values, also from the environment', async t => {
  t.equal(createConfig({ ...base, policy: { rego_version: 0 } }).policy.rego_version, 0)
  t.equal(createConfig({ ...base, policy: { print: true } }).policy.print, true)
  const env = loadConfig({ env: { BOUNCER_UPSTREAM_URL: 'http://x:1', BOUNCER_POLICY_REGO_VERSION: '0', BOUNCER_POLICY_PRINT: 'true' } })
  t.equal(env.policy.rego_version, 0)
  t.equal(env.policy.print, true)
})

t.test('invalid values are refused, naming the key', async t => {
  for (const v of [2, -1, '1', 0.5, null]) {
    const p = problemsOf(() => createConfig({ ...base, policy: { rego_version: v } } as Record<string, unknown>))
    t.ok(p.some(m => m.includes('policy.rego_version')), `${JSON.stringify(v)}: ${p.join('; ')}`)
  }
  const p = problemsOf(() => createConfig({ ...base, policy: { print: 'yes' } } as Record<string, unknown>))
  t.ok(p.some(m => m.includes('policy.print')), p.join('; '))
  const env = problemsOf(() => loadConfig({ env: { BOUNCER_UPSTREAM_URL: 'http://x:1', BOUNCER_POLICY_REGO_VERSION: 'v0' } }))
  t.ok(env.some(m => m.includes('BOUNCER_POLICY_REGO_VERSION') || m.includes('policy.rego_version')), env.join('; '))
})
