// ThreadedDecisionLogger: the DecisionLogger API with the hash chain, the spool and delivery on
// a worker thread (log-worker.ts). At saturation the request thread is the proxy's bottleneck,
// and sealing (SHA-256), the spool's write(2), reading it back and gzip were ~2/3 of what
// decision logs cost it per request (bench/RESULTS.md). What stays here is what needs the
// request's objects and the active bundle: building the event, erasure, masking and the
// bundle's drop policy, then its canonical serialisation — the worker seals those strings as
// they are, so the chain is byte for byte what the in-thread logger writes.
//
// Used for write_mode group/batched with overflow drop_oldest (createDecisionLogger): the
// in-thread logger already deferred those events to the end of the turn. sync writes before
// record() returns and backpressure must know the line's size in record(): both stay in-thread.
//
// record() takes note; at the end of the turn the events are built and posted in one message;
// written() resolves when the worker has them on disk (group holds requests until then).
// status() is the worker's last report (one per turn that wrote, and after deliveries) plus
// what this side counts (masking errors, policy drops, unserialisable events). If the worker
// dies, events are lost as write errors (counted, state ERROR), as drop_oldest does for a
// failing disk.

import { Worker } from 'node:worker_threads'
import { BouncerError, type ErrorCode } from '../errors.js'
import { eventRuns } from './chain.js'
import { resolveDecisionLogConfig, type DecisionLogConfig, type DecisionLogConfigInput } from './config.js'
import { compileEventBuilder, type BuiltEvent, type DecisionEventInput } from './event.js'
import type { DecisionLoggerOptions, DecisionLogStatus, StopResult } from './logger.js'
import type { FromWorker, LogWorkerData, StatusStrings, ToWorker } from './log-worker.js'
import { LOSS_REASONS, sharedStatusBuffer, StatusReader, type SharedCounters } from './shared-status.js'
import { nowRfc3339Nano } from './timestamp.js'

const RESOLVED_TRUE = Promise.resolve(true)
// Events posted and not yet written: past this the worker is not keeping up (batched mode does
// not hold requests), and record() loses events rather than queue without bound.
const MAX_IN_FLIGHT_EVENTS = 65536

interface Waiter<T> { resolve: (v: T) => void }

export class ThreadedDecisionLogger {
  readonly config: DecisionLogConfig
  readonly holdRequests: boolean
  private readonly deps: DecisionLoggerOptions
  private worker: Worker | null = null
  private phase: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new'
  private build: (d: DecisionEventInput, timestamp?: string) => BuiltEvent = () => { throw new BouncerError('BOUNCER_ERR_DECISION_LOG_NOT_STARTED') }
  private deferred: DecisionEventInput[] = []
  private deferredAt: string[] = []
  private flushScheduled = false
  /** The written() promise of the batch being gathered this turn, and of the last one posted. */
  private gathering: { promise: Promise<boolean>; resolve: (ok: boolean) => void } | null = null
  private lastPosted: Promise<boolean> = RESOLVED_TRUE
  private nextId = 1
  private readonly writtenWaiters = new Map<number, { resolve: (ok: boolean) => void; events: number }>()
  private readonly waiters = new Map<number, Waiter<unknown>>()
  private inFlightEvents = 0
  private readonly shared = sharedStatusBuffer()
  private readonly reader = new StatusReader(this.shared)
  private strings: StatusStrings | null = null
  /** Counters as last passed on to deps.metrics. */
  private applied: SharedCounters | null = null
  private dead: Error | null = null
  private deadAt: string | undefined
  private readonly c = { maskErrors: 0, policyDrops: 0, unserializable: 0, lost: 0, backpressure: 0 }

  constructor (config: DecisionLogConfigInput, deps: DecisionLoggerOptions = {}) {
    this.config = resolveDecisionLogConfig(config, deps)
    if (this.config.overflow !== 'drop_oldest' || this.config.spool.write_mode === 'sync') {
      throw new TypeError('ThreadedDecisionLogger: write_mode group or batched with overflow drop_oldest only')
    }
    this.deps = deps
    this.holdRequests = this.config.spool.write_mode === 'group'
    this.rawConfig = config
  }

  private readonly rawConfig: DecisionLogConfigInput

  async start (): Promise<void> {
    if (this.phase !== 'new') return
    this.phase = 'starting'
    const here = import.meta.url.endsWith('.ts') // run from source (tsx): the worker is a .ts file too
    const { production, allow_insecure: allowInsecure, auth_header: authHeader } = this.deps
    const data: LogWorkerData = {
      config: this.rawConfig,
      status: this.shared,
      globals: {
        ...(production !== undefined ? { production } : {}),
        ...(allowInsecure !== undefined ? { allow_insecure: allowInsecure } : {}),
        ...(authHeader !== undefined ? { auth_header: authHeader } : {}),
      },
    }
    const worker = new Worker(new URL(here ? './log-worker.ts' : './log-worker.js', import.meta.url), {
      workerData: data,
      // the process's loaders (tsx) are wanted; --input-type (node -e) would stop a module file
      execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
      name: 'bouncer-decision-log',
      // Its allocation rate is a fraction of the request thread's: a small young generation
      // keeps the thread's memory down (the process's --max-semi-space-size would apply too).
      resourceLimits: { maxYoungGenerationSizeMb: 12 },
    })
    this.worker = worker
    const started = new Promise<void>((resolve, reject) => {
      this.onStart = (m) => {
        if (m.t === 'started') {
          this.build = compileEventBuilder({ labels: m.labels, eraseHeaders: this.config.erase_headers, eraseQueryParams: this.config.erase_query_params, mask: this.deps.mask })
          this.strings = m.strings
          this.applied = this.reader.read()
          resolve()
        } else {
          this.phase = 'stopped' // its exit that follows is not a death
          const e = m.error.code !== undefined ? new BouncerError(m.error.code as ErrorCode) : new Error(m.error.message)
          e.message = m.error.message
          reject(e)
        }
      }
      this.onDeath = reject
    })
    worker.on('message', (m: FromWorker) => this.receive(m))
    worker.on('error', (e) => this.died(e))
    worker.on('exit', (code) => {
      if (this.phase !== 'stopped') this.died(new Error(`decision log thread exited (code ${code})`))
    })
    try {
      await started
    } catch (e) {
      this.phase = 'stopped'
      await worker.terminate()
      throw e
    }
    this.onStart = null
    this.phase = 'running'
    worker.unref() // referenced only while it has work (see post)
  }

  private onStart: ((m: Extract<FromWorker, { t: 'started' | 'failed' }>) => void) | null = null
  private onDeath: ((e: Error) => void) | null = null

  /** Log one decision (built and posted at the end of the turn); see DecisionLogger.record. */
  record (d: DecisionEventInput): void | 'backpressure' {
    if (this.phase !== 'running' && this.phase !== 'stopping') {
      if (this.phase === 'new' || this.phase === 'starting') throw new BouncerError('BOUNCER_ERR_DECISION_LOG_NOT_STARTED')
      return this.refuse()
    }
    if (this.dead !== null || this.inFlightEvents + this.deferred.length >= MAX_IN_FLIGHT_EVENTS) {
      this.lose('write_error', 1)
      return undefined
    }
    this.deferred.push(d)
    this.deferredAt.push(nowRfc3339Nano())
    if (this.gathering === null) {
      let resolve!: (ok: boolean) => void
      const promise = new Promise<boolean>((r) => { resolve = r })
      this.gathering = { promise, resolve }
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => { this.flushScheduled = false; this.flush() })
    }
    return undefined
  }

  written (): Promise<boolean> {
    return this.gathering?.promise ?? this.lastPosted
  }

  async settled (): Promise<void> {
    this.flush()
    await this.request({ t: 'settle', id: this.nextId++ })
  }

  async stop (deadlineMs = 5000): Promise<StopResult> {
    if (this.phase !== 'running') return { delivered: 0, pending: this.reader.read().pending_events }
    this.phase = 'stopping'
    this.flush()
    const r = await this.request({ t: 'stop', id: this.nextId++, deadlineMs }) as StopResult | undefined
    this.phase = 'stopped'
    this.applyMetrics(this.reader.read())
    await this.worker!.terminate()
    return r ?? { delivered: 0, pending: this.reader.read().pending_events }
  }

  status (): DecisionLogStatus {
    const n = this.reader.read()
    this.applyMetrics(n)
    const fill = n.spool_bytes / this.config.spool.max_bytes
    let state: DecisionLogStatus['state'] = 'OK'
    if (this.phase !== 'running') state = 'NOT_READY'
    else if (this.dead !== null || n.consecutive_failures >= 10) state = 'ERROR'
    else if (n.consecutive_failures > 0 || fill >= 0.8) state = 'WARN'
    const byReason = {
      spool_full: n.spool_full, rejected_too_large: n.rejected_too_large,
      write_error: n.write_error + this.c.lost, unserializable: n.unserializable + this.c.unserializable,
    }
    const str = this.strings
    const s: DecisionLogStatus = {
      state,
      sink: str?.sink ?? this.config.sinks.join('+'),
      overflow: this.config.overflow,
      recorded: n.recorded,
      delivered: n.delivered,
      dropped: byReason.spool_full + byReason.rejected_too_large + byReason.write_error + byReason.unserializable,
      dropped_by_reason: byReason,
      backpressure_rejections: n.backpressure + this.c.backpressure,
      mask_errors: n.mask_errors + this.c.maskErrors,
      policy_drops: n.policy_drops + this.c.policyDrops,
      pending_events: n.pending_events,
      spool_bytes: n.spool_bytes,
      spool_max_bytes: this.config.spool.max_bytes,
      spool_segments: n.spool_segments,
      head: n.head,
      acked_seq: n.acked_seq,
      consecutive_failures: n.consecutive_failures,
      recovered_bytes: n.recovered_bytes,
      corrupt_lines: n.corrupt_lines,
    }
    if (this.dead !== null) { s.last_error = this.dead.message; s.last_error_at = this.deadAt }
    else if (str?.last_error !== undefined) { s.last_error = str.last_error; s.last_error_at = str.last_error_at }
    if (str?.last_success_at !== undefined) s.last_success_at = str.last_success_at
    return s
  }

  // --- internals ---

  /** Build this turn's events and post them to the worker in one message. */
  private flush (): void {
    const events = this.deferred
    const group = this.gathering
    if (events.length === 0 || group === null) return
    const at = this.deferredAt
    this.deferred = []
    this.deferredAt = []
    this.gathering = null
    const runs: string[] = []
    for (let i = 0; i < events.length; i++) {
      const d = events[i]!
      let built: BuiltEvent
      try {
        built = this.build(d, at[i])
        if (built.drop === true) { this.c.policyDrops++; continue } // not a loss: no seq (as in OPA)
        const [a, b, c] = eventRuns(built.event as unknown as Record<string, unknown>)
        runs.push(a, b, c)
      } catch (e) {
        this.c.unserializable++
        this.deps.metrics?.dropped?.('unserializable', 1)
        this.deps.log?.error({ error: (e as Error).message, path: d.path }, 'decision event cannot be serialised; not logged')
        continue
      }
      if (built.maskError !== undefined) {
        this.c.maskErrors++
        this.deps.metrics?.maskError?.()
        this.deps.log?.error({ error: built.maskError.message }, 'decision log masking failed; input and result erased from the event')
      }
    }
    const n = runs.length / 3
    if (n === 0 || this.dead !== null) {
      if (this.dead !== null) this.lose('write_error', n)
      group.resolve(this.dead === null)
      return
    }
    const id = this.nextId++
    this.writtenWaiters.set(id, { resolve: group.resolve, events: n })
    this.inFlightEvents += n
    this.lastPosted = group.promise
    this.post({ t: 'batch', id, runs })
  }

  private request (m: Extract<ToWorker, { t: 'settle' | 'stop' }>): Promise<unknown> {
    if (this.dead !== null || this.worker === null) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      this.waiters.set(m.id, { resolve })
      this.post(m)
    })
  }

  private post (m: ToWorker): void {
    // Referenced while it has work, as the in-thread logger's pending writes keep the loop alive.
    if (this.writtenWaiters.size + this.waiters.size === 1) this.worker!.ref()
    this.worker!.postMessage(m)
  }

  private settleWaiter (): void {
    if (this.writtenWaiters.size + this.waiters.size === 0 && this.phase !== 'stopping') this.worker?.unref()
  }

  private receive (m: FromWorker): void {
    switch (m.t) {
      case 'started': case 'failed':
        this.onStart?.(m)
        return
      case 'report':
        this.strings = m.strings
        for (const status of m.uploadFailed) this.deps.metrics?.uploadFailed?.(status)
        this.applyMetrics(this.reader.read())
        return
      case 'written': {
        const w = this.writtenWaiters.get(m.id)
        if (w === undefined) return
        this.writtenWaiters.delete(m.id)
        this.inFlightEvents -= w.events
        w.resolve(m.ok)
        this.settleWaiter()
        return
      }
      case 'settled':
        this.waiters.get(m.id)?.resolve(undefined)
        this.waiters.delete(m.id)
        this.settleWaiter()
        return
      case 'stopped':
        this.waiters.get(m.id)?.resolve({ delivered: m.delivered, pending: m.pending })
        this.waiters.delete(m.id)
        return
      case 'log':
        this.deps.log?.[m.level]?.(m.obj, m.msg)
    }
  }

  /** Passes what the logger thread counted since last time on to deps.metrics. */
  private applyMetrics (n: SharedCounters): void {
    const was = this.applied
    const metrics = this.deps.metrics
    if (was === null || metrics === undefined) return
    this.applied = n
    if (n.recorded > was.recorded) metrics.recorded?.(n.recorded - was.recorded)
    if (n.delivered > was.delivered) metrics.delivered?.(n.delivered - was.delivered)
    for (const r of LOSS_REASONS) if (n[r] > was[r]) metrics.dropped?.(r, n[r] - was[r])
    for (let i = was.backpressure; i < n.backpressure; i++) metrics.backpressure?.()
  }

  private died (e: Error): void {
    if (this.dead !== null) return
    this.dead = e
    this.deadAt = new Date().toISOString()
    this.onDeath?.(e)
    this.deps.log?.error({ error: e.message }, 'decision log thread failed; events are lost until restart')
    for (const w of this.writtenWaiters.values()) { this.lose('write_error', w.events); w.resolve(false) }
    this.writtenWaiters.clear()
    this.inFlightEvents = 0
    for (const w of this.waiters.values()) w.resolve(undefined)
    this.waiters.clear()
  }

  private lose (reason: 'write_error', n: number): void {
    if (n <= 0) return
    this.c.lost += n
    this.deps.metrics?.dropped?.(reason, n)
  }

  private refuse (): 'backpressure' {
    this.c.backpressure++
    this.deps.metrics?.backpressure?.()
    return 'backpressure'
  }
}
