// The drop-declaration index of verify-log and evidence: the same answers as a scan of every
// declaration, whatever order the declarations arrive in (in order, out of order, past the
// point where the waiting ones are merged in).
import t from 'tap'
import { DeclarationIndex } from '../../src/decision-log/declarations.js'
import type { DropDeclaration } from '../../src/decision-log/event.js'

type X = { d: DropDeclaration; n: number }

let seed = 11
const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return (seed >>> 16) % n }

function reference (all: X[], from: number, to: number): { missing: number | undefined; start?: number; end?: number; inside: number[] } {
  const covering = all.filter((x) => x.d.to_seq >= from && x.d.from_seq <= to).sort((a, b) => a.d.from_seq - b.d.from_seq)
  let next = from
  for (const x of covering) { if (x.d.from_seq > next) break; next = Math.max(next, x.d.to_seq + 1) }
  return {
    missing: next <= to ? next : undefined,
    start: covering.find((x) => x.d.from_seq === from)?.n,
    end: covering.find((x) => x.d.to_seq === to)?.n,
    inside: all.filter((x) => x.d.to_seq >= x.d.from_seq && x.d.from_seq >= from && x.d.from_seq <= to).map((x) => x.n).sort((a, b) => a - b),
  }
}

t.test('answers as a scan of every declaration would, in any arrival order', async (t) => {
  for (const [name, count, ordered] of [['in order', 600, true], ['shuffled, merged several times', 1500, false], ['shuffled, few', 40, false]] as const) {
    const all: X[] = []
    for (let n = 0; n < count; n++) {
      const from = ordered ? n * 3 + rnd(3) : 1 + rnd(count * 3)
      all.push({ n, d: { reason: 'spool_full', from_seq: from, to_seq: from + rnd(6) - 1, count: 1, from_prev_hash: 'a', to_hash: 'b' } })
    }
    const index = new DeclarationIndex<X>()
    let bad = 0
    for (let k = 0; k < all.length; k++) {
      index.add(all[k]!)
      // query as the declarations arrive (the evidence checker closes gaps mid-stream)
      if (k % 7 !== 0) continue
      const seen = all.slice(0, k + 1)
      for (let q = 0; q < 5; q++) {
        const from = 1 + rnd(count * 3)
        const to = from + rnd(12)
        const want = reference(seen, from, to)
        const got = { missing: index.firstUncovered(from, to), start: index.startingAt(from)?.n, end: index.endingAt(to)?.n, inside: index.startingIn(from, to).map((x) => x.n).sort((a, b) => a - b) }
        // start/end only count when the gap is fully declared (as the checks use them)
        if (want.missing === undefined ? JSON.stringify(got) !== JSON.stringify(want) : got.missing !== want.missing || JSON.stringify(got.inside) !== JSON.stringify(want.inside)) {
          if (bad++ < 3) t.fail(`${name}: gap ${from}..${to} after ${k + 1}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`)
        }
      }
    }
    t.equal(bad, 0, `${name}: no difference`)
  }
})
