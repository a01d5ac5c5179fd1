// The opa-grade CLI as a user meets it (real processes through bin/bouncer.js): --help on every
// command, unknown flags with a suggestion, exit codes (0 ok, 1 failures, 2 errors), version,
// capabilities, eval's formats, test's -v / --format json / --coverage, check [--strict].
import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const bin = path.join(root, 'bin/bouncer.js')

interface Run { code: number; stdout: string; stderr: string }

function run (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: opts.cwd ?? root, timeout: 60_000, ...(opts.env !== undefined ? { env: opts.env } : {}) }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

async function dir (files: Record<string, string>): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'bouncer-cli-'))
  for (const [name, source] of Object.entries(files)) await writeFile(path.join(d, name), source)
  return d
}

t.test('every command has --help: usage on stdout, exit 0', async t => {
  for (const cmd of ['build', 'eval', 'test', 'check', 'version', 'capabilities', 'verify-log', 'replay', 'config', 'demo', 'run']) {
    const r = await run([cmd, '--help'])
    t.equal(r.code, 0, `${cmd} --help exits 0 ${r.stderr}`)
    t.match(r.stdout, new RegExp(`^usage: bouncer ${cmd}`), `${cmd} --help prints its usage`)
    t.equal(r.stderr, '', `${cmd} --help writes nothing to stderr`)
  }
  const h = await run(['help', 'eval'])
  t.equal(h.code, 0)
  t.match(h.stdout, /^usage: bouncer eval/)
  t.match((await run(['eval', '-h'])).stdout, /--format FORMAT +output format \(json\|pretty\|raw; default json\)/)
})

t.test('unknown flags exit 2 with the closest known flag', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['eval', '--fromat', 'json', '1'], /bouncer eval: unknown flag: --fromat \(did you mean --format\?\)/],
    [['test', '--covrage', 'x'], /bouncer test: unknown flag: --covrage \(did you mean --coverage\?\)/],
    [['build', '--out', 'x', 'p'], /bouncer build: unknown flag: --out \(did you mean --output\?\)/],
    [['check', '--stict', 'p'], /did you mean --strict\?/],
    [['eval', '--bogus', '1'], /unknown flag: --bogus\n/],
    [['run', '--uptream', 'http://x'], /unknown flag "--uptream" \(did you mean --upstream\?\)/],
    [['tset'], /unknown command "tset" \(did you mean "test"\?\)/],
  ]
  for (const [args, re] of cases) {
    const r = await run(args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, re, args.join(' '))
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  }
  const v = await run(['eval', '--format', 'yaml', '1'])
  t.equal(v.code, 2)
  t.match(v.stderr, /invalid value "yaml" for --format: want one of json, pretty, raw/)
  const missing = await run(['eval', '1', '--format'])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /flag needs an argument: --format/)
})

t.test('version: package version, build commit, runtime ABI, Node.js', async t => {
  const r = await run(['version'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^Version: 0\.\d+\.\d+$/m)
  t.match(r.stdout, /^Build Commit: ([0-9a-f]{40}(-dirty)?|unknown)$/m)
  t.match(r.stdout, /^Runtime ABI: 1\.2$/m)
  t.match(r.stdout, new RegExp(`^Node Version: ${process.version.replace(/\./g, '\\.')}$`, 'm'))
  const j = await run(['version', '--format', 'json'])
  t.match(JSON.parse(j.stdout), { version: /^0\./, runtime_abi_version: '1.2', node_version: process.version })
  t.equal((await run(['--version'])).code, 0)
})

t.test('capabilities: OPA capabilities JSON from the builtin table', async t => {
  const r = await run(['capabilities'])
  t.equal(r.code, 0, r.stderr)
  const caps = JSON.parse(r.stdout) as { builtins: Array<{ name: string; decl: { args?: unknown[]; result?: unknown }; deprecated?: boolean }>; wasm_abi_versions: unknown[]; future_keywords: string[] }
  const names = caps.builtins.map(b => b.name)
  t.same(names, [...names].sort(), 'sorted by name')
  const count = caps.builtins.find(b => b.name === 'count')
  // OPA's canonical order of a union's members: string < array < object < set
  t.same(count?.decl, {
    args: [{ of: [{ type: 'string' }, { dynamic: { type: 'any' }, type: 'array' }, { dynamic: { key: { type: 'any' }, value: { type: 'any' } }, type: 'object' }, { of: { type: 'any' }, type: 'set' }], type: 'any' }],
    result: { type: 'number' },
    type: 'function',
  })
  t.equal(caps.builtins.find(b => b.name === 'any')?.deprecated, true)
  t.notOk(names.includes('net.lookup_ip_addr'), 'declared-only builtins are left out')
  t.ok(caps.future_keywords.includes('if'))
  t.same(caps.wasm_abi_versions, [{ version: 1, minor_version: 1 }, { version: 1, minor_version: 2 }])
})

t.test('eval: --format json|pretty|raw, print to stderr, --fail, exit codes', async t => {
  const d = await dir({
    'p.rego': 'package e\n\nnames := ["ann", "bob"]\n\nhello := sprintf("hi %s", [input.who]) if print("who:", input.who)\n',
    'in.json': '{"who": "ann"}',
  })
  const json = await run(['eval', '-d', d, '-i', path.join(d, 'in.json'), 'data.e.hello'])
  t.equal(json.code, 0, json.stderr)
  t.same(JSON.parse(json.stdout).result[0].expressions[0].value, 'hi ann')
  t.match(json.stderr, /^who: ann$/m, 'print output goes to stderr')
  const raw = await run(['eval', '-d', d, '-i', path.join(d, 'in.json'), '--format', 'raw', 'data.e.hello'])
  t.equal(raw.stdout, 'hi ann\n', 'raw: strings without quotes')
  const rawArr = await run(['eval', '-d', d, '-f', 'raw', 'data.e.names'])
  t.equal(rawArr.stdout, '["ann","bob"]\n')
  const pretty = await run(['eval', '-d', d, '--format', 'pretty', 'data.e.names'])
  t.equal(pretty.stdout, '[\n  "ann",\n  "bob"\n]\n')
  const table = await run(['eval', '-d', d, '--format', 'pretty', 'x := data.e.names[i]'])
  t.equal(table.stdout, [
    '+---+-------+',
    '| i | x     |',
    '+---+-------+',
    '| 0 | "ann" |',
    '| 1 | "bob" |',
    '+---+-------+',
    '',
  ].join('\n'))
  const undef = await run(['eval', '-d', d, '--format', 'pretty', 'data.e.nothing'])
  t.equal(undef.code, 0, 'undefined is not an error')
  t.equal(undef.stdout, 'undefined\n')
  t.equal((await run(['eval', '-d', d, '--fail', 'data.e.nothing'])).code, 1, '--fail: undefined exits 1')
  t.equal((await run(['eval', '-d', d, '--fail-defined', 'data.e.names'])).code, 1, '--fail-defined: defined exits 1')
  const bad = await run(['eval', '-d', d, 'count(5)'])
  t.equal(bad.code, 2, 'a compile error is an error')
  t.match(JSON.parse(bad.stdout), { errors: [{ code: 'rego_type_error', message: 'count: invalid argument(s)', location: { file: '<query>', row: 1, col: 1 } }] })
  const badPretty = await run(['eval', '-d', d, '-f', 'pretty', 'count(5)'])
  t.match(badPretty.stderr, /1 error occurred: <query>:1:1: rego_type_error: count: invalid argument\(s\)\n\thave: \(number, \?\?\?\)\n\twant: \(collection: any<string, array\[any\], object\[any: any\], set\[any\]>, n: number\)/)
  // an evaluation error, in the engine's words
  const c = await dir({ 'c.rego': 'package c\n\nx := 1 if input.a\n\nx := 2 if input.b\n', 'in.json': '{"a": true, "b": true}' })
  const conflict = await run(['eval', '-d', c, '-i', path.join(c, 'in.json'), 'data.c.x'])
  t.equal(conflict.code, 2, 'an evaluation error is an error')
  t.match(JSON.parse(conflict.stdout), { errors: [{ message: /^eval_conflict_error: / }] })
  const conflictPretty = await run(['eval', '-d', c, '-i', path.join(c, 'in.json'), '-f', 'pretty', 'data.c.x'])
  t.match(conflictPretty.stderr, /^error: eval_conflict_error: /)
})

t.test('test: -v, --format json, print output, todo_ tests, exit codes', async t => {
  const d = await dir({
    'p.rego': 'package x\n\nallow if input.ok\n',
    'p_test.rego': 'package x\n\ntest_ok if allow with input as {"ok": true}\n\ntest_bad if {\n  print("checking")\n  allow with input as {"ok": false}\n}\n\ntodo_test_later if false\n',
  })
  const r = await run(['test', d])
  t.equal(r.code, 1)
  const file = path.join(d, 'p_test.rego')
  t.equal(r.stdout, [
    `${file}:5:`,
    /data\.x\.test_bad: FAIL \(\d+(\.\d+)?(µs|ms|s|ns)\)/.exec(r.stdout)?.[0],
    '',
    '  checking',
    '',
    `${file}:10:`,
    'data.x.todo_test_later: SKIPPED',
    '-'.repeat(80),
    'PASS: 1/3',
    'FAIL: 1/3',
    'SKIPPED: 1/3',
    '',
  ].join('\n'))
  const v = await run(['test', '-v', d])
  t.match(v.stdout, /data\.x\.test_ok: PASS \(/)
  const j = await run(['test', '--format', 'json', d])
  t.equal(j.code, 1)
  const results = JSON.parse(j.stdout) as Array<Record<string, unknown>>
  t.match(results, [
    { location: { file, row: 3, col: 1 }, package: 'data.x', name: 'test_ok', duration: Number },
    { name: 'test_bad', fail: true, output: Buffer.from('checking\n').toString('base64') },
    { name: 'todo_test_later', skip: true },
  ])
  t.notOk('fail' in results[0])
  const ok = await dir({ 'p.rego': 'package y\n\ntest_a if true\n' })
  const allPass = await run(['test', ok])
  t.equal(allPass.code, 0)
  t.equal(allPass.stdout, 'PASS: 1/1\n')
  const erroring = await dir({ 'p.rego': 'package w\n\nx := 1 if input.a\n\nx := 2 if input.b\n\ntest_conflict if x with input as {"a": true, "b": true}\n' })
  const err = await run(['test', erroring])
  t.equal(err.code, 1, 'an erroring test fails the run')
  t.match(err.stdout, /data\.w\.test_conflict: ERROR \([^)]*\)\n  eval_conflict_error: /, "the error in the engine's words")
  const broken = await dir({ 'p.rego': 'package z\n\ntest_a if count(1) > 0\n' })
  const compile = await run(['test', broken])
  t.equal(compile.code, 2, 'a compile error is an error, not a failure')
  t.match(compile.stderr, /rego_type_error: count: invalid argument\(s\)/)
})

t.test('test --coverage: covered and not covered lines per file, --threshold', async t => {
  const d = await dir({
    'p.rego': 'package x\n\nallow if {\n  input.user == "admin"\n}\n\nallow if {\n  input.user == "root"\n  input.mfa\n}\n',
    'p_test.rego': 'package x\n\ntest_admin if allow with input as {"user": "admin"}\n',
  })
  const r = await run(['test', '--coverage', d])
  t.equal(r.code, 0, r.stderr)
  const report = JSON.parse(r.stdout) as { files: Record<string, unknown>; covered_lines: number; not_covered_lines: number; coverage: number }
  const p = path.join(d, 'p.rego')
  // allow's rules all have the value true: the first one to succeed ends the evaluation (OPA's
  // early exit; OPA's rule index skips the second rule here too), so lines 7-9 are not reached
  t.same(report.files[p], {
    covered: [{ start: { row: 3 }, end: { row: 4 } }],
    not_covered: [{ start: { row: 7 }, end: { row: 9 } }],
    covered_lines: 2,
    not_covered_lines: 3,
    coverage: 40,
  })
  t.same(report.files[path.join(d, 'p_test.rego')], { covered: [{ start: { row: 3 }, end: { row: 3 } }], covered_lines: 1, coverage: 100 })
  t.equal(report.covered_lines, 3)
  t.equal(report.not_covered_lines, 3)
  t.equal(report.coverage, 50)
  const low = await run(['test', '--coverage', '--threshold', '90', '-v', d])
  t.equal(low.code, 1)
  t.match(low.stderr, /Code coverage threshold not met: got 50\.00 instead of 90\.00\nLines not covered:\n\t.*p\.rego:7-9/)
  t.equal((await run(['test', '--threshold', '90', d])).code, 2, '--threshold needs --coverage')
})

t.test('check: errors as opa check prints them, --strict, exit codes', async t => {
  const d = await dir({
    'ok.rego': 'package ok\n\nimport data.lib\n\nallow if lib.x\n',
    'bad.rego': 'package bad\n\nn := count(5)\n\ns := "a" + 1\n\nu := upper(5)\n',
  })
  const good = await run(['check', path.join(d, 'ok.rego')])
  t.equal(good.code, 0, good.stderr)
  t.equal(good.stdout + good.stderr, '')
  const bad = await run(['check', path.join(d, 'bad.rego')])
  t.equal(bad.code, 1)
  const f = path.join(d, 'bad.rego')
  t.equal(bad.stderr, [
    '3 errors occurred:',
    `${f}:3:6: rego_type_error: count: invalid argument(s)`,
    '\thave: (number, ???)',
    '\twant: (collection: any<string, array[any], object[any: any], set[any]>, n: number)',
    `${f}:5:6: rego_type_error: plus: invalid argument(s)`,
    '\thave: (string, number, ???)',
    '\twant: (x: number, y: number, z: number)',
    `${f}:7:6: rego_type_error: upper: invalid argument(s)`,
    '\thave: (number, ???)',
    '\twant: (x: string, y: string)',
    '',
  ].join('\n'))
  const json = await run(['check', '--format', 'json', f])
  t.match(JSON.parse(json.stdout).errors[0], { code: 'rego_type_error', message: 'count: invalid argument(s)', location: { file: f, row: 3, col: 6 }, details: ['have: (number, ???)', 'want: (collection: any<string, array[any], object[any: any], set[any]>, n: number)'] })
  const strictSrc = await dir({ 's.rego': 'package s\n\nimport data.unused\n\nf(x, y) := x\n\np if {\n  v := 1\n  input.a == 1\n}\n\nq := any([true])\n' })
  const lax = await run(['check', strictSrc])
  t.equal(lax.code, 1, 'deprecated builtins are errors in Rego v1 modules, strict or not (as OPA 1.x)')
  t.equal(lax.stderr, `1 error occurred: ${path.join(strictSrc, 's.rego')}:12:6: rego_type_error: deprecated built-in function calls in expression: any\n`)
  const strict = await run(['check', '--strict', strictSrc])
  t.equal(strict.code, 1)
  const s = path.join(strictSrc, 's.rego')
  t.equal(strict.stderr, [
    '4 errors occurred:',
    `${s}:3:1: rego_compile_error: import data.unused unused`,
    `${s}:5:6: rego_compile_error: unused argument y. (hint: use _ (wildcard variable) instead)`,
    `${s}:8:3: rego_compile_error: assigned var v unused`,
    `${s}:12:6: rego_type_error: deprecated built-in function calls in expression: any`,
    '',
  ].join('\n'))
  const missing = await run(['check', path.join(d, 'nope.rego')])
  t.equal(missing.code, 2, 'an unreadable path is an error')
  t.equal((await run(['check'])).code, 2, 'no path: usage error')
  const unsafe = await dir({ 'u.rego': 'package u\n\np if {\n  x > 1\n}\n' })
  const u = await run(['check', unsafe])
  t.equal(u.code, 1)
  t.match(u.stderr, /1 error occurred: .*u\.rego:4:3: rego_unsafe_var_error: var x is unsafe/)
})

t.test('--v0-compatible reaches the compiler in build, eval, test and check', async t => {
  const d = await dir({ 'p.rego': 'package v\n\ndeny[msg] {\n  input.bad\n  msg := "bad"\n}\n\ntest_deny {\n  deny["bad"] with input as {"bad": true}\n}\n' })
  t.equal((await run(['check', d])).code, 1, 'v0 syntax is an error in v1')
  t.equal((await run(['check', '--v0-compatible', d])).code, 0)
  const ev = await run(['eval', '--v0-compatible', '-d', d, '-f', 'raw', 'data.v.deny'])
  t.equal(ev.stdout, '[]\n', ev.stderr)
  t.equal((await run(['test', '--v0-compatible', d])).code, 0)
  const out = path.join(d, 'b.tar.gz')
  t.equal((await run(['build', '--v0-compatible', d, '-e', 'v/deny', '-o', out])).code, 0)
})

t.test('config check: passwords in URLs, query tokens and JWK secrets are redacted', async t => {
  const d = await mkdtemp(path.join(tmpdir(), 'bouncer-cfg-'))
  const file = path.join(d, 'bouncer.yaml')
  await writeFile(file, [
    'upstream: {url: "http://upuser:UPSTREAMPASS@127.0.0.1:3000"}',
    'auth: {jwt: {enabled: true, jwks_url: "https://idp.example/jwks?api_key=JWKSQUERYKEY", keys: [{alg: HS256, kid: k, jwk: {kty: oct, k: "SUNSRVRTRUNSRVRTRUNSRVRTRUNSRVRTRUNSRVRTRUNSRVRT"}}]}}',
    'cache: {redis: {url: "rediss://default:REDISPASS@redis:6380"}}',
    'policy: {path: policies}',
  ].join('\n'))
  // Without the test run's own BOUNCER_* variables (config check reads the environment too).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOUNCER_')))
  const r = await run(['config', 'check', '--config', file], { env })
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stdout, /UPSTREAMPASS|JWKSQUERYKEY|REDISPASS|SUNSRVRT/)
  t.match(r.stdout, /\/\/\*\*\*:\*\*\*@127\.0\.0\.1:3000/)
  t.notMatch(r.stdout, /upuser/, 'the user name too')
  t.match(r.stdout, /api_key=\*\*\*/)
})

t.test('config check refuses what run refuses: no upstream, no policy source', async t => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOUNCER_')))
  const none = await run(['config', 'check'], { env })
  t.equal(none.code, 2)
  t.match(none.stderr, /^bouncer config check: invalid configuration \(2 problems\):\n {2}- upstream\.url: is required/)
  t.match(none.stderr, /policy\.path: is required/)
  const noPolicy = await run(['config', 'check', '--upstream', 'http://127.0.0.1:3000'], { env })
  t.equal(noPolicy.code, 2)
  t.match(noPolicy.stderr, /\(1 problem\):\n {2}- policy\.path: is required/)
  const both = await run(['config', 'check', '--upstream', 'http://127.0.0.1:3000', '--policy', 'policies'], { env })
  t.equal(both.code, 0, both.stderr)
  const ext = await run(['config', 'check', '--mode', 'ext_authz', '--policy', 'policies', '--set', 'ext_authz.http.enabled=true'], { env })
  t.equal(ext.code, 0, `ext_authz needs no upstream: ${ext.stderr}`)
  const bad = await run(['config', 'check', '--upstream', 'http://127.0.0.1:3000', '--policy', 'policies', '--set', 'server.port=x'], { env })
  t.equal(bad.code, 2)
  t.match(bad.stderr, /^bouncer config check: invalid configuration \(1 problem\):/, 'schema problems under the same heading as run\'s')
  // Files run reads at start (src/app/preflight.ts): config check passed these, run then refused them.
  const files = ['config', 'check', '--upstream', 'http://127.0.0.1:3000', '--policy', '/nonexistent/policy', '--set', 'server.tls.enabled=true', '--set', 'server.tls.cert_file=/nonexistent/c.pem', '--set', 'server.tls.key_file=/nonexistent/k.pem']
  const missing = await run(files, { env })
  t.equal(missing.code, 2, 'a file run cannot read is invalid configuration')
  t.match(missing.stderr, /server\.tls\.cert_file: cannot read \/nonexistent\/c\.pem/)
  t.match(missing.stderr, /policy\.path: \/nonexistent\/policy: no such file or directory/)
  const runs = await run(['run', ...files.slice(2)], { env })
  t.equal(runs.code, 2, 'run says the same, with the same exit code')
  t.match(runs.stderr, /server\.tls\.cert_file: cannot read \/nonexistent\/c\.pem/)
})
