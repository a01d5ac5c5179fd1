// The opa-wasm SDK's own builtins, which win over the customBuiltins a policy is loaded with.
// The SDK keeps them in one module-level map (its src/builtins/index.js, next to the package's
// entry point; the package exports only that entry point, so the file is required by path)
// shared by every policy it loads. Fails loudly when the map cannot be found: the SDK's
// implementation would otherwise stay in force.
import { createRequire } from 'node:module'
import path from 'node:path'

type SdkBuiltin = (...args: unknown[]) => unknown

function sdkMap (): Record<string, SdkBuiltin | undefined> {
  const require = createRequire(import.meta.url)
  const file = path.join(path.dirname(require.resolve('@open-policy-agent/opa-wasm')), 'builtins', 'index.js')
  const map = require(file) as Record<string, SdkBuiltin | undefined>
  if (typeof map !== 'object' || map === null) throw new Error(`@open-policy-agent/opa-wasm: no builtin map in ${file}`)
  return map
}

// What was withdrawn, per process: this module may be loaded twice (src/ and dist/ in one
// process, two bundles of the package) while the SDK's map is one, and the second load found
// the builtin gone and failed at import ("yaml.is_valid not found in its builtin map").
const WITHDRAWN = Symbol.for('bouncer.withdrawnSdkBuiltins')
const withdrawn: Map<string, SdkBuiltin> = ((globalThis as Record<symbol, unknown>)[WITHDRAWN] ??= new Map()) as Map<string, SdkBuiltin>

/** Takes a builtin back from the SDK and returns its implementation (to wrap, or undefined). */
export function withdrawSdkBuiltin (name: string): SdkBuiltin | undefined {
  const map = sdkMap()
  const impl = map[name] ?? withdrawn.get(name)
  delete map[name]
  if (impl !== undefined) withdrawn.set(name, impl)
  return impl
}
