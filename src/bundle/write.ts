import { promisify } from 'node:util'
import { gzip as gzipCb, constants as zc } from 'node:zlib'
import * as tarStream from 'tar-stream'
import { assembleBundle, MANIFEST_FILE, SIGNATURES_FILE } from './assemble.js'
import { BundleError } from './bundle-error.js'
import { normalizeManifest, serializeManifest } from './manifest.js'
import { normalizeEntryPath } from './paths.js'
import { signBundleFiles, type SignOptions } from './signatures.js'
import type { BundleManifest, RegoFile } from './types.js'

const gzip = promisify(gzipCb)

export interface BundleContents {
  manifest: BundleManifest
  wasm?: Uint8Array
  /** The root data document (an object); written to `/data.json`. */
  data?: unknown
  rego?: RegoFile[]
}

/** Fixed entry time so the same inputs always produce the same bytes (reproducible builds). */
const MTIME = new Date(0)

/**
 * Writes an OPA bundle: `/.manifest`, `/data.json`, `/policy.wasm` (when given) and the
 * Rego sources, gzip'd, entries named with OPA's leading slash. The contents are validated
 * with the reader's rules first (overlapping roots, entrypoints naming missing modules,
 * data or packages outside the roots), so a bundle this writes is one readBundle accepts.
 * With `sign`, adds `/.signatures.json` covering every file.
 */
export async function writeBundle (b: BundleContents, sign?: SignOptions): Promise<Buffer> {
  const manifest = normalizeManifest(b.manifest)
  const files = new Map<string, Uint8Array>()
  files.set(MANIFEST_FILE, Buffer.from(serializeManifest(manifest), 'utf8'))
  const data = b.data ?? {}
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new BundleError('BOUNCER_ERR_BUNDLE_DATA', 'data.json', 'the root data document must be a JSON object')
  }
  files.set('data.json', Buffer.from(JSON.stringify(data), 'utf8'))
  if (b.wasm !== undefined) files.set('policy.wasm', b.wasm)
  for (const r of b.rego ?? []) {
    const p = normalizeEntryPath(r.path)
    if (!p.endsWith('.rego')) throw new BundleError('BOUNCER_ERR_BUNDLE_UNSUPPORTED', p, 'Rego sources must end in .rego')
    if (files.has(p)) throw new BundleError('BOUNCER_ERR_BUNDLE_DUPLICATE_ENTRY', p, 'two Rego sources have the same path')
    files.set(p, Buffer.from(r.source, 'utf8'))
  }
  assembleBundle(files)
  if (sign !== undefined) files.set(SIGNATURES_FILE, Buffer.from(await signBundleFiles(files, sign), 'utf8'))
  return await packFiles(files)
}

/** Tars and gzips files as given (paths without a leading slash; OPA's `/` is added). */
export async function packFiles (files: ReadonlyMap<string, Uint8Array>): Promise<Buffer> {
  const pack = tarStream.pack()
  const chunks: Buffer[] = []
  const collected = (async () => { for await (const c of pack) chunks.push(c as Buffer) })()
  // Signatures and manifest first: a streaming reader learns what to expect up front.
  const order = [...files.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
  for (const p of order) {
    const body = files.get(p)!
    await new Promise<void>((resolve, reject) => {
      pack.entry({ name: '/' + p, size: body.byteLength, mode: 0o644, mtime: MTIME, type: 'file' }, Buffer.from(body.buffer, body.byteOffset, body.byteLength), (err) => { err != null ? reject(err) : resolve() })
    })
  }
  pack.finalize()
  await collected
  return await gzip(Buffer.concat(chunks), { level: zc.Z_BEST_COMPRESSION })
}

function rank (p: string): number {
  return p === SIGNATURES_FILE ? 0 : p === MANIFEST_FILE ? 1 : 2
}
