// Streaming gunzip + untar with limits. Nothing is buffered beyond the limits: a file's
// declared size is checked from its tar header before its bytes are read, the compressed
// input is counted, and the decompressed stream is capped as a second line of defence.
// Reading stops at the tar end-of-archive marker, so trailing zeros are never inflated.
// An EntryGate (signature verification) may pass over an entry, or refuse it, from its header.
import { createGunzip } from 'node:zlib'
import { Readable } from 'node:stream'
import { BundleError, describeError } from './bundle-error.js'
import { normalizeEntryPath } from './paths.js'
import { readTar, TarFormatError } from './tar.js'
import { resolveLimits, type BundleLimits } from './types.js'

export type BundleSource = Uint8Array | AsyncIterable<Uint8Array> | Readable

/** Tar framing per entry: a 512-byte header, padding, and room for a pax/long-name header. */
const FRAMING_PER_ENTRY = 4 * 512

/**
 * Decides, per regular file, whether its bytes are read at all (signature verification,
 * src/bundle/verify-stream.ts). `admit` sees the path and declared size after the reader's
 * own checks (type, path, duplicates, limits) and before a byte of the body is inflated:
 * `keep` reads it and hands it to `accept` before the next entry is looked at, `skip`
 * passes over it without keeping it, `stop` ends the read there. Either may throw.
 */
export interface EntryGate {
  admit: (path: string, size: number) => 'keep' | 'skip' | 'stop'
  accept: (path: string, body: Buffer) => void | Promise<void>
}

export interface ExtractOptions {
  gate?: EntryGate
}

/**
 * Reads a gzip'd tar into path → bytes (paths without a leading slash; with a gate, the
 * files it kept). Directories are skipped; every other non-regular entry (symlink, hardlink, device, fifo) is refused.
 * `label` names the archive in errors about the archive as a whole.
 */
export async function extractFiles (source: BundleSource, limits: BundleLimits | undefined, label: string, options: ExtractOptions = {}): Promise<Map<string, Buffer>> {
  const gate = options.gate
  const lim = resolveLimits(limits)
  const decompressedCap = lim.maxTotalBytes + (lim.maxEntries + 2) * FRAMING_PER_ENTRY

  let compressed = 0
  let gzipError: Error | undefined
  let limitError: BundleError | undefined
  const input = source instanceof Uint8Array ? Readable.from([source]) : source instanceof Readable ? source : Readable.from(source)
  const gunzip = createGunzip()
  gunzip.on('error', (e) => { gzipError ??= e })
  input.on('error', (e) => { gunzip.destroy(e) })
  input.on('data', (c: Uint8Array) => {
    compressed += c.length
    if (compressed > lim.maxCompressedBytes && limitError === undefined) {
      limitError = new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', label, `compressed size exceeds max_compressed_bytes (${lim.maxCompressedBytes})`)
      input.destroy()
      gunzip.destroy(limitError)
    }
  })
  input.pipe(gunzip)

  async function * counted (): AsyncGenerator<Buffer> {
    let n = 0
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      n += chunk.length
      if (n > decompressedCap) {
        limitError ??= new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', label, `decompressed size exceeds max_total_bytes (${lim.maxTotalBytes}) plus tar framing`)
        throw limitError
      }
      yield chunk
    }
    // A zero-byte body gunzips to nothing without an error in Node; it is never a bundle.
    if (compressed === 0) throw (gzipError ??= new Error('empty input'))
  }

  const files = new Map<string, Buffer>()
  const seen = new Set<string>()
  let entries = 0
  let total = 0
  let stopped = false
  try {
    for await (const entry of readTar(counted())) {
      const h = entry.header
      entries++
      if (entries > lim.maxEntries) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', label, `more than max_entries (${lim.maxEntries}) tar entries`)
      }
      if (h.type === 'directory') {
        normalizeEntryPath(h.name, { allowRoot: true })
        // A directory carries no bytes; one that declares some could make the reader inflate
        // them (up to max_file_bytes each) without their counting anywhere.
        if (h.size !== 0) throw new BundleError('BOUNCER_ERR_BUNDLE_ENTRY_TYPE', JSON.stringify(h.name), `directory entry declares ${h.size} bytes; a directory has none`)
        continue
      }
      // Only what OPA's loader reads as a file (Go's TypeReg): it skips a contiguous file (type
      // 7), and names a file "data.json/" as written, so neither may become data.json here.
      if (h.type !== 'file') {
        const target = h.linkname !== '' ? ` -> ${h.linkname}` : ''
        throw new BundleError('BOUNCER_ERR_BUNDLE_ENTRY_TYPE', JSON.stringify(h.name), `${h.type}${target}; only regular files and directories are allowed`)
      }
      if (h.name.endsWith('/')) throw new BundleError('BOUNCER_ERR_BUNDLE_ENTRY_TYPE', JSON.stringify(h.name), 'a file entry whose name ends in "/"')
      const path = normalizeEntryPath(h.name, { allowRoot: true })
      if (seen.has(path)) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_DUPLICATE_ENTRY', path, 'a bundle path must be unique (a signature could cover one copy while the other is loaded)')
      }
      if (h.size > lim.maxFileBytes) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', path, `declared size ${h.size} exceeds max_file_bytes (${lim.maxFileBytes})`)
      }
      if (total + h.size > lim.maxTotalBytes) {
        throw new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', path, `the files together would exceed max_total_bytes (${lim.maxTotalBytes})`)
      }
      seen.add(path)
      const verdict = gate === undefined ? 'keep' : gate.admit(path, h.size)
      if (verdict === 'stop') { stopped = true; break }
      if (verdict === 'skip') {
        await entry.skip()
        total += h.size
        continue
      }
      const body = await entry.read()
      total += body.length
      files.set(path, body)
      if (gate !== undefined) await gate.accept(path, body)
    }
    if (gzipError !== undefined) throw gzipError
  } catch (e) {
    gunzip.destroy()
    input.destroy()
    if (e instanceof BundleError) throw e
    if (limitError !== undefined) throw limitError
    if (gzipError !== undefined) {
      throw new BundleError('BOUNCER_ERR_BUNDLE_GZIP', label, describeError(gzipError), { cause: gzipError })
    }
    if (e instanceof TarFormatError) throw new BundleError('BOUNCER_ERR_BUNDLE_TAR', label, e.message, { cause: e })
    throw new BundleError('BOUNCER_ERR_BUNDLE_TAR', label, describeError(e), { cause: e })
  }
  // Stop inflating whatever follows the end-of-archive marker.
  gunzip.destroy()
  input.destroy()
  if (seen.size === 0 && !stopped) {
    // An empty archive would replace every policy with nothing; it is always a mistake
    // (an empty 200 from a proxy, a truncated upload), so it is refused, not activated.
    throw new BundleError('BOUNCER_ERR_BUNDLE_TAR', label, 'the archive contains no files')
  }
  return files
}
