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

t.test('ext_authz inputs: query credentials in URL-valued headers, header_map entries and the query/fragment fields are scrubbed', async (t) => {
  const b = compileEventBuilder({ labels: {}, eraseHeaders: ['authorization'], eraseQueryParams: ['access_token', 'token', 'password'] })
  const raw = (s: string): string => Buffer.from(s).toString('base64')
  const input = {
    attributes: { request: { http: {
      method: 'GET', path: '/p', query: 'a=1&token=tok-1', fragment: 'access_token=tok-2',
      headers: { referer: 'https://app/cb?access_token[]=tok-3&x=1', 'X-Original-URL': '/o?user%5Bpassword%5D=tok-4', accept: '*/*' },
      headerMap: { headers: [
        { key: 'Referer', value: 'https://app/cb?token=tok-5' },
        { key: 'x-rewrite-url', rawValue: raw('/r?access_token=tok-6&y=2') },
        { key: 'x-other', value: '/q?token=kept' },
      ] },
    } } },
  }
  const { event } = b({ path: 'envoy/authz/result', input, result: { allowed: true } })
  t.notMatch(JSON.stringify(event), /tok-\d/, 'in no field')
  const http = (event.input as any).attributes.request.http
  t.equal(http.query, 'a=1&token=[REDACTED]')
  t.equal(http.fragment, 'access_token=[REDACTED]')
  t.equal(http.headers.referer, 'https://app/cb?access_token[]=[REDACTED]&x=1')
  t.equal(http.headers['X-Original-URL'], '/o?user%5Bpassword%5D=[REDACTED]', 'a header name in any case')
  t.same(http.headerMap.headers[0], { key: 'Referer', value: 'https://app/cb?token=[REDACTED]' })
  t.equal(Buffer.from(http.headerMap.headers[1].rawValue, 'base64').toString(), '/r?access_token=[REDACTED]&y=2', 'raw_value bytes too')
  t.equal(http.headerMap.headers[2].value, '/q?token=kept', 'a header not in the list of URL-valued headers is left alone')
  t.same([...event.masked!].sort(), [
    '/input/attributes/request/http/fragment',
    '/input/attributes/request/http/headerMap/headers/0/value',
    '/input/attributes/request/http/headerMap/headers/1/rawValue',
    '/input/attributes/request/http/headers/X-Original-URL',
    '/input/attributes/request/http/headers/referer',
    '/input/attributes/request/http/query',
  ])
  t.equal(input.attributes.request.http.headers.referer, 'https://app/cb?access_token[]=tok-3&x=1', 'the caller\'s input is not modified')
  t.equal(input.attributes.request.http.headerMap.headers[0]!.value, 'https://app/cb?token=tok-5')
})
