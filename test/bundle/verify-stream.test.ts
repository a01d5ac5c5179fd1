// Signature verification while the archive streams (src/bundle/verify-stream.ts): with keys
// configured, a file the signature does not cover is refused from its tar header, and an
// unsigned archive is refused before it is inflated into memory. Real archives, real keys;
// what is inflated is counted at the gunzip stream itself, so the bound is a number of
// bytes, not a timing or a memory reading.
import { createHash } from 'node:crypto'
import { Gunzip, gunzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import {
  BundleError, packFiles, readBundle, readBundleStream, signBundleFiles, writeBundle,
  type BundleErrorCode, type VerificationConfig
} from '../../src/bundle/index.js'
import { gzipZeros, pemKeys, rawTarGz, ustarHeader, type RawEntry } from '../policy/bundle/helpers.js'

const MiB = 1024 * 1024
const ec = pemKeys('ec', { namedCurve: 'P-256' })
const cfg: VerificationConfig = { keys: { k1: { key: ec.publicKey, algorithm: 'ES256', scope: 'write' } } }
const SIGN = { key: ec.privateKey, alg: 'ES256' as const, keyId: 'k1', scope: 'write' }
const CONTENTS = {
  manifest: { revision: 'r1', roots: ['authz'] },
  data: { authz: { admins: ['alice'] } },
  rego: [{ path: 'authz/p.rego', source: 'package authz\nallow := true\n' }]
}

// Every byte any gunzip stream hands on, counted where zlib pushes its output.
let inflated = 0
const gunzipProto = Gunzip.prototype as unknown as { push: (chunk: unknown, encoding?: BufferEncoding) => boolean }
const realPush = Object.getPrototypeOf(gunzipProto).push as typeof gunzipProto.push
gunzipProto.push = function (this: unknown, chunk: unknown, encoding?: BufferEncoding): boolean {
  if (chunk !== null && chunk !== undefined) inflated += (chunk as Buffer).length
  return realPush.call(this, chunk, encoding)
}
t.teardown(() => { delete (gunzipProto as { push?: unknown }).push })

/** Reads `bytes` with the keys and returns the error and how many bytes were inflated meanwhile. */
async function readCounted (bytes: Buffer, verification: VerificationConfig | null = cfg): Promise<{ err: unknown; inflated: number }> {
  inflated = 0
  const err = await readBundle(bytes, undefined, verification === null ? {} : { verification }).then(() => null, (e: unknown) => e)
  return { err, inflated }
}

function isRefusal (t: Test, err: unknown, code: BundleErrorCode, file: string, reason: RegExp): void {
  t.ok(err instanceof BundleError, `refused with a BundleError (got ${String(err)})`)
  t.equal((err as BundleError).code, code)
  t.equal((err as BundleError).file, file)
  t.match((err as BundleError).reason, reason)
}

/** The tar inside a .tar.gz, without its end-of-archive marker, so entries can be appended. */
function tarBody (tgz: Buffer): Buffer {
  const tar = gunzipSync(tgz)
  let off = 0
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512)
    if (h.every(b => b === 0)) break
    const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim(), 8)
    off += 512 + Math.ceil(size / 512) * 512
  }
  return Buffer.from(tar.subarray(0, off))
}

/** `prefix` tar entries, then an entry `name` of `size` zero bytes, then the end marker (more zeros). */
async function withZeroEntry (prefix: Buffer, name: string, size: number): Promise<Buffer> {
  return await gzipZeros(Buffer.concat([prefix, ustarHeader(name, size)]), size + 1024)
}

t.test('a file the signature does not list is refused from its header, before its bytes are inflated', async (t) => {
  const signed = await writeBundle(CONTENTS, SIGN)
  t.ok((await readBundle(signed, undefined, { verification: cfg })).signature, 'the signed bundle itself verifies')
  // The signed files, then 60 MiB of zeros the signature does not list (under every default limit).
  const bomb = await withZeroEntry(tarBody(signed), '/authz/extra.bin', 60 * MiB)
  t.ok(bomb.length < MiB, `${bomb.length} bytes compressed`)
  const r = await readCounted(bomb)
  isRefusal(t, r.err, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'authz/extra.bin', /not covered by the bundle signature/)
  t.ok(r.inflated < MiB, `inflated ${r.inflated} bytes of 60 MiB before refusing (bound: 1 MiB)`)
})

t.test('an unsigned bundle is refused before it is inflated (the review\'s bomb)', async (t) => {
  // As the review built it: plain entries of zeros, no .signatures.json, keys configured.
  const bomb = await withZeroEntry(Buffer.alloc(0), 'a.bin', 60 * MiB)
  const r = await readCounted(bomb)
  isRefusal(t, r.err, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'a.bin', /comes before \.signatures\.json and is no file the bundle loader reads/)
  t.ok(r.inflated < MiB, `inflated ${r.inflated} bytes of 60 MiB before refusing (bound: 1 MiB)`)

  // Small files the loader ignores fit the 1 MiB allowance; a 2 MiB one does not.
  const small = await rawTarGz([{ name: '/README', body: 'x'.repeat(1000) }, { name: '/NOTES', body: Buffer.alloc(2 * MiB) }])
  isRefusal(t, (await readCounted(small)).err, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'NOTES', /declares 2097152/)

  // A .signatures.json that is itself a bomb is refused from its header.
  const sigBomb = await withZeroEntry(Buffer.alloc(0), '/.signatures.json', 60 * MiB)
  const s = await readCounted(sigBomb)
  isRefusal(t, s.err, 'BOUNCER_ERR_BUNDLE_TOO_LARGE', '.signatures.json', /declared size 62914560 exceeds the 4194304 bytes/)
  t.ok(s.inflated < MiB, `inflated ${s.inflated} bytes`)

  // Without keys nothing changes: the same unsigned bomb is read up to the limits as before.
  const none = await readCounted(await withZeroEntry(Buffer.alloc(0), 'a.bin', 3 * MiB), null)
  t.equal(none.err, null, 'an unsigned bundle loads when no keys are configured')
  t.ok(none.inflated >= 3 * MiB, 'and is read whole')
})

t.test('an unsigned bundle whose first file is data the loader reads is passed over, then refused as unsigned', async (t) => {
  const bomb = await withZeroEntry(Buffer.alloc(0), '/data.json', 60 * MiB)
  isRefusal(t, (await readCounted(bomb)).err, 'BOUNCER_ERR_BUNDLE_UNSIGNED', 'archive', /no \.signatures\.json and verification keys are configured/)
})

/** A bundle laid out as `opa build --signing-key` writes it: data, policies, wasm, signature, manifest. */
async function opaOrder (files: Map<string, Buffer>, tamper?: (entries: RawEntry[]) => RawEntry[]): Promise<Buffer> {
  const sig = await signBundleFiles(files, SIGN)
  const order = ['data.json', ...[...files.keys()].filter(p => p.endsWith('.rego')), 'policy.wasm']
  const entries: RawEntry[] = order.filter(p => files.has(p)).map(p => ({ name: '/' + p, body: files.get(p)! }))
  entries.push({ name: '/.signatures.json', body: sig }, { name: '/.manifest', body: files.get('.manifest')! })
  return await rawTarGz(tamper === undefined ? entries : tamper(entries))
}

t.test('bundles signed after their data, as opa build writes them, load; larger ones are read twice', async (t) => {
  const big = { authz: { users: Array.from({ length: 60_000 }, (_, i) => `user-${i}-${createHash('sha256').update(String(i)).digest('hex').slice(0, 16)}`) } }
  const files = new Map<string, Buffer>([
    ['.manifest', Buffer.from(JSON.stringify({ revision: 'opa-1', roots: ['authz'] }))],
    ['data.json', Buffer.from(JSON.stringify(big))],
    ['authz/p.rego', Buffer.from('package authz\nallow := true\n')],
    ['policy.wasm', Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])]
  ])
  t.ok(files.get('data.json')!.length > 1.5 * MiB, `data.json is ${files.get('data.json')!.length} bytes, past the 1 MiB held before the signature`)
  const tgz = await opaOrder(files)
  inflated = 0
  const b = await readBundle(tgz, undefined, { verification: cfg })
  const { issuedAt: _iat, ...sig } = b.signature!
  t.same(sig, { keyId: 'k1', algorithm: 'ES256', scope: 'write', files: ['.manifest', 'authz/p.rego', 'data.json', 'policy.wasm'] })
  t.equal((b.data as { authz: { users: string[] } }).authz.users.length, 60_000)
  t.ok(inflated > 2 * files.get('data.json')!.length, 'read twice: passed over, then read once the signature was verified')
  // The same from a stream (collected compressed first).
  const streamed = await readBundleStream((async function * () { for (let i = 0; i < tgz.length; i += 65536) yield tgz.subarray(i, i + 65536) })(), undefined, { verification: cfg })
  t.equal(streamed.manifest.revision, 'opa-1')

  // On the second read the same rules hold: a changed file, an unlisted one, a missing one.
  const changed = await opaOrder(files, es => es.map(e => e.name === '/data.json' ? { ...e, body: JSON.stringify({ authz: { users: [...big.authz.users, 'mallory'] } }) } : e))
  isRefusal(t, (await readCounted(changed)).err, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'data.json', /digest mismatch/)
  const extra = await opaOrder(files, es => [...es.slice(0, 2), { name: '/authz/extra.rego', body: 'package authz\ndeny := true\n' }, ...es.slice(2)])
  isRefusal(t, (await readCounted(extra)).err, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'authz/extra.rego', /not covered/)
  const missing = await opaOrder(files, es => es.filter(e => e.name !== '/policy.wasm'))
  isRefusal(t, (await readCounted(missing)).err, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'policy.wasm', /missing from the bundle/)
  const unsigned = await opaOrder(files, es => es.filter(e => e.name !== '/.signatures.json'))
  isRefusal(t, (await readCounted(unsigned)).err, 'BOUNCER_ERR_BUNDLE_UNSIGNED', 'archive', /no \.signatures\.json/)
})

t.test('bouncer build writes .signatures.json first: one read, each file checked as it arrives', async (t) => {
  const signed = await writeBundle(CONTENTS, SIGN)
  const first = gunzipSync(signed).toString('utf8', 0, 100).replace(/\0.*$/s, '')
  t.equal(first, '/.signatures.json', 'the signature is the first entry')
  inflated = 0
  const b = await readBundle(signed, undefined, { verification: cfg })
  t.same(b.signature?.files, ['.manifest', 'authz/p.rego', 'data.json'])
  t.ok(inflated <= gunzipSync(signed).length, `read once (${inflated} bytes inflated)`)
  // A signed file changed after signing is refused by name; so is one appended twice.
  const files = new Map<string, Buffer>([
    ['.manifest', Buffer.from(JSON.stringify({ revision: 'r2', roots: ['authz'] }))],
    ['authz/p.rego', Buffer.from('package authz\nallow := true\n')]
  ])
  const sig = await signBundleFiles(files, SIGN)
  const tampered = new Map(files)
  tampered.set('authz/p.rego', Buffer.from('package authz\nallow := false\n'))
  tampered.set('.signatures.json', Buffer.from(sig))
  isRefusal(t, (await readCounted(await packFiles(tampered))).err, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'authz/p.rego', /digest mismatch/)
})
