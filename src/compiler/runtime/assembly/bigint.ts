// Exact integer arithmetic past 64 bits, as OPA's (math/big) gives it: 18446744073709551617 + 1
// is 18446744073709551618, not the double 1.8446744073709552e19. Operands are signed decimal
// digit strings (the text a big integer literal keeps); results that fit i64 become i64 again.
// Only the rare operations past i64 come here, so plain digit-string arithmetic is enough.

import { Value, NumV, mkInt, mkBigInt, decimalIntegerText, isInteger } from "./value";
import { chargeSteps } from "./budget";

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

// Schoolbook multiplication and long division take |a| x |b| digit steps: charged to the
// evaluation's step budget (budget.ts) before they run, so two 100,000-digit numbers from a
// request stop the evaluation (fail closed) instead of blocking the event loop for seconds.
// One step per DIGIT_WORK digit products, about an interpreter step's time.
const DIGIT_WORK: i64 = 16;

function mulMag (a: string, b: string): string {
  let n = a.length, m = b.length;
  chargeSteps(<i64>n * <i64>m / DIGIT_WORK);
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
  let m = b.length;
  chargeSteps(<i64>a.length * <i64>m / DIGIT_WORK);
  // The running remainder as digits (most significant first, at most m + 1 of them), updated
  // in place: as strings, every step copied it (memory |a| x |b|: 128 MB for 10,000 digits).
  let bd = new StaticArray<i32>(m);
  for (let j = 0; j < m; j++) unchecked(bd[j] = b.charCodeAt(j) - 48);
  let r = new StaticArray<i32>(m + 1);
  let len = 0; // digits of r in use, no leading zero
  for (let i = 0; i < a.length; i++) {
    let d = a.charCodeAt(i) - 48;
    if (len > 0 || d != 0) { unchecked(r[len] = d); len++; }
    while (len > m || (len == m && cmpDigits(r, bd, m) >= 0)) {
      // r -= b, aligned at the right
      let borrow = 0;
      for (let k = 0; k < len; k++) {
        let x = unchecked(r[len - 1 - k]) - borrow - (k < m ? unchecked(bd[m - 1 - k]) : 0);
        borrow = x < 0 ? 1 : 0;
        unchecked(r[len - 1 - k] = x + borrow * 10);
      }
      let z = 0;
      while (z < len && unchecked(r[z]) == 0) z++;
      if (z > 0) { for (let k = z; k < len; k++) unchecked(r[k - z] = r[k]); len -= z; }
    }
  }
  if (len == 0) return "0";
  let out = __new(<usize>len << 1, idof<String>());
  for (let k = 0; k < len; k++) store<u16>(out + (<usize>k << 1), <u16>(48 + unchecked(r[k])));
  return changetype<string>(out);
}

/** Compares the first m digits of x with y (both m digits, most significant first). */
function cmpDigits (x: StaticArray<i32>, y: StaticArray<i32>, m: i32): i32 {
  for (let k = 0; k < m; k++) {
    let p = unchecked(x[k]), q = unchecked(y[k]);
    if (p != q) return p < q ? -1 : 1;
  }
  return 0;
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
