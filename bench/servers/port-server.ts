// What sits between the proxy port and the pipeline, alone: the same trivial exchange (a 2-byte
// answer written by the handler) served by plain node:http, or by Fastify set up the way the
// bouncer used it (serverFactory, rewriteUrl to one route for every method, bodies not parsed,
// request logging off, reply.hijack()). Used by `npm run bench -- --port-server`.
//   node --import tsx bench/servers/port-server.ts --kind node|fastify
import { createServer, METHODS, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { childArgs, fatal, onShutdown, send } from './child.js'

const kind = childArgs().kind ?? 'node'
const opts = { maxHeaderSize: 16384, requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 5_000, requireHostHeader: true, noDelay: true }
const kTarget = Symbol('target')
type WithTarget = IncomingMessage & { [kTarget]?: string }

// The handler stands in for the pipeline: it reads what the pipeline reads and answers.
function handle (req: WithTarget, res: ServerResponse): void {
  const target = req[kTarget] ?? req.url ?? '/'
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2, 'x-target-length': String(target.length) })
  res.end('ok')
}

let close: () => Promise<void>
let port: number
try {
  if (kind === 'node') {
    const server = createServer(opts, (req, res) => { (req as WithTarget)[kTarget] = req.url; handle(req as WithTarget, res) })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
    close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  } else {
    const { default: Fastify, LogController } = await import('fastify')
    const app = Fastify({
      logger: false,
      logController: new LogController({ disableRequestLogging: true }),
      return503OnClosing: true,
      exposeHeadRoutes: false,
      serverFactory: (handler) => createServer(opts, handler),
      rewriteUrl: (req: IncomingMessage) => { (req as WithTarget)[kTarget] = req.url; return '/' },
    })
    for (const m of METHODS) if (m !== 'CONNECT') app.addHttpMethod(m, { hasBody: false, overrideExisting: true })
    app.route({ method: METHODS.filter((m) => m !== 'CONNECT'), url: '/', handler (request, reply) { reply.hijack(); handle(request.raw as WithTarget, reply.raw) } })
    await app.listen({ host: '127.0.0.1', port: 0 })
    port = (app.server.address() as AddressInfo).port
    close = () => app.close()
  }
} catch (e) { fatal(e) }
send('ready', { port })
onShutdown(() => close())
