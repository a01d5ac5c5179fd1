import { BundleError } from './bundle-error.js'

/**
 * Turns a tar entry name into a bundle path (no leading slash) or rejects it.
 *
 * OPA writes entries as `/data.json`, `/.manifest`: one leading slash means "bundle root",
 * so it is accepted (bundles from `opa build` must load). Anything that could resolve
 * outside the bundle if someone extracted it is refused: `..` segments, a second leading
 * slash (`//etc/x`), Windows drive letters or backslashes, NUL bytes, empty segments.
 * The reader never writes entries to disk by name, but a persisted or re-served bundle
 * might meet a tool that does, so refusing them here is cheaper than trusting later code.
 */
export function normalizeEntryPath (name: string, opts: { allowRoot?: boolean } = {}): string {
  const raw = name
  if (raw.includes('\0')) throw unsafe(raw, 'contains a NUL byte')
  if (raw.includes('\\')) throw unsafe(raw, 'contains a backslash')
  if (/^[A-Za-z]:/.test(raw)) throw unsafe(raw, 'is an absolute Windows path')
  let p = raw
  if (p.startsWith('./')) p = p.slice(2)
  else if (p.startsWith('/')) p = p.slice(1)
  if (p.startsWith('/')) throw unsafe(raw, 'is an absolute path')
  if (p.endsWith('/')) p = p.slice(0, -1)
  if (p === '' || p === '.') {
    // GNU tar archives start with a "./" directory entry: the bundle root itself.
    if (opts.allowRoot === true) return ''
    throw unsafe(raw, 'is empty')
  }
  const segs = p.split('/')
  for (const s of segs) {
    if (s === '..') throw unsafe(raw, 'escapes the bundle root with ".."')
    if (s === '' || s === '.') throw unsafe(raw, 'has an empty or "." segment')
  }
  return p
}

function unsafe (name: string, reason: string): BundleError {
  return new BundleError('BOUNCER_ERR_BUNDLE_UNSAFE_PATH', JSON.stringify(name), reason)
}

/** Splits a root or data path into segments; `""` is the empty path (everything). */
export function segments (path: string): string[] {
  const t = path.replace(/^\/+|\/+$/g, '')
  return t === '' ? [] : t.split('/')
}

function isPrefix (prefix: string[], of: string[]): boolean {
  if (prefix.length > of.length) return false
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== of[i]) return false
  return true
}

/** Two roots overlap when one is a segment-wise prefix of the other (`a` and `a/b`). */
export function rootsOverlap (a: string, b: string): boolean {
  const sa = segments(a)
  const sb = segments(b)
  return isPrefix(sa, sb) || isPrefix(sb, sa)
}

/** True when `path` lies under one of `roots`. */
export function rootsContain (roots: readonly string[], path: string): boolean {
  const sp = segments(path)
  return roots.some(r => isPrefix(segments(r), sp))
}

/** True when the path of these parts (a package's: a part may hold a "/") lies under one of `roots`. */
export function rootsContainParts (roots: readonly string[], parts: readonly string[]): boolean {
  return roots.some(r => isPrefix(segments(r), parts as string[]))
}

/** True when `path` is an ancestor of (or equal to) one of `roots`. */
export function isAncestorOfRoot (roots: readonly string[], path: string): boolean {
  const sp = segments(path)
  return roots.some(r => isPrefix(sp, segments(r)))
}
