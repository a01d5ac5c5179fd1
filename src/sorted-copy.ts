// Objects that are serialised canonically (the decision log's hash chain, cache keys) are
// cheapest to serialise when their keys are already in canonical (sorted) order: the serialisers
// then take them as they are instead of copying them into that order.

/**
 * A shallow copy of `o` with its keys in canonical order (UTF-16 code units, JavaScript's default
 * sort). An own "__proto__" key stays an own data property of the copy (assignment would set the
 * copy's prototype instead).
 */
export function sortedCopy (o: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const keys = Object.keys(o)
  let sorted = true
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! <= keys[i]!
  // Already in order: a spread keeps it and is V8's fast clone (an own "__proto__" included).
  if (sorted) return { ...o }
  sortKeys(keys)
  const copy: Record<string, unknown> = {}
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    if (k === '__proto__') Object.defineProperty(copy, k, { value: o[k], enumerable: true, writable: true, configurable: true })
    else copy[k] = o[k]
  }
  return copy
}

/**
 * `keys` (distinct strings) sorted in place as Array.prototype.sort() sorts them (UTF-16 code
 * units). Objects have a few dozen keys at most: an insertion sort that lets the first code unit
 * decide where it can avoids the default sort's string comparison per pair. Distinct keys have
 * one sorted order, so the result is the same.
 */
export function sortKeys (keys: string[]): string[] {
  const n = keys.length
  if (n > 32) return keys.sort()
  for (let i = 1; i < n; i++) {
    const k = keys[i]!
    const c = k.charCodeAt(0) // NaN for "": never decides
    let j = i - 1
    for (; j >= 0; j--) {
      const p = keys[j]!
      const pc = p.charCodeAt(0)
      if (pc < c || (!(pc > c) && p <= k)) break
      keys[j + 1] = p
    }
    keys[j + 1] = k
  }
  return keys
}
