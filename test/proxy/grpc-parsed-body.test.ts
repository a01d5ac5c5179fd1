// A gRPC call whose content type ends in +json (application/grpc+json) with
// policy.parsed_body on: its body was read for parsing, then the gRPC forwarder streamed the
// already-ended request, so the upstream got no bytes and no end (the call hung), or, with
// invalid_json reject, the client got a plain HTTP 400 (review, session 52). gRPC messages are
// length-prefixed frames streamed to the upstream: parsed_body never reads them.
import { connect as h2connect, createServer as h2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { startBouncer, startUpstream } from '../helpers/index.js'

const ALLOW = 'package bouncer\n\ndecision := {"allow": true}\n'

async function grpcUpstream (t: Test): Promise<{ url: string; calls: Array<{ body: Buffer; ended: boolean }> }> {
  const calls: Array<{ body: Buffer; ended: boolean }> = []
  const server = h2Server((req: Http2ServerRequest, res: Http2ServerResponse) => {
    const call = { body: Buffer.alloc(0), ended: false }
    calls.push(call)
    req.on('data', (d: Buffer) => { call.body = Buffer.concat([call.body, d]) })
    req.on('end', () => {
      call.ended = true
      res.writeHead(200, { 'content-type': 'application/grpc+json' })
      res.addTrailers({ 'grpc-status': '0' })
      res.end(call.body) // echo the message
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls }
}

/** One gRPC message: flag 0, big-endian length, the bytes. */
const frame = (json: string): Buffer => {
  const b = Buffer.from(json)
  const head = Buffer.alloc(5)
  head.writeUInt32BE(b.length, 1)
  return Buffer.concat([head, b])
}

for (const invalidJson of ['skip', 'reject'] as const) {
  t.test(`application/grpc+json with parsed_body on (invalid_json ${invalidJson}): the call goes through whole`, async (t) => {
    const up = await startUpstream()
    const grpcUp = await grpcUpstream(t)
    const b = await startBouncer({
      upstream: up.url, rego: { 'p.rego': ALLOW },
      config: { server: { http2: { cleartext: true } }, policy: { parsed_body: { enabled: true, invalid_json: invalidJson } }, upstream: { http2: { url: grpcUp.url } } },
    })
    t.teardown(async () => { await b.close(); await up.close() })
    const s = h2connect(`http://127.0.0.1:${b.port}`)
    t.teardown(() => s.close())
    const message = frame('{"account":"a-1","amount":5}')
    const got = await new Promise<{ status?: number; grpcStatus?: string; body: Buffer; timedOut: boolean }>((resolve) => {
      const out = { status: undefined as number | undefined, grpcStatus: undefined as string | undefined, body: Buffer.alloc(0), timedOut: false }
      const st = s.request({ ':method': 'POST', ':path': '/bank.Transfers/Send', 'content-type': 'application/grpc+json', te: 'trailers' })
      const timer = setTimeout(() => { out.timedOut = true; st.close(); resolve(out) }, 5000)
      st.on('response', (h) => { out.status = Number(h[':status']); out.grpcStatus ??= h['grpc-status'] as string | undefined })
      st.on('trailers', (tr) => { out.grpcStatus = tr['grpc-status'] as string | undefined })
      st.on('data', (d: Buffer) => { out.body = Buffer.concat([out.body, d]) })
      st.on('close', () => { clearTimeout(timer); resolve(out) })
      st.end(message)
    })
    t.notOk(got.timedOut, 'the call did not hang')
    t.equal(got.status, 200)
    t.equal(got.grpcStatus, '0', 'a gRPC status, OK')
    t.equal(grpcUp.calls.length, 1)
    t.ok(grpcUp.calls[0]?.body.equals(message), 'the upstream got the whole message')
    t.equal(grpcUp.calls[0]?.ended, true, 'and the end of the call')
    t.ok(got.body.equals(message), 'the answer came back')
  })
}
