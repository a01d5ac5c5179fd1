// Values shared between requests (cached decisions, memoised policy results, verified token
// claims, resolved config) are frozen all the way down, so no consumer can change what another
// one sees. Such a value can never change, so what is derived from it can be kept with it
// (canonical-json keeps its text).

const deep = new WeakSet<object>()

/** Freezes `v` and every object reachable from it. An object already frozen by Object.freeze
 * alone is still walked (its children may not be); one deepFreeze has seen is not. */
export function deepFreeze<T> (v: T): T {
  if (v !== null && typeof v === 'object' && !deep.has(v)) {
    deep.add(v) // before the walk: a cycle ends here
    Object.freeze(v)
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k])
  }
  return v
}

/** True when `v` went through deepFreeze: neither it nor anything in it can change. */
export function isDeepFrozen (v: object): boolean {
  return deep.has(v)
}
