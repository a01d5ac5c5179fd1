// Regex builtins with Go's regexp semantics (goregexp.ts: re2js, linear time, Go's syntax,
// errors and iteration rules). regex.split is ours too: the opa-wasm SDK ships its own
// (JavaScript RegExp: backtracking, JS syntax, capture groups in the output) and would win over
// customBuiltins by name, so loading this module withdraws it from the SDK (see withdrawSdkBuiltin).
import { Buffer } from 'node:buffer'
import { builtinError, type HostBuiltin } from './context.js'
import { withdrawSdkBuiltin } from './sdk.js'
import { int, str } from './args.js'
import { compileGoRegexp, findAll, GoRegexpError, goView, quoteMeta, replaceAllString, split } from './goregexp.js'
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
    return re.test(goView(str(name, 2, value)))
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
  return compile(name, pattern).test(goView(v))
}

// ---- regex.globs_match: OPA answers with gintersect.NonEmpty from
// github.com/yashtewari/glob-intersection v0.2.0, which is not an exact intersection test. It
// trims the unflagged ends both globs agree on, then walks the two greedily; so it says false
// for globs that share a string ("ab*" and "a": both match "a") and true for "" and "". Any
// other answer than OPA's is a policy bug, so its syntax, error messages and decision
// procedure are reproduced here, in our own code. Only the cost differs: the library re-walks
// the same sub-problems (exponential in the number of + and *), we keep each sub-answer once
// and walk on an explicit stack (no recursion limit on long globs).
//
// Syntax: '.' any rune, '[...]' a class of runes and ranges ('-' only between two runes),
// '+' / '*' after a rune, '.' or class, '\' makes the next rune literal; ']' outside a class,
// a leading or repeated flag, a dangling '\' and a bad class are errors. Positions count runes.

type Repeat = 'once' | 'plus' | 'star'

interface Atom {
  kind: 'rune' | 'any' | 'class'
  /** the rune of a 'rune' atom */
  cp: number
  /** a class's runes: sorted, disjoint, non-adjacent inclusive ranges */
  ranges: Array<[number, number]>
  rep: Repeat
}

const runeAtom = (cp: number): Atom => ({ kind: 'rune', cp, ranges: [], rep: 'once' })
const anyAtom = (): Atom => ({ kind: 'any', cp: 0, ranges: [], rep: 'once' })

function classAtom (members: Array<[number, number]>): Atom {
  const sorted = [...members].sort((p, q) => p[0] - q[0])
  const ranges: Array<[number, number]> = []
  for (const [lo, hi] of sorted) {
    const last = ranges[ranges.length - 1]
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi)
    else ranges.push([lo, hi])
  }
  return { kind: 'class', cp: 0, ranges, rep: 'once' }
}

const inClass = (cp: number, ranges: Array<[number, number]>): boolean => ranges.some(([lo, hi]) => lo <= cp && cp <= hi)

/** Do two atoms (flags aside) have a rune in common? '.' is taken to meet anything, even "[]". */
function meets (a: Atom, b: Atom): boolean {
  if (a.kind === 'any' || b.kind === 'any') return true
  if (a.kind === 'rune' && b.kind === 'rune') return a.cp === b.cp
  if (a.kind === 'rune') return inClass(a.cp, b.ranges)
  if (b.kind === 'rune') return inClass(b.cp, a.ranges)
  return a.ranges.some(([x, y]) => b.ranges.some(([p, q]) => x <= q && p <= y))
}

/** The same atom, flags aside (a class by its set of runes). */
function sameAtom (a: Atom, b: Atom): boolean {
  if (a.kind !== b.kind) return false
  if (a.kind === 'rune') return a.cp === b.cp
  return a.ranges.length === b.ranges.length && a.ranges.every(([lo, hi], i) => lo === b.ranges[i][0] && hi === b.ranges[i][1])
}

/** Reads one glob into atoms; errors are builtin errors worded as the library words them. */
class GlobReader {
  private readonly runes: string[]

  constructor (private readonly name: string, private readonly text: string) {
    this.runes = Array.from(text)
  }

  private fail (pos: number, detail: string): never {
    throw builtinError(this.name, `input:${this.text}, pos:${pos}, ${detail}: the input provided is invalid`)
  }

  /** The rune at pos (a '\' escapes the one after it): [rune, escaped, position after], null at the end. */
  private next (pos: number): [string, boolean, number] | null {
    if (pos >= this.runes.length) return null
    const r = this.runes[pos]
    if (r !== '\\') return [r, false, pos + 1]
    if (pos + 1 < this.runes.length) return [this.runes[pos + 1], true, pos + 2]
    return this.fail(pos, 'input ends with a \\ (escape) character')
  }

  read (): Atom[] {
    const atoms: Atom[] = []
    let pos = 0
    for (let got = this.next(pos); got !== null; got = this.next(pos)) {
      const [r, escaped, after] = got
      pos = after
      let atom: Atom
      if (escaped) atom = runeAtom(r.codePointAt(0)!)
      else if (r === '.') atom = anyAtom()
      else if (r === ']') return this.fail(pos, "set-close ']' with no preceding '['")
      else if (r === '+' || r === '*') return this.fail(pos, `flag '${r}' must be preceded by a non-flag`)
      else if (r === '[') [atom, pos] = this.readClass(pos)
      else atom = runeAtom(r.codePointAt(0)!)
      const flag = this.next(pos)
      if (flag !== null && !flag[1] && (flag[0] === '+' || flag[0] === '*')) {
        atom.rep = flag[0] === '+' ? 'plus' : 'star'
        pos = flag[2]
      }
      atoms.push(atom)
    }
    return atoms
  }

  /** A class whose '[' ends before pos: the atom and the position after its ']'. */
  private readClass (pos: number): [Atom, number] {
    const members: Array<[number, number]> = []
    let prev = 0
    let hasPrev = false
    for (;;) {
      const got = this.next(pos)
      if (got === null) return this.fail(pos, 'found [ without matching ]')
      const [r, escaped, after] = got
      pos = after
      const cp = r.codePointAt(0)!
      if (!escaped && r === ']') return [classAtom(members), pos]
      if (escaped || r !== '-') {
        members.push([cp, cp])
        prev = cp
        hasPrev = true
        continue
      }
      // a range: the rune before '-' (not already a range's end) to the rune after it
      if (!hasPrev) return this.fail(pos, "range character '-' must be preceded by a Unicode character")
      if (pos >= this.runes.length - 1) return this.fail(pos, "range character '-' must be followed by a Unicode character")
      const [end, endEscaped, endAfter] = this.next(pos)!
      pos = endAfter
      if (!endEscaped && (end === ']' || end === '-')) return this.fail(pos, "range character '-' cannot be followed by a special symbol")
      const hi = end.codePointAt(0)!
      if (hi < prev) return this.fail(pos, `range is out of order: '${end}' comes before '${String.fromCodePoint(prev)}' in Unicode`)
      members.push([prev, hi])
      hasPrev = false
    }
  }
}

/** Neighbouring flagged atoms that are the same atom become one: '+' if either was '+', else '*'. */
function mergeRepeats (atoms: Atom[]): Atom[] {
  const out: Atom[] = []
  for (const atom of atoms) {
    const last = out[out.length - 1]
    if (last !== undefined && last.rep !== 'once' && atom.rep !== 'once' && sameAtom(last, atom)) {
      if (atom.rep === 'plus') last.rep = 'plus'
      continue
    }
    out.push(atom)
  }
  return out
}

/**
 * Cuts the unflagged atoms both globs agree on at the start and at the end, keeping one at each
 * cut end; null when an unflagged pair there does not meet.
 */
function trimAgreeingEnds (a: Atom[], b: Atom[]): [Atom[], Atom[]] | null {
  let head = 0
  for (; head < a.length && head < b.length && a[head].rep === 'once' && b[head].rep === 'once'; head++) {
    if (!meets(a[head], b[head])) return null
  }
  if (head > 0) head--
  let endA = a.length - 1
  let endB = b.length - 1
  for (; endA >= head && endB >= head && a[endA].rep === 'once' && b[endB].rep === 'once'; endA--, endB--) {
    if (!meets(a[endA], b[endB])) return null
  }
  if (endA < a.length - 1) {
    endA++
    endB++
  }
  return [a.slice(head, endA + 1), b.slice(head, endB + 1)]
}

// The walk. Every question is about a suffix of one trimmed glob against a suffix of the other:
// side says which glob the first suffix is from, at1/at2 where the two suffixes start.
//   aligned:  step both suffixes together while neither atom is flagged (each pair must meet);
//             at a flagged atom, hand over to led (the first suffix's flag if it has one);
//             true only if both run out together.
//   led '+':  the flagged atom meets the other's first; then either it also absorbs what follows
//             there (led '*' on the rest of the other), or, when that first atom is flagged too,
//             'aligned' from the flagged one's successor.
//   led '*':  absorb the other's atoms while they meet the starred one; wherever one meets the
//             atom after the star, try 'aligned' from there; true if nothing follows the star and
//             everything was absorbed.
const ALIGNED = 0
const LED_PLUS = 1
const LED_STAR = 2
type Walk = typeof ALIGNED | typeof LED_PLUS | typeof LED_STAR

interface Question { walk: Walk; side: 0 | 1; at1: number; at2: number }

class GlobWalk {
  private readonly globs: [Atom[], Atom[]]
  private readonly answers = new Map<number, boolean>()
  private readonly width: number

  constructor (a: Atom[], b: Atom[]) {
    this.globs = [a, b]
    this.width = Math.max(a.length, b.length) + 1
  }

  private key (q: Question): number {
    return ((q.walk * 2 + q.side) * this.width + q.at1) * this.width + q.at2
  }

  /** Answers q; sub-questions go through an explicit stack and are answered once each. */
  answer (q: Question): boolean {
    const frames: Array<{ key: number; steps: Generator<Question, boolean, boolean> }> = [{ key: this.key(q), steps: this.steps(q) }]
    let reply = false
    while (frames.length > 0) {
      const top = frames[frames.length - 1]
      const step = top.steps.next(reply)
      if (step.done === true) {
        this.answers.set(top.key, step.value)
        frames.pop()
        reply = step.value
        continue
      }
      const key = this.key(step.value)
      const known = this.answers.get(key)
      if (known !== undefined) reply = known
      else frames.push({ key, steps: this.steps(step.value) })
    }
    return reply
  }

  private * steps (q: Question): Generator<Question, boolean, boolean> {
    const first = this.globs[q.side]
    const other = this.globs[1 - q.side]
    const other2 = (1 - q.side) as 0 | 1
    if (q.walk === ALIGNED) {
      let i = q.at1
      let j = q.at2
      for (; i < first.length && j < other.length; i++, j++) {
        if (first[i].rep === 'once' && other[j].rep === 'once') {
          if (!meets(first[i], other[j])) return false
          continue
        }
        const [side, at1, at2, rep] = first[i].rep !== 'once' ? [q.side, i, j, first[i].rep] : [other2, j, i, other[j].rep]
        return yield { walk: rep === 'plus' ? LED_PLUS : LED_STAR, side, at1, at2 }
      }
      return i === first.length && j === other.length
    }
    if (q.walk === LED_PLUS) {
      if (!meets(first[q.at1], other[q.at2])) return false
      if (yield { walk: LED_STAR, side: q.side, at1: q.at1, at2: q.at2 + 1 }) return true
      return other[q.at2].rep !== 'once' && (yield { walk: ALIGNED, side: q.side, at1: q.at1 + 1, at2: q.at2 })
    }
    const starred = first[q.at1]
    const after = q.at1 + 1 < first.length ? first[q.at1 + 1] : undefined
    for (let j = q.at2; j < other.length; j++) {
      if (after !== undefined && meets(other[j], after)) {
        if (yield { walk: ALIGNED, side: q.side, at1: q.at1 + 1, at2: j }) return true
      }
      if (!meets(other[j], starred)) return false
    }
    return after === undefined
  }
}

function globsMatch (g1: unknown, g2: unknown): boolean {
  const name = 'regex.globs_match'
  // the library reads runes ([]rune): an invalid byte is U+FFFD
  const a = mergeRepeats(new GlobReader(name, goView(str(name, 1, g1))).read())
  const b = mergeRepeats(new GlobReader(name, goView(str(name, 2, g2))).read())
  const trimmed = trimAgreeingEnds(a, b)
  if (trimmed === null) return false
  return new GlobWalk(...trimmed).answer({ walk: ALIGNED, side: 0, at1: 0, at2: 0 })
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
