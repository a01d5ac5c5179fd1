// bouncer test runs every test rule on its own, as `opa test` does: test rules sharing a name
// are not merged (a failing one would hide behind a passing one); the duplicates are reported
// as test_x#01, test_x#02, ... (OPA's tester: rewriteDuplicateTestNames) and counted.
import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { renameDuplicateTests, runTests, testFilter } from '../../src/cli/test.js'
import { parseSources } from '../../src/compiler/index.js'

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

async function policyDir (files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bouncer-test-dups-'))
  for (const [name, source] of Object.entries(files)) await writeFile(path.join(dir, name), source)
  return dir
}

const A = `package x

allow if input.ok

test_a if allow with input as {"ok": true}

test_a if allow with input as {"ok": false}

test_a if allow with input as {"ok": true}

test_b if true
`
const B = `package x

test_a if false

test_b := true
`

t.test('a failing duplicate is run, named test_x#NN and counted; the command fails', async t => {
  const dir = await policyDir({ 'a.rego': A, 'b.rego': B })
  const r = await run(['test', '-v', dir])
  t.equal(r.code, 1, r.stderr)
  const lines = r.stdout.split('\n').filter(l => l.startsWith('data.')).map(l => l.replace(/ \(.*$/, ''))
  t.same(lines, [
    'data.x.test_a: PASS',
    'data.x.test_a#01: FAIL',
    'data.x.test_a#02: PASS',
    'data.x.test_b: PASS',
    'data.x.test_a#03: FAIL', // the count goes across the package's files
    'data.x.test_b#01: PASS',
  ])
  t.match(r.stdout, /^PASS: 4\/6$/m)
  t.match(r.stdout, /^FAIL: 2\/6$/m)
})

t.test('duplicates that all pass: each one counted, exit 0', async t => {
  const dir = await policyDir({ 'p.rego': 'package y\n\ntest_t if 1 == 1\n\ntest_t if 2 == 2\n\ntest_t := true\n' })
  const r = await run(['test', '-v', dir])
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.match(r.stdout, /data\.y\.test_t: PASS/)
  t.match(r.stdout, /data\.y\.test_t#01: PASS/)
  t.match(r.stdout, /data\.y\.test_t#02: PASS/)
  t.match(r.stdout, /^PASS: 3\/3$/m)
})

t.test('the same name in different packages is not a duplicate', async t => {
  const dir = await policyDir({ 'p.rego': 'package p\n\ntest_t if true\n', 'q.rego': 'package q\n\ntest_t if false\n' })
  const results = await runTests([dir])
  t.same(results.map(r => [r.name, r.outcome]), [['data.p.test_t', 'PASS'], ['data.q.test_t', 'FAIL']])
})

t.test('renameDuplicateTests: OPA\'s numbering; default rules count; other rules untouched', async t => {
  const parsed = parseSources([{
    file: 'm.rego',
    source: 'package m\n\ndefault test_d := false\n\ntest_d if true\n\nallow if true\n\nallow if false\n\ntest_f(x) if x\n' +
      Array.from({ length: 11 }, () => 'test_n if true\n').join('\n'),
  }])
  t.same(parsed.diagnostics, [])
  renameDuplicateTests(parsed.modules)
  const names = parsed.modules[0].rules.map(r => (r.ref[0].type === 'var' ? r.ref[0].name : '?'))
  t.same(names, [
    'test_d', 'test_d#01', 'allow', 'allow', 'test_f',
    'test_n', 'test_n#01', 'test_n#02', 'test_n#03', 'test_n#04', 'test_n#05', 'test_n#06', 'test_n#07', 'test_n#08', 'test_n#09', 'test_n#10',
  ])
  renameDuplicateTests(parsed.modules)
  t.same(parsed.modules[0].rules.map(r => (r.ref[0].type === 'var' ? r.ref[0].name : '?')), names, 'renaming again changes nothing')
})

t.test('--run: a Go regular expression over the reported names', async t => {
  const dir = await policyDir({ 'a.rego': A, 'b.rego': B })
  const r = await run(['test', dir, '-v', '--run', `test_a#0[12]$`])
  t.equal(r.code, 1)
  t.same(r.stdout.split('\n').filter(l => l.startsWith('data.')).map(l => l.replace(/ \(.*$/, '')), ['data.x.test_a#01: FAIL', 'data.x.test_a#02: PASS'])
  const ok = await runTests([dir], testFilter(`^data\\.x\\.test_b(#\\d+)?$`))
  t.same(ok.map(r => r.name), ['data.x.test_b', 'data.x.test_b#01'])
  t.throws(() => testFilter('(?=a)'), /--run: error parsing regexp: invalid or unsupported Perl syntax/)
  const bad = await run(['test', dir, '--run', '(?=a)'])
  t.equal(bad.code, 2, 'an invalid --run is a usage error')
  t.match(bad.stderr, /invalid or unsupported Perl syntax/)
})

// Parameterized tests (OPA 1.2): a test rule whose head goes on past its name is one test over
// the object it builds. They used to be left out without a word, so a failing one passed CI.
const PARAMS = `package pt

import rego.v1

test_plain if true

# every case fails after its key is known: both are reported, the test fails
test_none[x] if {
	some x in [1, 2]
	x > 5
}

# case 3 fails below the point where its key is first used: still reported (OPA's test_case)
test_some[x] if {
	some x in [1, 2, 3]
	print("checking", x)
	x < 3
}

test_notes[tc.note] if {
	some tc in [{"note": "one", "v": 1}, {"note": "two", "v": 2}]
	tc.v > 0
}

test_nested[a][b] if {
	some a in [1]
	some b in ["z"]
}
`

t.test('parameterized tests: each case is checked, a case that fails anywhere fails the test', async t => {
  const dir = await policyDir({ 'p_test.rego': PARAMS })
  const results = await runTests([dir])
  const by = Object.fromEntries(results.map(r => [r.rule, r]))
  t.same(results.map(r => [r.name, r.outcome]), [
    ['data.pt.test_plain', 'PASS'], ['data.pt.test_none', 'FAIL'], ['data.pt.test_some', 'FAIL'],
    ['data.pt.test_notes', 'PASS'], ['data.pt.test_nested', 'PASS'],
  ])
  t.same(by.test_none!.cases, [{ name: '1', outcome: 'FAIL' }, { name: '2', outcome: 'FAIL' }])
  t.same(by.test_some!.cases, [{ name: '1', outcome: 'PASS' }, { name: '2', outcome: 'PASS' }, { name: '3', outcome: 'FAIL' }])
  t.same(by.test_some!.output, ['checking 1', 'checking 2', 'checking 3'], 'print output only, no case markers')
  t.same(by.test_notes!.cases, [{ name: 'one', outcome: 'PASS' }, { name: 'two', outcome: 'PASS' }])
  t.same(by.test_nested!.cases, [{ name: '1.z', outcome: 'PASS' }])

  const r = await run(['test', dir])
  t.equal(r.code, 1, 'the command fails')
  t.match(r.stdout, /data\.pt\.test_some: FAIL[^\n]*\n(?:.*\n)*? {2}3: FAIL/)
  t.notMatch(r.stdout, / {2}1: PASS/, 'passing cases only with -v')
  t.match(r.stdout, /^PASS: 3\/5$/m)
  const json = JSON.parse((await run(['test', '--format', 'json', dir])).stdout) as Array<{ name: string; sub_results?: Record<string, { fail?: boolean }> }>
  t.same(json.find(x => x.name === 'test_none')!.sub_results, { 1: { name: '1', fail: true }, 2: { name: '2', fail: true } })
})

t.test('parameterized tests named by a template string or a comprehension: the case mark goes after the variables it reads (review, session 52)', async t => {
  // $"{a}" is a comprehension whose body reads a: the mark went to the top of the body, before
  // a was bound, and the whole file failed to compile (rego_unsafe_var_error: var ? is unsafe).
  const dir = await policyDir({
    'p_test.rego': `package tp

test_tmpl[$"{a} {b}"] if {
  some [a, b] in [[1, 2], [3, 4]]
  a < b
}

test_compr[[x | x := a]] if {
  some a in [5, 6]
  a != 6
}
`,
  })
  const results = await runTests([dir])
  const by = Object.fromEntries(results.map(r => [r.rule, r]))
  t.same(results.map(r => [r.name, r.outcome]), [['data.tp.test_tmpl', 'PASS'], ['data.tp.test_compr', 'FAIL']])
  t.same(by.test_tmpl!.cases, [{ name: '1 2', outcome: 'PASS' }, { name: '3 4', outcome: 'PASS' }])
  t.same(by.test_compr!.cases?.map(c => c.outcome), ['PASS', 'FAIL'], 'a = 6 fails its case')
  const r = await run(['test', dir])
  t.equal(r.code, 1)
  t.notMatch(r.stderr, /unsafe/)
})

t.test('the case mark goes below the variables the rule itself binds, not a comprehension\'s own of the same name (review of the fixes, session 52)', async t => {
  // A body comprehension's y was taken for the head's y: the mark went below a failing check
  // and the failing case vanished (the test passed). A body comprehension's a (shadowing the
  // head's) put the mark above `some a`: the file failed to compile.
  const dir = await policyDir({
    'p_test.rego': `package tq

test_local[[y | some y in [a]]] if {
  some a in [1, 2]
  a == 1
  count([y | some y in [9]]) == 1
}

test_shadow[a] if {
  xs := [a | some a in [7]]
  some a in [1, 2]
  a == 1
}
`,
  })
  const results = await runTests([dir])
  const by = Object.fromEntries(results.map(r => [r.rule, r]))
  t.same(results.map(r => [r.name, r.outcome]), [['data.tq.test_local', 'FAIL'], ['data.tq.test_shadow', 'FAIL']])
  t.same(by.test_local!.cases?.map(c => c.outcome), ['PASS', 'FAIL'], 'the a = 2 case is reported, failing')
  t.same(by.test_shadow!.cases, [{ name: '1', outcome: 'PASS' }, { name: '2', outcome: 'FAIL' }])
})

t.test('an every reusing a head variable\'s name does not move the case mark (third review, session 52)', async t => {
  const dir = await policyDir({
    'p_test.rego': `package te

test_every[a] if {
  every a in [1] { a > 0 }
  some a in [1, 2]
  a == 1
}
`,
  })
  const results = await runTests([dir])
  t.same(results.map(r => [r.name, r.outcome]), [['data.te.test_every', 'FAIL']])
  t.same(results[0]!.cases, [{ name: '1', outcome: 'PASS' }, { name: '2', outcome: 'FAIL' }])
})
