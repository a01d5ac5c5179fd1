/** The slice of pino's interface the bundle code logs through (a pino logger fits). */
export interface Logger {
  debug: (obj: object, msg?: string) => void
  info: (obj: object, msg?: string) => void
  warn: (obj: object, msg?: string) => void
  error: (obj: object, msg?: string) => void
}

/** Metrics the manager updates; the metrics module adapts prom-client gauges/counters to it. */
export interface BundleMetrics {
  /** The active revision changed (a gauge labelled by revision, or an info metric). */
  setRevision: (bundle: string, revision: string) => void
  /** Unix seconds of the last successful activation (for "age of the last success"). */
  setLastSuccess: (bundle: string, unixSeconds: number) => void
  /** A download, verification or activation failed; `reason` is a short stable label. */
  incFailure: (bundle: string, reason: string) => void
  /** Every request's outcome: `200` (a bundle came), `304` (unchanged), `error`. Optional. */
  incDownload?: (bundle: string, outcome: '200' | '304' | 'error') => void
}

export const noopMetrics: BundleMetrics = {
  setRevision: () => {},
  setLastSuccess: () => {},
  incFailure: () => {}
}
