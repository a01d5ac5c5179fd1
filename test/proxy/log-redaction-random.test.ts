// Secrets never reach the decision log, over generated requests: each request carries its own
// secret (a unique alphanumeric marker inside characters that every encoding spells
// differently: quotes, backslashes, "+", "%", "=", ";", non-ASCII) in the places credentials
// travel — Authorization, Cookie, X-Api-Key and X-Auth-Token in changing case, credential
// query parameters (erase_query_params), and headers the decision itself sets upstream and on
// the response. Every request goes through the real proxy to a real upstream with decision
// logs to a real control plane; afterwards no marker may appear anywhere in what the control
// plane received or in the spool's files, and every event names what was erased.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { rawRequest, startBouncer, startUpstream } from '../helpers/index.js'
import { startControlPlane, tempDir, waitFor } from '../decision-log/fixtures/control-plane.js'
import { prng, randomCase } from '../helpers/random.js'

// The decision hands the caller's token on, as policies that forward credentials do: the logged
// result then holds it too, under header names the erasure covers.
const POLICY = `package bouncer

decision := {
  "allow": true,
  "headers": {"authorization": object.get(input.attributes.request.http.headers, "authorization", "none")},
  "response_headers": {"set-cookie": object.get(input.attributes.request.http.headers, "cookie", "none")},
}
`

const AROUND = ['"', '\\', '+', '%', '=', ';', ',', '/', '\u00e9', ' ', "'", '<', '&', '~']

t.test('generated credentials in headers, queries and decisions never reach the decision log', async (t) => {
  const dir = tempDir(t)
  const cp = await startControlPlane()
  const up = await startUpstream()
  const spool = join(dir, 'spool')
  const b = await startBouncer({
    upstream: up.url,
    rego: { 'p.rego': POLICY },
    config: { decision_logs: { enabled: true, service_url: cp.url, spool_dir: spool, min_delay_seconds: 0.05, max_delay_seconds: 0.2, erase_query_params: ['token', 'api_key'] } },
  })
  t.teardown(async () => { await b.close(); await up.close(); await cp.close() })

  const rnd = prng(0x5ec7e7)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
  const COUNT = 150
  const markers: string[] = []
  const carried: string[][] = []
  for (let i = 0; i < COUNT; i++) {
    const marker = `zq${i}sekrit${Math.floor(rnd() * 1e9).toString(36)}`
    markers.push(marker)
    const secret = () => `${pick(AROUND)}${marker}${pick(AROUND)}${pick(AROUND)}`
    const lines: string[] = []
    const where: string[] = []
    let query = ''
    if (rnd() < 0.6) { lines.push(`${randomCase(rnd, 'authorization', 0.4)}: Bearer ${secret()}`); where.push('authorization') }
    if (rnd() < 0.5) { lines.push(`${randomCase(rnd, 'cookie', 0.4)}: session=${secret()}; theme=dark`); where.push('cookie') }
    if (rnd() < 0.3) { lines.push(`${randomCase(rnd, 'x-api-key', 0.4)}: ${secret()}`); where.push('x-api-key') }
    if (rnd() < 0.3) { lines.push(`${randomCase(rnd, 'x-auth-token', 0.4)}: ${secret()}`); where.push('x-auth-token') }
    if (rnd() < 0.4) { query = `?${rnd() < 0.5 ? 'token' : 'API_KEY'}=${encodeURIComponent(secret())}&page=2`; where.push('query') }
    if (where.length === 0) { lines.push(`Authorization: Bearer ${secret()}`); where.push('authorization') }
    carried.push(where)
    const head = ['Host: api.local', 'X-Tenant: acme', ...lines, 'Connection: close'].join('\r\n')
    const r = await rawRequest(b.port, `GET /items/${i}${query} HTTP/1.1\r\n${head}\r\n\r\n`)
    t.equal(r.status, 200, `request ${i} allowed`)
  }

  await waitFor(() => cp.events().length >= COUNT, 20_000, 'every decision to reach the control plane')
  t.equal(cp.events().length, COUNT, 'one event per request')

  // Nothing the control plane received, and nothing on disk, holds a marker in any spelling.
  const received = cp.batches.map((x) => x.raw).join('\n')
  const onDisk = readdirSync(spool).map((f) => readFileSync(join(spool, f), 'latin1')).join('\n')
  const leaked = markers.filter((m) => received.includes(m) || onDisk.includes(m))
  t.same(leaked, [], 'no secret reached the control plane or the spool')
  // The upstream did get the credentials (the log hides them; the request does not lose them).
  t.ok(up.requests.some((r) => JSON.stringify(r.rawHeaders).includes(markers[0]!) || r.url.includes(markers[0]!)), 'the upstream received the first request\'s credential')

  // Every event says what was erased, where that request carried a credential.
  const byId = new Map(cp.events().map((e) => [String((e.input as { attributes: { request: { http: { path: string } } } }).attributes.request.http.path).split('?')[0], e]))
  const missing: string[] = []
  for (let i = 0; i < COUNT; i++) {
    const e = byId.get(`/items/${i}`)
    if (e === undefined) { missing.push(`request ${i}: no event`); continue }
    const erased = new Set<string>([...(e.erased as string[] ?? []), ...(e.masked as string[] ?? [])])
    for (const w of carried[i]!) {
      const pointer = w === 'query' ? '/input/attributes/request/http/path' : `/input/attributes/request/http/headers/${w}`
      if (!erased.has(pointer)) missing.push(`request ${i}: ${pointer} not listed in erased/masked ${JSON.stringify([...erased])}`)
    }
    if (carried[i]!.includes('authorization') && !erased.has('/result/headers/authorization')) missing.push(`request ${i}: the decision's authorization header not listed`)
  }
  t.same(missing.slice(0, 10), [], 'every credential is accounted for in erased / masked')
})
