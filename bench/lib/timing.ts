// Timing helpers for in-process micro-benchmarks.

export function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Median over `runs` of the mean ns per call of `fn` over `n` calls, after a warm-up of n calls. */
export function timeNs (fn: () => unknown, n: number, runs: number): number {
  let sink: unknown
  for (let i = 0; i < n; i++) sink = fn()
  const per: number[] = []
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) sink = fn()
    per.push(Number(process.hrtime.bigint() - t0) / n)
  }
  if (sink === Symbol.for('bench.never')) console.log(sink)
  return median(per)
}

/**
 * Several contenders timed in interleaved runs (one batch of each per run), so a burst of
 * load elsewhere on the machine hits them alike. Returns each one's median ns per call.
 */
export function timeInterleaved (fns: ReadonlyArray<{ fn: () => unknown; n: number }>, runs: number): number[] {
  let sink: unknown
  for (const { fn, n } of fns) for (let i = 0; i < n; i++) sink = fn()
  const per = fns.map((): number[] => [])
  for (let r = 0; r < runs; r++) {
    fns.forEach(({ fn, n }, k) => {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < n; i++) sink = fn()
      per[k]!.push(Number(process.hrtime.bigint() - t0) / n)
    })
  }
  if (sink === Symbol.for('bench.never')) console.log(sink)
  return per.map(median)
}

/** Least-squares slope of y over x. */
export function slope (xs: readonly number[], ys: readonly number[]): number | null {
  const n = xs.length
  if (n < 2) return null
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) { num += (xs[i]! - mx) * (ys[i]! - my); den += (xs[i]! - mx) ** 2 }
  return den === 0 ? null : num / den
}
