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
  const headers = compileNameMatcher([...config.decision_logs.erase_headers, config.auth.jwt.header, 'authorization', 'proxy-authorization', 'cookie'])
  const params = compileNameMatcher(config.decision_logs.erase_query_params)
  const claims = compileClaimMatcher(config.decision_logs.erase_query_params)
  // Longest first: a whole value before the parts it contains.
  const valuesOf = (input: unknown): string[] => secretValues(input, headers, params, claims).sort((a, b) => b.length - a.length)
  const scrub = ((message: string, input: unknown): string => {
    const values = valuesOf(input)
    return values.length === 0 ? message : cut(message, values)
  }) as SecretScrubber
  scrub.result = (value, input) => {
    // Strings shorter than any value cannot hold one: most results are let through unread.
    if (!hasString(value, MIN_VALUE, 0)) return value
    const values = valuesOf(input)
    return values.length === 0 ? value : cutDeep(value, values, 0)
  }
  return scrub
}

function cut (s: string, values: readonly string[]): string {
  let out = s
  for (const v of values) if (out.includes(v)) out = out.split(v).join(ERASED)
  return out
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

function secretValues (input: unknown, headers: NameMatcher, params: NameMatcher, claims: NameMatcher): string[] {
  const out: string[] = []
  const add = (v: unknown): void => {
    if (typeof v !== 'string' || v.length < MIN_VALUE) return
    out.push(v)
    for (const part of v.split(PARTS)) if (part.length >= MIN_PART && part !== v) out.push(part)
  }
  const http = field(field(field(input, 'attributes'), 'request'), 'http')
  const hs = field(http, 'headers')
  if (hs !== null && typeof hs === 'object') {
    for (const [name, v] of Object.entries(hs)) if (headers(name)) add(v)
  }
  const query = field(input, 'parsed_query')
  if (query !== null && typeof query === 'object') {
    for (const [name, v] of Object.entries(query)) {
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
  collectNamed(field(input, 'identity'), claims, add, 0, budget)
  return out
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
