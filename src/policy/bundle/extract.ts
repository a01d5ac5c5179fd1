// Streaming gunzip + untar with limits. Nothing is buffered beyond the limits: a file's
// declared size is checked from its tar header before its bytes are read, every byte
// read is counted against the per-file and total budgets, and the decompressed stream
// itself is capped so a bomb made of tar padding or zero blocks stops too.
import { createGunzip } from 'node:zlib'
import { Readable } from 'node:stream'
import * as tarStream from 'tar-stream'
import { BundleError, describeError } from './bundle-error.js'
import { normalizeEntryPath } from './paths.js'
import { resolveLimits, type BundleLimits } from './types.js'

export type BundleSource = Uint8Array | AsyncIterable<Uint8Array> | Readable

/** Tar framing per entry: a 512-byte header, padding, and room for a pax/long-name header. */
const FRAMING_PER_ENTRY = 3 * 512

/**
 * Reads a gzip'd tar into path → bytes (paths without a leading slash). Directories are
 * skipped; every other non-regular entry (symlink, hardlink, device, fifo) is refused.
 * `label` names the archive in errors about the archive as a whole.
 */
export async function extractFiles (source: BundleSource, limits: BundleLimits | undefined, label: string): Promise<Map<string, Buffer>> {
  const lim = resolveLimits(limits)
  const decompressedCap = lim.maxTotalBytes + (lim.maxEntries + 2) * FRAMING_PER_ENTRY

  let compressed = 0
  const input = source instanceof Uint8Array ? Readable.from([source]) : Readable.from(source)
  const gunzip = createGunzip()
  let gzipError: Error | undefined
  let limitError: BundleError | undefined
  gunzip.on('error', (e) => { gzipError ??= e })
  input.on('error', (e) => { gunzip.destroy(e) })
  input.on('data', (c: Uint8Array) => {
    compressed += c.length
    if (compressed > lim.maxCompressedBytes) {
      limitError ??= new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', label,
        `compressed size exceeds max_compressed_bytes (${lim.maxCompressedBytes})`)
      input.destroy()
      gunzip.destroy(limitError)
    }
  })
  input.on('end', () => {
    // A zero-byte body gunzips to nothing without an error in Node; it is never a bundle.
    if (compressed === 0) gzipError ??= new Error('empty input')
  })
  input.pipe(gunzip)

  const extract = tarStream.extract()
  // Feeds decompressed bytes into the tar parser with backpressure, counting them.
  const feed = (async () => {
    let decompressed = 0
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        decompressed += chunk.length
        if (decompressed > decompressedCap) {
          limitError ??= new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', label,
            `decompressed size exceeds max_total_bytes (${lim.maxTotalBytes}) plus tar framing`)
          throw limitError
        }
        if (!extract.write(chunk)) await drained(extract)
        if (extract.destroyed) return
      }
      if (gzipError !== undefined) throw gzipError
      extract.end(() => {})
    } catch (e) {
      extract.destroy(e as Error)
    }
  })()

  const files = new Map<string, Buffer>()
  let entries = 0
  let total = 0
  try {
    for await (const entry of extract) {
      const h = entry.header
      entries++
      if (entries > lim.maxEntries) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', label, `more than max_entries (${lim.maxEntries}) tar entries`)
      }
      const type = h.type ?? 'file'
      if (type === 'directory') {
        normalizeEntryPath(h.name)
        entry.resume()
        continue
      }
      if (type !== 'file' && type !== 'contiguous-file') {
        const target = h.linkname != null && h.linkname !== '' ? ` -> ${h.linkname}` : ''
        throw new BundleError('BOUNCER_ERR_BUNDLE_ENTRY_TYPE', JSON.stringify(h.name), `${type}${target}; only regular files and directories are allowed`)
      }
      const path = normalizeEntryPath(h.name)
      if (files.has(path)) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_DUPLICATE_ENTRY', path, 'a bundle path must be unique (a signature could cover one copy while the other is loaded)')
      }
      const declared = h.size ?? 0
      if (declared > lim.maxFileBytes) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', path, `declared size ${declared} exceeds max_file_bytes (${lim.maxFileBytes})`)
      }
      if (total + declared > lim.maxTotalBytes) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', path, `bundle total would exceed max_total_bytes (${lim.maxTotalBytes})`)
      }
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        size += chunk.length
        // The header is authoritative for tar, but count anyway: cheap, and independent of the parser.
        if (size > lim.maxFileBytes) throw new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', path, `exceeds max_file_bytes (${lim.maxFileBytes})`)
        chunks.push(chunk)
      }
      total += size
      files.set(path, Buffer.concat(chunks, size))
    }
    await feed
    if (limitError !== undefined) throw limitError
    if (gzipError !== undefined) throw gzipError
  } catch (e) {
    extract.destroy()
    gunzip.destroy()
    input.destroy()
    await feed.catch(() => {})
    if (e instanceof BundleError) throw e
    if (limitError !== undefined) throw limitError
    if (gzipError !== undefined) {
      throw new BundleError('BOUNCER_ERR_BUNDLE_GZIP', label, describeError(gzipError), { cause: gzipError })
    }
    throw new BundleError('BOUNCER_ERR_BUNDLE_TAR', label, describeError(e), { cause: e })
  }
  return files
}

/** Resolves when a streamx writable drains or is torn down (so a destroyed parser cannot hang us). */
function drained (w: tarStream.Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      w.off('drain', done)
      w.off('close', done)
      resolve()
    }
    w.on('drain', done)
    w.on('close', done)
  })
}
