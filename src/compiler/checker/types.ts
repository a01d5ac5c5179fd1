// OPA's type algebra over the builtin table's type language (RegoType, the capabilities JSON
// shape): ordering, union, keys/values/select, unification and printing, with the semantics of
// OPA's types package, so inferred types, their unions and the messages that print them agree
// with `opa check`. `undefined` is OPA's nil type: not known (printed as ???).
import type { RegoType } from '../builtins.js'

export type Type = RegoType | undefined

export const ANY: RegoType = Object.freeze({ type: 'any' })
export const STRING: RegoType = Object.freeze({ type: 'string' })
export const NUMBER: RegoType = Object.freeze({ type: 'number' })
export const BOOLEAN: RegoType = Object.freeze({ type: 'boolean' })
export const NULL: RegoType = Object.freeze({ type: 'null' })

export const arrayOf = (t: RegoType): RegoType => ({ type: 'array', dynamic: t })
export const setOf = (t: RegoType): RegoType => ({ type: 'set', of: t })
export const objectOf = (k: RegoType, v: RegoType): RegoType => ({ type: 'object', dynamic: { key: k, value: v } })

/** the top type: any, with no members */
export const isTop = (t: Type): boolean => t !== undefined && t.type === 'any' && (t.of === undefined || t.of.length === 0)

const ORDER: Record<RegoType['type'], number> = { null: 0, boolean: 1, number: 2, string: 3, array: 4, object: 5, set: 6, any: 7 }

function cmpStr (a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0 }

/** OPA's types.Compare. */
export function compare (a: Type, b: Type): number {
  const x = a === undefined ? -1 : ORDER[a.type]
  const y = b === undefined ? -1 : ORDER[b.type]
  if (x !== y) return x < y ? -1 : 1
  if (a === undefined || b === undefined) return 0
  switch (a.type) {
    case 'null': case 'boolean': case 'number': case 'string': return 0
    case 'array': {
      const bb = b as Extract<RegoType, { type: 'array' }>
      if (a.dynamic !== undefined && bb.dynamic === undefined) return 1
      if (bb.dynamic !== undefined && a.dynamic === undefined) return -1
      if (a.dynamic !== undefined && bb.dynamic !== undefined) {
        const c = compare(a.dynamic, bb.dynamic)
        if (c !== 0) return c
      }
      return compareList(a.static ?? [], bb.static ?? [])
    }
    case 'object': {
      const bb = b as Extract<RegoType, { type: 'object' }>
      if (a.dynamic !== undefined && bb.dynamic === undefined) return 1
      if (bb.dynamic !== undefined && a.dynamic === undefined) return -1
      if (a.dynamic !== undefined && bb.dynamic !== undefined) {
        const c = compare(a.dynamic.key, bb.dynamic.key) || compare(a.dynamic.value, bb.dynamic.value)
        if (c !== 0) return c
      }
      const sa = sortedStatic(a)
      const sb = sortedStatic(bb)
      for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
        const c = cmpStr(sa[i].key, sb[i].key) || compare(sa[i].value, sb[i].value)
        if (c !== 0) return c
      }
      return sa.length === sb.length ? 0 : sa.length < sb.length ? -1 : 1
    }
    case 'set': return compare(a.of, (b as Extract<RegoType, { type: 'set' }>).of)
    case 'any': return compareList(a.of ?? [], (b as Extract<RegoType, { type: 'any' }>).of ?? [])
  }
}

function compareList (a: readonly Type[], b: readonly Type[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compare(a[i], b[i])
    if (c !== 0) return c
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

function sortedStatic (t: Extract<RegoType, { type: 'object' }>): ReadonlyArray<{ key: string; value: RegoType }> {
  return [...(t.static ?? [])].sort((x, y) => cmpStr(x.key, y.key))
}

/** A union of members, normalised as OPA's NewAny (sorted, no duplicates). */
export function anyOf (members: readonly RegoType[]): RegoType {
  const out: RegoType[] = []
  for (const m of [...members].sort(compare)) if (out.length === 0 || compare(out[out.length - 1], m) !== 0) out.push(m)
  return { type: 'any', of: out }
}

/** OPA's types.Contains for an `any`: the top type or a member equal to `t`. */
function anyContains (a: Extract<RegoType, { type: 'any' }>, t: RegoType): boolean {
  if (a.of === undefined || a.of.length === 0) return true
  return a.of.some(m => compare(m, t) === 0)
}

/** OPA's types.Or: the union of two types (a superset is returned unchanged). */
export function or (a: Type, b: Type): Type {
  if (a === undefined) return b
  if (b === undefined) return a
  if (a.type === 'any') return mergeAny(a, b)
  if (b.type === 'any') return mergeAny(b, a)
  if (compare(a, b) === 0) return a
  return anyOf([a, b])
}

function mergeAny (a: Extract<RegoType, { type: 'any' }>, b: RegoType): RegoType {
  if (b.type === 'any') {
    if (a.of === undefined || a.of.length === 0) return a
    if (b.of === undefined || b.of.length === 0) return b
    return anyOf([...a.of, ...b.of])
  }
  if (anyContains(a, b)) return a
  return anyOf([...(a.of ?? []), b])
}

/** The type of the literal JSON value `v` (OPA's types.TypeOf). */
export function typeOfValue (v: unknown): RegoType {
  if (v === null) return NULL
  if (typeof v === 'boolean') return BOOLEAN
  if (typeof v === 'number' || typeof v === 'bigint') return NUMBER
  if (typeof v === 'string') return STRING
  if (Array.isArray(v)) return { type: 'array', static: v.map(typeOfValue) }
  if (typeof v === 'object') return { type: 'object', static: Object.entries(v as Record<string, unknown>).map(([key, value]) => ({ key, value: typeOfValue(value) })) }
  return ANY
}

/** Types of the keys that enumerate `t` (OPA's types.Keys); undefined for scalars. */
export function keysOf (t: Type): Type {
  if (t === undefined) return undefined
  switch (t.type) {
    case 'array': return NUMBER
    case 'object': {
      let k: Type
      for (const _ of t.static ?? []) k = or(k, STRING)
      if (t.dynamic !== undefined) k = or(k, t.dynamic.key)
      return k
    }
    case 'set': return t.of
    case 'any': {
      if (isTop(t)) return ANY
      let k: Type
      for (const m of t.of ?? []) k = or(keysOf(m), k)
      return k
    }
    default: return undefined
  }
}

/** Types of the values that enumerate `t` (OPA's types.Values); undefined for scalars. */
export function valuesOf (t: Type): Type {
  if (t === undefined) return undefined
  switch (t.type) {
    case 'array': {
      let v: Type
      for (const s of t.static ?? []) v = or(v, s)
      return or(v, t.dynamic)
    }
    case 'object': {
      let v: Type
      for (const s of t.static ?? []) v = or(v, s.value)
      if (t.dynamic !== undefined) v = or(v, t.dynamic.value)
      return v
    }
    case 'set': return t.of
    case 'any': {
      if (isTop(t)) return ANY
      let v: Type
      for (const m of t.of ?? []) v = or(valuesOf(m), v)
      return v
    }
    default: return undefined
  }
}

/** The type under the constant key `key` (a JSON value) of `t` (OPA's types.Select). */
export function select (t: Type, key: unknown): Type {
  if (t === undefined) return undefined
  switch (t.type) {
    case 'array': {
      if (typeof key !== 'number' || !Number.isInteger(key) || key < 0) return undefined
      const st = t.static ?? []
      if (key < st.length) return st[key]
      return t.dynamic
    }
    case 'object': {
      if (typeof key === 'string') {
        const p = (t.static ?? []).find(s => s.key === key)
        if (p !== undefined) return p.value
      }
      if (t.dynamic !== undefined && contains(t.dynamic.key, typeOfValue(key))) return t.dynamic.value
      return undefined
    }
    case 'set': {
      const kt = typeOfValue(key)
      if (compare(t.of, kt) === 0) return t.of
      if (t.of.type === 'any' && anyContains(t.of, kt)) return kt
      return undefined
    }
    case 'any': {
      if (isTop(t)) return ANY
      let r: Type
      for (const m of t.of ?? []) r = or(select(m, key), r)
      return r
    }
    default: return undefined
  }
}

/** OPA's types.Contains: `a` is `b` or a union holding it. */
export function contains (a: RegoType, b: RegoType): boolean {
  if (a.type === 'any') return anyContains(a, b)
  return compare(a, b) === 0
}

/** OPA's unifies: can a value of type `a` also be of type `b`? Unknown types never unify. */
export function unifies (a: Type, b: Type): boolean {
  if (a === undefined || b === undefined) return false
  if (a.type === 'any' && (a.of === undefined || a.of.length === 0 || a.of.some(m => unifies(m, b)))) return true
  if (b.type === 'any' && (b.of === undefined || b.of.length === 0 || b.of.some(m => unifies(m, a)))) return true
  if (a.type === 'any' || b.type === 'any') return false
  if (a.type !== b.type) return false
  switch (a.type) {
    case 'null': case 'boolean': case 'number': case 'string': return true
    case 'array': {
      const bb = b as Extract<RegoType, { type: 'array' }>
      const staticOk = (x: typeof a, y: typeof a): boolean => (x.static ?? []).every((s, i) => unifies(s, selectIndex(y, i)))
      if (!staticOk(a, bb) || !staticOk(bb, a)) return false
      return a.dynamic === undefined || bb.dynamic === undefined || unifies(a.dynamic, bb.dynamic)
    }
    case 'object': {
      const bb = b as Extract<RegoType, { type: 'object' }>
      const staticOk = (x: typeof a, y: typeof a): boolean => (x.static ?? []).every(s => unifies(s.value, select(y, s.key)))
      if (!staticOk(a, bb) || !staticOk(bb, a)) return false
      return a.dynamic === undefined || bb.dynamic === undefined || unifies(a.dynamic.value, bb.dynamic.value)
    }
    case 'set': return unifies(a.of, (b as Extract<RegoType, { type: 'set' }>).of)
  }
}

function selectIndex (t: Extract<RegoType, { type: 'array' }>, i: number): Type {
  const st = t.static ?? []
  return i < st.length ? st[i] : t.dynamic
}

/** OPA's String() of a type; unknown is ???. */
export function typeString (t: Type): string {
  if (t === undefined) return '???'
  switch (t.type) {
    case 'null': case 'boolean': case 'number': case 'string': return t.type
    case 'array': {
      let s = 'array'
      if (t.static !== undefined && t.static.length > 0) s += `<${t.static.map(typeString).join(', ')}>`
      if (t.dynamic !== undefined) s += `[${typeString(t.dynamic)}]`
      return s
    }
    case 'object': {
      let s = 'object'
      const st = sortedStatic(t)
      if (st.length > 0) s += `<${st.map(p => `${p.key}: ${typeString(p.value)}`).join(', ')}>`
      if (t.dynamic !== undefined) s += `[${typeString(t.dynamic.key)}: ${typeString(t.dynamic.value)}]`
      return s
    }
    case 'set': return `set[${typeString(t.of)}]`
    case 'any': {
      const of = t.of ?? []
      return of.length === 0 ? 'any' : `any<${[...of].sort(compare).map(typeString).join(', ')}>`
    }
  }
}

/** A type as OPA's capabilities JSON writes it: members of unions sorted, keys in order. */
export function typeJson (t: RegoType): Record<string, unknown> {
  switch (t.type) {
    case 'null': case 'boolean': case 'number': case 'string': return { type: t.type }
    case 'array': {
      const o: Record<string, unknown> = {}
      if (t.dynamic !== undefined) o.dynamic = typeJson(t.dynamic)
      if (t.static !== undefined && t.static.length > 0) o.static = t.static.map(typeJson)
      o.type = 'array'
      return o
    }
    case 'object': {
      const o: Record<string, unknown> = {}
      if (t.dynamic !== undefined) o.dynamic = { key: typeJson(t.dynamic.key), value: typeJson(t.dynamic.value) }
      const st = sortedStatic(t)
      if (st.length > 0) o.static = st.map(p => ({ key: p.key, value: typeJson(p.value) }))
      o.type = 'object'
      return o
    }
    case 'set': return { of: typeJson(t.of), type: 'set' }
    case 'any': {
      const of = t.of ?? []
      return of.length === 0 ? { type: 'any' } : { of: [...of].sort(compare).map(typeJson), type: 'any' }
    }
  }
}
