// Type checker: the pass between parsing and planning that infers the type of every term from
// the builtin table's signatures, the way OPA's type checker (ast/check.go) does, and reports
// rego_type_error diagnostics worded as OPA words them:
//
//   p.rego:5:8: rego_type_error: count: invalid argument(s)
//   	have: (number, ???)
//   	want: (any<string, array[any], object[any: any], set[any]>, number)
//
// What it infers: literals and composites; builtin results; rule types (the union of every
// definition's head, default and else values; set[...] for partial sets, object[...] for
// partial objects); function types (arguments as the body uses them, the result as the head);
// variables from the first expression that types them, in the order the planner evaluates the
// body (safety order); comprehensions; `some ... in` and `every` variables from their
// collection's keys and values. `input` and data outside the rules are `any`.
//
// It must never reject a valid policy: anything it does not know is `any`, which unifies with
// everything, and a type is only as specific as the expressions that produced it. Errors it
// reports: invalid builtin/function arguments (and results bound to an output variable), too
// many/few arguments, unification of incompatible types ("match error"), and references into
// a value that cannot have that key ("undefined ref", e.g. a key a literal object lacks or a
// field of a number). Undefined functions, arity of user functions and unsafe variables are the
// planner's (and reported as before).
import type { Body, Expr, Loc, Module, Rule, Term } from '../ast/index.js'
import { builtinDecl, type BuiltinDecl, type RegoType } from '../builtins.js'
import type { Diagnostic } from '../diagnostics.js'
import { Diagnostics } from '../diagnostics.js'
import { groundValue, mapExprTerms, renameTerm } from '../planner/index.js'
import { analyseBody, withOuterNames } from '../planner/safety.js'
import { buildTree, findNode, type ModuleCtx, packageRuleNames, type RuleEntry, type TreeNode } from '../planner/tree.js'
import {
  ANY, anyOf, arrayOf, BOOLEAN, isTop, keysOf, NULL, NUMBER, objectOf, or, select, setOf, STRING, type Type,
  typeOfValue, typeString, unifies, valuesOf,
} from './types.js'

export { typeString } from './types.js'

export interface CheckInput {
  modules: Module[]
  /** an ad-hoc query (eval, tests): checked as a body without a package */
  query?: Body
}

/** Type checks modules (and a query); returns rego_type_error diagnostics. */
export function checkTypes (input: CheckInput): Diagnostic[] {
  const c = new Checker(input.modules)
  c.run(input.query)
  return c.diags.list
}

/**
 * The type checker's and the planner's diagnostics together, as OPA's compiler stages would
 * report them: unsafe variables and recursion stop compilation before types are checked
 * (type errors in an unsafe body would be noise); otherwise every error, the planner's
 * duplicates of type errors (e.g. too many arguments) dropped, in source order.
 */
export function combineDiagnostics (typeErrors: Diagnostic[], planned: Diagnostic[]): Diagnostic[] {
  if (planned.some(d => d.code === 'rego_unsafe_var_error' || d.code === 'rego_recursion_error')) return planned
  const key = (d: Diagnostic): string => `${d.loc.file}:${d.loc.line}:${d.loc.col}:${d.message}`
  const seen = new Set(typeErrors.map(key))
  return sortDiagnostics([...typeErrors, ...planned.filter(d => !seen.has(key(d)))])
}

/** Diagnostics in source order (file, line, column); stable otherwise. */
export function sortDiagnostics (list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => (a.loc.file < b.loc.file ? -1 : a.loc.file > b.loc.file ? 1 : 0) || a.loc.line - b.loc.line || a.loc.col - b.loc.col)
}

interface FuncType { args: Type[]; result: Type }

type RuleKind = 'complete' | 'set' | 'object' | 'function'

const WILDCARD = '$_'

/** A lexical scope of variables: a rule body, a comprehension or an `every` body. */
class Scope {
  readonly types = new Map<string, Type>()
  /** names this scope declares for itself (some, :=, every variables, function arguments) */
  readonly declared = new Set<string>()
  /** names of this scope that the expressions checked so far bind */
  readonly bound = new Set<string>()
  /** every local variable name of this scope */
  readonly locals = new Set<string>()
  constructor (readonly parent: Scope | null) {}

  /** the scope that owns local `name`, if any */
  owner (name: string): Scope | null {
    for (let s: Scope | null = this; s !== null; s = s.parent) {
      if (s.declared.has(name) || s.locals.has(name)) return s
    }
    return null
  }

  get (name: string): Type {
    for (let s: Scope | null = this; s !== null; s = s.parent) {
      if (s.types.has(name)) return s.types.get(name)
      if (s.declared.has(name) || s.locals.has(name)) return undefined
    }
    return undefined
  }

  /** types a variable here (OPA puts first types in the innermost environment) */
  put (name: string, t: Type): void { this.types.set(name, t) }
}

interface BodyCtx { ctx: ModuleCtx; scope: Scope }

class Checker {
  readonly diags = new Diagnostics()
  readonly root: TreeNode
  readonly ruleNames = new Map<string, Set<string>>()
  readonly nodeTypes = new Map<TreeNode, Type | 'busy'>()
  readonly funcTypes = new Map<TreeNode, FuncType | 'busy'>()
  /** result types of call and comprehension terms already checked (each is checked once) */
  readonly termTypes = new WeakMap<Term, Type>()
  readonly reported = new Set<string>()
  wildcards = 0

  constructor (modules: Module[]) {
    // the planner reports what is wrong with the tree itself (imports, conflicts)
    const { root } = buildTree(modules, new Diagnostics())
    this.root = root
  }

  run (query?: Body): void {
    const visit = (n: TreeNode): void => {
      if (n.hasRules) {
        if (n.isFunction) this.funcType(n)
        else this.nodeType(n)
      }
      for (const c of n.children.values()) visit(c)
    }
    visit(this.root)
    if (query !== undefined) {
      const module: Module = { file: '<query>', package: { path: [], loc: { file: '<query>', line: 1, col: 1 } }, imports: [], rules: [] }
      const ctx: ModuleCtx = { module, pkg: [], imports: new Map() }
      this.checkBody(query, { ctx, scope: new Scope(null) })
    }
  }

  error (loc: Loc, message: string, details?: string[]): void {
    const key = `${loc.file}:${loc.line}:${loc.col}:${message}`
    if (this.reported.has(key)) return
    this.reported.add(key)
    this.diags.list.push({ code: 'rego_type_error', message, loc, ...(details !== undefined ? { details } : {}) })
  }

  ruleNamesOf (pkg: string[]): Set<string> {
    const key = pkg.join('\u0000')
    let s = this.ruleNames.get(key)
    if (s === undefined) this.ruleNames.set(key, (s = packageRuleNames(this.root, pkg)))
    return s
  }

  // ---- rules ----

  kindOf (n: TreeNode): RuleKind {
    if (n.isFunction) return 'function'
    if (n.rules.some(r => r.keyPath.length > 0)) return 'object'
    if (n.rules.some(r => r.rule.key !== undefined && r.rule.value === undefined)) return 'set'
    return 'complete'
  }

  /** The type of a (non-function) rule group: the union of its definitions. */
  nodeType (n: TreeNode): Type {
    const known = this.nodeTypes.get(n)
    if (known === 'busy') return ANY // recursion: the planner reports it
    if (known !== undefined || this.nodeTypes.has(n)) return known as Type
    this.nodeTypes.set(n, 'busy')
    const kind = this.kindOf(n)
    let t: Type
    let failed = false
    for (const entry of [...n.rules, ...n.defaults]) {
      for (let r: Rule | undefined = entry.rule; r !== undefined; r = r.else) {
        const res = this.checkRule(entry, r, kind)
        if (res === null) { failed = true; continue }
        t = or(t, res.value)
      }
    }
    const out = failed || t === undefined ? ANY : t
    this.nodeTypes.set(n, out)
    return out
  }

  funcType (n: TreeNode): FuncType {
    const known = this.funcTypes.get(n)
    const arity = n.arity
    const unknown: FuncType = { args: new Array<Type>(arity).fill(ANY), result: ANY }
    if (known === 'busy') return unknown
    if (known !== undefined) return known
    this.funcTypes.set(n, 'busy')
    let args: Type[] | undefined
    let result: Type
    let failed = false
    for (const entry of [...n.rules, ...n.defaults]) {
      if ((entry.rule.args?.length ?? -1) !== arity) { failed = true; continue } // the planner reports it
      for (let r: Rule | undefined = entry.rule; r !== undefined; r = r.else) {
        const res = this.checkRule(entry, { ...r, args: entry.rule.args }, 'function')
        if (res === null || res.args === undefined) { failed = true; continue }
        args = args === undefined ? res.args : args.map((a, i) => or(a, res.args?.[i]))
        result = or(result, res.value)
      }
    }
    const out: FuncType = failed || args === undefined ? unknown : { args: args.map(a => a ?? ANY), result: result ?? ANY }
    this.funcTypes.set(n, out)
    return out
  }

  /** Checks one definition; its head's type (value, or set/object of it), or null on errors. */
  checkRule (entry: RuleEntry, rule: Rule, kind: RuleKind): { value: Type; args?: Type[] } | null {
    const scope = new Scope(null)
    const bc: BodyCtx = { ctx: entry.ctx, scope }
    const args = (rule.args ?? []).map(a => this.renameWildcards(a))
    for (const a of args) {
      forEachVarName(a, n => { scope.declared.add(n); scope.bound.add(n) })
    }
    const before = this.diags.list.length
    const heads: Term[] = []
    if (kind === 'object') heads.push(...entry.keyPath)
    if (rule.key !== undefined) heads.push(rule.key)
    if (rule.value !== undefined) heads.push(rule.value)
    this.checkBody(rule.body, bc, heads)
    if (this.diags.list.length > before) return null
    const typeOf = (t: Term | undefined, dflt: Type): Type => t === undefined ? dflt : this.typeOf(t, bc)
    let value = this.headValueType(entry, rule, kind, bc, typeOf)
    // an argument neither the body nor the head types is any ([x] is array[any], not an array
    // of nothing: a caller indexing the result through an output argument, fn(1, y); y[0], is fine)
    let untyped = false
    for (const a of args) forEachVarName(a, n => { if (scope.get(n) === undefined) { scope.put(n, ANY); untyped = true } })
    if (untyped) value = this.headValueType(entry, rule, kind, bc, typeOf)
    if (this.diags.list.length > before) return null
    // arguments last: calls in the head (f(x) := x + 1) type them too
    const argTypes = kind === 'function'
      ? args.map(a => a.type === 'var' ? (scope.get(a.name) ?? ANY) : (this.typeOf(a, bc) ?? ANY))
      : undefined
    return { value: value ?? ANY, ...(argTypes !== undefined ? { args: argTypes } : {}) }
  }

  /** The type a definition's head gives its document (value, or set/object of it). */
  headValueType (entry: RuleEntry, rule: Rule, kind: RuleKind, bc: BodyCtx, typeOf: (t: Term | undefined, dflt: Type) => Type): Type {
    let value: Type
    switch (kind) {
      case 'function':
      case 'complete':
        value = typeOf(rule.value, BOOLEAN)
        break
      case 'set':
        value = setOf(typeOf(rule.key, ANY) ?? ANY)
        break
      case 'object': {
        // p[k] := v / p.q[k] contains v: objects keyed by the dynamic head terms
        let inner: Type = rule.key !== undefined ? (rule.value === undefined ? setOf(typeOf(rule.key, ANY) ?? ANY) : ANY) : typeOf(rule.value, BOOLEAN)
        for (let i = entry.keyPath.length - 1; i >= 0; i--) {
          const k = this.typeOf(entry.keyPath[i], bc)
          inner = k === undefined || inner === undefined ? ANY : objectOf(k, inner)
        }
        value = inner
        break
      }
    }
    return value
  }

  // ---- bodies ----

  renameWildcards (t: Term): Term {
    return renameTerm(t, () => `${WILDCARD}${this.wildcards++}`)
  }

  /** Checks a body in `bc.scope` (a fresh scope the caller made), in the planner's order. */
  checkBody (body: Body, bc: BodyCtx, heads: Term[] = []): void {
    const scope = bc.scope
    const exprs = body.map(e => mapExprTerms(e, t => this.renameWildcards(t)))
    for (const e of exprs) for (const n of declaredBy(e)) scope.declared.add(n)
    // every other variable name that is not a rule, an import, input or data is a local
    const note = (name: string): void => {
      if (scope.declared.has(name)) return
      if (scope.parent?.owner(name) != null) return // captured from an enclosing body
      if (!this.isRefName(name, bc.ctx)) scope.locals.add(name)
    }
    for (const e of exprs) forEachExprVarName(e, note)
    for (const h of heads) forEachVarName(this.renameWildcards(h), note)
    const order = this.order(exprs, bc)
    for (const e of order) {
      this.checkExpr(e, bc)
      if (!e.negated) forEachExprVarName(e, n => { if (scope.owner(n) === scope) scope.bound.add(n) })
    }
  }

  /** The planner's evaluation order (source order when the body is unsafe: the planner
   *  reports that). */
  order (exprs: Expr[], bc: BodyCtx): Expr[] {
    const scope = bc.scope
    const outer = (n: string): boolean => scope.parent?.owner(n) != null
    const outerBound = (n: string): boolean => {
      const o = scope.parent?.owner(n)
      return o != null && o.bound.has(n)
    }
    try {
      const r = withOuterNames(n => outer(n) || scope.declared.has(n) || scope.locals.has(n), () => analyseBody(exprs, {
        isBound: (name) => {
          if (scope.declared.has(name) || scope.locals.has(name)) return scope.bound.has(name)
          if (outer(name)) return outerBound(name)
          return true
        },
        isLocal: (name) => scope.owner(name) !== null,
        isCallable: (t) => this.callTarget(t, bc) !== null,
        callArity: (t) => {
          const c = this.callTarget(t.name, bc)
          if (c === null) return undefined
          if ('node' in c) return c.node.arity
          return c.decl.variadic !== undefined ? undefined : c.decl.args.length
        },
      }))
      return r.unsafe.length > 0 ? exprs : r.exprs
    } catch {
      return exprs
    }
  }

  isRefName (name: string, ctx: ModuleCtx): boolean {
    if (name === 'input' || name === 'data') return true
    if (ctx.imports.has(name)) return true
    return ctx.pkg.length > 0 && this.ruleNamesOf(ctx.pkg).has(name)
  }

  checkExpr (e: Expr, bc: BodyCtx): void {
    for (const w of e.with) {
      const value = this.callTarget(w.value, bc) ?? this.builtinValue(w.value, bc)
      if (value === null) this.typeOf(w.value, bc)
      else this.checkWithFunction(w, value, bc)
    }
    const k = e.kind
    switch (k.type) {
      case 'some': return
      case 'term':
        if (k.term.type === 'call') this.checkCall(k.term, bc, true)
        else this.typeOf(k.term, bc)
        return
      case 'unify':
      case 'assign':
        this.checkEq(k.left, k.right, bc, e.loc)
        return
      case 'somein': {
        const c = this.typeOf(k.collection, bc)
        if (k.key !== undefined) this.unify1(k.key, keysOf(c) ?? ANY, bc, false)
        this.unify1(k.value, valuesOf(c) ?? ANY, bc, false)
        return
      }
      case 'every': {
        const c = this.typeOf(k.collection, bc)
        const inner = new Scope(bc.scope)
        const ibc: BodyCtx = { ctx: bc.ctx, scope: inner }
        const pats = [k.key, k.value].filter((t): t is Term => t !== undefined).map(t => this.renameWildcards(t))
        for (const p of pats) forEachVarName(p, n => { inner.declared.add(n); inner.bound.add(n) })
        if (k.key !== undefined) this.unify1(pats[0], keysOf(c) ?? ANY, ibc, false)
        this.unify1(pats[pats.length - 1], valuesOf(c) ?? ANY, ibc, false)
        this.checkBody(k.body, ibc)
      }
    }
  }

  // ---- terms ----

  /** The type of a term (checking the calls, comprehensions and refs inside it). */
  typeOf (t: Term, bc: BodyCtx): Type {
    switch (t.type) {
      case 'null': return NULL
      case 'boolean': return BOOLEAN
      case 'number': return NUMBER
      case 'string': return STRING
      case 'var': {
        if (t.name === '_') return undefined
        if (bc.scope.owner(t.name) !== null) return bc.scope.get(t.name)
        const r = this.refType({ type: 'ref', head: t, path: [], loc: t.loc }, bc)
        return r
      }
      case 'ref': return this.refType(t, bc)
      case 'array': {
        const items = t.items.map(i => this.typeOf(i, bc))
        return items.length === 0 ? arrayOf(ANY) : { type: 'array', static: items as RegoType[] }
      }
      case 'set': {
        let of: Type
        for (const i of t.items) of = or(of, this.typeOf(i, bc))
        return setOf(of ?? ANY)
      }
      case 'object': {
        const statics: Array<{ key: string; value: RegoType }> = []
        let dk: Type
        let dv: Type
        let dynamic = false
        for (const [k, v] of t.entries) {
          if (k.type === 'string') { statics.push({ key: k.value, value: this.typeOf(v, bc) as RegoType }); continue }
          dynamic = true
          dk = or(dk, this.typeOf(k, bc))
          dv = or(dv, this.typeOf(v, bc))
        }
        if (statics.length === 0 && !dynamic) return objectOf(ANY, ANY)
        return {
          type: 'object',
          ...(statics.length > 0 ? { static: statics } : {}),
          ...(dynamic ? { dynamic: { key: dk as RegoType, value: dv as RegoType } } : {}),
        }
      }
      case 'arraycompr':
      case 'setcompr':
      case 'objectcompr': {
        if (this.termTypes.has(t)) return this.termTypes.get(t)
        const inner = new Scope(bc.scope)
        const ibc: BodyCtx = { ctx: bc.ctx, scope: inner }
        const before = this.diags.list.length
        const heads = t.type === 'objectcompr' ? [t.key, t.value] : [t.term]
        this.checkBody(t.body, ibc, heads)
        let r: Type
        if (this.diags.list.length > before) r = undefined
        else if (t.type === 'arraycompr') r = arrayOf(this.typeOf(t.term, ibc) ?? ANY)
        else if (t.type === 'setcompr') r = setOf(this.typeOf(t.term, ibc) ?? ANY)
        else r = objectOf(this.typeOf(t.key, ibc) ?? ANY, this.typeOf(t.value, ibc) ?? ANY)
        this.termTypes.set(t, r)
        return r
      }
      case 'call': {
        if (this.termTypes.has(t)) return this.termTypes.get(t)
        const r = this.checkCall(t, bc, false)
        this.termTypes.set(t, r)
        return r
      }
    }
  }

  /** The type a reference evaluates to. */
  refType (t: Extract<Term, { type: 'ref' }>, bc: BodyCtx): Type {
    const head = t.head
    if (head.type !== 'var') {
      // A literal's type is exact, so a key it cannot have is an error, as in OPA ([1, 2]["a"],
      // {"a": 1}.b: "undefined ref"); a call's result type may be wider than ours: no errors.
      const literal = LITERAL_HEADS.has(head.type)
      return this.selectPath(this.typeOf(head, bc), t.path, bc, t, 0, !literal)
    }
    const name = head.name
    if (bc.scope.owner(name) !== null) {
      let base = bc.scope.get(name)
      if (base === undefined && t.path.length > 0) {
        // an untyped variable used as a reference's head is any from here on (as OPA)
        base = ANY
        bc.scope.put(name, base)
      }
      return this.selectPath(base, t.path, bc, t, 0)
    }
    const dataRef = (path: Term[]): Term => ({ type: 'ref', head: { type: 'var', name: 'data', loc: head.loc }, path, loc: t.loc })
    const imp = bc.ctx.imports.get(name)
    if (imp !== undefined) {
      if (imp.root === 'input') return this.selectPath(ANY, [...imp.path, ...t.path], bc, t, 0, true)
      const path = [...imp.path, ...t.path]
      return this.dataType(path, bc, dataRef(path))
    }
    if (name === 'input') return this.selectPath(ANY, t.path, bc, t, 0, true)
    if (name === 'data') return this.dataType(t.path, bc, t)
    if (bc.ctx.pkg.length > 0 && this.ruleNamesOf(bc.ctx.pkg).has(name)) {
      const loc = head.loc
      const path = [...bc.ctx.pkg.map(s => ({ type: 'string', value: s, loc }) as Term), { type: 'string', value: name, loc } as Term, ...t.path]
      return this.dataType(path, bc, dataRef(path))
    }
    // an unknown name that is not a local (the planner reports it)
    return ANY
  }

  /** The type under data.<path>: rules' types through the rule tree, any beyond it. */
  dataType (path: Term[], bc: BodyCtx, ref: Term): Type {
    let node = this.root
    let i = 0
    while (i < path.length) {
      const k = path[i]
      if (k.type !== 'string') break
      const child = node.children.get(k.value)
      if (child === undefined) break
      node = child
      i++
      if (node.hasRules) {
        if (node.isFunction) return ANY // the planner reports a function used as a value
        // a rule group with rules below it (ref heads) is a merged document: any
        const base = node.children.size > 0 ? ANY : this.nodeType(node)
        return this.selectPath(base, path.slice(i), bc, ref, i)
      }
    }
    // a package prefix (or base data): any, whatever the key (OPA reads data[2] as data["2"]:
    // its dataderef cases); type the remaining keys' variables
    return this.selectPath(ANY, path.slice(i), bc, ref, i, true)
  }

  /** Applies reference keys to a type; reports keys a known type cannot have. */
  selectPath (base: Type, path: Term[], bc: BodyCtx, ref: Term, offset: number, noErrors = false): Type {
    let cur = base
    for (let i = 0; i < path.length; i++) {
      const k = path[i]
      if (cur === undefined) {
        for (const rest of path.slice(i)) this.typeKey(rest, ANY, bc)
        return undefined
      }
      const g = k.type === 'string' || k.type === 'number' || k.type === 'boolean' || k.type === 'null' ? groundValue(k) : undefined
      if (g !== undefined) {
        if (isTop(cur)) { cur = ANY; continue }
        const keyValue = typeof g === 'object' && g !== null && 'raw' in (g as object) ? Number((g as { raw: string }).raw) : g
        const next = select(cur, keyValue)
        if (next === undefined) {
          if (!noErrors) this.refError(ref, offset + i, cur, keyValue)
          return ANY
        }
        cur = next
        continue
      }
      const keys = keysOf(cur)
      if (keys === undefined) {
        if (!noErrors) this.refError(ref, offset + i, cur, undefined)
        this.typeKey(k, ANY, bc)
        return ANY
      }
      // a variable already typed must be a key the value can have (OPA's checkRefLeaf:
      // `k := 1; obj[k]` into an object of string keys is an undefined ref)
      if (k.type === 'var' && k.name !== '_' && bc.scope.owner(k.name) !== null) {
        const exist = bc.scope.get(k.name)
        if (exist !== undefined && !isTop(cur) && !unifies(exist, keys)) {
          if (!noErrors) this.refErrorType(ref, offset + i, cur, exist)
          return ANY
        }
      }
      // a composite or a reference key is checked too (OPA's checkRefLeaf: `[1, 2]` or `arr[0]`
      // into an object of string keys is an undefined ref)
      if (!this.typeKey(k, keys, bc) && !isTop(cur)) {
        if (!noErrors) this.refErrorType(ref, offset + i, cur, (this.typeOf(k, bc) ?? ANY) as RegoType)
        return ANY
      }
      cur = isTop(cur) ? ANY : valuesOf(cur)
    }
    return cur
  }

  /** Types a non-constant reference key against the keys of what it indexes. */
  /** Types a key's variables from the keys a value can have; false when the key (a composite
   *  or a reference, typed) cannot be one of them. */
  typeKey (k: Term, keys: RegoType, bc: BodyCtx): boolean {
    if (k.type === 'var') {
      if (k.name === '_' || bc.scope.owner(k.name) === null) { this.typeOf(k, bc); return true }
      if (bc.scope.get(k.name) === undefined) bc.scope.put(k.name, keys)
      return true
    }
    if (k.type === 'array' || k.type === 'object' || k.type === 'set') return this.unify1(k, keys, bc, false)
    const kt = this.typeOf(k, bc)
    return kt === undefined || unifies(kt, keys)
  }

  refError (ref: Term, index: number, have: RegoType, key: unknown): void {
    // OPA reports a key a known type cannot have (undefined ref), with the reference
    const text = refText(ref)
    if (text === null) return
    const prefix = refText(ref, index) ?? text
    if (key === undefined || keysOf(have) === undefined) {
      this.error(ref.loc, `undefined ref: ${text}`, [text, '^'.repeat(prefix.length), `have: ${typeString(have)}`])
      return
    }
    const pad = ' '.repeat(prefix.length + 1)
    const oneOf = have.type === 'object' && have.dynamic === undefined && (have.static ?? []).length > 0
      ? `want (one of): [${(have.static ?? []).map(s => JSON.stringify(s.key)).sort().join(' ')}]`
      : `want (type): ${typeString(keysOf(have))}`
    this.error(ref.loc, `undefined ref: ${text}`, [text, pad + '^', `${pad}have: ${JSON.stringify(key)}`, pad + oneOf])
  }

  /** A variable key whose type the value's keys do not have (OPA's RefErrInvalidDetail with a have type). */
  refErrorType (ref: Term, index: number, have: RegoType, keyType: RegoType): void {
    const text = refText(ref)
    if (text === null) return
    const prefix = refText(ref, index) ?? text
    const pad = ' '.repeat(prefix.length + 1)
    const oneOf = have.type === 'object' && have.dynamic === undefined && (have.static ?? []).length > 0
      ? `want (one of): [${(have.static ?? []).map(s => JSON.stringify(s.key)).sort().join(' ')}]`
      : `want (type): ${typeString(keysOf(have))}`
    this.error(ref.loc, `undefined ref: ${text}`, [text, pad + '^', `${pad}have (type): ${typeString(keyType)}`, pad + oneOf])
  }

  // ---- calls ----

  /** What a call name (or a `with` replacement) refers to: a user function or a builtin. */
  callTarget (t: Term | string, bc: BodyCtx): { node: TreeNode } | { decl: BuiltinDecl } | null {
    const name = typeof t === 'string' ? t : dottedName(t)
    if (name === null) return null
    const parts = name.split('.')
    if (bc.scope.owner(parts[0]) !== null) return null
    let path: string[] | null = null
    if (parts[0] === 'data') path = parts.slice(1)
    else {
      const imp = bc.ctx.imports.get(parts[0])
      if (imp !== undefined) {
        if (imp.root === 'data' && imp.path.every(x => x.type === 'string')) path = [...imp.path.map(x => (x as { value: string }).value), ...parts.slice(1)]
      } else if (bc.ctx.pkg.length > 0 && this.ruleNamesOf(bc.ctx.pkg).has(parts[0])) {
        path = [...bc.ctx.pkg, ...parts]
      }
    }
    if (path !== null) {
      const node = findNode(this.root, path)
      return node !== undefined && node.isFunction ? { node } : null
    }
    const decl = builtinDecl(name)
    if (decl === undefined || decl.impl.kind === 'none') return null
    return { decl }
  }

  /** A `with` value naming a builtin (`with count as concat`): a variable of the body only
   * by name, unless the body declares or binds it. */
  builtinValue (t: Term, bc: BodyCtx): { decl: BuiltinDecl } | null {
    // `with count as concat`, and a dotted one (`with http.send as array.concat`, whose head
    // `array` is a body variable only by name): its arity and arguments are checked too
    const name = dottedName(t)
    if (name === null) return null
    const head = name.split('.')[0]!
    for (let s: Scope | null = bc.scope; s !== null; s = s.parent) if (s.declared.has(head) || s.bound.has(head)) return null
    const decl = builtinDecl(name)
    return decl === undefined || decl.impl.kind === 'none' ? null : { decl }
  }

  /**
   * A function or builtin replaced by another (`with count as f`): OPA's checkExprWith wants
   * the same arity and arguments that unify pairwise (the results are not compared).
   */
  checkWithFunction (w: Expr['with'][number], value: NonNullable<ReturnType<Checker['callTarget']>>, bc: BodyCtx): void {
    const target = this.callTarget(w.target, bc)
    if (target === null) return
    const sig = (x: typeof target): { name: string; args: Type[]; names: readonly string[] } => 'node' in x
      ? { name: 'data.' + x.node.path.join('.'), args: this.funcType(x.node).args, names: [] }
      : { name: x.decl.name, args: [...x.decl.args], names: x.decl.argNames ?? [] }
    const t = sig(target)
    const v = sig(value)
    if (t.args.length === v.args.length && t.args.every((a, i) => unifies(a, v.args[i]!))) return
    const want = `(${t.args.map((a, i) => (t.names[i] !== undefined ? `${t.names[i]}: ` : '') + typeString(a)).join(', ')})`
    this.error(w.loc, `${t.name}: arity mismatch`, [`have: (${v.args.map(typeString).join(', ')})`, `want: ${want}`])
  }

  /**
   * Checks a call: each argument against the declared type, then the result against an
   * output argument (`f(x, out)`). `top` is a call that is an expression of its own (OPA
   * lists its operands as written); a nested call has an implicit output (???). Returns the
   * result type (any after an error).
   */
  checkCall (t: Extract<Term, { type: 'call' }>, bc: BodyCtx, top: boolean): Type {
    const before = this.diags.list.length
    const target = this.callTarget(t.name, bc)
    if (target === null) {
      for (const a of t.args) this.typeOf(a, bc)
      return ANY // undefined function, or one the planner rejects: reported there
    }
    let name: string
    let params: Type[]
    let result: Type
    let variadic: Type
    let comparison = false
    let names: readonly string[] = []
    if ('node' in target) {
      const ft = this.funcType(target.node)
      name = 'data.' + target.node.path.join('.')
      params = ft.args
      result = ft.result
    } else {
      const d = target.decl
      name = d.name
      params = [...d.args]
      result = d.result ?? undefined
      variadic = d.variadic
      comparison = d.comparison
      names = [...(d.argNames ?? []), ...(d.resultName !== undefined ? [d.resultName] : [])]
    }
    const hasResult = result !== undefined
    // operands as OPA's rewritten call has them: the arguments, then the output
    const operands: Array<Term | null> = [...t.args]
    if (!top && hasResult) operands.push(null) // the implicit output of a nested call
    const want = hasResult ? [...params, result] : [...params]
    for (const a of t.args) this.operandType(a, bc) // nested calls and refs first, left to right
    const have = (): string[] => operands.map(o => o === null ? '???' : typeString(this.operandType(o, bc)))
    // OPA prints a builtin's declared names with the types (x: number)
    const wantText = `(${want.map((w, i) => (names[i] !== undefined ? `${names[i]}: ` : '') + typeString(w)).join(', ')}${variadic !== undefined ? `${want.length > 0 ? ', ' : ''}${typeString(variadic)}...` : ''})`
    if (variadic === undefined) {
      const max = want.length
      // OPA checks the call as rewritten: a nested call's implicit output counts, so
      // `x := count(a, 2)` has one argument too many (as an expression of its own,
      // `count(a, 2)` unifies the count with 2)
      if (operands.length > max || (comparison && t.args.length > params.length)) {
        this.error(t.loc, `${name}: too many arguments`, [`have: (${have().join(', ')})`, `want: ${wantText}`])
        return ANY
      }
      if (t.args.length < params.length) {
        this.error(t.loc, `${name}: too few arguments`, [`have: (${have().join(', ')})`, `want: ${wantText}`])
        return ANY
      }
    }
    for (let i = 0; i < t.args.length; i++) {
      const p = i < want.length ? want[i] : variadic
      if (p === undefined) continue
      if (!this.unify1(t.args[i], p, bc, false)) {
        // an argument whose type is unknown because of an error inside it (a comprehension,
        // a reference) was reported there: this one would only repeat it (as OPA)
        const knownCause = this.diags.list.length > before && isNil(this.operandType(t.args[i], bc))
        if (!knownCause) this.error(t.loc, `${name}: invalid argument(s)`, [`have: (${have().join(', ')})`, `want: ${wantText}`])
        return ANY
      }
    }
    return result ?? ANY
  }

  /** An operand's type as the error's `have` shows it (after unification). */
  operandType (o: Term, bc: BodyCtx): Type {
    if (o.type === 'var' && bc.scope.owner(o.name) !== null) return bc.scope.get(o.name)
    return this.typeOf(o, bc)
  }

  // ---- unification (OPA's unify1 / unify2) ----

  /** Unifies a term with a type, typing the variables in it; false when they cannot unify. */
  unify1 (t: Term, tpe: Type, bc: BodyCtx, union: boolean): boolean {
    if (tpe === undefined) return false
    switch (t.type) {
      case 'array': {
        if (tpe.type === 'array') {
          const st = tpe.static ?? []
          if (t.items.length !== st.length && tpe.dynamic === undefined) return false
          return t.items.every((item, i) => this.unify1(item, i < st.length ? st[i] : tpe.dynamic, bc, union))
        }
        if (tpe.type === 'any') {
          if (isTop(tpe)) { for (const item of t.items) this.unify1(item, ANY, bc, true); return true }
          let ok = false
          for (const m of tpe.of ?? []) ok = this.unify1(t, m, bc, true) || ok
          return ok
        }
        return false
      }
      case 'object': {
        if (tpe.type === 'object') {
          const st = tpe.static ?? []
          if (t.entries.length !== st.length && tpe.dynamic === undefined) return false
          for (const [k, v] of t.entries) {
            const g = groundValue(k)
            if (g !== undefined && (typeof g !== 'object' || g === null)) {
              const child = select(tpe, g)
              if (child === undefined || !this.unify1(v, child, bc, union)) return false
            } else {
              this.unify1(v, ANY, bc, union)
            }
          }
          return true
        }
        if (tpe.type === 'any') {
          if (isTop(tpe)) { for (const [k, v] of t.entries) { this.unify1(k, ANY, bc, true); this.unify1(v, ANY, bc, true) } return true }
          let ok = false
          for (const m of tpe.of ?? []) ok = this.unify1(t, m, bc, true) || ok
          return ok
        }
        return false
      }
      case 'set': {
        if (tpe.type === 'set') { const of = valuesOf(tpe); return t.items.every(i => this.unify1(i, of, bc, union)) }
        if (tpe.type === 'any') {
          if (isTop(tpe)) { for (const i of t.items) this.unify1(i, ANY, bc, true); return true }
          let ok = false
          for (const m of tpe.of ?? []) ok = this.unify1(t, m, bc, true) || ok
          return ok
        }
        return false
      }
      case 'var': {
        if (t.name === '_') return true
        if (bc.scope.owner(t.name) === null) return unifies(this.typeOf(t, bc), tpe)
        const exist = bc.scope.get(t.name)
        if (!union) {
          if (exist !== undefined) return unifies(exist, tpe)
          bc.scope.put(t.name, tpe)
        } else {
          bc.scope.put(t.name, or(exist, tpe))
        }
        return true
      }
      default:
        return unifies(this.typeOf(t, bc), tpe)
    }
  }

  /** `a = b` / `a := b`: OPA's unify2, reporting a match error. */
  checkEq (a: Term, b: Term, bc: BodyCtx, loc: Loc): void {
    const before = this.diags.list.length
    const ta = this.typeOf(a, bc)
    const tb = this.typeOf(b, bc)
    if (!this.unify2(a, ta, b, tb, bc) && !(this.diags.list.length > before && (isNil(ta) || isNil(tb)))) {
      this.error(loc, 'match error', [`left  : ${typeString(this.typeOf(a, bc))}`, `right : ${typeString(this.typeOf(b, bc))}`])
    }
  }

  unify2 (a: Term, ta: Type, b: Term, tb: Type, bc: BodyCtx): boolean {
    const nilA = isNil(ta)
    const nilB = isNil(tb)
    if (nilA && !nilB) return this.unify1(a, tb, bc, false)
    if (nilB && !nilA) return this.unify1(b, ta, bc, false)
    if (!nilA && !nilB) return unifies(ta, tb)
    if (a.type === 'array') return this.unify2Array(a, b, bc)
    if (a.type === 'object') return this.unify2Object(a, b, bc)
    if (a.type === 'var') {
      if (b.type === 'var') return this.unify1(a, ANY, bc, false) && this.unify1(b, this.typeOf(a, bc), bc, false)
      if (b.type === 'array') return this.unify2Array(b, a, bc)
      if (b.type === 'object') return this.unify2Object(b, a, bc)
    }
    // e.g. a nested call or comprehension whose type is not known: nothing to learn
    return true
  }

  unify2Array (a: Extract<Term, { type: 'array' }>, b: Term, bc: BodyCtx): boolean {
    if (b.type === 'array') {
      if (a.items.length !== b.items.length) return false
      return a.items.every((x, i) => this.unify2(x, this.typeOf(x, bc), b.items[i], this.typeOf(b.items[i], bc), bc))
    }
    if (b.type === 'var') return this.unify1(a, ANY, bc, false) && this.unify1(b, this.typeOf(a, bc), bc, false)
    return false
  }

  unify2Object (a: Extract<Term, { type: 'object' }>, b: Term, bc: BodyCtx): boolean {
    if (b.type === 'object') {
      if (a.entries.length !== b.entries.length) return false
      const other = new Map<string, Term>()
      for (const [k, v] of b.entries) other.set(JSON.stringify(groundValue(k) ?? null), v)
      for (const [k, v] of a.entries) {
        const w = other.get(JSON.stringify(groundValue(k) ?? null))
        if (w === undefined) return false
        if (!this.unify2(v, this.typeOf(v, bc), w, this.typeOf(w, bc), bc)) return false
      }
      return true
    }
    if (b.type === 'var') return this.unify1(a, ANY, bc, false) && this.unify1(b, this.typeOf(a, bc), bc, false)
    return false
  }
}

/** OPA's types.Nil: the type, or a part of it, is not known. */
function isNil (t: Type): boolean {
  if (t === undefined) return true
  switch (t.type) {
    case 'array': return (t.static ?? []).some(isNil) || (t.dynamic !== undefined && isNil(t.dynamic))
    case 'object': return (t.static ?? []).some(s => isNil(s.value)) || (t.dynamic !== undefined && (isNil(t.dynamic.key) || isNil(t.dynamic.value)))
    case 'set': return isNil(t.of)
    default: return false
  }
}

// ---- AST helpers ----

/** Names an expression declares: `some x`, `some k, v in xs`, `x := ...`. */
function declaredBy (e: Expr): string[] {
  const k = e.kind
  const out: string[] = []
  if (k.type === 'some') for (const v of k.vars) out.push(v.name)
  else if (k.type === 'somein') { if (k.key !== undefined) forEachVarName(k.key, n => out.push(n)); forEachVarName(k.value, n => out.push(n)) } else if (k.type === 'assign') forEachVarName(k.left, n => out.push(n))
  return out
}

/** Variable names of a term, not inside comprehensions; ref heads and keys included. */
function forEachVarName (t: Term, cb: (name: string) => void): void {
  switch (t.type) {
    case 'var': if (t.name !== '_') cb(t.name); return
    case 'ref': forEachVarName(t.head, cb); t.path.forEach(p => forEachVarName(p, cb)); return
    case 'array': case 'set': t.items.forEach(i => forEachVarName(i, cb)); return
    case 'object': t.entries.forEach(([k, v]) => { forEachVarName(k, cb); forEachVarName(v, cb) }); return
    case 'call': t.args.forEach(a => forEachVarName(a, cb))
  }
}

function forEachExprVarName (e: Expr, cb: (name: string) => void): void {
  const k = e.kind
  switch (k.type) {
    case 'term': forEachVarName(k.term, cb); break
    case 'unify': case 'assign': forEachVarName(k.left, cb); forEachVarName(k.right, cb); break
    case 'somein': if (k.key !== undefined) forEachVarName(k.key, cb); forEachVarName(k.value, cb); forEachVarName(k.collection, cb); break
    case 'every': forEachVarName(k.collection, cb); break
    case 'some': for (const v of k.vars) cb(v.name)
  }
  for (const w of e.with) forEachVarName(w.value, cb)
}

function dottedName (t: Term): string | null {
  if (t.type === 'var') return t.name
  if (t.type === 'ref' && t.head.type === 'var' && t.path.every(x => x.type === 'string')) {
    return [t.head.name, ...t.path.map(x => (x as { value: string }).value)].join('.')
  }
  return null
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/

/** A reference as Rego prints it (data.p.q["k"][x]); with `upto`, only the head and the keys
 *  before that index. */
/** Reference heads whose type is exactly what they are: collection literals and comprehensions. */
const LITERAL_HEADS = new Set<Term['type']>(['array', 'object', 'set', 'arraycompr', 'setcompr', 'objectcompr'])

function refText (t: Term, upto?: number): string | null {
  if (t.type === 'var') return t.name.startsWith(WILDCARD) ? '_' : t.name
  // (OPA names the literal by the local it moves it into, __localN__; we show the literal)
  if (LITERAL_HEADS.has(t.type)) return literalText(t)
  if (t.type !== 'ref') return null
  let s = refText(t.head)
  if (s === null) return null
  const path = upto === undefined ? t.path : t.path.slice(0, upto)
  for (const k of path) {
    if (k.type === 'string') s += IDENT.test(k.value) ? `.${k.value}` : `[${JSON.stringify(k.value)}]`
    else if (k.type === 'number') s += `[${k.raw}]`
    else if (k.type === 'var') s += `[${k.name.startsWith(WILDCARD) ? '_' : k.name}]`
    else if (k.type === 'boolean') s += `[${String(k.value)}]`
    else if (k.type === 'null') s += '[null]'
    else s += '[...]'
  }
  return s
}

/** Rego text of a literal used as a reference head (comprehensions and long literals shortened). */
function literalText (t: Term): string {
  const inner = (x: Term): string => {
    switch (x.type) {
      case 'null': return 'null'
      case 'boolean': return String(x.value)
      case 'number': return x.raw
      case 'string': return JSON.stringify(x.value)
      case 'var': return x.name.startsWith(WILDCARD) ? '_' : x.name
      case 'array': return `[${x.items.map(inner).join(', ')}]`
      case 'set': return x.items.length === 0 ? 'set()' : `{${x.items.map(inner).join(', ')}}`
      case 'object': return `{${x.entries.map(([k, v]) => `${inner(k)}: ${inner(v)}`).join(', ')}}`
      case 'arraycompr': return '[... | ...]'
      case 'setcompr': return '{... | ...}'
      case 'objectcompr': return '{...: ... | ...}'
      default: return refText(x) ?? '...'
    }
  }
  const text = inner(t)
  return text.length <= 60 ? text : `${text.slice(0, 57)}...`
}


