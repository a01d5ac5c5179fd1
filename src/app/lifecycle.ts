// Start, reload, shutdown. start(): the configured policy, the bundle poller's first attempt,
// the decision-log spool, the JWKS warm-up, then both ports. The shadow policy's bundle poller is
// started on the way, not waited for (src/app/shadow.ts): nothing here waits on the shadow's
// bundle service. close(): bounded and graceful — readiness drops, no new connections, requests
// still arriving on open ones get 503, in-flight requests finish, idle connections close as they
// go idle, everything left is cut at the deadline; then components stop in dependency order.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ActivePolicy } from '../policy/holder.js'
import { loadPolicyFromPath } from '../policy/load.js'
import type { Components } from './compose.js'
import { accountExternalMemory, releaseYoungGeneration } from './memory.js'
import { listenAdmin, type ProxyPort } from './server.js'
import type { ExtAuthzAddresses } from './ext-authz.js'
import { redactUrl } from '../redact-url.js'
import { BouncerError } from '../errors.js'

export interface ListenAddresses {
  /** absent in mode ext_authz (the proxy port is not opened) */
  proxy?: AddressInfo
  /** the Envoy ext_authz listeners that are enabled */
  ext_authz?: ExtAuthzAddresses
  admin?: AddressInfo
}

export interface Lifecycle {
  /**
   * Loads config.policy.path (if set) and activates it; null when there is none. Also loads the
   * shadow policy (if configured): policy.shadow before returning; a bundles.shadow_resource
   * poller is started, its first download not waited for.
   */
  loadPolicy (): Promise<ActivePolicy | null>
  /** Loads the policy (if configured and none is active), starts components, listens on both ports. */
  start (): Promise<ListenAddresses>
  /** Loads config.policy.path again and activates it (in-flight requests finish on the old one). */
  reload (): Promise<ActivePolicy | null>
  /** Graceful, bounded: stop accepting, finish in-flight requests, close the rest at the deadline. */
  close (deadlineMs?: number): Promise<void>
  /** Runs on close, before components are stopped (bundle pollers, ...). */
  onClose (fn: (deadlineMs: number) => Promise<void> | void): void
}

export function createLifecycle (c: Components, port: ProxyPort, adminServer: Server | undefined): Lifecycle {
  const { config, holder, log, health, metrics, bundles, decisionLog, auth, cache, forwarder, grpc, tunnels, extAuthz } = c
  const { proxy } = port
  const closeHooks: ((deadlineMs: number) => Promise<void> | void)[] = []
  let closing: Promise<void> | undefined

  async function loadPolicy (): Promise<ActivePolicy | null> {
    if (config.policy.path) holder.activate(await loadPolicyFromPath(config.policy.path, config.policy.entrypoint, c.policyOptions))
    // The shadow after the active policy; its failure is its own (logged, counted, never thrown).
    // A shadow bundle's first download is not waited for (load() returns once it is started).
    await c.shadow?.load()
    return config.policy.path ? holder.current : null
  }

  async function shutdown (deadlineMs: number): Promise<void> {
    const t0 = Date.now()
    const left = (): number => Math.max(0, deadlineMs - (Date.now() - t0))
    health.markShuttingDown()
    port.refuseNewRequests()
    log.info({ deadline_ms: deadlineMs, inflight: (await metrics.inflight.get()).values[0]?.value ?? 0 }, 'shutting down')
    // Connections that finish their request become idle: close them as they do.
    const sweep = setInterval(() => proxy.closeIdle(), 50)
    const force = setTimeout(() => {
      log.warn('shutdown deadline reached; closing remaining connections')
      proxy.closeAll()
      for (const t of tunnels) t.destroy()
    }, deadlineMs)
    sweep.unref(); force.unref()
    for (const hook of closeHooks) {
      try { await hook(left()) } catch (e) { log.error({ err: e }, 'close hook failed') }
    }
    try { await bundles?.stop() } catch (e) { log.error({ err: e }, 'bundle manager stop failed') }
    // Stops the shadow bundle's poller, a first download still waiting included.
    try { await c.shadow?.close() } catch (e) { log.error({ err: e }, 'shadow bundle manager stop failed') }
    try { await extAuthz?.close(left()) } catch (e) { log.error({ err: e }, 'ext_authz listeners close failed') }
    try {
      await proxy.close()
    } finally {
      clearInterval(sweep)
      clearTimeout(force)
    }
    for (const t of tunnels) t.destroy()
    await forwarder.close().catch(() => {})
    await grpc.close().catch(() => {})
    await auth?.close().catch(() => {})
    // Audit events get their own time: a connection held to the deadline (a tunnel, a slow
    // client) used to leave them none, and the spool goes with the pod.
    try { await decisionLog?.stop(Math.max(left(), config.decision_logs.shutdown_flush_seconds * 1000)) } catch (e) { log.error({ err: e }, 'decision log stop failed') }
    try { await cache?.close(left()) } catch (e) { log.error({ err: e }, 'cache close failed') }
    if (adminServer?.listening) {
      adminServer.closeAllConnections()
      await new Promise<void>((resolve) => adminServer.close(() => resolve()))
    }
    log.info({ ms: Date.now() - t0 }, 'stopped')
    await new Promise<void>((resolve) => log.flush(() => resolve()))
  }

  return {
    loadPolicy,
    reload: loadPolicy,

    async start () {
      if (config.policy.path && !holder.current) await loadPolicy()
      else if (c.shadow && !c.shadow.holder.current) await c.shadow.load()
      // One attempt against the bundle service (or the persisted last good bundle), then background polling.
      await bundles?.start()
      // Told to stop while the policy or a first download was awaited: nothing more is started
      // (a decision log started after its stop() would hold the spool and upload on), no port.
      if (closing !== undefined) throw new BouncerError('BOUNCER_ERR_STOPPED_DURING_START', ['no port was opened'])
      await decisionLog?.start()
      if (closing !== undefined) throw new BouncerError('BOUNCER_ERR_STOPPED_DURING_START', ['no port was opened'])
      auth?.warm()
      const proxyAddress = config.mode === 'ext_authz' ? undefined : await proxy.listen(config.server.port, config.server.host)
      const ext = await extAuthz?.listen()
      const admin = adminServer ? await listenAdmin(adminServer, config.admin) : undefined
      releaseYoungGeneration()
      accountExternalMemory()
      log.info({
        mode: config.mode, proxy: proxyAddress ? `${proxyAddress.address}:${proxyAddress.port}` : undefined, admin: admin ? `${admin.address}:${admin.port}` : undefined,
        ext_authz_grpc: ext?.grpc ? `${ext.grpc.address}:${ext.grpc.port}` : undefined, ext_authz_http: ext?.http ? `${ext.http.address}:${ext.http.port}` : undefined,
        protocols: proxyAddress ? proxy.protocols : undefined, upstream: proxyAddress && config.upstream.url !== undefined ? redactUrl(config.upstream.url) : undefined,
      }, 'listening')
      return { ...(proxyAddress ? { proxy: proxyAddress } : {}), admin, ...(ext ? { ext_authz: ext } : {}) }
    },

    close (deadlineMs = config.server.shutdown_timeout_seconds * 1000) {
      closing ??= shutdown(deadlineMs)
      return closing
    },

    onClose (fn) { closeHooks.push(fn) },
  }
}
