// DecisionLogger: validate config → construct → start → record()* → stop(deadline).
//
// record() runs on the request path. It builds the event (erasure, masking), seals it into the
// hash chain and hands the line to the spool. write_mode decides who waits for the disk:
//   group (default)  the line is queued; one write(2) at the end of the event-loop turn puts
//                    every line of the turn on disk (fsyncs run on the thread pool). written()
//                    resolves when that write is done, and the proxy holds the request until
//                    then: no request reaches the upstream before its event would survive a
//                    crash of the process, and a turn's requests share one write.
//   sync             record() writes the line itself (one write(2) on the event loop).
//   batched          as group, but nobody waits: a crash loses the events of the last turn.
// Delivery happens in the background (uploader.ts).
// When the spool is full, overflow decides: drop_oldest deletes the oldest segment and chains a
// drop marker declaring exactly which seqs were lost; backpressure makes record() return
// 'backpressure' and the proxy answers 503. Every loss is counted in status() and metrics.

import { randomUUID } from 'node:crypto'
import { closeSync, openSync, readFileSync, statfsSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { BouncerError } from '../errors.js'
import { type ChainHead, type EventRuns, eventRuns, GENESIS, sealEvent, sealRuns, type SealedEntry } from './chain.js'
import { resolveDecisionLogConfig, type DecisionLogConfig, type DecisionLogConfigInput, type DecisionLogGlobals } from './config.js'
import {
  compileEventBuilder, type BuiltEvent, type DecisionEventInput, type DeclaredRange, type DropDeclaration, type DropMarker,
  type DropReason, type EventMasker,
} from './event.js'
import { ConsoleSink, FanoutSink, FileSink, ServiceSink, type Sink } from './sinks.js'
import { isMarkerLine, Spool } from './spool.js'
import { nowRfc3339Nano } from './timestamp.js'
import { Uploader } from './uploader.js'

/** Counters the metrics module implements (prom-client). Gauges (spool bytes, pending events)
 * are read from status() at scrape time. All methods optional. */
export interface DecisionLogMetrics {
  recorded?(): void
  delivered?(n: number): void
  dropped?(reason: LossReason, n: number): void
  backpressure?(): void
  uploadFailed?(status: number | undefined): void
  maskError?(): void
}

/** pino-compatible subset. */
export interface DecisionLogLog {
  warn (obj: Record<string, unknown>, msg: string): void
  error (obj: Record<string, unknown>, msg: string): void
  info? (obj: Record<string, unknown>, msg: string): void
}

export interface DecisionLoggerOptions extends DecisionLogGlobals {
  mask?: EventMasker
  metrics?: DecisionLogMetrics
  log?: DecisionLogLog
  /** Console sink output (default process.stdout). */
  stdout?: NodeJS.WritableStream
  /** Replace the configured sinks (custom sinks, tests). */
  sink?: Sink
  /** Free bytes of the spool's file system (default: statfs); tests stand in a full disk. */
  diskFree?: (dir: string) => number
  /** Writes and removes a small file in the spool's directory, throwing what the file system
   *  answers (default: a real probe); tests stand in a read-only or failing disk. */
  probeWrite?: (dir: string) => void
}

/** Why events were lost. spool_full, rejected_too_large, rejected_invalid and missing_on_disk
 * (segment files gone from the spool, found at start) are declared in the chain by a drop
 * marker; write_error (disk failure) and unserializable events never got a seq. */
export type LossReason = DropReason | 'write_error' | 'unserializable'

export type DecisionLogState = 'NOT_READY' | 'OK' | 'WARN' | 'ERROR'

export interface DecisionLogStatus {
  state: DecisionLogState
  /** overflow backpressure with the spool too full for another event: requests get 503. */
  refusing_requests: boolean
  sink: string
  overflow: DecisionLogConfig['overflow']
  /** Decision events accepted into the chain by this process. */
  recorded: number
  /** Chain records (events and drop markers) acknowledged by the sink, this process. */
  delivered: number
  /** Events lost, all reasons, this process. */
  dropped: number
  dropped_by_reason: Record<LossReason, number>
  /** record() calls answered 'backpressure'. */
  backpressure_rejections: number
  mask_errors: number
  /** Events the bundle's drop policy (data.system.log.drop) kept out of the log. */
  policy_drops: number
  /** Chain records not yet delivered (spool plus in-memory queue). */
  pending_events: number
  spool_bytes: number
  spool_max_bytes: number
  spool_segments: number
  head: ChainHead
  acked_seq: number
  consecutive_failures: number
  last_error?: string
  last_error_at?: string
  last_success_at?: string
  /** Bytes of torn lines cut off when the spool was opened. */
  recovered_bytes: number
  corrupt_lines: number
}

export interface StopResult { delivered: number; pending: number }

export const BOUNCER_VERSION: string = (() => {
  try {
    return String((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version ?? '0.0.0')
  } catch { return '0.0.0' }
})()

// Ranges a drop marker declares again (`also`), at most: ~170 bytes each (a marker of 8 is
// ~2 KB, ~1 KB gzip'd). More would keep more delivered events out of joined ranges, but the room
// kept for a marker at every drop grows with it, and a drop then deletes more undelivered
// events (and, killed midway, declares files it had not deleted yet): tried at 32 and undone
// (review, session 54).
const MAX_ALSO_RANGES = 8
// Room kept free for a drop marker when making space (~600 bytes, and its `also` ranges).
const MARKER_RESERVE = 2048 + MAX_ALSO_RANGES * 200

export class DecisionLogger {
  readonly config: DecisionLogConfig
  private readonly deps: DecisionLoggerOptions
  private labels: Readonly<Record<string, string>> = {}
  private build: (d: DecisionEventInput, timestamp?: string) => BuiltEvent = () => { throw new BouncerError('BOUNCER_ERR_DECISION_LOG_NOT_STARTED') }
  private readonly spool: Spool
  private readonly maxBytes: number
  private readonly queued: boolean
  private readonly defers: boolean
  /** Events recorded this turn, built and sealed by sealDeferred() when the writer runs. */
  private deferred: DecisionEventInput[] = []
  /** Their timestamps, taken when they were recorded. */
  private deferredAt: string[] = []
  /** The proxy should hold each request until written() resolves (write_mode "group"). */
  readonly holdRequests: boolean
  private sink: Sink | null = null
  private uploader: Uploader | null = null
  private phase: 'new' | 'running' | 'stopping' | 'stopped' = 'new'
  /** The last spool write failed (full or failing disk); cleared by the next one that succeeds. status() says ERROR meanwhile. */
  private writeFailing = false
  /** The error code of the last failed spool write (ENOSPC, EROFS, EIO...). */
  private writeError: string | undefined
  /** The last probe of a spool failing for another reason than space: when, and whether it wrote. */
  private probed: { at: number; ok: boolean } | undefined
  private head: ChainHead = GENESIS
  private readonly c = {
    recorded: 0, delivered: 0, backpressure: 0, maskErrors: 0, policyDrops: 0,
    dropped: { spool_full: 0, rejected_too_large: 0, rejected_invalid: 0, missing_on_disk: 0, write_error: 0, unserializable: 0 } as Record<LossReason, number>,
  }

  private lastError: string | undefined
  /** The drop marker the receiver last refused (logged once, not at every retry). */
  private refusedMarkerSeq = -1
  private lastErrorAt: string | undefined
  /** A drop whose marker is not on disk yet (its write failed): chained before the next event. */
  private undeclared: DropDeclaration | null = null
  /** Queued mode: the drop whose marker went into a batch not yet written, and the marker's seq. */
  private unconfirmed: { drop: DropDeclaration; seq: number } | null = null
  private lastSuccessAt: string | undefined
  /** The size of the last event line stored (for status(): whether the next one would fit). */
  private lastEventBytes = 1024

  constructor (config: DecisionLogConfigInput, deps: DecisionLoggerOptions = {}) {
    this.config = resolveDecisionLogConfig(config, deps)
    this.deps = deps
    const cfg = this.config
    this.spool = new Spool(cfg.spool, {
      warn: (msg, detail) => this.deps.log?.warn(detail ?? {}, msg),
      written: () => { this.writeFailing = false; this.markerWritten(); this.uploader?.notify() },
      collect: () => this.sealDeferred(),
      lost: (head, events, error) => {
        // Those seqs never reached the disk: the chain continues from what did.
        this.head = head
        this.writeFailed(error)
        // A drop marker lost with the batch is chained again before the next event; one the
        // batch wrote before it failed (at or before `head`) is on disk.
        this.markerWritten()
        const u = this.unconfirmed
        if (u !== null) {
          this.unconfirmed = null
          // A later drop may be waiting already (its marker could not be chained): one
          // declaration covers both, never the older one alone.
          this.undeclared = this.undeclared === null ? u.drop : mergeDrops(this.undeclared, u.drop)
          this.spool.setPendingDrop({ drop: this.undeclared, marker_seq: null })
        }
        this.c.recorded -= events
        this.lose('write_error', events)
        this.deps.log?.error({ error: error.message, events }, 'cannot write decision log spool; events lost')
      },
    })
    this.maxBytes = cfg.spool.max_bytes
    this.queued = cfg.spool.write_mode !== 'sync'
    this.holdRequests = cfg.spool.write_mode === 'group'
    // Queued lines are written at the end of the turn anyway, so the event is built and sealed
    // there too, by the writer (reserve/collect), and record() only takes note. Not with
    // backpressure: refusing a request needs the exact size of its line at record() time.
    this.defers = this.queued && cfg.overflow === 'drop_oldest'
  }

  /** Open (and recover) the spool and start delivering what it holds. */
  async start (): Promise<void> {
    if (this.phase !== 'new') return
    this.spool.open()
    // labels.id defaults to the spool's instance id: it stays the same across restarts that
    // continue the same chain, so a control plane can keep one chain per labels.id.
    this.labels = Object.freeze({ id: this.spool.instanceId, version: BOUNCER_VERSION, ...this.config.labels })
    this.build = compileEventBuilder({ labels: this.labels, eraseHeaders: this.config.erase_headers, eraseQueryParams: this.config.erase_query_params, mask: this.deps.mask })
    if (this.spool.recoveredBytes > 0) {
      this.deps.log?.warn({ bytes: this.spool.recoveredBytes }, 'decision log spool had a torn tail; it was cut off')
    }
    this.head = this.spool.head
    // A drop whose marker an earlier process could not write (or had not yet written) is chained
    // before anything else; one whose marker is in the segment files is done. (Not a comparison
    // of seqs: at open the head is raised to the acknowledged point, which the drop itself moved
    // past lines that were still queued, never written, when the process died; and a marker's
    // segment can be dropped with the marker still queued while later lines reach the disk.)
    const pending = this.spool.pendingDrop
    if (pending !== null) {
      if (pending.marker_seq !== null && this.spool.markerOnDisk(pending.marker_seq)) this.spool.setPendingDrop(null)
      else this.undeclared = pending.drop
    }
    this.sink = this.deps.sink ?? this.makeSink()
    this.uploader = new Uploader(this.spool, this.sink, {
      intervalMs: this.config.upload_interval_ms,
      minDelayMs: this.config.retry_min_delay_ms,
      maxDelayMs: this.config.retry_max_delay_ms,
    }, {
      delivered: (n) => {
        this.c.delivered += n
        this.lastSuccessAt = new Date().toISOString()
        this.deps.metrics?.delivered?.(n)
      },
      failed: (res, failures) => {
        this.lastError = res.error
        this.lastErrorAt = new Date().toISOString()
        this.deps.metrics?.uploadFailed?.(res.status)
        // Once per outage, then every 100th attempt: the status and metrics carry the rest.
        if (failures === 1 || failures % 100 === 0) this.deps.log?.warn({ error: res.error, status: res.status, failures }, 'decision log delivery failed; events stay in the spool')
      },
      rejected: async (item, reason, proven) => {
        const why = reason === 'rejected_too_large' ? 'as too large' : 'as invalid'
        if (isMarkerLine(item.bytes.toString('utf8'))) {
          // A marker is the evidence of a loss. Dropped only when the receiver has just taken a
          // probe (so it refuses this line, not everything): declaring it again would loop, and
          // kept for ever it would stop delivery. Without that proof it stays and is sent again.
          if (proven) {
            this.spool.resolve(item.seq, item.hash, item.end)
            this.deps.log?.error({ seq: item.seq }, `control plane refused a drop marker ${why} (it takes other records); it is lost`)
            return true
          }
          if (this.refusedMarkerSeq !== item.seq) {
            this.refusedMarkerSeq = item.seq
            this.deps.log?.error({ seq: item.seq }, `control plane refused a drop marker ${why} and takes no upload now; it stays in the spool and is sent again`)
          }
          return false
        }
        // The event leaves the spool only once the marker declaring it is on disk: acknowledged
        // first (state.json), a marker whose write then failed, or a crash in between, left a
        // gap nothing declared. Not declared, it stays and is sent again after a backoff.
        const placed = (this.phase === 'running' || this.phase === 'stopping') &&
          this.appendMarker({ reason, from_seq: item.seq, to_seq: item.seq, count: 1, from_prev_hash: item.prevHash, to_hash: item.hash })
        const marker = this.head
        // Queued: whether that very line reached the file, not the turn's result (a turn fails
        // for other lines too, or for its fdatasync, with the marker written: declaring it
        // again would count the event twice).
        if (!placed || (this.queued && !(await this.spool.whenWritten() || this.spool.markerOnDisk(marker.seq, marker.hash)))) {
          this.deps.log?.error({ seq: item.seq }, `control plane refused a single decision event ${why}; its drop marker could not be written, so it stays in the spool`)
          return false
        }
        this.spool.resolve(item.seq, item.hash, item.end)
        this.lose(reason, 1)
        this.deps.log?.error({ seq: item.seq, bytes: item.bytes.length }, `control plane refused a single decision event ${why}; dropped and declared`)
        return true
      },
    })
    this.phase = 'running'
    // A drop an earlier process did not get on disk is chained now, not at the next event: a
    // quiet service would otherwise keep the control plane from learning of it indefinitely.
    // One that cannot be written stays undeclared and goes before the next event (declare()).
    if (this.undeclared !== null) this.declare(this.undeclared)
    this.declareMissing()
    this.uploader.start()
  }

  /**
   * Log one decision. Returns 'backpressure' when the event could not be stored and the
   * overflow policy is backpressure (the proxy should answer 503), or after stop().
   */
  record (d: DecisionEventInput): void | 'backpressure' {
    if (this.phase !== 'running' && this.phase !== 'stopping') {
      if (this.phase === 'new') throw new BouncerError('BOUNCER_ERR_DECISION_LOG_NOT_STARTED')
      return this.refuse()
    }
    if (this.defers && this.phase === 'running') {
      // Built, erased, masked and chained at the end of this turn, in record() order, by the
      // writer that puts the turn's lines on disk (written() waits for that write). The input
      // and result must not be changed after record() (the proxy never does).
      if (this.deferred.length === 0) this.spool.reserve()
      this.deferred.push(d)
      this.deferredAt.push(nowRfc3339Nano())
      return undefined
    }
    // Events deferred earlier in this turn (before stop() began) go first: the chain keeps record() order.
    this.sealDeferred()
    return this.recordNow(d, undefined)
  }

  /** Seals the events record() deferred this turn (the spool writer calls this before it writes). */
  private sealDeferred (): void {
    const events = this.deferred
    if (events.length === 0) return
    const at = this.deferredAt
    this.deferred = []
    this.deferredAt = []
    // An event that cannot be appended fails the turn's group: its request waits on it (group
    // mode) and is refused, as when the write itself fails.
    for (let i = 0; i < events.length; i++) if (this.recordNow(events[i]!, at[i]) === 'backpressure') this.spool.loseGroup()
  }

  private recordNow (d: DecisionEventInput, timestamp: string | undefined): void | 'backpressure' {
    let built: BuiltEvent
    let runs: EventRuns
    try {
      built = this.build(d, timestamp)
      runs = eventRuns(built.event as unknown as Record<string, unknown>)
    } catch (e) {
      this.lose('unserializable', 1)
      this.deps.log?.error({ error: (e as Error).message, path: d.path }, 'decision event cannot be serialised; not logged')
      return this.config.overflow === 'backpressure' ? this.refuse() : undefined
    }
    if (built.drop === true) {
      // The bundle's drop policy (data.system.log.drop) keeps it out of the log, as in OPA: not
      // a loss, so it takes no seq and no drop marker; counted apart.
      this.c.policyDrops++
      return undefined
    }
    if (built.maskError !== undefined) {
      this.c.maskErrors++
      this.deps.metrics?.maskError?.()
      this.deps.log?.error({ error: built.maskError.message }, 'decision log masking failed; input and result erased from the event')
    }
    return this.append(runs)
  }

  /** Chain and store one event given as its canonical runs: serialised once, even when a drop
   * marker takes its seq and it is sealed again. */
  private append (runs: EventRuns): void | 'backpressure' {
    // No event follows a gap whose drop marker is not on disk: a declaration that could not be
    // written goes first, or the event is refused.
    if (this.undeclared !== null && !this.declare(this.undeclared)) return this.refuse()
    let entry = sealRuns(runs, this.head.seq + 1, this.head.hash)
    let data = entry.line + '\n'
    let bytes = Buffer.byteLength(data)
    if (this.spool.bytes + bytes > this.maxBytes) {
      if (this.config.overflow === 'backpressure') return this.refuse()
      let made: 'none' | 'marked' | 'failed'
      try { made = this.makeRoom(bytes) } catch (e) {
        // The spool could not read a segment to drop: nothing sensible to do but lose this event.
        this.lose('write_error', 1)
        this.deps.log?.error({ error: (e as Error).message }, 'cannot make room in the decision log spool; event lost')
        return this.refuse()
      }
      if (made === 'failed') return this.refuse()
      if (made === 'marked') {
        // A drop marker took the next seq: seal again after it.
        entry = sealRuns(runs, this.head.seq + 1, this.head.hash)
        data = entry.line + '\n'
        bytes = Buffer.byteLength(data)
      }
    }
    // Whatever `overflow` says: drop_oldest declares what it deletes to make room in the chain,
    // but an event that never reached the disk took no seq and cannot be declared. Going on
    // without it would leave a chain that reads complete (verify-log, evidence) with a decision
    // missing, so the request is refused.
    if (!this.write(data, bytes, entry, true)) return this.refuse()
    this.lastEventBytes = bytes
    this.c.recorded++
    this.deps.metrics?.recorded?.()
    return undefined
  }

  /**
   * Resolves once every event recorded so far is on disk (in sync mode, at once): true, or
   * false if a write failed and they were lost (counted as write_error).
   */
  written (): Promise<boolean> {
    return this.spool.whenWritten()
  }

  /** Resolves when the spool has no write, fsync or state update in progress. */
  async settled (): Promise<void> {
    await this.spool.settled()
  }

  /** Flush and deliver what can be delivered within deadlineMs; the rest stays spooled. */
  async stop (deadlineMs = 5000): Promise<StopResult> {
    if (this.phase !== 'running') return { delivered: 0, pending: this.spool.pendingEvents }
    this.phase = 'stopping'
    const before = this.c.delivered
    await this.spool.settled()
    await this.uploader!.stop(deadlineMs)
    await this.sink!.close()
    // Records that arrived while draining are written before the spool closes; any later
    // record() is refused.
    this.phase = 'stopped'
    await this.spool.close()
    return { delivered: this.c.delivered - before, pending: this.spool.pendingEvents }
  }

  private writeFailed (e: unknown): void {
    this.writeFailing = true
    this.writeError = errnoOf(e)
    this.probed = undefined
  }

  /**
   * Whether a spool whose last write failed could write now. For want of space, the file
   * system's free space says (statfs). For anything else (a read-only remount after I/O errors,
   * EIO, a permission change) a probe writes a small file in the spool's directory, at most once
   * a second: statfs would say there is room, and the instance stayed ready while every request
   * got 503. An instance out of rotation writes nothing else, so it could not learn otherwise.
   */
  private spoolWritable (): boolean {
    // Room first, whatever the error said: a write to a nearly full disk often comes back short
    // (no error code at all), and a probe of a few bytes would still fit.
    if (!this.diskHasRoom()) return false
    if (this.writeError === 'ENOSPC' || this.writeError === 'EDQUOT') return true
    const now = Date.now()
    if (this.probed === undefined || now - this.probed.at >= 1000) {
      let ok = true
      try { (this.deps.probeWrite ?? probeWrite)(this.config.spool.dir) } catch { ok = false }
      this.probed = { at: now, ok }
    }
    return this.probed.ok
  }

  /** Whether the spool's file system has room for a few events (statfs; unknown: yes). */
  private diskHasRoom (): boolean {
    try {
      const free = this.deps.diskFree?.(this.config.spool.dir) ?? ((fs) => fs.bavail * fs.bsize)(statfsSync(this.config.spool.dir))
      return free >= Math.max(65536, 16 * this.lastEventBytes)
    } catch { return true }
  }

  status (): DecisionLogStatus {
    // What is reported is the chain as record() left it: events still waiting for the end of
    // the turn are sealed now (their lines are still written by this turn's write).
    this.sealDeferred()
    const dropped = Object.values(this.c.dropped).reduce((a, b) => a + b, 0)
    const failures = this.uploader?.consecutiveFailures ?? 0
    const fill = this.spool.bytes / this.maxBytes
    let state: DecisionLogState = 'OK'
    if (this.phase !== 'running') state = 'NOT_READY'
    else if (this.writeFailing) state = 'ERROR'
    else if ((this.config.overflow === 'backpressure' && fill >= 0.95) || failures >= 10) state = 'ERROR'
    else if (failures > 0 || fill >= 0.8) state = 'WARN'
    const s: DecisionLogStatus = {
      state,
      // With overflow backpressure and no room for another event, every request is refused
      // (503) until uploads free space: the app makes readiness say so. From the spool's fill,
      // not from the last record(): an instance taken out of rotation records nothing.
      refusing_requests: this.phase === 'running' && (
        (this.config.overflow === 'backpressure' && this.spool.bytes + this.lastEventBytes > this.maxBytes) ||
        // group and sync refuse a request whose event cannot be written (a full or read-only
        // disk). Judged by the disk's free space or a probe, not by the last write: an instance
        // out of rotation writes nothing, and would never learn that the disk came back.
        (this.writeFailing && this.config.spool.write_mode !== 'batched' && !this.spoolWritable())),
      sink: this.sink?.kind ?? this.config.sinks.join('+'),
      overflow: this.config.overflow,
      recorded: this.c.recorded,
      delivered: this.c.delivered,
      dropped,
      dropped_by_reason: { ...this.c.dropped },
      backpressure_rejections: this.c.backpressure,
      mask_errors: this.c.maskErrors,
      policy_drops: this.c.policyDrops,
      pending_events: this.spool.pendingEvents,
      spool_bytes: this.spool.bytes,
      spool_max_bytes: this.maxBytes,
      spool_segments: this.spool.segmentCount,
      head: this.head,
      acked_seq: this.spool.acked.seq,
      consecutive_failures: failures,
      recovered_bytes: this.spool.recoveredBytes,
      corrupt_lines: this.spool.corruptLines,
    }
    if (this.lastError !== undefined) { s.last_error = this.lastError; s.last_error_at = this.lastErrorAt }
    if (this.lastSuccessAt !== undefined) s.last_success_at = this.lastSuccessAt
    return s
  }

  // --- internals ---

  private makeSink (): Sink {
    const cfg = this.config
    const sinks = cfg.sinks.map((name): Sink => {
      switch (name) {
        case 'console': return new ConsoleSink(this.deps.stdout)
        case 'file': return new FileSink(cfg.file_path!, cfg.spool.fsync)
        case 'control_plane': return new ServiceSink({
          service: cfg.service!,
          uploadSizeLimitBytes: cfg.upload_size_limit_bytes,
          userAgent: `bouncer/${BOUNCER_VERSION}`,
        })
      }
    })
    return sinks.length === 1 ? sinks[0]! : new FanoutSink(sinks)
  }

  /** Append one sealed line (sync) or queue it. False if it could not be written. */
  private write (data: string, bytes: number, entry: SealedEntry, isEvent: boolean): boolean {
    if (this.queued) {
      try {
        void this.spool.enqueue(data, bytes, isEvent ? 1 : 0, entry, { seq: entry.seq, hash: entry.hash })
      } catch (e) { // a new segment could not be created
        this.writeFailed(e)
        if (isEvent) this.lose('write_error', 1)
        this.deps.log?.error({ error: (e as Error).message }, 'cannot write decision log spool; event lost')
        return false
      }
      this.head = { seq: entry.seq, hash: entry.hash }
      return true
    }
    try {
      this.spool.append(data, bytes, entry, { seq: entry.seq, hash: entry.hash })
      this.writeFailing = false
    } catch (e) {
      this.writeFailed(e)
      if (isEvent) this.lose('write_error', 1)
      this.deps.log?.error({ error: (e as Error).message }, 'cannot write decision log spool; event lost')
      return false
    }
    this.head = { seq: entry.seq, hash: entry.hash }
    this.uploader?.notify()
    return true
  }

  /**
   * drop_oldest: delete old segments until `need` more bytes fit, and chain a drop marker.
   * The marker declares everything after the last delivered event up to the last one deleted:
   * that covers earlier drops too, so a declaration lost with a deleted marker is not lost from
   * the chain (its count is carried into the new one). The ranges of lost markers that begin at
   * or below the delivered head, which the new range does not cover, go into its `also`, as they
   * were declared. Returns whether segments were dropped
   * and their marker chained ('marked'), or its write failed ('failed': declared later, see
   * declare()).
   */
  private makeRoom (need: number): 'none' | 'marked' | 'failed' {
    let last: { toSeq: number; toHash: string } | null = null
    let decisions = 0
    let carried = 0
    const lostRanges: DeclaredRange[] = []
    let failure: unknown = null
    try {
      while (this.spool.bytes + need + MARKER_RESERVE > this.maxBytes && this.spool.segmentCount > 0) {
        const r = this.spool.dropOldest()
        if (r === null) continue
        last = r
        decisions += r.decisions
        carried += r.carried
        lostRanges.push(...r.lostRanges)
      }
    } catch (e) {
      // A segment could not be read (dropOldest changes nothing then): the ones dropped before
      // it are gone from the spool all the same, and are declared below before this throws.
      failure = e
    }
    if (last === null) {
      if (failure !== null) throw failure
      return 'none'
    }
    const delivered = this.spool.delivered
    this.lose('spool_full', decisions)
    this.deps.log?.warn({ from_seq: delivered.seq + 1, to_seq: last.toSeq, events: decisions }, 'decision log spool full; oldest undelivered events dropped')
    // Before 2026-12-07 those went undeclared: a control plane taking some uploads had its
    // intact copy read as tampered (review, session 54).
    const also = boundedRanges(lostRanges.filter((r) => r.from_seq <= delivered.seq), MAX_ALSO_RANGES)
    const declared = this.declare({
      reason: 'spool_full', from_seq: delivered.seq + 1, to_seq: last.toSeq, count: decisions + carried,
      from_prev_hash: delivered.hash, to_hash: last.toHash, ...(also.length > 0 ? { also } : {}),
    })
    if (failure !== null) throw failure
    return declared ? 'marked' : 'failed'
  }

  /**
   * Chains the marker of a drop. One that cannot be written (or, queued, whose write then fails)
   * stays `undeclared` and is chained before the next event, which is refused until it is: the
   * dropped segments' files stay on disk until a write carrying it succeeds (spool.ts).
   */
  private declare (drop: DropDeclaration): boolean {
    if (!this.appendMarker(drop)) {
      this.undeclared = drop
      this.spool.setPendingDrop({ drop, marker_seq: null })
      return false
    }
    const seq = this.head.seq // the marker's
    this.undeclared = null
    this.spool.confirmDrops(seq)
    if (this.queued) {
      // On disk once the batch carrying it is written: until then a restart must chain it again.
      this.unconfirmed = { drop, seq }
      this.spool.setPendingDrop({ drop, marker_seq: seq })
    } else if (this.spool.pendingDrop !== null) this.spool.setPendingDrop(null)
    return true
  }

  /**
   * Seqs above the acknowledged point that open() found missing from the segment files (a
   * segment deleted by hand or lost with the disk; spool.ts findMissing) are declared by one
   * drop marker, reason `missing_on_disk`: the last hole its own range, earlier ones its `also`.
   * Its count is the records missing (some may have been drop markers: what they held is gone).
   * Not declared while an earlier drop waits for its marker (the disk refuses writes): a
   * restart finds the holes again. Before 2026-12-07 they were only logged, so the receiver's
   * copy carried a gap no marker declared.
   */
  private declareMissing (): void {
    const holes = this.spool.missingOnDisk
    if (holes.length === 0 || this.undeclared !== null) return
    const last = holes[holes.length - 1]!
    const count = holes.reduce((n, h) => n + h.to_seq - h.from_seq + 1, 0)
    const also = boundedRanges(holes.slice(0, -1), MAX_ALSO_RANGES)
    this.lose('missing_on_disk', count)
    this.deps.log?.error({ acked_seq: this.spool.acked.seq, ranges: holes.map((h) => [h.from_seq, h.to_seq]), events: count }, 'decision log spool: events are missing from disk (a segment file is gone); declared lost')
    this.declare({ reason: 'missing_on_disk', ...last, count, ...(also.length > 0 ? { also } : {}) })
  }

  /** The queued marker of `unconfirmed` is on disk (the last line written is at or past it). */
  private markerWritten (): void {
    const u = this.unconfirmed
    if (u === null || this.spool.written.seq < u.seq) return
    this.unconfirmed = null
    if (this.undeclared === null) this.spool.setPendingDrop(null)
  }

  private appendMarker (drop: DropDeclaration): boolean {
    const marker: DropMarker = {
      labels: { ...this.labels },
      decision_id: randomUUID(),
      timestamp: nowRfc3339Nano(),
      drop,
    }
    const entry = sealEvent(marker as unknown as Record<string, unknown>, this.head.seq + 1, this.head.hash)
    const data = entry.line + '\n'
    return this.write(data, Buffer.byteLength(data), entry, false)
  }

  private lose (reason: LossReason, n: number): void {
    if (n <= 0) return
    this.c.dropped[reason] += n
    this.deps.metrics?.dropped?.(reason, n)
  }

  private refuse (): 'backpressure' {
    this.c.backpressure++
    this.deps.metrics?.backpressure?.()
    return 'backpressure'
  }
}

/**
 * One declaration for two drop_oldest drops whose markers are both off the disk: from the earlier
 * start to the later end, counting both (each counted only its own segments and the markers
 * lost with them).
 */
function mergeDrops (a: DropDeclaration, b: DropDeclaration): DropDeclaration {
  const from = a.from_seq <= b.from_seq ? a : b
  const to = a.to_seq >= b.to_seq ? a : b
  const also = boundedRanges([...(a.also ?? []), ...(b.also ?? [])], MAX_ALSO_RANGES)
  return {
    reason: a.reason, from_seq: from.from_seq, from_prev_hash: from.from_prev_hash,
    to_seq: to.to_seq, to_hash: to.to_hash, count: a.count + b.count, ...(also.length > 0 ? { also } : {}),
  }
}

/**
 * Ranges to declare again, as few as cover them: sorted, a range inside another left out, and
 * at most `max`: past it the two neighbours with the fewest seqs between them are
 * joined (the seqs between, delivered, are then declared too; each marker stays small, and one
 * drop after another cannot grow it).
 */
function boundedRanges (ranges: readonly DeclaredRange[], max: number): DeclaredRange[] {
  const out: DeclaredRange[] = []
  for (const r of [...ranges].sort((x, y) => x.from_seq - y.from_seq || y.to_seq - x.to_seq)) {
    const prev = out[out.length - 1]
    if (prev !== undefined && r.to_seq <= prev.to_seq) continue
    out.push({ from_seq: r.from_seq, to_seq: r.to_seq, from_prev_hash: r.from_prev_hash, to_hash: r.to_hash })
  }
  while (out.length > max) {
    let best = 0
    for (let i = 1; i < out.length - 1; i++) if (out[i + 1]!.from_seq - out[i]!.to_seq < out[best + 1]!.from_seq - out[best]!.to_seq) best = i
    const [x, y] = [out[best]!, out[best + 1]!]
    out.splice(best, 2, { from_seq: x.from_seq, from_prev_hash: x.from_prev_hash, to_seq: Math.max(x.to_seq, y.to_seq), to_hash: y.to_seq >= x.to_seq ? y.to_hash : x.to_hash })
  }
  return out
}

/** Creates, writes, syncs and removes a file in `dir`; throws what the file system answers. */
function probeWrite (dir: string): void {
  const path = join(dir, `.probe-${process.pid}`)
  const fd = openSync(path, 'w')
  try {
    writeSync(fd, 'probe\n')
  } finally {
    closeSync(fd)
    // Gone even when the write failed (a full disk): each restart would leave one more.
    try { unlinkSync(path) } catch {}
  }
}

/** The system error code (ENOSPC, EROFS...) of an error or of what it wraps (the spool's errors wrap it). */
function errnoOf (e: unknown): string | undefined {
  for (let c = e, i = 0; c !== null && typeof c === 'object' && i < 4; c = (c as { cause?: unknown }).cause, i++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code
  }
  return undefined
}
