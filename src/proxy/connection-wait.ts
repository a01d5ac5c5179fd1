// How long a request may wait for a free upstream connection (upstream.timeout_seconds).
// undici's own timers start only once a request is written to a connection: with every
// connection of upstream.connections busy (a slow upstream, clients that stop reading), a
// request queued in the pool waited without limit, holding its client connection and memory.
// Every wait has the same length, so the queue is in deadline order: one timer serves them all,
// and a request costs a clock read and an array slot (none when a connection is free at once).
import { performance } from 'node:perf_hooks'

/** A dispatched request the pool has not yet started on a connection. */
export interface Waiting {
  /** undici started the request, or failed it: it is no longer waiting. */
  started: boolean
  /** Called once its wait is over: it must fail the request and keep undici from sending it. */
  expire (): void
}

export class ConnectionWait {
  readonly #ms: number
  #queue: { readonly w: Waiting; readonly deadline: number }[] = []
  #head = 0
  #timer: NodeJS.Timeout | undefined

  constructor (ms: number) { this.#ms = ms }

  /** `w` was dispatched and did not start at once. */
  enter (w: Waiting): void {
    // The pool starts requests in about the order they came: those at the front that started
    // go now, so the queue holds about as many entries as requests actually waiting.
    const q = this.#queue
    while (this.#head < q.length && q[this.#head]!.w.started) q[this.#head++] = undefined as never
    this.#compact()
    this.#queue.push({ w, deadline: performance.now() + this.#ms })
    if (this.#timer === undefined) this.#arm(this.#ms)
  }

  close (): void {
    if (this.#timer !== undefined) { clearTimeout(this.#timer); this.#timer = undefined }
  }

  #arm (ms: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(ms)))
    this.#timer.unref()
  }

  #compact (): void {
    const q = this.#queue
    if (this.#head === q.length) { if (q.length > 0) { this.#queue = []; this.#head = 0 } } else if (this.#head > 1024 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head); this.#head = 0
    }
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    const now = performance.now()
    const q = this.#queue
    while (this.#head < q.length) {
      const e = q[this.#head]!
      if (!e.w.started) {
        if (e.deadline > now) break
        e.w.expire()
      }
      q[this.#head++] = undefined as never
    }
    this.#compact()
    if (this.#head < this.#queue.length) this.#arm(this.#queue[this.#head]!.deadline - now)
  }
}
