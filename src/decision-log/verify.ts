// verifyLog: check a stored chain and name its first break.
//
// Accepts
//   - a spool directory (seg-*.jsonl segments + state.json), checked against its acknowledged
//     point so a segment deleted by hand shows up as a gap;
//   - an export file: JSON lines of events (the file sink, or a control plane writing what it
//     received), lines that are JSON arrays of events (one upload batch per line), or one JSON
//     array; any of them gzip'd;
//   - a directory of such files, checked in the order of their first records' seqs (name
//     order among files that begin at the same seq).
//
// Each record's hash is recomputed over its canonical form (chain.ts), so exports may have been
// re-serialised. Breaks, first one wins:
//   edit       content does not match the record's own hash
//   link       prev_hash is not the hash of the record before (a record was altered and
//              re-hashed, or one was inserted)
//   gap        seqs are missing and no drop marker declares them (removal)
//   reorder    seqs go backwards (another record under a seq already read), or missing seqs
//              appear later
// A record read again exactly as already checked (same seq and hash: an upload delivered twice,
// at-least-once) is skipped and counted in duplicates_skipped, as the evidence report does.
//   restart    the chain starts again at seq 1 (spool state lost)
//   malformed  not JSON, or chain fields missing
// A gap is fine when drop markers in the input declare every missing seq, and the markers'
// boundary hashes match the records on both sides.

import { DeclarationIndex, declarationsOf } from './declarations.js'
import { firstDuplicateMember } from './duplicate-keys.js'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { computeHash, GENESIS_HASH } from './chain.js'
import type { DropDeclaration } from './event.js'
import { SEGMENT_RE, STATE_FILE } from './spool.js'
import { parseJsonExact } from '../exact-json.js'

export type BreakReason = 'edit' | 'link' | 'gap' | 'reorder' | 'restart' | 'malformed'

export interface ChainBreak {
  /** seq of the record where the chain breaks (null when the record has no readable seq). */
  seq: number | null
  reason: BreakReason
  message: string
  file: string
  /** 1-based line in the (decompressed) file. */
  line: number
}

export interface VerifyResult {
  ok: boolean
  kind: 'spool' | 'export'
  files: string[]
  /** Chain records checked (decision events + drop markers), up to the break if any. */
  records: number
  decisions: number
  /** Shadow comparisons (records carrying `shadow`): chain records, not enforced decisions. */
  shadows: number
  markers: number
  first_seq: number | null
  last_seq: number | null
  last_hash: string | null
  /** What every drop marker in the input declares (also gaps before its first record: an
   * export that starts after a drop still lost those decisions). */
  declared_drops: DropDeclaration[]
  /** What the first record is checked against: the genesis hash (seq 1), the acknowledged point
   * of a spool's state.json, or nothing (an export starting at a later seq: whatever preceded it,
   * a cut-off head included, is not in the input; `first_prev_hash` must be the previous export's
   * head hash). Null with no records. */
  anchored?: 'genesis' | 'state' | 'none'
  first_prev_hash?: string
  /** Records read again exactly as already checked (a batch delivered twice: at-least-once). */
  duplicates_skipped?: number
  /** Spool only: acknowledged point from state.json, and records still to be delivered. */
  acked_seq?: number
  undelivered?: number
  /** Spool only: the last segment ends in an incomplete line (a crash mid-write; cut off at
   * the next start). Not a break. */
  torn_tail?: boolean
  break?: ChainBreak
}

interface Rec { obj: Record<string, unknown>; file: string; line: number }

/** Largest file (decompressed) verify-log checks: about the longest string V8 makes. */
const MAX_FILE_BYTES = 512 * 2 ** 20

class Malformed extends Error {
  constructor (readonly file: string, readonly line: number, msg: string) { super(msg) }
}

/** Reads of a spool the logger keeps changing before verify-log gives up. */
const LIVE_ATTEMPTS = 5

/**
 * Checks a log: a spool directory (segments + state.json), an export directory or one file.
 * A spool the logger is writing changes under the reader (a delivered segment deleted, the
 * acknowledged point raised, a new segment begun): a read during which state.json changed, or
 * a segment went, is done again, so the answer is about one state of the spool.
 */
export async function verifyLog (pathOrDir: string): Promise<VerifyResult> {
  for (let attempt = 1; ; attempt++) {
    const before = spoolState(pathOrDir)
    let cause: string
    try {
      const result = verifyOnce(pathOrDir)
      if (before === null || spoolState(pathOrDir) === before) return result
      cause = `${STATE_FILE} changed`
    } catch (e) {
      // A file that is missing while nothing else moved is not the logger's doing: say so.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || before === null || spoolState(pathOrDir) === before) throw e
      cause = (e as Error).message
    }
    if (attempt === LIVE_ATTEMPTS) throw new Error(`the spool changed during each of ${LIVE_ATTEMPTS} reads (the logger is delivering; last: ${cause}): verify a copy of it, or stop the logger`)
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt))
  }
}

/** A spool directory's state.json text and file names, or null when `path` holds no state.json. */
function spoolState (path: string): string | null {
  try { return readFileSync(join(path, STATE_FILE), 'utf8') + '\n' + readdirSync(path).sort().join('\n') } catch { return null }
}

function verifyOnce (pathOrDir: string): VerifyResult {
  const st = statSync(pathOrDir)
  let files: string[]
  let kind: 'spool' | 'export' = 'export'
  let anchor: { seq: number; hash: string } | null = null
  let badState: string | null = null
  if (st.isDirectory()) {
    const names = readdirSync(pathOrDir).sort()
    const segments = names.filter((n) => SEGMENT_RE.test(n))
    if (segments.length > 0 || names.includes(STATE_FILE)) {
      kind = 'spool'
      // Regular files only: reading a FIFO named like a segment would wait for ever.
      files = segments.map((n) => join(pathOrDir, n)).filter((f) => statSync(f).isFile())
      if (names.includes(STATE_FILE)) {
        // The anchor decides what may be missing at the start: one that is absent or not a
        // seq and a hash is refused, never read as "acknowledged up to nothing in particular"
        // (a state.json of {} made the gap arithmetic NaN, and a deleted head segment passed).
        const path = join(pathOrDir, STATE_FILE)
        let s: Record<string, unknown> | null = null
        try { s = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== undefined) throw e
        }
        if (s === null || typeof s !== 'object' || !Number.isSafeInteger(s.acked_seq) || (s.acked_seq as number) < 0 ||
            typeof s.acked_hash !== 'string' || !HEX64.test(s.acked_hash)) badState = path
        else anchor = { seq: s.acked_seq as number, hash: s.acked_hash }
      }
    } else {
      files = names.filter((n) => /\.(jsonl|ndjson|json|log)(\.gz)?$|\.gz$/.test(n)).map((n) => join(pathOrDir, n))
        .filter((f) => statSync(f).isFile())
    }
  } else files = [pathOrDir]

  const result: VerifyResult = {
    ok: true, kind, files, records: 0, decisions: 0, shadows: 0, markers: 0,
    first_seq: null, last_seq: null, last_hash: null, declared_drops: [],
  }
  if (badState !== null) {
    return fail(result, { seq: null, reason: 'malformed', message: `${STATE_FILE}: acked_seq / acked_hash missing or invalid (the acknowledged point cannot be checked)`, file: badState, line: 1 })
  }
  if (anchor !== null) result.acked_seq = anchor.seq

  // Each file's records apart: a directory of exports (upload batches named by id or time) is
  // checked in the order of the files' first seqs, so batches whose names do not sort as they
  // were sent are not a reorder (they were, a break for an intact log); files that begin at the
  // same seq (a restart) keep their name order. A spool's segments are named by first seq.
  const perFile: Rec[][] = []
  const ordered = (): Rec[] => {
    if (kind === 'spool' || perFile.length < 2) return perFile.flat()
    const firstSeq = (rs: Rec[]): number => { const q = rs[0]?.obj.seq; return typeof q === 'number' ? q : Infinity }
    return perFile.map((rs, i) => ({ rs, i, at: firstSeq(rs) })).sort((a, b) => a.at - b.at || a.i - b.i).flatMap((x) => x.rs)
  }
  try {
    for (let i = 0; i < files.length; i++) {
      const recs: Rec[] = []
      perFile.push(recs)
      const torn = readRecords(files[i]!, recs, kind === 'spool' && i === files.length - 1)
      if (torn) result.torn_tail = true
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e
    // Check what precedes the unreadable line first: an earlier break is the first break. (Not
    // for a directory of exports: the files after it are not read, so their seqs would read as
    // missing.)
    const early = kind === 'spool' || perFile.length < 2 ? check(ordered(), anchor, result) : undefined
    if (early !== undefined) return fail(result, early)
    return fail(result, { seq: null, reason: 'malformed', message: e.message, file: e.file, line: e.line })
  }
  const recs = ordered()
  const brk = check(recs, anchor, result)
  if (brk !== undefined) return fail(result, brk)
  if (kind === 'spool') {
    const acked = anchor?.seq ?? 0
    result.acked_seq = acked
    result.undelivered = recs.filter((r) => (r.obj.seq as number) > acked).length
  }
  return result
}

function fail (result: VerifyResult, brk: ChainBreak): VerifyResult {
  result.ok = false
  result.break = brk
  return result
}

/** Append the records of one file. Returns true if the file ends in a torn line that is
 * tolerated (allowTorn). Throws Malformed on unreadable content. */
function readRecords (file: string, out: Rec[], allowTorn: boolean): boolean {
  const name = basename(file)
  let buf = readFileSync(file)
  const gzip = buf[0] === 0x1f && buf[1] === 0x8b
  let tooLarge = buf.length > MAX_FILE_BYTES
  if (gzip) {
    // A file is checked whole, as one string: past the longest string there is, decompressing
    // further only fills memory (a 1.5 MB gzip bomb took 4.5 GB before failing).
    try { buf = gunzipSync(buf, { maxOutputLength: MAX_FILE_BYTES }) } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw e
      tooLarge = true
    }
  }
  if (tooLarge) {
    throw new Malformed(file, 1, `${name}: more than ${MAX_FILE_BYTES / 2 ** 20} MiB${gzip ? ' once decompressed' : ''}; verify-log reads a file whole: split it (one segment or upload batch per file), or use bouncer evidence, which streams`)
  }
  const text = buf.toString('utf8')
  // One JSON array for the whole file (an upload body saved as is).
  if (/^\s*\[/.test(text)) {
    let arr: unknown
    try { arr = parseJsonExact(text) } catch { /* not a single array: one array or event per line */ }
    if (Array.isArray(arr)) {
      const twice = firstDuplicateMember(text)
      if (twice !== null) throw new Malformed(file, 1, `${name}: element ${twice.split('/')[1]}: member /${twice.split('/').slice(2).join('/')} appears twice (JSON.parse keeps the last, other readers the first: the record was edited)`)
      for (const ev of arr) pushRecord(ev, file, 1, out)
      return false
    }
  }
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === '') continue
    let v: unknown
    try { v = parseJsonExact(line) } catch {
      if (allowTorn && i === lines.length - 1) return true // no newline after it: torn write
      throw new Malformed(file, i + 1, `${name}:${i + 1}: not valid JSON`)
    }
    const twice = firstDuplicateMember(line)
    if (twice !== null) throw new Malformed(file, i + 1, `${name}:${i + 1}: member ${twice} appears twice (JSON.parse keeps the last, other readers the first: the record was edited)`)
    if (Array.isArray(v)) for (const ev of v) pushRecord(ev, file, i + 1, out)
    else pushRecord(v, file, i + 1, out)
  }
  return false
}

function pushRecord (v: unknown, file: string, line: number, out: Rec[]): void {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Malformed(file, line, `${basename(file)}:${line}: a chain record must be a JSON object`)
  }
  out.push({ obj: v as Record<string, unknown>, file, line })
}

const HEX64 = /^[0-9a-f]{64}$/

function check (recs: Rec[], anchor: { seq: number; hash: string } | null, result: VerifyResult): ChainBreak | undefined {
  // Pass 1: what exists anywhere in the input — seqs (to tell reordering from removal) and
  // drop declarations (markers come after the gap they declare).
  const seqs: number[] = []
  const declared: DropDeclaration[] = []
  for (const r of recs) {
    if (typeof r.obj.seq === 'number') seqs.push(r.obj.seq)
    // A marker declares seqs before its own (the logger chains it after them); one that does
    // not is refused below, and excuses nothing. Its `also` ranges (earlier markers' ranges,
    // declared again) declare as its own does.
    if (typeof r.obj.seq === 'number') for (const d of declarationsOf(r.obj.drop, r.obj.seq)) declared.push(d)
  }
  seqs.sort((a, b) => a - b)
  const declarations = indexDeclarations(declared)

  let prev: { seq: number; hash: string } | null = null
  // What was checked, by seq: a record read again with the same hash is a re-delivery (the
  // control plane got a batch twice), not a break; another record under a seen seq still is.
  const checked = new Map<number, string>()
  for (const r of recs) {
    const o = r.obj
    const at = (reason: BreakReason, message: string, seq: number | null = o.seq as number): ChainBreak =>
      ({ seq, reason, message: `${basename(r.file)}:${r.line}: ${message}`, file: r.file, line: r.line })
    const seq = o.seq
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1 || typeof o.hash !== 'string' || !HEX64.test(o.hash) ||
        typeof o.prev_hash !== 'string' || !HEX64.test(o.prev_hash)) {
      return at('malformed', 'record lacks a valid seq / prev_hash / hash', typeof seq === 'number' ? seq : null)
    }
    let computed: string
    try { computed = computeHash(o) } catch (e) { return at('malformed', `cannot canonicalise: ${(e as Error).message}`) }
    if (computed !== o.hash) return at('edit', `seq ${seq}: content does not match its hash (the record was edited)`)
    const d = o.drop as DropDeclaration | undefined
    if (d !== undefined && d !== null && typeof d === 'object' && Number.isInteger(d.from_seq) && Number.isInteger(d.to_seq) && (d.to_seq >= seq || d.from_seq < 1)) {
      return at('malformed', `seq ${seq}: a drop marker declaring seq ${d.from_seq}..${d.to_seq}, which are not all before it (the logger chains a marker after the seqs it declares)`)
    }

    // Spool: the acknowledged point anchors the records (the record at it, wherever it comes,
    // must be the one acknowledged; a chain starting after it must link to it).
    if (anchor !== null && seq === anchor.seq && o.hash !== anchor.hash) return at('link', `seq ${seq}: hash differs from the acknowledged hash in state.json`)
    if (prev === null && anchor !== null && seq > anchor.seq) prev = anchor
    if (prev === null) {
      if (seq === 1 && o.prev_hash !== GENESIS_HASH) return at('link', 'seq 1: prev_hash is not the genesis hash')
    } else if (seq === prev.seq + 1) {
      if (o.prev_hash !== prev.hash) return at('link', `seq ${seq}: prev_hash is not the hash of seq ${prev.seq} (a record was altered and re-hashed, or inserted)`)
    } else if (seq <= prev.seq) {
      if (checked.get(seq) === o.hash) { result.duplicates_skipped = (result.duplicates_skipped ?? 0) + 1; continue }
      if (seq === 1 && o.prev_hash === GENESIS_HASH) return at('restart', `chain restarts at seq 1 after seq ${prev.seq} (spool state lost?)`)
      return at('reorder', `seq ${seq} comes after seq ${prev.seq}`)
    } else {
      const from = prev.seq + 1
      const to = seq - 1
      const later = firstIn(seqs, from, to)
      if (later !== undefined) return at('reorder', `seq ${seq} follows seq ${prev.seq}, but seq ${later} appears later`)
      const brk = checkDeclaredGap(from, to, prev.hash, o.prev_hash as string, declarations)
      if (brk !== null) return at(brk.reason, brk.message)
    }

    if (result.first_seq === null) {
      result.first_seq = seq
      result.first_prev_hash = o.prev_hash as string
      result.anchored = seq === 1 ? 'genesis' : anchor !== null ? 'state' : 'none'
    }
    result.last_seq = seq
    result.last_hash = o.hash as string
    result.records++
    checked.set(seq, o.hash as string)
    if (o.drop !== undefined) result.markers++
    else if (o.shadow !== undefined) result.shadows++
    else result.decisions++
    prev = { seq, hash: o.hash as string }
  }
  // Delivered segments go oldest first, and the newest one is never deleted: a spool whose
  // records end before the acknowledged point lost its newest records (removed, or not yet
  // synced when the power went, with fsync interval).
  const last = recs[recs.length - 1]
  if (anchor !== null && last !== undefined && result.last_seq !== null && result.last_seq < anchor.seq) {
    return { seq: result.last_seq + 1, reason: 'gap', message: `${basename(last.file)}:${last.line}: the spool's records end at seq ${result.last_seq}, but ${STATE_FILE} acknowledges seq ${anchor.seq}: seq ${result.last_seq + 1}..${anchor.seq} are not in the spool (removed, or lost to a power loss before they were synced; the control plane's copy should have them)`, file: last.file, line: last.line }
  }
  // Every declaration, once (a marker delivered twice, or carried into a later one, declares the same seqs).
  const seen = new Set<string>()
  for (const d of declared.sort((a, b) => a.from_seq - b.from_seq || a.to_seq - b.to_seq)) {
    const k = `${d.from_seq}..${d.to_seq}`
    if (seen.has(k)) continue
    seen.add(k)
    result.declared_drops.push(d)
  }
  return undefined
}

/** The input's drop declarations, indexed for the gap checks. */
export function indexDeclarations (declared: readonly DropDeclaration[]): DeclarationIndex<{ d: DropDeclaration }> {
  const index = new DeclarationIndex<{ d: DropDeclaration }>()
  for (const d of declared) index.add({ d })
  return index
}

export function checkDeclaredGap (from: number, to: number, hashBefore: string, prevHashAfter: string, declared: DeclarationIndex<{ d: DropDeclaration }>): { reason: BreakReason; message: string } | null {
  const missing = declared.firstUncovered(from, to)
  if (missing !== undefined) {
    return { reason: 'gap', message: `seq ${missing}..${to} are missing and no drop marker declares them (removed)` }
  }
  // The declarations must join the chain on both sides of the gap.
  const start = declared.startingAt(from)?.d
  if (start !== undefined && start.from_prev_hash !== hashBefore) {
    return { reason: 'link', message: `drop marker for seq ${from}..${start.to_seq} does not continue from seq ${from - 1}` }
  }
  const end = declared.endingAt(to)?.d
  if (end !== undefined && end.to_hash !== prevHashAfter) {
    return { reason: 'link', message: `seq ${to + 1}: prev_hash does not match the dropped seq ${to} the marker declares` }
  }
  return null
}

/** The smallest value of sorted within [lo, hi], if any. */
function firstIn (sorted: number[], lo: number, hi: number): number | undefined {
  let a = 0
  let b = sorted.length
  while (a < b) {
    const m = (a + b) >> 1
    if (sorted[m]! < lo) a = m + 1
    else b = m
  }
  return a < sorted.length && sorted[a]! <= hi ? sorted[a] : undefined
}
