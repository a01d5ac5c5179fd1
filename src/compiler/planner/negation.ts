// What a negated expression covers, as OPA decides it.
//
// OPA's compiler rewrites every body before evaluation (stages RewriteExprTerms,
// RewriteWithValues, RewriteEquals, RewriteDynamicTerms). Those stages move parts of an
// expression into generated expressions placed *before* it, and the generated ones never
// carry the `not`. So in `not f(input.x)` the reference `input.x` is evaluated outside the
// negation: when it is undefined the body fails, it does not succeed (OPA issues #1877,
// #4743, #5793, #7558, #8387 describe this; it is the behaviour of every OPA 1.x).
// A decision that differs from OPA's here flips deny into allow, so we reproduce the
// rewrite exactly, but only for negated expressions: for a positive expression, moving a
// term out in front of it cannot change its result.
//
// What moves out:
//  - each `with` value that needs evaluation (a reference, a call, a comprehension);
//  1. every call nested inside the expression's operands (not the expression's own call),
//     innermost first, and every call at the head of a reference: `not f(lower(x))`,
//     `not obj[lower(x)]`, `not g(1)[0]`;
//  2. references, by the expression's shape:
//     - a call (`not f(a)`, `not a != b`, `not x in xs`, `not a < b`): each argument that
//       is a reference moves out whole, and references inside array/object/set arguments;
//     - an equality (`a = b`, and `a == b`, which OPA turns into `=`): a side that is a
//       reference stays, only the references in its brackets move out (`obj[input.k]`);
//       any other side is treated as a call argument;
//     - a bare term (`not input.x`, `not obj[input.k]`): the reference stays, the references
//       in its brackets move out;
//     - `every`: its domain moves out.
// Comprehensions are always defined, so they stay where they are.
import type { Expr, Term, With } from '../ast/index.js'

export interface NegationContext {
  /** a bare name that OPA resolves to a reference (a rule, `input`, `data`, an import) */
  isRefName: (name: string) => boolean
  /** a term naming a function (a with-value that replaces a function is not evaluated) */
  isCallable: (t: Term) => boolean
  /** a fresh variable name, local to the body being planned */
  fresh: () => string
}

export interface NegationRewrite {
  /** positive expressions that must run before the negated one */
  before: Expr[]
  /** the negated expression with the moved terms replaced by variables */
  expr: Expr
}

export function rewriteNegated (e: Expr, ctx: NegationContext): NegationRewrite {
  const before: Expr[] = []
  const hoist = (t: Term, withMods: With[]): Term => {
    const name = ctx.fresh()
    const v: Term = { type: 'var', name, loc: t.loc }
    before.push({ loc: t.loc, negated: false, with: withMods, kind: { type: 'unify', left: v, right: t } })
    return v
  }

  // with values (OPA: rewriteWithModifiers); the generated expression has no `with`, every
  // other generated expression carries the rewritten modifiers
  const withMods = e.with.map((w): With => needsEval(w.value, ctx) && !ctx.isCallable(w.value) ? { ...w, value: hoist(w.value, []) } : w)

  // 1. calls (OPA: expandExprTerm)
  const expand = (t: Term): Term => {
    switch (t.type) {
      case 'call': return hoist({ ...t, args: t.args.map(expand) }, withMods)
      case 'ref': return { ...t, head: expand(t.head), path: t.path.map(expand) }
      case 'array': return { ...t, items: t.items.map(expand) }
      case 'set': return { ...t, items: t.items.map(expand) }
      case 'object': return { ...t, entries: t.entries.map(([k, v]) => [expand(k), expand(v)] as [Term, Term]) }
      default: return t
    }
  }
  let kind = e.kind
  switch (kind.type) {
    case 'term': {
      const t = kind.term
      kind = { type: 'term', term: t.type === 'call' ? { ...t, args: t.args.map(expand) } : expand(t) }
      break
    }
    case 'unify': kind = { type: 'unify', left: expand(kind.left), right: expand(kind.right) }; break
    case 'every': kind = { ...kind, collection: expand(kind.collection) }; break
    default: break
  }

  // 2. references (OPA: rewriteEquals, then rewriteDynamics)
  const isRef = (t: Term): boolean => t.type === 'ref' || (t.type === 'var' && ctx.isRefName(t.name))
  const one = (t: Term): Term => {
    if (isRef(t)) return hoist(t.type === 'ref' ? { ...t, path: t.path.map(one) } : t, withMods)
    switch (t.type) {
      case 'array': return { ...t, items: t.items.map(one) }
      case 'set': return { ...t, items: t.items.map(one) }
      case 'object': return { ...t, entries: t.entries.map(([k, v]) => [one(k), one(v)] as [Term, Term]) }
      default: return t
    }
  }
  const inTerm = (t: Term): Term => {
    if (t.type === 'ref') return { ...t, path: t.path.map(one) }
    if (isRef(t)) return t
    return one(t)
  }
  switch (kind.type) {
    case 'term': {
      const t = kind.term
      if (t.type === 'call' && t.name === 'equal' && t.args.length === 2) {
        kind = { type: 'unify', left: inTerm(t.args[0]), right: inTerm(t.args[1]) }
        // keep `==` (a comparison, no binding) rather than `=`: inside `not` nothing binds
        kind = { type: 'term', term: { ...t, args: [kind.left, kind.right] } }
      } else if (t.type === 'call') {
        kind = { type: 'term', term: { ...t, args: t.args.map(one) } }
      } else {
        kind = { type: 'term', term: inTerm(t) }
      }
      break
    }
    case 'unify': kind = { type: 'unify', left: inTerm(kind.left), right: inTerm(kind.right) }; break
    case 'every': kind = { ...kind, collection: one(kind.collection) }; break
    default: break
  }
  return { before, expr: { ...e, with: withMods, kind } }
}

/** OPA's requiresEval: the term contains a reference, a call or a comprehension. */
function needsEval (t: Term, ctx: NegationContext): boolean {
  switch (t.type) {
    case 'ref': case 'call': case 'arraycompr': case 'setcompr': case 'objectcompr': return true
    case 'var': return ctx.isRefName(t.name)
    case 'array': case 'set': return t.items.some(i => needsEval(i, ctx))
    case 'object': return t.entries.some(([k, v]) => needsEval(k, ctx) || needsEval(v, ctx))
    default: return false
  }
}
