// Composition: every component built from its own config slice by its own fromConfig(slice, deps),
// then wired into the request pipeline. Nothing listens and nothing runs here (lifecycle.ts
// starts things); files named by the config are read (TLS material, keys, tokens), so a bad
// path fails the build with the setting named. Components a config leaves off are not even
// imported: no src/cache (and ioredis) without a cache, no jose without auth or bundles, no
// spool or uploader without decision logs.
import type { Duplex } from 'node:stream'
import type { DestinationStream, Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import { ConfigError } from '../config/index.js'
import { Health, normalizeStatus } from '../health/index.js'
import { createMetrics, type Metrics } from '../metrics/index.js'
import type { HostBuiltin } from '../policy/builtins/index.js'
import type { PrintEvent } from '../policy/eval/index.js'
import { PolicyHolder, type ActivePolicy } from '../policy/holder.js'
import type { LoadPolicyOptions } from '../policy/load.js'
import type { Authenticator } from '../auth/index.js'
import type { BundleManager } from '../policy/bundle/index.js'
import type { ShadowComponent } from './shadow.js'
import type { ExtAuthzComponent } from './ext-authz.js'
import { createEngine } from '../proxy/engine.js'
import { compileSecretScrubber, type SecretScrubber } from '../proxy/secret-values.js'
import type { PolicyInput } from '../proxy/input.js'
import { createForwarder, type Forwarder } from '../proxy/forward.js'
import { createGrpcForwarder, grpcUpstreamUrl, type GrpcForwarder } from '../proxy/grpc.js'
import type { RequestListener, UpgradeListener } from '../proxy/listener.js'
import { createPipeline } from '../proxy/pipeline.js'
import { compileTargetNormalizer } from '../proxy/target.js'
import {
  decisionCacheSeam, decisionLogSeam,
  type DecisionCache, type DecisionCachePlugin, type DecisionLogger, type DecisionLoggerPlugin, type Masker,
} from '../proxy/seams.js'
import * as logging from './logger.js'
import * as masking from './masking.js'
import { readTlsFiles } from './tls.js'
import { signingFromConfig } from './bundle-signing.js'

export interface AppDeps {
  /** pino logger (default: JSON to stdout at config.logging.level, secrets redacted) */
  logger?: Logger
  /** where the default logger writes (tests) */
  logDestination?: DestinationStream
  /** decision cache; omitted = src/cache built from config.cache when enabled; null = none */
  cache?: DecisionCachePlugin | null
  /** decision logger; omitted = src/decision-log built from config.decision_logs when enabled; null = none */
  decisionLog?: DecisionLoggerPlugin | null
  /** response masker; omitted = src/masking with config.masking; null = none (masked decisions fail closed) */
  masker?: Masker | null
  /** authenticator; omitted = from config.auth */
  authenticator?: Authenticator
  /** host builtins for policies (default: src/policy/builtins) */
  builtins?: Record<string, HostBuiltin>
  holder?: PolicyHolder
  /** The shadow policy's clock (ms, for its per-second cap) and random source (sampling); tests inject them. */
  shadow?: { now?: () => number; random?: () => number }
}

/** Everything the app is made of, built and wired, nothing started. */
export interface Components {
  readonly config: BouncerConfig
  readonly log: Logger
  readonly metrics: Metrics
  readonly health: Health
  readonly holder: PolicyHolder
  /** Options to use when loading policies for this app (memory, builtins, print, Rego version). */
  readonly policyOptions: LoadPolicyOptions
  readonly masker: Masker | undefined
  readonly cache: DecisionCache | undefined
  readonly decisionLog: DecisionLogger | undefined
  readonly auth: Authenticator | undefined
  readonly bundles: BundleManager | undefined
  /** The shadow policy (policy.shadow or bundles.shadow_resource), evaluated beside the active one and never enforced. */
  readonly shadow: ShadowComponent | undefined
  /** The Envoy ext_authz listeners (config.ext_authz), when one is enabled. */
  readonly extAuthz: ExtAuthzComponent | undefined
  readonly forwarder: Forwarder
  /** gRPC calls to the upstream over HTTP/2 (upstream.http2). */
  readonly grpc: GrpcForwarder
  /** The pipeline's entry points, for the proxy port. */
  readonly onRequest: RequestListener
  readonly onUpgrade: UpgradeListener
  /** Open upgrade tunnels (shutdown closes them). */
  readonly tunnels: Set<Duplex>
}

/** The request id in a policy input (attributes.request.http.id), for print lines. */
function requestIdOf (input: unknown): string | undefined {
  const id = (input as { attributes?: { request?: { http?: { id?: unknown } } } } | null)?.attributes?.request?.http?.id
  return typeof id === 'string' ? id : undefined
}

/**
 * Options for loading policies (config.policy): Wasm memory, builtins, step budget, print, Rego
 * version. `evaluating()` is the input of the evaluation in progress (the evaluator itself is
 * given only the serialised paths the policy reads), for the request id of print lines.
 */
function policyOptionsFromConfig (p: BouncerConfig['policy'], deps: { log: Logger; builtins?: Record<string, HostBuiltin>; evaluating?: () => unknown; scrub?: SecretScrubber }): LoadPolicyOptions {
  const { log, scrub } = deps
  const evaluating = deps.evaluating ?? (() => undefined)
  // A line printing the input (the usual way to debug a policy) held the bearer token, cookies
  // and signed URLs: the input's credential values are cut out, as from a logged reason.
  const printed = (line: string, input: unknown): string => scrub === undefined ? line : scrub(line, input)
  return {
    initialMemoryPages: p.initial_memory_pages,
    maxMemoryPages: p.max_memory_pages,
    strictBuiltinErrors: p.strict_builtin_errors,
    evalStepBudget: p.eval_step_budget,
    regoVersion: p.rego_version,
    // policy.print: print() lines at debug level with the request id; off, print() is compiled
    // out of Rego sources and a no-op in bundles
    ...(p.print
      ? {
          onPrint: (line: string, ev: PrintEvent) => {
            const input = evaluating() ?? ev.input
            log.debug({ id: requestIdOf(input), entrypoint: ev.entrypoint, print: printed(line, input) }, 'policy print')
          },
        }
      : {}),
    ...(deps.builtins ? { builtins: deps.builtins } : {}),
  }
}

/** Policy status for /readyz, metrics and logs, kept current on every activation. */
function watchPolicy (holder: PolicyHolder, health: Health, metrics: Metrics, log: Logger): void {
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
}

export async function compose (config: BouncerConfig, deps: AppDeps = {}): Promise<Components> {
  if (!config.upstream.url && config.mode !== 'ext_authz') throw new ConfigError(['upstream.url: is required'])
  const log = deps.logger ?? logging.fromConfig(config.logging, {
    authHeader: config.auth.jwt.header, queryParams: config.decision_logs.erase_query_params, destination: deps.logDestination,
  })
  const metrics = createMetrics({ defaultMetrics: config.admin.default_metrics })
  const health = new Health()
  const holder = deps.holder ?? new PolicyHolder()
  const globals = { production: config.production, allowInsecure: config.allow_insecure }
  const hashKey = masking.readHashKey(config.masking)
  const masker = deps.masker === null ? undefined : (deps.masker ?? masking.fromConfig(config.masking, { hashKey, log }))

  let cache: DecisionCache | undefined
  const cacheComponent = deps.cache || (deps.cache === undefined && config.cache.enabled) ? await import('./cache.js') : undefined
  if (deps.cache) cache = decisionCacheSeam(deps.cache)
  else if (cacheComponent) cache = cacheComponent.fromConfig(config.cache, { metrics, log, ...globals })

  let decisionLog: DecisionLogger | undefined
  if (deps.decisionLog !== undefined) decisionLog = deps.decisionLog === null ? undefined : decisionLogSeam(deps.decisionLog)
  else if (config.decision_logs.enabled) {
    decisionLog = (await import('./decision-log.js')).fromConfig(config.decision_logs, { metrics, log, ...globals, authHeader: config.auth.jwt.header, hashKey, holder })
  }

  let auth = deps.authenticator
  const jwt = config.auth.jwt
  // One result per request: children bound once per result.
  const authResults = new Map<string, { inc (): void }>()
  const authResult = (r: string): { inc (): void } => {
    let c = authResults.get(r)
    if (c === undefined) { c = metrics.authResults.labels(r); authResults.set(r, c) }
    return c
  }
  if (auth === undefined && jwt.enabled) {
    if (jwt.audience === undefined) log.warn('auth.jwt.audience is not set: tokens that name an audience (aud) are refused as invalid_claims (RFC 7519 §4.1.3); set it to the audience access tokens for this service carry')
    const { createAuthenticator } = await import('../auth/index.js')
    auth = await createAuthenticator(jwt, {
      jwksTls: jwt.jwks_url ? readTlsFiles(jwt.jwks_tls, 'auth.jwt.jwks_tls') : undefined,
      onResult: (r) => authResult(r).inc(),
      onJwksFetch: (outcome, err) => {
        metrics.jwksRefreshes.inc({ outcome })
        if (err) log.warn({ err: err.message }, 'JWKS fetch failed')
      },
    })
  }

  let evaluating: PolicyInput | undefined
  // A bundle archive as policy.path is verified with bundles.signing's keys (a signed one cannot
  // load without them; with them, an unsigned one is refused), as a downloaded one is.
  const verification = signingFromConfig(config.bundles, config.bundles.signing.scope)
  const policyOptions: LoadPolicyOptions = {
    ...policyOptionsFromConfig(config.policy, { log, builtins: deps.builtins, evaluating: () => evaluating, ...(config.policy.print ? { scrub: compileSecretScrubber(config) } : {}) }),
    ...(verification === undefined ? {} : { verification }),
  }
  const bundles = config.bundles.service_url
    ? (await import('./bundles.js')).fromConfig(config.bundles, { holder, entrypoint: config.policy.entrypoint, policyOptions, metrics, log, ...globals })
    : undefined

  watchPolicy(holder, health, metrics, log)
  if (bundles) health.register('bundles', () => normalizeStatus(bundles.status()), { critical: false })
  if (auth) health.register('auth', () => auth.status(), { critical: false })
  if (cache) health.register('cache', () => normalizeStatus(cache.status()), { critical: false })
  if (decisionLog) {
    health.register('decision_logs', () => normalizeStatus(decisionLog.status()), { critical: false })
    // Delivery trouble alone does not make an instance unready (drop_oldest keeps serving); a
    // spool that refuses every request does (overflow backpressure and full, or a full or
    // failing disk in the group and sync write modes), or the pod stays in rotation answering 503 while
    // /readyz says ready.
    if (config.decision_logs.overflow === 'backpressure' || config.decision_logs.write_mode !== 'batched') {
      health.register('decision_log_admission', () => (decisionLog.status() as { refusing_requests?: boolean }).refusing_requests === true
        ? { status: 'ERROR', message: 'decision events cannot be stored (the spool is full under overflow: backpressure, or its disk is full or cannot be written): requests are refused until there is room' }
        : { status: 'OK' }, { critical: true })
    }
  }

  const shadow = config.policy.shadow || config.bundles.shadow_resource
    ? await (await import('./shadow.js')).fromConfig(config, {
      metrics, log, health, policyOptions, decisionLog, masker, ...globals, ...deps.shadow,
      scrubSecrets: compileSecretScrubber(config),
      // policy.print: the shadow's print lines carry the request id of the input it evaluates
      ...(config.policy.print ? { beforeEvaluate: (input: PolicyInput) => { evaluating = input } } : {}),
    })
    : undefined

  // The decision step's parts, shared by the proxy's engine and the ext_authz listeners' (same
  // policy holder, decision cache and keys, decision logger).
  const engineDeps = {
    config, holder, metrics, log, masker, decisionLog,
    ...(config.policy.print ? { beforeEvaluate: (input: PolicyInput) => { evaluating = input } } : {}),
    ...(cache && cacheComponent ? { cache, ...cacheComponent.decisionKeys(config.cache, { holder, cache, log, evaluation: cacheComponent.evaluationScope(config.policy) }) } : {}),
  }
  const decide = createEngine({ ...engineDeps, ...(shadow ? { observe: shadow.observe } : {}) })
  const extAuthz = config.ext_authz.grpc.enabled || config.ext_authz.http.enabled
    ? await (await import('./ext-authz.js')).fromConfig(config, { engine: engineDeps, metrics, log, ...(auth !== undefined ? { auth } : {}) })
    : undefined
  // mode ext_authz: the proxy port never listens, so the forwarders are never used; without an
  // upstream.url they get a placeholder (undici and node:http2 connect on first use: nothing is opened).
  const upstream = config.upstream.url || config.mode !== 'ext_authz' ? config.upstream : { ...config.upstream, url: 'http://127.0.0.1:9' }
  // upstream.tls is read once for both forwarders (undici for HTTP, node:http2 for gRPC calls).
  const grpcUrl = grpcUpstreamUrl(upstream)!
  const upstreamTls = upstream.url!.startsWith('https:') || grpcUrl.startsWith('https:') ? readTlsFiles(upstream.tls, 'upstream.tls') : undefined
  const forwarder = createForwarder(upstream, { tls: upstream.url!.startsWith('https:') ? upstreamTls : undefined })
  const grpc = createGrpcForwarder(upstream, { tls: grpcUrl.startsWith('https:') ? upstreamTls : undefined })
  const tunnels = new Set<Duplex>()
  const pipeline = createPipeline({ config, metrics, log, decide, normalize: compileTargetNormalizer(config.path), forwarder, grpc, auth, masker, tunnels })
  // node's HTTP/2 compatibility objects are ClientRequest/ClientResponse at run time; their
  // typings leave out destroy() and writableFinished.
  const onRequest = pipeline.onRequest as unknown as RequestListener

  return {
    config, log, metrics, health, holder, policyOptions,
    masker, cache, decisionLog, auth, bundles, shadow, extAuthz, forwarder, grpc,
    onRequest, onUpgrade: pipeline.onUpgrade, tunnels,
  }
}
