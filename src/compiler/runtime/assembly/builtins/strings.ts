// String builtins. Strings are UTF-16 inside the runtime; every index or length that OPA
// defines in runes (code points) is computed in code points here. An invalid UTF-8 byte (held
// escaped: ../bytes) is one rune; where OPA converts to runes and back (substring, upper/lower)
// or compares runes (indexof), it becomes U+FFFD there, as in Go (goRunes).

import {
  Value, StrV, ArrV, SetV, ObjV, T_STRING, T_ARRAY, T_SET, T_OBJECT,
  mkStr, mkBool, mkInt, newArrayCap,
} from "../value";
import { typeError, elementError, typeErrorMsg, builtinError } from "./errors";
import { intArg, intOk } from "./numbers";
import { goRunes, isByteEscape, hasByteEscape, encodeBytes, decodeBytes } from "../bytes";

// ---- code point helpers -------------------------------------------------------------

// @ts-ignore: decorator
@inline function isHigh (c: i32): bool { return c >= 0xD800 && c < 0xDC00; }
// @ts-ignore: decorator
@inline function isLow (c: i32): bool { return c >= 0xDC00 && c < 0xE000; }

export function codePointCount (s: string): i32 {
  let n = s.length;
  let count = n;
  for (let i = 0; i + 1 < n; i++) {
    if (isHigh(s.charCodeAt(i)) && isLow(s.charCodeAt(i + 1))) { count--; i++; }
  }
  return count;
}

/** Code point at unit index i (a surrogate pair counts as one); its width in units via cpWidth. */
function cpAt (s: string, i: i32): i32 {
  let c = s.charCodeAt(i);
  if (isHigh(c) && i + 1 < s.length) {
    let d = s.charCodeAt(i + 1);
    if (isLow(d)) return 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
  }
  return c;
}

// @ts-ignore: decorator
@inline function cpWidth (cp: i32): i32 { return cp >= 0x10000 ? 2 : 1; }

/** Unit index of the code point with index `cp` (clamped to the string length). */
function unitIndex (s: string, cp: i32): i32 {
  let i = 0, n = s.length;
  while (cp > 0 && i < n) { i += cpWidth(cpAt(s, i)); cp--; }
  return i;
}

/** Code point index of unit index `u`. */
function cpIndex (s: string, u: i32): i32 {
  let i = 0, k = 0;
  while (i < u) { i += cpWidth(cpAt(s, i)); k++; }
  return k;
}

function hasCodePoint (set: string, cp: i32): bool {
  for (let i = 0, n = set.length; i < n;) {
    let c = cpAt(set, i);
    if (c == cp) return true;
    i += cpWidth(c);
  }
  return false;
}

// ---- argument helpers ---------------------------------------------------------------

// @ts-ignore: decorator
@inline function S (v: Value): string { return changetype<StrV>(v).s; }

/** Checks that args[0..n) are strings; reports the first that is not. */
function strings (name: string, args: Array<Value>, n: i32): bool {
  for (let i = 0; i < n; i++) {
    let a = unchecked(args[i]);
    if (a.kind != T_STRING) { typeError(name, i + 1, "string", a); return false; }
  }
  return true;
}

// ---- builtins -------------------------------------------------------------------------

export function concat (args: Array<Value>): Value | null {
  let d = args[0], c = args[1];
  if (d.kind != T_STRING) return typeError("concat", 1, "string", d);
  let xs: Array<Value>;
  if (c.kind == T_ARRAY) xs = changetype<ArrV>(c).items;
  else if (c.kind == T_SET) xs = changetype<SetV>(c).items;
  else return typeError("concat", 2, "one of {array, set}", c);
  let parts = new Array<string>(xs.length);
  for (let i = 0, n = xs.length; i < n; i++) {
    let x = unchecked(xs[i]);
    if (x.kind != T_STRING) return elementError("concat", 2, c, "string", x);
    unchecked(parts[i] = S(x));
  }
  return mkStr(parts.join(S(d)));
}

export function contains (args: Array<Value>): Value | null {
  if (!strings("contains", args, 2)) return null;
  return mkBool(S(args[0]).includes(S(args[1])));
}

export function startswith (args: Array<Value>): Value | null {
  if (!strings("startswith", args, 2)) return null;
  return mkBool(S(args[0]).startsWith(S(args[1])));
}

export function endswith (args: Array<Value>): Value | null {
  if (!strings("endswith", args, 2)) return null;
  return mkBool(S(args[0]).endsWith(S(args[1])));
}

// lower/upper as Go's strings.ToLower/ToUpper, which OPA calls: each code point on its own,
// by Unicode's simple (one-to-one) case mapping. The runtime's toLowerCase/toUpperCase apply the
// full mapping instead: upper("ß") "SS", lower("İ") "i̇" (two code points), a final Σ "ς". A
// policy comparing lower(name) == "admin" must decide as OPA does, so a code point whose full
// mapping is not one code point takes its simple mapping (below) or stays as it is.

export function lower (args: Array<Value>): Value | null {
  if (!strings("lower", args, 1)) return null;
  return mkStr(goCase(S(args[0]), false));
}

export function upper (args: Array<Value>): Value | null {
  if (!strings("upper", args, 1)) return null;
  return mkStr(goCase(S(args[0]), true));
}

function isAscii (s: string): bool {
  for (let i = 0, n = s.length; i < n; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

function goCase (s: string, up: bool): string {
  if (isAscii(s)) return up ? s.toUpperCase() : s.toLowerCase();
  s = goRunes(s); // strings.Map writes an invalid byte as U+FFFD
  let out = new Array<string>();
  let n = s.length;
  for (let i = 0; i < n;) {
    let cp = cpAt(s, i);
    let w = cpWidth(cp);
    i += w;
    let u14 = unicode14Case(cp, up);
    if (u14 >= 0) { out.push(String.fromCodePoint(u14)); continue; }
    let one = String.fromCodePoint(cp);
    let mapped = up ? one.toUpperCase() : one.toLowerCase();
    if (codePointCount(mapped) == 1) { out.push(mapped); continue; }
    let simple = up ? simpleUpper(cp) : simpleLower(cp);
    out.push(simple < 0 ? one : String.fromCodePoint(simple));
  }
  return out.join("");
}

/** The case pairs Unicode 14 added, which Go's tables have (Go is on Unicode 15.0, which added
 *  none) and the AssemblyScript runtime's do not: Glagolitic caudate chrivi, four Latin pairs
 *  and the Vithkuqi alphabet. -1: not one of them. Pairs added after 15.0 (Garay, U+A7CB...)
 *  are left unmapped, as Go leaves them. */
function unicode14Case (cp: i32, up: bool): i32 {
  if (cp < 0x2c2f) return -1;
  if (up) {
    if (cp == 0x2c5f) return 0x2c2f;
    if (cp == 0xa7c1 || cp == 0xa7d1 || cp == 0xa7d7 || cp == 0xa7d9) return cp - 1;
    if (cp >= 0x10597 && cp <= 0x105bc && cp != 0x105a2 && cp != 0x105b2 && cp != 0x105ba) return cp - 0x27;
  } else {
    if (cp == 0x2c2f) return 0x2c5f;
    if (cp == 0xa7c0 || cp == 0xa7d0 || cp == 0xa7d6 || cp == 0xa7d8) return cp + 1;
    if (cp >= 0x10570 && cp <= 0x10595 && cp != 0x1057b && cp != 0x1058b && cp != 0x10593) return cp + 0x27;
  }
  return -1;
}

/** Simple uppercase of a code point whose full uppercase is several (UnicodeData field 12);
 *  -1: none (the code point stays). Only the Greek letters with ypogegrammeni have one. */
function simpleUpper (cp: i32): i32 {
  if ((cp >= 0x1F80 && cp <= 0x1F87) || (cp >= 0x1F90 && cp <= 0x1F97) || (cp >= 0x1FA0 && cp <= 0x1FA7)) return cp + 8;
  if (cp == 0x1FB3) return 0x1FBC;
  if (cp == 0x1FC3) return 0x1FCC;
  if (cp == 0x1FF3) return 0x1FFC;
  return -1;
}

/** Simple lowercase of a code point whose full lowercase is several: only İ (U+0130) → i. */
function simpleLower (cp: i32): i32 {
  return cp == 0x130 ? 0x69 : -1;
}

/** strings.split_n(x, delimiter, n): the first n parts of split(x, delimiter), or for a
 *  negative n the last -n (all of them when there are fewer; none for 0). */
export function splitN (args: Array<Value>): Value | null {
  if (args[0].kind != T_STRING) return typeError("strings.split_n", 1, "string", args[0]);
  if (args[1].kind != T_STRING) return typeError("strings.split_n", 2, "string", args[1]);
  let n = intArg("strings.split_n", args[2], 3);
  if (!intOk) return null;
  let all = split(args);
  if (all === null) return null;
  let parts = changetype<ArrV>(all).items;
  let len = <i64>parts.length;
  if (n >= 0) return n >= len ? all : new ArrV(parts.slice(0, <i32>n));
  return -n >= len ? all : new ArrV(parts.slice(<i32>(len + n)));
}

export function split (args: Array<Value>): Value | null {
  if (!strings("split", args, 2)) return null;
  let s = S(args[0]), d = S(args[1]);
  if (d.length == 0) {
    let out = newArrayCap(s.length);
    for (let i = 0, n = s.length; i < n;) {
      let w = cpWidth(cpAt(s, i));
      out.push(mkStr(s.substring(i, i + w)));
      i += w;
    }
    return out;
  }
  let parts = s.split(d);
  let out = newArrayCap(parts.length);
  for (let i = 0, n = parts.length; i < n; i++) out.push(mkStr(unchecked(parts[i])));
  return out;
}

export function replace (args: Array<Value>): Value | null {
  if (!strings("replace", args, 3)) return null;
  let s = S(args[0]), old = S(args[1]), nw = S(args[2]);
  // Both valid UTF-8: a match of old's bytes starts and ends on character boundaries, so the
  // UTF-16 search finds the same matches as Go's byte search.
  if (old.length > 0 && !hasByteEscape(s) && !hasByteEscape(old)) return mkStr(s.replaceAll(old, nw));
  return mkStr(replaceBytes(s, [old], [nw]));
}

export function replaceN (args: Array<Value>): Value | null {
  let p = args[0], sv = args[1];
  if (p.kind != T_OBJECT) return typeError("strings.replace_n", 1, "object", p);
  if (sv.kind != T_STRING) return typeError("strings.replace_n", 2, "string", sv);
  let o = changetype<ObjV>(p);
  let n = o.keys.length;
  let olds = new Array<string>(n), news = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    let k = unchecked(o.keys[i]), v = unchecked(o.vals[i]);
    if (k.kind != T_STRING) return typeErrorMsg("strings.replace_n", "operand 1 non-string key found in pattern object");
    if (v.kind != T_STRING) return typeErrorMsg("strings.replace_n", "operand 1 non-string value found in pattern object");
    unchecked(olds[i] = S(k));
    unchecked(news[i] = S(v));
  }
  return mkStr(replaceBytes(S(sv), olds, news));
}

/**
 * Go's strings.Replacer (OPA's replace and strings.replace_n), on the bytes of `s` as Go does:
 * scan left to right; at each byte position the first old string (in argument order) that
 * matches there wins; matches do not overlap. An empty old string matches at every byte
 * position and at the end, but not twice in a row at the same position, so a longer one there
 * still gets its turn: {"": "X", "a": "Y"} turns "ab" into "XYXbX". Being byte positions, an
 * empty old string splits a multibyte character ("é" becomes "-\xc3-\xa9-") and an old string
 * of one invalid byte matches inside a character; the result's bytes are read back with
 * invalid ones escaped (../bytes).
 */
function replaceBytes (s: string, olds: Array<string>, news: Array<string>): string {
  let n = olds.length;
  let ob = new Array<Uint8Array>(n), nb = new Array<Uint8Array>(n);
  for (let j = 0; j < n; j++) {
    unchecked(ob[j] = encodeBytes(unchecked(olds[j])));
    unchecked(nb[j] = encodeBytes(unchecked(news[j])));
  }
  let src = encodeBytes(s);
  let len = src.length;
  let out = new Array<u8>();
  let i = 0;
  let prevEmpty = false;
  while (i <= len) {
    let matched = -1;
    for (let j = 0; j < n; j++) {
      let old = unchecked(ob[j]);
      let m = old.length;
      if (m == 0) {
        if (prevEmpty) continue;
        matched = j; break;
      }
      if (i + m > len) continue;
      let k = 0;
      while (k < m && unchecked(src[i + k]) == unchecked(old[k])) k++;
      if (k == m) { matched = j; break; }
    }
    if (matched >= 0) {
      let nw = unchecked(nb[matched]);
      for (let k = 0, m = nw.length; k < m; k++) out.push(unchecked(nw[k]));
      let m = unchecked(ob[matched]).length;
      prevEmpty = m == 0;
      i += m;
      continue;
    }
    prevEmpty = false;
    if (i < len) out.push(unchecked(src[i]));
    i++;
  }
  return decodeBytes(out.dataStart, <usize>out.length);
}

// Go's Trim decodes runes of both: an invalid byte (../bytes) is U+FFFD to the test, and stays
// a byte in what is kept.

function trimLeftSet (s: string, cut: string): string {
  let i = 0, n = s.length;
  cut = goRunes(cut);
  while (i < n) {
    let c = cpAt(s, i);
    if (!hasCodePoint(cut, isByteEscape(<u32>c) ? 0xFFFD : c)) break;
    i += cpWidth(c);
  }
  return s.substring(i);
}

function trimRightSet (s: string, cut: string): string {
  let e = s.length;
  cut = goRunes(cut);
  while (e > 0) {
    let c = s.charCodeAt(e - 1);
    let w = 1;
    if (isLow(c) && e >= 2 && isHigh(s.charCodeAt(e - 2))) { c = cpAt(s, e - 2); w = 2; }
    else if (isByteEscape(<u32>c)) c = 0xFFFD;
    if (!hasCodePoint(cut, c)) break;
    e -= w;
  }
  return s.substring(0, e);
}

export function trim (args: Array<Value>): Value | null {
  if (!strings("trim", args, 2)) return null;
  return mkStr(trimRightSet(trimLeftSet(S(args[0]), S(args[1])), S(args[1])));
}

export function trimLeft (args: Array<Value>): Value | null {
  if (!strings("trim_left", args, 2)) return null;
  return mkStr(trimLeftSet(S(args[0]), S(args[1])));
}

export function trimRight (args: Array<Value>): Value | null {
  if (!strings("trim_right", args, 2)) return null;
  return mkStr(trimRightSet(S(args[0]), S(args[1])));
}

export function trimPrefix (args: Array<Value>): Value | null {
  if (!strings("trim_prefix", args, 2)) return null;
  let s = S(args[0]), p = S(args[1]);
  return s.startsWith(p) ? mkStr(s.substring(p.length)) : args[0];
}

export function trimSuffix (args: Array<Value>): Value | null {
  if (!strings("trim_suffix", args, 2)) return null;
  let s = S(args[0]), p = S(args[1]);
  return s.endsWith(p) ? mkStr(s.substring(0, s.length - p.length)) : args[0];
}

/** Go's unicode.IsSpace. */
function isSpace (c: i32): bool {
  if (c <= 0xFF) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0;
  return c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

export function trimSpace (args: Array<Value>): Value | null {
  if (!strings("trim_space", args, 1)) return null;
  let s = S(args[0]);
  let i = 0, e = s.length;
  while (i < e && isSpace(s.charCodeAt(i))) i++;
  while (e > i && isSpace(s.charCodeAt(e - 1))) e--;
  return mkStr(s.substring(i, e));
}

export function indexof (args: Array<Value>): Value | null {
  if (!strings("indexof", args, 2)) return null;
  let s = goRunes(S(args[0])), sub = goRunes(S(args[1])); // OPA compares []rune: an invalid byte is U+FFFD
  if (sub.length == 0) return builtinError("indexof", "empty search character"); // as OPA
  let u = s.indexOf(sub);
  if (u < 0) return mkInt(-1);
  return mkInt(cpIndex(s, u));
}

export function substring (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_STRING) return typeError("substring", 1, "string", a);
  let start = intArg("substring", args[1], 2);
  if (!intOk) return null;
  let length = intArg("substring", args[2], 3);
  if (!intOk) return null;
  if (start < 0) return builtinError("substring", "negative offset");
  let s = S(a);
  let n = <i64>codePointCount(s);
  if (start >= n) return mkStr("");
  // OPA returns the whole string as it is, or string([]rune(s)[...]): invalid bytes U+FFFD
  if (start == 0 && length >= n) return a;
  s = goRunes(s);
  let from = unitIndex(s, <i32>start);
  if (length < 0 || start + length >= n) return mkStr(s.substring(from));
  let to = unitIndex(s, <i32>(start + length));
  return mkStr(s.substring(from, to));
}

/** A string, or array/set of strings, as a list; null after reporting a type error. */
function stringList (name: string, v: Value, operand: i32): Array<string> | null {
  if (v.kind == T_STRING) { let out = new Array<string>(1); unchecked(out[0] = S(v)); return out; }
  let xs: Array<Value>;
  if (v.kind == T_ARRAY) xs = changetype<ArrV>(v).items;
  else if (v.kind == T_SET) xs = changetype<SetV>(v).items;
  else { typeError(name, operand, "one of {string, set, array}", v); return null; }
  let out = new Array<string>(xs.length);
  for (let i = 0, n = xs.length; i < n; i++) {
    let x = unchecked(xs[i]);
    if (x.kind != T_STRING) { elementError(name, operand, v, "string", x); return null; }
    unchecked(out[i] = S(x));
  }
  return out;
}

export function anyPrefixMatch (args: Array<Value>): Value | null {
  let search = stringList("strings.any_prefix_match", args[0], 1);
  if (search === null) return null;
  let base = stringList("strings.any_prefix_match", args[1], 2);
  if (base === null) return null;
  for (let i = 0; i < search.length; i++) {
    for (let j = 0; j < base.length; j++) {
      if (unchecked(search[i]).startsWith(unchecked(base[j]))) return mkBool(true);
    }
  }
  return mkBool(false);
}

export function anySuffixMatch (args: Array<Value>): Value | null {
  let search = stringList("strings.any_suffix_match", args[0], 1);
  if (search === null) return null;
  let base = stringList("strings.any_suffix_match", args[1], 2);
  if (base === null) return null;
  for (let i = 0; i < search.length; i++) {
    for (let j = 0; j < base.length; j++) {
      if (unchecked(search[i]).endsWith(unchecked(base[j]))) return mkBool(true);
    }
  }
  return mkBool(false);
}

export function reverse (args: Array<Value>): Value | null {
  if (!strings("strings.reverse", args, 1)) return null;
  let s = S(args[0]);
  let n = s.length;
  let out = __new(<usize>n << 1, idof<String>());
  let o = n;
  for (let i = 0; i < n;) {
    let cp = cpAt(s, i);
    let w = cpWidth(cp);
    o -= w;
    for (let k = 0; k < w; k++) store<u16>(out + (<usize>(o + k) << 1), <u16>s.charCodeAt(i + k));
    i += w;
  }
  return mkStr(changetype<string>(out));
}

/** All code point indices where `sub` starts (overlapping matches included). */
export function indexofN (args: Array<Value>): Value | null {
  if (!strings("indexof_n", args, 2)) return null;
  let s = goRunes(S(args[0])), sub = goRunes(S(args[1])); // OPA compares []rune: an invalid byte is U+FFFD
  // As OPA; and String#indexOf("", u) is 0 for every u, so the loop below would never end.
  if (sub.length == 0) return builtinError("indexof_n", "empty search character");
  let out = newArrayCap(0);
  let u = 0, cpAtU = 0, scanned = 0;
  while (true) {
    let f = s.indexOf(sub, u);
    if (f < 0) break;
    // advance the code point counter from `scanned` to `f`
    while (scanned < f) { scanned += cpWidth(cpAt(s, scanned)); cpAtU++; }
    out.push(mkInt(cpAtU));
    if (f >= s.length) break;
    u = f + cpWidth(cpAt(s, f));
  }
  return out;
}

/** Non-overlapping occurrences of `sub` (Go's strings.Count: runes + 1 when sub is ""). */
export function count (args: Array<Value>): Value | null {
  if (!strings("strings.count", args, 2)) return null;
  let s = S(args[0]), sub = S(args[1]);
  if (sub.length == 0) return mkInt(codePointCount(s) + 1);
  let c = 0, u = 0;
  while (true) {
    let f = s.indexOf(sub, u);
    if (f < 0) break;
    c++;
    u = f + sub.length;
  }
  return mkInt(c);
}
