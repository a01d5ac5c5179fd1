// The contenders of the HTTP benchmark. Every scenario is driven the same way (same
// connections, duration, warm-up); what differs is the server in front of the upstream and
// the request sent through it.
//
// Requests carry a bearer JWT (HS256, verified by the bouncer; ignored by the others) for a
// caller of tenant "acme", and x-tenant: acme. With the default policy (policies/):
//   admin   GET /v1/orders/42   → allow, two headers added, no mask (the common case)
//   support GET /v1/customers   → allow with the PII mask (ssn, card, email, birth_date)
import { join } from 'node:path'
import { ROOT_DIR } from './procs.js'

export type ServerKind = 'upstream' | 'bare-proxy' | 'bouncer' | 'nginx'
export type Need = 'redis' | 'control-plane'

export interface Scenario {
  readonly name: string
  readonly kind: ServerKind
  readonly description: string
  /** request path (the caller is chosen by `caller`) */
  readonly path: string
  readonly caller: 'admin' | 'support'
  readonly needs: readonly Need[]
  /** what a correct answer looks like (checked once before the load) */
  readonly expect: { status: number; header?: string; bodyIncludes?: string; bodyExcludes?: string }
}

export const JWT_SECRET = 'bench-only-hs256-secret-0123456789abcdef'
export const TENANT = 'acme'

const ORDERS = '/v1/orders/42'
const CUSTOMERS = '/v1/customers'
const small = { status: 200 }
const granted = { status: 200, header: 'x-upstream-saw-subject' }

export const SCENARIOS: readonly Scenario[] = [
  { name: 'direct', kind: 'upstream', description: 'client → upstream (the physical limit)', path: ORDERS, caller: 'admin', needs: [], expect: small },
  { name: 'bare-proxy', kind: 'bare-proxy', description: 'Fastify + @fastify/reply-from, no policy', path: ORDERS, caller: 'admin', needs: [], expect: small },
  { name: 'bouncer-eval', kind: 'bouncer', description: 'JWT + policy evaluated on every request (cache off)', path: ORDERS, caller: 'admin', needs: [], expect: granted },
  { name: 'bouncer-shadow', kind: 'bouncer', description: 'bouncer-eval + a shadow policy (a second instance of the same policy) on every request, no cap', path: ORDERS, caller: 'admin', needs: [], expect: granted },
  { name: 'bouncer-l1', kind: 'bouncer', description: 'decision cache, in-process tier (hits)', path: ORDERS, caller: 'admin', needs: [], expect: granted },
  { name: 'bouncer-redis', kind: 'bouncer', description: 'decision cache, Redis tier only (hits)', path: ORDERS, caller: 'admin', needs: ['redis'], expect: granted },
  { name: 'bouncer-logs', kind: 'bouncer', description: 'eval + decision logs to a local control plane', path: ORDERS, caller: 'admin', needs: ['control-plane'], expect: granted },
  { name: 'bare-proxy-100kb', kind: 'bare-proxy', description: 'bare proxy, ~100 KB JSON response (reference for masking)', path: CUSTOMERS, caller: 'support', needs: [], expect: { status: 200, bodyIncludes: '"ssn":"' } },
  { name: 'bouncer-mask', kind: 'bouncer', description: 'eval + masking a ~100 KB JSON response', path: CUSTOMERS, caller: 'support', needs: [], expect: { status: 200, header: 'x-upstream-saw-subject', bodyExcludes: '"ssn":"1' } },
  { name: 'nginx', kind: 'nginx', description: 'nginx reverse proxy (1 worker, keep-alive upstream)', path: ORDERS, caller: 'admin', needs: [], expect: small },
]

export const BASELINE = 'bare-proxy'

/** What the bouncer child needs to build its config. */
export interface BouncerContext {
  upstreamUrl: string
  redisUrl?: string
  controlPlaneUrl?: string
  spoolDir?: string
}

/**
 * The bouncer's configuration for a scenario, in the shape of src/config (createConfig).
 * Process logs at "warn": per-request access lines are left out, as for the bare proxy and
 * nginx (access_log off), so every contender does the same work around the request.
 */
export function bouncerConfig (name: string, ctx: BouncerContext): Record<string, unknown> {
  const base = {
    server: { host: '127.0.0.1', port: 0 },
    admin: { enabled: true, host: '127.0.0.1', port: 0 },
    upstream: { url: ctx.upstreamUrl },
    policy: { path: join(ROOT_DIR, 'policies'), entrypoint: 'bouncer/decision' },
    auth: { jwt: { enabled: true, keys: [{ alg: 'HS256', secret: JWT_SECRET }] } },
    logging: { level: 'warn' },
    cache: { enabled: false },
  }
  switch (name) {
    case 'bouncer-eval':
    case 'bouncer-mask':
      return base
    case 'bouncer-shadow':
      // The shipped policy again, as its own shadow (its own Wasm instance): every decision is
      // evaluated twice and compared; they agree, so no shadow event is written. No sampling,
      // no cap: the whole cost.
      return { ...base, policy: { ...base.policy, shadow: join(ROOT_DIR, 'policies'), shadow_sample: 1, shadow_max_per_second: 0 } }
    case 'bouncer-l1':
      return { ...base, cache: { enabled: true, l1: { enabled: true }, redis: { enabled: false } } }
    case 'bouncer-redis':
      if (!ctx.redisUrl) throw new Error('bouncer-redis needs a Redis URL')
      return { ...base, cache: { enabled: true, l1: { enabled: false }, redis: { enabled: true, url: ctx.redisUrl } } }
    case 'bouncer-logs':
      if (!ctx.controlPlaneUrl || !ctx.spoolDir) throw new Error('bouncer-logs needs a control plane and a spool directory')
      return {
        ...base,
        decision_logs: { enabled: true, service_url: ctx.controlPlaneUrl, spool_dir: ctx.spoolDir, sinks: ['control_plane'], min_delay_seconds: 1, max_delay_seconds: 5 },
      }
    default:
      throw new Error(`no bouncer configuration for scenario ${name}`)
  }
}
