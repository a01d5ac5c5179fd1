// bouncer replay: every decision of a (verified) decision log evaluated again with a candidate
// policy and compared with the decision recorded in the event, or with a baseline policy
// evaluated over the same input. The report groups the changed decisions by kind with counts
// and example decision ids, keeps events whose logged input was erased or masked apart, and
// says whether the log it was computed over is a complete record.
import type { VerificationConfig } from '../bundle/index.js'
import { bouncerError } from '../errors.js'
import type { Finding, FindingKind } from '../evidence/index.js'
import { CHANGE_KINDS, compareOutcomes, type ChangeKind } from './compare.js'
import { alteredPointers, pathOfPointer, pointerOf } from './incomplete.js'
import { loadJudge, type Judge } from './judge.js'
import { modeOfEvent, outcomeOfEvent, type Outcome } from './outcome.js'
import { readDecisions, type ReadProgress } from './records.js'
import { exampleOf, Tally, type ChangeGroup, type Example } from './tally.js'

export interface ReplayOptions {
  /** spool directories, export files or directories of exports */
  logs: readonly string[]
  /** candidate policy: a Rego directory or file, or a bundle .tar.gz */
  policy: string
  /** baseline policy; absent: the decision recorded in each event */
  baseline?: string
  /** default bouncer/decision (policy.entrypoint's default) */
  entrypoint?: string
  regoVersion?: 0 | 1
  /** verification keys for signed bundle archives */
  verification?: VerificationConfig
  /** examples kept per group (default 5) */
  examples?: number
  /** called as the log is read (bytes of the files as stored) */
  onProgress?: (p: ReadProgress) => void
  /** the clock for events/s (tests pass a fixed one) */
  now?: () => number
}

export interface PolicyInfo { source: string; revision: string; entrypoint: string; nondeterministic: boolean; reads: string }

export interface ReplayReport {
  format: 'bouncer-replay/1'
  log: {
    paths: string[]; files: number; records: number; decisions: number; drop_markers: number
    duplicates_skipped: number; edited_left_out: number
    /** entrypoints the events were recorded for, with counts */
    recorded_paths: Record<string, number>
  }
  integrity: {
    complete: boolean
    statement: string
    counts: Partial<Record<FindingKind, number>>
    findings: Array<Pick<Finding, 'kind' | 'severity' | 'chain' | 'seq' | 'at' | 'message'>>
  }
  candidate: PolicyInfo
  /** null: the decisions recorded in the events */
  baseline: PolicyInfo | null
  totals: {
    /** decision events evaluated */
    evaluated: number
    /** complete input, same decision */
    unchanged: number
    /** complete input, a different decision */
    changed: number
    /** input erased or masked where the policies read it, or (recorded baseline) a recorded
     * decision with erased or masked fields: counted here, not above */
    input_incomplete: number
    /** input erased or masked only where neither policy reads it (exact; counted above) */
    erased_not_read: number
  }
  /** complete inputs, every change kind (zero counts included) */
  changes: ChangeGroup[]
  input_incomplete: {
    events: number
    unchanged: number
    changed: number
    changes: ChangeGroup[]
    /** which fields, in how many events */
    fields: Array<{ pointer: string; events: number }>
    /** the first few such events, changed or not */
    examples: Example[]
  }
  notes: string[]
  /** policy evaluations run, and decisions reused for a projected input seen before */
  evaluations: { candidate: number; baseline: number; reused: number }
  /** the read-verify-evaluate pass (policy loading not included): wall-clock and CPU time */
  seconds: number
  cpu_seconds: number
  events_per_second: number
}

const MAX_FINDINGS_LISTED = 200
const MAX_FIELDS = 50
const MAX_PATHS = 20
const BREAK_KINDS: readonly FindingKind[] = ['edit', 'link', 'gap', 'conflict', 'restart', 'malformed', 'drop']

export async function replay (opts: ReplayOptions): Promise<ReplayReport> {
  if (opts.logs.length === 0) throw bouncerError('BOUNCER_ERR_REPLAY_OPTIONS', '--log', 'no log given')
  const now = opts.now ?? (() => performance.now())
  const entrypoint = opts.entrypoint ?? 'bouncer/decision'
  const maxExamples = opts.examples ?? 5
  const judgeOpts = {
    entrypoint,
    ...(opts.regoVersion !== undefined ? { regoVersion: opts.regoVersion } : {}),
    ...(opts.verification !== undefined ? { verification: opts.verification } : {}),
  }
  const candidate = await loadJudge(opts.policy, judgeOpts)
  const baseline = opts.baseline !== undefined ? await loadJudge(opts.baseline, judgeOpts) : null
  const sameView = baseline !== null && baseline.viewKey === candidate.viewKey

  const complete = new Tally(maxExamples)
  const incomplete = new Tally(maxExamples)
  const incompleteExamples: Example[] = []
  const fields = new Map<string, number>()
  let fieldsOverflow = 0
  let erasedNotRead = 0
  const recordedPaths: Record<string, number> = Object.create(null) as Record<string, number>

  // Whether an erased or masked field is read by a replayed policy, per pointer. With the
  // recorded decision as the baseline, the original evaluation saw the whole input: only what
  // the candidate reads matters.
  const readMemo = new Map<string, boolean>()
  const isRead = (pointer: string): boolean => {
    // A /result pointer (recorded baseline only): the recorded decision itself is incomplete.
    if (pointer.startsWith('/result')) return true
    let r = readMemo.get(pointer)
    if (r === undefined) {
      const f = [pathOfPointer(pointer)]
      r = candidate.reads(f) || (baseline !== null && baseline.reads(f))
      if (readMemo.size < 10_000) readMemo.set(pointer, r)
    }
    return r
  }

  const t0 = now()
  const c0 = process.cpuUsage()
  const read = await readDecisions(opts.logs, (ev, pos) => {
    let path = typeof ev.path === 'string' ? ev.path : '(none)'
    if (recordedPaths[path] === undefined && Object.keys(recordedPaths).length >= MAX_PATHS) path = '(other entrypoints)'
    recordedPaths[path] = (recordedPaths[path] ?? 0) + 1
    const input = ev.input
    let before: Outcome
    let after: Outcome
    // An ext_authz listener's event is read under opa-envoy-plugin's contract, as it was decided.
    const mode = modeOfEvent(ev)
    if (baseline === null) {
      before = outcomeOfEvent(ev)
      after = candidate.decide(input, mode)
    } else if (sameView) {
      // Both read the same input paths: project and serialise the input once.
      const text = candidate.textOf(input)
      before = baseline.decideText(text, mode)
      after = candidate.decideText(text, mode)
    } else {
      before = baseline.decide(input, mode)
      after = candidate.decide(input, mode)
    }
    const kinds = compareOutcomes(before, after)
    const altered = alteredPointers(ev, baseline === null)
    if (altered.length > 0) {
      const pointers = altered.filter(isRead)
      if (pointers.length > 0) {
        for (const p of pointers) {
          const n = fields.get(p)
          if (n !== undefined) fields.set(p, n + 1)
          else if (fields.size < MAX_FIELDS) fields.set(p, 1)
          else fieldsOverflow++
        }
        incomplete.add(ev, pos, kinds, before, after, pointers)
        if (incompleteExamples.length < maxExamples) incompleteExamples.push(exampleOf(ev, pos, before, after, pointers))
        return
      }
      erasedNotRead++
    }
    complete.add(ev, pos, kinds, before, after)
  }, opts.onProgress)
  const seconds = (now() - t0) / 1000
  const cpu = process.cpuUsage(c0)

  if (read.records === 0) {
    const first = read.findings.find((f) => f.kind === 'malformed')?.message
    throw bouncerError('BOUNCER_ERR_REPLAY_NOT_A_LOG', opts.logs.join(', '), `no decision-log record in ${read.files} file(s)${first !== undefined ? ` (first problem: ${first})` : ''}`)
  }

  // The counts are complete (the findings list is capped): any break or declared loss.
  const unbroken = !read.findings.some((f) => f.severity === 'break' || f.severity === 'loss') &&
    BREAK_KINDS.every((k) => (read.findingCounts[k] ?? 0) === 0)
  // A chain that does not begin at seq 1 lost its beginning (a head cut from an export reads as
  // intact from its first record on): not a complete record.
  const headless = read.chains.filter((c) => !c.starts_at_genesis)
  const intact = unbroken && headless.length === 0
  const evaluated = complete.evaluated + incomplete.evaluated
  // Records cut after the last one cannot be told from the log itself.
  const tail = 'Whether records were cut after the last one cannot be told from the log itself: compare its last seq and hash with the control plane\'s copy or an anchor kept apart.'
  const statement = intact
    ? `The log is a complete record: ${read.records} chain record(s) in ${read.chains.length} chain(s), each starting at seq 1, matching its hash and linked to the one before, with no gaps and no drops; ${evaluated} decision(s) replayed. ${tail}`
    : unbroken
      ? `The result is over an INCOMPLETE record: ${headless.length} chain(s) do not start at seq 1 (${headless.slice(0, 3).map((c) => `${c.id} from seq ${c.first.seq}`).join(', ')}${headless.length > 3 ? ', ...' : ''}), so the decisions before are not in the log; from there on every record matches its hash and links to the one before. ${evaluated} decision(s) replayed. ${tail}`
      : `The result is over an INCOMPLETE record: ${describeBreaks(read.findingCounts)}. ${evaluated} decision(s) could be read and checked and were replayed; decisions that were lost, altered or unreadable are not in the result. Each finding is listed with its file and line.`

  const notes: string[] = []
  if (candidate.nondeterministic) notes.push('The candidate policy calls builtins whose result is not a function of the input (time, random numbers, HTTP): it was evaluated at replay time, so changes may come from that alone.')
  if (baseline?.nondeterministic === true) notes.push('The baseline policy calls builtins whose result is not a function of the input: it was evaluated at replay time.')
  const otherPaths = Object.keys(recordedPaths).filter((p) => p !== entrypoint)
  if (otherPaths.length > 0) {
    notes.push(`${otherPaths.map((p) => `${recordedPaths[p]} event(s) were recorded for entrypoint ${p}`).join('; ')}; the candidate was evaluated at ${entrypoint} (--entrypoint).`)
  }
  if (fieldsOverflow > 0) notes.push(`More than ${MAX_FIELDS} distinct incomplete input fields: ${fieldsOverflow} occurrence(s) are counted in the totals but not listed by field.`)
  if (read.duplicates > 0) notes.push(`${read.duplicates} record(s) delivered twice were replayed once.`)

  return {
    format: 'bouncer-replay/1',
    log: {
      paths: [...opts.logs], files: read.files, records: read.records, decisions: read.decisions, drop_markers: read.markers,
      duplicates_skipped: read.duplicates, edited_left_out: read.edited, recorded_paths: { ...recordedPaths },
    },
    integrity: {
      complete: intact,
      statement,
      counts: read.findingCounts,
      findings: read.findings.filter((f) => f.severity !== 'note' || f.kind === 'torn_tail' || f.kind === 'chain_start').slice(0, MAX_FINDINGS_LISTED)
        .map((f) => ({ kind: f.kind, severity: f.severity, chain: f.chain, seq: f.seq, at: f.at, message: f.message })),
    },
    candidate: info(candidate, entrypoint),
    baseline: baseline === null ? null : info(baseline, entrypoint),
    totals: { evaluated, unchanged: complete.unchanged, changed: complete.changed, input_incomplete: incomplete.evaluated, erased_not_read: erasedNotRead },
    changes: complete.list(),
    input_incomplete: {
      events: incomplete.evaluated,
      unchanged: incomplete.unchanged,
      changed: incomplete.changed,
      changes: incomplete.list(),
      fields: [...fields].map(([pointer, events]) => ({ pointer, events })).sort((a, b) => b.events - a.events || (a.pointer < b.pointer ? -1 : 1)),
      examples: incompleteExamples,
    },
    notes,
    evaluations: { candidate: candidate.stats.evaluations, baseline: baseline?.stats.evaluations ?? 0, reused: candidate.stats.memoHits + (baseline?.stats.memoHits ?? 0) },
    seconds,
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    events_per_second: seconds > 0 ? Math.round(evaluated / seconds) : 0,
  }
}

function info (j: Judge, entrypoint: string): PolicyInfo {
  const reads = j.inputPaths == null || j.inputPaths.some((p) => p.length === 0)
    ? 'the whole input'
    : j.inputPaths.map((p) => pointerOf(p)).join(', ')
  return { source: j.source, revision: j.revision, entrypoint, nondeterministic: j.nondeterministic, reads }
}

function describeBreaks (counts: Partial<Record<FindingKind, number>>): string {
  const parts: string[] = []
  const n = (k: FindingKind): number => counts[k] ?? 0
  if (n('edit') > 0) parts.push(`${n('edit')} record(s) edited after they were written (left out)`)
  if (n('link') > 0) parts.push(`${n('link')} broken link(s) in the chain`)
  if (n('gap') > 0) parts.push(`${n('gap')} gap(s) no drop marker declares`)
  if (n('conflict') > 0) parts.push(`${n('conflict')} seq(s) with two different records`)
  if (n('restart') > 0) parts.push(`${n('restart')} chain restart(s) under the same id`)
  if (n('malformed') > 0) parts.push(`${n('malformed')} unreadable or truncated part(s) of the input`)
  if (n('drop') > 0) parts.push(`${n('drop')} drop marker(s): decisions the logger dropped and declared`)
  if (n('reorder') > 0 && parts.length === 0) parts.push(`${n('reorder')} record(s) out of order`)
  return parts.join('; ')
}

/** The kinds (and "input-incomplete", "incomplete-record") a --fail-on list matches in a report. */
export function failures (r: ReplayReport, kinds: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (const k of CHANGE_KINDS) {
    if (!kinds.has(k)) continue
    const n = countOf(r.changes, k) + countOf(r.input_incomplete.changes, k)
    if (n > 0) out.push(`${k}: ${n}`)
  }
  if (kinds.has('input-incomplete') && r.totals.input_incomplete > 0) out.push(`input-incomplete: ${r.totals.input_incomplete}`)
  if (kinds.has('incomplete-record') && !r.integrity.complete) out.push('incomplete-record')
  // Whatever kinds are asked for, a gate that replayed nothing, or left out records whose content
  // no longer matches their hash (the one record a change would flip, edited), cannot vouch
  // for the candidate (review, session 54: both exited 0).
  if (kinds.size > 0 && r.totals.evaluated === 0) out.push('nothing-replayed')
  if (kinds.size > 0 && r.log.edited_left_out > 0) out.push(`edited-records-left-out: ${r.log.edited_left_out}`)
  return out
}

function countOf (groups: readonly ChangeGroup[], k: ChangeKind): number {
  return groups.find((g) => g.kind === k)?.count ?? 0
}

export const FAIL_ON_EXTRA = ['input-incomplete', 'incomplete-record'] as const
