// Values shared between requests (cached decisions, memoised policy results, resolved config)
// are frozen all the way down, so no consumer can change what another one sees.

/** Freezes `v` and every object reachable from it (already-frozen objects are not walked again). */
export function deepFreeze<T> (v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v)
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k])
  }
  return v
}
