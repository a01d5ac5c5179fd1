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
// Only those two kinds of literal are kept this way; every other number stays a JS number, so
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

// Every integer of at most 15 digits is a safe integer, and no number with an exponent of at
// most two digits leaves the double range, so text without either parses exactly with plain
// JSON.parse (the common case, and the fast one: a reviver with source access costs ~8x). A
// JSON number follows ":", "[", "," or the start of the text (whitespace aside), so 16 digits
// right after a quote (a card number in a string) do not count.
const LONG_DIGITS = /(?:^|[:[,])\s*-?[0-9]{16}|[0-9.][eE][+-]?[0-9]{3}/
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/

function keepDigits (_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value
  const source = context?.source
  if (source === undefined) return value
  return INTEGER.test(source) || !Number.isFinite(value) ? J.rawJSON(source) : value
}

/** False when JSON.parse reads every number of `text` exactly (no number of 16 digits or more). */
export function mayLoseDigits (text: string): boolean {
  return LONG_DIGITS.test(text)
}

/** JSON.parse, with integers past 2^53 and numbers past the double range kept as their text
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
 * as they are ("-0" is "0"); a number past the double range as it was written (a double cannot
 * hold it, so no shorter form is exact); any other number as JavaScript prints it.
 */
export function rawJsonText (v: RawJson): string {
  const t = v.rawJSON
  if (INTEGER.test(t)) return t === '-0' ? '0' : t
  if (!NUMBER.test(t)) throw new TypeError(`raw JSON ${JSON.stringify(t.slice(0, 40))} is not a number`)
  const n = Number(t)
  return Number.isFinite(n) ? String(n) : t
}
