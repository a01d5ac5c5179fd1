// METADATA annotations: `# METADATA` comment blocks holding YAML, attached to the statement that
// follows them (OPA's annotations; rego.metadata.rule() / rego.metadata.chain() read them).
//
// A block starts with a comment whose text is `METADATA` and continues with the comments on the
// following lines that start at column 1; its YAML is their text with one leading space removed.
// It belongs to the first statement (package, import or rule) that starts on a later line. The
// scope defaults to `rule` before a rule (`document` when the block says `entrypoint: true`) and
// `package` before the package; `document` and `rule` must precede a rule, `package` and
// `subpackages` the package. Values are normalised to the shape rego.metadata.* returns (OPA's
// Annotations.toObject): authors as {name, email}, related_resources as {ref, description},
// schemas as {path, schema | definition} with refs as arrays of strings; empty fields left out.
// The YAML is read as current OPA reads it (go-yaml v3: src/opa-yaml.ts): `entrypoint: true` is
// true and `custom: {enforce: on}` holds the string "on", as rego.metadata.* gives them in OPA.
import { parseOpaYaml } from '../../opa-yaml.js'
import type { Annotation, Loc, Module, Rule } from '../ast/index.js'
import type { Diagnostic } from '../diagnostics.js'
import type { Comment } from '../lexer/index.js'

const SCOPES = ['rule', 'document', 'package', 'subpackages'] as const
type Scope = typeof SCOPES[number]

interface Block { loc: Loc; lines: string[] }

/** The METADATA blocks among `comments`. */
function findBlocks (comments: Comment[], file: string): Block[] {
  const blocks: Block[] = []
  let cur: Block | null = null
  let prev: Comment | null = null
  for (const c of comments) {
    if (cur !== null && prev !== null && c.line === prev.line + 1 && c.col === 1) {
      cur.lines.push(c.text.startsWith(' ') ? c.text.slice(1) : c.text)
      prev = c
      continue
    }
    cur = null
    if (c.text.trim().startsWith('METADATA')) {
      cur = { loc: { file, line: c.line, col: c.col }, lines: [] }
      blocks.push(cur)
    }
    prev = c
  }
  return blocks
}

type Stmt = { kind: 'package'; line: number } | { kind: 'import'; line: number } | { kind: 'rule'; line: number; rule: Rule }

/** Parses the module's METADATA blocks and attaches them to its package and rules. */
export function attachAnnotations (module: Module, comments: Comment[], diags: Diagnostic[]): void {
  const blocks = findBlocks(comments, module.file)
  if (blocks.length === 0) return
  const stmts: Stmt[] = [
    { kind: 'package' as const, line: module.package.loc.line },
    ...module.imports.map(i => ({ kind: 'import' as const, line: i.loc.line })),
    ...module.rules.map(r => ({ kind: 'rule' as const, line: r.loc.line, rule: r })),
  ].sort((a, b) => a.line - b.line)
  const all: Annotation[] = []
  for (const b of blocks) {
    const error = (message: string): void => { diags.push({ code: 'rego_parse_error', message, loc: b.loc }) }
    // OPA's metadata parser: a block with nothing but whitespace is an error
    if (b.lines.join('\n').trim() === '') { error('expected METADATA block, found whitespace'); continue }
    let raw: unknown
    try {
      raw = parseOpaYaml(b.lines.join('\n'))
    } catch (e) {
      error(`invalid METADATA block: ${(e as Error).message.split('\n')[0]}`)
      continue
    }
    if (raw === null || raw === undefined) raw = {}
    if (typeof raw !== 'object' || Array.isArray(raw)) { error('invalid METADATA block: expected a YAML mapping'); continue }
    const target = stmts.find(s => s.line > b.loc.line)
    let value: Record<string, unknown>
    let scope: Scope
    try {
      ({ value, scope } = normalise(raw as Record<string, unknown>, target?.kind))
    } catch (e) {
      error((e as Error).message)
      continue
    }
    if (target === undefined) { error('METADATA block must be followed by a package or a rule'); continue }
    if ((scope === 'rule' || scope === 'document') && target.kind !== 'rule') {
      error(`annotation scope '${scope}' must be applied to rule (${target.kind})`)
      continue
    }
    if ((scope === 'package' || scope === 'subpackages') && target.kind !== 'package') {
      error(`annotation scope '${scope}' must be applied to package (${target.kind})`)
      continue
    }
    if (value.entrypoint === true && scope !== 'document' && scope !== 'package') {
      error(`annotation entrypoint applied to non-document or package scope '${scope}'`)
      continue
    }
    const a: Annotation = { scope, value, loc: b.loc }
    all.push(a)
    if (target.kind === 'rule') (target.rule.annotations ??= []).push(a)
    else (module.package.annotations ??= []).push(a)
  }
  if (all.length > 0) module.annotations = all
}

function normalise (raw: Record<string, unknown>, target: Stmt['kind'] | undefined): { value: Record<string, unknown>; scope: Scope } {
  const out: Record<string, unknown> = {}
  let scope: Scope
  if (raw.scope !== undefined && raw.scope !== null) {
    if (typeof raw.scope !== 'string' || !(SCOPES as readonly string[]).includes(raw.scope)) {
      throw new Error(`invalid annotation scope '${String(raw.scope)}'. Use one of 'rule', 'document', 'package', or 'subpackages'`)
    }
    scope = raw.scope as Scope
  } else if (target === 'package') scope = 'package'
  else if (target === 'rule') scope = raw.entrypoint === true ? 'document' : 'rule'
  else throw new Error(`invalid annotation scope '${target ?? ''}'. Use one of 'rule', 'document', 'package', or 'subpackages'`)
  out.scope = scope
  const str = (k: string): void => {
    const v = raw[k]
    if (v === undefined || v === null || v === '') return
    if (typeof v !== 'string') throw new Error(`invalid METADATA block: ${k} must be a string`)
    out[k] = v
  }
  str('title')
  if (raw.entrypoint !== undefined && raw.entrypoint !== null) {
    if (typeof raw.entrypoint !== 'boolean') throw new Error('invalid METADATA block: entrypoint must be a boolean')
    if (raw.entrypoint) out.entrypoint = true
  }
  str('description')
  const list = (k: string): unknown[] => {
    const v = raw[k]
    if (v === undefined || v === null) return []
    if (!Array.isArray(v)) throw new Error(`invalid METADATA block: ${k} must be a list`)
    return v
  }
  const orgs = list('organizations').map(o => {
    if (typeof o !== 'string') throw new Error('invalid METADATA block: organizations must be strings')
    return o
  })
  if (orgs.length > 0) out.organizations = orgs
  const rrs = list('related_resources').map(r => {
    if (typeof r === 'string') {
      if (r.trim() === '') throw new Error('invalid related-resource definition: ref URL may not be empty')
      return { ref: r }
    }
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new Error('invalid related-resource definition')
    const o = r as Record<string, unknown>
    if (typeof o.ref !== 'string' || o.ref === '') throw new Error('invalid related-resource definition: ref URL may not be empty')
    return typeof o.description === 'string' && o.description !== '' ? { ref: o.ref, description: o.description } : { ref: o.ref }
  })
  if (rrs.length > 0) out.related_resources = rrs
  const authors = list('authors').map(a => {
    let name = ''
    let email = ''
    if (typeof a === 'string') {
      const parts = a.split(/\s+/).filter(p => p.length > 0)
      if (parts.length === 0) throw new Error('invalid author definition: author is an empty string')
      const last = parts[parts.length - 1]
      if (last.length >= 2 && last.startsWith('<') && last.endsWith('>')) {
        email = last.slice(1, -1)
        parts.pop()
      }
      name = parts.join(' ')
    } else if (typeof a === 'object' && a !== null && !Array.isArray(a)) {
      const o = a as Record<string, unknown>
      name = typeof o.name === 'string' ? o.name : ''
      email = typeof o.email === 'string' ? o.email : ''
    } else throw new Error('invalid author definition')
    if (name === '' && email === '') throw new Error('invalid author definition: author must have a name or email')
    const r: Record<string, string> = {}
    if (name !== '') r.name = name
    if (email !== '') r.email = email
    return r
  })
  if (authors.length > 0) out.authors = authors
  const schemas = list('schemas').map(s => {
    if (typeof s !== 'object' || s === null || Array.isArray(s) || Object.keys(s).length !== 1) {
      throw new Error('invalid schema annotation: expected a mapping of one path to a schema')
    }
    const [path, def] = Object.entries(s as Record<string, unknown>)[0]
    const r: Record<string, unknown> = { path: refArray(path) }
    if (typeof def === 'string') r.schema = refArray(def)
    else if (typeof def === 'object' && def !== null) r.definition = def
    else throw new Error(`invalid schema annotation for ${path}`)
    return r
  })
  if (schemas.length > 0) out.schemas = schemas
  if (raw.custom !== undefined && raw.custom !== null) {
    if (typeof raw.custom !== 'object' || Array.isArray(raw.custom)) throw new Error('invalid METADATA block: custom must be a mapping')
    if (Object.keys(raw.custom).length > 0) out.custom = raw.custom
  }
  return { value: out, scope }
}

/** `input.x["y z"]` -> ["input", "x", "y z"] (OPA prints a ref's terms as strings). */
function refArray (ref: string): string[] {
  const out: string[] = []
  const re = /([A-Za-z_][A-Za-z0-9_]*)|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\.|\[\s*(\d+)\s*\]/g
  let m: RegExpExecArray | null
  let pos = 0
  while ((m = re.exec(ref)) !== null) {
    if (m.index !== pos) throw new Error(`invalid schema annotation: invalid ref ${ref}`)
    pos = re.lastIndex
    if (m[1] !== undefined) out.push(m[1])
    else if (m[2] !== undefined) out.push(JSON.parse(`"${m[2]}"`) as string)
    else if (m[3] !== undefined) out.push(m[3])
  }
  if (pos !== ref.length || out.length === 0) throw new Error(`invalid schema annotation: invalid ref ${ref}`)
  return out
}
