// `and` / `or` between body expressions (OPA 1.20: import future.keywords.and / .or, or
// import rego.v2). Precedence: other expressions, then not, then and, then or; short-circuit;
// the whole succeeds or fails and binds nothing. Modules using them were refused at load.
import t from 'tap'
import { runRego, type RegoOutcome } from './run-rego.js'

const evalP = (rules: string, input: unknown = {}, imp = 'import rego.v2'): Promise<RegoOutcome> => runRego(`package test\n\n${imp}\n\n${rules}`, input)

const truth = async (expr: string, input: unknown, imp?: string): Promise<unknown> => (await evalP(`default p := false\n\np if {\n  ${expr}\n}\n`, input, imp)).value

t.test('truth tables and precedence', async t => {
  for (const [x, y] of [[true, true], [true, false], [false, true], [false, false]]) {
    t.equal(await truth('input.x and input.y', { x, y }), x && y, `${x} and ${y}`)
    t.equal(await truth('input.x or input.y', { x, y }), x || y, `${x} or ${y}`)
    t.equal(await truth('not input.x and input.y', { x, y }), !x && y, `not ${x} and ${y}: not binds tighter`)
    t.equal(await truth('not (input.x or input.y)', { x, y }), !(x || y), `not (${x} or ${y})`)
  }
  t.equal(await truth('input.x or input.y and input.z', { x: false, y: true, z: false }), false, 'and binds tighter than or')
  t.equal(await truth('input.x or input.y and input.z', { x: true }), true)
  t.equal(await truth('input.missing or input.y', { y: true }), true, 'an undefined operand is a failing one')
  t.equal(await truth('(1 + 2) == 3 and true', {}), true, 'a parenthesised expression stays an expression')
  t.equal(await truth('{ some v in input.vs; v > 2 } or input.y', { vs: [1, 3] }), true, 'an explicit body operand')
  t.equal(await truth('{ some v in input.vs; v > 2 } or input.y', { vs: [1, 2] }), false)
  t.equal(await truth('input.ok or 1 / 0 == 1', { ok: true }), true, 'or stops at the first operand that succeeds')
  t.equal(await truth('input.x and input.y', { x: true, y: true }, 'import future.keywords.and'), true, 'import future.keywords.and alone')
  t.equal(await truth('input.x or input.y', { y: true }, 'import future.keywords'), true, 'the catch-all import includes them')
})

t.test('with, bindings and the set builtins', async t => {
  t.same(await evalP('q if input.x\n\np if q or false with input.x as true'), { value: true }, 'a trailing with covers the whole expression')
  t.same(await evalP('p := and({1, 2}, {2})'), { value: [2] }, 'and(...) is still the set builtin')
  t.same(await evalP('p := x if { x := 1; x == 1 or x == 2 }'), { value: 1 }, 'a literal without and/or still binds')
  t.match(await evalP('p if { x := 1 or input.b }'), { error: /cannot assign vars inside implicit and\/or operand/ })
  t.match(await evalP('p if { () or true }'), { error: /empty parenthesized group/ })
})

t.test('without the import, and/or are names', async t => {
  t.same(await evalP('and := 1\n\np := and', {}, ''), { value: 1 })
  t.match(await evalP('p if { input.x or input.y }', {}, ''), { error: /rego_parse_error/ })
})

t.test('not { body } next to and/or (rego.v2 has both)', async t => {
  t.equal(await truth('not { input.a; input.b } and input.c', { a: true, b: false, c: true }), true)
  t.equal(await truth('not { input.a; input.b } or input.c', { a: true, b: true, c: false }), false)
  t.equal(await truth('not { input.a; input.b }', { a: true, b: true }), false)
})
