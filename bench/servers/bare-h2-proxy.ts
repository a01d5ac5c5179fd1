// The baseline of the HTTP/2 benchmark: a bare HTTP/2 reverse proxy (h2c with prior knowledge)
// built the way the bouncer forwards, without any policy, logging or header rules: plain requests
// go to the HTTP/1.1 upstream through an undici Pool (stream()), gRPC calls (content-type
// application/grpc*) to the gRPC upstream through one HTTP/2 client session, trailers passed on.
//   node --import tsx bench/servers/bare-h2-proxy.ts --upstream URL --grpc URL
import { connect, constants as h2, createServer, type Http2ServerRequest, type Http2ServerResponse, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { Pool, type Dispatcher } from 'undici'
import { childArgs, fatal, onShutdown, send } from './child.js'

const args = childArgs()
if (!args.upstream || !args.grpc) fatal(new Error('--upstream URL and --grpc URL are required'))
const pool = new Pool(args.upstream, { connections: 256, keepAliveTimeout: 4000 })
const session = connect(args.grpc)
session.on('error', (e) => fatal(e))
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection'])
const plain = (h: IncomingHttpHeaders): Record<string, string | string[]> => {
  const out: Record<string, string | string[]> = {}
  for (const k in h) if (k[0] !== ':' && !HOP.has(k) && h[k] !== undefined) out[k] = h[k]!
  return out
}

const server = createServer({ settings: { maxConcurrentStreams: 100 } }, (req: Http2ServerRequest, res: Http2ServerResponse) => {
  const ct = req.headers['content-type']
  if (typeof ct === 'string' && ct.startsWith('application/grpc')) {
    const up = session.request({ ...plain(req.headers), ':method': req.method, ':path': req.url, te: 'trailers' } as OutgoingHttpHeaders)
    req.pipe(up)
    up.on('response', (head, flags) => {
      if (flags & h2.NGHTTP2_FLAG_END_STREAM) { res.statusCode = Number(head[':status']); for (const [k, v] of Object.entries(plain(head))) res.setHeader(k, v); res.end(); return }
      res.writeHead(Number(head[':status']), plain(head))
      up.pipe(res, { end: false })
    })
    up.on('trailers', (t) => res.addTrailers(plain(t)))
    up.on('end', () => res.end())
    up.on('error', () => res.stream.close(h2.NGHTTP2_INTERNAL_ERROR))
    return
  }
  const headers = plain(req.headers)
  headers.host = req.authority
  pool.stream({ method: req.method as Dispatcher.HttpMethod, path: req.url, headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, ({ statusCode, headers: h }) => {
    res.writeHead(statusCode, plain(h as IncomingHttpHeaders))
    return res
  }).catch(() => { if (!res.headersSent) { res.statusCode = 502; res.end() } else res.stream.close(h2.NGHTTP2_INTERNAL_ERROR) })
})
server.on('sessionError', () => {})
server.listen(Number(args.port ?? 0), '127.0.0.1', () => send('ready', { port: (server.address() as AddressInfo).port }))
onShutdown(async () => {
  session.destroy()
  await pool.close()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})
