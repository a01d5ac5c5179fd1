// What an ext_authz decision leaves in its decision-log event: credential headers erased from
// the CheckRequest and from the result in every shape opa-envoy-plugin accepts (headers as an
// object or a list of objects, response_headers_to_add), query credentials scrubbed from the
// :path header.
import t from 'tap'
import { compileEventBuilder } from '../../src/decision-log/event.js'

const build = compileEventBuilder({ labels: { app: 'people' }, eraseHeaders: ['authorization', 'cookie'], eraseQueryParams: ['access_token'] })

t.test('credential headers are erased from ext_authz inputs and results', async (t) => {
  const input = {
    attributes: { request: { http: { method: 'GET', path: '/people?access_token=tok-1', headers: { ':path': '/people?access_token=tok-1', authorization: 'Bearer tok-2', accept: '*/*' } } } },
    parsed_query: { access_token: ['tok-1'] },
  }
  const result = {
    allowed: true,
    headers: [{ authorization: 'Bearer tok-3', 'x-user': 'alice' }, { cookie: 'sid=tok-4' }],
    response_headers_to_add: { cookie: 'sid=tok-5', 'x-policy': 'v1' },
  }
  const { event } = build({ path: 'envoy/authz/result', input, result, labels: { bouncer_mode: 'ext_authz_grpc' } })
  const text = JSON.stringify(event)
  for (const tok of ['tok-1', 'tok-2', 'tok-3', 'tok-4', 'tok-5']) t.notMatch(text, tok, `${tok} is in no field`)
  t.same((event.result as typeof result).headers, [{ 'x-user': 'alice' }, {}])
  t.same((event.result as typeof result).response_headers_to_add, { 'x-policy': 'v1' })
  t.same(event.labels, { app: 'people', bouncer_mode: 'ext_authz_grpc' }, 'the event\'s labels on top of the configured ones')
  t.ok(event.erased!.includes('/result/headers/0/authorization'))
  t.ok(event.erased!.includes('/result/headers/1/cookie'))
  t.ok(event.erased!.includes('/result/response_headers_to_add/cookie'))
  t.ok(event.masked!.includes('/input/attributes/request/http/headers/:path'))
  t.equal(input.attributes.request.http.headers.authorization, 'Bearer tok-2', 'the caller\'s input is not modified')
  t.same(result.headers[0], { authorization: 'Bearer tok-3', 'x-user': 'alice' }, 'nor its result')
})
