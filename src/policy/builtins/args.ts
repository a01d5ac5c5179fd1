// Operand checks with OPA's messages, and helpers for values crossing the SDK's JSON ABI.
//
// Arguments arrive JSON-decoded: sets arrive as arrays (the host cannot tell them apart),
// numbers as float64. Results are JSON-encoded by the SDK, except an ArrayBuffer, which it
// passes through as JSON text — exactInt uses that to return integers beyond 2^53 exactly.
import { BuiltinError } from './context.js'
import { compareDecimals, isRawJson } from '../../exact-json.js'
import { hasLoneSurrogate, LONE_SURROGATES } from './bytes.js'

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
export type JsonObject = { [k: string]: Json }

/** OPA's type name of a decoded value (sets arrive as arrays and are named "array"). */
export function typeName (v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return 'array'
  switch (typeof v) {
    case 'boolean': return 'boolean'
    case 'number': case 'bigint': return 'number'
    case 'string': return 'string'
    default: return isRawJson(v) ? 'number' : 'object' // a number kept as its text (exact-json.ts)
  }
}

/** A number's JSON text, for exact comparison (a raw value's own text). */
function numberLiteral (v: unknown): string {
  return isRawJson(v) ? v.rawJSON : typeof v === 'bigint' ? v.toString() : String(v as number)
}

function want (types: string[]): string {
  return types.length === 1 ? types[0] : `one of {${types.join(', ')}}`
}

/** eval_type_error: <name>: operand <pos> must be <types> but got <type> */
export function operandTypeError (name: string, pos: number, v: unknown, ...types: string[]): BuiltinError {
  return new BuiltinError('eval_type_error', name, `operand ${pos} must be ${want(types)} but got ${typeName(v)}`)
}

/** eval_type_error: <name>: operand <pos> must be <coll> of <type>s but got <coll> containing <type> */
export function operandElementError (name: string, pos: number, coll: unknown, elem: unknown, type: string): BuiltinError {
  const c = typeName(coll)
  return new BuiltinError('eval_type_error', name, `operand ${pos} must be ${c} of ${type}s but got ${c} containing ${typeName(elem)}`)
}

export function str (name: string, pos: number, v: unknown): string {
  if (typeof v !== 'string') throw operandTypeError(name, pos, v, 'string')
  return v
}

export function num (name: string, pos: number, v: unknown): number {
  if (typeof v !== 'number') throw operandTypeError(name, pos, v, 'number')
  return v
}

/** OPA's IntOperand: an integer as written (2.0 and 1e2 are not: Number.Int parses the text).
 * A number kept as its text (exact-json.ts) is read from it; builtins that take integers are
 * given their arguments exactly (the builtin table's `exact` flag). */
export function int (name: string, pos: number, v: unknown): number {
  if (isRawJson(v)) {
    if (!/^-?[0-9]+$/.test(v.rawJSON)) throw new BuiltinError('eval_type_error', name, `operand ${pos} must be integer number but got floating-point number`)
    return Number(v.rawJSON)
  }
  const n = num(name, pos, v)
  if (!Number.isInteger(n)) throw new BuiltinError('eval_type_error', name, `operand ${pos} must be integer number but got floating-point number`)
  return n
}

export function bool (name: string, pos: number, v: unknown): boolean {
  if (typeof v !== 'boolean') throw operandTypeError(name, pos, v, 'boolean')
  return v
}

export function isObject (v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function obj (name: string, pos: number, v: unknown): JsonObject {
  if (!isObject(v)) throw operandTypeError(name, pos, v, 'object')
  return v
}

export function arr (name: string, pos: number, v: unknown, ...types: string[]): Json[] {
  if (!Array.isArray(v)) throw operandTypeError(name, pos, v, ...(types.length ? types : ['array']))
  return v as Json[]
}

/** Array or set of strings. */
export function strings (name: string, pos: number, v: unknown): string[] {
  const a = arr(name, pos, v, 'array', 'set')
  for (const e of a) if (typeof e !== 'string') throw operandElementError(name, pos, v, e, 'string')
  return a as string[]
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** An integer result: a number when exact as float64, else its exact JSON text. */
export function exactInt (n: bigint): number | ArrayBuffer {
  if (n <= MAX_SAFE && n >= -MAX_SAFE) return Number(n)
  return new TextEncoder().encode(n.toString()).buffer as ArrayBuffer
}

/** Compares strings by code point (= Go's byte-wise UTF-8 order, = OPA's string order). */
export function compareStrings (a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    // surrogates (0xD800-0xDFFF) encode code points above every BMP character
    const xs = x >= 0xd800 && x <= 0xdfff
    const ys = y >= 0xd800 && y <= 0xdfff
    if (xs !== ys) return xs ? 1 : -1
    return x < y ? -1 : 1
  }
  return a.length - b.length
}

const TYPE_ORDER: Record<string, number> = { null: 0, boolean: 1, number: 2, string: 3, array: 4, object: 6 }

/** OPA's total order over (JSON-decoded) values. */
export function compareValues (a: unknown, b: unknown): number {
  const ta = typeName(a)
  const tb = typeName(b)
  if (ta !== tb) return TYPE_ORDER[ta] - TYPE_ORDER[tb]
  switch (ta) {
    case 'null': return 0
    case 'boolean': return a === b ? 0 : a ? 1 : -1
    case 'number':
      if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0
      return compareDecimals(numberLiteral(a), numberLiteral(b)) // by the decimals they denote
    case 'string': return compareStrings(a as string, b as string)
    case 'array': {
      const x = a as unknown[]
      const y = b as unknown[]
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i], y[i])
        if (c !== 0) return c
      }
      return x.length - y.length
    }
    default: {
      const x = a as JsonObject
      const y = b as JsonObject
      const kx = Object.keys(x).sort(compareStrings)
      const ky = Object.keys(y).sort(compareStrings)
      for (let i = 0; i < Math.min(kx.length, ky.length); i++) {
        const c = compareStrings(kx[i], ky[i])
        if (c !== 0) return c
        const d = compareValues(x[kx[i]], y[ky[i]])
        if (d !== 0) return d
      }
      return kx.length - ky.length
    }
  }
}

export function deepEqual (a: unknown, b: unknown): boolean {
  return compareValues(a, b) === 0
}

/** Sorted, de-duplicated copy (how a set result is returned: as an array in set order). */
export function setOf<T> (items: T[]): T[] {
  const out = [...items].sort(compareValues)
  return out.filter((v, i) => i === 0 || compareValues(out[i - 1], v) !== 0)
}

/** Go's json.Marshal of a value: sorted keys, HTML-safe escapes, compact. */
export function goJSON (v: unknown, indent?: { prefix: string; indent: string }): string {
  const esc = (s: string): string => {
    // an invalid byte (a lone surrogate: ./bytes.ts) as Go's encoding/json writes it: \ufffd
    if (hasLoneSurrogate(s)) return '"' + s.split(LONE_SURROGATES).map(p => esc(p).slice(1, -1)).join('\\ufffd') + '"'
    return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
  }
  const write = (x: unknown, depth: number): string => {
    if (x === null || x === undefined) return 'null'
    if (typeof x === 'string') return esc(x)
    if (typeof x === 'number') return Number.isFinite(x) ? JSON.stringify(x) : 'null'
    if (typeof x === 'boolean') return x ? 'true' : 'false'
    if (isRawJson(x)) return x.rawJSON // a number as written (json.Number)
    const nl = indent ? '\n' + indent.prefix + indent.indent.repeat(depth + 1) : ''
    const end = indent ? '\n' + indent.prefix + indent.indent.repeat(depth) : ''
    const colon = indent ? ': ' : ':'
    if (Array.isArray(x)) {
      if (x.length === 0) return '[]'
      return '[' + x.map(e => nl + write(e, depth + 1)).join(',') + end + ']'
    }
    const o = x as JsonObject
    const keys = Object.keys(o).sort(compareStrings)
    if (keys.length === 0) return '{}'
    return '{' + keys.map(k => nl + esc(k) + colon + write(o[k], depth + 1)).join(',') + end + '}'
  }
  return write(v, 0)
}
