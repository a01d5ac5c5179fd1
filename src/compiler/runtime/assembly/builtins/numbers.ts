// Arithmetic, rounding, comparison and number conversion builtins.
// Integers that fit i64 stay exact; integer results past i64 (and operands kept as text or past
// 2^53) are computed exactly (bigint.ts), as OPA's math/big does. Everything else — an operand
// that is not an integer, a quotient that is not one — is OPA's 64-bit big.Float arithmetic,
// done by the host (floatOp: src/policy/builtins/big-float.ts); a module without that host call
// (built before it existed) computes in doubles.

import {
  Value, NumV, StrV, BoolV, T_NUMBER, T_STRING, T_SET, T_NULL, T_BOOL,
  mkInt, mkFloat, mkBool, mkStr, newArrayCap, compare, equals, numToF64, numToI64, i64Ok, isInteger,
  mkNum, mkBigInt, compareIntText,
} from "../value";
import { builtinError, typeError, typeErrorMsg } from "./errors";
import { setMinus, setUnion, setIntersect } from "./collections";
import { chargeSteps } from "../budget";
import { integerText, needsBig, fromText, bigAdd, bigSub, bigMul, bigRem } from "../bigint";
import { callHost, floatBuiltinId } from "../abi-host";

/**
 * A number as the host call reads it: its text when it has one (kept digits, big integers), else
 * the number itself — a double, whose shortest form (JavaScript's, exact) is the text it was
 * read from. The runtime's own printing of doubles is not always the shortest, so the host is
 * never left to guess from it.
 */
function hostOperand (v: Value): Value {
  if (v.kind != T_NUMBER) return v;
  let n = changetype<NumV>(v);
  if (n.dec !== null) return mkStr(n.dec!);
  if (n.raw !== null) return mkStr(n.raw!);
  if (n.isInt && (n.i > 9007199254740991 || n.i < -9007199254740991)) return mkStr(n.i.toString());
  return v;
}

/** OPA's float arithmetic on a and b (op: plus, minus, mul, div; round, ceil, floor of a), by
 * the host; null (undefined) when the host reports an error. */
function floatOp (op: string, a: Value, b: Value): Value | null {
  let args = new Array<Value>(3);
  args[0] = mkStr(op);
  args[1] = hostOperand(a);
  args[2] = hostOperand(b);
  return callHost(floatBuiltinId(), args);
}

// ---- arguments ------------------------------------------------------------------

// @ts-ignore: decorator
@inline function isNum (v: Value): bool { return v.kind == T_NUMBER; }

/** An exact integer operand (OPA's IntOperand); sets `intOk`. */
// @ts-ignore: decorator
@lazy export let intOk: bool = false;
export function intArg (name: string, v: Value, operand: i32): i64 {
  intOk = false;
  if (v.kind != T_NUMBER) { typeError(name, operand, "number", v); return 0; }
  let i = numToI64(v);
  if (!i64Ok) { typeErrorMsg(name, "operand " + operand.toString() + " must be integer number but got floating-point number"); return 0; }
  intOk = true;
  return i;
}

/** sum or product of a collection holding a non-integer, by the host; `a` itself when this
 * module has no float host call (the caller then folds in doubles). */
export function floatAggregate (op: string, a: Value, items: Array<Value>): Value | null {
  if (floatBuiltinId() < 0) return a;
  let xs = newArrayCap(items.length);
  for (let i = 0, n = items.length; i < n; i++) xs.push(hostOperand(unchecked(items[i])));
  return floatOp(op, xs, mkInt(0));
}

// ---- arithmetic -----------------------------------------------------------------

export function addNum (a: NumV, b: NumV): Value | null {
  if (a.isInt && b.isInt) {
    let x = a.i, y = b.i, r = x + y;
    if (((x ^ r) & (y ^ r)) >= 0) return mkInt(r);
  }
  if (needsBig(a, b)) {
    let x = integerText(a), y = integerText(b);
    if (x !== null && y !== null) return fromText(bigAdd(x, y));
  }
  if (floatBuiltinId() >= 0) return floatOp("plus", a, b);
  return mkFloat(numToF64(a) + numToF64(b));
}

export function subNum (a: NumV, b: NumV): Value | null {
  if (a.isInt && b.isInt) {
    let x = a.i, y = b.i, r = x - y;
    if (((x ^ y) & (x ^ r)) >= 0) return mkInt(r);
  }
  if (needsBig(a, b)) {
    let x = integerText(a), y = integerText(b);
    if (x !== null && y !== null) return fromText(bigSub(x, y));
  }
  if (floatBuiltinId() >= 0) return floatOp("minus", a, b);
  return mkFloat(numToF64(a) - numToF64(b));
}

export function mulNum (a: NumV, b: NumV): Value | null {
  if (a.isInt && b.isInt) {
    let x = a.i, y = b.i;
    if (x == 0 || y == 0) return mkInt(0);
    let r = x * y;
    if (!((x == -1 && y == i64.MIN_VALUE) || (y == -1 && x == i64.MIN_VALUE)) && r / y == x) return mkInt(r);
  }
  if (needsBig(a, b)) {
    let x = integerText(a), y = integerText(b);
    if (x !== null && y !== null) return fromText(bigMul(x, y));
  }
  if (floatBuiltinId() >= 0) return floatOp("mul", a, b);
  return mkFloat(numToF64(a) * numToF64(b));
}

export function plus (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (!isNum(a)) return typeError("plus", 1, "number", a);
  if (!isNum(b)) return typeError("plus", 2, "number", b);
  return addNum(changetype<NumV>(a), changetype<NumV>(b));
}

export function minus (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (isNum(a) && isNum(b)) return subNum(changetype<NumV>(a), changetype<NumV>(b));
  if (a.kind == T_SET && b.kind == T_SET) return setMinus(a, b);
  if (!isNum(a) && a.kind != T_SET) return typeError("minus", 1, "one of {number, set}", a);
  if (isNum(b)) return typeError("minus", 2, "set", b);
  return typeError("minus", 2, a.kind == T_SET ? "set" : "number", b);
}

export function mul (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (!isNum(a)) return typeError("mul", 1, "number", a);
  if (!isNum(b)) return typeError("mul", 2, "number", b);
  return mulNum(changetype<NumV>(a), changetype<NumV>(b));
}

/** True unless `dec` (a number's kept text) has a nonzero digit: 1e-400 is not zero. */
function isZeroText (dec: string | null): bool {
  if (dec === null) return true;
  for (let i = 0, n = dec.length; i < n; i++) {
    let c = dec.charCodeAt(i);
    if (c == 101 || c == 69) break; // the exponent
    if (c >= 49 && c <= 57) return false;
  }
  return true;
}

export function div (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (!isNum(a)) return typeError("div", 1, "number", a);
  if (!isNum(b)) return typeError("div", 2, "number", b);
  let x = changetype<NumV>(a), y = changetype<NumV>(b);
  if (numToF64(y) == 0 && isZeroText(y.dec)) return builtinError("div", "divide by zero");
  if (x.isInt && y.isInt) {
    let p = x.i, q = y.i;
    // a zero dividend is a float quotient in OPA (0 / -2 is -0)
    if (!(p == i64.MIN_VALUE && q == -1) && p % q == 0 && p != 0) return mkInt(p / q);
    if (p == 0 && q > 0) return mkInt(0);
  }
  if (floatBuiltinId() >= 0) return floatOp("div", x, y);
  return mkFloat(numToF64(x) / numToF64(y));
}

export function rem (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (!isNum(a)) return typeError("rem", 1, "number", a);
  if (!isNum(b)) return typeError("rem", 2, "number", b);
  if (!isInteger(a) || !isInteger(b)) return builtinError("rem", "modulo on floating-point number");
  let x = numToI64(a);
  let okx = i64Ok;
  let y = numToI64(b);
  let oky = i64Ok;
  if (okx && oky) {
    if (y == 0) return builtinError("rem", "modulo by zero");
    if (y == -1) return mkInt(0);
    return mkInt(x % y);
  }
  let tx = integerText(changetype<NumV>(a)), ty = integerText(changetype<NumV>(b));
  if (tx === null || ty === null) {
    // An integer written with an exponent past MAX_DIGITS (1e2147483648, input.n): OPA's
    // NumberToInt fails on it and rem is this error. The double of it is infinite, and its
    // remainder a NaN that compared below 0 (`input.n % 2 < 0` held).
    return builtinError("rem", "modulo on floating-point number");
  }
  if (ty == "0") return builtinError("rem", "modulo by zero");
  return fromText(bigRem(tx, ty));
}

export function andOp (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (a.kind != T_SET) return typeError("and", 1, "set", a);
  if (b.kind != T_SET) return typeError("and", 2, "set", b);
  return setIntersect(a, b);
}

export function orOp (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (a.kind != T_SET) return typeError("or", 1, "set", a);
  if (b.kind != T_SET) return typeError("or", 2, "set", b);
  return setUnion(a, b);
}

// ---- rounding ---------------------------------------------------------------------

function intResult (f: f64): Value {
  if (f >= -9223372036854775808.0 && f < 9223372036854775808.0) return mkInt(<i64>f);
  return mkFloat(f);
}

export function abs (args: Array<Value>): Value | null {
  let a = args[0];
  if (!isNum(a)) return typeError("abs", 1, "number", a);
  let n = changetype<NumV>(a);
  if (n.isInt) {
    if (n.i >= 0) return a;
    if (n.i != i64.MIN_VALUE) return mkInt(-n.i);
    return mkBigInt("9223372036854775808", 9223372036854775808.0);
  }
  // Any other number is OPA's arithUnary: a 64-bit big.Float, which rounds past 64 bits
  // (abs(18446744073709551617) is 18446744073709551616) and is printed by FloatToNumber
  // (abs(-1234567.5) is 1.2345675e+06), so the host computes it.
  if (floatBuiltinId() >= 0) return floatOp("abs", a, mkInt(0));
  let raw = n.raw;
  if (raw !== null) return raw.charCodeAt(0) == 45 ? mkNum(raw.substring(1))! : a;
  let dec = n.dec;
  if (dec !== null) return dec.charCodeAt(0) == 45 ? mkNum(dec.substring(1))! : a;
  return mkFloat(Math.abs(n.f));
}

export function round (args: Array<Value>): Value | null {
  let a = args[0];
  if (!isNum(a)) return typeError("round", 1, "number", a);
  let n = changetype<NumV>(a);
  // A number kept as its text (past an i64, or more digits than a double holds): OPA's 64-bit
  // big.Float decides (arithUnary), and rounds big integers too.
  if ((n.raw !== null || n.dec !== null) && floatBuiltinId() >= 0) return floatOp("round", a, mkInt(0));
  if (n.isInt || n.raw !== null) return a;
  let f = n.f;
  // half away from zero (Go's math.Round)
  let t = Math.trunc(f);
  if (Math.abs(f - t) >= 0.5) t += f < 0 ? -1 : 1;
  return intResult(t);
}

// OPA's ceil and floor (arithCeil, arithFloor) adjust the integer part toward zero unless its
// sign bit is set, and for -1 < x < 0 that part is +0: OPA's ceil(-0.5) is 1 and floor(-0.5)
// is 0. Kept as OPA answers (src/policy/builtins/big-float.ts has the same for long numbers).

export function ceil (args: Array<Value>): Value | null {
  let a = args[0];
  if (!isNum(a)) return typeError("ceil", 1, "number", a);
  let n = changetype<NumV>(a);
  if ((n.raw !== null || n.dec !== null) && floatBuiltinId() >= 0) return floatOp("ceil", a, mkInt(0));
  if (n.isInt || n.raw !== null) return a;
  let t = Math.trunc(n.f);
  if (t < 0 || t == n.f) return intResult(t);
  return intResult(t + 1);
}

export function floor (args: Array<Value>): Value | null {
  let a = args[0];
  if (!isNum(a)) return typeError("floor", 1, "number", a);
  let n = changetype<NumV>(a);
  if ((n.raw !== null || n.dec !== null) && floatBuiltinId() >= 0) return floatOp("floor", a, mkInt(0));
  if (n.isInt || n.raw !== null) return a;
  let t = Math.trunc(n.f);
  if (t >= 0 || t == n.f) return intResult(t);
  return intResult(t - 1);
}

// ---- ranges -----------------------------------------------------------------------

const MAX_RANGE: i64 = 100000000;

/** An endpoint that is an integer past i64 (kept as its digits): OPA's BigIntOperand takes it. */
function bigEndpoint (v: Value): bool {
  if (v.kind != T_NUMBER || !isInteger(v)) return false;
  let n = changetype<NumV>(v);
  if (n.raw !== null) return true;
  // an integral number written with a fraction or exponent (1e20): past i64 by its digits
  if (n.dec === null) return false;
  let t = integerText(n);
  return t !== null && !changetype<NumV>(fromText(t)).isInt;
}

/** numbers.range(_step) when an endpoint is past i64: OPA steps through big.Ints. */
function bigRange (name: string, a: Value, b: Value, step: i64): Value | null {
  let ta = integerText(changetype<NumV>(a));
  let tb = integerText(changetype<NumV>(b));
  if (ta === null || tb === null) return builtinError(name, "operand must be integer number but got floating-point number");
  let diff = bigSub(tb, ta);
  let down = diff.charCodeAt(0) == 45;
  let mag = down ? diff.substring(1) : diff;
  let st = step.toString();
  let n: i64;
  if (mag.length <= 18) {
    n = I64.parseInt(mag) / step + 1;
    if (n > MAX_RANGE) return builtinError(name, "range too large");
    chargeSteps(n);
  } else {
    // span / step in doubles: far past the limit is too large; otherwise its cost is charged
    // before counting by stepping (the count is exact, the estimate may be off by a little)
    let est = parseFloat(mag) / <f64>step;
    if (est > <f64>MAX_RANGE * 1.001) return builtinError(name, "range too large");
    chargeSteps(<i64>est);
    n = 1;
    for (let cur = ta; n <= MAX_RANGE; n++) {
      cur = down ? bigSub(cur, st) : bigAdd(cur, st);
      if (down ? compareIntText(cur, tb) < 0 : compareIntText(cur, tb) > 0) break;
    }
  }
  if (n > MAX_RANGE) return builtinError(name, "range too large");
  let out = newArrayCap(<i32>n);
  let cur = ta;
  for (let i: i64 = 0; i < n; i++) {
    out.push(fromText(cur));
    cur = down ? bigSub(cur, st) : bigAdd(cur, st);
  }
  return out;
}

export function range (args: Array<Value>): Value | null {
  if (bigEndpoint(args[0]) || bigEndpoint(args[1])) {
    bigIntArg("numbers.range", bigEndpoint(args[0]) ? mkInt(0) : args[0], 1);
    if (!intOk) return null;
    bigIntArg("numbers.range", bigEndpoint(args[1]) ? mkInt(0) : args[1], 2);
    if (!intOk) return null;
    return bigRange("numbers.range", args[0], args[1], 1);
  }
  let a = bigIntArg("numbers.range", args[0], 1);
  if (!intOk) return null;
  let b = bigIntArg("numbers.range", args[1], 2);
  if (!intOk) return null;
  return buildRange("numbers.range", a, b, 1);
}

export function rangeStep (args: Array<Value>): Value | null {
  let bigEnds = bigEndpoint(args[0]) || bigEndpoint(args[1]);
  let a = bigIntArg("numbers.range_step", bigEndpoint(args[0]) ? mkInt(0) : args[0], 1);
  if (!intOk) return null;
  let b = bigIntArg("numbers.range_step", bigEndpoint(args[1]) ? mkInt(0) : args[1], 2);
  if (!intOk) return null;
  // a step past i64 (an integer literal kept exact) is longer than any range: just the start
  let sv = args[2];
  let big = sv.kind == T_NUMBER && changetype<NumV>(sv).raw !== null && isInteger(sv);
  let s: i64 = 0;
  if (big) s = changetype<NumV>(sv).raw!.charCodeAt(0) == 45 ? -1 : i64.MAX_VALUE;
  else {
    s = bigIntArg("numbers.range_step", sv, 3);
    if (!intOk) return null;
  }
  if (s <= 0) return builtinError("numbers.range_step", "step must be a positive integer");
  if (bigEnds) return bigRange("numbers.range_step", args[0], args[1], s);
  return buildRange("numbers.range_step", a, b, s);
}

function buildRange (name: string, a: i64, b: i64, step: i64): Value | null {
  let span = a <= b ? b - a : a - b;
  if (span < 0 || span / step >= MAX_RANGE) return builtinError(name, "range too large");
  let n = <i32>(span / step) + 1;
  chargeSteps(<i64>n); // before building it: one call can ask for MAX_RANGE elements
  let out = newArrayCap(n);
  if (a <= b) { for (let x = a; x <= b; x += step) { out.push(mkInt(x)); if (b - x < step) break; } }
  else { for (let x = a; x >= b; x -= step) { out.push(mkInt(x)); if (x - b < step) break; } }
  return out;
}

// ---- conversions ------------------------------------------------------------------

export function toNumber (args: Array<Value>): Value | null {
  let a = args[0];
  switch (a.kind) {
    case T_NULL: return mkInt(0);
    case T_BOOL: return mkInt(changetype<BoolV>(a).b ? 1 : 0);
    case T_NUMBER: return a;
    case T_STRING: {
      let s = changetype<StrV>(a).s;
      // Go's ParseFloat would read these as non-finite numbers; OPA refuses them as a type error
      if (isNonFiniteWord(s)) return typeError("to_number", 1, "valid number string", a);
      let text = goFloatSyntax(s);
      if (text === OUT_OF_RANGE) return builtinError("to_number", "strconv.ParseFloat: parsing " + quoteGo(s) + ": value out of range");
      let v: Value | null = null;
      if (text !== null) v = parseLooseNumber(text);
      if (v === null) return builtinError("to_number", "strconv.ParseFloat: parsing " + quoteGo(s) + ": invalid syntax");
      // OPA checks the string with ParseFloat first, which refuses a number past the doubles
      if (!isFinite(numToF64(v!))) return builtinError("to_number", "strconv.ParseFloat: parsing " + quoteGo(s) + ": value out of range");
      return v;
    }
  }
  return typeError("to_number", 1, "one of {boolean, null, number, string}", a);
}

/** "inf", "infinity" or "nan" in any case, after any leading signs. */
function isNonFiniteWord (s: string): bool {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) == 43 || s.charCodeAt(i) == 45)) i++;
  let w = s.substring(i).toLowerCase();
  return w == "inf" || w == "infinity" || w == "nan";
}

// ---- Go float syntax beyond JSON's --------------------------------------------------
// OPA's to_number accepts what Go's strconv.ParseFloat reads and keeps the text, which then
// compares and computes as the number it denotes (big.Float). Beyond JSON's syntax that is
// digit-separating underscores ("1_000", "0x_1p4") and hexadecimal floats ("0x1p4" is 16,
// "0x1.8p-1" is 0.75; the p exponent is required). Both are rewritten to decimal text here, so
// that `to_number(input.limit) > 100` holds for "1_000" as in OPA (it was undefined, and a
// deny rule on it did not fire).

const OUT_OF_RANGE = "!";
// Hexadecimal values are written out exactly down to 2^-HEX_EXACT_EXP (below the doubles'
// range already); smaller ones, which only big.Float holds, get a double's significant digits.
const HEX_EXACT_EXP: i64 = 1200;

/** s with Go's extras rewritten as decimal text (s itself when it has none), null when Go
 * refuses its underscores, OUT_OF_RANGE for a hexadecimal value past the doubles. */
function goFloatSyntax (s: string): string | null {
  let n = s.length;
  let i = 0;
  let neg = false;
  if (n > 0 && (s.charCodeAt(0) == 43 || s.charCodeAt(0) == 45)) { neg = s.charCodeAt(0) == 45; i = 1; }
  let hex = i + 2 < n && s.charCodeAt(i) == 48 && (s.charCodeAt(i + 1) | 0x20) == 0x78;
  let underscores = s.indexOf("_") >= 0;
  if (underscores && !underscoresOk(s.substring(i), hex)) return null;
  if (!hex) return underscores ? s.replaceAll("_", "") : s;
  let t = hexFloatText(s.substring(i + 2));
  if (t === null || t === OUT_OF_RANGE) return t;
  return neg && t != "0" ? "-" + t : t;
}

/** Go's rule for underscores (strconv's underscoreOK): each sits between two digits, or
 * between the base prefix and a digit. `t` has no sign. */
function underscoresOk (t: string, hex: bool): bool {
  let i = 0;
  let last = 0x5e; // '^' start, '0' digit or prefix, '_' underscore, '!' anything else
  if (t.length >= 2 && t.charCodeAt(0) == 48) {
    let b = t.charCodeAt(1) | 0x20;
    if (b == 0x62 || b == 0x6f || b == 0x78) { i = 2; last = 48; }
  }
  for (; i < t.length; i++) {
    let c = t.charCodeAt(i);
    let lc = c | 0x20;
    if (isDigitCode(c) || (hex && lc >= 0x61 && lc <= 0x66)) { last = 48; continue; }
    if (c == 95) {
      if (last != 48) return false;
      last = 95;
      continue;
    }
    if (last == 95) return false;
    last = 0x21;
  }
  return last != 95;
}

function hexValue (c: i32): i32 {
  if (isDigitCode(c)) return c - 48;
  let lc = c | 0x20;
  return lc >= 0x61 && lc <= 0x66 ? lc - 87 : -1;
}

/** The value of a hexadecimal float's digits after "0x" (underscores already checked), rounded
 * to a 64-bit mantissa as big.Float reads it, as decimal text; null when not Go's syntax. */
function hexFloatText (t: string): string | null {
  let n = t.length;
  let i = 0;
  let mant: u64 = 0;
  let taken: i64 = 0; // mantissa bits in mant (at most 64)
  let rest: i64 = 0; // significant bits after those
  let roundBit = false, sticky = false;
  let digits = false, dot = false;
  let frac: i64 = 0; // hex digits after the point
  for (; i < n; i++) {
    let c = t.charCodeAt(i);
    if (c == 95) continue;
    if (c == 46) { if (dot) return null; dot = true; continue; }
    let d = hexValue(c);
    if (d < 0) break;
    digits = true;
    if (dot) frac++;
    for (let b = 3; b >= 0; b--) {
      let bit = (d >> b) & 1;
      if (taken == 0 && rest == 0 && bit == 0) continue; // leading zeros
      if (taken < 64) { mant = (mant << 1) | <u64>bit; taken++; } else {
        if (rest == 0) roundBit = bit != 0; else if (bit != 0) sticky = true;
        rest++;
      }
    }
  }
  if (!digits || i >= n || (t.charCodeAt(i) | 0x20) != 0x70) return null;
  i++;
  let eneg = false;
  if (i < n && (t.charCodeAt(i) == 43 || t.charCodeAt(i) == 45)) { eneg = t.charCodeAt(i) == 45; i++; }
  if (i >= n || !isDigitCode(t.charCodeAt(i))) return null;
  let e: i64 = 0;
  for (; i < n; i++) {
    let c = t.charCodeAt(i);
    if (c == 95) continue;
    if (!isDigitCode(c)) return null;
    if (e < 10000) e = e * 10 + <i64>(c - 48); // as Go: larger exponents stop growing
  }
  if (mant == 0) return "0";
  let exp = rest - 4 * frac + (eneg ? -e : e);
  if (roundBit && (sticky || (mant & 1) != 0)) {
    mant++;
    if (mant == 0) { mant = <u64>1 << 63; exp++; }
  }
  if (exp >= 0) {
    if (exp + taken > 1100) return OUT_OF_RANGE;
    return bigMul(mant.toString(), powerText(2, <i32>exp));
  }
  if (-exp > HEX_EXACT_EXP) {
    // Far below the doubles: mant * 2^exp to a double's precision.
    let l = Math.log10(<f64>mant) + <f64>exp * Math.log10(2.0);
    let e10 = Math.floor(l);
    return Math.pow(10, l - e10).toString() + "e" + (<i64>e10).toString();
  }
  // mant * 2^exp = mant * 5^-exp / 10^-exp
  let k = <i32>-exp;
  let ds = bigMul(mant.toString(), powerText(5, k));
  let whole = ds.length > k ? ds.substring(0, ds.length - k) : "0";
  let fraction = ds.length > k ? ds.substring(ds.length - k) : "0".repeat(k - ds.length) + ds;
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) == 48) end--;
  return end == 0 ? whole : whole + "." + fraction.substring(0, end);
}

/** base^k as decimal digits (base 2 or 5, k at most a few thousand). */
function powerText (base: i32, k: i32): string {
  let r = "1";
  let step = base == 2 ? "1073741824" : "1220703125"; // 2^30, 5^13
  let per = base == 2 ? 30 : 13;
  while (k >= per) { r = bigMul(r, step); k -= per; }
  let last: i64 = 1;
  for (let j = 0; j < k; j++) last *= base;
  return last == 1 ? r : bigMul(r, last.toString());
}

/** JSON number syntax, also accepting a leading '+', ".5" and "5." (as Go's ParseFloat). */
function parseLooseNumber (s: string): Value | null {
  let n = s.length;
  if (n == 0) return null;
  let t = s;
  let neg = false;
  let c0 = t.charCodeAt(0);
  if (c0 == 43 || c0 == 45) { neg = c0 == 45; t = t.substring(1); }
  if (t.length == 0) return null;
  // strip leading zeros of the integer part (JSON forbids them; ParseFloat allows them)
  let i = 0;
  while (i + 1 < t.length && t.charCodeAt(i) == 48 && t.charCodeAt(i + 1) >= 48 && t.charCodeAt(i + 1) <= 57) i++;
  if (i > 0) t = t.substring(i);
  if (t.charCodeAt(0) == 46) t = "0" + t;
  let dot = t.indexOf(".");
  if (dot >= 0 && (dot + 1 == t.length || !isDigitCode(t.charCodeAt(dot + 1)))) {
    t = t.substring(0, dot + 1) + "0" + t.substring(dot + 1);
  }
  let v = mkNum(neg ? "-" + t : t);
  return v;
}

function isDigitCode (c: i32): bool { return c >= 48 && c <= 57; }

function quoteGo (s: string): string {
  return "\"" + s.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"") + "\"";
}

export function formatInt (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (!isNum(a)) return typeError("format_int", 1, "number", a);
  if (!isNum(b)) return typeError("format_int", 2, "number", b);
  let base = numToI64(b);
  if (!i64Ok || (base != 2 && base != 8 && base != 10 && base != 16)) {
    return typeErrorMsg("format_int", "operand 2 must be one of {2, 8, 10, 16}");
  }
  let n = changetype<NumV>(a);
  let i: i64;
  if (n.isInt) i = n.i;
  else if (n.raw !== null) {
    // An integer past i64 is formatted exactly, as OPA does since PR #8857 (July 2026; it went
    // through the 64-bit big.Float before, as non-integers still do below). Repeated division
    // is quadratic in the digits (about n^2/60 limb divisions): charged to the step budget.
    let digits = integerText(n)!;
    if (base != 10) chargeSteps(<i64>digits.length * <i64>digits.length / 256);
    return mkStr(signedInBase(digits, <i32>base));
  } else {
    let f = Math.trunc(numToF64(a));
    if (n.dec !== null || !(f >= -9223372036854775808.0 && f < 9223372036854775808.0)) {
      // OPA formats the integer part of the number's 64-bit big.Float (NumberToFloat, Int), which
      // is no i64 here: 1e20 is "100000000000000000000", 9.3e40 its 64-bit rounding's digits.
      if (floatBuiltinId() < 0) return builtinError("format_int", "number too large");
      let t = floatOp("trunc", a, mkInt(0));
      if (t === null || t.kind != T_NUMBER) return null;
      let digits = integerText(changetype<NumV>(t));
      if (digits === null) return builtinError("format_int", "number too large");
      return mkStr(signedInBase(digits, <i32>base));
    }
    i = <i64>f;
  }
  let neg = i < 0;
  let u: u64 = neg ? <u64>(0 - i) : <u64>i;
  let s = u.toString(<i32>base);
  return mkStr(neg ? "-" + s : s);
}

/** Signed decimal digits written in base 2, 8, 10 or 16 (lowercase, as Go's %b %o %d %x). */
function signedInBase (dec: string, base: i32): string {
  let neg = dec.charCodeAt(0) == 45;
  let mag = neg ? dec.substring(1) : dec;
  if (base == 10) return mag == "0" ? "0" : dec;
  // Repeated division, in place, of the decimal digits (as limbs of 9) by base^k < 2^31: each
  // round's remainder gives k output digits. Memory stays linear (the runtime frees nothing
  // within an evaluation) and a round handles k digits, not one.
  let k = base == 2 ? 30 : base == 8 ? 10 : 7;
  let div: i64 = 1;
  for (let j = 0; j < k; j++) div *= base;
  let n = (mag.length + 8) / 9;
  let limbs = new StaticArray<i64>(n);
  let first = mag.length - (n - 1) * 9;
  for (let j = 0, at = 0; j < n; j++) {
    let len = j == 0 ? first : 9;
    let v: i64 = 0;
    for (let c = 0; c < len; c++) v = v * 10 + <i64>(mag.charCodeAt(at + c) - 48);
    unchecked(limbs[j] = v);
    at += len;
  }
  let out = new Array<i32>(); // output digits, least significant first
  let lead = 0;
  while (lead < n && unchecked(limbs[lead]) == 0) lead++;
  while (lead < n) {
    let rem: i64 = 0;
    for (let j = lead; j < n; j++) {
      let cur = rem * 1000000000 + unchecked(limbs[j]);
      unchecked(limbs[j] = cur / div);
      rem = cur % div;
    }
    for (let j = 0; j < k; j++) { out.push(<i32>(rem % base)); rem /= base; }
    while (lead < n && unchecked(limbs[lead]) == 0) lead++;
  }
  let top = out.length - 1;
  while (top > 0 && unchecked(out[top]) == 0) top--;
  if (top < 0) return "0";
  let b = new Array<string>(top + 1);
  for (let j = top, q = 0; j >= 0; j--, q++) unchecked(b[q] = "0123456789abcdef".charAt(unchecked(out[j])));
  let str = b.join("");
  return neg && str != "0" ? "-" + str : str;
}

// ---- comparison -------------------------------------------------------------------

export function eq (args: Array<Value>): Value | null { return mkBool(equals(args[0], args[1])); }
export function neq (args: Array<Value>): Value | null { return mkBool(!equals(args[0], args[1])); }
export function lt (args: Array<Value>): Value | null { return mkBool(compare(args[0], args[1]) < 0); }
export function lte (args: Array<Value>): Value | null { return mkBool(compare(args[0], args[1]) <= 0); }
export function gt (args: Array<Value>): Value | null { return mkBool(compare(args[0], args[1]) > 0); }
export function gte (args: Array<Value>): Value | null { return mkBool(compare(args[0], args[1]) >= 0); }

/** An integer operand as OPA's BigIntOperand reads it: any number whose value is an integer
 * (3.0 and 1e2 too, unlike intArg's Number.Int); sets `intOk`. Integers past i64 are refused
 * by the callers before this. */
function bigIntArg (name: string, v: Value, operand: i32): i64 {
  if (v.kind == T_NUMBER && changetype<NumV>(v).dec !== null && isInteger(v)) {
    let t = integerText(changetype<NumV>(v));
    if (t !== null) {
      let r = fromText(t);
      if (changetype<NumV>(r).isInt) { intOk = true; return changetype<NumV>(r).i; }
    }
  }
  return intArg(name, v, operand);
}

// ---- bits -------------------------------------------------------------------------
// OPA's bits.* work on arbitrary-precision integers (two's complement for negatives: Go's
// math/big). Here operands are 64-bit, where and/or/xor/negate/rsh in i64 give exactly those
// results; lsh is exact at any size (past i64 the result is written out in decimal, as a big
// literal is kept). An operand past 64 bits is an error (fails closed), never a wrong answer.

function bitsArg (name: string, v: Value, operand: i32): i64 {
  if (v.kind == T_NUMBER && changetype<NumV>(v).raw !== null) {
    intOk = false;
    builtinError(name, "operand " + operand.toString() + " is an integer beyond 64 bits, which is not supported here");
    return 0;
  }
  return bigIntArg(name, v, operand);
}

function shiftArg (name: string, v: Value): i64 {
  let s = bitsArg(name, v, 2);
  if (!intOk) return 0;
  if (s < 0) { intOk = false; typeErrorMsg(name, "operand 2 must be an unsigned integer number but got a negative integer"); }
  return s;
}

export function bitsOr (args: Array<Value>): Value | null {
  let a = bitsArg("bits.or", args[0], 1); if (!intOk) return null;
  let b = bitsArg("bits.or", args[1], 2); if (!intOk) return null;
  return mkInt(a | b);
}

export function bitsAnd (args: Array<Value>): Value | null {
  let a = bitsArg("bits.and", args[0], 1); if (!intOk) return null;
  let b = bitsArg("bits.and", args[1], 2); if (!intOk) return null;
  return mkInt(a & b);
}

export function bitsXor (args: Array<Value>): Value | null {
  let a = bitsArg("bits.xor", args[0], 1); if (!intOk) return null;
  let b = bitsArg("bits.xor", args[1], 2); if (!intOk) return null;
  return mkInt(a ^ b);
}

export function bitsNegate (args: Array<Value>): Value | null {
  let a = bitsArg("bits.negate", args[0], 1); if (!intOk) return null;
  return mkInt(~a);
}

export function bitsRsh (args: Array<Value>): Value | null {
  let a = bitsArg("bits.rsh", args[0], 1); if (!intOk) return null;
  let s = shiftArg("bits.rsh", args[1]); if (!intOk) return null;
  return mkInt(s >= 63 ? (a < 0 ? -1 : 0) : a >> s); // arithmetic: floor(a / 2^s)
}

/** Past this many bits a shifted value is refused rather than written out (a policy bound). */
const MAX_LSH_BITS: i64 = 4096;

export function bitsLsh (args: Array<Value>): Value | null {
  let a = bitsArg("bits.lsh", args[0], 1); if (!intOk) return null;
  let s = shiftArg("bits.lsh", args[1]); if (!intOk) return null;
  if (a == 0) return mkInt(0);
  if (s < 63) {
    let r = a << s;
    if ((r >> s) == a) return mkInt(r);
  }
  if (s > MAX_LSH_BITS) return builtinError("bits.lsh", "a shift of more than " + MAX_LSH_BITS.toString() + " bits is not supported here");
  // |a| * 2^s in base-10^9 limbs (least significant first), then its decimal text.
  let neg = a < 0;
  let mag: u64 = neg ? <u64>(-(a + 1)) + 1 : <u64>a;
  let limbs = new Array<u32>();
  while (mag != 0) { limbs.push(<u32>(mag % 1000000000)); mag /= 1000000000; }
  let left = s;
  while (left > 0) {
    let k = left > 29 ? 29 : left;
    let m: u64 = (<u64>1) << <u64>k;
    let carry: u64 = 0;
    for (let i = 0; i < limbs.length; i++) {
      let t = <u64>unchecked(limbs[i]) * m + carry;
      unchecked(limbs[i] = <u32>(t % 1000000000));
      carry = t / 1000000000;
    }
    while (carry != 0) { limbs.push(<u32>(carry % 1000000000)); carry /= 1000000000; }
    left -= k;
  }
  let text = neg ? "-" : "";
  text += limbs[limbs.length - 1].toString();
  for (let i = limbs.length - 2; i >= 0; i--) {
    let part = unchecked(limbs[i]).toString();
    while (part.length < 9) part = "0" + part;
    text += part;
  }
  chargeSteps(limbs.length);
  return mkBigInt(text, <f64>a * Math.pow(2, <f64>s));
}
