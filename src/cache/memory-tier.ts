// The in-process tier: an LRU bounded both by entry count and by (estimated) bytes, so a
// policy returning large decisions (long mask lists, big denial bodies) cannot grow the heap
// past its budget just because the entry count is still low.
import { LRUCache } from 'lru-cache'
import { BouncerError } from '../errors.js'

export interface MemoryTierOptions {
  /** Maximum number of decisions kept. */
  maxEntries: number
  /** Maximum estimated size of all entries, bytes. A single larger entry is not kept. */
  maxBytes: number
}

export interface MemoryEntry {
  readonly decision: unknown
  readonly expiresAt: number
}

export class MemoryTier {
  readonly #lru: LRUCache<string, MemoryEntry>

  constructor (opts: MemoryTierOptions) {
    for (const k of ['maxEntries', 'maxBytes'] as const) {
      const v = opts[k]
      if (!Number.isInteger(v) || v <= 0) throw new BouncerError('BOUNCER_ERR_CACHE_OPTIONS', [`memory.${k} must be a positive integer`])
    }
    this.#lru = new LRUCache<string, MemoryEntry>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      // Expiry is checked on read; a background purge timer per entry would cost more than
      // the stale entries it frees (they are evicted by LRU order anyway).
      ttlAutopurge: false,
      allowStale: false,
      updateAgeOnGet: false,
    })
  }

  get (key: string): MemoryEntry | undefined {
    return this.#lru.get(key)
  }

  set (key: string, entry: MemoryEntry, ttlMs: number, bytes: number): void {
    if (ttlMs < 1) return
    this.#lru.set(key, entry, { ttl: ttlMs, size: Math.max(1, Math.ceil(bytes)) })
  }

  clear (): void { this.#lru.clear() }

  get entries (): number { return this.#lru.size }
  get bytes (): number { return this.#lru.calculatedSize }
}

/**
 * Rough heap cost of an entry: a parsed JSON object takes about twice its text in V8 (string
 * payloads plus object/array headers), plus the key string and the LRU's per-entry slots.
 */
export function estimateEntryBytes (key: string, json: string): number {
  return 2 * json.length + key.length + 160
}
