// Decision cache: public surface. See tiered.ts for the request-path contract, key.ts for what
// a key covers, ttl.ts for what may be cached and for how long.
export {
  TieredDecisionCache,
  type CacheOptions, type CacheDeps, type CachedDecision, type CacheStatus,
} from './tiered.js'
export {
  decisionCacheKey, compileDecisionKey, compileProjectionKey, resolveKeySpec, DEFAULT_IGNORE_PATHS,
  type DecisionKeySpec, type DecisionKeyRequest, type DecisionKeyFn, type InputPath,
} from './key.js'
export { canonicalJson } from './canonical-json.js'
export {
  ttlFor, nondeterministicBuiltins, NONDETERMINISTIC_BUILTINS,
  type TtlDefaults, type TtlContext,
} from './ttl.js'
export {
  validateRedisUrl, validateRedisOptions, redactRedisUrl, createRedisClient, REDIS_DEFAULTS,
  type RedisConnectionOptions, type RedisSecurityOptions, type RedisTlsOptions, type RedisMode,
  type ParsedRedisUrl, type RedisClient,
} from './redis-client.js'
export { RedisTier, type RedisTierOptions, type RedisLookup } from './redis-tier.js'
export { MemoryTier, type MemoryTierOptions } from './memory-tier.js'
export { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js'
export {
  CACHE_METRIC_LABELS, BREAKER_STATE_VALUE,
  type CacheMetrics, type CacheLogger, type CacheTier, type RedisOp,
  type CounterLike, type UnlabelledCounterLike, type GaugeLike,
} from './metrics.js'
