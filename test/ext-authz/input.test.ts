// The input and the decision as opa-envoy-plugin builds and reads them; the CheckRequest decoder
// against protobufjs's encoder (the tests' independent one).
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as protoLoader from '@grpc/proto-loader'
import t from 'tap'
import { parseExtAuthzDecision } from '../../src/ext-authz/decision.js'
import { inputFromCheckRequest, InputError, parseBody, parsePathAndQuery } from '../../src/ext-authz/input.js'
import { decodeCheckRequest, ProtoError } from '../../src/ext-authz/proto.js'
import { checkRequest } from './fixtures/client.js'

const PROTO_DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'proto')
const defs = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs: [PROTO_DIR], keepCase: true })
const { requestSerialize } = (defs['envoy.service.auth.v3.Authorization'] as unknown as { Check: { requestSerialize (v: unknown): Buffer } }).Check

t.test('parsed_path and parsed_query', async (t) => {
  t.same(parsePathAndQuery('/'), { parsed_path: [''], parsed_query: {} })
  t.same(parsePathAndQuery(''), { parsed_path: [''], parsed_query: {} })
  t.same(parsePathAndQuery('//a//b/').parsed_path, ['a', '', 'b', ''], 'leading slashes trimmed, the rest split as is')
  t.same(parsePathAndQuery('/a%2Fb/c+d').parsed_path, ['a', 'b', 'c+d'], 'decoded before splitting (as the plugin: %2F splits); + stays + in a path')
  t.same(parsePathAndQuery('/x?a=1&a=2&b&c=&=v&d=%41+b').parsed_query, { a: ['1', '2'], b: [''], c: [''], '': ['v'], d: ['A b'] })
  t.throws(() => parsePathAndQuery('/a%4'), InputError)
  t.throws(() => parsePathAndQuery('/x?a=%G1'), /invalid URL escape "%G1"/)
  t.throws(() => parsePathAndQuery('/x?a=1;b=2'), /semicolon/)
})

t.test('parsed_body by content type, truncated_body', async (t) => {
  const json = { 'content-type': 'application/json; charset=utf-8' }
  t.same(parseBody(json, '{"a":[1,{"b":null}]}', undefined), { parsed_body: { a: [1, { b: null }] }, truncated_body: false })
  t.same(parseBody(json, '', undefined), { parsed_body: null, truncated_body: false }, 'no body: null')
  t.same(parseBody({ ...json, 'content-length': '100' }, '{"a":1}', undefined), { parsed_body: null, truncated_body: true })
  t.same(parseBody({ ...json, 'content-length': '-1' }, '{"a":1}', undefined).truncated_body, false, 'content-length -1: unknown, not truncated')
  t.same(parseBody({ ...json, 'content-length': '8' }, '{"a":"é"}', undefined).truncated_body, false, 'lengths in bytes')
  t.throws(() => parseBody({ ...json, 'content-length': 'ten' }, '{}', undefined), /content-length "ten" is not a number/)
  t.throws(() => parseBody(json, '{"a":1} x', undefined), /not valid JSON/)
  t.same(parseBody({ 'x-envoy-auth-partial-body': 'true', ...json }, '{"a":', undefined), { parsed_body: null, truncated_body: true })
  t.same(parseBody({ 'content-type': 'text/plain' }, 'hello', undefined), { parsed_body: null, truncated_body: false })
  t.same(parseBody({}, '{"a":1}', undefined), { parsed_body: null, truncated_body: false }, 'no content-type: not parsed')
  t.same(parseBody({ 'content-type': 'application/grpc' }, '', Buffer.from([0, 0, 0, 0, 1, 8]).toString('base64')), { parsed_body: null, truncated_body: false }, 'gRPC bodies: no descriptor set, null')
  const multipart = [
    '--XyZ', 'Content-Disposition: form-data; name="name"', '', 'Charlie',
    '--XyZ', 'Content-Disposition: form-data; name="meta"', 'Content-Type: application/json', '', '{"tags":["a"]}',
    '--XyZ', 'Content-Disposition: form-data; name="name"', '', 'Opa',
    '--XyZ--', '',
  ].join('\r\n')
  t.same(parseBody({ 'content-type': 'multipart/form-data; boundary=XyZ' }, multipart, undefined).parsed_body, { name: ['Charlie', 'Opa'], meta: [{ tags: ['a'] }] })
  t.same(parseBody({ 'content-type': 'multipart/form-data' }, multipart, undefined).parsed_body, null, 'no boundary: not parsed')
  t.throws(() => parseBody({ 'content-type': 'multipart/form-data; boundary=XyZ' }, '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end', undefined), /no close delimiter/)
})

t.test('the CheckRequest decoder reads what protobufjs writes', async (t) => {
  const req = checkRequest({ method: 'POST', path: '/a?b=c', headers: { 'content-type': 'application/json' }, body: '{"x":1}', principal: 'spiffe://x', size: 7 }) as Record<string, any>
  // (protobufjs's bundled google.protobuf types take camelCase names; a Value with no kind is null)
  req.attributes.metadata_context = { filter_metadata: { 'envoy.filters.http.jwt_authn': { fields: { sub: { stringValue: 'alice' }, n: { numberValue: 2.5 }, ok: { boolValue: false }, l: { listValue: { values: [{ nullValue: 0 }] } }, e: {} } } } }
  req.attributes.destination.address = { socket_address: { address: '::1', port_value: 0 } }
  req.attributes.tls_session = { sni: 'people.example' }
  const input = inputFromCheckRequest(decodeCheckRequest(requestSerialize(req)))
  t.same(input.attributes.metadataContext, { filterMetadata: { 'envoy.filters.http.jwt_authn': { sub: 'alice', n: 2.5, ok: false, l: [null], e: null } } }, 'Struct values as plain JSON')
  t.same(input.attributes.destination, { address: { socketAddress: { address: '::1', portValue: 0 } } }, 'a oneof member is present even at zero')
  t.same(input.attributes.tlsSession, { sni: 'people.example' })
  t.same(input.parsed_body, { x: 1 })
  t.same(input.parsed_path, ['a'])
  t.equal(input.source_principal, 'spiffe://x')

  // An unknown field (a newer Envoy) is skipped; a known one still read.
  const withUnknown = Buffer.concat([Buffer.from([0xf8, 0x07, 0x01]), requestSerialize(checkRequest({ method: 'PATCH' }))])
  t.equal(inputFromCheckRequest(decodeCheckRequest(withUnknown)).attributes.request.http.method, 'PATCH')
  t.throws(() => decodeCheckRequest(Buffer.from([0x0a, 0x02, 0x22])), ProtoError)
  t.throws(() => decodeCheckRequest(Buffer.from([0x0a, 0x04, 0x22, 0x02, 0x12, 0x80])), /truncated varint|runs past/)
  // A string that is not UTF-8.
  t.throws(() => decodeCheckRequest(Buffer.from([0x0a, 0x07, 0x22, 0x05, 0x12, 0x03, 0x12, 0x01, 0xff])), /not valid UTF-8/)
})

t.test('host and path reach the policy as Envoy sent them (the plugin does not normalise them)', async (t) => {
  const req = checkRequest({ method: 'GET', path: '/A//b/./c/../d%2Fe?x=1' }) as Record<string, any>
  req.attributes.request.http.host = 'People.Example.'
  const input = inputFromCheckRequest(decodeCheckRequest(requestSerialize(req)))
  const http = input.attributes.request.http as Record<string, unknown>
  t.equal(http.host, 'People.Example.', 'case and the trailing dot kept (the proxy port lower-cases and drops it)')
  t.equal(http.path, '/A//b/./c/../d%2Fe?x=1', 'the path as sent')
  t.same(input.parsed_path, ['A', '', 'b', '.', 'c', '..', 'd', 'e'], 'split after decoding, dot segments kept, as the plugin splits')
})

t.test('a fragment stays where the plugin leaves it (its Cut at "?" + PathUnescape + ParseQuery): in the last path segment or the last query value', async (t) => {
  t.same(parsePathAndQuery('/cb#access_token=SECRET&state=x'), { parsed_path: ['cb#access_token=SECRET&state=x'], parsed_query: {} })
  t.same(parsePathAndQuery('/cb?state=1#access_token=SECRET'), { parsed_path: ['cb'], parsed_query: { state: ['1#access_token=SECRET'] } })
  t.throws(() => parsePathAndQuery('/a#%zz'), 'a bad escape after "#" is refused, as the plugin refuses it')
})

t.test('the result read as the plugin reads it', async (t) => {
  t.equal(parseExtAuthzDecision(true).allow, true)
  t.equal(parseExtAuthzDecision(false).envoy.object, false)
  t.throws(() => parseExtAuthzDecision({ headers: {} }), /missing "allowed" key/)
  t.throws(() => parseExtAuthzDecision({ allowed: 'true' }), /"allowed" must be a boolean/)
  t.throws(() => parseExtAuthzDecision('allow'), /illegal value/)
  t.throws(() => parseExtAuthzDecision(undefined), /undefined/)
  const list = parseExtAuthzDecision({ allowed: true, headers: [{ 'X-A': '1' }, { 'x-a': '2', 'x-b': '3' }] })
  t.same(list.envoy.headerOptions, [['x-a', '1'], ['x-a', '2'], ['x-b', '3']], 'a list of header objects keeps every value')
  t.throws(() => parseExtAuthzDecision({ allowed: true, headers: { 'x-a': 1 } }), /headers\.x-a must be a string/)
  t.throws(() => parseExtAuthzDecision({ allowed: true, headers: { 'x-a': 'a\r\nb' } }), /control character/)
  t.throws(() => parseExtAuthzDecision({ allowed: true, headers: { 'bad name': 'x' } }), /invalid header name/)
  t.throws(() => parseExtAuthzDecision({ allowed: false, http_status: 999 }), /Invalid HTTP status code 999/)
  t.throws(() => parseExtAuthzDecision({ allowed: false, body: { a: 1 } }), /body must be a string/)
  t.equal(parseExtAuthzDecision({ allowed: true, body: { a: 1 }, http_status: 'x' }).allow, true, 'deny-only fields are not read on an allow (as the plugin)')
  t.same(parseExtAuthzDecision({ allowed: false, request_headers_to_remove: 7 }).envoy.headersToRemove, [], 'allow-only fields are not read on a denial')
  const bouncer = parseExtAuthzDecision({ allow: false, status: 429, body: 'slow down' })
  t.equal(bouncer.status, 429, 'the Bouncer contract\'s allow/status work too (one bundle, both modes)')
  t.throws(() => parseExtAuthzDecision({ allowed: true, mask: [{ path: '/ssn', action: 'redact' }] }), /cannot be enforced through ext_authz/)
  for (const mask of [{ path: '/ssn', action: 'redact' }, '/ssn', true, 1]) {
    t.throws(() => parseExtAuthzDecision({ allowed: true, mask }), /mask must be a list of rules/, `a mask that is no list (${JSON.stringify(mask)}) is invalid, not left out`)
  }
  t.equal(parseExtAuthzDecision({ allowed: true, mask: [] }).allow, true, 'an empty list masks nothing')
  t.equal(parseExtAuthzDecision({ allowed: true, mask: null }).allow, true)
  t.throws(() => parseExtAuthzDecision({ allowed: true, allow: false }), /disagree/)
  // null where the plugin reads a field is its type-assertion error: a denial here, not "none".
  for (const field of ['headers', 'response_headers_to_add', 'request_headers_to_remove', 'query_parameters_to_remove', 'query_parameters_to_set', 'dynamic_metadata']) {
    t.throws(() => parseExtAuthzDecision({ allowed: true, [field]: null }), /must not be null/, `${field}: null is invalid`)
  }
  t.same(parseExtAuthzDecision({ allowed: true, remove_headers: null, response_headers: null }).envoy.headersToRemove, [], 'the Bouncer contract\'s names keep the proxy\'s reading (null is none)')
})

t.test('a body that does not parse is named, never quoted (it may hold credentials)', async (t) => {
  const json = { 'content-type': 'application/json' }
  for (const body of ['{"password":"hunter2-secret" x}', '{"password":"hunter2-secret"', 'hunter2-secret']) {
    try {
      parseBody(json, body, undefined)
      t.fail('should throw')
    } catch (e) {
      t.type(e, InputError)
      t.match((e as Error).message, /^request body is not valid JSON/)
      t.notMatch((e as Error).message, /hunter2/, JSON.stringify(body))
    }
  }
})
