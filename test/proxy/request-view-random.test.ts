// "The headers the policy sees are the headers the upstream gets", over generated header sets:
// a seeded generator (the same requests on every run) mixes ordinary headers, repeated headers
// in changing case, singletons sent twice, cookies, hop-by-hop headers and headers named in
// Connection, the reserved x-bouncer-* namespace, client-supplied forwarding headers and
// request ids. The policy allows every request and hands the upstream the header map it saw
// (in a header the decision adds). For every request the upstream received one line per
// header (set-cookie, which Node keeps as a list, excepted), and the set of lines is exactly the policy's map
// (WebSocket upgrade requests too, through the upgrade path) — apart from the decision's own
// header and the upstream connection's Connection header — with nothing hop-by-hop, nothing
// reserved, and forwarding headers that are the bouncer's, not the client's.
import { connect as h2connect } from 'node:http2'
import t from 'tap'
import { rawRequest, startBouncer, startUpstream, type Upstream } from '../helpers/index.js'
import { prng, randomCase } from '../helpers/random.js'

const POLICY = `package bouncer

decision := {
  "allow": true,
  "headers": {"x-policy-headers": base64.encode(json.marshal(input.attributes.request.http.headers))},
}
`

const NAMES = [
  'x-a', 'x-b', 'accept', 'accept-language', 'user-agent', 'authorization', 'cookie', 'x-tenant', 'cache-control', 'traceparent',
  'x-request-id', 'x-bouncer-subject', 'x-bouncer-roles', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded',
  'x-real-ip', 'true-client-ip', 'te', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'trailer', 'upgrade', 'via', 'x-c',
  'set-cookie',
]
// HTTP/2 forbids connection-specific fields (node:http2 refuses to send them): not generated there.
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te'])
// ... and sends these once only
const H2_SINGLE = new Set(['authorization', 'proxy-authorization', 'user-agent'])
const VALUES = ['1', 'a b', 'x,y', '"quoted"', 'caf\u00e9', 'k=v; k2=v2', 'Bearer abc.def.ghi', 'trailers', 'gzip, br', '*', '', 'x-a', 'req-42']
// Names that must never reach the upstream as the client sent them.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'transfer-encoding'])

/** One request's header fields, in order, and the names its Connection header nominates. */
interface Generated { fields: Array<[string, string]>; nominated: string[] }

type Mode = 'http1' | 'h2' | 'upgrade'

function request (rnd: () => number, mode: Mode): Generated {
  const h2 = mode === 'h2'
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
  const fields: Array<[string, string]> = []
  const names = h2 ? NAMES.filter((n) => !H2_FORBIDDEN.has(n)) : mode === 'upgrade' ? NAMES.filter((n) => n !== 'upgrade') : NAMES
  const n = Math.floor(rnd() * 10)
  for (let i = 0; i < n; i++) {
    const name = pick(names)
    const value = pick(VALUES)
    if (h2 && H2_SINGLE.has(name) && fields.some(([f]) => f === name)) continue
    fields.push([h2 ? name : randomCase(rnd, name), rnd() < 0.2 ? ' ' + value + ' ' : value])
    if (rnd() < 0.2 && !(h2 && (H2_SINGLE.has(name) || fields.some(([f]) => f === name && H2_SINGLE.has(f))))) fields.push([h2 ? name : randomCase(rnd, name), pick(VALUES)]) // the same name again
  }
  // HTTP/1.1: Connection: close (an upgrade: Connection: Upgrade), sometimes naming other
  // headers (hop-by-hop for this request then)
  const nominated = !h2 && rnd() < 0.3 ? [pick(names), pick(names)] : []
  if (mode === 'http1') fields.push(['Connection', ['close', ...nominated].join(', ')])
  if (mode === 'upgrade') fields.push(['Connection', ['Upgrade', ...nominated].join(', ')], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='])
  return { fields, nominated }
}

/** Sends COUNT generated requests and checks every invariant; returns what went wrong (at most ten) and counts. */
async function exercise (up: Upstream, send: (path: string, fields: Array<[string, string]>) => Promise<number | undefined>, seed: number, count: number, mode: Mode,
  expectStatus = 200) {
  const rnd = prng(seed)
  const problems: string[] = []
  let repeated = 0
  let nominatedSeen = 0
  for (let i = 0; i < count && problems.length < 10; i++) {
    const { fields, nominated } = request(rnd, mode)
    up.requests.length = 0
    const status = await send(`/r/${i}`, fields)
    const where = `request ${i} ${JSON.stringify(fields)}`
    if (status !== expectStatus) { problems.push(`${where}: status ${status ?? 'none'}`); continue }
    if (up.requests.length !== 1) { problems.push(`${where}: the upstream received ${up.requests.length} requests`); continue }
    const got = up.requests[0]!
    const saw = JSON.parse(Buffer.from(String(got.headers['x-policy-headers']), 'base64').toString('utf8')) as Record<string, string>
    // The upstream's header lines, by lower-case name.
    const received = new Map<string, string[]>()
    for (let k = 0; k < got.rawHeaders.length; k += 2) {
      const name = got.rawHeaders[k]!.toLowerCase()
      received.set(name, [...(received.get(name) ?? []), got.rawHeaders[k + 1]!])
    }
    for (const [name, values] of received) {
      // One line per name, except set-cookie, the one field Node keeps as a list (the policy sees it joined with ", ", as Envoy gives it)
      if (values.length > 1 && name !== 'set-cookie') problems.push(`${where}: the upstream received ${values.length} ${name} lines`)
      if (name === 'x-policy-headers' || name === 'connection') continue // the decision's own header; the upstream connection's
      if (!(name in saw)) problems.push(`${where}: the upstream received ${name}: ${JSON.stringify(values)}, which the policy never saw`)
      else if (saw[name] !== values.join(', ')) problems.push(`${where}: ${name} was ${JSON.stringify(saw[name])} to the policy, ${JSON.stringify(values)} to the upstream`)
    }
    for (const name of Object.keys(saw)) if (!received.has(name)) problems.push(`${where}: the policy saw ${name}, which never reached the upstream`)
    // What the view promises, whatever the client sent.
    for (const name of Object.keys(saw)) {
      // an allowed upgrade keeps exactly Connection: upgrade and Upgrade: websocket
      if (mode === 'upgrade' && (name === 'connection' || name === 'upgrade')) {
        if (saw[name] !== (name === 'connection' ? 'upgrade' : 'websocket')) problems.push(`${where}: ${name} was ${JSON.stringify(saw[name])}`)
        continue
      }
      if (HOP_BY_HOP.has(name)) problems.push(`${where}: hop-by-hop ${name} was forwarded`)
      if (name.startsWith('x-bouncer-')) problems.push(`${where}: reserved ${name} was forwarded from the client`)
      if (nominated.includes(name) && name !== 'x-request-id' && !name.startsWith('x-forwarded-')) problems.push(`${where}: ${name}, named in Connection, was forwarded`)
      if (name === 'forwarded' || name === 'x-real-ip' || name === 'true-client-ip') problems.push(`${where}: the client's ${name} was forwarded`)
    }
    if (saw['x-forwarded-for'] !== '127.0.0.1' || saw['x-forwarded-proto'] !== 'http' || saw['x-forwarded-host'] !== 'api.local') {
      problems.push(`${where}: forwarding headers ${JSON.stringify([saw['x-forwarded-for'], saw['x-forwarded-proto'], saw['x-forwarded-host']])} are not the bouncer's`)
    }
    if (typeof saw['x-request-id'] !== 'string' || saw['x-request-id'] === '') problems.push(`${where}: no request id`)
    if (mode === 'upgrade' && (saw.connection !== 'upgrade' || saw.upgrade !== 'websocket' || got.headers.upgrade !== 'websocket')) {
      problems.push(`${where}: not forwarded as an upgrade (${JSON.stringify([saw.connection, saw.upgrade, got.headers.upgrade])})`)
    }
    const lower = fields.map(([f]) => f.toLowerCase())
    if (lower.some((f, k) => lower.indexOf(f) !== k)) repeated++
    if (nominated.length > 0) nominatedSeen++
  }
  return { problems, repeated, nominatedSeen }
}

const COUNT = 400

t.test('HTTP/1.1, generated header sets: the upstream gets exactly the headers the policy saw', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  t.teardown(async () => { await b.close(); await up.close() })
  const send = async (path: string, fields: Array<[string, string]>) =>
    (await rawRequest(b.port, `GET ${path} HTTP/1.1\r\nHost: api.local\r\n${fields.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n`)).status
  const { problems, repeated, nominatedSeen } = await exercise(up, send, 0x4ead, COUNT, 'http1')
  t.same(problems, [], 'every request reached the upstream with exactly the headers the policy saw')
  t.ok(repeated >= 50, `${repeated} of ${COUNT} requests repeated a header`)
  t.ok(nominatedSeen >= 50, `${nominatedSeen} of ${COUNT} requests named headers in Connection`)
})

t.test('HTTP/2, generated header sets: the same', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY }, config: { server: { http2: { cleartext: true } } } })
  const session = h2connect(b.url)
  session.on('error', () => {})
  t.teardown(async () => { session.close(); await b.close(); await up.close() })
  const send = (path: string, fields: Array<[string, string]>) => new Promise<number | undefined>((resolve) => {
    const headers: Record<string, string | string[]> = { ':method': 'GET', ':path': path, ':authority': 'api.local' }
    for (const [n, v] of fields) {
      const prev = headers[n]
      headers[n] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v]
    }
    const st = session.request(headers)
    let status: number | undefined
    st.on('response', (h) => { status = Number(h[':status']) })
    st.on('error', () => {})
    st.on('close', () => { resolve(status) })
    st.resume()
    st.end()
  })
  const { problems, repeated } = await exercise(up, send, 0x4eae, COUNT, 'h2')
  t.same(problems, [], 'every stream reached the upstream with exactly the headers the policy saw')
  t.ok(repeated >= 50, `${repeated} of ${COUNT} requests repeated a header`)
})

t.test('HTTP/1.1 upgrades (WebSocket), generated header sets: the same, through the upgrade path', async (t) => {
  const up = await startUpstream()
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  t.teardown(async () => { await b.close(); await up.close() })
  // Not under /ws: the upstream records the upgrade request and answers 404 (no socket stays open).
  const send = async (path: string, fields: Array<[string, string]>) =>
    (await rawRequest(b.port, `GET ${path} HTTP/1.1\r\nHost: api.local\r\n${fields.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n`)).status
  const { problems, repeated, nominatedSeen } = await exercise(up, send, 0x4eaf, 200, 'upgrade', 404)
  t.same(problems, [], 'every upgrade request reached the upstream with exactly the headers the policy saw')
  t.ok(repeated >= 25, `${repeated} of 200 requests repeated a header`)
  t.ok(nominatedSeen >= 25, `${nominatedSeen} of 200 requests named headers in Connection`)
})
