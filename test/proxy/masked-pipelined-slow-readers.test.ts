// Many masked responses, each with its own marker in every value, go out at once over pipelined
// keep-alive connections whose clients read slowly (the socket's send buffer fills, so writes
// stay queued in the process while other responses are masked), and every byte each client
// receives is checked: one caller must never receive part of another caller's view. (Written
// for a pool of reused assembly buffers, tried and not kept: it failed when a buffer was given
// back before its response had been written out.)
import net from 'node:net'
import t from 'tap'
import { startBouncer, startUpstream } from '../helpers/index.js'

const POLICY = `package bouncer

decision := {"allow": true, "mask": [{"path": "/rows/*/ssn", "action": "redact"}]}
`

/** The document for request `n`: ~400 KB, every value naming n (under the pool's largest buffer, 512 KiB). */
function doc (n: number, masked: boolean): string {
  const rows = []
  for (let i = 0; i < 4000; i++) rows.push({ owner: `caller-${n}`, i, ssn: masked ? '[REDACTED]' : `ssn-${n}-${i}`, note: `for caller-${n} only` })
  return JSON.stringify({ caller: n, rows })
}

/** Responses read off a raw socket: the bodies by Content-Length. */
function parseResponses (raw: Buffer): Array<{ status: number; body: string }> {
  const out: Array<{ status: number; body: string }> = []
  let at = 0
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at)
    if (end < 0) throw new Error(`truncated head at byte ${at}`)
    const head = raw.toString('latin1', at, end)
    const status = Number(head.slice(9, 12))
    const m = /\r\ncontent-length: *(\d+)/i.exec(head)
    if (m === null) throw new Error(`no content-length in ${head}`)
    const len = Number(m[1])
    out.push({ status, body: raw.toString('utf8', end + 4, end + 4 + len) })
    at = end + 4 + len
  }
  return out
}

t.test('masked responses sent from reused buffers carry exactly their own bytes, with slow pipelined readers', async (t) => {
  const up = await startUpstream()
  up.handle = (req, res) => {
    const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n'))
    const body = Buffer.from(doc(n, false))
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) })
    // Several chunks, so the masker assembles the body (a single chunk is used as it is).
    let off = 0
    const step = (): void => {
      while (off < body.length) {
        const next = Math.min(off + 8192 + (n % 5) * 1000, body.length)
        const ok = res.write(body.subarray(off, next))
        off = next
        if (!ok) { res.once('drain', step); return }
      }
      res.end()
    }
    step()
  }
  const b = await startBouncer({ upstream: up.url, rego: { 'p.rego': POLICY } })
  t.teardown(async () => { await b.close(); await up.close() })
  const { port, hostname } = new URL(b.url)

  const CONNECTIONS = 6
  const PER_CONNECTION = 16
  const clients = Array.from({ length: CONNECTIONS }, (_, c) => new Promise<Array<{ status: number; body: string }>>((resolve, reject) => {
    const s = net.connect(Number(port), hostname)
    const got: Buffer[] = []
    s.on('data', (d: Buffer) => { got.push(d) })
    // Slow readers: half the clients read nothing for a while, each for a different time, so the
    // kernel's buffers fill and a response's bytes stay queued in the process while the bouncer
    // masks other clients' responses (those of the readers, and of a slow reader resumed earlier).
    if (c % 2 === 0) { s.pause(); setTimeout(() => s.resume(), 300 + 300 * c) }
    s.on('error', reject)
    s.on('end', () => { try { resolve(parseResponses(Buffer.concat(got))) } catch (e) { reject(e) } })
    let reqs = ''
    for (let k = 0; k < PER_CONNECTION; k++) {
      const n = c * PER_CONNECTION + k
      reqs += `GET /rows?n=${n} HTTP/1.1\r\nHost: x\r\n${k === PER_CONNECTION - 1 ? 'Connection: close\r\n' : ''}\r\n`
    }
    s.write(reqs)
  }))
  const results = await Promise.all(clients)
  let checked = 0
  for (let c = 0; c < CONNECTIONS; c++) {
    t.equal(results[c]!.length, PER_CONNECTION, `connection ${c}: every pipelined request answered`)
    for (let k = 0; k < PER_CONNECTION; k++) {
      const n = c * PER_CONNECTION + k
      const r = results[c]![k]!
      t.equal(r.status, 200)
      // Exactly the masked document for n: no byte of another caller's response.
      if (r.body !== doc(n, true)) t.fail(`response ${n} differs from its masked document (${r.body.length} vs ${doc(n, true).length} bytes; others' markers: ${[...new Set(r.body.match(/caller-\d+/g) ?? [])].filter((x) => x !== `caller-${n}`).join(', ') || 'none'})`)
      else checked++
    }
  }
  t.equal(checked, CONNECTIONS * PER_CONNECTION, 'every response is its own masked document')
})
