// Exact integer arithmetic past 64 bits, as OPA's (math/big) gives it: 18446744073709551617 + 1
// is 18446744073709551618, not the double 1.8446744073709552e19. Operands are signed decimal
// digit strings (the text a big integer literal keeps); results that fit i64 become i64 again.
// Only the rare operations past i64 come here, so plain digit-string arithmetic is enough.

import { Value, NumV, mkInt, mkBigInt, decimalIntegerText, isInteger } from "./value";

// Integers with more digits than this are not expanded (1e100000 stays a double).
const MAX_DIGITS: i32 = 4096;

/** The integer `n` denotes as signed digits, or null (not an integer, or too long). */
export function integerText (n: NumV): string | null {
  if (n.isInt) return n.i.toString();
  let raw = n.raw;
  if (raw !== null) return raw.charCodeAt(0) == 45 && raw == "-0" ? "0" : raw;
  let dec = n.dec;
  if (dec !== null) return decimalIntegerText(dec, MAX_DIGITS);
  let f = n.f;
  if (!isFinite(f) || Math.floor(f) != f) return null;
  if (Math.abs(f) < 9007199254740992.0) return (<i64>f).toString();
  // A double's value is the decimal of its shortest form (1e30 is 10^30), as for comparison.
  return decimalIntegerText(f.toString(), MAX_DIGITS);
}

/** Whether `a` op `b` takes the exact path: both integers, and one of them kept as text or
 * past 2^53 (where a double stops being exact), or both i64 (their i64 result overflowed). */
export function needsBig (a: NumV, b: NumV): bool {
  if (!isInteger(a) || !isInteger(b)) return false;
  if (a.isInt && b.isInt) return true;
  return a.raw !== null || b.raw !== null || a.dec !== null || b.dec !== null || pastDouble(a) || pastDouble(b);
}

function pastDouble (n: NumV): bool {
  return n.isInt ? (n.i >= 9007199254740992 || n.i <= -9007199254740992) : Math.abs(n.f) >= 9007199254740992.0;
}

/** A number from signed digits: i64 when it fits, else a big integer. */
export function fromText (t: string): Value {
  let neg = t.charCodeAt(0) == 45;
  let mag = neg ? t.substring(1) : t;
  if (mag.length < 19 || (mag.length == 19 && cmpMag(mag, neg ? "9223372036854775808" : "9223372036854775807") <= 0)) {
    let v: i64 = 0;
    for (let i = 0; i < mag.length; i++) v = v * 10 - <i64>(mag.charCodeAt(i) - 48); // negative accumulation reaches i64 min
    return mkInt(neg ? v : -v);
  }
  return mkBigInt(t, parseFloat(t));
}

function cmpMag (a: string, b: string): i32 {
  if (a.length != b.length) return a.length < b.length ? -1 : 1;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

function strip (s: string): string {
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) == 48) i++;
  return i == 0 ? s : s.substring(i);
}

function addMag (a: string, b: string): string {
  let i = a.length - 1, j = b.length - 1, carry = 0;
  let out = new Array<i32>();
  while (i >= 0 || j >= 0 || carry != 0) {
    let d = carry + (i >= 0 ? a.charCodeAt(i--) - 48 : 0) + (j >= 0 ? b.charCodeAt(j--) - 48 : 0);
    out.push(d % 10);
    carry = d / 10;
  }
  return digitsText(out);
}

/** a - b for a >= b. */
function subMag (a: string, b: string): string {
  let i = a.length - 1, j = b.length - 1, borrow = 0;
  let out = new Array<i32>();
  while (i >= 0) {
    let d = a.charCodeAt(i--) - 48 - borrow - (j >= 0 ? b.charCodeAt(j--) - 48 : 0);
    if (d < 0) { d += 10; borrow = 1; } else borrow = 0;
    out.push(d);
  }
  return digitsText(out);
}

function mulMag (a: string, b: string): string {
  let n = a.length, m = b.length;
  let acc = new Array<i64>(n + m);
  for (let i = n - 1; i >= 0; i--) {
    let x = <i64>(a.charCodeAt(i) - 48);
    if (x == 0) continue;
    for (let j = m - 1; j >= 0; j--) acc[i + j + 1] += x * <i64>(b.charCodeAt(j) - 48);
  }
  let out = new Array<i32>();
  let carry: i64 = 0;
  for (let k = n + m - 1; k >= 0; k--) {
    let d = acc[k] + carry;
    out.push(<i32>(d % 10));
    carry = d / 10;
  }
  return digitsText(out);
}

/** Remainder of a / b (b != 0), by long division. */
function remMag (a: string, b: string): string {
  let r = "0";
  for (let i = 0; i < a.length; i++) {
    r = strip(r + String.fromCharCode(a.charCodeAt(i)));
    while (cmpMag(r, b) >= 0) r = subMag(r, b);
  }
  return r;
}

/** Little-endian digits to text, without leading zeros. */
function digitsText (ds: Array<i32>): string {
  let k = ds.length - 1;
  while (k > 0 && ds[k] == 0) k--;
  // One string written in place: appended a digit at a time, the copies cost memory quadratic
  // in the digits (nothing is freed during an evaluation; 20,000 digits ran out of memory).
  let n = k + 1;
  let out = __new(<usize>n << 1, idof<String>());
  for (let j = 0; j < n; j++) store<u16>(out + (<usize>j << 1), <u16>(48 + unchecked(ds[k - j])));
  return changetype<string>(out);
}

function signed (neg: bool, mag: string): string {
  return neg && mag != "0" ? "-" + mag : mag;
}

export function bigAdd (a: string, b: string): string {
  let na = a.charCodeAt(0) == 45, nb = b.charCodeAt(0) == 45;
  let ma = na ? a.substring(1) : a, mb = nb ? b.substring(1) : b;
  if (na == nb) return signed(na, addMag(ma, mb));
  let c = cmpMag(ma, mb);
  if (c == 0) return "0";
  return c > 0 ? signed(na, subMag(ma, mb)) : signed(nb, subMag(mb, ma));
}

export function bigSub (a: string, b: string): string {
  return bigAdd(a, b.charCodeAt(0) == 45 ? b.substring(1) : (b == "0" ? b : "-" + b));
}

export function bigMul (a: string, b: string): string {
  let na = a.charCodeAt(0) == 45, nb = b.charCodeAt(0) == 45;
  return signed(na != nb, mulMag(na ? a.substring(1) : a, nb ? b.substring(1) : b));
}

/** Truncated remainder (the dividend's sign), as Go's big.Int Rem; b must not be zero. */
export function bigRem (a: string, b: string): string {
  let na = a.charCodeAt(0) == 45, nb = b.charCodeAt(0) == 45;
  return signed(na, remMag(na ? a.substring(1) : a, nb ? b.substring(1) : b));
}
