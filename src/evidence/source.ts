// Reading decision logs for the evidence report, one record at a time.
//
// What counts as a log is what `bouncer verify-log` reads (src/decision-log/verify.ts):
//   - a spool directory: seg-<seq>.jsonl segments in name order, and state.json (the
//     acknowledged point, which anchors the first records; its instance_id names the chain);
//   - an export file: JSON lines (the file sink), lines that are JSON arrays (one upload batch
//     per line), or JSON arrays spread over any number of lines (a control plane's gzip'd
//     upload bodies saved as received, pretty-printed or not); any of them gzip'd;
//   - a directory of such files, read in name order.
// A spool is read as one state of it (openLogInput): its segments are opened while state.json
// stays the same, and read through those descriptors up to the size they had, so a logger that
// delivers, deletes and appends meanwhile changes nothing in the answer.
// Unlike verifyLog, nothing is read whole: files are streamed through gunzip and split into
// records as they come, so memory does not grow with the size of the log.

import { closeSync, constants as fsConstants, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs'
import { createReadStream } from 'node:fs'
import { basename, join } from 'node:path'
import { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { createGunzip } from 'node:zlib'
import { firstDuplicateMember } from '../decision-log/duplicate-keys.js'
import { SEGMENT_RE, STATE_FILE } from '../decision-log/spool.js'
import { bouncerError } from '../errors.js'
import { parseJsonExact } from '../exact-json.js'

export interface InputFile {
  readonly path: string
  readonly name: string
  readonly bytes: number
  /** A spool segment opened with the spool's state (openLogInput): read through this
   * descriptor, `bytes` of it, even when the file was deleted or grew since. */
  readonly fd?: number
}

export interface LogInput {
  readonly path: string
  readonly kind: 'spool' | 'export'
  readonly files: readonly InputFile[]
  /** Spool: the acknowledged point in state.json (records up to it may already be deleted). */
  readonly anchor: { readonly seq: number; readonly hash: string } | null
  /** Spool: the chain's instance id from state.json (labels.id unless configured). */
  readonly instanceId: string | null
  /** Spool: state.json exists but cannot be read as the spool's state. */
  readonly stateError: string | null
}

const EXPORT_FILE = /\.(jsonl|ndjson|json|log)(\.gz)?$|\.gz$/

/** Find the files of a log. Throws EvidenceError (exit 2) for a path that cannot be read or
 * holds nothing that could be a decision log. */
export function openLogInput (path: string): LogInput {
  let st
  try { st = statSync(path) } catch (e) {
    throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', path, describeIoError(e))
  }
  if (!st.isDirectory()) {
    if (!st.isFile()) throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', path, 'not a regular file or directory')
    return { path, kind: 'export', files: [{ path, name: basename(path), bytes: st.size }], anchor: null, instanceId: null, stateError: null }
  }
  let names: string[]
  try { names = readdirSync(path).sort() } catch (e) {
    throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', path, describeIoError(e))
  }
  const segments = names.filter((n) => SEGMENT_RE.test(n))
  const fileOf = (n: string): InputFile | null => {
    const p = join(path, n)
    try {
      const s = statSync(p)
      return s.isFile() ? { path: p, name: n, bytes: s.size } : null
    } catch (e) { throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', p, describeIoError(e)) }
  }
  if (segments.length > 0 || names.includes(STATE_FILE)) return openSpool(path)
  const files = names.filter((n) => EXPORT_FILE.test(n)).map(fileOf).filter((f): f is InputFile => f !== null)
  if (files.length === 0) {
    throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', path,
      'no decision-log files in this directory (a spool has seg-*.jsonl and state.json; exports end in .jsonl, .ndjson, .json, .log or .gz)')
  }
  return { path, kind: 'export', files, anchor: null, instanceId: null, stateError: null }
}

/** Snapshots of a live spool tried before giving up (each one is a few file operations). */
const SPOOL_ATTEMPTS = 5

/**
 * One state of a spool: state.json read, the segments listed and opened, and state.json read
 * again; when it changed, or a segment went between the listing and its opening (the logger
 * delivered and deleted it), the descriptors are closed and it is tried again. The segments are
 * then read through the descriptors up to the sizes they had. (A spool read file by file failed
 * on a segment deleted after delivery, or paired an old acknowledged point with newer files.)
 * Close the descriptors with closeLogInput.
 */
function openSpool (path: string): LogInput {
  let last = ''
  for (let attempt = 1; attempt <= SPOOL_ATTEMPTS; attempt++) {
    const before = readState(path)
    let names: string[]
    try { names = readdirSync(path).sort() } catch (e) {
      throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', path, describeIoError(e))
    }
    const files: InputFile[] = []
    let gone: string | null = null
    let after: SpoolState | null = null
    try {
      for (const n of names.filter((x) => SEGMENT_RE.test(x))) {
        const p = join(path, n)
        let fd: number
        // Non-blocking: a FIFO named like a segment would hold open(2) for ever; it is skipped
        // below like any other file that is not a regular one.
        try { fd = openSync(p, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK) } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') { gone = n; break }
          throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', p, describeIoError(e))
        }
        let st
        try { st = fstatSync(fd) } catch (e) {
          closeSync(fd)
          throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', p, describeIoError(e))
        }
        if (!st.isFile()) { closeSync(fd); continue }
        files.push({ path: p, name: n, bytes: st.size, fd })
      }
      if (gone === null) after = readState(path)
    } catch (e) {
      closeFiles(files)
      throw e
    }
    if (after !== null && after.text === before.text) {
      return { path, kind: 'spool', files, anchor: before.anchor, instanceId: before.instanceId, stateError: before.stateError }
    }
    closeFiles(files)
    last = gone !== null ? `${gone} was deleted while the spool was being opened` : `${STATE_FILE} changed while the spool was being opened`
  }
  throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', path, `the spool changed during each of ${SPOOL_ATTEMPTS} attempts to read one state of it (last: ${last}); run bouncer evidence on a copy of it, or on the control plane's export`)
}

interface SpoolState { text: string | null; anchor: LogInput['anchor']; instanceId: string | null; stateError: string | null }

function readState (dir: string): SpoolState {
  const file = join(dir, STATE_FILE)
  let text: string
  try { text = readFileSync(file, 'utf8') } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { text: null, anchor: null, instanceId: null, stateError: null }
    throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', file, describeIoError(e))
  }
  let s: Record<string, unknown>
  try { s = JSON.parse(text) as Record<string, unknown> } catch {
    return { text, anchor: null, instanceId: null, stateError: `${STATE_FILE}: not valid JSON` }
  }
  const instanceId = s !== null && typeof s === 'object' && typeof s.instance_id === 'string' ? s.instance_id : null
  if (s === null || typeof s !== 'object' || typeof s.acked_seq !== 'number' || !Number.isInteger(s.acked_seq) || s.acked_seq < 0 || typeof s.acked_hash !== 'string') {
    return { text, anchor: null, instanceId, stateError: `${STATE_FILE}: acked_seq / acked_hash missing or invalid` }
  }
  return { text, anchor: { seq: s.acked_seq, hash: s.acked_hash }, instanceId, stateError: null }
}

function closeFiles (files: readonly InputFile[]): void {
  for (const f of files) if (f.fd !== undefined) { try { closeSync(f.fd) } catch { /* already closed */ } }
}

/** openLogInput of each path; what was opened is closed when one of them fails. */
export function openLogInputs (paths: readonly string[]): LogInput[] {
  const out: LogInput[] = []
  try {
    for (const p of paths) out.push(openLogInput(p))
  } catch (e) {
    for (const i of out) closeLogInput(i)
    throw e
  }
  return out
}

/** Close what openLogInput opened (a spool's segments). */
export function closeLogInput (input: LogInput): void { closeFiles(input.files) }

export function describeIoError (e: unknown): string {
  const err = e as NodeJS.ErrnoException
  switch (err.code) {
    case 'ENOENT': return 'no such file or directory'
    case 'EACCES': case 'EPERM': return 'permission denied'
    case 'EISDIR': return 'is a directory'
    default: return err.message ?? String(e)
  }
}

/** Where a record was read: file name, 1-based line of the (decompressed) text, and the
 * 0-based index within a JSON array when the record is an array element. */
export interface Position { readonly file: string; readonly line: number; readonly element: number | null }

export function formatPosition (p: Position): string {
  return `${p.file}:${p.line}${p.element !== null ? ` (element ${p.element + 1})` : ''}`
}

export interface ReadHandlers {
  /** A JSON value that should be one chain record (not yet checked to be an object). `text` is
   * the text it was parsed from, when it was parsed on its own (a JSON line, an array element
   * the scanner cut out); not for the elements of an array parsed as one line. */
  item (value: unknown, pos: Position, text?: string): void
  /** Text that is not JSON, or a file that ends inside a record. */
  malformed (pos: Position, message: string): void
  /** Bytes of the file (as stored, before gunzip) read so far. */
  progress? (bytes: number): void
}

export interface ReadResult {
  /** A spool segment that ends in an incomplete line (a crash mid-write; not a break). */
  tornTail: boolean
}

export interface ReadOptions {
  /** A spool's last segment: an incomplete last line is a torn write, not a malformed record. */
  allowTornTail?: boolean
  /** Malformed parts reported one by one per file (default 20); the rest are counted. */
  maxMalformed?: number
  chunkBytes?: number
  /** For a reader that checks records without needing their values (src/evidence/read-worker.ts):
   * a record's text for which this returns true is known to be one valid JSON object and is
   * handed to item unparsed (value undefined, text given). */
  unparsed?: (text: string) => boolean
}

/** A single record larger than this is refused (the logger never writes one near it). */
const MAX_RECORD_CHARS = 64 * 1024 * 1024

/**
 * Stream one file's records to `h`. A gzip'd file is recognised by its magic bytes. JSON lines
 * are split on newlines and parsed one by one; a file whose first character is `[` goes
 * through a small scanner that cuts top-level array elements out of the text wherever the
 * lines fall. Errors in the content are reported through h.malformed and reading goes on
 * (at most `maxMalformed` of them per file are reported one by one); I/O errors throw.
 */
export async function readLogFile (file: InputFile, h: ReadHandlers, opts: ReadOptions = {}): Promise<ReadResult> {
  const name = file.name
  let gzip = false
  try {
    const fd = file.fd ?? openSync(file.path, 'r')
    try {
      const b = Buffer.alloc(2)
      gzip = readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b
    } finally { if (file.fd === undefined) closeSync(fd) }
  } catch (e) {
    throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', file.path, describeIoError(e))
  }

  const maxMalformed = opts.maxMalformed ?? 20
  let malformedCount = 0
  const malformed = (pos: Position, message: string): void => {
    malformedCount++
    if (malformedCount <= maxMalformed) h.malformed(pos, `${formatPosition(pos)}: ${message}`)
    else if (malformedCount === maxMalformed + 1) h.malformed(pos, `${formatPosition(pos)}: ${message} (further unreadable records in ${name} are counted, not listed)`)
  }

  const splitter = new Splitter(name, h.item, malformed, opts.unparsed)
  const highWaterMark = opts.chunkBytes ?? 1 << 20
  // A spool segment opened with the spool's state: that many bytes of it, from its descriptor
  // (kept open: closeLogInput closes it).
  const raw: Readable = file.fd === undefined
    ? createReadStream(file.path, { highWaterMark })
    : file.bytes === 0 ? Readable.from([]) : createReadStream('', { fd: file.fd, start: 0, end: file.bytes - 1, autoClose: false, highWaterMark })
  let bytes = 0
  raw.on('data', (c: Buffer | string) => {
    bytes += c.length
    h.progress?.(bytes)
  })
  const stream = gzip ? raw.pipe(createGunzip(opts.chunkBytes !== undefined ? { chunkSize: Math.max(64, opts.chunkBytes) } : {})) : raw
  if (gzip) raw.on('error', (e: Error) => stream.destroy(e))
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) splitter.pushBytes(chunk)
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    if (err.code !== undefined && /^Z_|^ERR_/.test(err.code) && gzip) {
      // A truncated or corrupt gzip stream: what was decompressed so far has been read.
      splitter.end(false)
      malformed({ file: name, line: splitter.line, element: null }, `gzip data is truncated or corrupt (${err.message}); the rest of the file cannot be read`)
      return { tornTail: false }
    }
    throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', file.path, describeIoError(e))
  }
  return { tornTail: splitter.end(opts.allowTornTail === true) }
}

const UNPARSED = Symbol('unparsed')

/** Cuts records out of text pushed in arbitrary pieces. */
class Splitter {
  private buf = ''
  private mode: 'detect' | 'lines' | 'scan' = 'detect'
  /** lines mode: no line has parsed yet (a first line that fails may be a pretty-printed object). */
  private noneYet = true
  line = 1 // line of buf[0]
  // scan mode state
  private pos = 0
  private depth = 0
  private inStr = false
  private esc = false
  private topArray = false
  private itemStart = -1
  /** The start of an unfinished record read before the current text (itemStart is then 0):
   * kept as pieces and joined once the record ends. Appending every new piece of text to the
   * record's start and scanning the joined string made V8 copy the whole record again per
   * piece (a 4 MB record took 1.6 s, a 48 MB one minutes). */
  private held: string[] = []
  private heldLength = 0
  private itemLine = 0
  private primitive = false
  private element = 0
  private skipLine = false

  constructor (
    private readonly name: string,
    private readonly item: (value: unknown, pos: Position, text?: string) => void,
    private readonly malformed: (pos: Position, message: string) => void,
    private readonly unparsed?: (text: string) => boolean,
  ) {}

  /** JSON.parse(text), or UNPARSED for text the reader does not need parsed (ReadOptions.unparsed). */
  private parse (text: string): unknown {
    return this.unparsed !== undefined && this.unparsed(text) ? UNPARSED : parseJsonExact(text)
  }

  private readonly decoder = new StringDecoder('utf8')
  /** lines mode works on bytes (no decoding of the whole text, one string per line); the
   * scanner works on text. */
  private restBytes: Buffer | null = null
  /** The chunks of a line not yet ended, kept apart and joined once at its end: joining them
   * chunk by chunk copied a long record again for every 16 KiB (a 48 MB line took minutes). */
  private restChunks: Buffer[] = []
  private restLength = 0

  private takeRest (): Buffer | null {
    if (this.restChunks.length === 0) return null
    const b = this.restChunks.length === 1 ? this.restChunks[0]! : Buffer.concat(this.restChunks, this.restLength)
    this.restChunks = []
    this.restLength = 0
    return b
  }

  pushBytes (chunk: Buffer): void {
    if (this.mode === 'detect') {
      let i = 0
      while (i < chunk.length && (chunk[i] === 0x20 || chunk[i] === 0x0a || chunk[i] === 0x0d || chunk[i] === 0x09)) i++
      if (i === chunk.length) {
        this.restBytes = this.restBytes === null ? Buffer.from(chunk) : Buffer.concat([this.restBytes, chunk])
        return
      }
      this.mode = chunk[i] === 0x5b ? 'scan' : 'lines'
      if (this.restBytes !== null) { chunk = Buffer.concat([this.restBytes, chunk]); this.restBytes = null }
    }
    if (this.mode !== 'lines') { this.push(this.decoder.write(chunk)); return }
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(10, start)
      if (nl < 0) break
      let bytes = chunk.subarray(start, nl)
      const rest = this.takeRest()
      if (rest !== null) bytes = Buffer.concat([rest, bytes])
      start = nl + 1
      const line = this.line++
      const text = bytes.toString('utf8').trim()
      if (text.length === 0) continue
      let v: unknown
      try { v = this.parse(text) } catch {
        if (this.noneYet) {
          // The first line is not JSON by itself: perhaps a pretty-printed object. The scanner
          // reads the text from there.
          this.line = line
          this.toScan(text + '\n' + this.decoder.write(chunk.subarray(start)))
          return
        }
        this.malformed({ file: this.name, line, element: null }, 'not valid JSON')
        continue
      }
      this.deliver(v, line, text)
    }
    if (start < chunk.length) {
      const tail = chunk.subarray(start)
      this.restChunks.push(Buffer.from(tail))
      this.restLength += tail.length
      if (this.restLength > MAX_RECORD_CHARS) {
        this.malformed({ file: this.name, line: this.line, element: null }, `a line longer than ${MAX_RECORD_CHARS} bytes; skipped`)
        this.restChunks = []
        this.restLength = 0
      }
    }
  }

  push (text: string): void {
    if (text.length === 0) return
    // Scanning goes on in the new text alone: what came before is scanned, and what an
    // unfinished record needs of it is held.
    if (this.mode === 'scan') { this.buf = text; this.pos = 0; this.scan(); return }
    this.buf = this.buf.length === 0 ? text : this.buf + text
    if (this.mode === 'detect') {
      const m = /\S/.exec(this.buf)
      if (m === null) return
      this.mode = m[0] === '[' ? 'scan' : 'lines'
    }
    if (this.mode === 'lines') this.lines(false)
    else this.scan()
  }

  /** End of input. Returns true if the text ended in an unparseable line without a newline
   * and torn tails are allowed. */
  end (allowTorn: boolean): boolean {
    const rest = this.mode === 'lines' ? this.takeRest() : this.restBytes
    if (rest !== null) {
      const text = rest.toString('utf8')
      this.restBytes = null
      if (this.mode === 'detect') return false
      this.buf = text
    }
    if (this.mode === 'scan') this.push(this.decoder.end())
    if (this.mode === 'lines') return this.lines(true, allowTorn)
    if (this.mode === 'scan' && (this.itemStart >= 0 || this.depth > 0)) {
      const start = this.itemStart >= 0 ? this.itemLine : this.line
      if (this.primitive && this.itemStart >= 0) {
        this.emit(this.record(this.buf.length).trim(), this.itemLine, this.topArray ? this.element : null)
      } else {
        this.malformed({ file: this.name, line: start, element: this.topArray ? this.element : null }, 'the file ends inside a record (truncated)')
      }
    }
    return false
  }

  private emit (text: string, line: number, element: number | null): void {
    let v: unknown
    try { v = this.parse(text) } catch {
      this.malformed({ file: this.name, line, element }, 'not valid JSON')
      return
    }
    this.item(v === UNPARSED ? undefined : v, { file: this.name, line, element }, text)
  }

  private lines (final: boolean, allowTorn = false): boolean {
    const buf = this.buf
    let start = 0
    for (;;) {
      const nl = buf.indexOf('\n', start)
      if (nl < 0) break
      const lineStart = start
      const text = buf.slice(start, nl).trim()
      const line = this.line++
      start = nl + 1
      if (text.length === 0) continue
      let v: unknown
      try { v = this.parse(text) } catch {
        if (this.noneYet) {
          // The first line is not JSON by itself: perhaps a pretty-printed object. The scanner
          // reads the text from there.
          this.line = line
          this.toScan(buf.slice(lineStart))
          return false
        }
        this.malformed({ file: this.name, line, element: null }, 'not valid JSON')
        continue
      }
      this.deliver(v, line, text)
    }
    this.buf = start > 0 ? buf.slice(start) : buf
    if (!final) {
      if (this.buf.length > MAX_RECORD_CHARS) {
        this.malformed({ file: this.name, line: this.line, element: null }, `a line longer than ${MAX_RECORD_CHARS} characters; skipped`)
        this.buf = ''
      }
      return false
    }
    const text = this.buf.trim()
    this.buf = ''
    if (text.length === 0) return false
    let v: unknown
    try { v = this.parse(text) } catch {
      if (allowTorn) return true // no newline after it: a torn write, cut off at the next start
      if (this.noneYet) {
        this.toScan(text)
        return this.end(false)
      }
      this.malformed({ file: this.name, line: this.line, element: null }, 'not valid JSON (the file ends in an incomplete line)')
      return false
    }
    this.deliver(v, this.line, text)
    return false
  }

  private toScan (text: string): void {
    this.mode = 'scan'
    this.buf = text
    this.pos = 0
    this.depth = 0
    this.inStr = false
    this.esc = false
    this.itemStart = -1
    this.scan()
  }

  private deliver (v: unknown, line: number, text: string): void {
    this.noneYet = false
    if (v === UNPARSED) this.item(undefined, { file: this.name, line, element: null }, text)
    else if (Array.isArray(v)) {
      // Its elements reach the checker without their text, so a member named twice in one of
      // them (JSON.parse keeps the last, other readers the first) is looked for here; such a
      // line was edited, and none of its records is read (verify-log refuses it too).
      const twice = firstDuplicateMember(text)
      if (twice !== null) {
        const [, element, ...member] = twice.split('/')
        this.malformed({ file: this.name, line, element: Number(element) }, `member /${member.join('/')} appears twice in this element (JSON.parse keeps the last, other readers the first: the record was edited); the line's records are not read`)
        return
      }
      for (let i = 0; i < v.length; i++) this.item(v[i], { file: this.name, line, element: i })
    } else this.item(v, { file: this.name, line, element: null }, text)
  }

  /** The scanner: top-level values are objects (one record each) or arrays (one record per
   * element); strings are skipped as a whole; newlines are counted outside strings. */
  private scan (): void {
    const buf = this.buf
    const n = buf.length
    let i = this.pos
    let depth = this.depth
    let inStr = this.inStr
    let esc = this.esc
    // Inside a string only a quote, a backslash or a newline matters: jump to the next one. Their
    // next positions at or after i are kept (-1: none left in buf) and looked up again only once
    // passed, so each part of buf is searched once.
    let nq = -2
    let nb = -2
    let nn = -2
    for (; i < n; i++) {
      if (inStr && !esc) {
        if (nq !== -1 && nq < i) nq = buf.indexOf('"', i)
        if (nb !== -1 && nb < i) nb = buf.indexOf('\\', i)
        if (nn !== -1 && nn < i) nn = buf.indexOf('\n', i)
        let stop = nq < 0 ? n : nq
        if (nb >= 0 && nb < stop) stop = nb
        if (nn >= 0 && nn < stop) stop = nn
        if (stop === n) { i = n; break } // the string goes on past what has been read
        i = stop // handled below
      }
      const c = buf.charCodeAt(i)
      if (inStr) {
        if (esc) esc = false
        else if (c === 92) esc = true
        else if (c === 34) inStr = false
        else if (c === 10) this.line++
        continue
      }
      if (c === 10) {
        this.line++
        if (this.skipLine) this.skipLine = false
        continue
      }
      if (this.skipLine) continue
      if (c === 32 || c === 9 || c === 13) continue
      if (depth === 0) {
        if (c === 91) { // [
          this.topArray = true
          this.element = 0
          depth = 1
        } else if (c === 123) { // {
          this.topArray = false
          this.itemStart = i
          this.itemLine = this.line
          this.primitive = false
          depth = 1
        } else {
          this.malformed({ file: this.name, line: this.line, element: null }, 'not a JSON object or array')
          this.skipLine = true
        }
        continue
      }
      if (this.topArray && depth === 1) {
        if (this.itemStart < 0) {
          if (c === 44) continue // , between elements
          if (c === 93) { depth = 0; this.topArray = false; continue } // ] end of the array
          this.itemStart = i
          this.itemLine = this.line
          this.primitive = c !== 123 && c !== 91
          if (!this.primitive) { depth = 2; continue }
          if (c === 34) inStr = true
          continue
        }
        // inside a primitive element
        if (c === 44 || c === 93) {
          this.emit(this.record(i).trim(), this.itemLine, this.element++)
          this.itemStart = -1
          if (c === 93) { depth = 0; this.topArray = false }
          continue
        }
        if (c === 34) inStr = true
        continue
      }
      if (c === 34) { inStr = true; continue }
      if (c === 123 || c === 91) { depth++; continue }
      if (c === 125 || c === 93) {
        depth--
        if (this.topArray && depth === 1) {
          this.emit(this.record(i + 1), this.itemLine, this.element++)
          this.itemStart = -1
        } else if (!this.topArray && depth === 0) {
          this.emit(this.record(i + 1), this.itemLine, null)
          this.itemStart = -1
        }
      }
    }
    this.depth = depth
    this.inStr = inStr
    this.esc = esc
    // Keep only what an unfinished record needs.
    if (this.itemStart >= 0 && this.heldLength + n - this.itemStart > MAX_RECORD_CHARS) {
      this.malformed({ file: this.name, line: this.itemLine, element: this.topArray ? this.element : null }, `a record longer than ${MAX_RECORD_CHARS} characters; the rest of the file is skipped`)
      this.buf = ''
      this.pos = 0
      this.itemStart = -1
      this.held = []
      this.heldLength = 0
      this.depth = 0
      this.mode = 'detect'
      this.skipLine = true
      return
    }
    if (this.itemStart >= 0) {
      const piece = this.itemStart === 0 ? buf : buf.slice(this.itemStart)
      this.held.push(piece)
      this.heldLength += piece.length
      this.itemStart = 0
    }
    this.buf = ''
    this.pos = 0
  }

  /** The text of the record from its start to `end` in the current text (held pieces first). */
  private record (end: number): string {
    if (this.held.length === 0) return this.buf.slice(this.itemStart, end)
    const text = this.held.join('') + this.buf.slice(0, end)
    this.held = []
    this.heldLength = 0
    return text
  }
}
