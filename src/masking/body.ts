// Reading an upstream body for masking: capped on the wire and, separately, after decoding.
// Decoding streams through node:zlib and stops as soon as the decoded cap is passed, so a small
// compressed "bomb" never inflates into memory beyond the cap.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import { MaskFailClosedError } from './errors.js'

export interface BodyLimits {
  maxWireBytes: number
  maxBodyBytes: number
  failStatus: number
  /** Shared by every response held for masking at once (masking.max_buffered_bytes): each
   *  chunk kept is charged; one the budget cannot hold fails the read with 503. */
  budget?: { readonly lease: { take (n: number): boolean }; readonly limit: number }
}

export type BodySource = AsyncIterable<Uint8Array> | Readable

export type ContentCoding = 'gzip' | 'br' | 'deflate'
export const MAX_CODINGS = 2

/**
 * Parses content-encoding into the codings to undo, outermost first (the reverse of the header
 * order). Returns a reason string for anything we cannot decode — the caller fails closed.
 */
export function parseContentEncoding (header: string | string[] | undefined): ContentCoding[] | string {
  if (header === undefined) return []
  const parts = (Array.isArray(header) ? header.join(',') : header).split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '' && s !== 'identity')
  const out: ContentCoding[] = []
  for (const p of parts) {
    if (p === 'gzip' || p === 'x-gzip') out.push('gzip')
    else if (p === 'br') out.push('br')
    else if (p === 'deflate') out.push('deflate')
    else return `unsupported coding ${JSON.stringify(p.slice(0, 32))}`
  }
  if (out.length > MAX_CODINGS) return `${out.length} stacked codings; at most ${MAX_CODINGS} are accepted`
  return out.reverse()
}

/**
 * Reads and decodes the body, enforcing both caps. Always consumes or destroys `source`.
 * `parts`, when given, receives the chunks when the body was assembled from several: the
 * returned Buffer is then a copy of its own (the caller may write over it), and the chunks
 * still hold the original bytes.
 */
export async function readBody (source: BodySource, codings: readonly ContentCoding[], limits: BodyLimits, parts?: Buffer[]): Promise<Buffer> {
  const tooLarge = (limit: number, where: string): MaskFailClosedError =>
    new MaskFailClosedError('BOUNCER_ERR_MASK_TOO_LARGE', [limit, where], limits.failStatus)

  let wire = 0
  async function * countWire (src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of src) {
      wire += chunk.length
      if (wire > limits.maxWireBytes) throw tooLarge(limits.maxWireBytes, 'on the wire')
      yield chunk
    }
  }

  const chunks: Buffer[] = []
  let size = 0
  const budget = limits.budget
  const charge = (n: number): void => {
    if (budget !== undefined && !budget.lease.take(n)) throw new MaskFailClosedError('BOUNCER_ERR_MASK_BUSY', [budget.limit], 503)
  }
  // No coding to undo (the usual case): the chunks are read directly. pipeline() with generator
  // stages costs an AbortController, a DOMException on completion and a promise per stage per
  // chunk; the caps and the failures are the same.
  if (codings.length === 0) {
    try {
      for await (const chunk of source) {
        size += chunk.length
        if (size > limits.maxWireBytes) throw tooLarge(limits.maxWireBytes, 'on the wire')
        if (size > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes, 'on the wire')
        charge(chunk.length)
        chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))
      }
    } catch (e) {
      destroySource(source)
      if (e instanceof MaskFailClosedError) throw e
      throw new MaskFailClosedError('BOUNCER_ERR_MASK_BODY_READ', [(e as Error).message ?? String(e)], limits.failStatus, { cause: e })
    }
    return assemble(chunks, size, parts)
  }

  async function collect (src: AsyncIterable<Uint8Array>): Promise<void> {
    for await (const chunk of src) {
      size += chunk.length
      // Throwing here makes pipeline destroy the decoders: decompression stops at the cap.
      if (size > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes, codings.length > 0 ? 'after decompression' : 'on the wire')
      charge(chunk.length)
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))
    }
  }

  const decoders = codings.map(decodeStage)
  try {
    // pipeline's typings cannot express a variable number of stages.
    await (pipeline as (...s: unknown[]) => Promise<void>)(source, countWire, ...decoders, collect)
  } catch (e) {
    destroySource(source)
    if (e instanceof MaskFailClosedError) throw e
    if (e instanceof DecodeError) {
      throw new MaskFailClosedError('BOUNCER_ERR_MASK_ENCODING', [`${e.coding}: ${e.detail}`], limits.failStatus, { cause: e.cause })
    }
    throw new MaskFailClosedError('BOUNCER_ERR_MASK_BODY_READ', [(e as Error).message ?? String(e)], limits.failStatus, { cause: e })
  }
  return assemble(chunks, size, parts)
}

function assemble (chunks: Buffer[], size: number, parts: Buffer[] | undefined): Buffer {
  if (chunks.length === 1) return chunks[0]!
  if (parts !== undefined) for (const c of chunks) parts.push(c)
  return Buffer.concat(chunks, size)
}

/** The decoder itself failed (corrupt or truncated data), as opposed to the upstream read. */
class DecodeError extends Error {
  constructor (readonly coding: ContentCoding, readonly detail: string, cause: unknown) {
    super(`${coding}: ${detail}`, { cause })
  }
}

/**
 * One decoding stage. It waits for the first bytes before creating the decoder: an empty body
 * stays empty (zlib calls zero bytes a truncated stream), and for "deflate" the first two bytes
 * tell the two variants apart — RFC 9110 means zlib-wrapped, but some servers send raw deflate
 * (a zlib header has CM=8 and CMF/FLG a multiple of 31), which browsers and undici's fetch
 * accept too.
 */
function decodeStage (coding: ContentCoding) {
  return async function * decode (src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const it = src[Symbol.asyncIterator]()
    const head: Uint8Array[] = []
    let headLen = 0
    while (headLen < 2) {
      const r = await it.next()
      if (r.done) break
      head.push(r.value)
      headLen += r.value.length
    }
    if (headLen === 0) return
    const first = Buffer.concat(head)
    const decoder = coding === 'gzip'
      ? zlib.createGunzip()
      : coding === 'br'
        ? zlib.createBrotliDecompress()
        : first.length >= 2 && (first[0]! & 0x0f) === 8 && ((first[0]! << 8) | first[1]!) % 31 === 0
          ? zlib.createInflate()
          : zlib.createInflateRaw()
    let sourceFailed = false
    async function * rest (): AsyncGenerator<Uint8Array> {
      yield first
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) yield r.value
      } catch (e) {
        sourceFailed = true // the upstream read (or an earlier cap) failed, not the decoder
        throw e
      }
    }
    // The inner pipeline feeds the decoder (and destroys it on a source error); we pull its
    // output, so zlib only inflates as fast as the caller consumes — the cap stays effective.
    const feeding = pipeline(Readable.from(rest()), decoder)
    feeding.catch(noop) // surfaces through the decoder's iterator below
    try {
      for await (const chunk of decoder) yield chunk as Uint8Array
      await feeding
    } catch (e) {
      if (sourceFailed) throw e
      const code = (e as { code?: unknown }).code
      throw new DecodeError(coding, typeof code === 'string' ? code : 'corrupt data', e)
    } finally {
      decoder.destroy()
    }
  }
}

/**
 * Stops the upstream body without reading the rest. A listener first: undici's body emits an
 * "aborted" error when destroyed early, which would otherwise be an uncaught exception.
 */
export function destroySource (source: BodySource): void {
  const s = source as { destroy?: () => void; on?: (ev: string, fn: () => void) => void }
  if (typeof s.destroy !== 'function') return
  s.on?.('error', noop)
  s.destroy()
}

function noop (): void {}
