// Go's strconv.Quote, which OPA's messages (and its libraries') use to quote text: printable
// characters (Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols, ASCII space)
// as they are, the usual escapes, \xNN below 0x80, \uNNNN and \UNNNNNNNN above.

export function goQuote (s: string): string {
  let out = '"'
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (ch === '"' || ch === '\\') out += '\\' + ch
    else if (PRINTABLE.test(ch)) out += ch
    else if (GO_ESCAPES[cp] !== undefined) out += GO_ESCAPES[cp]
    else if (cp < 0x80) out += '\\x' + cp.toString(16).padStart(2, '0')
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0')
    else out += '\\U' + cp.toString(16).padStart(8, '0')
  }
  return out + '"'
}
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u // Go's unicode.IsPrint
const GO_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' }
