// multipart/form-data for parsed_body, read as a Go upstream (and opa-envoy-plugin, through Go's
// mime and mime/multipart) reads it, so the policy judges the fields the upstream will see. A
// split on "--boundary" anywhere, or a regex for `boundary=` / `name=`, read fields Go does not
// (a delimiter in mid-line ended a part early; `boundary=` inside a quoted parameter was taken).
// Where Go's reading is itself ambiguous (a repeated part header, of which Go takes the first),
// the body is refused. Errors are InputErrors: the caller answers 400.
import { InputError } from './input.js'
import { isSpaceOrNel, trimBy } from '../text-trim.js'

const SPECIALS = new Set('()<>@,;:\\"/[]?=')
const isTokenChar = (c: number): boolean => c > 0x20 && c < 0x7f && !SPECIALS.has(String.fromCharCode(c))
const isLwsp = (c: number | undefined): boolean => c === 0x20 || c === 0x09

// What Go trims around a media type's parameters (unicode.IsSpace); anchored at the start, so linear.
const SPACE = /^[\s\x85]+/

export interface MediaType { readonly type: string; readonly params: ReadonlyMap<string, string> }

/**
 * `type/subtype; name=value; ...` with token or quoted-string values (a backslash escapes a
 * special character; elsewhere it is kept, as Go keeps `C:\dir`) and RFC 2231 extended
 * parameters (`name*=utf-8''r%6Fle`, `name*0=ro; name*1=le`), which replace a plain `name`.
 * A malformed or repeated parameter is an error, as in Go.
 */
export function parseMediaType (value: string, what: string): MediaType {
  const semi = value.indexOf(';')
  // What Go trims around a media type and its parameters (unicode.IsSpace).
  const type = trimBy(semi < 0 ? value : value.slice(0, semi), isSpaceOrNel).toLowerCase()
  const slash = type.indexOf('/')
  const major = slash < 0 ? type : type.slice(0, slash)
  if (major === '' || ![...major].every((c) => isTokenChar(c.charCodeAt(0)))) throw new InputError(`${what} has no media type`)
  if (slash >= 0) {
    const minor = type.slice(slash + 1)
    if (minor === '' || ![...minor].every((c) => isTokenChar(c.charCodeAt(0)))) throw new InputError(`${what} has a malformed media type`)
  }
  const plain = new Map<string, string>()
  const extended = new Map<string, Map<string, string>>() // name → {"name*" | "name*0" | "name*1*" ...: raw value}
  let s = semi < 0 ? '' : value.slice(semi)
  const malformed = (): never => { throw new InputError(`${what} has a malformed parameter`) }
  while ((s = s.replace(SPACE, '')) !== '') {
    if (s[0] !== ';') malformed()
    s = s.slice(1).replace(SPACE, '')
    if (s === '') break // a trailing ";"
    let k = 0
    while (k < s.length && isTokenChar(s.charCodeAt(k))) k++
    const key = s.slice(0, k).toLowerCase()
    s = s.slice(k).replace(SPACE, '')
    if (key === '' || s[0] !== '=') malformed()
    s = s.slice(1).replace(SPACE, '')
    let v: string
    if (s[0] === '"') {
      v = ''
      let i = 1
      for (; i < s.length && s[i] !== '"'; i++) {
        const c = s[i]!
        if (c === '\r' || c === '\n') malformed()
        if (c === '\\' && i + 1 < s.length && SPECIALS.has(s[i + 1]!)) v += s[++i]
        else v += c
      }
      if (i >= s.length) malformed()
      s = s.slice(i + 1)
    } else {
      let i = 0
      while (i < s.length && isTokenChar(s.charCodeAt(i))) i++
      if (i === 0) malformed()
      v = s.slice(0, i)
      s = s.slice(i)
    }
    const star = key.indexOf('*')
    const bucket = star < 0 ? plain : extended.get(key.slice(0, star)) ?? new Map<string, string>()
    if (star >= 0) extended.set(key.slice(0, star), bucket)
    if (bucket.has(key)) throw new InputError(`${what} has a duplicate parameter`)
    bucket.set(key, v)
  }
  for (const [name, pieces] of extended) {
    const whole = pieces.get(`${name}*`)
    const joined = whole !== undefined ? charsetValue(whole) : continued(name, pieces)
    if (joined !== undefined) plain.set(name, joined)
  }
  return { type, params: plain }
}

/** `charset'language'percent-encoded`, for us-ascii and utf-8 (what Go decodes; others are dropped). */
function charsetValue (v: string): string | undefined {
  const m = /^([^']*)'[^']*'(.*)$/s.exec(v)
  if (m === null || !['us-ascii', 'utf-8'].includes(m[1]!.toLowerCase())) return undefined
  return percentDecoded(m[2]!)
}

/** name*0, name*1, ... until one is missing; a piece ending in "*" is percent-encoded (the first with a charset). */
function continued (name: string, pieces: ReadonlyMap<string, string>): string | undefined {
  let out = ''
  let n = 0
  for (;; n++) {
    const raw = pieces.get(`${name}*${n}`)
    const enc = pieces.get(`${name}*${n}*`)
    if (raw === undefined && enc === undefined) break
    if (raw !== undefined) out += raw
    else {
      const piece = n === 0 ? charsetValue(enc!) : percentDecoded(enc!)
      if (piece === undefined) return undefined
      out += piece
    }
  }
  return n === 0 ? undefined : out
}

function percentDecoded (s: string): string | undefined {
  if (!s.includes('%')) return s
  const bytes = Buffer.from(s, 'utf8')
  const out = Buffer.alloc(bytes.length)
  let o = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x25) { out[o++] = bytes[i]!; continue }
    const hex = bytes.toString('latin1', i + 1, i + 3)
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined
    out[o++] = parseInt(hex, 16)
    i += 2
  }
  return out.toString('utf8', 0, o)
}

// Go reads part headers and the lines before the first delimiter through a 4 KiB buffer: a
// longer line is an error there, so it is here.
const MAX_LINE = 4096
const HEADERS_ONCE = ['content-disposition', 'content-type', 'content-transfer-encoding']

export interface FormPart { readonly name: string; readonly contentType: string | undefined; readonly value: Buffer }

/**
 * The form-data parts of `body` (bytes) delimited by `boundary`: each part with a
 * `Content-Disposition: form-data; name=...` (others are skipped, as Go skips them), its value
 * decoded from quoted-printable when the part says so (Go does; other encodings stay as sent).
 */
export function formParts (body: Buffer, boundary: string): FormPart[] {
  if (boundary === '') throw new InputError('multipart boundary is empty')
  const dash = Buffer.from(`--${boundary}`, 'utf8')
  if (dash.length > MAX_LINE) throw new InputError('multipart boundary is too long')
  // The first delimiter line: "--boundary" at a line start, then white space and the line end.
  let pos = 0
  let nl: Buffer | undefined
  for (;;) {
    const eol = body.indexOf(0x0a, pos)
    const end = eol < 0 ? body.length : eol
    if (end - pos > MAX_LINE) throw new InputError('multipart body has a line too long before its first part')
    const kind = delimiterKind(body, pos, end, dash)
    if (kind === 'close') return []
    if (kind === 'part') { nl = eol > 0 && body[eol - 1] === 0x0d ? Buffer.from('\r\n') : Buffer.from('\n'); pos = eol + 1; break }
    if (eol < 0) throw new InputError('multipart body has no parts')
    pos = eol + 1
  }
  const parts: FormPart[] = []
  const next = Buffer.concat([nl, dash])
  for (;;) {
    if (pos >= body.length) throw new InputError('multipart body has no close delimiter')
    const { headers, at } = partHeaders(body, pos)
    // The value runs to the next delimiter line: one right at `at` (an empty value: the line end
    // before it closed the headers), or one after a line end ("\r\n--boundary"; "\n--boundary"
    // when the first delimiter line ended in a bare LF, as Go switches).
    let d = at
    let kind: 'part' | 'close' | 'none' = 'none'
    let lineEnd = at
    for (let search = at; ; search = d + 1) {
      if (search === at && body.subarray(at, at + dash.length).equals(dash)) d = at
      else {
        const hit = body.indexOf(next, search)
        if (hit < 0) throw new InputError('multipart body has no close delimiter')
        d = hit + nl.length
      }
      const eol = body.indexOf(0x0a, d)
      lineEnd = eol < 0 ? body.length : eol
      kind = delimiterKind(body, d, lineEnd, dash)
      if (kind !== 'none') break
    }
    const part = formPart(headers, body.subarray(at, d === at ? at : d - nl.length))
    if (part !== undefined) parts.push(part)
    if (kind === 'close') return parts
    if (lineEnd >= body.length) throw new InputError('multipart body has no close delimiter')
    pos = lineEnd + 1
  }
}

/**
 * Whether body[start, end) (a line without its "\n") is a delimiter line: "--boundary" then
 * optional white space (and a CR) — a part follows — or "--boundary--" likewise (the close; what
 * follows is the epilogue). "--boundary" followed by more of a word is data; either followed by
 * anything else is malformed (Go stops there too).
 */
function delimiterKind (body: Buffer, start: number, end: number, dash: Buffer): 'part' | 'close' | 'none' {
  if (end - start < dash.length || !body.subarray(start, start + dash.length).equals(dash)) return 'none'
  let i = start + dash.length
  const close = body[i] === 0x2d && body[i + 1] === 0x2d && i + 1 < end
  if (close) i += 2
  else if (i < end && !isLwsp(body[i]) && body[i] !== 0x0d) return 'none'
  while (i < end && isLwsp(body[i])) i++
  if (i < end && body[i] === 0x0d && i + 1 === end) i++
  if (i === end) return close ? 'close' : 'part'
  // "--boundary--x" or "--boundary x": Go stops with an error ("expecting a new Part").
  throw new InputError('multipart body has a malformed delimiter line')
}

/** The part's header block from `pos` to its empty line: lower-case names → values (folded lines joined). */
function partHeaders (body: Buffer, pos: number): { headers: Map<string, string[]>; at: number } {
  const headers = new Map<string, string[]>()
  let last: string[] | undefined
  for (;;) {
    const eol = body.indexOf(0x0a, pos)
    if (eol < 0) throw new InputError('multipart part has no header end')
    if (eol - pos > MAX_LINE) throw new InputError('multipart part header line too long')
    const line = body.toString('utf8', pos, eol > pos && body[eol - 1] === 0x0d ? eol - 1 : eol)
    pos = eol + 1
    if (line === '') return { headers, at: pos }
    if (isLwsp(line.charCodeAt(0))) {
      if (last === undefined) throw new InputError('multipart part header starts with white space')
      last[last.length - 1] += ' ' + line.trim()
      continue
    }
    const colon = line.indexOf(':')
    const name = colon < 0 ? '' : line.slice(0, colon)
    if (name === '' || ![...name].every((c) => isTokenChar(c.charCodeAt(0))) || /[\x00-\x08\x0a-\x1f\x7f]/.test(line)) {
      throw new InputError('malformed multipart part header')
    }
    const key = name.toLowerCase()
    last = headers.get(key) ?? []
    headers.set(key, last)
    last.push(line.slice(colon + 1).trim())
  }
}

function formPart (headers: Map<string, string[]>, raw: Buffer): FormPart | undefined {
  for (const h of HEADERS_ONCE) if ((headers.get(h)?.length ?? 0) > 1) throw new InputError(`multipart part has more than one ${h}`)
  const cd = headers.get('content-disposition')?.[0]
  if (cd === undefined) return undefined
  const disposition = parseMediaType(cd, 'multipart part content-disposition')
  const name = disposition.params.get('name')
  if (disposition.type !== 'form-data' || name === undefined || name === '') return undefined
  const cte = headers.get('content-transfer-encoding')?.[0]?.toLowerCase()
  const value = cte === 'quoted-printable' ? quotedPrintable(raw) : raw
  return { name, contentType: headers.get('content-type')?.[0], value }
}

/** Quoted-printable (RFC 2045 §6.7): =XX escapes and "=" soft line breaks; control bytes refused. */
function quotedPrintable (raw: Buffer): Buffer {
  const out = Buffer.alloc(raw.length)
  let o = 0
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!
    if (c === 0x3d) {
      let j = i + 1
      while (isLwsp(raw[j])) j++
      if (raw[j] === 0x0d && raw[j + 1] === 0x0a) { i = j + 1; continue } // soft line break
      if (raw[j] === 0x0a || j >= raw.length) { i = j; continue }
      const hex = raw.toString('latin1', i + 1, i + 3)
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new InputError('multipart part is not valid quoted-printable')
      out[o++] = parseInt(hex, 16)
      i += 2
      continue
    }
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) throw new InputError('multipart part is not valid quoted-printable')
    out[o++] = c
  }
  return out.subarray(0, o)
}
