// Rego v1 abstract syntax tree: the contract between the parser and the compiler passes.
// Operators are represented as calls to OPA's builtin names (plus, equal, internal.member_2,
// ...), exactly as OPA does, so later passes see one shape for `a + b` and `plus(a, b)`.

export interface Loc { file: string; line: number; col: number }

export type Term =
  | { type: 'null'; loc: Loc }
  | { type: 'boolean'; value: boolean; loc: Loc }
  /** raw: the literal's source text (kept for exact big integers / decimals) */
  | { type: 'number'; raw: string; loc: Loc }
  | { type: 'string'; value: string; loc: Loc }
  /** name '_' is the wildcard; every occurrence is a distinct variable */
  | { type: 'var'; name: string; loc: Loc }
  /** head is a var (input, data, a local, an import alias) or any term (e.g. [1,2][0]);
   *  path holds `.x` as string terms and `[t]` as t */
  | { type: 'ref'; head: Term; path: Term[]; loc: Loc }
  | { type: 'array'; items: Term[]; loc: Loc }
  | { type: 'object'; entries: Array<[Term, Term]>; loc: Loc }
  | { type: 'set'; items: Term[]; loc: Loc }
  | { type: 'arraycompr'; term: Term; body: Body; loc: Loc }
  | { type: 'setcompr'; term: Term; body: Body; loc: Loc }
  | { type: 'objectcompr'; key: Term; value: Term; body: Body; loc: Loc }
  /** name: dotted function name as written ("count", "io.jwt.decode", "data.lib.f", "lib.f");
   *  operators use OPA's builtin names: plus minus mul div rem and or equal neq lt lte gt gte
   *  internal.member_2 (x in xs) internal.member_3 (k, v in xs). Unary minus on a non-literal
   *  is minus(0, x). */
  | { type: 'call'; name: string; args: Term[]; loc: Loc }

export type ExprKind =
  | { type: 'term'; term: Term }
  /** `a = b` */
  | { type: 'unify'; left: Term; right: Term }
  /** `a := b` */
  | { type: 'assign'; left: Term; right: Term }
  /** `some x, y` (declaration only) */
  | { type: 'some'; vars: Array<Extract<Term, { type: 'var' }>> }
  /** `some v in c` / `some k, v in c` (key absent for the one-variable form) */
  | { type: 'somein'; key?: Term; value: Term; collection: Term }
  /** `every v in c { body }` / `every k, v in c { body }` */
  | { type: 'every'; key?: Term; value: Term; collection: Term; body: Body }

export interface With { target: Term; value: Term; loc: Loc }

export interface Expr {
  loc: Loc
  negated: boolean
  with: With[]
  kind: ExprKind
}

export type Body = Expr[]

export interface Rule {
  loc: Loc
  default: boolean
  /** head reference: first element is the rule name (a var term), the rest the ref-head path
   *  (`a.b[x]` → [var a, string b, var x]) */
  ref: Term[]
  /** present for functions: `f(x, y)` */
  args?: Term[]
  /** `p contains t` (partial set / multi-value rule) */
  key?: Term
  /** `:= v` / `= v`; absent means `true` (or, for `contains` rules, no value) */
  value?: Term
  /** true for `:=` */
  assign: boolean
  /** empty body means the rule is unconditionally true */
  body: Body
  /** else chain of a complete rule or function: value absent means `true` */
  else?: Rule
  /** METADATA blocks attached to this rule statement (scope rule or document) */
  annotations?: Annotation[]
}

/** A `# METADATA` comment block (OPA's annotations), attached to the statement after it. */
export interface Annotation {
  scope: 'rule' | 'document' | 'package' | 'subpackages'
  /** the annotations as rego.metadata.* returns them (OPA's shape: scope, title, description,
   *  entrypoint, organizations, related_resources, authors, schemas, custom; empty fields left out) */
  value: Record<string, unknown>
  /** where the `# METADATA` line is */
  loc: Loc
}

export interface Import { path: Term; alias?: string; loc: Loc }

export interface Module {
  file: string
  /** the syntax the module was parsed with: 1, or 0 for a v0 module (one importing rego.v1 is 1) */
  regoVersion?: 0 | 1
  /** package path without the leading `data` (`package a.b` → [string a, string b]) */
  package: { path: Term[]; loc: Loc; annotations?: Annotation[] }
  imports: Import[]
  rules: Rule[]
  /** every METADATA block of the module, in source order */
  annotations?: Annotation[]
}

/** Reference keys as Rego prints them after a head: .a.b["c d"][1] (identifiers with a dot). */
export function keysText (keys: readonly unknown[]): string {
  return keys.map(k => typeof k === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`).join('')
}

/** An import as OPA prints it (`input`, `data.a.b`, `data.a as x`), for messages; null for a
 *  path that is not a plain reference. */
export function importText (imp: Import): string | null {
  const t = imp.path
  let path: string
  if (t.type === 'var') path = t.name
  else if (t.type === 'ref' && t.head.type === 'var' && t.path.every(p => p.type === 'string')) {
    path = t.head.name + keysText(t.path.map(p => (p as { value: string }).value))
  } else return null
  return imp.alias !== undefined ? `${path} as ${imp.alias}` : path
}
