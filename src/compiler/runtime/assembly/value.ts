// The value model shared by everything in the runtime.
//
// Kinds follow OPA's ordering: null < boolean < number < string < array < object < set.
// Objects keep their keys sorted (unique) with values in a parallel array; sets keep their
// elements sorted and unique. Both use binary search. Values are mutable through
// ObjV.set/remove and SetV.add/remove: callers that share a value must copy before
// mutating it (see copyValue).
//
// Numbers: integers that fit i64 are exact (isInt); other numbers are f64. Integer literals
// too large for i64 keep their text in `raw` (isInt false, f the f64 approximation). Other
// literals that no double denotes (more than 15 significant digits, or past the double range:
// 1000.00000000000000001, 1e-400, 1e400) keep their text in `dec`, because OPA compares
// numbers by the decimal they denote: 1000.00000000000000001 <= 1000 is false there, and a
// double would make it true. Numeric comparison ignores representation: 1 == 1.0.

import { parseNumberString } from "./json";
import { isByteEscape, loneSurrogateAt, compareBytesFrom } from "./bytes";

export const T_NULL: i32 = 0;
export const T_BOOL: i32 = 1;
export const T_NUMBER: i32 = 2;
export const T_STRING: i32 = 3;
export const T_ARRAY: i32 = 4;
export const T_OBJECT: i32 = 5;
export const T_SET: i32 = 6;

export class Value {
  kind: i32;
  constructor (kind: i32) { this.kind = kind; }
}

export class NullV extends Value {
  constructor () { super(T_NULL); }
}

export class BoolV extends Value {
  b: bool;
  constructor (b: bool) { super(T_BOOL); this.b = b; }
}

export class NumV extends Value {
  isInt: bool = false;
  i: i64 = 0;
  f: f64 = 0;
  raw: string | null = null;
  /** The literal's text when it is not an integer and f does not denote it exactly. */
  dec: string | null = null;
  constructor () { super(T_NUMBER); }
}

export class StrV extends Value {
  s: string;
  constructor (s: string) { super(T_STRING); this.s = s; }
}

export class ArrV extends Value {
  items: Array<Value>;
  constructor (items: Array<Value>) { super(T_ARRAY); this.items = items; }
  get length (): i32 { return this.items.length; }
  push (v: Value): void { this.items.push(v); }
}

/** Objects up to this many keys are searched by a scan for an equal key (ObjV.getStr). */
// @ts-ignore: decorator
@inline const SMALL_OBJECT: i32 = 8;

export class ObjV extends Value {
  keys: Array<Value>;
  vals: Array<Value>;
  /** Built by the evaluator from rule paths (ref heads, partial objects, virtual documents):
   * its keys are path elements another rule may add to. Every other object is a value. */
  path: bool = false;
  constructor (keys: Array<Value>, vals: Array<Value>) {
    super(T_OBJECT); this.keys = keys; this.vals = vals;
  }
  get length (): i32 { return this.keys.length; }
  /** Index of `k`, or -(insertion point) - 1 when absent. */
  find (k: Value): i32 { return search(this.keys, k); }
  get (k: Value): Value | null {
    if (k.kind == T_STRING) return this.getStr(changetype<StrV>(k).s);
    let i = search(this.keys, k);
    return i >= 0 ? unchecked(this.vals[i]) : null;
  }
  /** Lookup by string key without allocating a StrV. */
  getStr (k: string): Value | null {
    let keys = this.keys;
    let n = keys.length;
    if (n <= SMALL_OBJECT) {
      // Small objects: keys are unique, so the first equal one is the key. Most keys differ in
      // length, and a key parsed from JSON that the plan names is the plan's string (./intern).
      let kp = changetype<usize>(k);
      let kn = k.length;
      for (let i = 0; i < n; i++) {
        let key = unchecked(keys[i]);
        if (key.kind != T_STRING) continue;
        let s = changetype<StrV>(key).s;
        if (changetype<usize>(s) == kp || (s.length == kn && s == k)) return unchecked(this.vals[i]);
      }
      return null;
    }
    let lo = 0, hi = n - 1;
    while (lo <= hi) {
      let mid = (lo + hi) >>> 1;
      let key = unchecked(keys[mid]);
      let c: i32;
      if (key.kind != T_STRING) c = key.kind < T_STRING ? -1 : 1;
      else c = compareStrings(changetype<StrV>(key).s, k);
      if (c == 0) return unchecked(this.vals[mid]);
      if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return null;
  }
  has (k: Value): bool { return search(this.keys, k) >= 0; }
  /** Replaces the value of `k` or inserts it. */
  set (k: Value, v: Value): void {
    let i = search(this.keys, k);
    if (i >= 0) { unchecked(this.vals[i] = v); return; }
    let at = -i - 1;
    let n = this.keys.length;
    if (at == n) { this.keys.push(k); this.vals.push(v); return; }
    insertAt(this.keys, at, k);
    insertAt(this.vals, at, v);
  }
  /** Removes `k`; returns whether it was present. */
  remove (k: Value): bool {
    let i = search(this.keys, k);
    if (i < 0) return false;
    removeAt(this.keys, i);
    removeAt(this.vals, i);
    return true;
  }
}

export class SetV extends Value {
  items: Array<Value>;
  constructor (items: Array<Value>) { super(T_SET); this.items = items; }
  get length (): i32 { return this.items.length; }
  /** Adds `v`; true when it was not yet present. */
  add (v: Value): bool {
    let items = this.items;
    let n = items.length;
    // Fast path: appending in order (common when building from sorted sources).
    if (n == 0 || compare(unchecked(items[n - 1]), v) < 0) { items.push(v); return true; }
    let i = search(items, v);
    if (i >= 0) return false;
    insertAt(items, -i - 1, v);
    return true;
  }
  has (v: Value): bool { return search(this.items, v) >= 0; }
  remove (v: Value): bool {
    let i = search(this.items, v);
    if (i < 0) return false;
    removeAt(this.items, i);
    return true;
  }
}

// ---------------------------------------------------------------------------
// Constructors

const NULL_V = new NullV();
const TRUE_V = new BoolV(true);
const FALSE_V = new BoolV(false);

// Small integers are shared (values are never mutated in place by number code).
const SMALL_MIN: i32 = -16;
const SMALL_MAX: i32 = 256;
const SMALL_INTS = initSmallInts();

function initSmallInts (): StaticArray<NumV> {
  let a = new StaticArray<NumV>(SMALL_MAX - SMALL_MIN + 1);
  for (let i = SMALL_MIN; i <= SMALL_MAX; i++) {
    let n = new NumV();
    n.isInt = true; n.i = <i64>i; n.f = <f64>i;
    unchecked(a[i - SMALL_MIN] = n);
  }
  return a;
}

export function mkNull (): Value { return NULL_V; }
export function mkTrue (): Value { return TRUE_V; }
export function mkFalse (): Value { return FALSE_V; }
export function mkBool (b: bool): Value { return b ? TRUE_V : FALSE_V; }

export function mkInt (i: i64): Value {
  if (i >= SMALL_MIN && i <= SMALL_MAX) return unchecked(SMALL_INTS[<i32>i - SMALL_MIN]);
  let n = new NumV();
  n.isInt = true; n.i = i; n.f = <f64>i;
  return n;
}

export function mkFloat (f: f64): Value {
  let n = new NumV();
  n.f = f;
  return n;
}

/** A number from an integer that did not fit i64: keeps the literal text. */
export function mkBigInt (raw: string, approx: f64): Value {
  let n = new NumV();
  n.f = approx; n.raw = raw;
  return n;
}

/** A non-integer literal no double denotes: keeps its text (`approx` is the nearest double). */
export function mkDecimal (text: string, approx: f64): Value {
  let n = new NumV();
  n.f = approx; n.dec = text;
  return n;
}

/** Parses a JSON number literal; null when `s` is not one. */
export function mkNum (s: string): Value | null {
  return parseNumberString(s);
}

export function mkStr (s: string): Value { return new StrV(s); }

/**
 * An empty Array<Value> with room for 8 elements, like `new Array<Value>()` but without
 * clearing that room: AssemblyScript's constructor clears it with memory.fill, which V8 runs
 * as a call out of Wasm, and nothing reads an array beyond its length (pushes write first).
 */
export function emptyValues (): Array<Value> {
  let a = changetype<Array<Value>>(__newArray(8, alignof<Value>(), idof<Array<Value>>()));
  a.length = 0;
  return a;
}

export function newArray (): ArrV { return new ArrV(emptyValues()); }
export function newArrayCap (cap: i32): ArrV {
  let a = new Array<Value>(cap);
  a.length = 0;
  return new ArrV(a);
}
export function newObject (): ObjV { return new ObjV(emptyValues(), emptyValues()); }
/** An object whose keys are rule path elements (see ObjV.path). */
export function newPathObject (): ObjV { const o = newObject(); o.path = true; return o; }
export function newSet (): SetV { return new SetV(emptyValues()); }

/** Builds an object from unsorted pairs (takes ownership of both arrays); on duplicate keys the last one wins. */
export function objectFromPairs (keys: Array<Value>, vals: Array<Value>): ObjV {
  let n = keys.length;
  if (n <= 1 || isStrictlySorted(keys)) return new ObjV(keys, vals);
  if (n <= 32) {
    // Small objects: stable insertion sort in place, then keep the last of equal keys.
    for (let i = 1; i < n; i++) {
      let k = unchecked(keys[i]), v = unchecked(vals[i]);
      let j = i - 1;
      while (j >= 0 && compare(unchecked(keys[j]), k) > 0) {
        unchecked(keys[j + 1] = keys[j]);
        unchecked(vals[j + 1] = vals[j]);
        j--;
      }
      unchecked(keys[j + 1] = k);
      unchecked(vals[j + 1] = v);
    }
    let w = 1;
    for (let i = 1; i < n; i++) {
      if (compare(unchecked(keys[w - 1]), unchecked(keys[i])) == 0) {
        unchecked(vals[w - 1] = vals[i]);
      } else {
        unchecked(keys[w] = keys[i]);
        unchecked(vals[w] = vals[i]);
        w++;
      }
    }
    keys.length = w;
    vals.length = w;
    return new ObjV(keys, vals);
  }
  let idx = sortedIndex(keys);
  let ok = new Array<Value>(n); ok.length = 0;
  let ov = new Array<Value>(n); ov.length = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    let k = unchecked(keys[unchecked(idx[i])]);
    while (j + 1 < n && compare(unchecked(keys[unchecked(idx[j + 1])]), k) == 0) j++;
    ok.push(k);
    ov.push(unchecked(vals[unchecked(idx[j])])); // last (stable order) wins
    i = j + 1;
  }
  return new ObjV(ok, ov);
}

/** Builds a set from unsorted items (duplicates dropped). */
export function setFromItems (items: Array<Value>): SetV {
  return new SetV(sortUnique(items));
}

/** Sorted copy (stable) of `items`. */
export function sortValues (items: Array<Value>): Array<Value> {
  let n = items.length;
  if (n <= 1 || isSorted(items)) return items.slice(0);
  let idx = sortedIndex(items);
  let out = new Array<Value>(n);
  for (let i = 0; i < n; i++) unchecked(out[i] = items[unchecked(idx[i])]);
  return out;
}

/** Sorted, de-duplicated copy of `items`. */
export function sortUnique (items: Array<Value>): Array<Value> {
  let n = items.length;
  if (n <= 1 || isStrictlySorted(items)) return items.slice(0);
  let idx = sortedIndex(items);
  let out = new Array<Value>(n); out.length = 0;
  for (let i = 0; i < n; i++) {
    let v = unchecked(items[unchecked(idx[i])]);
    let m = out.length;
    if (m == 0 || compare(unchecked(out[m - 1]), v) != 0) out.push(v);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Ordering

/** Total order over values, as OPA defines it. */
export function compare (a: Value, b: Value): i32 {
  if (a === b) return 0;
  let ka = a.kind, kb = b.kind;
  if (ka != kb) return ka < kb ? -1 : 1;
  switch (ka) {
    case T_NULL: return 0;
    case T_BOOL: {
      let x = <i32>changetype<BoolV>(a).b, y = <i32>changetype<BoolV>(b).b;
      return x - y;
    }
    case T_NUMBER: return compareNumbers(changetype<NumV>(a), changetype<NumV>(b));
    case T_STRING: return compareStrings(changetype<StrV>(a).s, changetype<StrV>(b).s);
    case T_ARRAY: return compareLists(changetype<ArrV>(a).items, changetype<ArrV>(b).items);
    case T_SET: return compareLists(changetype<SetV>(a).items, changetype<SetV>(b).items);
    case T_OBJECT: {
      let oa = changetype<ObjV>(a), ob = changetype<ObjV>(b);
      let na = oa.keys.length, nb = ob.keys.length;
      let n = na < nb ? na : nb;
      for (let i = 0; i < n; i++) {
        let c = compare(unchecked(oa.keys[i]), unchecked(ob.keys[i]));
        if (c != 0) return c;
        c = compare(unchecked(oa.vals[i]), unchecked(ob.vals[i]));
        if (c != 0) return c;
      }
      return na == nb ? 0 : (na < nb ? -1 : 1);
    }
  }
  return 0;
}

export function equals (a: Value, b: Value): bool {
  if (a === b) return true;
  let k = a.kind;
  if (k != b.kind) return false;
  switch (k) {
    case T_NULL: return true;
    case T_BOOL: return changetype<BoolV>(a).b == changetype<BoolV>(b).b;
    case T_NUMBER: return compareNumbers(changetype<NumV>(a), changetype<NumV>(b)) == 0;
    case T_STRING: return changetype<StrV>(a).s == changetype<StrV>(b).s;
    case T_ARRAY: return listEquals(changetype<ArrV>(a).items, changetype<ArrV>(b).items);
    case T_SET: return listEquals(changetype<SetV>(a).items, changetype<SetV>(b).items);
    case T_OBJECT: {
      let oa = changetype<ObjV>(a), ob = changetype<ObjV>(b);
      return listEquals(oa.keys, ob.keys) && listEquals(oa.vals, ob.vals);
    }
  }
  return false;
}

function listEquals (a: Array<Value>, b: Array<Value>): bool {
  let n = a.length;
  if (n != b.length) return false;
  for (let i = 0; i < n; i++) if (!equals(unchecked(a[i]), unchecked(b[i]))) return false;
  return true;
}

function compareLists (a: Array<Value>, b: Array<Value>): i32 {
  let na = a.length, nb = b.length;
  let n = na < nb ? na : nb;
  for (let i = 0; i < n; i++) {
    let c = compare(unchecked(a[i]), unchecked(b[i]));
    if (c != 0) return c;
  }
  return na == nb ? 0 : (na < nb ? -1 : 1);
}

/** Strings order by Unicode code point (the same as UTF-8 byte order, as in Go). */
export function compareStrings (a: string, b: string): i32 {
  let pa = changetype<usize>(a), pb = changetype<usize>(b);
  if (pa == pb) return 0;
  let na = a.length, nb = b.length;
  let n = na < nb ? na : nb;
  for (let i = 0; i < n; i++) {
    let ca = <i32>load<u16>(pa + (<usize>i << 1));
    let cb = <i32>load<u16>(pb + (<usize>i << 1));
    if (ca != cb) {
      if (ca < 0xD800 && cb < 0xD800) return ca < cb ? -1 : 1; // the usual case
      // An escaped invalid byte (./bytes) orders as that byte, as Go compares bytes: rare, so the
      // rest of both strings is compared as bytes.
      if ((isByteEscape(<u32>ca) && loneSurrogateAt(a, i)) || (isByteEscape(<u32>cb) && loneSurrogateAt(b, i))) {
        return compareBytesFrom(a, b, i);
      }
      // UTF-16 units order differently from code points only for surrogates vs U+E000..FFFF.
      if (ca >= 0xD800 && cb >= 0xD800) {
        ca = ca >= 0xE000 ? ca - 0x800 : ca + 0x2000;
        cb = cb >= 0xE000 ? cb - 0x800 : cb + 0x2000;
      }
      return ca < cb ? -1 : 1;
    }
  }
  return na == nb ? 0 : (na < nb ? -1 : 1);
}

export function compareNumbers (a: NumV, b: NumV): i32 {
  if (a.isInt && b.isInt) return a.i == b.i ? 0 : (a.i < b.i ? -1 : 1);
  let ra = a.raw, rb = b.raw;
  if (ra !== null || rb !== null || a.dec !== null || b.dec !== null) {
    // A number kept as its text: compare the decimals exactly (both big integers: by digits).
    let ta = exactText(a), tb = exactText(b);
    if (ta !== null && tb !== null) {
      if (ra !== null && rb !== null) return compareIntText(ta, tb);
      return compareDecimalText(ta, tb);
    }
  }
  let x = a.isInt ? <f64>a.i : a.f;
  let y = b.isInt ? <f64>b.i : b.f;
  if (x < y) return -1;
  if (x > y) return 1;
  if (x == y) {
    // Large i64 vs f64 may round to the same double: break ties exactly.
    if (a.isInt && !b.isInt && isFinite(y) && Math.abs(y) >= 9007199254740992.0) return compareIntF64(a.i, y);
    if (b.isInt && !a.isInt && isFinite(x) && Math.abs(x) >= 9007199254740992.0) return -compareIntF64(b.i, x);
    return 0;
  }
  // NaN (not representable in JSON, but keep the order total).
  let an = isNaN(x), bn = isNaN(y);
  if (an && bn) return 0;
  return an ? -1 : 1;
}

/** The decimal a number denotes, as text: its literal when kept, else its digits or the
 * double's shortest form; null for a non-finite double (compared as a double). */
function exactText (n: NumV): string | null {
  let t = n.raw;
  if (t !== null) return t;
  t = n.dec;
  if (t !== null) return t;
  if (n.isInt) return n.i.toString();
  return isFinite(n.f) ? n.f.toString() : null;
}

// A decimal literal taken apart: value = (neg ? -1 : 1) * 0.DIGITS * 10^exp, DIGITS without
// leading or trailing zeros ("" for zero).
// @ts-ignore: decorator
@lazy let decNeg: bool = false;
// @ts-ignore: decorator
@lazy let decDigits: string = "";
// @ts-ignore: decorator
@lazy let decExp: i64 = 0;

function splitDecimal (s: string): void {
  let i = 0, n = s.length;
  decNeg = false;
  if (i < n && s.charCodeAt(i) == 45) { decNeg = true; i++; }
  // The digits as one or two slices of the text: built a character at a time they cost memory
  // quadratic in their number (the allocator frees nothing within an evaluation), and a number
  // of 20000 digits in the input took hundreds of megabytes.
  let intStart = i;
  while (i < n && <u32>(s.charCodeAt(i) - 48) < 10) i++;
  let intLen: i64 = <i64>(i - intStart);
  let digits = s.substring(intStart, i);
  if (i < n && s.charCodeAt(i) == 46) {
    i++;
    let fracStart = i;
    while (i < n && <u32>(s.charCodeAt(i) - 48) < 10) i++;
    if (i > fracStart) digits = digits.concat(s.substring(fracStart, i));
  }
  let exp: i64 = 0;
  if (i < n) { // e / E
    i++;
    let eneg = false;
    if (i < n && (s.charCodeAt(i) == 45 || s.charCodeAt(i) == 43)) { eneg = s.charCodeAt(i) == 45; i++; }
    for (; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      if (exp < 1000000000000) exp = exp * 10 + <i64>(c - 48);
    }
    if (eneg) exp = -exp;
  }
  let lead = 0;
  while (lead < digits.length && digits.charCodeAt(lead) == 48) lead++;
  let end = digits.length;
  while (end > lead && digits.charCodeAt(end - 1) == 48) end--;
  decDigits = digits.substring(lead, end);
  decExp = intLen - <i64>lead + exp;
}

/** Orders two JSON number literals by the numbers they denote. */
export function compareDecimalText (a: string, b: string): i32 {
  splitDecimal(a);
  let na = decNeg, da = decDigits, ea = decExp;
  splitDecimal(b);
  let nb = decNeg, db = decDigits, eb = decExp;
  let za = da.length == 0, zb = db.length == 0;
  if (za && zb) return 0;
  if (za) return nb ? 1 : -1;
  if (zb) return na ? -1 : 1;
  if (na != nb) return na ? -1 : 1;
  let c = ea != eb ? (ea < eb ? -1 : 1) : compareStrings(da, db);
  return na ? -c : c;
}

/** The integer a JSON number literal denotes, as signed decimal digits ("-0" is "0"); null when
 * it is not an integer or has more than maxDigits digits. */
export function decimalIntegerText (s: string, maxDigits: i32): string | null {
  splitDecimal(s);
  let d = decDigits;
  if (d.length == 0) return "0";
  if (decExp < <i64>d.length || decExp > <i64>maxDigits) return null;
  let out = d + "0".repeat(<i32>(decExp - <i64>d.length));
  return decNeg ? "-" + out : out;
}

/** Whether a JSON number literal denotes an integer. */
export function decimalIsInteger (s: string): bool {
  splitDecimal(s);
  return decDigits.length == 0 || decExp >= <i64>decDigits.length;
}

function compareIntF64 (i: i64, f: f64): i32 {
  if (f >= 9223372036854775808.0) return -1;
  if (f < -9223372036854775808.0) return 1;
  let fi = <i64>f; // f is integral at this magnitude
  return i == fi ? 0 : (i < fi ? -1 : 1);
}

/** Compares two decimal integer literals (optional leading '-', no leading zeros). */
export function compareIntText (a: string, b: string): i32 {
  let na = a.charCodeAt(0) == 45, nb = b.charCodeAt(0) == 45;
  if (na != nb) return na ? -1 : 1;
  let c: i32;
  if (a.length != b.length) c = a.length < b.length ? -1 : 1;
  else c = compareStrings(a, b);
  return na ? -c : c;
}

// ---------------------------------------------------------------------------
// Numbers

export function numToF64 (v: Value): f64 {
  let n = changetype<NumV>(v);
  return n.isInt ? <f64>n.i : n.f;
}

/** Whether a number value is integral (exact ints, big ints, integral floats). */
export function isInteger (v: Value): bool {
  if (v.kind != T_NUMBER) return false;
  let n = changetype<NumV>(v);
  if (n.isInt || n.raw !== null) return true;
  if (n.dec !== null) return decimalIsInteger(n.dec!);
  let f = n.f;
  return isFinite(f) && Math.floor(f) == f;
}

/** The number as an exact i64 when it is integral and in range; sets ok. */
// @ts-ignore: decorator
@lazy export let i64Ok: bool = false;
export function numToI64 (v: Value): i64 {
  let n = changetype<NumV>(v);
  if (n.isInt) { i64Ok = true; return n.i; }
  if (n.raw === null && n.dec === null) {
    let f = n.f;
    if (isFinite(f) && Math.floor(f) == f && f >= -9223372036854775808.0 && f < 9223372036854775808.0) {
      i64Ok = true; return <i64>f;
    }
  }
  i64Ok = false;
  return 0;
}

// ---------------------------------------------------------------------------
// Helpers

/** Deep copy of composite values (scalars are shared). */
export function copyValue (v: Value): Value {
  switch (v.kind) {
    case T_ARRAY: {
      let items = changetype<ArrV>(v).items;
      let n = items.length;
      let out = new Array<Value>(n);
      for (let i = 0; i < n; i++) unchecked(out[i] = copyValue(unchecked(items[i])));
      return new ArrV(out);
    }
    case T_OBJECT: {
      let o = changetype<ObjV>(v);
      let n = o.keys.length;
      let vals = new Array<Value>(n);
      for (let i = 0; i < n; i++) unchecked(vals[i] = copyValue(unchecked(o.vals[i])));
      return new ObjV(o.keys.slice(0), vals);
    }
    case T_SET: return new SetV(changetype<SetV>(v).items.slice(0));
  }
  return v;
}

export function typeName (v: Value): string {
  switch (v.kind) {
    case T_NULL: return "null";
    case T_BOOL: return "boolean";
    case T_NUMBER: return "number";
    case T_STRING: return "string";
    case T_ARRAY: return "array";
    case T_OBJECT: return "object";
    case T_SET: return "set";
  }
  return "unknown";
}

export function isTruthy (v: Value | null): bool {
  return v !== null && !(v.kind == T_BOOL && !changetype<BoolV>(v).b);
}

/** Binary search: index of `v`, or -(insertion point) - 1. */
export function search (items: Array<Value>, v: Value): i32 {
  let lo = 0, hi = items.length - 1;
  while (lo <= hi) {
    let mid = (lo + hi) >>> 1;
    let c = compare(unchecked(items[mid]), v);
    if (c == 0) return mid;
    if (c < 0) lo = mid + 1; else hi = mid - 1;
  }
  return -lo - 1;
}

function insertAt (a: Array<Value>, at: i32, v: Value): void {
  let n = a.length;
  a.push(v);
  let base = a.dataStart;
  memory.copy(base + (<usize>(at + 1) << alignof<usize>()), base + (<usize>at << alignof<usize>()), <usize>(n - at) << alignof<usize>());
  unchecked(a[at] = v);
}

function removeAt (a: Array<Value>, at: i32): void {
  let n = a.length;
  let base = a.dataStart;
  memory.copy(base + (<usize>at << alignof<usize>()), base + (<usize>(at + 1) << alignof<usize>()), <usize>(n - at - 1) << alignof<usize>());
  a.length = n - 1;
}

function isSorted (a: Array<Value>): bool {
  for (let i = 1, n = a.length; i < n; i++) if (compare(unchecked(a[i - 1]), unchecked(a[i])) > 0) return false;
  return true;
}

function isStrictlySorted (a: Array<Value>): bool {
  for (let i = 1, n = a.length; i < n; i++) if (compare(unchecked(a[i - 1]), unchecked(a[i])) >= 0) return false;
  return true;
}

/** Stable merge sort of indices into `a` by compare(). */
function sortedIndex (a: Array<Value>): StaticArray<i32> {
  let n = a.length;
  let idx = new StaticArray<i32>(n);
  let tmp = new StaticArray<i32>(n);
  for (let i = 0; i < n; i++) unchecked(idx[i] = i);
  // Insertion sort runs of 8, then bottom-up merges.
  const RUN = 8;
  for (let s = 0; s < n; s += RUN) {
    let e = s + RUN < n ? s + RUN : n;
    for (let i = s + 1; i < e; i++) {
      let x = unchecked(idx[i]);
      let xv = unchecked(a[x]);
      let j = i - 1;
      while (j >= s && compare(unchecked(a[unchecked(idx[j])]), xv) > 0) {
        unchecked(idx[j + 1] = idx[j]);
        j--;
      }
      unchecked(idx[j + 1] = x);
    }
  }
  let src = idx, dst = tmp;
  for (let w = RUN; w < n; w <<= 1) {
    for (let lo = 0; lo < n; lo += w << 1) {
      let mid = lo + w < n ? lo + w : n;
      let hi = lo + (w << 1) < n ? lo + (w << 1) : n;
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (compare(unchecked(a[unchecked(src[j])]), unchecked(a[unchecked(src[i])])) < 0) {
          unchecked(dst[k++] = src[j++]);
        } else {
          unchecked(dst[k++] = src[i++]);
        }
      }
      while (i < mid) unchecked(dst[k++] = src[i++]);
      while (j < hi) unchecked(dst[k++] = src[j++]);
    }
    let t = src; src = dst; dst = t;
  }
  return src;
}
