// Request bodies the ext_authz input does not parse (parsed_body null: a +json media type, a
// partial body, text/plain, bytes over gRPC) still lose their credentials before the decision
// log stores them: JSON is erased and re-serialised, a form is scrubbed, anything else is
// withheld. `bouncer evidence` looks at the body texts too. The proxy port keeps no body text.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { main as evidence } from '../../src/cli/evidence.js'
import * as erase from '../../src/decision-log/erase.js'
import { verifyLog } from '../../src/decision-log/index.js'
import { startUpstream } from '../helpers/index.js'
import { tempDir } from '../decision-log/fixtures/control-plane.js'
import { authzClient, checkRequest, startExtAuthz } from './fixtures/client.js'

// Reads parsed_body, so a body whose content type is parsed is parsed.
const POLICY = 'package envoy.authz\n\ndefault allow := false\n\nallow if {\n  input.attributes.request.http.method == "POST"\n  not input.parsed_body.deny\n}\n'

const SECRETS = ['S-CONTROL', 'S-VND', 'S-MERGE', 'S-PARTIAL', 'S-TEXTJSON', 'S-TEXTFORM', 'S-TEXTRAW', 'S-GRPCRAW', 'S-GRPCTEXT', 'S-PROXYTEXT', 'S-PROXYJSON']
/** The secrets in JSON lines of events, rawBody (base64) read as text too. */
const leaked = (lines: string): string[] => {
  let text = lines
  for (const l of lines.split('\n')) {
    const raw = l.trim() === '' ? undefined : (JSON.parse(l) as Record<string, any>).input?.attributes?.request?.http?.rawBody
    if (typeof raw === 'string') text += Buffer.from(raw, 'base64').toString('utf8')
  }
  return SECRETS.filter((s) => text.includes(s))
}

function decisions (file: string): Record<string, any>[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>).filter((e) => e.decision_id !== undefined)
}

async function post (url: string, contentType: string, body: string, headers: Record<string, string> = {}): Promise<void> {
  const r = await request(url, { method: 'POST', headers: { 'content-type': contentType, 'x-envoy-auth-partial-body': 'false', ...headers }, body })
  await r.body.dump()
  if (r.statusCode !== 200) throw new Error(`${url} ${contentType}: ${r.statusCode}`)
}

/** The requests of the review's reproduction, and more of the kind, over HTTP and gRPC. */
async function sendAll (b: { httpPort: number; grpcPort: number }): Promise<void> {
  const a = `http://127.0.0.1:${b.httpPort}`
  await post(`${a}/login`, 'application/json', '{"username":"bob","password":"S-CONTROL"}')
  await post(`${a}/login`, 'application/vnd.api+json', '{"data":{"attributes":{"username":"bob","password":"S-VND"}},"n":12345678901234567890}')
  await post(`${a}/users/1`, 'application/merge-patch+json', '{"password":"S-MERGE"}')
  await post(`${a}/login`, 'application/json', '{"username":"bob","password":"S-PARTIAL","pad":"', { 'x-envoy-auth-partial-body': 'true' })
  await post(`${a}/oauth/token`, 'text/plain', '{"data":{"attributes":{"username":"bob","token":"S-TEXTJSON"}},"n":12345678901234567890}')
  await post(`${a}/oauth/token`, 'text/plain', 'grant_type=password&user%5Bpassword%5D=S-TEXTFORM')
  await post(`${a}/notes`, 'text/plain', 'user: bob\npassword: S-TEXTRAW\n')
  const c = authzClient(b.grpcPort)
  try {
    // Envoy with pack_as_bytes: the body as raw_body bytes (a content type nothing parses).
    await c.check(checkRequest({ method: 'POST', path: '/upload', headers: { 'content-type': 'application/octet-stream' }, rawBody: Buffer.from('{"api_key":"S-GRPCRAW","size":3}') }))
    await c.check(checkRequest({ method: 'POST', path: '/upload', headers: { 'content-type': 'text/plain' }, body: 'token: S-GRPCTEXT' }))
  } finally { c.close() }
}

t.test('ext_authz: bodies nothing parsed are erased, scrubbed or withheld; none of their credentials is logged', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'decisions.jsonl')
  const spool = join(dir, 'spool')
  const b = await startExtAuthz({
    rego: POLICY,
    entrypoint: 'envoy/authz/allow',
    config: { decision_logs: { enabled: true, sinks: ['file'], file_path: file, spool_dir: spool, write_mode: 'sync', min_delay_seconds: 0.02, max_delay_seconds: 0.2 } },
  })
  await sendAll(b)
  await b.close()

  const segs = readdirSync(spool).filter((n) => n.startsWith('seg-')).map((n) => readFileSync(join(spool, n), 'utf8')).join('')
  t.same(leaked(segs), [], 'no secret in the spool')
  t.same(leaked(readFileSync(file, 'utf8')), [], 'no secret in the file export')
  const evs = decisions(file)
  t.equal(evs.length, 9)
  const http = (i: number): Record<string, any> => evs[i]!.input.attributes.request.http

  // A parsed JSON body: as before (erased from parsed_body, the text removed).
  t.same(evs[0]!.input.parsed_body, { username: 'bob' })
  t.equal(http(0).body, undefined)
  // JSON under +json media types: parsed or not (src/ext-authz/input.ts decides), no secret
  // (checked above); a body nothing parsed is in the log without its credential.
  for (const i of [1, 2]) {
    if (evs[i]!.input.parsed_body === null) t.notOk(JSON.parse(http(i).body as string).password !== undefined, `${i}: erased from the body text`)
    else t.equal(http(i).body, undefined, `${i}: parsed, the text removed`)
  }

  // A partial JSON body does not parse: withheld, and said so.
  t.equal(evs[3]!.input.truncated_body, true)
  t.equal(http(3).body, erase.WITHHELD_BODY)
  t.same(evs[3]!.erased, ['/input/attributes/request/http/body'])

  // text/plain: JSON is erased (and re-serialised: other members kept, exact numbers too), a
  // form scrubbed (listed as masked), other text withheld.
  t.equal(evs[4]!.input.parsed_body, null)
  t.equal(http(4).body, '{"data":{"attributes":{"username":"bob"}},"n":12345678901234567890}')
  t.same(evs[4]!.erased, ['/input/attributes/request/http/body/data/attributes/token'], 'each erased member listed under the body\'s pointer')
  t.equal(http(5).body, 'grant_type=password&user%5Bpassword%5D=[REDACTED]')
  t.same(evs[5]!.masked, ['/input/attributes/request/http/body'])
  t.equal(http(6).body, erase.WITHHELD_BODY)
  t.same(evs[6]!.erased, ['/input/attributes/request/http/body'])

  // gRPC: raw_body bytes (rawBody, base64) read the same way.
  t.same(JSON.parse(Buffer.from(http(7).rawBody as string, 'base64').toString('utf8')), { size: 3 })
  t.same(evs[7]!.erased, ['/input/attributes/request/http/rawBody/api_key'])
  t.equal(http(8).body, erase.WITHHELD_BODY)
  t.equal((await verifyLog(file)).ok, true, 'the chain verifies')

  const out: string[] = []
  const code = await evidence(['--log', file, '--format', 'json', '--out', '-'], { stdout: (s) => { out.push(s) }, stderr: () => {} })
  t.equal(JSON.parse(out.join('')).summary.credentials_found, 0, 'evidence finds nothing left')
  t.equal(code, 0)
})

t.test('bouncer evidence scans body texts: a log written without erasure has its body credentials found', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'decisions.jsonl')
  const b = await startExtAuthz({
    rego: POLICY,
    entrypoint: 'envoy/authz/allow',
    config: { decision_logs: { enabled: true, sinks: ['file'], file_path: file, spool_dir: join(dir, 'spool'), write_mode: 'sync', erase_query_params: [], min_delay_seconds: 0.02, max_delay_seconds: 0.2 } },
  })
  await sendAll(b)
  await post(`http://127.0.0.1:${b.httpPort}/oauth/token`, 'text/plain', '{"client_secret":"S-CLIENT"}')
  await b.close()
  const found = leaked(readFileSync(file, 'utf8'))
  t.same(SECRETS.filter((s) => !s.startsWith('S-PROXY') && !found.includes(s)), [], 'erasure off: every secret is in the log')

  const out: string[] = []
  const code = await evidence(['--log', file, '--format', 'json', '--out', '-'], { stdout: (s) => { out.push(s) }, stderr: () => {} })
  t.equal(code, 1)
  t.notMatch(out.join(''), /S-[A-Z]/, 'no value is copied into the report')
  const report = JSON.parse(out.join('')) as Record<string, any>
  t.equal(report.summary.credentials_found, 10, 'every event holding one')
  const findings = (report.privacy.credential_findings as Array<{ location: string; kind: string }>).map((f) => `${f.location} ${f.kind}`)
  for (const want of [
    '/input/attributes/request/http/body/password field password',
    '/input/attributes/request/http/body field password in the body text',
    '/input/attributes/request/http/body/data/attributes/token field token',
    '/input/attributes/request/http/body body field user[password]',
    '/input/attributes/request/http/rawBody/api_key field api_key',
    '/input/attributes/request/http/body field token in the body text',
    '/input/attributes/request/http/body/client_secret field client_secret',
  ]) t.ok(findings.includes(want), `found: ${want}`)
})

t.test('the proxy port keeps no body text: a body it does not parse is not in the input at all', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'decisions.jsonl')
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startExtAuthz({
    rego: POLICY,
    entrypoint: 'envoy/authz/allow',
    proxyUpstream: up.url,
    config: { policy: { parsed_body: { enabled: true } }, decision_logs: { enabled: true, sinks: ['file'], file_path: file, spool_dir: join(dir, 'spool'), write_mode: 'sync', min_delay_seconds: 0.02, max_delay_seconds: 0.2 } },
  })
  await post(`http://127.0.0.1:${b.proxyPort!}/notes`, 'text/plain', '{"client_secret":"S-PROXYTEXT","password":"S-PROXYTEXT"}')
  await post(`http://127.0.0.1:${b.proxyPort!}/login`, 'application/vnd.api+json', '{"password":"S-PROXYJSON","user":"bob"}')
  await b.close()
  t.equal(up.requests.length, 2, 'both forwarded')
  t.same(leaked(readFileSync(file, 'utf8')), [])
  const [text, json] = decisions(file)
  t.same(Object.keys(text!.input.attributes.request.http).sort(), ['headers', 'host', 'id', 'method', 'path', 'protocol', 'scheme'], 'no body field in a proxy input')
  t.equal(text!.input.parsed_body, undefined, 'text/plain is not parsed')
  t.same(json!.input.parsed_body, { user: 'bob' }, '+json is parsed (and erased) on the proxy port')
})
