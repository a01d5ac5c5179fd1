// A bundle's Rego modules must each lie under the manifest's roots, as OPA requires (a bundle may
// not define policy outside its roots): a bundle rooted at `authz` must not ship
// data.system.log.drop (decision-log suppression) or another bundle's package. The package is
// read by the compiler's own parser, so no spelling the compiler accepts (`package system[ "log" ]`,
// a newline after `package`) escapes the check; a module whose package clause cannot be read is
// refused. Parts are compared one by one (`authz["public/x"]` is not under `authz/public`; OPA
// escapes the "/"). src/bundle (the format) does not depend on the compiler, so this runs where
// a bundle is loaded, for every module (those beside a policy.wasm too).
import { BundleError } from '../bundle/bundle-error.js'
import type { LoadedBundle } from '../bundle/index.js'
import { rootsContainParts } from '../bundle/paths.js'

export async function checkRegoRoots (bundle: LoadedBundle): Promise<void> {
  if (bundle.rego.length === 0) return
  const { parsePackagePath } = await import('../compiler/parser/index.js')
  const roots = bundle.manifest.roots
  for (const { path, source } of bundle.rego) {
    const pkg = parsePackagePath(source, path)
    if (!('path' in pkg)) throw new BundleError('BOUNCER_ERR_BUNDLE_REGO', path, `line ${pkg.error.loc.line}, column ${pkg.error.loc.col}: ${pkg.error.message}`)
    if (!rootsContainParts(roots, pkg.path)) {
      throw new BundleError('BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS', path, `package ${regoPath(pkg.path)} is not under any of the roots ${JSON.stringify(roots)}`)
    }
  }
}

/** A package path as Rego spells it: `a.b["c/d"]`. */
function regoPath (parts: readonly string[]): string {
  return parts.map((p, i) => i === 0 ? p : /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? '.' + p : `[${JSON.stringify(p)}]`).join('')
}
