// A bouncer for one scenario: config from lib/scenarios.ts through createConfig (the schema),
// buildApp(config) — every component (decision cache, Redis, decision logs) built from the config
// exactly as `bouncer run` builds it — then start(). A feature that has not landed (its module
// does not import, or the config schema rejects its keys) makes the child answer `skip` with
// the reason.
//   node --import tsx bench/servers/bouncer.ts --scenario bouncer-l1 --upstream URL [--redis URL]
//        [--control-plane URL --spool DIR] [--dist]
// --dist runs the compiled dist/ (what bin/bouncer.js runs) instead of src/ through tsx: CPU
// profiles take it, since its positions map back to src/*.ts lines through tsc's source maps.
import type { AddressInfo } from 'node:net'
import { bouncerConfig } from '../lib/scenarios.js'
import { answerHeapRequests, childArgs, fatal, onShutdown, send } from './child.js'

const args = childArgs()
const scenario = args.scenario ?? 'bouncer-eval'

function skip (reason: string): never {
  send('skip', { reason })
  process.exit(0)
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!

const dist = args.dist === 'true'
let index: typeof import('../../src/index.js')
try {
  index = dist ? await import('../../dist/index.js' as string) as typeof import('../../src/index.js') : await import('../../src/index.js')
} catch (e) { skip(`${dist ? 'dist/index.js' : 'src/index.ts'} does not load: ${firstLine(e)}`) }

let config: import('../../src/index.js').BouncerConfig
try {
  config = index.createConfig(bouncerConfig(scenario, {
    upstreamUrl: args.upstream!, redisUrl: args.redis, controlPlaneUrl: args['control-plane'], spoolDir: args.spool,
  }))
} catch (e) { skip(`config not accepted: ${firstLine(e)}`) }

let app: import('../../src/index.js').BouncerApp
try {
  app = await index.buildApp(config)
  const { proxy, admin } = await app.start()
  if (config.cache.enabled && config.cache.redis.enabled) {
    // Measure hits, not the breaker's first probe: wait until the Redis tier is in use.
    const until = Date.now() + 5000
    const redisOk = () => (app.health.readiness().components.cache as { redis?: string } | undefined)?.redis === 'ok'
    while (!redisOk()) {
      if (Date.now() > until) fatal(new Error(`Redis at ${config.cache.redis.url} not usable within 5 s`))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  send('ready', { port: proxy!.port, admin_port: (admin as AddressInfo | undefined)?.port })
} catch (e) { fatal(e) }
onShutdown(() => app.close(1500), 2500)
answerHeapRequests()
