// The hash chain. Every stored event carries:
//   seq        1, 2, 3, … with no gaps (drops are declared by a drop marker, itself chained);
//   prev_hash  the `hash` of event seq-1 (64 zeros for seq 1);
//   hash       lowercase hex SHA-256 of the UTF-8 canonical JSON (canonical.ts) of the event
//              *including* seq and prev_hash and *excluding* hash.
// Editing an event changes its hash; removing or reordering events breaks seq or prev_hash.
//
// Stored lines put the chain fields first — `{"seq":N,"prev_hash":"…","hash":"…",…}` — so the
// spool reader and uploader can read them without parsing the event (parseChainPrefix). The rest
// of the line is the canonical members in order, so each member is serialised exactly once for
// both the line and the hash body.

import { hash as oneShotHash } from 'node:crypto'
import { canonicalJson, canonicalRuns } from './canonical.js'

export const GENESIS_HASH = '0'.repeat(64)

export interface ChainHead { readonly seq: number; readonly hash: string }

export const GENESIS: ChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH })

export interface SealedEntry {
  readonly line: string // no trailing newline
  readonly seq: number
  readonly prevHash: string
  readonly hash: string
}

const RESERVED = ['seq', 'prev_hash', 'hash'] as const

export function sha256Hex (s: string): string {
  return oneShotHash('sha256', s, 'hex') // one-shot: no Hash object per event
}

/** Seal `event` (which must not contain seq/prev_hash/hash) as entry `seq` after `prevHash`. */
export function sealEvent (event: Record<string, unknown>, seq: number, prevHash: string): SealedEntry {
  for (const k of RESERVED) {
    const v = event[k]
    if (v !== undefined && typeof v !== 'function' && typeof v !== 'symbol') throw new TypeError(`sealEvent: event must not carry "${k}"`)
  }
  // Keys are sorted, so the chain members slot in between the runs: [keys < prev_hash],
  // prev_hash, [prev_hash < keys < seq], seq, [keys > seq].
  const [a, b, c] = canonicalRuns(event, 'prev_hash', 'seq')
  const seqMember = '"seq":' + seq
  const prevMember = '"prev_hash":"' + prevHash + '"'
  const body = '{' + (a === '' ? '' : a + ',') + prevMember + (b === '' ? ',' : ',' + b + ',') + seqMember + (c === '' ? '' : ',' + c) + '}'
  const hash = sha256Hex(body)
  const line = '{' + seqMember + ',' + prevMember + ',"hash":"' + hash + '"' + (a === '' ? '' : ',' + a) + (b === '' ? '' : ',' + b) + (c === '' ? '' : ',' + c) + '}'
  return { line, seq, prevHash, hash }
}

/** Recompute the hash of a parsed event (any key order, any whitespace it was stored with). */
export function computeHash (event: Record<string, unknown>): string {
  const copy: Record<string, unknown> = {}
  for (const k of Object.keys(event)) if (k !== 'hash') copy[k] = event[k]
  return sha256Hex(canonicalJson(copy))
}

export interface ChainPrefix { seq: number; prevHash: string; hash: string }

const HEX64 = /^[0-9a-f]{64}$/

/** Read seq / prev_hash / hash from the front of a line Bouncer wrote; null if it is not one. */
export function parseChainPrefix (line: string): ChainPrefix | null {
  if (!line.startsWith('{"seq":')) return null
  const comma = line.indexOf(',', 7)
  if (comma < 0) return null
  const seqText = line.slice(7, comma)
  if (!/^[1-9][0-9]*$/.test(seqText)) return null
  const seq = Number(seqText)
  let p = comma
  if (!line.startsWith(',"prev_hash":"', p)) return null
  p += 14
  const prevHash = line.slice(p, p + 64)
  p += 64
  if (!line.startsWith('","hash":"', p)) return null
  p += 10
  const hash = line.slice(p, p + 64)
  if (line[p + 64] !== '"' || !HEX64.test(prevHash) || !HEX64.test(hash)) return null
  return { seq, prevHash, hash }
}
