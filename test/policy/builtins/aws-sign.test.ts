// providers.aws.sign_req through compiled policies. Every expected signature is computed here,
// independently of src/policy/builtins/aws-sign.ts: each case spells out the canonical request
// it must sign (OPA's: method as given, Go's escaped path, raw query, the signed headers sorted
// and lower-cased, their names, the payload hash), and the test signs it with node:crypto as
// AWS documents SigV4. AWS's own documented example (IAM ListUsers) is checked against AWS's
// published signing key and signature.
import { createHash, createHmac } from 'node:crypto'
import t from 'tap'
import { rawJson } from '../../../src/exact-json.js'
import { E, lit, table, V } from './helpers.js'

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex')
const mac = (key: Buffer | string, msg: string): Buffer => createHmac('sha256', key).update(msg, 'utf8').digest()
const EMPTY = sha256('')

function signingKey (secret: string, day: string, region: string, service: string): Buffer {
  return mac(mac(mac(mac('AWS4' + secret, day), region), service), 'aws4_request')
}

interface Scope { access: string; secret: string; region: string; service: string; day: string; stamp: string }

/** The Authorization header for a canonical request, as AWS documents SigV4. */
function authFor (canonical: string, s: Scope, signedHeaders: string): string {
  const scope = `${s.day}/${s.region}/${s.service}/aws4_request`
  const toSign = `AWS4-HMAC-SHA256\n${s.stamp}\n${scope}\n${sha256(canonical)}`
  const sig = mac(signingKey(s.secret, s.day, s.region, s.service), toSign).toString('hex')
  return `AWS4-HMAC-SHA256 Credential=${s.access}/${scope},SignedHeaders=${signedHeaders},Signature=${sig}`
}

const NS = '1451311705000000000' // 2015-12-28T14:08:25Z
const DAY = '20151228'
const STAMP = '20151228T140825Z'
const s3: Scope = { access: 'AKID', secret: 'SECRET/KEY+1', region: 'eu-west-1', service: 's3', day: DAY, stamp: STAMP }
const cfg = (s: Scope, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ aws_access_key: s.access, aws_secret_access_key: s.secret, aws_service: s.service, aws_region: s.region, ...extra })
const sign = (req: unknown, config: unknown, ns: string = NS): string => `providers.aws.sign_req(${lit(req)}, ${lit(config)}, ${ns})`

t.test("AWS's documented SigV4 example (IAM ListUsers) signs to AWS's published signature", async t => {
  const iam: Scope = { access: 'AKIDEXAMPLE', secret: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-east-1', service: 'iam', day: '20150830', stamp: '20150830T123600Z' }
  // the reference computation agrees with AWS's published derived key
  t.equal(signingKey(iam.secret, iam.day, iam.region, iam.service).toString('hex'), 'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9')
  const req = { method: 'GET', url: 'https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08', headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' } }
  await table(t, [
    [sign(req, cfg(iam), '1440938160000000000'), V({
      ...req,
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
        Authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request,SignedHeaders=content-type;host;x-amz-date,Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
        host: 'iam.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
      },
    })],
  ])
})

t.test('S3 GET: escaped path, raw query, content hash header, unsigned and ignored headers', async t => {
  const req = {
    method: 'GET',
    url: 'https://bucket.s3.amazonaws.com:8443/my%20file/ä b.txt?list-type=2&prefix=a%2Fb#frag',
    headers: { 'X-Custom': 'v', 'User-Agent': 'ua/1', 'X-Amzn-Trace-Id': 'Root=1', Authorization: 'old', Accept: 42 },
  }
  const canonical = [
    'GET',
    '/my%20file/%C3%A4%20b.txt', // Go re-escapes a path that is not validly escaped as written
    'list-type=2&prefix=a%2Fb',
    'accept:', // a header value that is not a string is empty
    'host:bucket.s3.amazonaws.com:8443',
    `x-amz-content-sha256:${EMPTY}`,
    `x-amz-date:${STAMP}`,
    'x-custom:v',
    '',
    'accept;host;x-amz-content-sha256;x-amz-date;x-custom',
    EMPTY,
  ].join('\n')
  await table(t, [
    [sign(req, cfg(s3)), V({
      ...req,
      headers: {
        'X-Custom': 'v',
        'User-Agent': 'ua/1',
        'X-Amzn-Trace-Id': 'Root=1',
        Accept: '',
        Authorization: authFor(canonical, s3, 'accept;host;x-amz-content-sha256;x-amz-date;x-custom'),
        host: 'bucket.s3.amazonaws.com:8443',
        'x-amz-content-sha256': EMPTY,
        'x-amz-date': STAMP,
      },
    })],
  ])
})

t.test('a validly escaped path is signed as written; no path is an empty line', async t => {
  const auth = (url: string): string => `${sign({ method: 'get', url }, cfg(s3))}.headers.Authorization`
  const canonical = (path: string, query: string): string =>
    ['get', path, query, 'host:h.example', `x-amz-content-sha256:${EMPTY}`, `x-amz-date:${STAMP}`, '', 'host;x-amz-content-sha256;x-amz-date', EMPTY].join('\n')
  const signed = 'host;x-amz-content-sha256;x-amz-date'
  await table(t, [
    [auth('http://h.example/a%2Fb/c'), V(authFor(canonical('/a%2Fb/c', ''), s3, signed))],
    [auth('http://h.example/x(1)'), V(authFor(canonical('/x(1)', ''), s3, signed))], // sub-delims kept as written
    [auth('http://h.example/x y'), V(authFor(canonical('/x%20y', ''), s3, signed))],
    [auth('http://h.example'), V(authFor(canonical('', ''), s3, signed))],
    [auth('http://h.example?b=2&a=1'), V(authFor(canonical('', 'b=2&a=1'), s3, signed))], // the query is not sorted
  ])
})

t.test('POST with a JSON body to a non-S3 service, with a session token', async t => {
  const api: Scope = { access: 'AKID2', secret: 'sk', region: 'us-west-2', service: 'execute-api', day: DAY, stamp: STAMP }
  const req = { method: 'POST', url: 'https://api.example.com/prod/items', headers: { 'content-type': 'application/json' }, body: { b: '<x&y>', a: [1, 2] } }
  const bodyText = '{"a":[1,2],"b":"\\u003cx\\u0026y\\u003e"}' // Go's json.Marshal: sorted keys, HTML-safe
  const canonical = [
    'POST', '/prod/items', '',
    'content-type:application/json',
    'host:api.example.com',
    `x-amz-date:${STAMP}`,
    'x-amz-security-token:TOKEN/1',
    '',
    'content-type;host;x-amz-date;x-amz-security-token',
    sha256(bodyText),
  ].join('\n')
  await table(t, [
    [sign(req, cfg(api, { aws_session_token: 'TOKEN/1' })), V({
      ...req,
      headers: {
        'content-type': 'application/json',
        Authorization: authFor(canonical, api, 'content-type;host;x-amz-date;x-amz-security-token'),
        host: 'api.example.com',
        'x-amz-date': STAMP,
        'x-amz-security-token': 'TOKEN/1',
      },
    })],
    // an empty (or non-string) session token adds no header
    [`object.keys(${sign(req, cfg(api, { aws_session_token: '' }))}.headers)`, V(['Authorization', 'content-type', 'host', 'x-amz-date'])],
    [`object.keys(${sign(req, cfg(api, { aws_session_token: 7 }))}.headers)`, V(['Authorization', 'content-type', 'host', 'x-amz-date'])],
    // numbers in the body are marshalled as written, big ones exactly
    [`${sign({ method: 'PUT', url: 'http://h/', body: [rawJson('2.50'), rawJson('12345678901234567890')] }, cfg(s3))}.headers["x-amz-content-sha256"]`, V(sha256('[2.50,12345678901234567890]'))],
    [`${sign({ method: 'PUT', url: 'http://h/', body: null }, cfg(s3))}.headers["x-amz-content-sha256"]`, V(sha256('null'))],
  ])
})

t.test('raw_body is signed as given and wins over body', async t => {
  const raw = '{"a": {1, 2}}'
  const hash = (req: unknown): string => `${sign(req, cfg(s3))}.headers["x-amz-content-sha256"]`
  await table(t, [
    [hash({ method: 'PUT', url: 'http://h/', raw_body: raw }), V(sha256(raw))],
    [hash({ method: 'PUT', url: 'http://h/', raw_body: raw, body: { x: 1 } }), V(sha256(raw))],
    [hash({ method: 'PUT', url: 'http://h/', raw_body: 5, body: { x: 1 } }), V(EMPTY)], // not a string: empty
    [`${sign({ method: 'PUT', url: 'http://h/', raw_body: raw }, cfg(s3))}.raw_body`, V(raw)],
  ])
})

t.test('disable_payload_signing signs UNSIGNED-PAYLOAD (in the header for S3 only)', async t => {
  const sqs: Scope = { ...s3, service: 'sqs' }
  const req = { method: 'POST', url: 'https://q.example/', body: 'payload' }
  const canonical = ['POST', '/', '', 'host:q.example', `x-amz-date:${STAMP}`, '', 'host;x-amz-date', 'UNSIGNED-PAYLOAD'].join('\n')
  const s3canonical = ['POST', '/', '', 'host:q.example', 'x-amz-content-sha256:UNSIGNED-PAYLOAD', `x-amz-date:${STAMP}`, '', 'host;x-amz-content-sha256;x-amz-date', 'UNSIGNED-PAYLOAD'].join('\n')
  await table(t, [
    [`${sign(req, cfg(sqs, { disable_payload_signing: true }))}.headers`, V({ Authorization: authFor(canonical, sqs, 'host;x-amz-date'), host: 'q.example', 'x-amz-date': STAMP })],
    [`${sign(req, cfg(s3, { disable_payload_signing: true }))}.headers`, V({
      Authorization: authFor(s3canonical, s3, 'host;x-amz-content-sha256;x-amz-date'), host: 'q.example', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': STAMP,
    })],
    [`${sign(req, cfg(s3, { disable_payload_signing: false }))}.headers["x-amz-content-sha256"]`, V(sha256('"payload"'))],
    [`${sign(req, { ...cfg(s3, { disable_payload_signing: false }), aws_service: 'glacier' })}.headers["x-amz-content-sha256"]`, V(sha256('"payload"'))],
  ])
})

t.test("a request header named like one of ours is signed with its own value; ours is returned", async t => {
  const req = { method: 'GET', url: 'http://h.example/', headers: { 'X-Amz-Content-Sha256': 'mine', Host: 'other.example' } }
  const canonical = ['GET', '/', '', 'host:other.example', 'x-amz-content-sha256:mine', `x-amz-date:${STAMP}`, '', 'host;x-amz-content-sha256;x-amz-date', EMPTY].join('\n')
  const lowerReq = { method: 'GET', url: 'http://h.example/', headers: { 'x-amz-content-sha256': 'mine' } }
  const lowerCanonical = ['GET', '/', '', 'host:h.example', 'x-amz-content-sha256:mine', `x-amz-date:${STAMP}`, '', 'host;x-amz-content-sha256;x-amz-date', EMPTY].join('\n')
  await table(t, [
    [`${sign(req, cfg(s3))}.headers`, V({
      'X-Amz-Content-Sha256': 'mine',
      Host: 'other.example',
      Authorization: authFor(canonical, s3, 'host;x-amz-content-sha256;x-amz-date'),
      host: 'h.example',
      'x-amz-content-sha256': EMPTY,
      'x-amz-date': STAMP,
    })],
    [`${sign(lowerReq, cfg(s3))}.headers`, V({
      Authorization: authFor(lowerCanonical, s3, 'host;x-amz-content-sha256;x-amz-date'),
      host: 'h.example',
      'x-amz-content-sha256': EMPTY,
      'x-amz-date': STAMP,
    })],
  ])
})

t.test('time_ns: read exactly (past 2^53), any int64, in UTC', async t => {
  const date = (ns: string): string => `${sign({ method: 'GET', url: 'http://h/' }, cfg(s3), ns)}.headers["x-amz-date"]`
  await table(t, [
    [date('1451311705999999999'), V('20151228T140825Z')], // a double would round this up to ...706
    [date('1451311705 * 1000000000'), V('20151228T140825Z')],
    [date('0'), V('19700101T000000Z')],
    [date('-1'), V('19691231T235959Z')],
    [date('9223372036854775807'), V('22620411T234716Z')],
    [date('-9223372036854775808'), V('16770921T001243Z')], // 1677-09-21T00:12:43.145224192Z
    [`${sign({ method: 'GET', url: 'http://h/' }, cfg(s3), 'input.ns')}.headers["x-amz-date"]`, V('20151228T140825Z')],
  ], { ns: rawJson('1451311705999999999') })
  const s = { ...s3, day: '19691231', stamp: '19691231T235959Z' }
  const canonical = ['GET', '/', '', 'host:h', `x-amz-content-sha256:${EMPTY}`, 'x-amz-date:19691231T235959Z', '', 'host;x-amz-content-sha256;x-amz-date', EMPTY].join('\n')
  await table(t, [
    [`${sign({ method: 'GET', url: 'http://h/' }, cfg(s3), '-1')}.headers.Authorization`, V(authFor(canonical, s, 'host;x-amz-content-sha256;x-amz-date'))],
  ])
})

t.test("operand errors, with OPA's messages and order", async t => {
  const ok = { method: 'GET', url: 'http://h/' }
  const te = (m: string): RegExp => new RegExp('^eval_type_error: providers\\.aws\\.sign_req: ' + m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$')
  const be = (m: string): RegExp => new RegExp('^eval_builtin_error: providers\\.aws\\.sign_req: ' + m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$')
  await table(t, [
    [sign('x', cfg(s3)), E(te('operand 1 must be object but got string'))],
    [sign(ok, [1]), E(te('operand 1 must be object but got array'))], // OPA names the config operand 1 too
    [sign({}, { aws_service: 's3' }), E(te('operand 2 missing required AWS config parameters(s): {"aws_access_key", "aws_region", "aws_secret_access_key"}'))],
    [sign({}, { ...cfg(s3), aws_region: 1, aws_access_key: null }), E(te('operand 2 invalid values for required AWS config parameters(s): {"aws_access_key", "aws_region"}'))],
    [sign({}, cfg(s3), '"1"'), E(te('operand 1 must be number but got string'))],
    [sign({}, cfg(s3), '1.5'), E(te('operand 3 could not convert time_ns value into a unix timestamp'))],
    [sign({}, cfg(s3), '1e3'), E(te('operand 3 could not convert time_ns value into a unix timestamp'))],
    [sign({}, cfg(s3), '-9223372036854775809'), E(te('operand 3 could not convert time_ns value into a unix timestamp'))],
    [sign({}, cfg(s3), '9223372036854775808'), E(te('operand 3 could not convert time_ns value into a unix timestamp'))],
    [sign({ url: 'http://h/', method: 'GET', verb: 'x', foo: 1 }, cfg(s3)), E(te('operand 1 invalid request parameters(s): {"foo", "verb"}'))],
    [sign({ url: 'http://h/' }, cfg(s3)), E(te('operand 1 missing required request parameters(s): {"method"}'))],
    [sign({ ...ok, headers: 'h' }, cfg(s3)), E(te('operand 0 must be object but got string'))],
    [sign({ url: 1, method: true }, cfg(s3)), E(te('operand 1 invalid values for required request parameters(s): {"method", "url"}'))],
    [sign({ url: ':x', method: 'GET' }, cfg(s3)), E(be('parse ":x": missing protocol scheme'))],
    [sign({ url: 'http://h/%zz', method: 'GET' }, cfg(s3)), E(be('parse "http://h/%zz": invalid URL escape "%zz"'))],
    [sign({ url: 'http://h/#%zz', method: 'GET' }, cfg(s3)), E(be('parse "http://h/#%zz": invalid URL escape "%zz"'))],
    [sign({ url: 'http://h:x/', method: 'GET' }, cfg(s3)), E(be('parse "http://h:x/": invalid port ":x" after host'))],
    [sign(ok, cfg(s3, { disable_payload_signing: 'yes' })), E(te("operand 2 invalid value for 'disable_payload_signing' in AWS config"))],
  ])
})
