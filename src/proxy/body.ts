// Request bodies: size limits while streaming, and reading a bounded prefix for parsed_body
// without losing the rest (the stream stays paused and is replayed after the prefix).
import type { IncomingMessage } from 'node:http'
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream'
import { BouncerError } from '../errors.js'
import type { BodyLease } from './body-budget.js'
import { isSpaceOrNel, trimBy } from '../text-trim.js'

/** A pass-through that fails with BOUNCER_ERR_PROXY_BODY_TOO_LARGE past `limit` bytes. */
export class BodyLimit extends Transform {
  #seen = 0
  readonly #limit: number
  readonly #aborted: (() => boolean) | undefined
  readonly #expected: number | undefined
  /** `aborted`: asked when the source ends; true fails the body (a reset stream is no end).
   *  `expected`: the content-length; a body that ends shorter fails too. */
  constructor (limit: number, aborted?: () => boolean, expected?: number) {
    super()
    this.#limit = limit
    this.#aborted = aborted
    this.#expected = expected
  }

  override _transform (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#seen += chunk.length
    if (this.#seen > this.#limit) cb(new BouncerError('BOUNCER_ERR_PROXY_BODY_TOO_LARGE', [this.#limit]))
    else cb(null, chunk)
  }

  override _flush (cb: TransformCallback): void {
    if (this.#aborted?.() === true) cb(new Error('the client aborted the request body'))
    else if (this.#expected !== undefined && this.#seen !== this.#expected) cb(new Error(`the request body ended after ${this.#seen} of its ${this.#expected} bytes`))
    else cb()
  }
}

export type Prefix =
  | { readonly complete: true; readonly body: Buffer }
  | { readonly complete: false; readonly chunks: Buffer[]; readonly size: number }

/**
 * Reads the body if it fits in `limit` bytes. Otherwise stops at the first chunk past the
 * limit, leaves the request paused, and returns what was read (see replay()). Every chunk read
 * is charged to `lease`: one it cannot hold fails the read with BOUNCER_ERR_PROXY_BODY_BUDGET
 * (the request is left paused; the caller refuses it).
 */
export function readPrefix (req: IncomingMessage, limit: number, lease: BodyLease, budgetLimit: number): Promise<Prefix> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = () => {
      req.off('data', onData); req.off('end', onEnd); req.off('error', onError); req.off('aborted', onAborted)
    }
    const onData = (chunk: Buffer) => {
      if (!lease.take(chunk.length)) {
        req.pause()
        cleanup()
        reject(new BouncerError('BOUNCER_ERR_PROXY_BODY_BUDGET', [budgetLimit]))
        return
      }
      chunks.push(chunk)
      size += chunk.length
      if (size > limit) {
        req.pause()
        cleanup()
        resolve({ complete: false, chunks, size })
      }
    }
    const onEnd = () => {
      cleanup()
      // HTTP/2 ends a reset stream's request too ('aborted' first): not a complete body.
      if (req.aborted) reject(new Error('client aborted the request'))
      else resolve({ complete: true, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) })
    }
    const onError = (e: Error) => { cleanup(); reject(e) }
    const onAborted = () => { cleanup(); reject(new Error('client aborted the request')) }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('aborted', onAborted)
  })
}

/** The full body again: the chunks already read, then the rest of the (paused) request. */
export function replay (chunks: Buffer[], req: IncomingMessage): Readable {
  const out = new PassThrough()
  for (const c of chunks) out.write(c)
  req.on('error', (e) => out.destroy(e))
  req.pipe(out)
  req.resume()
  return out
}


/**
 * Whether upstream frameworks read a body of this content type as JSON: any `json` or `+json`
 * subtype (`application/json`, `application/vnd.api+json`, `application/+json` — Flask takes
 * it —, `text/json` — ASP.NET Core takes it), parameters and surrounding whitespace aside.
 * Erring wide costs only a parse; erring narrow lets a body the upstream reads reach it unseen
 * by the policy.
 */
export function isJsonContentType (ct: string | undefined): boolean {
  const mt = mediaTypeOf(ct)
  if (mt === undefined) return false
  const slash = mt.indexOf('/')
  if (slash <= 0) return false
  const sub = mt.slice(slash + 1)
  // x-json and jsonrequest: Rails registers both as JSON and binds them into params.
  return sub === 'json' || sub.endsWith('+json') || sub === 'x-json' || sub === 'jsonrequest'
}

/**
 * A wildcard media type (any type over any subtype, `application/*`): JSON to Django REST
 * framework, whose match lets a `*` in the request's type meet its JSON parser, and anything
 * to others. Such a body is
 * judged as one without a content type: parsed when it is JSON, not refused when it is not.
 */
export function isWildcardContentType (ct: string | undefined): boolean {
  const mt = mediaTypeOf(ct)
  if (mt === undefined) return false
  const slash = mt.indexOf('/')
  return slash > 0 && (mt.slice(slash + 1) === '*' || mt.slice(0, slash) === '*')
}

/** The media type, lower case: cut at ";" and at "," (Rails and Rack take what comes before a
 *  comma: `application/json, text/plain` is JSON to them), trimmed as frameworks trim it
 *  (Python's str.strip() also takes NEL, U+0085). */
function mediaTypeOf (ct: string | undefined): string | undefined {
  if (ct === undefined) return undefined
  let end = ct.length
  const semi = ct.indexOf(';')
  if (semi >= 0) end = semi
  const comma = ct.indexOf(',')
  if (comma >= 0 && comma < end) end = comma
  return trimBy(ct.slice(0, end), isSpaceOrNel).toLowerCase()
}

/**
 * The charset a content type names when it is not UTF-8 (quoted or not, any case), else
 * undefined. The policy reads a JSON body as UTF-8; an upstream that honours the charset reads
 * other text from the same bytes (body-parser decodes utf-7 and utf-16 through iconv-lite:
 * `{"role":"+AGEAZABtAGkAbg-"}` in utf-7 is `{"role":"admin"}`), so such a body cannot be judged.
 */
export function foreignCharsetOf (ct: string | undefined): string | undefined {
  if (ct === undefined) return undefined
  const params = ct.split(';')
  for (let i = 1; i < params.length; i++) {
    const p = params[i]!
    const eq = p.indexOf('=')
    if (eq < 0) continue
    const name = trimBy(p.slice(0, eq), isSpaceOrNel).toLowerCase()
    if (!name.startsWith('charset')) continue
    let value = trimBy(p.slice(eq + 1), isSpaceOrNel)
    // RFC 2231's extended forms (`charset*=utf-8''utf-7`, `charset*0=...`): Django reads them
    // as the charset. No client needs them for a charset, so any is taken as a foreign one.
    if (name !== 'charset') return value === '' ? name : value
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    const lower = value.toLowerCase()
    if (lower !== 'utf-8' && lower !== 'utf8') return value
  }
  return undefined
}

/**
 * Whether a body that is not UTF-8 JSON is JSON in UTF-16 or UTF-32 to an upstream that detects
 * those: Python's json.loads(bytes) (Starlette's Request.json(), FastAPI; Flask's get_json) tells
 * them by a byte order mark or by where NULs fall among the first four bytes
 * (json.detect_encoding), which UTF-8 JSON never has. The body is decoded so and taken for JSON
 * when, after any whitespace, it opens an object, an array or a string, or parses whole: text or
 * binary data that happens to have those NULs is not.
 */
export function mayBeWideJson (b: Uint8Array): boolean {
  let width = 0
  let little = false
  let at = 0
  if (b.length >= 4 && ((b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) || (b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0))) {
    width = 4; little = b[0] === 0xff; at = 4
  } else if (b.length >= 2 && ((b[0] === 0xfe && b[1] === 0xff) || (b[0] === 0xff && b[1] === 0xfe))) {
    width = 2; little = b[0] === 0xff; at = 2
  } else if (b.length >= 4) {
    if (b[0] === 0) { width = b[1] !== 0 ? 2 : 4 } else if (b[1] === 0) { width = b[2] !== 0 || b[3] !== 0 ? 2 : 4; little = true }
  } else if (b.length === 2) {
    if (b[0] === 0) width = 2
    else if (b[1] === 0) { width = 2; little = true }
  }
  if (width === 0) return false
  let text = ''
  for (let i = at; i + width <= b.length; i += width) {
    let c = 0
    for (let k = 0; k < width; k++) c = c * 256 + b[little ? i + width - 1 - k : i + k]!
    if (c > 0x10ffff) return false
    text += String.fromCodePoint(c)
  }
  const first = text.trimStart().charAt(0)
  if (first === '{' || first === '[' || first === '"') return true
  try { JSON.parse(text); return true } catch { return false }
}

/**
 * The content coding of a request body, or undefined when it has none: no header, or only
 * `identity` (any case, in a list). Anything else (gzip, br, an unknown token) is returned.
 */
export function contentCodingOf (header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  const text = Array.isArray(header) ? header.join(',') : header
  for (const c of text.split(',')) {
    const coding = c.trim().toLowerCase()
    if (coding !== '' && coding !== 'identity') return text.trim()
  }
  return undefined
}
