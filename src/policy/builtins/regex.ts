// Regex builtins with Go's regexp semantics (goregexp.ts: re2js, linear time, Go's syntax,
// errors and iteration rules). regex.split is ours too: the opa-wasm SDK ships its own
// (JavaScript RegExp: backtracking, JS syntax, capture groups in the output) and would win over
// customBuiltins by name, so loading this module withdraws it from the SDK (see withdrawSdkBuiltin).
import { Buffer } from 'node:buffer'
import { builtinError, type HostBuiltin } from './context.js'
import { withdrawSdkBuiltin } from './sdk.js'
import { int, str } from './args.js'
import { compileGoRegexp, findAll, GoRegexpError, quoteMeta, replaceAllString, split } from './goregexp.js'
import type { RE2JS } from 're2js'

function compile (name: string, pattern: string): RE2JS {
  try {
    return compileGoRegexp(pattern)
  } catch (e) {
    if (e instanceof GoRegexpError) throw builtinError(name, e.message)
    throw e
  }
}

function match (name: string) {
  return (pattern: unknown, value: unknown): boolean => {
    const re = compile(name, str(name, 1, pattern))
    return re.test(str(name, 2, value))
  }
}

// OPA: syntax.Parse(pattern, syntax.Perl) succeeds; a non-string is not valid (no error).
function isValid (pattern: unknown): boolean {
  if (typeof pattern !== 'string') return false
  try {
    compileGoRegexp(pattern)
    return true
  } catch (e) {
    if (e instanceof GoRegexpError) return false
    throw e
  }
}

function findN (pattern: unknown, value: unknown, n: unknown): string[] {
  const name = 'regex.find_n'
  const re = compile(name, str(name, 1, pattern))
  return findAll(re, str(name, 2, value), int(name, 3, n), false).map(m => m[0])
}

function findAllSubmatch (pattern: unknown, value: unknown, n: unknown): string[][] {
  const name = 'regex.find_all_string_submatch_n'
  const re = compile(name, str(name, 1, pattern))
  return findAll(re, str(name, 2, value), int(name, 3, n), true)
}

function replace (s: unknown, pattern: unknown, value: unknown): string {
  const name = 'regex.replace'
  const src = str(name, 1, s)
  const re = compile(name, str(name, 2, pattern))
  return replaceAllString(re, src, str(name, 3, value))
}

// OPA: re.Split(value, -1).
function regexSplit (pattern: unknown, value: unknown): string[] {
  const name = 'regex.split'
  const re = compile(name, str(name, 1, pattern))
  return split(re, str(name, 2, value), -1)
}

// regex.template_match(template, value, start, end): the parts of template between the
// delimiters are regexes, the rest is literal; the whole value must match. As OPA's
// compileRegexTemplate: delimiters are single bytes, each part must also compile on its own
// (as ^part$), then the whole.
function templateMatch (template: unknown, value: unknown, start: unknown, end: unknown): boolean {
  const name = 'regex.template_match'
  const t = str(name, 1, template)
  const v = str(name, 2, value)
  const ds = str(name, 3, start)
  const de = str(name, 4, end)
  // OPA measures bytes, and reports the start delimiter's length for both (sic)
  const startLen = Buffer.byteLength(ds)
  if (startLen !== 1) throw builtinError(name, `start delimiter has to be exactly one character long but is ${startLen} long`)
  if (Buffer.byteLength(de) !== 1) throw builtinError(name, `end delimiter has to be exactly one character long but is ${startLen} long`)
  // one-byte delimiters are ASCII, so scanning UTF-16 units finds the same positions as bytes
  const idxs: number[] = []
  let level = 0
  let idx = 0
  for (let i = 0; i < t.length; i++) {
    if (t[i] === ds) {
      if (++level === 1) idx = i
    } else if (t[i] === de) {
      if (--level === 0) idxs.push(idx, i + 1)
      else if (level < 0) throw builtinError(name, `unbalanced braces in ${JSON.stringify(t)}`)
    }
  }
  if (level !== 0) throw builtinError(name, `unbalanced braces in ${JSON.stringify(t)}`)
  let pattern = '^'
  let literalStart = 0
  for (let i = 0; i < idxs.length; i += 2) {
    const part = t.slice(idxs[i] + 1, idxs[i + 1] - 1)
    pattern += quoteMeta(t.slice(literalStart, idxs[i])) + '(' + part + ')'
    literalStart = idxs[i + 1]
    compile(name, `^${part}$`)
  }
  pattern += quoteMeta(t.slice(literalStart)) + '$'
  return compile(name, pattern).test(v)
}

// ---- regex.globs_match: do two glob-style regexes (only . * + [ - ] \ are special) share a
// non-empty string? Product of the two automata, searched breadth-first.

interface CharSet { neg: boolean; ranges: Array<[number, number]> }
interface Tok { set: CharSet; star: boolean }

function parseGlobRegex (name: string, s: string): Tok[] {
  const cps = Array.from(s)
  const toks: Tok[] = []
  let i = 0
  while (i < cps.length) {
    const c = cps[i]
    let set: CharSet
    if (c === '.') { set = { neg: true, ranges: [] }; i++ } else if (c === '[') {
      const ranges: Array<[number, number]> = []
      i++
      let closed = false
      while (i < cps.length) {
        if (cps[i] === ']') { closed = true; i++; break }
        let lo = cps[i]
        if (lo === '\\') { i++; lo = cps[i] ?? '\\' }
        i++
        if (cps[i] === '-' && cps[i + 1] !== undefined && cps[i + 1] !== ']') {
          let hi = cps[i + 1]
          i += 2
          if (hi === '\\') { hi = cps[i] ?? '\\'; i++ }
          if (hi.codePointAt(0)! < lo.codePointAt(0)!) throw builtinError(name, `invalid character range ${lo}-${hi}`)
          ranges.push([lo.codePointAt(0)!, hi.codePointAt(0)!])
        } else {
          ranges.push([lo.codePointAt(0)!, lo.codePointAt(0)!])
        }
      }
      if (!closed) throw builtinError(name, `unterminated character class in ${JSON.stringify(s)}`)
      set = { neg: false, ranges }
    } else if (c === '*' || c === '+') {
      throw builtinError(name, `quantifier ${c} without a preceding character in ${JSON.stringify(s)}`)
    } else if (c === ']') {
      // OPA (yashtewari/glob-intersection) refuses it; read as a literal it matched "]"
      throw builtinError(name, `input:${s}, pos:${i + 1}, set-close ']' with no preceding '[': the input provided is invalid`)
    } else {
      let ch = c
      if (c === '\\') { i++; ch = cps[i] ?? '\\' }
      i++
      set = { neg: false, ranges: [[ch.codePointAt(0)!, ch.codePointAt(0)!]] }
    }
    if (cps[i] === '*') { toks.push({ set, star: true }); i++ } else if (cps[i] === '+') { toks.push({ set, star: false }, { set, star: true }); i++ } else toks.push({ set, star: false })
    if (cps[i] === '*' || cps[i] === '+') throw builtinError(name, `repeated quantifier in ${JSON.stringify(s)}`)
  }
  return toks
}

function minus (a: Array<[number, number]>, b: Array<[number, number]>): boolean {
  // is there a code point in ranges a that is in none of ranges b?
  for (const [lo, hi] of a) {
    let cur = lo
    const cover = b.filter(([x, y]) => y >= lo && x <= hi).sort((p, q) => p[0] - q[0])
    for (const [x, y] of cover) {
      if (x > cur) return true
      cur = Math.max(cur, y + 1)
      if (cur > hi) break
    }
    if (cur <= hi) return true
  }
  return false
}

function intersects (a: CharSet, b: CharSet): boolean {
  if (!a.neg && !b.neg) return a.ranges.some(([x, y]) => b.ranges.some(([p, q]) => x <= q && p <= y))
  if (a.neg && b.neg) return minus([[0, 0x10ffff]], [...a.ranges, ...b.ranges])
  const pos = a.neg ? b : a
  const neg = a.neg ? a : b
  return minus(pos.ranges, neg.ranges)
}

function globsMatch (g1: unknown, g2: unknown): boolean {
  const name = 'regex.globs_match'
  const a = parseGlobRegex(name, str(name, 1, g1))
  const b = parseGlobRegex(name, str(name, 2, g2))
  // state (i, j, consumed): before token i of a and token j of b; epsilon moves skip starred tokens
  const seen = new Set<string>()
  const queue: Array<[number, number, number]> = [[0, 0, 0]]
  for (let head = 0; head < queue.length; head++) {
    const [i, j, k] = queue[head]
    const key = `${i},${j},${k}`
    if (seen.has(key)) continue
    seen.add(key)
    if (i === a.length && j === b.length && k === 1) return true
    if (i < a.length && a[i].star) queue.push([i + 1, j, k])
    if (j < b.length && b[j].star) queue.push([i, j + 1, k])
    if (i < a.length && j < b.length && intersects(a[i].set, b[j].set)) {
      queue.push([a[i].star ? i : i + 1, b[j].star ? j : j + 1, 1])
    }
  }
  return false
}

export const regexBuiltins: Record<string, HostBuiltin> = {
  'regex.match': match('regex.match'),
  re_match: match('re_match'),
  'regex.is_valid': isValid,
  'regex.find_n': findN,
  'regex.find_all_string_submatch_n': findAllSubmatch,
  'regex.replace': replace,
  'regex.split': regexSplit,
  'regex.template_match': templateMatch,
  'regex.globs_match': globsMatch,
}

withdrawSdkBuiltin('regex.split')
