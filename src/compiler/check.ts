// `bouncer check`: every diagnostic the compiler finds in a set of sources — parse errors, or
// else type errors and the planner's (safety, recursion, conflicts, unknown functions) — as
// `opa check` reports them, without building a module; `strict` adds opa check --strict's
// checks (./checker/strict.ts).
import { checkTypes, combineDiagnostics, sortDiagnostics } from './checker/index.js'
import { alwaysChecks, strictChecks } from './checker/strict.js'
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
  const typeErrors = [...checkTypes({ modules: parsed.modules }), ...alwaysChecks(parsed.modules)]
  const diags = new Diagnostics()
  planPolicy({ modules: parsed.modules, entrypoints: [] }, diags)
  const found = combineDiagnostics(typeErrors, diags.list)
  if (opts.strict !== true) return found
  // the planner already rejects duplicate imports in v1 modules (at the same place)
  const at = new Set(found.map(d => `${d.loc.file}:${d.loc.line}:${d.loc.col}:${d.message.slice(0, 30)}`))
  const strict = strictChecks(parsed.modules).filter(d => !at.has(`${d.loc.file}:${d.loc.line}:${d.loc.col}:${d.message.slice(0, 30)}`))
  return sortDiagnostics([...found, ...strict])
}
