// Credential query parameters in the forms frameworks read them (`access_token[]`,
// `user%5Bpassword%5D`, `a[b][token]`, PHP's `access.token`) and in URL-valued request headers
// (referer, x-original-url, …) never reach the spool, the file export or the control plane, and
// `bouncer evidence` finds them in a log written without erasure.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { main as evidence } from '../../src/cli/evidence.js'
import { compileNameMatcher, compileUrlScrubber, verifyLog } from '../../src/decision-log/index.js'
import * as erase from '../../src/decision-log/erase.js'
import { startBouncer, startUpstream } from '../helpers/index.js'
import { startControlPlane, tempDir, waitFor } from './fixtures/control-plane.js'

t.test('one name matcher: configured names, decoded, in their bracket forms', async (t) => {
  const m = compileNameMatcher(erase.DEFAULT_ERASE_QUERY_PARAMS)
  for (const name of ['access_token', 'Access_Token', 'access%5Ftoken', 'access_token[]', 'access_token%5B%5D', 'ACCESS_TOKEN[0]',
    'access_token[x', 'user[password]', 'user%5Bpassword%5D', 'user%5bPassword%5d', 'a[b][token]', 'a[][password]', 'access.token',
    'api+key', 'user%5Bpassword%5D%zz', 'data[api_key][x]', 'access[token', 'api[key', '%20access_token', '+token', '  password[]']) {
    t.ok(m(name), `${name} is a credential name`)
  }
  for (const name of ['tokens', 'access_token_x', 'mytoken[]', 'user[passwords]', 'a[b]token', 'user.password', 'x', '', '[', ']', '[]', '%5B']) {
    t.notOk(m(name), `${name} is not`)
  }
  t.notOk(compileNameMatcher([])('access_token[]'), 'no names: nothing matches')
})

t.test('the URL scrubber: bracket forms, fragments, full URLs', async (t) => {
  const scrub = compileUrlScrubber(compileNameMatcher(erase.DEFAULT_ERASE_QUERY_PARAMS))
  t.equal(scrub('/a?access_token[]=S1&access_token[]=S2&x=1'), '/a?access_token[]=[REDACTED]&access_token[]=[REDACTED]&x=1')
  t.equal(scrub('/a?user%5Bpassword%5D=S3&user%5Bname%5D=bob'), '/a?user%5Bpassword%5D=[REDACTED]&user%5Bname%5D=bob')
  t.equal(scrub('https://app.example/cb?state=1&token=S4#access_token=S5&token_type=bearer'),
    'https://app.example/cb?state=1&token=[REDACTED]#access_token=[REDACTED]&token_type=bearer', 'the fragment is read too (OAuth implicit flow)')
  t.equal(scrub('https://app.example/cb#id_token=S6'), 'https://app.example/cb#id_token=[REDACTED]')
  t.equal(scrub('/a/b'), '/a/b', 'no query: the same string')
  t.ok(['referer', 'x-original-url', ':path'].every((h) => erase.URL_HEADERS?.includes(h)), 'the URL-valued headers are one exported list')
})

const SECRETS = ['S-PHPARRAY', 'S-NESTED', 'S-DEEP', 'S-DOT', 'S-REFERER', 'S-XORIG', 'S-XFWD', 'S-FRAG', 'S-CONTROL']

async function sendAll (url: string): Promise<void> {
  const send = async (path: string, headers: Record<string, string> = {}): Promise<void> => {
    const r = await request(`${url}${path}`, { headers })
    await r.body.dump()
    if (r.statusCode !== 200) throw new Error(`${path}: ${r.statusCode}`)
  }
  await send('/v1/products?access_token[]=S-PHPARRAY')
  await send('/v1/products?user%5Bpassword%5D=S-NESTED&user%5Bname%5D=bob')
  await send('/v1/products?a[b][token]=S-DEEP&access.token=S-DOT')
  await send('/v1/products', { referer: 'https://app.example/cb?access_token=S-REFERER&page=2' })
  await send('/v1/products', { 'x-original-url': '/v1/x?token=S-XORIG', 'x-rewrite-url': '/v1/y?api_key=S-XFWD&q=1' })
  await send('/v1/products', { referer: 'https://app.example/cb#access_token=S-FRAG' })
  await send('/v1/products?access_token=S-CONTROL')
}

t.test('end to end: none of the forms reaches the spool, the file export or the control plane', async (t) => {
  const dir = tempDir(t)
  const spool = join(dir, 'spool')
  const file = join(dir, 'export.jsonl')
  const up = await startUpstream()
  t.teardown(() => up.close())
  const cp = await startControlPlane()
  t.teardown(() => cp.close())
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': 'package bouncer\n\ndecision := {"allow": true}\n' },
    // Trusted forwarding headers: X-Original-URL and X-Rewrite-URL are otherwise dropped before
    // the policy sees them (upstreams route by them), and so never logged at all.
    config: { server: { trust_forwarded_headers: true }, decision_logs: { enabled: true, sinks: ['file', 'control_plane'], service_url: cp.url, file_path: file, spool_dir: spool, fsync: 'never', min_delay_seconds: 0.02, max_delay_seconds: 0.2 } },
  })
  await sendAll(b.url)
  await waitFor(() => cp.decisions().length === 7, 10_000)
  await b.close()

  let segs = ''
  for (const n of readdirSync(spool)) if (n.startsWith('seg-')) segs += readFileSync(join(spool, n), 'utf8')
  const exported = readFileSync(file, 'utf8')
  const received = cp.batches.map((x) => x.raw).join('\n')
  for (const [where, text] of [['spool', segs], ['file export', exported], ['control plane', received]] as const) {
    t.same(SECRETS.filter((s) => text.includes(s)), [], `no secret in the ${where}`)
  }
  const evs = exported.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>).filter((e) => e.decision_id !== undefined)
  t.equal(evs.length, 7)
  const http = (i: number): Record<string, any> => evs[i]!.input.attributes.request.http
  t.equal(http(0).path, '/v1/products?access_token[]=[REDACTED]')
  t.notOk('access_token[]' in evs[0]!.input.parsed_query, 'removed from parsed_query')
  t.ok(evs[0]!.erased.includes('/input/parsed_query/access_token[]'))
  t.equal(http(1).path, '/v1/products?user%5Bpassword%5D=[REDACTED]&user%5Bname%5D=bob')
  t.same(evs[1]!.input.parsed_query, { 'user[name]': ['bob'] }, 'user[password] removed, user[name] kept')
  t.equal(http(2).path, '/v1/products?a[b][token]=[REDACTED]&access.token=[REDACTED]')
  t.equal(http(3).headers.referer, 'https://app.example/cb?access_token=[REDACTED]&page=2')
  t.ok(evs[3]!.masked.includes('/input/attributes/request/http/headers/referer'), 'the rewritten header is declared in masked')
  t.equal(http(4).headers['x-original-url'], '/v1/x?token=[REDACTED]')
  t.equal(http(4).headers['x-rewrite-url'], '/v1/y?api_key=[REDACTED]&q=1')
  t.equal(http(5).headers.referer, 'https://app.example/cb#access_token=[REDACTED]')
  t.equal(http(6).path, '/v1/products?access_token=[REDACTED]')
  t.equal((await verifyLog(file)).ok, true, 'the export verifies')

  // The evidence scan over what was logged: nothing left to find.
  const out: string[] = []
  const code = await evidence(['--log', file, '--format', 'json', '--out', '-'], { stdout: (s) => { out.push(s) }, stderr: () => {} })
  t.equal(code, 0, 'evidence: complete, no credentials')
  t.equal(JSON.parse(out.join('')).summary.credentials_found, 0)
})

t.test('bouncer evidence finds every form in a log written without erasure', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'export.jsonl')
  const up = await startUpstream()
  t.teardown(() => up.close())
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': 'package bouncer\n\ndecision := {"allow": true}\n' },
    // erasure switched off: what an old log, or one written with a short list, holds
    config: { server: { trust_forwarded_headers: true }, decision_logs: { enabled: true, sinks: ['file'], file_path: file, spool_dir: join(dir, 'spool'), fsync: 'never', erase_query_params: [], min_delay_seconds: 0.02, max_delay_seconds: 0.2 } },
  })
  await sendAll(b.url)
  await b.close()
  const text = readFileSync(file, 'utf8')
  t.same(SECRETS.filter((s) => !text.includes(s)), [], 'the log holds every secret (erasure off)')

  const out: string[] = []
  const code = await evidence(['--log', file, '--format', 'json', '--out', '-'], { stdout: (s) => { out.push(s) }, stderr: () => {} })
  t.equal(code, 1, 'evidence: credentials found, exit 1')
  const report = JSON.parse(out.join('')) as Record<string, any>
  t.equal(report.summary.credentials_found, 7, 'every event holding one is counted')
  t.notMatch(out.join(''), /S-[A-Z]/, 'no value is copied into the report')
  const findings = (report.privacy.credential_findings as Array<{ location: string; kind: string }>).map((f) => `${f.location} ${f.kind}`)
  for (const want of [
    '/input/attributes/request/http/path query parameter access_token[]',
    '/input/attributes/request/http/path query parameter user[password]',
    '/input/attributes/request/http/path query parameter a[b][token]',
    '/input/attributes/request/http/path query parameter access.token',
    '/input/parsed_query/access_token[] field access_token[]',
    '/input/parsed_query/user[password] field user[password]',
    '/input/attributes/request/http/headers/referer query parameter access_token',
    '/input/attributes/request/http/headers/x-original-url query parameter token',
    '/input/attributes/request/http/headers/x-rewrite-url query parameter api_key',
  ]) t.ok(findings.some((f) => f === want || f.endsWith(' ' + want)), `found: ${want}`)
})
