// Seeded randomness for the generated-input tests (test/proxy/*-random.test.ts): the same seed
// gives the same inputs on every run, so a failure names an input that fails every time.

/** mulberry32: a small seeded PRNG returning numbers in [0, 1). */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** `s` with each character upper-cased with probability `p` (header names in changing case). */
export function randomCase (rnd: () => number, s: string, p = 0.3): string {
  return [...s].map((c) => (rnd() < p ? c.toUpperCase() : c)).join('')
}
