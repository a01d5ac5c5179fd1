// What the cache reports, as the smallest shapes prom-client's Counter and Gauge already
// satisfy: src/metrics creates the real objects (with the label names below) and passes them
// in; tests and tools can pass nothing. Every member is optional.
import type { BreakerState } from './breaker.js'

export type CacheTier = 'memory' | 'redis'
/** Which Redis call failed: a lookup, a fire-and-forget write, or a breaker probe (PING). */
export type RedisOp = 'get' | 'set' | 'probe'

export interface CounterLike<L extends string> {
  inc (labels: Record<L, string>, value?: number): void
}
export interface UnlabelledCounterLike {
  inc (value?: number): void
}
export interface GaugeLike {
  set (value: number): void
}

export interface CacheMetrics {
  /** labels: tier. A Redis hit also fills the memory tier; it counts once, as a redis hit. */
  hits?: CounterLike<'tier'>
  /** labels: tier. A redis miss is counted only when Redis was asked (breaker closed). */
  misses?: CounterLike<'tier'>
  /** labels: op. Errors other than timeouts, including values that fail to decode/verify. */
  redisErrors?: CounterLike<'op'>
  /** labels: op. Calls abandoned after the command timeout. */
  redisTimeouts?: CounterLike<'op'>
  /** Lookups and writes not sent to Redis because the breaker was open. */
  redisSkipped?: UnlabelledCounterLike
  /** 0 = closed (Redis in use), 1 = half-open (probing), 2 = open (Redis skipped). */
  breakerState?: GaugeLike
}

/** Label names per metric, for whoever constructs the prom-client objects. */
export const CACHE_METRIC_LABELS = Object.freeze({
  hits: ['tier'],
  misses: ['tier'],
  redisErrors: ['op'],
  redisTimeouts: ['op'],
  redisSkipped: [],
  breakerState: [],
} as const)

export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = Object.freeze({
  closed: 0,
  'half-open': 1,
  open: 2,
})

/** pino-compatible subset; the cache logs state changes only, never per request. */
export interface CacheLogger {
  warn (obj: object, msg: string): void
  info (obj: object, msg: string): void
}
