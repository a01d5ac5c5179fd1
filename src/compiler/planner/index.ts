// Planner: resolved, safety-ordered Rego -> the flat IR in ./ir.ts.
// One plan function per rule group (tree node), one per entrypoint that names a package,
// and one for an ad-hoc query. Names are resolved here (locals, imports, package rules,
// input/data, builtins); expressions are reordered so every variable is bound before it is
// read; unification is compiled into assignments, comparisons and scans.
import type { Body, Expr, Loc, Module, Rule, Term } from '../ast/index.js'
import { keysText } from '../ast/index.js'
import { renameShadowing, SHADOW_SEP, shadowDisplayName } from './shadow.js'
import { builtinDecl, builtinInfo, FLOAT_BUILTINS, RELATIONS } from '../builtins.js'
import type { Diagnostics } from '../diagnostics.js'
import { FuncKind, type Instr, Op, type Plan, type PlanFunc, type PlanNode, type PlanRule, WithKind } from './ir.js'
import { buildTree, findNode, type ModuleCtx, ownRuleNames, packageRuleNames, type RuleEntry, type TreeNode } from './tree.js'
import { analyseBody, forEachPatternVar, refKeyVars, withOuterNames } from './safety.js'
import { COVERAGE_BUILTIN, type CoveragePoint } from '../coverage.js'
import { FLOAT_BUILTIN } from '../float-builtin.js'
import { type NegationContext, rewriteNegated } from './negation.js'
import { type AnnotationIndex, buildAnnotationIndex, metadataChain, metadataRule } from './metadata.js'
import { isRawJson, keepsText } from '../../exact-json.js'
import { isPrintStatement, rewritePrint } from './print.js'

/** A number constant kept as its source text (big integers, exact decimals). */
export class RawNumber { constructor (readonly raw: string) {} }

export interface PlanInput {
  modules: Module[]
  entrypoints: string[]
  /** compiled too when they name a rule or package, left out when they do not (the decision-log
   *  policies, data.system.log.mask/drop, that a bundle may or may not carry) */
  optionalEntrypoints?: string[]
  query?: { body: Body; pkg?: string[] }
  strict?: boolean
  /** compile print() calls (default true); false removes them (see ./print.ts) */
  printStatements?: boolean
  /** emit coverage calls (see ../coverage.ts) */
  coverage?: boolean
  /** the base documents the policy will run with: a rule where they define something is an error */
  data?: unknown
}

export interface PlanOutput {
  plan: Plan
  /** per entrypoint: input paths read (null = whole input) */
  inputPaths: Record<string, string[][] | null>
  /** per entrypoint: builtin names reachable */
  builtinsUsed: Record<string, string[]>
  queryVars: string[]
  /** coverage builds: the point numbered i is coveragePoints[i] */
  coveragePoints?: CoveragePoint[]
}

type Resolved =
  | { kind: 'local'; slot: number }
  | { kind: 'input'; path: Term[] }
  | { kind: 'data'; path: Term[] }

class Scope {
  readonly vars = new Map<string, number>()
  readonly assigned = new Set<string>()
  /** declared with `some` (plain or `some ... in`): like `:=`, visible from the declaration on */
  readonly declared = new Set<string>()
  constructor (readonly parent: Scope | null) {}
  lookup (name: string): number | undefined {
    for (let s: Scope | null = this; s !== null; s = s.parent) {
      const v = s.vars.get(name)
      if (v !== undefined) return v
    }
    return undefined
  }
}

/** per plan function: slot allocation */
class Frame {
  nlocals = 0
  alloc (): number { return this.nlocals++ }
}

const WILDCARD_PREFIX = '$_'

interface InputUse { paths: string[][]; whole: boolean }

export function planPolicy (input: PlanInput, diags: Diagnostics): PlanOutput {
  const p = new Planner(input, diags)
  // OPA checks METADATA blocks for conflicts ("annotation redeclared") whether or not the policy
  // reads them: build the index now, not only on the first rego.metadata.* call
  p.annotationIndex()
  return p.run()
}

class Planner {
  readonly consts: unknown[] = []
  readonly constIndex = new Map<string, number>()
  readonly funcs: PlanFunc[] = []
  readonly nodes: PlanNode[] = []
  /** Plan nodes made by prunedDoc, with the tree node whose rule group they share (set at the end). */
  private readonly pruned: Array<[PlanNode, TreeNode]> = []
  readonly builtins: string[] = []
  readonly builtinIndex = new Map<string, number>()
  readonly host: number[] = []
  readonly hostSets: number[] = []
  readonly root: TreeNode
  readonly ctxs: ModuleCtx[]
  readonly ruleNames = new Map<string, Set<string>>()
  /** call graph: func -> funcs it calls */
  readonly calls: Array<Set<number>> = []
  readonly funcInput: InputUse[] = []
  readonly funcBuiltins: Array<Set<string>> = []
  readonly funcNodes: TreeNode[] = []
  queryVars: string[] = []
  /** METADATA blocks by target (built before planning: it reports conflicts) */
  private annotations: AnnotationIndex | null = null
  readonly coveragePoints: CoveragePoint[] = []
  coverBuiltin = -1

  constructor (readonly input: PlanInput, readonly diags: Diagnostics) {
    const { root, ctxs } = buildTree(input.modules, diags)
    this.root = root
    this.ctxs = ctxs
    this.const(null) // index 0 is reserved so a default of 0 can mean "none"
  }

  run (): PlanOutput {
    this.assignIds(this.root)
    const groups: TreeNode[] = []
    const collect = (n: TreeNode): void => {
      if (n.hasRules) groups.push(n)
      for (const c of n.children.values()) collect(c)
    }
    collect(this.root)
    for (const n of groups) {
      n.func = this.newFunc(n)
    }
    for (const n of groups) this.checkRulesBelow(n)
    this.checkPackagesAtRules()
    this.checkDataConflicts()
    for (const n of groups) this.planGroup(n)
    const entrypoints: Array<[string, number]> = []
    const optional = new Set((this.input.optionalEntrypoints ?? []).filter(ep => !this.input.entrypoints.includes(ep)))
    for (const ep of [...this.input.entrypoints, ...optional]) {
      const path = ep.split('/').filter(s => s.length > 0)
      const node = findNode(this.root, path)
      if (optional.has(ep) && (node === undefined || !node.definesDocument() || node.isFunction)) continue
      if (node === undefined || !node.definesDocument()) {
        this.diags.add('rego_compile_error', `entrypoint ${ep} does not name a rule or package`, { file: '<entrypoint>', line: 1, col: 1 })
        continue
      }
      if (node.isFunction) {
        this.diags.add('rego_compile_error', `entrypoint ${ep} names a function`, { file: '<entrypoint>', line: 1, col: 1 })
        continue
      }
      if (node.func >= 0 && node.children.size === 0) {
        entrypoints.push([ep, node.func])
      } else {
        entrypoints.push([ep, this.docFunc(node, ep)])
      }
    }
    if (this.input.query !== undefined) {
      entrypoints.push(['$query', this.planQuery(this.input.query.body, this.input.query.pkg ?? [])])
    }
    this.checkRecursion()
    const inputPaths: Record<string, string[][] | null> = {}
    const builtinsUsed: Record<string, string[]> = {}
    for (const [name, f] of entrypoints) {
      const reach = this.reachable(f)
      let whole = false
      const paths: string[][] = []
      const bis = new Set<string>()
      for (const g of reach) {
        const u = this.funcInput[g]
        if (u.whole) whole = true
        paths.push(...u.paths)
        for (const b of this.funcBuiltins[g]) bis.add(b)
      }
      inputPaths[name] = whole ? null : dedupePaths(paths)
      builtinsUsed[name] = [...bis].sort()
    }
    for (const [pn, n] of this.pruned) pn.func = this.nodes[n.id].func
    const plan: Plan = {
      version: 1,
      strict: this.input.strict === true,
      consts: this.consts,
      funcs: this.funcs,
      nodes: this.nodes,
      entrypoints,
      builtins: this.builtins,
      host: this.host,
      hostSets: this.hostSets,
    }
    return { plan, inputPaths, builtinsUsed, queryVars: this.queryVars, ...(this.input.coverage === true ? { coveragePoints: this.coveragePoints } : {}) }
  }

  /** Coverage builds: the instruction that records reaching `loc` (a rule's head or an
   *  expression), else null. */
  coverMark (loc: Loc, kind: CoveragePoint['kind'], dst: number): Instr | null {
    if (this.input.coverage !== true || loc.line <= 0) return null
    if (this.coverBuiltin < 0) {
      this.coverBuiltin = this.builtins.length
      this.builtins.push(COVERAGE_BUILTIN)
      this.builtinIndex.set(COVERAGE_BUILTIN, this.coverBuiltin)
      this.host.push(this.coverBuiltin)
    }
    const id = this.coveragePoints.length
    this.coveragePoints.push({ file: loc.file, row: loc.line, kind })
    return [Op.CALLB, dst, this.coverBuiltin, [this.const(id)]]
  }

  annotationIndex (): AnnotationIndex {
    if (this.annotations === null) this.annotations = buildAnnotationIndex(this.input.modules, this.diags)
    return this.annotations
  }

  // ---- constants, ids ----

  const (v: unknown): number {
    const key = constKey(v)
    let i = this.constIndex.get(key)
    if (i === undefined) {
      i = this.consts.length
      this.consts.push(v)
      this.constIndex.set(key, i)
    }
    return -1 - i
  }

  builtin (name: string): number {
    let i = this.builtinIndex.get(name)
    if (i === undefined) {
      i = this.builtins.length
      this.builtins.push(name)
      this.builtinIndex.set(name, i)
      if (builtinInfo(name)?.impl === 'host') {
        this.host.push(i)
        // its result crosses the JSON ABI as an array: the runtime makes it a set again
        if (builtinDecl(name)?.result?.type === 'set') this.hostSets.push(i)
      }
      if (FLOAT_BUILTINS.has(name) && !this.builtinIndex.has(FLOAT_BUILTIN)) {
        const f = this.builtins.length
        this.builtins.push(FLOAT_BUILTIN)
        this.builtinIndex.set(FLOAT_BUILTIN, f)
        this.host.push(f)
      }
    }
    return i
  }

  assignIds (n: TreeNode): void {
    n.id = this.nodes.length
    // a package without rules of its own is still a document ({} at least), as in OPA
    const pn: PlanNode = { path: n.path, children: {}, func: n.isPackage && !n.hasRules ? -3 : -1 }
    this.nodes.push(pn)
    for (const [k, c] of n.children) {
      this.assignIds(c)
      pn.children[k] = c.id
    }
  }

  newFunc (n: TreeNode | null, name?: string): number {
    const id = this.funcs.length
    this.funcs.push({ name: name ?? 'data.' + (n?.path.join('.') ?? ''), kind: FuncKind.COMPLETE, nargs: 0, nlocals: 0, rules: [], default: 0, defaultRule: null })
    this.calls.push(new Set())
    this.funcInput.push({ paths: [], whole: false })
    this.funcBuiltins.push(new Set())
    if (n !== null) {
      this.funcNodes[id] = n
      this.nodes[n.id].func = n.isFunction ? -2 : id
    }
    return id
  }

  /** A function whose value is the merged document of a tree node (package entrypoints). */
  docFunc (node: TreeNode, name: string): number {
    const f = this.newFunc(null, name)
    const fn = this.funcs[f]
    fn.nlocals = 1
    fn.rules.push({ body: [[Op.DOC, 0, node.id]], key: [], value: 0, multi: false, else: null, loc: name })
    this.noteDoc(f, node)
    return f
  }

  noteDoc (f: number, node: TreeNode): void {
    const visit = (n: TreeNode): void => {
      if (n.func >= 0 && !n.isFunction) this.calls[f].add(n.func)
      for (const c of n.children.values()) visit(c)
    }
    visit(node)
  }

  /**
   * The document at `node` as a ref that continues with `rest` (its first term not a constant
   * the tree knows) can read it: a plan node keeping only the children the ref's constant keys
   * name (any child where a key is computed), and whole subtrees past the ref's end. Base data
   * is kept whole. The recursion check then sees only the rules the ref can reach, as OPA's
   * does: `p := data[x].allow.see` in package test does not read data.test.p (OPA issue 7399),
   * and evaluating it builds no more than that.
   */
  prunedDoc (f: number, node: TreeNode, rest: Term[]): number {
    if (rest.length === 0) { this.noteDoc(f, node); return node.id }
    if (node.func >= 0 && !node.isFunction) this.calls[f].add(node.func)
    const t = rest[0]!
    const constant = t.type === 'string' ? t.value : t.type === 'number' || t.type === 'boolean' || t.type === 'null' ? null : undefined
    const pn: PlanNode = { path: node.path, children: {}, func: -1 }
    for (const [k, c] of node.children) {
      if (constant === undefined || constant === k) pn.children[k] = this.prunedDoc(f, c, rest.slice(1))
    }
    const id = this.nodes.length
    this.nodes.push(pn)
    this.pruned.push([pn, node])
    return id
  }

  private readonly ownRuleNames = new Map<string, Set<string>>()

  /** ownRuleNames (tree.ts) of `pkg`: its own modules' rule names, no sub-packages. */
  ownRuleNamesOf (pkg: string[]): Set<string> {
    return perPackage(this.ownRuleNames, pkg, () => ownRuleNames(this.root, pkg))
  }

  ruleNamesOf (pkg: string[]): Set<string> {
    return perPackage(this.ruleNames, pkg, () => packageRuleNames(this.root, pkg))
  }

  // ---- rule groups ----

  /**
   * A rule whose whole reference is ground (a complete rule, `p contains x`, a function) holds
   * the whole document at its path, so no rule may define something below it: OPA's
   * CheckRuleConflicts refuses `a.b := 1` beside `a.b.c := 2` (we merged the two before).
   * Rules with a variable in their reference (`a.b[x] := ...`) may have rules below them.
   */
  checkRulesBelow (n: TreeNode): void {
    const ground = [...n.rules, ...n.defaults].some(r => r.keyPath.length === 0)
    if (!ground) return
    const below: string[][] = []
    const visit = (c: TreeNode): void => {
      if (c.hasRules) { below.push(c.path); return } // the shortest path of each branch
      for (const g of c.children.values()) visit(g)
    }
    for (const c of n.children.values()) visit(c)
    if (below.length === 0) return
    const names = below.map(refName).sort()
    const first = firstRule(n)!
    this.diags.add('rego_type_error', `rule ${refName(n.path)} conflicts with [${names.join(' ')}]`, first.rule.loc)
  }

  /** A package may not be declared at a ground rule's path (OPA's CheckRuleConflicts), even empty. */
  checkPackagesAtRules (): void {
    const seen = new Set<string>()
    for (const ctx of this.ctxs) {
      const key = ctx.pkg.join('\u0000')
      if (seen.has(key)) continue
      seen.add(key)
      const node = findNode(this.root, ctx.pkg)
      // Rules with a variable in their reference (`b[k] := 2`) are exempt, as in OPA: a clash
      // below them can only be found when they are evaluated (an eval_conflict_error).
      const first = node === undefined ? undefined : firstRule(node, true)
      if (first === undefined) continue
      const pkg = ctx.module.package
      this.diags.add('rego_type_error', `package ${ctx.pkg.join('.')} conflicts with rule ${headRefText(first.rule)} defined at ${first.rule.loc.file}:${first.rule.loc.line}`, pkg.loc)
    }
  }

  /**
   * OPA's path conflict check against the data: rules at a path the data defines, or below a
   * data value that is not an object, are refused ("conflicting rule for data path"), as
   * `opa eval`, `opa build` and bundle activation refuse them. Without it both documents were
   * read, one here and one there: a direct reference got the rule's value, iterating the
   * enclosing document got the data's (an allow the rule denied).
   */
  checkDataConflicts (): void {
    const data = this.input.data
    if (data === undefined) return
    const visit = (n: TreeNode): void => {
      // A rule whose reference goes on with a ground key that is not a string (`p[1] := "a"`)
      // sits, in OPA's rule tree, below a non-string key, which "cannot conflict with data".
      const rules = [...n.rules, ...n.defaults].filter(r => r.keyPath.length === 0 || !isLiteral(r.keyPath[0]!))
      if (rules.length > 0 && dataDefines(data, n.path)) {
        const first = rules.sort((a, b) => a.rule.loc.line - b.rule.loc.line)[0]!
        this.diags.add('rego_compile_error', `conflicting rule for data path ${n.path.join('/')} found`, first.rule.loc)
        return
      }
      for (const c of n.children.values()) visit(c)
    }
    visit(this.root)
  }

  planGroup (n: TreeNode): void {
    const f = n.func
    const fn = this.funcs[f]
    const all = [...n.rules, ...n.defaults]
    const first = all[0]
    const loc = first.rule.loc
    if (n.isFunction) {
      fn.kind = FuncKind.FUNCTION
      const arities = new Set(all.map(r => r.rule.args?.length ?? -1))
      if (arities.size > 1 || arities.has(-1)) {
        this.diags.add('rego_type_error', `conflicting rules data.${n.path.join('.')} found (functions must have the same arity)`, loc)
        return
      }
      fn.nargs = first.rule.args?.length ?? 0
    } else if (n.rules.some(r => r.keyPath.length > 0)) {
      if (n.rules.some(r => r.keyPath.length === 0) || n.defaults.length > 0) {
        this.diags.add('rego_type_error', `conflicting rules data.${n.path.join('.')} found`, loc)
        return
      }
      fn.kind = FuncKind.OBJECT
    } else if (n.rules.some(r => r.rule.key !== undefined && r.rule.value === undefined)) {
      if (n.rules.some(r => r.rule.key === undefined) || n.defaults.length > 0) {
        this.diags.add('rego_type_error', `conflicting rules data.${n.path.join('.')} found`, loc)
        return
      }
      fn.kind = FuncKind.SET
    } else {
      fn.kind = FuncKind.COMPLETE
    }
    if (n.defaults.length > 1) {
      this.diags.add('rego_type_error', `multiple default rules data.${n.path.join('.')} found`, n.defaults[1].rule.loc)
    }
    const frame = new Frame()
    for (let i = 0; i < fn.nargs; i++) frame.alloc()
    for (const entry of n.rules) {
      const pr = this.planRule(f, entry, frame, fn.kind, entry.rule)
      if (pr !== null) fn.rules.push(pr)
    }
    if ((fn.kind === FuncKind.COMPLETE || fn.kind === FuncKind.FUNCTION) && fn.rules.length === n.rules.length &&
      earlyExitOf(n.rules.map(e => e.rule), fn.rules)) fn.earlyExit = true
    if (n.defaults.length > 0) {
      const d = n.defaults[0].rule
      const v = d.value ?? { type: 'boolean', value: true, loc: d.loc } as Term
      const c = this.groundConst(v)
      if (c !== undefined) fn.default = c
      else {
        // e.g. `default p := [x | ...]`: planned as a body-less rule evaluated when nothing else is defined
        const synthetic = { ...d, default: false, body: [], else: undefined, value: v }
        fn.defaultRule = this.planRule(f, { ...n.defaults[0], rule: synthetic }, frame, fn.kind === FuncKind.FUNCTION ? FuncKind.FUNCTION : FuncKind.COMPLETE, synthetic)
      }
    }
    fn.nlocals = frame.nlocals
  }

  /** Constant operand for a ground scalar/array/object term (no sets, no refs), else undefined. */
  groundConst (t: Term): number | undefined {
    const v = groundValue(t)
    return v === undefined ? undefined : this.const(v)
  }

  planRule (f: number, entry: RuleEntry, frame: Frame, kind: number, rule: import('../ast/index.js').Rule,
    metaRule: import('../ast/index.js').Rule = entry.rule): PlanRule | null {
    const scope = new Scope(null)
    const low = new Lowerer(this, f, entry.ctx, frame)
    low.metaRule = metaRule
    const bound = new Set<number>()
    const pre: Expr[] = []
    // function arguments: plain vars bind directly to the argument slots, patterns are unified
    const args = entry.rule.args ?? []
    args.forEach((a, i) => {
      if (a.type === 'var' && !a.name.startsWith('_') && a.name !== '_' && !scope.vars.has(a.name)) {
        scope.vars.set(a.name, i)
        bound.add(i)
      } else {
        // The variables of a pattern are the function's own (OPA: a head's argument vars are
        // never resolved to rules or imports), even where a rule or import has the name: they
        // are declared here, unbound, so the unification below binds them.
        forEachPatternVar(a, (v) => {
          if (v !== '_' && !v.startsWith('$') && !scope.vars.has(v)) scope.vars.set(v, frame.alloc())
        })
        const tmpName = `$arg${i}`
        scope.vars.set(tmpName, i)
        bound.add(i)
        pre.push({ loc: a.loc, negated: false, with: [], kind: { type: 'unify', left: { type: 'var', name: tmpName, loc: a.loc }, right: a } })
      }
    })
    const headTerms: Term[] = []
    if (kind === FuncKind.OBJECT) headTerms.push(...entry.keyPath)
    if (rule.key !== undefined) headTerms.push(rule.key)
    if (rule.value !== undefined) headTerms.push(rule.value)
    const body = low.planBody([...pre, ...rule.body], scope, bound, headTerms)
    if (body === null) return null
    const exit = this.coverMark(rule.loc, 'rule', low.tmp())
    if (exit !== null) low.emit(exit)
    // head terms are evaluated after the body, with its bindings
    low.scope = scope
    low.bound = low.lastBound
    const key: number[] = []
    let value = -1
    if (kind === FuncKind.OBJECT) {
      for (const k of entry.keyPath) key.push(low.evalTerm(k))
      if (rule.key !== undefined) {
        if (rule.value !== undefined) {
          this.diags.add('rego_parse_error', 'a rule cannot have both contains and a value', rule.loc)
        }
        value = low.evalTerm(rule.key)
      } else {
        value = rule.value === undefined ? this.const(true) : low.evalTerm(rule.value)
      }
    } else if (kind === FuncKind.SET) {
      key.push(low.evalTerm(rule.key as Term))
    } else {
      value = rule.value === undefined ? this.const(true) : low.evalTerm(rule.value)
    }
    const pr: PlanRule = {
      body: low.instrs,
      key,
      value,
      multi: kind === FuncKind.OBJECT && rule.key !== undefined,
      else: null,
      loc: `${rule.loc.file}:${rule.loc.line}`,
    }
    if (rule.else !== undefined) {
      if (kind !== FuncKind.COMPLETE && kind !== FuncKind.FUNCTION) {
        this.diags.add('rego_type_error', 'else keyword cannot be used on multi-value rules', rule.else.loc)
      } else {
        const elseRule = { ...rule.else, args: entry.rule.args }
        pr.else = this.planRule(f, { ...entry, rule: elseRule }, frame, kind, elseRule, metaRule)
      }
    }
    return pr
  }

  planQuery (body: Body, pkg: string[]): number {
    const f = this.newFunc(null, '$query')
    const fn = this.funcs[f]
    const frame = new Frame()
    const ctx: ModuleCtx = { module: { file: '<query>', package: { path: [], loc: { file: '<query>', line: 1, col: 1 } }, imports: [], rules: [] }, pkg, imports: new Map() }
    const low = new Lowerer(this, f, ctx, frame)
    const outer = low.instrs
    low.instrs = []
    const scope = new Scope(null)
    const ok = low.planBody(body, scope, new Set(), [])
    if (ok === null) return f
    const names = [...scope.vars.keys()].filter(n => !n.startsWith('$')).sort()
    this.queryVars = names
    const row = frame.alloc()
    low.instrs.push([Op.MAKEOBJ, row, names.map(n => this.const(n)), names.map(n => scope.vars.get(n) as number)])
    const block = low.instrs
    low.instrs = outer
    const dst = frame.alloc()
    low.instrs.push([Op.COMPR, 0, dst, block, -1, row])
    fn.rules.push({ body: low.instrs, key: [], value: dst, multi: false, else: null, loc: '<query>' })
    fn.nlocals = frame.nlocals
    return f
  }

  // ---- whole-plan checks ----

  reachable (f: number): Set<number> {
    const seen = new Set<number>()
    const stack = [f]
    while (stack.length > 0) {
      const g = stack.pop() as number
      if (seen.has(g)) continue
      seen.add(g)
      for (const h of this.calls[g]) stack.push(h)
    }
    return seen
  }

  checkRecursion (): void {
    const state = new Array<number>(this.funcs.length).fill(0)
    const stack: number[] = []
    const visit = (f: number): boolean => {
      if (state[f] === 2) return false
      if (state[f] === 1) {
        const cycle = stack.slice(stack.indexOf(f)).concat(f).map(g => this.funcs[g].name)
        const node = this.funcNodes[f]
        const loc = node?.rules[0]?.rule.loc ?? { file: '<policy>', line: 1, col: 1 }
        this.diags.add('rego_recursion_error', `rule ${this.funcs[f].name} is recursive: ${cycle.join(' -> ')}`, loc)
        return true
      }
      state[f] = 1
      stack.push(f)
      for (const g of this.calls[f]) if (visit(g)) return true
      stack.pop()
      state[f] = 2
      return false
    }
    for (let f = 0; f < this.funcs.length; f++) if (visit(f)) return
  }
}

function dedupePaths (paths: string[][]): string[][] {
  const sorted = [...paths].sort((a, b) => a.length - b.length)
  const out: string[][] = []
  for (const p of sorted) {
    if (out.some(q => q.length <= p.length && q.every((k, i) => p[i] === k))) continue
    out.push(p)
  }
  return out.sort((a, b) => a.join('\u0000') < b.join('\u0000') ? -1 : 1)
}

/** Why a builtin cannot be a `with` target (OPA's validateWithBuiltinTarget), or null. */
function withBuiltinTargetError (name: string): string | null {
  if (name === 'eq' || name === 'rego.metadata.chain' || name === 'rego.metadata.rule') return `replacement of ${JSON.stringify(name)} invalid`
  if (name.startsWith('internal.')) return `replacement of internal function ${JSON.stringify(name)} invalid`
  if (name === 'print') return 'target must not be a void function'
  if (builtinInfo(name)?.relation === true) return 'target must not be a relation'
  return null
}

function constKey (v: unknown): string {
  if (v instanceof RawNumber) return 'n:' + v.raw
  return 'j:' + JSON.stringify(v, (_k, x) => x instanceof RawNumber ? { $raw: x.raw } : x)
}

export function numberValue (raw: string): number | RawNumber {
  const n = Number(raw)
  // numbers no double denotes (big integers, numbers beyond float64, fractions with more
  // digits than a double keeps) keep their source text: OPA compares the decimals; and so do
  // numbers written otherwise than a double prints (1.0, 1e2): OPA keeps the text (exact-json.ts)
  if (keepsText(raw, n)) return new RawNumber(raw)
  return n
}

/** JSON value of a ground term made of scalars, arrays and objects with string keys. */
export function groundValue (t: Term): unknown {
  switch (t.type) {
    case 'null': return null
    case 'boolean': return t.value
    case 'number': return numberValue(t.raw)
    case 'string': return t.value
    case 'array': {
      const out: unknown[] = []
      for (const i of t.items) {
        const v = groundValue(i)
        if (v === undefined) return undefined
        out.push(v)
      }
      return out
    }
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [k, v] of t.entries) {
        if (k.type !== 'string') return undefined
        const vv = groundValue(v)
        if (vv === undefined) return undefined
        out[k.value] = vv
      }
      return out
    }
    default: return undefined
  }
}

function containsUnbound (t: Term, isUnbound: (name: string) => boolean): boolean {
  switch (t.type) {
    case 'var': return isUnbound(t.name)
    case 'array': return t.items.some(i => containsUnbound(i, isUnbound))
    case 'object': return t.entries.some(([, v]) => containsUnbound(v, isUnbound))
    default: return false
  }
}

/**
 * Whether two literals of one shape unify part by part with what is bound now (the pairs in the
 * order they can go, each binding its variables for the next), as the safety check accepted
 * them: `[[y], [z, 1]] = [[z], [2, w]]` completes through its second pair first.
 */
function completes (a: Term, b: Term, isUnbound: (name: string) => boolean): boolean {
  if (!containsUnbound(a, isUnbound) || !containsUnbound(b, isUnbound)) return true
  if (!(a.type === 'array' && b.type === 'array' && a.items.length === b.items.length)) return false
  const local = new Set<string>()
  const unbound = (n: string): boolean => !local.has(n) && isUnbound(n)
  const pending = a.items.map((x, k) => [x, b.items[k]!] as const)
  for (let progress = true; progress && pending.length > 0;) {
    progress = false
    const k = pending.findIndex(([x, y]) => completes(x, y, unbound))
    if (k < 0) break
    const [x, y] = pending.splice(k, 1)[0]!
    forEachVar(x, (n) => { local.add(n) }, false)
    forEachVar(y, (n) => { local.add(n) }, false)
    progress = true
  }
  return pending.length === 0
}

/** Lowers bodies of one plan function into instructions. */
class Lowerer {
  instrs: Instr[] = []
  scope: Scope = new Scope(null)
  bound = new Set<number>()
  lastBound = new Set<number>()
  wildcard = 0
  negated = 0
  printed = 0
  /** renamed shadowing declarations (./shadow.ts) */
  shadowed = 0
  /** the rule whose body this is, for rego.metadata.* (null in a query) */
  metaRule: import('../ast/index.js').Rule | null = null

  constructor (readonly p: Planner, readonly f: number, readonly ctx: ModuleCtx, readonly frame: Frame) {}

  get diags (): Diagnostics { return this.p.diags }

  tmp (): number { return this.frame.alloc() }

  emit (i: Instr): void { this.instrs.push(i) }

  // ---- name resolution ----

  resolveName (name: string): Resolved | null {
    const slot = this.scope.lookup(name)
    if (slot !== undefined) return { kind: 'local', slot }
    const imp = this.ctx.imports.get(name)
    if (imp !== undefined) return imp.root === 'input' ? { kind: 'input', path: imp.path } : { kind: 'data', path: imp.path }
    if (name === 'input') return { kind: 'input', path: [] }
    if (name === 'data') return { kind: 'data', path: [] }
    // a query has no package: bare names there are always variables
    if (this.ctx.pkg.length > 0 && this.p.ruleNamesOf(this.ctx.pkg).has(name)) {
      const loc = { file: '', line: 0, col: 0 }
      return { kind: 'data', path: [...this.ctx.pkg, name].map(s => ({ type: 'string', value: s, loc }) as Term) }
    }
    return null
  }

  // ---- bodies ----

  /** Plans a body into this.instrs. Returns null on unsafe/errors (diagnostics recorded). */
  planBody (body: Body, scope: Scope, bound: Set<number>, headTerms: Term[]): Instr[] | null {
    const savedScope = this.scope
    const savedBound = this.bound
    this.scope = scope
    this.bound = bound
    try {
      const exprs = this.rewritePrints(body).map(e => this.renameWildcards(e))
      this.declare(exprs, headTerms)
      const capturable = (n: string): boolean => {
        const slot = this.scope.lookup(n)
        if (slot === undefined) return false
        for (let s: Scope | null = this.scope; s !== null; s = s.parent) {
          if (s.vars.has(n)) return !((s.assigned.has(n) || s.declared.has(n)) && !this.bound.has(slot) && s === this.scope)
        }
        return true
      }
      const order = withOuterNames(capturable, () => analyseBody(exprs, {
        isBound: (name) => {
          const s = this.scope.lookup(name)
          return s === undefined ? !this.isLocalCandidate(name) : this.bound.has(s)
        },
        isLocal: (name) => this.scope.lookup(name) !== undefined,
        isCallable: (t) => this.isCallableTerm(t),
        callArity: (t) => this.callArity(t.name),
      }))
      if (order.unsafe.length > 0) {
        for (const u of order.unsafe) this.diags.add('rego_unsafe_var_error', `var ${u.name} is unsafe`, u.loc)
        return null
      }
      for (const e of order.exprs) this.lowerExpr(e)
      this.lastBound = this.bound
      return this.instrs
    } finally {
      this.scope = savedScope
      this.bound = savedBound
    }
  }

  /** dotted name of a var or static ref term, else null */
  dottedName (t: Term): string | null {
    if (t.type === 'var') return t.name
    if (t.type === 'ref' && t.head.type === 'var' && t.path.every(x => x.type === 'string')) {
      return [t.head.name, ...t.path.map(x => (x as { value: string }).value)].join('.')
    }
    return null
  }

  /** The number of arguments a function or (non-variadic) builtin takes, as lowerCall reads it. */
  callArity (name: string): number | undefined {
    const fnode = this.functionNode(name)
    if (fnode !== null) return fnode.arity
    return builtinInfo(name)?.arity
  }

  isCallableTerm (t: Term): boolean {
    const name = this.dottedName(t)
    if (name === null) return false
    const head = name.split('.')[0]
    if (this.scope.lookup(head) !== undefined) return false
    return this.functionNode(name) !== null || (builtinInfo(name) !== undefined && this.resolveName(head) === null)
  }

  isLocalCandidate (name: string): boolean {
    return this.resolveName(name) === null
  }

  /** name is declared with := or some in an enclosing scope (lexically scoped from that point on) */
  assignedOuter (name: string): boolean {
    for (let s = this.scope.parent; s !== null; s = s.parent) {
      if (s.vars.has(name)) return s.assigned.has(name) || s.declared.has(name)
    }
    return false
  }

  /** print statements become internal.print calls, or disappear when print is off (./print.ts).
   *  A user function or local named print is called as such. */
  rewritePrints (body: Body): Body {
    if (!body.some(isPrintStatement) || this.functionNode('print') !== null || this.scope.lookup('print') !== undefined) return body
    const enabled = this.p.input.printStatements !== false
    const out: Body = []
    for (const e of body) {
      if (!isPrintStatement(e)) out.push(e)
      else if (enabled) out.push(rewritePrint(e, () => `$print${this.printed++}`))
    }
    return out
  }

  renameWildcards (e: Expr): Expr {
    const rn = (t: Term): Term => renameTerm(t, () => `${WILDCARD_PREFIX}${this.wildcard++}`)
    return mapExprTerms(e, rn)
  }

  /** Declares every variable that appears directly in this body (not in nested bodies). */
  declare (exprs: Expr[], headTerms: Term[]): void {
    const declareName = (name: string, explicit: boolean): void => {
      if (this.scope.vars.has(name)) return
      const outerSlot = this.scope.parent?.lookup(name)
      const lexicallyLater = outerSlot !== undefined && !this.bound.has(outerSlot) && this.assignedOuter(name)
      if (!explicit && !lexicallyLater && this.resolveName(name) !== null) return
      this.scope.vars.set(name, this.frame.alloc())
    }
    for (const e of exprs) {
      const k = e.kind
      if (k.type === 'some') for (const v of k.vars) { this.scope.declared.add(v.name); declareName(v.name, true) }
      if (k.type === 'somein') {
        for (const t of [k.key, k.value]) if (t !== undefined) forEachPatternVar(t, v => { this.scope.declared.add(v); declareName(v, true) })
      }
      if (k.type === 'assign') {
        // (a name declared twice, or after it was used, is the checker's: ../checker/locals.ts)
        forEachVar(k.left, v => {
          this.scope.assigned.add(v)
          declareName(v, true)
        }, false)
      }
    }
    for (const e of exprs) {
      forEachExprVar(e, (name) => declareName(name, false), (t) => this.isCallableTerm(t))
    }
    for (const t of headTerms) forEachVar(t, (name) => declareName(name, false), true)
  }

  readonly negationContext: NegationContext = {
    isRefName: (name) => { const r = this.resolveName(name); return r !== null && r.kind !== 'local' },
    isCallable: (t) => this.isCallableTerm(t),
    fresh: () => {
      const name = `$not${this.negated++}`
      this.scope.vars.set(name, this.frame.alloc())
      return name
    },
  }

  lowerExpr (e: Expr): void {
    if (e.kind.type !== 'some') {
      const mark = this.p.coverMark(e.loc, 'expr', this.tmp())
      if (mark !== null) this.emit(mark)
    }
    if (e.negated) {
      // OPA evaluates parts of a negated expression before the negation (see ./negation.ts)
      const { before, expr } = rewriteNegated(e, this.negationContext)
      for (const b of before) this.lowerExpr(b)
      const outer = this.instrs
      const savedBound = new Set(this.bound)
      this.instrs = []
      this.lowerExpr({ ...expr, negated: false })
      const block = this.instrs
      this.instrs = outer
      this.bound = savedBound
      // every solution, as OPA (`every` keeps NOT: OPA's stops at the first failing element)
      this.emit([Op.NOTALL, block])
      return
    }
    if (e.with.length > 0) {
      const overrides: Array<Array<number | number[]>> = []
      for (const w of e.with) {
        const o = this.withOverride(w.target, w.value)
        if (o !== null) overrides.push(o)
      }
      const outer = this.instrs
      this.instrs = []
      this.lowerExpr({ ...e, with: [] })
      const block = this.instrs
      this.instrs = outer
      this.emit([Op.WITH, overrides, block])
      return
    }
    const k = e.kind
    switch (k.type) {
      case 'some': return
      case 'term': {
        const t = k.term
        if (t.type === 'call' && t.name === 'eq' && t.args.length === 2 && this.functionNode('eq') === null) {
          this.unify(t.args[0], t.args[1])
          return
        }
        if (t.type === 'call' && t.name === 'equal' && t.args.length === 2) {
          const [a, b] = this.evalArgs(t.args)
          this.emit([Op.EQ, a!, b!])
          return
        }
        if (t.type === 'call') {
          const r = this.lowerCall(t)
          if (r !== null) this.emit([Op.NOTFALSE, r])
          return
        }
        const v = this.evalTerm(t)
        this.emit([Op.NOTFALSE, v])
        return
      }
      case 'unify': this.unify(k.left, k.right); return
      case 'assign': {
        if (!isPattern(k.left)) {
          this.diags.add('rego_compile_error', 'cannot assign to ' + k.left.type, e.loc)
          return
        }
        this.unify(k.left, k.right)
        return
      }
      case 'somein': {
        // OPA rewrites `some k, v in coll` to `v = coll[k]`: over a data reference the
        // iteration is the reference's own, so a document of packages is walked key by key
        // (SCANDOC) instead of being built whole first
        const c = k.collection
        const root = c.type === 'ref' && c.head.type === 'var' ? this.resolveName(c.head.name) : c.type === 'var' ? this.resolveName(c.name) : null
        if (root !== null && root.kind === 'data') {
          const ks = this.tmp()
          const keyName = `$somekey${ks}`
          this.scope.vars.set(keyName, ks)
          const keyVar: Term = { type: 'var', name: keyName, loc: c.loc }
          const d = this.lowerDataRef([...root.path, ...(c.type === 'ref' ? c.path : []), keyVar], c.loc)
          if (k.key !== undefined) this.match(k.key, ks)
          this.match(k.value, d)
          return
        }
        const coll = this.evalTerm(k.collection)
        const kv = k.key === undefined ? -1 : this.targetSlot(k.key)
        const vv = this.targetSlot(k.value)
        this.emit([Op.SCAN, coll, kv, vv])
        if (k.key !== undefined) this.afterTarget(k.key, kv)
        this.afterTarget(k.value, vv)
        return
      }
      case 'every': {
        const coll = this.evalTerm(k.collection)
        // `every` over something that is not a collection is undefined, not vacuously true
        this.emit([Op.ISCOLL, coll])
        const outer = this.instrs
        const savedScope = this.scope
        const savedBound = new Set(this.bound)
        const scope = new Scope(this.scope)
        this.scope = scope
        const kslot = k.key === undefined ? -1 : this.frame.alloc()
        const vslot = this.frame.alloc()
        this.instrs = []
        this.emit([Op.SCAN, coll, kslot, vslot])
        this.bound.add(vslot)
        if (kslot >= 0) this.bound.add(kslot)
        const pre: Expr[] = []
        const bindPattern = (t: Term, slot: number): void => {
          if (t.type === 'var') {
            if (t.name === '_') return
            scope.vars.set(t.name, slot)
          } else {
            const n = `$every${slot}`
            scope.vars.set(n, slot)
            pre.push({ loc: t.loc, negated: false, with: [], kind: { type: 'unify', left: { type: 'var', name: n, loc: t.loc }, right: t } })
          }
        }
        if (k.key !== undefined) bindPattern(k.key, kslot)
        bindPattern(k.value, vslot)
        const scanBlock = this.instrs
        this.instrs = []
        const everyBody = renameShadowing(k.body, [], n => this.scope.lookup(n) !== undefined, n => `${n}${SHADOW_SEP}${this.shadowed++}`).body
        const inner = this.planBody([...pre, ...everyBody], new Scope(scope), new Set(this.bound), [])
        const bodyBlock = inner ?? []
        this.instrs = scanBlock
        this.emit([Op.NOT, bodyBlock])
        const notBlock = this.instrs
        this.instrs = outer
        this.scope = savedScope
        this.bound = savedBound
        this.emit([Op.NOT, notBlock])
      }
    }
  }

  /** slot to scan into for a `some` target: the var's own slot when it is an unbound var */
  targetSlot (t: Term): number {
    if (t.type === 'var') {
      const s = this.scope.lookup(t.name)
      if (s !== undefined && !this.bound.has(s)) { this.bound.add(s); return s }
    }
    return this.tmp()
  }

  afterTarget (t: Term, slot: number): void {
    if (t.type === 'var' && this.scope.lookup(t.name) === slot) return
    this.match(t, slot)
  }

  withOverride (target: Term, value: Term): Array<number | number[]> | null {
    // target: input..., data..., or a function/builtin name
    let name: string | null = null
    let path: Term[] = []
    if (target.type === 'var') name = target.name
    else if (target.type === 'ref' && target.head.type === 'var') { name = target.head.name; path = target.path }
    if (name === null) {
      this.diags.add('rego_type_error', 'with keyword target must be a reference', target.loc)
      return null
    }
    // A key may be a variable bound before (`with input[x] as 1`, OPA rewrites it like any
    // other term): the path is then built when the expression runs.
    const dynamic = !path.every(t => t.type === 'string')
    if (dynamic && !path.every(t => t.type === 'string' || t.type === 'var' || t.type === 'number' || t.type === 'boolean' || t.type === 'null')) {
      this.diags.add('rego_type_error', 'with keyword target must be a static reference', target.loc)
      return null
    }
    const staticLen = dynamic ? path.findIndex(t => t.type !== 'string') : path.length
    const strPath = path.slice(0, staticLen).map(t => (t as { value: string }).value)
    const pathOp = (prefix: string[]): number => dynamic
      ? this.evalTerm({ type: 'array', items: [...prefix.map(v => ({ type: 'string', value: v, loc: target.loc }) as Term), ...path], loc: target.loc })
      : this.p.const([...prefix, ...strPath])
    const dotted = [name, ...strPath].join('.')
    const markWhole = (): void => { this.p.funcInput[this.f].whole = true }
    if (name === 'input') {
      markWhole()
      return [WithKind.INPUT, pathOp([]), this.evalTerm(value)]
    }
    // user function?
    let dataPath: string[] | null = null
    let dataPrefix: string[] = []
    if (name === 'data') dataPath = strPath
    else {
      const r = this.resolveName(name)
      if (r?.kind === 'data' && r.path.every(t => t.type === 'string')) {
        dataPrefix = r.path.map(t => (t as { value: string }).value)
        dataPath = [...dataPrefix, ...strPath]
      }
      if (r?.kind === 'input') {
        markWhole()
        const ip = r.path.every(t => t.type === 'string') ? r.path.map(t => (t as { value: string }).value) : []
        return [WithKind.INPUT, pathOp(ip), this.evalTerm(value)]
      }
    }
    if (dataPath !== null && dynamic) {
      // only the static prefix can name rules: none may hold a part of what is replaced
      if (this.rulesAbove(dataPath, dataPath.length)) {
        this.diags.add('rego_compile_error', 'with keyword cannot partially replace virtual document(s)', target.loc)
        return null
      }
      this.p.funcInput[this.f].whole = true
      return [WithKind.DATA, pathOp(dataPrefix), this.evalTerm(value)]
    }
    if (dataPath !== null) {
      // OPA's validateWith: a rule's value is replaced whole or not at all (`p.a` of a rule p)
      if (this.rulesAbove(dataPath, dataPath.length - 1)) {
        this.diags.add('rego_compile_error', 'with keyword cannot partially replace virtual document(s)', target.loc)
        return null
      }
      const node = findNode(this.p.root, dataPath)
      if (node !== undefined && node.isFunction) {
        return [WithKind.FUNC, node.func, this.replacement(value)]
      }
      this.p.funcInput[this.f].whole = true
      return [WithKind.DATA, this.p.const(dataPath), this.evalTerm(value)]
    }
    const refused = withBuiltinTargetError(dotted)
    if (refused !== null) {
      this.diags.add('rego_compile_error', `with keyword replacing built-in function: ${refused}`, target.loc)
      return null
    }
    if (builtinInfo(dotted) !== undefined) {
      const b = this.p.builtin(dotted)
      this.p.funcBuiltins[this.f].add(dotted)
      return [WithKind.BUILTIN, b, this.replacement(value)]
    }
    this.diags.add('rego_type_error', `with keyword target ${dotted} must reference input, data or a function`, target.loc)
    return null
  }

  /** Whether rules sit at one of the first `upto` + 1 prefixes of `path` (the empty one first). */
  rulesAbove (path: string[], upto: number): boolean {
    for (let k = 0; k <= upto; k++) {
      const prefix = findNode(this.p.root, path.slice(0, k))
      if (prefix === undefined) return false
      if (prefix.rules.length > 0 || prefix.defaults.length > 0) return true
    }
    return false
  }

  /** replacement for a function/builtin mock: another function, a builtin, or a value */
  replacement (value: Term): number[] {
    let name: string | null = null
    if (value.type === 'var') name = value.name
    else if (value.type === 'ref' && value.head.type === 'var' && value.path.every(t => t.type === 'string')) {
      name = [value.head.name, ...value.path.map(t => (t as { value: string }).value)].join('.')
    }
    if (name !== null) {
      const fnode = this.functionNode(name)
      if (fnode !== null) {
        this.p.calls[this.f].add(fnode.func)
        return [0, fnode.func]
      }
      if (this.scope.lookup(name) === undefined && builtinInfo(name) !== undefined) {
        this.p.funcBuiltins[this.f].add(name)
        return [1, this.p.builtin(name)]
      }
    }
    return [2, this.evalTerm(value)]
  }

  /** Tree node of a user function named as written in the source, or null. */
  functionNode (name: string): TreeNode | null {
    const node = this.ruleNode(name)
    return node !== null && node.isFunction ? node : null
  }

  /** Tree node of the rules (or function) named as written in the source, or null. */
  ruleNode (name: string): TreeNode | null {
    const parts = name.split('.')
    let path: string[] | null = null
    if (parts[0] === 'data') path = parts.slice(1)
    else if (this.scope.lookup(parts[0]) === undefined) {
      const imp = this.ctx.imports.get(parts[0])
      if (imp !== undefined && imp.root === 'data' && imp.path.every(t => t.type === 'string')) {
        path = [...imp.path.map(t => (t as { value: string }).value), ...parts.slice(1)]
      } else if (this.p.ruleNamesOf(this.ctx.pkg).has(parts[0])) {
        path = [...this.ctx.pkg, ...parts]
      }
    }
    if (path === null) return null
    return findNode(this.p.root, path) ?? null
  }

  // ---- unification ----

  /** A call's arguments: those whose references bind variables first (they iterate), the
   *  others after, each at its own position (`x == input.xs[x]`). */
  evalArgs (args: Term[]): number[] {
    const ops = new Array<number>(args.length)
    const binding = args.map(a => { const vs = new Set<string>(); refKeyVars(a, vs); return [...vs].some(this.isUnboundName) })
    for (let i = 0; i < args.length; i++) if (binding[i]) ops[i] = this.evalTerm(args[i]!)
    for (let i = 0; i < args.length; i++) if (!binding[i]) ops[i] = this.evalTerm(args[i]!)
    return ops
  }

  /**
   * Evaluates, before a composite term, the references inside it whose keys are unbound
   * variables: they iterate and bind them, so a variable may come before the reference that
   * binds it (`[k, obj[k]]`, as OPA, which pulls such references out of the term first). The
   * term then reads them again with the keys bound.
   */
  bindingRefsFirst (t: Term): void {
    const visit = (x: Term): void => {
      switch (x.type) {
        case 'ref': {
          const vs = new Set<string>()
          refKeyVars(x, vs)
          if ([...vs].some(this.isUnboundName)) this.evalTerm(x)
          return
        }
        case 'array': case 'set': x.items.forEach(visit); return
        case 'object': x.entries.forEach(([k, v]) => { visit(k); visit(v) }); return
        case 'call': x.args.forEach(visit)
      }
    }
    if (t.type === 'array' || t.type === 'set') t.items.forEach(visit)
    else if (t.type === 'object') t.entries.forEach(([k, v]) => { visit(k); visit(v) })
  }

  isUnboundName = (name: string): boolean => {
    const s = this.scope.lookup(name)
    return s !== undefined && !this.bound.has(s)
  }

  unify (l: Term, r: Term): void {
    if (l.type === 'array' && r.type === 'array' && l.items.length === r.items.length &&
      (containsUnbound(l, this.isUnboundName) || containsUnbound(r, this.isUnboundName))) {
      // element-wise, evaluating the side that can be evaluated first for each pair
      const pending = l.items.map((x, i) => [x, r.items[i]] as [Term, Term])
      let progress = true
      while (pending.length > 0 && progress) {
        progress = false
        // A pair with a side that can be evaluated first; else two literals of one shape, which
        // unify part by part (`[[x, 1]] = [[2, y]]`), as the safety check paired them.
        let i = pending.findIndex(([a, b]) => !containsUnbound(a, this.isUnboundName) || !containsUnbound(b, this.isUnboundName))
        if (i < 0) i = pending.findIndex(([a, b]) => completes(a, b, this.isUnboundName))
        if (i >= 0) {
          const [a, b] = pending.splice(i, 1)[0]!
          this.unify(a, b)
          progress = true
        }
      }
      for (const [a] of pending) this.diags.add('rego_unsafe_var_error', 'var in ' + a.type + ' is unsafe', a.loc)
      return
    }
    if (l.type === 'object' && r.type === 'object' &&
      (containsUnbound(l, this.isUnboundName) || containsUnbound(r, this.isUnboundName))) {
      if (l.entries.length !== r.entries.length) { this.emit([Op.EQ, this.p.const(0), this.p.const(1)]); return }
      const rv = new Map<string, Term>()
      for (const [k, v] of r.entries) rv.set(JSON.stringify(groundValue(k) ?? null), v)
      for (const [k, v] of l.entries) {
        const other = rv.get(JSON.stringify(groundValue(k) ?? null))
        if (other === undefined) { this.emit([Op.EQ, this.p.const(0), this.p.const(1)]); return }
        this.unify(v, other)
      }
      return
    }
    // references inside a composite side bind their key variables before the sides are
    // weighed (`x = [k, obj[k]]`: k is bound by obj[k], not a pattern variable)
    this.bindingRefsFirst(l)
    this.bindingRefsFirst(r)
    const lUnbound = containsUnbound(l, this.isUnboundName)
    const rUnbound = containsUnbound(r, this.isUnboundName)
    if (lUnbound && !rUnbound) {
      const v = this.evalTerm(r)
      this.match(l, v)
    } else if (rUnbound && !lUnbound) {
      const v = this.evalTerm(l)
      this.match(r, v)
    } else if (!lUnbound && !rUnbound) {
      // both evaluable; a side whose refs still bind variables is evaluated first
      const a = this.evalTerm(l)
      if (isPattern(r)) this.match(r, a)
      else this.emit([Op.EQ, a, this.evalTerm(r)])
    } else {
      this.diags.add('rego_unsafe_var_error', 'unification of two unbound patterns is not supported', l.loc)
    }
  }

  /** Match a pattern term against the value in operand `v`, binding unbound vars. */
  match (t: Term, v: number): void {
    switch (t.type) {
      case 'var': {
        const s = this.scope.lookup(t.name)
        if (s !== undefined) {
          if (this.bound.has(s)) this.emit([Op.EQ, s, v])
          else { this.emit([Op.ASSIGN, s, v]); this.bound.add(s) }
          return
        }
        this.emit([Op.EQ, this.evalTerm(t), v])
        return
      }
      case 'array':
        if (containsUnbound(t, this.isUnboundName)) {
          this.emit([Op.ISARR, v, t.items.length])
          t.items.forEach((item, i) => {
            const tmp = this.tmp()
            this.emit([Op.DOT, tmp, v, this.p.const(i)])
            this.match(item, tmp)
          })
          return
        }
        break
      case 'object':
        if (containsUnbound(t, this.isUnboundName)) {
          this.emit([Op.ISOBJ, v, t.entries.length])
          for (const [k, val] of t.entries) {
            const kv = this.evalTerm(k)
            const tmp = this.tmp()
            this.emit([Op.DOT, tmp, v, kv])
            this.match(val, tmp)
          }
          return
        }
        break
    }
    this.emit([Op.EQ, this.evalTerm(t), v])
  }

  // ---- terms ----

  evalTerm (t: Term): number {
    switch (t.type) {
      case 'null': return this.p.const(null)
      case 'boolean': return this.p.const(t.value)
      case 'number': return this.p.const(numberValue(t.raw))
      case 'string': return this.p.const(t.value)
      case 'var': {
        const r = this.resolveName(t.name)
        if (r === null) {
          this.diags.add('rego_unsafe_var_error', `var ${t.name} is unsafe`, t.loc)
          return this.p.const(null)
        }
        if (r.kind === 'local') {
          if (!this.bound.has(r.slot)) {
            this.diags.add('rego_unsafe_var_error', `var ${displayName(t.name)} is unsafe`, t.loc)
          }
          return r.slot
        }
        return this.lowerRootRef(r, [], t.loc)
      }
      case 'ref': return this.lowerRef(t)
      case 'array': {
        const g = groundValue(t)
        if (g !== undefined) return this.p.const(g)
        this.bindingRefsFirst(t)
        const ops = t.items.map(i => this.evalTerm(i))
        const d = this.tmp()
        this.emit([Op.MAKEARR, d, ops])
        return d
      }
      case 'set': {
        this.bindingRefsFirst(t)
        const ops = t.items.map(i => this.evalTerm(i))
        const d = this.tmp()
        this.emit([Op.MAKESET, d, ops])
        return d
      }
      case 'object': {
        const g = groundValue(t)
        if (g !== undefined) return this.p.const(g)
        this.bindingRefsFirst(t)
        const ks = t.entries.map(([k]) => this.evalTerm(k))
        const vs = t.entries.map(([, v]) => this.evalTerm(v))
        const d = this.tmp()
        this.emit([Op.MAKEOBJ, d, ks, vs])
        return d
      }
      case 'arraycompr':
      case 'setcompr':
      case 'objectcompr': return this.lowerCompr(t)
      case 'call': {
        const r = this.lowerCall(t)
        return r ?? this.p.const(null)
      }
    }
  }

  lowerCompr (t: Extract<Term, { type: 'arraycompr' | 'setcompr' | 'objectcompr' }>): number {
    const outer = this.instrs
    this.instrs = []
    const scope = new Scope(this.scope)
    const written: Term[] = t.type === 'objectcompr' ? [t.key, t.value] : [t.term]
    // `x := f(x)` re-declaring an enclosing x reads the enclosing one on its right (./shadow.ts)
    const { body, head } = renameShadowing(t.body, written, n => this.scope.lookup(n) !== undefined, n => `${n}${SHADOW_SEP}${this.shadowed++}`)
    const savedBound = this.bound
    const ok = this.planBody(body, scope, new Set(this.bound), head)
    let key = -1
    let val = -1
    if (ok !== null) {
      const savedScope = this.scope
      this.scope = scope
      this.bound = this.lastBound
      if (t.type === 'objectcompr') { key = this.evalTerm(head[0]!); val = this.evalTerm(head[1]!) } else val = this.evalTerm(head[0]!)
      this.scope = savedScope
    }
    this.bound = savedBound
    const block = this.instrs
    this.instrs = outer
    const d = this.tmp()
    this.emit([Op.COMPR, t.type === 'arraycompr' ? 0 : t.type === 'setcompr' ? 1 : 2, d, block, key, val])
    return d
  }

  lowerRef (t: Extract<Term, { type: 'ref' }>): number {
    const head = t.head
    if (head.type === 'var') {
      const r = this.resolveName(head.name)
      if (r === null) {
        this.diags.add('rego_unsafe_var_error', `var ${head.name} is unsafe`, head.loc)
        return this.p.const(null)
      }
      if (r.kind === 'local') {
        if (!this.bound.has(r.slot)) this.diags.add('rego_unsafe_var_error', `var ${displayName(head.name)} is unsafe`, head.loc)
        return this.applyPath(r.slot, t.path)
      }
      return this.lowerRootRef(r, t.path, t.loc)
    }
    return this.applyPath(this.evalTerm(head), t.path)
  }

  lowerRootRef (r: Exclude<Resolved, { kind: 'local' }>, rest: Term[], loc: Loc): number {
    const path = [...r.path, ...rest]
    if (r.kind === 'input') {
      this.noteInput(path)
      const d = this.tmp()
      this.emit([Op.INPUT, d])
      return this.applyPath(d, path)
    }
    return this.lowerDataRef(path, loc)
  }

  noteInput (path: Term[]): void {
    const u = this.p.funcInput[this.f]
    const keys: string[] = []
    for (const t of path) {
      if (t.type === 'string') keys.push(t.value)
      else if (t.type === 'number' && /^\d+$/.test(t.raw)) keys.push(t.raw)
      else break
    }
    if (keys.length === 0) u.whole = true
    else u.paths.push(keys)
  }

  lowerDataRef (path: Term[], loc: Loc): number {
    // Packages and rules are named by strings; an integer key can only name base data, where
    // the runtime reads it as its digits on objects (as OPA's storage: data[2] is data["2"])
    const keyOf = (t: Term): string | number | null => t.type === 'string' ? t.value : t.type === 'number' && /^-?[0-9]+$/.test(t.raw) && Number.isSafeInteger(Number(t.raw)) ? Number(t.raw) : null
    let node = this.p.root
    let i = 0
    while (i < path.length) {
      const t = path[i]!
      if (t.type !== 'string') break
      const child = node.children.get(t.value)
      if (child === undefined) break
      node = child
      i++
      if (node.hasRules) {
        if (node.isFunction) {
          this.diags.add('rego_type_error', `function data.${node.path.join('.')} used as a value`, loc)
          return this.p.const(null)
        }
        this.p.calls[this.f].add(node.func)
        const d = this.tmp()
        if (node.children.size === 0) this.emit([Op.CALLRULE, d, node.func])
        else {
          this.p.noteDoc(this.f, node)
          const next = path[i]
          if (next !== undefined && next.type === 'string') {
            // one key of a document with rules below it: only what can give that key (DOCKEY)
            this.emit([Op.DOCKEY, d, node.id, this.p.const(next.value)])
            return this.applyPath(d, path.slice(i + 1))
          }
          this.emit([Op.DOC, d, node.id])
        }
        return this.applyPath(d, path.slice(i))
      }
    }
    if (!node.definesDocument() || (i < path.length && keyOf(path[i]!) !== null)) {
      // pure base data from here on: fold the following static keys into one lookup
      const keys: Array<string | number> = [...node.path]
      for (let key = i < path.length ? keyOf(path[i]!) : null; key !== null; key = i < path.length ? keyOf(path[i]!) : null) {
        keys.push(key)
        i++
      }
      const d = this.tmp()
      this.emit([Op.DATA, d, this.p.const(keys)])
      return this.applyPath(d, path.slice(i))
    }
    const d = this.tmp()
    const rest = path.slice(i)
    const doc = this.p.prunedDoc(this.f, node, rest)
    const first = rest[0]
    if (first !== undefined && first.type === 'var') {
      const s = this.scope.lookup(first.name)
      if (s !== undefined && !this.bound.has(s)) {
        // iterating a document of packages (`data.pkgs[name].allow`): one key at a time
        this.emit([Op.SCANDOC, doc, s, d])
        this.bound.add(s)
        return this.applyPath(d, rest.slice(1))
      }
    }
    this.emit([Op.DOC, d, doc])
    return this.applyPath(d, rest)
  }

  applyPath (base: number, path: Term[]): number {
    let cur = base
    for (const key of path) {
      if (key.type === 'var') {
        const s = this.scope.lookup(key.name)
        if (s !== undefined && !this.bound.has(s)) {
          const d = this.tmp()
          this.emit([Op.SCAN, cur, s, d])
          this.bound.add(s)
          cur = d
          continue
        }
      }
      if ((key.type === 'array' || key.type === 'object') && containsUnbound(key, this.isUnboundName)) {
        const k = this.tmp()
        const d = this.tmp()
        this.emit([Op.SCAN, cur, k, d])
        this.match(key, k)
        cur = d
        continue
      }
      const k = this.evalTerm(key)
      const d = this.tmp()
      this.emit([Op.DOT, d, cur, k])
      cur = d
    }
    return cur
  }

  /** Lowers a call; returns the result operand (null when the call had an output argument). */
  lowerCall (t: Extract<Term, { type: 'call' }>): number | null {
    const fnode = this.functionNode(t.name)
    if (fnode !== null) {
      const fn = this.p.funcs[fnode.func]
      const arity = fnode.arity
      const args = t.args
      let out: Term | undefined
      if (args.length === arity + 1) out = args[arity]
      else if (args.length !== arity) {
        this.diags.add('rego_type_error', `${fn.name.replace(/^data\./, 'data.')}: arity mismatch: ${args.length} arguments given, function has arity ${arity}`, t.loc)
        return null
      }
      const ops = this.evalArgs(args.slice(0, arity))
      this.p.calls[this.f].add(fnode.func)
      const d = this.tmp()
      this.emit([Op.CALLFN, d, fnode.func, ops])
      if (out !== undefined) { this.match(out, d); return null }
      return d
    }
    const info = builtinInfo(t.name)
    if (info === undefined || this.shadowedCall(t.name) !== null) return this.lowerSpecialCall(t)
    if (info.relation === true) return this.lowerRelation(t, info.arity)
    let out: Term | undefined
    if (t.args.length === info.arity + 1 && !RELATIONS.has(t.name)) out = t.args[info.arity]
    else if (t.args.length !== info.arity) {
      const which = t.args.length > info.arity ? 'too many arguments' : 'too few arguments'
      this.diags.add('rego_type_error', `${t.name}: ${which}`, t.loc)
      return null
    }
    const ops = this.evalArgs(t.args.slice(0, info.arity))
    const b = this.p.builtin(t.name)
    this.p.funcBuiltins[this.f].add(t.name)
    const d = this.tmp()
    this.emit([Op.CALLB, d, b, ops])
    if (out !== undefined) { this.match(out, d); return null }
    return d
  }

  /** A relation (walk): the builtin returns every result, the call iterates over them and
   *  unifies each with its output argument, so `walk(x, [p, v])` generates all pairs. Called
   *  as a value (`[p, v] := walk(x)`, `count(walk(x))`), it is each result in turn, as OPA
   *  rewrites a nested call into one with an output variable. */
  lowerRelation (t: Extract<Term, { type: 'call' }>, arity: number): number | null {
    if (t.args.length !== arity + 1 && t.args.length !== arity) {
      this.diags.add('rego_type_error', `${t.name}: ${t.args.length > arity + 1 ? 'too many arguments' : 'too few arguments'} (a relation: ${t.name}(x, output))`, t.loc)
      return null
    }
    const ops = this.evalArgs(t.args.slice(0, arity))
    const b = this.p.builtin(t.name)
    this.p.funcBuiltins[this.f].add(t.name)
    const all = this.tmp()
    this.emit([Op.CALLB, all, b, ops])
    const each = this.tmp()
    this.emit([Op.SCAN, all, -1, each])
    if (t.args.length === arity) return each
    this.match(t.args[arity], each)
    return null
  }

  /** Calls to names that are not callable builtins: the compiler's own (rego.metadata.*,
   *  print), builtins OPA has and Bouncer lacks, unknown names. */
  lowerSpecialCall (t: Extract<Term, { type: 'call' }>): number | null {
    const shadowed = this.shadowedCall(t.name)
    const decl = shadowed === null ? builtinDecl(t.name) : undefined
    if (decl?.impl.kind === 'compiler') {
      if (t.name === 'rego.metadata.chain' || t.name === 'rego.metadata.rule') {
        if (t.args.length > 1) {
          this.diags.add('rego_type_error', `${t.name}: too many arguments`, t.loc)
          return null
        }
        const rule = this.metaRule
        if (rule === null) {
          this.diags.add('rego_compile_error', `${t.name}() can only be used in a rule`, t.loc)
          return null
        }
        const value = t.name === 'rego.metadata.chain'
          ? metadataChain(this.p.annotationIndex(), this.ctx.module, rule)
          : metadataRule(rule)
        const c = this.p.const(value)
        if (t.args.length === 1) { this.match(t.args[0], c); return null }
        return c
      }
      this.diags.add('rego_type_error', `${t.name}: can only be used as a statement`, t.loc)
      return null
    }
    if (decl?.impl.kind === 'none') {
      this.diags.add('rego_unsupported_error', `unsupported built-in function ${t.name}: OPA has it, Bouncer does not implement it`, t.loc)
      return null
    }
    // `f()` of a rule declared `f() := ...`, which OPA reads as the rule `f := ...`: its value
    const node = this.ruleNode(t.name)
    if (t.args.length === 0 && node !== null && node.hasRules && !node.isFunction) {
      const [head, ...rest] = t.name.split('.')
      const v: Term = { type: 'var', name: head!, loc: t.loc }
      return this.evalTerm(rest.length === 0 ? v : { type: 'ref', head: v, path: rest.map((s): Term => ({ type: 'string', value: s, loc: t.loc })), loc: t.loc })
    }
    // a rule (not a function) called like one, or an unknown function
    if (node !== null && node.hasRules && !node.isFunction) {
      const n = t.args.length
      this.diags.add('rego_type_error', `function ${shadowed ?? t.name} has arity 0, got ${n} argument${n === 1 ? '' : 's'}`, t.loc)
    } else this.diags.add('rego_type_error', `undefined function ${shadowed ?? t.name}`, t.loc)
    return null
  }

  /**
   * The reference a call's name stands for when its first segment is a rule of this package or
   * an import (`object.get(...)` beside a rule `object := ...`), else null. OPA resolves the
   * name against those before builtins, so such a call is never the builtin: it is a function of
   * that name or a compile error.
   */
  shadowedCall (name: string): string | null {
    const parts = name.split('.')
    const head = parts[0]!
    if (head === 'input' || head === 'data' || this.scope.lookup(head) !== undefined) return null
    const imp = this.ctx.imports.get(head)
    if (imp !== undefined) return [imp.root, ...imp.path.map(x => x.type === 'string' ? x.value : '?'), ...parts.slice(1)].join('.')
    if (this.ctx.pkg.length > 0 && this.p.ownRuleNamesOf(this.ctx.pkg).has(head)) return ['data', ...this.ctx.pkg, ...parts].join('.')
    return null
  }
}

function displayName (n: string): string { return n.startsWith(WILDCARD_PREFIX) ? '_' : shadowDisplayName(n) }

function isPattern (t: Term): boolean {
  if (t.type === 'var') return true
  if (t.type === 'array') return t.items.every(i => isPattern(i) || groundValue(i) !== undefined)
  if (t.type === 'object') return t.entries.every(([, v]) => isPattern(v) || groundValue(v) !== undefined)
  return false
}

// ---- term walking helpers ----

export function renameTerm (t: Term, fresh: () => string): Term {
  const r = (x: Term): Term => renameTerm(x, fresh)
  switch (t.type) {
    case 'var': return t.name === '_' ? { ...t, name: fresh() } : t
    case 'ref': return { ...t, head: r(t.head), path: t.path.map(r) }
    case 'array': return { ...t, items: t.items.map(r) }
    case 'set': return { ...t, items: t.items.map(r) }
    case 'object': return { ...t, entries: t.entries.map(([k, v]) => [r(k), r(v)] as [Term, Term]) }
    case 'call': return { ...t, args: t.args.map(r) }
    // nested bodies are renamed when they are planned
    default: return t
  }
}

export function mapExprTerms (e: Expr, f: (t: Term) => Term): Expr {
  const k = e.kind
  let kind: Expr['kind']
  switch (k.type) {
    case 'term': kind = { type: 'term', term: f(k.term) }; break
    case 'unify': kind = { type: 'unify', left: f(k.left), right: f(k.right) }; break
    case 'assign': kind = { type: 'assign', left: f(k.left), right: f(k.right) }; break
    case 'some': kind = k; break
    case 'somein': kind = { type: 'somein', key: k.key === undefined ? undefined : f(k.key), value: f(k.value), collection: f(k.collection) }; break
    case 'every': kind = { ...k, collection: f(k.collection) }; break
  }
  return { ...e, kind, with: e.with.map(w => ({ ...w, value: f(w.value) })) }
}

/**
 * Visits vars of a term. A comprehension's head terms only when `deep`; with 'bodies' its body's
 * expressions too (every body, key and value of them: `bouncer test` finds a template string's
 * variables there, since `$"{a}"` is a comprehension whose body reads `a`).
 */
export function forEachVar (t: Term, cb: (name: string) => void, deep: boolean | 'bodies'): void {
  const v = (x: Term): void => forEachVar(x, cb, deep)
  switch (t.type) {
    case 'var': cb(t.name); return
    case 'ref': v(t.head); t.path.forEach(v); return
    case 'array': case 'set': t.items.forEach(v); return
    case 'object': t.entries.forEach(([a, b]) => { v(a); v(b) }); return
    case 'call': t.args.forEach(v); return
    case 'arraycompr': case 'setcompr': if (deep) v(t.term); break
    case 'objectcompr': if (deep) { v(t.key); v(t.value) } break
    default: return
  }
  if (deep === 'bodies') for (const e of t.body) forEachBodyVar(e, cb)
}

/** Every var an expression names, nested bodies included (forEachVar's 'bodies'). */
function forEachBodyVar (e: Expr, cb: (name: string) => void): void {
  const v = (x: Term): void => forEachVar(x, cb, 'bodies')
  const k = e.kind
  switch (k.type) {
    case 'term': v(k.term); break
    case 'unify': case 'assign': v(k.left); v(k.right); break
    case 'somein': case 'every':
      if (k.key !== undefined) v(k.key)
      v(k.value)
      v(k.collection)
      if (k.type === 'every') for (const b of k.body) forEachBodyVar(b, cb)
      break
    case 'some': for (const x of k.vars) cb(x.name); break
  }
  for (const w of e.with) v(w.value)
}

function forEachExprVar (e: Expr, cb: (name: string) => void, skipWith: (t: Term) => boolean): void {
  const k = e.kind
  switch (k.type) {
    case 'term': forEachVar(k.term, cb, false); break
    case 'unify': case 'assign': forEachVar(k.left, cb, false); forEachVar(k.right, cb, false); break
    case 'somein': forEachVar(k.collection, cb, false); break
    case 'every': forEachVar(k.collection, cb, false); break
    case 'some': break
  }
  for (const w of e.with) if (!skipWith(w.value)) forEachVar(w.value, cb, false)
}

/** `compute()` for `pkg`, once: memoised in `cache` by the package path. */
function perPackage (cache: Map<string, Set<string>>, pkg: string[], compute: () => Set<string>): Set<string> {
  const key = pkg.join('\u0000')
  let s = cache.get(key)
  if (s === undefined) cache.set(key, s = compute())
  return s
}

/** Whether `data` holds a value at `path`, or a value that is not an object at a prefix of it
 *  (OPA's storage.NonEmpty). */
function dataDefines (data: unknown, path: string[]): boolean {
  let cur = data
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || isRawJson(cur)) return true
    if (!Object.prototype.hasOwnProperty.call(cur, key)) return false
    cur = (cur as Record<string, unknown>)[key]
  }
  return true
}

/** A node's rule that comes first in its source (defaults included), for messages. */
function firstRule (n: TreeNode, groundOnly = false): RuleEntry | undefined {
  return [...n.rules, ...n.defaults].filter(r => !groundOnly || r.keyPath.length === 0).sort((a, b) => a.rule.loc.line - b.rule.loc.line)[0]
}

/** A rule's head reference as written (`r`, `p.q.r`, `p["a b"]`, `p[x]`). */
function headRefText (r: Rule): string {
  return r.ref.map((t, i) => {
    if (i === 0 && t.type === 'var') return t.name
    if (t.type === 'string') return /^[A-Za-z_][A-Za-z0-9_]*$/.test(t.value) ? '.' + t.value : `[${JSON.stringify(t.value)}]`
    return t.type === 'var' ? `[${t.name}]` : '[...]'
  }).join('')
}

/** A data path as OPA prints a reference: data.a.b, data.a["b c"]. */
function refName (path: string[]): string {
  return 'data' + keysText(path)
}

/**
 * OPA's early exit (its rule index's EarlyExit): a complete rule or function whose rules all
 * have the same ground value stops at the first solution, since later ones could only repeat
 * it. Decided here from the source: every rule and else branch (the default aside) has a
 * literal value — OPA's compiler moves any reference, call or comprehension out of a head, so
 * only literals stay ground — and the planned values are one constant. Conservative where the
 * two might differ (a literal set, `1` beside `1.0`): no early exit, as before.
 */
function earlyExitOf (rules: Rule[], planned: PlanRule[]): boolean {
  let value: number | undefined
  const visit = (rule: Rule | undefined, pr: PlanRule | null): boolean => {
    for (; rule !== undefined; rule = rule.else, pr = pr?.else ?? null) {
      if (pr === null || pr.value >= 0) return false
      if (rule.value !== undefined && !isLiteral(rule.value)) return false
      if (value === undefined) value = pr.value
      else if (value !== pr.value) return false
    }
    return pr === null
  }
  return rules.length > 0 && rules.every((r, i) => visit(r, planned[i]!))
}

/** A term without variables (nor references, calls or comprehensions): a literal. */
function isLiteral (t: Term): boolean {
  switch (t.type) {
    case 'null': case 'boolean': case 'number': case 'string': return true
    case 'array': case 'set': return t.items.every(isLiteral)
    case 'object': return t.entries.every(([k, v]) => isLiteral(k) && isLiteral(v))
    default: return false
  }
}
