// The chain hash of a parsed record, as decision-log's computeHash (SHA-256 of the canonical
// JSON without `hash`), but faster on what the logger writes: when every nested object already
// has its keys in canonical order — always true of records Bouncer sealed — JSON.stringify of
// each top-level value IS its canonical form, and the native serialiser is several times
// faster than the JavaScript one. Anything else (keys reordered by a re-serialising control
// plane) takes computeHash, so the result is always exactly computeHash's.
import { hash as oneShotHash } from 'node:crypto'
import { computeHash } from '../decision-log/index.js'

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

function quote (s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"'
}

/** True when every object under v (v included) has its keys in canonical (UTF-16) order and
 * holds only JSON values: then JSON.stringify(v) is canonical. */
function canonicalAlready (v: unknown): boolean {
  if (v === null || typeof v !== 'object') return typeof v !== 'number' || Number.isFinite(v)
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!canonicalAlready(v[i])) return false
    return true
  }
  let prev: string | undefined
  for (const k in v as Record<string, unknown>) {
    if (prev !== undefined && !(prev < k)) return false
    prev = k
    if (!canonicalAlready((v as Record<string, unknown>)[k])) return false
  }
  return true
}

/** computeHash(record), computed the fast way when that gives the same bytes. */
export function recordHash (record: Record<string, unknown>): string {
  const keys = Object.keys(record)
  keys.sort()
  let body = '{'
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    if (k === 'hash') continue
    const v = record[k]
    if (v === undefined) continue
    if (!canonicalAlready(v)) return computeHash(record)
    body += (body.length > 1 ? ',' : '') + quote(k) + ':' + JSON.stringify(v)
  }
  return oneShotHash('sha256', body + '}', 'hex')
}
