// Circuit breaker for the Redis tier.
//
//   closed ──(failureThreshold consecutive failures, or connection lost)──► open
//   open ──(after openMs, or at once when the client reports "ready")──► half-open
//   half-open ──probe succeeds──► closed      half-open ──probe fails──► open (openMs doubled,
//                                                                        up to maxOpenMs)
//
// Only `closed` lets requests through. Half-open sends exactly one probe (a PING) instead of
// gambling a real request on it, so request latency never depends on the probe, and recovery
// does not depend on traffic arriving.
import { BouncerError } from '../errors.js'

export type BreakerState = 'closed' | 'open' | 'half-open'

export interface BreakerOptions {
  /** Consecutive failed calls that open the breaker. Default 5. */
  failureThreshold?: number
  /** First wait before probing, ms. Default 1000. */
  openMs?: number
  /** Cap for the doubling wait between failed probes, ms. Default 10000. */
  maxOpenMs?: number
  /** The timer behind the open period (tests drive it by hand). Default: unref'd setTimeout. */
  timers?: BreakerTimers
}

export interface BreakerTimers {
  set (fn: () => void, ms: number): unknown
  clear (handle: unknown): void
}

const REAL_TIMERS: BreakerTimers = {
  set: (fn, ms) => { const t = setTimeout(fn, ms); t.unref(); return t },
  clear: (handle) => { clearTimeout(handle as NodeJS.Timeout | undefined) },
}

export class CircuitBreaker {
  readonly failureThreshold: number
  readonly openMs: number
  readonly maxOpenMs: number
  #state: BreakerState
  #failures = 0
  #wait: number
  #timer: unknown
  readonly #timers: BreakerTimers
  // Incremented on every transition so a probe that resolves late cannot act on a state it
  // did not start from.
  #epoch = 0
  #closed = false
  readonly #probe: () => Promise<boolean>
  readonly #onChange: (state: BreakerState, prev: BreakerState) => void

  constructor (
    opts: BreakerOptions,
    probe: () => Promise<boolean>,
    onChange: (state: BreakerState, prev: BreakerState) => void = () => {},
    initial: 'closed' | 'open' = 'closed',
  ) {
    this.failureThreshold = positive(opts.failureThreshold, 5, 'failureThreshold')
    this.openMs = positive(opts.openMs, 1000, 'openMs')
    this.maxOpenMs = Math.max(this.openMs, positive(opts.maxOpenMs, 10_000, 'maxOpenMs'))
    this.#wait = this.openMs
    this.#timers = opts.timers ?? REAL_TIMERS
    this.#probe = probe
    this.#onChange = onChange
    this.#state = initial
    if (initial === 'open') this.#schedule()
  }

  get state (): BreakerState { return this.#state }

  /** True when a request may use Redis. */
  allow (): boolean { return this.#state === 'closed' }

  success (): void {
    if (this.#state === 'closed') this.#failures = 0
  }

  failure (): void {
    if (this.#state !== 'closed') return
    if (++this.#failures >= this.failureThreshold) this.#open()
  }

  /** Open at once (the connection is gone: no point failing N more requests to notice). */
  trip (): void {
    if (this.#state === 'closed') this.#open()
  }

  /** Probe now instead of waiting (the client just reconnected). */
  probeSoon (): void {
    if (this.#state !== 'open' || this.#closed) return
    this.#timers.clear(this.#timer)
    this.#timer = undefined
    this.#halfOpen()
  }

  dispose (): void {
    this.#closed = true
    this.#timers.clear(this.#timer)
    this.#timer = undefined
  }

  #set (next: BreakerState): void {
    const prev = this.#state
    this.#state = next
    this.#epoch++
    if (prev !== next) this.#onChange(next, prev)
  }

  #open (): void {
    this.#failures = 0
    this.#set('open')
    this.#schedule()
  }

  #schedule (): void {
    if (this.#closed) return
    this.#timers.clear(this.#timer)
    this.#timer = this.#timers.set(() => { this.#timer = undefined; this.#halfOpen() }, this.#wait)
  }

  #halfOpen (): void {
    if (this.#closed) return
    this.#set('half-open')
    const epoch = this.#epoch
    // Promise.resolve().then: a probe that throws synchronously is a failed probe, not a crash.
    Promise.resolve().then(() => this.#probe()).then(ok => ok, () => false).then(ok => {
      if (this.#closed || epoch !== this.#epoch) return
      if (ok) {
        this.#wait = this.openMs
        this.#failures = 0
        this.#set('closed')
      } else {
        this.#wait = Math.min(this.#wait * 2, this.maxOpenMs)
        this.#set('open')
        this.#schedule()
      }
    })
  }
}

function positive (v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new BouncerError('BOUNCER_ERR_CACHE_OPTIONS', [`breaker.${name} must be a positive number, got ${String(v)}`])
  }
  return v
}
