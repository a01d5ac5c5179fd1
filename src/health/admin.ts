// The admin listener, on its own port: /healthz (process up), /readyz (policy active and
// critical components fine; JSON details), /metrics (Prometheus text). Plain node:http:
// three fixed routes need no framework, and this server must keep answering under load.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer } from '../node-http.js'
import type { Health } from './index.js'
import type { Metrics } from '../metrics/index.js'

export interface AdminServerOptions {
  health: Health
  metrics: Metrics
}

function send (res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
  res.end(body)
}

export function createAdminServer ({ health, metrics }: AdminServerOptions): Server {
  // bouncer_ready mirrors /readyz at every scrape, so "not ready for N minutes" can alert.
  metrics.collectors.push(() => { metrics.ready.set(health.readiness().ready ? 1 : 0) })
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const q = req.url?.indexOf('?') ?? -1
    const path = q < 0 ? req.url : req.url?.slice(0, q)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n')
    }
    switch (path) {
      case '/healthz':
        return send(res, 200, 'application/json', '{"status":"ok"}\n')
      case '/readyz': {
        const r = health.readiness()
        return send(res, r.ready ? 200 : 503, 'application/json', JSON.stringify({ status: r.ready ? (r.degraded ? 'degraded' : 'ok') : 'not_ready', components: r.components }) + '\n')
      }
      case '/metrics':
        metrics.render().then(
          (text) => send(res, 200, metrics.registry.contentType, text),
          (e: Error) => send(res, 500, 'text/plain; charset=utf-8', `metrics collection failed: ${e.message}\n`),
        )
        return
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n')
    }
  })
  server.keepAliveTimeout = 5000
  server.headersTimeout = 10000
  server.requestTimeout = 15000
  return server
}
