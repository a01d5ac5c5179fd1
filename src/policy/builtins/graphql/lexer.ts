// The GraphQL lexer behind graphql.parse_query / graphql.parse_schema, reading as OPA's library
// (vektah/gqlparser v2) reads: the same tokens, the same messages and the same line:column
// positions, quirks included, because a policy sees the messages (strict builtin errors) and
// must see the same documents accepted and refused.
//
// Positions count code points, not bytes or UTF-16 units; lines and columns start at 1. A string
// token's column is that of its first character after the quote, and a block string takes the
// line of its end (its column then counts from that line's start, and may be zero or less).

import { goText } from '../bytes.js'

export type Kind =
  | '<Invalid>' | '<EOF>' | '!' | '$' | '&' | '(' | ')' | '...' | ':' | '=' | '@' | '[' | ']' | '{' | '}' | '|'
  | 'Name' | 'Int' | 'Float' | 'String' | 'BlockString' | 'Comment'

export interface Token {
  readonly kind: Kind
  /** Names and numbers: their text; strings: their value; comments: the text from "#"; else "". */
  readonly value: string
  readonly line: number
  readonly column: number
  /** The lexer's message for an <Invalid> token. */
  readonly error?: string
}

const PUNCTUATORS: Record<string, Kind> = {
  '!': '!', $: '$', '&': '&', '(': '(', ')': ')', ':': ':', '=': '=', '@': '@', '[': '[', ']': ']', '{': '{', '}': '}', '|': '|',
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
const isNameStart = (c: number): boolean => c === 0x5f || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
const isNameChar = (c: number): boolean => isNameStart(c) || isDigit(c)
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)

/** The library reads bytes: a character it reports is the first byte of its UTF-8 form, read as Latin-1. */
function firstByteChar (cp: number): string {
  const b = cp < 0x80 ? cp : cp < 0x800 ? 0xc0 | (cp >> 6) : cp < 0x10000 ? 0xe0 | (cp >> 12) : 0xf0 | (cp >> 18)
  return String.fromCharCode(b)
}

/** "\u%04d" of a control character: its code in decimal, as the library prints it. */
const controlCode = (c: number): string => `"\\u${String(c).padStart(4, '0')}"`

export class Lexer {
  private i = 0 // UTF-16 index
  private r = 0 // code points before i
  private line = 1
  private lineStart = 0 // code points before the current line
  private readonly s: string

  constructor (input: string) {
    // Go strings hold UTF-8: a lone surrogate arrives here as U+FFFD, as OPA's JSON decoding makes it.
    this.s = goText(input)
  }

  private code (at = this.i): number { return at < this.s.length ? this.s.codePointAt(at)! : -1 }

  private advance (): void {
    const c = this.s.charCodeAt(this.i)
    this.i += c >= 0xd800 && c <= 0xdbff ? 2 : 1
    this.r++
  }

  private newline (): void { this.line++; this.lineStart = this.r }

  private col (rune = this.r): number { return rune - this.lineStart + 1 }

  private tok (kind: Kind, value: string, startRune: number): Token {
    return { kind, value, line: this.line, column: this.col(startRune) }
  }

  /** An <Invalid> token for a lexer error at the current position. */
  private fail (message: string, rune = this.r): Token {
    return { kind: '<Invalid>', value: '', line: this.line, column: this.col(rune), error: message }
  }

  next (): Token {
    const s = this.s
    for (;;) {
      const c = s.charCodeAt(this.i)
      if (c === 0x20 || c === 0x09 || c === 0x2c || c === 0xfeff) this.advance()
      else if (c === 0x0a) { this.advance(); this.newline() } else if (c === 0x0d) {
        this.advance()
        if (s.charCodeAt(this.i) === 0x0a) this.advance()
        this.newline()
      } else break
    }
    if (this.i >= s.length) return { kind: '<EOF>', value: '', line: this.line, column: this.col() }
    const start = this.r
    const c = this.code()
    const p = PUNCTUATORS[String.fromCharCode(c)]
    if (p !== undefined && c < 0x80) { this.advance(); return this.tok(p, '', start) }
    if (c === 0x2e) { // .
      if (s.charCodeAt(this.i + 1) === 0x2e && s.charCodeAt(this.i + 2) === 0x2e) {
        this.advance(); this.advance(); this.advance()
        return this.tok('...', '', start)
      }
      return this.fail('Cannot parse the unexpected character ".".')
    }
    if (c === 0x23) return this.comment(start)
    if (isNameStart(c)) {
      const from = this.i
      while (this.i < s.length && isNameChar(s.charCodeAt(this.i))) this.advance()
      return this.tok('Name', s.slice(from, this.i), start)
    }
    if (c === 0x2d || isDigit(c)) return this.number(start)
    if (c === 0x22) {
      if (s.charCodeAt(this.i + 1) === 0x22 && s.charCodeAt(this.i + 2) === 0x22) return this.blockString(start)
      return this.string()
    }
    if (c === 0x27) return this.fail('Unexpected single quote character (\'), did you mean to use a double quote (")?')
    if (c < 0x20) return this.fail(`Cannot contain the invalid character ${controlCode(c)}`)
    return this.fail(`Cannot parse the unexpected character "${firstByteChar(c)}".`)
  }

  private comment (start: number): Token {
    const from = this.i
    this.advance()
    for (;;) {
      const c = this.s.charCodeAt(this.i)
      if (this.i >= this.s.length || (c <= 0x1f && c !== 0x09)) break
      this.advance()
    }
    return this.tok('Comment', this.s.slice(from, this.i), start)
  }

  /** "got: <EOF>" or the next byte, quoted. */
  private describeNext (): string {
    return this.i >= this.s.length ? '<EOF>' : `"${firstByteChar(this.code())}"`
  }

  private digits (): Token | null {
    if (!isDigit(this.s.charCodeAt(this.i))) return this.fail(`Invalid number, expected digit but got: ${this.describeNext()}.`)
    while (isDigit(this.s.charCodeAt(this.i))) this.advance()
    return null
  }

  private number (start: number): Token {
    const s = this.s
    const from = this.i
    let float = false
    if (s.charCodeAt(this.i) === 0x2d) this.advance()
    if (s.charCodeAt(this.i) === 0x30) {
      this.advance()
      if (isDigit(s.charCodeAt(this.i))) return this.fail(`Invalid number, unexpected digit after 0: "${s[this.i]}".`)
    } else {
      const e = this.digits()
      if (e !== null) return e
    }
    if (s.charCodeAt(this.i) === 0x2e) {
      float = true
      this.advance()
      const e = this.digits()
      if (e !== null) return e
    }
    const x = s.charCodeAt(this.i)
    if (x === 0x65 || x === 0x45) {
      float = true
      this.advance()
      const sign = s.charCodeAt(this.i)
      if (sign === 0x2b || sign === 0x2d) this.advance()
      const e = this.digits()
      if (e !== null) return e
    }
    return this.tok(float ? 'Float' : 'Int', s.slice(from, this.i), start)
  }

  private string (): Token {
    const s = this.s
    this.advance() // "
    const column = this.col() // the first character after the quote
    let out = ''
    let from = this.i
    for (;;) {
      if (this.i >= s.length) return this.fail('Unterminated string.')
      const c = s.charCodeAt(this.i)
      if (c === 0x22) {
        out += s.slice(from, this.i)
        this.advance()
        return { kind: 'String', value: out, line: this.line, column }
      }
      if (c === 0x0a || c === 0x0d) return this.fail('Unterminated string.')
      if (c < 0x20 && c !== 0x09) return this.fail(`Invalid character within String: ${controlCode(c)}.`)
      if (c !== 0x5c) { this.advance(); continue }
      out += s.slice(from, this.i)
      const escAt = this.i
      if (escAt + 1 >= s.length) return this.fail('Invalid character escape sequence.', this.r + 1)
      const e = s.charCodeAt(escAt + 1)
      const simple = ESCAPES[String.fromCharCode(e)]
      if (simple !== undefined) {
        out += simple
        this.advance(); this.advance()
      } else if (e === 0x75) { // \uXXXX
        const uRune = this.r + 1
        // The library wants a byte after the four digits before it looks at them.
        if (utf8Length(s, escAt, 7) < 7) return this.fail(`Invalid character escape sequence: \\${s.slice(escAt + 1)}.`, uRune)
        if (![2, 3, 4, 5].every((k) => isHex(s.charCodeAt(escAt + k)))) {
          return this.fail(`Invalid character escape sequence: \\${utf8Prefix(s.slice(escAt + 1, escAt + 6), 5)}.`, uRune)
        }
        const cp = parseInt(s.slice(escAt + 2, escAt + 6), 16)
        out += cp >= 0xd800 && cp <= 0xdfff ? '\ufffd' : String.fromCharCode(cp) // surrogates are not paired
        for (let k = 0; k < 6; k++) this.advance()
      } else {
        // The library prints the escaped byte as a code point: the first byte of a character, as Latin-1.
        return this.fail(`Invalid character escape sequence: \\${firstByteChar(this.code(escAt + 1))}.`, this.r + 1)
      }
      from = this.i
    }
  }

  private blockString (start: number): Token {
    const s = this.s
    this.advance(); this.advance(); this.advance()
    let raw = ''
    let from = this.i
    for (;;) {
      if (this.i >= s.length) return this.fail('Unterminated string.')
      const c = s.charCodeAt(this.i)
      if (c === 0x22) {
        // A run of three quotes or more ends the string at its last three; the ones before them
        // belong to the value (so `"""a "b""""` is `a "b"`). One or two quotes are text.
        let run = 1
        while (s.charCodeAt(this.i + run) === 0x22) run++
        if (run >= 3) {
          raw += s.slice(from, this.i) + '"'.repeat(run - 3)
          for (let k = 0; k < run; k++) this.advance()
          return { kind: 'BlockString', value: blockStringValue(raw), line: this.line, column: this.col(start + 3) }
        }
      }
      if (c === 0x5c && s.startsWith('"""', this.i + 1)) {
        raw += s.slice(from, this.i) + '"""'
        for (let k = 0; k < 4; k++) this.advance()
        from = this.i
        continue
      }
      if (c === 0x0a || c === 0x0d) {
        raw += s.slice(from, this.i) + '\n'
        this.advance()
        if (c === 0x0d && s.charCodeAt(this.i) === 0x0a) this.advance()
        this.newline()
        from = this.i
        continue
      }
      if (c < 0x20 && c !== 0x09) return this.fail(`Invalid character within String: ${controlCode(c)}.`)
      this.advance()
    }
  }
}

const ESCAPES: Record<string, string> = { '"': '"', '/': '/', '\\': '\\', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }

/** UTF-8 length of s from `at`, counted up to `cap` bytes. */
function utf8Length (s: string, at: number, cap: number): number {
  let n = 0
  for (let i = at; i < s.length && n < cap; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++ } else n += 3
  }
  return n
}

/** The first `bytes` bytes of s's UTF-8 form as text (a cut character becomes U+FFFD). */
function utf8Prefix (s: string, bytes: number): string {
  return Buffer.from(s, 'utf8').subarray(0, bytes).toString('utf8')
}

/**
 * A block string's value: the common indentation removed (the library counts the first line
 * too, where the GraphQL specification does not), then blank lines at both ends dropped.
 */
export function blockStringValue (raw: string): string {
  const lines = raw.split('\n')
  let common = Infinity
  for (const line of lines) {
    let n = 0
    while (n < line.length && (line[n] === ' ' || line[n] === '\t')) n++
    if (n < line.length && n < common) common = n
    if (common === 0) break
  }
  if (common !== Infinity && common > 0) {
    for (let k = 1; k < lines.length; k++) lines[k] = lines[k]!.length < common ? '' : lines[k]!.slice(common)
  }
  const blank = (l: string): boolean => /^[ \t]*$/.test(l)
  let a = 0
  let b = lines.length
  while (a < b && blank(lines[a]!)) a++
  while (b > a && blank(lines[b - 1]!)) b--
  return lines.slice(a, b).join('\n')
}
