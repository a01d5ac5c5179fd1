// Counting replayed decisions: per change kind a count and the first few examples (in log
// order), kept apart for events whose input is complete and those whose input is not (see
// incomplete.ts), so an incomplete input is never counted as an unchanged decision.
import type { Position } from '../evidence/index.js'
import { formatPosition } from '../evidence/source.js'
import { CHANGE_KINDS, CHANGE_TITLES, type ChangeKind } from './compare.js'
import { describeOutcome, outcomeJson, type Outcome } from './outcome.js'

export interface Example {
  decision_id: string
  /** file:line (element n) of the event */
  at: string
  timestamp?: string
  /** "GET /v1/accounts/42" */
  request: string
  baseline: string
  candidate: string
  baseline_decision: Record<string, unknown>
  candidate_decision: Record<string, unknown>
  /** input fields erased or masked before the event was stored, that the policies read */
  incomplete_fields?: string[]
}

export interface ChangeGroup { kind: ChangeKind; title: string; count: number; examples: Example[] }

export class Tally {
  evaluated = 0
  unchanged = 0
  changed = 0
  readonly groups: Map<ChangeKind, ChangeGroup>
  constructor (private readonly maxExamples: number) {
    this.groups = new Map(CHANGE_KINDS.map((k) => [k, { kind: k, title: CHANGE_TITLES[k], count: 0, examples: [] }]))
  }

  add (ev: Record<string, unknown>, pos: Position, kinds: readonly ChangeKind[], baseline: Outcome, candidate: Outcome, fields?: string[]): void {
    this.evaluated++
    if (kinds.length === 0) { this.unchanged++; return }
    this.changed++
    let example: Example | undefined
    for (const k of kinds) {
      const g = this.groups.get(k)!
      g.count++
      if (g.examples.length < this.maxExamples) g.examples.push(example ??= exampleOf(ev, pos, baseline, candidate, fields))
    }
  }

  /** Every kind in CHANGE_KINDS order (zero counts included). */
  list (): ChangeGroup[] { return [...this.groups.values()] }

  count (kind: ChangeKind): number { return this.groups.get(kind)!.count }
}

export function exampleOf (ev: Record<string, unknown>, pos: Position, baseline: Outcome, candidate: Outcome, fields?: string[]): Example {
  return {
    decision_id: typeof ev.decision_id === 'string' ? ev.decision_id : '(none)',
    at: formatPosition(pos),
    ...(typeof ev.timestamp === 'string' ? { timestamp: ev.timestamp } : {}),
    request: requestOf(ev.input),
    baseline: describeOutcome(baseline),
    candidate: describeOutcome(candidate),
    baseline_decision: outcomeJson(baseline),
    candidate_decision: outcomeJson(candidate),
    ...(fields !== undefined ? { incomplete_fields: fields } : {}),
  }
}

/** "METHOD path" of a logged input (Envoy-shaped: attributes.request.http). */
export function requestOf (input: unknown): string {
  const http = (input as { attributes?: { request?: { http?: { method?: unknown; path?: unknown } } } } | null)?.attributes?.request?.http
  const method = typeof http?.method === 'string' ? http.method : '?'
  const path = typeof http?.path === 'string' ? http.path : '?'
  return `${method} ${path}`
}
