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
