// The decision cache (src/cache) from config.cache. Imported by compose only when the cache is
// enabled, so a bouncer without one never loads src/cache or ioredis.
import { ConfigError, type BouncerConfig } from '../config/index.js'
import type { Logger } from 'pino'
import type { Metrics } from '../metrics/index.js'
import { buildInfo } from '../metrics/build-info.js'
import { zoneScope } from '../policy/builtins/tz.js'
import { BREAKER_STATE_VALUE, TieredDecisionCache, compileDecisionKey, compileProjectionKey, resolveKeySpec, ttlFor, type InputPath } from '../cache/index.js'
import type { ActivePolicy, PolicyHolder } from '../policy/holder.js'
import type { DecisionCache } from '../proxy/seams.js'
import { readOptionalFile, readSettingBytes, readTlsFiles } from './tls.js'

/** "/a/b~1c" → ['a', 'b/c'] */
const pointerToPath = (p: string): InputPath => p.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))

export interface CacheDeps {
  readonly metrics: Metrics
  readonly log: Logger
  readonly production: boolean
  readonly allowInsecure: boolean
}

/** A tier-labelled counter as the cache takes it (inc({ tier })), through children bound once per tier. */
function byTier (counter: Metrics['cacheHits']): { inc (labels: { tier: string }, value?: number): void } {
  const memory = counter.labels('memory')
  const redis = counter.labels('redis')
  return { inc: (labels, value) => (labels.tier === 'memory' ? memory : labels.tier === 'redis' ? redis : counter.labels(labels.tier)).inc(value) }
}

/** The cache described by the slice, or undefined when it is disabled (or has no tier). */
export function fromConfig (c: BouncerConfig['cache'], deps: CacheDeps): DecisionCache | undefined {
  if (!c.enabled || (!c.l1.enabled && !c.redis.enabled)) return undefined
  const { metrics, log } = deps
  const r = c.redis
  let redis: ConstructorParameters<typeof TieredDecisionCache>[0]['redis'] = false
  if (r.enabled) {
    const scheme = (r.url?.startsWith('rediss://') || r.tls.enabled) ? 'rediss' : 'redis'
    const mode = r.cluster.nodes.length ? 'cluster' : r.sentinel.name ? 'sentinel' : 'single'
    const tls = readTlsFiles(r.tls, 'cache.redis.tls')
    redis = {
      mode,
      // tls.enabled means TLS whatever the URL's scheme says (as for cluster and sentinel nodes).
      url: mode === 'single' && scheme === 'rediss' && r.url?.startsWith('redis://') === true ? 'rediss://' + r.url.slice('redis://'.length) : r.url,
      nodes: mode === 'cluster' ? r.cluster.nodes.map((n) => `${scheme}://${n}`) : mode === 'sentinel' ? r.sentinel.sentinels.map((n) => `${scheme}://${n}`) : undefined,
      sentinelName: r.sentinel.name,
      sentinelPassword: readOptionalFile(r.sentinel.password_file, 'cache.redis.sentinel.password_file', { trim: true }),
      password: readOptionalFile(r.password_file, 'cache.redis.password_file', { trim: true }),
      // Values carry an HMAC under this key; one that does not verify is a miss (redis-tier.ts).
      integrityKey: integrityKeyOf(r.integrity_key_file),
      tls: { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized },
      commandTimeoutMs: r.command_timeout_seconds * 1000,
      connectTimeoutMs: r.connect_timeout_seconds * 1000,
      keyPrefix: r.key_prefix,
      breaker: { failureThreshold: r.breaker_failures, openMs: r.breaker_reset_seconds * 1000 },
      production: deps.production,
      allowInsecure: deps.allowInsecure,
    }
    if (r.integrity_key_file === undefined) {
      log.warn({ setting: 'cache.redis.integrity_key_file' }, 'decision cache: Redis values are not authenticated; whoever can write to this Redis can plant a decision for any request (set cache.redis.integrity_key_file, the same secret on every pod)')
    }
  }
  const cache = new TieredDecisionCache({
    memory: c.l1.enabled ? { maxEntries: c.l1.max_entries, maxBytes: c.l1.max_bytes } : false,
    redis,
    ttl: { allowSeconds: c.ttl.allow_seconds, denySeconds: c.ttl.deny_seconds, maxSeconds: c.ttl.max_seconds },
    key: { inputPaths: c.input_paths ? c.input_paths.map(pointerToPath) : null, ignorePaths: c.ignore_paths.map(pointerToPath) },
  }, {
    metrics: {
      // hits and misses are counted on every lookup: children bound once per tier
      hits: byTier(metrics.cacheHits), misses: byTier(metrics.cacheMisses), redisErrors: metrics.cacheRedisErrors,
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

/**
 * What decides besides the policy's module and data: the build that runs it (host builtins) and
 * the evaluation options that change results (strict builtin errors turn an undefined into a
 * failure; the step budget and memory limit turn an evaluation into a fail-closed denial). Pods
 * on one Redis that differ in any of these never share decisions: an allow a lenient pod cached
 * must not be served by a strict one. So do the process time zone and the zone data
 * (`time.clock([t, "Local"])`, zone rules that changed between tzdata releases).
 */
export function evaluationScope (policy: BouncerConfig['policy']): string {
  const b = buildInfo()
  return JSON.stringify([b.version, b.revision, policy.strict_builtin_errors, policy.eval_step_budget, policy.max_memory_pages, zoneScope()])
}

/** The key of a request: from the input, or from the text the evaluator got (projection.ts). */
type KeyFn = (input: unknown, text: string) => string

/**
 * What the pipeline needs to use a cache: the key function for a policy, compiled once per
 * activation (the paths the compiler recorded, else the configured ones; the active policy is
 * compared by identity, a WeakMap serves requests still finishing on an older one), and the TTL
 * of a result (cache.ttl defaults; non-deterministic policies only with an explicit cache_ttl).
 */
export function decisionKeys (c: BouncerConfig['cache'], deps: { holder: PolicyHolder; cache: DecisionCache; log: Logger; evaluation: string }): {
  cacheKey: (p: ActivePolicy) => KeyFn | undefined
  ttlFor: (result: unknown, p: ActivePolicy) => number
} {
  const { holder, cache, log } = deps
  // Keys are scoped to what decides: the module and data, and how they are run.
  const scope = (p: ActivePolicy): string => `${p.contentDigest}/${deps.evaluation}`
  const keyFns = new WeakMap<ActivePolicy, KeyFn | undefined>()
  const configured = { inputPaths: c.input_paths ? c.input_paths.map(pointerToPath) : null, ignorePaths: c.ignore_paths.map(pointerToPath) }
  const compile = (p: ActivePolicy): KeyFn | undefined => {
    let fn: KeyFn | undefined
    try {
      const paths = p.inputPaths
      if (Array.isArray(paths) && !paths.some((x) => x.length === 0)) {
        // Compiler-recorded paths: the evaluator was given exactly their projection; hash that text.
        const key = compileProjectionKey({ revision: p.revision, contentDigest: scope(p), entrypoint: p.entrypoint, inputPaths: paths })
        fn = (_input, text) => key(text)
      } else {
        const key = compileDecisionKey(resolveKeySpec({ revision: p.revision, contentDigest: scope(p), entrypoint: p.entrypoint, compiledInputPaths: p.inputPaths }, configured))
        fn = (input) => key(input)
        if (paths !== undefined) {
          log.warn({ revision: p.revision, entrypoint: p.entrypoint }, 'the policy can read the whole input (it passes input to a function, walks it or replaces it with `with`): decision cache keys cover every field, the request id included, so only identical requests share a decision')
        } else if (configured.inputPaths === null && c.ignore_paths.length > 0) {
          // Nobody analysed this policy: leaving fields out of its key is a promise about it.
          log.warn({ revision: p.revision, entrypoint: p.entrypoint, ignore_paths: c.ignore_paths }, 'the bundle records no input paths (not built by bouncer build): decision cache keys are the whole input minus cache.ignore_paths, so the policy must not read those fields (set cache.ignore_paths to [] if it might, or build the bundle with bouncer build)')
        }
      }
    } catch (e) {
      log.error({ err: e, revision: p.revision }, 'cannot derive decision cache keys for this policy; caching disabled for it')
    }
    keyFns.set(p, fn)
    return fn
  }
  let keyPolicy: ActivePolicy | undefined
  let keyFn: KeyFn | undefined
  holder.onActivate((next) => {
    keyPolicy = next
    keyFn = compile(next)
    // Keys carry the revision and content digest: the old policy's L1 entries are dead weight from now on.
    // (Requests still finishing on it may add a few back; LRU and TTL take care of those.)
    cache.clearMemory()
  })
  const ttlDefaults = { allowSeconds: c.ttl.allow_seconds, denySeconds: c.ttl.deny_seconds, maxSeconds: c.ttl.max_seconds }
  return {
    cacheKey: (p) => p === keyPolicy ? keyFn : keyFns.has(p) ? keyFns.get(p) : compile(p),
    ttlFor: (result, p) => ttlFor(result, ttlDefaults, { nondeterministic: !p.cacheable }),
  }
}

/**
 * The secret of cache.redis.integrity_key_file (read now) as bytes, at least 16 of them. Read as
 * raw bytes: decoded as UTF-8 text, every invalid byte became U+FFFD, so two different binary
 * keys (`openssl rand 32`) could become one HMAC key, and a short one pass the length check.
 * Only ASCII whitespace around it is trimmed (a trailing newline from `echo`).
 */
export function integrityKeyOf (file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined
  const raw = readSettingBytes(file, 'cache.redis.integrity_key_file')
  let start = 0
  let end = raw.length
  while (start < end && isAsciiSpace(raw[start]!)) start++
  while (end > start && isAsciiSpace(raw[end - 1]!)) end--
  const key = raw.subarray(start, end)
  if (key.length < 16) {
    throw new ConfigError([`cache.redis.integrity_key_file: ${file} holds ${key.length} bytes; the secret must be at least 16 bytes`])
  }
  return key
}

function isAsciiSpace (b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d
}
