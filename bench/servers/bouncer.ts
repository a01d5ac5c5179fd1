// A bouncer for one scenario: config from lib/scenarios.ts through createConfig (the schema),
// buildApp(config, deps), start(). A feature that has not landed (its module does not import,
// or the config schema rejects its keys) makes the child answer `skip` with the reason.
//   node --import tsx bench/servers/bouncer.ts --scenario bouncer-l1 --upstream URL [--redis URL]
//        [--control-plane URL --spool DIR]
import type { AddressInfo } from 'node:net'
import { bouncerConfig } from '../lib/scenarios.js'
import { childArgs, fatal, onShutdown, send } from './child.js'

const args = childArgs()
const scenario = args.scenario ?? 'bouncer-eval'

function skip (reason: string): never {
  send('skip', { reason })
  process.exit(0)
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!

let index: typeof import('../../src/index.js')
try { index = await import('../../src/index.js') } catch (e) { skip(`src/index.ts does not load: ${firstLine(e)}`) }

let config: import('../../src/index.js').BouncerConfig
try {
  config = index.createConfig(bouncerConfig(scenario, {
    upstreamUrl: args.upstream!, redisUrl: args.redis, controlPlaneUrl: args['control-plane'], spoolDir: args.spool,
  }))
} catch (e) { skip(`config not accepted: ${firstLine(e)}`) }

const deps: import('../../src/index.js').AppDeps = {}

// --- decision cache (src/cache), built from config.cache as `bouncer run` would ---
if (config.cache.enabled) {
  let cacheMod: typeof import('../../src/cache/index.js')
  try { cacheMod = await import('../../src/cache/index.js') } catch (e) { skip(`decision cache unavailable: ${firstLine(e)}`) }
  const c = config.cache
  const cache = new cacheMod.TieredDecisionCache({
    memory: c.l1.enabled ? { maxEntries: c.l1.max_entries, maxBytes: c.l1.max_bytes } : false,
    redis: c.redis.enabled
      ? {
          url: c.redis.url,
          keyPrefix: c.redis.key_prefix,
          commandTimeoutMs: c.redis.command_timeout_seconds * 1000,
          connectTimeoutMs: c.redis.connect_timeout_seconds * 1000,
          breaker: { failureThreshold: c.redis.breaker_failures, openMs: c.redis.breaker_reset_seconds * 1000 },
        }
      : false,
    ttl: { allowSeconds: c.ttl.allow_seconds, denySeconds: c.ttl.deny_seconds },
  })
  if (c.redis.enabled && !await cache.whenRedisReady(5000)) fatal(new Error(`Redis at ${c.redis.url} not usable within 5 s`))
  // TieredDecisionCache is the proxy's DecisionCache (src/proxy/seams.ts) as it is.
  deps.cache = cache
}

// --- decision logs (src/decision-log) ---
if (config.decision_logs.enabled) {
  let dl: typeof import('../../src/decision-log/index.js')
  try { dl = await import('../../src/decision-log/index.js') } catch (e) { skip(`decision logs unavailable: ${firstLine(e)}`) }
  try {
    deps.decisionLog = new dl.DecisionLogger(config.decision_logs, { production: config.production, allow_insecure: config.allow_insecure })
  } catch (e) { skip(`decision log config not accepted: ${firstLine(e)}`) }
}

let app: import('../../src/index.js').BouncerApp
try {
  app = await index.buildApp(config, deps)
  const { proxy, admin } = await app.start()
  send('ready', { port: proxy.port, admin_port: (admin as AddressInfo | undefined)?.port })
} catch (e) { fatal(e) }
onShutdown(() => app.close(1500), 2500)
