// rego.metadata.chain() and rego.metadata.rule(): constants computed at compile time from the
// METADATA annotations (src/compiler/parser/annotations.ts), as OPA's
// RewriteRegoMetadataCalls stage does.
//
// chain() for a rule: its rule-scope blocks (closest to the rule first; one entry without
// `annotations` when it has none), then the document-scope block of its path, then the
// package-scope block of its package, then the subpackages-scope blocks of the package and
// its ancestors, closest first. Each entry is {"path": [...], "annotations": {...}} with the
// path below data. rule() is the first entry's annotations when they are rule-scoped, else {}.
import type { Annotation, Module, Rule, Term } from '../ast/index.js'
import type { Diagnostics } from '../diagnostics.js'

interface Placed { a: Annotation; path: unknown[] }

export interface AnnotationIndex {
  document: Map<string, Placed>
  package: Map<string, Placed>
  subpackages: Map<string, Placed>
}

const key = (path: unknown[]): string => JSON.stringify(path)

function packagePath (m: Module): string[] {
  return m.package.path.map(t => (t.type === 'string' ? t.value : ''))
}

function groundScalar (t: Term): unknown {
  switch (t.type) {
    case 'string': return t.value
    case 'number': return Number(t.raw)
    case 'boolean': return t.value
    case 'null': return null
    default: return undefined
  }
}

/** Indexes document, package and subpackages blocks of all modules; a second one for the
 *  same target is an error (OPA: "annotation redeclared"). */
export function buildAnnotationIndex (modules: Module[], diags: Diagnostics): AnnotationIndex {
  const index: AnnotationIndex = { document: new Map(), package: new Map(), subpackages: new Map() }
  const put = (m: Map<string, Placed>, path: unknown[], a: Annotation): void => {
    const k = key(path)
    const prev = m.get(k)
    if (prev !== undefined) {
      diags.add('rego_type_error', `${a.scope} annotation redeclared: ${prev.a.loc.file}:${prev.a.loc.line}`, a.loc)
      return
    }
    m.set(k, { a, path })
  }
  for (const m of modules) {
    const pkg = packagePath(m)
    for (const a of m.package.annotations ?? []) {
      if (a.scope === 'package') put(index.package, pkg, a)
      else if (a.scope === 'subpackages') put(index.subpackages, pkg, a)
    }
    for (const r of m.rules) {
      for (const a of r.annotations ?? []) if (a.scope === 'document') put(index.document, headPath(pkg, r), a)
    }
  }
  return index
}

/** The static part of a rule's path below data (package, name, then the head reference's
 *  leading scalar keys: what OPA calls the ground prefix). */
function headPath (pkg: string[], rule: Rule): unknown[] {
  const head = rule.ref[0]
  const out: unknown[] = [...pkg, head.type === 'var' ? head.name : '']
  for (const t of rule.ref.slice(1)) {
    const v = groundScalar(t)
    if (v === undefined) break
    out.push(v)
  }
  return out
}

export function metadataChain (index: AnnotationIndex, module: Module, rule: Rule): Array<Record<string, unknown>> {
  const pkg = packagePath(module)
  const path = headPath(pkg, rule)
  const chain: Array<Record<string, unknown>> = []
  const own = (rule.annotations ?? []).filter(a => a.scope === 'rule').sort((a, b) => b.loc.line - a.loc.line)
  if (own.length === 0) chain.push({ path })
  else for (const a of own) chain.push({ path, annotations: a.value })
  const doc = index.document.get(key(path))
  if (doc !== undefined) chain.push({ path: doc.path, annotations: doc.a.value })
  const p = index.package.get(key(pkg))
  if (p !== undefined) chain.push({ path: p.path, annotations: p.a.value })
  for (let i = pkg.length; i >= 1; i--) {
    const s = index.subpackages.get(key(pkg.slice(0, i)))
    if (s !== undefined) chain.push({ path: s.path, annotations: s.a.value })
  }
  return chain
}

export function metadataRule (rule: Rule): Record<string, unknown> {
  const own = (rule.annotations ?? []).filter(a => a.scope === 'rule').sort((a, b) => b.loc.line - a.loc.line)
  return own.length > 0 ? own[0].value : {}
}
