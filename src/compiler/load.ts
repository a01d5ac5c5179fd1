// Loads a module produced by our compiler (or any OPA Wasm module) with opa-wasm, registering
// the host builtins, and refusing a module that needs a builtin the host cannot provide:
// that must fail at load, never evaluate to undefined later.
//
// Every evaluate() runs inside runEvaluation(): host builtins then see this policy's strict
// builtin error setting, one time.now_ns value for the whole evaluation, and per-evaluation
// memos (uuid.rfc4122). Any other loader of policy modules must do the same (see
// src/policy/builtins/index.ts).
import { loadPolicy } from '@open-policy-agent/opa-wasm'
import { bouncerError } from '../errors.js'
import { hostBuiltins, runEvaluation, SDK_BUILTINS } from '../policy/builtins/index.js'
import { COVERAGE_BUILTIN } from './coverage.js'

export type LoadedPolicy = Awaited<ReturnType<typeof loadPolicy>>

interface PolicyInternals {
  wasmInstance: WebAssembly.Instance
  mem: WebAssembly.Memory
}

/** Names in the module's builtins() map (the builtins it imports through opa_builtinN). */
export function requiredBuiltins (policy: LoadedPolicy): string[] {
  const { wasmInstance, mem } = policy as unknown as PolicyInternals
  const ex = wasmInstance.exports as Record<string, (...a: number[]) => number>
  const addr = ex.opa_json_dump(ex.builtins())
  const bytes = new Uint8Array(mem.buffer)
  let end = addr
  while (bytes[end] !== 0) end++
  const map = JSON.parse(new TextDecoder().decode(bytes.subarray(addr, end))) as Record<string, number>
  return Object.keys(map)
}

export interface LoadOptions {
  /**
   * Strict builtin errors for host builtins (OPA's --strict-builtin-errors): a failing host
   * builtin aborts the evaluation instead of being undefined. Pass the same value the module
   * was compiled with (compileModules' strictBuiltinErrors), which governs native builtins.
   */
  strict?: boolean
  /**
   * Receives each line a print() call in the policy outputs (OPA's format: arguments separated
   * by spaces, strings bare and other values in Rego syntax, undefined ones as <undefined>;
   * one line per combination when an argument has several values), with the evaluation's
   * print context. trace() notes arrive here too. Absent: print() calls do nothing (and cost
   * nothing beyond the call). To remove them from the module, compile with printStatements: false.
   */
  onPrint?: (line: string, ctx: PrintContext) => void
  /** coverage builds (compileModules' coverage): receives the number of each coverage point
   *  reached (see ./coverage.ts) */
  onCoverage?: (point: number) => void
}

/** What a print hook learns about the print call. */
export interface PrintContext {
  /** the entrypoint being evaluated, as passed to evaluate() (e.g. a test rule `pkg/test_x`) */
  entrypoint?: string | number
}

export async function loadCompiledPolicy (compiled: { wasm: Uint8Array } | Uint8Array, opts: LoadOptions = {}): Promise<LoadedPolicy> {
  const wasm = compiled instanceof Uint8Array ? compiled : compiled.wasm
  const onCoverage = opts.onCoverage
  const builtins = onCoverage === undefined
    ? hostBuiltins
    : { ...hostBuiltins, [COVERAGE_BUILTIN]: (point: unknown) => { onCoverage(Number(point)); return true } }
  const policy = await loadPolicy(wasm, undefined, builtins)
  const missing = requiredBuiltins(policy).filter(n => !SDK_BUILTINS.has(n) && !(n in builtins))
  if (missing.length > 0) throw bouncerError('BOUNCER_ERR_POLICY_MISSING_BUILTIN', missing.join(', '))
  const strict = opts.strict === true
  const onPrint = opts.onPrint
  // The SDK throws opa_abort messages as bare strings; callers deserve Error objects.
  const evaluate = policy.evaluate.bind(policy)
  policy.evaluate = (input: unknown, entrypoint?: string | number) => {
    try {
      const print = onPrint === undefined ? undefined : (line: string) => onPrint(line, { entrypoint })
      return runEvaluation(() => evaluate(input, entrypoint), { strict, onPrint: print })
    } catch (e) {
      throw toError(e)
    }
  }
  return policy
}

export function toError (e: unknown): Error {
  if (e instanceof Error) return e
  if (typeof e === 'object' && e !== null && 'message' in e) return new Error(String((e as { message: unknown }).message))
  return new Error(String(e))
}
