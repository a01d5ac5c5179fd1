// An operator at the start of a line continues the expression above, `-` included, as in OPA's
// parser (parseTermArith takes the next token whatever whitespace came before it). Here `-`
// after a newline used to start a new expression: a rule OPA evaluates one way was evaluated
// another (found by an adversarial review helper comparing with OPA's parser source).
import t from 'tap'
import { runRego } from './run-rego.js'

t.test('a - at the start of a line is a minus, as in OPA', async (t) => {
  const src = `package test

p if {
  x := input.a
  -1 < input.b
}
`
  // OPA: x := (input.a - 1 < input.b), a boolean never used: p holds whatever the numbers.
  t.same(await runRego(src, { a: 5, b: -10 }), { value: true })
  t.same(await runRego(src, { a: 5, b: 10 }), { value: true })
  const plus = `package test

p := y if {
  y := input.a
  + 2
}
`
  t.same(await runRego(plus, { a: 5 }), { value: 7 }, 'the same as + always was')
})
