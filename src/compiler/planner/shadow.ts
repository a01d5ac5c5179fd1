// `x := f(x)` inside a comprehension (or an `every` body) whose enclosing body has its own x:
// OPA rewrites the right-hand side against the enclosing scope before it declares the new x
// (rewriteDeclaredAssignment), so `x := 2; y := [x | x := 2 * x]` is [4]. Here a body's
// variables are all declared before it is planned, so the right side would read the new,
// still unbound x ("var x is unsafe"). The new x is renamed instead, from its declaration on:
// the right side keeps the enclosing x, and later expressions and the comprehension's head
// read the new one. Only such declarations are renamed; every other body is left alone.
import type { Body, Expr, Term } from '../ast/index.js'
import { mapExprTerms } from './index.js'

/** Separates a renamed variable's name from its suffix; error messages print the name only. */
export const SHADOW_SEP = '\u0001'

/** The name to print for a variable (a renamed shadow prints as what was written). */
export function shadowDisplayName (name: string): string {
  const i = name.indexOf(SHADOW_SEP)
  return i < 0 ? name : name.slice(0, i)
}

/**
 * Renames each `v := rhs` of `body` whose right side reads `v` while `isOuter(v)` (an
 * enclosing local), in the declaration and everything after it, the head terms included.
 */
export function renameShadowing (body: Body, head: Term[], isOuter: (name: string) => boolean, fresh: (name: string) => string): { body: Body; head: Term[] } {
  let out = body
  let outHead = head
  for (let i = 0; i < out.length; i++) {
    const first = out[i]!
    if (first.kind.type !== 'assign') continue
    const declared: string[] = []
    patternVars(first.kind.left, n => declared.push(n))
    for (const v of declared) {
      const e = out[i]!
      const k = e.kind as Extract<Expr['kind'], { type: 'assign' }>
      if (!isOuter(v) || !(mentions(k.right, v) || e.with.some(w => mentions(w.value, v)))) continue
      const to = fresh(v)
      const decl: Expr = { ...e, kind: { type: 'assign', left: renameTerm(k.left, v, to), right: k.right } }
      out = [...out.slice(0, i), decl, ...out.slice(i + 1).map(x => renameExpr(x, v, to))]
      outHead = outHead.map(t => renameTerm(t, v, to))
    }
  }
  return { body: out, head: outHead }
}

/** The variables an assignment's left side declares (arrays and object values, nested). */
function patternVars (t: Term, cb: (name: string) => void): void {
  if (t.type === 'var') { if (t.name !== '_') cb(t.name) } else if (t.type === 'array') t.items.forEach(i => patternVars(i, cb))
  else if (t.type === 'object') t.entries.forEach(([, v]) => patternVars(v, cb))
}

/** Whether `t` reads the variable `name` (in nested bodies too, unless they declare it). */
function mentions (t: Term, name: string): boolean {
  let found = false
  renameTerm(t, name, name, () => { found = true })
  return found
}

function renameTerm (t: Term, from: string, to: string, seen?: () => void): Term {
  const r = (x: Term): Term => renameTerm(x, from, to, seen)
  switch (t.type) {
    case 'var':
      if (t.name !== from) return t
      seen?.()
      return { ...t, name: to }
    case 'ref': return { ...t, head: r(t.head), path: t.path.map(r) }
    case 'array': case 'set': return { ...t, items: t.items.map(r) }
    case 'object': return { ...t, entries: t.entries.map(([k, v]) => [r(k), r(v)] as [Term, Term]) }
    case 'call': return { ...t, args: t.args.map(r) }
    case 'arraycompr': case 'setcompr': {
      const { body, own } = renameBody(t.body, from, to, seen)
      return { ...t, body, term: own ? t.term : r(t.term) }
    }
    case 'objectcompr': {
      const { body, own } = renameBody(t.body, from, to, seen)
      return { ...t, body, key: own ? t.key : r(t.key), value: own ? t.value : r(t.value) }
    }
    default: return t
  }
}

function renameExpr (e: Expr, from: string, to: string, seen?: () => void): Expr {
  const r = (x: Term): Term => renameTerm(x, from, to, seen)
  const mapped = mapExprTerms(e, r)
  let kind = mapped.kind
  // an every body is a body of its own; its key and value are its own (naming `from` keeps it)
  if (kind.type === 'every' && ![kind.key, kind.value].some(x => x !== undefined && x.type === 'var' && x.name === from)) {
    kind = { ...kind, body: renameBody(kind.body, from, to, seen).body }
  }
  return { ...mapped, kind, with: mapped.with.map(w => ({ ...w, target: r(w.target) })) }
}

/**
 * `from` renamed in a nested body. A body that declares `from` itself (:=, some) has its own:
 * only what comes before that declaration, and the declaration's right side, read the outer
 * one. `own` tells the caller that the body's head reads the body's own variable.
 */
function renameBody (body: Body, from: string, to: string, seen?: () => void): { body: Body; own: boolean } {
  const out: Body = []
  for (let i = 0; i < body.length; i++) {
    const e = body[i]!
    const k = e.kind
    const declares = (k.type === 'assign' && hasVar(k.left, from)) ||
      (k.type === 'some' && k.vars.some(v => v.name === from)) ||
      (k.type === 'somein' && [k.key, k.value].some(x => x !== undefined && hasVar(x, from)))
    if (!declares) { out.push(renameExpr(e, from, to, seen)); continue }
    if (k.type === 'assign') out.push({ ...e, kind: { ...k, right: renameTerm(k.right, from, to, seen) } })
    else if (k.type === 'somein') out.push({ ...e, kind: { ...k, collection: renameTerm(k.collection, from, to, seen) } })
    else out.push(e)
    return { body: [...out, ...body.slice(i + 1)], own: true }
  }
  return { body: out, own: false }
}

function hasVar (t: Term, name: string): boolean {
  let found = false
  patternVars(t, n => { if (n === name) found = true })
  return found
}
