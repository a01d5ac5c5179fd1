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

t.test('ext_authz inputs: header_map entries and the body text lose their credentials too', async (t) => {
  const build2 = compileEventBuilder({ labels: {}, eraseHeaders: ['authorization', 'cookie'], eraseQueryParams: ['password', 'access_token'] })
  // Envoy with encode_raw_headers: the headers come as a list in header_map.
  const input = {
    attributes: { request: { http: { method: 'POST', path: '/login', headerMap: { headers: [{ key: 'Authorization', rawValue: 'QmVhcmVyIHRvay0x' }, { key: 'cookie', value: 'sid=tok-2' }, { key: 'accept', value: '*/*' }] }, body: 'user=a&password=tok-3' } } },
    parsed_body: null,
  }
  const { event } = build2({ path: 'envoy/authz/result', input, result: { allowed: false } })
  const http = (event.input as any).attributes.request.http
  t.same(http.headerMap.headers, [{ key: 'accept', value: '*/*' }], 'credential entries of header_map removed')
  t.equal(http.body, 'user=a&password=[REDACTED]', 'a body nothing parsed is scrubbed as a form')
  t.ok(event.erased!.includes('/input/attributes/request/http/headerMap/headers/0'))
  t.ok(event.masked!.includes('/input/attributes/request/http/body'))
  t.notMatch(JSON.stringify(event), /tok-|QmVhcmVyIHRvay0x/)
  t.equal(input.attributes.request.http.headerMap.headers.length, 3, 'the caller\'s input is not modified')

  // A parsed body whose credential field was erased: the text beside it goes too.
  const json = {
    attributes: { request: { http: { method: 'POST', path: '/x', headers: { 'content-type': 'application/json' }, body: '{"password":"tok-4","user":"a"}', rawBody: 'eyJwYXNzd29yZCI6InRvay00In0=' } } },
    parsed_body: { password: 'tok-4', user: 'a' },
  }
  const e2 = build2({ path: 'envoy/authz/result', input: json, result: { allowed: true } }).event
  const h2 = (e2.input as any).attributes.request.http
  t.equal(h2.body, undefined)
  t.equal(h2.rawBody, undefined)
  t.same((e2.input as any).parsed_body, { user: 'a' })
  t.ok(e2.erased!.includes('/input/attributes/request/http/body'))
  t.ok(e2.erased!.includes('/input/attributes/request/http/rawBody'))
  t.notMatch(JSON.stringify(e2), /tok-4|eyJwYXNz/)
})
