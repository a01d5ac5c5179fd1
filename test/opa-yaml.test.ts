// src/opa-yaml.ts: YAML as current OPA's internal/yaml (go-yaml v3, PR #9174) reads and writes it.
import t from 'tap'
import { goFloat32G, parseOpaDocument, parseOpaYaml, plainIsNotString, stringifyOpaYaml, YamlReadError } from '../src/opa-yaml.js'
import { isRawJson } from '../src/exact-json.js'

const read = (s: string): unknown => parseOpaYaml(s)

t.test('plain scalars resolve by the YAML 1.2 core schema (go-yaml v3)', async t => {
  for (const s of ['true', 'True', 'TRUE']) t.same(read(`v: ${s}`), { v: true }, s)
  for (const s of ['false', 'False', 'FALSE']) t.same(read(`v: ${s}`), { v: false }, s)
  for (const s of ['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'yEs', 'oN', 'tRUE']) {
    t.same(read(`v: ${s}`), { v: s }, `${s} is a string (OPA up to 1.20 read yes/on as true)`)
  }
  for (const s of ['~', 'null', 'Null', 'NULL', '']) t.same(read(`v: ${s}`), { v: null }, `"${s}" is null`)
  const ints: Array<[string, number]> = [['0', 0], ['-0', 0], ['010', 8], ['-010', -8], ['0x1F', 31], ['0X1f', 31], ['0o17', 15], ['0O17', 15], ['0b11', 3], ['0B11', 3],
    ['-0b101', -5], ['+12', 12], ['1_000', 1000], ['1__0', 10], ['08', 8], ['09.5', 9.5]]
  for (const [s, n] of ints) t.same(read(`v: ${s}`), { v: n }, s)
  t.ok(Object.is((read('v: -0') as { v: number }).v, 0), '-0 is 0 (an integer)')
  const floats: Array<[string, number]> = [['1e3', 1000], ['1.5', 1.5], ['.5', 0.5], ['-.5', -0.5], ['+.5', 0.5], ['1.', 1], ['1e-400', 0], ['.5_5', 0.55], ['6.02E23', 6.02e23]]
  for (const [s, n] of floats) t.same(read(`v: ${s}`), { v: n }, s)
  for (const s of ['1e400', '-1e400', '0x', '0b2', '0o8', '1_0x', '190:20:30', '2001-12-14', '2001-12-14 21:59:43.10', '1.2.3', '.', '._5', '+', '0x1p-2', 'Infinity', 'NaN', '12abc']) {
    t.same(read(`v: ${s}`), { v: s }, `${s} is a string`)
  }
})

t.test('integers: int64, then uint64, then float; past 2^53 exact', async t => {
  const big = read('a: 9223372036854775807\nb: 18446744073709551615\nc: -9223372036854775808\nd: 9007199254740993') as Record<string, unknown>
  for (const [k, digits] of [['a', '9223372036854775807'], ['b', '18446744073709551615'], ['c', '-9223372036854775808'], ['d', '9007199254740993']]) {
    t.ok(isRawJson(big[k!]), `${k} kept exactly`)
    t.equal(JSON.stringify(big[k!]), digits)
  }
  // ParseUint takes no sign and stops at 2^64-1: past it the text is a float
  t.same(read('v: +18446744073709551615'), { v: 18446744073709551615 })
  t.same(read('v: 18446744073709551616'), { v: 18446744073709551616 })
  t.equal(JSON.stringify(read('v: 0x7FFFFFFFFFFFFFFF')), '{"v":9223372036854775807}')
})

t.test('quoted and block scalars are strings; explicit tags', async t => {
  t.same(read('a: "yes"\nb: \'010\'\nc: |\n  on\nd: >\n  1\n'), { a: 'yes', b: '010', c: 'on\n', d: '1\n' })
  t.same(read('a: !!int "12"\nb: !!str 12\nc: !!float 3\nd: !!bool "true"\ne: !foo on\nf: !!binary aGVsbG8=\ng: !!timestamp 2001-12-14\nh: ! 12'),
    { a: 12, b: '12', c: 3, d: true, e: 'on', f: 'hello', g: '2001-12-14', h: '12' })
  t.throws(() => read('a: !!bool "yes"'), /cannot decode !!str `yes` as a !!bool/)
  t.throws(() => read('a: !!int abc'), { name: 'YamlReadError', message: 'cannot decode !!str `abc` as a !!int at line 1, column 10' })
  t.throws(() => read('a: !!bool 1'), /cannot decode !!int `1` as a !!bool/)
  t.throws(() => read('a: !!binary "a"'), /invalid base64/)
  t.same(read('!!set {a, b}'), { a: null, b: null })
})

t.test('keys become strings as OPA\'s keyString makes them', async t => {
  t.same(read('on: 1\nno: 2\n10: 3\n0x10: 4\n1.5: 5\n1e6: 6\n0.1: 7\n3.14159265358979: 8\n.inf: 9\ntrue: 10\n2001-12-14: 11\n18446744073709551615: 12'),
    { on: 1, no: 2, 10: 3, 16: 4, 1.5: 5, '1e+06': 6, 0.1: 7, 3.1415927: 8, '.inf': 9, true: 10, '2001-12-14': 11, '18446744073709551615': 12 },
    'on: push is the key "on" (OPA issue 5754); a uint64 key is its digits')
  t.throws(() => read('~: 1'), { message: 'a map key cannot be null at line 1, column 1' })
  t.throws(() => read(': 1'), /map key cannot be null/)
  t.throws(() => read('[1, 2]: 1'), /map key must be a scalar/)
  t.same(read('__proto__: 1'), JSON.parse('{"__proto__": 1}'), '__proto__ is an own key, not a prototype')
  t.equal(Object.getPrototypeOf(read('__proto__: {polluted: 1}')), Object.prototype)
})

t.test('documents: first only, later keys win, merges, aliases', async t => {
  t.same(read('a: 1\n---\nb: 2\n'), { a: 1 }, 'later documents are not read')
  t.throws(() => read('a: 1\n---\nb: [\n'), YamlReadError, 'but they must parse (OPA issue 6854)')
  t.equal(read(''), null)
  t.equal(read('# only a comment\n'), null)
  t.same(read('a: 1\na: 2'), { a: 2 })
  t.same(read('y: 1\nn: 2'), { y: 1, n: 2 }, 'y and n are strings, as keys too')
  t.same(read('b: &b {x: 1, z: 2}\nbefore: {x: 0, <<: *b}\nafter: {<<: *b, x: 0}\nlist: {<<: [{a: 1}, {a: 2, c: 2}]}\ntwice: {<<: {a: 1}, <<: {a: 2, b: 2}}'),
    { b: { x: 1, z: 2 }, before: { x: 0, z: 2 }, after: { x: 0, z: 2 }, list: { a: 1, c: 2 }, twice: { a: 1, b: 2 } },
    'go-yaml v3: the mapping\'s own keys win wherever << stands; among merged maps the first wins; repeated << keys are one list')
  t.same(read('base: &base {a: 1, b: 1}\nmid: &mid {<<: *base, b: 2, c: 2}\ntop: {<<: *mid, c: 3}'),
    { base: { a: 1, b: 1 }, mid: { a: 1, b: 2, c: 2 }, top: { a: 1, b: 2, c: 3 } }, 'nested merges')
  t.same(read('"<<": {a: 1}'), { '<<': { a: 1 } }, 'a quoted << is a key')
  t.throws(() => read('a: {<<: 1}'), /map merge requires map or sequence of maps/)
  t.same(read('a: &x [1, 2]\nb: *x'), { a: [1, 2], b: [1, 2] })
  t.throws(() => read('a: &x [1, *x]'), /refers to itself/)
  const bomb = ['a: &a [1,1,1,1,1,1,1,1,1,1]', ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill('*' + 'abcdefghi'[i]).join(',')}]`)].join('\n')
  t.throws(() => parseOpaYaml(bomb), { name: 'YamlReadError', message: /excessive aliasing/ })
})

t.test('values with no JSON form, and invalid YAML, are errors that name the line', async t => {
  t.throws(() => read('a: 1\nb: .inf'), { message: 'Infinity has no JSON form at line 2, column 4' })
  t.throws(() => read('a: .nan'), /NaN has no JSON form/)
  const e = t.throws(() => read('a: 1\nb: [\n')) as unknown
  t.ok(e instanceof YamlReadError)
  t.match((e as Error).message, /at line \d+, column \d+$/)
})

t.test('parseOpaDocument: JSON read as JSON (exactly), a BOM skipped, else YAML', async t => {
  t.equal(JSON.stringify(parseOpaDocument('\ufeff{"a": 9007199254740993, "b": "on"}')), '{"a":9007199254740993,"b":"on"}')
  t.same(parseOpaDocument('enabled: yes\nmode: 0644\non: true'), { enabled: 'yes', mode: 420, on: true })
})

t.test('goFloat32G is Go\'s FormatFloat(f, \'g\', -1, 32)', async t => {
  const cases: Array<[number, string]> = [[0.1, '0.1'], [1.5, '1.5'], [1e6, '1e+06'], [123456, '123456'], [1234567, '1.234567e+06'], [3.14159265358979, '3.1415927'],
    [1e-5, '1e-05'], [0.0001, '0.0001'], [-2.5, '-2.5'], [100, '100'], [1e21, '1e+21'], [1e-45, '1e-45'], [-0, '-0'], [Infinity, '.inf'], [-Infinity, '-.inf'], [NaN, '.nan']]
  for (const [f, s] of cases) t.equal(goFloat32G(f), s, String(f))
})

t.test('stringifyOpaYaml round-trips through parseOpaYaml', async t => {
  const tricky = ['yes', 'No', 'ON', 'y', '010', '0o17', '0X1F', '1_000', '1e3', '.5', '1.', '-.inf', '.NaN', '~', 'null', '', '2001-12-14', '190:20:30',
    '+12', '08', '1e400', '0x', 'plain', 'with: colon', '- dash', '#hash', 'multi\nline', ' lead', 'trail ', '"q"', "'s'", '<<', '@at', '%pct', '{a}', '[1]']
  const obj: Record<string, unknown> = { list: tricky, nested: { n: [{ o: 1 }, 2.5, null, true] } }
  tricky.forEach((s, i) => { obj[`k${i}`] = s })
  t.same(parseOpaYaml(stringifyOpaYaml(obj)), obj)
  for (const s of tricky) t.same(parseOpaYaml(stringifyOpaYaml({ [s]: s })), { [s]: s }, `key ${JSON.stringify(s)}`)
  t.equal(stringifyOpaYaml({ a: [1, 2], b: 'yes' }), 'a:\n  - 1\n  - 2\nb: "yes"\n', 'go-yaml v3 at indent 2; the YAML 1.1 booleans stay quoted')
  t.equal(stringifyOpaYaml({ big: JSON.parse('1', () => (JSON as unknown as { rawJSON (s: string): unknown }).rawJSON('9007199254740993')) }), 'big: 9007199254740993\n')
  t.ok(plainIsNotString('on') && plainIsNotString('190:20:30') && !plainIsNotString('plain'))
})

t.test('aliases resolve to the last node anchored before them, in one pass over the document', async (t) => {
  t.same(parseOpaYaml('a: &x 1\nb: *x\nc: &x 2\nd: *x\n'), { a: 1, b: 1, c: 2, d: 2 }, 'a later anchor of the same name applies only after it')
  t.throws(() => parseOpaYaml('a: &x [*x]\n'), /anchor x refers to itself/)
  t.throws(() => parseOpaYaml('a: *nope\n'), /unknown anchor nope/)
  // 16,384 aliases: the library's resolve walked the document for each one (~28 s); now one pass.
  const v = parseOpaYaml('a: &a x\nb: [' + Array.from({ length: 16384 }, () => '*a').join(', ') + ']\n') as { b: string[] }
  t.equal(v.b.length, 16384)
  t.ok(v.b.every((x) => x === 'x'))
})
