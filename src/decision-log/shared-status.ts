// The logger thread's counters and chain head in shared memory: the request thread reads them
// in status() without a message per turn. One writer (the logger thread) and a sequence number
// around each update (odd while writing), so a reader retries instead of seeing half an update.

import type { ChainHead } from './chain.js'
import type { DecisionLogStatus, LossReason } from './logger.js'

const FIELDS = [
  'recorded', 'delivered', 'spool_full', 'rejected_too_large', 'write_error', 'unserializable', 'backpressure',
  'pending_events', 'spool_bytes', 'spool_segments', 'head_seq', 'acked_seq', 'consecutive_failures',
  'recovered_bytes', 'corrupt_lines', 'policy_drops', 'mask_errors',
] as const
type Field = typeof FIELDS[number]
const AT = Object.fromEntries(FIELDS.map((f, i) => [f, i])) as Record<Field, number>
const HASH_BYTES = 64
// [0] sequence (Int32), then the counters as float64 from byte 8, then the hash's hex digits.
const NUM_OFFSET = 8
const HASH_OFFSET = NUM_OFFSET + FIELDS.length * 8

export type SharedCounters = Record<Field, number> & { head: ChainHead }

export function sharedStatusBuffer (): SharedArrayBuffer {
  return new SharedArrayBuffer(HASH_OFFSET + HASH_BYTES)
}

/** Publishes a status (logger thread). */
export class StatusWriter {
  private readonly seq: Int32Array
  private readonly nums: Float64Array
  private readonly hash: Uint8Array
  constructor (sab: SharedArrayBuffer) {
    this.seq = new Int32Array(sab, 0, 1)
    this.nums = new Float64Array(sab, NUM_OFFSET, FIELDS.length)
    this.hash = new Uint8Array(sab, HASH_OFFSET, HASH_BYTES)
  }

  publish (s: DecisionLogStatus): void {
    Atomics.add(this.seq, 0, 1)
    const n = this.nums
    n[AT.recorded] = s.recorded
    n[AT.delivered] = s.delivered
    for (const r of ['spool_full', 'rejected_too_large', 'write_error', 'unserializable'] as const) n[AT[r]] = s.dropped_by_reason[r]
    n[AT.backpressure] = s.backpressure_rejections
    n[AT.pending_events] = s.pending_events
    n[AT.spool_bytes] = s.spool_bytes
    n[AT.spool_segments] = s.spool_segments
    n[AT.head_seq] = s.head.seq
    n[AT.acked_seq] = s.acked_seq
    n[AT.consecutive_failures] = s.consecutive_failures
    n[AT.recovered_bytes] = s.recovered_bytes
    n[AT.corrupt_lines] = s.corrupt_lines
    n[AT.policy_drops] = s.policy_drops
    n[AT.mask_errors] = s.mask_errors
    for (let i = 0; i < HASH_BYTES; i++) this.hash[i] = s.head.hash.charCodeAt(i)
    Atomics.add(this.seq, 0, 1)
  }
}

/** Reads what the logger thread published (request thread). */
export class StatusReader {
  private readonly seq: Int32Array
  private readonly nums: Float64Array
  private readonly hash: Uint8Array
  constructor (sab: SharedArrayBuffer) {
    this.seq = new Int32Array(sab, 0, 1)
    this.nums = new Float64Array(sab, NUM_OFFSET, FIELDS.length)
    this.hash = new Uint8Array(sab, HASH_OFFSET, HASH_BYTES)
  }

  read (): SharedCounters {
    for (let tries = 0; ; tries++) {
      const before = Atomics.load(this.seq, 0)
      // An update is being written (it takes well under a µs); a writer descheduled midway is
      // not waited for forever: after many tries the values read are taken as they are.
      if ((before & 1) === 1 && tries < 100000) continue
      const out = {} as Record<Field, number>
      for (let i = 0; i < FIELDS.length; i++) out[FIELDS[i]!] = this.nums[i]!
      const hash = String.fromCharCode(...this.hash)
      if (Atomics.load(this.seq, 0) === before || tries >= 100000) return { ...out, head: { seq: out.head_seq, hash } }
    }
  }
}

export const LOSS_REASONS: readonly LossReason[] = ['spool_full', 'rejected_too_large', 'write_error', 'unserializable']
