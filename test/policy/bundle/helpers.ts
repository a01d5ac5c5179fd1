// Test helpers: hand-made (possibly malicious) archives, keys, and a real bundle server.
import { generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { createGzip, gzipSync } from 'node:zlib'
import * as tarStream from 'tar-stream'

export interface RawEntry {
  name: string
  body?: string | Buffer
  type?: tarStream.Header['type']
  linkname?: string
  /** Declared size when it must differ from the body (only for hand-built headers). */
  size?: number
}

/** Builds a tar exactly as described — no validation — so tests can craft hostile archives. */
export async function rawTar (entries: RawEntry[]): Promise<Buffer> {
  const pack = tarStream.pack()
  const chunks: Buffer[] = []
  const done = (async () => { for await (const c of pack) chunks.push(c as Buffer) })()
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body)
    await new Promise<void>((resolve, reject) => {
      const header: Partial<tarStream.Header> & { name: string } = { name: e.name, type: e.type ?? 'file', mode: 0o644, mtime: new Date(0) }
      if (e.linkname !== undefined) header.linkname = e.linkname
      if (e.type === 'character-device' || e.type === 'block-device') { header.devmajor = 1; header.devminor = 3 }
      if ((e.type ?? 'file') === 'file') header.size = body.length
      pack.entry(header, body, (err) => { err != null ? reject(err) : resolve() })
    })
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

export async function rawTarGz (entries: RawEntry[]): Promise<Buffer> {
  return gzipSync(await rawTar(entries))
}

/** A 512-byte ustar header (for entries tar-stream would refuse to write). */
export function ustarHeader (name: string, size: number, type = '0'): Buffer {
  const h = Buffer.alloc(512)
  h.write(name, 0, 100, 'utf8')
  h.write('0000644\0', 100)
  h.write('0000000\0', 108)
  h.write('0000000\0', 116)
  h.write(size.toString(8).padStart(11, '0') + '\0', 124)
  h.write('00000000000\0', 136)
  h.write('        ', 148)
  h.write(type, 156)
  h.write('ustar\0', 257)
  h.write('00', 263)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
  return h
}

/**
 * Gzips `prefix` followed by `zeroBytes` zero bytes, streaming, so a 1 GiB bomb is made
 * without ever holding 1 GiB (the output is ~1 MiB: deflate compresses zeros ~1000:1).
 */
export async function gzipZeros (prefix: Buffer, zeroBytes: number): Promise<Buffer> {
  const block = Buffer.alloc(1024 * 1024)
  async function * gen (): AsyncGenerator<Buffer> {
    yield prefix
    let left = zeroBytes
    while (left > 0) {
      const n = Math.min(left, block.length)
      yield n === block.length ? block : block.subarray(0, n)
      left -= n
    }
  }
  const gz = createGzip({ level: 1 })
  const out: Buffer[] = []
  const collected = (async () => { for await (const c of gz) out.push(c as Buffer) })()
  await new Promise<void>((resolve, reject) => {
    Readable.from(gen()).pipe(gz).on('error', reject)
    gz.on('end', resolve)
  })
  await collected
  return Buffer.concat(out)
}

export function pemKeys (type: 'rsa' | 'ec', opts: { modulusLength?: number; namedCurve?: string } = {}): { privateKey: string; publicKey: string } {
  const kp = type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: opts.modulusLength ?? 2048 })
    : generateKeyPairSync('ec', { namedCurve: opts.namedCurve ?? 'P-256' })
  return {
    privateKey: kp.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKey: kp.publicKey.export({ type: 'spki', format: 'pem' }) as string
  }
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface TestServer {
  url: string
  server: Server
  /** Replace the handler for subsequent requests. */
  handle: (h: Handler) => void
  requests: { method: string; url: string; headers: IncomingMessage['headers']; at: number }[]
  statusPosts: unknown[]
  close: () => Promise<void>
}

/** A real HTTP server on 127.0.0.1; POST /status bodies are collected. */
export async function startServer (initial: Handler): Promise<TestServer> {
  let handler = initial
  const requests: TestServer['requests'] = []
  const statusPosts: unknown[] = []
  const server = createServer((req, res) => {
    if (req.method === 'POST' && (req.url ?? '').startsWith('/status')) {
      let body = ''
      req.on('data', (c: Buffer) => { body += c.toString('utf8') })
      req.on('end', () => {
        statusPosts.push(JSON.parse(body))
        res.writeHead(200).end()
      })
      return
    }
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, at: performance.now() })
    void handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    handle: (h) => { handler = h },
    requests,
    statusPosts,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** Polls `cond` until true (or fails after `ms`). */
export async function waitFor (cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

export type ServeMode =
  | { kind: 'bundle'; bytes: Buffer; etag: string }
  | { kind: 'status'; code: number }
  | { kind: 'hang' }
  | { kind: 'hang-body'; bytes: Buffer }

/**
 * A bundle service: serves the current mode at any GET path, honours If-None-Match with
 * 304, and (when `longPoll`) holds a request whose ETag is current until the bundle
 * changes or `Prefer: wait=N` expires, answering with OPA's long-poll content type.
 */
export class BundleServer {
  mode: ServeMode = { kind: 'status', code: 404 }
  longPoll = false
  /** Answer long-poll-capable responses with this content type (OPA's when true). */
  waiters: ServerResponse[] = []
  switchedAt = 0
  readonly ts: TestServer
  readonly hung: ServerResponse[] = []

  private constructor (ts: TestServer) { this.ts = ts }

  static async start (): Promise<BundleServer> {
    let self: BundleServer | undefined
    const ts = await startServer((req, res) => self!.onRequest(req, res))
    self = new BundleServer(ts)
    return self
  }

  get url (): string { return this.ts.url }

  /** Switches what is served and releases held long polls with it. */
  serve (mode: ServeMode): void {
    this.mode = mode
    this.switchedAt = performance.now()
    const waiting = this.waiters.splice(0)
    for (const res of waiting) this.respond(res)
  }

  private ctype (): string {
    return this.longPoll ? 'application/vnd.openpolicyagent.bundles' : 'application/gzip'
  }

  private respond (res: ServerResponse): void {
    const m = this.mode
    if (m.kind === 'bundle') {
      res.writeHead(200, { 'content-type': this.ctype(), etag: m.etag, 'content-length': m.bytes.length }).end(m.bytes)
    } else if (m.kind === 'status') {
      res.writeHead(m.code, { 'content-type': 'text/plain' }).end(`status ${m.code} from test server`)
    } else if (m.kind === 'hang') {
      this.hung.push(res)
    } else {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': m.bytes.length })
      res.write(m.bytes.subarray(0, Math.floor(m.bytes.length / 2)))
      this.hung.push(res)
    }
  }

  private onRequest (req: IncomingMessage, res: ServerResponse): void {
    const m = this.mode
    const inm = req.headers['if-none-match']
    if (m.kind === 'bundle' && inm === m.etag) {
      const wait = /^wait=(\d+)$/.exec(String(req.headers.prefer ?? ''))
      if (this.longPoll && wait !== null) {
        this.waiters.push(res)
        const timer = setTimeout(() => {
          const i = this.waiters.indexOf(res)
          if (i >= 0) {
            this.waiters.splice(i, 1)
            res.writeHead(304, { 'content-type': this.ctype(), etag: m.etag }).end()
          }
        }, Number(wait[1]) * 1000)
        res.on('close', () => clearTimeout(timer))
        return
      }
      res.writeHead(304, { 'content-type': this.ctype(), etag: m.etag }).end()
      return
    }
    this.respond(res)
  }

  async close (): Promise<void> {
    for (const r of this.hung) r.destroy()
    await this.ts.close()
  }
}
