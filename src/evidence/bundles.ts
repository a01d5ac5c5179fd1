// Signing key ids for the Change management section. Decision-log events record the bundle
// revision that decided, not the key that signed the bundle; the key id is read from the
// bundle archives the operator passes (--bundle): the revision from `.manifest`, the key id
// from `.signatures.json` (the JWT's `kid` header, else its `keyid` claim). The signature is
// not verified here — Bouncer verified it when it activated the bundle, if keys were
// configured — so the report calls it the key id the bundle declares.
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { bouncerError } from '../errors.js'
import { extractFiles, MANIFEST_FILE, SIGNATURES_FILE } from '../bundle/index.js'
import { describeIoError } from './source.js'

export interface BundleKeyInfo { revision: string; key_id: string | null; file: string }

export async function readBundleKeyIds (paths: readonly string[]): Promise<BundleKeyInfo[]> {
  const out: BundleKeyInfo[] = []
  for (const p of paths) {
    let bytes: Buffer
    try { bytes = await readFile(p) } catch (e) {
      throw bouncerError('BOUNCER_ERR_EVIDENCE_INPUT', p, describeIoError(e))
    }
    let files: Map<string, Buffer>
    try { files = await extractFiles(bytes, undefined, p) } catch (e) {
      throw bouncerError('BOUNCER_ERR_EVIDENCE_OPTIONS', '--bundle', `${p} is not a bundle archive: ${(e as Error).message}`)
    }
    let revision = ''
    const m = files.get(MANIFEST_FILE)
    if (m !== undefined) {
      try {
        const v = JSON.parse(m.toString('utf8')) as { revision?: unknown }
        if (typeof v.revision === 'string') revision = v.revision
      } catch { /* a bundle without a readable manifest has revision "" */ }
    }
    out.push({ revision, key_id: keyIdOf(files.get(SIGNATURES_FILE)), file: basename(p) })
  }
  return out
}

function keyIdOf (sig: Buffer | undefined): string | null {
  if (sig === undefined) return null
  try {
    const token = (JSON.parse(sig.toString('utf8')) as { signatures?: unknown[] }).signatures?.[0]
    if (typeof token !== 'string') return null
    const [h, p] = token.split('.')
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')) as { kid?: unknown }
    if (typeof header.kid === 'string' && header.kid !== '') return header.kid
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as { keyid?: unknown }
    return typeof claims.keyid === 'string' && claims.keyid !== '' ? claims.keyid : null
  } catch { return null }
}
