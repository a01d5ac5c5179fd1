// The bundle format: what writeBundle produces, what readBundle accepts, and every hostile
// or inconsistent archive it must refuse — each with a BundleError naming file and reason.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import * as tar from 'tar'
import { BundleError, readBundle, writeBundle, type BundleErrorCode, type BundleLimits } from '../../src/bundle/index.js'
import { gzipZeros, rawTarGz, ustarHeader } from '../policy/bundle/helpers.js'

const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0xde, 0xad])
const MANIFEST = JSON.stringify({ revision: 'r1', roots: ['authz'], wasm: [{ entrypoint: 'authz/allow', module: '/policy.wasm' }] })

/** Asserts readBundle rejects with `code`, and that the error names `file` and mentions `reason`. */
async function rejects (t: Tap, bytes: Buffer, code: BundleErrorCode, file: string | RegExp, reason: RegExp, limits?: BundleLimits): Promise<BundleError> {
  let err: unknown
  try {
    await readBundle(bytes, limits)
  } catch (e) {
    err = e
  }
  t.ok(err instanceof BundleError, `rejected with a BundleError (got ${String(err)})`)
  const be = err as BundleError
  t.equal(be.code, code, 'error code')
  if (typeof file === 'string') t.equal(be.file, file, 'names the file')
  else t.match(be.file, file, 'names the file')
  t.match(be.reason, reason, 'gives the reason')
  t.ok(be.message.includes(be.file) && be.message.includes(be.reason), 'message carries file and reason')
  return be
}
type Tap = Test

t.test('writeBundle → readBundle round trip keeps manifest, wasm, data and rego', async (t) => {
  const bytes = await writeBundle({
    manifest: { revision: 'rev-7', roots: ['authz', 'roles'], wasm: [{ entrypoint: 'authz/allow', module: 'policy.wasm' }], metadata: { built_by: 'test' } },
    wasm: WASM,
    data: { roles: { admin: ['alice'] }, authz: { limits: { max: 3 } } },
    rego: [{ path: 'authz/policy.rego', source: 'package authz\n\nallow if input.user == "alice"\n' }]
  })
  const b = await readBundle(bytes)
  t.same(b.manifest, { revision: 'rev-7', roots: ['authz', 'roles'], wasm: [{ entrypoint: 'authz/allow', module: '/policy.wasm' }], metadata: { built_by: 'test' } },
    'module path normalised to OPA\'s leading-slash form')
  t.same(Buffer.from(b.wasm!), WASM)
  t.same(b.data, { roles: { admin: ['alice'] }, authz: { limits: { max: 3 } } })
  t.same(b.rego, [{ path: 'authz/policy.rego', source: 'package authz\n\nallow if input.user == "alice"\n' }])
  t.same(b.files, ['.manifest', 'authz/policy.rego', 'data.json', 'policy.wasm'])
  t.same(b.wasmModules.map(m => [m.path, m.entrypoints]), [['/policy.wasm', ['authz/allow']]])
  t.equal(b.signature, undefined, 'unsigned')
  // Reproducible: same input, same bytes (fixed mtimes, sorted entries).
  const again = await writeBundle({
    manifest: { revision: 'rev-7', roots: ['authz', 'roles'], wasm: [{ entrypoint: 'authz/allow', module: 'policy.wasm' }], metadata: { built_by: 'test' } },
    wasm: WASM,
    data: { roles: { admin: ['alice'] }, authz: { limits: { max: 3 } } },
    rego: [{ path: 'authz/policy.rego', source: 'package authz\n\nallow if input.user == "alice"\n' }]
  })
  t.ok(again.equals(bytes), 'byte-identical output')
})

t.test('writer uses OPA entry names (leading slash) so OPA tooling reads it', async (t) => {
  const bytes = await writeBundle({ manifest: { revision: 'x', roots: [''] }, wasm: WASM, data: {} })
  const names: string[] = []
  const dir = mkdtempSync(join(tmpdir(), 'bundle-names-'))
  writeFileSync(join(dir, 'b.tar.gz'), bytes)
  await tar.t({ file: join(dir, 'b.tar.gz'), onReadEntry: (e) => { names.push(e.path) } })
  t.same(names.sort(), ['/.manifest', '/data.json', '/policy.wasm'])
})

t.test('OPA layout: data.json / data.yaml placed by directory, root data merged, ./ and / prefixes', async (t) => {
  const bytes = await rawTarGz([
    { name: '/.manifest', body: JSON.stringify({ revision: 'opa-1', roots: ['roles', 'http/example/authz'], wasm: [{ entrypoint: 'http/example/authz/allow', module: '/policy.wasm' }] }) },
    { name: '/data.json', body: '{"roles": {"global": true}}' },
    { name: 'roles/', type: 'directory' },
    { name: 'roles/bindings/data.json', body: '[{"user": "alice", "role": "admin"}]' },
    { name: './roles/permissions/data.yaml', body: 'admin:\n  - read\n  - write\n' },
    { name: '/http/example/authz/authz.rego', body: 'package http.example.authz\n\nallow := true\n' },
    { name: '/policy.wasm', body: WASM },
    { name: '/README.md', body: 'ignored, but listed' }
  ])
  const b = await readBundle(bytes)
  t.same(b.data, { roles: { global: true, bindings: [{ user: 'alice', role: 'admin' }], permissions: { admin: ['read', 'write'] } } })
  t.same(b.files, ['.manifest', 'README.md', 'data.json', 'http/example/authz/authz.rego', 'policy.wasm', 'roles/bindings/data.json', 'roles/permissions/data.yaml'])
  t.equal(b.manifest.revision, 'opa-1')
})

t.test('archives made by GNU tar and node-tar (long names via pax / GNU headers) load', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-gnutar-'))
  const src = join(dir, 'src')
  const deep = join(src, 'a'.repeat(60), 'b'.repeat(60))
  mkdirSync(deep, { recursive: true })
  writeFileSync(join(src, '.manifest'), JSON.stringify({ revision: 'gnu', roots: [''] }))
  writeFileSync(join(deep, 'data.json'), '{"deep": 1}')
  writeFileSync(join(src, 'policy.wasm'), WASM)
  // The system tar writes "./"-prefixed names, directory entries and a >100-char path.
  execFileSync('tar', ['-czf', join(dir, 'gnu.tar.gz'), '-C', src, '.'])
  const g = await readBundle(readFileSync(join(dir, 'gnu.tar.gz')))
  t.same(g.data, { ['a'.repeat(60)]: { ['b'.repeat(60)]: { deep: 1 } } }, 'GNU tar long name')
  await tar.c({ gzip: true, file: join(dir, 'node.tar.gz'), cwd: src, portable: true }, ['.manifest', 'policy.wasm', `${'a'.repeat(60)}/${'b'.repeat(60)}/data.json`])
  const n = await readBundle(readFileSync(join(dir, 'node.tar.gz')))
  t.same(n.data, g.data, 'node-tar pax long name')
})

t.test('corrupt gzip is rejected', async (t) => {
  const good = await writeBundle({ manifest: { revision: 'x', roots: [''] }, data: { a: 1 } })
  const flipped = Buffer.from(good)
  flipped[20] = flipped[20]! ^ 0xff
  flipped[30] = flipped[30]! ^ 0xff
  await rejects(t, flipped, 'BOUNCER_ERR_BUNDLE_GZIP', 'archive', /./)
  await rejects(t, Buffer.from('<html>502 Bad Gateway</html>'), 'BOUNCER_ERR_BUNDLE_GZIP', 'archive', /incorrect header check/)
  await rejects(t, good.subarray(0, good.length - 12), 'BOUNCER_ERR_BUNDLE_GZIP', 'archive', /unexpected end of file/)
  await rejects(t, Buffer.alloc(0), 'BOUNCER_ERR_BUNDLE_GZIP', 'archive', /unexpected end of file|empty input/)
})

t.test('truncated tar (valid gzip around a cut archive) is rejected', async (t) => {
  const full = await rawTarGz([{ name: '/.manifest', body: MANIFEST }, { name: '/data.json', body: JSON.stringify({ authz: { x: 'y'.repeat(3000) } }) }])
  const { gunzipSync } = await import('node:zlib')
  const tarBytes = gunzipSync(full)
  // Cut in the middle of data.json's body.
  await rejects(t, gzipSync(tarBytes.subarray(0, 1024 + 512 + 1000)), 'BOUNCER_ERR_BUNDLE_TAR', 'archive', /truncated inside "\/data.json"/)
  // Cut inside a header.
  await rejects(t, gzipSync(tarBytes.subarray(0, 1024 + 100)), 'BOUNCER_ERR_BUNDLE_TAR', 'archive', /truncated inside an entry header/)
  // Garbage where a header should be.
  await rejects(t, gzipSync(Buffer.concat([Buffer.from('x'.repeat(512))])), 'BOUNCER_ERR_BUNDLE_TAR', 'archive', /checksum/)
})

t.test('../, absolute and other unsafe paths are rejected', async (t) => {
  for (const [name, reason] of [
    ['../../etc/cron.d/evil', /escapes the bundle root/],
    ['/authz/../../x.rego', /escapes the bundle root/],
    ['//etc/passwd', /absolute path/],
    ['C:/Windows/evil.rego', /absolute Windows path/],
    ['authz\\..\\evil.rego', /backslash/],
    ['authz//x.rego', /empty or "\." segment/]
  ] as const) {
    const bytes = await rawTarGz([{ name: '/.manifest', body: MANIFEST }, { name, body: 'package authz' }])
    await rejects(t, bytes, 'BOUNCER_ERR_BUNDLE_UNSAFE_PATH', JSON.stringify(name), reason)
  }
  // A directory entry cannot smuggle ../ either.
  await rejects(t, await rawTarGz([{ name: '../up/', type: 'directory' }]), 'BOUNCER_ERR_BUNDLE_UNSAFE_PATH', '"../up/"', /escapes/)
  // Nor bytes: a directory that declares a body could make the reader inflate it unseen.
  const dirWithBody = gzipSync(Buffer.concat([ustarHeader('authz/', 4096, '5'), Buffer.alloc(4096, 0x41), Buffer.alloc(1024)]))
  await rejects(t, dirWithBody, 'BOUNCER_ERR_BUNDLE_ENTRY_TYPE', '"authz/"', /directory entry declares 4096 bytes; a directory has none/)
})

t.test('symlinks, hardlinks, devices and fifos are rejected', async (t) => {
  const cases: [string, RawType, RegExp][] = [
    ['data.json', 'symlink', /symlink -> \/etc\/passwd/],
    ['policy.wasm', 'link', /link -> data.json/],
    ['dev', 'character-device', /character-device/],
    ['blk', 'block-device', /block-device/],
    ['pipe', 'fifo', /fifo/]
  ]
  for (const [name, type, reason] of cases) {
    const linkname = type === 'symlink' ? '/etc/passwd' : type === 'link' ? 'data.json' : undefined
    const bytes = await rawTarGz([{ name: '/.manifest', body: MANIFEST }, { name, type, ...(linkname === undefined ? {} : { linkname }) }])
    await rejects(t, bytes, 'BOUNCER_ERR_BUNDLE_ENTRY_TYPE', JSON.stringify(name), reason)
  }
  // Unknown type flags (here GNU sparse 'S') are refused rather than guessed at.
  const sparse = gzipSync(Buffer.concat([ustarHeader('data.json', 0, 'S'), Buffer.alloc(1024)]))
  await rejects(t, sparse, 'BOUNCER_ERR_BUNDLE_ENTRY_TYPE', '"data.json"', /unknown\("S"\)/)
})
type RawType = 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo'

// Entries Go's archive/tar (OPA's reader) names or types otherwise than we did (review helper,
// 2026-12-07): OPA skipped them or saw another name, we loaded them as data.json / p.rego.
t.test('entries OPA would not read as the file they seem to be are refused', async (t) => {
  const entry = (header: Buffer, body: string): Buffer => {
    const data = Buffer.from(body)
    return Buffer.concat([header, data, Buffer.alloc((512 - data.length % 512) % 512)])
  }
  const end = Buffer.alloc(1024)
  // A contiguous file (type 7): OPA's loader keeps only regular files.
  const contiguous = gzipSync(Buffer.concat([entry(ustarHeader('data.json', 2, '7'), '{}'), end]))
  await rejects(t, contiguous, 'BOUNCER_ERR_BUNDLE_ENTRY_TYPE', '"data.json"', /contiguous-file/)
  // A regular file named with a trailing slash is "data.json/" to OPA, not data.json.
  const slash = gzipSync(Buffer.concat([entry(ustarHeader('data.json/', 2, '0'), '{}'), end]))
  await rejects(t, slash, 'BOUNCER_ERR_BUNDLE_ENTRY_TYPE', '"data.json/"', /name ends in "\/"/)
  // An old-style entry (no type) with a trailing slash is a directory, as Go reads it: its bytes are refused.
  const old = gzipSync(Buffer.concat([entry(ustarHeader('data.json/', 2, '\0'), '{}'), end]))
  await rejects(t, old, 'BOUNCER_ERR_BUNDLE_ENTRY_TYPE', '"data.json/"', /directory entry declares 2 bytes/)
  // A GNU long name and a pax path on one entry: Go takes the long name, others the pax path.
  const long = Buffer.from('zzz.txt')
  const pax = Buffer.from('18 path=data.json\n')
  const both = gzipSync(Buffer.concat([
    entry(ustarHeader('././@LongLink', long.length, 'L'), long.toString()),
    entry(ustarHeader('PaxHeader', pax.length, 'x'), pax.toString()),
    entry(ustarHeader('x', 2, '0'), '{}'), end,
  ]))
  await rejects(t, both, 'BOUNCER_ERR_BUNDLE_TAR', 'archive', /both a GNU long name and a pax path/)
})

t.test('duplicate entries are rejected (a signature could cover the other copy)', async (t) => {
  const bytes = await rawTarGz([{ name: '/data.json', body: '{}' }, { name: 'data.json', body: '{"evil": 1}' }])
  await rejects(t, bytes, 'BOUNCER_ERR_BUNDLE_DUPLICATE_ENTRY', 'data.json', /unique/)
})

t.test('a 1 GiB decompression bomb is rejected quickly without being inflated', async (t) => {
  const GiB = 1024 * 1024 * 1024
  // (1) One entry declaring 1 GiB of zeros: refused from its header.
  const bomb = await gzipZeros(ustarHeader('data.json', GiB), GiB)
  t.ok(bomb.length < 8 * 1024 * 1024, `bomb is small on the wire (${bomb.length} bytes)`)
  const heapBefore = process.memoryUsage().heapUsed
  let start = performance.now()
  await rejects(t, bomb, 'BOUNCER_ERR_BUNDLE_TOO_LARGE', 'data.json', /declared size 1073741824 exceeds max_file_bytes/)
  const ms1 = performance.now() - start
  t.ok(ms1 < 500, `header bomb rejected in ${ms1.toFixed(1)} ms`)
  t.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'no large allocation')

  // (2) Many entries each under the per-file limit: refused at the total budget, after
  //     inflating only about that budget, not the gigabyte.
  const entry = 512 * 1024
  const parts: Buffer[] = []
  for (let i = 0; i < 24; i++) parts.push(ustarHeader(`d${i}/data.json`, entry), Buffer.alloc(entry))
  start = performance.now()
  const many = await gzipZeros(Buffer.concat(parts), GiB)
  const limits = { maxFileBytes: 1024 * 1024, maxTotalBytes: 8 * 1024 * 1024 }
  start = performance.now()
  await rejects(t, many, 'BOUNCER_ERR_BUNDLE_TOO_LARGE', 'd16/data.json', /would exceed max_total_bytes \(8388608\)/, limits)
  const ms2 = performance.now() - start
  t.ok(ms2 < 1000, `multi-entry bomb rejected in ${ms2.toFixed(1)} ms`)

  // (3) Pure zeros (no tar structure): the first zero block ends the archive, nothing more
  //     is inflated, and an archive with no files is refused.
  const zeros = await gzipZeros(Buffer.alloc(0), GiB)
  start = performance.now()
  await rejects(t, zeros, 'BOUNCER_ERR_BUNDLE_TAR', 'archive', /no files/)
  const ms3 = performance.now() - start
  t.ok(ms3 < 500, `zero bomb rejected in ${ms3.toFixed(1)} ms`)
  t.comment(`1 GiB bombs rejected in ${ms1.toFixed(1)} / ${ms2.toFixed(1)} / ${ms3.toFixed(1)} ms`)
})

t.test('per-file, total, entry-count and compressed-size limits', async (t) => {
  const big = await rawTarGz([{ name: '/data.json', body: JSON.stringify({ a: 'x'.repeat(5000) }) }])
  await rejects(t, big, 'BOUNCER_ERR_BUNDLE_TOO_LARGE', 'data.json', /max_file_bytes \(4096\)/, { maxFileBytes: 4096 })
  const two = await rawTarGz([{ name: '/a/data.json', body: 'x'.repeat(3000) }, { name: '/b/data.json', body: 'y'.repeat(3000) }])
  await rejects(t, two, 'BOUNCER_ERR_BUNDLE_TOO_LARGE', 'b/data.json', /max_total_bytes \(5000\)/, { maxTotalBytes: 5000 })
  const many = await rawTarGz(Array.from({ length: 5 }, (_, i) => ({ name: `/d${i}/data.json`, body: '1' })))
  await rejects(t, many, 'BOUNCER_ERR_BUNDLE_TOO_LARGE', 'archive', /max_entries \(3\)/, { maxEntries: 3 })
  await rejects(t, big, 'BOUNCER_ERR_BUNDLE_TOO_LARGE', 'archive', /max_compressed_bytes \(50\)/, { maxCompressedBytes: 50 })
})

t.test('manifest roots that overlap are rejected', async (t) => {
  const bytes = await rawTarGz([{ name: '/.manifest', body: JSON.stringify({ revision: 'x', roots: ['a/b', 'c', 'a'] }) }, { name: '/data.json', body: '{}' }])
  await rejects(t, bytes, 'BOUNCER_ERR_BUNDLE_ROOTS_OVERLAP', '.manifest', /"a\/b" and "a"/)
  // Segment-wise, not string prefixes: "ab" and "a" do not overlap.
  const ok = await rawTarGz([{ name: '/.manifest', body: JSON.stringify({ revision: 'x', roots: ['ab', 'a'] }) }, { name: '/data.json', body: '{}' }])
  t.same((await readBundle(ok)).manifest.roots, ['ab', 'a'])
  // The writer refuses to produce such a bundle at all.
  await t.rejects(writeBundle({ manifest: { revision: 'x', roots: ['a', 'a/b'] } }), { code: 'BOUNCER_ERR_BUNDLE_ROOTS_OVERLAP' })
})

t.test('a wasm entrypoint naming a missing module is rejected', async (t) => {
  const bytes = await rawTarGz([
    { name: '/.manifest', body: JSON.stringify({ revision: 'x', roots: ['authz'], wasm: [{ entrypoint: 'authz/allow', module: '/policies/policy.wasm' }] }) },
    { name: '/policy.wasm', body: WASM }
  ])
  await rejects(t, bytes, 'BOUNCER_ERR_BUNDLE_WASM_MODULE', 'policies/policy.wasm', /maps entrypoint "authz\/allow" to it but the bundle has no such file/)
  const outside = await rawTarGz([
    { name: '/.manifest', body: JSON.stringify({ revision: 'x', roots: ['authz'], wasm: [{ entrypoint: 'other/allow', module: '/policy.wasm' }] }) },
    { name: '/policy.wasm', body: WASM }
  ])
  await rejects(t, outside, 'BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS', '.manifest', /entrypoint "other\/allow"/)
  const two = await rawTarGz([{ name: '/policy.wasm', body: WASM }, { name: '/x/policy.wasm', body: WASM }])
  await rejects(t, two, 'BOUNCER_ERR_BUNDLE_WASM_MODULE', 'policy.wasm, x/policy.wasm', /more than one Wasm module/)
})

t.test('data and packages outside the declared roots are rejected', async (t) => {
  const m = { name: '/.manifest', body: JSON.stringify({ revision: 'x', roots: ['authz/policy', 'roles'] }) }
  await rejects(t, await rawTarGz([m, { name: '/data.json', body: '{"authz": {"policy": {"ok": 1}, "secrets": 1}}' }]),
    'BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS', 'data.json', /data at \/authz\/secrets/)
  await rejects(t, await rawTarGz([m, { name: '/users/data.json', body: '{"alice": 1}' }]),
    'BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS', 'users/data.json', /data at \/users/)
  // Data exactly along the roots is fine.
  const ok = await readBundle(await rawTarGz([m, { name: '/data.json', body: '{"authz": {"policy": {"ok": 1}}}' }, { name: '/roles/data.json', body: '[1]' }]))
  t.same(ok.data, { authz: { policy: { ok: 1 } }, roles: [1] })
})

t.test('bad data and manifests are rejected with the file named', async (t) => {
  await rejects(t, await rawTarGz([{ name: '/a/data.json', body: '{"x": ' }]), 'BOUNCER_ERR_BUNDLE_DATA', 'a/data.json', /JSON/)
  await rejects(t, await rawTarGz([{ name: '/data.json', body: '[1, 2]' }]), 'BOUNCER_ERR_BUNDLE_DATA', 'data.json', /must be a JSON object/)
  await rejects(t, await rawTarGz([{ name: '/a/data.yaml', body: 'a: [1,\n' }]), 'BOUNCER_ERR_BUNDLE_DATA', 'a/data.yaml', /./)
  await rejects(t, await rawTarGz([{ name: '/data.json', body: '{"a": {"b": 1}}' }, { name: '/a/b/data.json', body: '2' }]),
    'BOUNCER_ERR_BUNDLE_DATA', 'a/b/data.json', /conflicts with another data file at \/a\/b/)
  await rejects(t, await rawTarGz([{ name: '/.manifest', body: '{"revision": 5}' }]), 'BOUNCER_ERR_BUNDLE_MANIFEST', '.manifest', /"revision" must be a string/)
  await rejects(t, await rawTarGz([{ name: '/.manifest', body: 'nope' }]), 'BOUNCER_ERR_BUNDLE_MANIFEST', '.manifest', /JSON/)
  await rejects(t, await rawTarGz([{ name: '/patch.json', body: '{"data": []}' }]), 'BOUNCER_ERR_BUNDLE_UNSUPPORTED', 'patch.json', /delta bundles/)
})

t.test('a data key named __proto__ stays data', async (t) => {
  const b = await readBundle(await rawTarGz([{ name: '/__proto__/data.json', body: '{"polluted": true}' }, { name: '/data.json', body: '{"__proto__": {"x": 1}}' }]))
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
  t.same(Object.keys(b.data), ['__proto__'])
  t.same(JSON.parse(JSON.stringify(b.data)), JSON.parse('{"__proto__": {"x": 1, "polluted": true}}'))
})

t.test('extended headers are bounded per entry: a run of small pax headers is refused, not parsed for minutes', async (t) => {
  // Each pax header merged into the last by copying it made a run of N headers cost N² before
  // any entry (or signature) was seen: 2,000 headers of 512 bytes took ~2 minutes.
  let key = 0
  const paxBody = (): Buffer => {
    let s = ''
    for (;;) {
      const kv = `k${(key).toString(36)}=`
      const rec = `${String(kv.length + 4).length + 1 + kv.length + 1} ${kv}\n`
      if (s.length + rec.length > 512) return Buffer.from(s)
      key++; s += rec
    }
  }
  const run = (n: number): Buffer => {
    const blocks: Buffer[] = []
    for (let i = 0; i < n; i++) { const b = paxBody(); blocks.push(ustarHeader('P', b.length, 'x'), b, Buffer.alloc((512 - b.length % 512) % 512)) }
    blocks.push(ustarHeader('data.json', 2), Buffer.from('{}'), Buffer.alloc(510), Buffer.alloc(1024))
    return gzipSync(Buffer.concat(blocks))
  }
  await rejects(t, run(2100), 'BOUNCER_ERR_BUNDLE_TAR', 'archive', /extended headers of more than 1048576 bytes for one entry/)
  const ok = await readBundle(run(50))
  t.same(ok.files, ['data.json'], 'a short run (keys it does not use) still reads')
})

t.test('a zero block followed by more entries is refused (as Go\'s archive/tar, so OPA, refuses it); one or two zero blocks end the archive', async (t) => {
  const entry = (name: string, body: string): Buffer => {
    const data = Buffer.from(body)
    return Buffer.concat([ustarHeader(name, data.length), data, Buffer.alloc((512 - data.length % 512) % 512)])
  }
  const manifest = entry('/.manifest', JSON.stringify({ revision: 'r1', roots: ['authz'] }))
  const data = entry('/data.json', '{"authz":{"x":"y"}}')
  const hidden = entry('/x/data.json', '{"hidden":true}')
  const zero = Buffer.alloc(512)
  await rejects(t, gzipSync(Buffer.concat([manifest, data, zero, hidden, zero, zero])), 'BOUNCER_ERR_BUNDLE_TAR', 'archive', /zero block followed by data/)
  for (const [what, end] of [['two zero blocks', Buffer.concat([zero, zero])], ['one, then the end', zero], ['two, then zero padding and anything', Buffer.concat([zero, zero, zero, Buffer.from('x'.repeat(512))])]] as const) {
    const b = await readBundle(gzipSync(Buffer.concat([manifest, data, end])))
    t.same(b.data, { authz: { x: 'y' } }, what)
  }
})
