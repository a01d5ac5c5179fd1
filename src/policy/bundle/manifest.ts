import { BundleError } from './bundle-error.js'
import { rootsOverlap } from './paths.js'
import type { BundleManifest, WasmResolver } from './types.js'

const FILE = '.manifest'

function bad (reason: string): BundleError {
  return new BundleError('BOUNCER_ERR_BUNDLE_MANIFEST', FILE, reason)
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Validates a parsed `.manifest` (or a manifest handed to the writer) and returns a clean
 * copy: roots trimmed of slashes, `[""]` when absent, wasm module paths with one leading
 * slash. Unknown fields are dropped (OPA ignores them too).
 */
export function normalizeManifest (raw: unknown): BundleManifest {
  if (!isPlainObject(raw)) throw bad('must be a JSON object')
  const revision = raw.revision ?? ''
  if (typeof revision !== 'string') throw bad('"revision" must be a string')

  let roots: string[] = ['']
  if (raw.roots !== undefined && raw.roots !== null) {
    if (!Array.isArray(raw.roots) || !raw.roots.every((r): r is string => typeof r === 'string')) {
      throw bad('"roots" must be an array of strings')
    }
    roots = raw.roots.map(r => r.replace(/^\/+|\/+$/g, ''))
  }
  for (let i = 0; i < roots.length; i++) {
    for (let j = i + 1; j < roots.length; j++) {
      if (rootsOverlap(roots[i]!, roots[j]!)) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_ROOTS_OVERLAP', FILE,
          `"${roots[i]}" and "${roots[j]}" (each path must be owned by exactly one root)`)
      }
    }
  }

  const out: BundleManifest = { revision, roots }
  if (raw.wasm !== undefined && raw.wasm !== null) {
    if (!Array.isArray(raw.wasm)) throw bad('"wasm" must be an array')
    out.wasm = raw.wasm.map((w, i): WasmResolver => {
      if (!isPlainObject(w) || typeof w.entrypoint !== 'string' || typeof w.module !== 'string' || w.entrypoint === '' || w.module === '') {
        throw bad(`"wasm[${i}]" must have non-empty string "entrypoint" and "module"`)
      }
      return { entrypoint: w.entrypoint.replace(/^\/+|\/+$/g, ''), module: '/' + w.module.replace(/^\/+/, '') }
    })
  }
  if (raw.metadata !== undefined && raw.metadata !== null) {
    if (!isPlainObject(raw.metadata)) throw bad('"metadata" must be an object')
    out.metadata = raw.metadata
  }
  if (raw.rego_version !== undefined && raw.rego_version !== null) {
    if (raw.rego_version !== 0 && raw.rego_version !== 1) throw bad('"rego_version" must be 0 or 1')
    out.rego_version = raw.rego_version
  }
  return out
}

/** The manifest as written to `/.manifest` (fields in OPA's order, absent ones omitted). */
export function serializeManifest (m: BundleManifest): string {
  const o: Record<string, unknown> = { revision: m.revision, roots: m.roots }
  if (m.wasm !== undefined) o.wasm = m.wasm
  if (m.metadata !== undefined) o.metadata = m.metadata
  if (m.rego_version !== undefined) o.rego_version = m.rego_version
  return JSON.stringify(o)
}
