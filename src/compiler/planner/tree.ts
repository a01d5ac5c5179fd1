// The rule tree: every rule is attached to the node named by the static prefix of its head
// reference (package path + head ref up to the first non-string key). A node's rules form
// one rule group, planned into one plan function; nodes without rules only route lookups.
import type { Import, Module, Rule, Term } from '../ast/index.js'
import { importText } from '../ast/index.js'
import type { Diagnostics } from '../diagnostics.js'

export interface ImportTarget { root: 'data' | 'input'; path: Term[] }

export interface ModuleCtx {
  module: Module
  pkg: string[]
  imports: Map<string, ImportTarget>
}

export interface RuleEntry {
  rule: Rule
  ctx: ModuleCtx
  /** dynamic remainder of the head reference (after the static prefix) */
  keyPath: Term[]
}

export class TreeNode {
  readonly children = new Map<string, TreeNode>()
  readonly rules: RuleEntry[] = []
  readonly defaults: RuleEntry[] = []
  func = -1
  id = -1
  /** a module declares this package (it exists as a document, {} when nothing defines anything in it) */
  isPackage = false
  constructor (readonly path: string[]) {}

  child (name: string): TreeNode {
    let c = this.children.get(name)
    if (c === undefined) {
      c = new TreeNode([...this.path, name])
      this.children.set(name, c)
    }
    return c
  }

  get isFunction (): boolean {
    return this.rules.some(r => r.rule.args !== undefined) || this.defaults.some(r => r.rule.args !== undefined)
  }

  /** A function's number of arguments, as its first rule (or default) declares them. */
  get arity (): number {
    return (this.rules[0] ?? this.defaults[0])?.rule.args?.length ?? 0
  }

  get hasRules (): boolean { return this.rules.length > 0 || this.defaults.length > 0 }

  /** true when this node or a descendant holds rules or is a package: a document exists here */
  definesDocument (): boolean {
    if (this.hasRules || this.isPackage) return true
    for (const c of this.children.values()) if (c.definesDocument()) return true
    return false
  }

  /** true when this node or any descendant holds rules */
  subtreeHasRules (): boolean {
    if (this.hasRules) return true
    for (const c of this.children.values()) if (c.subtreeHasRules()) return true
    return false
  }
}

function stringPath (terms: Term[], diags: Diagnostics, what: string): string[] | null {
  const out: string[] = []
  for (const t of terms) {
    if (t.type !== 'string') {
      diags.add('rego_parse_error', `${what} must be a static path`, t.loc)
      return null
    }
    out.push(t.value)
  }
  return out
}

export function importTarget (t: Term): ImportTarget | null {
  if (t.type === 'var' && (t.name === 'data' || t.name === 'input')) return { root: t.name, path: [] }
  if (t.type === 'ref' && t.head.type === 'var' && (t.head.name === 'data' || t.head.name === 'input')) {
    return { root: t.head.name, path: t.path }
  }
  return null
}

/** Default alias of an import: its last path element (`import data.a.b` -> `b`). */
function importAlias (target: ImportTarget): string | null {
  if (target.path.length === 0) return target.root
  const last = target.path[target.path.length - 1]
  return last.type === 'string' ? last.value : null
}

export function buildTree (modules: Module[], diags: Diagnostics): { root: TreeNode; ctxs: ModuleCtx[] } {
  const root = new TreeNode([])
  const ctxs: ModuleCtx[] = []
  for (const module of modules) {
    const pkg = stringPath(module.package.path, diags, 'package path')
    if (pkg === null) continue
    const imports = new Map<string, ImportTarget>()
    const importedBy = new Map<string, Import>()
    for (const imp of module.imports) {
      const target = importTarget(imp.path)
      if (target === null) {
        const head = imp.path.type === 'ref' && imp.path.head.type === 'var' ? imp.path.head.name : imp.path.type === 'var' ? imp.path.name : ''
        if (head === 'rego' || head === 'future') continue // language switches: v1 already has them
        diags.add('rego_parse_error', 'invalid import: must begin with data or input', imp.loc)
        continue
      }
      const alias = imp.alias ?? importAlias(target)
      if (alias === null) {
        diags.add('rego_parse_error', 'invalid import: needs an alias', imp.loc)
        continue
      }
      // v0 allows duplicate imports (OPA 1.x checks them for v1 modules only: checkDuplicateImports,
      // by name, so `import input` twice too)
      const prev = importedBy.get(alias)
      if (prev !== undefined && module.regoVersion !== 0) {
        diags.add('rego_compile_error', `import must not shadow import ${importText(prev) ?? alias}`, imp.loc)
      }
      imports.set(alias, target)
      importedBy.set(alias, imp)
    }
    const ctx: ModuleCtx = { module, pkg, imports }
    ctxs.push(ctx)
    let pkgNode = root
    for (const p of pkg) pkgNode = pkgNode.child(p)
    pkgNode.isPackage = true
    for (const rule of module.rules) {
      const head = rule.ref[0]
      if (head === undefined || head.type !== 'var') {
        diags.add('rego_parse_error', 'rule head must start with a name', rule.loc)
        continue
      }
      let node = pkgNode.child(head.name)
      let i = 1
      while (i < rule.ref.length) {
        const t = rule.ref[i]
        if (t.type !== 'string') break
        node = node.child(t.value)
        i++
      }
      const entry: RuleEntry = { rule, ctx, keyPath: rule.ref.slice(i) }
      if (rule.default) {
        if (entry.keyPath.length > 0) {
          diags.add('rego_type_error', 'default rules must not have a dynamic head reference', rule.loc)
          continue
        }
        node.defaults.push(entry)
      } else {
        node.rules.push(entry)
      }
    }
  }
  return { root, ctxs }
}

/** Names a package defines at its top level (rule names and first ref-head segments). */
export function packageRuleNames (root: TreeNode, pkg: string[]): Set<string> {
  let node: TreeNode | undefined = root
  for (const p of pkg) node = node?.children.get(p)
  const names = new Set<string>()
  if (node === undefined) return names
  for (const [name, child] of node.children) if (child.subtreeHasRules()) names.add(name)
  return names
}

/**
 * The names package `pkg`'s own modules give rules (the first name of each head), as OPA's
 * exports: a sub-package (`pkg.json`) is not one of them, though its rules sit in the same tree.
 */
export function ownRuleNames (root: TreeNode, pkg: string[]): Set<string> {
  const node = findNode(root, pkg)
  const names = new Set<string>()
  if (node === undefined) return names
  const key = pkg.join('\u0000')
  const declaredHere = (n: TreeNode): boolean =>
    [...n.rules, ...n.defaults].some(e => e.ctx.pkg.join('\u0000') === key) || [...n.children.values()].some(declaredHere)
  for (const [name, child] of node.children) if (declaredHere(child)) names.add(name)
  return names
}

export function findNode (root: TreeNode, path: string[]): TreeNode | undefined {
  let node: TreeNode | undefined = root
  for (const p of path) node = node?.children.get(p)
  return node
}

export function isRuleDefault (r: Rule): boolean { return r.default }
