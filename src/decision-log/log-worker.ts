// The decision-log thread (see thread.ts): a DecisionLogger that owns the hash chain, the spool
// and delivery, fed each turn's events by the request thread as their canonical runs. Its
// counters and chain head are published in shared memory (shared-status.ts); logs, upload
// failures and the rare status strings go back as messages.

import { parentPort, workerData } from 'node:worker_threads'
import { isBouncerError } from '../errors.js'
import type { EventRuns } from './chain.js'
import type { DecisionLogConfigInput, DecisionLogGlobals } from './config.js'
import { DecisionLogger } from './logger.js'
import { StatusWriter } from './shared-status.js'

export interface LogWorkerData { config: DecisionLogConfigInput; globals: DecisionLogGlobals; status: SharedArrayBuffer }

/** Status fields that are not counters. */
export interface StatusStrings { sink: string; last_error?: string; last_error_at?: string; last_success_at?: string }

export type ToWorker =
  | { t: 'batch'; id: number; runs: string[] } // three strings per event
  | { t: 'settle'; id: number }
  | { t: 'stop'; id: number; deadlineMs: number }

export type FromWorker =
  | { t: 'started'; labels: Record<string, string>; strings: StatusStrings }
  | { t: 'failed'; error: { message: string; code?: string } }
  | { t: 'report'; strings: StatusStrings; uploadFailed: Array<number | undefined> }
  | { t: 'written'; id: number; ok: boolean }
  | { t: 'settled'; id: number }
  | { t: 'stopped'; id: number; delivered: number; pending: number }
  | { t: 'log'; level: 'warn' | 'error' | 'info'; obj: Record<string, unknown>; msg: string }

const port = parentPort!
const data = workerData as LogWorkerData
const post = (m: FromWorker): void => port.postMessage(m)
const shared = new StatusWriter(data.status)

let uploadFailed: Array<number | undefined> = []
const logger = new DecisionLogger(data.config, {
  ...data.globals,
  // Counters reach the request thread through shared memory; these change the status strings.
  metrics: {
    delivered: () => scheduleReport(),
    uploadFailed: (status) => { uploadFailed.push(status); scheduleReport() },
  },
  log: {
    warn: (obj, msg) => post({ t: 'log', level: 'warn', obj, msg }),
    error: (obj, msg) => post({ t: 'log', level: 'error', obj, msg }),
    info: (obj, msg) => post({ t: 'log', level: 'info', obj, msg }),
  },
})

function strings (): StatusStrings {
  const s = logger.status()
  shared.publish(s)
  return {
    sink: s.sink,
    ...(s.last_error !== undefined ? { last_error: s.last_error, last_error_at: s.last_error_at } : {}),
    ...(s.last_success_at !== undefined ? { last_success_at: s.last_success_at } : {}),
  }
}

// Uploads and their failures happen between batches: one report at the end of that turn.
let reportScheduled = false
function scheduleReport (): void {
  if (reportScheduled) return
  reportScheduled = true
  setImmediate(() => {
    reportScheduled = false
    const failed = uploadFailed
    uploadFailed = []
    post({ t: 'report', strings: strings(), uploadFailed: failed })
  })
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'batch': {
      const runs: EventRuns[] = []
      for (let i = 0; i + 2 < m.runs.length; i += 3) runs.push([m.runs[i]!, m.runs[i + 1]!, m.runs[i + 2]!])
      logger.appendRuns(runs)
      void logger.written().then((ok) => { shared.publish(logger.status()); post({ t: 'written', id: m.id, ok }) })
      break
    }
    case 'settle':
      void logger.settled().then(() => { shared.publish(logger.status()); post({ t: 'settled', id: m.id }) })
      break
    case 'stop':
      void logger.stop(m.deadlineMs).then((r) => {
        post({ t: 'report', strings: strings(), uploadFailed })
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
  post({ t: 'started', labels: { ...logger.eventLabels }, strings: strings() })
}, (e: unknown) => {
  post({ t: 'failed', error: { message: (e as Error).message, ...(isBouncerError(e) ? { code: e.code } : {}) } })
  port.close()
})
