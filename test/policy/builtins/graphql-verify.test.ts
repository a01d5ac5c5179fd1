// graphql.is_valid, graphql.parse, graphql.parse_and_verify and graphql.schema_is_valid through
// compiled policies: the query validated against the schema as OPA's library (gqlparser) does,
// OPA's answers and wording on failure, AST objects as operands, and the caches behind them.
// The rules one by one are tested in graphql-validate.test.ts, the schema checks in
// graphql-schema.test.ts, the decoding of AST objects in graphql-document.test.ts.
import t from 'tap'
import { graphqlBuiltins } from '../../../src/policy/builtins/graphql/index.js'
import { E, evalOne, lit, table, V } from './helpers.js'

const SCHEMA = `type Query { order(id: ID!): Order, orders(status: Status, first: Int = 20): [Order!]! }
type Mutation { cancel(id: ID!): Order }
type Order { id: ID!, total: Float, status: Status, lines: [Line!] }
type Line { sku: String!, qty: Int! }
enum Status { OPEN SHIPPED }`

const call = (fn: string, query: string, schema = SCHEMA): string => `graphql.${fn}(${lit(query)}, ${lit(schema)})`
/** The whole strict-mode message of graphql.parse failing with `reason`. */
const parseError = (reason: string): RegExp => new RegExp(`^eval_builtin_error: graphql\\.parse: ${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)

t.test('is_valid: queries the schema allows, and each kind of query it does not', async t => {
  await table(t, [
    [call('is_valid', '{ order(id: "7") { id total lines { sku qty } } }'), V(true)],
    [call('is_valid', 'query Open($s: Status = OPEN) { orders(status: $s) { id status } }'), V(true)],
    [call('is_valid', 'mutation { cancel(id: 7) { id } }'), V(true)],
    [call('is_valid', 'query { ...F } fragment F on Query { orders { id } }'), V(true)],
    [call('is_valid', ''), V(true)], // no operation: nothing to reject
    [call('is_valid', '{ order { id } }'), V(false)], // required argument missing
    [call('is_valid', '{ order(id: "7") { id cost } }'), V(false)], // no such field
    [call('is_valid', '{ orders(status: CLOSED) { id } }'), V(false)], // no such enum value
    [call('is_valid', '{ orders(first: "ten") { id } }'), V(false)], // wrong type
    [call('is_valid', '{ orders { lines } }'), V(false)], // an object without a selection
    [call('is_valid', '{ orders { id { x } } }'), V(false)], // a scalar with one
    [call('is_valid', 'query ($s: Status) { orders { id } }'), V(false)], // unused variable
    [call('is_valid', '{ orders(status: $s) { id } }'), V(false)], // undefined variable
    [call('is_valid', '{ ...Missing }'), V(false)], // unknown fragment
    [call('is_valid', 'query { ...F } fragment F on Line { sku }'), V(false)], // a spread that can never apply
    [call('is_valid', 'query A { orders { id } } query A { orders { id } }'), V(false)], // duplicate operation name
    [call('is_valid', 'subscription { orders { id } }'), V(false)], // no subscription root
    [call('is_valid', '{ orders { x: id x: total } }'), V(false)], // one response key, two fields
  ])
})

t.test('is_valid: a syntax error, an invalid schema or an operand of another type is false, never an error', async t => {
  await table(t, [
    [call('is_valid', '{ order(id: "7") { id }'), V(false)],
    [call('is_valid', '{ order(id: "7") { id } }', 'type Query { order(id: ID!): Missing }'), V(false)],
    [call('is_valid', '{ order(id: "7") { id } }', 'type Query {'), V(false)],
    ['graphql.is_valid(1, "type Query { a: Int }")', V(false)],
    ['graphql.is_valid("{ a }", ["type Query { a: Int }"])', V(false)],
  ])
})

t.test('schema_is_valid: the library\'s schema checks over its prelude', async t => {
  await table(t, [
    [`graphql.schema_is_valid(${lit(SCHEMA)})`, V(true)],
    // Extending a type that is defined nowhere is accepted, as by OPA's library.
    [`graphql.schema_is_valid(${lit('extend type Order { id: ID! }\nextend type Query { order: Order }')})`, V(true)],
    [`graphql.schema_is_valid(${lit('type Query { a: Missing }')})`, V(false)],
    [`graphql.schema_is_valid(${lit('type Query { a: Int }\ntype Query { b: Int }')})`, V(false)],
    [`graphql.schema_is_valid(${lit('type Query { a: Int }\ninterface I { x: Int }\ntype T implements I { y: Int }')})`, V(false)],
    [`graphql.schema_is_valid(${lit('type Query {')})`, V(false)],
    ['graphql.schema_is_valid(7)', V(false)],
    [`graphql.schema_is_valid(graphql.parse_schema(${lit(SCHEMA)}))`, V(true)],
  ])
})

t.test('parse: both documents as parse_query and parse_schema give them, or OPA\'s error', async t => {
  const q = '{ order(id: "7") { id } }'
  await table(t, [
    [`graphql.parse(${lit(q)}, ${lit(SCHEMA)}) == [graphql.parse_query(${lit(q)}), graphql.parse_schema(${lit(SCHEMA)})]`, V(true)],
    [call('parse', '{ order { id } }'), E(parseError('Field "order" argument "id" of type "ID!" is required, but it was not provided in GraphQL query string at location 1:3'))],
    [call('parse', '{ order(id: 1) { id cost } }'), E(parseError('Cannot query field "cost" on type "Order" in GraphQL query string at location 1:21'))],
    [call('parse', '{ orders(status: CLOSED) { id } }'), E(parseError('Value "CLOSED" does not exist in "Status" enum in GraphQL query string at location 1:18'))],
    // OPA keeps every error after the first one's position, and trims only the last ".\n".
    [call('parse', 'query ($s: Status) { orders(status: $t) { id } }'),
      E(parseError('Variable "$t" is not defined.\ninput:1:8: Variable "$s" is never used in GraphQL query string at location 1:37'))],
    [call('parse', '{ orders { lines } }'),
      E(parseError('Field "lines" of type "[Line!]" must have a selection of subfields. Did you mean "lines { ... }"?\n in GraphQL query string at location 1:12'))],
    [call('parse', '{ order(id: "7") { id }'), E(parseError('Expected Name, found <EOF> in GraphQL string at location 1:24'))],
    [call('parse', q, 'type Query { order(id: ID!): Missing }'),
      E(parseError('Error in gqlparser SchemaDocument to Schema conversion: input:1:30: Undefined type Missing.'))],
    [`graphql.parse(1, ${lit(SCHEMA)})`, E(/^eval_type_error: graphql\.parse: operand 0 must be one of \{string, object\} but got number$/)],
    [`graphql.parse(${lit(q)}, true)`, E(/^eval_type_error: graphql\.parse: operand 1 must be one of \{string, object\} but got boolean$/)],
  ])
})

t.test('parse_and_verify: [true, query, schema] or [false, {}, {}]', async t => {
  const q = 'query Open($s: Status = OPEN) { orders(status: $s) { id } }'
  await table(t, [
    [`graphql.parse_and_verify(${lit(q)}, ${lit(SCHEMA)}) == [true, graphql.parse_query(${lit(q)}), graphql.parse_schema(${lit(SCHEMA)})]`, V(true)],
    [call('parse_and_verify', '{ order { id } }'), V([false, {}, {}])],
    [call('parse_and_verify', '{ order('), V([false, {}, {}])],
    [call('parse_and_verify', q, 'type Query { a: Missing }'), V([false, {}, {}])],
    [`graphql.parse_and_verify(1, ${lit(SCHEMA)})`, V([false, {}, {}])],
  ])
})

t.test('AST objects: what parse_query and parse_schema return can be given back', async t => {
  const good = '{ order(id: "7") { id lines { sku } } }'
  await table(t, [
    [`graphql.is_valid(graphql.parse_query(${lit(good)}), graphql.parse_schema(${lit(SCHEMA)}))`, V(true)],
    [`graphql.is_valid(graphql.parse_query(${lit('{ order { id } }')}), graphql.parse_schema(${lit(SCHEMA)}))`, V(false)],
    [`graphql.is_valid(${lit(good)}, graphql.parse_schema(${lit(SCHEMA)}))`, V(true)],
    // The decoded document is returned as OPA re-encodes it: the same value as from the text.
    [`graphql.parse(graphql.parse_query(${lit(good)}), ${lit(SCHEMA)})[0] == graphql.parse_query(${lit(good)})`, V(true)],
    // A hand-written object: the mutation field "x" has no argument "a".
    ['graphql.is_valid({"Operations": [{"Operation": "mutation", "SelectionSet": [{"Alias": "x", "Name": "x", "Arguments": [{"Name": "a", "Value": {"Kind": 7, "Raw": "b"}}]}]}]}, ' +
      '{"Definitions": [{"Kind": "OBJECT", "Name": "Query", "Fields": [{"Name": "q", "Type": {"NamedType": "String"}}]}, {"Kind": "OBJECT", "Name": "Mutation", "Fields": [{"Name": "x", "Type": {"NamedType": "String", "NonNull": true}}]}]})', V(false)],
    ['graphql.is_valid({"Operations": [{"Operation": "mutation", "SelectionSet": [{"Alias": "x", "Name": "x"}]}]}, ' +
      '{"Definitions": [{"Kind": "OBJECT", "Name": "Query", "Fields": [{"Name": "q", "Type": {"NamedType": "String"}}]}, {"Kind": "OBJECT", "Name": "Mutation", "Fields": [{"Name": "x", "Type": {"NamedType": "String", "NonNull": true}}]}]})', V(true)],
    // Go's decoder refuses a string where the library has an integer: the operand is refused.
    ['graphql.is_valid({"Operations": [{"Operation": "query", "SelectionSet": [{"Alias": "q", "Name": "q", "Arguments": [{"Name": "a", "Value": {"Kind": "x"}}]}]}]}, "type Query { q(a: Int): Int }")', V(false)],
  ])
})

t.test('where OPA\'s library would crash, the evaluation stops with an error, strict or not', async t => {
  // An interface field whose type is a union of a type defined nowhere: the library dereferences
  // the missing type. OPA gives no answer, so neither does Bouncer (the proxy denies).
  const broken = 'interface J { g: V }\ntype C implements J { g: Int }\nunion V = Missing'
  for (const strict of [false, true]) {
    t.match(await evalOne(`graphql.schema_is_valid(${lit(broken)})`, { strict }), { error: /^graphql\.schema_is_valid: OPA's GraphQL library fails on this input/ }, `strict ${strict}`)
    t.match(await evalOne(call('is_valid', '{ a }', broken), { strict }), { error: /^graphql\.is_valid: OPA's GraphQL library fails on this input/ }, `strict ${strict}`)
  }
  // A null among an object document's operations: decoded as a nil pointer the library then follows.
  t.match(await evalOne(`graphql.is_valid({"Operations": [null]}, ${lit(SCHEMA)})`), { error: /^graphql\.is_valid: OPA's GraphQL library fails on this input/ })
})

t.test('answers and built schemas are cached by text, frozen, and stay right across queries', async t => {
  const parse = graphqlBuiltins['graphql.parse']!
  const verify = graphqlBuiltins['graphql.parse_and_verify']!
  const schema = SCHEMA + '\n# cache test ' + Math.random()
  const a = parse('{ order(id: "1") { id } }', schema) as unknown[]
  const b = parse('{ order(id: "1") { id } }', schema) as unknown[]
  t.equal(a[0], b[0], 'the same query text gives the same (cached) value')
  t.equal(a[1], b[1], 'the schema value is shared')
  t.ok(Object.isFrozen(a[0]) && Object.isFrozen(a[1]), 'cached values are frozen')
  // Many different queries against the one built (and frozen) schema: validation never writes
  // to it, and each answer is its own.
  for (let i = 0; i < 50; i++) {
    const ok = verify(`query Q${i} { order(id: "${i}") { id ${i % 2 === 0 ? 'total' : 'status'} } }`, schema) as unknown[]
    t.equal(ok[0], true, `query ${i}`)
    const bad = verify(`query Q${i} { order(id: "${i}") { id nope${i} } }`, schema) as unknown[]
    t.equal(bad[0], false, `bad query ${i}`)
  }
  t.throws(() => parse('{ order { id } }', schema), /required, but it was not provided/, 'a cached refusal is refused again')
  t.throws(() => parse('{ order { id } }', schema), /required, but it was not provided/)
})

t.test('a query whose fields would take seconds to compare is refused (Bouncer\'s limit), not validated for seconds', async t => {
  // 400 fields under one response name: 79,800 pairs, past the 50,000 the merge check may
  // compare. The library has no limit and would take seconds on larger ones (quadratic).
  const many = (n: number): string => '{ ' + Array.from({ length: n }, (_, i) => `order(id: ${i % 2}) { id }`).join(' ') + ' }'
  await table(t, [
    [call('is_valid', many(400)), V(false)],
    [call('parse_and_verify', many(400)), V([false, {}, {}])],
    [call('parse', many(400)), E(parseError('query not validated: more than 50000 pairs of fields to compare for merging (Bouncer\'s limit)'))],
    // Under the limit the same kind of query is validated: 200 fields, 19,900 pairs, whose
    // differing arguments conflict.
    [call('is_valid', many(200)), V(false)],
    [call('is_valid', '{ ' + Array.from({ length: 200 }, () => 'order(id: 1) { id }').join(' ') + ' }'), V(true)],
  ])
})

t.test('introspection fragments that would take seconds to search are refused (Bouncer\'s limit)', async t => {
  // Each fragment spreads the next twice: the library's depth search enters a fragment once per
  // path to it, 2^n paths. 12 levels are searched; 20 pass the limit of 100,000 visits.
  const chain = (n: number): string => {
    let q = '{ __schema { types { ...F0 } } }\n'
    for (let i = 0; i < n; i++) q += `fragment F${i} on __Type { name ...F${i + 1} ...F${i + 1} }\n`
    return q + `fragment F${n} on __Type { name }\n`
  }
  await table(t, [
    [call('is_valid', chain(12)), V(true)],
    [call('is_valid', chain(20)), V(false)],
    [call('parse', chain(20)), E(parseError('query not validated: more than 100000 selections to visit for the introspection depth (Bouncer\'s limit)'))],
  ])
})
