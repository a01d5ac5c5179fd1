// The bounded on-disk spool: sealed event lines appended to segment files, removed only once a
// sink has acknowledged them.
//
// Layout of the spool directory:
//   seg-<first seq, 20 digits>.jsonl   segments; one sealed event per line ("\n"-terminated);
//                                      the newest one is appended to, older ones are read-only
//   state.json                         {"version":1,"instance_id":"…","acked_seq":N,"acked_hash":"…",
//                                       "delivered_seq":M,"delivered_hash":"…"}: acked is the
//                                      last event needing no further delivery (delivered, or
//                                      dropped and declared); delivered is the last one a sink
//                                      took. instance_id names the chain (labels.id by default).
//                                      Written with tmp+rename, and (fsync "interval") only once
//                                      the lines it acknowledges are synced (syncThrough).
//   LOCK                               pid of the process using the spool
//
// Invariants: segments hold consecutive seqs; everything with seq <= acked_seq may be deleted;
// the chain head after a restart is the last line on disk, or acked when no segment is left.
// Lines are written whole (one write(2) per append, or per turn's 48 KiB of queued lines), so
// a process crash (SIGKILL) leaves complete lines only; a torn line (power loss, full disk) is
// cut off at the next open.
//
// Who waits for the disk: append() writes at once, one write(2) per call. enqueue() accepts
// lines at once and the writer puts everything accepted during one event-loop turn into one
// write(2) per 48 KiB at the end of the turn (group commit; with fsync "always", one fdatasync per group);
// callers that must not proceed before their line is on disk await the returned promise. The
// write itself goes into the page cache and stays on the event loop: handing each one to the
// thread pool costs more (a thread hand-off per write) than the write. Everything that waits on
// the device — fdatasync, state.json (tmp + fsync + rename), file closes — runs on the thread
// pool. Only the writer closes segment fds, after any fsync in flight on them: an fd closed under
// an in-flight operation could be reused by another file. For the same reason the reader's own
// handle (kept open across reads of one segment) is closed only when no read is using it.

import {
  appendFileSync, close as closeCb, closeSync, existsSync, fdatasync as fdatasyncCb, fsyncSync, ftruncateSync, mkdirSync, openSync,
  readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs'
import { open as openAsync, rename as renameAsync, unlink as unlinkAsync, type FileHandle } from 'node:fs/promises'
import { promisify } from 'node:util'
import { randomUUID } from 'node:crypto'
import { join, resolve } from 'node:path'
import { BouncerError } from '../errors.js'
import { GENESIS, type ChainHead, parseChainPrefix, parseChainPrefixBytes } from './chain.js'
import type { FsyncPolicy } from './config.js'
import { declarationsOf } from './declarations.js'
import type { DeclaredRange, DropDeclaration } from './event.js'

export interface SpoolOptions {
  readonly dir: string
  readonly segment_max_bytes: number
  readonly fsync: FsyncPolicy
  readonly fsync_interval_ms: number
}

export interface SpoolHooks {
  warn?: (msg: string, detail?: Record<string, unknown>) => void
  /** Queued lines reached the disk (read() can return them). */
  written?: () => void
  /** A queued write failed: `events` decision events were lost and the chain continues from
   * `head`, the last line on disk. */
  lost?: (head: ChainHead, events: number, error: Error) => void
  /** The writer is about to write what was queued this turn: lines reserved for (reserve())
   * are enqueued now. */
  collect?: () => void
}

interface Segment {
  readonly name: string
  readonly path: string
  readonly firstSeq: number
  readonly firstPrevHash: string
  /** Last line accepted (on disk or queued). */
  lastSeq: number
  lastHash: string
  /** Bytes accepted (on disk or queued). */
  bytes: number
  /** Bytes on disk: readers never go past this. */
  written: number
  writtenSeq: number
  writtenHash: string
  /** Open for appending; closed only by the writer. */
  fd: number | null
  /** Written since the last fsync. */
  dirty: boolean
  /** Deleted (delivered or dropped): lines still queued for it are not written. */
  gone: boolean
}

/** Lines queued for one segment. */
interface Chunk { seg: Segment; lines: string[]; bytes: number; events: number; lastSeq: number; lastHash: string }

/** Everything accepted in one turn: on disk together, settled together. */
interface Group { promise: Promise<boolean>; settle: (ok: boolean) => void; done: boolean }

const RESOLVED_TRUE: Promise<boolean> = Promise.resolve(true)

/**
 * Queued lines are joined into one write of at most this many bytes (a longer single line is
 * written alone). A string past V8's largest regular heap object (128 KiB) goes to the large
 * object space, fresh pages every time: joining and writing a turn's lines cost ~8 µs per 1.7 KB
 * event above it against ~1 µs below (page faults are dear on these VMs). 48 KiB of UTF-8 is at
 * most 96 KiB as a two-byte string.
 */
export const WRITE_CHUNK_MAX_BYTES = 48 * 1024
// Looked up at each call (not bound once by promisify): tests wrap node:fs's fdatasync to fail it
// or to act while it is in flight.
const fdatasyncAsync = (fd: number): Promise<void> => new Promise((resolve, reject) => { fdatasyncCb(fd, (e) => { if (e === null) resolve(); else reject(e) }) })
const closeAsync = promisify(closeCb)

/** Where the next unread line starts. */
export interface Position { readonly segment: string; readonly offset: number }

export interface SpoolItem {
  /** The sealed line as stored: UTF-8, without its newline (a view of the read buffer, not a copy). */
  readonly bytes: Buffer
  readonly seq: number
  readonly prevHash: string
  readonly hash: string
  /** Position just after this line (pass to ack). */
  readonly end: Position
}

/** What dropOldest() removed that had not been delivered. */
export interface DroppedSegment {
  /** Last seq and hash in the deleted segment. */
  toSeq: number
  toHash: string
  /** Undelivered decision events deleted. */
  decisions: number
  /** Sum of `count` of undelivered drop markers deleted with it: losses they declared that
   * must now be declared again by the next marker. */
  carried: number
  /** The ranges those markers declared (each one's own and its `also`), as they were written:
   * the logger declares again, exactly, those the next marker's range does not cover. */
  lostRanges: DeclaredRange[]
}

// A drop marker line (chain.ts layout; a marker's members after the chain fields are
// decision_id, drop, …, while a decision event's decision_id is followed by erased/error/input/labels).
export function isMarkerLine (line: string): boolean { return MARKER_LINE.test(line) }
const MARKER_LINE = /^\{"seq":\d+,"prev_hash":"[0-9a-f]{64}","hash":"[0-9a-f]{64}","decision_id":"[^"\\]*","drop":\{/

export const SEGMENT_RE = /^seg-(\d{20})\.jsonl$/
export const STATE_FILE = 'state.json'
/** Damaged spool lines, kept (base64, with their segment and offset) before their segment goes. */
export const CORRUPT_FILE = 'corrupt.jsonl'

/** A drop declaration whose marker is not known to be on disk, and the seq its marker took (null: none yet). */
export interface PendingDrop { drop: DropDeclaration; marker_seq: number | null }
const MAX_CORRUPT_BYTES = 16 * 1024 * 1024
const LOCK_FILE = 'LOCK'

export function segmentName (firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(20, '0')}.jsonl`
}

// Spools opened by this process, so two loggers in one process cannot share a directory
// (the pid in LOCK cannot tell them apart).
const openInProcess = new Set<string>()

export class Spool {
  readonly dir: string
  private readonly opts: SpoolOptions
  private readonly hooks: SpoolHooks
  private segments: Segment[] = []
  private active: Segment | null = null
  private totalBytes = 0
  private ackedHead: ChainHead = GENESIS
  private deliveredHead: ChainHead = GENESIS
  /** Last line accepted (written or queued). */
  private acceptedHead: ChainHead = GENESIS
  /** Last line on disk. */
  private writtenHead: ChainHead = GENESIS
  private cursor: Position | null = null // null: start of the first segment
  private fsyncTimer: NodeJS.Timeout | null = null
  private opened = false
  // The writer (queued mode and every fd close): one drain loop at a time.
  private pending: Chunk[] = []
  /** Where a chunk is encoded before its write (see encode). */
  private scratch = Buffer.allocUnsafe(WRITE_CHUNK_MAX_BYTES)
  private pendingGroup: Group | null = null
  /** Files of segments dropOldest() took out, with the seq of the drop marker declaring them once
   * the logger chained one (confirmDrops): deleted once that seq is on disk (unlinkDropped). */
  private dropped: Array<{ path: string; markerSeq: number | null; deliveredAtDrop: number }> = []
  /** The last seq known on stable storage as the fsync policy has it (with "always", after its
   *  fdatasync): a dropped file goes only once the marker declaring it is that far. writtenHead
   *  is raised as a queued line is written, before its fdatasync, and the state loop deleted
   *  files on it: a crash then could lose the marker with the file already gone (a flaky
   *  test showed the deletion ahead of the marker's fsync). */
  private durableSeq = 0
  /** The acknowledged seq state.json holds (as last written, or read at open). */
  private persistedAcked = 0
  /** Dropped segments whose events were all acknowledged: deleted once state.json records that
   *  (unlinkAckedDropped), so a crash before cannot leave a gap the state does not explain. */
  private ackedDropped: Array<{ path: string; lastSeq: number }> = []
  /** A drop whose marker is not known to be on disk (the logger's), kept in state.json so that a
   * restart chains it again rather than losing it (see DecisionLogger.declare). */
  private pendingDropState: PendingDrop | null = null
  /** Set by loseGroup(): the pending group lost a line before it was queued. */
  private groupLost = false
  private lastGroup: Group | null = null
  private toClose: Segment[] = []
  /** Retired segments whose close-time fdatasync failed: open until a sync succeeds. */
  private readonly unsyncedRetired = new Set<Segment>()
  private fsyncDue = false
  /** State writes waiting for the segments to be synced (syncThrough). */
  private syncWaiters: Array<(ok: boolean) => void> = []
  /** fdatasyncs in flight (a segment they run on is not dirty, yet not synced either). */
  private syncing = 0
  /** Asks for the fdatasync a state write waits for, if the periodic one has not come by then. */
  private syncWaitTimer: NodeJS.Timeout | null = null
  /** settled() is waiting: a state write does not wait for the periodic fdatasync. */
  private settling = 0
  private writing = false
  private kickScheduled = false
  private idleWaiters: Array<() => void> = []
  // The uploader reads the same segment batch after batch: its read handle stays open between
  // reads (an open and a close per batch cost ~2 us per event at 3,500 events/s). Only read()
  // uses or closes it while it runs; a deleted segment's handle is closed at once when no read
  // is in flight (an open handle keeps the file's disk space), else when that read ends.
  private reader: { seg: Segment; fh: FileHandle } | null = null
  private reading = false
  // state.json writer: coalesced, one write in flight.
  private stateDirty = false
  private stateWriting: Promise<void> | null = null
  /** Identifies this spool, and so its chain, across restarts (labels.id by default). */
  instanceId = ''
  /** Bytes cut off torn or unreadable lines at open(). */
  recoveredBytes = 0
  /** Ranges of seqs above the acknowledged point that open() found missing from the segment
   * files (a segment deleted by hand, or lost with the disk) and that no drop marker on disk or
   * pending drop declares: the logger declares them (`missing_on_disk`). Ascending. */
  missingOnDisk: DeclaredRange[] = []
  /** Lines skipped by read() because they do not start with a chain prefix (tampering/corruption). */
  corruptLines = 0
  /** segment:offset of the damaged lines CORRUPT_FILE holds (read from it when first needed). */
  private quarantined: Set<string> | null = null
  /** segment:offset of the damaged lines this process met (corruptLines counts each once). */
  private readonly counted = new Set<string>()

  constructor (opts: SpoolOptions, hooks: SpoolHooks = {}) {
    this.opts = opts
    this.hooks = hooks
    this.dir = resolve(opts.dir)
  }

  /** Bytes accepted (on disk or queued). */
  get bytes (): number { return this.totalBytes }
  get segmentCount (): number { return this.segments.length }
  /** Last line accepted: the chain continues from here. */
  get head (): ChainHead { return this.acceptedHead }
  /** Last event that needs no further delivery (delivered, or dropped and declared). */
  get acked (): ChainHead { return this.ackedHead }
  /** Last event a sink took. Everything after it is undelivered (dropped or still here). */
  get delivered (): ChainHead { return this.deliveredHead }
  /** Records accepted and still to be delivered (segments hold consecutive seqs above acked). */
  get pendingEvents (): number { return Math.max(0, this.acceptedHead.seq - this.ackedHead.seq) }
  /** Records on disk and still to be delivered: what read() can return. */
  get readableEvents (): number { return Math.max(0, this.writtenHead.seq - this.ackedHead.seq) }
  /** Bytes on disk after the read cursor (about what read() can return). */
  get readableBytes (): number {
    const c = this.cursor
    let n = 0
    let after = c === null
    for (const seg of this.segments) {
      if (after) n += seg.written
      else if (seg.name === c!.segment) { n += Math.max(0, seg.written - c!.offset); after = true }
    }
    return after ? n : this.segments.reduce((m, seg) => m + seg.written, 0)
  }

  /** Lock the directory, cut torn tails, and find the chain head and the acknowledged point. */
  open (): void {
    if (this.opened) return
    try { mkdirSync(this.dir, { recursive: true, mode: 0o700 }) } catch (e) { throw this.err('cannot create directory', e) }
    this.lock()
    try {
      const state = this.readState()
      this.ackedHead = state?.acked ?? GENESIS
      this.persistedAcked = this.ackedHead.seq
      this.pendingDropState = state?.pendingDrop ?? null
      this.deliveredHead = state?.delivered ?? this.ackedHead
      if (state?.instanceId !== undefined) this.instanceId = state.instanceId
      else { this.instanceId = randomUUID(); this.writeStateSync() }
      const names = readdirSync(this.dir).filter((n) => SEGMENT_RE.test(n)).sort()
      for (const name of names) {
        const seg = this.recoverSegment(name)
        if (seg !== null) this.segments.push(seg)
      }
      const last = this.segments[this.segments.length - 1]
      this.writtenHead = last !== undefined ? { seq: last.lastSeq, hash: last.lastHash } : this.ackedHead
      if (this.ackedHead.seq > this.writtenHead.seq) this.writtenHead = this.ackedHead
      this.durableSeq = this.writtenHead.seq
      this.acceptedHead = this.writtenHead
      this.deleteAcked(this.ackedHead)
      this.missingOnDisk = this.findMissing()
      if (last !== undefined && this.segments.includes(last) && last.bytes < this.opts.segment_max_bytes) {
        last.fd = openSync(last.path, 'a', 0o600)
        this.active = last
      }
      this.totalBytes = this.segments.reduce((n, s) => n + s.bytes, 0)
    } catch (e) {
      for (const s of this.segments) if (s.fd !== null) { try { closeSync(s.fd) } catch { /* ignore */ } }
      this.unlock()
      throw e instanceof BouncerError ? e : this.err('cannot open', e)
    }
    if (this.opts.fsync === 'interval') {
      this.fsyncTimer = setInterval(() => { this.fsyncDue = true; this.kick() }, this.opts.fsync_interval_ms)
      this.fsyncTimer.unref()
    }
    this.opened = true
  }

  /**
   * Append whole lines (each ending in "\n", `bytes` long in UTF-8) for consecutive entries,
   * synchronously: when it returns, the bytes are in the OS page cache and survive a process
   * crash; with fsync "always" they are also on stable storage. Throws on I/O errors, leaving
   * the file as it was. Not to be mixed with enqueue() while queued lines are unwritten.
   */
  append (data: string, bytes: number, first: { seq: number; prevHash: string }, last: ChainHead): void {
    if (this.pending.length > 0) throw this.err('write failed', new Error('synchronous append while queued lines are unwritten'))
    const seg = this.segmentFor(first)
    const fd = seg.fd!
    let written = 0
    try {
      // One write(2) of the whole string (Node encodes it straight into the syscall buffer).
      // Regular files take it whole; a short count means the disk is full or failing.
      written = writeSync(fd, data)
      if (written !== bytes) throw new Error(`short write (${written} of ${bytes} bytes)`)
      // Before the bookkeeping: a line whose fsync failed is cut like a failed write, or the
      // caller (told it failed) would chain its next line onto the same seq.
      if (this.opts.fsync === 'always') fsyncSync(fd)
    } catch (e) {
      // Do not leave half a line behind: the next append would glue onto it.
      if (written > 0) { try { ftruncateSync(fd, seg.written) } catch { /* reported below */ } }
      // A segment nothing reached is removed, as the group writer removes it (writeFailed): the
      // next append opens a file of its own instead of failing on this one for ever.
      if (seg.written === 0) {
        try { this.remove(seg) } catch { /* an empty file is cut at the next open */ }
        const last = this.segments[this.segments.length - 1]
        if (this.active === null && last !== undefined && last.fd !== null && !this.toClose.includes(last)) this.active = last
      }
      throw this.err('write failed', e)
    }
    this.accept(seg, bytes, last)
    seg.written = seg.bytes
    seg.writtenSeq = last.seq
    seg.writtenHash = last.hash
    this.writtenHead = last
    // (With fsync "always" the append above synced it.)
    this.durableSeq = last.seq
    if (this.opts.fsync !== 'always') seg.dirty = true
    this.unlinkDropped()
  }

  /**
   * Accept lines (as append()) to be written by the writer: all lines queued in one event-loop
   * turn go to disk in one write(2) at the end of the turn (with fsync "always", followed by one
   * fdatasync on the thread pool). `events` is how many of the
   * lines are decision events (for loss accounting). Returns a promise that resolves true once
   * the lines are on disk, or false if the write failed and they were lost (hooks.lost has then
   * been told, and head() is back at the last line on disk).
   */
  enqueue (data: string, bytes: number, events: number, first: { seq: number; prevHash: string }, last: ChainHead): Promise<boolean> {
    const seg = this.segmentFor(first)
    this.accept(seg, bytes, last)
    let group = this.pendingGroup
    if (group === null) {
      let settle!: (ok: boolean) => void
      const promise = new Promise<boolean>((resolve) => { settle = resolve })
      group = this.pendingGroup = this.lastGroup = { promise, settle, done: false }
    }
    const tail = this.pending[this.pending.length - 1]
    if (tail !== undefined && tail.seg === seg && tail.bytes + bytes <= WRITE_CHUNK_MAX_BYTES) {
      tail.lines.push(data)
      tail.bytes += bytes
      tail.events += events
      tail.lastSeq = last.seq
      tail.lastHash = last.hash
    } else {
      this.pending.push({ seg, lines: [data], bytes, events, lastSeq: last.seq, lastHash: last.hash })
    }
    this.kick()
    return group.promise
  }

  /**
   * Lines will be enqueued for this turn's write by hooks.collect, which the writer calls at the
   * end of the turn before it writes: whenWritten() waits for that write from now on.
   */
  reserve (): void {
    if (this.pendingGroup === null) {
      let settle!: (ok: boolean) => void
      const promise = new Promise<boolean>((resolve) => { settle = resolve })
      this.pendingGroup = this.lastGroup = { promise, settle, done: false }
    }
    this.kick()
  }

  /**
   * A line of the group now pending could not be accepted (its segment could not be created, or
   * room could not be made): the group resolves false once written, so that the requests waiting
   * on it are refused, as they would be had the write itself failed.
   */
  loseGroup (): void {
    if (this.pendingGroup !== null) this.groupLost = true
  }

  /** Resolves once everything accepted so far is on disk (false if some of it was lost). */
  whenWritten (): Promise<boolean> {
    const g = this.lastGroup
    return g === null || g.done ? RESOLVED_TRUE : g.promise
  }

  /** Resolves when the writers have nothing left to do (queued lines, fd closes, fsyncs,
   * state.json and the deletions it allows). */
  async settled (): Promise<void> {
    this.settling++
    try {
      for (;;) {
        // A state write waiting for the periodic fdatasync (syncThrough) gets one now.
        if (this.syncWaiters.length > 0) this.requestSync()
        if (!this.isIdle()) await new Promise<void>((resolve) => { this.idleWaiters.push(resolve) })
        else if (this.stateWriting !== null) await this.stateWriting
        else return
      }
    } finally { this.settling-- }
  }

  /**
   * Read undelivered lines from the cursor on, up to about maxBytes (at least one line) and at
   * most maxLines. Only bytes already on disk are read, so appends may continue meanwhile.
   */
  async read (maxBytes: number, maxLines = Infinity): Promise<SpoolItem[]> {
    // A second reader while one is in flight (not the uploader's pattern) uses handles of its own.
    if (this.reading) return this.readLines(maxBytes, maxLines, false)
    this.reading = true
    try {
      return await this.readLines(maxBytes, maxLines, true)
    } finally {
      this.reading = false
      const r = this.reader
      if (r !== null && (r.seg.gone || !this.opened)) { this.reader = null; await closeQuietly(r.fh) }
    }
  }

  private async readLines (maxBytes: number, maxLines: number, keep: boolean): Promise<SpoolItem[]> {
    const items: SpoolItem[] = []
    let total = 0
    let start = this.cursor
    let seg = start === null ? this.segments[0] : this.segments.find((s) => s.name === start!.segment)
    if (seg === undefined) { seg = this.segments[0]; start = null }
    // The segment list changes while this awaits (delivered segments are deleted once state.json
    // is written, dropOldest deletes the oldest, rotation adds new ones): step to the next
    // segment by seq, never by position in the list, or a deletion shifts the list under the
    // loop and a whole segment is skipped (and acknowledged unsent by the next ack).
    let stop = false
    for (; !stop && seg !== undefined && total < maxBytes && items.length < maxLines; seg = this.segmentAfter(seg)) {
      let offset = start !== null && start.segment === seg.name ? start.offset : 0
      if (offset >= seg.written) continue
      let fh: FileHandle
      if (keep && this.reader !== null && this.reader.seg === seg) fh = this.reader.fh
      else {
        if (keep && this.reader !== null) { const old = this.reader.fh; this.reader = null; await closeQuietly(old) }
        try { fh = await openAsync(seg.path, 'r') } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') break // dropped meanwhile; next read starts over
          throw this.err('read failed', e)
        }
        if (keep) this.reader = { seg, fh }
      }
      try {
        // seg.written is looked at again each time: the writer may append to this segment while
        // this awaits, then rotate. Stepping on at the size first seen skipped those lines, and
        // the next ack acknowledged them unsent (review, session 54). Each look is a snapshot:
        // never past what was on disk then.
        while (offset < seg.written && total < maxBytes && items.length < maxLines) {
          const limit = seg.written
          // Read what the byte budget asks for, but at least 64 KiB and always a full line.
          let size = Math.min(limit - offset, Math.max(maxBytes - total, 65536))
          // Not zero-filled (a few hundred KiB per upload): only the `got` bytes read are looked at.
          let buf = Buffer.allocUnsafe(size)
          let got = (await fh.read(buf, 0, size, offset)).bytesRead
          // (A read shorter than asked: the file is shorter than written says, cut from outside;
          // doubling could never reach the limit.)
          while (buf.subarray(0, got).lastIndexOf(10) < 0 && offset + got < limit && got === size) {
            size = Math.min(limit - offset, size * 2)
            buf = Buffer.allocUnsafe(size)
            got = (await fh.read(buf, 0, size, offset)).bytesRead
          }
          const data = buf.subarray(0, got)
          let p = 0
          for (;;) {
            const nl = data.indexOf(10, p)
            if (nl < 0) break
            const from = p
            const lineBytes = nl + 1 - p
            p = nl + 1
            const end = { segment: seg.name, offset: offset + p }
            const prefix = parseChainPrefixBytes(buf, from, nl)
            if (prefix === null) {
              this.quarantine(seg.name, offset + from, buf.subarray(from, nl))
              continue
            }
            if (prefix.seq <= this.ackedHead.seq) continue
            items.push({ bytes: buf.subarray(from, nl), seq: prefix.seq, prevHash: prefix.prevHash, hash: prefix.hash, end })
            total += lineBytes
            if (total >= maxBytes || items.length >= maxLines) break
          }
          if (p === 0) {
            // No line end up to `written`, which only ever advances by whole lines: the bytes are
            // damaged on disk. Kept in corrupt.jsonl and passed over, as a damaged line is
            // (stopping here held every later event back for good). A file shorter than
            // `written` ends the batch: never the next segment with lines left behind.
            if (offset + got < limit) { stop = true; break }
            this.quarantine(seg.name, offset, buf.subarray(0, got))
            offset = limit
            continue
          }
          offset += p
        }
      } finally {
        if (!keep) await fh.close()
      }
    }
    return items
  }

  /**
   * A line that is not a sealed event (damaged on disk) is not delivered, and its segment goes
   * once the lines around it are acknowledged: its bytes are first kept in corrupt.jsonl beside
   * the segments (once per line), so that what the gap the control plane's copy shows held can
   * still be examined.
   */
  private quarantine (segment: string, offset: number, bytes: Buffer): void {
    const at = `${segment}:${offset}`
    if (this.counted.has(at)) return
    this.counted.add(at)
    this.corruptLines++
    if (this.quarantined === null) this.quarantined = this.readQuarantined()
    if (this.quarantined.has(at)) {
      this.hooks.warn?.(`decision log spool line is not a sealed event; skipped (kept in ${CORRUPT_FILE} already)`, { segment, offset })
      return
    }
    this.quarantined.add(at)
    let kept = true
    const file = join(this.dir, CORRUPT_FILE)
    try {
      // Bounded: a disk that damages lines by the thousand is a disk to replace, not to copy.
      if (existsSync(file) && statSync(file).size >= MAX_CORRUPT_BYTES) kept = false
      else appendFileSync(file, JSON.stringify({ segment, offset, found_at: new Date().toISOString(), line_base64: bytes.toString('base64') }) + '\n')
    } catch { kept = false }
    this.hooks.warn?.(`decision log spool line is not a sealed event; skipped${kept ? ` (kept in ${CORRUPT_FILE})` : ', and could not be kept'}`, { segment, offset })
  }

  /** The segment:offset of the lines CORRUPT_FILE already holds (kept by an earlier process too). */
  private readQuarantined (): Set<string> {
    const keys = new Set<string>()
    let text: string
    try { text = readFileSync(join(this.dir, CORRUPT_FILE), 'utf8') } catch { return keys }
    for (const line of text.split('\n')) {
      try {
        const o = JSON.parse(line) as { segment?: unknown; offset?: unknown }
        if (typeof o.segment === 'string' && typeof o.offset === 'number') keys.add(`${o.segment}:${o.offset}`)
      } catch { /* a torn last line */ }
    }
    return keys
  }

  /** A sink took everything up to and including seq. Idempotent and monotonic. */
  ack (seq: number, hash: string, end?: Position): void {
    if (seq > this.deliveredHead.seq) this.deliveredHead = { seq, hash }
    this.resolve(seq, hash, end)
  }

  /** Everything up to and including seq needs no further delivery (delivered, or given up
   * and declared). Idempotent and monotonic. Persisted in the background; delivered segments
   * are deleted once state.json says so. */
  resolve (seq: number, hash: string, end?: Position): void {
    if (seq > this.ackedHead.seq) {
      this.ackedHead = { seq, hash }
      if (end !== undefined) this.cursor = end
    }
    this.markState()
  }

  /**
   * Delete the oldest segment to make room. Returns what it held that had not been delivered
   * (null if everything in it was, or there was nothing to delete). Afterwards those events
   * count as resolved: they are gone, and the caller declares them in the chain.
   */
  dropOldest (): DroppedSegment | null {
    const victim = this.segments[0]
    if (victim === undefined) return null
    // Count what is lost, and pick up the counts of drop markers lost with it: lines on disk
    // and lines still queued. Only on overflow, so reading here is acceptable.
    let decisions = 0
    let carried = 0
    const lostRanges: DeclaredRange[] = []
    const count = (text: string): void => {
      for (const line of text.split('\n')) {
        const prefix = parseChainPrefix(line)
        if (prefix === null || prefix.seq <= this.ackedHead.seq) continue
        if (MARKER_LINE.test(line)) {
          let drop: DropDeclaration | undefined
          try { drop = (JSON.parse(line) as { drop: DropDeclaration }).drop } catch { /* unreadable marker */ }
          carried += Number(drop?.count) || 0
          for (const r of declarationsOf(drop, prefix.seq)) {
            if (typeof r.from_prev_hash === 'string' && typeof r.to_hash === 'string') lostRanges.push({ from_seq: r.from_seq, to_seq: r.to_seq, from_prev_hash: r.from_prev_hash, to_hash: r.to_hash })
          }
        } else decisions++
      }
    }
    // Up to `written`, a byte offset: bytes past it (a failed write whose cut failed too) were
    // never accepted as events.
    try { count(readFileSync(victim.path).toString('utf8', 0, victim.written)) } catch (e) { throw this.err('cannot read segment', e) }
    this.pending = this.pending.filter((c) => { if (c.seg !== victim) return true; for (const l of c.lines) count(l); return false })
    // Out of the spool now, off the disk only once a later write succeeds: that write carries the
    // drop marker declaring these events (the caller chains it next), so a crash in between
    // leaves the events on disk rather than gone undeclared.
    this.forget(victim)
    // A drop marker that was still queued in the victim never reaches the disk: the segments it
    // declared wait for the next marker (confirmDrops), which carries its count. Their files
    // would otherwise go at the next write, as the head is raised past the marker below.
    for (const d of this.dropped) if (d.markerSeq !== null && d.markerSeq > victim.writtenSeq && d.markerSeq <= victim.lastSeq) d.markerSeq = null
    if (this.cursor !== null && this.cursor.segment === victim.name) this.cursor = null
    if (victim.lastSeq <= this.ackedHead.seq) {
      // Everything in it was acknowledged: no marker declares it, so none would ever let its file
      // go (it stayed on disk, a stale segment beside later ones deleted: the spool then read as
      // missing records). It goes once state.json records the acknowledgement (review, session 54).
      this.ackedDropped.push({ path: victim.path, lastSeq: victim.lastSeq })
      return null
    }
    // Its delivered part (the marker declares what follows the delivered head) is declared by
    // nothing: the file goes only once state.json acknowledges that part too, or a crash in
    // between leaves a gap the state does not explain (review, session 54).
    this.dropped.push({ path: victim.path, markerSeq: null, deliveredAtDrop: Math.min(this.deliveredHead.seq, victim.lastSeq) })
    this.ackedHead = { seq: victim.lastSeq, hash: victim.lastHash }
    if (this.writtenHead.seq < victim.lastSeq) this.writtenHead = this.ackedHead
    this.markState()
    return { toSeq: victim.lastSeq, toHash: victim.lastHash, decisions, carried, lostRanges }
  }

  /** Write what is queued, fsync (unless the policy is "never"), close the files and save the
   * state. Everything accepted before the call is on disk when it resolves. */
  async close (): Promise<void> {
    if (!this.opened) return
    if (this.fsyncTimer !== null) clearInterval(this.fsyncTimer)
    this.fsyncTimer = null
    await this.settled()
    if (this.syncWaitTimer !== null) { clearTimeout(this.syncWaitTimer); this.syncWaitTimer = null }
    // The writer is idle and nothing more is accepted: the fds can be closed here (a retired
    // segment kept open for its sync and deleted since is no longer among the segments).
    for (const s of this.unsyncedRetired) if (s.fd !== null && !this.segments.includes(s)) { try { closeSync(s.fd) } catch { /* ignore */ } s.fd = null }
    this.unsyncedRetired.clear()
    for (const s of this.segments) {
      if (s.fd === null) continue
      if (s.dirty && this.opts.fsync !== 'never') { try { fsyncSync(s.fd) } catch (e) { this.hooks.warn?.('decision log spool fsync failed', { segment: s.name, error: (e as Error).message }) } }
      try { closeSync(s.fd) } catch { /* ignore */ }
      s.fd = null
    }
    this.active = null
    // A read in flight closes the handle when it ends (it sees opened === false).
    const r = this.reader
    if (r !== null && !this.reading) { this.reader = null; await closeQuietly(r.fh) }
    // Dropped files go only with a state that says what they held was acknowledged.
    if (this.writeStateSync()) {
      this.unlinkAckedDropped(this.ackedHead.seq)
      this.unlinkDropped()
    }
    this.unlock()
    this.opened = false
  }

  // --- internals: segments ---

  /** The segment the line starting at `first` goes to, rotating when the active one is full. */
  private segmentFor (first: { seq: number; prevHash: string }): Segment {
    const a = this.active
    if (a !== null && a.bytes < this.opts.segment_max_bytes) return a
    if (a !== null) this.retire(a)
    const name = segmentName(first.seq)
    const path = join(this.dir, name)
    let fd: number
    try { fd = openSync(path, 'a', 0o600) } catch (e) { throw this.err('cannot create segment', e) }
    const seg: Segment = {
      name, path, firstSeq: first.seq, firstPrevHash: first.prevHash,
      lastSeq: first.seq - 1, lastHash: first.prevHash, bytes: 0,
      written: 0, writtenSeq: first.seq - 1, writtenHash: first.prevHash,
      fd, dirty: false, gone: false,
    }
    this.segments.push(seg)
    this.active = seg
    return seg
  }

  /** The segment following seg in seq order (segments are kept sorted by first seq). */
  private segmentAfter (seg: Segment): Segment | undefined {
    return this.segments.find((s) => s.firstSeq > seg.firstSeq)
  }

  private accept (seg: Segment, bytes: number, last: ChainHead): void {
    seg.bytes += bytes
    seg.lastSeq = last.seq
    seg.lastHash = last.hash
    this.totalBytes += bytes
    this.acceptedHead = last
  }

  /** The segments dropped since the last call are declared by the drop marker at `markerSeq`. */
  confirmDrops (markerSeq: number): void {
    for (const d of this.dropped) if (d.markerSeq === null) d.markerSeq = markerSeq
  }

  /** The last line on disk. */
  get written (): ChainHead { return this.writtenHead }

  /** Whether the segment files hold a drop marker at `seq`. A seq at or below the last line on
   * disk is not enough: a process that died mid-overflow can leave later lines on disk while the
   * segment that was to hold the marker was dropped with it still queued (state.json, written in
   * the background, may predate that drop). `hash`: that marker line exactly. Read at start and
   * for a refused event's marker only. */
  markerOnDisk (seq: number, hash?: string): boolean {
    const seg = this.segments.find((s) => s.firstSeq <= seq && seq <= s.writtenSeq)
    if (seg === undefined) return false
    let text: string
    try { text = readFileSync(seg.path).toString('utf8', 0, seg.written) } catch { return false }
    return text.split('\n').some((line) => {
      const p = parseChainPrefix(line)
      return p !== null && p.seq === seq && (hash === undefined || p.hash === hash) && MARKER_LINE.test(line)
    })
  }

  /** A drop whose marker is not known to be on disk: persisted with the state (null: none). */
  get pendingDrop (): PendingDrop | null { return this.pendingDropState }
  setPendingDrop (p: PendingDrop | null): void {
    this.pendingDropState = p
    this.markState()
  }

  /** Deletes the files of acknowledged dropped segments up to `persisted`, the acked seq state.json holds. */
  private unlinkAckedDropped (persisted: number): void {
    if (this.ackedDropped.length === 0) return
    const due = this.ackedDropped.filter((d) => d.lastSeq <= persisted)
    this.ackedDropped = this.ackedDropped.filter((d) => d.lastSeq > persisted)
    for (const { path } of due) {
      try { unlinkSync(path) } catch (e) {
        // Left behind, it is deleted at the next open as acknowledged.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.hooks.warn?.('cannot delete a dropped decision log segment', { path, error: (e as Error).message })
      }
    }
  }

  /** Deletes the files of dropped segments whose marker is on disk: called once a write (and its fsync, by policy) has succeeded. */
  private unlinkDropped (): void {
    if (this.dropped.length === 0) return
    const due = this.dropped.filter((d) => d.markerSeq !== null && d.markerSeq <= this.durableSeq && d.deliveredAtDrop <= this.persistedAcked)
    if (due.length === 0) return
    this.dropped = this.dropped.filter((d) => !due.includes(d))
    for (const { path } of due) {
      try { unlinkSync(path) } catch (e) {
        // Left behind, it is deleted at the next open as acknowledged, or read again.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.hooks.warn?.('cannot delete a dropped decision log segment', { path, error: (e as Error).message })
      }
    }
  }

  /** Stop appending to seg; the writer closes its file after the lines queued for it. */
  private retire (seg: Segment): void {
    if (this.active === seg) this.active = null
    if (seg.fd !== null && !this.toClose.includes(seg)) { this.toClose.push(seg); this.kick() }
  }

  /** Delete a segment's file and forget it (its fd is closed by the writer). */
  private remove (seg: Segment): void {
    seg.gone = true
    this.retire(seg)
    try { unlinkSync(seg.path) } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw this.err('cannot delete segment', e)
    }
    this.forget(seg)
  }

  /** Take a segment out of the spool (no more lines go to it; its fd is closed by the writer). */
  private forget (seg: Segment): void {
    seg.gone = true
    this.retire(seg)
    const r = this.reader
    if (r !== null && r.seg === seg && !this.reading) { this.reader = null; void closeQuietly(r.fh) }
    const i = this.segments.indexOf(seg)
    if (i >= 0) this.segments.splice(i, 1)
    this.totalBytes -= seg.bytes
  }

  /**
   * deleteAcked while running: the segments leave the spool at once (nothing more is written to
   * them) and their files are unlinked on the thread pool — unlinking a 4 MiB segment takes
   * milliseconds of kernel time that would otherwise stall every request on the event loop.
   * A file that cannot be deleted stays behind acknowledged; the next open() deletes it.
   */
  private async deleteAckedAsync (acked: ChainHead): Promise<void> {
    const victims: Segment[] = []
    while (this.segments.length > 0) {
      const seg = this.segments[0]!
      if (seg.lastSeq > acked.seq || seg.written < seg.bytes) break
      if (seg === this.active && seg.bytes < this.opts.segment_max_bytes / 2) break
      this.forget(seg)
      victims.push(seg)
      if (this.cursor !== null && this.cursor.segment === seg.name) this.cursor = null
    }
    for (const seg of victims) {
      try { await unlinkAsync(seg.path) } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.hooks.warn?.('cannot delete delivered segment', { segment: seg.name, error: (e as Error).message })
        }
      }
    }
  }

  /** Remove segments whose events are all acknowledged (as persisted in state.json). The
   * segment being appended to stays until it is at least half full, so a quiet spool does not
   * churn files every upload. */
  private deleteAcked (acked: ChainHead): void {
    while (this.segments.length > 0) {
      const seg = this.segments[0]!
      if (seg.lastSeq > acked.seq || seg.written < seg.bytes) break
      if (seg === this.active && seg.bytes < this.opts.segment_max_bytes / 2) break
      try { this.remove(seg) } catch (e) {
        this.hooks.warn?.('cannot delete delivered segment', { segment: seg.name, error: (e as Error).message })
        break
      }
      if (this.cursor !== null && this.cursor.segment === seg.name) this.cursor = null
    }
  }

  // --- internals: the writer ---

  private isIdle (): boolean {
    return !this.writing && !this.kickScheduled && this.pending.length === 0 && this.pendingGroup === null && this.toClose.length === 0
  }

  private kick (): void {
    if (this.kickScheduled) return
    this.kickScheduled = true
    // At the end of the turn, so every line accepted during the turn goes in one write. While
    // the writer waits (a periodic fdatasync, a segment's close), the turn's deferred events are
    // still sealed and queued at its end, for the writer to take when it returns: left for it,
    // every event of those turns was sealed in one go (stalls of the event loop of hundreds of
    // ms after a slow fdatasync: bench/spool.ts's longest turn).
    setImmediate(() => {
      this.kickScheduled = false
      if (this.writing) this.hooks.collect?.()
      else void this.drain()
    })
  }

  private async drain (): Promise<void> {
    if (this.writing) return
    this.writing = true
    try {
      while (this.pending.length > 0 || this.pendingGroup !== null || this.toClose.length > 0 || this.fsyncDue) {
        this.hooks.collect?.()
        const batch = this.pending
        const group = this.pendingGroup
        const lost = this.groupLost
        this.groupLost = false
        this.pending = []
        this.pendingGroup = null
        let ok = true
        for (let i = 0; i < batch.length && ok; i++) ok = this.writeChunk(batch[i]!, batch.slice(i + 1))
        // With fsync "always", written means on stable storage: a failed fdatasync fails the group
        // (its requests are refused, not answered as logged), and neither the drop markers among
        // its lines count as written nor do the files they declare go.
        let durable = ok
        if (ok && this.opts.fsync === 'always') {
          // Lines accepted while this runs form the next group: one fdatasync per group.
          for (const c of batch) if (c.seg.dirty && !await this.datasync(c.seg)) durable = false
        }
        if (durable && batch.length > 0) {
          this.durableSeq = Math.max(this.durableSeq, this.writtenHead.seq)
          this.hooks.written?.()
          this.unlinkDropped()
        }
        if (group !== null) { group.done = true; group.settle(durable && !lost) }
        if (this.toClose.length > 0) {
          // A segment that filled up while this batch's fsync was in flight may still have lines
          // queued (in `pending`, for the next round): it is closed after them, not before. A
          // closed segment's chunks are skipped as dropped, so closing it here lost them unseen.
          const closing = this.toClose.filter((seg) => seg.gone || !this.pending.some((c) => c.seg === seg))
          this.toClose = this.toClose.filter((seg) => !closing.includes(seg))
          for (const seg of closing) await this.closeSegment(seg)
        }
        if (this.fsyncDue) {
          this.fsyncDue = false
          const waiters = this.syncWaiters
          this.syncWaiters = []
          // Every open segment with lines not yet synced: the active one, and one that filled up
          // and waits to be closed.
          let ok = true
          // The segments to sync, taken first: the list can change while a sync awaits (a drop
          // removes the oldest), and a live walk then skipped the segment after it.
          const targets = this.segments.filter((s) => s.dirty && s.fd !== null && !s.gone)
          for (const s of targets) if (s.dirty && s.fd !== null && !s.gone && !await this.datasync(s)) ok = false
          for (const s of [...this.unsyncedRetired]) if (!s.dirty || s.gone) await this.closeSegment(s)
          for (const w of waiters) w(ok)
          if (this.syncWaitTimer !== null && this.syncWaiters.length === 0) { clearTimeout(this.syncWaitTimer); this.syncWaitTimer = null }
        }
      }
    } finally {
      this.writing = false
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const w of waiters) w()
    }
  }

  /**
   * A chunk's lines as UTF-8, in a buffer reused from write to write: encoding each line into it
   * costs less than joining them into one string first, which V8 then has to flatten.
   */
  private encode (c: Chunk): Buffer {
    // A line longer than a chunk gets a buffer of its own, not kept.
    const buf = c.bytes <= WRITE_CHUNK_MAX_BYTES ? this.scratch : Buffer.allocUnsafe(c.bytes)
    let at = 0
    // Sized by the lines' byte lengths, so write() never stops short for lack of room.
    for (const line of c.lines) at += buf.write(line, at, 'utf8')
    if (at !== c.bytes) throw new Error(`line lengths do not add up (${at} of ${c.bytes} bytes)`)
    return buf
  }

  /** Write one chunk. On failure: cut the partial line, drop every line queued after it, and
   * put the chain head back to the last line on disk. */
  private writeChunk (c: Chunk, rest: readonly Chunk[]): boolean {
    const seg = c.seg
    if (seg.gone || seg.fd === null) return true // dropped while queued (counted by dropOldest)
    let n = 0
    try {
      n = writeSync(seg.fd, this.encode(c), 0, c.bytes)
      if (n !== c.bytes) throw new Error(`short write (${n} of ${c.bytes} bytes)`)
    } catch (e) {
      if (n > 0) { try { ftruncateSync(seg.fd, seg.written) } catch { /* reported below */ } }
      this.writeFailed(this.err('write failed', e), [c, ...rest])
      return false
    }
    seg.written += c.bytes
    seg.writtenSeq = c.lastSeq
    seg.writtenHash = c.lastHash
    seg.dirty = true
    if (c.lastSeq > this.writtenHead.seq) this.writtenHead = { seq: c.lastSeq, hash: c.lastHash }
    return true
  }

  private writeFailed (error: BouncerError, lost: readonly Chunk[]): void {
    // A drop marker among the lost lines is not on disk: its segments wait for the next one.
    for (const d of this.dropped) if (d.markerSeq !== null && d.markerSeq > this.writtenHead.seq) d.markerSeq = null
    let events = 0
    for (const c of [...lost, ...this.pending]) if (!c.seg.gone) events += c.events
    this.pending = []
    // Everything queued after the failure was chained onto lines that are not on disk.
    const g = this.pendingGroup
    this.pendingGroup = null
    if (g !== null) { g.done = true; g.settle(false) }
    for (const s of [...this.segments]) {
      s.bytes = s.written
      s.lastSeq = s.writtenSeq
      s.lastHash = s.writtenHash
      if (s.written === 0) { try { this.remove(s) } catch { /* an empty file is cut at the next open */ } }
    }
    this.totalBytes = this.segments.reduce((n, s) => n + s.bytes, 0)
    const last = this.segments[this.segments.length - 1]
    if (this.active === null && last !== undefined && last.fd !== null && !this.toClose.includes(last)) this.active = last
    this.acceptedHead = this.writtenHead
    this.hooks.lost?.(this.writtenHead, events, error)
  }

  /** fdatasync: false (and a warning) if it failed. */
  private async datasync (seg: Segment): Promise<boolean> {
    if (seg.fd === null) return true
    seg.dirty = false
    this.syncing++
    try { await fdatasyncAsync(seg.fd) } catch (e) {
      // Still not known to be on disk: the next state write asks again (syncThrough), instead of
      // taking the segment for synced and acknowledging lines the device may have lost.
      seg.dirty = true
      this.hooks.warn?.('decision log spool fsync failed', { segment: seg.name, error: (e as Error).message })
      return false
    } finally { this.syncing-- }
    return true
  }

  /**
   * With fsync "interval", the lines up to `acked` are made durable before state.json says they
   * need no delivery: state.json is fsync'd, so after a power loss it acknowledged lines the
   * segments had lost, and verify-log and bouncer evidence reported them missing (a break). The
   * writer's periodic fdatasync answers it, so none is added: while the writer waits for one,
   * the turns' writes (and their requests, in group mode) wait too, and under load uploads go
   * back to back, so a sync per acknowledgement would multiply those waits. A period longer
   * than a second is not waited for, nor is any while settled() waits: then the writer is asked
   * for one (after a second, by a timer that is ref'd, so a process with nothing else left stays
   * until the state is written). False when it failed (state.json keeps the point it had: a
   * restart re-sends, nothing is lost).
   */
  private syncThrough (acked: ChainHead): Promise<boolean> {
    if (this.opts.fsync !== 'interval') return RESOLVED_TRUE
    const unsynced = this.syncing > 0 || this.segments.some((s) => s.dirty && s.fd !== null && !s.gone && s.firstSeq <= acked.seq)
    if (!unsynced) return RESOLVED_TRUE
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve)
      if (this.fsyncTimer === null || this.settling > 0) { this.requestSync(); return }
      this.syncWaitTimer ??= setTimeout(() => {
        this.syncWaitTimer = null
        if (this.syncWaiters.length > 0) this.requestSync()
      }, Math.min(this.opts.fsync_interval_ms, 1000))
    })
  }

  private requestSync (): void {
    this.fsyncDue = true
    this.kick()
  }

  private async closeSegment (seg: Segment): Promise<void> {
    if (seg.fd === null) return
    if (!seg.gone && seg.dirty && this.opts.fsync !== 'never' && !await this.datasync(seg) && this.opts.fsync === 'interval') {
      // Its lines are not known to be on disk: closed now, the segment would look synced (only
      // an open one is asked again) and state.json could acknowledge lines the device lost. It
      // stays open, dirty, for the next periodic sync, and is closed after one succeeds. (With
      // "always" a failed sync already failed its lines' group, and no periodic sync would come.)
      this.unsyncedRetired.add(seg)
      return
    }
    this.unsyncedRetired.delete(seg)
    const fd = seg.fd
    seg.fd = null
    try { await closeAsync(fd) } catch { /* nothing useful to do */ }
  }

  // --- internals: state.json ---

  private markState (): void {
    this.stateDirty = true
    if (this.stateWriting === null && this.opened) this.stateWriting = this.writeStateLoop()
  }

  private async writeStateLoop (): Promise<void> {
    try {
      while (this.stateDirty && this.opened) {
        this.stateDirty = false
        const acked = this.ackedHead
        if (!await this.syncThrough(acked)) continue
        try {
          await writeAtomic(join(this.dir, STATE_FILE), this.stateBody(), this.opts.fsync !== 'never')
        } catch (e) {
          // The worst outcome of a stale state file is re-sending delivered events after a restart.
          this.hooks.warn?.('cannot write decision log spool state', { error: (e as Error).message })
          continue
        }
        this.persistedAcked = Math.max(this.persistedAcked, acked.seq)
        if (this.opened) await this.deleteAckedAsync(acked)
        this.unlinkAckedDropped(acked.seq)
        this.unlinkDropped()
      }
    } finally { this.stateWriting = null }
  }

  private stateBody (): string {
    return JSON.stringify({
      version: 1,
      instance_id: this.instanceId,
      acked_seq: this.ackedHead.seq, acked_hash: this.ackedHead.hash,
      delivered_seq: this.deliveredHead.seq, delivered_hash: this.deliveredHead.hash,
      ...(this.pendingDropState === null ? {} : { pending_drop: this.pendingDropState }),
    }) + '\n'
  }

  /** Whether it was written. */
  private writeStateSync (): boolean {
    const path = join(this.dir, STATE_FILE)
    const tmp = path + '.tmp'
    const body = this.stateBody()
    const acked = this.ackedHead.seq
    try {
      if (this.opts.fsync === 'never') writeFileSync(tmp, body, { mode: 0o600 })
      else {
        const fd = openSync(tmp, 'w', 0o600)
        try { writeSync(fd, body); fsyncSync(fd) } finally { closeSync(fd) }
      }
      renameSync(tmp, path)
    } catch (e) {
      this.hooks.warn?.('cannot write decision log spool state', { error: (e as Error).message })
      return false
    }
    this.persistedAcked = Math.max(this.persistedAcked, acked)
    return true
  }

  private recoverSegment (name: string): Segment | null {
    const path = join(this.dir, name)
    const buf = readFileSync(path)
    // Walk back from the end to the last line that is a complete, parseable sealed event.
    let end = buf.length
    let lastLine: string | null = null
    while (end > 0) {
      const nl = buf.lastIndexOf(10, end - 1)
      if (nl < 0) { end = 0; break }
      if (nl !== end - 1) { end = nl + 1; continue } // bytes after the last newline: torn write
      const start = buf.lastIndexOf(10, nl - 1) + 1
      const line = buf.toString('utf8', start, nl)
      if (parseChainPrefix(line) !== null && isJson(line)) { lastLine = line; break }
      end = start
    }
    if (end < buf.length) {
      this.recoveredBytes += buf.length - end
      this.hooks.warn?.('decision log spool: cut a torn or unreadable tail', { segment: name, bytes: buf.length - end })
      const fd = openSync(path, 'r+')
      try { ftruncateSync(fd, end) } finally { closeSync(fd) }
    }
    if (lastLine === null) {
      unlinkSync(path)
      return null
    }
    const last = parseChainPrefix(lastLine)!
    const firstNl = buf.indexOf(10)
    const first = parseChainPrefix(buf.toString('utf8', 0, firstNl))
    const firstSeq = Number(SEGMENT_RE.exec(name)![1])
    return {
      name, path,
      firstSeq: first?.seq ?? firstSeq,
      firstPrevHash: first?.prevHash ?? '',
      lastSeq: last.seq, lastHash: last.hash, bytes: end,
      written: end, writtenSeq: last.seq, writtenHash: last.hash,
      fd: null, dirty: false, gone: false,
    }
  }

  /**
   * The holes above the acknowledged point: before the first segment, and between segments.
   * A hole a drop marker in the segment files declares (one that overflow chained before its
   * segments' files went, with state.json not yet saying so; or this declaration, chained by an
   * earlier start) or the pending drop declares is not missing. Before 2026-12-07 such a hole
   * was only logged (the first one) and the receiver's copy carried it undeclared.
   */
  private findMissing (): DeclaredRange[] {
    const holes: DeclaredRange[] = []
    let at = this.ackedHead
    for (const seg of this.segments) {
      if (seg.lastSeq <= at.seq) continue
      if (seg.firstSeq > at.seq + 1) holes.push({ from_seq: at.seq + 1, to_seq: seg.firstSeq - 1, from_prev_hash: at.hash, to_hash: seg.firstPrevHash })
      at = { seq: seg.lastSeq, hash: seg.lastHash }
    }
    if (holes.length === 0) return []
    const declared: DeclaredRange[] = []
    const pd = this.pendingDropState
    if (pd !== null) declared.push(...declarationsOf(pd.drop, Number.MAX_SAFE_INTEGER))
    for (const seg of this.segments) {
      if (seg.lastSeq <= holes[0]!.to_seq) continue
      let text: string
      try { text = readFileSync(seg.path).toString('utf8', 0, seg.written) } catch { continue }
      for (const line of text.split('\n')) {
        if (!MARKER_LINE.test(line)) continue
        const prefix = parseChainPrefix(line)
        if (prefix === null) continue
        try { declared.push(...declarationsOf((JSON.parse(line) as { drop: unknown }).drop, prefix.seq)) } catch { /* unreadable marker */ }
      }
    }
    // (The logger declares and logs what is left.)
    return holes.filter((h) => !declared.some((d) => d.from_seq <= h.from_seq && h.to_seq <= d.to_seq))
  }

  private readState (): { acked: ChainHead; delivered: ChainHead; instanceId?: string; pendingDrop?: PendingDrop } | null {
    const path = join(this.dir, STATE_FILE)
    if (!existsSync(path)) return null
    try {
      const s = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
      const head = (seq: unknown, hash: unknown): ChainHead | null =>
        typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 && typeof hash === 'string' ? { seq, hash } : null
      const acked = head(s.acked_seq, s.acked_hash)
      if (acked !== null) {
        const delivered = head(s.delivered_seq, s.delivered_hash) ?? acked
        const pd = s.pending_drop as PendingDrop | undefined
        const pendingDrop = pd !== null && typeof pd === 'object' && pd.drop !== null && typeof pd.drop === 'object' && Number.isInteger(pd.drop.from_seq) && Number.isInteger(pd.drop.to_seq) &&
          (pd.marker_seq === null || Number.isInteger(pd.marker_seq)) ? pd : undefined
        return { acked, delivered, ...(typeof s.instance_id === 'string' && s.instance_id !== '' ? { instanceId: s.instance_id } : {}), ...(pendingDrop === undefined ? {} : { pendingDrop }) }
      }
    } catch { /* fall through */ }
    this.hooks.warn?.('decision log spool state.json is unreadable; treating nothing as delivered', { path })
    return null
  }

  private lock (): void {
    if (openInProcess.has(this.dir)) throw new BouncerError('BOUNCER_ERR_DECISION_LOG_SPOOL_LOCKED', [this.dir, process.pid])
    const path = join(this.dir, LOCK_FILE)
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw this.err('cannot create LOCK', e)
      const pid = Number(readFileSync(path, 'utf8').trim())
      // A LOCK left by a crashed process (or by an earlier incarnation with our own pid, e.g.
      // pid 1 in a restarted container) is stale.
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new BouncerError('BOUNCER_ERR_DECISION_LOG_SPOOL_LOCKED', [this.dir, pid])
      }
      writeFileSync(path, String(process.pid), { mode: 0o600 })
    }
    openInProcess.add(this.dir)
  }

  private unlock (): void {
    openInProcess.delete(this.dir)
    const path = join(this.dir, LOCK_FILE)
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path)
    } catch { /* already gone */ }
  }

  private err (what: string, cause: unknown): BouncerError {
    return new BouncerError('BOUNCER_ERR_DECISION_LOG_SPOOL', [this.dir, `${what}: ${(cause as Error)?.message ?? String(cause)}`], { cause })
  }
}

/** tmp + fsync + rename, on the thread pool. */
async function writeAtomic (path: string, body: string, durable: boolean): Promise<void> {
  const tmp = path + '.tmp'
  const fh = await openAsync(tmp, 'w', 0o600)
  try {
    await fh.writeFile(body)
    if (durable) await fh.sync()
  } finally { await fh.close() }
  await renameAsync(tmp, path)
}

async function closeQuietly (fh: FileHandle): Promise<void> {
  try { await fh.close() } catch { /* a read-only handle: nothing is lost */ }
}

function isAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM' }
}

function isJson (s: string): boolean {
  try { JSON.parse(s); return true } catch { return false }
}
