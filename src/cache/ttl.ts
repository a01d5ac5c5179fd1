// How long a decision may be reused.
//
//  1. A decision that is not a boolean or an object with a boolean allow/allowed is a policy
//     error: never cached (the next request must hit the policy and be logged as an error).
//  2. The decision's own `cache_ttl` wins: 0 = never cache; a positive number = seconds,
//     capped by `maxSeconds` when configured. A malformed cache_ttl (negative, a string, NaN)
//     means "never": a typo must not turn into a long-lived cache entry.
//  3. Policies that call non-deterministic builtins are not cached unless they set cache_ttl:
//     the same input can legitimately produce a different decision a moment later.
//  4. Otherwise the configured default, separate for allow and deny.

import { NONDETERMINISTIC_BUILTINS } from '../compiler/builtins.js'
import { jsonNumber } from '../exact-json.js'

export { NONDETERMINISTIC_BUILTINS }

export interface TtlDefaults {
  /** Default lifetime of an allow decision, seconds (0 = do not cache allows). */
  allowSeconds: number
  /** Default lifetime of a deny decision, seconds (0 = do not cache denials). */
  denySeconds: number
  /** Upper bound applied to a policy-supplied cache_ttl. Unset = no bound. */
  maxSeconds?: number
}

export interface TtlContext {
  /** The active policy uses a builtin from NONDETERMINISTIC_BUILTINS (see nondeterministicBuiltins). */
  nondeterministic?: boolean
}

/**
 * The non-deterministic builtins among a policy's builtin names (CompiledPolicy.builtins, or
 * the keys of opa-wasm's builtin map). Empty = decisions may use the configured defaults.
 */
export function nondeterministicBuiltins (builtins: Iterable<string>, known: ReadonlySet<string> = NONDETERMINISTIC_BUILTINS): string[] {
  const found = new Set<string>()
  for (const b of builtins) if (known.has(b)) found.add(b)
  return [...found].sort()
}

/** Seconds the decision may be cached; 0 = do not cache. */
export function ttlFor (decision: unknown, defaults: TtlDefaults, ctx: TtlContext = {}): number {
  let allow: boolean
  let obj: Record<string, unknown> | undefined
  if (typeof decision === 'boolean') {
    allow = decision
  } else if (decision !== null && typeof decision === 'object' && !Array.isArray(decision)) {
    obj = decision as Record<string, unknown>
    if (typeof obj.allow === 'boolean') allow = obj.allow
    else if (obj.allow === undefined && typeof obj.allowed === 'boolean') allow = obj.allowed
    else return 0
  } else {
    return 0
  }

  if (obj !== undefined && obj.cache_ttl !== undefined) {
    const t = jsonNumber(obj.cache_ttl) // 60.0 is kept as its text (exact-json.ts)
    if (t === undefined || !Number.isFinite(t) || t <= 0) return 0
    return defaults.maxSeconds !== undefined && defaults.maxSeconds >= 0 ? Math.min(t, defaults.maxSeconds) : t
  }
  if (ctx.nondeterministic === true) return 0
  const d = allow ? defaults.allowSeconds : defaults.denySeconds
  return Number.isFinite(d) && d > 0 ? d : 0
}
