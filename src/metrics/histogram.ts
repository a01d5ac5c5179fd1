// A prom-client Histogram whose observations cost a bucket search and three additions.
// prom-client's own observe() — also through a child from labels() — re-validates the labels,
// hashes them and looks the series up by that hash, and indexes buckets by the bound's decimal
// string, on every call: ~3 µs per observation, ~10 µs per proxied request (three histograms),
// measured with `npm run bench -- --profile bouncer-eval`. Here each label set is a series object
// resolved once (labels() caches it, so callers that bind children up front pay nothing per
// request), and the exposition is built from those series in prom-client's own shape at scrape
// time, so /metrics is byte-for-byte what prom-client would print for the same observations
// (test/metrics/histogram.test.ts compares the two).
import { Histogram, type HistogramConfiguration, type LabelValues, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client'

class Series {
  /** Observations per bucket (not cumulative); the last slot is above every bound (+Inf only). */
  readonly counts: Float64Array
  sum = 0
  count = 0
  /** Shown in the exposition: observed or zero()ed since the last reset/remove, as prom-client does. */
  shown = false
  constructor (readonly labels: Record<string, string | number>, buckets: number) { this.counts = new Float64Array(buckets + 1) }
  clear (): void { this.counts.fill(0); this.sum = 0; this.count = 0; this.shown = false }
}

export interface Observer { observe (value: number): void }

export class FastHistogram<T extends string = string> extends Histogram<T> {
  private bounds!: readonly number[]
  private series!: Map<string, Series>
  /** Series in the order they were first observed (prom-client's export order). */
  private order!: Series[]
  private names!: readonly string[]
  private positional!: Map<string, Series>
  private meta!: { name: string; help: string; aggregator: string }

  constructor (config: HistogramConfiguration<T> & { buckets: number[] }) {
    if (config.enableExemplars === true) throw new TypeError('FastHistogram: exemplars are not supported')
    for (let i = 1; i < config.buckets.length; i++) {
      if (!(config.buckets[i]! > config.buckets[i - 1]!)) throw new TypeError(`FastHistogram ${config.name}: buckets must be strictly increasing`)
    }
    super(config)
    this.bounds = [...config.buckets]
    this.names = [...(config.labelNames ?? [])]
    this.meta = { name: config.name, help: config.help, aggregator: config.aggregator ?? 'sum' }
    this.series = new Map()
    this.positional = new Map()
    this.order = []
    const unlabelled = this.names.length === 0 ? this.seriesFor('', {}) : undefined
    // prom-client installs observe as an own property in its constructor; this one replaces it.
    this.observe = ((a: number | LabelValues<T>, b?: number): void => {
      if (typeof a === 'number' && unlabelled !== undefined) { this.add(unlabelled, a); return }
      if (typeof a !== 'object' || a === null) throw new TypeError(`FastHistogram ${config.name}: observe(labels, value) needs labels`)
      this.add(this.child(a), b as number)
    }) as Histogram<T>['observe']
  }

  /** A bound child. Its series is resolved here, once: callers that keep the child pay nothing per observation. */
  override labels (...args: unknown[]): Observer & ReturnType<Histogram<T>['labels']> {
    const first = args[0]
    const s = typeof first === 'object' && first !== null ? this.child(first as LabelValues<T>) : this.childOf(args as Array<string | number>)
    // As prom-client's child: startTimer() returns end(endLabels?), which observes the seconds since.
    const startTimer = () => {
      const start = process.hrtime.bigint()
      return (endLabels?: LabelValues<T>): number => {
        const v = Number(process.hrtime.bigint() - start) / 1e9
        this.add(endLabels === undefined ? s : this.child({ ...s.labels, ...endLabels } as LabelValues<T>), v)
        return v
      }
    }
    return { observe: (v: number) => this.add(s, v), startTimer } as Observer & ReturnType<Histogram<T>['labels']>
  }

  override zero (labels: LabelValues<T>): void {
    const s = this.child(labels)
    const shown = s.shown
    s.clear()
    if (shown) s.shown = true // keeps its place, as an overwritten prom-client entry does
    else this.show(s)
  }

  override reset (): void {
    super.reset() // prom-client's own store stays empty; it is never written
    if (this.series === undefined) return // called from prom-client's constructor
    for (const s of this.series.values()) s.clear()
    this.order = []
  }

  override remove (...args: unknown[]): void {
    const first = args[0]
    const s = typeof first === 'object' && first !== null ? this.child(first as LabelValues<T>) : this.childOf(args as Array<string | number>)
    s.clear()
    this.order = this.order.filter((x) => x !== s)
  }

  private add (s: Series, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`)
    const b = this.bounds
    let i = 0
    while (i < b.length && value > b[i]!) i++
    s.counts[i]! += 1
    s.sum += value
    s.count += 1
    if (!s.shown) this.show(s)
  }

  private show (s: Series): void { s.shown = true; this.order.push(s) }

  /** Positional label values (labels('a', 'b')): cached by their values, resolved to the series of the same labels. */
  private childOf (values: Array<string | number>): Series {
    const key = values.join('\u0000')
    const hit = this.positional.get(key)
    if (hit !== undefined) return hit
    if (values.length !== this.names.length) throw new Error(`Invalid number of arguments (${values.length}): "${values.join(', ')}" for label names (${this.names.length}): "${this.names.join(', ')}".`)
    const labels: Record<string, string | number> = {}
    this.names.forEach((n, i) => { labels[n] = values[i]! })
    const s = this.child(labels as LabelValues<T>)
    this.positional.set(key, s)
    return s
  }

  /** The series of a label set (any subset of the label names, as prom-client allows). */
  private child (labels: LabelValues<T>): Series {
    const given = labels as Record<string, string | number | undefined>
    for (const k of Object.keys(given)) {
      if (!this.names.includes(k)) throw new Error(`Added label "${k}" is not included in initial labelset: ${JSON.stringify(this.names)}`)
    }
    const present = this.names.filter((n) => given[n] !== undefined)
    const key = present.map((n) => `${n}\u0001${String(given[n])}`).join('\u0000')
    const copy: Record<string, string | number> = {}
    for (const n of present) copy[n] = given[n]!
    return this.seriesFor(key, copy)
  }

  private seriesFor (key: string, labels: Record<string, string | number>): Series {
    let s = this.series.get(key)
    if (s === undefined) { s = new Series(labels, this.bounds.length); this.series.set(key, s) }
    return s
  }

  /** What prom-client's Histogram#getForPromString returns for the same observations (the registry prints this). */
  async getForPromString (): Promise<Exported> {
    const { name, help, aggregator } = this.meta
    const bucket = `${name}_bucket`
    const values: ExportedValue[] = []
    for (const s of this.order) {
      let acc = 0
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!
        values.push({ labels: { le: this.bounds[i]! }, sharedLabels: s.labels, value: acc, metricName: bucket, exemplar: null })
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket, exemplar: null })
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum`, exemplar: undefined })
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count`, exemplar: undefined })
    }
    return { name, help, type: 'histogram', values, aggregator }
  }

  override async get (): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    const data = await this.getForPromString()
    const values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }))
    return { ...data, values } as unknown as MetricObjectWithValues<MetricValueWithName<T>>
  }
}

type Labels = Record<string, string | number>
interface ExportedValue { labels: Labels; sharedLabels: Labels; value: number; metricName: string; exemplar: null | undefined }
interface Exported { name: string; help: string; type: 'histogram'; values: ExportedValue[]; aggregator: string }
