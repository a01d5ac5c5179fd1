// The compiler's CLI shapes (other tools rely on them): bouncer build / eval / test, run as
// real processes through bin/bouncer.js.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { readBundle } from '../../src/bundle/index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const bin = path.join(root, 'bin/bouncer.js')

function run (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

t.test('bouncer test policies/ passes every test_* rule (CI runs the default policy tests)', async t => {
  const r = await run(['test', '-v', 'policies/'])
  t.equal(r.code, 0, r.stderr)
  const passes = r.stdout.split('\n').filter(l => / PASS \(/.test(l) || /: PASS/.test(l))
  t.ok(passes.length >= 5, `${passes.length} tests passed`)
  t.match(r.stdout, /^PASS: (\d+)\/\1$/m)
})

t.test('bouncer test reports failures and exits non-zero', async t => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bouncer-test-'))
  await writeFile(path.join(dir, 'p.rego'), 'package x\nallow if input.ok\ntest_ok if allow with input as {"ok": true}\ntest_wrong if allow with input as {"ok": false}\n')
  const r = await run(['test', dir])
  t.equal(r.code, 1)
  t.notMatch(r.stdout, /data\.x\.test_ok: PASS/, 'without -v only what did not pass is listed')
  t.match(r.stdout, /p\.rego:4:\ndata\.x\.test_wrong: FAIL \(/)
  t.match(r.stdout, /^PASS: 1\/2$/m)
  t.match(r.stdout, /^FAIL: 1\/2$/m)
  const v = await run(['test', '-v', dir])
  t.equal(v.code, 1)
  t.match(v.stdout, /data\.x\.test_ok: PASS/)
  t.match(v.stdout, /data\.x\.test_wrong: FAIL/)
})

t.test('bouncer build writes an OPA bundle the reader accepts, with cache metadata', async t => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bouncer-build-'))
  const out = path.join(dir, 'b.tar.gz')
  const r = await run(['build', 'policies/', '-e', 'bouncer/decision', '-o', out, '--revision', 'r42'])
  t.equal(r.code, 0, r.stderr)
  const b = await readBundle(await readFile(out))
  t.equal(b.manifest.revision, 'r42')
  t.same(b.manifest.wasm, [{ entrypoint: 'bouncer/decision', module: '/policy.wasm' }])
  t.ok(b.wasm !== null && b.wasm.length > 1000, 'carries policy.wasm')
  const meta = (b.manifest.metadata as { bouncer: { entrypoints: Record<string, { input_paths: unknown }> } }).bouncer
  t.ok(meta.entrypoints['bouncer/decision'] !== undefined, 'records per-entrypoint metadata')
  t.ok(b.rego.length >= 1, 'keeps the sources for audit')
})

t.test('bouncer eval prints an opa-eval-shaped result set', async t => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bouncer-eval-'))
  await writeFile(path.join(dir, 'p.rego'), 'package e\nallow if input.user == data.admins[_]\n')
  await writeFile(path.join(dir, 'data.json'), '{"admins": ["bob"]}')
  await writeFile(path.join(dir, 'in.json'), '{"user": "bob"}')
  const r = await run(['eval', '-d', dir, '-i', path.join(dir, 'in.json'), 'data.e.allow'])
  t.equal(r.code, 0, r.stderr)
  t.same(JSON.parse(r.stdout), { result: [{ expressions: [{ value: true, text: 'data.e.allow', location: { row: 1, col: 1 } }] }] })
  const r2 = await run(['eval', '-d', dir, 'x := data.admins[i]'])
  t.same(JSON.parse(r2.stdout).result[0].bindings, { i: 0, x: 'bob' })
})

// A one-expression query with `with` reports its value, as opa eval (it reported true, and
// nothing at all when the value was false).
t.test('bouncer eval: an expression with a with modifier reports its value', async t => {
  const value = async (q: string): Promise<unknown> => {
    const r = await run(['eval', q])
    t.equal(r.code, 0, r.stderr)
    return (JSON.parse(r.stdout) as { result: Array<{ expressions: Array<{ value: unknown }> }> }).result.map(x => x.expressions[0]!.value)
  }
  t.same(await value('input.a with input as {"a": 5}'), [5])
  t.same(await value('count([1, 2]) with input as {}'), [2])
  t.same(await value('input.a with input as {"a": false}'), [false])
  t.same(await value('input.a'), [], 'undefined without the modifier')
})

t.test('compile errors name file:line:col and exit non-zero', async t => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bouncer-err-'))
  await writeFile(path.join(dir, 'bad.rego'), 'package b\n\np if {\n  x > 1\n}\n')
  const r = await run(['build', dir, '-e', 'b/p', '-o', path.join(dir, 'o.tar.gz')])
  t.equal(r.code, 1)
  t.match(r.stderr, /bad\.rego:4:3: rego_unsafe_var_error: var x is unsafe/)
})
