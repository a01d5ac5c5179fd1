// `opa check --strict`: the checks OPA's compiler runs in strict mode, on parsed modules.
//   - unused imports                       rego_compile_error  import data.foo unused
//   - duplicate imports (v0 modules; v1 always rejects them)
//                                          rego_compile_error  import must not shadow import data.foo
//   - unused local assignments (:=)        rego_compile_error  assigned var x unused
//   - unused `some` declarations           rego_compile_error  declared var x unused
//   - unused function arguments            rego_compile_error  unused argument x. (hint: use _ (wildcard variable) instead)
//   - rules and variables named input/data rego_compile_error  rules must not shadow input (use a different rule name)
//                                                              variables must not shadow data (use a different variable name)
//   - calls to deprecated builtins         rego_type_error     deprecated built-in function calls in expression: any
// The last two OPA 1.x enforces in every Rego v1 module, strict or not (its parser's
// checkRegoV1Module, with duplicate imports, which the planner rejects): regoV1Checks(). Local
// variable declarations (unused `some` variables among them) are checked in every module, v0
// too, strict or not: ./locals.ts.
import type { Body, Expr, Import, Module, Rule, Term } from '../ast/index.js'
import { importText } from '../ast/index.js'
import { builtinDecl } from '../builtins.js'
import { bodyVars, globalUses, nestedScopes, termVars, usedArgs } from './locals.js'
import type { Diagnostic } from '../diagnostics.js'

const ROOT_DOCUMENTS = new Set(['input', 'data'])

export function strictChecks (modules: Module[]): Diagnostic[] {
  const out: Diagnostic[] = []
  for (const m of modules) checkModule(m, out, true)
  return out
}

/** What OPA 1.x rejects in every Rego v1 module: rules and variables named input or data,
 *  calls to deprecated builtins. */
export function regoV1Checks (modules: Module[]): Diagnostic[] {
  const out: Diagnostic[] = []
  for (const m of modules) if (m.regoVersion !== 0) checkModule(m, out, false)
  return out
}

function checkModule (m: Module, out: Diagnostic[], strict: boolean): void {
  // without strict mode only the Rego v1 rules (shadowed root documents, deprecated builtins)
  const err: Report = (code, message, loc, always = false) => { if (strict || always) out.push({ code, message, loc }) }

  // imports: duplicates and unused ones
  const used = globalUses(m)
  const seen = new Map<string, Import>()
  for (const imp of m.imports) {
    const text = importPath(imp.path)
    if (text === null || /^(future|rego)(\.|$)/.test(text)) continue
    const alias = imp.alias ?? lastSegment(imp.path)
    if (alias === null) continue
    const prev = seen.get(alias)
    if (prev !== undefined) err('rego_compile_error', `import must not shadow import ${importText(prev) ?? alias}`, imp.loc)
    seen.set(alias, imp)
    if (!used.has(alias)) err('rego_compile_error', `import ${text}${imp.alias !== undefined ? ` as ${imp.alias}` : ''} unused`, imp.loc)
  }

  // a package's own function or an import of that name is not the builtin
  const local = new Set<string>([...seen.keys()])
  for (const r of m.rules) if (r.ref[0]?.type === 'var') local.add(r.ref[0].name)
  // (a deprecated builtin Bouncer does not implement is reported as unsupported by the planner)
  const deprecated = (name: string): boolean => {
    const d = local.has(name.split('.')[0]) ? undefined : builtinDecl(name)
    return d !== undefined && d.deprecated && d.impl.kind !== 'none'
  }

  for (const rule of m.rules) {
    const head = rule.ref[0]
    // `input.a := 1` shadows input too (OPA: checkKeywordOverrides, the leading term of a ref)
    if (head?.type === 'var' && ROOT_DOCUMENTS.has(head.name)) {
      err('rego_compile_error', `rules must not shadow ${head.name} (use a different rule name)`, rule.loc, true)
    }
    // unused arguments: a variable argument no branch reads (a comprehension's own `x := ...`
    // is another x) and no other argument repeats
    if (rule.args !== undefined) {
      const counts = new Map<string, number>()
      for (const a of rule.args) termVars(a, n => { counts.set(n, (counts.get(n) ?? 0) + 1) })
      const read = usedArgs(rule)
      for (const a of rule.args) {
        if (a.type === 'var' && a.name !== '_' && !read.has(a.name) && (counts.get(a.name) ?? 0) <= 1) {
          err('rego_compile_error', `unused argument ${a.name}. (hint: use _ (wildcard variable) instead)`, a.loc)
        }
      }
    }
    for (let r: Rule | undefined = rule; r !== undefined; r = r.else) {
      const counts = new Map<string, number>()
      ruleVars(r, n => { counts.set(n, (counts.get(n) ?? 0) + 1) })
      // the head's terms, as an expression of their own (deprecated calls, comprehensions)
      const head: Term[] = [...r.ref.slice(1)]
      if (r.key !== undefined) head.push(r.key)
      if (r.value !== undefined) head.push(r.value)
      checkBody(head.map(t => ({ loc: t.loc, negated: false, with: [], kind: { type: 'term', term: t } })), counts, err, deprecated)
      checkBody(r.body, counts, err, deprecated)
    }
  }
}

/** `always`: a Rego v1 rule, reported without strict mode too */
type Report = (code: Diagnostic['code'], message: string, loc: Diagnostic['loc'], always?: boolean) => void

/** The names one definition (not its arguments) reads or writes, once per occurrence. */
function ruleVars (r: Rule, cb: (name: string) => void): void {
  for (const t of r.ref.slice(1)) termVars(t, cb)
  if (r.key !== undefined) termVars(r.key, cb)
  if (r.value !== undefined) termVars(r.value, cb)
  bodyVars(r.body, cb)
}

/** Unused `:=` and `some` variables, input/data reassignment and deprecated calls in a body
 *  and the bodies nested in it. `counts` counts the occurrences of each name in the rule. */
function checkBody (body: Body, counts: Map<string, number>, err: Report, deprecated: (name: string) => boolean): void {
  for (const e of body) {
    const k = e.kind
    if (k.type === 'assign') {
      const names: Array<Extract<Term, { type: 'var' }>> = []
      patternVars(k.left, names)
      for (const v of names) {
        if (ROOT_DOCUMENTS.has(v.name)) err('rego_compile_error', `variables must not shadow ${v.name} (use a different variable name)`, e.loc, true)
        else if (v.name !== '_' && (counts.get(v.name) ?? 0) <= 1) err('rego_compile_error', `assigned var ${v.name} unused`, v.loc)
      }
    }
    // (unused `some` variables: alwaysChecks, strict or not)
    exprCalls(e, (name, loc) => {
      if (deprecated(name)) err('rego_type_error', `deprecated built-in function calls in expression: ${name}`, loc, true)
    })
    for (const n of nestedScopes(e)) checkBody(n.body, counts, err, deprecated)
  }
}

// ---- walking ----

function patternVars (t: Term, out: Array<Extract<Term, { type: 'var' }>>): void {
  if (t.type === 'var') out.push(t)
  else if (t.type === 'array') t.items.forEach(i => patternVars(i, out))
  else if (t.type === 'object') t.entries.forEach(([, v]) => patternVars(v, out))
}

/** Calls in an expression (not inside nested bodies), with their names. */
function exprCalls (e: Expr, cb: (name: string, loc: Term['loc']) => void): void {
  const visit = (t: Term): void => {
    switch (t.type) {
      case 'call': cb(t.name, t.loc); t.args.forEach(visit); return
      case 'ref': visit(t.head); t.path.forEach(visit); return
      case 'array': case 'set': t.items.forEach(visit); return
      case 'object': t.entries.forEach(([a, b]) => { visit(a); visit(b) })
    }
  }
  const k = e.kind
  switch (k.type) {
    case 'term': visit(k.term); break
    case 'unify': case 'assign': visit(k.left); visit(k.right); break
    case 'somein': visit(k.collection); break
    case 'every': visit(k.collection); break
  }
  for (const w of e.with) visit(w.value)
}

function importPath (t: Term): string | null {
  if (t.type === 'var') return t.name
  if (t.type !== 'ref' || t.head.type !== 'var') return null
  let s = t.head.name
  for (const p of t.path) {
    if (p.type !== 'string') return null
    s += /^[A-Za-z_][A-Za-z0-9_]*$/.test(p.value) ? `.${p.value}` : `[${JSON.stringify(p.value)}]`
  }
  return s
}

function lastSegment (t: Term): string | null {
  if (t.type === 'var') return t.name
  if (t.type === 'ref') {
    const last = t.path[t.path.length - 1]
    if (last === undefined) return t.head.type === 'var' ? t.head.name : null
    return last.type === 'string' ? last.value : null
  }
  return null
}
