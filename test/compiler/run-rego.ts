// Compiles Rego sources with the project's compiler and evaluates one entrypoint through the
// loader the proxy uses: the value, or the compile or evaluation error as text.
import { compileModules } from '../../src/compiler/index.js'
import { evaluationMessage, loadWasmPolicy } from '../../src/policy/eval/index.js'

export interface RegoOutcome { value?: unknown; error?: string }

/** `source` is a whole module; `entrypoint` defaults to test/p. */
export async function runRego (source: string, input: unknown = {}, entrypoint = 'test/p'): Promise<RegoOutcome> {
  let wasm: Uint8Array
  try {
    wasm = compileModules({ modules: [{ file: 'p.rego', source }], entrypoints: [entrypoint] }).wasm
  } catch (e) {
    return { error: (e as Error).message }
  }
  const p = await loadWasmPolicy(wasm)
  try {
    const rs = p.evaluate(input, entrypoint) as Array<{ result: unknown }>
    return rs[0] === undefined ? {} : { value: rs[0].result }
  } catch (e) {
    return { error: evaluationMessage(e) }
  }
}
