// Reading on a second thread (read-worker.ts) while the main thread checks and counts: the same
// records in the same order with the same positions, malformed parts, progress, torn tails and
// errors as readLogFile on the main thread, so the report is the same either way (the golden
// test builds it both ways). What moves to the worker is the reading, gunzip, cutting records
// out and hashing them from their text; the main thread still parses each record (a parsed
// value cannot cross threads more cheaply than its text) and does everything else.

import { Worker } from 'node:worker_threads'
import { BouncerError, type ErrorCode } from '../errors.js'
import { readLogFile, type InputFile, type Position, type ReadHandlers, type ReadResult } from './source.js'
import { parseJsonExact } from '../exact-json.js'

/** Batches the worker may have sent that the main thread has not worked through. */
export const IN_FLIGHT = 16

export interface WorkerData {
  files: Array<{ file: InputFile; allowTornTail: boolean }>
  credits: SharedArrayBuffer
}

/** What readLogFile handed its handlers, in order: n entries of four numbers in meta — kind
 * (0 a record's text, 1 a value without its own text, 2 a malformed part), line, element (-1 for
 * none), the length of its text in texts (kind 0); each kind-0 record's textHash in hashes, 64
 * characters each (NO_HASH for null); values (kind 1, as JSON text: numbers kept exactly are JSON.rawJSON values, which cannot be posted) and
 * messages (kind 2) in order. bytes:
 * the file's bytes read so far (-1: not known). */
export interface Batch {
  t: 'batch'
  file: number
  n: number
  meta: Int32Array
  texts: string
  hashes: string
  values: string[]
  messages: string[]
  bytes: number
}

/** textHash declined the record's text (not a 64-digit hex hash, so never a computed one). */
export const NO_HASH = '-'.repeat(64)

export type WorkerMessage =
  | Batch
  | { t: 'end'; file: number; tornTail: boolean }
  | { t: 'error'; file: number; code: ErrorCode | null; message: string }

/** Handlers as readLogFile's, with the record's hash computed from its text by the reader
 * (textHash: null when the text is not canonical; undefined when not computed). */
export interface FileHandlers extends ReadHandlers {
  item (value: unknown, pos: Position, text?: string, textHashed?: string | null): void
}

export type FileReader = (index: number, file: InputFile, h: FileHandlers, opts: { allowTornTail: boolean }) => Promise<ReadResult>

/** Reads on the main thread: readLogFile. */
export const readHere: FileReader = async (_index, file, h, opts) => await readLogFile(file, h, opts)

/** Files read by a worker, and read here because the worker could not start (for tests). */
export const readerStats = { inWorker: 0, fallback: 0 }

/**
 * Starts the worker over `files` (read in that order) and returns a FileReader that must be
 * called for each of them in order, and a close() to call when done (or on an error). If the
 * worker cannot start, files are read on the main thread instead.
 */
export function readInWorker (files: WorkerData['files']): { read: FileReader; close: () => Promise<void> } {
  const credits = new SharedArrayBuffer(4)
  const inFlight = new Int32Array(credits)
  const here = import.meta.url.endsWith('.ts') // run from source (tsx): the worker is a .ts file too
  const worker = new Worker(new URL(here ? './read-worker.ts' : './read-worker.js', import.meta.url), {
    workerData: { files, credits } satisfies WorkerData,
    // the process's loaders (tsx) are wanted; --input-type (node -e) would stop a module file
    execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
  })
  const queue: WorkerMessage[] = []
  let wake: (() => void) | null = null
  let failed: Error | null = null
  let received = false
  let exited = false
  worker.on('message', (m: WorkerMessage) => {
    received = true
    queue.push(m)
    wake?.()
  })
  worker.on('error', (e) => { failed = e; wake?.() })
  worker.on('exit', () => { exited = true; wake?.() })

  const next = async (): Promise<WorkerMessage | null> => {
    while (queue.length === 0) {
      if (failed !== null || exited) return null
      await new Promise<void>((resolve) => { wake = resolve })
      wake = null
    }
    return queue.shift()!
  }

  let fallback = false
  const read: FileReader = async (index, file, h, opts) => {
    if (fallback) { readerStats.fallback++; return await readLogFile(file, h, opts) }
    for (;;) {
      const m = await next()
      if (m === null) {
        if (!received) {
          // The worker did not start (no second thread here, or a loader that cannot run it).
          fallback = true
          readerStats.fallback++
          return await readLogFile(file, h, opts)
        }
        throw failed ?? new Error('bouncer evidence: the reading thread stopped unexpectedly')
      }
      if (m.file !== index) throw new Error(`bouncer evidence: the reading thread sent file ${m.file} while file ${index} was expected`)
      if (m.t === 'end') { readerStats.inWorker++; return { tornTail: m.tornTail } }
      if (m.t === 'error') {
        if (m.code === null) throw new Error(m.message)
        const e = new BouncerError(m.code)
        e.message = m.message
        throw e
      }
      deliver(m, file.name, h)
      Atomics.sub(inFlight, 0, 1)
      Atomics.notify(inFlight, 0)
    }
  }
  return {
    read,
    close: async () => { if (!exited) await worker.terminate() },
  }
}

function deliver (b: Batch, name: string, h: FileHandlers): void {
  const meta = b.meta
  let t = 0
  let hs = 0
  let v = 0
  let m = 0
  for (let i = 0; i < b.n; i++) {
    const e = meta[4 * i + 2]!
    const pos: Position = { file: name, line: meta[4 * i + 1]!, element: e < 0 ? null : e }
    const k = meta[4 * i]
    if (k === 0) {
      const text = b.texts.slice(t, t += meta[4 * i + 3]!)
      const hash = b.hashes.slice(hs, hs += 64)
      h.item(parseJsonExact(text), pos, text, hash === NO_HASH ? null : hash)
    } else if (k === 1) h.item(parseJsonExact(b.values[v++]!), pos)
    else h.malformed(pos, b.messages[m++]!)
  }
  if (b.bytes >= 0) h.progress?.(b.bytes)
}
