// The decision-log thread (see thread.ts): a DecisionLogger that owns the hash chain, the spool
// and delivery, fed each turn's events by the request thread as their canonical runs. Everything
// it would tell the process — logs, metrics, status — goes back as messages.

import { parentPort, workerData } from 'node:worker_threads'
import { isBouncerError } from '../errors.js'
import type { EventRuns } from './chain.js'
import type { DecisionLogConfigInput, DecisionLogGlobals } from './config.js'
import { DecisionLogger, type DecisionLogMetrics, type DecisionLogStatus, type LossReason } from './logger.js'

export interface LogWorkerData { config: DecisionLogConfigInput; globals: DecisionLogGlobals }

/** Metric increments since the last report (the request thread applies them to prom-client). */
export interface MetricDeltas {
  recorded: number
  delivered: number
  dropped: Partial<Record<LossReason, number>>
  backpressure: number
  uploadFailed: Array<number | undefined>
}

export type ToWorker =
  | { t: 'batch'; id: number; runs: string[] } // three strings per event
  | { t: 'settle'; id: number }
  | { t: 'stop'; id: number; deadlineMs: number }

export type FromWorker =
  | { t: 'started'; labels: Record<string, string>; status: DecisionLogStatus }
  | { t: 'failed'; error: { message: string; code?: string } }
  | { t: 'report'; status: DecisionLogStatus; deltas: MetricDeltas }
  | { t: 'written'; id: number; ok: boolean }
  | { t: 'settled'; id: number }
  | { t: 'stopped'; id: number; delivered: number; pending: number }
  | { t: 'log'; level: 'warn' | 'error' | 'info'; obj: Record<string, unknown>; msg: string }

const port = parentPort!
const data = workerData as LogWorkerData
const post = (m: FromWorker): void => port.postMessage(m)

const fresh = (): MetricDeltas => ({ recorded: 0, delivered: 0, dropped: {}, backpressure: 0, uploadFailed: [] })
let deltas = fresh()
const metrics: DecisionLogMetrics = {
  recorded: () => { deltas.recorded++ },
  delivered: (n) => { deltas.delivered += n; scheduleReport() },
  dropped: (reason, n) => { deltas.dropped[reason] = (deltas.dropped[reason] ?? 0) + n; scheduleReport() },
  backpressure: () => { deltas.backpressure++ },
  uploadFailed: (status) => { deltas.uploadFailed.push(status); scheduleReport() },
}

const logger = new DecisionLogger(data.config, {
  ...data.globals,
  metrics,
  log: {
    warn: (obj, msg) => post({ t: 'log', level: 'warn', obj, msg }),
    error: (obj, msg) => post({ t: 'log', level: 'error', obj, msg }),
    info: (obj, msg) => post({ t: 'log', level: 'info', obj, msg }),
  },
})

function report (): void {
  const d = deltas
  deltas = fresh()
  post({ t: 'report', status: logger.status(), deltas: d })
}

// Uploads and their failures happen between batches: one report at the end of that turn.
let reportScheduled = false
function scheduleReport (): void {
  if (reportScheduled) return
  reportScheduled = true
  setImmediate(() => { reportScheduled = false; report() })
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'batch': {
      const runs: EventRuns[] = []
      for (let i = 0; i + 2 < m.runs.length; i += 3) runs.push([m.runs[i]!, m.runs[i + 1]!, m.runs[i + 2]!])
      logger.appendRuns(runs)
      void logger.written().then((ok) => { report(); post({ t: 'written', id: m.id, ok }) })
      break
    }
    case 'settle':
      void logger.settled().then(() => { report(); post({ t: 'settled', id: m.id }) })
      break
    case 'stop':
      void logger.stop(m.deadlineMs).then((r) => {
        report()
        post({ t: 'stopped', id: m.id, ...r })
        port.close()
      }, (e: unknown) => {
        post({ t: 'log', level: 'error', obj: { error: (e as Error).message }, msg: 'decision log stop failed' })
        post({ t: 'stopped', id: m.id, delivered: 0, pending: logger.status().pending_events })
        port.close()
      })
      break
  }
})

logger.start().then(() => {
  post({ t: 'started', labels: { ...logger.eventLabels }, status: logger.status() })
}, (e: unknown) => {
  post({ t: 'failed', error: { message: (e as Error).message, ...(isBouncerError(e) ? { code: e.code } : {}) } })
  port.close()
})
