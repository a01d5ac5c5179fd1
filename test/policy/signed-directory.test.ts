// A bundle directory as policy.path is held to bundles.signing's keys as an archive is (review
// helper, 2026-12-07): with keys set it was compiled unverified, so a changed data.json or an
// added .rego in the directory was enforced. OPA verifies a directory given with -b the same
// way it verifies an archive.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { extractFiles, writeBundle } from '../../src/bundle/index.js'
import { loadPolicyFromPath } from '../../src/policy/load.js'
import { pemKeys } from './bundle/helpers.js'

const rsa = pemKeys('rsa')
const KEYS = { keys: { k1: { key: rsa.publicKey, algorithm: 'RS256' as const } } }
const EP = 'authz/allow'
const REGO = 'package authz\n\ndefault allow := false\n\nallow if data.authz.cfg.open == true\n'

/** A signed bundle (Rego and data, no Wasm) unpacked into a new directory. */
async function signedDir (): Promise<string> {
  const bytes = await writeBundle({
    manifest: { revision: 'r1', roots: ['authz'] },
    data: { authz: { cfg: { open: false } } },
    rego: [{ path: 'authz/p.rego', source: REGO }],
  }, { key: rsa.privateKey, alg: 'RS256', keyId: 'k1' })
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-signed-dir-'))
  for (const [name, body] of await extractFiles(bytes, undefined, 'test')) {
    const file = path.join(dir, name)
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, body)
  }
  return dir
}

t.test('with signing keys, a bundle directory loads only as it was signed', async t => {
  const dir = await signedDir()
  const ok = await loadPolicyFromPath(dir, EP, { verification: KEYS })
  t.same(ok.evaluate({}), false, 'the signed directory loads, its data as signed')

  const changed = await signedDir()
  writeFileSync(path.join(changed, 'data.json'), JSON.stringify({ authz: { cfg: { open: true } } }))
  await t.rejects(loadPolicyFromPath(changed, EP, { verification: KEYS }), /data\.json/, 'a changed data.json is refused')

  const added = await signedDir()
  writeFileSync(path.join(added, 'authz', 'extra.rego'), 'package authz.extra\n\nx := 1\n')
  await t.rejects(loadPolicyFromPath(added, EP, { verification: KEYS }), /extra\.rego/, 'an unsigned .rego is refused')

  const plain = mkdtempSync(path.join(tmpdir(), 'bouncer-plain-dir-'))
  writeFileSync(path.join(plain, 'p.rego'), REGO)
  await t.rejects(loadPolicyFromPath(plain, EP, { verification: KEYS }), /signature/i, 'an unsigned directory is refused when keys are set')

  const linked = await signedDir()
  symlinkSync('/etc/hostname', path.join(linked, 'authz', 'link.rego'))
  await t.rejects(loadPolicyFromPath(linked, EP, { verification: KEYS }), /not a regular file/, 'a symlink is refused')
})

t.test('without keys, a signed directory is refused as a signed archive is; a plain one loads', async t => {
  const dir = await signedDir()
  await t.rejects(loadPolicyFromPath(dir, EP), /signature|signed/i)
  const plain = mkdtempSync(path.join(tmpdir(), 'bouncer-plain-dir-'))
  writeFileSync(path.join(plain, 'p.rego'), REGO)
  writeFileSync(path.join(plain, 'data.json'), JSON.stringify({ authz: { cfg: { open: true } } }))
  const p = await loadPolicyFromPath(plain, EP)
  t.same(p.evaluate({}), true)
})

t.test('files exclude_files leaves out, that the loader never reads, are not read at all (a .git directory)', async (t) => {
  const dir = await signedDir()
  mkdirSync(path.join(dir, '.git', 'objects'), { recursive: true })
  writeFileSync(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n')
  // A FIFO: reading it would block for good (and it is no regular file), so it must be skipped unread.
  execFileSync('mkfifo', [path.join(dir, '.git', 'objects', 'pack')])
  const keys = { ...KEYS, excludeFiles: ['.git/HEAD', '.git/objects/*'] }
  const p = await loadPolicyFromPath(dir, EP, { verification: keys })
  t.same(p.evaluate({}), false, 'loaded, the excluded files unread')
  await t.rejects(loadPolicyFromPath(dir, EP, { verification: KEYS }), /not a regular file|not covered/, 'without exclude_files they are refused, as OPA refuses them')
})

t.test('exclude_files leaves files out of verification, never out of the policy (review helper)', async (t) => {
  // A glob's * also matched the directory's own name, and the whole directory went unread.
  const dir = await signedDir()
  mkdirSync(path.join(dir, 'authz', 'rules'))
  writeFileSync(path.join(dir, 'authz', 'rules', 'deny.rego'), 'package authz.rules\n\ndeny contains "blocked" if input.user == "mallory"\n')
  const p = await loadPolicyFromPath(dir, 'authz', { verification: { ...KEYS, excludeFiles: ['authz/rules/*'] } })
  t.match(p.evaluate({ user: 'mallory' }), { allow: false, rules: { deny: ['blocked'] } }, 'the excluded .rego is loaded, as OPA loads it')
  // patch.json is read (to refuse a delta bundle) even when excluded.
  const delta = await signedDir()
  writeFileSync(path.join(delta, 'patch.json'), '{"data": []}')
  await t.rejects(loadPolicyFromPath(delta, EP, { verification: { ...KEYS, excludeFiles: ['patch.json'] } }), /delta bundles are not supported/)
})
