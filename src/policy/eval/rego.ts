// Rego sources -> a loaded policy, with one set of options for both halves: the compiler's
// (src/compiler compile()) and the module's (loadWasmPolicy). Options that matter at both
// ends are given once, so they cannot disagree: strict builtin errors (native builtins are
// compiled strict, host builtins run strict), print (print() calls are compiled in only when
// there is a print hook, unless the caller keeps them), coverage (points compiled in only with
// a coverage hook). Used by the proxy's loader (../load.ts, imported on demand so a bundle-only
// proxy never loads the compiler), bouncer eval, bouncer test and the conformance runner.
import { compile, CompileError, type CompileFacts, type CompileOptions, type RegoVersion } from '../../compiler/index.js'
import { loadWasmPolicy, type WasmPolicy, type WasmPolicyOptions } from './index.js'

/** How a policy is compiled (from Rego) and run: the one options type of the policy loader. */
export interface PolicyOptions extends WasmPolicyOptions {
  /** Rego version of sources that do not declare their own (policy.rego_version,
   *  --v0-compatible = 0; a bundle manifest's rego_version / file_rego_versions win). Default 1. */
  regoVersion?: RegoVersion
}

/** What to compile: the sources, entrypoints, an ad-hoc query, compiler stages. Options held by
 *  PolicyOptions (Rego version, strict builtin errors, coverage) are taken from there. */
export type RegoSources = Omit<CompileOptions, 'regoVersion' | 'strictBuiltinErrors' | 'coverage'>

export interface LoadedRego {
  policy: WasmPolicy
  /** the module compiled */
  wasm: Uint8Array
  /** what the compiler knows about the module (input paths, builtins, coverage points, ...) */
  facts: CompileFacts
}

/** Compiles `sources` and loads the module with `data`. Throws CompileError with every diagnostic. */
export async function loadRego (sources: RegoSources, data: unknown, opts: PolicyOptions = {}): Promise<LoadedRego> {
  const r = compile({
    printStatements: opts.onPrint !== undefined,
    // Rules where the data defines something are refused, as OPA refuses them (sources.data
    // replaces it; given as undefined, nothing is checked).
    data,
    ...sources,
    ...(opts.regoVersion !== undefined ? { regoVersion: opts.regoVersion } : {}),
    ...(opts.strictBuiltinErrors === true ? { strictBuiltinErrors: true } : {}),
    ...(opts.onCoverage !== undefined ? { coverage: true } : {}),
  })
  if (r.wasm === null) throw new CompileError(r.diagnostics)
  return { policy: await loadWasmPolicy(r.wasm, data, opts), wasm: r.wasm, facts: r.facts }
}
