// The last good bundle on disk, so a restart works while the control plane is down.
// Written atomically (temp file in the same directory, fsync, rename, fsync the directory):
// a crash leaves either the old file or the new one, never a torn one. The raw archive is
// stored and re-verified on load, so a tampered file is refused like a tampered download.
import { createHash } from 'node:crypto'
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { BundleError, describeError } from '../../bundle/index.js'

const ARCHIVE = 'bundle.tar.gz'
const META = 'bundle.json'

export interface PersistedMeta {
  revision: string
  etag: string
  sha256: string
  saved_at: string
}

export interface PersistedBundle {
  bytes: Buffer
  meta: PersistedMeta | null
}

/** Bundle names may contain `/`; the directory name must not. */
export function persistDirName (bundleName: string): string {
  return encodeURIComponent(bundleName).replace(/\./g, '%2E')
}

export class BundlePersistence {
  readonly dir: string

  constructor (rootDir: string, bundleName: string) {
    this.dir = join(rootDir, persistDirName(bundleName))
  }

  get archivePath (): string { return join(this.dir, ARCHIVE) }

  async save (bytes: Uint8Array, meta: { revision: string; etag: string }): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 })
      const sha256 = createHash('sha256').update(bytes).digest('hex')
      const m: PersistedMeta = { ...meta, sha256, saved_at: new Date().toISOString() }
      // Archive first, then the metadata that describes it; load() checks they agree.
      await atomicWrite(this.dir, ARCHIVE, bytes)
      await atomicWrite(this.dir, META, Buffer.from(JSON.stringify(m), 'utf8'))
    } catch (e) {
      throw new BundleError('BOUNCER_ERR_BUNDLE_PERSIST', this.dir, describeError(e), { cause: e })
    }
  }

  /** The persisted archive, or null when there is none. Refuses files over `maxBytes`. */
  async load (maxBytes: number): Promise<PersistedBundle | null> {
    let size: number
    try {
      size = (await stat(this.archivePath)).size
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw new BundleError('BOUNCER_ERR_BUNDLE_PERSIST', this.archivePath, describeError(e), { cause: e })
    }
    if (size > maxBytes) throw new BundleError('BOUNCER_ERR_BUNDLE_TOO_LARGE', this.archivePath, `persisted archive of ${size} bytes exceeds max_compressed_bytes (${maxBytes})`)
    let bytes: Buffer
    try {
      bytes = await readFile(this.archivePath)
    } catch (e) {
      throw new BundleError('BOUNCER_ERR_BUNDLE_PERSIST', this.archivePath, describeError(e), { cause: e })
    }
    let meta: PersistedMeta | null = null
    try {
      meta = JSON.parse(await readFile(join(this.dir, META), 'utf8')) as PersistedMeta
    } catch {
      meta = null
    }
    // Metadata from a different save (crash between the two renames) is ignored, not trusted.
    if (meta !== null && meta.sha256 !== createHash('sha256').update(bytes).digest('hex')) meta = null
    return { bytes, meta }
  }

  async clear (): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
  }
}

async function atomicWrite (dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`)
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(bytes)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, join(dir, name))
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
  // Make the rename itself durable.
  const dh = await open(dir, 'r')
  try {
    await dh.sync()
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await dh.close()
  }
}
