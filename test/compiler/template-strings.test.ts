// Template strings, $"text {expr}" (OPA 1.12, always on). A policy building a deny message with
// one was refused at load ("illegal token: $"), so a bundle written for current OPA could not
// be used. Semantics as OPA's: each expression is the set of its values (undefined renders
// "<undefined>" and never fails the rule; two values are eval_conflict_error), strings are
// inserted bare and everything else as Rego text; \{ is a literal brace.
import t from 'tap'
import { runRego, type RegoOutcome } from './run-rego.js'

const evalP = (source: string, input: unknown = {}): Promise<RegoOutcome> => runRego(`package test\n\n${source}`, input)

t.test('values render as OPA renders them', async t => {
  t.same(await evalP('x := 5\np := $"a{x}b{input.missing}c{[1, "two", {"k": null}]}d{set()}e{{1}}f{1.5}{true}{null}{"s"}"'),
    { value: 'a5b<undefined>c[1, "two", {"k": null}]dset()e{1}f1.5truenulls' })
  t.same(await evalP('p := $""'), { value: '' })
  t.same(await evalP('p := $"user {input.user} is {count(input.roles) + 1} deep"', { user: 'alice', roles: ['a', 'b'] }), { value: 'user alice is 3 deep' })
})

t.test('an undefined part does not fail the rule; body variables and with reach the parts', async t => {
  t.same(await evalP('p := msg if { u := input.user; msg := $"denied: {u} ({input.reason})" }', { user: 'bob' }), { value: 'denied: bob (<undefined>)' })
  t.same(await evalP('p := $"{input.v with input as {"v": "mocked"}}"', { v: 'real' }), { value: 'mocked' })
  t.same(await evalP('p := $"nested {$"inner {input.n}"} ok"', { n: 1 }), { value: 'nested inner 1 ok' })
  t.same(await evalP('p contains $"item {i}" if some i in [1, 2]'), { value: ['item 1', 'item 2'] })
})

t.test('escapes and the raw form', async t => {
  t.same(await evalP('p := $"a \\{b} \\"q\\" \\u00e9 \\t}"'), { value: 'a {b} "q" é \t}' })
  t.same(await evalP('x := 2\np := $`multi\nline {x * 2} \\{x} \\n`'), { value: 'multi\nline 4 {x} \\n' })
})

t.test('errors', async t => {
  t.match(await evalP('p := msg if { some i; msg := $"{input.xs[i]}" }', { xs: [1, 2] }), { error: /eval_conflict_error: template-strings must not produce multiple outputs/ })
  t.same(await evalP('p := msg if { some i; msg := $"{input.xs[i]}" }', { xs: [1, 1] }), { value: '1' }, 'equal values are one value')
  // OPA checks a template's variables before it orders the body: one its body has somewhere
  // (before or after) is fine, `_` and a name only the template has are "undeclared"
  t.match(await evalP('p := $"{input.xs[_]}"', { xs: [1] }), { error: /rego_compile_error: var _ is undeclared/ })
  t.match(await evalP('p := msg if { a := ["a"]; msg := $"{a[x]}" }'), { error: /rego_compile_error: var x is undeclared/ })
  t.match(await evalP('p := $"{x}"'), { error: /rego_compile_error: var x is undeclared/ }, 'no internal $tmpl name in the message')
  t.match(await evalP('a := ["a"]\np := [$"{a[_]}" | x := 42]'), { error: /var _ is undeclared/ }, 'in a comprehension head')
  t.match(await evalP('p if { every x in {"a", $"{x}"} { x != "b" } }'), { error: /var x is undeclared/ }, 'an every variable is not the collection\'s')
  t.same(await evalP('p := msg if { msg := $"{x}"; x = 42 }'), { value: '42' }, 'bound after the template: fine')
  t.match(await evalP('p := $"{x := 1}"'), { error: /rego_parse_error: unexpected assignment \(':='\) in template-string expression/ })
  t.match(await evalP('p := $"{x = 1}"'), { error: /unexpected unification/ })
  t.match(await evalP('p := $"{not true}"'), { error: /unexpected negation/ })
  t.match(await evalP('p := $"a{}b"'), { error: /rego_parse_error/ })
  t.match(await evalP('p := $"a{1 b"'), { error: /rego_parse_error/ })
  t.match(await evalP('p := $"unterminated\n"'), { error: /non-terminated string/ })
  t.match(await evalP('p := $"bad \\q"'), { error: /illegal escape sequence/ })
  t.match(await evalP('p := $ "x"'), { error: /illegal \$ character/ })
})
