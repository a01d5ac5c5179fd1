// Rego lexer: turns source text into tokens. Whitespace is dropped and `#` comments are set
// aside (LexResult.comments: METADATA annotations are read from them), but
// every token records whether whitespace (`wsBefore`) or a newline (`nlBefore`) preceded it,
// because Rego's grammar is newline-sensitive (newlines separate body expressions) and
// ref/call continuations (`a[0]`, `f(x)`) must follow their head without whitespace.
// Lexical errors are reported as diagnostics (never thrown); the offending text is skipped.
import type { Diagnostic } from '../diagnostics.js'

// A \u escape of a lone surrogate ("\udc80") is U+FFFD to OPA (Go's JSON string decoding), as it
// is when the runtime reads the plan; the compiler sees the same. (Lone surrogates at run time
// stand for invalid UTF-8 bytes: src/compiler/runtime/assembly/bytes.ts.)
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g
function goEscapes (s: string): string {
  return s.replace(LONE_SURROGATES, '\ufffd')
}

export type TokenKind =
  | 'ident' // identifiers and keywords (see KEYWORDS)
  | 'number' // text holds the raw literal (no sign)
  | 'string' // "..." or `...`; value holds the decoded string
  /** a piece of literal text of a template string ($"..." / $`...`): value holds the decoded
   *  text; tmplStart marks the piece that opens the template, tmplMore one that ends at an
   *  expression's `{` (the expression's tokens follow, then the next piece) */
  | 'template'
  | 'op' // punctuation and operators; text holds the operator
  | 'eof'

export interface Token {
  kind: TokenKind
  /** source text of the token (for strings: including quotes) */
  text: string
  /** decoded value of a string literal */
  value?: string
  /** true for raw (backtick) strings */
  raw?: boolean
  tmplStart?: boolean
  tmplMore?: boolean
  line: number
  col: number
  offset: number
  /** offset just past the token */
  end: number
  /** whitespace or a comment separates this token from the previous one */
  wsBefore: boolean
  /** a newline separates this token from the previous one */
  nlBefore: boolean
}

/** Rego v1 keywords: never valid as variable or rule names. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'if', 'contains', 'in', 'every', 'some', 'not', 'with', 'as', 'default', 'else',
  'package', 'import', 'true', 'false', 'null',
])

/** Keywords of Rego v1 that a v0 module only has after importing them from `future.keywords`
 *  (until then they are ordinary names). */
export const FUTURE_KEYWORDS: readonly string[] = Object.freeze(['in', 'every', 'contains', 'if'])

/** Rego v0 keywords without any future.keywords import. */
export const V0_KEYWORDS: ReadonlySet<string> = new Set([...KEYWORDS].filter(k => !FUTURE_KEYWORDS.includes(k)))

/** A `#` comment: text after the `#`, and where the `#` is. */
export interface Comment { text: string; line: number; col: number }

// Longest first so that `:=` wins over `:` and `==` over `=`.
const OPERATORS = [
  ':=', '==', '!=', '<=', '>=',
  '<', '>', '=', '+', '-', '*', '/', '%', '&', '|',
  '(', ')', '[', ']', '{', '}', ',', ';', ':', '.',
]

function isIdentStart (c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_'
}
function isIdentPart (c: string): boolean {
  return isIdentStart(c) || isDigit(c)
}
function isDigit (c: string): boolean {
  return c >= '0' && c <= '9'
}
function isHex (c: string): boolean {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

export interface LexResult { tokens: Token[]; diagnostics: Diagnostic[]; comments: Comment[] }

export function lex (source: string, file: string): LexResult {
  const tokens: Token[] = []
  const diagnostics: Diagnostic[] = []
  const comments: Comment[] = []
  let i = 0
  let line = 1
  let lineStart = 0
  let ws = false
  let nl = false
  const n = source.length

  const error = (message: string, l: number, c: number): void => {
    diagnostics.push({ code: 'rego_parse_error', message, loc: { file, line: l, col: c } })
  }

  const push = (kind: TokenKind, start: number, sLine: number, sCol: number, extra?: Partial<Token>): void => {
    tokens.push({
      kind,
      text: source.slice(start, i),
      line: sLine,
      col: sCol,
      offset: start,
      end: i,
      wsBefore: ws,
      nlBefore: nl,
      ...extra,
    })
    ws = false
    nl = false
  }

  // Template strings being read: an expression's tokens are lexed as usual, and the `}` that
  // closes it (braces opened inside it aside) resumes the template's literal text.
  const templates: Array<{ raw: boolean; depth: number }> = []

  // Literal text of a template from i (just past `$"`, `$\``, or an expression's `}`) up to the
  // next expression's `{` or the closing quote. As OPA's scanner: `\{` is a literal brace; a
  // $"..." template also takes JSON's escapes and ends at a newline (unterminated).
  const templateText = (raw: boolean, startTok: number, sLine: number, sCol: number, first: boolean): void => {
    let value = ''
    let more = false
    let terminated = false
    while (i < n) {
      const d = source[i]
      if (d === (raw ? '`' : '"')) { i++; terminated = true; break }
      if (d === '{') { i++; more = true; terminated = true; break }
      if (d === '\\') {
        const e = source[i + 1]
        if (e === '{') { value += '{'; i += 2; continue }
        if (!raw) {
          const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
          if (e !== undefined && simple[e] !== undefined) { value += simple[e]; i += 2; continue }
          const hex = source.slice(i + 2, i + 6)
          if (e === 'u' && hex.length === 4 && [...hex].every(isHex)) { value += String.fromCharCode(parseInt(hex, 16)); i += 6; continue }
          error('illegal escape sequence', line, i - lineStart + 1)
          i += e === undefined || e === '\n' ? 1 : 2
          continue
        }
      }
      if (d === '\n') {
        if (!raw) break
        line++; lineStart = i + 1
      } else if (!raw && d < ' ' && d !== '\t') {
        error('invalid string: control character in string literal', line, i - lineStart + 1)
      }
      value += d
      i++
    }
    if (!terminated) error('non-terminated string', sLine, sCol)
    if (more) templates.push({ raw, depth: 0 })
    push('template', startTok, sLine, sCol, { value: goEscapes(value), raw, tmplStart: first, tmplMore: more })
  }

  while (i < n) {
    const c = source[i]
    // whitespace
    if (c === '\n') {
      i++; line++; lineStart = i; ws = true; nl = true; continue
    }
    // (a vertical tab or form feed is no whitespace to OPA's scanner: an illegal token)
    if (c === ' ' || c === '\t' || c === '\r' || c === '\ufeff') {
      i++; ws = true; continue
    }
    if (c === '#') {
      const start = i
      while (i < n && source[i] !== '\n') i++
      comments.push({ text: source.slice(start + 1, i).replace(/\r$/, ''), line, col: start - lineStart + 1 })
      ws = true
      continue
    }
    const start = i
    const sLine = line
    const sCol = i - lineStart + 1

    if (isIdentStart(c)) {
      while (i < n && isIdentPart(source[i])) i++
      push('ident', start, sLine, sCol)
      continue
    }

    if (isDigit(c)) {
      while (i < n && isDigit(source[i])) i++
      if (source[i] === '.' && isDigit(source[i + 1] ?? '')) {
        i++
        while (i < n && isDigit(source[i])) i++
      }
      if (source[i] === 'e' || source[i] === 'E') {
        let j = i + 1
        if (source[j] === '+' || source[j] === '-') j++
        if (isDigit(source[j] ?? '')) {
          i = j
          while (i < n && isDigit(source[i])) i++
        }
      }
      if (i < n && isIdentStart(source[i])) {
        // e.g. `1abc` / `1e` — consume the rest so we report once
        while (i < n && isIdentPart(source[i])) i++
        error(`invalid number: ${source.slice(start, i)}`, sLine, sCol)
        ws = false; nl = false
        continue
      }
      push('number', start, sLine, sCol)
      continue
    }

    if (c === '"') {
      i++
      let value = ''
      let terminated = false
      while (i < n) {
        const d = source[i]
        if (d === '"') { i++; terminated = true; break }
        if (d === '\n') break
        if (d === '\\') {
          const e = source[i + 1]
          switch (e) {
            case '"': value += '"'; i += 2; continue
            case '\\': value += '\\'; i += 2; continue
            case '/': value += '/'; i += 2; continue
            case 'b': value += '\b'; i += 2; continue
            case 'f': value += '\f'; i += 2; continue
            case 'n': value += '\n'; i += 2; continue
            case 'r': value += '\r'; i += 2; continue
            case 't': value += '\t'; i += 2; continue
            case 'u': {
              const hex = source.slice(i + 2, i + 6)
              if (hex.length === 4 && [...hex].every(isHex)) {
                // UTF-16 code units: a surrogate pair written as two \u escapes
                // concatenates into the right code point.
                value += String.fromCharCode(parseInt(hex, 16))
                i += 6
                continue
              }
              error('invalid string: bad \\u escape', line, i - lineStart + 1)
              i += 2
              continue
            }
            default:
              if (e === undefined || e === '\n') { i++; continue }
              error(`invalid string: unknown escape sequence \\${e}`, line, i - lineStart + 1)
              i += 2
              continue
          }
        }
        if (d < ' ' && d !== '\t') {
          error('invalid string: control character in string literal', line, i - lineStart + 1)
        }
        value += d
        i++
      }
      if (!terminated) {
        error('non-terminated string', sLine, sCol)
      }
      // A bad string still yields a token so the parser does not cascade errors; the
      // diagnostic is already out (and parse errors at its position are dropped).
      push('string', start, sLine, sCol, { value: goEscapes(value) })
      continue
    }

    if (c === '`') {
      i++
      let terminated = false
      while (i < n) {
        if (source[i] === '`') { terminated = true; break }
        if (source[i] === '\n') { line++; lineStart = i + 1 }
        i++
      }
      const value = source.slice(start + 1, i)
      if (terminated) i++
      else error('non-terminated raw string', sLine, sCol)
      push('string', start, sLine, sCol, { value, raw: true })
      continue
    }

    if (c === '$') {
      const q = source[i + 1]
      if (q === '"' || q === '`') {
        i += 2
        templateText(q === '`', start, sLine, sCol, true)
      } else {
        error('illegal $ character', sLine, sCol)
        i++
        ws = true
      }
      continue
    }

    const tpl = templates[templates.length - 1]
    if (tpl !== undefined && (c === '{' || c === '}')) {
      if (c === '{') tpl.depth++
      else if (tpl.depth === 0) {
        // the expression is complete: the template's text goes on
        templates.pop()
        i++
        templateText(tpl.raw, start, sLine, sCol, false)
        continue
      } else tpl.depth--
    }

    const op = OPERATORS.find(o => source.startsWith(o, i))
    if (op !== undefined) {
      i += op.length
      push('op', start, sLine, sCol)
      continue
    }

    const cp = source.codePointAt(i) ?? 0
    const ch = String.fromCodePoint(cp)
    error(`illegal token: ${JSON.stringify(ch)}`, sLine, sCol)
    i += ch.length
    ws = true
  }

  tokens.push({
    kind: 'eof',
    text: '',
    line,
    col: i - lineStart + 1,
    offset: i,
    end: i,
    wsBefore: ws,
    nlBefore: nl,
  })
  return { tokens, diagnostics, comments }
}
