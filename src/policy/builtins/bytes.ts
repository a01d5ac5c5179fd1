// Rego strings as byte strings on the host side. OPA's strings are Go strings: base64.decode,
// hex.decode and urlquery.decode return raw bytes that need not be valid UTF-8, and hashes,
// HMACs and encoders work on those bytes. The Wasm runtime holds a byte that is not part of
// valid UTF-8 as the lone surrogate U+DC00+byte (U+DC80..U+DCFF; see
// src/compiler/runtime/assembly/bytes.ts) and hands it to host builtins as such (\udcXX in the
// argument JSON, a lone surrogate after JSON.parse); a lone surrogate in a host result goes back
// the same way. So:
//   * every host builtin that needs the bytes of a string argument takes them with
//     stringBytes (never Buffer.from(s, 'utf8'), which makes such a byte U+FFFD's three);
//   * one that makes a string of bytes it decoded uses bytesString;
//   * one that reads text into strings (JSON, YAML), where JS keeps an escape like "\udcff" as
//     a lone surrogate but Go reads U+FFFD, cleans its result with goText / goTextValue, so that
//     no lone surrogate but an escaped byte reaches the runtime.
import { isUtf8 } from 'node:buffer'

// Any unit U+DC80..U+DCFF (paired or not): the cheap test before the exact walk.
const MAYBE_ESCAPE = /[\udc80-\udcff]/
const LONE = '[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]'
/** Every lone surrogate of a string (replace, split). */
export const LONE_SURROGATES = new RegExp(LONE, 'g')
const HAS_LONE_SURROGATE = new RegExp(LONE)

/** The bytes of a Rego string: UTF-8, an escaped invalid byte as that byte. */
export function stringBytes (s: string): Buffer {
  if (!MAYBE_ESCAPE.test(s)) return Buffer.from(s, 'utf8')
  const parts: Buffer[] = []
  let from = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0xdc80 || c > 0xdcff) continue
    const prev = i > 0 ? s.charCodeAt(i - 1) : 0
    if (prev >= 0xd800 && prev < 0xdc00) continue // the low half of a pair
    parts.push(Buffer.from(s.slice(from, i), 'utf8'), Buffer.of(c & 0xff))
    from = i + 1
  }
  parts.push(Buffer.from(s.slice(from), 'utf8'))
  return Buffer.concat(parts)
}

/** Bytes as a Rego string: valid UTF-8 as text, each byte Go's decoding rejects escaped. */
export function bytesString (b: Uint8Array): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  if (isUtf8(buf)) return buf.toString('utf8')
  let out = ''
  let i = 0
  while (i < buf.length) {
    const n = validSequence(buf, i)
    if (n === 0) {
      out += String.fromCharCode(0xdc00 | buf[i]!)
      i++
    } else {
      out += buf.toString('utf8', i, i + n)
      i += n
    }
  }
  return out
}

/** Length of the valid UTF-8 sequence at b[i], or 0 when b[i] is an invalid byte (Go's rules). */
function validSequence (b: Buffer, i: number): number {
  const c = b[i]!
  if (c < 0x80) return 1
  let need: number
  let lo = 0x80
  let hi = 0xbf
  if (c >= 0xc2 && c <= 0xdf) need = 1
  else if (c >= 0xe0 && c <= 0xef) { need = 2; if (c === 0xe0) lo = 0xa0; if (c === 0xed) hi = 0x9f }
  else if (c >= 0xf0 && c <= 0xf4) { need = 3; if (c === 0xf0) lo = 0x90; if (c === 0xf4) hi = 0x8f }
  else return 0
  if (i + need >= b.length) return 0 // cut short: the first byte is invalid on its own
  const b1 = b[i + 1]!
  if (b1 < lo || b1 > hi) return 0
  for (let k = 2; k <= need; k++) {
    const x = b[i + k]!
    if (x < 0x80 || x > 0xbf) return 0
  }
  return need + 1
}

/** Text read by JS (JSON.parse, YAML) as Go reads it: a lone surrogate is U+FFFD. */
export function goText (s: string): string {
  return s.replace(LONE_SURROGATES, '\ufffd')
}

/** goText over every string (and key) of a value read from text; other values unchanged. */
export function goTextValue (v: unknown): unknown {
  if (typeof v === 'string') return goText(v)
  if (Array.isArray(v)) return v.map(goTextValue)
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) {
      // defineProperty: a "__proto__" key stays a key (an assignment would set the prototype)
      Object.defineProperty(out, goText(k), { value: goTextValue(x), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return v
}

/** Whether `s` holds a lone surrogate (in a Rego string: an escaped invalid byte). */
export function hasLoneSurrogate (s: string): boolean {
  return HAS_LONE_SURROGATE.test(s)
}
