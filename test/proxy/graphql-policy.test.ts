// A GraphQL API behind the bouncer, guarded the way OPA's GraphQL tutorial guards one: the
// request's JSON body is parsed (policy.parsed_body), the query verified against the schema with
// graphql.parse_and_verify, and the query's AST read to decide (here: only admins may select
// `salary`). A real upstream, the project's compiler, the whole proxy pipeline.
import t from 'tap'
import { request } from 'undici'
import { startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = `package bouncer

schema := \`
type Query { employeeByID(id: String!): Employee }
type Employee { id: String!, name: String, salary: Int }
\`

verified := graphql.parse_and_verify(input.parsed_body.query, schema)

selects_salary if {
  some sel in verified[1].Operations[_].SelectionSet[_].SelectionSet
  sel.Name == "salary"
}

default decision := {"allow": false, "status": 403, "reason": "query refused"}

decision := {"allow": false, "status": 400, "reason": "not a valid query"} if not verified[0]

decision := {"allow": true} if {
  verified[0]
  not selects_salary
}

decision := {"allow": true} if {
  verified[0]
  selects_salary
  input.attributes.request.http.headers["x-role"] == "admin"
}
`

t.test('graphql.parse_and_verify on the request body decides what reaches the GraphQL upstream', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { policy: { parsed_body: { enabled: true, max_bytes: 65536 } } } })
  t.teardown(async () => { await b.close(); await up.close() })
  const ask = async (query: string, role = 'viewer'): Promise<number> => {
    const r = await request(`${b.url}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-role': role }, body: JSON.stringify({ query }),
    })
    await r.body.dump()
    return r.statusCode
  }
  t.equal(await ask('{ employeeByID(id: "alice") { id name } }'), 200, 'a valid query without salary passes')
  t.equal(await ask('{ employeeByID(id: "alice") { salary } }'), 403, 'salary needs the admin role')
  t.equal(await ask('{ employeeByID(id: "alice") { salary } }', 'admin'), 200, 'an admin may select salary')
  t.equal(await ask('{ employeeByID { id } }'), 400, 'a required argument missing: not valid against the schema')
  t.equal(await ask('{ employeeByID(id: "alice") { password } }'), 400, 'a field the schema does not have')
  t.equal(await ask('{ employeeByID(id: "alice") { id }'), 400, 'a syntax error')
  t.equal(await ask('{ ' + Array.from({ length: 400 }, (_, i) => `employeeByID(id: "${i}") { id }`).join(' ') + ' }'), 400,
    'a query too costly to validate is refused quickly (Bouncer\'s limit), not validated for seconds')
  t.same(up.requests.map((r) => (JSON.parse(r.body.toString()) as { query: string }).query), [
    '{ employeeByID(id: "alice") { id name } }',
    '{ employeeByID(id: "alice") { salary } }',
  ], 'only the two allowed requests reached the upstream, with the body the policy saw')
})
