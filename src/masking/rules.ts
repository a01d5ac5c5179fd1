// Validation and compilation of a decision's `mask` list. Policies return the same few rule
// sets over and over, so compiled sets are cached by their canonical JSON (bounded LRU): the
// request path pays one flat key (or, for unusual lists, one canonical stringify), not a
// parse/validate, per request.
import { LRUCache } from 'lru-cache'
import { MASK_ACTIONS, buildAction, type ActionFn, type MaskAction } from './actions.js'
import { MaskRuleError } from './errors.js'
import { canonicalJson } from './json.js'
import { parseMaskPointer, type PathToken } from './pointer.js'

/** A rule as a policy writes it. */
export interface MaskRule {
  path: string
  action: MaskAction
  /** redact: the replacement value (default "[REDACTED]"); last4: the prefix (default "****"). */
  replacement?: string
}

export interface CompiledRule {
  /** Position in the list the policy returned (for logs). */
  readonly index: number
  readonly path: string
  readonly tokens: readonly PathToken[]
  readonly action: MaskAction
  readonly replacement: string | undefined
  readonly apply: ActionFn
}

export interface CompiledMask {
  readonly rules: readonly CompiledRule[]
  /** No rules: the proxy can stream the response untouched. */
  readonly empty: boolean
  /** Some rule hashes, so a hash key is required to apply it. */
  readonly usesHash: boolean
  /** Canonical JSON of the rule list (the cache key; handy in logs). */
  readonly key: string
}

export const MAX_MASK_RULES = 256
export const MAX_REPLACEMENT_LENGTH = 1024
const RULE_FIELDS = new Set(['path', 'action', 'replacement'])

const cache = new LRUCache<string, CompiledMask>({ max: 512 })
/** The same compiled sets by quickKey (an index into `cache`'s values, bounded alike). */
const quickCache = new LRUCache<string, CompiledMask>({ max: 512 })

const EMPTY_MASK: CompiledMask = Object.freeze({ rules: Object.freeze([]), empty: true, usesHash: false, key: '[]' })

/**
 * Validates and compiles a rule list (cached per distinct list). `undefined`/`null` mean no
 * rules. Throws MaskRuleError naming the rule index and the reason.
 */
export function compileMaskRules (rules: unknown): CompiledMask {
  if (rules === undefined || rules === null) return EMPTY_MASK
  if (!Array.isArray(rules)) throw new MaskRuleError(null, `expected an array of rules, got ${describe(rules)}`)
  if (rules.length === 0) return EMPTY_MASK
  if (rules.length > MAX_MASK_RULES) throw new MaskRuleError(null, `${rules.length} rules; at most ${MAX_MASK_RULES} are allowed`)
  // Decisions hand over a fresh (JSON-parsed) list per request: a plain list of plain rules
  // is looked up by a flat key first, which costs far less than its canonical JSON.
  const quick = quickKey(rules)
  if (quick !== null) {
    const hit = quickCache.get(quick)
    if (hit) return hit
  }
  let key: string
  try {
    key = canonicalJson(rules)
  } catch (e) {
    throw new MaskRuleError(null, `rules are not plain JSON: ${(e as Error).message}`)
  }
  const hit = cache.get(key)
  if (hit) {
    if (quick !== null) quickCache.set(quick, hit)
    return hit
  }
  const compiled: CompiledRule[] = rules.map((r: unknown, i: number) => compileRule(r, i))
  const mask: CompiledMask = Object.freeze({
    rules: Object.freeze(compiled),
    empty: false,
    usesHash: compiled.some((r) => r.action === 'hash'),
    key,
  })
  cache.set(key, mask)
  if (quick !== null) quickCache.set(quick, mask)
  return mask
}

/**
 * The JSON of [path, action, replacement or null, ...] when every rule is a plain object holding
 * only string-valued known fields, else null (such lists take the canonical key alone).
 */
function quickKey (rules: unknown[]): string | null {
  const parts: (string | null)[] = []
  for (const r of rules) {
    if (r === null || typeof r !== 'object' || Object.getPrototypeOf(r) !== Object.prototype) return null
    const o = r as Record<string, unknown>
    let fields = 0
    for (const k in o) {
      if (!Object.hasOwn(o, k) || !RULE_FIELDS.has(k) || typeof o[k] !== 'string') return null
      fields++
    }
    if (typeof o.path !== 'string' || typeof o.action !== 'string' || fields !== (o.replacement === undefined ? 2 : 3)) return null
    parts.push(o.path, o.action, (o.replacement as string | undefined) ?? null)
  }
  return JSON.stringify(parts)
}

function compileRule (rule: unknown, index: number): CompiledRule {
  const fail = (reason: string): never => { throw new MaskRuleError(index, reason, rule) }
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) return fail(`expected an object, got ${describe(rule)}`)
  const r = rule as Record<string, unknown>
  // Unknown fields are refused: a misspelt "replacement" or "action" must not silently change
  // what gets hidden.
  for (const k of Object.keys(r)) if (!RULE_FIELDS.has(k)) fail(`unknown field "${k}" (allowed: path, action, replacement)`)
  if (typeof r.path !== 'string') return fail(`"path" must be a string, got ${describe(r.path)}`)
  const tokens = parseMaskPointer(r.path)
  if (typeof tokens === 'string') return fail(`"path" ${JSON.stringify(r.path)}: ${tokens}`)
  if (typeof r.action !== 'string' || !(MASK_ACTIONS as readonly string[]).includes(r.action)) {
    return fail(`"action" must be one of ${MASK_ACTIONS.join(', ')}, got ${describe(r.action)}`)
  }
  const action = r.action as MaskAction
  let replacement: string | undefined
  if (r.replacement !== undefined) {
    if (action !== 'redact' && action !== 'last4') fail(`"replacement" is only valid with redact or last4, not ${action}`)
    if (typeof r.replacement !== 'string') return fail(`"replacement" must be a string, got ${describe(r.replacement)}`)
    if (r.replacement.length > MAX_REPLACEMENT_LENGTH) fail(`"replacement" is longer than ${MAX_REPLACEMENT_LENGTH} characters`)
    replacement = r.replacement
  }
  return Object.freeze({ index, path: r.path, tokens: Object.freeze(tokens), action, replacement, apply: buildAction(action, replacement) })
}

function describe (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
  return typeof v
}

/** Cache statistics (tests and metrics). */
export function maskRuleCacheSize (): number {
  return cache.size
}

/** Drops every cached compiled rule set (tests). */
export function clearMaskRuleCache (): void {
  cache.clear()
  quickCache.clear()
}
