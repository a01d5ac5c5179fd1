// glob.match / glob.quote_meta with gobwas/glob semantics (what OPA uses):
//   *      any sequence of characters except delimiters      **   any sequence at all
//   ?      one character that is not a delimiter              \c   the character c
//   [abc] [!abc]   one character in / not in the list (delimiters included)
//   [a-z] [!a-z]   one character in / not in the range (exactly one range per brackets)
//   {a,b*,c}       any of the alternatives (nestable); `,` and `}` are plain text outside braces
// delimiters: [] means ["."], null means none. Compiled patterns are cached.
import { builtinError, type HostBuiltin } from './context.js'
import { operandElementError, operandTypeError, str } from './args.js'

const SPECIALS = new Set([...'*?\\[]{}'])

function quoteMeta (pattern: unknown): string {
  const s = str('glob.quote_meta', 1, pattern)
  let out = ''
  for (const c of s) out += SPECIALS.has(c) ? '\\' + c : c
  return out
}

const reChar = (c: string): string => {
  if (/[\^$\\.*+?()[\]{}|/-]/.test(c)) return '\\' + c
  const cp = c.codePointAt(0)!
  return cp < 0x20 || cp === 0x7f ? `\\u{${cp.toString(16)}}` : c
}

class GlobSyntaxError extends Error {}

/** gobwas/glob pattern → anchored JS regex source (u flag). */
export function globToRegexSource (pattern: string, delimiters: string[]): string {
  const cps = Array.from(pattern)
  // gobwas reads a NUL rune as the end of the pattern
  const nul = cps.indexOf('\0')
  if (nul >= 0) cps.length = nul
  const notDelim = delimiters.length ? `[^${delimiters.map(reChar).join('')}]` : '[\\s\\S]'
  let pos = 0
  let depth = 0

  const text = (breakers: string): string => {
    let out = ''
    let escaped = false
    while (pos < cps.length) {
      const c = cps[pos]
      if (!escaped) {
        if (c === '\\') { escaped = true; pos++; continue }
        if (breakers.includes(c)) break
      }
      escaped = false
      out += reChar(c)
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
      if (pos >= cps.length) throw new GlobSyntaxError('unexpected end of input')
      const c = cps[pos]
      if (listBody !== null || hi !== null) {
        if (c !== ']') throw new GlobSyntaxError('expected close range character')
        pos++
        break
      }
      if (lo !== null) { hi = c; pos++; continue }
      if (!seenNot && c === '!') { negate = true; seenNot = true; pos++; continue }
      if (cps[pos + 1] === '-') { lo = c; pos += 2; continue }
      // a list: text up to the closing bracket (escapes allowed)
      let body = ''
      let escaped = false
      while (pos < cps.length) {
        const d = cps[pos]
        if (!escaped) {
          if (d === '\\') { escaped = true; pos++; continue }
          if (d === ']') break
        }
        escaped = false
        body += reChar(d)
        pos++
      }
      listBody = body
    }
    if (listBody !== null) {
      if (listBody === '') return negate ? '[\\s\\S]' : '[]'
      return `[${negate ? '^' : ''}${listBody}]`
    }
    const a = lo!.codePointAt(0)!
    const b = hi!.codePointAt(0)!
    if (a > b) return negate ? '[\\s\\S]' : '[]'
    return `[${negate ? '^' : ''}${reChar(lo!)}-${reChar(hi!)}]`
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
        if (pos >= cps.length) throw new GlobSyntaxError('unexpected end of input')
        pos++ // '}'
        depth--
        out += `(?:${alts.join('|')})`
        continue
      }
      if (c === '[') { pos++; out += range(); continue }
      if (c === '?') { pos++; out += notDelim; continue }
      if (c === '*') {
        if (cps[pos + 1] === '*') { pos += 2; out += '[\\s\\S]*'; continue }
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

const cache = new Map<string, RegExp | Error>()
const CACHE_MAX = 1000

export function compileGlob (pattern: string, delimiters: string[]): RegExp {
  const key = pattern + '\u0000' + delimiters.join('')
  let re = cache.get(key)
  if (re === undefined) {
    try {
      re = new RegExp(globToRegexSource(pattern, delimiters), 'u')
    } catch (e) {
      re = e instanceof GlobSyntaxError ? e : new GlobSyntaxError((e as Error).message)
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string)
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
