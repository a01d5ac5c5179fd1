// Bundle signatures: OPA's canonical digests, signing with every algorithm family, and
// each way a signature must fail (bad signature, wrong scope, unknown kid, extra unsigned
// file, missing file, changed content, weak hash, no signature at all).
import { createHash, createHmac } from 'node:crypto'
import t, { type Test } from 'tap'
import {
  BundleError, canonicalJsonText, canonicalValue, fileDigest, readBundle, writeBundle,
  type SigningAlgorithm, type VerificationConfig
} from '../../src/bundle/index.js'
import { gunzipSync } from 'node:zlib'
import { pemKeys, rawTarGz, type RawEntry } from '../policy/bundle/helpers.js'

const rsa = pemKeys('rsa')
const ec256 = pemKeys('ec', { namedCurve: 'P-256' })
const ec384 = pemKeys('ec', { namedCurve: 'P-384' })
const ec521 = pemKeys('ec', { namedCurve: 'P-521' })
const SECRET = 'an HMAC secret that is long enough for HS512 use in tests'
const CONTENTS = {
  manifest: { revision: 'signed-1', roots: ['authz'] },
  data: { authz: { admins: ['alice'], limit: 1.5 } },
  wasm: Buffer.from('not really wasm'),
  rego: [{ path: 'authz/p.rego', source: 'package authz\nallow := true\n' }]
}

/** Unpacks a bundle into [name, body] pairs (names as stored, with OPA's leading slash). */
async function entries (bundle: Buffer): Promise<RawEntry[]> {
  const tar = gunzipSync(bundle)
  const out: RawEntry[] = []
  for (let off = 0; off + 512 <= tar.length;) {
    const h = tar.subarray(off, off + 512)
    if (h.every(b => b === 0)) break
    const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '')
    const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim(), 8)
    out.push({ name, body: Buffer.from(tar.subarray(off + 512, off + 512 + size)) })
    off += 512 + Math.ceil(size / 512) * 512
  }
  return out
}

async function rejectsSig (t: Tap, bytes: Buffer, cfg: VerificationConfig | undefined, code: string, file: string, reason: RegExp): Promise<void> {
  const err = await readBundle(bytes, undefined, cfg === undefined ? {} : { verification: cfg }).then(() => null, (e: unknown) => e)
  t.ok(err instanceof BundleError, `rejected (${String(err)})`)
  t.equal((err as BundleError).code, code)
  t.equal((err as BundleError).file, file)
  t.match((err as BundleError).reason, reason)
}
type Tap = Test

t.test('canonical form matches OPA: sorted keys (UTF-8 order), literal numbers, Go escaping', async (t) => {
  t.equal(canonicalJsonText('{ "b": [1.0, "x", 1e3, -0], "a": {"d": null, "c": true} }'), '{"a":{"c":true,"d":null},"b":[1.0,"x",1e3,-0]}')
  // Go sorts by bytes: U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80), unlike UTF-16 order.
  t.equal(canonicalJsonText('{"😀": 1, "｡": 2}'), '{"｡":2,"😀":1}')
  // No HTML escaping; \b and \f short forms; other controls as \u00xx; U+2028 escaped.
  t.equal(canonicalJsonText('"<a&b>\\u0008\\u000c\\u0001\\u2028\\/é"'), '"<a&b>\\b\\f\\u0001\\u2028/é"')
  t.equal(canonicalJsonText('{"a": 1, "a": 2}'), '{"a":2}', 'later duplicate wins, as in a Go map')
  t.equal(canonicalValue({ b: [1, 'x'], a: { z: 1.5 } }), '{"a":{"z":1.5},"b":[1,"x"]}')
  t.throws(() => canonicalJsonText('{"a": }'), SyntaxError)
  t.throws(() => canonicalJsonText('[' .repeat(5000)), /nested too deeply/)
  // Digest of a structured file is over the canonical text; of other files over the raw bytes.
  const doc = Buffer.from('{ "b": 2,\n  "a": 1 }')
  t.equal(fileDigest('x/data.json', doc, 'sha256'), createHash('sha256').update('{"a":1,"b":2}').digest('hex'))
  t.equal(fileDigest('x/other.json', doc, 'sha256'), createHash('sha256').update(doc).digest('hex'))
  t.equal(fileDigest('data.yaml', Buffer.from('b: 2\na: [x, 1]\n'), 'sha256'), createHash('sha256').update('{"a":["x",1],"b":2}').digest('hex'))
})

const FAMILIES: [SigningAlgorithm, string, string][] = [
  ['RS256', rsa.privateKey, rsa.publicKey], ['RS512', rsa.privateKey, rsa.publicKey],
  ['PS256', rsa.privateKey, rsa.publicKey], ['PS384', rsa.privateKey, rsa.publicKey],
  ['ES256', ec256.privateKey, ec256.publicKey], ['ES384', ec384.privateKey, ec384.publicKey], ['ES512', ec521.privateKey, ec521.publicKey],
  ['HS256', SECRET, SECRET], ['HS384', SECRET, SECRET], ['HS512', SECRET, SECRET]
]

t.test('sign with writeBundle, verify with readBundle, for RS/PS/ES/HS', async (t) => {
  for (const [alg, priv, pub] of FAMILIES) {
    const bytes = await writeBundle(CONTENTS, { key: priv, alg, keyId: 'k1', scope: 'write' })
    const b = await readBundle(bytes, undefined, { verification: { keys: { k1: { key: pub, algorithm: alg, scope: 'write' } } } })
    const { issuedAt, ...sig } = b.signature!
    t.same(sig, { keyId: 'k1', algorithm: alg, scope: 'write', files: ['.manifest', 'authz/p.rego', 'data.json', 'policy.wasm'] }, `${alg} verifies every file`)
    t.ok(typeof issuedAt === 'number' && Math.abs(issuedAt - Date.now() / 1000) < 60, `${alg}: its iat (signed now) is read back`)
    t.equal(b.manifest.revision, 'signed-1')
  }
  // A signature without iat (OPA's signer adds none unless its claims file does): none read.
  const [alg, priv, pub] = FAMILIES[0]!
  const noIat = await readBundle(await writeBundle(CONTENTS, { key: priv, alg, keyId: 'k1', scope: 'write', claims: { iat: undefined } }), undefined, { verification: { keys: { k1: { key: pub, algorithm: alg, scope: 'write' } } } })
  t.equal(noIat.signature?.issuedAt, undefined, 'no iat, no issuedAt')
  const given = await readBundle(await writeBundle(CONTENTS, { key: priv, alg, keyId: 'k1', scope: 'write', claims: { iat: 1700000000 } }), undefined, { verification: { keys: { k1: { key: pub, algorithm: alg, scope: 'write' } } } })
  t.equal(given.signature?.issuedAt, 1700000000, 'an iat from the claims is the one signed')
})

t.test('the signature payload follows OPA: files without leading slash, SHA-256, keyid claim, kid header', async (t) => {
  const bytes = await writeBundle(CONTENTS, { key: SECRET, alg: 'HS256', keyId: 'k1', scope: 'write' })
  const sig = (await entries(bytes)).find(e => e.name === '/.signatures.json')!
  const token = (JSON.parse(String(sig.body)) as { signatures: string[] }).signatures[0]!
  const [h, p] = token.split('.').slice(0, 2).map(s => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>)
  t.same(h, { alg: 'HS256', kid: 'k1' })
  t.equal(p!.keyid, 'k1')
  t.equal(p!.scope, 'write')
  const files = p!.files as { name: string; hash: string; algorithm: string }[]
  t.same(files.map(f => f.name), ['.manifest', 'authz/p.rego', 'data.json', 'policy.wasm'])
  t.ok(files.every(f => f.algorithm === 'SHA-256'))
  t.equal(files.find(f => f.name === 'data.json')!.hash, createHash('sha256').update('{"authz":{"admins":["alice"],"limit":1.5}}').digest('hex'))
})

t.test('a signature made by hand the way OPA does (payload keyid only, no kid header) verifies', async (t) => {
  // OPA <0.x signers put the key id only in the deprecated "keyid" claim.
  const files: RawEntry[] = [{ name: '/.manifest', body: '{"revision":"h","roots":[""]}' }, { name: '/data.json', body: '{ "x" : [1.0] }' }]
  const digest = (name: string, canon: string): { name: string; hash: string; algorithm: string } => ({ name, hash: createHash('sha256').update(canon).digest('hex'), algorithm: 'SHA-256' })
  const payload = { files: [digest('.manifest', '{"revision":"h","roots":[""]}'), digest('data.json', '{"x":[1.0]}')], keyid: 'legacy' }
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  const signingInput = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}`
  const token = `${signingInput}.${createHmac('sha256', SECRET).update(signingInput).digest('base64url')}`
  const bytes = await rawTarGz([...files, { name: '/.signatures.json', body: JSON.stringify({ signatures: [token] }) }])
  const b = await readBundle(bytes, undefined, { verification: { keys: { legacy: { key: SECRET, algorithm: 'HS256' } } } })
  t.equal(b.signature?.keyId, 'legacy')
  t.equal(JSON.stringify(b.data), '{"x":[1.0]}', 'data keeps 1.0 as written, as OPA reads it (json.Number)')
})

t.test('rejections', async (t) => {
  const good = await writeBundle(CONTENTS, { key: ec256.privateKey, alg: 'ES256', keyId: 'k1', scope: 'write' })
  const cfg: VerificationConfig = { keys: { k1: { key: ec256.publicKey, algorithm: 'ES256', scope: 'write' } } }
  const parts = await entries(good)
  const sigEntry = parts.find(e => e.name === '/.signatures.json')!
  const token = (JSON.parse(String(sigEntry.body)) as { signatures: string[] }).signatures[0]!
  const withSig = async (tok: string | string[], rest = parts.filter(e => e !== sigEntry)): Promise<Buffer> =>
    await rawTarGz([...rest, { name: '/.signatures.json', body: JSON.stringify({ signatures: Array.isArray(tok) ? tok : [tok] }) }])

  await t.test('bad signature', async (t) => {
    const [h, p, s] = token.split('.')
    const sigBytes = Buffer.from(s!, 'base64url')
    sigBytes[5] = sigBytes[5]! ^ 1
    await rejectsSig(t, await withSig(`${h}.${p}.${sigBytes.toString('base64url')}`), cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /JWT signature is not valid for key "k1"/)
    // Signed by a different key of the right type.
    const other = await writeBundle(CONTENTS, { key: pemKeys('ec').privateKey, alg: 'ES256', keyId: 'k1', scope: 'write' })
    await rejectsSig(t, other, cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /not valid/)
    // Payload swapped under the original signature (e.g. to add a file).
    const forged = Buffer.from(JSON.stringify({ files: [], scope: 'write', keyid: 'k1' })).toString('base64url')
    await rejectsSig(t, await withSig(`${h}.${forged}.${s}`), cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /not valid/)
    // alg confusion: an HS256 token "signed" with the public key text is refused for an ES256 key.
    const hsBundle = await writeBundle(CONTENTS, { key: ec256.publicKey, alg: 'HS256', keyId: 'k1', scope: 'write' })
    await rejectsSig(t, hsBundle, cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /not valid/)
  })

  await t.test('wrong scope', async (t) => {
    const read = await writeBundle(CONTENTS, { key: ec256.privateKey, alg: 'ES256', keyId: 'k1', scope: 'read' })
    await rejectsSig(t, read, cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /scope mismatch: the JWT has "read", expected "write"/)
    const none = await writeBundle(CONTENTS, { key: ec256.privateKey, alg: 'ES256', keyId: 'k1' })
    await rejectsSig(t, none, cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /the JWT has "", expected "write"/)
    // The bundle-level scope overrides the key's.
    await rejectsSig(t, good, { ...cfg, scope: 'admin' }, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /expected "admin"/)
  })

  await t.test('unknown kid', async (t) => {
    const k9 = await writeBundle(CONTENTS, { key: ec256.privateKey, alg: 'ES256', keyId: 'k9', scope: 'write' })
    await rejectsSig(t, k9, cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /unknown key id "k9"/)
    const noKid = await writeBundle(CONTENTS, { key: ec256.privateKey, alg: 'ES256', scope: 'write' })
    await rejectsSig(t, noKid, cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /no key id/)
    // A configured key id takes precedence over the token's kid (OPA's rule), so k9's token verifies with k1 pinned.
    const b = await readBundle(noKid, undefined, { verification: { ...cfg, keyId: 'k1' } })
    t.equal(b.signature?.keyId, 'k1')
  })

  await t.test('extra unsigned file', async (t) => {
    await rejectsSig(t, await withSig(token, [...parts.filter(e => e !== sigEntry), { name: '/authz/extra.rego', body: 'package authz\nallow := true\n' }]),
      cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'authz/extra.rego', /not covered by the bundle signature/)
    // Even a file OPA would ignore (README) must be signed: "nothing extra".
    await rejectsSig(t, await withSig(token, [...parts.filter(e => e !== sigEntry), { name: '/README', body: 'hi' }]),
      cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'README', /not covered/)
    // Unless explicitly excluded.
    const b = await readBundle(await withSig(token, [...parts.filter(e => e !== sigEntry), { name: '/README', body: 'hi' }]), undefined, { verification: { ...cfg, excludeFiles: ['READ*'] } })
    t.ok(b.files.includes('README'))
  })

  await t.test('file listed but missing', async (t) => {
    await rejectsSig(t, await withSig(token, parts.filter(e => e !== sigEntry && e.name !== '/policy.wasm')),
      cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'policy.wasm', /listed in the bundle signature but missing/)
  })

  await t.test('content changed after signing', async (t) => {
    const tampered = parts.filter(e => e !== sigEntry).map(e => e.name === '/data.json' ? { ...e, body: '{"authz":{"admins":["mallory"],"limit":1.5}}' } : e)
    await rejectsSig(t, await withSig(token, tampered), cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'data.json', /digest mismatch/)
    // Reformatting a JSON file does not break its signature (canonical digest).
    const reformatted = parts.filter(e => e !== sigEntry).map(e => e.name === '/data.json' ? { ...e, body: '{\n  "authz": { "limit": 1.5, "admins": [ "alice" ] }\n}\n' } : e)
    t.ok((await readBundle(await withSig(token, reformatted), undefined, { verification: cfg })).signature)
    // But the number literal is part of the digest: 1.50 is not 1.5.
    const renumbered = parts.filter(e => e !== sigEntry).map(e => e.name === '/data.json' ? { ...e, body: '{"authz":{"admins":["alice"],"limit":1.50}}' } : e)
    await rejectsSig(t, await withSig(token, renumbered), cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', 'data.json', /digest mismatch/)
  })

  await t.test('malformed .signatures.json', async (t) => {
    await rejectsSig(t, await withSig([token, token]), cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /expected exactly one/)
    await rejectsSig(t, await withSig([]), cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /missing JWT/)
    await rejectsSig(t, await withSig('a.b'), cfg, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /compact form/)
  })

  await t.test('weak hash algorithms are refused', async (t) => {
    const payload = { files: parts.filter(e => e !== sigEntry).map(e => ({ name: e.name.slice(1), hash: createHash('md5').update(e.body as Buffer).digest('hex'), algorithm: 'MD5' })), keyid: 'h' }
    const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
    const input = `${enc({ alg: 'HS256' })}.${enc(payload)}`
    const tok = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`
    await rejectsSig(t, await withSig(tok), { keys: { h: { key: SECRET, algorithm: 'HS256' } } }, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.manifest', /"MD5" is not accepted/)
  })

  await t.test('unsigned bundle when keys are configured; signed bundle when none are', async (t) => {
    const unsigned = await writeBundle(CONTENTS)
    await rejectsSig(t, unsigned, cfg, 'BOUNCER_ERR_BUNDLE_UNSIGNED', 'archive', /no \.signatures\.json/)
    await rejectsSig(t, good, undefined, 'BOUNCER_ERR_BUNDLE_SIGNATURE', '.signatures.json', /no verification keys are configured/)
    t.ok(await readBundle(good, undefined, { skipVerification: true }), 'loads when verification is explicitly skipped')
  })
})

t.test('bad verification config is refused up front', async (t) => {
  const b = await writeBundle(CONTENTS, { key: SECRET, alg: 'HS256', keyId: 'k' })
  await t.rejects(readBundle(b, undefined, { verification: { keys: { k: { key: 'not a pem', algorithm: 'RS256' } } } }), { code: 'BOUNCER_ERR_BUNDLE_CONFIG', file: 'keys.k.key' })
  await t.rejects(readBundle(b, undefined, { verification: { keys: { k: { key: rsa.publicKey, algorithm: 'ES256' } } } }), { code: 'BOUNCER_ERR_BUNDLE_CONFIG', reason: /rsa key cannot verify ES256/ })
  await t.rejects(readBundle(b, undefined, { verification: { keys: { k: { key: SECRET, algorithm: 'none' as SigningAlgorithm } } } }), { code: 'BOUNCER_ERR_BUNDLE_CONFIG', file: 'keys.k.algorithm' })
  await t.rejects(readBundle(b, undefined, { verification: { keys: {}, keyId: 'k' } }), { code: 'BOUNCER_ERR_BUNDLE_CONFIG', file: 'signing.keyid' })
  await t.rejects(writeBundle(CONTENTS, { key: 'not a pem', alg: 'RS256' }), { code: 'BOUNCER_ERR_BUNDLE_SIGN' })
})

t.test('data.yaml is hashed as the loader reads it: a rewrite that loads other data fails the signature', async (t) => {
  // Hashed through another YAML reading than the loader's, `021` (octal 17 to the loader, as to
  // go-yaml v3) had the digest of the signed `21`, and loaded as 17.
  const { signBundleFiles, packFiles } = await import('../../src/bundle/index.js')
  const verification: VerificationConfig = { keys: { k1: { key: ec256.publicKey, algorithm: 'ES256' } } }
  const signedYaml = 'min_age: 21\nmax_transfer: 1000\nblocked: {"10": true}\nids: [9007199254740992]\nlabel: "1_000"\n'
  const files = new Map<string, Uint8Array>([
    ['.manifest', Buffer.from(JSON.stringify({ revision: 'r1', roots: ['authz'] }))],
    ['authz/data.yaml', Buffer.from(signedYaml)],
  ])
  const sig = await signBundleFiles(files, { key: ec256.privateKey, alg: 'ES256', keyId: 'k1' })
  files.set('.signatures.json', Buffer.from(sig))
  const good = await readBundle(await packFiles(files), undefined, { verification })
  t.same((good.data as any).authz.min_age, 21)
  for (const tampered of [
    'min_age: 021\nmax_transfer: 1000\nblocked: {"10": true}\nids: [9007199254740992]\nlabel: "1_000"\n',
    'min_age: 21\nmax_transfer: 01000\nblocked: {"10": true}\nids: [9007199254740992]\nlabel: "1_000"\n',
    'min_age: 21\nmax_transfer: 1000\nblocked: {010: true}\nids: [9007199254740992]\nlabel: "1_000"\n',
    'min_age: 21\nmax_transfer: 1000\nblocked: {"10": true}\nids: [9007199254740993]\nlabel: "1_000"\n',
    'min_age: 21\nmax_transfer: 1000\nblocked: {"10": true}\nids: [9007199254740992]\nlabel: 1_000\n',
  ]) {
    const evil = new Map(files)
    evil.set('authz/data.yaml', Buffer.from(tampered))
    const err = await readBundle(await packFiles(evil), undefined, { verification }).then(() => null, (e: unknown) => e)
    t.ok(err instanceof BundleError && err.code === 'BOUNCER_ERR_BUNDLE_SIGNATURE', `refused: ${tampered.split('\n').find((l, i) => l !== signedYaml.split('\n')[i])}`)
  }
  // JSON in a data.yaml: its number literals count, and a BOM (which the loader skips) does not.
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"tier": 1}')])
  t.equal(fileDigest('a/data.yaml', bom, 'sha256'), fileDigest('a/data.yaml', Buffer.from('{"tier": 1}'), 'sha256'))
  t.not(fileDigest('a/data.yaml', Buffer.concat([bom.subarray(0, 3), Buffer.from('{"tier": 1.0}')]), 'sha256'), fileDigest('a/data.yaml', Buffer.from('{"tier": 1}'), 'sha256'))
})

t.test('compareUtf8 orders as UTF-8 bytes do, without allocating per comparison', async (t) => {
  const { compareUtf8 } = await import('../../src/bundle/canonical.js')
  const alphabet = ['a', 'B', '~', '\u00e9', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\ud800\udc00', '\udbff\udfff', '\ud83d\ude00', '\ud800', '\udc00', '']
  let seed = 7
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  const word = (): string => Array.from({ length: rnd(4) }, () => alphabet[rnd(alphabet.length)]).join('')
  for (let i = 0; i < 5000; i++) {
    const a = word(); const b = word()
    const want = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
    const got = Math.sign(compareUtf8(a, b))
    if (got !== want) { t.fail(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: ${got}, UTF-8 bytes say ${want}`); return }
  }
  t.pass('5000 random pairs agree with Buffer.compare of their UTF-8')
})

t.test('HMAC keys shorter than 32 bytes are refused for verifying and for signing', async (t) => {
  const { prepareVerification } = await import('../../src/bundle/index.js')
  for (const key of ['a', 'x'.repeat(31)]) {
    t.throws(() => prepareVerification({ keys: { k1: { key, algorithm: 'HS256' } } }), /keys\.k1\.key.*at least 32 bytes/)
    await t.rejects(writeBundle(CONTENTS, { key, alg: 'HS256', keyId: 'k1' }), /HMAC signing key must be at least 32 bytes/)
  }
  t.doesNotThrow(() => prepareVerification({ keys: { k1: { key: 'x'.repeat(32), algorithm: 'HS256' } } }))
})
