// glob.match / glob.quote_meta with gobwas/glob semantics (what OPA uses):
//   *      any sequence of characters except delimiters      **   any sequence at all
//   ?      one character that is not a delimiter              \c   the character c
//   [abc] [!abc]   one character in / not in the list (delimiters included)
//   [a-z] [!a-z]   one character in / not in the range (exactly one range per brackets)
//   {a,b*,c}       any of the alternatives (nestable); `,` and `}` are plain text outside braces
// delimiters: [] means ["."], null means none. The glob becomes a Go-syntax regular expression
// run by re2js (goregexp.ts), in time linear in the input: a JavaScript RegExp would backtrack
// on globs like `*a*a*a*a*b` (every * a [^.]* loop). Compiled globs are cached (bounded).
import { LRUCache } from 'lru-cache'
import type { RE2JS } from 're2js'
import { builtinError, type HostBuiltin } from './context.js'
import { operandElementError, operandTypeError, str } from './args.js'
import { compileGoRegexp, GoRegexpError } from './goregexp.js'

const SPECIALS = new Set([...'*?\\[]{}'])
const isLoneSurrogate = (c: string): boolean => c.length === 1 && c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff

function quoteMeta (pattern: unknown): string {
  const s = str('glob.quote_meta', 1, pattern)
  let out = ''
  for (const c of s) out += SPECIALS.has(c) ? '\\' + c : c
  return out
}

// one character as a Go regexp literal (also inside a class): ASCII punctuation escaped,
// control characters as \x{..}
const reChar = (c: string): string => {
  const cp = c.codePointAt(0)!
  if (cp < 0x20 || cp === 0x7f) return `\\x{${cp.toString(16)}}`
  return cp < 0x80 && /[^0-9A-Za-z\s]/.test(c) ? '\\' + c : c
}
const ANY = '(?s:.)'
// An invalid byte of the text (held as a lone surrogate U+DC80..U+DCFF, ./bytes.ts) is one
// character, U+FFFD, where gobwas/glob decodes runes (utf8.DecodeRuneInString for ?, [...],
// [a-z]; strings.IndexAny for the delimiters of * and ?), so it is in a class or among the
// delimiters exactly when U+FFFD is; literal text is compared as bytes and never matches it
// (review helper, 2026-12-07: [\uFFFD] did not match an invalid byte, [\u0100-\uE000] did).
const INVALID = '\\x{DC80}-\\x{DCFF}'
const FFFD = 0xfffd
const NOTHING = '[^\\x00-\\x{10FFFF}]'

class GlobSyntaxError extends Error {}
const syntax = (offset: number, reason: string): GlobSyntaxError => new GlobSyntaxError(`glob: syntax error at ${offset}: ${reason}`)

/** gobwas/glob pattern → anchored Go regexp source. Malformed patterns are errors worded as
 * OPA's glob library words them, at the byte offset it gives (a trailing backslash, an empty
 * class `[]`, a reversed range `[c-a]`: errors in OPA, so undefined; here they matched, `a\\`
 * matched "a", or never matched). */
export function globToRegexSource (pattern: string, delimiters: string[]): string {
  // NUL is an ordinary character, in the pattern as in the text: gobwas/glob's lexer marks the
  // end of input with -1 ("It must not collide with any rune that can appear in a valid pattern
  // -- note that U+0000 can", syntax/lexer.go); the pattern used to be cut at a NUL here
  const cps = Array.from(pattern)
  // Byte offsets of the runes (an invalid byte held as U+DC80..U+DCFF is one byte, and an error)
  const off: number[] = [0]
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!.codePointAt(0)!
    if (cp >= 0xdc80 && cp <= 0xdcff) throw syntax(off[i]!, 'invalid UTF-8 sequence')
    off.push(off[i]! + (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4))
  }
  const end = off[cps.length]!
  const delims = delimiters.map(d => isLoneSurrogate(d) ? '\uFFFD' : d) // Go's []rune of an invalid byte
  const notDelim = delims.length ? `[^${delims.map(reChar).join('')}${delims.includes('\uFFFD') ? INVALID : ''}]` : ANY
  let pos = 0
  let depth = 0

  const text = (breakers: string): string => {
    let out = ''
    let escaped = false
    while (pos < cps.length) {
      const c = cps[pos]
      if (!escaped) {
        if (c === '\\') {
          if (pos + 1 >= cps.length) throw syntax(end, 'trailing backslash')
          escaped = true; pos++; continue
        }
        if (breakers.includes(c!)) break
      }
      escaped = false
      out += reChar(c!)
      pos++
    }
    return out
  }

  const range = (): string => {
    // after '['
    let negate = false
    let listBody: string | null = null
    let lo: string | null = null
    let hi: string | null = null
    let seenNot = false
    for (;;) {
      if (pos >= cps.length) throw syntax(end, 'unexpected end of input')
      const c = cps[pos]!
      if (listBody !== null || hi !== null) {
        if (c !== ']') throw syntax(off[pos + 1]!, 'expected close range character')
        pos++
        break
      }
      if (lo !== null) { hi = c; pos++; continue }
      if (!seenNot && c === '!') { negate = true; seenNot = true; pos++; continue }
      if (cps[pos + 1] === '-') { lo = c; pos += 2; continue }
      // a list: text up to the closing bracket (escapes allowed)
      let body = ''
      let escaped = false
      let fffd = false
      while (pos < cps.length) {
        const d = cps[pos]!
        if (!escaped) {
          if (d === '\\') {
            if (pos + 1 >= cps.length) throw syntax(end, 'trailing backslash')
            escaped = true; pos++; continue
          }
          if (d === ']') break
        }
        escaped = false
        body += reChar(d)
        if (d === '\uFFFD') fffd = true
        pos++
      }
      listBody = body === '' || !fffd ? body : body + INVALID
    }
    // `pos` is past the `]`: OPA's lexer reads the class whole and reports there
    if (listBody !== null) {
      if (listBody === '') throw syntax(off[pos]!, 'could not parse range')
      return `[${negate ? '^' : ''}${listBody}]`
    }
    const a = lo!.codePointAt(0)!
    const b = hi!.codePointAt(0)!
    if (a > b) throw syntax(off[pos]!, 'range hi character is less than lo')
    // the invalid bytes are in the class when U+FFFD is: added above U+DCFF, cut out of a range
    // that holds them by number only (below U+D800 to above U+DFFF, not reaching U+FFFD)
    let cls = `${reChar(lo!)}-${reChar(hi!)}`
    const fffd = a <= FFFD && FFFD <= b
    if (fffd && a > 0xdcff) cls += INVALID
    else if (!fffd && a < 0xdc80 && b > 0xdcff) cls = `${reChar(lo!)}-\\x{DC7F}\\x{DD00}-${reChar(hi!)}`
    return `[${negate ? '^' : ''}${cls}]`
  }

  const seq = (): string => {
    let out = ''
    while (pos < cps.length) {
      const c = cps[pos]
      if (depth > 0 && (c === ',' || c === '}')) return out
      if (c === '{') {
        pos++
        depth++
        const alts: string[] = [seq()]
        while (pos < cps.length && cps[pos] === ',') { pos++; alts.push(seq()) }
        if (pos >= cps.length) throw syntax(end, 'unclosed `{`')
        pos++ // '}'
        depth--
        out += `(?:${alts.join('|')})`
        continue
      }
      if (c === '[') { pos++; out += range(); continue }
      if (c === '?') { pos++; out += notDelim; continue }
      if (c === '*') {
        if (cps[pos + 1] === '*') { pos += 2; out += ANY + '*'; continue }
        pos++
        out += notDelim + '*'
        continue
      }
      out += text(depth > 0 ? '?*[{},' : '?*[{')
    }
    return out
  }
  const body = seq()
  return `^(?:${body})$`
}

const cache = new LRUCache<string, RE2JS | GlobSyntaxError>({
  max: 1000,
  maxSize: 4 * 1024 * 1024,
  sizeCalculation: (_v, key) => key.length + 64,
})

export function compileGlob (pattern: string, delimiters: string[]): RE2JS {
  const key = JSON.stringify([delimiters, pattern])
  let re = cache.get(key)
  if (re === undefined) {
    try {
      re = compileGoRegexp(globToRegexSource(pattern, delimiters))
    } catch (e) {
      if (e instanceof GlobSyntaxError) re = e
      else if (e instanceof GoRegexpError) re = new GlobSyntaxError(e.message)
      else throw e
    }
    cache.set(key, re)
  }
  if (re instanceof Error) throw builtinError('glob.match', re.message)
  return re
}

function globMatch (pattern: unknown, delimiters: unknown, match: unknown): boolean {
  const p = str('glob.match', 1, pattern)
  let delims: string[]
  if (delimiters === null) {
    delims = []
  } else if (Array.isArray(delimiters)) {
    for (const d of delimiters) {
      if (typeof d !== 'string') throw operandElementError('glob.match', 2, delimiters, d, 'string')
      if (Array.from(d).length !== 1) throw operandElementError('glob.match', 2, delimiters, d, 'rune')
    }
    delims = delimiters.length ? delimiters as string[] : ['.']
  } else {
    throw operandTypeError('glob.match', 2, delimiters, 'array', 'null')
  }
  const m = str('glob.match', 3, match)
  return compileGlob(p, delims).test(m)
}

export const globBuiltins: Record<string, HostBuiltin> = {
  'glob.match': globMatch,
  'glob.quote_meta': quoteMeta,
}
