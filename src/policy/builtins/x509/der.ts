// A DER reader for X.509: tag, length and content bounds of one element at a time, with the
// rules Go's cryptobyte applies when crypto/x509 parses (one-byte tags only, definite and
// minimally encoded lengths, nothing past the end), so what it accepts is what Go's parser
// can read. Values are left to the caller.

export class DerError extends Error {
  /** `detail` says where the DER broke; without it the message is Go's own for a certificate that is no SEQUENCE at all. */
  constructor (detail?: string) {
    super(detail === undefined ? 'x509: malformed certificate' : `x509: malformed certificate (${detail})`)
    this.name = 'DerError'
  }
}

// Universal tags crypto/x509 reads.
export const BOOLEAN = 0x01
export const INTEGER = 0x02
export const BIT_STRING = 0x03
export const OCTET_STRING = 0x04
export const NULL = 0x05
export const OID = 0x06
export const UTF8_STRING = 0x0c
export const NUMERIC_STRING = 0x12
export const PRINTABLE_STRING = 0x13
export const T61_STRING = 0x14
export const IA5_STRING = 0x16
export const UTC_TIME = 0x17
export const GENERALIZED_TIME = 0x18
export const BMP_STRING = 0x1e
export const SEQUENCE = 0x30
export const SET = 0x31
/** [n] context-specific, constructed (EXPLICIT or a constructed IMPLICIT) and primitive. */
export const context = (n: number): number => 0xa0 | n
export const contextPrimitive = (n: number): number => 0x80 | n

/** One element: its identifier byte and where its header and content lie in the buffer. */
export interface Element {
  readonly tag: number
  readonly start: number // the identifier byte
  readonly content: number
  readonly end: number
}

/** The element at `at`, which must end by `limit`. */
export function readElement (buf: Uint8Array, at: number, limit: number): Element {
  if (at + 2 > limit) throw new DerError('truncated element')
  const tag = buf[at]!
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tag')
  let len = buf[at + 1]!
  let content = at + 2
  if (len >= 0x80) {
    const n = len & 0x7f
    // 0x80 is BER's indefinite length; more than four length bytes is past any certificate.
    if (n === 0 || n > 4) throw new DerError('unsupported length')
    if (content + n > limit) throw new DerError('truncated length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + buf[content + i]!
    // Minimal encoding: no leading zero byte, and the long form only past 127.
    if (buf[content] === 0 || len < 0x80) throw new DerError('non-minimal length')
    content += n
  }
  const end = content + len
  if (end > limit) throw new DerError('element runs past its container')
  return { tag, start: at, content, end }
}

/** The element at `at` with the given tag. */
export function expect (buf: Uint8Array, at: number, limit: number, tag: number, what: string): Element {
  const e = readElement(buf, at, limit)
  if (e.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${e.tag.toString(16)}`)
  return e
}

/** The elements inside a constructed one, in order. */
export function children (buf: Uint8Array, parent: Element): Element[] {
  const out: Element[] = []
  for (let at = parent.content; at < parent.end;) {
    const e = readElement(buf, at, parent.end)
    out.push(e)
    at = e.end
  }
  return out
}

export function bytesOf (buf: Uint8Array, e: Element): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + e.content, e.end - e.content)
}

export function rawOf (buf: Uint8Array, e: Element): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + e.start, e.end - e.start)
}

/** An OBJECT IDENTIFIER's arcs (as encoding/asn1 reads them: each arc must fit an int). */
export function oidOf (buf: Uint8Array, e: Element): number[] {
  if (e.tag !== OID) throw new DerError('expected an object identifier')
  if (e.end === e.content) throw new DerError('empty object identifier')
  const arcs: number[] = []
  let v = 0
  let started = false
  for (let i = e.content; i < e.end; i++) {
    const b = buf[i]!
    if (!started && b === 0x80) throw new DerError('non-minimal object identifier arc')
    started = true
    v = v * 128 + (b & 0x7f)
    if (v > Number.MAX_SAFE_INTEGER) throw new DerError('object identifier arc too large')
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        if (v < 80) arcs.push(Math.floor(v / 40), v % 40)
        else arcs.push(2, v - 80)
      } else arcs.push(v)
      v = 0
      started = false
    }
  }
  if (started) throw new DerError('truncated object identifier')
  return arcs
}

export const oidText = (arcs: readonly number[]): string => arcs.join('.')

/** An INTEGER's value (two's complement, minimally encoded). */
export function integerOf (buf: Uint8Array, e: Element): bigint {
  if (e.tag !== INTEGER) throw new DerError('expected an integer')
  const n = e.end - e.content
  if (n === 0) throw new DerError('empty integer')
  if (n > 1 && ((buf[e.content] === 0 && (buf[e.content + 1]! & 0x80) === 0) || (buf[e.content] === 0xff && (buf[e.content + 1]! & 0x80) !== 0))) {
    throw new DerError('non-minimal integer')
  }
  let v = 0n
  for (let i = e.content; i < e.end; i++) v = (v << 8n) | BigInt(buf[i]!)
  if ((buf[e.content]! & 0x80) !== 0) v -= 1n << BigInt(8 * n)
  return v
}

/** A BOOLEAN (DER: 0x00 or 0xff). */
export function booleanOf (buf: Uint8Array, e: Element): boolean {
  if (e.tag !== BOOLEAN || e.end - e.content !== 1) throw new DerError('expected a boolean')
  const b = buf[e.content]
  if (b === 0) return false
  if (b === 0xff) return true
  throw new DerError('invalid boolean')
}

/** A BIT STRING's bytes and its count of unused bits in the last byte. */
export function bitStringOf (buf: Uint8Array, e: Element): { bytes: Buffer; unused: number } {
  if (e.tag !== BIT_STRING || e.end === e.content) throw new DerError('expected a bit string')
  const unused = buf[e.content]!
  const bytes = Buffer.from(buf.buffer, buf.byteOffset + e.content + 1, e.end - e.content - 1)
  if (unused > 7 || (bytes.length === 0 && unused !== 0) || (unused > 0 && (bytes[bytes.length - 1]! & ((1 << unused) - 1)) !== 0)) {
    throw new DerError('invalid bit string')
  }
  return { bytes, unused }
}
