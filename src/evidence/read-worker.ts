// The reading half of `bouncer evidence` on a second thread (src/evidence/parallel.ts): files are
// read, gunzipped and cut into records by readLogFile exactly as on the main thread, and each
// record's chain hash is computed from its text (textHash; a record in the logger's canonical
// layout is not parsed here at all); the main thread gets, in order, what
// readLogFile would have handed it — the record's text (or, for the elements of an array parsed
// as one line, the value), its position, malformed parts, progress, the torn-tail result or the
// error — and parses, checks and counts. At most IN_FLIGHT batches wait for the main thread, so
// memory stays bounded however far the reading could run ahead.
import { parentPort, workerData } from 'node:worker_threads'
import { isBouncerError } from '../errors.js'
import { textHash } from './hash.js'
import { readLogFile, type InputFile } from './source.js'
import { IN_FLIGHT, NO_HASH, type Batch, type WorkerData, type WorkerMessage } from './parallel.js'

const { files, credits } = workerData as WorkerData
const inFlight = new Int32Array(credits)
const port = parentPort!
const BATCH_ITEMS = 1024

/** A batch as it is built; sent packed (Batch): the texts and hashes as one string each, the
 * numbers in one transferred Int32Array. */
class Builder {
  kinds: number[] = []
  lines: number[] = []
  elements: number[] = []
  texts: string[] = []
  hashes: string[] = []
  /** As JSON text: an exact big integer (a JSON.rawJSON value) cannot be posted, its text can. */
  values: string[] = []
  messages: string[] = []
  bytes = -1
  constructor (readonly file: number) {}

  pack (): Batch {
    const n = this.kinds.length
    const meta = new Int32Array(n * 4)
    let t = 0
    for (let i = 0; i < n; i++) {
      meta[4 * i] = this.kinds[i]!
      meta[4 * i + 1] = this.lines[i]!
      meta[4 * i + 2] = this.elements[i]!
      meta[4 * i + 3] = this.kinds[i] === 0 ? this.texts[t++]!.length : 0
    }
    return { t: 'batch', file: this.file, n, meta, texts: this.texts.join(''), hashes: this.hashes.join(''), values: this.values, messages: this.messages, bytes: this.bytes }
  }
}

/** Send a batch, then wait while the main thread has IN_FLIGHT of them to work through. */
function send (b: Builder): void {
  if (b.kinds.length === 0 && b.bytes < 0) return
  const m = b.pack()
  port.postMessage(m, [m.meta.buffer as ArrayBuffer])
  Atomics.add(inFlight, 0, 1)
  for (let n = Atomics.load(inFlight, 0); n >= IN_FLIGHT; n = Atomics.load(inFlight, 0)) Atomics.wait(inFlight, 0, n)
}

function post (m: WorkerMessage): void { port.postMessage(m) }

// A record whose text textHash accepts and that holds no control character is valid JSON as it
// stands (textHash follows the JSON grammar; a control character is the one thing it leaves to
// JSON.parse): it is not parsed here, only on the main thread, which needs the value.
const CONTROL = /[\u0000-\u001f]/
let hashedText: string | null = null
let hashed: string | null = null
function unparsed (text: string): boolean {
  hashedText = text
  hashed = textHash(text)
  return hashed !== null && !CONTROL.test(text)
}

for (let i = 0; i < files.length; i++) {
  const { file, allowTornTail } = files[i]! as { file: InputFile; allowTornTail: boolean }
  let b = new Builder(i)
  try {
    const r = await readLogFile(file, {
      item (value, pos, text) {
        if (text !== undefined) {
          b.kinds.push(0)
          b.texts.push(text)
          b.hashes.push((text === hashedText ? hashed : textHash(text)) ?? NO_HASH)
        } else {
          b.kinds.push(1)
          b.values.push(JSON.stringify(value))
        }
        b.lines.push(pos.line)
        b.elements.push(pos.element ?? -1)
        if (b.kinds.length >= BATCH_ITEMS) { send(b); b = new Builder(i) }
      },
      malformed (pos, message) {
        b.kinds.push(2)
        b.messages.push(message)
        b.lines.push(pos.line)
        b.elements.push(pos.element ?? -1)
      },
      progress (bytes) { b.bytes = bytes },
    }, { allowTornTail, unparsed })
    send(b)
    post({ t: 'end', file: i, tornTail: r.tornTail })
  } catch (e) {
    send(b)
    post(isBouncerError(e)
      ? { t: 'error', file: i, code: e.code, message: e.message }
      : { t: 'error', file: i, code: null, message: e instanceof Error ? (e.stack ?? e.message) : String(e) })
    break
  }
}
