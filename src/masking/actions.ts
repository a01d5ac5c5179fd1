// What each mask action does to one matched value. Each action is built into a closure once,
// when its rule is compiled, so applying a rule does no option parsing.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import { isRawJson } from '../exact-json.js'
import { canonicalJson } from './json.js'

export const MASK_ACTIONS = ['redact', 'remove', 'null', 'hash', 'last4'] as const
export type MaskAction = typeof MASK_ACTIONS[number]

export const DEFAULT_REDACTION = '[REDACTED]'
export const DEFAULT_LAST4_PREFIX = '****'
/** Prefix of every hashed value: names the algorithm so readers know what they are joining on. */
export const HASH_PREFIX = 'hmac-sha256:'
export const MIN_HASH_KEY_BYTES = 16

/** Returned by the `remove` action: the location is deleted rather than rewritten. */
export const REMOVED: unique symbol = Symbol('bouncer.mask.removed')

export type ActionFn = (value: unknown, hashKey: Uint8Array | undefined) => unknown

export function buildAction (action: MaskAction, replacement: string | undefined): ActionFn {
  switch (action) {
    case 'redact': {
      const r = replacement ?? DEFAULT_REDACTION
      return () => r
    }
    case 'remove': return () => REMOVED
    case 'null': return () => null
    case 'hash': return (v, key) => hashValue(v, key!)
    case 'last4': {
      const prefix = replacement ?? DEFAULT_LAST4_PREFIX
      return (v) => last4(v, prefix)
    }
  }
}

/**
 * HMAC-SHA-256 as "hmac-sha256:<64 hex>". Strings are hashed as their raw UTF-8 bytes, so the
 * value can be reproduced elsewhere (e.g. `openssl dgst -sha256 -hmac`) for joins; every other
 * value is hashed as its canonical JSON text (sorted keys), so 42 and "42" hash alike — an
 * identifier serialised as a number by one service still joins with its string form.
 */
export function hashValue (v: unknown, key: Uint8Array): string {
  return hashText(typeof v === 'string' ? v : canonicalJson(v), key)
}

/** HMAC-SHA-256 of `text` (as UTF-8) as "hmac-sha256:<64 hex>". */
export function hashText (text: string, key: Uint8Array): string {
  return HASH_PREFIX + createHmac('sha256', keyObject(key)).update(text, 'utf8').digest('hex')
}

// A KeyObject per configured key: HMAC with one is about a fifth cheaper than with raw bytes,
// which are copied into a new key on every call.
const keyObjects = new WeakMap<Uint8Array, KeyObject>()
function keyObject (key: Uint8Array): KeyObject {
  let k = keyObjects.get(key)
  if (k === undefined) { k = createSecretKey(key); keyObjects.set(key, k) }
  return k
}

/**
 * Keeps the last four characters (Unicode code points, so an emoji is never split) behind a
 * fixed prefix — fixed so the original length is not revealed.
 * - Strings of four characters or fewer become the prefix alone: keeping "the last four" of
 *   them would reveal the whole value.
 * - Numbers use their JSON text and become strings ("****1111"): keeping a number type would
 *   mean inventing digits. The response masker passes numbers as their exact text (see
 *   numberText in text-mask.ts); in parsed documents (applyMask) digits beyond 2^53 were
 *   already rounded by the parser.
 * - Anything else (objects, arrays, booleans, null) becomes the prefix alone.
 */
export function last4 (v: unknown, prefix: string): string {
  let s: string
  if (typeof v === 'string') s = v
  else if (typeof v === 'number' && Number.isFinite(v)) s = String(v)
  else if (isRawJson(v)) s = v.rawJSON // an exact big integer: its digits, as the text masker keeps them
  else return prefix
  let i = s.length
  for (let n = 0; n < 4 && i > 0; n++) {
    const lo = s.charCodeAt(i - 1)
    const pair = lo >= 0xdc00 && lo <= 0xdfff && i >= 2 && (s.charCodeAt(i - 2) & 0xfc00) === 0xd800
    i -= pair ? 2 : 1
  }
  return i === 0 ? prefix : prefix + s.slice(i)
}
