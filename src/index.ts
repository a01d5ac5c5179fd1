// buildApp(config, deps): assembles the bouncer from a validated config. No side effects:
// nothing listens, no file is read except what the config names (key material, TLS files),
// no signal handlers. app.start() loads the configured policy and listens; app.close() shuts
// down gracefully. The CLI (`bouncer run`) and the tests both go through here.
//
//   src/app/compose.ts    components from their config slices, wired into the pipeline
//   src/app/server.ts     the proxy port's server (the one place it is created) and the admin port
//   src/app/lifecycle.ts  start, reload, shutdown
import type { Server } from 'node:http'
import type { Logger } from 'pino'
import type { BouncerConfig } from './config/index.js'
import type { Health } from './health/index.js'
import type { Metrics } from './metrics/index.js'
import type { PolicyHolder } from './policy/holder.js'
import type { LoadPolicyOptions } from './policy/load.js'
import type { ProxyServer } from './proxy/listener.js'
import { compose, type AppDeps } from './app/compose.js'
import type { ShadowComponent } from './app/shadow.js'
import { createLifecycle, type Lifecycle } from './app/lifecycle.js'
import { adminServerFromConfig, proxyServerFromConfig } from './app/server.js'

export type { BouncerConfig } from './config/index.js'
export { createConfig, loadConfig, configSchema } from './config/index.js'
export type { AppDeps } from './app/compose.js'
export type { ListenAddresses } from './app/lifecycle.js'
export { createLogger, type LoggerSecrets } from './app/logger.js'
// What buildApp() accepts as a decision cache / decision logger (the pipeline completes them).
export type { DecisionCachePlugin as DecisionCache, DecisionLoggerPlugin as DecisionLogger } from './proxy/seams.js'
export type { DecisionEventInput, Masker } from './proxy/seams.js'
export type { ActivePolicy } from './policy/holder.js'
export type { Target } from './proxy/target.js'

export interface BouncerApp extends Lifecycle {
  readonly config: BouncerConfig
  /** The proxy port's server (http.Server, or https/HTTP/2 with server.tls). */
  readonly server: ProxyServer['server']
  readonly proxy: ProxyServer
  readonly adminServer: Server | undefined
  readonly holder: PolicyHolder
  /** The shadow policy (policy.shadow): its holder, and drain() to evaluate what is queued now. */
  readonly shadow: ShadowComponent | undefined
  readonly metrics: Metrics
  readonly health: Health
  readonly log: Logger
  /** Options to use when loading policies for this app (memory, builtins). */
  readonly policyOptions: LoadPolicyOptions
}

export async function buildApp (config: BouncerConfig, deps: AppDeps = {}): Promise<BouncerApp> {
  const c = await compose(config, deps)
  const port = proxyServerFromConfig(config.server, c, c)
  // server.tls: WARN while the certificate files on disk cannot be loaded (the last good one is served).
  const tls = port.proxy.tls
  if (tls) c.health.register('tls', () => tls.status(), { critical: false })
  const adminServer = adminServerFromConfig(config.admin, c)
  return {
    ...createLifecycle(c, port, adminServer),
    config,
    server: port.proxy.server,
    proxy: port.proxy,
    adminServer,
    holder: c.holder,
    shadow: c.shadow,
    metrics: c.metrics,
    health: c.health,
    log: c.log,
    policyOptions: c.policyOptions,
  }
}
