// The small typed seams through which components written elsewhere plug into the request
// path. The pipeline talks to these shapes only, and every member is required: nothing on the
// request path (or at start) asks whether a method exists. src/cache, src/decision-log and
// src/masking satisfy them as they are.
//
// buildApp() also accepts lighter stand-ins (tests, custom sinks): a DecisionLoggerPlugin needs
// only record(), a DecisionCachePlugin only set() and a lookup. They are completed once, when
// the app is composed (decisionLogSeam, decisionCacheSeam), with members that do nothing.
import type { Readable } from 'node:stream'
import type { DecisionEventInput } from '../decision-log/event.js'

export type { DecisionEventInput }

export interface CacheHit { readonly decision: unknown }

/**
 * Decision cache (src/cache TieredDecisionCache). Stores the raw policy result (boolean or
 * decision object) — it is re-validated like a fresh result when it is served.
 */
export interface DecisionCache {
  /** Which tiers are on: the pipeline asks getMemory only with a memory tier, getRemote only with a remote one. */
  readonly tiers: { readonly memory: boolean; readonly redis: boolean }
  /**
   * The in-process tier alone, synchronously (an L1 hit costs no promise and no timer).
   * A frozen decision returned here must be deeply frozen: the pipeline then treats it as
   * immutable and reuses what it derived from it (the validated decision, compiled masks).
   */
  getMemory (key: string): CacheHit | undefined
  /** The shared tier alone (after a memory miss). Never throws, bounded time; undefined = miss. */
  getRemote (key: string): Promise<CacheHit | undefined>
  /** Fire and forget; errors are the cache's business. */
  set (key: string, decision: unknown, ttlSeconds: number): void | Promise<void>
  /** Drops the in-process tier (called on every policy activation: old-revision keys are never hit again). */
  clearMemory (): void
  /** Any status object; see normalizeStatus in src/health. */
  status (): unknown
  close (deadlineMs?: number): Promise<unknown> | void
}

/** Decision logger (src/decision-log DecisionLogger). record() is synchronous and cheap. */
export interface DecisionLogger {
  /** 'backpressure' = the spool is full and the overflow policy is backpressure: refuse the request. */
  record (event: DecisionEventInput): void | 'backpressure'
  /** When true, a request goes on only once written() has resolved (write_mode "group"). */
  readonly holdRequests: boolean
  /** Resolves when every event recorded so far is on disk; false if the write failed. */
  written (): Promise<boolean>
  /** With "backpressure", a failed write refuses the request (503) instead of letting it go on. */
  readonly config: { readonly overflow: 'drop_oldest' | 'backpressure' }
  start (): void | Promise<void>
  stop (deadlineMs: number): Promise<unknown>
  /** Any status object; see normalizeStatus in src/health. */
  status (): unknown
}

/** The upstream response handed to the masker. */
export interface UpstreamResponseForMask {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  body: Readable
}

export interface MaskedResult {
  statusCode: number
  headers: Record<string, string | string[]>
  body: Buffer
  masked?: readonly string[]
}

/**
 * Response masking (src/masking). `compile` runs before anything is forwarded (a bad rule list
 * is a policy error → deny); `apply` buffers and rewrites the upstream response and throws an
 * error carrying `statusCode` when it must fail closed.
 */
export interface Masker<Compiled = unknown> {
  compile (rules: readonly unknown[]): Compiled
  /** `budget`: the share of masking.max_buffered_bytes this response may hold (charged as it is read). */
  apply (res: UpstreamResponseForMask, compiled: Compiled, ctx: { method: string; budget?: { readonly lease: { take (n: number): boolean }; readonly limit: number } }): Promise<MaskedResult>
}

// --- what buildApp() accepts in place of the full seams ---

/** A decision logger given to buildApp(): record() is required, the rest is optional. */
export type DecisionLoggerPlugin = Pick<DecisionLogger, 'record'> & Partial<Omit<DecisionLogger, 'record'>>

/**
 * A decision cache given to buildApp(): set() and at least one lookup — get() (any tier, async),
 * getMemory() and/or getRemote(). Without `tiers`, the tiers are the lookups it has.
 */
export type DecisionCachePlugin = Pick<DecisionCache, 'set'> & Partial<Omit<DecisionCache, 'set'>> & {
  get? (key: string): Promise<CacheHit | undefined>
}

const noop = (): void => {}
const written = (): Promise<boolean> => Promise.resolve(true)

/** The full seam for a plug-in logger (once, at composition). */
export function decisionLogSeam (p: DecisionLoggerPlugin): DecisionLogger {
  return {
    record: (event) => p.record(event),
    holdRequests: p.holdRequests === true && p.written !== undefined,
    written: p.written?.bind(p) ?? written,
    config: { overflow: p.config?.overflow ?? 'drop_oldest' },
    start: p.start?.bind(p) ?? noop,
    stop: p.stop?.bind(p) ?? written,
    status: p.status?.bind(p) ?? (() => ({ status: 'OK' })),
  }
}

/** The full seam for a plug-in cache (once, at composition). */
export function decisionCacheSeam (p: DecisionCachePlugin): DecisionCache {
  const remote = p.getRemote?.bind(p) ?? p.get?.bind(p)
  if (p.getMemory === undefined && remote === undefined) throw new TypeError('a decision cache needs get(), getMemory() or getRemote()')
  const tiers = p.tiers ?? { memory: p.getMemory !== undefined, redis: remote !== undefined }
  return {
    tiers: { memory: tiers.memory && p.getMemory !== undefined, redis: tiers.redis && remote !== undefined },
    getMemory: p.getMemory?.bind(p) ?? (() => undefined),
    getRemote: remote ?? (() => Promise.resolve(undefined)),
    set: (key, decision, ttl) => p.set(key, decision, ttl),
    clearMemory: p.clearMemory?.bind(p) ?? noop,
    status: p.status?.bind(p) ?? (() => ({ status: 'OK' })),
    close: p.close?.bind(p) ?? noop,
  }
}
