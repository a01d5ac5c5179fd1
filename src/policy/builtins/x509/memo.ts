// The x509 builtins parse the same text on every evaluation that reads it (a client
// certificate, a key, a request): answers and errors are kept by the exact text (LRU, sized by
// the text), and answers are frozen, so every caller gets the same value and none can change it.
import { LRUCache } from 'lru-cache'
import { deepFreeze } from '../../../deep-freeze.js'

/** `parse` memoised by its input text; its errors are thrown again for the same text. */
export function memoByText<T> (max: number, maxBytes: number, parse: (input: string) => T): (input: string) => T {
  // null answers are boxed: lru-cache keeps no undefined, and null must be told from a miss.
  const cache = new LRUCache<string, { value: T } | { error: unknown }>({
    max,
    maxSize: maxBytes,
    sizeCalculation: (_v, key) => 4 * key.length + 64,
  })
  return (input: string): T => {
    let r = cache.get(input)
    if (r === undefined) {
      try { r = { value: deepFreeze(parse(input)) } } catch (error) { r = { error } }
      cache.set(input, r)
    }
    if ('error' in r) throw r.error
    return r.value
  }
}
