import t from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import type { Body, Expr, Module, Rule, Term } from '../../src/compiler/ast/index.js'
import { parseModule, parseQuery, parseTerm } from '../../src/compiler/parser/index.js'

// ---------------------------------------------------------------- helpers

// Compact, unambiguous rendering of AST nodes so assertions stay readable. Operators appear as
// the calls the parser produced (plus(1, 2)), refs with a non-var head are parenthesised.
const ID = /^[A-Za-z_][A-Za-z0-9_]*$/
function pt (x: Term): string {
  switch (x.type) {
    case 'null': return 'null'
    case 'boolean': return String(x.value)
    case 'number': return x.raw
    case 'string': return JSON.stringify(x.value)
    case 'var': return x.name
    case 'ref': {
      let s = x.head.type === 'var' ? x.head.name : `(${pt(x.head)})`
      for (const p of x.path) s += p.type === 'string' && ID.test(p.value) ? `.${p.value}` : `[${pt(p)}]`
      return s
    }
    case 'array': return `[${x.items.map(pt).join(', ')}]`
    case 'set': return x.items.length === 0 ? 'set()' : `{${x.items.map(pt).join(', ')}}`
    case 'object': return `{${x.entries.map(([k, v]) => `${pt(k)}: ${pt(v)}`).join(', ')}}`
    case 'arraycompr': return `[${pt(x.term)} | ${pb(x.body)}]`
    case 'setcompr': return `{${pt(x.term)} | ${pb(x.body)}}`
    case 'objectcompr': return `{${pt(x.key)}: ${pt(x.value)} | ${pb(x.body)}}`
    case 'call': return `${x.name}(${x.args.map(pt).join(', ')})`
  }
}
function pe (e: Expr): string {
  let s = e.negated ? 'not ' : ''
  const k = e.kind
  switch (k.type) {
    case 'term': s += pt(k.term); break
    case 'unify': s += `${pt(k.left)} = ${pt(k.right)}`; break
    case 'assign': s += `${pt(k.left)} := ${pt(k.right)}`; break
    case 'some': s += `some ${k.vars.map(pt).join(', ')}`; break
    case 'somein': s += `some ${k.key !== undefined ? pt(k.key) + ', ' : ''}${pt(k.value)} in ${pt(k.collection)}`; break
    case 'every':
      s += `every ${k.key !== undefined ? pt(k.key) + ', ' : ''}${pt(k.value)} in ${pt(k.collection)} { ${pb(k.body)} }`
      break
  }
  for (const w of e.with) s += ` with ${pt(w.target)} as ${pt(w.value)}`
  return s
}
function pb (b: Body): string { return b.map(pe).join('; ') }
function pr (r: Rule, isElse = false): string {
  let s = isElse ? 'else' : (r.default ? 'default ' : '') + pt({ type: 'ref', head: r.ref[0], path: r.ref.slice(1), loc: r.loc })
  if (!isElse && r.args !== undefined) s += `(${r.args.map(pt).join(', ')})`
  if (r.key !== undefined) s += ` contains ${pt(r.key)}`
  if (r.value !== undefined) s += ` ${r.assign ? ':=' : '='} ${pt(r.value)}`
  if (r.body.length > 0) s += ` if { ${pb(r.body)} }`
  if (r.else !== undefined) s += ' ' + pr(r.else, true)
  return s
}

function mod (src: string): Module {
  const r = parseModule(src, 'test.rego')
  if (r.module === null) throw new Error('parse failed: ' + r.diagnostics.map(d => `${d.loc.line}:${d.loc.col} ${d.message}`).join('; '))
  return r.module
}
function rules (src: string): string[] { return mod('package test\n' + src).rules.map(r => pr(r)) }
function q (src: string): string {
  const r = parseQuery(src)
  if (r.body === null) throw new Error('parse failed: ' + r.diagnostics.map(d => `${d.loc.line}:${d.loc.col} ${d.message}`).join('; '))
  return pb(r.body)
}
function term (src: string): string {
  const r = parseTerm(src)
  if (r.term === null) throw new Error('parse failed: ' + r.diagnostics.map(d => d.message).join('; '))
  return pt(r.term)
}
// Diagnostics as `line:col message`; a non-null result or a wrong code shows up in the list.
function errs (src: string): string[] {
  const r = parseModule(src, 'e.rego')
  return [
    ...(r.module !== null ? ['module is not null'] : []),
    ...r.diagnostics.map(d => `${d.code === 'rego_parse_error' ? '' : d.code + ' '}${d.loc.line}:${d.loc.col} ${d.message}`),
  ]
}
function qerrs (src: string): string[] {
  const r = parseQuery(src, 'q')
  return [
    ...(r.body !== null ? ['body is not null'] : []),
    ...r.diagnostics.map(d => `${d.loc.line}:${d.loc.col} ${d.message}`),
  ]
}

// ---------------------------------------------------------------- package / imports

t.test('package and imports', async t => {
  const m = mod([
    'package a.b["c-d"]',
    'import rego.v1',
    'import future.keywords',
    'import future.keywords.in',
    'import data.x.y',
    'import data.x as z',
    'import input.foo',
    'import input',
  ].join('\n'))
  t.equal(m.file, 'test.rego')
  t.same(m.package.path.map(pt), ['"a"', '"b"', '"c-d"'])
  t.same(m.package.loc, { file: 'test.rego', line: 1, col: 1 })
  t.same(m.imports.map(i => [pt(i.path), i.alias]), [
    ['rego.v1', undefined], ['future.keywords', undefined], ['future.keywords.in', undefined],
    ['data.x.y', undefined], ['data.x', 'z'], ['input.foo', undefined], ['input', undefined],
  ])
  t.match(m.imports[0].path, { type: 'ref', head: { type: 'var', name: 'rego' }, path: [{ type: 'string', value: 'v1' }] })
  t.match(m.imports[6].path, { type: 'ref', head: { type: 'var', name: 'input' }, path: [] }, 'import paths are always refs')
  t.same(m.imports[4].loc, { file: 'test.rego', line: 6, col: 1 })
  t.same(m.rules, [])
})

// ---------------------------------------------------------------- rules

t.test('rule heads', async t => {
  t.same(rules([
    'p := 1',
    'p = 2',
    'p if { true }',
    'p if input.x == 1',
    'p := v if { v := 1 }',
    'default p := false',
    'default f(_) := 1',
    'default a.b.c := "d"',
    'p contains x if { x := 1 }',
    'p contains "a"',
    'p[k] := v if { k := 1; v := 2 }',
    'a.b[x].c := y if { x := 1; y := 2 }',
    'p[x] if { x := 1 }',
    'p.q.r if { true }',
    'f(x) := y if { y := x }',
    'f(x, [a, b]) if { x }',
    'f(x) = y',
    'f() := 1',
  ].join('\n')), [
    'p := 1',
    'p = 2',
    'p if { true }',
    'p if { equal(input.x, 1) }',
    'p := v if { v := 1 }',
    'default p := false',
    'default f(_) := 1',
    'default a.b.c := "d"',
    'p contains x if { x := 1 }',
    'p contains "a"',
    'p[k] := v if { k := 1; v := 2 }',
    'a.b[x].c := y if { x := 1; y := 2 }',
    'p[x] if { x := 1 }',
    'p.q.r if { true }',
    'f(x) := y if { y := x }',
    'f(x, [a, b]) if { x }',
    'f(x) = y',
    'f := 1', // an empty argument list is no function: OPA reads `f() := 1` as the rule `f := 1`
  ])
})

t.test('rule AST shapes', async t => {
  const m = mod('package test\n\np[k] := v if {\n  k := 1\n  v := 2\n}\nq contains x if x := 1\ndefault f(_) := 1\nr.s["t"] if true\n')
  const [p, qq, f, r] = m.rules
  t.same(p.loc, { file: 'test.rego', line: 3, col: 1 })
  t.match(p, {
    default: false,
    ref: [{ type: 'var', name: 'p' }, { type: 'var', name: 'k' }],
    value: { type: 'var', name: 'v' },
    assign: true,
  })
  t.equal(p.key, undefined)
  t.equal(p.args, undefined)
  t.equal(p.body.length, 2)
  t.same(p.body[1].loc, { file: 'test.rego', line: 5, col: 3 })
  t.match(qq, { ref: [{ type: 'var', name: 'q' }], key: { type: 'var', name: 'x' }, assign: false })
  t.equal(qq.value, undefined)
  t.match(qq.body, [{ kind: { type: 'assign' } }])
  t.match(f, { default: true, args: [{ type: 'var', name: '_' }], value: { type: 'number', raw: '1' }, assign: true, body: [] })
  t.match(r, { ref: [{ type: 'var', name: 'r' }, { type: 'string', value: 's' }, { type: 'string', value: 't' }] })
  t.equal(r.value, undefined, 'value absent means true')
  t.equal(r.ref[1].loc.col, 3)
})

t.test('else chains', async t => {
  t.same(rules([
    'p := 1 if { false } else := 2 if { true } else := 3',
    'q = x if { false } else = y if { y := 1 }',
    'r if { false } else if { true }',
    'f(x) := "big" if { x > 10 } else := "small"',
    's := 1 if false else := 2 if true',
  ].join('\n')), [
    'p := 1 if { false } else := 2 if { true } else := 3',
    'q = x if { false } else = y if { y := 1 }',
    'r if { false } else if { true }',
    'f(x) := "big" if { gt(x, 10) } else := "small"',
    's := 1 if { false } else := 2 if { true }',
  ])
  const m = mod('package t\nf(x) := 1 if {\n  x\n}\nelse := 2 if {\n  true\n} else := 3\n')
  const f = m.rules[0]
  t.equal(m.rules.length, 1, 'else on its own line continues the rule')
  t.match(f.else, { loc: { line: 5, col: 1 }, value: { raw: '2' }, assign: true, args: [{ name: 'x' }] })
  t.match(f.else?.else, { loc: { line: 7, col: 3 }, value: { raw: '3' }, body: [] })
  t.equal(f.else?.else?.else, undefined)
  const r = mod('package t\nr if { false } else if { true }').rules[0]
  t.equal(r.else?.value, undefined, 'else without value means true')
  t.same(r.else?.ref, r.ref)
})

t.test('if-bodies that start with an object/set term', async t => {
  t.same(rules('f(x) := object.union_n(x) if {x: i | x := ["a", "a"][i]}'), [
    'f(x) := object.union_n(x) if { {x: i | x := (["a", "a"])[i]} }',
  ])
  t.same(rules('p if {1, 2} == {2, 1}'), ['p if { equal({1, 2}, {2, 1}) }'])
  t.same(rules('p if { x := 1 }\nq if { y }'), ['p if { x := 1 }', 'q if { y }'])
})

// ---------------------------------------------------------------- expressions

t.test('expression kinds', async t => {
  t.same(q('data.p = x'), 'data.p = x')
  t.same(q('x := data.a[_]; y = 1'), 'x := data.a[_]; y = 1')
  t.same(q('data.authz.allow'), 'data.authz.allow')
  t.same(q('x\ny\n\n  z'), 'x; y; z')
  t.same(q('not x; not f(x) == 1'), 'not x; not equal(f(x), 1)')
  t.same(q('some x, y'), 'some x, y')
  t.same(q('some x in xs'), 'some x in xs')
  t.same(q('some k, v in xs'), 'some k, v in xs')
  t.same(q('some [a, b] in [[1, 2]]'), 'some [a, b] in [[1, 2]]')
  t.same(q('every x in xs { x > 1 }'), 'every x in xs { gt(x, 1) }')
  t.same(q('every k, v in {"a": 1} {\n  k == "a"\n  v == 1\n}'), 'every k, v in {"a": 1} { equal(k, "a"); equal(v, 1) }')
  t.same(q('x in xs'), 'internal.member_2(x, xs)')
  t.same(q('k, v in xs'), 'internal.member_3(k, v, xs)')
  t.same(q('x := k, v in xs'), 'x := internal.member_3(k, v, xs)')
  t.same(q('f(k, v in xs)'), 'f(k, internal.member_2(v, xs))', 'no 3-ary member in call args')
  t.same(q('[k, v in xs]'), '[k, internal.member_2(v, xs)]', 'no 3-ary member in arrays')
  t.same(q('{k, v in xs}'), '{k, internal.member_2(v, xs)}', 'no 3-ary member in sets')
  t.same(q('(k, v in xs)'), 'internal.member_3(k, v, xs)', '3-ary member in parentheses')
  t.same(q('1, 2 in [2] in [true]'), 'internal.member_2(internal.member_3(1, 2, [2]), [true])')
  t.same(q('x with input.a as 1 with data.b as y'), 'x with input.a as 1 with data.b as y')
  t.same(q('not p with input as {"a": [1]}'), 'not p with input as {"a": [1]}')
  t.same(q('f(1) with f as g'), 'f(1) with f as g')
  t.same(q('some x in xs with input as 1'), 'some x in xs with input as 1')

  const body = parseQuery('not x with input as 1').body
  t.match(body, [{ negated: true, kind: { type: 'term', term: { type: 'var', name: 'x' } }, with: [{ target: { type: 'var', name: 'input' }, value: { raw: '1' }, loc: { col: 7 } }] }])
  const s = parseQuery('some x, _').body
  t.match(s, [{ kind: { type: 'some', vars: [{ type: 'var', name: 'x' }, { type: 'var', name: '_' }] } }])
  const si = parseQuery('some x in xs').body
  t.match(si, [{ kind: { type: 'somein', value: { name: 'x' }, collection: { name: 'xs' } } }])
  t.notOk(si !== null && si[0].kind.type === 'somein' && 'key' in si[0].kind && si[0].kind.key !== undefined, 'no key for one-variable some-in')
  const ev = parseQuery('every k, v in xs { v }').body
  t.match(ev, [{ kind: { type: 'every', key: { name: 'k' }, value: { name: 'v' }, collection: { type: 'var', name: 'xs' }, body: [{ kind: { type: 'term' } }] } }])
})

t.test('operator precedence and associativity', async t => {
  t.equal(q('x := 1 + 2 * 3'), 'x := plus(1, mul(2, 3))')
  t.equal(q('(1 + 2) * 3'), 'mul(plus(1, 2), 3)')
  t.equal(q('1 - 2 - 3'), 'minus(minus(1, 2), 3)', 'left associative')
  t.equal(q('8 / 4 / 2'), 'div(div(8, 4), 2)')
  t.equal(q('a % b * c'), 'mul(rem(a, b), c)')
  t.equal(q('a + b == c - d'), 'equal(plus(a, b), minus(c, d))')
  t.equal(q('a & b | c & d'), 'or(and(a, b), and(c, d))')
  t.equal(q('a | b == c'), 'equal(or(a, b), c)', 'set ops bind tighter than relational (OPA)')
  t.equal(q('a & b + c'), 'and(a, plus(b, c))')
  t.equal(q('a < b'), 'lt(a, b)')
  t.equal(q('a <= b'), 'lte(a, b)')
  t.equal(q('a > b'), 'gt(a, b)')
  t.equal(q('a >= b'), 'gte(a, b)')
  t.equal(q('a != b'), 'neq(a, b)')
  t.equal(q('a == b == c'), 'equal(equal(a, b), c)')
  t.equal(q('a == b in c'), 'internal.member_2(equal(a, b), c)', 'in binds loosest')
  t.equal(q('x = a in b'), 'x = internal.member_2(a, b)')
  t.equal(q('x := y == z'), 'x := equal(y, z)')
  t.equal(q('x := -1'), 'x := -1')
  t.equal(q('x := -y'), 'x := minus(0, y)')
  t.equal(q('x := 1 - -1'), 'x := minus(1, -1)')
  t.equal(q('x := a-1'), 'x := minus(a, 1)')
  t.equal(q('x := -a.b * 2'), 'x := mul(minus(0, a.b), 2)', 'unary minus binds tighter than *')
  t.equal(q('x := 2 * -3'), 'x := mul(2, -3)')
  const call = parseQuery('a + b').body?.[0]
  t.match(call, { kind: { type: 'term', term: { type: 'call', name: 'plus', args: [{ name: 'a' }, { name: 'b' }], loc: { col: 1 } } } })
})

t.test('newlines', async t => {
  t.equal(q('x := 1 +\n  2'), 'x := plus(1, 2)', 'operator at end of line continues')
  t.equal(q('x := 1\n  + 2'), 'x := plus(1, 2)', 'operator other than - at start of line continues')
  // OPA's arithmetic takes the operator on the next line whatever it is (parseTermArith does not
  // look at newlines): a deny rule written this way fires there, so it must here.
  t.equal(q('x := a\n-1 < b'), 'x := lt(minus(a, 1), b)', '- at start of line continues, as in OPA')
  t.equal(q('x := a\n- b'), 'x := minus(a, b)')
  t.equal(q('x := [1,\n 2,\n]'), 'x := [1, 2]')
  t.equal(q('x := f(\n  1,\n  2\n)'), 'x := f(1, 2)')
  t.equal(q('x := (1\n - 2)'), 'x := minus(1, 2)', 'newlines are insignificant inside parentheses')
  t.equal(q('x := {"a": 1,\n "b": 2}'), 'x := {"a": 1, "b": 2}')
  t.equal(q('x = [1]\n[y] = x'), 'x = [1]; [y] = x', 'a [ on a new line is not a ref')
  t.equal(q('x := [y |\n  y := 1\n  z := 2; w\n]'), 'x := [y | y := 1; z := 2; w]')
  t.equal(q('x := 1 # comment\ny := 2'), 'x := 1; y := 2')
  t.equal(q('x := 1;\ny := 2;'), 'x := 1; y := 2')
  t.equal(q('x := 1\r\ny := 2'), 'x := 1; y := 2')
})

// ---------------------------------------------------------------- terms

t.test('scalars', async t => {
  t.equal(term('null'), 'null')
  t.equal(term('true'), 'true')
  t.equal(term('false'), 'false')
  t.equal(term('1e3'), '1e3')
  t.equal(term('1.5'), '1.5')
  t.equal(term('-1'), '-1')
  t.equal(term('12345678901234567890123456789'), '12345678901234567890123456789')
  t.match(parseTerm('-1.5e3').term, { type: 'number', raw: '-1.5e3' })
  t.match(parseTerm('"a\\u00e9\\ud83d\\ude00\\n"').term, { type: 'string', value: 'aé😀\n' })
  t.match(parseTerm('`a\\b\nc`').term, { type: 'string', value: 'a\\b\nc' })
  t.match(parseTerm('x').term, { type: 'var', name: 'x', loc: { file: 'term', line: 1, col: 1 } })
  t.match(parseTerm('_').term, { type: 'var', name: '_' })
})

t.test('refs and calls', async t => {
  t.match(parseTerm('input.a["b"][x][0]').term, {
    type: 'ref',
    head: { type: 'var', name: 'input' },
    path: [{ type: 'string', value: 'a' }, { type: 'string', value: 'b' }, { type: 'var', name: 'x' }, { type: 'number', raw: '0' }],
  })
  t.equal(term('[1, 2][0]'), '([1, 2])[0]')
  t.equal(term('{"a": 1}.a'), '({"a": 1}).a')
  t.equal(term('data.x[y.z]'), 'data.x[y.z]')
  t.equal(term('input.if.contains'), 'input.if.contains', 'keywords are fine after a dot')
  t.match(parseTerm('count(x)').term, { type: 'call', name: 'count', args: [{ type: 'var', name: 'x' }] })
  t.match(parseTerm('io.jwt.decode(t)').term, { type: 'call', name: 'io.jwt.decode' })
  t.match(parseTerm('data.lib.f(1, 2)').term, { type: 'call', name: 'data.lib.f', args: [{ raw: '1' }, { raw: '2' }] })
  t.equal(term('f()'), 'f()')
  t.equal(term('f(1,)'), 'f(1)')
  t.equal(term('split(s, ".")[0]'), '(split(s, "."))[0]', 'refs on call results')
  t.equal(term('contains("abc", "b")'), 'contains("abc", "b")', 'contains is also a builtin')
  t.equal(term('[1] [2]'.replace(' ', '')), '([1])[2]')
})

t.test('composites and comprehensions', async t => {
  t.equal(term('[]'), '[]')
  t.equal(term('[1, "a", [true]]'), '[1, "a", [true]]')
  t.equal(term('{}'), '{}')
  t.match(parseTerm('{}').term, { type: 'object', entries: [] })
  t.equal(term('set()'), 'set()')
  t.match(parseTerm('set()').term, { type: 'set', items: [] })
  t.equal(term('{1, 2,}'), '{1, 2}')
  t.equal(term('{"a": 1, [1]: {2}, x: y,}'), '{"a": 1, [1]: {2}, x: y}')
  t.equal(term('{1}'), '{1}')
  t.equal(term('[x | x := xs[_]]'), '[x | x := xs[_]]')
  t.equal(term('{x | some x in xs}'), '{x | some x in xs}')
  t.equal(term('{k: v | some k, v in o; v > 1}'), '{k: v | some k, v in o; gt(v, 1)}')
  t.equal(term('[x + 1 | x := xs[_]]'), '[plus(x, 1) | x := xs[_]]')
  t.equal(term('[a | b]'), '[a | b]', 'a bare | after the first element makes a comprehension')
  t.equal(term('[(a | b)]'), '[or(a, b)]')
  t.equal(term('[1, a | b]'), '[1, or(a, b)]')
  t.equal(term('(1 + 2) * 3'), 'mul(plus(1, 2), 3)')
  t.match(parseTerm('{k: v | k = 1}').term, { type: 'objectcompr', key: { name: 'k' }, value: { name: 'v' }, body: [{ kind: { type: 'unify' } }] })
  t.match(parseTerm('[x | x = 1]').term, { type: 'arraycompr', term: { name: 'x' } })
  t.match(parseTerm('{x | x = 1}').term, { type: 'setcompr', term: { name: 'x' } })
  t.equal(term('[[x | x = 1][0] | true]'), '[([x | x = 1])[0] | true]')
  // A key written twice is one key: its first place, the last value (OPA's parser inserts the
  // pairs into one object), so {"a": x, "a": y} never becomes an evaluation conflict.
  t.equal(term('{"a": 1, "b": 2, "a": 3}'), '{"a": 3, "b": 2}')
  t.equal(term('{"a": x, "a": y}'), '{"a": y}')
  t.equal(term('{x: 1, y: 2, x: 3}'), '{x: 3, y: 2}')
  t.equal(term('{input.k: 1, input.k: 2, input.j: 3}'), '{input.k: 2, input.j: 3}')
  t.equal(term('{[1, {"b": c}]: 1, [1, {"b": c}]: 2}'), '{[1, {"b": c}]: 2}')
  t.equal(term('{_: 1, _: 2}'), '{_: 1, _: 2}', 'every _ is a variable of its own')
  t.equal(term('{1: "x", 1.0: "y"}'), '{1: "y"}', 'an integer, then the same number')
  t.equal(term('{1.0: "y", 1: "x"}'), '{1.0: "y", 1: "x"}', 'not the other way round (as OPA)')
  t.equal(term('{"1": 1, 1: 2}'), '{"1": 1, 1: 2}', 'a string is not a number')
})

t.test('locations', async t => {
  const m = parseModule('package t\n\nallow if {\n\tinput.user == "bob"\n\tcount(xs) > 1\n}\n', 'policy.rego').module
  t.ok(m)
  const r = m!.rules[0]
  t.same(r.loc, { file: 'policy.rego', line: 3, col: 1 })
  t.same(r.ref[0].loc, { file: 'policy.rego', line: 3, col: 1 })
  const e1 = r.body[0]
  t.same(e1.loc, { file: 'policy.rego', line: 4, col: 2 })
  t.match(e1.kind, {
    type: 'term',
    term: {
      type: 'call',
      name: 'equal',
      loc: { line: 4, col: 2 },
      args: [
        { type: 'ref', loc: { line: 4, col: 2 }, path: [{ value: 'user', loc: { line: 4, col: 8 } }] },
        { type: 'string', loc: { line: 4, col: 16 } },
      ],
    },
  })
  t.match(r.body[1].kind, { term: { name: 'gt', args: [{ name: 'count', loc: { line: 5, col: 2 } }, { loc: { line: 5, col: 14 } }] } })
  const qb = parseQuery('x := 1;  y := 2\n  not z', 'q.rego').body!
  t.same(qb.map(e => [e.loc.line, e.loc.col]), [[1, 1], [1, 10], [2, 3]])
  t.equal(qb[0].loc.file, 'q.rego')
  t.equal(parseQuery('x').body![0].loc.file, 'query', 'default query file name')
})

// ---------------------------------------------------------------- errors

t.test('v1 requires if before a rule body', async t => {
  t.same(errs('package t\n\np {\n  true\n}\n'), ['3:3 `if` keyword is required before rule body'])
  t.same(errs('package t\n\np := 1 if { false } else := 2 {\n  true\n}\n'), ['3:31 `if` keyword is required before rule body'])
})

t.test('several errors in one file, with recovery', async t => {
  const src = [
    'package t', //      1
    'p { true }', //     2  v0 body
    'q := 1 +', //       3
    '', //               4
    'r := [1, 2', //     5  unclosed
    's := 1', //         6
    't if {', //         7
    '  x = ', //         8
    '  y z', //          9  junk after expression
    '  w := 1 2', //     10 second error in same body
    '  v := 3', //       11
    '}', //              12
    'u := "abc', //      13 lexer error
    'ok := 1', //        14
  ].join('\n')
  t.same(errs(src), [
    '2:3 `if` keyword is required before rule body',
    // `q := 1 +` continues onto the next line: `q := 1 + r`, then `:=` starts no statement
    '5:3 unexpected := token: expected rule',
    '9:5 unexpected identifier z: expected newline or ; or }',
    '10:10 unexpected number 2: expected newline or ; or }',
    '13:6 non-terminated string',
  ])
})

t.test('error messages', async t => {
  t.same(errs(''), ['1:1 empty module'])
  t.same(errs('p := 1'), ['1:1 unexpected identifier p: expected package'])
  t.same(errs('package t\np if {}'), ['2:6 found empty body'])
  t.same(errs('package t\ndefault p'), ['2:9 default rule p must have a value (:= or =)'])
  t.same(errs('package t\ndefault p := 1 if { true }'), ['2:16 default rules must not have a body'])
  t.same(errs('package t\ndefault p[x] := 1'), ['2:9 default rule p[x] must not have variables in its reference'])
  // OPA's parser: a default value is a constant (comprehensions aside); default function arguments are distinct variables
  t.same(errs('package t\ndefault p := input.x'), ['2:1 illegal default rule (value cannot contain ref)'])
  t.same(errs('package t\ndefault p := [1, {"a": x}]'), ['2:1 illegal default rule (value cannot contain var)'])
  t.same(errs('package t\ndefault p := count([1])'), ['2:1 illegal default rule (value cannot contain call)'])
  t.same(errs('package t\ndefault p := 1 + 2'), ['2:1 illegal default rule (value cannot contain call)'])
  t.same(errs('package t\ndefault p := [x | x := 1]'), ['module is not null'], 'a comprehension is a closure (parses)')
  t.same(errs('package t\ndefault p := {"a": [1, -2.5], "b": null}'), ['module is not null'], 'constants parse')
  t.same(errs('package t\ndefault f(x, x) := 1'), ['2:1 illegal default rule (arguments cannot be repeated x)'])
  t.same(errs('package t\ndefault f(1) := 1'), ['2:1 illegal default rule (arguments cannot contain number)'])
  t.same(errs('package t\ndefault f(_, _) := 1'), ['module is not null'], 'wildcards are distinct (parses)')
  t.same(errs('package t\np contains x if { x := 1 } else := 2'), ['2:28 else keyword cannot be used on multi-value rules'])
  // OPA's parser: a scalar is not a reference head ("abc"[0] is refused, not undefined)
  t.same(errs('package t\np := "abc"[0]'), ['2:6 illegal ref (head cannot be string)'])
  t.same(errs('package t\np := `abc`.x'), ['2:6 illegal ref (head cannot be string)'])
  t.same(errs('package t\np := 1[0]'), ['2:6 illegal ref (head cannot be number)'])
  t.same(errs('package t\np if { true.x }'), ['2:8 illegal ref (head cannot be boolean)'])
  t.same(errs('package t\np := null[0]'), ['2:6 illegal ref (head cannot be null)'])
  t.same(errs('package t\np := [1, 2][0]'), ['module is not null'], 'collections are reference heads')
  t.same(errs('package t\np'), ['2:1 rule p must have a value, a contains term or an if body'])
  // OPA's parser reads statements one after another, newline or not
  t.same(errs('package t\np := 1 q := 2'), ['module is not null'])
  const one = parseModule('package t p := x if { x := 1 } q := 2', 'one.rego')
  t.same(one.module?.rules.map(r => pt(r.ref[0]!)), ['p', 'q'], 'a package, a rule with a body and a rule, on one line (a YAML-folded module in OPA\'s tests)')
  // OPA reads an import after a rule (its parser's TestComments); a language import there is refused
  const late = parseModule('package t\nimport data.x\np := 1\nimport data.y', 'e.rego')
  t.same([late.diagnostics, late.module?.imports.length], [[], 2])
  t.same(errs('package t\np := 1\nimport rego.v1'), ['3:1 imports must appear before rules'])
  t.same(errs('package t\npackage u'), ['2:1 unexpected package keyword: only one package declaration is allowed'])
  t.same(errs('package t\nif := 1'), ['2:1 unexpected if keyword: expected rule'])
  t.same(errs('package t\np := [1, 2'), ['2:11 unexpected end of file: expected , or ]'])
  t.same(errs('package t\np := x if { x := not }'), ['2:18 unexpected not keyword: expected term'])
  t.same(errs('package t\np := _(1)'), ['2:7 invalid function name: calls need a name like f or a.b.f'])
  t.same(errs('package t\np if { x with 1 as 2 }'), ['2:10 with target must be a reference or a function name'])
  t.same(errs('package t\np if { some 1 }'), ['2:13 unexpected number 1: expected variable name after some'])
  t.same(errs('package t\np if { every x { true } }'), ['2:16 unexpected { token: expected in'])
  t.same(errs('package t\nimport data.x as if'), ['2:18 unexpected if keyword: expected import alias (a variable name)'])
  t.same(errs('package a.\np := 1'), ['2:1 unexpected identifier p: expected identifier after . in package path'])
  t.same(errs('package t\np := {1: }'), ['2:10 unexpected } token: expected term'])
  t.same(errs('package t\np := [x | ]'), ['2:11 found empty body'])
  t.same(errs('package t\np := 1 if { false } else'), ['2:21 else keyword must be followed by a value or an if body'])
  t.same(errs('package t\np if {'), ['2:7 unexpected end of file: expected }'])
})

t.test('query errors', async t => {
  t.same(qerrs(''), ['1:1 empty query'])
  t.same(qerrs('x = 1 2'), ['1:7 unexpected number 2: expected newline or ;'])
  t.same(qerrs('x = 1 2\ny z\nw := 1'), ['1:7 unexpected number 2: expected newline or ;', '2:3 unexpected identifier z: expected newline or ;'])
  t.same(qerrs('x = }'), ['1:5 unexpected } token: expected term'])
  t.same(qerrs('x := "\\x"'), ['1:7 invalid string: unknown escape sequence \\x'], 'parse errors at a lexer error are not repeated')
  t.same(parseTerm('1 2').diagnostics.map(d => d.message), ['unexpected number 2: expected end of term'])
})

t.test('never throws on garbage', async t => {
  const inputs = ['package', 'package t\n{', 'package t\np if {', 'package t\np := [[[[', 'package t\n}}}}', 'package t\np if { [x | }',
    'package t\np if { every }', 'package t\np := 1 else', 'package t\nf(', 'package t\np.', 'package t\np[', '@@@', '\u0000', 'package t\np := `',
    'package t\nelse := 1', 'package t\np if { some x in }', 'package t\np if { not }', 'package t\np if { x with y }']
  for (const src of inputs) {
    const r = parseModule(src, 'g.rego')
    t.equal(r.module, null, JSON.stringify(src))
    t.ok(r.diagnostics.length > 0)
    t.notOk(r.diagnostics.some(d => d.message.startsWith('internal')), JSON.stringify(src))
  }
})

// ---------------------------------------------------------------- OPA conformance corpus

const here = dirname(fileURLToPath(import.meta.url))
const corpus = join(here, '../../../shared/opa-conformance/v1')

t.test('OPA conformance corpus parses', { skip: existsSync(corpus) ? false : `corpus folder absent: ${corpus}` }, async t => {
  let modules = 0; let modulesOk = 0; let queries = 0; let queriesOk = 0
  const failures: string[] = []
  for (const dir of readdirSync(corpus).sort()) {
    const sub = join(corpus, dir)
    for (const f of readdirSync(sub).filter(n => n.endsWith('.yaml')).sort()) {
      const doc = parseYaml(readFileSync(join(sub, f), 'utf8')) as { cases?: Array<{ note: string; query?: string; modules?: string[]; want_error_code?: string }> }
      for (const c of doc.cases ?? []) {
        for (const [i, src] of (c.modules ?? []).entries()) {
          modules++
          const r = parseModule(src, `${dir}/${f}#${i}`)
          if (r.module !== null && r.diagnostics.length === 0) modulesOk++
          else if (c.want_error_code !== 'rego_parse_error') failures.push(`${c.note}: ${r.diagnostics.map(d => `${d.loc.file}:${d.loc.line}:${d.loc.col} ${d.message}`).join('; ')}`)
        }
        if (typeof c.query === 'string') {
          queries++
          const r = parseQuery(c.query, `${dir}/${f}`)
          if (r.body !== null) queriesOk++
          else failures.push(`${c.note}: query ${JSON.stringify(c.query)}: ${r.diagnostics.map(d => d.message).join('; ')}`)
        }
      }
    }
  }
  const total = modules + queries
  const rate = (modulesOk + queriesOk) / total
  t.comment(`modules ${modulesOk}/${modules}, queries ${queriesOk}/${queries}, rate ${(rate * 100).toFixed(2)}%`)
  // The only failures left are v0-syntax modules (rule bodies without `if`), correctly rejected.
  for (const f of failures) t.comment(f)
  t.ok(modules > 1000, 'corpus has modules')
  t.ok(rate >= 0.99, `at least 99% parse cleanly (got ${(rate * 100).toFixed(2)}%)`)
  t.equal(queriesOk, queries, 'every query parses')
  t.ok(failures.every(f => f.includes('`if` keyword is required before rule body')), 'remaining failures are v0 syntax')
})

// Number literals as OPA's parser reads them: `.5` is 0.5 (and -.5 is -0.5), a leading zero is
// an error except in 0, 0.x and 0e... (both were the other way round here).
t.test('number literals: a leading decimal point, no leading zeros', async t => {
  t.equal(term('.5'), '0.5')
  t.equal(term('-.5'), '-0.5')
  t.equal(term('.5e2'), '0.5e2')
  t.equal(term('0.5'), '0.5')
  t.equal(term('0e3'), '0e3')
  t.equal(term('[1, .25]'), '[1, 0.25]')
  t.same(qerrs('x := 01'), ['1:6 unexpected number 01: expected number without leading zero'])
  t.same(qerrs('x := -007'), ['1:7 unexpected number 007: expected number without leading zero'])
  t.same(qerrs('x := 00'), ['1:6 unexpected number 00: expected number without leading zero'])
})

t.test('what OPA\'s parser refuses and was read here (its parser_test.go)', async t => {
  const first = (src: string): string => errs(`package t\n${src}\n`).filter(e => e !== 'module is not null')[0] ?? 'no error'
  t.equal(first('p := 1e30103'), '2:6 number too big', 'a binary exponent past 1e5 (big.Float MantExp)')
  t.equal(first('p := 1e30102'), 'no error')
  t.equal(first('p := 1e-30104'), '2:6 number too big')
  t.equal(first('p := 1e-30103'), 'no error')
  t.equal(first('p := 7e3000000000'), '2:6 number too big')
  t.equal(first('import data.foo.contains\np := 1'), '2:1 unexpected import path, must not end with a keyword')
  t.equal(first('import data.foo.contains as c\np := c'), 'no error', 'an alias names it')
  t.equal(first('p if { every 10 in [1] { true } }'), '2:8 expected value to be a variable')
  t.equal(first('p if { every "k", v in {"k": 1} { v } }'), '2:8 expected key to be a variable')
  t.equal(first('p if { true; }'), '2:14 unexpected } token: expected expression')
  t.equal(first('p if {\v true }'), '2:7 illegal token: "\\u000b"')
  t.equal(first('p if { some internal.member_2() }'), '2:8 illegal domain', 'it crashed the checker')
  t.equal(first('p() contains x if { x := 1 }'), '2:5 functions cannot use contains')
  t.equal(first('p.q'), '2:1 `contains` keyword is required for partial set rules')
  t.equal(first('p[input.x]'), '2:1 `contains` keyword is required for partial set rules')
  t.equal(first('p.q.r'), '2:1 rule must have value assignment and/or body declaration')
  t.same(parseModule('package t\np[1]\np.q\n', 'v0.rego', { regoVersion: 0 }).diagnostics, [], 'v0: partial set rules')
})

t.test('further bodies chained after an if block are rules of their own, as OPA reads them (MultipleEnclosedBodies)', async t => {
  const m = parseModule('package t\np if { a } { b }\nf(x) := 1 if { x == 1 } { x == 2 }\n', 'c.rego')
  t.same(m.diagnostics, [])
  t.same(m.module?.rules.map(r => pt(r.ref[0]!)), ['p', 'p', 'f', 'f'])
  t.same(errs('package t\np := 1 { true }').filter(e => e !== 'module is not null'), ['2:8 `if` keyword is required before rule body'], 'a body without if stays refused in v1')
})
