// How two outcomes for the same input differ, as a list of change kinds (the groups of the
// report and the vocabulary of --fail-on). A flip between allow and deny is one change (the
// other fields of a flipped decision are not compared); two decisions that agree on allow are
// compared field by field, so one event can change in several ways (status and headers).
import type { Outcome } from './outcome.js'

export const CHANGE_KINDS = [
  'allow-to-deny', 'deny-to-allow', 'to-error', 'from-error', 'error-code', 'status', 'body', 'headers', 'mask', 'cache-ttl', 'metadata',
] as const

export type ChangeKind = typeof CHANGE_KINDS[number]

export const CHANGE_TITLES: Readonly<Record<ChangeKind, string>> = Object.freeze({
  'allow-to-deny': 'allow → deny',
  'deny-to-allow': 'deny → allow',
  'to-error': 'decision → error (fail closed)',
  'from-error': 'error → decision',
  'error-code': 'error → another error',
  status: 'status changed',
  body: 'denial body changed',
  headers: 'headers changed (headers, response_headers, remove_headers; ext_authz: also query_parameters_to_remove and query_parameters_to_set)',
  mask: 'mask changed',
  'cache-ttl': 'cache_ttl changed',
  metadata: 'dynamic_metadata changed (ext_authz)',
})

const NONE: readonly ChangeKind[] = Object.freeze([])

/** The ways `candidate` differs from `baseline` (empty: unchanged). */
export function compareOutcomes (baseline: Outcome, candidate: Outcome): readonly ChangeKind[] {
  if (baseline.kind === 'error' || candidate.kind === 'error') {
    if (baseline.kind === 'error' && candidate.kind === 'error') return baseline.code === candidate.code ? NONE : ['error-code']
    if (candidate.kind === 'error') return ['to-error']
    // A fail-closed denial that now gets a decision: a denial that becomes an allow is also
    // deny-to-allow (what --fail-on deny-to-allow is for).
    return candidate.allow ? ['from-error', 'deny-to-allow'] : ['from-error']
  }
  if (baseline.allow !== candidate.allow) return [baseline.allow ? 'allow-to-deny' : 'deny-to-allow']
  let out: ChangeKind[] | undefined
  if (baseline.status !== candidate.status) (out ??= []).push('status')
  if (baseline.body !== candidate.body) (out ??= []).push('body')
  if (baseline.headers !== candidate.headers) (out ??= []).push('headers')
  if (baseline.mask !== candidate.mask) (out ??= []).push('mask')
  if (baseline.cacheTtl !== candidate.cacheTtl) (out ??= []).push('cache-ttl')
  if (baseline.metadata !== candidate.metadata) (out ??= []).push('metadata')
  return out ?? NONE
}

/** Parses a --fail-on list ("deny-to-allow,allow-to-deny"); returns the unknown names too. */
export function parseKinds (text: readonly string[], extra: readonly string[]): { kinds: Set<string>; unknown: string[] } {
  const known = new Set<string>([...CHANGE_KINDS, ...extra, 'any'])
  const kinds = new Set<string>()
  const unknown: string[] = []
  for (const part of text.flatMap((t) => t.split(','))) {
    const k = part.trim()
    if (k === '') continue
    if (!known.has(k)) unknown.push(k)
    else if (k === 'any') for (const c of CHANGE_KINDS) kinds.add(c)
    else kinds.add(k)
  }
  return { kinds, unknown }
}
