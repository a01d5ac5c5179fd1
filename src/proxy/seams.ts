// The small typed seams through which components written elsewhere plug into the request
// path. buildApp() accepts instances of these; each is optional.
import type { Readable } from 'node:stream'
import type { DecisionEventInput } from '../decision-log/event.js'
import type { StatusReport } from '../health/index.js'

export type { DecisionEventInput }

/** Decision cache (src/cache TieredDecisionCache). Stores the raw policy result. */
export interface DecisionCache {
  /** Never throws, bounded time; undefined = miss. */
  get (key: string): Promise<unknown | undefined>
  /** Fire and forget; errors are the cache's business. */
  set (key: string, result: unknown, ttlSeconds: number): void | Promise<void>
  status? (): StatusReport
  close? (): Promise<void> | void
}

/** Decision logger (src/decision-log DecisionLogger). record() is synchronous and cheap. */
export interface DecisionLogger {
  /** 'backpressure' = the spool is full and the overflow policy is backpressure: refuse the request. */
  record (event: DecisionEventInput): void | 'backpressure'
  start? (): void | Promise<void>
  stop? (deadlineMs: number): Promise<void>
  status? (): StatusReport
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
