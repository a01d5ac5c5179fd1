// Local variable declarations, as OPA's compiler checks them (its RewriteLocalVars stage), in
// every module, strict or not:
//   - a function argument that is or holds input/data  rego_compile_error  args must not shadow input (...)
//   - a call in a function argument (`f(1 + 1)`)       rego_compile_error  rule arguments cannot contain calls
//   - a name declared (`:=`, `some`, `some ... in`, `every`) after the same body used it
//                                                  rego_compile_error  var x referenced above
//   - declared twice in one body                   rego_compile_error  var x assigned above / var x declared above
//   - a function argument declared in the body     rego_compile_error  arg a redeclared
//   - a `some` variable, or an `every` key or value, that nothing after it uses
//                                                  rego_compile_error  declared var x unused
//   - `:=` under `not`, or to something else than a variable, array or object
//                                                  rego_compile_error  cannot assign vars inside negated expression / cannot assign to ref
// Scopes: a rule body (holding the function's arguments), a comprehension body (its term
// belongs to it), an `every` body (holding its key and value). A declaration only conflicts
// with its own scope, so comprehensions and `every` may shadow outer names. A use resolves to
// the nearest declaration; a name no scope declares is "seen" where it is used (a rule, an
// import, a builtin or a mistake). OPA skips the unused check once a declaration error exists;
// so does this, per rule branch.
import type { Body, Expr, Import, Module, Rule, Term } from '../ast/index.js'
import type { Diagnostic } from '../diagnostics.js'

type VarTerm = Extract<Term, { type: 'var' }>
type Occurrence = 'seen' | 'assigned' | 'declared' | 'arg'

class Scope {
  readonly names = new Map<string, Occurrence>()
  constructor (readonly parent: Scope | null) {}

  /** declared (not only seen) here or in an enclosing scope */
  resolves (name: string): boolean {
    return this.declaration(name) !== undefined
  }

  /** how the nearest declaration of `name` declared it */
  declaration (name: string): Occurrence | undefined {
    for (let s: Scope | null = this; s !== null; s = s.parent) {
      const o = s.names.get(name)
      if (o !== undefined && o !== 'seen') return o
    }
    return undefined
  }
}

const ABOVE: Record<Occurrence, (name: string) => string> = {
  seen: n => `var ${n} referenced above`,
  assigned: n => `var ${n} assigned above`,
  declared: n => `var ${n} declared above`,
  arg: n => `arg ${n} redeclared`,
}

const isWildcard = (name: string): boolean => name === '_' || name.startsWith('$')

/** OPA's names of the kinds of terms (ValueName), where ours differ. */
const VALUE_NAMES: Partial<Record<Term['type'], string>> = {
  arraycompr: 'arraycomprehension', setcompr: 'setcomprehension', objectcompr: 'objectcomprehension',
}

export function localVarChecks (modules: Module[]): Diagnostic[] {
  const out: Diagnostic[] = []
  // Names a body may use without binding them: the package's rules (in any of its modules), its
  // imports, input and data (print's arguments are checked against them; ./locals.ts Walker).
  const rulesOf = new Map<string, Set<string>>()
  for (const m of modules) {
    const key = pkgKey(m)
    let names = rulesOf.get(key)
    if (names === undefined) rulesOf.set(key, names = new Set(['input', 'data']))
    for (const r of m.rules) if (r.ref[0]?.type === 'var') names.add(r.ref[0].name)
  }
  for (const m of modules) {
    const globals = new Set(rulesOf.get(pkgKey(m)))
    for (const imp of m.imports) { const a = importAlias(imp); if (a !== null) globals.add(a) }
    for (const rule of m.rules) {
      for (const a of rule.args ?? []) {
        // OPA's resolveAllRefs and rewriteLocalVars stages, for every module
        const root = shadowedRoot(a)
        if (root !== null) out.push({ code: 'rego_compile_error', message: `args must not shadow ${root} (use a different variable name)`, loc: rule.loc })
        argCalls(a, call => out.push({ code: 'rego_compile_error', message: 'rule arguments cannot contain calls', loc: call.loc }))
      }
      const args = new Scope(null)
      for (const a of rule.args ?? []) argVars(a, v => { if (!isWildcard(v.name)) args.names.set(v.name, 'arg') })
      // a comprehension in an argument is a body of its own (`f({{x | x := 1; x := 2}})`)
      for (const a of rule.args ?? []) { const w = new Walker(out, globals); w.term(a, new Scope(null)); w.checkTemplates() }
      for (let r: Rule | undefined = rule; r !== undefined; r = r.else) {
        const base = new Scope(null)
        for (const [n, o] of args.names) base.names.set(n, o)
        const before = out.length
        const walker = new Walker(out, globals)
        walker.body(r.body, base)
        // the head reads what the body binds (its template strings and comprehensions included)
        for (const h of headTerms(r)) walker.term(h, base)
        walker.checkTemplates()
        if (out.length === before) checkUnused(r.body, headTerms(r), [], out)
      }
    }
  }
  return out
}

/**
 * The names a module's rules read that no local declaration of theirs binds (arguments, `:=`,
 * `some`, `every`, comprehension scopes): rules, imports, builtins. An import only a local
 * shadows (`f(foo) := foo`, `foo := true; foo`) is not used, as OPA's unused-import check says.
 */
export function globalUses (m: Module): Set<string> {
  const used = new Set<string>()
  for (const rule of m.rules) walkRule(rule, n => { used.add(n) })
  return used
}

/** The arguments of a function some branch reads (a local of the same name in a comprehension
 *  or `every` is not the argument). */
export function usedArgs (rule: Rule): Set<string> {
  const used = new Set<string>()
  walkRule(rule, undefined, n => { used.add(n) })
  return used
}

/** Walks every branch of a rule: its arguments declared, its body, then its head. */
function walkRule (rule: Rule, onGlobal?: (name: string) => void, onArg?: (name: string) => void): void {
  const argUses = (t: Term, w: Walker, scope: Scope): void => {
    if (t.type === 'var') return
    if (t.type === 'array') t.items.forEach(i => argUses(i, w, scope))
    else if (t.type === 'object') t.entries.forEach(([k, v]) => { w.term(k, scope); argUses(v, w, scope) })
    else w.term(t, scope)
  }
  for (let r: Rule | undefined = rule; r !== undefined; r = r.else) {
    const base = new Scope(null)
    for (const a of rule.args ?? []) argVars(a, v => { if (!isWildcard(v.name)) base.names.set(v.name, 'arg') })
    const walker = new Walker([], new Set(), onGlobal, onArg)
    for (const a of rule.args ?? []) argUses(a, walker, base)
    walker.body(r.body, base)
    for (const h of headTerms(r)) walker.term(h, base)
  }
}

/** The variables of a print argument as OPA's check visits them: not inside comprehensions or
 *  set literals, not object keys, not a reference's head. */
function printVars (t: Term, cb: (name: string) => void): void {
  switch (t.type) {
    case 'var': cb(t.name); return
    case 'ref': t.path.forEach(p => printVars(p, cb)); if (t.head.type !== 'var') printVars(t.head, cb); return
    case 'array': t.items.forEach(i => printVars(i, cb)); return
    case 'object': t.entries.forEach(([, v]) => printVars(v, cb)); return
    case 'call': t.args.forEach(a => printVars(a, cb)); return
  }
}

function pkgKey (m: Module): string {
  return m.package.path.map(t => t.type === 'string' ? t.value : t.type === 'var' ? t.name : '?').join('\u0000')
}

/** The name an import binds (its alias, or its last segment). */
function importAlias (imp: Import): string | null {
  if (imp.alias !== undefined) return imp.alias
  const p = imp.path
  if (p.type === 'var') return p.name
  if (p.type !== 'ref') return null
  const last = p.path[p.path.length - 1]
  if (last === undefined) return p.head.type === 'var' ? p.head.name : null
  return last.type === 'string' ? last.value : null
}

/** input or data used as (part of) a function argument, as OPA's resolveRefsInRule finds it:
 *  `f(input)`, `f([data])` (object values and refs are looked into; keys, sets, comprehensions
 *  and calls are not). */
function shadowedRoot (t: Term): string | null {
  switch (t.type) {
    case 'var': return t.name === 'input' || t.name === 'data' ? t.name : null
    case 'ref': {
      // `input.x` is a reference into input, not input itself: only a head that is no variable is looked into
      if (t.path.length === 0 || t.head.type !== 'var') { const r = shadowedRoot(t.head); if (r !== null) return r }
      for (const p of t.path) { const r = shadowedRoot(p); if (r !== null) return r }
      return null
    }
    case 'array': for (const i of t.items) { const r = shadowedRoot(i); if (r !== null) return r } return null
    case 'object': for (const [, v] of t.entries) { const r = shadowedRoot(v); if (r !== null) return r } return null
    default: return null
  }
}

/** Calls in a function argument (`f(1 + 1)`, `f([count(x)])`): OPA's rewriteLocalVars refuses
 *  them ("rule arguments cannot contain calls"); refs, arrays and object values are looked into,
 *  sets and comprehensions are not. */
function argCalls (t: Term, cb: (call: Term) => void): void {
  switch (t.type) {
    case 'call': cb(t); return
    case 'ref': argCalls(t.head, cb); t.path.forEach(p => argCalls(p, cb)); return
    case 'array': t.items.forEach(i => argCalls(i, cb)); return
    case 'object': t.entries.forEach(([, v]) => argCalls(v, cb))
  }
}

/** Variables an argument binds: array elements and object values, nested (not object keys or sets). */
function argVars (t: Term, cb: (v: VarTerm) => void): void {
  if (t.type === 'var') cb(t)
  else if (t.type === 'array') t.items.forEach(i => argVars(i, cb))
  else if (t.type === 'object') t.entries.forEach(([, v]) => argVars(v, cb))
}

/** Declaration order of one body: what each expression uses, then what it declares (`:=`
 *  uses its right side and `with` values first; `some ... in` declares before it uses). */
class Walker {
  constructor (private readonly out: Diagnostic[], private readonly globals: ReadonlySet<string>,
    private readonly onGlobal?: (name: string) => void, private readonly onArg?: (name: string) => void) {}

  body (body: Body, scope: Scope): void {
    for (const e of body) this.expr(e, scope)
  }

  expr (e: Expr, scope: Scope): void {
    const k = e.kind
    if (k.type === 'term' && !e.negated && k.term.type === 'call' && k.term.name === 'print' && !this.globals.has('print')) this.printArgs(k.term.args, scope)
    switch (k.type) {
      case 'assign':
        // OPA's checks of the same stage: := declares, so not under `not`, and only a variable,
        // an array or an object can be assigned to
        if (e.negated) { this.out.push({ code: 'rego_compile_error', message: 'cannot assign vars inside negated expression', loc: e.loc }); return }
        if (k.left.type !== 'var' && k.left.type !== 'array' && k.left.type !== 'object') {
          this.out.push({ code: 'rego_compile_error', message: `cannot assign to ${VALUE_NAMES[k.left.type] ?? k.left.type}`, loc: e.loc })
          return
        }
        // and so must every array element and object value inside it ([z, 1] := ... assigns to
        // a number: OPA's rewriteDeclaredAssignment refuses it)
        if (this.unassignable(k.left)) return
        this.term(k.right, scope)
        for (const w of e.with) { this.term(w.target, scope); this.term(w.value, scope) }
        this.pattern(k.left, scope, 'assigned', null)
        return
      case 'some':
        for (const v of k.vars) this.declare(v, scope, 'declared', e.loc)
        break
      case 'somein':
        if (k.key !== undefined) this.pattern(k.key, scope, 'declared', e.loc)
        this.pattern(k.value, scope, 'declared', e.loc)
        this.term(k.collection, scope)
        break
      case 'every': {
        this.term(k.collection, scope)
        const inner = new Scope(scope)
        for (const t of [k.key, k.value]) if (t !== undefined && t.type === 'var') this.declare(t, inner, 'declared', e.loc)
        this.body(k.body, inner)
        break
      }
      case 'term': this.term(k.term, scope); break
      case 'unify': this.term(k.left, scope); this.term(k.right, scope); break
    }
    for (const w of e.with) { this.term(w.target, scope); this.term(w.value, scope) }
  }

  /** Declares the variables of a pattern (array elements, object values); object keys are uses. */
  /**
   * OPA rewrites print calls before it orders a body for safety (RewritePrintCalls): a variable
   * in print's arguments must be bound by an expression before it, else "var x is undeclared".
   * Here a variable some earlier expression (or an enclosing scope, or the function's
   * arguments) mentions counts; one that is unsafe there is the safety check's to report.
   */
  printArgs (args: Term[], scope: Scope): void {
    for (const a of args) this.undeclared(a, scope, false)
  }

  /** Reports "var x is undeclared" for each variable of `t` (as printVars visits them) that no
   *  scope from `scope` out has and that is no global; `_` too when `underscore`. */
  private undeclared (t: Term, scope: Scope, underscore: boolean): void {
    const missing = new Set<string>()
    printVars(t, name => {
      if (name.startsWith('$') || this.globals.has(name)) return
      if (name === '_' && !underscore) return
      if (name !== '_') for (let s: Scope | null = scope; s !== null; s = s.parent) if (s.names.has(name)) return
      missing.add(name)
    })
    for (const v of [...missing].sort()) this.out.push({ code: 'rego_compile_error', message: `var ${v} is undeclared`, loc: t.loc })
  }

  private readonly templates: Array<{ call: Extract<Term, { type: 'call' }>; scope: Scope }> = []

  /** Notes a template string; checkTemplates() checks it once its body has been walked. */
  templateParts (call: Extract<Term, { type: 'call' }>, scope: Scope): void {
    this.templates.push({ call, scope })
  }

  /**
   * Template strings' expressions, as OPA checks them (rewriteTemplateStrings): a variable
   * must be one its body (or an enclosing one) has, before or after the template, else
   * "var x is undeclared"; `_` never is (a part is one value). The parser made each expression
   * part the set comprehension {$tmplN | $tmplN = expr}, whose own names stay in its scope.
   */
  checkTemplates (): void {
    for (const { call, scope } of this.templates.splice(0)) this.checkTemplate(call, scope)
  }

  private checkTemplate (call: Extract<Term, { type: 'call' }>, scope: Scope): void {
    const parts = call.args[0]
    if (parts?.type !== 'array') return
    for (const p of parts.items) {
      if (p.type !== 'setcompr' || p.body.length !== 1) continue
      const k = p.body[0]!.kind
      if (k.type !== 'unify' || k.left.type !== 'var' || !k.left.name.startsWith('$tmpl')) continue
      this.undeclared(k.right, scope, true)
    }
  }

  /** Reports each constant or reference inside an assignment's array/object left side. */
  unassignable (t: Term): boolean {
    const inner = t.type === 'array' ? t.items : t.type === 'object' ? t.entries.map(([, v]) => v) : []
    let bad = false
    for (const x of inner) {
      if (x.type === 'var') continue
      if (x.type === 'array' || x.type === 'object') { bad = this.unassignable(x) || bad; continue }
      this.out.push({ code: 'rego_compile_error', message: `cannot assign to ${VALUE_NAMES[x.type] ?? x.type}`, loc: x.loc })
      bad = true
    }
    return bad
  }

  pattern (t: Term, scope: Scope, kind: Occurrence, loc: Diagnostic['loc'] | null): void {
    if (t.type === 'var') this.declare(t, scope, kind, loc ?? t.loc)
    else if (t.type === 'array') t.items.forEach(i => this.pattern(i, scope, kind, loc))
    else if (t.type === 'object') t.entries.forEach(([key, v]) => { this.term(key, scope); this.pattern(v, scope, kind, loc) })
    else this.term(t, scope)
  }

  declare (v: VarTerm, scope: Scope, kind: Occurrence, loc: Diagnostic['loc']): void {
    if (isWildcard(v.name)) return
    const prev = scope.names.get(v.name)
    if (prev !== undefined) {
      this.out.push({ code: 'rego_compile_error', message: ABOVE[prev](v.name), loc })
      return
    }
    scope.names.set(v.name, kind)
  }

  use (name: string, scope: Scope): void {
    if (isWildcard(name)) return
    if (scope.resolves(name)) {
      if (this.onArg !== undefined && scope.declaration(name) === 'arg') this.onArg(name)
      return
    }
    if (scope.names.has(name)) return
    scope.names.set(name, 'seen')
    this.onGlobal?.(name)
  }

  term (t: Term, scope: Scope): void {
    switch (t.type) {
      case 'var': this.use(t.name, scope); return
      case 'ref': this.term(t.head, scope); t.path.forEach(p => this.term(p, scope)); return
      case 'array': case 'set': t.items.forEach(i => this.term(i, scope)); return
      case 'object': t.entries.forEach(([a, b]) => { this.term(a, scope); this.term(b, scope) }); return
      case 'call':
        if (t.name === 'internal.template_string') this.templateParts(t, scope)
        this.use(t.name.split('.')[0]!, scope); t.args.forEach(a => this.term(a, scope)); return
      case 'arraycompr': case 'setcompr': {
        const inner = new Scope(scope)
        this.body(t.body, inner)
        this.term(t.term, inner)
        return
      }
      case 'objectcompr': {
        const inner = new Scope(scope)
        this.body(t.body, inner)
        this.term(t.key, inner)
        this.term(t.value, inner)
      }
    }
  }
}

function headTerms (r: Rule): Term[] {
  const head: Term[] = [...r.ref.slice(1)]
  if (r.key !== undefined) head.push(r.key)
  if (r.value !== undefined) head.push(r.value)
  return head
}

/**
 * "declared var x unused": a variable of `some x` that no later expression of its body
 * (nested bodies and `with` included) nor the head that body produces (the rule's head, a
 * comprehension's term) mentions; an `every` key or value its body does not mention (reported
 * at the body's first expression, as OPA). `some ... in` always uses its variables. Nested
 * bodies are checked first, and only the first body of a rule with unused variables reports
 * them (OPA stops at the first). True once reported.
 */
function checkUnused (body: Body, head: Term[], everyVars: VarTerm[], out: Diagnostic[]): boolean {
  for (const e of body) {
    for (const n of nestedScopes(e)) if (checkUnused(n.body, n.head, n.declared, out)) return true
  }
  const before = out.length
  const unused = (name: string, loc: Diagnostic['loc']): void => { out.push({ code: 'rego_compile_error', message: `declared var ${name} unused`, loc }) }
  if (everyVars.length > 0) {
    const used = new Set<string>()
    bodyVars(body, n => used.add(n))
    for (const v of everyVars) if (!used.has(v.name)) unused(v.name, body[0]?.loc ?? v.loc)
  }
  for (let i = 0; i < body.length; i++) {
    const e = body[i]!
    if (e.kind.type !== 'some') continue
    const used = new Set<string>()
    bodyVars(body.slice(i + 1), n => used.add(n))
    for (const t of head) termVars(t, n => used.add(n))
    for (const v of e.kind.vars) if (!isWildcard(v.name) && !used.has(v.name)) unused(v.name, e.loc)
  }
  return out.length > before
}

/** The bodies nested in an expression, with what each produces and declares. */
export function nestedScopes (e: Expr): Array<{ body: Body; head: Term[]; declared: VarTerm[] }> {
  const out: Array<{ body: Body; head: Term[]; declared: VarTerm[] }> = []
  const visit = (t: Term): void => {
    switch (t.type) {
      case 'ref': visit(t.head); t.path.forEach(visit); return
      case 'array': case 'set': t.items.forEach(visit); return
      case 'object': t.entries.forEach(([a, b]) => { visit(a); visit(b) }); return
      case 'call': t.args.forEach(visit); return
      case 'arraycompr': case 'setcompr': visit(t.term); out.push({ body: t.body, head: [t.term], declared: [] }); return
      case 'objectcompr': visit(t.key); visit(t.value); out.push({ body: t.body, head: [t.key, t.value], declared: [] })
    }
  }
  const k = e.kind
  switch (k.type) {
    case 'term': visit(k.term); break
    case 'unify': case 'assign': visit(k.left); visit(k.right); break
    case 'somein': visit(k.collection); break
    case 'every': {
      visit(k.collection)
      const declared = [k.key, k.value].filter((v): v is VarTerm => v !== undefined && v.type === 'var' && !isWildcard(v.name))
      out.push({ body: k.body, head: [], declared })
      break
    }
  }
  for (const w of e.with) visit(w.value)
  return out
}

/** Every variable name a term mentions, nested bodies included. */
export function termVars (t: Term, cb: (name: string) => void): void {
  switch (t.type) {
    case 'var': cb(t.name); return
    case 'ref': termVars(t.head, cb); t.path.forEach(p => termVars(p, cb)); return
    case 'array': case 'set': t.items.forEach(i => termVars(i, cb)); return
    case 'object': t.entries.forEach(([a, b]) => { termVars(a, cb); termVars(b, cb) }); return
    case 'call': t.args.forEach(a => termVars(a, cb)); return
    case 'arraycompr': case 'setcompr': termVars(t.term, cb); bodyVars(t.body, cb); return
    case 'objectcompr': termVars(t.key, cb); termVars(t.value, cb); bodyVars(t.body, cb)
  }
}

/** Every variable name a body mentions, nested bodies and `with` included. */
export function bodyVars (body: Body, cb: (name: string) => void): void {
  for (const e of body) {
    const k = e.kind
    switch (k.type) {
      case 'term': termVars(k.term, cb); break
      case 'unify': case 'assign': termVars(k.left, cb); termVars(k.right, cb); break
      case 'some': k.vars.forEach(v => cb(v.name)); break
      case 'somein': if (k.key !== undefined) termVars(k.key, cb); termVars(k.value, cb); termVars(k.collection, cb); break
      case 'every': if (k.key !== undefined) termVars(k.key, cb); termVars(k.value, cb); termVars(k.collection, cb); bodyVars(k.body, cb); break
    }
    for (const w of e.with) { termVars(w.target, cb); termVars(w.value, cb) }
  }
}
