// Fields that answer under the same response name must be mergeable: the same field with the
// same arguments (unless their parents can never both apply), types that do not conflict, and
// sub-selections that merge in turn. graphql-js's algorithm, as the library runs it: checked
// at each operation, field (inside operations only), inline fragment (everywhere, so one
// inside a fragment definition can be reported twice) and fragment definition.
import type { Argument, Field, FragmentSpread, Position, Selection, TypeRef, Value } from '../../types.js'
import { GraphQLLimitError, isField, isFragmentSpread } from '../../types.js'
import { must, typeString } from '../ast.js'
import type { AddError, Rule } from '../rule.js'
import type { Walker } from '../walker.js'

export const overlappingFieldsCanBeMerged: Rule = {
  name: 'OverlappingFieldsCanBeMerged',
  register (events, addError) {
    const checker = new MergeChecker()
    const report = (walker: Walker, set: Selection[] | null): void => {
      checker.walker = walker
      for (const c of checker.conflictsWithin(set)) addError(conflictMessage(c), c.position)
    }
    events.onOperation((walker, op) => { report(walker, op.SelectionSet) })
    events.onField((walker, field) => {
      // A fragment definition walked by itself is checked as a whole instead.
      if (walker.currentOperation !== null) report(walker, field.SelectionSet)
    })
    events.onInlineFragment((walker, inline) => { report(walker, inline.SelectionSet) })
    events.onFragment((walker, fragment) => { report(walker, fragment.SelectionSet) })
  },
}

interface Conflict {
  responseName: string
  /** The reason, for a conflict of the fields themselves. */
  reason: string
  /** The conflicts of their sub-selections otherwise. */
  sub: Conflict[]
  position: Position | null
}

function conflictMessage (c: Conflict): string {
  return `Fields "${c.responseName}" conflict because ${conflictReason(c)}. Use different aliases on the fields to fetch both if this was intentional.`
}

function conflictReason (c: Conflict): string {
  if (c.sub.length === 0) return c.reason
  return c.sub.map(s => `subfields "${s.responseName}" conflict because ${conflictReason(s)}`).join(' and ')
}

/** Fields by response name, names in first-seen order. */
type FieldMap = Map<string, Field[]>

/**
 * Bouncer's own limit (the library has none): the field pairs compared for one document. The
 * comparison is quadratic in the fields sharing a response name, so a 16 KB query of 2,000
 * `a(x: 1)` took ~6 s here, and a policy validates queries a client sent. Real queries compare
 * a few thousand pairs at most.
 */
export const MAX_FIELD_COMPARISONS = 50_000

class MergeChecker {
  walker!: Walker
  private comparisons = 0
  /** Fragment pairs already compared, and whether as mutually exclusive; for the whole document. */
  private readonly comparedPairs = new Map<string, Map<string, boolean>>()
  /**
   * Fragments already compared against the current set of fields. Replaced (not restored) by
   * nested comparisons, as in the library.
   */
  private comparedFragments = new Set<string>()

  conflictsWithin (set: Selection[] | null): Conflict[] {
    if (set === null || set.length === 0) return []
    const [fields, spreads] = collect(set)
    const conflicts: Conflict[] = []
    for (const same of fields.values()) {
      same.forEach((a, i) => {
        for (const b of same.slice(i + 1)) this.push(conflicts, this.findConflict(false, a, b))
      })
    }
    this.comparedFragments = new Set()
    // One spread per fragment name: a repeated spread adds nothing (a fragment is compared once
    // with the fields, and a pair once, in either order), and the pair loop over every spread was
    // quadratic in them (64 KB of `...f` took 25 s).
    const once = new Map<string, FragmentSpread>()
    for (const s of spreads) if (!once.has(s.Name)) once.set(s.Name, s)
    const unique = [...once.values()]
    for (let i = 0; i < unique.length; i++) {
      const a = unique[i]!
      this.betweenFieldsAndFragment(conflicts, false, fields, a)
      for (let j = i + 1; j < unique.length; j++) this.betweenFragments(conflicts, false, a, unique[j]!)
    }
    return conflicts
  }

  private push (out: Conflict[], c: Conflict | null): void {
    if (c !== null) out.push(c)
  }

  private betweenFieldsAndFragment (out: Conflict[], exclusive: boolean, fields: FieldMap, spread: FragmentSpread): void {
    if (this.comparedFragments.has(spread.Name)) return
    this.comparedFragments.add(spread.Name)
    if (spread.Definition === null) return
    const [fragmentFields, nested] = collect(spread.Definition.SelectionSet)
    // A fragment's fields are not compared with themselves.
    if (sameFieldMap(fields, fragmentFields)) return
    this.between(out, exclusive, fields, fragmentFields)
    for (const s of nested) {
      if (s.Name === spread.Name) continue
      this.betweenFieldsAndFragment(out, exclusive, fields, s)
    }
  }

  private betweenFragments (out: Conflict[], exclusive: boolean, first: FragmentSpread, second: FragmentSpread): void {
    const check = (a: FragmentSpread, b: FragmentSpread): void => {
      if (a.Name === b.Name || this.pairCompared(a.Name, b.Name, exclusive)) return
      this.addPair(a.Name, b.Name, exclusive)
      if (a.Definition === null || b.Definition === null) return
      const [fieldsA, spreadsA] = collect(a.Definition.SelectionSet)
      const [fieldsB, spreadsB] = collect(b.Definition.SelectionSet)
      this.between(out, exclusive, fieldsA, fieldsB)
      for (const s of spreadsB) check(a, s)
      for (const s of spreadsA) check(s, b)
    }
    check(first, second)
  }

  private pairCompared (a: string, b: string, exclusive: boolean): boolean {
    const recorded = this.comparedPairs.get(a)?.get(b)
    if (recorded === undefined) return false
    // Compared as exclusive covers less than compared as not exclusive.
    return exclusive ? true : !recorded
  }

  private addPair (a: string, b: string, exclusive: boolean): void {
    for (const [x, y] of [[a, b], [b, a]] as const) {
      let m = this.comparedPairs.get(x)
      if (m === undefined) this.comparedPairs.set(x, m = new Map())
      m.set(y, exclusive)
    }
  }

  private betweenSubSelections (exclusive: boolean, setA: Selection[] | null, setB: Selection[] | null): Conflict[] {
    // Leaf fields (most pairs) have nothing below them to compare.
    if ((setA === null || setA.length === 0) && (setB === null || setB.length === 0)) return []
    const out: Conflict[] = []
    const [fieldsA, spreadsA] = collect(setA)
    const [fieldsB, spreadsB] = collect(setB)
    this.between(out, exclusive, fieldsA, fieldsB)
    for (const s of spreadsB) {
      this.comparedFragments = new Set()
      this.betweenFieldsAndFragment(out, exclusive, fieldsA, s)
    }
    for (const s of spreadsA) {
      this.comparedFragments = new Set()
      this.betweenFieldsAndFragment(out, exclusive, fieldsB, s)
    }
    for (const a of spreadsA) for (const b of spreadsB) this.betweenFragments(out, exclusive, a, b)
    return out
  }

  private between (out: Conflict[], exclusive: boolean, fieldsA: FieldMap, fieldsB: FieldMap): void {
    for (const [name, listA] of fieldsA) {
      const listB = fieldsB.get(name)
      if (listB === undefined) continue
      for (const a of listA) for (const b of listB) this.push(out, this.findConflict(exclusive, a, b))
    }
  }

  private findConflict (parentsExclusive: boolean, a: Field, b: Field): Conflict | null {
    if (++this.comparisons > MAX_FIELD_COMPARISONS) {
      throw new GraphQLLimitError(`more than ${MAX_FIELD_COMPARISONS} pairs of fields to compare for merging (Bouncer's limit)`)
    }
    const parentA = a.ObjectDefinition
    const parentB = b.ObjectDefinition
    if (parentA === null || parentB === null) return null
    // Different object types can never both apply, so their fields need not be the same.
    const exclusive = parentsExclusive || (parentA.Name !== parentB.Name && parentA.Kind === 'OBJECT' &&
      parentB.Kind === 'OBJECT' && a.Definition !== null && b.Definition !== null)
    const responseName = a.Alias !== '' ? a.Alias : a.Name
    const conflict = (reason: string, sub: Conflict[] = []): Conflict => ({ responseName, reason, sub, position: b.Position })
    if (!exclusive) {
      if (a.Name !== b.Name) return conflict(`"${a.Name}" and "${b.Name}" are different fields`)
      if (!sameArguments(a.Arguments, b.Arguments)) return conflict('they have differing arguments')
    }
    if (a.Definition !== null && b.Definition !== null && this.typesConflict(must(a.Definition.Type, 'Type'), must(b.Definition.Type, 'Type'))) {
      return conflict(`they return conflicting types "${typeString(a.Definition.Type)}" and "${typeString(b.Definition.Type)}"`)
    }
    const sub = this.betweenSubSelections(exclusive, a.SelectionSet, b.SelectionSet)
    return sub.length === 0 ? null : conflict('', sub)
  }

  private typesConflict (t1: TypeRef, t2: TypeRef): boolean {
    if (t1.Elem !== null) return t2.Elem !== null ? this.typesConflict(t1.Elem, t2.Elem) : true
    if (t2.Elem !== null) return true
    if (t1.NonNull !== t2.NonNull) return true
    const d1 = must(this.walker.schema.Types.get(t1.NamedType), `type ${t1.NamedType}`)
    const d2 = must(this.walker.schema.Types.get(t2.NamedType), `type ${t2.NamedType}`)
    const leaf = (k: string): boolean => k === 'SCALAR' || k === 'ENUM'
    if (leaf(d1.Kind) && leaf(d2.Kind)) return d1.Name !== d2.Name
    return false
  }
}

/** A selection set's fields (inline fragments looked into) and its fragment spreads. */
function collect (set: Selection[] | null): [FieldMap, FragmentSpread[]] {
  const fields: FieldMap = new Map()
  const spreads: FragmentSpread[] = []
  const walk = (selections: Selection[] | null): void => {
    for (const s of selections ?? []) {
      if (isField(s)) {
        const name = s.Alias !== '' ? s.Alias : s.Name
        const list = fields.get(name)
        if (list === undefined) fields.set(name, [s])
        else list.push(s)
      } else if (isFragmentSpread(s)) {
        spreads.push(s)
      } else {
        walk(s.SelectionSet)
      }
    }
  }
  walk(set)
  return [fields, spreads]
}

/**
 * The library compares the two collections with reflect.DeepEqual: the same response names in
 * the same order, and fields equal in every part, not only the same nodes. In a parsed document
 * every field has its own position, so only the same nodes are equal; in a document decoded
 * from an AST object (no positions) two fields written alike in different places are equal too.
 */
function sameFieldMap (a: FieldMap, b: FieldMap): boolean {
  if (a.size !== b.size) return false
  const namesA = [...a.keys()]
  const namesB = [...b.keys()]
  const seen = new Map<object, Set<object>>()
  return namesA.every((name, i) => {
    if (namesB[i] !== name) return false
    const x = a.get(name)!
    const y = b.get(name)!
    return x.length === y.length && x.every((f, j) => deepEqual(f, y[j], seen))
  })
}

/**
 * reflect.DeepEqual over the AST's nodes: the same node, or the same kind of node (the same
 * keys) with equal parts; null (a nil pointer or slice) equals only null, so an empty list is
 * not a missing one. A pair already being compared counts as equal, as in Go.
 */
function deepEqual (x: unknown, y: unknown, seen: Map<object, Set<object>>): boolean {
  if (x === y) return true
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false
  let pairs = seen.get(x)
  if (pairs?.has(y) === true) return true
  if (pairs === undefined) seen.set(x, pairs = new Set())
  pairs.add(y)
  if (Array.isArray(x) || Array.isArray(y)) {
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false
    return x.every((v, i) => deepEqual(v, y[i], seen))
  }
  if (x instanceof Map || y instanceof Map) {
    if (!(x instanceof Map) || !(y instanceof Map) || x.size !== y.size) return false
    for (const [k, v] of x) if (!y.has(k) || !deepEqual(v, y.get(k), seen)) return false
    return true
  }
  if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false
  const keys = Object.keys(x)
  if (keys.length !== Object.keys(y).length) return false
  const xo = x as Record<string, unknown>
  const yo = y as Record<string, unknown>
  return keys.every(k => Object.hasOwn(yo, k) && deepEqual(xo[k], yo[k], seen))
}

/** The same argument names with the same kind and raw text, in any order. */
function sameArguments (args1: Argument[] | null, args2: Argument[] | null): boolean {
  const a1 = args1 ?? []
  const a2 = args2 ?? []
  if (a1.length !== a2.length) return false
  return a1.every(x => a2.some(y => x.Name === y.Name && sameValue(x.Value, y.Value)))
}

function sameValue (v1: Value | null, v2: Value | null): boolean {
  const a = must(v1, 'Argument.Value')
  const b = must(v2, 'Argument.Value')
  return a.Kind === b.Kind && a.Raw === b.Raw
}
