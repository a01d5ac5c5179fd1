// Correctly rounded decimal -> f64 conversion (round half to even).
//
// decimalToF64(mant, e10, sticky) is the double nearest to mant * 10^e10, where `sticky`
// says further non-zero digits were dropped from mant. A floating-point estimate is
// refined by exact big-integer comparisons against the midpoints between neighbouring
// doubles; the estimate is within a few ulps, so this converges in a step or two.

const LIMBS: i32 = 80; // 2560 bits: enough for 10^19 * 5^343 * 2^1100

class Big {
  d: StaticArray<u32> = new StaticArray<u32>(LIMBS);
  n: i32 = 0; // used limbs

  setU64 (v: u64): Big {
    this.n = 0;
    while (v != 0) { unchecked(this.d[this.n++] = <u32>v); v >>= 32; }
    return this;
  }

  mulSmall (m: u32): void {
    let carry: u64 = 0;
    for (let i = 0; i < this.n; i++) {
      let t = <u64>unchecked(this.d[i]) * <u64>m + carry;
      unchecked(this.d[i] = <u32>t);
      carry = t >> 32;
    }
    if (carry != 0) unchecked(this.d[this.n++] = <u32>carry);
  }

  mulPow5 (e: i32): void {
    while (e >= 13) { this.mulSmall(1220703125); e -= 13; }
    if (e > 0) {
      let m: u32 = 1;
      for (let i = 0; i < e; i++) m *= 5;
      this.mulSmall(m);
    }
  }

  shl (s: i32): void {
    if (this.n == 0 || s == 0) return;
    let limbs = s >>> 5, bits = s & 31;
    let n = this.n;
    if (bits != 0) {
      let carry: u32 = 0;
      for (let i = 0; i < n; i++) {
        let v = unchecked(this.d[i]);
        unchecked(this.d[i] = (v << bits) | carry);
        carry = v >>> (32 - bits);
      }
      if (carry != 0) unchecked(this.d[n++] = carry);
    }
    if (limbs != 0) {
      for (let i = n - 1; i >= 0; i--) unchecked(this.d[i + limbs] = this.d[i]);
      for (let i = 0; i < limbs; i++) unchecked(this.d[i] = 0);
      n += limbs;
    }
    this.n = n;
  }

  /** Divides in place by m; returns the remainder. */
  divSmall (m: u32): u32 {
    let rem: u64 = 0;
    for (let i = this.n - 1; i >= 0; i--) {
      let cur = (rem << 32) | <u64>unchecked(this.d[i]);
      unchecked(this.d[i] = <u32>(cur / <u64>m));
      rem = cur % <u64>m;
    }
    while (this.n > 0 && unchecked(this.d[this.n - 1]) == 0) this.n--;
    return <u32>rem;
  }

  cmp (o: Big): i32 {
    if (this.n != o.n) return this.n < o.n ? -1 : 1;
    for (let i = this.n - 1; i >= 0; i--) {
      let a = unchecked(this.d[i]), b = unchecked(o.d[i]);
      if (a != b) return a < b ? -1 : 1;
    }
    return 0;
  }
}

// Two numbers reused by every comparison: a Big is 80 limbs, and formatting one double (sprintf
// tries precisions until one reads back) made dozens of them, ~17 KB per number, which an
// evaluation never frees: 20,000 numbers in one input exhausted the module's memory.
// @ts-ignore: decorator
@lazy const scratchL = new Big();
// @ts-ignore: decorator
@lazy const scratchR = new Big();

/** Sign of mant * 10^e10 - (midpoint between y and the next double up). */
function cmpNextMid (mant: u64, e10: i32, y: f64): i32 {
  let bits = reinterpret<u64>(y);
  let be = <i32>((bits >> 52) & 0x7FF);
  let m = bits & 0xFFFFFFFFFFFFF;
  let k: i32;
  if (be == 0) { k = -1074; } else { m |= <u64>1 << 52; k = be - 1075; }
  // midpoint = (2m + 1) * 2^(k - 1)
  let L = scratchL.setU64(mant);
  let R = scratchR.setU64(2 * m + 1);
  if (e10 >= 0) L.mulPow5(e10); else R.mulPow5(-e10);
  let a2 = e10 - (k - 1);
  if (a2 >= 0) L.shl(a2); else R.shl(-a2);
  return L.cmp(R);
}

function nextUp (x: f64): f64 { return reinterpret<f64>(reinterpret<u64>(x) + 1); }
function nextDown (x: f64): f64 { return reinterpret<f64>(reinterpret<u64>(x) - 1); }

export function decimalToF64 (mant: u64, e10: i32, sticky: bool): f64 {
  if (mant == 0) return 0;
  if (e10 > 310) return Infinity;
  if (e10 < -343) return 0; // mant < 10^19, so the value is below 10^-324
  // Estimate.
  let h = e10 / 2;
  let x = <f64>mant * Math.pow(10, <f64>h) * Math.pow(10, <f64>(e10 - h));
  if (x == Infinity) x = f64.MAX_VALUE;
  if (x == 0) x = 5e-324;
  // Refine upwards.
  for (let i = 0; i < 64; i++) {
    if (x == f64.MAX_VALUE) {
      let c = cmpNextMid(mant, e10, x);
      if (c >= 0) return Infinity; // a tie goes up: MAX's mantissa is odd
      break;
    }
    let c = cmpNextMid(mant, e10, x);
    if (c > 0 || (c == 0 && (sticky || (reinterpret<u64>(x) & 1) != 0))) { x = nextUp(x); continue; }
    break;
  }
  // Refine downwards.
  for (let i = 0; i < 64; i++) {
    if (x == 5e-324) {
      // Below the smallest subnormal's lower midpoint (2^-1075) the value rounds to 0.
      let c = cmpNextMid(mant, e10, 0);
      if (c < 0 || (c == 0 && !sticky)) return 0;
      break;
    }
    let p = nextDown(x);
    let c = cmpNextMid(mant, e10, p);
    if (c < 0 || (c == 0 && !sticky && (reinterpret<u64>(x) & 1) != 0)) { x = p; continue; }
    break;
  }
  return x;
}

/** Exact decimal digits of an integral, finite, non-negative double. */
export function integralDigits (f: f64): string {
  if (f < 18446744073709551616.0) return (<u64>f).toString();
  let bits = reinterpret<u64>(f);
  let be = <i32>((bits >> 52) & 0x7FF);
  let m = (bits & 0xFFFFFFFFFFFFF) | (<u64>1 << 52);
  let b = new Big().setU64(m);
  b.shl(be - 1075);
  let parts = new Array<string>();
  while (b.n > 0) {
    let r = b.divSmall(1000000000);
    let chunk = r.toString();
    if (b.n > 0) while (chunk.length < 9) chunk = "0" + chunk;
    parts.unshift(chunk);
  }
  return parts.join("");
}
