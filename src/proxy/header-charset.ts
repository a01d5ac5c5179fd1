// How the policy reads request header values with bytes >= 0x80 (server.header_charset). Node's
// parser hands them over one character per byte (Latin-1); they are forwarded as those same
// bytes whatever is chosen here, so the choice is only about matching the upstream's reading:
//   latin1  one character per byte: Node, Python's ASGI/WSGI servers, Java servlets.
//   utf8    decoded as UTF-8: Go (and OPA behind Envoy) compare the bytes as UTF-8 text, so a
//           rule on "José" must see José. A value that is not valid UTF-8 has no such reading
//           and is refused (the policy could not judge what the upstream makes of it).
//   ascii   any such value is refused: for upstreams whose reading is not known.

export type HeaderCharset = 'latin1' | 'utf8' | 'ascii'

// Every byte of a Latin-1 string is one UTF-16 unit below 0x100; the test is for 0x80..0xff.
const HIGH = /[\u0080-\u00ff]/
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Rewrites `headers` (the policy's own copy, one string per name) for `charset`. Returns the
 * name of the first value it refuses, or undefined when every value is readable.
 */
export function readHeaderValues (headers: Record<string, string>, charset: HeaderCharset): string | undefined {
  if (charset === 'latin1') return undefined
  for (const name in headers) {
    const v = headers[name]!
    if (!HIGH.test(v)) continue
    if (charset === 'ascii') return name
    try {
      // ignoreBOM: a leading EF BB BF stays in the value, as a byte-comparing upstream keeps it.
      headers[name] = utf8.decode(Buffer.from(v, 'latin1'))
    } catch {
      return name
    }
  }
  return undefined
}
