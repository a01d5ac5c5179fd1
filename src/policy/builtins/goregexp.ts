// Go's regexp package, as OPA's regex builtins and glob.match use it, on re2js (the JavaScript
// port of RE2 / Go regexp): Go's syntax and parser error messages
// (`error parsing regexp: <code>: `<expr>``), leftmost-first matching, and time linear in the
// input whatever the pattern — JavaScript's RegExp backtracks, and a policy such as
// `regex.match("^(a+)+$", input.x)` must not be able to stall the event loop.
//
// re2js provides compilation and one search from a position (with the text before it still
// in view for ^, \b, ...). Go's iteration rules are written here on top of it, because re2js
// follows Java or JavaScript there: FindAll (an empty match right after a match is skipped),
// ReplaceAllString with Go's $-template (Regexp.Expand), Split (trailing empty strings kept).
// Positions are UTF-16 indexes; a search never starts inside a surrogate pair.
//
// Invalid UTF-8: Go's regexp reads each byte of an invalid sequence as U+FFFD (RuneError, one
// byte wide) and returns slices of the input, so the matched text is the bytes themselves. Such
// a byte is held as a lone surrogate (./bytes.ts), one UTF-16 unit, so the search runs on
// goView(s), where each becomes U+FFFD (same length, same positions), and what is returned is
// cut from s. A pattern that is not UTF-8 is an error, as Go's parser refuses it.
import { LRUCache } from 'lru-cache'
import { RE2JS, RE2JSException } from 're2js'
import { goText, hasLoneSurrogate, LONE_SURROGATES } from './bytes.js'

const LONE_SURROGATE = new RegExp(LONE_SURROGATES.source)

/** A pattern Go's regexp.Compile rejects; the message is Go's. */
export class GoRegexpError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'GoRegexpError'
  }
}

/** Compiled patterns (and rejections), bounded in count and in total pattern length. */
const cache = new LRUCache<string, RE2JS | GoRegexpError>({
  max: 1000,
  maxSize: 4 * 1024 * 1024,
  sizeCalculation: (_v, key) => key.length + 64,
})

/** regexp.Compile(pattern), cached; throws GoRegexpError for an invalid pattern. */
export function compileGoRegexp (pattern: string): RE2JS {
  let re = cache.get(pattern)
  if (re === undefined) {
    if (hasLoneSurrogate(pattern)) {
      // Go's syntax.Parse: ErrInvalidUTF8, quoting the pattern from the invalid byte on
      const at = pattern.search(LONE_SURROGATE)
      re = new GoRegexpError(`error parsing regexp: invalid UTF-8: \`${pattern.slice(at)}\``)
    } else {
      try {
        re = RE2JS.compile(pattern)
      } catch (e) {
        if (!(e instanceof RE2JSException)) throw e
        re = new GoRegexpError(e.message)
      }
    }
    cache.set(pattern, re)
  }
  if (re instanceof GoRegexpError) throw re
  return re
}

/** The text Go's regexp sees in s: every invalid byte (a lone surrogate) U+FFFD, positions kept. */
export function goView (s: string): string {
  return hasLoneSurrogate(s) ? goText(s) : s
}

/** Width in UTF-16 units of the code point at i (0 at the end). */
function cpWidth (s: string, i: number): number {
  if (i >= s.length) return 0
  const c = s.charCodeAt(i)
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1)
    if (d >= 0xdc00 && d <= 0xdfff) return 2
  }
  return 1
}

/** A match as Go reports it: [start0, end0, start1, end1, ...], -1 for a group that did not take part. */
export type MatchIndex = number[]

function indexes (m: ReturnType<RE2JS['matcher']>, groups: number): MatchIndex {
  const out: number[] = []
  for (let g = 0; g <= groups; g++) out.push(m.start(g), m.end(g))
  return out
}

/** Go's Regexp.FindAllStringSubmatchIndex (submatches = false: FindAllStringIndex); n < 0 = all. */
export function findAllIndex (re: RE2JS, s: string, n: number, submatches: boolean): MatchIndex[] {
  const out: MatchIndex[] = []
  if (n < 0) n = s.length + 1
  const m = re.matcher(goView(s))
  const groups = submatches ? re.groupCount() : 0
  let pos = 0
  let prevMatchEnd = -1
  while (out.length < n && pos <= s.length) {
    if (!m.find(pos)) break
    const match = indexes(m, groups)
    let accept = true
    if (match[1] === pos) {
      // an empty match right after the previous match is not reported
      if (match[0] === prevMatchEnd) accept = false
      pos += pos < s.length ? cpWidth(s, pos) : 1
    } else {
      pos = match[1]
    }
    prevMatchEnd = match[1]
    if (accept) out.push(match)
  }
  return out
}

/** Go's FindAllString / FindAllStringSubmatch (a group that did not take part gives ""). */
export function findAll (re: RE2JS, s: string, n: number, submatches: boolean): string[][] {
  return findAllIndex(re, s, n, submatches).map(match => {
    const strs: string[] = []
    for (let i = 0; i < match.length; i += 2) strs.push(match[i] >= 0 ? s.slice(match[i], match[i + 1]) : '')
    return strs
  })
}

/** Go's Regexp.Split(s, n). */
export function split (re: RE2JS, s: string, n: number): string[] {
  if (n === 0) return []
  if (re.pattern().length > 0 && s.length === 0) return ['']
  const out: string[] = []
  let beg = 0
  let end = 0
  for (const match of findAllIndex(re, s, n, false)) {
    if (n > 0 && out.length === n - 1) break
    end = match[0]
    if (match[1] !== 0) out.push(s.slice(beg, end))
    beg = match[1]
  }
  if (end !== s.length) out.push(s.slice(beg))
  return out
}

const NAME_CHAR = /^[\p{L}\p{Nd}_]$/u

/** Go's regexp `extract`: a $-reference at the start of str (after the $). */
function extractRef (str: string): { name: string; num: number; rest: string } | null {
  let i = 0
  let brace = false
  if (str.startsWith('{')) { brace = true; i = 1 }
  const nameStart = i
  while (i < str.length) {
    const w = cpWidth(str, i)
    if (!NAME_CHAR.test(str.slice(i, i + w))) break
    i += w
  }
  if (i === nameStart) return null
  const name = str.slice(nameStart, i)
  if (brace) {
    if (str[i] !== '}') return null
    i++
  }
  let num = 0
  for (const c of name) {
    if (c < '0' || c > '9' || num >= 1e8) { num = -1; break }
    num = num * 10 + (c.charCodeAt(0) - 48)
  }
  if (name[0] === '0' && name.length > 1) num = -1 // no leading zeros
  return { name, num, rest: str.slice(i) }
}

/** Go's Regexp.Expand for a string template: $1, ${1}, $name, ${name}, $$. */
export function expand (re: RE2JS, template: string, src: string, match: MatchIndex): string {
  let out = ''
  let t = template
  for (;;) {
    const d = t.indexOf('$')
    if (d < 0) break
    out += t.slice(0, d)
    t = t.slice(d + 1)
    if (t.startsWith('$')) { out += '$'; t = t.slice(1); continue }
    const ref = extractRef(t)
    if (ref === null) { out += '$'; continue } // malformed: the $ is text
    t = ref.rest
    let g = ref.num
    if (g < 0) g = re.namedGroups()[ref.name] ?? -1
    if (g >= 0 && 2 * g + 1 < match.length && match[2 * g] >= 0) out += src.slice(match[2 * g], match[2 * g + 1])
  }
  return out + t
}

/** Go's Regexp.ReplaceAllString(src, repl). */
export function replaceAllString (re: RE2JS, src: string, repl: string): string {
  const groups = repl.includes('$') ? re.groupCount() : 0
  const m = re.matcher(goView(src))
  let out = ''
  let lastMatchEnd = 0
  let searchPos = 0
  while (searchPos <= src.length) {
    if (!m.find(searchPos)) break
    const a = indexes(m, groups)
    out += src.slice(lastMatchEnd, a[0])
    // no replacement for an empty match right after the previous match
    if (a[1] > lastMatchEnd || a[0] === 0) out += expand(re, repl, src, a)
    lastMatchEnd = a[1]
    const width = cpWidth(src, searchPos)
    if (searchPos + width > a[1]) searchPos += width
    else if (searchPos + 1 > a[1]) searchPos++
    else searchPos = a[1]
  }
  return out + src.slice(lastMatchEnd)
}

/** Go's regexp.QuoteMeta. */
export function quoteMeta (s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')
}
