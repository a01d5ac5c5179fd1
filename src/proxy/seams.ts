// The small typed seams through which components written elsewhere plug into the request
// path. buildApp() accepts instances of these; each is optional.
import type { Readable } from 'node:stream'
import type { DecisionEventInput } from '../decision-log/event.js'

export type { DecisionEventInput }

/**
 * Decision cache (src/cache TieredDecisionCache satisfies this). Stores the raw policy result
 * (boolean or decision object) — it is re-validated on every hit.
 */
export interface DecisionCache {
  /** Never throws, bounded time; undefined = miss. */
  get (key: string): Promise<{ readonly decision: unknown } | undefined>
  /**
   * Optional fast path: the in-process tier alone, synchronously. When present the engine
   * calls it first, so an L1 hit costs no promise and no timer; on a miss it calls
   * `getRemote` (or `get` when there is no `getRemote`), unless `tiers.redis` is false.
   * A frozen decision returned here must be deeply frozen: the engine then treats it as
   * immutable and reuses what it derived from it (the validated decision, compiled masks).
   */
  getMemory? (key: string): { readonly decision: unknown } | undefined
  /** The shared tier alone (used after a getMemory miss). Never throws, bounded time. */
  getRemote? (key: string): Promise<{ readonly decision: unknown } | undefined>
  /** Which tiers are on; `redis: false` lets the engine skip the remote lookup entirely. */
  readonly tiers?: { readonly memory: boolean; readonly redis: boolean }
  /** Drops the in-process tier (called on every policy activation: old-revision keys are never hit again). */
  clearMemory? (): void
  /** Fire and forget; errors are the cache's business. */
  set (key: string, decision: unknown, ttlSeconds: number): void | Promise<void>
  /** Any status object; see normalizeStatus in src/health. */
  status? (): unknown
  close? (): Promise<unknown> | void
}

/** Decision logger (src/decision-log DecisionLogger). record() is synchronous and cheap. */
export interface DecisionLogger {
  /** 'backpressure' = the spool is full and the overflow policy is backpressure: refuse the request. */
  record (event: DecisionEventInput): void | 'backpressure'
  /** When true, a request goes on only once written() has resolved (write_mode "group"). */
  readonly holdRequests?: boolean
  /** Resolves when every event recorded so far is on disk; false if the write failed. */
  written? (): Promise<boolean>
  /** With "backpressure", a failed write refuses the request (503) instead of letting it go on. */
  readonly config?: { readonly overflow: 'drop_oldest' | 'backpressure' }
  start? (): void | Promise<void>
  stop? (deadlineMs: number): Promise<unknown>
  /** Any status object; see normalizeStatus in src/health. */
  status? (): unknown
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
  apply (res: UpstreamResponseForMask, compiled: Compiled, ctx: { method: string }): Promise<MaskedResult>
}
