// From extracted files to a LoadedBundle: manifest, data placed by directory, Rego
// sources, Wasm modules, and OPA's consistency rules (roots own everything the bundle
// carries; every wasm entrypoint names a module that exists).
import { BundleError, describeError } from './bundle-error.js'
import { normalizeManifest } from './manifest.js'
import { isAncestorOfRoot, rootsContain, segments } from './paths.js'
import type { BundleManifest, LoadedBundle, RegoFile, WasmModuleFile } from './types.js'
import { isRawJson, parseJsonExact } from '../exact-json.js'
import { parseOpaDocument } from '../opa-yaml.js'

export const MANIFEST_FILE = '.manifest'
export const SIGNATURES_FILE = '.signatures.json'
const DATA_FILES = new Set(['data.json', 'data.yaml', 'data.yml'])
const utf8 = new TextDecoder('utf-8', { fatal: true })

function baseName (p: string): string {
  return p.slice(p.lastIndexOf('/') + 1)
}

function dirName (p: string): string {
  const i = p.lastIndexOf('/')
  return i < 0 ? '' : p.slice(0, i)
}

function text (path: string, bytes: Uint8Array, code: 'BOUNCER_ERR_BUNDLE_DATA' | 'BOUNCER_ERR_BUNDLE_MANIFEST'): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new BundleError(code, path, 'is not valid UTF-8')
  }
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isRawJson(v)
}

/** Own-property write: a data key named `__proto__` must stay data, never a prototype. */
function setOwn (o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

function getOwn (o: Record<string, unknown>, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined
}

/** Deep-merges `src` into `dst`; two files giving the same non-object path is a conflict. */
function merge (dst: Record<string, unknown>, src: Record<string, unknown>, at: string[], file: string): void {
  for (const [k, v] of Object.entries(src)) {
    const cur = getOwn(dst, k)
    if (cur === undefined) setOwn(dst, k, v)
    else if (isPlainObject(cur) && isPlainObject(v)) merge(cur, v, [...at, k], file)
    else throw new BundleError('BOUNCER_ERR_BUNDLE_DATA', file, `conflicts with another data file at /${[...at, k].join('/')}`)
  }
}

function insertData (root: Record<string, unknown>, path: string[], value: unknown, file: string): void {
  if (path.length === 0) {
    if (!isPlainObject(value)) throw new BundleError('BOUNCER_ERR_BUNDLE_DATA', file, 'the root data document must be a JSON object')
    merge(root, value, [], file)
    return
  }
  let node = root
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!
    let next = getOwn(node, k)
    if (next === undefined) { next = {}; setOwn(node, k, next) }
    if (!isPlainObject(next)) throw new BundleError('BOUNCER_ERR_BUNDLE_DATA', file, `conflicts with another data file at /${path.slice(0, i + 1).join('/')}`)
    node = next
  }
  const last = path[path.length - 1]!
  const cur = getOwn(node, last)
  if (cur === undefined) setOwn(node, last, value)
  else if (isPlainObject(cur) && isPlainObject(value)) merge(cur, value, path, file)
  else throw new BundleError('BOUNCER_ERR_BUNDLE_DATA', file, `conflicts with another data file at /${path.join('/')}`)
}

function parseDataFile (path: string, bytes: Uint8Array): unknown {
  const src = text(path, bytes, 'BOUNCER_ERR_BUNDLE_DATA')
  try {
    if (path.endsWith('.json')) return parseJsonExact(src)
    // As OPA reads data.yaml (util.Unmarshal): JSON if it is JSON, else YAML as OPA's go-yaml v3
    // reads it. Alias expansion is bounded ("billion laughs").
    return parseOpaDocument(src)
  } catch (e) {
    throw new BundleError('BOUNCER_ERR_BUNDLE_DATA', path, describeError(e), { cause: e })
  }
}

/**
 * Finds every data path not owned by a root, walking objects that lie above a root (as OPA
 * does): with roots ["a/b"], `{"a": {"b": 1}}` is fine and `{"a": {"c": 1}}` is not.
 */
function checkDataRoots (data: Record<string, unknown>, roots: string[], sources: Map<string, string>): void {
  const walk = (node: unknown, path: string[]): void => {
    const p = path.join('/')
    if (rootsContain(roots, p)) return
    if (isPlainObject(node) && isAncestorOfRoot(roots, p)) {
      for (const [k, v] of Object.entries(node)) walk(v, [...path, k])
      return
    }
    const file = sourceOf(sources, path)
    throw new BundleError('BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS', file, `data at /${p} is not under any of the roots ${JSON.stringify(roots)}`)
  }
  walk(data, [])
}

/** The data file that put a value at `path` (the deepest data file directory above it). */
function sourceOf (sources: Map<string, string>, path: string[]): string {
  for (let n = path.length; n >= 0; n--) {
    const f = sources.get(path.slice(0, n).join('/'))
    if (f !== undefined) return f
  }
  return 'data.json'
}

/** Builds the LoadedBundle from already extracted (and, if required, verified) files. */
export function assembleBundle (files: Map<string, Uint8Array>): LoadedBundle {
  let manifest: BundleManifest = { revision: '', roots: [''] }
  const mbytes = files.get(MANIFEST_FILE)
  if (mbytes !== undefined) {
    let raw: unknown
    try {
      raw = JSON.parse(text(MANIFEST_FILE, mbytes, 'BOUNCER_ERR_BUNDLE_MANIFEST'))
    } catch (e) {
      if (e instanceof BundleError) throw e
      throw new BundleError('BOUNCER_ERR_BUNDLE_MANIFEST', MANIFEST_FILE, describeError(e), { cause: e })
    }
    manifest = normalizeManifest(raw)
  }
  const roots = manifest.roots

  const data: Record<string, unknown> = {}
  const dataSources = new Map<string, string>()
  const rego: RegoFile[] = []
  const wasmModules: WasmModuleFile[] = []

  // Sorted so that data merging and error messages do not depend on archive order;
  // shallower files first, so a conflict names the deeper (more specific) data file.
  const paths = [...files.keys()].sort()
  const byDepth = [...paths].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1))
  for (const path of byDepth) {
    const bytes = files.get(path)!
    const base = baseName(path)
    if (DATA_FILES.has(base)) {
      const dir = dirName(path)
      const value = parseDataFile(path, bytes)
      insertData(data, segments(dir), value, path)
      if (!dataSources.has(dir)) dataSources.set(dir, path)
    } else if (path.endsWith('.rego')) {
      const source = text(path, bytes, 'BOUNCER_ERR_BUNDLE_DATA')
      // Its package is checked against the roots where bundles are loaded (src/policy/bundle-roots.ts):
      // read by the compiler's parser, which this format does not depend on.
      rego.push({ path, source })
    } else if (base === 'policy.wasm') {
      wasmModules.push({ path: '/' + path, bytes, entrypoints: [] })
    } else if (base === 'patch.json') {
      throw new BundleError('BOUNCER_ERR_BUNDLE_UNSUPPORTED', path, 'delta bundles are not supported')
    }
  }

  checkDataRoots(data, roots, dataSources)

  const seen = new Set<string>()
  for (const w of manifest.wasm ?? []) {
    const mod = wasmModules.find(m => m.path === w.module)
    if (mod === undefined) {
      throw new BundleError('BOUNCER_ERR_BUNDLE_WASM_MODULE', w.module.slice(1),
        `the manifest maps entrypoint "${w.entrypoint}" to it but the bundle has no such file`)
    }
    if (!rootsContain(roots, w.entrypoint)) {
      throw new BundleError('BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS', MANIFEST_FILE, `wasm entrypoint "${w.entrypoint}" is not under any of the roots ${JSON.stringify(roots)}`)
    }
    if (seen.has(w.entrypoint)) {
      throw new BundleError('BOUNCER_ERR_BUNDLE_MANIFEST', MANIFEST_FILE, `entrypoint "${w.entrypoint}" is mapped to more than one wasm module`)
    }
    seen.add(w.entrypoint)
    mod.entrypoints.push(w.entrypoint)
  }
  if (wasmModules.length > 1) {
    // opa-wasm evaluates one module per policy; silently picking one would change results.
    throw new BundleError('BOUNCER_ERR_BUNDLE_WASM_MODULE', wasmModules.map(m => m.path.slice(1)).join(', '),
      'bundles with more than one Wasm module are not supported')
  }

  return {
    manifest,
    wasm: wasmModules[0]?.bytes ?? null,
    data,
    rego,
    files: paths,
    wasmModules
  }
}
