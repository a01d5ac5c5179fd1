// parsed_body.max_buffered_bytes: request bodies read into memory for parsing share one budget.
// Each body is bounded by parsed_body.max_bytes, but a client can hold many of them at once
// (a connection or HTTP/2 stream per body, each trickling its last bytes until
// request_timeout_seconds): without a shared cap, memory grows by max_bytes per stalled body.
// A body is charged as its bytes arrive and released when its exchange ends.

export class BodyBudget {
  #used = 0
  readonly #onChange: ((used: number) => void) | undefined
  /** limit 0: no limit. `onChange` hears the total after every change (a gauge). */
  constructor (readonly limit: number, onChange?: (used: number) => void) {
    this.#onChange = onChange
  }

  get used (): number { return this.#used }

  /** Whether `n` more bytes would fit now (a body whose length is known up front). */
  fits (n: number): boolean { return this.limit === 0 || this.#used + n <= this.limit }

  /**
   * A per-request account: take() as bytes arrive, release() once. Release is final: a take()
   * after it charges nothing and returns false (a reader still going after its exchange ended —
   * the client gone while a compressed body inflates — would otherwise charge bytes nobody
   * releases, and the budget drains for good).
   */
  lease (): BodyLease {
    let held = 0
    let released = false
    return {
      take: (n: number): boolean => {
        if (released) return false
        if (this.limit > 0 && this.#used + n > this.limit) return false
        this.#used += n
        held += n
        this.#onChange?.(this.#used)
        return true
      },
      release: (): void => {
        released = true
        if (held === 0) return
        this.#used -= held
        held = 0
        this.#onChange?.(this.#used)
      },
    }
  }
}

export interface BodyLease {
  /** Charges `n` bytes; false (nothing charged) when the budget cannot hold them, or after release(). */
  take (n: number): boolean
  release (): void
}
