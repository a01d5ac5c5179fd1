// The protobuf subset of Envoy's external authorization API (envoy.service.auth.v3), encoded by
// hand: CheckRequest is decoded straight into the JSON shape opa-envoy-plugin gives policies,
// CheckResponse is encoded from the mapped decision. Field numbers and types are Envoy's
// (api/envoy/service/auth/v3/{external_auth,attribute_context}.proto, config/core/v3/{address,
// base}.proto, type/v3/http_status.proto, google/rpc/status.proto, google/protobuf/{struct,
// timestamp,any}.proto); test/ext-authz/fixtures/ext_authz.proto is the same subset as a .proto
// file, used by the tests' independent client (protobufjs through @grpc/proto-loader).
//
// Decoding follows what opa-envoy-plugin's input shows (protoreflect Range over the message,
// JSON field names): a message field that is on the wire is an object (even empty), a scalar
// with implicit presence only when it is not the zero value (a oneof member always), int64 and
// uint32 as numbers, bytes as base64, google.protobuf.Struct as plain JSON, maps as objects.
// Unknown fields are skipped, as every protobuf parser does. Anything else that does not parse —
// a truncated field, a wire type that does not match the field, invalid UTF-8 in a string — is
// a ProtoError naming the field.

import { isUtf8 } from 'node:buffer'
import { isRawJson } from '../exact-json.js'

export class ProtoError extends Error {
  constructor (readonly field: string, reason: string) {
    super(`${field}: ${reason}`)
    this.name = 'ProtoError'
  }
}

// --- wire format ---

const WT_VARINT = 0
const WT_I64 = 1
const WT_LEN = 2
const WT_I32 = 5


class Reader {
  pos: number
  constructor (readonly buf: Buffer, start: number, readonly end: number, readonly path: string) { this.pos = start }

  /** A varint as an unsigned 64-bit BigInt (the slow path: more than 7 bytes). */
  varint (field: string): bigint {
    let result = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError(field, 'truncated varint')
      const b = this.buf[this.pos++]!
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result & 0xffffffffffffffffn
      shift += 7n
    }
    throw new ProtoError(field, 'varint longer than 10 bytes')
  }

  /** A varint as a number when it has at most 7 bytes (< 2^49, exact); else undefined (pos unchanged). */
  private shortVarint (field: string): number | undefined {
    let result = 0
    let mul = 1
    const start = this.pos
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new ProtoError(field, 'truncated varint')
      const b = this.buf[this.pos++]!
      result += (b & 0x7f) * mul
      if ((b & 0x80) === 0) return result
      mul *= 128
    }
    this.pos = start
    return undefined
  }

  /** A varint that must fit a small non-negative number (tags, lengths). */
  smallVarint (field: string): number {
    const n = this.shortVarint(field)
    if (n !== undefined && n <= 0xffffffff) return n
    const v = n ?? this.varint(field)
    if (typeof v === 'bigint' && v <= 0xffffffffn) return Number(v)
    throw new ProtoError(field, 'value out of range')
  }

  /** A varint read as a signed (int32/int64) or unsigned (uint32/enum as stored) integer. */
  integer (field: string, kind: 'int32' | 'uint32' | 'int64' | 'bool'): number | bigint {
    const n = this.shortVarint(field)
    if (n !== undefined) {
      if (kind === 'int32') return n | 0
      if (kind === 'uint32') return n >>> 0
      return n
    }
    const v = this.varint(field)
    if (kind === 'int32') return Number(BigInt.asIntN(32, v))
    if (kind === 'uint32') return Number(BigInt.asUintN(32, v))
    if (kind === 'bool') return v === 0n ? 0 : 1
    return BigInt.asIntN(64, v)
  }

  skip (wireType: number, field: string): void {
    switch (wireType) {
      case WT_VARINT: this.varint(field); return
      case WT_I64: this.advance(8, field); return
      case WT_LEN: this.advance(this.smallVarint(field), field); return
      case WT_I32: this.advance(4, field); return
      default: throw new ProtoError(field, `unsupported wire type ${wireType}`)
    }
  }

  advance (n: number, field: string): number {
    const at = this.pos
    if (n > this.end - this.pos) throw new ProtoError(field, `field of ${n} bytes runs past the end of its message`)
    this.pos += n
    return at
  }
}

// --- schema ---

type Scalar = 'string' | 'bytes' | 'bool' | 'int32' | 'int64' | 'uint32' | 'enum' | 'double'
type FieldType = Scalar | { readonly message: () => MessageSchema } | { readonly map: readonly [Scalar, Scalar | { readonly message: () => MessageSchema }] }

interface FieldSpec {
  readonly name: string
  readonly type: FieldType
  readonly repeated?: boolean
  /** a oneof member: present even when it holds the zero value */
  readonly oneof?: boolean
}

interface MessageSchema {
  readonly name: string
  readonly fields: ReadonlyMap<number, FieldSpec>
  /** google.protobuf.Struct / Value / ListValue: decoded to plain JSON */
  readonly json?: 'struct' | 'value' | 'list'
}

const schema = (name: string, fields: Record<number, FieldSpec>, json?: MessageSchema['json']): MessageSchema =>
  ({ name, fields: new Map(Object.entries(fields).map(([k, v]) => [Number(k), v])), ...(json ? { json } : {}) })
const msg = (s: () => MessageSchema): { message: () => MessageSchema } => ({ message: s })

const Any: MessageSchema = schema('google.protobuf.Any', { 1: { name: 'typeUrl', type: 'string' }, 2: { name: 'value', type: 'bytes' } })
const Timestamp: MessageSchema = schema('google.protobuf.Timestamp', { 1: { name: 'seconds', type: 'int64' }, 2: { name: 'nanos', type: 'int32' } })
const Value: MessageSchema = schema('google.protobuf.Value', {
  1: { name: 'nullValue', type: 'enum', oneof: true },
  2: { name: 'numberValue', type: 'double', oneof: true },
  3: { name: 'stringValue', type: 'string', oneof: true },
  4: { name: 'boolValue', type: 'bool', oneof: true },
  5: { name: 'structValue', type: msg(() => Struct), oneof: true },
  6: { name: 'listValue', type: msg(() => ListValue), oneof: true },
}, 'value')
const Struct: MessageSchema = schema('google.protobuf.Struct', { 1: { name: 'fields', type: { map: ['string', msg(() => Value)] } } }, 'struct')
const ListValue: MessageSchema = schema('google.protobuf.ListValue', { 1: { name: 'values', type: msg(() => Value), repeated: true } }, 'list')

const SocketAddress: MessageSchema = schema('envoy.config.core.v3.SocketAddress', {
  1: { name: 'protocol', type: 'enum' },
  2: { name: 'address', type: 'string' },
  3: { name: 'portValue', type: 'uint32', oneof: true },
  4: { name: 'namedPort', type: 'string', oneof: true },
  5: { name: 'resolverName', type: 'string' },
  6: { name: 'ipv4Compat', type: 'bool' },
})
const Pipe: MessageSchema = schema('envoy.config.core.v3.Pipe', { 1: { name: 'path', type: 'string' }, 2: { name: 'mode', type: 'uint32' } })
const EnvoyInternalAddress: MessageSchema = schema('envoy.config.core.v3.EnvoyInternalAddress', {
  1: { name: 'serverListenerName', type: 'string', oneof: true },
  2: { name: 'endpointId', type: 'string' },
})
const Address: MessageSchema = schema('envoy.config.core.v3.Address', {
  1: { name: 'socketAddress', type: msg(() => SocketAddress), oneof: true },
  2: { name: 'pipe', type: msg(() => Pipe), oneof: true },
  3: { name: 'envoyInternalAddress', type: msg(() => EnvoyInternalAddress), oneof: true },
})
const HeaderValue: MessageSchema = schema('envoy.config.core.v3.HeaderValue', {
  1: { name: 'key', type: 'string' }, 2: { name: 'value', type: 'string' }, 3: { name: 'rawValue', type: 'bytes' },
})
const HeaderMap: MessageSchema = schema('envoy.config.core.v3.HeaderMap', { 1: { name: 'headers', type: msg(() => HeaderValue), repeated: true } })
const Metadata: MessageSchema = schema('envoy.config.core.v3.Metadata', {
  1: { name: 'filterMetadata', type: { map: ['string', msg(() => Struct)] } },
  2: { name: 'typedFilterMetadata', type: { map: ['string', msg(() => Any)] } },
})
const Peer: MessageSchema = schema('envoy.service.auth.v3.AttributeContext.Peer', {
  1: { name: 'address', type: msg(() => Address) },
  2: { name: 'service', type: 'string' },
  3: { name: 'labels', type: { map: ['string', 'string'] } },
  4: { name: 'principal', type: 'string' },
  5: { name: 'certificate', type: 'string' },
})
const HttpRequest: MessageSchema = schema('envoy.service.auth.v3.AttributeContext.HttpRequest', {
  1: { name: 'id', type: 'string' },
  2: { name: 'method', type: 'string' },
  3: { name: 'headers', type: { map: ['string', 'string'] } },
  4: { name: 'path', type: 'string' },
  5: { name: 'host', type: 'string' },
  6: { name: 'scheme', type: 'string' },
  7: { name: 'query', type: 'string' },
  8: { name: 'fragment', type: 'string' },
  9: { name: 'size', type: 'int64' },
  10: { name: 'protocol', type: 'string' },
  11: { name: 'body', type: 'string' },
  12: { name: 'rawBody', type: 'bytes' },
  13: { name: 'headerMap', type: msg(() => HeaderMap) },
})
const Request: MessageSchema = schema('envoy.service.auth.v3.AttributeContext.Request', {
  1: { name: 'time', type: msg(() => Timestamp) },
  2: { name: 'http', type: msg(() => HttpRequest) },
})
const TLSSession: MessageSchema = schema('envoy.service.auth.v3.AttributeContext.TLSSession', { 1: { name: 'sni', type: 'string' } })
const AttributeContext: MessageSchema = schema('envoy.service.auth.v3.AttributeContext', {
  1: { name: 'source', type: msg(() => Peer) },
  2: { name: 'destination', type: msg(() => Peer) },
  4: { name: 'request', type: msg(() => Request) },
  10: { name: 'contextExtensions', type: { map: ['string', 'string'] } },
  11: { name: 'metadataContext', type: msg(() => Metadata) },
  12: { name: 'tlsSession', type: msg(() => TLSSession) },
  13: { name: 'routeMetadataContext', type: msg(() => Metadata) },
})
const CheckRequest: MessageSchema = schema('envoy.service.auth.v3.CheckRequest', { 1: { name: 'attributes', type: msg(() => AttributeContext) } })

// --- decoding ---

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

const WIRE_OF: Readonly<Record<Scalar, number>> = {
  string: WT_LEN, bytes: WT_LEN, bool: WT_VARINT, int32: WT_VARINT, int64: WT_VARINT, uint32: WT_VARINT, enum: WT_VARINT, double: WT_I64,
}

function isZero (v: Json): boolean {
  return v === '' || v === 0 || v === false
}

function readScalar (r: Reader, t: Scalar, wt: number, field: string): Json {
  // Packed encodings are for repeated scalars, which this subset does not have.
  if (wt !== WIRE_OF[t]) throw new ProtoError(field, `wire type ${wt} where a ${t} (wire type ${WIRE_OF[t]}) was expected`)
  switch (t) {
    case 'string': {
      const n = r.smallVarint(field)
      const at = r.advance(n, field)
      if (!isUtf8(r.buf.subarray(at, at + n))) throw new ProtoError(field, 'string is not valid UTF-8')
      return r.buf.toString('utf8', at, at + n)
    }
    case 'bytes': {
      const n = r.smallVarint(field)
      const at = r.advance(n, field)
      return r.buf.toString('base64', at, at + n)
    }
    case 'bool': return r.integer(field, 'bool') !== 0
    case 'int32': case 'enum': return r.integer(field, 'int32') as number
    case 'uint32': return r.integer(field, 'uint32') as number
    case 'int64': {
      const v = r.integer(field, 'int64')
      if (typeof v === 'number') return v
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new ProtoError(field, `int64 ${v} is beyond what the policy input can hold exactly`)
      return Number(v)
    }
    case 'double': {
      const at = r.advance(8, field)
      return r.buf.readDoubleLE(at)
    }
  }
}

function sub (r: Reader, wt: number, field: string): Reader {
  if (wt !== WT_LEN) throw new ProtoError(field, `wire type ${wt} where a message (wire type 2) was expected`)
  const n = r.smallVarint(field)
  const at = r.advance(n, field)
  return new Reader(r.buf, at, at + n, field)
}

function readMessage (r: Reader, s: MessageSchema, depth: number): Json {
  if (depth > 64) throw new ProtoError(r.path, 'messages nested more than 64 deep')
  const out: Record<string, Json> = {}
  while (r.pos < r.end) {
    const tag = r.smallVarint(r.path)
    const no = tag >>> 3
    const wt = tag & 7
    if (no === 0) throw new ProtoError(r.path, 'field number 0')
    const f = s.fields.get(no)
    if (f === undefined) { r.skip(wt, `${r.path}.<${no}>`); continue }
    const field = `${r.path}.${f.name}`
    const t = f.type
    if (typeof t === 'string') {
      const v = readScalar(r, t, wt, field)
      if (f.repeated) ((out[f.name] ??= []) as Json[]).push(v)
      else if (f.oneof || !isZero(v)) out[f.name] = v
      else delete out[f.name] // last one wins, and the zero value is absent
    } else if ('message' in t) {
      const v = readMessage(sub(r, wt, field), t.message(), depth + 1)
      if (f.repeated) ((out[f.name] ??= []) as Json[]).push(v)
      else out[f.name] = v // (a repeated occurrence of a singular message merges in protobuf; the last one wins here)
    } else {
      const entry = sub(r, wt, field)
      const [k, v] = readMapEntry(entry, t.map, field, depth)
      // A map's keys are data (a header may be named "__proto__"): an object without a prototype.
      const m = (out[f.name] ??= Object.create(null) as Record<string, Json>) as Record<string, Json>
      m[k] = v
    }
  }
  return s.json === undefined ? out : unwrap(out, s.json)
}

function readMapEntry (r: Reader, [kt, vt]: readonly [Scalar, Scalar | { readonly message: () => MessageSchema }], field: string, depth: number): [string, Json] {
  let key: Json = ''
  let value: Json | undefined
  while (r.pos < r.end) {
    const tag = r.smallVarint(field)
    const no = tag >>> 3
    const wt = tag & 7
    if (no === 1) key = readScalar(r, kt, wt, `${field}<key>`)
    else if (no === 2) {
      value = typeof vt === 'string' ? readScalar(r, vt, wt, `${field}[${JSON.stringify(key)}]`) : readMessage(sub(r, wt, `${field}[${JSON.stringify(key)}]`), vt.message(), depth + 1)
    } else r.skip(wt, field)
  }
  if (value === undefined) value = typeof vt === 'string' ? (vt === 'string' || vt === 'bytes' ? '' : vt === 'bool' ? false : 0) : (vt.message().json === 'struct' ? {} : vt.message().json === 'value' ? null : {})
  return [String(key), value]
}

/** Struct / Value / ListValue as the JSON they stand for (structpb AsMap). */
function unwrap (o: Record<string, Json>, kind: 'struct' | 'value' | 'list'): Json {
  if (kind === 'struct') return (o.fields as Record<string, Json> | undefined) ?? {}
  if (kind === 'list') return (o.values as Json[] | undefined) ?? []
  if ('structValue' in o) return o.structValue!
  if ('listValue' in o) return o.listValue!
  if ('stringValue' in o) return o.stringValue!
  if ('numberValue' in o) return o.numberValue!
  if ('boolValue' in o) return o.boolValue!
  return null
}

/** A CheckRequest as the plugin's JSON ({attributes: {...}}), or a ProtoError. */
export function decodeCheckRequest (buf: Uint8Array): Record<string, Json> {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  return readMessage(new Reader(b, 0, b.length, 'CheckRequest'), CheckRequest, 0) as Record<string, Json>
}

// --- encoding (CheckResponse) ---

class Writer {
  // A message as a list of parts — runs of bytes of its own and nested Writers, by reference —
  // and its encoded length, which is all a parent needs to write a nested message's length
  // prefix. finish() allocates the whole message once and copies every byte once: nothing is
  // copied into a parent (a 1 MB string 100 lists deep was copied 100 times, byte by byte).
  private readonly parts: (Uint8Array | Writer)[] = []
  /** tags, varints and other small values not yet flushed into `parts` */
  private small: number[] = []
  /** encoded length in bytes */
  length = 0

  private push (b: number): void { this.small.push(b); this.length++ }

  private flush (): void {
    if (this.small.length > 0) { this.parts.push(Uint8Array.from(this.small)); this.small = [] }
  }

  private varint (v: number): void {
    if (v >= 0 && v < 0x80000000) {
      while (v >= 0x80) { this.push((v & 0x7f) | 0x80); v >>>= 7 }
      this.push(v)
      return
    }
    let n = BigInt.asUintN(64, BigInt(v))
    while (n >= 0x80n) { this.push(Number(n & 0x7fn) | 0x80); n >>= 7n }
    this.push(Number(n))
  }

  private tag (no: number, wt: number): void { this.varint((no << 3) | wt) }

  private part (p: Uint8Array | Writer): void {
    this.flush()
    this.parts.push(p)
    this.length += p.length
  }

  int (no: number, v: number): this {
    if (v !== 0) { this.tag(no, WT_VARINT); this.varint(v) }
    return this
  }

  /** A bool field with implicit presence (false is not written). */
  bool (no: number, v: boolean): this { return this.int(no, v ? 1 : 0) }

  double (no: number, v: number): this {
    this.tag(no, WT_I64)
    const b = Buffer.allocUnsafe(8)
    b.writeDoubleLE(v, 0)
    for (let i = 0; i < 8; i++) this.push(b[i]!)
    return this
  }

  bytes (no: number, b: Uint8Array): this {
    this.tag(no, WT_LEN)
    this.varint(b.length)
    if (b.length > 0) this.part(b)
    return this
  }

  /** A string field; `always`: written even when empty (a oneof member, a repeated element). */
  string (no: number, s: string, always = false): this {
    if (s !== '' || always) this.bytes(no, Buffer.from(s, 'utf8'))
    return this
  }

  message (no: number, w: Writer): this {
    this.tag(no, WT_LEN)
    this.varint(w.length)
    if (w.length > 0) this.part(w)
    return this
  }

  raw (b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.push(b[i]!)
    return this
  }

  finish (): Buffer {
    const out = Buffer.allocUnsafe(this.length)
    const end = this.copyInto(out, 0)
    if (end !== this.length) throw new Error(`protobuf writer: wrote ${end} bytes of ${this.length}`)
    return out
  }

  private copyInto (out: Buffer, at: number): number {
    this.flush()
    for (const p of this.parts) {
      if (p instanceof Writer) at = p.copyInto(out, at)
      else { out.set(p, at); at += p.length }
    }
    return at
  }
}

export interface HeaderOption { readonly key: string; readonly value: string }

export interface CheckResponseFields {
  /** google.rpc.Status */
  readonly status: { readonly code: number; readonly message?: string }
  readonly denied?: { readonly httpStatus: number; readonly headers: readonly HeaderOption[]; readonly body: string }
  readonly ok?: {
    readonly headers: readonly HeaderOption[]
    readonly headersToRemove: readonly string[]
    readonly responseHeadersToAdd: readonly HeaderOption[]
    readonly queryParametersToRemove: readonly string[]
    /** envoy.config.core.v3.QueryParameter (key, value) pairs */
    readonly queryParametersToSet?: readonly (readonly [string, string])[]
  }
  /** google.protobuf.Struct */
  readonly dynamicMetadata?: Readonly<Record<string, unknown>>
}

// Each HeaderValueOption says what Envoy does with a header of that name already there:
// `append` (google.protobuf.BoolValue) false replaces it, true adds the value beside it (request
// headers: joined to it with ","; response headers: a line of its own). Left unset, Envoy read
// ok_response.headers as `append: false` until 1.36 (the ext_authz API documents that default),
// but reads response_headers_to_add (since append_action exists) and, from 1.37, every list as
// append_action's default, APPEND_IF_EXISTS_OR_ADD: a client's own `x-user: admin` would reach
// the upstream beside the policy's value. So `append` is always written — false on the first
// value of a name (the policy's value replaces the client's), true on its later values (the
// policy's other values are kept) — which every Envoy reads the same way (`append`, when set,
// wins over append_action). append_action OVERWRITE_IF_EXISTS_OR_ADD alone would not do: Envoy
// before 1.37 ignores it on ok_response.headers, and it cannot carry a second value of a name.
function headerOptions (list: readonly HeaderOption[]): Writer[] {
  const seen = new Set<string>()
  return list.map((h) => {
    const name = h.key.toLowerCase()
    const later = seen.has(name)
    seen.add(name)
    return new Writer()
      .message(1, new Writer().string(1, h.key).string(2, h.value))
      .message(2, new Writer().bool(1, later))
  })
}

// dynamic_metadata is the policy's to fill. Envoy parses the CheckResponse with a protobuf
// parser that stops at 100 nested messages (each JSON level here is two: a Value and its
// Struct or ListValue), and the whole answer is held in memory on both sides: deeper or larger
// metadata is refused (decision.ts, a policy error: denied) before anything is encoded.
export const MAX_METADATA_DEPTH = 32
export const MAX_METADATA_BYTES = 1 << 20

/**
 * Why `o` cannot be sent as dynamic_metadata (nested deeper than MAX_METADATA_DEPTH, or more
 * than MAX_METADATA_BYTES once encoded), or undefined. The walk stops at the first limit hit.
 */
export function metadataProblem (o: Readonly<Record<string, unknown>>): string | undefined {
  let bytes = 0
  const walk = (v: unknown, depth: number): string | undefined => {
    if (depth > MAX_METADATA_DEPTH) return `nested more than ${MAX_METADATA_DEPTH} levels deep`
    // An upper bound of each value's encoding: its content plus tags and length prefixes.
    if (typeof v === 'string') bytes += Buffer.byteLength(v) + 12
    else if (v === null || typeof v !== 'object' || isRawJson(v)) bytes += 12
    else if (Array.isArray(v)) {
      bytes += 12
      for (const x of v) { const p = walk(x, depth + 1); if (p !== undefined) return p }
    } else {
      bytes += 12
      for (const [k, x] of Object.entries(v)) {
        bytes += Buffer.byteLength(k) + 12
        const p = walk(x, depth + 1)
        if (p !== undefined) return p
      }
    }
    return bytes > MAX_METADATA_BYTES ? `larger than ${MAX_METADATA_BYTES} bytes` : undefined
  }
  return walk(o, 1)
}

function structOf (o: Readonly<Record<string, unknown>>, depth: number): Writer {
  if (depth > MAX_METADATA_DEPTH) throw new ProtoError('dynamic_metadata', `nested more than ${MAX_METADATA_DEPTH} levels deep`)
  const w = new Writer()
  for (const [k, v] of Object.entries(o)) w.message(1, new Writer().string(1, k).message(2, valueOf(v, depth)))
  return w
}

function valueOf (v: unknown, depth: number): Writer {
  const w = new Writer()
  // null_value and bool_value are oneof members: written even when zero.
  if (v === null || v === undefined) return w.raw([(1 << 3) | WT_VARINT, 0])
  if (typeof v === 'number') return w.double(2, v)
  if (isRawJson(v)) return w.double(2, Number(v.rawJSON)) // a number kept as its text (exact-json.ts): a Struct number is a double
  if (typeof v === 'string') return w.string(3, v, true)
  if (typeof v === 'boolean') return w.raw([(4 << 3) | WT_VARINT, v ? 1 : 0])
  if (depth + 1 > MAX_METADATA_DEPTH) throw new ProtoError('dynamic_metadata', `nested more than ${MAX_METADATA_DEPTH} levels deep`)
  if (Array.isArray(v)) {
    const list = new Writer()
    for (const x of v) list.message(1, valueOf(x, depth + 1))
    return w.message(6, list)
  }
  return w.message(5, structOf(v as Record<string, unknown>, depth + 1))
}

export function encodeCheckResponse (r: CheckResponseFields): Buffer {
  const w = new Writer()
  w.message(1, new Writer().int(1, r.status.code).string(2, r.status.message ?? ''))
  if (r.denied !== undefined) {
    const d = new Writer().message(1, new Writer().int(1, r.denied.httpStatus))
    for (const h of headerOptions(r.denied.headers)) d.message(2, h)
    d.string(3, r.denied.body)
    w.message(2, d)
  } else if (r.ok !== undefined) {
    const o = new Writer()
    for (const h of headerOptions(r.ok.headers)) o.message(2, h)
    for (const h of r.ok.headersToRemove) o.string(5, h, true)
    for (const h of headerOptions(r.ok.responseHeadersToAdd)) o.message(6, h)
    for (const [key, value] of r.ok.queryParametersToSet ?? []) o.message(7, new Writer().string(1, key, true).string(2, value, true))
    for (const q of r.ok.queryParametersToRemove) o.string(8, q, true)
    w.message(3, o)
  }
  if (r.dynamicMetadata !== undefined) w.message(4, structOf(r.dynamicMetadata, 1))
  return w.finish()
}
