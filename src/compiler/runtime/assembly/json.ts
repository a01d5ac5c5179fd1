// JSON and Rego value text: parsing from UTF-8 bytes in memory, dumping to UTF-8.
//
// parseJSON / parseValue take (address, length) of UTF-8 text and return null on any
// error (syntax, invalid UTF-8, nesting deeper than MAX_DEPTH). Objects with duplicate
// keys keep the last value. parseValue additionally accepts Rego set literals:
// `{1, 2}` and `set()`.
//
// dumpJSON writes sets as arrays and non-string object keys as their JSON text in a
// string; dumpValue writes sets as `{...}` (`set()` when empty) and keeps keys as values.
//
// Invalid UTF-8 bytes in strings (held escaped, ./bytes): written as \ufffd, as Go's
// encoding/json does, and an escape \udc80..\udcff read as U+FFFD, as Go reads it; only the hop
// to a host builtin and back (`bytes` = true: opa_json_dump / opa_json_parse during a host call)
// writes and reads them as \udcXX so that the bytes survive it.

import {
  Value, NumV, StrV, ArrV, ObjV, SetV, BoolV,
  T_NULL, T_BOOL, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT, T_SET,
  mkNull, mkBool, mkInt, mkFloat, mkBigInt, mkDecimal, compareDecimalText, compareStrings, objectFromPairs, setFromItems, newSet, emptyValues,
} from "./value";
import { decimalToF64, integralDigits } from "./decimal";
import { isByteEscape, loneSurrogateAt, writeUtf8 } from "./bytes";
import { HASH_SEED, hashStep, internedAscii } from "./intern";

const MAX_DEPTH: i32 = 1000;

// Parser state (the runtime is single-threaded and the parser is not re-entrant).
let pos: usize = 0;
let end: usize = 0;
let allowSets: bool = false;
let failed: bool = false;
// Whether an escape \udc80..\udcff is an escaped byte (the host hop) rather than U+FFFD.
let keepBytes: bool = false;
// Whether writeQuoted writes an escaped byte as \udcXX (the host hop) rather than \ufffd.
let writeBytes: bool = false;

/** Parses JSON text; `bytes`: the text comes back from a host builtin (see the top). */
export function parseJSON (ptr: usize, len: usize, bytes: bool = false): Value | null {
  return parseText(ptr, len, false, bytes);
}

export function parseValue (ptr: usize, len: usize, bytes: bool = false): Value | null {
  return parseText(ptr, len, true, bytes);
}

/**
 * Parses a JSON text held in an AssemblyScript string (json.unmarshal). An invalid byte in it is
 * read as Go's decoder reads it: U+FFFD inside a string, a syntax error elsewhere.
 */
export function parseJSONString (s: string): Value | null {
  let w = new ByteWriter(<usize>s.length + 1);
  w.utf8(s);
  return parseText(w.ptr, w.len, false, false);
}

function parseText (ptr: usize, len: usize, sets: bool, bytes: bool): Value | null {
  let savedPos = pos, savedEnd = end, savedSets = allowSets, savedFailed = failed, savedBytes = keepBytes;
  pos = ptr; end = ptr + len; allowSets = sets; failed = false; keepBytes = bytes;
  skipWs();
  let v = parseAny(0);
  if (!failed) {
    skipWs();
    if (pos != end) failed = true;
  }
  let ok = !failed;
  pos = savedPos; end = savedEnd; allowSets = savedSets; failed = savedFailed; keepBytes = savedBytes;
  return ok ? v : null;
}

// @ts-ignore: decorator
@inline function peek (): i32 { return pos < end ? <i32>load<u8>(pos) : -1; }

function skipWs (): void {
  while (pos < end) {
    let c = load<u8>(pos);
    if (c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09) pos++;
    else break;
  }
}

function fail (): Value {
  failed = true;
  return mkNull();
}

function parseAny (depth: i32): Value {
  if (depth > MAX_DEPTH) return fail();
  let c = peek();
  switch (c) {
    case 0x7B: return parseObjectOrSet(depth); // {
    case 0x5B: return parseArray(depth); // [
    case 0x22: return parseString(); // "
    case 0x74: return parseWord("true", mkBool(true)); // t
    case 0x66: return parseWord("false", mkBool(false)); // f
    case 0x6E: return parseWord("null", mkNull()); // n
    case 0x73: { // s: set()
      if (allowSets) {
        if (end - pos >= 5 && load<u32>(pos) == 0x28746573 && load<u8>(pos + 4) == 0x29) { pos += 5; return newSet(); }
      }
      return fail();
    }
  }
  if (c == 0x2D || (c >= 0x30 && c <= 0x39)) return parseNumber();
  return fail();
}

function parseWord (w: string, v: Value): Value {
  let n = <usize>w.length;
  if (end - pos < n) return fail();
  for (let i: usize = 0; i < n; i++) {
    if (<u32>load<u8>(pos + i) != <u32>w.charCodeAt(<i32>i)) return fail();
  }
  pos += n;
  return v;
}

function parseArray (depth: i32): Value {
  pos++; // [
  let items = emptyValues();
  skipWs();
  if (peek() == 0x5D) { pos++; return new ArrV(items); }
  while (true) {
    skipWs();
    let v = parseAny(depth + 1);
    if (failed) return v;
    items.push(v);
    skipWs();
    let c = peek();
    if (c == 0x2C) { pos++; continue; }
    if (c == 0x5D) { pos++; break; }
    return fail();
  }
  return new ArrV(items);
}

function parseObjectOrSet (depth: i32): Value {
  pos++; // {
  skipWs();
  if (peek() == 0x7D) { pos++; return new ObjV(emptyValues(), emptyValues()); }
  let keys = emptyValues();
  let vals = emptyValues();
  let isSet = false;
  let first = true;
  while (true) {
    skipWs();
    let k: Value;
    if (!allowSets && peek() != 0x22) return fail();
    k = parseAny(depth + 1);
    if (failed) return k;
    skipWs();
    let c = peek();
    if (first) {
      first = false;
      if (c != 0x3A) {
        if (!allowSets) return fail();
        isSet = true;
      }
    }
    if (isSet) {
      keys.push(k);
    } else {
      if (c != 0x3A) return fail();
      pos++;
      skipWs();
      let v = parseAny(depth + 1);
      if (failed) return v;
      keys.push(k);
      vals.push(v);
      skipWs();
      c = peek();
    }
    if (c == 0x2C) { pos++; continue; }
    if (c == 0x7D) { pos++; break; }
    return fail();
  }
  if (isSet) return setFromItems(keys);
  return objectFromPairs(keys, vals);
}

// @ts-ignore: decorator
@inline function isDigit (c: i32): bool { return <u32>(c - 0x30) < 10; }

const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

function parseNumber (): Value {
  let start = pos;
  let neg = false;
  if (peek() == 0x2D) { neg = true; pos++; }
  let c = peek();
  if (!isDigit(c)) return fail();
  let mant: u64 = 0;
  let digits = 0; // significant digits accumulated into mant (at most 19)
  let dropped = 0; // integer digits beyond those (they scale the value)
  let sticky = false; // a dropped digit was non-zero
  let long = false; // the integer part did not fit in mant
  if (c == 0x30) {
    pos++;
  } else {
    while (pos < end) {
      c = <i32>load<u8>(pos);
      if (!isDigit(c)) break;
      if (digits < 19) { mant = mant * 10 + <u64>(c - 0x30); digits++; } else { long = true; dropped++; if (c != 0x30) sticky = true; }
      pos++;
    }
  }
  let isFloat = false;
  let fracDigits = 0;
  if (peek() == 0x2E) {
    isFloat = true;
    pos++;
    let d0 = pos;
    while (pos < end) {
      c = <i32>load<u8>(pos);
      if (!isDigit(c)) break;
      if (digits < 19) {
        if (!(mant == 0 && c == 0x30)) digits++;
        mant = mant * 10 + <u64>(c - 0x30);
        fracDigits++;
      } else if (c != 0x30) {
        sticky = true;
      }
      pos++;
    }
    if (pos == d0) return fail();
  }
  let exp = 0;
  let c2 = peek();
  if (c2 == 0x65 || c2 == 0x45) {
    isFloat = true;
    pos++;
    let eneg = false;
    let s = peek();
    if (s == 0x2B || s == 0x2D) { eneg = s == 0x2D; pos++; }
    let d0 = pos;
    while (pos < end) {
      c = <i32>load<u8>(pos);
      if (!isDigit(c)) break;
      if (exp < 100000) exp = exp * 10 + (c - 0x30);
      pos++;
    }
    if (pos == d0) return fail();
    if (eneg) exp = -exp;
  }
  if (!isFloat) {
    if (!long) {
      if (!neg && mant <= <u64>i64.MAX_VALUE) return mkInt(<i64>mant);
      if (neg && mant <= <u64>i64.MAX_VALUE + 1) return mkInt(<i64>(0 - mant));
    }
    let approx = decimalToF64(mant, dropped, sticky);
    return mkBigInt(String.UTF8.decodeUnsafe(start, pos - start, false), neg ? -approx : approx);
  }
  let e10 = exp + dropped - fracDigits;
  let f: f64;
  if (!sticky && mant <= (<u64>1 << 53) && e10 >= -22 && e10 <= 22) {
    // Exact (Clinger's fast path): both factors are exact doubles.
    f = <f64>mant;
    f = e10 >= 0 ? f * unchecked(POW10[e10]) : f / unchecked(POW10[-e10]);
  } else {
    f = decimalToF64(mant, e10, sticky);
  }
  if (neg) f = -f;
  // At most 15 significant digits within the normal range: the double's shortest form is this
  // decimal. Otherwise keep the text unless that form still denotes the same number.
  let sig = digits;
  let m = mant;
  while (m != 0 && m % 10 == 0) { m /= 10; sig--; }
  let a = Math.abs(f);
  if (sticky || sig > 15 || !isFinite(f) || (a < 2.2250738585072014e-308 && mant != 0)) {
    let text = String.UTF8.decodeUnsafe(start, pos - start, false);
    if (!isFinite(f) || compareDecimalText(text, f.toString()) != 0) return mkDecimal(text, f);
  }
  // OPA keeps a number's text as written (json.Number): "1.0", "1e2" and "0.50" print so
  // (json.marshal, results), and "1.0" is no integer operand (array index, substring, sprintf's
  // %d). Kept only when the text is not what this number prints as anyway: an exponent, a
  // fraction ending in 0, or a magnitude printed with an exponent.
  if (c2 == 0x65 || c2 == 0x45 || load<u8>(pos - 1) == 0x30 || (a != 0 && a < 1e-6) || a >= 1e21) {
    let text = String.UTF8.decodeUnsafe(start, pos - start, false);
    let n = changetype<NumV>(mkFloat(f));
    if (text != numberText(n)) return mkDecimal(text, f);
    return n;
  }
  return mkFloat(f);
}

/** Parses a whole string as a JSON number; null when it is not exactly one. */
export function parseNumberString (s: string): Value | null {
  let buf = String.UTF8.encode(s, false);
  let savedPos = pos, savedEnd = end, savedFailed = failed;
  pos = changetype<usize>(buf); end = pos + <usize>buf.byteLength; failed = false;
  let c = peek();
  let v: Value | null = null;
  if (c == 0x2D || isDigit(c)) {
    let r = parseNumber();
    if (!failed && pos == end) v = r;
  }
  pos = savedPos; end = savedEnd; failed = savedFailed;
  return v;
}

function parseString (): Value {
  let s = readString();
  if (failed) return mkNull();
  return new StrV(s);
}

/** Reads a JSON string at pos (which points at the opening quote). */
function readString (): string {
  pos++; // "
  let start = pos;
  // Fast path: ASCII without escapes; a string the plan names is the plan's (./intern).
  let p = pos;
  let h = HASH_SEED;
  while (p < end) {
    let c = load<u8>(p);
    if (c == 0x22 || c == 0x5C || c < 0x20 || c >= 0x80) break;
    h = hashStep(h, <u32>c);
    p++;
  }
  if (p < end && load<u8>(p) == 0x22) {
    let n = p - start;
    let known = internedAscii(start, n, h);
    if (known !== null) { pos = p + 1; return known; }
    let out = __new(n << 1, idof<String>());
    for (let i: usize = 0; i < n; i++) store<u16>(out + (i << 1), <u16>load<u8>(start + i));
    pos = p + 1;
    return changetype<string>(out);
  }
  // General path: find the closing quote to bound the output size.
  let q = p;
  while (q < end) {
    let c = load<u8>(q);
    if (c == 0x22) break;
    if (c == 0x5C) { q += 2; continue; }
    q++;
  }
  if (q >= end) { failed = true; return ""; }
  let cap = q - start; // UTF-16 units never exceed UTF-8 bytes (escapes shrink)
  let out = __new(cap << 1, idof<String>());
  let o: usize = 0;
  p = start;
  while (p < q) {
    let c = <u32>load<u8>(p);
    if (c == 0x5C) {
      p++;
      let e = <u32>load<u8>(p);
      p++;
      switch (e) {
        case 0x22: c = 0x22; break;
        case 0x5C: c = 0x5C; break;
        case 0x2F: c = 0x2F; break;
        case 0x62: c = 0x08; break;
        case 0x66: c = 0x0C; break;
        case 0x6E: c = 0x0A; break;
        case 0x72: c = 0x0D; break;
        case 0x74: c = 0x09; break;
        case 0x75: {
          let u = readHex4(p, q);
          if (u < 0) { failed = true; return ""; }
          p += 4;
          if (u >= 0xD800 && u < 0xDC00) {
            // High surrogate: must be followed by \uDC00..DFFF.
            let lo = -1;
            if (p + 6 <= q && load<u8>(p) == 0x5C && load<u8>(p + 1) == 0x75) lo = readHex4(p + 2, q);
            if (lo >= 0xDC00 && lo < 0xE000) {
              p += 6;
              store<u16>(out + (o << 1), <u16>u); o++;
              c = <u32>lo;
            } else {
              c = 0xFFFD;
            }
          } else if (u >= 0xDC00 && u < 0xE000) {
            c = keepBytes && isByteEscape(<u32>u) ? <u32>u : 0xFFFD;
          } else {
            c = <u32>u;
          }
          break;
        }
        default: failed = true; return "";
      }
      store<u16>(out + (o << 1), <u16>c); o++;
      continue;
    }
    if (c < 0x20) { failed = true; return ""; }
    if (c < 0x80) {
      store<u16>(out + (o << 1), <u16>c); o++; p++;
      continue;
    }
    // Multi-byte UTF-8.
    let cp: u32;
    let need: i32;
    if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; need = 1; if (c < 0xC2) { failed = true; return ""; } }
    else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; need = 2; }
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4) { cp = c & 0x07; need = 3; }
    else { failed = true; return ""; }
    if (p + <usize>need >= q) { failed = true; return ""; }
    for (let k = 1; k <= need; k++) {
      let cc = <u32>load<u8>(p + <usize>k);
      if ((cc & 0xC0) != 0x80) { failed = true; return ""; }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      failed = true; return "";
    }
    p += <usize>need + 1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      store<u16>(out + (o << 1), <u16>(0xD800 | (cp >> 10))); o++;
      store<u16>(out + (o << 1), <u16>(0xDC00 | (cp & 0x3FF))); o++;
    } else {
      store<u16>(out + (o << 1), <u16>cp); o++;
    }
  }
  pos = q + 1;
  if (o < cap) out = __renew(out, o << 1);
  return changetype<string>(out);
}

function readHex4 (p: usize, lim: usize): i32 {
  if (p + 4 > lim) return -1;
  let v = 0;
  for (let i: usize = 0; i < 4; i++) {
    let c = <i32>load<u8>(p + i);
    let d: i32;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
    else return -1;
    v = (v << 4) | d;
  }
  return v;
}

// ---------------------------------------------------------------------------
// Output

/** A growable UTF-8 byte buffer in linear memory. */
export class ByteWriter {
  ptr: usize;
  len: usize = 0;
  cap: usize;
  constructor (cap: usize = 256) {
    this.ptr = __alloc(cap);
    this.cap = cap;
  }
  // @ts-ignore: decorator
  @inline reserve (n: usize): void {
    if (this.len + n > this.cap) this.grow(n);
  }
  grow (n: usize): void {
    let want = this.cap << 1;
    if (want < this.len + n) want = this.len + n;
    this.ptr = __realloc(this.ptr, want);
    this.cap = want;
  }
  byte (b: u32): void {
    this.reserve(1);
    store<u8>(this.ptr + this.len, <u8>b);
    this.len++;
  }
  ascii (s: string): void {
    let n = <usize>s.length;
    this.reserve(n);
    let d = this.ptr + this.len;
    let src = changetype<usize>(s);
    for (let i: usize = 0; i < n; i++) store<u8>(d + i, <u8>load<u16>(src + (i << 1)));
    this.len += n;
  }
  /** Appends `s` as UTF-8 (lone surrogates become U+FFFD). */
  utf8 (s: string): void {
    let n = s.length;
    this.reserve(<usize>n * 3);
    this.len += writeUtf8(changetype<usize>(s), n, this.ptr + this.len, false);
  }
  /** NUL-terminates and returns the address of the text. */
  finish (): usize {
    this.byte(0);
    return this.ptr;
  }
  /** The contents as a string (no terminator). */
  toString (): string {
    return String.UTF8.decodeUnsafe(this.ptr, this.len, false);
  }
}

const HEX: string = "0123456789abcdef";

/** Appends `s` as a JSON string literal. */
export function writeQuoted (w: ByteWriter, s: string): void {
  let n = <usize>s.length;
  let src = changetype<usize>(s);
  w.byte(0x22);
  // Fast path: copy plain ASCII runs.
  let i: usize = 0;
  while (i < n) {
    let run = i;
    while (run < n) {
      let c = <u32>load<u16>(src + (run << 1));
      if (c < 0x20 || c == 0x22 || c == 0x5C || c >= 0x80) break;
      run++;
    }
    if (run > i) {
      let m = run - i;
      w.reserve(m);
      let d = w.ptr + w.len;
      for (let k: usize = 0; k < m; k++) store<u8>(d + k, <u8>load<u16>(src + ((i + k) << 1)));
      w.len += m;
      i = run;
      if (i >= n) break;
    }
    let c = <u32>load<u16>(src + (i << 1));
    if (c >= 0x80) {
      if (loneSurrogateAt(s, <i32>i)) {
        // An escaped invalid byte (./bytes): see the top.
        let e = writeBytes && isByteEscape(c) ? c : 0xFFFD;
        w.ascii("\\u");
        for (let k = 12; k >= 0; k -= 4) w.byte(<u32>HEX.charCodeAt(<i32>((e >> <u32>k) & 15)));
        i++;
        continue;
      }
      // Find the end of the non-ASCII run (up to a lone surrogate) and encode it.
      let j = i + 1;
      while (j < n && <u32>load<u16>(src + (j << 1)) >= 0x80 && !loneSurrogateAt(s, <i32>j)) j++;
      w.utf8(s.substring(<i32>i, <i32>j));
      i = j;
      continue;
    }
    w.byte(0x5C);
    switch (c) {
      case 0x22: w.byte(0x22); break;
      case 0x5C: w.byte(0x5C); break;
      case 0x08: w.byte(0x62); break;
      case 0x0C: w.byte(0x66); break;
      case 0x0A: w.byte(0x6E); break;
      case 0x0D: w.byte(0x72); break;
      case 0x09: w.byte(0x74); break;
      default: {
        w.byte(0x75); w.byte(0x30); w.byte(0x30);
        w.byte(<u32>HEX.charCodeAt(<i32>(c >> 4)));
        w.byte(<u32>HEX.charCodeAt(<i32>(c & 15)));
      }
    }
    i++;
  }
  w.byte(0x22);
}

export function writeI64 (w: ByteWriter, v: i64): void {
  w.reserve(21);
  let d = w.ptr + w.len;
  let u: u64;
  let o: usize = 0;
  if (v < 0) { store<u8>(d, 0x2D); o = 1; u = <u64>(0 - v); } else u = <u64>v;
  // Count digits.
  let n: usize = 1;
  let t = u;
  while (t >= 10) { t /= 10; n++; }
  let p = d + o + n;
  do {
    p--;
    store<u8>(p, <u8>(0x30 + <u32>(u % 10)));
    u /= 10;
  } while (u != 0);
  w.len += o + n;
}

/** Text of a number as JSON (integral floats are written without a fraction). */
export function writeNumber (w: ByteWriter, n: NumV): void {
  if (n.isInt) { writeI64(w, n.i); return; }
  let raw = n.raw;
  if (raw !== null) { w.ascii(raw); return; }
  let dec = n.dec;
  if (dec !== null) { w.ascii(dec); return; }
  let f = n.f;
  if (!isFinite(f)) { w.ascii("null"); return; }
  if (Math.floor(f) == f) {
    if (f > -9223372036854775808.0 && f < 9223372036854775808.0) { writeI64(w, <i64>f); return; }
    let a = Math.abs(f);
    if (a < 1e21) {
      if (f < 0) w.byte(0x2D);
      w.ascii(integralDigits(a));
      return;
    }
    let t = f.toString();
    if (t.endsWith(".0")) t = t.substring(0, t.length - 2);
    w.ascii(t);
    return;
  }
  w.ascii(f.toString());
}

export function numberText (n: NumV): string {
  let w = new ByteWriter(32);
  writeNumber(w, n);
  return w.toString();
}

/** Writes `v` as JSON (json = true) or as Rego value text (json = false). */
export function writeValue (w: ByteWriter, v: Value, json: bool): void {
  switch (v.kind) {
    case T_NULL: w.ascii("null"); return;
    case T_BOOL: w.ascii(changetype<BoolV>(v).b ? "true" : "false"); return;
    case T_NUMBER: writeNumber(w, changetype<NumV>(v)); return;
    case T_STRING: writeQuoted(w, changetype<StrV>(v).s); return;
    case T_ARRAY: {
      let items = changetype<ArrV>(v).items;
      w.byte(0x5B);
      for (let i = 0, n = items.length; i < n; i++) {
        if (i > 0) w.byte(0x2C);
        writeValue(w, unchecked(items[i]), json);
      }
      w.byte(0x5D);
      return;
    }
    case T_SET: {
      let items = changetype<SetV>(v).items;
      let n = items.length;
      if (!json && n == 0) { w.ascii("set()"); return; }
      w.byte(json ? 0x5B : 0x7B);
      for (let i = 0; i < n; i++) {
        if (i > 0) w.byte(0x2C);
        writeValue(w, unchecked(items[i]), json);
      }
      w.byte(json ? 0x5D : 0x7D);
      return;
    }
    case T_OBJECT: {
      let o = changetype<ObjV>(v);
      let keys = o.keys, vals = o.vals;
      let nk = keys.length;
      // Keys sort null < boolean < number < string < array < object < set: a non-string key is
      // first or last.
      if (json && nk > 0 && (unchecked(keys[0]).kind != T_STRING || unchecked(keys[nk - 1]).kind != T_STRING)) {
        writeTextKeyed(w, keys, vals);
        return;
      }
      w.byte(0x7B);
      for (let i = 0, n = keys.length; i < n; i++) {
        if (i > 0) w.byte(0x2C);
        let k = unchecked(keys[i]);
        if (k.kind == T_STRING || !json) writeValue(w, k, json);
        else writeQuoted(w, dumpJSON(k));
        w.byte(0x3A);
        writeValue(w, unchecked(vals[i]), json);
      }
      w.byte(0x7D);
      return;
    }
  }
}

// @ts-ignore: decorator
@lazy let sortTexts: Array<string> = new Array<string>();

/**
 * An object with non-string keys as JSON, as OPA's ast.JSON makes it a Go map[string]any: each
 * key becomes its JSON text, a later key with the same text replaces an earlier one ({1: "a",
 * "1": "b"} is {"1": "b"}), and json.Marshal writes the keys in byte order of their text.
 */
function writeTextKeyed (w: ByteWriter, keys: Array<Value>, vals: Array<Value>): void {
  let texts = new Array<string>();
  let out = new Array<Value>();
  let at = new Map<string, i32>();
  for (let i = 0, n = keys.length; i < n; i++) {
    let k = unchecked(keys[i]);
    let t = k.kind == T_STRING ? changetype<StrV>(k).s : dumpJSON(k);
    if (at.has(t)) { unchecked(out[at.get(t)] = unchecked(vals[i])); continue; }
    at.set(t, texts.length);
    texts.push(t);
    out.push(unchecked(vals[i]));
  }
  let order = new Array<i32>(texts.length);
  for (let i = 0; i < order.length; i++) unchecked(order[i] = i);
  sortTexts = texts; // the comparator cannot close over a local; it sorts before any recursion
  order.sort((a: i32, b: i32): i32 => compareStrings(unchecked(sortTexts[a]), unchecked(sortTexts[b])));
  w.byte(0x7B);
  for (let j = 0; j < order.length; j++) {
    if (j > 0) w.byte(0x2C);
    let i = unchecked(order[j]);
    writeQuoted(w, unchecked(texts[i]));
    w.byte(0x3A);
    writeValue(w, unchecked(out[i]), true);
  }
  w.byte(0x7D);
}

export function dumpJSON (v: Value): string {
  let saved = writeBytes;
  writeBytes = false; // a text the policy sees (json.marshal, key texts): Go's \ufffd
  let w = new ByteWriter();
  writeValue(w, v, true);
  writeBytes = saved;
  return w.toString();
}

export function dumpValue (v: Value): string {
  let w = new ByteWriter();
  writeValue(w, v, false);
  return w.toString();
}

/**
 * Dumps `v` to a NUL-terminated UTF-8 string in memory; returns its address. `bytes`: for a host
 * builtin, invalid bytes as \udcXX (see the top).
 */
export function dumpJSONToMemory (v: Value, bytes: bool = false): usize {
  let saved = writeBytes;
  writeBytes = bytes;
  let w = new ByteWriter();
  writeValue(w, v, true);
  writeBytes = saved;
  return w.finish();
}

export function dumpValueToMemory (v: Value, bytes: bool = false): usize {
  let saved = writeBytes;
  writeBytes = bytes;
  let w = new ByteWriter();
  writeValue(w, v, false);
  writeBytes = saved;
  return w.finish();
}

/** Writes `s` as NUL-terminated UTF-8; returns its address. */
export function cstring (s: string): usize {
  let w = new ByteWriter(<usize>s.length + 1);
  w.utf8(s);
  return w.finish();
}
