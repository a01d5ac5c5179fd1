// Shared test helpers: free ports, a recording upstream, raw-socket requests, and a real
// bouncer (buildApp) with a policy compiled by the project's compiler.
import { createServer as createNetServer, connect, type AddressInfo } from 'node:net'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { Writable } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { buildApp, createConfig, type AppDeps, type BouncerApp } from '../../src/index.js'
import type { DeepPartial } from '../../src/config/index.js'
import type { BouncerConfig } from '../../src/config/schema.js'
import { loadPolicyFromRego } from '../../src/policy/load.js'
import { pino, type Logger } from 'pino'

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createNetServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}

export interface RecordedRequest {
  method: string
  /** the request target exactly as the upstream received it */
  url: string
  headers: IncomingMessage['headers']
  rawHeaders: string[]
  body: Buffer
  httpVersion: string
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void

export interface Upstream {
  readonly url: string
  readonly port: number
  readonly requests: RecordedRequest[]
  readonly server: Server
  /** messages received by the WebSocket endpoint (/ws...) */
  readonly wsMessages: string[]
  /** replace the response logic (default: JSON echo of method/url) */
  handle: UpstreamHandler | undefined
  /** when set, the handler sees the request before the body is read (streaming tests) */
  raw: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
  close (): Promise<void>
}

/** An upstream that records every request it receives (target, headers, body). */
export async function startUpstream (): Promise<Upstream> {
  const requests: RecordedRequest[] = []
  const wsMessages: string[] = []
  const sockets = new Set<import('node:net').Socket>()
  const up: Upstream = {
    url: '', port: 0, requests, wsMessages, server: undefined as unknown as Server, handle: undefined, raw: undefined,
    async close () {
      wss.clients.forEach((c: WebSocket) => c.terminate())
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => { wss.close(); server.close(() => resolve()) })
    },
  }
  const server = createServer((req, res) => {
    if (up.raw) {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0), httpVersion: req.httpVersion })
      return up.raw(req, res)
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body, httpVersion: req.httpVersion })
      if (up.handle) return up.handle(req, res, body)
      const out = JSON.stringify({ ok: true, method: req.method, url: req.url, body: body.toString('utf8') })
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' })
      res.end(out)
    })
  })
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    requests.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0), httpVersion: req.httpVersion })
    if (!req.url?.startsWith('/ws')) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (m) => { wsMessages.push(m.toString()); ws.send(`echo:${m.toString()}`) })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  Object.assign(up, { url: `http://127.0.0.1:${port}`, port, server })
  return up
}

/** A logger that keeps JSON lines in memory (assert on logs without printing them). */
export function memoryLogger (level = 'info'): { logger: Logger; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = []
  const dest = new Writable({ write (c, _e, cb) { chunks.push(c.toString()); cb() } })
  const logger = pino({
    level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.headers.authorization', 'input.attributes.request.http.headers.authorization', 'headers.cookie', '*.headers.cookie'], censor: '[redacted]' },
  }, dest)
  const text = () => chunks.join('')
  return { logger, text, lines: () => text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) }
}

export interface StartedBouncer {
  app: BouncerApp
  url: string
  port: number
  adminUrl: string
  close (): Promise<void>
}

export interface StartBouncerOptions {
  upstream: string
  /** Rego sources (file name → source); compiled with the project's compiler */
  rego?: Record<string, string>
  data?: Record<string, unknown>
  /** or a policy path loaded by the app itself (config.policy.path) */
  policyPath?: string
  config?: DeepPartial<BouncerConfig>
  deps?: AppDeps
  /** don't activate any policy (fail-closed tests) */
  noPolicy?: boolean
}

function merge (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a }
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' ? merge(out[k] as Record<string, unknown>, v as Record<string, unknown>) : v
  }
  return out
}

export async function startBouncer (opts: StartBouncerOptions): Promise<StartedBouncer> {
  const config = createConfig(merge({
    server: { host: '127.0.0.1', port: 0, shutdown_timeout_seconds: 2 },
    admin: { host: '127.0.0.1', port: 0, default_metrics: false },
    upstream: { url: opts.upstream, timeout_seconds: 5 },
    logging: { level: 'silent' },
    ...(opts.policyPath ? { policy: { path: opts.policyPath } } : {}),
  }, (opts.config ?? {}) as Record<string, unknown>))
  const deps: AppDeps = { logger: pino({ level: 'silent' }), ...opts.deps }
  const app = await buildApp(config, deps)
  if (opts.rego && !opts.noPolicy) {
    const modules = Object.entries(opts.rego).map(([file, source]) => ({ file, source }))
    app.holder.activate(await loadPolicyFromRego(modules, opts.data ?? {}, config.policy.entrypoint, { source: 'test' }, app.policyOptions))
  }
  const { proxy: listening, admin } = await app.start()
  const proxy = listening!
  return {
    app,
    url: `http://127.0.0.1:${proxy.port}`,
    port: proxy.port,
    adminUrl: admin ? `http://127.0.0.1:${admin.port}` : '',
    close: () => app.close(2000),
  }
}

export interface RawResponse {
  /** everything the server sent */
  text: string
  status: number | undefined
}

/** Sends bytes as they are and collects the answer until the server closes or `ms` pass. */
export async function rawRequest (port: number, payload: string | Buffer, ms = 2000): Promise<RawResponse> {
  return await new Promise((resolve) => {
    const chunks: Buffer[] = []
    const sock = connect(port, '127.0.0.1', () => { sock.write(payload) })
    const finish = () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('latin1')
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      resolve({ text, status: m ? Number(m[1]) : undefined })
    }
    const timer = setTimeout(() => { sock.destroy(); finish() }, ms)
    sock.on('data', (c: Buffer) => chunks.push(c))
    sock.on('close', finish)
    sock.on('error', () => {})
  })
}

/** A policy used by many tests: allow GET under /public, deny the rest, with a reason. */
export const BASIC_POLICY = `package bouncer

default decision := {"allow": false, "reason": "default deny"}

decision := {"allow": true, "reason": "public"} if {
  input.attributes.request.http.method == "GET"
  input.parsed_path[0] == "public"
}
`

/** Waits (at most 5 s) until the bouncer's Redis tier is in use. */
export async function redisReady (b: StartedBouncer): Promise<void> {
  const until = Date.now() + 5000
  while ((b.app.health.readiness().components.cache as { redis?: string } | undefined)?.redis !== 'ok') {
    if (Date.now() > until) throw new Error('Redis tier not usable within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * A bundle service on 127.0.0.1: answers `served[url]` (read at each request, so a test can swap
 * what a resource serves) with its ETag, 304 when the client already has it, 404 for anything
 * else; `requests` records each request's URL and If-None-Match.
 */
export async function startBundleService (served: Record<string, { etag: string; body: Buffer }>): Promise<{
  url: string
  requests: Array<{ url: string; ifNoneMatch: string | undefined }>
  close (): Promise<void>
}> {
  const requests: Array<{ url: string; ifNoneMatch: string | undefined }> = []
  const server = createServer((req, res) => {
    const ifNoneMatch = req.headers['if-none-match']
    requests.push({ url: req.url ?? '', ifNoneMatch })
    const b = served[req.url ?? '']
    if (b === undefined) { res.writeHead(404).end(); return }
    if (ifNoneMatch === b.etag) { res.writeHead(304).end(); return }
    res.writeHead(200, { 'content-type': 'application/gzip', etag: b.etag }).end(b.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) },
  }
}
