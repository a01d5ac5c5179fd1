// Safety and reordering: OPA evaluates a body's expressions in an order where every variable
// is bound before it is read. We pick, repeatedly, the first expression (in source order)
// that can run with the variables bound so far; when none can, the remaining variables are
// unsafe (rego_unsafe_var_error).
import type { Expr, Loc, Term } from '../ast/index.js'

export interface VarResolver { isLocalName: (name: string) => boolean }

export interface SafetyEnv {
  /** initially bound (or not a local at all) */
  isBound: (name: string) => boolean
  /** name is a local variable of this or an enclosing scope */
  isLocal: (name: string) => boolean
  /** the term names a function or builtin (a `with` replacement, not a value) */
  isCallable: (t: Term) => boolean
  /** how many arguments the called function or builtin takes (undefined: not known, e.g. a
   *  variadic builtin): a call has an output argument only when it is given one more */
  callArity?: (t: Extract<Term, { type: 'call' }>) => number | undefined
}

export interface SafetyResult { exprs: Expr[]; unsafe: Array<{ name: string; loc: Loc }> }

export function analyseBody (exprs: Expr[], env: SafetyEnv): SafetyResult {
  const saved = arityOf
  arityOf = env.callArity ?? null
  try { return order(exprs, env) } finally { arityOf = saved }
}

// The arity lookup of the body being analysed (set per call, single-threaded, as outerNames).
let arityOf: SafetyEnv['callArity'] | null = null

function order (exprs: Expr[], env: SafetyEnv): SafetyResult {
  const bound = new Set<string>()
  const isBound = (n: string): boolean => bound.has(n) || env.isBound(n)
  const remaining = [...exprs]
  const out: Expr[] = []
  while (remaining.length > 0) {
    const idx = remaining.findIndex(e => ready(e, isBound, env))
    if (idx < 0) {
      const unsafe: Array<{ name: string; loc: Loc }> = []
      const seen = new Set<string>()
      for (const e of remaining) {
        for (const v of exprInputs(e)) {
          if (!isBound(v.name) && !seen.has(v.name)) {
            seen.add(v.name)
            unsafe.push({ name: v.name.startsWith('$_') ? '_' : v.name, loc: v.loc })
          }
        }
      }
      if (unsafe.length === 0) unsafe.push({ name: '?', loc: remaining[0].loc })
      return { exprs: out.concat(remaining), unsafe }
    }
    const e = remaining.splice(idx, 1)[0]
    out.push(e)
    if (!e.negated) for (const v of exprVars(e)) bound.add(v)
  }
  return { exprs: out, unsafe: [] }
}

type IsBound = (n: string) => boolean

function ready (e: Expr, isBound: IsBound, env: SafetyEnv): boolean {
  for (const w of e.with) {
    if (!env.isCallable(w.value) && !evaluable(w.value, isBound)) return false
    // a variable key of the target (`with input[x] as 1`) is read, never bound, by the `with`
    if (w.target.type === 'ref' && !w.target.path.every(k => k.type !== 'var' || isBound(k.name))) return false
  }
  const k = e.kind
  if (e.negated) {
    // every local var of a negated expression must already be bound, except wildcards
    // and variables that occur nowhere else (those are local to the negation)
    return allVars(e).every(v => isBound(v) || v.startsWith('$_') || !env.isLocal(v)) && readyPositive(k, isBound)
  }
  return readyPositive(k, isBound)
}

function readyPositive (k: Expr['kind'], isBound: IsBound): boolean {
  switch (k.type) {
    case 'some': return true
    case 'term': return evaluable(k.term, isBound)
    case 'unify': return unifiable(k.left, k.right, isBound)
    // := reads its right-hand side: only other expressions can make it safe, never the
    // left-hand side (OPA PR #8874, issue #3546: `x := y; x = 7` is rego_unsafe_var_error)
    case 'assign': return evaluable(k.right, isBound) && receivable(k.left, isBound)
    case 'somein': return evaluable(k.collection, isBound)
    // and, as OPA reorders closures (reorderBodyForClosures walks every's body too), once the
    // outer variables its body reads are bound: `every r in xs { r in allowed }; allowed = {...}`
    case 'every': return evaluable(k.collection, isBound) && everyFree(k).every(isBound)
  }
}

/** Outer variables an `every` body reads (its key, value and the body's own declarations are local). */
function everyFree (k: Extract<Expr['kind'], { type: 'every' }>): string[] {
  const names: string[] = []
  if (k.key !== undefined) termVars(k.key, names, false)
  termVars(k.value, names, false)
  const inner = withDeclared(new Set(names), k.body)
  const out: string[] = []
  for (const b of k.body) freeInExpr(b, inner, out)
  return outerFilter(out)
}

function unifiable (l: Term, r: Term, isBound: IsBound): boolean {
  // Two literals unify part by part, as OPA's safety unifier pairs them: arrays of one length
  // element by element, objects of one size by identical keys. Parts that do not pair bind
  // nothing (`{x: y} = {"a": 1}` leaves y unsafe), so their variables must be bound already.
  if (l.type === 'array' && r.type === 'array') {
    if (l.items.length !== r.items.length) return evaluable(l, isBound) && evaluable(r, isBound)
    // Pairs bind each other's variables, in whatever order they can (OPA's unifier marks vars
    // linked through another pair safe once one of them is: `[a, b] = [b, 1]` binds b, then a).
    const local = new Set<string>()
    const bound = (n: string): boolean => local.has(n) || isBound(n)
    const pending = l.items.map((x, i) => [x, r.items[i]!] as const)
    for (let progress = true; progress && pending.length > 0;) {
      progress = false
      for (let i = 0; i < pending.length; i++) {
        const [a, b] = pending[i]!
        if (!unifiable(a, b, bound)) continue
        pending.splice(i, 1)
        const vars: string[] = []
        termVars(a, vars, false); termVars(b, vars, false)
        for (const v of vars) local.add(v)
        progress = true
        break
      }
    }
    return pending.length === 0
  }
  if (l.type === 'object' && r.type === 'object') {
    if (l.entries.length !== r.entries.length) return evaluable(l, isBound) && evaluable(r, isBound)
    return l.entries.every(([k, v]) => {
      const other = r.entries.find(([k2]) => sameKey(k, k2))
      return other === undefined ? evaluable(k, isBound) && evaluable(v, isBound) : unifiable(v, other[1], isBound)
    }) && r.entries.every(([k, v]) => l.entries.some(([k2]) => sameKey(k, k2)) || (evaluable(k, isBound) && evaluable(v, isBound)))
  }
  return (evaluable(l, isBound) && receivable(r, isBound)) || (evaluable(r, isBound) && receivable(l, isBound))
}

/** Identical object keys, as written: the same scalar, or the same variable. */
function sameKey (a: Term, b: Term): boolean {
  if (a.type === 'var' || b.type === 'var') return a.type === 'var' && b.type === 'var' && a.name === b.name
  const x = groundKey(a)
  return x !== undefined && x === groundKey(b)
}

function groundKey (t: Term): string | undefined {
  switch (t.type) {
    case 'null': return 'null'
    case 'boolean': return String(t.value)
    case 'number': return 'n' + t.raw
    case 'string': return JSON.stringify(t.value)
  }
  return undefined
}

/** A term is receivable when it can be matched against a value: vars, scalars, patterns. */
function receivable (t: Term, isBound: IsBound): boolean {
  switch (t.type) {
    case 'var': return true
    case 'array': return t.items.every(i => receivable(i, isBound))
    case 'object': return t.entries.every(([k, v]) => evaluable(k, isBound) && receivable(v, isBound))
    default: return evaluable(t, isBound)
  }
}

/** A term is evaluable when all variables in input positions are bound (ref keys may scan). */
function evaluable (t: Term, isBound: IsBound): boolean {
  switch (t.type) {
    case 'null': case 'boolean': case 'number': case 'string': return true
    case 'var': return isBound(t.name)
    case 'ref': {
      if (t.head.type === 'var') { if (!isBound(t.head.name)) return false } else if (!evaluable(t.head, isBound)) return false
      return t.path.every(k => k.type === 'var' || ((k.type === 'array' || k.type === 'object') && receivable(k, isBound)) || evaluable(k, isBound))
    }
    case 'array': case 'set':
      return t.items.every(i => evaluable(i, isBound)) || withRefBindings(t, isBound, (b) => t.items.every(i => evaluable(i, b)))
    case 'object': {
      const all = (b: IsBound): boolean => t.entries.every(([k, v]) => evaluable(k, b) && evaluable(v, b))
      return all(isBound) || withRefBindings(t, isBound, all)
    }
    case 'call':
      if (t.args.every(a => evaluable(a, isBound)) || callWithOutput(t, isBound)) return true
      // A variable a reference in the arguments iterates over binds it for the whole call, as
      // in OPA (`x == input.xs[x]`: the reference runs first, whatever side it is on)
      return withRefBindings(t, isBound, (b) => t.args.every(a => evaluable(a, b)))
    case 'arraycompr': case 'setcompr': case 'objectcompr':
      return comprFree(t).every(isBound)
  }
}

/** `check` with the variables that references inside `t` iterate over counted as bound: the
 *  planner evaluates those references first (OPA pulls them out of the term before it), so
 *  `[k, obj[k]]` and `concat(":", [k, obj[k]])` bind k. */
function withRefBindings (t: Term, isBound: IsBound, check: (b: IsBound) => boolean): boolean {
  const binds = new Set<string>()
  refKeyVars(t, binds)
  if (binds.size === 0) return false
  return check((n: string): boolean => isBound(n) || binds.has(n))
}

/** Variables that are keys of references in a term (not inside comprehensions): a reference
 *  iterates over them. */
export function refKeyVars (t: Term, out: Set<string>): void {
  switch (t.type) {
    case 'ref': refKeyVars(t.head, out); for (const k of t.path) { if (k.type === 'var') out.add(k.name); else refKeyVars(k, out) } return
    case 'array': case 'set': t.items.forEach(i => refKeyVars(i, out)); return
    case 'object': t.entries.forEach(([a, b]) => { refKeyVars(a, out); refKeyVars(b, out) }); return
    case 'call': t.args.forEach(a => refKeyVars(a, out))
  }
}

/** `f(x, out)` where only the last argument is unbound: the output form. A call given as many
 *  arguments as it takes has none (`s = upper(v)`: v is an input, bound by another expression,
 *  which then goes first, as OPA orders it). */
function callWithOutput (t: Extract<Term, { type: 'call' }>, isBound: IsBound): boolean {
  if (t.args.length < 1) return false
  const arity = arityOf?.(t)
  if (arity !== undefined && t.args.length !== arity + 1) return false
  const last = t.args[t.args.length - 1]
  return t.args.slice(0, -1).every(a => evaluable(a, isBound)) && receivable(last, isBound)
}

/** Outer variables a comprehension reads: bound names only matter; locals inside are free. */
function comprFree (t: Term): string[] {
  // Vars in the comprehension that are bound outside must be bound first. A name declared
  // inside the comprehension (`some x`, `some x in xs`, `x := ...`, an `every` variable) is
  // a new local there, whatever the enclosing body calls x, so it never waits for the outer one.
  const out: string[] = []
  freeInTerm(t, new Set(), out)
  return outerFilter(out)
}

function freeInTerm (x: Term, local: ReadonlySet<string>, out: string[]): void {
  switch (x.type) {
    case 'var': if (!local.has(x.name)) out.push(x.name); return
    case 'ref': freeInTerm(x.head, local, out); x.path.forEach(p => freeInTerm(p, local, out)); return
    case 'array': case 'set': x.items.forEach(i => freeInTerm(i, local, out)); return
    case 'object': x.entries.forEach(([a, b]) => { freeInTerm(a, local, out); freeInTerm(b, local, out) }); return
    case 'call': x.args.forEach(a => freeInTerm(a, local, out)); return
    case 'arraycompr': case 'setcompr': case 'objectcompr': {
      const inner = withDeclared(local, x.body)
      if (x.type === 'objectcompr') { freeInTerm(x.key, inner, out); freeInTerm(x.value, inner, out) } else freeInTerm(x.term, inner, out)
      for (const e of x.body) freeInExpr(e, inner, out)
    }
  }
}

function freeInExpr (e: Expr, local: ReadonlySet<string>, out: string[]): void {
  const k = e.kind
  switch (k.type) {
    case 'term': freeInTerm(k.term, local, out); break
    case 'unify': case 'assign': freeInTerm(k.left, local, out); freeInTerm(k.right, local, out); break
    case 'somein':
      if (k.key !== undefined) freeInTerm(k.key, local, out)
      freeInTerm(k.value, local, out); freeInTerm(k.collection, local, out); break
    case 'every': {
      freeInTerm(k.collection, local, out)
      const names: string[] = []
      if (k.key !== undefined) termVars(k.key, names, false)
      termVars(k.value, names, false)
      const inner = withDeclared(new Set([...local, ...names]), k.body)
      for (const b of k.body) freeInExpr(b, inner, out)
      break
    }
    case 'some': break
  }
  for (const w of e.with) freeInTerm(w.value, local, out)
}

/** `local` plus the names a body declares for itself: `some x`, `some k, v in xs`, `x := ...`. */
function withDeclared (local: ReadonlySet<string>, body: Expr[]): Set<string> {
  const out = new Set(local)
  for (const e of body) {
    const k = e.kind
    const names: string[] = []
    if (k.type === 'some') for (const v of k.vars) names.push(v.name)
    else if (k.type === 'somein') { if (k.key !== undefined) forEachPatternVar(k.key, n => names.push(n)); forEachPatternVar(k.value, n => names.push(n)) } else if (k.type === 'assign') termVars(k.left, names, false)
    for (const n of names) out.add(n)
  }
  return out
}

// Comprehension free-variable filtering needs the scope; the planner passes it through
// this hook before analysing a body (set per call, single-threaded).
let outerNames: ((n: string) => boolean) | null = null
export function withOuterNames<T> (pred: (n: string) => boolean, fn: () => T): T {
  const saved = outerNames
  outerNames = pred
  try { return fn() } finally { outerNames = saved }
}
function outerFilter (names: string[]): string[] {
  const p = outerNames
  return p === null ? [] : names.filter(p)
}

/**
 * The variables `some <key>, <value> in xs` declares: those of its patterns (a variable, or
 * variables inside arrays and objects), not those of a reference, which is compared with each
 * element as it is (OPA rewrites `some input.cmd in xs` to `input.cmd = xs[_]` and declares
 * only the output variables of that equality).
 */
export function forEachPatternVar (t: Term, cb: (name: string) => void): void {
  switch (t.type) {
    case 'var': cb(t.name); return
    case 'array': case 'set': t.items.forEach(x => forEachPatternVar(x, cb)); return
    case 'object': t.entries.forEach(([a, b]) => { forEachPatternVar(a, cb); forEachPatternVar(b, cb) })
  }
}

function termVars (t: Term, out: string[], deep: boolean): void {
  switch (t.type) {
    case 'var': out.push(t.name); return
    case 'ref': termVars(t.head, out, deep); t.path.forEach(x => termVars(x, out, deep)); return
    case 'array': case 'set': t.items.forEach(x => termVars(x, out, deep)); return
    case 'object': t.entries.forEach(([a, b]) => { termVars(a, out, deep); termVars(b, out, deep) }); return
    case 'call': t.args.forEach(x => termVars(x, out, deep)); return
    case 'arraycompr': case 'setcompr':
      if (deep) { termVars(t.term, out, deep); t.body.forEach(e => out.push(...allVars(e))) }
      return
    case 'objectcompr':
      if (deep) { termVars(t.key, out, deep); termVars(t.value, out, deep); t.body.forEach(e => out.push(...allVars(e))) }
  }
}

/** Variables bound once the expression has succeeded. */
function exprVars (e: Expr): string[] {
  const out: string[] = []
  const k = e.kind
  switch (k.type) {
    case 'term': termVars(k.term, out, false); break
    case 'unify': case 'assign': termVars(k.left, out, false); termVars(k.right, out, false); break
    case 'somein':
      if (k.key !== undefined) termVars(k.key, out, false)
      termVars(k.value, out, false); termVars(k.collection, out, false); break
    case 'every': termVars(k.collection, out, false); break
    case 'some': break
  }
  return out
}

function allVars (e: Expr): string[] {
  const out: string[] = []
  const k = e.kind
  switch (k.type) {
    case 'term': termVars(k.term, out, true); break
    case 'unify': case 'assign': termVars(k.left, out, true); termVars(k.right, out, true); break
    case 'somein':
      if (k.key !== undefined) termVars(k.key, out, true)
      termVars(k.value, out, true); termVars(k.collection, out, true); break
    case 'every':
      termVars(k.collection, out, true)
      k.body.forEach(b => out.push(...allVars(b)))
      break
    case 'some': break
  }
  for (const w of e.with) termVars(w.value, out, true)
  return out
}

function exprInputs (e: Expr): Array<{ name: string; loc: Loc }> {
  const out: Array<{ name: string; loc: Loc }> = []
  const visit = (t: Term): void => {
    switch (t.type) {
      case 'var': out.push({ name: t.name, loc: t.loc }); return
      case 'ref': visit(t.head); t.path.forEach(visit); return
      case 'array': case 'set': t.items.forEach(visit); return
      case 'object': t.entries.forEach(([a, b]) => { visit(a); visit(b) }); return
      case 'call': t.args.forEach(visit)
    }
  }
  const k = e.kind
  switch (k.type) {
    case 'term': visit(k.term); break
    case 'unify': case 'assign': visit(k.left); visit(k.right); break
    case 'somein': visit(k.collection); break
    case 'every': visit(k.collection); break
    case 'some': break
  }
  // a `with` reads its target's keys and its value first (the unsafe report names those)
  const withs: Array<{ name: string; loc: Loc }> = []
  const own = out.splice(0)
  for (const w of e.with) {
    if (w.target.type === 'ref') w.target.path.forEach(visit)
    visit(w.value)
  }
  withs.push(...out.splice(0))
  return [...withs, ...own]
}
