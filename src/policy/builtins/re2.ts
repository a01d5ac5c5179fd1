// Go regexp (RE2 syntax) → JavaScript RegExp, keeping Go's meaning where JS differs and
// rejecting what JS cannot express. Errors mimic Go's `error parsing regexp: <code>: `<expr>``.
//
// What is translated (JS always runs with the `u` flag, so `.` and classes work on code
// points like Go's runes):
//   (?flags) / (?flags:re) with i, m, s, U: at the start of the pattern `i` becomes the JS
//     flag; elsewhere `i` is emulated by case-expanding literals and ASCII class ranges, and
//     m / s / U are applied while translating (anchors, dot, greediness)
//   .        → [^\n]  (Go excludes only \n; JS also excludes \r, U+2028, U+2029); [\s\S] with s
//   ^ $ \A \z → text start / end (JS never gets its m flag); with (?m), ^ and $ become
//     lookarounds on \n only; assertions under a repetition (Go allows ^*) are grouped
//   \s \S    → Go's ASCII whitespace [\t\n\f\r ] (JS also has \v and Unicode spaces)
//   \pN \p{Greek} \PL \p{^L} → \p{N} \p{Script=Greek} \P{L} \P{L}
//   \Q...\E, \a, octal \123, \x{10FFFF}, escaped punctuation, [[:alpha:]] / [[:^alpha:]]
//   literal { } ] that do not form syntax in Go (JS's u mode rejects them bare)
//   (?P<name>re) → (?<name>re)
// Rejected as in Go: lookaround (?= (?! (?<= (?<!, backreferences, \C, \Z, repeat counts
// above 1000, nested repetition (a**), a repetition with nothing to repeat.

export class RegexSyntaxError extends Error {
  constructor (code: string, expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``)
    this.name = 'RegexSyntaxError'
  }
}

interface Flags { i: boolean; m: boolean; s: boolean; U: boolean }

const SYNTAX = new Set([...'^$\\.*+?()[]{}|/'])
const CLASS_SPECIAL = new Set([...'\\]^-['])
const GO_SPACE = '\\t\\n\\f\\r '
// Complement of Go's \s as class ranges (inside a class)
const GO_NOT_SPACE_RANGES = '\\x00-\\x08\\x0B\\x0E-\\x1F\\x21-\\u{10FFFF}'

const POSIX: Record<string, Array<[number, number]>> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a], [0x5f, 0x5f]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
}

const GENERAL_CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs',
])

function complement (ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0])
  const out: Array<[number, number]> = []
  let next = 0
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1])
    next = Math.max(next, hi + 1)
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff])
  return out
}

function classChar (cp: number): string {
  if (cp < 0x20 || cp === 0x7f || (cp >= 0xd800 && cp <= 0xdfff)) return `\\u{${cp.toString(16)}}`
  const c = String.fromCodePoint(cp)
  return CLASS_SPECIAL.has(c) ? '\\' + c : c
}

function rangesToClass (ranges: Array<[number, number]>): string {
  return ranges.map(([lo, hi]) => lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`).join('')
}

function literal (cp: number, fold: boolean): string {
  const c = String.fromCodePoint(cp)
  if (fold) {
    const lo = c.toLowerCase()
    const up = c.toUpperCase()
    const variants = [...new Set([c, lo, up].filter(v => [...v].length === 1))]
    if (variants.length > 1) return '[' + variants.map(v => classChar(v.codePointAt(0)!)).join('') + ']'
  }
  if (SYNTAX.has(c)) return '\\' + c
  if (cp < 0x20 || cp === 0x7f || (cp >= 0xd800 && cp <= 0xdfff)) return `\\u{${cp.toString(16)}}`
  return c
}

const isAlnum = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9]/.test(c)
const isOctal = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '7'
const isHex = (c: string | undefined): boolean => c !== undefined && /[0-9A-Fa-f]/.test(c)

export interface Translated { source: string; flags: string; groupNames: Array<string | null> }

/** Translates a Go regexp to a JS source + flags, or throws RegexSyntaxError. */
export function translateGoRegex (pattern: string): Translated {
  const cps = Array.from(pattern)
  let pos = 0
  const global: Flags = { i: false, m: false, s: false, U: false }
  let jsI = false
  // Leading flag groups become JS flags (only `i` has a JS flag worth using).
  const lead = /^\(\?([imsU]+)\)/.exec(pattern)
  if (lead && !lead[1].includes('-')) {
    for (const f of lead[1]) global[f as keyof Flags] = true
    if (global.i) jsI = true
    pos = Array.from(lead[0]).length
  }
  const groupNames: Array<string | null> = []
  const err = (code: string, expr: string): never => { throw new RegexSyntaxError(code, expr) }

  // Each frame: flags in effect, whether JS-level `i` covers it, the output so far.
  interface Frame { flags: Flags; out: string; atomStart: number; lastQuant: boolean; canRepeat: boolean; assertion: boolean }
  const stack: Frame[] = []
  let f: Frame = { flags: { ...global }, out: '', atomStart: -1, lastQuant: false, canRepeat: false, assertion: false }
  const fold = (): boolean => f.flags.i && !jsI

  const emitAtom = (s: string): void => { f.atomStart = f.out.length; f.out += s; f.lastQuant = false; f.canRepeat = true; f.assertion = false }

  const parseEscapeCodePoint = (): number | null => {
    // at cps[pos] === '\\'; returns a code point for single-character escapes, else null (pos unchanged)
    const c = cps[pos + 1]
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 }
    if (c !== undefined && simple[c] !== undefined) { pos += 2; return simple[c] }
    if (c === 'x') {
      if (cps[pos + 2] === '{') {
        const end = cps.indexOf('}', pos + 3)
        const hex = end < 0 ? '' : cps.slice(pos + 3, end).join('')
        if (end < 0 || !/^[0-9A-Fa-f]+$/.test(hex) || parseInt(hex, 16) > 0x10ffff) err('invalid escape sequence', cps.slice(pos, end < 0 ? cps.length : end + 1).join(''))
        pos = end + 1
        return parseInt(hex, 16)
      }
      if (!isHex(cps[pos + 2]) || !isHex(cps[pos + 3])) err('invalid escape sequence', cps.slice(pos, pos + 4).join(''))
      const v = parseInt(cps[pos + 2] + cps[pos + 3], 16)
      pos += 4
      return v
    }
    if (c !== undefined && c >= '1' && c <= '7' && !isOctal(cps[pos + 2])) err('invalid escape sequence', '\\' + c)
    if (isOctal(c)) {
      let s = c!
      let p = pos + 2
      while (s.length < 3 && isOctal(cps[p])) s += cps[p++]
      pos = p
      return parseInt(s, 8)
    }
    if (c !== undefined && !isAlnum(c) && c.codePointAt(0)! < 0x80) { pos += 2; return c.codePointAt(0)! }
    return null
  }

  const parseUnicodeClass = (): { js: string; negated: boolean } | null => {
    // at '\\p' or '\\P'
    const c = cps[pos + 1]
    if (c !== 'p' && c !== 'P') return null
    let negated = c === 'P'
    let name: string
    if (cps[pos + 2] === '{') {
      const end = cps.indexOf('}', pos + 3)
      if (end < 0) err('invalid character class range', cps.slice(pos).join(''))
      name = cps.slice(pos + 3, end).join('')
      pos = end + 1
    } else {
      if (cps[pos + 2] === undefined) err('invalid character class range', cps.slice(pos).join(''))
      name = cps[pos + 2]
      pos += 3
    }
    if (name.startsWith('^')) { negated = !negated; name = name.slice(1) }
    let prop: string
    if (name === 'Any') prop = 'Any'
    else if (GENERAL_CATEGORIES.has(name)) prop = name
    else prop = `Script=${name}`
    try { new RegExp(`\\p{${prop}}`, 'u') } catch { err('invalid character class range', `\\p{${name}}`) }
    return { js: `\\p{${prop}}`, negated }
  }

  const parseClass = (): string => {
    // at '['
    const start = pos
    pos++
    let negate = false
    if (cps[pos] === '^') { negate = true; pos++ }
    let body = ''
    let first = true
    const foldRange = (lo: number, hi: number): string => {
      let s = lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`
      if (fold()) {
        // ASCII letters in the range get their other case; other ranges as they are
        const a = Math.max(lo, 0x41); const b = Math.min(hi, 0x5a)
        if (a <= b) s += `${classChar(a + 32)}-${classChar(b + 32)}`
        const c = Math.max(lo, 0x61); const d = Math.min(hi, 0x7a)
        if (c <= d) s += `${classChar(c - 32)}-${classChar(d - 32)}`
        if (lo === hi && (lo > 0x7f)) {
          const ch = String.fromCodePoint(lo)
          for (const v of new Set([ch.toLowerCase(), ch.toUpperCase()])) if ([...v].length === 1 && v !== ch) s += classChar(v.codePointAt(0)!)
        }
      }
      return s
    }
    // returns a single code point, or null after emitting a multi-char item into body
    const item = (): number | null => {
      const c = cps[pos]
      if (c === '[' && cps[pos + 1] === ':') {
        let end = -1
        for (let k = pos + 2; k + 1 < cps.length; k++) if (cps[k] === ':' && cps[k + 1] === ']') { end = k; break }
        if (end >= 0) {
          const nameRaw = cps.slice(pos + 2, end).join('')
          const neg = nameRaw.startsWith('^')
          const name = neg ? nameRaw.slice(1) : nameRaw
          const r = POSIX[name]
          if (r === undefined) err('invalid character class range', `[:${nameRaw}:]`)
          pos = end + 2
          const base = fold() && (name === 'lower' || name === 'upper') ? POSIX.alpha : r
          body += rangesToClass(neg ? complement(base) : base)
          return null
        }
      }
      if (c === '\\') {
        const d = cps[pos + 1]
        if (d === undefined) err('trailing backslash at end of expression', '')
        if (d === 'd' || d === 'w') { body += '\\' + d; pos += 2; return null }
        if (d === 'D') { body += rangesToClass(complement(POSIX.digit)); pos += 2; return null }
        if (d === 'W') { body += rangesToClass(complement(POSIX.word)); pos += 2; return null }
        if (d === 's') { body += GO_SPACE; pos += 2; return null }
        if (d === 'S') { body += GO_NOT_SPACE_RANGES; pos += 2; return null }
        if (d === 'p' || d === 'P') {
          const u = parseUnicodeClass()!
          body += u.negated ? u.js.replace('\\p', '\\P') : u.js
          return null
        }
        const cp = parseEscapeCodePoint()
        if (cp === null) err('invalid escape sequence', '\\' + d)
        return cp
      }
      pos++
      return c.codePointAt(0)!
    }
    for (;;) {
      const c = cps[pos]
      if (c === undefined) err('missing closing ]', cps.slice(start).join(''))
      if (c === ']' && !first) { pos++; break }
      first = false
      const itemStart = pos
      const lo = item()
      if (lo === null) continue
      if (cps[pos] === '-' && cps[pos + 1] !== undefined && cps[pos + 1] !== ']') {
        pos++
        const hi = item()
        if (hi === null || hi < lo) err('invalid character class range', cps.slice(itemStart, pos).join(''))
        body += foldRange(lo, hi!)
      } else {
        body += foldRange(lo, lo)
      }
    }
    if (body === '' && !negate) return '[]'
    return `[${negate ? '^' : ''}${body}]`
  }

  // JS never gets the m flag, so its ^ and $ are text start / end, as Go's without (?m);
  // Go's (?m) line anchors only know \n (JS's would also break lines at \r, U+2028, U+2029)
  const anchor = (kind: 'begin' | 'end'): string => {
    if (f.flags.m) return kind === 'begin' ? '(?<![^\\n])' : '(?![^\\n])'
    return kind === 'begin' ? '^' : '$'
  }
  const emitAssertion = (s: string): void => { emitAtom(s); f.assertion = true }

  while (pos < cps.length) {
    const c = cps[pos]
    switch (c) {
      case '(': {
        const rest = cps.slice(pos, pos + 4).join('')
        let open = '('
        let name: string | null = null
        let newFlags: Flags | null = null
        let capture = true
        if (cps[pos + 1] === '?') {
          const named = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(cps.slice(pos, pos + 200).join(''))
          const flagGroup = /^\(\?(-?[imsU]+(?:-[imsU]*)?|[imsU]*-[imsU]+)?([:)])/.exec(cps.slice(pos, pos + 20).join(''))
          if (named) {
            name = named[1]
            open = `(?<${name}>`
            pos += Array.from(named[0]).length
          } else if (flagGroup && (flagGroup[1] !== undefined || flagGroup[2] === ':')) {
            newFlags = { ...f.flags }
            let on = true
            for (const ch of flagGroup[1] ?? '') {
              if (ch === '-') { on = false; continue }
              newFlags[ch as keyof Flags] = on
            }
            if (newFlags.i !== f.flags.i && jsI) err('invalid or unsupported Perl syntax', '(?-i')
            pos += Array.from(flagGroup[0]).length
            if (flagGroup[2] === ')') {
              // (?flags): applies to the rest of the current group
              f.flags = newFlags
              f.canRepeat = false
              continue
            }
            open = '(?:'
            capture = false
          } else {
            err('invalid or unsupported Perl syntax', rest.slice(0, 3))
          }
        } else {
          pos++
        }
        if (capture) groupNames.push(name)
        stack.push(f)
        f = { flags: newFlags ?? { ...f.flags }, out: open, atomStart: -1, lastQuant: false, canRepeat: false, assertion: false }
        continue
      }
      case ')': {
        const parent = stack.pop()
        if (parent === undefined) err('unexpected )', pattern)
        const group = f.out + ')'
        f = parent!
        emitAtom(group)
        pos++
        continue
      }
      case '|':
        f.out += '|'
        f.canRepeat = false
        f.lastQuant = false
        pos++
        continue
      case '*': case '+': case '?': case '{': {
        let q: string = c
        let qEnd = pos + 1
        if (c === '{') {
          const m = /^\{(\d+)(,(\d*))?\}/.exec(cps.slice(pos, pos + 30).join(''))
          if (!m) { emitAtom('\\{'); pos++; continue }
          const lo = Number(m[1])
          const hi = m[3] === undefined || m[3] === '' ? lo : Number(m[3])
          if (lo > 1000 || hi > 1000 || (m[3] !== undefined && m[3] !== '' && hi < lo)) err('invalid repeat count', m[0])
          q = m[0]
          qEnd = pos + m[0].length
        }
        let lazy = cps[qEnd] === '?'
        const opText = cps.slice(pos, qEnd + (lazy ? 1 : 0)).join('')
        if (f.lastQuant) err('invalid nested repetition operator', cps.slice(f.atomStart >= 0 ? pos - 1 : pos, qEnd + (lazy ? 1 : 0)).join(''))
        if (!f.canRepeat) err('missing argument to repetition operator', opText)
        if (f.flags.U) lazy = !lazy
        // JS cannot repeat an assertion directly (Go can): group it first
        if (f.assertion) { f.out = f.out.slice(0, f.atomStart) + '(?:' + f.out.slice(f.atomStart) + ')'; f.assertion = false }
        f.out += q + (lazy ? '?' : '')
        f.lastQuant = true
        pos = qEnd + (cps[qEnd] === '?' ? 1 : 0)
        continue
      }
      case '^': emitAssertion(anchor('begin')); pos++; continue
      case '$': emitAssertion(anchor('end')); pos++; continue
      case '.': emitAtom(f.flags.s ? '[\\s\\S]' : '[^\\n]'); pos++; continue
      case '[': emitAtom(parseClass()); continue
      case '\\': {
        const d = cps[pos + 1]
        if (d === undefined) err('trailing backslash at end of expression', '')
        switch (d) {
          case 'A': emitAssertion('^'); pos += 2; continue
          case 'z': emitAssertion('$'); pos += 2; continue
          case 'b': case 'B': emitAssertion('\\' + d); pos += 2; continue
          case 'd': case 'D': case 'w': case 'W': emitAtom('\\' + d); pos += 2; continue
          case 's': emitAtom(`[${GO_SPACE}]`); pos += 2; continue
          case 'S': emitAtom(`[^${GO_SPACE}]`); pos += 2; continue
          case 'p': case 'P': {
            const u = parseUnicodeClass()!
            emitAtom(u.negated ? u.js.replace('\\p', '\\P') : u.js)
            continue
          }
          case 'Q': {
            let stop = pos + 2
            while (stop < cps.length && !(cps[stop] === '\\' && cps[stop + 1] === 'E')) stop++
            for (let k = pos + 2; k < stop; k++) emitAtom(literal(cps[k].codePointAt(0)!, fold()))
            pos = stop < cps.length ? stop + 2 : stop
            continue
          }
          default: {
            const cp = parseEscapeCodePoint()
            if (cp === null) err('invalid escape sequence', '\\' + d)
            emitAtom(literal(cp!, fold()))
            continue
          }
        }
      }
      default:
        emitAtom(literal(c.codePointAt(0)!, fold()))
        pos++
    }
  }
  if (stack.length > 0) err('missing closing )', pattern)
  return { source: f.out, flags: 'u' + (jsI ? 'i' : ''), groupNames }
}

const cache = new Map<string, RegExp>()
const CACHE_MAX = 1000

/** Compiles (cached) a Go regexp as a global JS RegExp; throws RegexSyntaxError. */
export function compileGoRegex (pattern: string): RegExp {
  let re = cache.get(pattern)
  if (re !== undefined) return re
  const t = translateGoRegex(pattern)
  try {
    re = new RegExp(t.source, t.flags + 'g')
  } catch (e) {
    throw new RegexSyntaxError('invalid or unsupported Perl syntax', pattern + ` (${(e as Error).message})`)
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string)
  cache.set(pattern, re)
  return re
}

/** Width in UTF-16 units of the code point at i (1 at the end). */
function cpWidth (s: string, i: number): number {
  const c = s.charCodeAt(i)
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1
}

/** Go's FindAll*: at most n matches (n < 0: all); an empty match right after a match is skipped. */
export function findAll (re: RegExp, s: string, n: number): RegExpExecArray[] {
  const out: RegExpExecArray[] = []
  let pos = 0
  let prevEnd = -1
  while ((n < 0 || out.length < n) && pos <= s.length) {
    re.lastIndex = pos
    const m = re.exec(s)
    if (m === null) break
    const start = m.index
    const end = start + m[0].length
    let accept = true
    if (end === pos) {
      if (start === prevEnd) accept = false
      pos += pos < s.length ? cpWidth(s, pos) : 1
    } else {
      pos = end
    }
    prevEnd = end
    if (accept) out.push(m)
  }
  return out
}

/** Go's Regexp.Expand template syntax: $1, ${1}, $name, ${name}, $$. */
function expand (template: string, m: RegExpExecArray): string {
  let out = ''
  for (let i = 0; i < template.length; i++) {
    const c = template[i]
    if (c !== '$' || i + 1 >= template.length) { out += c; continue }
    if (template[i + 1] === '$') { out += '$'; i++; continue }
    let name: string
    let next: number
    if (template[i + 1] === '{') {
      const end = template.indexOf('}', i + 2)
      const inner = end < 0 ? '' : template.slice(i + 2, end)
      if (end < 0 || !/^[A-Za-z0-9_]+$/.test(inner)) { out += c; continue }
      name = inner
      next = end + 1
    } else {
      const w = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1))
      if (!w) { out += c; continue }
      name = w[0]
      next = i + 1 + name.length
    }
    let v: string | undefined
    if (/^\d+$/.test(name)) v = m[Number(name)]
    else v = m.groups?.[name]
    out += v ?? ''
    i = next - 1
  }
  return out
}

/** Go's ReplaceAllString. */
export function replaceAll (re: RegExp, src: string, repl: string): string {
  let out = ''
  let lastMatchEnd = 0
  let searchPos = 0
  while (searchPos <= src.length) {
    re.lastIndex = searchPos
    const m = re.exec(src)
    if (m === null) break
    const a0 = m.index
    const a1 = a0 + m[0].length
    out += src.slice(lastMatchEnd, a0)
    if (a1 > lastMatchEnd || a0 === 0) out += expand(repl, m)
    lastMatchEnd = a1
    const width = searchPos < src.length ? cpWidth(src, searchPos) : 0
    if (searchPos + width > a1) searchPos += width
    else if (searchPos + 1 > a1) searchPos++
    else searchPos = a1
  }
  return out + src.slice(lastMatchEnd)
}
