// Buffers to assemble masked bodies in, reused from one response to the next. A fresh ~100 KB
// Buffer per masked response cost the proxy far more CPU than copying into it (allocator page
// faults and external-memory GC), more than the masking itself. A buffer comes back only once
// its response is written out (the caller's `give`, after the write finished), so no response
// is ever sent from a buffer another one is filling. Stale bytes past a body's length are
// never exposed: a body is handed out as a subarray of its own length, which is overwritten whole.

// Buffers are powers of two in [MIN_SLAB, MAX_SLAB]; a body gets the smallest that holds it, so
// a buffer is less than twice its body. Smaller bodies cost little to allocate; larger are rare.
const MIN_SLAB = 32 * 1024
const MAX_SLAB = 512 * 1024

export class BodyPool {
  /** Idle buffers by size. */
  readonly #free = new Map<number, Buffer[]>()
  #idleBytes = 0

  /** At most `maxIdleBytes` of idle buffers are kept (their memory stays allocated). */
  constructor (readonly maxIdleBytes: number) {}

  /** A buffer of `size` bytes (contents undefined), or undefined for a size outside the pooled ones. */
  take (size: number): Buffer | undefined {
    if (size <= MIN_SLAB / 2 || size > MAX_SLAB) return undefined
    let slab = MIN_SLAB
    while (slab < size) slab *= 2
    const idle = this.#free.get(slab)?.pop()
    if (idle !== undefined) this.#idleBytes -= slab
    return (idle ?? Buffer.allocUnsafeSlow(slab)).subarray(0, size)
  }

  /** Gives back buffers `take` handed out, once nothing reads or writes them any more. */
  give (bufs: readonly Buffer[]): void {
    for (const b of bufs) {
      const slab = b.buffer.byteLength
      if (this.#idleBytes + slab > this.maxIdleBytes) continue
      let list = this.#free.get(slab)
      if (list === undefined) this.#free.set(slab, list = [])
      list.push(Buffer.from(b.buffer, 0, slab))
      this.#idleBytes += slab
    }
  }
}
