// OPA's decision-log policies in a bundle: data.system.log.drop decides whether an event is
// logged, data.system.log.mask which parts of it are removed or replaced. A bundle written for
// OPA keeps masking what its authors meant to hide. The semantics are OPA's (plugins/logs, read
// from its documentation and tests), including its quirks, so the same policy gives the same
// events:
//   - both policies get the event as input: decision_id, labels, bundles, path, requested_by,
//     input, result, timestamp (never trace ids or metrics);
//   - drop: the event is not logged when the value is exactly `true`;
//   - mask: a set (or array) of JSON pointers under /input, /result or /nd_builtin_cache. A
//     string removes; {"op": "remove" | "upsert", "path": ..., "value": ...} removes or sets
//     (upsert creates missing object keys, never appends to an array). Ops run in the set's
//     order (strings first, sorted), each on what the ones before it left;
//   - a pointer to something absent is skipped; pointer segments are not JSON-pointer escaped:
//     OPA looks a segment up in its URL path-escaped form (":path" works, "a b" cannot be
//     reached), and records that form in `erased` (removals) or `masked` (upserts);
//   - a value that is not a set or array, a malformed op, or a pointer outside those roots is an
//     error for the whole set.
// Where OPA discards an event whose mask or drop policy fails, Bouncer keeps the decision in the
// chain without its input and result (event.ts): nothing is hidden from the audit trail, and
// nothing unmasked is stored.

import { isRawJson } from '../exact-json.js'
import type { DecisionEvent, EventMasker } from './event.js'

/** The decision-log entrypoints of the active policy (each absent when the bundle has none). */
export interface LogPolicy {
  readonly mask?: (input: unknown) => unknown
  readonly drop?: (input: unknown) => unknown
}

export class LogPolicyError extends Error {}

interface MaskOp {
  readonly remove: boolean
  /** root, then the URL-path-escaped segments (what is looked up) */
  readonly segs: readonly string[]
  /** the pointer as recorded in erased / masked */
  readonly text: string
  readonly value: unknown
}

const ROOTS = new Set(['input', 'result', 'nd_builtin_cache'])

/** The input both policies get: the event as OPA's decision-log plugin presents it. */
export function logPolicyInput (e: DecisionEvent): Record<string, unknown> {
  const v: Record<string, unknown> = {}
  if (e.bundles !== undefined) v.bundles = e.bundles
  v.decision_id = e.decision_id
  if (e.input !== undefined) v.input = e.input
  v.labels = e.labels
  v.path = e.path
  if (e.requested_by !== undefined) v.requested_by = e.requested_by
  if (e.result !== undefined) v.result = e.result
  v.timestamp = e.timestamp
  return v
}

/** True when the drop policy says so: its value is exactly `true`. */
export function dropsEvent (policy: LogPolicy, input: unknown): boolean {
  return policy.drop !== undefined && policy.drop(input) === true
}

/** The mask policy's ops for `input`; [] when it is undefined (or false). Throws LogPolicyError. */
export function maskOps (policy: LogPolicy, input: unknown): MaskOp[] {
  if (policy.mask === undefined) return []
  const v = policy.mask(input)
  if (v === undefined || v === false) return []
  if (!Array.isArray(v)) throw new LogPolicyError(`unexpected rule format ${JSON.stringify(v)?.slice(0, 80) ?? typeof v}`)
  return v.map(opOf)
}

function opOf (r: unknown): MaskOp {
  if (typeof r === 'string') return pointerOp(true, r, undefined)
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new LogPolicyError(`invalid mask rule format encountered: ${r === null ? 'null' : Array.isArray(r) ? 'array' : typeof r}`)
  const o = r as Record<string, unknown>
  const op = o.op ?? ''
  const path = o.path ?? ''
  if (typeof op !== 'string') throw new LogPolicyError('invalid mask rule format encountered: op must be a string')
  if (typeof path !== 'string') throw new LogPolicyError('invalid mask rule format encountered: path must be a string')
  if (op !== 'remove' && op !== 'upsert') throw new LogPolicyError(`mask op is not supported: ${op}`)
  return pointerOp(op === 'remove', path, op === 'upsert' ? o.value ?? null : undefined)
}

function pointerOp (remove: boolean, pointer: string, value: unknown): MaskOp {
  if (pointer === '') throw new LogPolicyError('mask must be non-empty')
  if (pointer[0] !== '/') throw new LogPolicyError('mask must be slash-prefixed')
  const raw = pointer.slice(1).split('/')
  if (!ROOTS.has(raw[0]!)) throw new LogPolicyError(`mask prefix not allowed: ${raw[0]}`)
  const segs = raw.map((s, i) => {
    if (i === 0) return s
    if (/%(?![0-9a-fA-F]{2})/.test(s)) throw new LogPolicyError(`invalid URL escape in mask ${JSON.stringify(pointer)}`)
    return pathEscape(s)
  })
  return { remove, segs, text: '/' + segs.join('/'), value }
}

/** Go's url.PathEscape: bytes other than A-Z a-z 0-9 - _ . ~ $ & + : = @ as %XX. */
function pathEscape (s: string): string {
  if (/^[A-Za-z0-9\-_.~$&+:=@]*$/.test(s)) return s
  let out = ''
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b)
    out += /[A-Za-z0-9\-_.~$&+:=@]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

type Container = Record<string, unknown> | unknown[]

const isContainer = (v: unknown): v is Container => v !== null && typeof v === 'object' && !isRawJson(v)

/** Go's strconv.Atoi of an array index, in [0, len); -1 when it is not one. */
function indexOf (seg: string, len: number): number {
  if (!/^[+-]?[0-9]+$/.test(seg)) return -1
  const i = Number(seg)
  return i >= 0 && i < len ? i : -1
}

/**
 * Applies `ops` in order to a copy of the event (objects along each path are copied once; the
 * caller's input and result are never modified). Returns the pointers removed and upserted.
 */
export function applyMaskOps (event: DecisionEvent, ops: readonly MaskOp[]): { event: DecisionEvent; erased: string[]; masked: string[] } {
  const out = { ...event } as DecisionEvent & Record<string, unknown>
  const erased: string[] = []
  const masked: string[] = []
  const owned = new Set<object>()
  const own = (c: Container): Container => {
    if (owned.has(c)) return c
    let copy: Container
    if (Array.isArray(c)) copy = c.slice()
    else {
      copy = {}
      for (const k of Object.keys(c)) setKey(copy, k, c[k])
    }
    owned.add(copy)
    return copy
  }
  for (const op of ops) {
    const root = op.segs[0]!
    const top = out[root]
    if (top === undefined) continue
    if (op.segs.length === 1) {
      if (op.remove) delete out[root]
      else out[root] = op.value
      ;(op.remove ? erased : masked).push(op.text)
      continue
    }
    if (!isContainer(top)) continue
    let parent = own(top)
    out[root] = parent
    let ok = true
    for (let i = 1; i < op.segs.length - 1 && ok; i++) {
      const k = op.segs[i]!
      if (Array.isArray(parent)) {
        const at = indexOf(k, parent.length)
        const next = at < 0 ? undefined : parent[at]
        if (!isContainer(next)) { ok = false; break }
        parent = parent[at] = own(next)
      } else if (Object.prototype.hasOwnProperty.call(parent, k)) {
        const next = parent[k]
        if (!isContainer(next)) { ok = false; break }
        parent = setKey(parent, k, own(next)) as Container
      } else if (op.remove) {
        ok = false
      } else {
        const fresh: Record<string, unknown> = {}
        owned.add(fresh)
        parent = setKey(parent, k, fresh) as Container
      }
    }
    if (!ok) continue
    const last = op.segs[op.segs.length - 1]!
    if (Array.isArray(parent)) {
      const at = indexOf(last, parent.length)
      if (at < 0) continue
      if (op.remove) parent.splice(at, 1)
      else parent[at] = op.value
    } else if (op.remove) {
      if (!Object.prototype.hasOwnProperty.call(parent, last)) continue
      delete parent[last]
    } else {
      setKey(parent, last, op.value)
    }
    ;(op.remove ? erased : masked).push(op.text)
  }
  return { event: out, erased, masked }
}

/** parent[k] = v as an own data property ("__proto__" included); returns v. */
function setKey (parent: Record<string, unknown>, k: string, v: unknown): unknown {
  Object.defineProperty(parent, k, { value: v, writable: true, enumerable: true, configurable: true })
  return v
}

const NONE: readonly string[] = Object.freeze([])

/**
 * The EventMasker of the active policy's decision-log entrypoints (`current()` is read per
 * event: a new bundle brings its own). Nothing to do when the policy has neither.
 */
export function logPolicyMasker (current: () => LogPolicy | undefined): EventMasker {
  return (event) => {
    const p = current()
    if (p === undefined || (p.mask === undefined && p.drop === undefined)) return { event, erased: NONE, masked: NONE }
    const input = logPolicyInput(event)
    if (dropsEvent(p, input)) return { event, erased: NONE, masked: NONE, drop: true }
    const ops = maskOps(p, input)
    return ops.length === 0 ? { event, erased: NONE, masked: NONE } : applyMaskOps(event, ops)
  }
}
