// buildApp(config, deps): assembles the bouncer from a validated config. No side effects:
// nothing listens, no file is read except configured key material, no signal handlers.
// app.start() loads the configured policy and listens; app.close() shuts down gracefully.
// The CLI (`bouncer run`) and the tests both go through here.
import { readFileSync } from 'node:fs'
import { createServer, METHODS, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import { pino, type Logger, type DestinationStream } from 'pino'
import type { BouncerConfig } from './config/index.js'
import { ConfigError } from './config/index.js'
import { createMetrics, type Metrics } from './metrics/index.js'
import { Health, normalizeStatus } from './health/index.js'
import { createAdminServer } from './health/admin.js'
import { PolicyHolder, type ActivePolicy } from './policy/holder.js'
import { loadPolicyFromBundle, loadPolicyFromPath, type LoadPolicyOptions } from './policy/load.js'
import type { PrintEvent } from './policy/eval/index.js'
import { BundleManager } from './policy/bundle/index.js'
import type { HostBuiltin } from './policy/builtins/index.js'
import { createAuthenticator, type Authenticator } from './auth/index.js'
import { compileTargetNormalizer, type Target } from './proxy/target.js'
import { createForwarder } from './proxy/forward.js'
import { createEngine } from './proxy/engine.js'
import { createRequestHandler, kTarget, type WithTarget } from './proxy/handler.js'
import { createUpgradeHandler } from './proxy/upgrade.js'
import type { DecisionCache, DecisionLogger, Masker } from './proxy/seams.js'
import { compileDecisionKey, resolveKeySpec, type InputPath } from './cache/key.js'
import { ttlFor } from './cache/ttl.js'
import { compileMaskRules, maskUpstreamResponse, applyMask, MIN_HASH_KEY_BYTES, type CompiledMask } from './masking/index.js'
import { TieredDecisionCache, BREAKER_STATE_VALUE } from './cache/index.js'
import { DecisionLogger as FileDecisionLogger, DEFAULT_ERASE_QUERY_PARAMS, compileLogScrubber, type EventMasker } from './decision-log/index.js'
import { BouncerError } from './errors.js'

export type { BouncerConfig } from './config/index.js'
export { createConfig, loadConfig, configSchema } from './config/index.js'
export type { DecisionCache, DecisionLogger, DecisionEventInput, Masker } from './proxy/seams.js'
export type { ActivePolicy } from './policy/holder.js'

export interface AppDeps {
  /** pino logger (default: JSON to stdout at config.logging.level, secrets redacted) */
  logger?: Logger
  /** where the default logger writes (tests) */
  logDestination?: DestinationStream
  /** decision cache; omitted = src/cache built from config.cache when enabled; null = none */
  cache?: DecisionCache | null
  /** decision logger; omitted = src/decision-log built from config.decision_logs when enabled; null = none */
  decisionLog?: DecisionLogger | null
  /** response masker; omitted = src/masking with config.masking; null = none (masked decisions fail closed) */
  masker?: Masker | null
  /** authenticator; omitted = from config.auth */
  authenticator?: Authenticator
  /** host builtins for policies (default: src/policy/builtins) */
  builtins?: Record<string, HostBuiltin>
  holder?: PolicyHolder
}

export interface ListenAddresses {
  proxy: AddressInfo
  admin?: AddressInfo
}

export interface BouncerApp {
  readonly config: BouncerConfig
  readonly fastify: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>
  readonly server: Server
  readonly adminServer: Server | undefined
  readonly holder: PolicyHolder
  readonly metrics: Metrics
  readonly health: Health
  readonly log: Logger
  /** Options to use when loading policies for this app (memory, builtins). */
  readonly policyOptions: LoadPolicyOptions
  /** Loads config.policy.path (if set) and activates it. */
  loadPolicy (): Promise<ActivePolicy | null>
  /** Loads the policy (if configured), starts components, listens on both ports. */
  start (): Promise<ListenAddresses>
  /** Graceful, bounded: stop accepting, finish in-flight requests, close the rest at the deadline. */
  close (deadlineMs?: number): Promise<void>
  /** Runs on close, before components are stopped (bundle pollers, ...). */
  onClose (fn: (deadlineMs: number) => Promise<void> | void): void
}

/** What else createLogger keeps out of logs (from the auth and decision-log config). */
export interface LoggerSecrets {
  /** The header callers send their token in (auth.jwt.header), redacted like authorization. */
  authHeader?: string
  /** Query parameter names that are credentials (decision_logs.erase_query_params). */
  queryParams?: readonly string[]
}

/**
 * JSON logs; credentials never leave the process: credential headers (authorization, cookies,
 * the configured auth header) are redacted by pino's compiled paths, and query parameters
 * named as credentials are scrubbed from `url`/`path`/`query` fields of every line by a
 * formatter that child loggers inherit (also those that switch redaction off).
 */
export function createLogger (level: BouncerConfig['logging']['level'], extraRedact: readonly string[] = [], destination?: DestinationStream, secrets: LoggerSecrets = {}): Logger {
  const sensitive = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization']
  const auth = secrets.authHeader?.trim().toLowerCase()
  if (auth && !sensitive.includes(auth)) sensitive.push(auth)
  const paths = [
    ...sensitive.map((h) => `[${JSON.stringify(h)}]`).flatMap((h) => [`req.headers${h}`, `res.headers${h}`, `headers${h}`, `*.headers${h}`, `input.attributes.request.http.headers${h}`]),
    ...extraRedact,
  ]
  const scrub = compileLogScrubber(secrets.queryParams ?? DEFAULT_ERASE_QUERY_PARAMS)
  return pino({
    level,
    base: { service: 'bouncer' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }), log: scrub },
  }, destination ?? pino.destination({ sync: false }))
}

const pointerToPath = (p: string): InputPath => p.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))

/** The masking HMAC key (masking.hash_key or the trimmed content of masking.hash_key_file). */
function readHashKey (value: string | undefined, file: string | undefined): Buffer | undefined {
  // hash_key itself was length-checked with the rest of the config; the file is read here.
  if (value !== undefined) return Buffer.from(value)
  if (file === undefined) return undefined
  let key: Buffer
  try { key = Buffer.from(readFileSync(file, 'utf8').trim()) } catch (e) {
    throw new ConfigError([`masking.hash_key_file: cannot read ${file}: ${(e as Error).message}`])
  }
  if (key.length < MIN_HASH_KEY_BYTES) {
    throw new ConfigError([`masking.hash_key_file: ${file} holds a ${key.length}-byte key (after trimming whitespace); it must be at least ${MIN_HASH_KEY_BYTES} bytes (e.g. \`openssl rand -base64 32\`)`])
  }
  return key
}

function defaultMasker (cfg: BouncerConfig['masking']): Masker<CompiledMask> {
  const hashKey = readHashKey(cfg.hash_key, cfg.hash_key_file)
  return {
    compile (rules) {
      const compiled = compileMaskRules(rules)
      if (compiled.usesHash && !hashKey) throw new Error('mask rules use "hash" but masking.hash_key is not configured')
      return compiled
    },
    async apply (res, compiled, ctx) {
      return await maskUpstreamResponse(res, compiled, { hashKey, maxBodyBytes: cfg.max_body_bytes, failStatus: cfg.fail_status, method: ctx.method })
    },
  }
}

function readFileOpt (file: string | undefined, what: string): string | undefined {
  if (file === undefined) return undefined
  try { return readFileSync(file, 'utf8') } catch (e) {
    throw new ConfigError([`${what}: cannot read ${file}: ${(e as Error).message}`])
  }
}

/** The decision cache described by config.cache (src/cache), or undefined when disabled. */
export function createDecisionCache (config: BouncerConfig, metrics: Metrics, log: Logger): DecisionCache | undefined {
  const c = config.cache
  if (!c.enabled || (!c.l1.enabled && !c.redis.enabled)) return undefined
  const r = c.redis
  let redis: ConstructorParameters<typeof TieredDecisionCache>[0]['redis'] = false
  if (r.enabled) {
    const scheme = (r.url?.startsWith('rediss://') || r.tls.enabled) ? 'rediss' : 'redis'
    const mode = r.cluster.nodes.length ? 'cluster' : r.sentinel.name ? 'sentinel' : 'single'
    const tls = r.tls
    redis = {
      mode,
      url: r.url,
      nodes: mode === 'cluster' ? r.cluster.nodes.map((n) => `${scheme}://${n}`) : mode === 'sentinel' ? r.sentinel.sentinels.map((n) => `${scheme}://${n}`) : undefined,
      sentinelName: r.sentinel.name,
      password: readFileOpt(r.password_file, 'cache.redis.password_file')?.trim(),
      tls: {
        ca: readFileOpt(tls.ca_file, 'cache.redis.tls.ca_file'),
        cert: readFileOpt(tls.cert_file, 'cache.redis.tls.cert_file'),
        key: readFileOpt(tls.key_file, 'cache.redis.tls.key_file'),
        servername: tls.servername,
        rejectUnauthorized: tls.reject_unauthorized,
      },
      commandTimeoutMs: r.command_timeout_seconds * 1000,
      connectTimeoutMs: r.connect_timeout_seconds * 1000,
      keyPrefix: r.key_prefix,
      breaker: { failureThreshold: r.breaker_failures, openMs: r.breaker_reset_seconds * 1000 },
      production: config.production,
      allowInsecure: config.allow_insecure,
    }
  }
  const cache = new TieredDecisionCache({
    memory: c.l1.enabled ? { maxEntries: c.l1.max_entries, maxBytes: c.l1.max_bytes } : false,
    redis,
    ttl: { allowSeconds: c.ttl.allow_seconds, denySeconds: c.ttl.deny_seconds },
    key: { inputPaths: c.input_paths ? c.input_paths.map(pointerToPath) : null, ignorePaths: c.ignore_paths.map(pointerToPath) },
  }, {
    metrics: {
      hits: metrics.cacheHits, misses: metrics.cacheMisses, redisErrors: metrics.cacheRedisErrors,
      redisTimeouts: metrics.cacheRedisTimeouts, redisSkipped: metrics.cacheRedisSkipped, breakerState: metrics.cacheBreakerState,
    },
    log,
  })
  metrics.collectors.push(() => {
    const s = cache.status()
    metrics.cacheEntries.set(s.memory.entries)
    metrics.cacheBytes.set(s.memory.bytes)
    if (s.breaker !== 'disabled') metrics.cacheBreakerState.set(BREAKER_STATE_VALUE[s.breaker])
  })
  return cache
}

/** The decision logger described by config.decision_logs (src/decision-log), or undefined when disabled. */
export function createDecisionLogger (config: BouncerConfig, metrics: Metrics, log: Logger): DecisionLogger | undefined {
  const dl = config.decision_logs
  if (!dl.enabled) return undefined
  let mask: EventMasker | undefined
  if (dl.mask_rules.length) {
    const compiled = compileMaskRules(dl.mask_rules)
    const hashKey = readHashKey(config.masking.hash_key, config.masking.hash_key_file)
    if (compiled.usesHash && !hashKey) throw new ConfigError(['decision_logs.mask_rules: "hash" rules need masking.hash_key or masking.hash_key_file'])
    mask = (event) => {
      const r = applyMask(event, compiled, { hashKey })
      return { event: r.value as typeof event, erased: r.erased, masked: r.masked }
    }
  }
  const logger = new FileDecisionLogger(dl, {
    production: config.production,
    allow_insecure: config.allow_insecure,
    auth_header: config.auth.jwt.header,
    mask,
    log,
    metrics: {
      recorded: () => metrics.decisionLogEvents.inc({ outcome: 'recorded' }),
      delivered: (n) => metrics.decisionLogEvents.inc({ outcome: 'uploaded' }, n),
      dropped: (reason, n) => { metrics.decisionLogEvents.inc({ outcome: 'dropped' }, n); metrics.decisionLogDropped.inc({ reason }, n) },
      backpressure: () => metrics.decisionLogDropped.inc({ reason: 'backpressure' }),
      uploadFailed: (status) => metrics.decisionLogUploads.inc({ outcome: status === 413 ? 'too_large' : 'error' }),
      maskError: () => metrics.decisionLogDropped.inc({ reason: 'mask_error' }),
    },
  })
  metrics.collectors.push(() => {
    const s = logger.status()
    metrics.decisionLogSpoolBytes.set(s.spool_bytes)
    metrics.decisionLogBufferEvents.set(s.pending_events)
  })
  return logger
}

/** The bundle poller described by config.bundles (src/policy/bundle), or undefined without a service_url. */
export function createBundleManager (config: BouncerConfig, holder: PolicyHolder, policyOptions: LoadPolicyOptions, metrics: Metrics, log: Logger): BundleManager | undefined {
  const b = config.bundles
  if (!b.service_url) return undefined
  const keys = Object.entries(b.signing.keys)
  const tls = b.tls
  const name = 'bouncer'
  const manager = new BundleManager({
    name,
    service: {
      url: b.service_url,
      bearerToken: readFileOpt(b.bearer_token_file, 'bundles.bearer_token_file')?.trim(),
      tls: {
        ca: readFileOpt(tls.ca_file, 'bundles.tls.ca_file'),
        cert: readFileOpt(tls.cert_file, 'bundles.tls.cert_file'),
        key: readFileOpt(tls.key_file, 'bundles.tls.key_file'),
        servername: tls.servername,
        rejectUnauthorized: tls.reject_unauthorized,
      },
    },
    resource: b.resource,
    polling: {
      minDelaySeconds: b.polling.min_delay_seconds,
      maxDelaySeconds: b.polling.max_delay_seconds,
      ...(b.polling.long_polling_timeout_seconds > 0 ? { longPollingTimeoutSeconds: b.polling.long_polling_timeout_seconds } : {}),
    },
    limits: { maxCompressedBytes: b.max_bundle_bytes, maxTotalBytes: b.max_bundle_bytes, maxFileBytes: b.max_file_bytes },
    ...(keys.length
      ? {
          signing: {
            keys: Object.fromEntries(keys.map(([id, k]) => [id, {
              key: k.key ?? readFileOpt(k.key_file, `bundles.signing.keys.${id}.key_file`) ?? '',
              algorithm: k.algorithm as 'RS256',
            }])),
            ...(b.signing.scope ? { scope: b.signing.scope } : {}),
            excludeFiles: [...b.signing.exclude_files],
          },
        }
      : {}),
    persistDir: b.persist_dir,
    production: config.production,
    allowInsecureHttp: config.allow_insecure,
    allowUnsigned: config.allow_insecure || !config.production,
  }, {
    activate: async (bundle) => {
      holder.activate(await loadPolicyFromBundle(bundle, config.policy.entrypoint, { ...policyOptions, bundleName: name, source: `${b.service_url}/${b.resource}` }))
    },
    metrics: {
      setRevision: (bundle, revision) => { metrics.bundleRevision.reset(); metrics.bundleRevision.set({ name: bundle, revision }, 1) },
      setLastSuccess: (bundle, seconds) => metrics.bundleLastSuccess.set({ name: bundle }, seconds),
      incFailure: (bundle, reason) => metrics.bundleFailures.inc({ name: bundle, reason }),
      incDownload: (bundle, outcome) => metrics.bundleDownloads.inc({ name: bundle, outcome }),
    },
    logger: log,
  })
  return manager
}

/** The request id in a policy input (attributes.request.http.id), for print lines. */
function requestIdOf (input: unknown): string | undefined {
  const id = (input as { attributes?: { request?: { http?: { id?: unknown } } } } | null)?.attributes?.request?.http?.id
  return typeof id === 'string' ? id : undefined
}

export async function buildApp (config: BouncerConfig, deps: AppDeps = {}): Promise<BouncerApp> {
  if (!config.upstream.url) throw new ConfigError(['upstream.url: is required'])
  const log = deps.logger ?? createLogger(config.logging.level, config.logging.redact, deps.logDestination,
    { authHeader: config.auth.jwt.header, queryParams: config.decision_logs.erase_query_params })
  const metrics = createMetrics({ defaultMetrics: config.admin.default_metrics })
  const health = new Health()
  const holder = deps.holder ?? new PolicyHolder()
  const masker = deps.masker === null ? undefined : (deps.masker ?? defaultMasker(config.masking))
  const cache = deps.cache === null ? undefined : (deps.cache ?? createDecisionCache(config, metrics, log))
  const decisionLog = deps.decisionLog === null ? undefined : (deps.decisionLog ?? createDecisionLogger(config, metrics, log))
  const auth = deps.authenticator ?? await createAuthenticator(config.auth.jwt, {
    onResult: (r) => metrics.authResults.inc({ result: r }),
    onJwksFetch: (outcome, err) => {
      metrics.jwksRefreshes.inc({ outcome })
      if (err) log.warn({ err: err.message }, 'JWKS fetch failed')
    },
  })
  const policyOptions: LoadPolicyOptions = {
    initialMemoryPages: config.policy.initial_memory_pages,
    maxMemoryPages: config.policy.max_memory_pages,
    strictBuiltinErrors: config.policy.strict_builtin_errors,
    evalStepBudget: config.policy.eval_step_budget,
    regoVersion: config.policy.rego_version,
    // policy.print: print() lines at debug level with the request id; off, print() is compiled
    // out of Rego sources and a no-op in bundles
    ...(config.policy.print ? { onPrint: (line: string, ev: PrintEvent) => log.debug({ id: requestIdOf(ev.input), entrypoint: ev.entrypoint, print: line }, 'policy print') } : {}),
    ...(deps.builtins ? { builtins: deps.builtins } : {}),
  }

  const bundles = createBundleManager(config, holder, policyOptions, metrics, log)
  if (bundles) health.register('bundles', () => normalizeStatus(bundles.status()), { critical: false })

  // --- policy status: readiness, metrics, logs ---
  health.register('policy', () => {
    const p = holder.current
    return p ? { status: 'OK', revision: p.revision, source: p.source, activated_at: new Date(p.activatedAt).toISOString() } : { status: 'NOT_READY', message: 'no policy is active' }
  }, { critical: true })
  holder.onActivate((next, prev) => {
    if (prev) metrics.policyInfo.remove({ revision: prev.revision, entrypoint: prev.entrypoint, source: prev.source })
    metrics.policyInfo.set({ revision: next.revision, entrypoint: next.entrypoint, source: next.source }, 1)
    metrics.policyActivations.inc()
    metrics.policyActivatedAt.set(next.activatedAt / 1000)
    metrics.policyMemoryBytes.set(next.wasm.memoryBytes())
    log.info({ revision: next.revision, previous: prev?.revision, source: next.source, entrypoint: next.entrypoint }, 'policy activated')
  })
  if (auth) health.register('auth', () => auth.status(), { critical: false })
  if (cache?.status) health.register('cache', () => normalizeStatus(cache.status!()), { critical: false })
  if (decisionLog?.status) health.register('decision_logs', () => normalizeStatus(decisionLog.status!()), { critical: false })

  // --- decision cache seam: key per active policy, compiled once per activation ---
  const keyFns = new WeakMap<ActivePolicy, ((input: unknown) => string) | undefined>()
  const configuredPaths = {
    inputPaths: config.cache.input_paths ? config.cache.input_paths.map(pointerToPath) : null,
    ignorePaths: config.cache.ignore_paths.map(pointerToPath),
  }
  const compileKey = (p: ActivePolicy) => {
    let fn: ((input: unknown) => string) | undefined
    try {
      fn = compileDecisionKey(resolveKeySpec({ revision: p.revision, entrypoint: p.entrypoint, compiledInputPaths: p.inputPaths }, configuredPaths))
    } catch (e) {
      log.error({ err: e, revision: p.revision }, 'cannot derive decision cache keys for this policy; caching disabled for it')
    }
    keyFns.set(p, fn)
    return fn
  }
  // The policy most requests use (the active one) is compared by identity, the WeakMap serves
  // requests still finishing on an older policy.
  let keyPolicy: ActivePolicy | undefined
  let keyFn: ((input: unknown) => string) | undefined
  const cacheKey = (p: ActivePolicy) => {
    if (p === keyPolicy) return keyFn
    return keyFns.has(p) ? keyFns.get(p) : compileKey(p)
  }
  if (cache) {
    holder.onActivate((next) => {
      keyPolicy = next
      keyFn = compileKey(next)
      // Keys carry the revision: the old policy's L1 entries are dead weight from now on.
      // (Requests still finishing on it may add a few back; LRU and TTL take care of those.)
      cache.clearMemory?.()
    })
  }
  const ttlDefaults = { allowSeconds: config.cache.ttl.allow_seconds, denySeconds: config.cache.ttl.deny_seconds }

  const decide = createEngine({
    config, holder, metrics, log, masker,
    cache,
    cacheKey,
    ttlFor: (result, p) => ttlFor(result, ttlDefaults, { nondeterministic: !p.cacheable }),
    decisionLog,
  })
  const forwarder = createForwarder(config.upstream)
  const normalize = compileTargetNormalizer(config.path)
  const handle = createRequestHandler({ config, metrics, log, decide, forwarder, auth, masker })
  const tunnels = new Set<Duplex>()
  const upgrade = createUpgradeHandler({ config, metrics, log, decide, normalize, forwarder, http: handle, auth, tunnels })

  const s = config.server
  const requestTimeout = s.request_timeout_seconds * 1000
  const headersTimeout = requestTimeout > 0 ? Math.min(s.headers_timeout_seconds * 1000, requestTimeout) : s.headers_timeout_seconds * 1000
  let server!: Server
  const fastify = Fastify({
    loggerInstance: log,
    // One log line per request is written by the handler, not by Fastify.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    exposeHeadRoutes: false,
    serverFactory: (handler) => {
      server = createServer({
        maxHeaderSize: s.max_header_bytes,
        requestTimeout,
        headersTimeout,
        keepAliveTimeout: s.keep_alive_timeout_seconds * 1000,
        requireHostHeader: true,
        insecureHTTPParser: false,
        noDelay: true,
      }, handler)
      server.on('upgrade', upgrade)
      return server
    },
    // Routing sees one fixed URL; the real target is normalised once, here, and kept on the
    // request for the handler (the router never decodes anything).
    rewriteUrl: (req: IncomingMessage) => {
      (req as WithTarget)[kTarget] = normalize(req.url ?? '')
      return '/'
    },
    clientErrorHandler (err: NodeJS.ErrnoException, socket: Socket) {
      if (err.code === 'ECONNRESET' || socket.destroyed) return
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
      metrics.rejected.inc({ reason: status === 431 ? 'header_overflow' : status === 408 ? 'request_timeout' : 'malformed' })
      log.info({ code: err.code, status }, 'malformed request rejected')
      const body = `{"error":"${status === 431 ? 'headers_too_large' : status === 408 ? 'request_timeout' : 'bad_request'}"}`
      if (socket.writable && !(socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
        socket.write(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`)
      }
      socket.destroy()
    },
  })
  // Bodies are never parsed (or content types validated) by Fastify: every method is
  // registered as body-less so the handler gets the untouched stream and streams it (or
  // reads it itself for parsed_body).
  for (const m of METHODS) if (m !== 'CONNECT') fastify.addHttpMethod(m, { hasBody: false, overrideExisting: true })
  fastify.route({
    method: METHODS.filter((m) => m !== 'CONNECT'),
    url: '/',
    handler (request, reply) {
      reply.hijack()
      handle(request.raw as WithTarget, reply.raw)
    },
  })

  const adminServer = config.admin.enabled ? createAdminServer({ health, metrics }) : undefined
  const closeHooks: ((deadlineMs: number) => Promise<void> | void)[] = []
  let closing: Promise<void> | undefined

  const app: BouncerApp = {
    config, fastify, get server () { return server }, adminServer, holder, metrics, health, log, policyOptions,

    async loadPolicy () {
      if (!config.policy.path) return null
      const loaded = await loadPolicyFromPath(config.policy.path, config.policy.entrypoint, policyOptions)
      holder.activate(loaded)
      return holder.current
    },

    async start () {
      if (config.policy.path && !holder.current) await app.loadPolicy()
      // One attempt against the bundle service (or the persisted last good bundle), then background polling.
      await bundles?.start()
      await decisionLog?.start?.()
      auth?.warm?.()
      await fastify.listen({ host: s.host, port: s.port })
      const proxy = server.address() as AddressInfo
      let admin: AddressInfo | undefined
      if (adminServer) {
        await new Promise<void>((resolve, reject) => {
          adminServer.once('error', (e) => reject(new BouncerError('BOUNCER_ERR_PROXY_LISTEN', [`${config.admin.host}:${config.admin.port}`, e.message], { cause: e })))
          adminServer.listen(config.admin.port, config.admin.host, () => resolve())
        })
        admin = adminServer.address() as AddressInfo
      }
      log.info({ proxy: `${proxy.address}:${proxy.port}`, admin: admin ? `${admin.address}:${admin.port}` : undefined, upstream: config.upstream.url }, 'listening')
      return { proxy, admin }
    },

    close (deadlineMs = s.shutdown_timeout_seconds * 1000) {
      closing ??= (async () => {
        const t0 = Date.now()
        const left = () => Math.max(0, deadlineMs - (Date.now() - t0))
        health.markShuttingDown()
        log.info({ deadline_ms: deadlineMs, inflight: await metrics.inflight.get().then((g) => g.values[0]?.value ?? 0) }, 'shutting down')
        // Connections that finish their request become idle: close them as they do.
        const sweep = setInterval(() => server?.closeIdleConnections(), 50)
        const force = setTimeout(() => {
          log.warn('shutdown deadline reached; closing remaining connections')
          server?.closeAllConnections()
          for (const t of tunnels) t.destroy()
        }, deadlineMs)
        sweep.unref(); force.unref()
        for (const hook of closeHooks) {
          try { await hook(left()) } catch (e) { log.error({ err: e }, 'close hook failed') }
        }
        try { await bundles?.stop() } catch (e) { log.error({ err: e }, 'bundle manager stop failed') }
        try {
          if (server?.listening) await fastify.close()
          else await fastify.close().catch(() => {})
        } finally {
          clearInterval(sweep)
          clearTimeout(force)
        }
        for (const t of tunnels) t.destroy()
        await forwarder.close().catch(() => {})
        await auth?.close().catch(() => {})
        try { await decisionLog?.stop?.(left()) } catch (e) { log.error({ err: e }, 'decision log stop failed') }
        try { await cache?.close?.() } catch (e) { log.error({ err: e }, 'cache close failed') }
        if (adminServer?.listening) {
          adminServer.closeAllConnections()
          await new Promise<void>((resolve) => adminServer.close(() => resolve()))
        }
        log.info({ ms: Date.now() - t0 }, 'stopped')
        await new Promise<void>((resolve) => log.flush(() => resolve()))
      })()
      return closing
    },

    onClose (fn) { closeHooks.push(fn) },
  }
  return app
}

export type { Target }
