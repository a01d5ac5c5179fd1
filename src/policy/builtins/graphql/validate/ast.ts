// The library's small AST helpers the walker and the rules lean on (ast.Type.Name/String/
// IsCompatible, Definition.IsLeafType & co, the lists' ForName, Value.String), with the same
// answers; where Go would dereference nil (a policy's AST object missing a part), must()
// throws the schema module's GqlparserPanic.
import { goQuote } from '../../go-quote.js'
import { GqlparserPanic } from '../schema.js'
import { ValueKind, type Definition, type Schema, type TypeRef, type Value } from '../types.js'

export function must<T> (v: T | null | undefined, what: string): T {
  if (v === null || v === undefined) throw new GqlparserPanic(`nil pointer dereference: ${what}`)
  return v
}

/** ast.Type.Name: the innermost named type. */
export function typeName (t: TypeRef | null): string {
  let cur = must(t, 'Type')
  while (cur.NamedType === '') cur = must(cur.Elem, 'Type.Elem')
  return cur.NamedType
}

/** ast.Type.String: `[Name!]!` and the like. */
export function typeString (t: TypeRef | null): string {
  const cur = must(t, 'Type')
  const bang = cur.NonNull ? '!' : ''
  if (cur.NamedType !== '') return cur.NamedType + bang
  return `[${typeString(cur.Elem)}]${bang}`
}

/** ast.Type.IsCompatible: can a value of type `t` be used where `other` is expected. */
export function isCompatible (t: TypeRef, other: TypeRef): boolean {
  if (t.NamedType !== other.NamedType) return false
  if (t.Elem !== null && other.Elem === null) return false
  if (t.Elem !== null && !isCompatible(t.Elem, must(other.Elem, 'Type.Elem'))) return false
  if (other.NonNull) return t.NonNull
  return true
}

export const isLeafType = (d: Definition): boolean => d.Kind === 'ENUM' || d.Kind === 'SCALAR'
export const isAbstractType = (d: Definition): boolean => d.Kind === 'INTERFACE' || d.Kind === 'UNION'
export const isCompositeType = (d: Definition): boolean => d.Kind === 'OBJECT' || d.Kind === 'INTERFACE' || d.Kind === 'UNION'
export const isInputType = (d: Definition): boolean => d.Kind === 'SCALAR' || d.Kind === 'ENUM' || d.Kind === 'INPUT_OBJECT'
export const isOneOf = (d: Definition, ...names: string[]): boolean => names.includes(d.Name)

/** The lists' ForName: the first entry with that name. */
export function forName<T extends { Name: string }> (list: readonly T[] | null, name: string): T | null {
  for (const x of list ?? []) if (x.Name === name) return x
  return null
}

export function typeFor (schema: Schema, name: string): Definition | null {
  return schema.Types.get(name) ?? null
}

/** ast.Schema.GetPossibleTypes. */
export function possibleTypes (schema: Schema, def: Definition): Definition[] {
  return schema.PossibleTypes.get(def.Name) ?? []
}

/** ast.Value.String, as messages print a value: `$v`, raw scalars, Go-quoted strings, `[a,b]`, `{k:v}`. */
export function valueString (v: Value | null): string {
  if (v === null) return '<nil>'
  switch (v.Kind) {
    case ValueKind.Variable: return '$' + v.Raw
    case ValueKind.String: case ValueKind.Block: return goQuote(v.Raw)
    case ValueKind.List: return '[' + (v.Children ?? []).map(c => valueString(must(c.Value, 'ChildValue.Value'))).join(',') + ']'
    case ValueKind.Object: return '{' + (v.Children ?? []).map(c => c.Name + ':' + valueString(must(c.Value, 'ChildValue.Value'))).join(',') + '}'
    default: return v.Raw
  }
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const GO_BOOLS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'])

/**
 * Whether ast.Value.Value(nil) succeeds: Go's strconv parses ints as int64, floats as float64
 * (out of range is an error) and booleans by its own spellings; lists and objects fail when
 * any element does.
 */
export function valueConverts (v: Value): boolean {
  switch (v.Kind) {
    case ValueKind.Int: return parsesInt(v.Raw, INT64_MIN, INT64_MAX)
    case ValueKind.Float: return parsesFloat(v.Raw)
    case ValueKind.Boolean: return GO_BOOLS.has(v.Raw)
    case ValueKind.List: case ValueKind.Object:
      return (v.Children ?? []).every(c => valueConverts(must(c.Value, 'ChildValue.Value')))
    default: return true
  }
}

/** strconv.ParseInt(raw, 10, bits) without error, for the range given. */
export function parsesInt (raw: string, min: bigint, max: bigint): boolean {
  if (!/^[+-]?\d+$/.test(raw)) return false
  const n = BigInt(raw)
  return n >= min && n <= max
}

/** strconv.ParseFloat(raw, 64) without error (the lexer only lets decimal floats through). */
function parsesFloat (raw: string): boolean {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return false
  return Number.isFinite(Number(raw))
}
