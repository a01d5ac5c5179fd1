// Where delivered events go. A sink receives consecutive sealed lines (oldest first) and says
// how many of them, from the front, it has durably taken. The uploader removes exactly those
// from the spool. Lines are handed over as the spool stored them, UTF-8 bytes without the
// newline: every sink writes bytes, and decoding each line only for the sink to encode the
// batch again cost ~9 us per event at 3,500 events/s (Buffer.from of the joined batch alone 4.8).
//
//   service  gzip'd JSON array POSTed to <url><resource> (OPA's decision log service API);
//            a bearer_token_file is read again for every upload (tokens rotate on disk)
//   console  one JSON line per event on stdout
//   file     one JSON line per event appended to a file (an export `verify-log` can check)

import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
import { gzip as gzipCb } from 'node:zlib'
import { Agent, request } from 'undici'
import { parseChainPrefixBytes } from './chain.js'
import type { FsyncPolicy, ServiceConfig } from './config.js'

const gzipAsync = promisify(gzipCb)
// Level 1: decision events are repetitive JSON and compress ~8x even at the fastest level (a
// ~300 KB batch of proxy decisions: 0.128 of its size at level 1, 0.122 at level 6, for 37%
// less CPU). A 64 KiB output buffer takes a whole compressed batch in one or two thread-pool
// round trips instead of one per 16 KiB.
const gzip = (data: Buffer): Promise<Buffer> => gzipAsync(data, { level: 1, chunkSize: 64 * 1024 })

export type SendResult =
  | { readonly ok: true; readonly sent: number }
  /** The receiver refused the batch as too large (HTTP 413): send fewer lines. `withinLimit`:
   *  the refused body was no larger than upload_size_limit_bytes (a receiver that takes what it
   *  was configured to take would not refuse it: possibly passing). */
  | { readonly ok: false; readonly tooLarge: true; readonly withinLimit?: boolean; readonly status?: number; readonly error: string }
  /** Anything else: keep the lines and retry later. */
  | { readonly ok: false; readonly tooLarge?: false; readonly status?: number; readonly error: string }

export interface Sink {
  readonly kind: string
  /** Preferred uncompressed bytes per batch. */
  batchBytes (): number
  send (lines: readonly Buffer[], signal: AbortSignal): Promise<SendResult>
  /**
   * Does the receiver take a record at all? Sends `line` (one it already took: a duplicate,
   * which at-least-once delivery allows) or, with none, an empty batch. The uploader asks before
   * it declares a record the receiver refused, so that a receiver refusing everything does not
   * have the spool dropped record by record. Sinks that never refuse content answer ok.
   */
  probe (line: Buffer | null, signal: AbortSignal): Promise<SendResult>
  close (): Promise<void>
}

const CUT = Buffer.alloc(0), COMMA = Buffer.from(','), NEWLINE = Buffer.from('\n'), OPEN = Buffer.from('['), CLOSE = Buffer.from(']')

/** open + the first n lines separated by sep + close, in one buffer. */
export function joinLines (lines: readonly Buffer[], n: number, open: Buffer, sep: Buffer, close: Buffer): Buffer {
  let size = open.length + close.length + (n > 0 ? (n - 1) * sep.length : 0)
  for (let i = 0; i < n; i++) size += lines[i]!.length
  const out = Buffer.allocUnsafe(size)
  let o = open.copy(out, 0)
  for (let i = 0; i < n; i++) {
    if (i > 0) o += sep.copy(out, o)
    o += lines[i]!.copy(out, o)
  }
  close.copy(out, o)
  return out
}

export interface ServiceSinkOptions {
  readonly service: ServiceConfig
  readonly uploadSizeLimitBytes: number
  readonly userAgent: string
}

export class ServiceSink implements Sink {
  readonly kind = 'control_plane'
  private readonly url: string
  private readonly limit: number
  private readonly headers: Record<string, string>
  private readonly tokenFile: string | undefined
  private readonly agent: Agent
  // Compressed/uncompressed size of recent batches. Starts pessimistic (JSON events usually
  // compress 5-10x) and learns, so a batch is normally gzip'd once.
  private ratio = 0.3

  constructor (opts: ServiceSinkOptions) {
    const s = opts.service
    this.url = s.url
    this.limit = opts.uploadSizeLimitBytes
    this.headers = {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'user-agent': opts.userAgent,
    }
    this.tokenFile = s.token_file
    if (s.token !== undefined && s.token_file === undefined) this.headers.authorization = `Bearer ${s.token}`
    this.agent = new Agent({
      allowH2: false, // as with undici 7: batches go over HTTP/1.1
      headersTimeout: s.request_timeout_ms,
      bodyTimeout: s.request_timeout_ms,
      connectTimeout: Math.min(s.request_timeout_ms, 10_000),
      ...(s.tls !== undefined ? { connect: s.tls } : {}),
    })
  }

  batchBytes (): number {
    return Math.max(1024, Math.floor((this.limit / Math.max(this.ratio, 0.02)) * 0.9))
  }

  async probe (line: Buffer | null, signal: AbortSignal): Promise<SendResult> {
    return await this.send(line === null ? [] : [line], signal)
  }

  async send (lines: readonly Buffer[], signal: AbortSignal): Promise<SendResult> {
    // Take the longest prefix whose gzip'd array fits upload_size_limit_bytes. A single event
    // that does not fit alone is sent anyway: only the receiver can refuse it (413), and then
    // it is dropped and declared rather than dropped here unseen.
    let n = lines.length
    let body: Buffer
    for (;;) {
      const json = joinLines(lines, n, OPEN, COMMA, CLOSE)
      body = await gzip(json)
      if (n === 0) break // the empty batch (a probe): says nothing of the ratio
      this.ratio = this.ratio * 0.5 + (body.length / json.length) * 0.5
      if (body.length <= this.limit || n === 1) break
      n = Math.max(1, Math.min(n - 1, Math.floor(n * (this.limit / body.length) * 0.9)))
    }
    let headers = this.headers
    if (this.tokenFile !== undefined) {
      let token: string
      try {
        token = (await readFile(this.tokenFile, 'utf8')).trim()
      } catch (e) {
        // Nothing is sent without the token; the lines stay in the spool and are retried.
        return { ok: false, error: `cannot read bearer token file ${this.tokenFile}: ${(e as Error).message}` }
      }
      if (token !== '') headers = { ...headers, authorization: `Bearer ${token}` }
    }
    try {
      const res = await request(this.url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.agent,
        signal,
      })
      await res.body.dump()
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, sent: n }
      const error = `control plane answered HTTP ${res.statusCode}`
      if (res.statusCode === 413) return { ok: false, tooLarge: true, withinLimit: body.length <= this.limit, status: 413, error }
      return { ok: false, status: res.statusCode, error }
    } catch (e) {
      return { ok: false, error: `upload failed: ${(e as Error).message}` }
    }
  }

  async close (): Promise<void> {
    await this.agent.close().catch(() => {})
  }
}

export class ConsoleSink implements Sink {
  readonly kind = 'console'
  constructor (private readonly out: NodeJS.WritableStream = process.stdout) {}
  batchBytes (): number { return 256 * 1024 }
  async probe (): Promise<SendResult> { return { ok: true, sent: 0 } }
  async send (lines: readonly Buffer[]): Promise<SendResult> {
    const text = joinLines(lines, lines.length, CUT, NEWLINE, NEWLINE)
    return await new Promise((resolve) => {
      this.out.write(text, (e) => resolve(e == null ? { ok: true, sent: lines.length } : { ok: false, error: e.message }))
    })
  }
  async close (): Promise<void> {}
}

export class FileSink implements Sink {
  readonly kind = 'file'
  constructor (private readonly path: string, private readonly fsync: FsyncPolicy) {}
  batchBytes (): number { return 1024 * 1024 }
  async probe (): Promise<SendResult> { return { ok: true, sent: 0 } }
  async send (lines: readonly Buffer[]): Promise<SendResult> {
    try {
      mkdirSync(dirname(this.path), { recursive: true })
      const fd = openSync(this.path, 'a', 0o600)
      try {
        const buf = joinLines(lines, lines.length, CUT, NEWLINE, NEWLINE)
        let off = 0
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off)
        // The spool forgets these lines once we return, so the export must be at least as
        // durable as the spool was.
        if (this.fsync !== 'never') fsyncSync(fd)
      } finally { closeSync(fd) }
      return { ok: true, sent: lines.length }
    } catch (e) {
      return { ok: false, error: `cannot append to ${this.path}: ${(e as Error).message}` }
    }
  }
  async close (): Promise<void> {}
}

/**
 * Several sinks for one spool. A line leaves the spool once every sink has taken it. Each sink
 * remembers the last seq it took, so when one sink fails and the batch is retried the others
 * are not sent the same lines again (after a restart that memory is gone: at-least-once).
 */
export class FanoutSink implements Sink {
  readonly kind: string
  private readonly sinks: readonly Sink[]
  private readonly taken: number[]

  constructor (sinks: readonly Sink[]) {
    this.sinks = sinks
    this.kind = sinks.map((s) => s.kind).join('+')
    this.taken = sinks.map(() => 0)
  }

  batchBytes (): number { return Math.min(...this.sinks.map((s) => s.batchBytes())) }

  async probe (line: Buffer | null, signal: AbortSignal): Promise<SendResult> {
    for (const s of this.sinks) {
      const r = await s.probe(line, signal)
      if (!r.ok) return r
    }
    return { ok: true, sent: 0 }
  }

  async send (lines: readonly Buffer[], signal: AbortSignal): Promise<SendResult> {
    const seqs = lines.map((l) => parseChainPrefixBytes(l)?.seq ?? 0)
    let all = lines.length
    let failure: Extract<SendResult, { ok: false }> | undefined
    for (let i = 0; i < this.sinks.length; i++) {
      let start = 0
      while (start < lines.length && seqs[start]! <= this.taken[i]!) start++
      if (start < lines.length) {
        const r = await this.sinks[i]!.send(start === 0 ? lines : lines.slice(start), signal)
        if (r.ok) this.taken[i] = seqs[start + r.sent - 1]!
        else if (failure === undefined || r.tooLarge === true) failure = r
      }
      let n = 0
      while (n < lines.length && seqs[n]! <= this.taken[i]!) n++
      all = Math.min(all, n)
    }
    if (all > 0) return { ok: true, sent: all }
    return failure ?? { ok: false, error: 'no sink took the batch' }
  }

  async close (): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.close()))
  }
}
