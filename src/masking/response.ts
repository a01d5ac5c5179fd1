// Masking an upstream HTTP response. Every path out of here is either a fully masked body or a
// MaskFailClosedError: the unmasked body is never returned once a rule applies.
//
// Streaming is the caller's business: with `mask.empty` the proxy should stream the upstream
// response as is and not call this at all (it buffers).
import { checkHashKey } from './apply.js'
import { isBodyDigestHeader } from './digest-headers.js'
import { MaskFailClosedError } from './errors.js'
import { maskJsonText } from './text-mask.js'
import { destroySource, parseContentEncoding, readBody, type BodyLimits, type BodySource } from './body.js'
import type { CompiledMask } from './rules.js'

export interface MaskResponseOptions {
  /** HMAC key for `hash` rules (at least 16 bytes). */
  hashKey?: Uint8Array
  /**
   * Largest decoded (decompressed) body that will be masked, and the largest masked body: rules
   * that make a body longer (redact, hash, last4, null replace a value by their text) cannot take it
   * past this. Default 8 MiB.
   */
  maxBodyBytes?: number
  /** Largest body accepted on the wire, before decoding. Default: maxBodyBytes. */
  maxWireBytes?: number
  /** Deepest nesting of objects/arrays accepted. Default 128. */
  maxDepth?: number
  /** Status of the fail-closed error. Default 502. */
  failStatus?: number
  /** Request method: HEAD responses have no body to mask. */
  method?: string
  /** 'js': mask with the JavaScript scanner, not the Wasm walk (the same results; for tests and benchmarks). */
  scanner?: 'wasm' | 'js'
  /** The memory budget shared by responses held for masking (see BodyLimits.budget). */
  budget?: BodyLimits['budget']
}

export interface UpstreamResponse {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  body: BodySource
}

export interface MaskedResponse {
  statusCode: number
  headers: Record<string, string | string[]>
  body: Buffer
  /** Concrete pointers rewritten / removed (see applyMask); computed when first read. */
  readonly masked: string[]
  readonly erased: string[]
}

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
export const DEFAULT_MAX_DEPTH = 128

/**
 * Headers that describe the upstream bytes, which we no longer send: the encoding is undone,
 * the length changes, and validators/digests of the original representation would be false
 * (a cache could otherwise revalidate the unmasked body's ETag against the masked one).
 * transfer-encoding goes because the result has a content-length.
 */
const DROPPED_HEADERS = new Set(['content-encoding', 'content-length', 'transfer-encoding', 'etag'])

export async function maskUpstreamResponse (res: UpstreamResponse, mask: CompiledMask, opts: MaskResponseOptions = {}): Promise<MaskedResponse> {
  const failStatus = opts.failStatus ?? 502
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const maxWireBytes = opts.maxWireBytes ?? maxBodyBytes
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH
  const fail = (code: ConstructorParameters<typeof MaskFailClosedError>[0], ...args: unknown[]): never => {
    destroySource(res.body)
    throw new MaskFailClosedError(code, args, failStatus)
  }

  // A configuration problem, not the response's: refuse before reading anything.
  if (mask.usesHash) {
    try { checkHashKey(opts.hashKey) } catch (e) { destroySource(res.body); throw e }
  }

  const headers: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue
    const lk = k.toLowerCase()
    if (!DROPPED_HEADERS.has(lk) && !isBodyDigestHeader(lk)) headers[k] = v
  }

  // No rules: nothing to hide; hand the bytes back untouched (still bounded, since we buffer).
  if (mask.empty) {
    const passthrough: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(res.headers)) {
      const lk = k.toLowerCase()
      if (v !== undefined && lk !== 'content-length' && lk !== 'transfer-encoding') passthrough[k] = v
    }
    const body = await readBody(res.body, [], { maxWireBytes, maxBodyBytes: maxWireBytes, failStatus, budget: opts.budget })
    // Now a complete buffer: framed by content-length, not by the upstream's transfer-encoding.
    passthrough['content-length'] = String(body.length)
    return { statusCode: res.statusCode, headers: passthrough, body, masked: [], erased: [] }
  }

  // Responses that cannot carry a body: nothing can leak; drop the length of the original.
  if (opts.method?.toUpperCase() === 'HEAD' || res.statusCode === 204 || res.statusCode === 304 || (res.statusCode >= 100 && res.statusCode < 200)) {
    destroySource(res.body)
    return { statusCode: res.statusCode, headers, body: Buffer.alloc(0), masked: [], erased: [] }
  }

  const ct = res.headers['content-type']
  if (ct === undefined || Array.isArray(ct)) return fail('BOUNCER_ERR_MASK_NOT_JSON', ct === undefined ? 'no content-type' : 'several content-type headers')
  const media = jsonMediaType(ct)
  if (media !== null) return fail('BOUNCER_ERR_MASK_NOT_JSON', media)

  const codings = parseContentEncoding(res.headers['content-encoding'])
  if (typeof codings === 'string') return fail('BOUNCER_ERR_MASK_ENCODING', codings)

  // Refuse early on a declared length over the cap, before reading anything.
  const cl = res.headers['content-length']
  if (typeof cl === 'string' && /^\d+$/.test(cl.trim()) && Number(cl) > maxWireBytes) return fail('BOUNCER_ERR_MASK_TOO_LARGE', maxWireBytes, `content-length ${cl.trim()}`)

  const parts: Buffer[] = []
  const raw = await readBody(res.body, codings, { maxWireBytes, maxBodyBytes, failStatus, budget: opts.budget }, parts)

  if (raw.length === 0) {
    // An empty body holds nothing to mask (and is not JSON to parse).
    headers['content-length'] = '0'
    return { statusCode: res.statusCode, headers, body: raw, masked: [], erased: [] }
  }
  // Byte-level: everything outside the masked values keeps the upstream's exact text. A body
  // assembled from several chunks is our own copy: it is masked in place (no second 100 KB
  // buffer per response), and the chunks keep the original bytes for the lists.
  const own = parts.length > 1
  // The masked body has the decoded body's limit: a body within it that masking makes longer
  // (a 10 MB list of 1s each redacted to "[REDACTED]" would be 60 MB, per response) is refused
  // before the masked body is allocated. The body is read whole by now; fail() destroys it all
  // the same, as every refusal does.
  const r = maskJsonText(raw, mask, { hashKey: opts.hashKey, maxDepth, lists: false, inPlace: own, maxOutputBytes: maxBodyBytes, scanner: opts.scanner })
  if (!r.ok) return r.tooLarge === true ? fail('BOUNCER_ERR_MASK_TOO_LARGE', maxBodyBytes, 'after masking') : fail('BOUNCER_ERR_MASK_BODY_INVALID', r.reason)
  headers['content-length'] = String(r.body.length)
  return withLazyLists({ statusCode: res.statusCode, headers, body: r.body }, own ? () => Buffer.concat(parts) : () => raw, mask, opts.hashKey, maxDepth)
}

/**
 * `masked` / `erased` are computed when first read, by a second pass over the upstream body:
 * building a pointer per masked value costs more than the masking itself, and the proxy does
 * not read them on the request path. That pass has no output limit: it masks what the first
 * pass masked within its limit, so it cannot be refused where the first pass was not.
 */
function withLazyLists (res: Omit<MaskedResponse, 'masked' | 'erased'>, raw: () => Buffer, mask: CompiledMask, hashKey: Uint8Array | undefined, maxDepth: number): MaskedResponse {
  let lists: { masked: string[]; erased: string[] } | undefined
  const get = (): { masked: string[]; erased: string[] } => {
    if (lists === undefined) {
      const r = maskJsonText(raw(), mask, { hashKey, maxDepth })
      lists = r.ok ? r : { masked: [], erased: [] } // the first pass succeeded, so this one does
    }
    return lists
  }
  // A literal with getters (not Object.defineProperties on `res`, which leaves a dictionary-mode object).
  return {
    statusCode: res.statusCode,
    headers: res.headers,
    body: res.body,
    get masked () { return get().masked },
    get erased () { return get().erased },
  }
}

/**
 * Null when the content-type is JSON we can decode (application/json or any "+json" subtype,
 * UTF-8 or no charset), else a short description of why not. "text/json" and friends are not
 * JSON here: unknown types fail closed rather than pass unmasked.
 */
export function jsonMediaType (contentType: string): string | null {
  const [type, ...params] = contentType.split(';')
  const mt = type!.trim().toLowerCase()
  const slash = mt.indexOf('/')
  const subtype = slash > 0 ? mt.slice(slash + 1) : ''
  if (mt !== 'application/json' && !(subtype.endsWith('+json') && subtype.length > 5)) {
    return `content-type ${JSON.stringify(mt.slice(0, 64))}`
  }
  for (const p of params) {
    const eq = p.indexOf('=')
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'charset') continue
    const cs = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase()
    if (cs !== 'utf-8' && cs !== 'utf8') return `charset ${JSON.stringify(cs.slice(0, 32))} (only UTF-8 is decoded)`
  }
  return null
}

