// JSON numbers read exactly where the policy sees them.
//
// JSON.parse turns every number into a double, so 9007199254740993 becomes 9007199254740992. A
// policy comparing account ids from a request body or a token would then judge a different id
// from the one the upstream (Go, Java, a database) acts on, and two requests for different ids
// would share one cached decision. OPA decodes JSON numbers exactly. So where outside JSON
// enters the policy input, data or a result, integers a double cannot hold are kept as their
// digits in a JSON.rawJSON value: JSON.stringify writes the digits back verbatim, the Wasm
// runtime reads them as exact 64-bit integers, and the project's canonical serialisers (cache
// key, decision-log hash chain, masking) write the same digits.
//
// Numbers past the double range are kept the same way: JSON.parse makes 1e400 Infinity, which
// JSON.stringify writes as null, and in Rego null sorts before every number, so a policy's
// `input.parsed_body.amount < 100` held for an amount of 1e400. Kept as "1e400", the runtime
// reads a number (an infinite double), as OPA reads one.
//
// So are fractions with more significant digits than a double keeps: OPA compares numbers by
// the decimal they denote, so `input.parsed_body.amount <= 1000` is false there for an amount of
// 1000.00000000000000001, which JSON.parse reads as 1000. Likewise 1e-400 (0 as a double) is
// greater than 0 in OPA.
//
// Only those kinds of literal are kept this way; every other number stays a JS number, so
// code that reads ordinary numbers (exp, status, limits) is unaffected. A raw value is a frozen
// null-prototype object with one key, `rawJSON`: JS code that expects a number sees an object
// and refuses it (a decision's status, a claim's exp), which fails closed.

/** A JSON.rawJSON value: the JSON text of one number (an integer, or a number past the doubles). */
export interface RawJson { readonly rawJSON: string }

interface JsonWithRaw {
  rawJSON (text: string): RawJson
  isRawJSON (v: unknown): boolean
}
const J = JSON as unknown as JsonWithRaw

// Every integer of at most 15 digits is a safe integer, every decimal of at most 15 significant
// digits is what its double prints as, and no number with an exponent of at most two digits
// leaves the double range, so text without 16 digits in one number (17 characters of digits and
// a point) or a three-digit exponent parses exactly with plain JSON.parse (the common case, and
// the fast one: a reviver with source access costs ~8x). A JSON number follows ":", "[", "," or
// the start of the text (whitespace aside), so 16 digits right after a quote (a card number in
// a string) do not count.
const LONG_DIGITS = /(?:^|[:[,])\s*-?(?:[0-9]{16}|[0-9.]{17})|[0-9.][eE][+-]?[0-9]{3}/
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/

function keepDigits (_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number') return value
  const source = context?.source
  if (source === undefined) return value
  return losesDigits(source, value) ? J.rawJSON(source) : value
}

/**
 * Whether the double `n` read from the JSON number literal `text` denotes a different number:
 * an integer past 2^53, a number past the double range (1e400 is Infinity, 1e-400 is 0), or a
 * fraction with more significant digits than the double's shortest form (1000.00000000000000001
 * is 1000). Such literals are kept as their text.
 */
export function losesDigits (text: string, n: number = Number(text)): boolean {
  if (INTEGER.test(text)) return !Number.isSafeInteger(n)
  if (!Number.isFinite(n)) return true
  return compareDecimals(text, String(n)) !== 0
}

interface Decimal { neg: boolean; digits: string; exp: number }

/** value = ±0.DIGITS × 10^exp, DIGITS without leading or trailing zeros ("" for zero). */
function splitDecimal (t: string): Decimal {
  const m = /^(-?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(t)
  if (m === null) throw new TypeError(`${JSON.stringify(t.slice(0, 40))} is not a number`)
  const whole = m[2]! + (m[3] ?? '')
  let lead = 0
  while (lead < whole.length && whole.charCodeAt(lead) === 48) lead++
  let end = whole.length
  while (end > lead && whole.charCodeAt(end - 1) === 48) end--
  // Exponents past ~1e15 are clamped: no literal has that many digits to make up for them.
  const e = m[4] === undefined ? 0 : Math.max(-1e15, Math.min(1e15, Number(m[4])))
  return { neg: m[1] === '-', digits: whole.slice(lead, end), exp: m[2]!.length - lead + e }
}

/** Orders two JSON number literals by the numbers they denote (exactly). */
export function compareDecimals (a: string, b: string): number {
  const x = splitDecimal(a)
  const y = splitDecimal(b)
  if (x.digits === '' || y.digits === '') {
    if (x.digits === '' && y.digits === '') return 0
    return x.digits === '' ? (y.neg ? 1 : -1) : (x.neg ? -1 : 1)
  }
  if (x.neg !== y.neg) return x.neg ? -1 : 1
  const c = x.exp !== y.exp ? (x.exp < y.exp ? -1 : 1) : x.digits === y.digits ? 0 : x.digits < y.digits ? -1 : 1
  return x.neg ? -c : c
}

/** False when JSON.parse reads every number of `text` exactly (no number of 16 digits or more). */
export function mayLoseDigits (text: string): boolean {
  return LONG_DIGITS.test(text)
}

/** JSON.parse, with the numbers a double does not denote (losesDigits) kept as their text
 * (RawJson). Throws as JSON.parse does. */
export function parseJsonExact (text: string): unknown {
  return LONG_DIGITS.test(text) ? JSON.parse(text, keepDigits as (k: string, v: unknown) => unknown) : JSON.parse(text)
}

/** A number kept as its JSON text (JSON.rawJSON); `text` must be a JSON number literal. */
export function rawJson (text: string): RawJson {
  return J.rawJSON(text)
}

/** True for a value parseJsonExact kept as its digits (any JSON.rawJSON value). */
export function isRawJson (v: unknown): v is RawJson {
  return typeof v === 'object' && v !== null && J.isRawJSON(v)
}

/**
 * The canonical text of a raw value, as the canonical serialisers write it: an integer's digits
 * as they are ("-0" is "0"); a number no double denotes (past the double range, or with more
 * digits than a double keeps) as it was written, since no shorter form is exact; any other
 * number as JavaScript prints it.
 */
export function rawJsonText (v: RawJson): string {
  const t = v.rawJSON
  if (INTEGER.test(t)) return t === '-0' ? '0' : t
  if (!NUMBER.test(t)) throw new TypeError(`raw JSON ${JSON.stringify(t.slice(0, 40))} is not a number`)
  const n = Number(t)
  return losesDigits(t, n) ? t : String(n)
}
