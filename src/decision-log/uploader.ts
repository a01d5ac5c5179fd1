// The background delivery loop: spool → sink, oldest first, one batch in flight.
//
//   - waits upload_interval_ms after the first undelivered event so events travel in batches;
//     batches go back to back only while a full batch is waiting (a backlog after an outage, or
//     more traffic than one batch per interval carries); a partial batch waits for the next
//     interval. Sending whatever arrived during the last upload would turn steady traffic into
//     hundreds of tiny uploads a second, each with its own read, gzip, request and state write;
//   - a 2xx acknowledges exactly the lines the sink took; only then are they removed;
//   - 413: the batch is halved and retried at once; later batches stay below the refused
//     size. A single event refused as too large is handed to onRejected (dropped and declared):
//     at once when it is larger than upload_size_limit_bytes, otherwise only after
//     LONE_REFUSALS refusals in a row, with backoff between them (a receiver that refuses what
//     it was configured to take may be passing: a restart, a proxy in the way; dropping at the
//     first 413 lost a whole backlog in a second);
//   - 400, 415, 422 (the receiver refuses the content: a strict JSON decoder, a schema): the
//     batch is halved at once to isolate the record it refuses; a single event refused so
//     LONE_REFUSALS times in a row, with backoff between, is dropped and declared
//     (rejected_invalid) so that one record — which a client can shape: a lone surrogate in a
//     JSON body, refused by serde_json — cannot stop delivery for good (with overflow
//     backpressure, every request after it got 503);
//   - before such a record is declared, a probe (the last line the receiver took) asks whether
//     the receiver takes a record at all: if it refuses that line too, nothing is declared (one
//     that refuses every record must not have the spool dropped record by record); before it
//     took any line, at most one record per UNPROVEN_MS is declared;
//   - anything else: retry the same lines after exponential backoff with jitter:
//       base = min(max_delay, min_delay * 2^(failures-1)); delay = base/2 + random(0, base/2)
//     (half fixed so retries never bunch at zero, half random so many sidecars that lost the
//     control plane together do not return in lockstep);
//   - stop(deadline) sends what it can without the batching wait, aborts the request in flight
//     at the deadline, and leaves the rest in the spool.

import type { Sink, SendResult } from './sinks.js'
import type { Spool, SpoolItem } from './spool.js'

export interface UploaderOptions {
  readonly intervalMs: number
  readonly minDelayMs: number
  readonly maxDelayMs: number
}

export interface UploaderHooks {
  delivered (n: number): void
  failed (result: Extract<SendResult, { ok: false }>, failures: number): void
  /** A lone event the receiver will never take (413, or its content refused). The hook declares
   * it and, once the declaration is on disk, acks it: true. False: it could not be declared and
   * stays in the spool (sent again after a backoff, as after a failed send). `proven`: the
   * receiver took a probe just before (see proof()). */
  rejected (item: SpoolItem, reason: 'rejected_too_large' | 'rejected_invalid', proven: boolean): Promise<boolean>
}

/** Refusals in a row for one event (a 413 within upload_size_limit_bytes, or its content refused) before it is declared. */
export const LONE_REFUSALS = 5

/** Before the receiver took any line: at most one refused record declared per this many ms (see proof()). */
export const UNPROVEN_MS = 5 * 60_000

/** Statuses that refuse what was sent (not who sent it, nor when): a record may be the cause. */
const CONTENT_REFUSED: ReadonlySet<number> = new Set([400, 415, 422])

export class Uploader {
  private readonly spool: Spool
  private readonly sink: Sink
  private readonly opts: UploaderOptions
  private readonly hooks: UploaderHooks
  private running: Promise<void> | null = null
  private stopped = false
  private draining = false
  private abort = new AbortController()
  private wakeSleep: (() => void) | null = null
  private sleepWakeable = false
  private failures = 0
  // 413 handling: cap on lines per batch, and the smallest line count refused so far.
  private maxLines = Infinity
  private refusedAt = Infinity
  private successesSinceRefusal = 0
  /** The event refused alone (413) within the size limit, and how many times in a row. */
  private loneRefused: { seq: number; times: number } | null = null
  /** The last line the receiver took (a copy): what a probe sends. */
  private lastTaken: Buffer | null = null
  /** When a record was last declared without proof (nothing taken yet). */
  private unprovenAt = -Infinity
  /** The record whose probe the receiver took: sent once more, refused again it is declared. */
  private probed: number | null = null

  constructor (spool: Spool, sink: Sink, opts: UploaderOptions, hooks: UploaderHooks) {
    this.spool = spool
    this.sink = sink
    this.opts = opts
    this.hooks = hooks
  }

  get consecutiveFailures (): number { return this.failures }

  start (): void {
    if (this.running !== null) return
    this.running = this.loop()
  }

  /** New events are in the spool. */
  notify (): void {
    if (this.sleepWakeable) this.wakeSleep?.()
  }

  /** Deliver what can be delivered within deadlineMs, then stop. */
  async stop (deadlineMs: number): Promise<void> {
    if (this.running === null) return
    this.draining = true
    const timer = setTimeout(() => {
      this.stopped = true
      this.abort.abort(new Error('decision log stop deadline reached'))
      this.wakeSleep?.()
    }, Math.max(0, deadlineMs))
    this.wakeSleep?.() // skip a batching wait or a backoff in progress
    try { await this.running } finally { clearTimeout(timer) }
    this.running = null
  }

  private async loop (): Promise<void> {
    while (!this.stopped) {
      if (this.spool.readableEvents === 0) {
        if (this.draining) return
        await this.sleep(Infinity, true)
        continue
      }
      if (!this.draining && this.opts.intervalMs > 0 && this.failures === 0) {
        // Batching window; stays open for new events (notify does not cut it short).
        await this.sleep(this.opts.intervalMs, false)
        if (this.stopped) return
      }
      if (await this.drainBacklog() === 'unreadable') {
        // Pending events that cannot be read (e.g. corrupt lines): do not spin on them.
        if (this.draining) return
        await this.sleep(Math.max(this.opts.intervalMs, 1000), true)
      }
    }
  }

  /** Send batches back to back until the spool is empty, a send fails, or we are stopped. */
  private async drainBacklog (): Promise<'done' | 'unreadable'> {
    while (!this.stopped && this.spool.readableEvents > 0) {
      let items: SpoolItem[]
      try {
        items = await this.spool.read(this.sink.batchBytes(), this.maxLines)
      } catch (e) {
        await this.failed({ ok: false, error: (e as Error).message })
        return 'done'
      }
      if (items.length === 0) return 'unreadable'
      let res: SendResult
      try {
        res = await this.sink.send(items.map((i) => i.bytes), this.abort.signal)
      } catch (e) { // a sink that throws is treated like one that failed
        res = { ok: false, error: `sink failed: ${(e as Error)?.message ?? String(e)}` }
      }
      if (this.stopped && !res.ok) return 'done'
      if (res.ok) {
        const last = items[res.sent - 1]!
        this.spool.ack(last.seq, last.hash, last.end)
        this.failures = 0
        this.loneRefused = null
        this.probed = null
        this.lastTaken = Buffer.from(last.bytes)
        this.hooks.delivered(res.sent)
        this.growAfterSuccess()
        if (!this.draining && this.opts.intervalMs > 0 && this.spool.readableBytes < this.sink.batchBytes() &&
            this.spool.readableEvents < this.maxLines) return 'done'
        continue
      }
      if (res.tooLarge === true) {
        if (items.length > 1) {
          this.refusedAt = Math.min(this.refusedAt, items.length)
          this.maxLines = Math.max(1, Math.ceil(items.length / 2))
          this.successesSinceRefusal = 0
          continue // retry at once with half
        }
        const item = items[0]!
        // Larger than upload_size_limit_bytes: never sendable, whatever the receiver takes.
        let proven = true
        if (res.withinLimit === true && this.probed !== item.seq) {
          if (await this.refusedAgain(item, res, 'within upload_size_limit_bytes', 'too large')) return 'done'
          const p = await this.proof(res)
          if (p === null) return 'done'
          if (p) { this.probed = item.seq; continue }
          proven = p
        }
        this.probed = null
        this.loneRefused = null
        if (!await this.declareRejected(item, 'rejected_too_large', proven)) return 'done'
        continue
      }
      if (res.status !== undefined && CONTENT_REFUSED.has(res.status)) {
        if (items.length > 1) {
          this.maxLines = Math.max(1, Math.ceil(items.length / 2))
          continue // isolate the record it refuses
        }
        const item = items[0]!
        let proven = true
        if (this.probed !== item.seq) {
          if (await this.refusedAgain(item, res, 'alone', 'invalid')) return 'done'
          const p = await this.proof(res)
          if (p === null) return 'done'
          // Taken: the record is sent once more before it is declared. Refused again right after
          // the receiver took the probe, it is the cause; taken, the receiver had just recovered
          // from refusing everything (a CI run declared a record that way).
          if (p) { this.probed = item.seq; continue }
          proven = p
        }
        this.probed = null
        this.loneRefused = null
        if (!await this.declareRejected(item, 'rejected_invalid', proven)) return 'done'
        continue
      }
      await this.failed(res)
      return 'done'
    }
    return 'done'
  }

  /**
   * One event refused alone: true (after a failure and its backoff) while it has been refused
   * fewer than LONE_REFUSALS times in a row, false once it is to be declared.
   */
  private async refusedAgain (item: SpoolItem, res: Extract<SendResult, { ok: false }>, how: string, as: string): Promise<boolean> {
    const times = this.loneRefused?.seq === item.seq ? this.loneRefused.times + 1 : 1
    this.loneRefused = { seq: item.seq, times }
    if (times >= LONE_REFUSALS) return false
    await this.failed({ ...res, error: `${res.error} for one event ${how} (refusal ${times} of ${LONE_REFUSALS} before it is declared ${as})` })
    return true
  }

  /**
   * Before a record the receiver refused is declared: does the receiver take a record at all?
   * The probe re-sends the last line it took (a duplicate, which at-least-once delivery allows).
   * True: taken, so the record is the cause. Null (after a failure's backoff): it refused a line
   * it took before, so it refuses every record now (a gateway answering 400 to all, a schema
   * change, a broken deploy) and the record stays: dropping record after record emptied the
   * spool and then the markers (review, session 52). Before it took any line since this process
   * started there is no proof (an empty batch is none: a receiver refusing every record takes
   * it): false for at most one record per UNPROVEN_MS (so a record a client shaped cannot stop
   * delivery for good), null for the others, so that a restart during such an outage does not
   * have its whole backlog declared.
   */
  private async proof (refused: Extract<SendResult, { ok: false }>): Promise<boolean | null> {
    if (this.lastTaken === null) {
      const now = Date.now()
      if (now - this.unprovenAt >= UNPROVEN_MS) { this.unprovenAt = now; return false }
      await this.failed({ ok: false, ...(refused.status !== undefined ? { status: refused.status } : {}),
        error: `${refused.error} for one record, and the receiver has taken none since the start: nothing proves the record is the cause, so it is not declared dropped yet (one such record per ${UNPROVEN_MS / 60000} minutes is) and stays in the spool` })
      return null
    }
    let probe: SendResult
    try {
      probe = await this.sink.probe(this.lastTaken, this.abort.signal)
    } catch (e) {
      probe = { ok: false, error: `sink failed: ${(e as Error)?.message ?? String(e)}` }
    }
    if (this.stopped) return null
    if (probe.ok) return true
    await this.failed({ ok: false, ...(probe.status !== undefined ? { status: probe.status } : {}),
      error: `${refused.error} for one record, and ${probe.status !== undefined ? `HTTP ${probe.status}` : probe.error} for a record it took before: the receiver takes no upload now, so the record is not declared dropped and stays in the spool` })
    return null
  }

  private growAfterSuccess (): void {
    if (this.maxLines === Infinity) return
    // Grow back towards what was refused, but stay below it; after many good batches probe
    // again (the receiver's limit may have been raised).
    if (++this.successesSinceRefusal >= 64) { this.refusedAt = Infinity; this.successesSinceRefusal = 0 }
    const next = this.maxLines * 2
    this.maxLines = next >= this.refusedAt ? Math.max(1, this.refusedAt - 1) : next
    if (this.refusedAt === Infinity && this.maxLines > 1e6) this.maxLines = Infinity
  }

  /** hooks.rejected; after a failure to declare, the backoff of a failed send. */
  private async declareRejected (item: SpoolItem, reason: 'rejected_too_large' | 'rejected_invalid', proven: boolean): Promise<boolean> {
    if (await this.hooks.rejected(item, reason, proven)) return true
    await this.failed({ ok: false, error: `seq ${item.seq} refused by the receiver and not declared dropped (see the log): it stays in the spool` })
    return false
  }

  private async failed (res: Extract<SendResult, { ok: false }>): Promise<void> {
    this.failures++
    this.hooks.failed(res, this.failures)
    const base = Math.min(this.opts.maxDelayMs, this.opts.minDelayMs * 2 ** Math.min(this.failures - 1, 30))
    const delay = base / 2 + Math.random() * (base / 2)
    // While draining for shutdown keep retrying quickly: the deadline bounds the effort.
    await this.sleep(this.draining ? Math.min(delay, 100) : delay, false)
  }

  private async sleep (ms: number, wakeable: boolean): Promise<void> {
    if (this.stopped) return
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer)
        this.wakeSleep = null
        this.sleepWakeable = false
        resolve()
      }
      this.wakeSleep = done
      this.sleepWakeable = wakeable
      if (ms !== Infinity) { timer = setTimeout(done, ms); timer.unref() }
    })
  }
}
