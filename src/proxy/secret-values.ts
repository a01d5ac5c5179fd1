// Error messages may quote the input: with strict builtin errors, `to_number(input...authorization)`
// fails with `strconv.ParseFloat: parsing "Bearer <token>"`, and `io.jwt.decode` quotes the bad
// token. The header is erased from the logged input, but the message went to the process log
// and the decision-log event as it was. Before a fail-closed message is logged or recorded, the
// values the decision log erases from the input are cut out of it: credential headers, query
// parameters (also inside other values), body fields and token claims.
import { compileClaimMatcher, compileNameMatcher, forEachParam, mayHoldParams, type NameMatcher } from '../decision-log/erase.js'
import type { BouncerConfig } from '../config/index.js'
import { isRawJson, rawJsonText } from '../exact-json.js'

const ERASED = '[erased]'
// A token's parts as messages quote them: "Bearer <token>" → "<token>", cookies → each value.
const PARTS = /[\s;,=]+/
// Shorter parts ("Bearer", "id") are words a message may rightly hold.
const MIN_PART = 6
// Shorter whole values ({"sig": "e"}, {"session": 1}) hide nothing worth hiding, and cutting
// every "e" out of a message made it unreadable ("policy.r[erased]go:12").
const MIN_VALUE = 4

export interface SecretScrubber {
  /** The message without the input's credential values. */
  (message: string, input: unknown): string
  /**
   * A policy's result (a decision, its reason, a shadow's result) without them: the same value
   * when none of its strings holds one, else a copy with each cut out. A policy echoing the
   * input (`reason := sprintf("bad token %v", [...])`) put the bearer token in the request's
   * log line and the decision log's result (review, session 52).
   */
  result (value: unknown, input: unknown): unknown
}

/** Credential header names (the decision log's erase list, the auth header) and query parameter names, from the config. */
export function compileSecretScrubber (config: BouncerConfig): SecretScrubber {
  // Header names in the input are lower case already (Node's): a set, not the query names' forms.
  const headerSet = new Set([...config.decision_logs.erase_headers, config.auth.jwt.header, 'authorization', 'proxy-authorization', 'cookie'].map((h) => h.toLowerCase()))
  const headers = (name: string): boolean => headerSet.has(name)
  const params = compileNameMatcher(config.decision_logs.erase_query_params)
  const claims = compileClaimMatcher(config.decision_logs.erase_query_params)
  // Per input (one request's): the reason, the result and a failure's message share one search.
  const byInput = new WeakMap<object, readonly string[]>()
  const valuesOf = (input: unknown): readonly string[] => {
    if (input === null || typeof input !== 'object') return secretValues(input, headers, params, claims)
    let v = byInput.get(input)
    if (v === undefined) byInput.set(input, v = secretValues(input, headers, params, claims))
    return v
  }
  // Longest first: a whole value before the parts it contains.
  const longestFirst = (values: readonly string[]): string[] => [...values].sort((a, b) => b.length - a.length)
  // Found clean for a shared value list: a (frozen, shared) result, or a text such as a reason.
  const cleanResults = new WeakMap<object, WeakSet<readonly string[]>>()
  const cleanTexts = new Map<string, WeakSet<readonly string[]>>()
  const scrub = ((message: string, input: unknown): string => {
    if (message.length < MIN_VALUE) return message
    const values = valuesOf(input)
    if (values.length === 0 || cleanTexts.get(message)?.has(values) === true) return message
    if (holdsAny(message, values, 0)) return cut(message, longestFirst(values))
    if (cleanTexts.size >= FORMS_MAX) cleanTexts.clear()
    let seen = cleanTexts.get(message)
    if (seen === undefined) cleanTexts.set(message, seen = new WeakSet())
    seen.add(values)
    return message
  }) as SecretScrubber
  scrub.result = (value, input) => {
    if (value === null || typeof value !== 'object' ? typeof value !== 'string' || value.length < MIN_VALUE : false) return value
    const values = valuesOf(input)
    if (values.length === 0) return value
    const shared = value !== null && typeof value === 'object' && Object.isFrozen(value) ? value : undefined
    if (shared !== undefined && cleanResults.get(shared)?.has(values) === true) return value
    // Strings shorter than any value cannot hold one.
    if (!hasString(value, MIN_VALUE, 0)) return value
    if (holdsAny(value, values, 0)) return cutDeep(value, longestFirst(values), 0)
    if (shared !== undefined) {
      let seen = cleanResults.get(shared)
      if (seen === undefined) cleanResults.set(shared, seen = new WeakSet())
      seen.add(values)
    }
    return value
  }
  return scrub
}

function cut (s: string, values: readonly string[]): string {
  let out = s
  for (const v of values) if (out.includes(v)) out = out.split(v).join(ERASED)
  return out
}

/** Whether a string (or key) of `v` holds one of the values. */
function holdsAny (v: unknown, values: readonly string[], depth: number): boolean {
  if (typeof v === 'string') { for (const x of values) if (v.includes(x)) return true; return false }
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return false
  if (isRawJson(v)) return holdsAny(rawJsonText(v), values, depth)
  if (Array.isArray(v)) { for (const x of v) if (holdsAny(x, values, depth + 1)) return true; return false }
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (holdsAny(k, values, depth) || holdsAny(x, values, depth + 1)) return true
  return false
}

function hasString (v: unknown, min: number, depth: number): boolean {
  if (typeof v === 'string') return v.length >= min
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return false
  if (isRawJson(v)) return rawJsonText(v).length >= min
  for (const x of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) if (hasString(x, min, depth + 1)) return true
  // Keys too: a policy may build an object keyed by the token.
  return !Array.isArray(v) && Object.keys(v as Record<string, unknown>).some((k) => k.length >= min)
}

/** `v` with the values cut out of its strings (and keys): `v` itself when nothing changed. */
function cutDeep (v: unknown, values: readonly string[], depth: number): unknown {
  if (typeof v === 'string') return cut(v, values)
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return v
  // A number read exactly (a JSON.rawJSON): a leaf, erased whole if it holds a value.
  if (isRawJson(v)) return cut(rawJsonText(v), values) === rawJsonText(v) ? v : ERASED
  if (Array.isArray(v)) {
    let copy: unknown[] | null = null
    for (let i = 0; i < v.length; i++) {
      const x = cutDeep(v[i], values, depth + 1)
      if (x !== v[i] && copy === null) copy = v.slice()
      if (copy !== null) copy[i] = x
    }
    return copy ?? v
  }
  let copy: Record<string, unknown> | null = null
  const entries = Object.entries(v as Record<string, unknown>)
  for (const [k, x] of entries) {
    const k2 = cut(k, values)
    const x2 = cutDeep(x, values, depth + 1)
    if ((k2 !== k || x2 !== x) && copy === null) copy = {}
    if (copy !== null) break
  }
  if (copy === null) return v
  for (const [k, x] of entries) copy[cut(k, values)] = cutDeep(x, values, depth + 1)
  return copy
}

// A value's searchable forms (itself and its parts), by value: a client sends the same token
// request after request, and splitting it each time cost most of a result's check.
const FORMS_MAX = 4096
const forms = new Map<string, readonly string[]>()
function formsOf (v: string): readonly string[] {
  let f = forms.get(v)
  if (f === undefined) {
    const all = [v]
    for (const part of v.split(PARTS)) if (part.length >= MIN_PART && part !== v) all.push(part)
    if (forms.size >= FORMS_MAX) forms.clear()
    forms.set(v, f = all)
  }
  return f
}
// The claims' values by (frozen, shared per token) identity object.
const claimValues = new WeakMap<object, readonly string[]>()

const NONE: readonly string[] = Object.freeze([])

/**
 * The input's credential values and their parts. From one source (a bearer token alone, the
 * usual case) the list is that value's shared one: the same array request after request, which
 * lets a result or reason found clean for it be let through unread next time.
 */
function secretValues (input: unknown, headers: (name: string) => boolean, params: NameMatcher, claims: NameMatcher): readonly string[] {
  const lists: Array<readonly string[]> = []
  const add = (v: unknown): void => {
    if (typeof v !== 'string' || v.length < MIN_VALUE) return
    lists.push(formsOf(v))
  }
  const http = field(field(field(input, 'attributes'), 'request'), 'http')
  const hs = field(http, 'headers') as Record<string, unknown> | null | undefined
  if (hs !== null && typeof hs === 'object') {
    for (const name in hs) if (headers(name)) add(hs[name])
  }
  const query = field(input, 'parsed_query') as Record<string, unknown> | null | undefined
  if (query !== null && typeof query === 'object') {
    for (const name in query) {
      const v = query[name]
      if (params(name)) {
        if (Array.isArray(v)) v.forEach(add)
        else add(v)
        continue
      }
      // A credential parameter inside a value (`?x=1;token=…`, `?next=/cb?token=…`).
      for (const one of Array.isArray(v) ? v : [v]) {
        if (typeof one !== 'string' || !mayHoldParams(one)) continue
        forEachParam(one, true, (start, eq, end) => { if (eq + 1 < end && params(one.slice(start, eq))) add(one.slice(eq + 1, end)) })
      }
    }
  }
  // What the decision log erases from the body and the token's claims, at any depth.
  const budget = { n: MAX_VALUES }
  collectNamed(field(input, 'parsed_body'), params, add, 0, budget)
  const identity = field(input, 'identity')
  if (identity !== null && typeof identity === 'object' && Object.isFrozen(identity)) {
    let cv = claimValues.get(identity)
    if (cv === undefined) {
      const mine: string[] = []
      collectNamed(identity, claims, (v) => { if (typeof v === 'string' && v.length >= MIN_VALUE) mine.push(...formsOf(v)) }, 0, { n: MAX_VALUES })
      claimValues.set(identity, cv = mine)
    }
    if (cv.length > 0) lists.push(cv)
  } else collectNamed(identity, claims, add, 0, budget)
  return lists.length === 0 ? NONE : lists.length === 1 ? lists[0]! : lists.flat()
}

const MAX_DEPTH = 64
const MAX_VALUES = 10000

/** Adds the values (strings and numbers, at any depth below) of the members `named` matches. */
function collectNamed (v: unknown, named: NameMatcher, add: (v: unknown) => void, depth: number, budget: { n: number }): void {
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH || budget.n <= 0) return
  if (Array.isArray(v)) { for (const x of v) collectNamed(x, named, add, depth + 1, budget); return }
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (--budget.n <= 0) return
    if (named(k)) collectAll(x, add, depth + 1, budget)
    else collectNamed(x, named, add, depth + 1, budget)
  }
}

function collectAll (v: unknown, add: (v: unknown) => void, depth: number, budget: { n: number }): void {
  if (typeof v === 'string') add(v)
  else if (typeof v === 'number' || typeof v === 'bigint') add(String(v))
  else if (v !== null && typeof v === 'object' && depth <= MAX_DEPTH) {
    for (const x of Object.values(v as Record<string, unknown>)) { if (--budget.n <= 0) return; collectAll(x, add, depth + 1, budget) }
  }
}

function field (v: unknown, name: string): unknown {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[name] : undefined
}
