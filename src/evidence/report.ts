// buildEvidence: one streaming pass over decision logs → the report's data (EvidenceReport),
// which the renderers turn into HTML, Markdown or JSON. Every section is an accumulator fed
// one record at a time; what is kept grows with the number of chains, routes, subjects,
// revisions and hours in the period, never with the number of events.

import { canonicalJson } from '../decision-log/index.js'
import { BOUNCER_VERSION } from '../decision-log/index.js'
import { hash as oneShotHash } from 'node:crypto'
import { bouncerError } from '../errors.js'
import { FAIL_CODES } from '../proxy/engine.js'
import { readBundleKeyIds, type BundleKeyInfo } from './bundles.js'
import { ChainChecker, type ChainSummary, type Finding, type FindingKind } from './integrity.js'
import { scanEvent } from './scan.js'
import { parseTime } from './time.js'
import { readHere, readInWorker } from './parallel.js'
import { closeLogInput, formatPosition, openLogInputs, type LogInput, type Position } from './source.js'

export const OUTCOMES = ['allow', 'masked', 'deny', 'fail_closed', 'unknown'] as const
export type Outcome = typeof OUTCOMES[number]
export type OutcomeCounts = Record<Outcome, number> & { total: number }

const H = 3_600_000
const D = 86_400_000

export interface EvidenceOptions {
  /** Spool directories, export files or directories of exports. */
  readonly logs: readonly string[]
  /** Period start (inclusive) and end (exclusive), ms since the epoch. */
  readonly from?: number | null
  readonly to?: number | null
  /** Claim in input.identity naming the subject (dotted for nested claims). Default "sub". */
  readonly subjectClaim?: string
  /** Routes listed (and charted). Default 20. */
  readonly top?: number
  /** parsed_path segments that make a route pattern. Default 2. */
  readonly routeDepth?: number
  /** Bundle archives to read signing key ids from. */
  readonly bundles?: readonly string[]
  /** Stretches without decisions at least this many whole hours long are listed. Default 1. */
  readonly quietHours?: number
  readonly onProgress?: (p: Progress) => void
  /** Read on a second thread while this one checks and counts (the same report either way).
   * Off by default: on the shared two-core machine the project is measured on (bench/evidence.ts)
   * it costs more CPU than it saves; it may pay where cores are idle. */
  readonly parallel?: boolean
  /** Clock for generated_at (tests). */
  readonly now?: () => Date
}

export interface Progress { bytesRead: number; bytesTotal: number; records: number; file: string; filesDone: number; filesTotal: number }

export interface RouteRow extends OutcomeCounts { route: string }
export interface DayRow extends OutcomeCounts { day: string }
export interface SeriesPoint extends OutcomeCounts { t: string }

export interface SubjectRow {
  subject: string
  allowed: number
  denied: number
  first_seen: string
  last_seen: string
  /** Not seen in the input before the period. */
  new: boolean
  routes: Array<{ route: string; allowed: number; denied: number }>
  other_routes?: number
}

export interface RevisionRow {
  revision: string
  bundles: Array<{ name: string; revision: string }>
  first_decision: string
  last_decision: string
  decisions: number
  outcomes: OutcomeCounts
  signing_key_id: string | null
  key_id_source: 'decision log' | 'bundle archive' | null
  chains: number
}

export interface CredentialFinding { chain: string; seq: number; at: string; timestamp: string; location: string; kind: string }

export interface EvidenceReport {
  format: 'bouncer-evidence/1'
  generated_at: string
  generator: string
  period: { from: string; to: string; requested_from: string | null; requested_to: string | null; days: number }
  input: {
    paths: string[]
    files: Array<{ name: string; path: string; bytes: number; kind: 'spool' | 'export' }>
    files_listed: number
  }
  summary: { decisions: number; complete: boolean; credentials_found: number; subjects: number; revisions: number; statement: string }
  integrity: {
    complete: boolean
    statement: string
    reasons: string[]
    records_checked: number
    decisions: number
    drop_markers: number
    decisions_dropped: number
    duplicates_skipped: number
    edited_records_left_out: number
    undated_decisions: number
    chains: ChainSummary[]
    counts: Partial<Record<FindingKind, number>>
    findings: Finding[]
    findings_not_listed: number
  }
  access: {
    outcomes: OutcomeCounts
    fail_closed_by_reason: Array<{ reason: string; count: number }>
    by_day: DayRow[]
    routes: RouteRow[]
    routes_total: number
    route_depth: number
    quiet: Array<{ from: string; to: string; hours: number }>
    quiet_total: number
    quiet_hours_threshold: number
    statement: string
  }
  subjects: {
    claim: string
    total: number
    new: string[]
    compared_with_log_from: string | null
    list: SubjectRow[]
    statement: string
  }
  changes: {
    revisions: RevisionRow[]
    changes: Array<{ at: string; chain: string; from: string; to: string }>
    changes_total: number
    statement: string
  }
  privacy: {
    masked_responses: number
    masked_by_route_rule: Array<{ route: string; rule: string; count: number }>
    log_erasure: Array<{ pointer: string; count: number }>
    events_scanned: number
    events_with_credentials: number
    credentials_by_kind: Array<{ kind: string; location: string; count: number }>
    credential_findings: CredentialFinding[]
    statement: string
  }
  series: { bucket: 'hour' | 'day'; points: SeriesPoint[]; revision_marks: Array<{ at: string; revision: string }> }
  limits: string[]
  /** SHA-256 of the canonical JSON of this object without `digest`. */
  digest?: { algorithm: 'sha256'; over: string; value: string }
}

function zero (): number[] { return [0, 0, 0, 0, 0] }
function counts (a: readonly number[]): OutcomeCounts {
  return { allow: a[0]!, masked: a[1]!, deny: a[2]!, fail_closed: a[3]!, unknown: a[4]!, total: a[0]! + a[1]! + a[2]! + a[3]! + a[4]! }
}
function iso (ms: number): string { return new Date(ms).toISOString() }

const FAIL_REASON_BY_CODE: ReadonlyMap<string, string> = new Map(
  Object.entries(FAIL_CODES).filter(([r]) => r !== 'invalid_mask').map(([r, c]) => [c, r]),
)

/** What a decision event says happened. */
export function classify (ev: Record<string, unknown>): { outcome: number; reason?: string; mask?: unknown[] } {
  const err = ev.error as { code?: unknown } | undefined
  if (err !== undefined && err !== null) {
    const code = typeof err.code === 'string' ? err.code : 'unknown'
    return { outcome: 3, reason: FAIL_REASON_BY_CODE.get(code) ?? code }
  }
  const r = ev.result
  if (typeof r === 'boolean') return { outcome: r ? 0 : 2 }
  if (r !== null && typeof r === 'object' && !Array.isArray(r)) {
    const o = r as Record<string, unknown>
    const allow = typeof o.allow === 'boolean' ? o.allow : typeof o.allowed === 'boolean' ? o.allowed : undefined
    if (allow === false) return { outcome: 2 }
    if (allow === true) return Array.isArray(o.mask) && o.mask.length > 0 ? { outcome: 1, mask: o.mask } : { outcome: 0 }
  }
  return { outcome: 4 }
}

const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|[A-Za-z0-9_-]{24,})$/i

/** "METHOD /first/segments" from parsed_path (or the path), ids replaced by {id}; "/*" when the
 * path goes deeper than `depth`. */
export function routeOf (input: unknown, depth: number): string {
  if (input === null || typeof input !== 'object') return '(input not logged)'
  const i = input as Record<string, any>
  const http = i.attributes?.request?.http
  const method = typeof http?.method === 'string' ? http.method.toUpperCase() : '?'
  let segs: unknown[] | undefined = Array.isArray(i.parsed_path) ? i.parsed_path : undefined
  if (segs === undefined && typeof http?.path === 'string') segs = (http.path as string).split('?')[0]!.split('/').filter((s) => s !== '')
  if (segs === undefined) return `${method} ?`
  if (!(Number.isInteger(depth) && depth >= 0)) {
    const parts = segs.slice(0, depth).map((s) => segmentOf(String(s)))
    return `${method} /${parts.join('/')}${segs.length > depth ? (parts.length > 0 ? '/*' : '*') : ''}`
  }
  const n = Math.min(depth, segs.length)
  let path = ''
  for (let k = 0; k < n; k++) path += (k > 0 ? '/' : '') + segmentOf(String(segs[k]))
  return method + ' /' + path + (segs.length > depth ? (n > 0 ? '/*' : '*') : '')
}

/** A path segment as a route shows it (ids folded, long ones cut); the common ones remembered. */
const segments = new Map<string, string>()
function segmentOf (t: string): string {
  let r = segments.get(t)
  if (r === undefined) {
    r = ID_SEGMENT.test(t) ? '{id}' : t.length > 64 ? t.slice(0, 61) + '...' : t
    if (segments.size < 4096) segments.set(t, r)
  }
  return r
}

function claimOf (input: unknown, path: readonly string[]): string {
  if (input === null || typeof input !== 'object') return '(input not logged)'
  let v: unknown = (input as Record<string, unknown>).identity
  if (v === undefined || v === null) return '(no identity)'
  for (const k of path) {
    if (v === null || typeof v !== 'object') return '(claim missing)'
    v = (v as Record<string, unknown>)[k]
  }
  if (typeof v === 'string') return v.length > 200 ? v.slice(0, 197) + '...' : v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return '(claim missing)'
}

const MAX_ROUTES = 5000
const MAX_SUBJECTS = 200_000
const MAX_SUBJECT_ROUTES = 200
const MAX_CHANGES = 1000
const MAX_CREDENTIAL_FINDINGS = 200
const MAX_MASK_KEYS = 5000
const MAX_ERASURE_KEYS = 1000
const MAX_FILES_LISTED = 10_000

interface SubjectStat { allowed: number; denied: number; first: number; last: number; routes: Map<string, [number, number]>; other: number }
interface RevStat { bundles: Array<{ name: string; revision: string }>; first: number; last: number; decisions: number; c: number[]; keyIds: Set<string>; chains: Set<string> }

/** Parse --from / --to: an RFC 3339 time, or a date (YYYY-MM-DD, UTC). A date given as the end
 * means the end of that day. */
export function parseBound (text: string, which: 'from' | 'to'): number {
  const t = text.trim()
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t)
  if (date !== null) {
    const ms = Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]))
    if (Number.isNaN(ms) || iso(ms).slice(0, 10) !== t) throw bouncerError('BOUNCER_ERR_EVIDENCE_OPTIONS', `--${which}`, `${JSON.stringify(text)} is not a valid date`)
    return which === 'to' ? ms + D : ms
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(t)) {
    throw bouncerError('BOUNCER_ERR_EVIDENCE_OPTIONS', `--${which}`, `${JSON.stringify(text)} is not a date (2024-01-31) or an RFC 3339 time (2024-01-31T12:00:00Z)`)
  }
  const ms = Date.parse(t)
  if (Number.isNaN(ms)) throw bouncerError('BOUNCER_ERR_EVIDENCE_OPTIONS', `--${which}`, `${JSON.stringify(text)} is not a valid time`)
  return ms
}

export async function buildEvidence (opts: EvidenceOptions): Promise<EvidenceReport> {
  const from = opts.from ?? null
  const to = opts.to ?? null
  if (from !== null && to !== null && from >= to) {
    throw bouncerError('BOUNCER_ERR_EVIDENCE_OPTIONS', '--from/--to', `the period is empty: ${iso(from)} is not before ${iso(to)}`)
  }
  if (opts.logs.length === 0) throw bouncerError('BOUNCER_ERR_EVIDENCE_OPTIONS', '--log', 'no log given')
  const depth = opts.routeDepth ?? 2
  const top = opts.top ?? 20
  const quietHours = opts.quietHours ?? 1
  const claim = opts.subjectClaim ?? 'sub'
  const claimPath = claim.split('.')
  // Exports before spools, each in the order given: a spool holds a chain's newest records and
  // an export its delivered ones, so read the other way the export's seq 1 came after the
  // spool's head and was reported as a restart (the spool given first made the report incomplete).
  const bundleKeys: BundleKeyInfo[] = await readBundleKeyIds(opts.bundles ?? [])
  const inputs: LogInput[] = openLogInputs(opts.logs)
    .sort((a, b) => (a.kind === 'spool' ? 1 : 0) - (b.kind === 'spool' ? 1 : 0))

  const inPeriod = (ts: number | null): boolean => ts !== null ? (from === null || ts >= from) && (to === null || ts < to) : (from === null && to === null)
  const checker = new ChainChecker(inPeriod)

  // --- accumulators ---
  const total = zero()
  const hours = new Map<number, number[]>()
  const routes = new Map<string, number[]>()
  let routeOverflow = false
  const failReasons = new Map<string, number>()
  const subjects = new Map<string, SubjectStat>()
  let subjectOverflow = 0
  const seenBefore = new Set<string>()
  let logStart = Infinity
  const revisions = new Map<string, RevStat>()
  const lastRev = new Map<string, { key: string; ts: number }>()
  const changes: Array<{ at: number; chain: string; from: string; to: string }> = []
  let changesTotal = 0
  const maskedBy = new Map<string, number>()
  let maskedResponses = 0
  const erasure = { erased: new Map<string, number>(), masked: new Map<string, number>() }
  const erasureFields = [['erased', erasure.erased], ['masked', erasure.masked]] as const
  let erasedKeys = 0
  let scanned = 0
  let withCredentials = 0
  const credKinds = new Map<string, number>()
  const credFindings: CredentialFinding[] = []
  let first = Infinity
  let last = -Infinity
  let undated = 0
  const limits: string[] = []

  const bytesTotal = inputs.reduce((n, i) => n + i.files.reduce((m, f) => m + f.bytes, 0), 0)
  const filesTotal = inputs.reduce((n, i) => n + i.files.length, 0)
  let bytesDone = 0
  let filesDone = 0

  const addDecision = (ev: Record<string, unknown>, ts: number, tsText: string, chain: string, pos: Position): void => {
    const input = ev.input
    const subject = claimOf(input, claimPath)
    if (ts < logStart) logStart = ts
    if (!inPeriod(ts)) {
      if (from !== null && ts < from && seenBefore.size < MAX_SUBJECTS) seenBefore.add(subject)
      return
    }
    if (ts < first) first = ts
    if (ts > last) last = ts
    const cls = classify(ev)
    const o = cls.outcome
    total[o]!++
    const hk = Math.floor(ts / H)
    let hc = hours.get(hk)
    if (hc === undefined) { hc = zero(); hours.set(hk, hc) }
    hc[o]!++
    if (cls.reason !== undefined) failReasons.set(cls.reason, (failReasons.get(cls.reason) ?? 0) + 1)

    let route = routeOf(input, depth)
    let rc = routes.get(route)
    if (rc === undefined) {
      if (routes.size >= MAX_ROUTES) {
        routeOverflow = true
        route = '(other routes)'
        rc = routes.get(route)
      }
      if (rc === undefined) { rc = zero(); routes.set(route, rc) }
    }
    rc[o]!++

    let s = subjects.get(subject)
    if (s === undefined && subjects.size < MAX_SUBJECTS) {
      s = { allowed: 0, denied: 0, first: ts, last: ts, routes: new Map(), other: 0 }
      subjects.set(subject, s)
    }
    if (s === undefined) subjectOverflow++
    else {
      const allowed = o === 0 || o === 1
      const denied = o === 2 || o === 3
      if (allowed) s.allowed++
      else if (denied) s.denied++
      if (ts < s.first) s.first = ts
      if (ts > s.last) s.last = ts
      let sr = s.routes.get(route)
      if (sr === undefined && s.routes.size < MAX_SUBJECT_ROUTES) { sr = [0, 0]; s.routes.set(route, sr) }
      if (sr === undefined) s.other++
      else if (allowed) sr[0]++
      else if (denied) sr[1]++
    }

    // Change management
    const b = ev.bundles
    let key = '(no bundle)'
    let list: Array<{ name: string; revision: string }> = []
    const keyIds: string[] = []
    if (b !== null && typeof b === 'object' && !Array.isArray(b)) {
      const names = Object.keys(b)
      const one = names.length === 1 ? (b as Record<string, any>)[names[0]!] : undefined
      if (one !== undefined && typeof one?.revision === 'string' && one.keyid === undefined && one.signing_keyid === undefined && one.key_id === undefined) {
        key = one.revision // the common case, without building the list
        if (!revisions.has(key)) list = [{ name: names[0]!, revision: key }]
      } else {
        list = names.sort().map((n) => {
          const e = (b as Record<string, any>)[n]
          const k = e?.keyid ?? e?.signing_keyid ?? e?.key_id
          if (typeof k === 'string') keyIds.push(k)
          return { name: n, revision: typeof e?.revision === 'string' ? e.revision : String(e?.revision) }
        })
        if (list.length > 0) key = list.length === 1 ? list[0]!.revision : list.map((x) => `${x.name}=${x.revision}`).join(', ')
      }
    }
    let rv = revisions.get(key)
    if (rv === undefined) { rv = { bundles: list, first: ts, last: ts, decisions: 0, c: zero(), keyIds: new Set(), chains: new Set() }; revisions.set(key, rv) }
    rv.decisions++
    rv.c[o]!++
    if (ts < rv.first) rv.first = ts
    if (ts > rv.last) rv.last = ts
    for (const k of keyIds) rv.keyIds.add(k)
    rv.chains.add(chain)
    const prevRev = lastRev.get(chain)
    if (prevRev !== undefined && prevRev.key !== key && ts >= prevRev.ts) {
      changesTotal++
      if (changes.length < MAX_CHANGES) changes.push({ at: ts, chain, from: prevRev.key, to: key })
    }
    if (prevRev === undefined) lastRev.set(chain, { key, ts })
    else if (ts >= prevRev.ts) { prevRev.key = key; prevRev.ts = ts }

    // Privacy
    if (cls.mask !== undefined) {
      maskedResponses++
      for (const rule of cls.mask) {
        const r = rule as Record<string, unknown> | null
        const text = r !== null && typeof r === 'object' ? `${String(r.action ?? '?')} ${String(r.path ?? '?')}` : String(rule)
        const k = route + '\u0000' + text
        if (maskedBy.has(k) || maskedBy.size < MAX_MASK_KEYS) maskedBy.set(k, (maskedBy.get(k) ?? 0) + 1)
      }
    }
    for (const [field, counts] of erasureFields) {
      const list = ev[field]
      if (!Array.isArray(list)) continue
      for (const p of list) {
        if (typeof p !== 'string') continue
        const n = counts.get(p)
        if (n !== undefined) counts.set(p, n + 1)
        else if (erasedKeys++ < MAX_ERASURE_KEYS) counts.set(p, 1)
      }
    }
    scanned++
    const hits = scanEvent(ev)
    if (hits.length > 0) {
      withCredentials++
      for (const hit of hits) {
        const k = hit.kind + '\u0000' + hit.location
        credKinds.set(k, (credKinds.get(k) ?? 0) + 1)
        if (credFindings.length < MAX_CREDENTIAL_FINDINGS) {
          credFindings.push({ chain, seq: ev.seq as number, at: formatPosition(pos), timestamp: tsText, location: hit.location, kind: hit.kind })
        }
      }
    }
  }

  let sawRecord = false
  let firstProblem: string | null = null
  const order = inputs.flatMap((input) => input.files.map((file, fi) => ({ file, allowTornTail: input.kind === 'spool' && fi === input.files.length - 1 })))
  const reader = opts.parallel === true && order.length > 0 ? readInWorker(order) : { read: readHere, close: async () => {} }
  try {
    for (const input of inputs) {
      if (input.stateError !== null) checker.stateError(input.stateError, `${input.path}/state.json`)
      checker.setAnchor(input.anchor)
      for (let fi = 0; fi < input.files.length; fi++) {
        const file = input.files[fi]!
        checker.startFile()
        const base = bytesDone
        const r = await reader.read(filesDone, file, {
          item: (v, pos, text, textHashed) => {
            const o = v as Record<string, unknown> | null
            const tsText = o !== null && typeof o === 'object' && typeof o.timestamp === 'string' ? o.timestamp : null
            let ts: number | null = tsText !== null ? parseTime(tsText) : null
            if (ts !== null && Number.isNaN(ts)) ts = null
            const d = checker.record(v, pos, ts, tsText, text, textHashed)
            if (d === 'skip') return
            sawRecord = true
            // Drop markers and shadow comparisons (src/proxy/shadow.ts) are not enforced decisions.
            if (o!.drop !== undefined || o!.shadow !== undefined) return
            if (ts === null) { undated++; return }
            addDecision(o!, ts, tsText!, chainKeyOf(o!), pos)
          },
          malformed: (pos, message) => {
            firstProblem ??= message
            checker.malformed(pos, message)
          },
          progress: (bytes) => {
            opts.onProgress?.({ bytesRead: base + bytes, bytesTotal, records: checker.records, file: file.name, filesDone, filesTotal })
          },
        }, { allowTornTail: input.kind === 'spool' && fi === input.files.length - 1 })
        if (r.tornTail) checker.tornTail(file.name)
        checker.endFile()
        bytesDone += file.bytes
        filesDone++
      }
      if (input.kind === 'spool') checker.endSpool()
    }
  } finally {
    // The reading thread first: it may still be reading through the spools' descriptors.
    await reader.close()
    for (const input of inputs) closeLogInput(input)
  }
  const chains = checker.finish()
  opts.onProgress?.({ bytesRead: bytesDone, bytesTotal, records: checker.records, file: '', filesDone, filesTotal })

  if (!sawRecord && checker.records === 0) {
    firstProblem ??= checker.findings.find((f) => f.kind === 'malformed')?.message ?? null
    throw bouncerError('BOUNCER_ERR_EVIDENCE_NOT_A_LOG', opts.logs.join(', '),
      `no decision-log record in ${filesTotal} file(s)${firstProblem !== null ? ` (first problem: ${firstProblem})` : ''}`)
  }
  const decisionsInPeriod = counts(total).total
  if (decisionsInPeriod === 0) {
    const span = Number.isFinite(logStart) ? `the log's decisions start at ${iso(logStart)}` : 'the log holds no dated decision'
    throw bouncerError('BOUNCER_ERR_EVIDENCE_EMPTY_PERIOD',
      `${span}; none falls between ${from !== null ? iso(from) : 'the start'} and ${to !== null ? iso(to) : 'the end'} (${checker.decisions} decision(s) and ${checker.markers} drop marker(s) read)`)
  }

  const pFrom = from ?? first
  const pTo = to ?? last + 1
  const overlaps = (f: Finding): boolean => {
    if (f.between !== undefined) {
      // A time that does not read, or times out of order, cannot place the finding outside the
      // period: it counts (a forged "timestamp" of "x" next to a gap took the gap out of it).
      let a = f.between[0] !== null ? Date.parse(f.between[0]) : NaN
      let b = f.between[1] !== null ? Date.parse(f.between[1]) : NaN
      if (Number.isNaN(a)) a = -Infinity
      if (Number.isNaN(b)) b = Infinity
      if (a > b) { a = -Infinity; b = Infinity }
      return b >= pFrom && a < pTo
    }
    if (f.timestamp !== undefined) {
      const t = Date.parse(f.timestamp)
      return Number.isNaN(t) || (t >= pFrom && t < pTo)
    }
    return true
  }
  for (const f of checker.findings) {
    f.in_period = overlaps(f)
    // A chain that begins after seq 1 covers the period only if it provably began at or before
    // its start: its seq 1..first-1 come before its first record, so they may fall inside the
    // period. Without --from the period starts at the input's first dated decision: a chain
    // whose first record is that decision (or earlier) is exempt, as one at --from is, but one
    // that begins later leaves its head missing inside the period (an instance's opening
    // records cut from an export read with the complete log of another instance).
    if (f.kind === 'chain_start' && f.in_period) {
      const begins = f.timestamp !== undefined ? parseTime(f.timestamp) : NaN
      if (!(begins <= pFrom)) {
        f.severity = 'uncovered'
        f.message += from !== null
          ? `; it begins after the period's start, so records before it in the period may be missing (include the log from before ${iso(from)})`
          : `; it begins after the period's start (${iso(pFrom)}, the input's first decision), so its records before it in the period may be missing (include its log from that time on, or give --from)`
      }
    }
    if (f.kind === 'drop' && f.in_period === false) f.severity = 'note'
  }

  // --- integrity verdict ---
  const inP = checker.findings.filter((f) => f.in_period === true)
  const notListed = Object.values(checker.findingCounts).reduce((a, b) => a + (b ?? 0), 0) - checker.findings.length
  const reasons: string[] = []
  const n = (kind: FindingKind, sev?: string): Finding[] => inP.filter((f) => f.kind === kind && (sev === undefined || f.severity === sev))
  const dropped = n('drop', 'loss').reduce((a, f) => a + (f.count ?? 0), 0)
  if (n('edit').length > 0) reasons.push(`${n('edit').length} record(s) were edited after they were written (content does not match the hash)`)
  if (n('link').length > 0) reasons.push(`${n('link').length} link(s) in the chain are broken (a record altered and re-hashed, inserted, or a drop marker that does not match)`)
  if (n('gap').length > 0) {
    const missing = n('gap').reduce((a, f) => a + ((f.to_seq ?? f.seq ?? 0) - (f.seq ?? 0) + 1), 0)
    reasons.push(`${missing} record(s) are missing in ${n('gap').length} gap(s) that no drop marker declares`)
  }
  if (n('conflict').length > 0) reasons.push(`${n('conflict').length} seq(s) have two different records`)
  if (n('reorder', 'break').length > 0) reasons.push(`${n('reorder', 'break').length} record(s) came again too late to compare`)
  if (n('restart').length > 0) reasons.push(`${n('restart').length} restart(s) of a chain under the same labels.id: what the earlier chain had not delivered cannot be accounted for`)
  if (n('malformed').length > 0) reasons.push(`${(checker.findingCounts.malformed ?? 0)} unreadable or truncated part(s) of the input`)
  if (dropped > 0 || n('drop', 'loss').length > 0) reasons.push(`${dropped} decision(s) were dropped by the logger and declared in the chain by ${n('drop', 'loss').length} drop marker(s)`)
  if (checker.severeNotListed > 0) reasons.push(`${checker.severeNotListed} integrity finding(s) past the report's limit could not be placed in the period`)
  if (n('chain_start', 'uncovered').length > 0) reasons.push(`${n('chain_start', 'uncovered').length} chain(s) begin inside the period after seq 1, so the log does not show what came before them`)
  const complete = reasons.length === 0
  const chainWord = chains.length === 1 ? '1 chain' : `${chains.length} chains`
  const span = `${iso(pFrom)} to ${iso(pTo)}`
  const tail = 'A hash chain cannot show records cut from its end: compare each chain\'s last hash with the control plane\'s copy or a later export.'
  const statement = complete
    ? `The record is complete for the period ${span}: ${decisionsInPeriod} decision(s) in ${chainWord}, every record's hash matches its content and links to the record before it, with no gaps and no drops.${chains.some((c) => !c.starts_at_genesis && c.anchored_at === undefined) && from === null ? ' Chains that begin after seq 1 begin at the period\'s start (the input\'s first decision) and are complete from their first record on.' : ''} ${tail}`
    : `The record is NOT complete for the period ${span}: ${reasons.join('; ')}. Every finding is listed below with its file and line.`

  // --- access ---
  const startH = Math.floor(pFrom / H)
  const endH = Math.floor((pTo - 1) / H)
  const quiet: Array<{ from: string; to: string; hours: number }> = []
  let quietTotal = 0
  let runStart = -1
  for (let h = startH; h <= endH + 1; h++) {
    const empty = h <= endH && (hours.get(h) === undefined)
    if (empty && runStart < 0) runStart = h
    if (!empty && runStart >= 0) {
      const len = h - runStart
      if (len >= quietHours) {
        quietTotal++
        quiet.push({ from: iso(Math.max(runStart * H, pFrom)), to: iso(Math.min(h * H, pTo)), hours: len })
      }
      runStart = -1
    }
  }
  quiet.sort((a, b) => b.hours - a.hours || a.from.localeCompare(b.from))
  const quietListed = quiet.slice(0, 500).sort((a, b) => a.from.localeCompare(b.from))

  const days = new Map<number, number[]>()
  for (const [h, c] of hours) {
    const d = Math.floor(h * H / D)
    let dc = days.get(d)
    if (dc === undefined) { dc = zero(); days.set(d, dc) }
    for (let i = 0; i < 5; i++) dc[i]! += c[i]!
  }
  const byDay: DayRow[] = []
  for (let d = Math.floor(pFrom / D); d <= Math.floor((pTo - 1) / D); d++) byDay.push({ day: iso(d * D).slice(0, 10), ...counts(days.get(d) ?? zero()) })
  const routeRows = [...routes].map(([route, c]) => ({ route, ...counts(c) })).sort((a, b) => b.total - a.total || a.route.localeCompare(b.route))
  const daysWithout = byDay.filter((d) => d.total === 0).length
  const totals = counts(total)
  const accessStatement = `${totals.total} decision(s): ${totals.allow} allowed, ${totals.masked} allowed with masking, ${totals.deny} denied, ${totals.fail_closed} denied because something failed (fail closed)${totals.unknown > 0 ? `, ${totals.unknown} without a readable result` : ''}. ` +
    (quietTotal === 0
      ? `Decisions were recorded in every hour of the period.`
      : `${quietTotal} stretch(es) of at least ${quietHours} hour(s) without any decision${daysWithout > 0 ? `, including ${daysWithout} whole day(s)` : ''}; the longest is ${quiet[0]!.hours} hour(s) from ${quiet[0]!.from}. A quiet stretch means no request reached Bouncer or no decision was logged: the integrity section says which gaps are known.`)

  // --- subjects ---
  const haveBefore = from !== null && Number.isFinite(logStart) && logStart < from
  const subjectRows: SubjectRow[] = [...subjects].map(([subject, s]) => {
    const rs = [...s.routes].map(([route, [a, dn]]) => ({ route, allowed: a, denied: dn })).sort((x, y) => (y.allowed + y.denied) - (x.allowed + x.denied) || x.route.localeCompare(y.route))
    return {
      subject, allowed: s.allowed, denied: s.denied, first_seen: iso(s.first), last_seen: iso(s.last),
      new: haveBefore && !seenBefore.has(subject),
      routes: rs.slice(0, 50),
      ...(rs.length > 50 || s.other > 0 ? { other_routes: rs.length - Math.min(50, rs.length) + (s.other > 0 ? 1 : 0) } : {}),
    }
  }).sort((a, b) => a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0)
  const newSubjects = haveBefore ? subjectRows.filter((s) => s.new).map((s) => s.subject) : []
  const subjectStatement = `${subjectRows.length} subject(s) (input.identity.${claim}) made decisions in the period. ` +
    (haveBefore
      ? `${newSubjects.length} of them appear for the first time compared with the log from ${iso(logStart)} to the period's start.`
      : 'The input holds nothing before the period, so subjects new in the period cannot be told from known ones: give a log that starts earlier to compare.')

  // --- change management ---
  const keyByRevision = new Map<string, string>()
  for (const b of bundleKeys) if (b.key_id !== null) keyByRevision.set(b.revision, b.key_id)
  const revisionRows: RevisionRow[] = [...revisions].map(([revision, r]) => {
    let keyId: string | null = r.keyIds.size > 0 ? [...r.keyIds].join(', ') : null
    let source: RevisionRow['key_id_source'] = keyId !== null ? 'decision log' : null
    if (keyId === null) {
      const k = r.bundles.map((b) => keyByRevision.get(b.revision)).filter((x): x is string => x !== undefined)
      if (k.length > 0) { keyId = [...new Set(k)].join(', '); source = 'bundle archive' }
    }
    return {
      revision, bundles: r.bundles, first_decision: iso(r.first), last_decision: iso(r.last), decisions: r.decisions,
      outcomes: counts(r.c), signing_key_id: keyId, key_id_source: source, chains: r.chains.size,
    }
  }).sort((a, b) => a.first_decision.localeCompare(b.first_decision))
  changes.sort((a, b) => a.at - b.at)
  const unsigned = revisionRows.filter((r) => r.signing_key_id === null && r.revision !== '(no bundle)').length
  const changeStatement = `${revisionRows.length} policy revision(s) decided requests in the period, with ${changesTotal} change(s) of revision across the chains. ` +
    (unsigned === 0
      ? 'Every revision has a signing key id.'
      : `${unsigned} revision(s) have no signing key id in this report: decision logs record the revision, not the key; pass the bundle archives with --bundle to name the keys.`)

  // --- privacy ---
  const maskedRows = [...maskedBy].map(([k, count]) => { const [route, rule] = k.split('\u0000') as [string, string]; return { route, rule, count } })
    .sort((a, b) => b.count - a.count || a.route.localeCompare(b.route)).slice(0, 500)
  const erasureRows = [...[...erasure.erased].map(([p, count]) => ({ pointer: `erased ${p}`, count })), ...[...erasure.masked].map(([p, count]) => ({ pointer: `replaced ${p}`, count }))]
    .sort((a, b) => b.count - a.count || a.pointer.localeCompare(b.pointer))
  const credRows = [...credKinds].map(([k, count]) => { const [kind, location] = k.split('\u0000') as [string, string]; return { kind, location, count } }).sort((a, b) => b.count - a.count)
  const privacyStatement = (withCredentials === 0
    ? `No credential header, cookie or token was found in the ${scanned} logged decision event(s) scanned (request headers, the query string of the path and of URL-valued headers such as referer, parsed_query, parsed_body, the verified token claims (identity) and request body texts of the input, and the decisions logged: the headers they set and the rest of their results).`
    : `CREDENTIALS FOUND: ${withCredentials} of ${scanned} logged decision event(s) hold a credential (${credRows.slice(0, 5).map((r) => `${r.kind} ×${r.count}`).join(', ')}${credRows.length > 5 ? ', ...' : ''}). The values are not copied into this report; fix the erasure settings (decision_logs.erase_headers, decision_logs.erase_query_params) and handle the stored logs as secret.`) +
    ` ${maskedResponses} response(s) were masked by the decision's mask rules.`

  // --- chart series ---
  const spanMs = pTo - pFrom
  const bucket: 'hour' | 'day' = spanMs <= 4 * D ? 'hour' : 'day'
  const points: SeriesPoint[] = []
  if (bucket === 'hour') for (let h = startH; h <= endH; h++) points.push({ t: iso(h * H), ...counts(hours.get(h) ?? zero()) })
  else for (const d of byDay) points.push({ t: d.day + 'T00:00:00.000Z', ...d, day: undefined } as unknown as SeriesPoint)
  for (const p of points) delete (p as unknown as Record<string, unknown>).day
  const revisionMarks = revisionRows.filter((r) => r.revision !== '(no bundle)').map((r) => ({ at: r.first_decision, revision: r.revision }))

  if (routeOverflow) limits.push(`more than ${MAX_ROUTES} route patterns: the rest are counted as "(other routes)"; lower --route-depth`)
  if (subjectOverflow > 0) limits.push(`more than ${MAX_SUBJECTS} subjects: ${subjectOverflow} decision(s) of further subjects are counted in the totals only`)
  if (changesTotal > changes.length) limits.push(`${changesTotal - changes.length} further revision change(s) not listed`)
  if (credFindings.length < [...credKinds.values()].reduce((a, b) => a + b, 0)) limits.push(`only the first ${MAX_CREDENTIAL_FINDINGS} credential findings are listed one by one; the counts cover all`)
  if (notListed > 0) limits.push(`${notListed} further integrity finding(s) are counted, not listed`)
  if (undated > 0) limits.push(`${undated} decision(s) have no readable timestamp and are counted in the integrity section only`)

  const allFiles = inputs.flatMap((i) => i.files.map((f) => ({ name: f.name, path: f.path, bytes: f.bytes, kind: i.kind })))
  const now = (opts.now ?? (() => new Date()))()
  const report: EvidenceReport = {
    format: 'bouncer-evidence/1',
    generated_at: now.toISOString(),
    generator: `bouncer ${BOUNCER_VERSION}`,
    period: { from: iso(pFrom), to: iso(pTo), requested_from: from !== null ? iso(from) : null, requested_to: to !== null ? iso(to) : null, days: Math.round(spanMs / D * 10) / 10 },
    input: { paths: [...opts.logs], files: allFiles.slice(0, MAX_FILES_LISTED), files_listed: Math.min(allFiles.length, MAX_FILES_LISTED) },
    summary: {
      decisions: decisionsInPeriod, complete, credentials_found: withCredentials, subjects: subjectRows.length, revisions: revisionRows.length,
      statement: complete ? 'The record is complete for the period.' : 'The record is NOT complete for the period.',
    },
    integrity: {
      complete, statement, reasons,
      records_checked: checker.records, decisions: checker.decisions, drop_markers: checker.markers, decisions_dropped: dropped,
      duplicates_skipped: checker.duplicates, edited_records_left_out: checker.edited, undated_decisions: undated,
      chains, counts: { ...checker.findingCounts }, findings: checker.findings, findings_not_listed: notListed,
    },
    access: {
      outcomes: totals,
      fail_closed_by_reason: [...failReasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count),
      by_day: byDay, routes: routeRows.slice(0, top), routes_total: routeRows.length, route_depth: depth,
      quiet: quietListed, quiet_total: quietTotal, quiet_hours_threshold: quietHours, statement: accessStatement,
    },
    subjects: { claim, total: subjectRows.length, new: newSubjects, compared_with_log_from: haveBefore ? iso(logStart) : null, list: subjectRows, statement: subjectStatement },
    changes: {
      revisions: revisionRows,
      changes: changes.filter((c) => c.at >= pFrom && c.at < pTo).map((c) => ({ at: iso(c.at), chain: c.chain, from: c.from, to: c.to })),
      changes_total: changesTotal, statement: changeStatement,
    },
    privacy: {
      masked_responses: maskedResponses, masked_by_route_rule: maskedRows, log_erasure: erasureRows,
      events_scanned: scanned, events_with_credentials: withCredentials, credentials_by_kind: credRows, credential_findings: credFindings,
      statement: privacyStatement,
    },
    series: { bucket, points, revision_marks: revisionMarks },
    limits,
  }
  report.digest = { algorithm: 'sha256', over: 'canonical JSON of this report without "digest"', value: reportDigest(report) }
  return report
}

/** SHA-256 of the canonical JSON of the report without its digest: anyone holding the JSON
 * (or the copy embedded in the HTML) can recompute it. */
export function reportDigest (report: EvidenceReport): string {
  const { digest: _d, ...rest } = report
  return oneShotHash('sha256', canonicalJson(rest), 'hex')
}

function chainKeyOf (o: Record<string, unknown>): string {
  const l = o.labels as Record<string, unknown> | undefined
  return l !== null && typeof l === 'object' && typeof l.id === 'string' ? l.id : ''
}
