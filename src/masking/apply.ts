// Applying a compiled mask to a JSON document.
//
// Semantics:
// - Rules run in list order. Each matches against the document as left by earlier rules,
//   except that array indices always refer to the original array: removed elements are
//   compacted only after all rules ran, so "/a/0" and "/a/1" remove the first two elements.
//   A rule that replaced a container (redact "/a") leaves nothing for a later "/a/b" to match;
//   the outer rule wins either way.
// - Paths that match nothing are not an error (fields are often optional).
// - The input is never modified: containers on the way to a change are copied (structure is
//   shared otherwise), because decision-log documents may share objects with cached decisions.
//   `inPlace` is for documents the caller owns. (Upstream responses are masked as text, with
//   the same semantics: text-mask.ts.)
// - The result lists concrete pointers (RFC 6901 escapes; a "*" key is written "~2") against
//   the original document: `erased` for removed locations, `masked` for rewritten ones — the
//   same split as OPA's decision-log mask (`erased` / `masked`).
import { MIN_HASH_KEY_BYTES, REMOVED } from './actions.js'
import { BouncerError } from '../errors.js'
import { isRawJson } from '../exact-json.js'
import { escapeToken, type PathToken } from './pointer.js'
import type { CompiledMask, CompiledRule } from './rules.js'

export interface ApplyMaskOptions {
  /** HMAC key for `hash` rules; at least 16 bytes. Required only if a rule hashes. */
  hashKey?: Uint8Array
  /** Modify `doc` instead of copying along changed paths (only for documents you own). */
  inPlace?: boolean
}

export interface ApplyMaskResult {
  value: unknown
  /** Locations rewritten (redact, null, hash, last4). */
  masked: string[]
  /** Locations removed. */
  erased: string[]
}

type Container = unknown[] | Record<string, unknown>

interface Ctx {
  rule: CompiledRule
  tokens: readonly PathToken[]
  hashKey: Uint8Array | undefined
  inPlace: boolean
  /** Containers copied during this application: safe to modify. */
  owned: Set<Container>
  /** Arrays holding REMOVED placeholders, compacted at the end. */
  compact: Set<unknown[]>
  /** Escaped tokens of the current location. */
  path: string[]
  masked: Set<string>
  erased: Set<string>
}

export function applyMask (doc: unknown, mask: CompiledMask, opts: ApplyMaskOptions = {}): ApplyMaskResult {
  if (mask.empty) return { value: doc, masked: [], erased: [] }
  if (mask.usesHash) checkHashKey(opts.hashKey)
  const ctx: Ctx = {
    rule: mask.rules[0]!,
    tokens: mask.rules[0]!.tokens,
    hashKey: opts.hashKey,
    inPlace: opts.inPlace === true,
    owned: new Set(),
    compact: new Set(),
    path: [],
    masked: new Set(),
    erased: new Set(),
  }
  let value = doc
  for (const rule of mask.rules) {
    ctx.rule = rule
    ctx.tokens = rule.tokens
    // Tokens are never empty (the whole document cannot be masked), so the root stays.
    value = visit(value, 0, ctx)
  }
  for (const arr of ctx.compact) {
    let w = 0
    for (let r = 0; r < arr.length; r++) if (arr[r] !== REMOVED) arr[w++] = arr[r]
    arr.length = w
  }
  return { value, masked: [...ctx.masked], erased: [...ctx.erased] }
}

/** Throws BOUNCER_ERR_MASK_HASH_KEY unless `key` is usable for `hash` rules. */
export function checkHashKey (key: Uint8Array | undefined): void {
  if (!(key instanceof Uint8Array)) throw new BouncerError('BOUNCER_ERR_MASK_HASH_KEY', ['a hash rule is present but no hash key is configured'])
  if (key.length < MIN_HASH_KEY_BYTES) throw new BouncerError('BOUNCER_ERR_MASK_HASH_KEY', [`key has ${key.length} bytes; at least ${MIN_HASH_KEY_BYTES} are required`])
}

/** Returns the node's replacement: itself when unchanged, REMOVED when the location goes. */
function visit (node: unknown, depth: number, ctx: Ctx): unknown {
  if (depth === ctx.tokens.length) {
    // An earlier rule may have removed elements inside this container (REMOVED placeholders
    // keep array positions until the end): the action sees what is left, as the byte-level
    // masker does, never the placeholder.
    const seen = ctx.compact.size > 0 && node !== null && typeof node === 'object' ? withoutRemoved(node) : node
    const out = ctx.rule.apply(seen, ctx.hashKey)
    const p = '/' + ctx.path.join('/')
    if (out === REMOVED) { ctx.erased.add(p); ctx.masked.delete(p) } else ctx.masked.add(p)
    return out
  }
  if (node === null || typeof node !== 'object' || isRawJson(node)) return node // a leaf (an exact big integer too)
  const tok = ctx.tokens[depth]!
  let target = node as Container
  if (Array.isArray(node)) {
    if (tok.wildcard) for (let i = 0; i < node.length; i++) target = visitIndex(target as unknown[], i, depth, ctx)
    else if (tok.index >= 0 && tok.index < node.length) target = visitIndex(target as unknown[], tok.index, depth, ctx)
  } else {
    const obj = node as Record<string, unknown>
    if (tok.wildcard) for (const k of Object.keys(obj)) target = visitKey(target as Record<string, unknown>, k, depth, ctx)
    else if (Object.prototype.hasOwnProperty.call(obj, tok.key)) target = visitKey(target as Record<string, unknown>, tok.key, depth, ctx)
  }
  return target
}

// Both helpers return the container to use from now on: the same one, or our copy of it.
function visitIndex (arr: unknown[], i: number, depth: number, ctx: Ctx): unknown[] {
  const child = arr[i]
  if (child === REMOVED) return arr // already removed by an earlier rule
  ctx.path.push(String(i))
  const out = visit(child, depth + 1, ctx)
  ctx.path.pop()
  if (out === child) return arr
  const t = own(arr, ctx) as unknown[]
  t[i] = out
  if (out === REMOVED) ctx.compact.add(t)
  return t
}

function visitKey (obj: Record<string, unknown>, k: string, depth: number, ctx: Ctx): Record<string, unknown> {
  const child = obj[k]
  ctx.path.push(escapeToken(k))
  const out = visit(child, depth + 1, ctx)
  ctx.path.pop()
  if (out === child) return obj
  const t = own(obj, ctx) as Record<string, unknown>
  if (out === REMOVED) delete t[k]
  // defineProperty: a JSON key "__proto__" is an own data property; `t[k] = out` would
  // change the object's prototype instead of the value.
  else if (k === '__proto__') Object.defineProperty(t, k, { value: out, writable: true, enumerable: true, configurable: true })
  else t[k] = out
  return t
}

/** A copy of `v` without REMOVED array placeholders (objects lose removed members at once). */
function withoutRemoved (v: unknown): unknown {
  if (v === null || typeof v !== 'object' || isRawJson(v)) return v
  if (Array.isArray(v)) return v.filter((x) => x !== REMOVED).map(withoutRemoved)
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k === '__proto__') Object.defineProperty(out, k, { value: withoutRemoved(x), writable: true, enumerable: true, configurable: true })
    else out[k] = withoutRemoved(x)
  }
  return out
}

/** The container itself when we may modify it, else a shallow copy we own from now on. */
function own (c: Container, ctx: Ctx): Container {
  if (ctx.inPlace || ctx.owned.has(c)) return c
  // Spread/slice use define semantics, so an own "__proto__" key is copied as data.
  const copy: Container = Array.isArray(c) ? c.slice() : { ...c }
  ctx.owned.add(copy)
  return copy
}
