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

/** An event's canonical members in the three runs the chain fields slot between (sealRuns). */
export type EventRuns = readonly [string, string, string]

/** The canonical runs of `event`, which must not carry seq/prev_hash/hash (throws otherwise, or
 * when the event cannot be serialised: canonical.ts refuses non-finite numbers). */
export function eventRuns (event: Record<string, unknown>): EventRuns {
  for (const k of RESERVED) {
    const v = event[k]
    if (v !== undefined && typeof v !== 'function' && typeof v !== 'symbol') throw new TypeError(`sealEvent: event must not carry "${k}"`)
  }
  // Keys are sorted, so the chain members slot in between the runs: [keys < prev_hash],
  // prev_hash, [prev_hash < keys < seq], seq, [keys > seq].
  return canonicalRuns(event, 'prev_hash', 'seq')
}

/** Seal `event` (which must not contain seq/prev_hash/hash) as entry `seq` after `prevHash`. */
export function sealEvent (event: Record<string, unknown>, seq: number, prevHash: string): SealedEntry {
  return sealRuns(eventRuns(event), seq, prevHash)
}

/** Seal an event given as its canonical runs (eventRuns) as entry `seq` after `prevHash`. */
export function sealRuns (runs: EventRuns, seq: number, prevHash: string): SealedEntry {
  const [a, b, c] = runs
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
  // defineProperty, not assignment: a "__proto__" member added to a stored record must stay a
  // member and so change the hash (assigned, it set the copy's prototype and went unseen, while
  // every consumer outside JavaScript reads it).
  for (const k of Object.keys(event)) if (k !== 'hash') Object.defineProperty(copy, k, { value: event[k], enumerable: true, writable: true, configurable: true })
  return sha256Hex(canonicalJson(copy))
}

export interface ChainPrefix { seq: number; prevHash: string; hash: string }

const SEQ_OPEN = Buffer.from('{"seq":')
const PREV_OPEN = Buffer.from(',"prev_hash":"')
const HASH_OPEN = Buffer.from('","hash":"')
// The longest prefix a line can have: the fixed parts, 64-hex hashes and a seq of up to 21
// digits (Number() of a longer one is past 2^64 anyway); 256 covers it with room.
const PREFIX_MAX = 256

/** Read seq / prev_hash / hash from the front of a line Bouncer wrote; null if it is not one. */
export function parseChainPrefix (line: string): ChainPrefix | null {
  return parseChainPrefixBytes(Buffer.from(line.length > PREFIX_MAX ? line.slice(0, PREFIX_MAX) : line))
}

/**
 * parseChainPrefix of the line in buf[start, end) as UTF-8 bytes, without decoding the line:
 * the spool reader hands lines to the sinks as bytes, and decoding each one only to read its
 * first ~150 ASCII bytes cost more than the rest of the read.
 */
export function parseChainPrefixBytes (buf: Buffer, start = 0, end = buf.length): ChainPrefix | null {
  if (!bytesAt(buf, start, end, SEQ_OPEN)) return null
  const ds = start + SEQ_OPEN.length
  let p = ds
  if (p >= end || buf[p]! < 0x31 || buf[p]! > 0x39) return null // [1-9][0-9]*
  while (p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39) p++
  const seq = p - ds <= 15 ? digitsValue(buf, ds, p) : Number(buf.toString('latin1', ds, p))
  if (!bytesAt(buf, p, end, PREV_OPEN)) return null
  const ph = p + PREV_OPEN.length
  if (!hex64At(buf, ph, end) || !bytesAt(buf, ph + 64, end, HASH_OPEN)) return null
  const h = ph + 64 + HASH_OPEN.length
  if (!hex64At(buf, h, end) || h + 64 >= end || buf[h + 64] !== 0x22) return null
  return { seq, prevHash: buf.toString('latin1', ph, ph + 64), hash: buf.toString('latin1', h, h + 64) }
}

function bytesAt (buf: Buffer, at: number, end: number, lit: Buffer): boolean {
  if (at + lit.length > end) return false
  for (let i = 0; i < lit.length; i++) if (buf[at + i] !== lit[i]) return false
  return true
}

/** 64 lowercase hex digits at buf[at]. */
function hex64At (buf: Buffer, at: number, end: number): boolean {
  if (at + 64 > end) return false
  for (let i = at; i < at + 64; i++) {
    const c = buf[i]!
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false
  }
  return true
}

/** The value of up to 15 decimal digits (exact in a double). */
function digitsValue (buf: Buffer, from: number, to: number): number {
  let v = 0
  for (let i = from; i < to; i++) v = v * 10 + (buf[i]! - 0x30)
  return v
}
