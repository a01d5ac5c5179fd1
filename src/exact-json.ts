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
// And so are numbers written in a form JavaScript does not print them in: 1.0, 22.0, 1e2, 0.50,
// 0.0000001. OPA keeps every number's text (json.Number): json.marshal and results print it as
// written, and 1.0 is no integer operand there (`arr[1.0]` is undefined, `substring(s, 1.0, 2)`
// an error, sprintf's %d of it "%!d(float64=1)"), so a policy can tell 22.0 from 22.
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

// Every integer of at most 15 digits is a safe integer and prints as written, and a decimal of
// at most 15 significant digits without an exponent prints as written unless its fraction ends
// in 0 or it starts 0.000000 (printed with an exponent), so text without 16 digits in one number
// (17 characters of digits and a point), an exponent, a fraction ending in 0, a "-0" or a
// 0.000000 parses exactly with plain JSON.parse (the common case, and the fast one: a reviver
// with source access costs ~8x). A JSON number follows ":", "[", "," or the start of the text
// (whitespace aside), so such text right after a quote (a card number, a version "1.0" in a
// string) does not count; text inside a string after one of those characters only costs the
// slower parse.
const LONG_DIGITS = /(?:^|[:[,])\s*(?:-0(?![.0-9eE])|-?(?:[0-9]{16}|[0-9.]{17}|[0-9]+\.[0-9]*0(?![0-9])|[0-9.]+[eE]|0\.0{6}))/
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/

function keepDigits (_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number') return value
  const source = context?.source
  if (source === undefined) return value
  return keepsText(source, value) ? J.rawJSON(source) : value
}

/** Whether the JSON number literal `text` is kept as its text: it denotes another number than
 * its double (losesDigits), or it is not the double's own printed form (1.0, 1e2, 0.50, -0). */
export function keepsText (text: string, n: number = Number(text)): boolean {
  return text !== String(n) || losesDigits(text, n)
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

/** JSON.parse, with the numbers a double does not denote or print as written (keepsText) kept as their text
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
 * A raw value's text as written (what JSON.stringify writes and the policy reads: 1.0 stays
 * 1.0), for serialisers whose equal texts must mean values no policy can tell apart (the
 * evaluation input, the decision cache key). Throws for a raw value that is not a number.
 */
export function rawNumberText (v: RawJson): string {
  const t = v.rawJSON
  if (!NUMBER.test(t)) throw new TypeError(`raw JSON ${JSON.stringify(t.slice(0, 40))} is not a number`)
  return t
}

/**
 * The canonical text of a raw value, as the decision log's hash chain and masking's hashes
 * write it (a receiver that re-serialises 1.0 as 1 must still verify): an integer's digits as
 * they are ("-0" is "0"); a number no double denotes (past the double range, or with more
 * digits than a double keeps) as it was written, since no shorter form is exact; any other
 * number as JavaScript prints it (1.0 is 1).
 */
export function rawJsonText (v: RawJson): string {
  const t = v.rawJSON
  if (INTEGER.test(t)) return t === '-0' ? '0' : t
  if (!NUMBER.test(t)) throw new TypeError(`raw JSON ${JSON.stringify(t.slice(0, 40))} is not a number`)
  const n = Number(t)
  return losesDigits(t, n) ? t : String(n)
}

/**
 * A JSON number where a plain number is expected (a decision's status or cache_ttl): a JS
 * number, or a raw value whose text denotes a double exactly (403.0, 6e1); undefined for
 * anything else (a big integer, a number past the doubles, any other value).
 */
export function jsonNumber (v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (!isRawJson(v) || !NUMBER.test(v.rawJSON) || losesDigits(v.rawJSON)) return undefined
  return Number(v.rawJSON)
}

/**
 * The integer a JSON number literal denotes, exactly (1e18 and 1000000000000000000.0 too), or
 * undefined when it is not an integer or has more than `maxDigits` digits.
 */
export function integerOf (text: string, maxDigits = 400): bigint | undefined {
  const d = splitDecimal(text)
  if (d.digits === '') return 0n
  const zeros = d.exp - d.digits.length // value = DIGITS × 10^zeros
  if (zeros < 0 || d.exp > maxDigits) return undefined
  const n = BigInt(d.digits + '0'.repeat(zeros))
  return d.neg ? -n : n
}
