// Regression: a policy whose decision depends on the clock must never be cached by default,
// however it is loaded. io.jwt.decode_verify checks exp/nbf against the current time: a
// cached allow would outlive the token by up to cache.ttl.allow_seconds. Before the builtin
// table, `bouncer build` wrote `nondeterministic: false` for it (its list had 5 names) and
// the loader trusted the manifest over the module, so the bundle was cacheable while the
// same Rego loaded from a directory was not.
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { SignJWT } from 'jose'
import { ttlFor } from '../../src/cache/index.js'
import { compileBundle } from '../../src/compiler/bundle/index.js'
import { BOUNCER_METADATA_KEY, writeBundle, type BouncerBundleMetadata } from '../../src/bundle/index.js'
import { loadPolicyFromPath, type LoadedPolicy } from '../../src/policy/load.js'

const SECRET = 'test-secret-0123456789'
const JWT_POLICY = `package bouncer

decision := {"allow": valid} if {
	[valid, _, _] := io.jwt.decode_verify(input.token, {"secret": "${SECRET}"})
}
`
const PURE_POLICY = `package bouncer

decision := {"allow": payload.sub == "alice"} if {
	[_, payload, _] := io.jwt.decode(input.token)
}
`
const TTL = { allowSeconds: 300, denySeconds: 5 }
const EP = 'bouncer/decision'

async function token (expSeconds: number): Promise<string> {
  return await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + expSeconds).sign(new TextEncoder().encode(SECRET))
}

/** The TTL the proxy would give this policy's decision (src/index.ts wires it this way). */
function ttl (p: LoadedPolicy, decision: unknown): number {
  return ttlFor(decision, TTL, { nondeterministic: !p.cacheable })
}

async function build (source: string): Promise<{ dir: string; bundle: string; meta: BouncerBundleMetadata; b: Awaited<ReturnType<typeof compileBundle>> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-nd-'))
  writeFileSync(path.join(dir, 'policy.rego'), source)
  const b = await compileBundle({ paths: [dir], entrypoints: [EP], revision: 'r1' })
  const bundle = path.join(dir, 'bundle.tar.gz')
  writeFileSync(bundle, b.tarGz)
  return { dir, bundle, meta: b.manifest.metadata![BOUNCER_METADATA_KEY] as BouncerBundleMetadata, b }
}

t.test('io.jwt.decode_verify: not cacheable from a directory nor from a `bouncer build` bundle', async t => {
  const { dir, bundle, meta } = await build(JWT_POLICY)
  t.equal(meta.entrypoints[EP].nondeterministic, true, 'the manifest records it')
  t.ok(meta.entrypoints[EP].builtins.includes('io.jwt.decode_verify'))

  const good = await token(60)
  for (const [how, p] of [['directory', await loadPolicyFromPath(dir, EP)], ['bundle', await loadPolicyFromPath(bundle, EP)]] as const) {
    t.equal(p.cacheable, false, `${how}: not cacheable`)
    const d = p.evaluate({ token: good })
    t.same(d, { allow: true }, `${how}: the token is valid now`)
    t.equal(ttl(p, d), 0, `${how}: the allow is not cached`)
    t.same(p.evaluate({ token: await token(-60) }), { allow: false }, `${how}: an expired token is refused`)
  }
})

t.test('a stale or wrong manifest cannot make it cacheable: manifest and module facts combine with OR', async t => {
  const { dir, b } = await build(JWT_POLICY)
  const rewrite = async (name: string, facts: Record<string, unknown>): Promise<string> => {
    const manifest = { ...b.manifest, metadata: { [BOUNCER_METADATA_KEY]: { compiler: 'bouncer', entrypoints: { [EP]: facts } } } }
    const file = path.join(dir, name)
    writeFileSync(file, await writeBundle({ manifest, wasm: b.wasm, data: b.data }))
    return file
  }
  // What the previous compiler wrote: its own list did not include decode_verify.
  const stale = await rewrite('stale.tar.gz', { input_paths: [['token']], nondeterministic: false, builtins: ['io.jwt.decode_verify'] })
  t.equal((await loadPolicyFromPath(stale, EP)).cacheable, false, 'the recorded builtin list is checked against the table')
  // A manifest that says nothing useful: the module's imports still decide.
  const silent = await rewrite('silent.tar.gz', { input_paths: [['token']], nondeterministic: false, builtins: [] })
  t.equal((await loadPolicyFromPath(silent, EP)).cacheable, false, 'the module imports io.jwt.decode_verify')
  const none = path.join(dir, 'plain.tar.gz')
  writeFileSync(none, await writeBundle({ manifest: { revision: 'r', roots: [''], wasm: [{ entrypoint: EP, module: '/policy.wasm' }] }, wasm: b.wasm, data: {} }))
  t.equal((await loadPolicyFromPath(none, EP)).cacheable, false, 'no Bouncer metadata at all (as from opa build)')
})

t.test('control: a deterministic JWT policy stays cacheable both ways', async t => {
  const { dir, bundle, meta } = await build(PURE_POLICY)
  t.equal(meta.entrypoints[EP].nondeterministic, false)
  const good = await token(60)
  for (const [how, p] of [['directory', await loadPolicyFromPath(dir, EP)], ['bundle', await loadPolicyFromPath(bundle, EP)]] as const) {
    t.equal(p.cacheable, true, `${how}: cacheable`)
    t.equal(ttl(p, p.evaluate({ token: good })), 300, `${how}: the configured allow TTL applies`)
  }
})
