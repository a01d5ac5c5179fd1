// The Integrity section: the hash chain checked record by record as the log streams by, with
// every finding kept (verify-log stops at the first break; an auditor needs all of them).
//
// Chains are told apart by labels.id (the spool's instance id by default), so the logs of
// several pods in one export are each checked on their own. Per chain:
//   edit       a record's content does not match its own hash: it is left out of the report's
//              other sections (its content cannot be trusted)
//   link       prev_hash is not the hash of the record before (altered and re-hashed, inserted,
//              or a drop marker whose boundary hashes do not match)
//   gap        seqs missing that no drop marker declares
//   conflict   two different records with the same seq
//   reorder    a record arrives after later ones (files read out of order); its links are
//              still checked, so a reorder alone loses nothing
//   restart    the chain starts again at seq 1 under the same labels.id (spool state lost)
//              (records below the first one read of a chain, from an export given after a
//              later one, are checked as the chain's front: merged when they link to it, with a
//              reorder note; only a front from seq 1 that never links, and runs later in time
//              or into the chain, is a restart)
//   malformed  not JSON, not an object, chain fields missing, or a truncated file
//   drop       a drop marker: decisions lost and declared (spool full, or refused as too large)
//   new_chain  another chain begins at seq 1 (a new instance, e.g. a pod replaced)
//   chain_start a chain that begins in the input after seq 1 (what came before is not here)
//   torn_tail  a spool segment ends in an incomplete line (a crash mid-write; not a break)
//   version    labels.version changed within a chain (Bouncer upgraded; the chain went on)
//   duplicate  the same record twice (at-least-once delivery re-sends a batch): counted once
// Memory is bounded by the number of chains and open gaps, not by the number of records.

import { DeclarationIndex, declarationsOf } from '../decision-log/declarations.js'
import { firstDuplicateMember } from '../decision-log/duplicate-keys.js'
import type { DropDeclaration } from '../decision-log/index.js'
import { GENESIS_HASH } from '../decision-log/index.js'
import { recordHash, textHash } from './hash.js'
import { formatPosition, type Position } from './source.js'

export type FindingKind = 'edit' | 'link' | 'gap' | 'conflict' | 'reorder' | 'restart' | 'malformed' | 'drop' |
  'new_chain' | 'chain_start' | 'torn_tail' | 'version'

/** break: the record was altered or lost without a trace in the chain; loss: decisions lost and
 * declared; uncovered: part of the period the log cannot show complete; note: for the record. */
export type Severity = 'break' | 'loss' | 'uncovered' | 'note'

export interface Finding {
  kind: FindingKind
  severity: Severity
  /** labels.id of the chain (with "#2", "#3" after a restart under the same id). */
  chain: string | null
  seq: number | null
  /** Last seq of a range (gap, drop). */
  to_seq?: number
  /** file:line (element n) where the finding shows. */
  at: string
  /** Timestamp of the record at fault, when it has one. */
  timestamp?: string
  /** For gaps and drops: the times of the records on either side. */
  between?: [string | null, string | null]
  /** Decisions lost (drop markers). */
  count?: number
  message: string
  /** Filled in when the report is built. */
  in_period?: boolean
}

const SEVERITY: Readonly<Record<FindingKind, Severity>> = {
  edit: 'break', link: 'break', gap: 'break', conflict: 'break', restart: 'break', malformed: 'break',
  drop: 'loss', chain_start: 'note', reorder: 'note', new_chain: 'note', torn_tail: 'note', version: 'note',
}

interface Point { seq: number; hash: string; ts: number | null; tsText: string | null }

interface Gap {
  from: number
  to: number
  /** hash of record from-1 and its time */
  hashBefore: string
  tsBefore: string | null
  /** prev_hash of record to+1 and its time / position */
  prevHashAfter: string
  tsAfter: string | null
  at: string
}

export interface ChainSummary {
  id: string
  first: { seq: number; hash: string; prev_hash: string; timestamp: string | null; at: string }
  last: { seq: number; hash: string; timestamp: string | null }
  /** First and last records of the chain inside the period (null when none is). */
  period_first: { seq: number; hash: string; timestamp: string | null } | null
  period_last: { seq: number; hash: string; timestamp: string | null } | null
  records: number
  decisions: number
  markers: number
  duplicates: number
  starts_at_genesis: boolean
  anchored_at?: number
  versions: string[]
}

interface Chain {
  id: string
  key: string
  first: ChainSummary['first']
  head: Point
  periodFirst: ChainSummary['period_first']
  periodLast: ChainSummary['period_last']
  gaps: Gap[]
  declared: DeclarationIndex<{ d: DropDeclaration; finding: Finding }>
  records: number
  decisions: number
  markers: number
  duplicates: number
  version: string | null
  versions: Set<string>
  anchoredAt?: number
  /** The hashes of the last RING records taken, by seq, oldest taken first (duplicates and
   * second versions of a seq are told apart with it). A map, not a ring indexed by seq modulo
   * its size: a ring sized by the span of seqs took 16,384 slots for a forged pod of two
   * records (seq 1 and 20000), and one sized by records read too evicted records still needed
   * (an overlapping export read after a gap was a break). */
  seen: Map<number, string>
  /** the chain_start note, while the chain begins in the input after seq 1 */
  startFinding?: Finding
  /** the reorder note of the last run of records taken below `first` (prepend) */
  prepended?: Finding
  /** Set while this chain is another chain's earlier records read after it (exports given
   * late-first): checked on its own until it reaches base's first record (see settle). */
  front?: Front
}

interface Front {
  base: Chain
  /** begins at seq 1 after the genesis hash: a restart if it never links to base */
  genesis: boolean
  /** the restart finding it is, if it is one */
  restart: Omit<Finding, 'severity'>
  /** findings made under this front's own key (a front from seq 1 has one, id#n): renamed to
   * the base's when it merges */
  named: Finding[]
  /** the restart numbering it took (id#n), given back when it merges */
  epoch?: number
}

/** Records of the spool being read that link one to the next (seq from..to), for following
 * the spool's sequence at its end: an intact spool is one run, so memory stays bounded by its
 * breaks, not by its records. */
interface SpoolRun { from: number; prev: string; to: number; hash: string; chain: string; at: Position }

const RING = 1 << 14
const MAX_GAPS = 10_000
const MAX_FINDINGS = 10_000
/** Fronts of fronts of one chain (a record is routed up through them), and fronts open at
 * once; past either, a record below its chain's first one is a break as before fronts (a log
 * shuffled record by record is not reordered). */
const MAX_FRONT_DEPTH = 64
const MAX_FRONTS = 100_000
const MAX_SEVERE = 200_000
const HEX64 = /^[0-9a-f]{64}$/

export type Disposition = 'use' | 'skip'

export interface CheckedRecord {
  /** The decision event or marker (chain fields included). */
  obj: Record<string, unknown>
  chain: string
  isMarker: boolean
}

export class ChainChecker {
  private readonly chains = new Map<string, Chain>()
  private readonly epochs = new Map<string, number>()
  private readonly order: Chain[] = []
  readonly findings: Finding[] = []
  /** Findings taken back (a chain_start note whose chain turned out to begin at seq 1): left
   * in place until finish() (splicing moved the others under a front's renaming). */
  private readonly withdrawn = new Set<Finding>()
  /** The chain the last record went to (remember). */
  private lastChain: Chain | null = null
  readonly findingCounts: Partial<Record<FindingKind, number>> = {}
  records = 0
  decisions = 0
  markers = 0
  duplicates = 0
  edited = 0
  /** Spool anchor for the next new chain read from a spool. */
  private pendingAnchor: { seq: number; hash: string } | null = null
  /** The spool being read: its acknowledged point, the runs of its records whose content
   * matches their hash, and its drop declarations (under any labels.id: a spool's seqs are one
   * sequence). */
  private spoolAnchor: { seq: number; hash: string } | null = null
  private spoolRuns: SpoolRun[] = []
  private spoolDecl = new DeclarationIndex<{ d: DropDeclaration }>()
  /** Malformed findings waiting for the time of the next record in the same file. */
  private undated: Finding[] = []
  /** Findings other than notes past MAX_SEVERE: not listed, so not placed in the period. */
  severeNotListed = 0
  private lastTsText: string | null = null
  /** Chains that are a front (Chain.front) not yet settled: usually none. */
  private readonly fronts = new Set<Chain>()
  /** The same, by labels.id (at most MAX_FRONT_DEPTH each). */
  private readonly frontsOf = new Map<string, Chain[]>()
  /** Open fronts with a key of their own (from seq 1: id#n), by that key. */
  private readonly keyed = new Map<string, Front>()

  constructor (private readonly inPeriod: (ts: number | null) => boolean) {}

  /** prev_hash is hex: free when it equals the hash of the chain's last record, the regex
   * otherwise. (hash is compared with the computed hash below: only a mismatch needs the
   * pattern, to tell an edit from a malformed field.) */
  private hexOk (prev: string, c: Chain | undefined): boolean {
    return (c !== undefined && c.head.hash === prev) || HEX64.test(prev)
  }

  /** The next new chain comes from a spool whose state.json acknowledged `anchor`. */
  setAnchor (anchor: { seq: number; hash: string } | null): void {
    this.pendingAnchor = anchor
    this.spoolAnchor = anchor
    this.spoolRuns = []
    this.spoolDecl = new DeclarationIndex()
  }

  /**
   * The end of a spool's files. Delivered segments go oldest first and the newest is never
   * deleted, so records that end before the acknowledged point lost the newest ones: removed,
   * or not yet synced when the power went (fsync interval); either way the spool does not show
   * them (forged records below the point were reported as anchored and complete).
   */
  endSpool (): void {
    const anchor = this.spoolAnchor
    const runs = this.spoolRuns.sort((a, b) => a.from - b.from)
    const decl = this.spoolDecl
    this.pendingAnchor = null
    this.spoolAnchor = null
    this.spoolRuns = []
    this.spoolDecl = new DeclarationIndex()
    if (anchor === null || runs.length === 0) return
    // Follow the spool's sequence as verify-log does, whatever labels.id each record carries:
    // from its first record (delivered ones may still be there) or from the acknowledged point,
    // through records that link and gaps that markers declare and join. The highest seq read
    // alone proved nothing: a self-hashed record under another labels.id, above removed ones,
    // raised it.
    const first = runs[0]!
    let cur: { seq: number; hash: string; chain: string; at: Position | null } = first.from > anchor.seq
      ? { ...anchor, chain: first.chain, at: null }
      : { seq: first.to, hash: first.hash, chain: first.chain, at: first.at }
    for (const r of runs) {
      if (r.from <= cur.seq) continue // the first run, or repeated seqs (a conflict the chains report)
      if (r.from > cur.seq + 1) {
        const start = decl.startingAt(cur.seq + 1)?.d
        const end = decl.endingAt(r.from - 1)?.d
        if (decl.firstUncovered(cur.seq + 1, r.from - 1) !== undefined || (start !== undefined && start.from_prev_hash !== cur.hash) ||
            (end !== undefined && end.to_hash !== r.prev)) break
      } else if (r.prev !== cur.hash) break
      cur = { seq: r.to, hash: r.hash, chain: r.chain, at: r.at }
    }
    if (cur.seq >= anchor.seq) return
    const at = cur.at !== null ? formatPosition(cur.at) : 'state.json'
    this.add({ kind: 'gap', chain: cur.chain, seq: cur.seq + 1, to_seq: anchor.seq, at,
      message: `${at}: the spool's records continue only to seq ${cur.seq}, but its state.json acknowledges seq ${anchor.seq}: seq ${cur.seq + 1}..${anchor.seq} are not in the spool (removed, or lost to a power loss before they were synced; the control plane's copy should have them)` })
  }

  startFile (): void {
    this.flushUndated(null)
    this.lastTsText = null
  }

  endFile (): void { this.flushUndated(null) }

  tornTail (file: string): void {
    this.add({ kind: 'torn_tail', chain: null, seq: null, at: file, message: `${file} ends in an incomplete line (a crash mid-write; the logger cuts it off when it next opens the spool)` })
  }

  malformed (pos: Position, message: string): void {
    const f = this.add({ kind: 'malformed', chain: null, seq: null, at: formatPosition(pos), message })
    f.between = [this.lastTsText, null]
    this.undated.push(f)
  }

  stateError (message: string, at: string): void {
    this.add({ kind: 'malformed', chain: null, seq: null, at, message })
  }

  /**
   * Check one record. Returns whether its content may be used by the report (a decision or a
   * marker whose hash matches and that was not seen before). `text`, the text v was parsed from
   * (ReadHandlers.item), lets a record in the logger's own layout be hashed without
   * serialising it again (textHash); the result is the same without it. `textHashed` is
   * textHash(text) when the reader already computed it (src/evidence/parallel.ts).
   */
  record (v: unknown, pos: Position, ts: number | null, tsText: string | null, text?: string, textHashed?: string | null): Disposition {
    this.lastChain = null
    const d = this.check(v, pos, ts, tsText, text, textHashed)
    // A front that reached the record before its base's first one is settled at once (only the
    // chain the record went to can have moved).
    const p = this.lastChain as Chain | null
    if (p !== null && p.front !== undefined && p.head.seq >= p.front.base.first.seq - 1) this.settle(p)
    return d
  }

  private check (v: unknown, pos: Position, ts: number | null, tsText: string | null, text?: string, textHashed?: string | null): Disposition {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.malformed(pos, `${formatPosition(pos)}: a chain record must be a JSON object`)
      return 'skip'
    }
    const o = v as Record<string, unknown>
    const seq = o.seq
    const labels = o.labels as Record<string, unknown> | undefined
    const id = labels !== null && typeof labels === 'object' && typeof labels.id === 'string' ? labels.id : ''
    let c = this.chains.get(id)
    // Chain fields: 64 lowercase hex digits. The full pattern is checked only where the values are
    // not already known to be equal to a hash this checker computed or linked (see below), which
    // is every record of an intact chain.
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1 || typeof o.hash !== 'string' || o.hash.length !== 64 ||
        typeof o.prev_hash !== 'string' || o.prev_hash.length !== 64 || !this.hexOk(o.prev_hash, c)) {
      this.malformed(pos, `${formatPosition(pos)}: not a decision-log record (no valid seq / prev_hash / hash)`)
      return 'skip'
    }
    const hash = o.hash
    const prev = o.prev_hash
    const isMarker = o.drop !== undefined
    let computed: string
    let fast: string | null = null
    try {
      fast = textHashed !== undefined ? textHashed : text !== undefined ? textHash(text) : null
      computed = fast ?? recordHash(o)
    } catch (e) {
      this.malformed(pos, `${formatPosition(pos)}: seq ${seq}: cannot be canonicalised (${(e as Error).message})`)
      return 'skip'
    }
    // Off the fast path (which hashes the text itself), a member named twice hides from the
    // parsed record (JSON.parse keeps the last) what a first-wins reader sees: an edit.
    const edited = computed !== hash || (fast === null && text !== undefined && firstDuplicateMember(text) !== null)
    if (edited && !HEX64.test(hash)) {
      this.malformed(pos, `${formatPosition(pos)}: not a decision-log record (no valid seq / prev_hash / hash)`)
      return 'skip'
    }
    // Only a record whose content matches its hash dates anything: an edited one's timestamp is
    // whatever the editor wrote (moved out of the period, it would take its finding along).
    if (!edited) {
      this.flushUndated(tsText)
      if (tsText !== null) this.lastTsText = tsText
    }
    this.records++

    // A spool's records, whichever chain (labels.id) they go to and whatever was read before:
    // the one at the acknowledged point must be the acknowledged one.
    const anchor = this.spoolAnchor
    if (anchor !== null) {
      if (!edited) {
        const run = this.spoolRuns[this.spoolRuns.length - 1]
        if (run !== undefined && seq === run.to + 1 && prev === run.hash) { run.to = seq; run.hash = hash; run.chain = c?.key ?? id; run.at = pos }
        else this.spoolRuns.push({ from: seq, prev, to: seq, hash, chain: c?.key ?? id, at: pos })
        for (const d of declarationsOf(o.drop, seq)) this.spoolDecl.add({ d })
      }
      if (seq === anchor.seq && hash !== anchor.hash) {
        const at = formatPosition(pos)
        this.add({ kind: 'link', chain: c?.key ?? id, seq, at, timestamp: tsText ?? undefined, message: `${at}: seq ${seq}: hash differs from the acknowledged hash in state.json` })
      }
    }
    // A record in the range of the chain a front lies below goes to that chain; the front stays
    // open (its missing records may still come: parts a, c, b of a log) until it links, or the
    // input ends. A restart's records reach the record before the base's first before any of
    // the base's range, so a restart is settled before.
    while (c?.front !== undefined && seq >= c.front.base.first.seq) c = c.front.base
    if (c !== undefined && seq < c.first.seq && this.spoolAnchor === null && c.anchoredAt === undefined) {
      // Below the first record read of this chain: its earlier records, read late (an export
      // given after a later one), or a restart. The record just before the first, linking to
      // it, is taken at once (a log read newest first is one run of these); others are checked
      // as a front until that shows (a front's own earlier records, read later still, are a
      // front of the front). Past MAX_FRONTS / MAX_FRONT_DEPTH, a record goes the old way (a break).
      const at = formatPosition(pos)
      if (!edited && seq === c.first.seq - 1 && hash === c.first.prev_hash) return this.prepend(c, o, seq, hash, prev, ts, tsText, at, isMarker)
      if (this.fronts.size < MAX_FRONTS && frontDepth(c) < MAX_FRONT_DEPTH) {
        const p = this.startFront(c, o, seq, hash, prev, ts, tsText, at)
        return this.firstOf(p, o, seq, hash, ts, tsText, at, edited, isMarker)
      }
    }
    // The next record of an intact chain: nothing to report, so no position text to build.
    if (c !== undefined && !edited && seq === c.head.seq + 1 && prev === c.head.hash) return this.accept(c, o, seq, hash, ts, tsText, isMarker)
    const at = formatPosition(pos)
    if (c === undefined) {
      c = this.newChain(id, id, o, seq, hash, prev, ts, tsText, at)
      return this.firstOf(c, o, seq, hash, ts, tsText, at, edited, isMarker)
    }

    const head = c.head
    if (seq === head.seq + 1) {
      if (prev !== head.hash) {
        this.add({ kind: 'link', chain: c.key, seq, at, timestamp: tsText ?? undefined, message: `${at}: seq ${seq}: prev_hash is not the hash of seq ${head.seq} (a record was altered and re-hashed, or inserted)` })
      }
    } else if (seq > head.seq + 1) {
      this.openGap(c, { from: head.seq + 1, to: seq - 1, hashBefore: head.hash, tsBefore: head.tsText, prevHashAfter: prev, tsAfter: tsText, at })
    } else {
      // seq <= head: a duplicate, a late record filling a gap, a conflict or a restart.
      const known = c.seen.get(seq)
      if (known !== undefined) {
        // The same stored hash over other content is an edited copy, not a re-delivery.
        if (known === hash && edited) {
          this.edited++
          const f = this.add({ kind: 'edit', chain: c.key, seq, at, message: `${at}: seq ${seq}: content does not match its hash (a copy of a record read before, edited); left out of the sections below` })
          f.between = [this.lastTsText, null]
          this.undated.push(f)
          return 'skip'
        }
        if (known === hash) {
          c.duplicates++
          this.duplicates++
          this.records--
          return 'skip'
        }
        if (seq === 1 && prev === GENESIS_HASH) return this.restart(c, o, seq, hash, prev, ts, tsText, at, edited, isMarker)
        this.add({ kind: 'conflict', chain: c.key, seq, at, timestamp: tsText ?? undefined, message: `${at}: seq ${seq}: a different record with the same seq was read before (two versions of the record); this one is left out` })
        this.records--
        return 'skip'
      }
      const gi = c.gaps.findIndex((g) => g.from <= seq && seq <= g.to)
      if (gi >= 0) {
        this.fillGap(c, gi, seq, hash, prev, at, tsText)
        this.add({ kind: 'reorder', chain: c.key, seq, at, timestamp: tsText ?? undefined, message: `${at}: seq ${seq} comes after seq ${head.seq} (the input is out of order; its links are checked)` })
        this.remember(c, seq, hash)
        if (edited) return this.editedRecord(c, seq, at, tsText)
        this.count(c, isMarker, o, seq, hash, ts, tsText)
        return 'use'
      }
      if (seq === 1 && prev === GENESIS_HASH) return this.restart(c, o, seq, hash, prev, ts, tsText, at, edited, isMarker)
      // Not in a gap, so it was read before, too long ago to compare: a duplicate or a second
      // version of the record. Not counted again; a break, since which it is cannot be shown.
      this.add({ kind: 'reorder', chain: c.key, seq, at, timestamp: tsText ?? undefined, message: `${at}: seq ${seq} comes again after seq ${head.seq}, too far back to compare with the record read before; left out` }, 'break')
      this.records--
      return 'skip'
    }
    if (edited) {
      // Link the next record to the stored hash, so one edit is one finding.
      c.head = { seq, hash, ts, tsText }
      this.remember(c, seq, hash)
      return this.editedRecord(c, seq, at, tsText)
    }
    return this.accept(c, o, seq, hash, ts, tsText, isMarker)
  }

  private newChain (id: string, key: string, o: Record<string, unknown>, seq: number, hash: string, prev: string, ts: number | null, tsText: string | null, at: string, front = false): Chain {
    const c: Chain = {
      id, key,
      first: { seq, hash, prev_hash: prev, timestamp: tsText, at },
      head: { seq: 0, hash: GENESIS_HASH, ts: null, tsText: null },
      periodFirst: null, periodLast: null,
      gaps: [], declared: new DeclarationIndex(), records: 0, decisions: 0, markers: 0, duplicates: 0,
      version: null, versions: new Set(),
      seen: new Map(),
    }
    const anchor = this.pendingAnchor
    this.pendingAnchor = null
    const others = this.order.length > 0
    this.chains.set(id, c)
    this.order.push(c)
    const label = key === '' ? 'the chain without labels.id' : `chain ${key}`
    if (anchor !== null && seq > anchor.seq) {
      // Spool: records up to the acknowledged point were delivered and may be deleted.
      c.anchoredAt = anchor.seq
      c.head = { seq: anchor.seq, hash: anchor.hash, ts: null, tsText: null }
      if (seq === anchor.seq + 1) {
        if (prev !== anchor.hash) this.add({ kind: 'link', chain: key, seq, at, timestamp: tsText ?? undefined, message: `${at}: seq ${seq}: prev_hash is not the acknowledged hash in state.json` })
      } else {
        this.openGap(c, { from: anchor.seq + 1, to: seq - 1, hashBefore: anchor.hash, tsBefore: null, prevHashAfter: prev, tsAfter: tsText, at })
      }
    } else if (anchor !== null) {
      // (a record at the acknowledged point that is not the acknowledged one: see record())
      c.anchoredAt = anchor.seq
    } else if (seq === 1) {
      if (prev !== GENESIS_HASH) this.add({ kind: 'link', chain: key, seq, at, timestamp: tsText ?? undefined, message: `${at}: seq 1: prev_hash is not the genesis hash` })
      else if (others && !front) this.add({ kind: 'new_chain', chain: key, seq, at, timestamp: tsText ?? undefined, message: `${label} begins at seq 1${tsText !== null ? ` at ${tsText}` : ''} (a new instance: a new pod, or a spool that was replaced)` })
    } else if (!front) {
      c.startFinding = this.add(chainStart(key, label, seq, prev, tsText, at))
    }
    void o
    void ts
    return c
  }

  /** The record before `c`'s first, linking to it, read after it: `c` begins there now. */
  private prepend (c: Chain, o: Record<string, unknown>, seq: number, hash: string, prev: string, ts: number | null, tsText: string | null, at: string, isMarker: boolean): Disposition {
    const n = c.first.seq
    c.first = { seq, hash, prev_hash: prev, timestamp: tsText, at }
    // Below every seq taken: kept only while there is room (the newest hashes are the ones an
    // overlapping export's re-sent records need).
    if (c.seen.size < RING && !c.seen.has(seq)) c.seen.set(seq, hash)
    this.count(c, isMarker, o, seq, hash, ts, tsText, true)
    // One reorder note per run read backwards.
    const r = c.prepended
    if (r !== undefined && r.seq === n) {
      r.seq = seq
      r.at = at
      r.timestamp = tsText ?? undefined
      r.message = reorderText(at, seq, r.to_seq!, r.to_seq! + 1)
    } else {
      c.prepended = this.add({ kind: 'reorder', chain: c.key, seq, to_seq: seq, at, timestamp: tsText ?? undefined, message: reorderText(at, seq, seq, n) })
    }
    this.restartAt(c)
    return 'use'
  }

  /** The earlier records of chain `base`, from `seq` on, read after it: a chain of their own,
   * the front, until settle() merges it into base or names it a restart. */
  private startFront (base: Chain, o: Record<string, unknown>, seq: number, hash: string, prev: string, ts: number | null, tsText: string | null, at: string): Chain {
    const genesis = seq === 1 && prev === GENESIS_HASH
    let key = base.key
    let epoch: number | undefined
    if (genesis) {
      epoch = (this.epochs.get(base.id) ?? 1) + 1
      this.epochs.set(base.id, epoch)
      key = `${base.id}#${epoch}`
    }
    const restart = restartFinding(base, key, seq, at, tsText)
    const p = this.newChain(base.id, key, o, seq, hash, prev, ts, tsText, at, true)
    p.front = { base, genesis, restart, named: [], ...(epoch !== undefined ? { epoch } : {}) }
    if (genesis) this.keyed.set(key, p.front)
    this.fronts.add(p)
    const same = this.frontsOf.get(base.id)
    if (same === undefined) this.frontsOf.set(base.id, [p])
    else same.push(p)
    return p
  }

  /**
   * A front is done: it reached the record before its base's first one, or the input ended. Linked to the base's first record, it is the base's start read late (one
   * reorder note). From seq 1 and not linked, it is a restart. Otherwise it is merged and what
   * lies between is a gap (declared by drop markers, or a break).
   */
  private settle (p: Chain): void {
    const f = p.front!
    const base = f.base
    this.fronts.delete(p)
    const same = this.frontsOf.get(base.id)!
    same.splice(same.indexOf(p), 1)
    if (same.length === 0) this.frontsOf.delete(base.id)
    if (f.genesis) this.keyed.delete(p.key)
    p.front = undefined
    const n = base.first.seq
    const linked = p.head.seq === n - 1 && p.head.hash === base.first.prev_hash
    // Only a link proves a front from seq 1 to be the base's start: times are whatever a forger
    // wrote (a dated-early seq 1..5 with a marker "declaring" up to the base merged and hid a
    // removal). A link through drop markers does too: the logger declares a drop from the last
    // record delivered to the first kept, so uploads given late-first meet across it.
    if (!linked && f.genesis && !(p.head.seq < n - 1 && this.declaredJoin(p, base))) {
      this.add(f.restart)
      return
    }
    // Merge: the base takes the front's records, findings and key back; fronts opened below the
    // front are fronts of the base now, and records go to the lowest of them still open.
    this.order.splice(this.order.indexOf(p), 1)
    let lowest = base
    for (const q of this.frontsOf.get(base.id) ?? []) {
      if (q.front!.base === p) q.front!.base = base
      if (q.first.seq < lowest.first.seq) lowest = q
    }
    this.chains.set(base.id, lowest)
    if (f.epoch !== undefined && this.epochs.get(base.id) === f.epoch) {
      if (f.epoch === 2) this.epochs.delete(base.id)
      else this.epochs.set(base.id, f.epoch - 1)
    }
    for (const fd of f.named) fd.chain = base.key
    this.add({ kind: 'reorder', chain: base.key, seq: p.first.seq, to_seq: p.head.seq, at: p.first.at, timestamp: p.first.timestamp ?? undefined,
      message: reorderText(p.first.at, p.first.seq, p.head.seq, n) })
    if (p.head.seq === n - 1) {
      if (!linked) this.add({ kind: 'link', chain: base.key, seq: n, at: base.first.at, timestamp: base.first.timestamp ?? undefined, message: `${base.first.at}: seq ${n}: prev_hash is not the hash of seq ${n - 1}, read later (a record was altered and re-hashed, or inserted)` })
    } else {
      this.openGap(base, { from: p.head.seq + 1, to: n - 1, hashBefore: p.head.hash, tsBefore: p.head.tsText, prevHashAfter: base.first.prev_hash, tsAfter: base.first.timestamp, at: base.first.at })
    }
    for (const g of p.gaps) this.openGap(base, g)
    for (const x of p.declared.startingIn(-Infinity, Infinity)) base.declared.add(x)
    // The front's seqs lie below the base's: they fill free room only, never pushing out the
    // base's newest hashes (which re-sent records of its latest part need). The front's newest
    // go in first: they lie just below the join, where a batch re-sent across it lands (its
    // oldest were taken first, and kept, before).
    const room = RING - base.seen.size
    if (room > 0) {
      const entries = [...p.seen]
      for (let i = entries.length - 1, added = 0; i >= 0 && added < room; i--) {
        const [q, h] = entries[i]!
        if (!base.seen.has(q)) { base.seen.set(q, h); added++ }
      }
    }
    base.records += p.records
    base.decisions += p.decisions
    base.markers += p.markers
    base.duplicates += p.duplicates
    if (p.periodFirst !== null) base.periodFirst = p.periodFirst
    base.periodLast ??= p.periodLast
    for (const v of p.versions) base.versions.add(v)
    base.version ??= p.version
    base.first = p.first
    this.restartAt(base)
  }

  /** Drop markers of base and front together declare every seq between the front's last record
   * and the base's first, starting from the one and ending at the other (both edge hashes). */
  private declaredJoin (p: Chain, base: Chain): boolean {
    const from = p.head.seq + 1
    const to = base.first.seq - 1
    const all = new DeclarationIndex<{ d: DropDeclaration; finding: Finding }>()
    for (const x of base.declared.startingIn(-Infinity, Infinity)) all.add(x)
    for (const x of p.declared.startingIn(-Infinity, Infinity)) all.add(x)
    if (all.firstUncovered(from, to) !== undefined) return false
    return all.startingAt(from)?.d.from_prev_hash === p.head.hash && all.endingAt(to)?.d.to_hash === base.first.prev_hash
  }

  /** The chain's start moved down (records before its first were read later): its chain_start
   * note is updated in place, or withdrawn when it now begins at seq 1. */
  private restartAt (base: Chain): void {
    const sf = base.startFinding
    if (sf === undefined) return
    if (base.first.seq === 1 && base.first.prev_hash === GENESIS_HASH) {
      base.startFinding = undefined
      this.withdrawn.add(sf)
      this.findingCounts.chain_start = (this.findingCounts.chain_start ?? 1) - 1
      return
    }
    const label = base.key === '' ? 'the chain without labels.id' : `chain ${base.key}`
    Object.assign(sf, chainStart(base.key, label, base.first.seq, base.first.prev_hash, base.first.timestamp, base.first.at))
  }

  private restart (c: Chain, o: Record<string, unknown>, seq: number, hash: string, prev: string, ts: number | null, tsText: string | null, at: string, edited: boolean, isMarker: boolean): Disposition {
    if (c.front !== undefined) {
      this.settle(c)
      c = this.chains.get(c.id)!
    }
    const n = (this.epochs.get(c.id) ?? 1) + 1
    this.epochs.set(c.id, n)
    const key = `${c.id}#${n}`
    this.add(restartFinding(c, key, seq, at, tsText))
    this.chains.delete(c.id)
    const next = this.newChain(c.id, key, o, seq, hash, prev, ts, tsText, at)
    this.chains.set(c.id, next)
    return this.firstOf(next, o, seq, hash, ts, tsText, at, edited, isMarker)
  }

  private firstOf (c: Chain, o: Record<string, unknown>, seq: number, hash: string, ts: number | null, tsText: string | null, at: string, edited: boolean, isMarker: boolean): Disposition {
    if (!edited) return this.accept(c, o, seq, hash, ts, tsText, isMarker)
    c.head = { seq, hash, ts, tsText }
    this.remember(c, seq, hash)
    return this.editedRecord(c, seq, at, tsText)
  }

  private editedRecord (c: Chain, seq: number, at: string, tsText: string | null): Disposition {
    this.edited++
    // Dated by the verified records around it, never by its own (edited) timestamp.
    if (c.head.seq === seq) c.head = { ...c.head, ts: null, tsText: null }
    const f = this.add({ kind: 'edit', chain: c.key, seq, at, message: `${at}: seq ${seq}: content does not match its hash (the record was edited${tsText !== null ? `; its timestamp says ${tsText}, which the edit may have changed` : ''}); left out of the sections below` })
    f.between = [this.lastTsText, null]
    this.undated.push(f)
    return 'skip'
  }

  private accept (c: Chain, o: Record<string, unknown>, seq: number, hash: string, ts: number | null, tsText: string | null, isMarker: boolean): Disposition {
    c.head = { seq, hash, ts, tsText }
    this.remember(c, seq, hash)
    this.count(c, isMarker, o, seq, hash, ts, tsText)
    return 'use'
  }

  /** `older`: a record below the chain's first, read after it (its version is not the chain's
   * latest, so it changes nothing but the set of versions). */
  private count (c: Chain, isMarker: boolean, o: Record<string, unknown>, seq: number, hash: string, ts: number | null, tsText: string | null, older = false): void {
    c.records++
    if (isMarker) {
      c.markers++
      this.markers++
      this.marker(c, o, seq, tsText)
    } else {
      c.decisions++
      this.decisions++
    }
    const labels = o.labels as Record<string, unknown> | undefined
    const version = labels !== undefined && labels !== null && typeof labels.version === 'string' ? labels.version : null
    if (version !== null && older) c.versions.add(version)
    else if (version !== null) {
      if (c.version !== null && version !== c.version && !c.versions.has(version)) {
        this.add({ kind: 'version', chain: c.key, seq, at: `seq ${seq}`, timestamp: tsText ?? undefined, message: `chain ${c.key || '(no labels.id)'}: labels.version changes from ${c.version} to ${version} at seq ${seq}${tsText !== null ? ` (${tsText})` : ''}: Bouncer was upgraded and restarted, and the chain went on` })
      }
      c.version = version
      c.versions.add(version)
    }
    if (this.inPeriod(ts)) {
      const p = { seq, hash, timestamp: tsText }
      if (c.periodFirst === null || seq < c.periodFirst.seq) c.periodFirst = p
      if (c.periodLast === null || seq > c.periodLast.seq) c.periodLast = p
    }
  }

  private marker (c: Chain, o: Record<string, unknown>, seq: number, tsText: string | null): void {
    const d = o.drop as DropDeclaration | null
    if (d === null || typeof d !== 'object' || !Number.isInteger(d.from_seq) || !Number.isInteger(d.to_seq) || d.to_seq < d.from_seq) {
      this.add({ kind: 'malformed', chain: c.key, seq, at: `seq ${seq}`, timestamp: tsText ?? undefined, message: `seq ${seq}: a drop marker without a valid from_seq..to_seq` })
      return
    }
    if (d.to_seq >= seq || d.from_seq < 1) {
      // The logger chains a marker after the seqs it declares: one that declares itself or
      // later seqs (or seq 0) was not written by it, and would excuse records removed after it.
      this.add({ kind: 'malformed', chain: c.key, seq, at: `seq ${seq}`, timestamp: tsText ?? undefined, message: `seq ${seq}: a drop marker declaring seq ${d.from_seq}..${d.to_seq}, which are not all before it (a marker declares only seqs before its own); not taken as a declaration` })
      return
    }
    const count = typeof d.count === 'number' ? d.count : 0
    const ranges = declarationsOf(d, seq)
    const again = ranges.slice(1).map((r) => `${r.from_seq}..${r.to_seq}`)
    const f = this.add({
      kind: 'drop', chain: c.key, seq: d.from_seq, to_seq: d.to_seq, at: `seq ${seq}`, timestamp: tsText ?? undefined, count,
      message: `drop marker seq ${seq}${tsText !== null ? ` (${tsText})` : ''}: ${count} decision(s) lost (${String(d.reason)}), declared for seq ${d.from_seq}..${d.to_seq}${again.length > 0 ? ` (and again, from lost markers: ${again.join(', ')})` : ''}`,
    })
    f.between = [null, tsText]
    // Its own range, and the ranges of earlier markers it declares again (`also`).
    for (const r of ranges) c.declared.add({ d: r, finding: f })
  }

  private remember (c: Chain, seq: number, hash: string): void {
    this.lastChain = c
    c.seen.delete(seq)
    this.see(c, seq, hash)
  }

  /** c.seen gets seq; past RING entries the oldest taken goes. */
  private see (c: Chain, seq: number, hash: string): void {
    c.seen.set(seq, hash)
    if (c.seen.size > RING) c.seen.delete(c.seen.keys().next().value!)
  }

  private openGap (c: Chain, g: Gap): void {
    if (c.gaps.length >= MAX_GAPS) this.closeGap(c, c.gaps.shift()!)
    c.gaps.push(g)
  }

  /** A record that was missing arrives: check it against the gap's edges and split the gap. */
  private fillGap (c: Chain, gi: number, seq: number, hash: string, prev: string, at: string, tsText: string | null): void {
    const g = c.gaps[gi]!
    if (seq === g.from && prev !== g.hashBefore) {
      this.add({ kind: 'link', chain: c.key, seq, at, timestamp: tsText ?? undefined, message: `${at}: seq ${seq}: prev_hash is not the hash of seq ${seq - 1}` })
    }
    if (seq === g.to && hash !== g.prevHashAfter) {
      this.add({ kind: 'link', chain: c.key, seq, at, timestamp: tsText ?? undefined, message: `${at}: seq ${seq}: its hash is not the prev_hash of seq ${seq + 1}` })
    }
    const parts: Gap[] = []
    if (seq > g.from) parts.push({ ...g, to: seq - 1, prevHashAfter: prev, tsAfter: tsText, at })
    if (seq < g.to) parts.push({ ...g, from: seq + 1, hashBefore: hash, tsBefore: tsText })
    c.gaps.splice(gi, 1, ...parts)
  }

  /** A gap that stayed open: declared by drop markers, or a break. */
  private closeGap (c: Chain, g: Gap): void {
    const next = c.declared.firstUncovered(g.from, g.to)
    const range = (a: number, b: number): string => a === b ? `seq ${a}` : `seq ${a}..${b}`
    if (next !== undefined) {
      const f = this.add({
        kind: 'gap', chain: c.key, seq: next, to_seq: g.to, at: g.at,
        message: `${g.at}: ${range(next, g.to)} ${next === g.to ? 'is' : 'are'} missing and no drop marker declares ${next === g.to ? 'it' : 'them'} (removed)${describeBetween(g.tsBefore, g.tsAfter)}`,
      })
      f.between = [g.tsBefore, g.tsAfter]
      return
    }
    // The markers' losses are dated by the gap they declare (a declaration starting before
    // the gap was dated by the one it starts in; one starting outside every gap keeps its own
    // time, which places it in the period at least as often).
    for (const x of c.declared.startingIn(g.from, g.to)) {
      const b = x.finding.between
      if (b !== undefined && b[0] === null) x.finding.between = [g.tsBefore, g.tsAfter ?? b[1]]
    }
    const start = c.declared.startingAt(g.from)
    if (start !== undefined && start.d.from_prev_hash !== g.hashBefore) {
      this.add({ kind: 'link', chain: c.key, seq: g.from, at: g.at, message: `drop marker for seq ${g.from}..${start.d.to_seq} does not continue from seq ${g.from - 1}` })
    }
    const end = c.declared.endingAt(g.to)
    if (end !== undefined && end.d.to_hash !== g.prevHashAfter) {
      this.add({ kind: 'link', chain: c.key, seq: g.to + 1, at: g.at, message: `${g.at}: seq ${g.to + 1}: prev_hash does not match the dropped seq ${g.to} the marker declares` })
    }
  }

  /** End of all input: close the gaps that stayed open and summarise each chain. */
  finish (): ChainSummary[] {
    this.flushUndated(null)
    // Innermost first (opened last): each links to the front above it before that one settles.
    for (const p of [...this.fronts].reverse()) this.settle(p)
    if (this.withdrawn.size > 0) {
      let w = 0
      for (const f of this.findings) if (!this.withdrawn.has(f)) this.findings[w++] = f
      this.findings.length = w
    }
    for (const c of this.order) {
      for (const g of c.gaps) this.closeGap(c, g)
      c.gaps = []
    }
    return this.order.map((c) => ({
      id: c.key,
      first: c.first,
      last: { seq: c.head.seq, hash: c.head.hash, timestamp: c.head.tsText },
      period_first: c.periodFirst,
      period_last: c.periodLast,
      records: c.records,
      decisions: c.decisions,
      markers: c.markers,
      duplicates: c.duplicates,
      starts_at_genesis: c.first.seq === 1 && c.first.prev_hash === GENESIS_HASH,
      ...(c.anchoredAt !== undefined ? { anchored_at: c.anchoredAt } : {}),
      versions: [...c.versions],
    }))
  }

  private flushUndated (tsText: string | null): void {
    if (this.undated.length === 0) return
    for (const f of this.undated) if (f.between !== undefined) f.between[1] = tsText
    this.undated = []
  }

  /**
   * Notes are listed up to MAX_FINDINGS; anything that can make the record incomplete (a
   * chain_start note included) is kept
   * past that (up to MAX_SEVERE), so a flood of notes (a log read out of order) cannot push a
   * gap found at the end out of the verdict. Past MAX_SEVERE they are counted in
   * severeNotListed, and the report calls the record not complete.
   */
  private add (f: Omit<Finding, 'severity'>, severity: Severity = SEVERITY[f.kind]): Finding {
    const full: Finding = { severity, ...f }
    this.findingCounts[f.kind] = (this.findingCounts[f.kind] ?? 0) + 1
    if (this.keyed.size > 0 && f.chain !== null) this.keyed.get(f.chain)?.named.push(full)
    // A chain_start note can make a bounded period incomplete (report.ts): kept as breaks are.
    const weighty = severity !== 'note' || f.kind === 'chain_start'
    if (weighty ? this.findings.length < MAX_SEVERE : this.findings.length < MAX_FINDINGS) this.findings.push(full)
    else if (weighty) this.severeNotListed++
    return full
  }
}

/** 0 for a chain, 1 for a front of one, 2 for a front of a front, ... (from the links, which
 * settle() re-points). */
function frontDepth (c: Chain): number {
  let d = 0
  for (let b: Chain = c; b.front !== undefined; b = b.front.base) d++
  return d
}

function reorderText (at: string, from: number, to: number, after: number): string {
  return `${at}: ${from === to ? `seq ${from}` : `seq ${from}..${to}`} ${from === to ? 'comes' : 'come'} after seq ${after} and later were read (the input is out of order); ${from === to ? 'its links are' : 'their links are'} checked`
}

function restartFinding (c: Chain, key: string, seq: number, at: string, tsText: string | null): Omit<Finding, 'severity'> {
  return { kind: 'restart', chain: c.key, seq, at, timestamp: tsText ?? undefined, message: `${at}: the chain starts again at seq 1 after seq ${c.head.seq} under the same labels.id (spool state lost?); records the earlier chain had not delivered cannot be accounted for; the rest is checked as chain ${key}` }
}

function chainStart (key: string, label: string, seq: number, prev: string, tsText: string | null, at: string): Omit<Finding, 'severity'> {
  return { kind: 'chain_start', chain: key, seq, at, timestamp: tsText ?? undefined, between: [null, tsText], message: `${label} begins in this input at seq ${seq}${tsText !== null ? ` (${tsText})` : ''}: seq 1..${seq - 1} are not in the input; its first prev_hash ${prev} ties it to them` }
}

function describeBetween (a: string | null, b: string | null): string {
  if (a !== null && b !== null) return ` — between ${a} and ${b}`
  if (b !== null) return ` — before ${b}`
  if (a !== null) return ` — after ${a}`
  return ''
}
