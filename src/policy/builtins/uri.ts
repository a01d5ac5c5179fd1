// uri.parse and uri.is_valid (OPA PR #8578, 2026; topdown/uri.go): a URI as Go's net/url.Parse reads it.
// A policy checking a redirect target's host or scheme must see the parts the Go upstreams
// (and OPA) see, so the parser below follows net/url's rules, not the WHATWG URL that
// JavaScript's URL implements (which lowercases hosts, resolves dot segments and accepts
// things Go refuses): a scheme is letters then letters/digits/+-. before ':'; `//authority`
// only after a scheme or at the start; userinfo restricted to RFC 3986's characters; a host
// may %-escape only non-ASCII bytes; a port is ASCII digits; a bracketed host is an IPv6
// address; a path keeps its raw form only when the default escaping would not give it back.
// Errors carry Go's messages (`parse "<url>": <reason>`).
import { goQuote } from './go-quote.js'
import { isIPv6 } from 'node:net'
import { builtinError, type HostBuiltin } from './context.js'
import { str } from './args.js'
import { bytesString, stringBytes } from './bytes.js'

class UrlError extends Error {}

const enum Mode { Path, Host, Zone, UserPassword, QueryComponent, Fragment }

interface GoUrl { scheme: string; opaque: string; host: string; path: string; rawPath: string; rawQuery: string; fragment: string }

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
const unhex = (c: number): number => c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10
const isAlnum = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)

function shouldEscape (c: number, mode: Mode): boolean {
  if (isAlnum(c)) return false
  if ((mode === Mode.Host || mode === Mode.Zone) && '!$&\'()*+,;=:[]<>"'.includes(String.fromCharCode(c))) return false
  const ch = String.fromCharCode(c)
  if ('-_.~'.includes(ch)) return false
  if ('$&+,/:;=?@'.includes(ch)) {
    switch (mode) {
      case Mode.Path: return ch === '?'
      case Mode.UserPassword: return ch === '@' || ch === '/' || ch === '?' || ch === ':'
      case Mode.QueryComponent: return true
      case Mode.Fragment: return false
      default: break
    }
  }
  if (mode === Mode.Fragment && '!()*'.includes(ch)) return false
  return true
}

/** net/url's unescape over the bytes of `s` (./bytes.ts). */
function unescape (s: string, mode: Mode): string {
  const b = stringBytes(s)
  const out: number[] = []
  for (let i = 0; i < b.length;) {
    const c = b[i]!
    if (c === 0x25) {
      if (i + 2 >= b.length || !isHex(b[i + 1]!) || !isHex(b[i + 2]!)) {
        throw new UrlError(`invalid URL escape ${goQuote(b.subarray(i, i + 3).toString('utf8'))}`)
      }
      const esc = b.subarray(i, i + 3).toString('latin1')
      const v = (unhex(b[i + 1]!) << 4) | unhex(b[i + 2]!)
      // a host may %-escape only non-ASCII bytes (and %25 before an IPv6 zone)
      if (mode === Mode.Host && unhex(b[i + 1]!) < 8 && esc !== '%25') throw new UrlError(`invalid URL escape ${goQuote(esc)}`)
      if (mode === Mode.Zone && esc !== '%25' && v !== 0x20 && shouldEscape(v, Mode.Host)) throw new UrlError(`invalid URL escape ${goQuote(esc)}`)
      out.push(v)
      i += 3
    } else {
      if ((mode === Mode.Host || mode === Mode.Zone) && c < 0x80 && shouldEscape(c, mode)) {
        throw new UrlError(`invalid character ${goQuote(String.fromCharCode(c))} in host name`)
      }
      out.push(c === 0x2b && mode === Mode.QueryComponent ? 0x20 : c)
      i++
    }
  }
  return bytesString(Buffer.from(out))
}

/** net/url's escape of the bytes of `s` (upper-case hex). */
function escape (s: string, mode: Mode): string {
  let out = ''
  for (const c of stringBytes(s)) {
    out += shouldEscape(c, mode) ? '%' + c.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(c)
  }
  return out
}

function validOptionalPort (port: string): boolean {
  if (port === '') return true
  if (port[0] !== ':') return false
  for (let i = 1; i < port.length; i++) {
    const c = port.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
  }
  return true
}

function parseHost (host: string): string {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']')
    if (i < 0) throw new UrlError("missing ']' in host")
    const colonPort = host.slice(i + 1)
    if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${goQuote(colonPort)} after host`)
    const zone = host.slice(0, i).indexOf('%25')
    // only an IPv6 address may be bracketed (Go 1.25: IPv4 and names are refused)
    const literal = host.slice(1, zone >= 0 ? zone : i)
    if (!isIPv6(literal)) throw new UrlError(`invalid IP-literal ${goQuote(host.slice(0, i + 1))}`)
    if (zone >= 0) return unescape(host.slice(0, zone), Mode.Host) + unescape(host.slice(zone, i), Mode.Zone) + unescape(host.slice(i), Mode.Host)
  } else {
    const i = host.lastIndexOf(':')
    if (i !== -1) {
      const colonPort = host.slice(i)
      if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${goQuote(colonPort)} after host`)
    }
  }
  return unescape(host, Mode.Host)
}

function validUserinfo (s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (isAlnum(c) && c < 0x80) continue
    if (!"-._:~!$&'()*+,;=%@".includes(ch)) return false
  }
  return true
}

function parseAuthority (authority: string): string {
  const i = authority.lastIndexOf('@')
  const host = parseHost(i < 0 ? authority : authority.slice(i + 1))
  if (i >= 0) {
    const userinfo = authority.slice(0, i)
    if (!validUserinfo(userinfo)) throw new UrlError('net/url: invalid userinfo')
    // the user is not returned by uri.parse, but a bad escape in it is an error
    for (const part of userinfo.split(':').slice(0, 2)) unescape(part, Mode.UserPassword)
  }
  return host
}

function getScheme (raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) continue
    if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) {
      if (i === 0) return ['', raw]
      continue
    }
    if (c === 0x3a) {
      if (i === 0) throw new UrlError('missing protocol scheme')
      return [raw.slice(0, i), raw.slice(i + 1)]
    }
    return ['', raw]
  }
  return ['', raw]
}

/** Go's url.Parse (not via a request). Throws UrlError with net/url's reason. */
export function parseGoUrl (rawURL: string): GoUrl {
  const hash = rawURL.indexOf('#')
  const u = hash < 0 ? rawURL : rawURL.slice(0, hash)
  const url: GoUrl = { scheme: '', opaque: '', host: '', path: '', rawPath: '', rawQuery: '', fragment: '' }
  for (let i = 0; i < u.length; i++) {
    const c = u.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) throw new UrlError('net/url: invalid control character in URL')
  }
  if (u === '*') {
    url.path = '*'
  } else {
    const [scheme, afterScheme] = getScheme(u)
    url.scheme = scheme.toLowerCase()
    let rest = afterScheme
    if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) {
      rest = rest.slice(0, -1) // ForceQuery: an empty query
    } else {
      const q = rest.indexOf('?')
      if (q >= 0) { url.rawQuery = rest.slice(q + 1); rest = rest.slice(0, q) }
    }
    let opaque = false
    if (!rest.startsWith('/')) {
      if (url.scheme !== '') {
        url.opaque = rest
        opaque = true
      } else {
        const slash = rest.indexOf('/')
        if ((slash < 0 ? rest : rest.slice(0, slash)).includes(':')) throw new UrlError('first path segment in URL cannot contain colon')
      }
    }
    if (!opaque) {
      if ((url.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
        let authority = rest.slice(2)
        const slash = authority.indexOf('/')
        rest = slash < 0 ? '' : authority.slice(slash)
        if (slash >= 0) authority = authority.slice(0, slash)
        url.host = parseAuthority(authority)
      }
      url.path = unescape(rest, Mode.Path)
      url.rawPath = escape(url.path, Mode.Path) === rest ? '' : rest
    }
  }
  if (hash >= 0) url.fragment = unescape(rawURL.slice(hash + 1), Mode.Fragment)
  return url
}

/** url.URL's Hostname() and Port(). */
function splitHostPort (hostPort: string): [string, string] {
  let host = hostPort
  let port = ''
  const colon = host.lastIndexOf(':')
  if (colon !== -1 && validOptionalPort(host.slice(colon))) { port = host.slice(colon + 1); host = host.slice(0, colon) }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  return [host, port]
}

function uriParse (s: unknown): Record<string, string> {
  const text = str('uri.parse', 1, s)
  let u: GoUrl
  try {
    u = parseGoUrl(text)
  } catch (e) {
    if (e instanceof UrlError) throw builtinError('uri.parse', `parse ${goQuote(text)}: ${e.message}`)
    throw e
  }
  const out: Record<string, string> = {}
  const [hostname, port] = splitHostPort(u.host)
  if (u.scheme !== '') out.scheme = u.scheme
  if (hostname !== '') out.hostname = hostname
  if (port !== '') out.port = port
  if (u.path !== '') { out.path = u.path; out.raw_path = u.rawPath !== '' ? u.rawPath : u.path }
  if (u.rawQuery !== '') out.raw_query = u.rawQuery
  if (u.fragment !== '') out.fragment = u.fragment
  return out
}

function uriIsValid (s: unknown): boolean {
  if (typeof s !== 'string' || s === '') return false
  try {
    parseGoUrl(s)
    return true
  } catch (e) {
    if (e instanceof UrlError) return false
    throw e
  }
}

export const uriBuiltins: Record<string, HostBuiltin> = {
  'uri.parse': uriParse,
  'uri.is_valid': uriIsValid,
}
