// The drop declarations of a log, indexed for the gap checks of verify-log and `bouncer
// evidence`: is every seq of a gap declared, which declaration starts or ends it, which ones
// start inside it. A filter over every declaration per gap made an export of 100,000 declared
// gaps take minutes (forging one needs no key). Declarations arrive in chain order, mostly by
// ascending from_seq: those are appended; the others wait in a short list that is merged in
// once it grows, so a forged order costs a bounded scan, never a sort per query.
import type { DeclaredRange, DropDeclaration } from './event.js'

const PENDING_MAX = 256

export class DeclarationIndex<T extends { readonly d: DropDeclaration }> {
  /** By from_seq, ascending. */
  private sorted: T[] = []
  /** Highest to_seq among sorted[0..i]. */
  private reach: number[] = []
  /** Arrived out of from_seq order, not merged yet. */
  private pending: T[] = []
  /** The first declaration (in arrival order) starting at a seq. */
  private readonly byFrom = new Map<number, T>()
  /** Of the declarations ending at a seq, the one starting lowest (the first to arrive among equals). */
  private readonly byTo = new Map<number, T>()

  /** Adds one; a declaration that declares nothing (to_seq < from_seq) is not kept. */
  add (x: T): void {
    const d = x.d
    if (d.to_seq < d.from_seq) return
    if (!this.byFrom.has(d.from_seq)) this.byFrom.set(d.from_seq, x)
    const e = this.byTo.get(d.to_seq)
    if (e === undefined || d.from_seq < e.d.from_seq) this.byTo.set(d.to_seq, x)
    const n = this.sorted.length
    if (n === 0 || this.sorted[n - 1]!.d.from_seq <= d.from_seq) {
      this.sorted.push(x)
      this.reach.push(n === 0 ? d.to_seq : Math.max(this.reach[n - 1]!, d.to_seq))
      return
    }
    this.pending.push(x)
    if (this.pending.length >= PENDING_MAX) this.merge()
  }

  private merge (): void {
    this.sorted = this.sorted.concat(this.pending).sort((a, b) => a.d.from_seq - b.d.from_seq)
    this.pending = []
    let max = -Infinity
    this.reach = this.sorted.map((x) => (max = Math.max(max, x.d.to_seq)))
  }

  /** The highest to_seq of the declarations starting at or before `seq` (-Infinity: none). */
  private reachAt (seq: number): number {
    const i = lastAtMost(this.sorted, seq)
    let r = i < 0 ? -Infinity : this.reach[i]!
    for (const x of this.pending) if (x.d.from_seq <= seq && x.d.to_seq > r) r = x.d.to_seq
    return r
  }

  /** The first seq of [from, to] no declaration covers, or undefined. */
  firstUncovered (from: number, to: number): number | undefined {
    let next = from
    while (next <= to) {
      const r = this.reachAt(next)
      // Past 2^53 adding one changes nothing: stop there, as a walk over the declarations would.
      if (r < next || r + 1 <= next) return next
      next = r + 1
    }
    return undefined
  }

  startingAt (seq: number): T | undefined { return this.byFrom.get(seq) }
  endingAt (seq: number): T | undefined { return this.byTo.get(seq) }

  /** The declarations starting within [from, to]. */
  startingIn (from: number, to: number): T[] {
    const out: T[] = []
    for (let i = lastAtMost(this.sorted, from - 1) + 1; i < this.sorted.length && this.sorted[i]!.d.from_seq <= to; i++) out.push(this.sorted[i]!)
    for (const x of this.pending) if (x.d.from_seq >= from && x.d.from_seq <= to) out.push(x)
    return out
  }
}

/** The index of the last declaration of `sorted` starting at or before `seq`, or -1. */
function lastAtMost (sorted: ReadonlyArray<{ readonly d: DropDeclaration }>, seq: number): number {
  let a = 0
  let b = sorted.length
  while (a < b) {
    const m = (a + b) >> 1
    if (sorted[m]!.d.from_seq <= seq) a = m + 1
    else b = m
  }
  return a - 1
}

/**
 * The declarations a marker at `seq` makes: its own range, and each of `drop.also` (ranges of
 * earlier markers declared again, with no count of their own: the count is the marker's). Only
 * well-formed ranges of seqs before the marker's own: one that is not excuses nothing.
 */
export function declarationsOf (drop: unknown, seq: number): DropDeclaration[] {
  if (drop === null || typeof drop !== 'object') return []
  const d = drop as DropDeclaration
  const ok = (r: Partial<DeclaredRange>): boolean => Number.isInteger(r.from_seq) && Number.isInteger(r.to_seq) && r.from_seq! >= 1 && r.from_seq! <= r.to_seq! && r.to_seq! < seq
  // A marker whose own range is not valid declares nothing, its also included (verify-log and
  // evidence read it alike: review, session 54).
  if (!ok(d)) return []
  const out: DropDeclaration[] = [d]
  if (Array.isArray(d.also)) {
    for (const r of d.also as unknown[]) {
      if (r === null || typeof r !== 'object' || !ok(r as DeclaredRange)) continue
      const x = r as DeclaredRange
      out.push({ reason: d.reason, from_seq: x.from_seq, to_seq: x.to_seq, count: 0, from_prev_hash: x.from_prev_hash, to_hash: x.to_hash })
    }
  }
  return out
}
