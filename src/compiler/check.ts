// `bouncer check`: every diagnostic the compiler finds in a set of sources — parse errors, or
// else type errors and the planner's (safety, recursion, conflicts, unknown functions) — as
// `opa check` reports them, without building a module; `strict` adds opa check --strict's
// checks (./checker/strict.ts).
import { checkTypes, combineDiagnostics, sortDiagnostics } from './checker/index.js'
import { regoV1Checks, strictChecks } from './checker/strict.js'
import { localVarChecks } from './checker/locals.js'
import { Diagnostics, type Diagnostic } from './diagnostics.js'
import { parseSources, type RegoVersion, type SourceFile } from './index.js'
import { planPolicy } from './planner/index.js'

export interface CheckOptions {
  modules: SourceFile[]
  /** default Rego version of the modules (0 = --v0-compatible) */
  regoVersion?: RegoVersion
  /** opa check --strict */
  strict?: boolean
}

export function checkSources (opts: CheckOptions): Diagnostic[] {
  const parsed = parseSources(opts.modules, opts.regoVersion !== undefined ? { regoVersion: opts.regoVersion } : {})
  if (parsed.diagnostics.length > 0) return sortDiagnostics(parsed.diagnostics)
  // OPA stops at the first stage that finds errors: its parser's Rego v1 checks, then the
  // compiler's rewriting of local variables (with --strict, every finding is listed together)
  const v1 = regoV1Checks(parsed.modules)
  if (v1.length > 0 && opts.strict !== true) return sortDiagnostics(v1)
  const locals = localVarChecks(parsed.modules)
  if (locals.length > 0 && opts.strict !== true) return sortDiagnostics(locals)
  const typeErrors = [...v1, ...locals, ...checkTypes({ modules: parsed.modules })]
  const diags = new Diagnostics()
  planPolicy({ modules: parsed.modules, entrypoints: [] }, diags)
  const found = combineDiagnostics(typeErrors, diags.list)
  if (opts.strict !== true) return found
  // the planner already rejects duplicate imports in v1 modules (at the same place)
  const at = new Set(found.map(d => `${d.loc.file}:${d.loc.line}:${d.loc.col}:${d.message.slice(0, 30)}`))
  const strict = strictChecks(parsed.modules).filter(d => !at.has(`${d.loc.file}:${d.loc.line}:${d.loc.col}:${d.message.slice(0, 30)}`))
  return sortDiagnostics([...found, ...strict])
}
