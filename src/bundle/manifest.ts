import { BundleError } from './bundle-error.js'
import { rootsOverlap } from './paths.js'
import type { BundleManifest, WasmResolver } from './types.js'

const FILE = '.manifest'

function bad (reason: string): BundleError {
  return new BundleError('BOUNCER_ERR_BUNDLE_MANIFEST', FILE, reason)
}

/** OPA's decision-log policies (data.system.log.mask / drop): entrypoints a bundle may carry
 * besides its decision; compiled and used when its sources define them. */
export const LOG_MASK_ENTRYPOINT = 'system/log/mask'
export const LOG_DROP_ENTRYPOINT = 'system/log/drop'

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
  if (raw.file_rego_versions !== undefined && raw.file_rego_versions !== null) {
    if (!isPlainObject(raw.file_rego_versions)) throw bad('"file_rego_versions" must be an object')
    const frv: Record<string, number> = {}
    for (const [pattern, v] of Object.entries(raw.file_rego_versions)) {
      if (v !== 0 && v !== 1) throw bad(`"file_rego_versions" value for "${pattern}" must be 0 or 1`)
      try { globRegExp(pattern) } catch (e) { throw bad(`"file_rego_versions" pattern "${pattern}": ${(e as Error).message}`) }
      frv[pattern] = v
    }
    out.file_rego_versions = frv
  }
  return out
}

/**
 * The Rego version of the bundle file at `path` (with or without its leading slash): the
 * version of the first file_rego_versions pattern that matches it, else the manifest's
 * rego_version, else `fallback` (the runtime's default: policy.rego_version / --v0-compatible).
 */
export function regoVersionForFile (m: BundleManifest, path: string, fallback: 0 | 1): 0 | 1 {
  const abs = '/' + path.replace(/^\/+/, '')
  for (const [pattern, v] of Object.entries(m.file_rego_versions ?? {})) {
    const re = globRegExp(pattern)
    if (re.test(abs) || (!pattern.startsWith('/') && re.test(abs.slice(1)))) return v === 0 ? 0 : 1
  }
  if (m.rego_version === 0 || m.rego_version === 1) return m.rego_version
  return fallback
}

const globCache = new Map<string, RegExp>()

/** A glob as OPA matches file_rego_versions (gobwas/glob without separators): `*` and `**`
 *  match any run of characters, `?` one, `[...]`/`[!...]` a class, `{a,b}` alternatives,
 *  `\x` a literal x. */
function globRegExp (pattern: string): RegExp {
  const hit = globCache.get(pattern)
  if (hit !== undefined) return hit
  let re = ''
  let depth = 0
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '\\') {
      const n = pattern[++i]
      if (n === undefined) throw new Error('unexpected end of pattern after \\')
      re += n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    } else if (c === '*') {
      while (pattern[i + 1] === '*') i++
      re += '.*'
    } else if (c === '?') re += '.'
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1)
      if (end < 0) throw new Error('unterminated character class')
      let body = pattern.slice(i + 1, end)
      if (body.startsWith('!')) body = '^' + body.slice(1)
      re += '[' + body.replace(/\\/g, '\\\\') + ']'
      i = end
    } else if (c === '{') { depth++; re += '(?:' } else if (c === '}' && depth > 0) { depth--; re += ')' } else if (c === ',' && depth > 0) re += '|'
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  if (depth !== 0) throw new Error('unterminated {')
  const out = new RegExp('^' + re + '$', 's')
  globCache.set(pattern, out)
  return out
}

/** The manifest as written to `/.manifest` (fields in OPA's order, absent ones omitted). */
export function serializeManifest (m: BundleManifest): string {
  const o: Record<string, unknown> = { revision: m.revision, roots: m.roots }
  if (m.wasm !== undefined) o.wasm = m.wasm
  if (m.metadata !== undefined) o.metadata = m.metadata
  if (m.rego_version !== undefined) o.rego_version = m.rego_version
  if (m.file_rego_versions !== undefined) o.file_rego_versions = m.file_rego_versions
  return JSON.stringify(o)
}
