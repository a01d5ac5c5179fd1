// FastHistogram against prom-client's own Histogram: the same operations on both, the same
// /metrics text and the same JSON, for random sequences (labels bound up front or per call,
// positional or as an object, values on, between and beyond the bounds, zero/remove/reset).
import t from 'tap'
import { Histogram, Registry } from 'prom-client'
import { FastHistogram } from '../../src/metrics/histogram.js'

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

function pair (labelNames: string[]) {
  const ref = new Registry()
  const fast = new Registry()
  const cfg = { name: 'x_seconds', help: 'help with "quotes" and \\ backslash', buckets: BUCKETS, labelNames }
  return {
    ref, fast,
    a: new Histogram({ ...cfg, registers: [ref] }),
    b: new FastHistogram({ ...cfg, registers: [fast] }),
  }
}

// A deterministic PRNG so a failure names its seed and replays.
function rng (seed: number) {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

t.test('random operations print the same exposition and JSON as prom-client', async (t) => {
  for (let seed = 1; seed <= 60; seed++) {
    const r = rng(seed)
    const { ref, fast, a, b } = pair(['decision', 'status'])
    const decisions = ['allow', 'deny', 'policy_error', 'we"ird\\\nvalue']
    const boundA = new Map<string, { observe (v: number): void }>()
    const boundB = new Map<string, { observe (v: number): void }>()
    for (let i = 0; i < 300; i++) {
      const d = decisions[Math.floor(r() * decisions.length)]!
      const st = r() < 0.5 ? '200' : 403
      const pick = r()
      const v = pick < 0.2 ? BUCKETS[Math.floor(r() * BUCKETS.length)]! : pick < 0.3 ? 5 + r() * 10 : pick < 0.35 ? 0 : pick < 0.38 ? -r() : r() * 0.3
      const op = r()
      if (op < 0.4) {
        const k = `${d}|${st}`
        if (!boundA.has(k)) { boundA.set(k, a.labels(d, String(st))); boundB.set(k, b.labels(d, String(st))) }
        boundA.get(k)!.observe(v); boundB.get(k)!.observe(v)
      } else if (op < 0.8) {
        a.observe({ decision: d, status: st }, v); b.observe({ decision: d, status: st }, v)
      } else if (op < 0.9) {
        a.observe({ decision: d }, v); b.observe({ decision: d }, v) // a subset of the labels, as prom-client allows
      } else if (op < 0.95) {
        a.zero({ decision: d, status: st }); b.zero({ decision: d, status: st })
      } else if (op < 0.98) {
        a.remove(d, String(st)); b.remove(d, String(st))
      } else {
        a.reset(); b.reset()
      }
    }
    const [ta, tb] = [await ref.metrics(), await fast.metrics()]
    if (ta !== tb) { t.equal(tb, ta, `seed ${seed}: exposition`); return }
    t.same(await fast.getMetricsAsJSON(), await ref.getMetricsAsJSON(), `seed ${seed}: JSON`)
  }
  t.pass('60 seeds x 300 operations agree')
})

t.test('an unlabelled histogram: observe(v), observe({}, v), startTimer and reset', async (t) => {
  const { ref, fast, a, b } = pair([])
  for (const v of [0, 0.0005, 0.0007, 1, 2, 0.3]) { a.observe(v); b.observe(v) }
  a.observe({}, 0.01); b.observe({}, 0.01)
  t.equal(await fast.metrics(), await ref.metrics())
  t.match(await fast.metrics(), /x_seconds_count 7\n/)
  const end = b.startTimer()
  const seconds = end()
  t.ok(seconds >= 0 && seconds < 1, 'startTimer returns the duration')
  t.match(await fast.metrics(), /x_seconds_count 8\n/, 'and observes it once')
  a.reset(); b.reset()
  t.equal(await fast.metrics(), await ref.metrics(), 'reset empties the series, as prom-client does')
})

t.test('a child\'s startTimer observes once, under end labels when given (prom-client\'s signature)', async (t) => {
  const { fast, b } = pair(['decision', 'status'])
  const end = b.labels({ decision: 'allow' }).startTimer()
  end({ status: '200' })
  b.labels('deny', '403').startTimer()()
  const text = await fast.metrics()
  t.match(text, /x_seconds_count\{decision="allow",status="200"\} 1\n/)
  t.match(text, /x_seconds_count\{decision="deny",status="403"\} 1\n/)
  t.notMatch(text, /x_seconds_count\{decision="allow"\}/, 'nothing observed under the start labels alone')
})

t.test('bad observations and labels throw, as prom-client does', async (t) => {
  const { b } = pair(['decision'])
  t.throws(() => b.labels('a', 'b'), /Invalid number of arguments/)
  t.throws(() => b.observe({ nope: 'x' } as never, 1), /not included in initial labelset/)
  t.throws(() => b.labels('allow').observe(Number.NaN), /not a valid number/)
  t.throws(() => b.labels('allow').observe(Number.POSITIVE_INFINITY), /not a valid number/)
  t.throws(() => new FastHistogram({ name: 'y', help: 'h', buckets: [1, 1], registers: [] }), /strictly increasing/)
  const child = b.labels('allow')
  t.equal(b.labels('allow').observe === child.observe, false, 'each labels() call returns a child object')
  child.observe(0.2)
  const json = await b.get()
  t.equal(json.values.find((v) => v.metricName === 'x_seconds_count')?.value, 1, 'the valid observation counted once')
})
