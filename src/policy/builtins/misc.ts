// uuid, rand, semver, units, opa.runtime, http.send, print/trace, casts, graph.reachable(_paths).
import { randomInt, randomUUID } from 'node:crypto'
import { BuiltinHalt, builtinError, evaluationMemo, evaluationPrintHook, type HostBuiltin } from './context.js'
import { arr, int, isObject, obj, operandTypeError, setOf, str, type Json } from './args.js'
import { rawJson } from '../../exact-json.js'
import { truncTimesOpa } from './big-float.js'
import { canonicalJson } from '../../cache/canonical-json.js'

// ---- semver, as OPA reads it: an optional leading "v" dropped, then [+METADATA] cut at the
// first "+", [-PRERELEASE] at the first "-" of the rest, each a non-empty list of dot-separated
// [0-9A-Za-z-]+ identifiers; MAJOR.MINOR.PATCH numbers within int64. SemVer 2.0.0's rules on
// zeros hold: no leading zero in MAJOR, MINOR, PATCH or an all-digit pre-release identifier
// ("01.2.3", "1.2.3-01" and an empty "1.2.3-" or "1.2.3+" are invalid; build metadata may start
// with 0), as OPA does since PR #9004 (August 2026; its testdata semverisvalid/semvercompare
// "strict" pin them). ----

interface SemVer { nums: bigint[]; pre: string }
const NUMBER = /^[0-9]+$/
const CORE = /^(0|[1-9][0-9]*)$/
const IDENTS = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/
const INT64_MAX = 2n ** 63n - 1n

export function parseSemVer (s: string): SemVer | null {
  let v = s.startsWith('v') ? s.slice(1) : s
  const plus = v.indexOf('+')
  const meta = plus >= 0 ? v.slice(plus + 1) : null
  if (plus >= 0) v = v.slice(0, plus)
  const dash = v.indexOf('-')
  const pre = dash >= 0 ? v.slice(dash + 1) : null
  if (dash >= 0) v = v.slice(0, dash)
  if ((meta !== null && !IDENTS.test(meta)) || (pre !== null && !IDENTS.test(pre))) return null
  if (pre !== null && pre.split('.').some((id) => id.length > 1 && id[0] === '0' && NUMBER.test(id))) return null
  const parts = v.split('.')
  if (parts.length !== 3) return null
  const nums: bigint[] = []
  for (const p of parts) {
    if (!CORE.test(p)) return null
    const n = BigInt(p)
    if (n > INT64_MAX) return null
    nums.push(n)
  }
  return { nums, pre: pre ?? '' }
}

/** strconv.Atoi of an all-digit identifier: past int64 it saturates (and OPA ignores the error). */
const preInt = (s: string): bigint => { const n = BigInt(s); return n > INT64_MAX ? INT64_MAX : n }

/**
 * OPA's Version.Compare: numbers, then no pre-release above any, then identifier by identifier:
 * all-digit ones numerically and below the others, the others by bytes, and a longer list
 * above its prefix.
 */
export function compareSemVer (a: SemVer, b: SemVer): number {
  for (let i = 0; i < 3; i++) if (a.nums[i] !== b.nums[i]) return a.nums[i]! < b.nums[i]! ? -1 : 1
  if (a.pre === b.pre) return 0
  if (a.pre === '') return 1
  if (b.pre === '') return -1
  const x = a.pre.split('.')
  const y = b.pre.split('.')
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const xi = x[i]!
    const yi = y[i]!
    const xn = NUMBER.test(xi)
    const yn = NUMBER.test(yi)
    if (xn !== yn) return xn ? -1 : 1
    if (xn) {
      const p = preInt(xi)
      const q = preInt(yi)
      if (p !== q) return p < q ? -1 : 1
    } else if (xi !== yi) return xi < yi ? -1 : 1
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1
}

function semverCompare (a: unknown, b: unknown): number {
  const name = 'semver.compare'
  const x = str(name, 1, a)
  const y = str(name, 2, b)
  const va = parseSemVer(x)
  if (va === null) throw builtinError(name, `operand 1: string ${JSON.stringify(x)} is not a valid SemVer`)
  const vb = parseSemVer(y)
  if (vb === null) throw builtinError(name, `operand 2: string ${JSON.stringify(y)} is not a valid SemVer`)
  return compareSemVer(va, vb)
}

// ---- units (exact decimal arithmetic, as OPA's big.Float results print) ----

/** An amount as written: sign, decimal digits, optional exponent ("-3.5E2", "+1", "1e3", ".5"). */
interface Amount { negative: boolean; int: string; frac: string; exp: number }

// OPA (extractNumAndUnit) refuses an exponent written with more than 6 digits ("exponent too
// large"), leading zeros included; 6 digits are read in full ("1e999999" has a million digits).
const MAX_EXPONENT_DIGITS = 6
// big.Rat's SetString (units.parse) fails past 10^±1e6, the point's shift included.
const MAX_RAT_EXPONENT = 1_000_000

/**
 * Whether OPA's scan of the amount meets an exponent with too many digits: it walks the leading
 * run of digits, ".", "+", "-" and "e"/"E", and at each "e" followed by a digit or sign counts
 * the digits after the optional sign ("1e5e1234567" is refused too).
 */
function exponentTooLong (s: string): boolean {
  const digit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9'
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c !== 'e' && c !== 'E') {
      if (!digit(c) && c !== '.' && c !== '+' && c !== '-') return false
      continue
    }
    const next = s[i + 1]
    if (!digit(next) && next !== '+' && next !== '-') return false
    if (next === '+' || next === '-') i++
    let j = i + 1
    while (digit(s[j])) j++
    if (j - (i + 1) > MAX_EXPONENT_DIGITS) return true
  }
  return false
}

/**
 * Splits "<amount><unit>": the amount is an optional "-", digits with an optional fraction and
 * an optional exponent ([eE] followed by an optionally signed integer; an "e" not followed by
 * digits is the exa unit). Throws "exponent too large" as OPA does (exponentTooLong).
 */
function amountAndUnit (name: string, s: string): [Amount | null, string] {
  if (exponentTooLong(s)) throw builtinError(name, 'exponent too large')
  // OPA's extractNumAndUnit keeps a sign in the number ("+1m", "-1kb"); SetString reads it.
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?/.exec(s)!
  const rest = s.slice(m[0].length)
  if (m[2] === '' && (m[3] ?? '') === '') return [null, rest]
  const exp = m[4] === undefined ? 0 : Number(m[4])
  return [{ negative: m[1] === '-', int: m[2]!, frac: m[3] ?? '', exp }, rest]
}

/** A decimal string as a JSON number, exactly: an integer past 2^53 keeps its digits. */
function exactNumber (dec: string): number {
  const n = Number(dec)
  if (/^-?\d+$/.test(dec) && !Number.isSafeInteger(n)) return rawJson(dec) as unknown as number
  return n
}

const K = 1000n
const Ki = 1024n
// units.parse's multipliers: an integer, or for "m" (-1) big.Rat's SetFloat64(0.001), the double
// nearest 0.001, which is exactly 1152921504606847 / 2^60 (so "1000m" is no integer in OPA).
const MILLI = -1n
const MILLI_NUM = 1152921504606847n
const MILLI_POW2 = 60
const DEC: Record<string, bigint> = {
  '': 1n, m: MILLI, k: K, K, M: K ** 2n, g: K ** 3n, G: K ** 3n, t: K ** 4n, T: K ** 4n,
  p: K ** 5n, P: K ** 5n, e: K ** 6n, E: K ** 6n,
  ki: Ki, Ki, mi: Ki ** 2n, Mi: Ki ** 2n, gi: Ki ** 3n, Gi: Ki ** 3n, ti: Ki ** 4n, Ti: Ki ** 4n,
  pi: Ki ** 5n, Pi: Ki ** 5n, ei: Ki ** 6n, Ei: Ki ** 6n,
}
// No "b": OPA's parse_bytes has no unit "b" ("1B" is "byte unit b not recognized").
const BYTES: Record<string, bigint> = {
  '': 1n, kb: K, k: K, kib: Ki, ki: Ki, mb: K ** 2n, m: K ** 2n, mib: Ki ** 2n, mi: Ki ** 2n, gb: K ** 3n, g: K ** 3n, gib: Ki ** 3n, gi: Ki ** 3n,
  tb: K ** 4n, t: K ** 4n, tib: Ki ** 4n, ti: Ki ** 4n, pb: K ** 5n, p: K ** 5n, pib: Ki ** 5n, pi: Ki ** 5n, eb: K ** 6n, e: K ** 6n, eib: Ki ** 6n, ei: Ki ** 6n,
}

function unitsParse (x: unknown): number {
  const name = 'units.parse'
  const s = str(name, 1, x).replace(/"/g, '')
  if (s.includes(' ')) throw builtinError(name, 'spaces not allowed in resource strings')
  const [amount, rawUnit] = amountAndUnit(name, s)
  if (amount === null) throw builtinError(name, 'no amount provided')
  if (/^[\d.]/.test(rawUnit)) throw builtinError(name, 'could not parse amount to a number')
  const unit = rawUnit.length > 1 ? rawUnit[0] + rawUnit.slice(1).toLowerCase() : rawUnit
  const u = DEC[unit]
  if (u === undefined) throw builtinError(name, `unit ${unit} not recognized`)
  // big.Rat refuses a nonzero amount whose power of ten (exponent less fraction digits) passes 1e6
  if (/[1-9]/.test(amount.int + amount.frac) && Math.abs(amount.exp - amount.frac.length) > MAX_RAT_EXPONENT) {
    throw builtinError(name, 'could not parse amount to a number')
  }
  const text = unitsText(amount, u)
  return /^-?\d+$/.test(text) ? exactNumber(text) : rawJson(text) as unknown as number
}

/**
 * The number OPA returns for amount × unit, as its text: big.Rat's exact product, as an
 * integer's digits when it is one (Num().String()), else FloatString(10): ten decimals, the last
 * rounded half away from zero, trailing zeros kept, a "-" kept on a negative that rounds to zero
 * ("0.0010000000" for "1m", "-0.0000000000" for "-1e-20"). The text is the result: json.marshal
 * and the policy's output print it as OPA does.
 */
function unitsText (a: Amount, unit: bigint): string {
  // value = ±n × 10^p / 2^k
  let n = BigInt((a.int || '0') + a.frac)
  if (n === 0n) return '0'
  let k = 0
  if (unit === MILLI) { n *= MILLI_NUM; k = MILLI_POW2 } else n *= unit
  const p = a.exp - a.frac.length
  const sign = a.negative ? '-' : ''
  const digits = n.toString()
  // an integer: 10^p has the 2^k (digits and zeros, where 10^p would have a million digits)
  if (p >= k) return sign + (n * 5n ** BigInt(k)).toString() + '0'.repeat(p - k)
  // below 10^-11 the ten decimals are all zeros (and no rounding up): no huge 10^-p
  if (digits.length + p <= -11) return sign + '0.' + '0'.repeat(10)
  const num = p >= 0 ? n * 10n ** BigInt(p) : n
  const den = (1n << BigInt(k)) * (p < 0 ? 10n ** BigInt(-p) : 1n)
  if (num % den === 0n) return sign + (num / den).toString()
  const P = 10n ** 10n
  let q = num / den
  let r = (num % den) * P
  const r2 = r % den
  r /= den
  if (2n * r2 >= den) {
    r += 1n
    if (r >= P) { q += 1n; r -= P }
  }
  return `${sign}${q}.${r.toString().padStart(10, '0')}`
}

function unitsParseBytes (x: unknown): number {
  const name = 'units.parse_bytes'
  const s = str(name, 1, x).replace(/"/g, '').toLowerCase()
  if (s.includes(' ')) throw builtinError(name, 'spaces not allowed in resource strings')
  const [amount, unit] = amountAndUnit(name, s)
  if (amount === null) throw builtinError(name, 'no byte amount provided')
  if (/^[\d.]/.test(unit)) throw builtinError(name, 'could not parse byte amount to a number')
  const u = BYTES[unit]
  if (u === undefined) throw builtinError(name, `byte unit ${unit} not recognized`)
  // Every amount goes through OPA's 64-bit big.Float, integers too: 0.001mb is 999, not 1000,
  // and 18446744073709551617 is 2^64.
  const text = `${amount.negative ? '-' : ''}${amount.int || '0'}${amount.frac === '' ? '' : '.' + amount.frac}e${amount.exp}`
  return exactNumber(String(truncTimesOpa(text, u)))
}

// ---- print / trace ----

// Lines go to the evaluation's onPrint (runEvaluation's option, set by the loaders from their
// onPrint / policy.print); an evaluation without one drops them, so print costs nothing more
// than the call when it is off. Called outside any evaluation, they go to printHook.
let printHook: (line: string) => void = (line) => process.stderr.write(line + '\n')

/** Where internal.print / trace lines go when called outside an evaluation (default: stderr). */
export function setPrintHook (hook: (line: string) => void): void { printHook = hook }

function printValue (v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/**
 * internal.print([set1, ..., setN]): one line per combination of the sets' elements (in
 * order), the elements separated by spaces; an empty set (an undefined print argument)
 * prints as <undefined>. Modules we compile pass sets of strings already formatted as OPA
 * formats values (src/compiler/planner/print.ts); an OPA-built module's values arrive as JSON
 * and are printed as JSON. Never fails.
 */
function internalPrint (args: unknown): boolean {
  const hook = evaluationPrintHook(printHook)
  if (hook === undefined) return true
  const ops = Array.isArray(args) ? args : [args]
  const parts: string[] = new Array<string>(ops.length)
  const emit = (i: number): void => {
    if (i === ops.length) { hook(parts.join(' ')); return }
    const op = ops[i]
    const values = Array.isArray(op) ? op : [op]
    if (values.length === 0) { parts[i] = '<undefined>'; emit(i + 1); return }
    for (const v of values) { parts[i] = printValue(v); emit(i + 1) }
  }
  emit(0)
  return true
}

// ---- casts, graph ----

function castTo (name: string, check: (v: unknown) => boolean, type: string) {
  return (v: unknown): unknown => {
    if (!check(v)) throw operandTypeError(name, 1, v, type)
    return v
  }
}

// graph.reachable / graph.reachable_paths as OPA's topdown/reachable.go: a node's edges are an
// array or a set (sets arrive as arrays); any other value is a node without edges. Nodes are
// compared as values (canonical JSON).
const nodeKey = (node: Json): string => canonicalJson(node) ?? 'null'

function edgesOf (g: Record<string, Json>, node: Json): Json | undefined {
  const key = typeof node === 'string' ? node : JSON.stringify(node)
  return Object.prototype.hasOwnProperty.call(g, key) ? g[key] : undefined
}
const vertices = (edges: Json): Json[] => Array.isArray(edges) ? edges : []

function graphReachable (graph: unknown, initial: unknown): Json[] {
  const name = 'graph.reachable'
  const g = obj(name, 1, graph)
  const start = arr(name, 2, initial, 'array', 'set')
  const reached = new Map<string, Json>()
  const queue: Json[] = [...start]
  while (queue.length) {
    const node = queue.shift()!
    const key = nodeKey(node)
    if (reached.has(key)) continue
    const edges = edgesOf(g, node)
    if (edges === undefined) continue
    reached.set(key, node)
    queue.push(...vertices(edges))
  }
  return setOf([...reached.values()])
}

/**
 * Every path from an initial node, following edges until a node without edges (included), a
 * node not in the graph (left out), or a node already on the path (the path so far).
 */
function graphReachablePaths (graph: unknown, initial: unknown): Json[] {
  const name = 'graph.reachable_paths'
  const g = obj(name, 1, graph)
  const start = arr(name, 2, initial, 'array', 'set')
  const paths: Json[] = []
  const walk = (node: Json, path: Json[], onPath: ReadonlySet<string>): void => {
    const edges = edgesOf(g, node)
    if (edges === undefined) { paths.push(path); return }
    const here = [...path, node]
    const next = vertices(edges)
    if (next.length === 0) { paths.push(here); return }
    const seen = new Set(onPath).add(nodeKey(node))
    for (const n of next) {
      if (seen.has(nodeKey(n))) paths.push(here)
      else walk(n, here, seen)
    }
  }
  for (const node of start) {
    const edges = edgesOf(g, node)
    if (edges === undefined) continue
    const next = vertices(edges)
    if (next.length === 0) { paths.push([node]); continue }
    for (const n of next) walk(n, [node], new Set([nodeKey(node)]))
  }
  return setOf(paths)
}

// ---- uuid.parse: OPA's internal/uuid over github.com/google/uuid. The text is one of
// google/uuid's four forms (36 with hyphens, 32 hex digits, 38 with any two wrapping characters as
// {…}, urn:uuid:…); anything else is
// undefined, never an error. version and variant for every UUID; versions 1 and 2 also carry
// the time (ns since the Unix epoch, wrapping as Go's int64 does), the node id (hex bytes joined
// by "-"), its MAC variables and the clock sequence; version 2 the local id and domain. ----

const HEX_PAIR = /^[0-9a-fA-F]{2}$/

function uuidBytes (s: string): Uint8Array | undefined {
  let t = s
  if (t.length === 45) {
    if (t.slice(0, 9).toLowerCase() !== 'urn:uuid:') return undefined
    t = t.slice(9)
  } else if (t.length === 38) {
    // google/uuid drops the first and last characters without looking at them: "{…}", but also
    // "(…)" or "X…Y" (java-opa-sdk's check of OPA 1.19.0 found the same)
    t = t.slice(1, 37)
  } else if (t.length === 32) {
    t = `${t.slice(0, 8)}-${t.slice(8, 12)}-${t.slice(12, 16)}-${t.slice(16, 20)}-${t.slice(20)}`
  } else if (t.length !== 36) return undefined
  if (t[8] !== '-' || t[13] !== '-' || t[18] !== '-' || t[23] !== '-') return undefined
  const hex = t.slice(0, 8) + t.slice(9, 13) + t.slice(14, 18) + t.slice(19, 23) + t.slice(24)
  const out = new Uint8Array(16)
  for (let i = 0; i < 16; i++) {
    const pair = hex.slice(2 * i, 2 * i + 2)
    if (!HEX_PAIR.test(pair)) return undefined
    out[i] = parseInt(pair, 16)
  }
  return out
}

function uuidVariant (b: number): string {
  if ((b & 0xc0) === 0x80) return 'RFC4122'
  if ((b & 0xe0) === 0xc0) return 'Microsoft'
  if ((b & 0xe0) === 0xe0) return 'Future'
  return 'Reserved'
}

function macVariables (b: number): string {
  if ((b & 0b11) === 0b11) return 'local:multicast'
  if ((b & 0b01) === 0b01) return 'global:multicast'
  if ((b & 0b10) === 0b10) return 'local:unicast'
  return 'global:unicast'
}

// 100-ns intervals from the Gregorian reform (1582-10-15) to the Unix epoch.
const GREGORIAN_TO_UNIX_100NS = 122192928000000000n

function uuidParse (x: unknown): Json | undefined {
  const u = uuidBytes(str('uuid.parse', 1, x))
  if (u === undefined) return undefined
  const version = u[6]! >> 4
  // time: past 2^53 its digits (exact-json.ts), which Json does not name
  const out: Record<string, Json> = { version, variant: uuidVariant(u[8]!) }
  if (version === 1 || version === 2) {
    const dv = new DataView(u.buffer)
    const ticks = BigInt(dv.getUint32(0)) | (BigInt(dv.getUint16(4)) << 32n) | (BigInt(dv.getUint16(6) & 0xfff) << 48n)
    const ns = BigInt.asIntN(64, (ticks - GREGORIAN_TO_UNIX_100NS) * 100n)
    out.time = Number.isSafeInteger(Number(ns)) ? Number(ns) : rawJson(ns.toString()) as unknown as number
    out.nodeid = [...u.subarray(10)].map((b) => b.toString(16).padStart(2, '0')).join('-')
    out.macvariables = macVariables(u[10]!)
    out.clocksequence = dv.getUint16(8) & 0x3fff
    if (version === 2) {
      out.id = dv.getUint32(0)
      out.domain = ['Person', 'Group', 'Org'][u[9]!] ?? `Domain${u[9]!}`
    }
  }
  return out
}

export const miscBuiltins: Record<string, HostBuiltin> = {
  'uuid.parse': uuidParse,
  'uuid.rfc4122': (seed: unknown) => {
    const s = str('uuid.rfc4122', 1, seed)
    return evaluationMemo(`uuid.rfc4122\u0000${s}`, () => randomUUID())
  },
  'rand.intn': (seed: unknown, n: unknown) => {
    const s = str('rand.intn', 1, seed)
    const max = Math.abs(int('rand.intn', 2, n))
    return evaluationMemo(`rand.intn\u0000${s}\u0000${max}`, () => (max === 0 ? 0 : randomInt(0, Math.min(max, 2 ** 48 - 1))))
  },
  'semver.is_valid': (v: unknown) => typeof v === 'string' && parseSemVer(v) !== null,
  'semver.compare': semverCompare,
  'units.parse': unitsParse,
  'units.parse_bytes': unitsParseBytes,
  // env-free: no environment, version or config is exposed to policies
  'opa.runtime': () => ({}),
  'http.send': () => { throw new BuiltinHalt('eval_builtin_error: http.send: not available in the sidecar') },
  'internal.print': internalPrint,
  trace: (note: unknown) => {
    const hook = evaluationPrintHook(printHook)
    if (hook !== undefined) hook(`Note ${JSON.stringify(str('trace', 1, note))}`)
    return true
  },
  cast_string: castTo('cast_string', v => typeof v === 'string', 'string'),
  cast_boolean: castTo('cast_boolean', v => typeof v === 'boolean', 'boolean'),
  cast_null: castTo('cast_null', v => v === null, 'null'),
  cast_object: castTo('cast_object', isObject, 'object'),
  'graph.reachable': graphReachable,
  'graph.reachable_paths': graphReachablePaths,
}
