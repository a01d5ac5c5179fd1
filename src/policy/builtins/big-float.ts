// OPA's non-integer arithmetic, exactly. OPA (topdown/arithmetic.go, aggregates.go) computes
// every operation that is not exact on integers with Go's math/big.Float: each operand is its
// decimal text parsed at 64 bits of mantissa (Float.SetString: correctly rounded, ties to even),
// the operation is rounded once to 64 bits (to 53 for product, whose accumulator starts as
// big.NewFloat(1)), and the result is the shortest decimal that reads back as the same 64-bit
// value (Float.Text('g', -1), or 'f' when it is an integer). So, against doubles:
//   0.1 + 0.2   0.3                       (doubles: 0.30000000000000004)
//   10 / 3      3.3333333333333333333     (3.3333333333333335)
//   0.01 * 10   0.099999999999999999995   (0.1: and 0.01 * 10 >= 0.1 is false in OPA)
// The Wasm runtime (numbers.ts) hands exactly those operations to this module through the host
// call FLOAT_BUILTIN.
//
// A value is m * 2^e with m a BigInt of exactly `prec` bits (or 0); the sign is apart, so that
// -0 exists as in big.Float. Decimal conversion follows math/big's ftoa.go (roundShortest,
// fmtE/fmtF), including its comparison of the bounds' digits by position.

import { rawJson } from '../../exact-json.js'
import { BuiltinError } from './context.js'

export interface BigFloat { readonly neg: boolean; readonly m: bigint; readonly e: number }

export const OPA_PREC = 64
// big.NewFloat(1): product() accumulates at a double's precision.
export const PRODUCT_PREC = 53

// Operands past these are refused (a builtin error: undefined, or an evaluation error with
// strict errors) rather than computed: the work grows with the square of the size, and a
// request body could carry "1e-99999" (~0.15 s for one product) or a million digits. OPA would
// compute them; no amount or ratio needs them.
const MAX_DECIMAL_EXPONENT = 10000
const MAX_DIGITS = 10000

const ZERO: BigFloat = Object.freeze({ neg: false, m: 0n, e: 0 })

function bitLen (v: bigint): number {
  if (v === 0n) return 0
  const h = v.toString(16)
  return (h.length - 1) * 4 + (32 - Math.clz32(parseInt(h[0]!, 16)))
}

// Powers of five and ten, as the decimal conversions ask for the same few again and again.
const POW5: bigint[] = []
const POW10: bigint[] = []
function pow5 (k: number): bigint {
  if (k >= 2048) return 5n ** BigInt(k)
  return (POW5[k] ??= 5n ** BigInt(k))
}
function pow10 (k: number): bigint {
  if (k >= 2048) return 10n ** BigInt(k)
  return (POW10[k] ??= 10n ** BigInt(k))
}

/** v * 2^e (v >= 0) rounded to prec bits, ties to even; `sticky`: nonzero bits below v. */
function roundTo (neg: boolean, v: bigint, e: number, prec: number, sticky = false): BigFloat {
  if (v === 0n) return { neg, m: 0n, e: 0 }
  const bl = bitLen(v)
  if (bl <= prec) return { neg, m: v << BigInt(prec - bl), e: e - (prec - bl) }
  const s = bl - prec
  const S = BigInt(s)
  let q = v >> S
  const r = v & ((1n << S) - 1n)
  const half = 1n << (S - 1n)
  if (r > half || (r === half && (sticky || (q & 1n) === 1n))) {
    q += 1n
    if (bitLen(q) > prec) return { neg, m: q >> 1n, e: e + s + 1 }
  }
  return { neg, m: q, e: e + s }
}

/** num / den (both > 0) * 2^e, correctly rounded to prec bits. */
function roundQuotient (neg: boolean, num: bigint, den: bigint, e: number, prec: number): BigFloat {
  // Scale so that the quotient has at least prec + 2 bits; the remainder is the sticky bit.
  const shift = Math.max(0, prec + 2 + bitLen(den) - bitLen(num))
  const n = num << BigInt(shift)
  const q = n / den
  return roundTo(neg, q, e - shift, prec, n % den !== 0n)
}

const DECIMAL = /^(-)?([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/

/**
 * Float.SetString(text) at `prec` bits. Throws on text that is not a decimal number, and past
 * the operand limits unless `unlimited` (units.parse_bytes: its callers bound the exponent).
 */
export function parseDecimal (text: string, prec = OPA_PREC, unlimited = false): BigFloat {
  const m = DECIMAL.exec(text)
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`not a number: ${text}`)
  const neg = m[1] === '-'
  const frac = m[3] ?? ''
  if (!unlimited && (m[2] ?? '').length + frac.length > MAX_DIGITS) throw new Error(`number has more than ${MAX_DIGITS} digits`)
  const digits = BigInt((m[2] ?? '') + frac)
  if (digits === 0n) return { neg, m: 0n, e: 0 }
  const exp = Number(m[4] ?? '0') - frac.length
  if (!Number.isSafeInteger(exp) || (!unlimited && Math.abs(exp) > MAX_DECIMAL_EXPONENT)) throw new Error(`number exponent out of range: ${text}`)
  if (exp >= 0) return roundTo(neg, digits * pow10(exp), 0, prec)
  return roundQuotient(neg, digits, pow10(-exp), 0, prec)
}

/** An operand of the host call as decimal text. The runtime sends a number that has kept its
 * text (more digits than a double, big integers) as that text, a string; any other number as
 * itself, a double whose shortest form is the text it was read from. */
export function numberText (v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? (Object.is(v, -0) ? '-0' : String(v)) : undefined
  if (typeof v === 'string') return v
  return undefined
}

function signed (x: BigFloat): bigint { return x.neg ? -x.m : x.m }

export function add (x: BigFloat, y: BigFloat, prec = OPA_PREC): BigFloat {
  if (x.m === 0n && y.m === 0n) return { neg: x.neg && y.neg, m: 0n, e: 0 }
  if (x.m === 0n) return roundTo(y.neg, y.m, y.e, prec)
  if (y.m === 0n) return roundTo(x.neg, x.m, x.e, prec)
  const e = Math.min(x.e, y.e)
  const v = (signed(x) << BigInt(x.e - e)) + (signed(y) << BigInt(y.e - e))
  if (v === 0n) return ZERO // x + (-x) is +0 when rounding to nearest
  return roundTo(v < 0n, v < 0n ? -v : v, e, prec)
}

export function sub (x: BigFloat, y: BigFloat, prec = OPA_PREC): BigFloat {
  return add(x, { neg: !y.neg, m: y.m, e: y.e }, prec)
}

export function mul (x: BigFloat, y: BigFloat, prec = OPA_PREC): BigFloat {
  const neg = x.neg !== y.neg
  if (x.m === 0n || y.m === 0n) return { neg, m: 0n, e: 0 }
  return roundTo(neg, x.m * y.m, x.e + y.e, prec)
}

/** x / y; y must not be zero (OPA reports "divide by zero" before dividing). */
export function quo (x: BigFloat, y: BigFloat, prec = OPA_PREC): BigFloat {
  const neg = x.neg !== y.neg
  if (y.m === 0n) throw new Error('divide by zero')
  if (x.m === 0n) return { neg, m: 0n, e: 0 }
  return roundQuotient(neg, x.m, y.m, x.e - y.e, prec)
}

export function isInt (x: BigFloat): boolean {
  return x.m === 0n || x.e >= 0 || (x.m & ((1n << BigInt(-x.e)) - 1n)) === 0n
}

// ---- decimal text (math/big ftoa.go) ----

/** A decimal: digits without leading or trailing zeros, and the position of the point. */
interface Decimal { mant: string; exp: number }

function decimalOf (m: bigint, e: number): Decimal {
  if (m === 0n) return { mant: '', exp: 0 }
  let s: string
  let exp: number
  if (e >= 0) {
    s = (m << BigInt(e)).toString()
    exp = s.length
  } else {
    s = (m * pow5(-e)).toString() // m * 2^e = m * 5^-e / 10^-e
    exp = s.length + e
  }
  const t = s.replace(/0+$/, '')
  return { mant: t, exp }
}

const digitAt = (d: Decimal, i: number): string => (i < d.mant.length ? d.mant[i]! : '0')

function trimmed (mant: string, exp: number): Decimal {
  const t = mant.replace(/0+$/, '')
  return t === '' ? { mant: '', exp: 0 } : { mant: t, exp }
}

function roundDown (d: Decimal, n: number): Decimal {
  if (n < 0 || n >= d.mant.length) return d
  return trimmed(d.mant.slice(0, n), d.exp)
}

function roundUp (d: Decimal, n: number): Decimal {
  if (n < 0 || n >= d.mant.length) return d
  let i = n
  while (i > 0 && d.mant[i - 1] === '9') i--
  if (i === 0) return { mant: '1', exp: d.exp + 1 } // all nines
  return trimmed(d.mant.slice(0, i - 1) + String(Number(d.mant[i - 1]) + 1), d.exp)
}

function shouldRoundUp (d: Decimal, n: number): boolean {
  if (d.mant[n] === '5' && n + 1 === d.mant.length) return n > 0 && (Number(d.mant[n - 1]) & 1) !== 0
  return d.mant[n]! >= '5'
}

function roundNearest (d: Decimal, n: number): Decimal {
  if (n < 0 || n >= d.mant.length) return d
  return shouldRoundUp(d, n) ? roundUp(d, n) : roundDown(d, n)
}

/** The shortest decimal that reads back as x at `prec` bits (ftoa.go roundShortest). */
function shortest (x: BigFloat, prec: number): Decimal {
  const d = decimalOf(x.m, x.e)
  if (d.mant === '') return d
  // x = mant * 2^exp with the lsb of mant worth half an ulp (mant has prec + 1 bits).
  const mant = x.m << 1n
  const exp = x.e - 1
  const lower = decimalOf(mant - 1n, exp)
  const upper = decimalOf(mant + 1n, exp)
  const inclusive = (mant & 2n) === 0n
  for (let i = 0; i < d.mant.length; i++) {
    const m = d.mant[i]!
    const l = digitAt(lower, i)
    const u = digitAt(upper, i)
    const okdown = l !== m || (inclusive && i + 1 === lower.mant.length)
    const okup = m !== u && (inclusive || Number(m) + 1 < Number(u) || i + 1 < upper.mant.length)
    if (okdown && okup) return roundNearest(d, i + 1)
    if (okdown) return roundDown(d, i + 1)
    if (okup) return roundUp(d, i + 1)
  }
  return d
}

function fmtE (d: Decimal, prec: number): string {
  let out = d.mant === '' ? '0' : d.mant[0]!
  if (prec > 0) {
    out += '.'
    for (let i = 1; i <= prec; i++) out += digitAt(d, i)
  }
  let exp = d.mant === '' ? 0 : d.exp - 1
  const sign = exp < 0 ? '-' : '+'
  if (exp < 0) exp = -exp
  return out + 'e' + sign + (exp < 10 ? '0' : '') + String(exp)
}

function fmtF (d: Decimal, prec: number): string {
  let out = ''
  if (d.exp > 0) {
    out = d.mant.slice(0, d.exp)
    for (let m = Math.min(d.mant.length, d.exp); m < d.exp; m++) out += '0'
  } else out = '0'
  if (prec > 0) {
    out += '.'
    for (let i = 0; i < prec; i++) {
      const j = d.exp + i
      out += j >= 0 && j < d.mant.length ? d.mant[j]! : '0'
    }
  }
  return out
}

/** builtins.FloatToNumber: Text('f', -1) for integers, Text('g', -1) otherwise. */
export function formatNumber (x: BigFloat, prec = OPA_PREC): string {
  const d = shortest(x, prec)
  const sign = x.neg ? '-' : ''
  if (isInt(x)) return sign + fmtF(d, Math.max(d.mant.length - d.exp, 0))
  const p = d.mant.length
  const exp = d.exp - 1
  if (exp < -4 || exp >= 6) return sign + fmtE(d, p - 1)
  return sign + fmtF(d, Math.max(p - d.exp, 0))
}

/**
 * units.parse_bytes' arithmetic: the decimal `text` read as a 64-bit big.Float, times the
 * integer `factor` (rounded to 64 bits again), then its integer part (parse_bytes.go: SetString,
 * Mul, Int): OPA's units.parse_bytes("0.001mb") is 999, "18446744073709551617" 2^64. The
 * caller bounds the exponent (OPA: at most 6 digits), so the operand limits do not apply.
 */
export function truncTimesOpa (text: string, factor: bigint): bigint {
  return truncInt(mul(parseDecimal(text, OPA_PREC, true), fromInt(factor)))
}

/** Float.Int: the integer part, toward zero. */
function truncInt (x: BigFloat): bigint {
  const v = x.e >= 0 ? x.m << BigInt(x.e) : x.m >> BigInt(-x.e)
  return x.neg ? -v : v
}

function fromInt (v: bigint): BigFloat {
  // SetInt: exact (its precision is the integer's), and 0 is +0
  return v === 0n ? ZERO : { neg: v < 0n, m: v < 0n ? -v : v, e: 0 }
}

const HALF: BigFloat = Object.freeze({ neg: false, m: 1n, e: -1 })

/** OPA's round: x ± 0.5 (rounded to 64 bits), then toward zero: half away from zero. */
export function roundOpa (x: BigFloat): bigint {
  return truncInt(x.neg ? sub(x, HALF) : add(x, HALF))
}

// OPA's arithCeil and arithFloor take the integer part toward zero as a big.Float, which is +0
// for -1 < x < 0, and adjust by one unless its sign bit is set: so in OPA ceil(-0.5) is 1 and
// floor(-0.5) is 0. Kept as OPA answers (topdown/arithmetic.go), the runtime does the same for
// doubles.

/** OPA's ceil: the integer part, plus one unless it is negative or x is an integer. */
export function ceilOpa (x: BigFloat): bigint {
  const i = truncInt(x)
  if (i < 0n || compareExact(x, fromInt(i)) === 0) return i
  return i + 1n
}

/** OPA's floor: the integer part, minus one if it is negative and x is not an integer. */
export function floorOpa (x: BigFloat): bigint {
  const i = truncInt(x)
  if (i >= 0n || compareExact(x, fromInt(i)) === 0) return i
  return i - 1n
}

/** The sign of x - y, exactly. */
function compareExact (x: BigFloat, y: BigFloat): number {
  const e = Math.min(x.e, y.e)
  const v = (signed(x) << BigInt(x.e - e)) - (signed(y) << BigInt(y.e - e))
  return v === 0n ? 0 : v < 0n ? -1 : 1
}

// ---- the host call (FLOAT_BUILTIN) ----

function operand (op: string, v: unknown): BigFloat {
  const text = numberText(v)
  if (text === undefined) throw new BuiltinError('eval_type_error', op, 'operand must be a number')
  try { return parseDecimal(text) } catch (e) { throw new BuiltinError('eval_builtin_error', op, (e as Error).message) }
}

// 2^±34000 is about 10^±10235: the results stay within what operands may be (MAX_DECIMAL_EXPONENT).
const MAX_BINARY_EXPONENT = 34000

function result (op: string, x: BigFloat, prec = OPA_PREC): unknown {
  if (Math.abs(x.e) > MAX_BINARY_EXPONENT) throw new BuiltinError('eval_builtin_error', op, 'number exponent out of range')
  const text = formatNumber(x, prec)
  // JSON.stringify writes it as it is: the module reads back exactly OPA's number.
  return rawJson(text)
}

/**
 * FLOAT_BUILTIN(op, x, y): `op` is plus, minus, mul or div on the numbers x and y; round, ceil,
 * floor, trunc or abs of the number x; or sum or product of the collection x (y unused). The runtime calls it only where OPA's answer is a
 * big.Float one; the runtime already checked the operand types and division by zero, and sends
 * numbers as numberText reads them (they are not read again through bouncer_host_arg).
 */
export function floatBuiltin (op: unknown, x: unknown, y: unknown): unknown {
  const name = String(op)
  switch (name) {
    case 'plus': return result(name, add(operand(name, x), operand(name, y)))
    case 'minus': return result(name, sub(operand(name, x), operand(name, y)))
    case 'mul': return result(name, mul(operand(name, x), operand(name, y)))
    case 'div': {
      const d = operand(name, y)
      if (d.m === 0n) throw new BuiltinError('eval_builtin_error', name, 'divide by zero')
      return result(name, quo(operand(name, x), d))
    }
    // arithUnary: the result is a big.Float again (at the integer's own precision: exact)
    case 'round': return rawJson(String(roundOpa(operand(name, x))))
    case 'ceil': return rawJson(String(ceilOpa(operand(name, x))))
    case 'floor': return rawJson(String(floorOpa(operand(name, x))))
    // format_int: the integer part (toward zero) of the 64-bit big.Float (NumberToFloat, Int)
    case 'trunc': return rawJson(String(truncInt(operand(name, x))))
    case 'abs': { const v = operand(name, x); return result(name, { neg: false, m: v.m, e: v.e }) }
    case 'sum': {
      let acc: BigFloat = { neg: false, m: 0n, e: 0 }
      for (const v of Array.isArray(x) ? x : []) acc = add(acc, operand(name, v))
      return result(name, acc)
    }
    case 'product': {
      let acc = parseDecimal('1', PRODUCT_PREC)
      for (const v of Array.isArray(x) ? x : []) acc = mul(acc, operand(name, v), PRODUCT_PREC)
      return result(name, acc, PRODUCT_PREC)
    }
  }
  throw new BuiltinError('eval_builtin_error', name, 'unknown float operation')
}
