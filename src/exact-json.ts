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
// Only integer literals past 2^53 are kept this way; every other number stays a JS number, so
// code that reads ordinary numbers (exp, status, limits) is unaffected. A raw value is a frozen
// null-prototype object with one key, `rawJSON`: JS code that expects a number sees an object
// and refuses it (a decision's status, a claim's exp), which fails closed.

/** A JSON.rawJSON value: the exact JSON text of one integer. */
export interface RawJson { readonly rawJSON: string }

interface JsonWithRaw {
  rawJSON (text: string): RawJson
  isRawJSON (v: unknown): boolean
}
const J = JSON as unknown as JsonWithRaw

// Every integer of at most 15 digits is a safe integer, so text without a number of 16 digits
// or more parses exactly with plain JSON.parse (the common case, and the fast one: a reviver
// with source access costs ~8x). A JSON number follows ":", "[", "," or the start of the text
// (whitespace aside), so 16 digits right after a quote (a card number in a string) do not count.
const LONG_DIGITS = /(?:^|[:[,])\s*-?[0-9]{16}/
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/

function keepDigits (_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value
  const source = context?.source
  return source !== undefined && INTEGER.test(source) ? J.rawJSON(source) : value
}

/** False when JSON.parse reads every number of `text` exactly (no number of 16 digits or more). */
export function mayLoseDigits (text: string): boolean {
  return LONG_DIGITS.test(text)
}

/** JSON.parse, with integers past 2^53 kept exactly (as RawJson). Throws as JSON.parse does. */
export function parseJsonExact (text: string): unknown {
  return LONG_DIGITS.test(text) ? JSON.parse(text, keepDigits as (k: string, v: unknown) => unknown) : JSON.parse(text)
}

/** True for a value parseJsonExact kept as its digits (any JSON.rawJSON value). */
export function isRawJson (v: unknown): v is RawJson {
  return typeof v === 'object' && v !== null && J.isRawJSON(v)
}

/**
 * The canonical text of a raw value, as the canonical serialisers write it: an integer's digits
 * as they are ("-0" is "0"); any other raw number (never made here) as JavaScript prints it.
 */
export function rawJsonText (v: RawJson): string {
  const t = v.rawJSON
  if (INTEGER.test(t)) return t === '-0' ? '0' : t
  const n = Number(t)
  if (!Number.isFinite(n)) throw new TypeError(`raw JSON ${JSON.stringify(t.slice(0, 40))} is not a finite number`)
  return String(n)
}
