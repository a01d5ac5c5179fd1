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
//                                      Written with tmp+rename.
//   LOCK                               pid of the process using the spool
//
// Invariants: segments hold consecutive seqs; everything with seq <= acked_seq may be deleted;
// the chain head after a restart is the last line on disk, or acked when no segment is left.
// Appends are synchronous writes of whole lines, so a process crash (SIGKILL) leaves complete
// lines only; a torn line (power loss, full disk) is cut off at the next open.

import {
  closeSync, existsSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync,
  readdirSync, renameSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs'
import { open as openAsync } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { join, resolve } from 'node:path'
import { BouncerError } from '../errors.js'
import { GENESIS, type ChainHead, parseChainPrefix } from './chain.js'
import type { FsyncPolicy } from './config.js'

export interface SpoolOptions {
  readonly dir: string
  readonly segment_max_bytes: number
  readonly fsync: FsyncPolicy
  readonly fsync_interval_ms: number
}

export interface SpoolHooks { warn?: (msg: string, detail?: Record<string, unknown>) => void }

interface Segment {
  readonly name: string
  readonly path: string
  readonly firstSeq: number
  readonly firstPrevHash: string
  lastSeq: number
  lastHash: string
  bytes: number
}

/** Where the next unread line starts. */
export interface Position { readonly segment: string; readonly offset: number }

export interface SpoolItem {
  readonly line: string
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
}

// A drop marker line (chain.ts layout; a marker's members after the chain fields are
// decision_id, drop, …, while a decision event's decision_id is followed by erased/error/input/labels).
export function isMarkerLine (line: string): boolean { return MARKER_LINE.test(line) }
const MARKER_LINE = /^\{"seq":\d+,"prev_hash":"[0-9a-f]{64}","hash":"[0-9a-f]{64}","decision_id":"[^"\\]*","drop":\{/

export const SEGMENT_RE = /^seg-(\d{20})\.jsonl$/
export const STATE_FILE = 'state.json'
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
  private fd: number | null = null
  private totalBytes = 0
  private ackedHead: ChainHead = GENESIS
  private deliveredHead: ChainHead = GENESIS
  private writtenHead: ChainHead = GENESIS
  private cursor: Position | null = null // null: start of the first segment
  private dirty = false
  private fsyncTimer: NodeJS.Timeout | null = null
  private opened = false
  /** Identifies this spool, and so its chain, across restarts (labels.id by default). */
  instanceId = ''
  /** Bytes cut off torn or unreadable lines at open(). */
  recoveredBytes = 0
  /** Lines skipped by read() because they do not start with a chain prefix (tampering/corruption). */
  corruptLines = 0

  constructor (opts: SpoolOptions, hooks: SpoolHooks = {}) {
    this.opts = opts
    this.hooks = hooks
    this.dir = resolve(opts.dir)
  }

  get bytes (): number { return this.totalBytes }
  get segmentCount (): number { return this.segments.length }
  /** Last event written to disk. */
  get head (): ChainHead { return this.writtenHead }
  /** Last event that needs no further delivery (delivered, or dropped and declared). */
  get acked (): ChainHead { return this.ackedHead }
  /** Last event a sink took. Everything after it is undelivered (dropped or still here). */
  get delivered (): ChainHead { return this.deliveredHead }
  /** Events on disk still to be delivered (segments hold consecutive seqs above acked). */
  get pendingEvents (): number { return Math.max(0, this.writtenHead.seq - this.ackedHead.seq) }

  /** Lock the directory, cut torn tails, and find the chain head and the acknowledged point. */
  open (): void {
    if (this.opened) return
    try { mkdirSync(this.dir, { recursive: true, mode: 0o700 }) } catch (e) { throw this.err('cannot create directory', e) }
    this.lock()
    try {
      const state = this.readState()
      this.ackedHead = state?.acked ?? GENESIS
      this.deliveredHead = state?.delivered ?? this.ackedHead
      if (state?.instanceId !== undefined) this.instanceId = state.instanceId
      else { this.instanceId = randomUUID(); this.writeState() }
      const names = readdirSync(this.dir).filter((n) => SEGMENT_RE.test(n)).sort()
      for (const name of names) {
        const seg = this.recoverSegment(name)
        if (seg !== null) this.segments.push(seg)
      }
      const last = this.segments[this.segments.length - 1]
      this.writtenHead = last !== undefined ? { seq: last.lastSeq, hash: last.lastHash } : this.ackedHead
      if (this.ackedHead.seq > this.writtenHead.seq) this.writtenHead = this.ackedHead
      const first = this.segments[0]
      if (first !== undefined && first.firstSeq > this.ackedHead.seq + 1) {
        this.hooks.warn?.('decision log spool starts after the acknowledged point; events are missing from disk',
          { acked_seq: this.ackedHead.seq, first_seq: first.firstSeq })
      }
      this.deleteAcked()
      if (last !== undefined && this.segments.includes(last) && last.bytes < this.opts.segment_max_bytes) {
        this.active = last
        this.fd = openSync(last.path, 'a', 0o600)
      }
      this.totalBytes = this.segments.reduce((n, s) => n + s.bytes, 0)
    } catch (e) {
      this.unlock()
      throw e instanceof BouncerError ? e : this.err('cannot open', e)
    }
    if (this.opts.fsync === 'interval') {
      this.fsyncTimer = setInterval(() => this.fsyncAsync(), this.opts.fsync_interval_ms)
      this.fsyncTimer.unref()
    }
    this.opened = true
  }

  /**
   * Append whole lines (each ending in "\n", `bytes` long in UTF-8) for consecutive entries.
   * Synchronous: when it
   * returns, the bytes are in the OS page cache and survive a process crash; with fsync
   * "always" they are also on stable storage. Throws on I/O errors, leaving the file as it was.
   */
  append (data: string, bytes: number, first: { seq: number; prevHash: string }, last: ChainHead): void {
    if (this.active === null || this.active.bytes >= this.opts.segment_max_bytes) this.rotate(first.seq, first.prevHash)
    const seg = this.active!
    const fd = this.fd!
    let written = 0
    try {
      // One write(2) of the whole string (Node encodes it straight into the syscall buffer).
      // Regular files take it whole; a short count means the disk is full or failing.
      written = writeSync(fd, data)
      if (written !== bytes) throw new Error(`short write (${written} of ${bytes} bytes)`)
    } catch (e) {
      // Do not leave half a line behind: the next append would glue onto it.
      if (written > 0) { try { ftruncateSync(fd, seg.bytes) } catch { /* reported below */ } }
      throw this.err('write failed', e)
    }
    seg.bytes += bytes
    seg.lastSeq = last.seq
    seg.lastHash = last.hash
    this.totalBytes += bytes
    this.writtenHead = last
    if (this.opts.fsync === 'always') fsyncSync(fd)
    else this.dirty = true
  }

  /**
   * Read undelivered lines from the cursor on, up to about maxBytes (at least one line) and at
   * most maxLines. Only bytes already written are read, so appends may continue meanwhile.
   */
  async read (maxBytes: number, maxLines = Infinity): Promise<SpoolItem[]> {
    const items: SpoolItem[] = []
    let total = 0
    let start = this.cursor
    let i = start === null ? 0 : this.segments.findIndex((s) => s.name === start!.segment)
    if (i < 0) { i = 0; start = null }
    for (; i < this.segments.length && total < maxBytes && items.length < maxLines; i++) {
      const seg = this.segments[i]!
      let offset = start !== null && start.segment === seg.name ? start.offset : 0
      const limit = seg.bytes // snapshot: never read past what was written when we looked
      if (offset >= limit) continue
      let fh
      try { fh = await openAsync(seg.path, 'r') } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') break // dropped meanwhile; next read starts over
        throw this.err('read failed', e)
      }
      try {
        while (offset < limit && total < maxBytes && items.length < maxLines) {
          // Read what the byte budget asks for, but at least 64 KiB and always a full line.
          let size = Math.min(limit - offset, Math.max(maxBytes - total, 65536))
          let buf = Buffer.alloc(size)
          let got = (await fh.read(buf, 0, size, offset)).bytesRead
          while (buf.lastIndexOf(10, got - 1) < 0 && offset + got < limit) {
            size = Math.min(limit - offset, size * 2)
            buf = Buffer.alloc(size)
            got = (await fh.read(buf, 0, size, offset)).bytesRead
          }
          let p = 0
          for (;;) {
            const nl = buf.indexOf(10, p)
            if (nl < 0 || nl >= got) break
            const line = buf.toString('utf8', p, nl)
            const lineBytes = nl + 1 - p
            p = nl + 1
            const end = { segment: seg.name, offset: offset + p }
            const prefix = parseChainPrefix(line)
            if (prefix === null) {
              this.corruptLines++
              this.hooks.warn?.('decision log spool line is not a sealed event; skipped', { segment: seg.name, offset: end.offset })
              continue
            }
            if (prefix.seq <= this.ackedHead.seq) continue
            items.push({ line, seq: prefix.seq, prevHash: prefix.prevHash, hash: prefix.hash, end })
            total += lineBytes
            if (total >= maxBytes || items.length >= maxLines) break
          }
          if (p === 0) break // no complete line: the writer's snapshot ended mid-line
          offset += p
        }
      } finally { await fh.close() }
    }
    return items
  }

  /** A sink took everything up to and including seq. Idempotent and monotonic. */
  ack (seq: number, hash: string, end?: Position): void {
    if (seq > this.deliveredHead.seq) this.deliveredHead = { seq, hash }
    this.resolve(seq, hash, end)
  }

  /** Everything up to and including seq needs no further delivery (delivered, or given up
   * and declared). Idempotent and monotonic. */
  resolve (seq: number, hash: string, end?: Position): void {
    if (seq <= this.ackedHead.seq) { this.writeState(); return }
    this.ackedHead = { seq, hash }
    if (end !== undefined) this.cursor = end
    this.writeState()
    this.deleteAcked()
  }

  /**
   * Delete the oldest segment to make room. Returns what it held that had not been delivered
   * (null if everything in it was, or there was nothing to delete). Afterwards those events
   * count as resolved: they are gone, and the caller declares them in the chain.
   */
  dropOldest (): DroppedSegment | null {
    const victim = this.segments[0]
    if (victim === undefined) return null
    // Count what is lost, and pick up the counts of drop markers lost with it. Only on
    // overflow, so reading the segment here is acceptable.
    let decisions = 0
    let carried = 0
    let text: string
    try { text = readFileSync(victim.path, 'utf8').slice(0, victim.bytes) } catch (e) { throw this.err('cannot read segment', e) }
    for (const line of text.split('\n')) {
      const prefix = parseChainPrefix(line)
      if (prefix === null || prefix.seq <= this.ackedHead.seq) continue
      if (MARKER_LINE.test(line)) {
        try { carried += Number((JSON.parse(line) as { drop: { count: number } }).drop.count) || 0 } catch { /* unreadable marker */ }
      } else decisions++
    }
    if (victim === this.active) this.closeActive()
    try { unlinkSync(victim.path) } catch (e) { throw this.err('cannot delete segment', e) }
    this.segments.shift()
    this.totalBytes -= victim.bytes
    if (this.cursor !== null && this.cursor.segment === victim.name) this.cursor = null
    if (victim.lastSeq <= this.ackedHead.seq) return null
    this.ackedHead = { seq: victim.lastSeq, hash: victim.lastHash }
    this.writeState()
    return { toSeq: victim.lastSeq, toHash: victim.lastHash, decisions, carried }
  }

  /** Flush written data to stable storage now (unless the policy is "never"). */
  sync (): void {
    if (this.fd !== null && this.opts.fsync !== 'never' && this.dirty) {
      try { fsyncSync(this.fd) } catch (e) { this.hooks.warn?.('decision log spool fsync failed', { error: (e as Error).message }) }
      this.dirty = false
    }
  }

  close (): void {
    if (!this.opened) return
    if (this.fsyncTimer !== null) clearInterval(this.fsyncTimer)
    this.fsyncTimer = null
    this.sync()
    this.closeActive()
    this.writeState()
    this.unlock()
    this.opened = false
  }

  // --- internals ---

  private rotate (firstSeq: number, firstPrevHash: string): void {
    if (this.active !== null) {
      if (this.opts.fsync !== 'never') this.sync()
      this.closeActive()
    }
    const name = segmentName(firstSeq)
    const path = join(this.dir, name)
    try {
      this.fd = openSync(path, 'a', 0o600)
    } catch (e) { throw this.err('cannot create segment', e) }
    const seg: Segment = { name, path, firstSeq, firstPrevHash, lastSeq: firstSeq - 1, lastHash: firstPrevHash, bytes: 0 }
    this.segments.push(seg)
    this.active = seg
  }

  private closeActive (): void {
    if (this.fd !== null) {
      try { closeSync(this.fd) } catch { /* nothing useful to do */ }
    }
    this.fd = null
    this.active = null
  }

  private fsyncAsync (): void {
    if (this.fd === null || !this.dirty) return
    this.dirty = false
    fsync(this.fd, (e) => { if (e !== null) this.hooks.warn?.('decision log spool fsync failed', { error: e.message }) })
  }

  /** Remove segments whose events are all acknowledged. The segment being appended to stays
   * until it is at least half full, so a quiet spool does not churn files every upload. */
  private deleteAcked (): void {
    while (this.segments.length > 0) {
      const seg = this.segments[0]!
      if (seg.lastSeq > this.ackedHead.seq) break
      if (seg === this.active && seg.bytes < this.opts.segment_max_bytes / 2) break
      if (seg === this.active) this.closeActive()
      try { unlinkSync(seg.path) } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') { this.hooks.warn?.('cannot delete delivered segment', { segment: seg.name, error: (e as Error).message }); break }
      }
      this.segments.shift()
      this.totalBytes -= seg.bytes
      if (this.cursor !== null && this.cursor.segment === seg.name) this.cursor = null
    }
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
      lastSeq: last.seq,
      lastHash: last.hash,
      bytes: end,
    }
  }

  private readState (): { acked: ChainHead; delivered: ChainHead; instanceId?: string } | null {
    const path = join(this.dir, STATE_FILE)
    if (!existsSync(path)) return null
    try {
      const s = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
      const head = (seq: unknown, hash: unknown): ChainHead | null =>
        typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 && typeof hash === 'string' ? { seq, hash } : null
      const acked = head(s.acked_seq, s.acked_hash)
      if (acked !== null) {
        const delivered = head(s.delivered_seq, s.delivered_hash) ?? acked
        return typeof s.instance_id === 'string' && s.instance_id !== '' ? { acked, delivered, instanceId: s.instance_id } : { acked, delivered }
      }
    } catch { /* fall through */ }
    this.hooks.warn?.('decision log spool state.json is unreadable; treating nothing as delivered', { path })
    return null
  }

  private writeState (): void {
    const path = join(this.dir, STATE_FILE)
    const tmp = path + '.tmp'
    const body = JSON.stringify({
      version: 1,
      instance_id: this.instanceId,
      acked_seq: this.ackedHead.seq, acked_hash: this.ackedHead.hash,
      delivered_seq: this.deliveredHead.seq, delivered_hash: this.deliveredHead.hash,
    }) + '\n'
    try {
      if (this.opts.fsync === 'never') writeFileSync(tmp, body, { mode: 0o600 })
      else {
        const fd = openSync(tmp, 'w', 0o600)
        try { writeSync(fd, body); fsyncSync(fd) } finally { closeSync(fd) }
      }
      renameSync(tmp, path)
    } catch (e) {
      // The worst outcome of a stale state file is re-sending delivered events after a restart.
      this.hooks.warn?.('cannot write decision log spool state', { error: (e as Error).message })
    }
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

function isAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM' }
}

function isJson (s: string): boolean {
  try { JSON.parse(s); return true } catch { return false }
}
