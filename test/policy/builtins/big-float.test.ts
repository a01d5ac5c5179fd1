// OPA's float arithmetic (math/big.Float at 64 bits): parsing, the four operations, the shortest
// decimal that reads back, and the guards against operands too large to compute.
import t from 'tap'
import { add, formatNumber, mul, OPA_PREC, parseDecimal, PRODUCT_PREC, quo, sub, type BigFloat } from '../../../src/policy/builtins/big-float.js'

const ops = { plus: add, minus: sub, mul, div: quo } as const

// Expected texts from an independent model written apart from this code (Python: exact
// fractions, round half to even at 64 bits, and a brute-force search for the shortest decimal
// that rounds back), not from this module. It agreed with this module on 3,010 random cases.
const VECTORS: Array<[keyof typeof ops, string, string, string]> = [
  ['plus', '0.1', '0.2', '0.3'],
  ['minus', '0.3', '0.1', '0.20000000000000000002'],
  ['mul', '0.01', '10', '0.099999999999999999995'],
  ['div', '10', '3', '3.3333333333333333333'],
  ['div', '1', '3', '0.33333333333333333334'],
  ['div', '2', '3', '0.6666666666666666667'],
  ['mul', '1.1', '1.1', '1.21'],
  ['mul', '0.07', '100', '7'],
  ['plus', '1e-30', '1', '1'],
  ['div', '1', '7', '0.14285714285714285714'],
  ['mul', '123456.789', '1000', '123456789'],
  ['div', '1', '1024', '0.0009765625'],
  ['mul', '1.5', '1e-7', '1.5e-07'],
  ['plus', '-0.1', '0.1', '0'],
  ['mul', '19.99', '3', '59.97'],
  ['minus', '0.0001', '0.00001', '9.0000000000000000004e-05'],
  ['div', '22', '7', '3.1428571428571428572'],
  ['mul', '2.675', '100', '267.5'],
  ['plus', '9999999.5', '0.25', '9.99999975e+06'],
  // where the interval's bounds are digits themselves (even mantissa: they read back too)
  ['div', '39832e16', '6.0', '66386666666666666668'],
  ['plus', '47381e21', '38923e-18', '47381000000000000000000000'],
  ['minus', '38124e15', '60905e-1', '38123999999999993908'],
  ['plus', '6.5', '46258e15', '46258000000000000010'],
]

t.test('operations give OPA\'s texts', async t => {
  for (const [op, a, b, want] of VECTORS) t.equal(formatNumber(ops[op](parseDecimal(a), parseDecimal(b))), want, `${a} ${op} ${b}`)
  // A comparison at the boundary, as a policy would make it: OPA's 0.01 * 10 is below 0.1.
  const tenth = mul(parseDecimal('0.01'), parseDecimal('10'))
  t.ok(compare(tenth, parseDecimal('0.1')) < 0, '0.01 * 10 < 0.1 at 64 bits')
  t.equal(0.01 * 10 >= 0.1, true, 'while doubles say >=')
})

t.test('integers print whole (Text f), other numbers as %g does: exponent below -4 or from 6 on', async t => {
  t.equal(formatNumber(parseDecimal('1e21')), '1000000000000000000000')
  t.equal(formatNumber(parseDecimal('1234567.5')), '1.2345675e+06')
  t.equal(formatNumber(parseDecimal('123456.5')), '123456.5')
  t.equal(formatNumber(parseDecimal('0.0001')), '0.0001')
  t.equal(formatNumber(parseDecimal('0.00001')), '1e-05')
  t.equal(formatNumber(parseDecimal('-2.5')), '-2.5')
  t.equal(formatNumber(mul(parseDecimal('-0.5'), parseDecimal('0'))), '-0', 'negative zero, as big.Float keeps it')
  t.equal(formatNumber(parseDecimal('1e-400')), '1e-400', 'past a double\'s range')
})

t.test('product accumulates at a double\'s precision (big.NewFloat(1) is 53 bits)', async t => {
  let acc = parseDecimal('1', PRODUCT_PREC)
  for (const v of ['0.1', '3']) acc = mul(acc, parseDecimal(v), PRODUCT_PREC)
  t.equal(formatNumber(acc, PRODUCT_PREC), '0.30000000000000004')
  t.equal(formatNumber(mul(parseDecimal('0.1'), parseDecimal('3'))), '0.3', 'where mul at 64 bits gives 0.3')
})

// ---- properties, on seeded random decimals ----

function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

function randomDecimal (r: () => number): string {
  const digits = String(Math.floor(r() * 1e9)) + String(Math.floor(r() * 1e9))
  const point = Math.floor(r() * digits.length)
  const exp = Math.floor(r() * 80) - 40
  return (r() < 0.5 ? '-' : '') + digits.slice(0, point) + '.' + digits.slice(point) + 'e' + exp
}

/** Exact value of x as a fraction [num, den]. */
function exact (x: BigFloat): [bigint, bigint] {
  const s = x.neg ? -x.m : x.m
  return x.e >= 0 ? [s << BigInt(x.e), 1n] : [s, 1n << BigInt(-x.e)]
}

function decimalFraction (text: string): [bigint, bigint] {
  const m = /^(-?)(\d*)\.?(\d*)e([+-]?\d+)$/.exec(text)!
  const n = BigInt(m[1] + (m[2]! + m[3]! || '0'))
  const e = Number(m[4]) - m[3]!.length
  return e >= 0 ? [n * 10n ** BigInt(e), 1n] : [n, 10n ** BigInt(-e)]
}

function compare (x: BigFloat, y: BigFloat): number {
  const [a, b] = exact(x)
  const [c, d] = exact(y)
  const l = a * d
  const r = c * b
  return l < r ? -1 : l > r ? 1 : 0
}

/** |value - x| <= half an ulp of x, i.e. 2 * |value - x| * 2^-e <= 1 with both exact. */
function withinHalfUlp (value: [bigint, bigint], x: BigFloat): boolean {
  const [a, b] = exact(x)
  const [c, d] = value
  let diff = c * b - a * d // (value - x) * b * d
  if (diff < 0n) diff = -diff
  // half ulp of x = 2^(e-1); compare diff / (b*d) <= 2^(e-1)
  const lhs = diff * 2n
  return x.e >= 0 ? lhs <= (b * d) << BigInt(x.e) : lhs << BigInt(-x.e) <= b * d
}

t.test('parsing is correctly rounded and the shortest text reads back as the same value', async t => {
  const r = rng(42)
  let n = 0
  for (let i = 0; i < 400; i++) {
    const text = randomDecimal(r)
    const x = parseDecimal(text)
    if (x.m !== 0n && (x.m < 1n << BigInt(OPA_PREC - 1) || x.m >= 1n << BigInt(OPA_PREC))) t.fail(`${text}: mantissa not 64 bits`)
    if (!withinHalfUlp(decimalFraction(text), x)) t.fail(`${text}: not within half an ulp`)
    const back = parseDecimal(formatNumber(x))
    if (compare(back, x) !== 0 || back.neg !== x.neg) t.fail(`${text}: ${formatNumber(x)} does not read back`)
    n++
  }
  t.equal(n, 400, '400 decimals checked')
  // Shortest: a decimal of up to 19 significant digits prints as itself (64 bits hold 19.2 digits).
  for (const s of ['0.1', '123.456', '9.999999999999999999', '1.0000000000000000001', '0.3']) t.equal(formatNumber(parseDecimal(s)), s)
})

t.test('each operation is rounded once, to within half an ulp of the exact result', async t => {
  const r = rng(7)
  for (let i = 0; i < 300; i++) {
    const x = parseDecimal(randomDecimal(r))
    const y = parseDecimal(randomDecimal(r))
    const [a, b] = exact(x)
    const [c, d] = exact(y)
    const want: Record<string, [bigint, bigint]> = {
      plus: [a * d + c * b, b * d], minus: [a * d - c * b, b * d], mul: [a * c, b * d],
      div: c < 0n ? [-a * d, -b * c] : [a * d, b * c],
    }
    for (const op of ['plus', 'minus', 'mul', 'div'] as const) {
      const got = ops[op](x, y)
      if (!withinHalfUlp(want[op]!, got)) t.fail(`${formatNumber(x)} ${op} ${formatNumber(y)} = ${formatNumber(got)}: not correctly rounded`)
    }
  }
  t.pass('1,200 operations correctly rounded')
})

t.test('operands too large to compute in time are refused, not computed', async t => {
  t.throws(() => parseDecimal('1.5e-99999'), /exponent out of range/)
  t.throws(() => parseDecimal('1e99999'), /exponent out of range/)
  t.throws(() => parseDecimal('1' + '0'.repeat(20000) + '.5'), /more than 10000 digits/)
  t.throws(() => parseDecimal('abc'), /not a number/)
  t.equal(formatNumber(parseDecimal('1e-9999')), '1e-9999', 'within the limits')
  t.throws(() => quo(parseDecimal('1'), parseDecimal('0')), /divide by zero/)
})
