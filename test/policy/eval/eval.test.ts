// Policy loading and evaluation with real modules compiled by the project's compiler.
import t from 'tap'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { compileModules } from '../../../src/compiler/index.js'
import { InputJson, loadWasmPolicy } from '../../../src/policy/eval/index.js'
import { hostBuiltins, missingBuiltins } from '../../../src/policy/builtins/index.js'
import { PolicyHolder } from '../../../src/policy/holder.js'
import { loadPolicyFromPath, loadPolicyFromRego } from '../../../src/policy/load.js'
import { BOUNCER_METADATA_KEY as BUNDLE_METADATA_KEY, writeBundle } from '../../../src/bundle/index.js'
import { isBouncerError } from '../../../src/errors.js'

const compile = (source: string, entrypoints: string[]) => compileModules({ modules: [{ file: 'p.rego', source }], entrypoints })

t.test('evaluates entrypoints with data; undefined is undefined', async (t) => {
  const c = compile(`package app

allow if input.user == data.admins[_]

role := r if { some r in data.roles; r == input.role }
`, ['app/allow', 'app/role'])
  const p = await loadWasmPolicy(c.wasm, { admins: ['alice'], roles: ['reader'] })
  t.same(p.entrypoints, ['app/allow', 'app/role'])
  const allow = p.evaluator('app/allow')
  t.equal(allow({ user: 'alice' }), true)
  t.equal(allow({ user: 'bob' }), undefined)
  t.equal(p.evaluator('app/role')({ role: 'reader' }), 'reader')
  t.throws(() => p.evaluator('app/nope'), /entrypoint app\/nope not found/)
})

t.test('a falsy input is an input (as `opa eval -i` passes it); only undefined is none (review helper, 2026-12-07)', async (t) => {
  const c = compile(`package test

is_null if input == null
is_false if input == false
is_zero if input == 0
is_empty if input == ""
defined if input == input
`, ['test'])
  const p = await loadWasmPolicy(c.wasm, {})
  const ev = p.evaluator('test')
  t.same(ev(null), { defined: true, is_null: true })
  t.same(ev(false), { defined: true, is_false: true })
  t.same(ev(0), { defined: true, is_zero: true })
  t.same(ev(''), { defined: true, is_empty: true })
  t.same(ev(new InputJson('false')), { defined: true, is_false: true }, 'as text too')
  t.same(ev(undefined), {}, 'no input: input is undefined')
})

t.test('shareResults: equal result text gives the same deep-frozen object; other results, undefined and errors as without it', async (t) => {
  const c = compile(`package app

decision := {"allow": input.user == "alice", "headers": {"x-user": input.user}, "tags": ["a", {"b": input.n}]}
many contains x if some x in input.xs
`, ['app/decision', 'app/many'])
  const p = await loadWasmPolicy(c.wasm, {})
  const plain = p.evaluator('app/decision')
  const shared = p.evaluator('app/decision', { shareResults: true })
  const a1 = shared({ user: 'alice', n: 1 }) as { allow: boolean; headers: Record<string, string>; tags: unknown[] }
  const a2 = shared(new InputJson('{"user":"alice","n":1}'))
  t.equal(a2, a1, 'same result text: the same object')
  t.same(a1, plain({ user: 'alice', n: 1 }), 'the value is what the plain evaluator returns')
  t.ok(Object.isFrozen(a1) && Object.isFrozen(a1.headers) && Object.isFrozen(a1.tags) && Object.isFrozen(a1.tags[1]), 'frozen all the way down')
  t.throws(() => { 'use strict'; (a1.headers as Record<string, string>)['x-user'] = 'mallory' }, TypeError)
  const b = shared({ user: 'bob', n: 1 }) as typeof a1
  t.not(b, a1)
  t.same(b, { allow: false, headers: { 'x-user': 'bob' }, tags: ['a', { b: 1 }] })
  t.same(shared({ user: 'alice', n: 2 }), { allow: true, headers: { 'x-user': 'alice' }, tags: ['a', { b: 2 }] }, 'a nested difference is a different result')
  t.equal(shared({ user: 'alice', n: 1 }), a1, 'still shared after other results')
  const fresh = plain({ user: 'alice', n: 1 }) as typeof a1
  t.not(fresh, plain({ user: 'alice', n: 1 }), 'without the option every evaluation returns its own object')
  t.notOk(Object.isFrozen(fresh))

  const many = p.evaluator('app/many', { shareResults: true })
  t.same(many({ xs: [2, 1] }), [1, 2])
  t.equal(shared(undefined), plain(undefined), 'no input: undefined, as without the option')

  // Past the memo's bound every result is still right (the memo starts over).
  for (let i = 0; i < 1100; i++) {
    const r = shared({ user: `u${i}`, n: i }) as typeof a1
    if (r.headers['x-user'] !== `u${i}` || (r.tags[1] as { b: number }).b !== i) { t.fail(`result ${i} is another input's`); break }
  }
  const again = shared({ user: 'alice', n: 1 }) as typeof a1
  t.same(again, a1)
  t.ok(Object.isFrozen(again))
  // A result too large to keep is frozen and correct, just not shared.
  const big = 'x'.repeat(5000)
  const l1 = shared({ user: big, n: 0 }) as typeof a1
  const l2 = shared({ user: big, n: 0 }) as typeof a1
  t.equal(l1.headers['x-user'], big)
  t.ok(Object.isFrozen(l1))
  t.not(l1, l2, 'over the size bound: not kept')
})

t.test('shareResults: undefined results and evaluation errors are not cached', async (t) => {
  const c = compile(`package app

allow if input.user == "alice"
boom := 1 if input.a
boom := 2 if input.b
`, ['app/allow', 'app/boom'])
  const p = await loadWasmPolicy(c.wasm, {})
  const allow = p.evaluator('app/allow', { shareResults: true })
  t.equal(allow({ user: 'bob' }), undefined)
  t.equal(allow({ user: 'bob' }), undefined)
  t.equal(allow({ user: 'alice' }), true)
  const boom = p.evaluator('app/boom', { shareResults: true })
  t.equal(boom({ a: true }), 1)
  t.throws(() => boom({ a: true, b: true }), { code: 'BOUNCER_ERR_POLICY_EVAL' }, 'a conflict is an error')
  t.throws(() => boom({ a: true, b: true }), { code: 'BOUNCER_ERR_POLICY_EVAL' }, 'an error is not remembered as a result')
  t.equal(boom({ b: true }), 2)
})

t.test('missing host builtins fail at load, not at evaluation', async (t) => {
  const c = compile('package x\n\nallow if semver.compare(input.v, "1.0.0") == 0\n', ['x/allow'])
  t.same(missingBuiltins(['sprintf', 'no.such.builtin', 'glob.match']), ['no.such.builtin'])
  try {
    await loadWasmPolicy(c.wasm, {}, { builtins: { 'glob.match': hostBuiltins['glob.match'] } })
    t.fail('loaded')
  } catch (e) {
    t.ok(isBouncerError(e, 'BOUNCER_ERR_POLICY_MISSING_BUILTIN'))
    t.match((e as Error).message, /semver\.compare/)
  }
  const p = await loadWasmPolicy(c.wasm, {}, { builtins: { 'semver.compare': (a: string, b: string) => (a === b ? 0 : a < b ? -1 : 1) } })
  t.same(p.builtins, ['semver.compare'])
  t.equal(p.evaluator('x/allow')({ v: '1.0.0' }), true)
})

t.test('host builtins are called; failures follow OPA (undefined, or an error when strict)', async (t) => {
  const src = `package x

ts := time.parse_rfc3339_ns(input.t)

g if glob.match("*.example.com", [], input.host)
`
  const c = compile(src, ['x/ts', 'x/g'])
  const p = await loadWasmPolicy(c.wasm, {})
  t.equal(p.evaluator('x/ts')({ t: '1970-01-01T00:00:01Z' }), 1e9)
  t.equal(p.evaluator('x/g')({ host: 'api.example.com' }), true)
  t.equal(p.evaluator('x/g')({ host: 'a.b.example.com' }), undefined)
  t.notOk(p.nondeterministic)
  t.equal(p.evaluator('x/ts')({ t: 'garbage' }), undefined, 'non-strict: a failing builtin is undefined')
  const strict = await loadWasmPolicy(c.wasm, {}, { strictBuiltinErrors: true })
  t.throws(() => strict.evaluator('x/ts')({ t: 'garbage' }), /policy evaluation failed/, 'strict: the evaluation fails')
  const throwing = await loadWasmPolicy(c.wasm, {}, { builtins: { ...hostBuiltins, 'time.parse_rfc3339_ns': () => { throw new Error('boom') } } })
  try {
    throwing.evaluator('x/ts')({ t: 'x' })
    t.fail('evaluated')
  } catch (e) {
    t.ok(isBouncerError(e, 'BOUNCER_ERR_POLICY_EVAL'), 'a throwing host function is an evaluation error')
  }
  t.equal(throwing.evaluator('x/g')({ host: 'api.example.com' }), true, 'the instance keeps working after an error')
  const now = await loadWasmPolicy(compile('package x\n\nn := time.now_ns()\n', ['x/n']).wasm, {})
  t.ok(now.nondeterministic, 'time.now_ns makes decisions uncacheable by default')
})

t.test('memory does not grow across evaluations', async (t) => {
  const c = compile(`package x

decision := {"allow": count(input.items) > 2, "names": [n | some it in input.items; n := it.name]}
`, ['x/decision'])
  const p = await loadWasmPolicy(c.wasm, {}, { initialMemoryPages: 4, maxMemoryPages: 64 })
  const ev = p.evaluator('x/decision')
  const input = { items: Array.from({ length: 50 }, (_, i) => ({ name: `item-${i}`, pad: 'x'.repeat(100) })) }
  ev(input)
  const after1 = p.memoryBytes()
  for (let i = 0; i < 5000; i++) ev(input)
  t.equal(p.memoryBytes(), after1, `memory stays at ${after1} bytes`)
  t.equal((ev(input) as { names: string[] }).names.length, 50)
})

t.test('the evaluation call: inputs larger than memory, pre-serialised and non-ASCII input, no input', async (t) => {
  const c = compile(`package x

echo := input

n := count(input.s)
`, ['x/echo', 'x/n'])
  const p = await loadWasmPolicy(c.wasm, {}, { initialMemoryPages: 4, maxMemoryPages: 256 })
  const echo = p.evaluator('x/echo')
  const n = p.evaluator('x/n')
  // more than the whole memory: it grows
  const big = { s: 'é'.repeat(600_000) }
  const before = p.memoryBytes()
  t.equal(n(big), 600_000)
  t.ok(p.memoryBytes() > before, 'memory grew')
  // the views of the grown memory are used from then on
  const text = '{"s":"𝄞 naïve ☃","k":[1,2.5,null,true]}'
  t.same(echo(new TextEncoder().encode(text).buffer), JSON.parse(text))
  t.same(echo(JSON.parse(text)), JSON.parse(text))
  t.equal(n({ s: '𝄞a' }), 2, 'code points, not UTF-16 units')
  // only undefined is no input; a falsy value is an input, as OPA reads it (opa-wasm's evaluate()
  // took it for none, and `bouncer eval -i` of `false` answered differently from `opa eval`)
  t.equal(echo(undefined), undefined)
  t.equal(echo(0), 0)
  t.same(p.evaluate({ a: 1 }, 'x/echo'), [{ result: { a: 1 } }])
  // not JSON: the evaluation fails, and the next one is fine
  t.throws(() => echo(new TextEncoder().encode('{"a":').buffer), /not valid JSON/)
  t.same(echo({ a: 2 }), { a: 2 })
  // serialised text (as the proxy passes its projected input): written into memory as UTF-8
  t.same(echo(new InputJson(text)), JSON.parse(text), 'InputJson: non-ASCII text')
  t.equal(echo(new InputJson('"InputJson"')), 'InputJson', 'InputJson is the text, not the wrapper')
  const grown = p.memoryBytes()
  t.equal(n(new InputJson(JSON.stringify({ s: 'é'.repeat(grown / 2) }))), grown / 2, 'InputJson larger than memory: it grows')
  t.ok(p.memoryBytes() > grown)
  t.throws(() => echo(new InputJson('{"a":')), /not valid JSON/)
  t.same(echo(new InputJson('{"a":3}')), { a: 3 })
})

t.test('garbage is a load error', async (t) => {
  for (const bytes of [new Uint8Array([1, 2, 3]), new Uint8Array(0)]) {
    try { await loadWasmPolicy(bytes); t.fail('loaded') } catch (e) { t.ok(isBouncerError(e, 'BOUNCER_ERR_POLICY_LOAD')) }
  }
})

t.test('holder swaps atomically and notifies', async (t) => {
  const holder = new PolicyHolder()
  t.equal(holder.current, null)
  const a = await loadPolicyFromRego([{ file: 'a.rego', source: 'package bouncer\n\ndecision := true\n' }], {}, 'bouncer/decision', { source: 'a' })
  const b = await loadPolicyFromRego([{ file: 'b.rego', source: 'package bouncer\n\ndecision := false\n' }], {}, 'bouncer/decision', { source: 'b' })
  t.not(a.revision, b.revision, 'content revisions differ')
  const seen: string[] = []
  holder.onActivate((next, prev) => seen.push(`${prev?.source ?? '-'}→${next.source}`))
  holder.activate(a)
  const inFlight = holder.current!
  holder.activate(b)
  t.equal(inFlight.evaluate({}), true, 'a request holding the old policy finishes on it')
  t.equal(holder.current!.evaluate({}), false)
  t.same(seen, ['-→a', 'a→b'])
  t.ok(Object.isFrozen(holder.current))
  t.ok(holder.current!.activatedAt > 0)
})

t.test('load from a directory, a file, and a bundle archive', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-policy-'))
  mkdirSync(path.join(dir, 'bouncer'))
  const source = 'package bouncer\n\ndecision := {"allow": input.user in data.bouncer.users}\n'
  writeFileSync(path.join(dir, 'bouncer', 'policy.rego'), source)
  writeFileSync(path.join(dir, 'bouncer', 'policy_test.rego'), 'package bouncer\n\ntest_x if true\n')
  writeFileSync(path.join(dir, 'bouncer', 'data.json'), '{"users": ["alice"]}')
  const fromDir = await loadPolicyFromPath(dir, 'bouncer/decision')
  t.same(fromDir.evaluate({ user: 'alice' }), { allow: true })
  t.same(fromDir.evaluate({ user: 'bob' }), { allow: false })
  t.same(fromDir.inputPaths, [['user']], 'input paths recorded by the compiler')
  t.ok(fromDir.cacheable)

  const fromFile = await loadPolicyFromPath(path.join(dir, 'bouncer', 'policy.rego'), 'bouncer/decision')
  t.ok(fromFile.revision.startsWith('sha256:'))

  const c = compileModules({ modules: [{ file: 'bouncer/policy.rego', source }], entrypoints: ['bouncer/decision'] })
  const tgz = await writeBundle({
    manifest: { revision: 'rev-7', roots: ['bouncer'], wasm: [{ entrypoint: 'bouncer/decision', module: '/policy.wasm' }], metadata: { [BUNDLE_METADATA_KEY]: { entrypoints: { 'bouncer/decision': { input_paths: c.inputPaths['bouncer/decision'], nondeterministic: false, builtins: [] } } } } },
    wasm: c.wasm,
    data: { bouncer: { users: ['carol'] } },
  })
  const file = path.join(dir, 'bundle.tar.gz')
  writeFileSync(file, tgz)
  const fromBundle = await loadPolicyFromPath(file, 'bouncer/decision', { bundleName: 'main' })
  t.equal(fromBundle.revision, 'rev-7')
  t.same(fromBundle.bundles, { main: { revision: 'rev-7' } })
  t.same(fromBundle.evaluate({ user: 'carol' }), { allow: true })
  t.same(fromBundle.inputPaths, [['user']])
  await t.rejects(loadPolicyFromPath(file, 'bouncer/other'), /entrypoint bouncer\/other not found/)

  const regoOnly = await writeBundle({ manifest: { revision: 'r', roots: ['bouncer'] }, rego: [{ path: 'bouncer/policy.rego', source }], data: { bouncer: { users: ['dave'] } } })
  writeFileSync(path.join(dir, 'rego.tgz'), regoOnly)
  t.same((await loadPolicyFromPath(path.join(dir, 'rego.tgz'), 'bouncer/decision')).evaluate({ user: 'dave' }), { allow: true }, 'Rego-only bundles are compiled')

  await t.rejects(loadPolicyFromPath(path.join(dir, 'nope'), 'bouncer/decision'), /no such file/)
  writeFileSync(path.join(dir, 'x.txt'), 'x')
  await t.rejects(loadPolicyFromPath(path.join(dir, 'x.txt'), 'bouncer/decision'), /expected a directory/)
  writeFileSync(path.join(dir, 'broken.rego'), 'package bouncer\n\ndecision := {\n')
  await t.rejects(loadPolicyFromPath(path.join(dir, 'broken.rego'), 'bouncer/decision'), /compilation failed/)
})

t.test('bundles built by `bouncer build` (compileBundle) load with their recorded facts', async (t) => {
  const { compileBundle } = await import('../../../src/compiler/bundle/index.js')
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-build-'))
  writeFileSync(path.join(dir, 'p.rego'), 'package bouncer\n\ndecision := {"allow": input.attributes.request.http.method == "GET"}\n\nclock := time.now_ns()\n')
  const b = await compileBundle({ paths: [dir], entrypoints: ['bouncer/decision', 'bouncer/clock'], revision: 'r1' })
  writeFileSync(path.join(dir, 'b.tar.gz'), b.tarGz)
  const p = await loadPolicyFromPath(path.join(dir, 'b.tar.gz'), 'bouncer/decision')
  t.equal(p.revision, 'r1')
  t.same(p.inputPaths, [['attributes', 'request', 'http', 'method']])
  // Manifest and module facts combine with OR: the module imports time.now_ns (for bouncer/clock),
  // so every entrypoint of it is treated as non-deterministic (test/policy/load-nondeterministic.test.ts).
  t.notOk(p.cacheable, 'the module imports time.now_ns, if only for another entrypoint')
  const clock = await loadPolicyFromPath(path.join(dir, 'b.tar.gz'), 'bouncer/clock')
  t.notOk(clock.cacheable)
})

t.test('data.yaml is read as current OPA reads it (go-yaml v3), from a directory and from a bundle', async (t) => {
  // `maintenance: on` is the string "on" in current OPA (PR #9174; up to 1.20 it was true), so
  // this policy's switch is `true`; `mode: 0600` is octal (384), and 1_000 is 1000.
  const dir = mkdtempSync(path.join(tmpdir(), 'bouncer-yaml-data-'))
  mkdirSync(path.join(dir, 'flags'))
  const policy = 'package flags\n\ndecision := {"allow": data.flags.maintenance != true, "mode": data.flags.mode, "switch": data.flags.switch, "limit": data.flags.limit}\n'
  writeFileSync(path.join(dir, 'flags', 'policy.rego'), policy)
  writeFileSync(path.join(dir, 'flags', 'data.yaml'), 'maintenance: true\nmode: 0600\nswitch: on\nlimit: 1_000\n')
  const fromDir = await loadPolicyFromPath(dir, 'flags/decision')
  t.same(fromDir.evaluate({}), { allow: false, mode: 384, switch: 'on', limit: 1000 })

  const c = compileModules({ modules: [{ file: 'flags/policy.rego', source: policy }], entrypoints: ['flags/decision'] })
  const { rawTarGz } = await import('../bundle/helpers.js')
  const file = path.join(dir, 'flags.tar.gz')
  writeFileSync(file, await rawTarGz([
    { name: '/.manifest', body: JSON.stringify({ revision: 'y1', roots: ['flags'], wasm: [{ entrypoint: 'flags/decision', module: '/policy.wasm' }] }) },
    { name: '/flags/data.yaml', body: 'maintenance: yes\nmode: 0o600\nswitch: True\nlimit: 0x10\n' },
    { name: '/policy.wasm', body: Buffer.from(c.wasm) },
  ]))
  const fromBundle = await loadPolicyFromPath(file, 'flags/decision', { bundleName: 'main' })
  t.same(fromBundle.evaluate({}), { allow: true, mode: 384, switch: true, limit: 16 }, 'maintenance: yes is the string "yes", not true')
})
