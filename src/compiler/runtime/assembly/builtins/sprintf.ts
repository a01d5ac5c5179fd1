// sprintf(format, values) with Go fmt semantics, as OPA applies them: each operand is first
// converted to a Go value and the result is fmt.Sprintf(format, operands...).
//   number: an int64 when its text is an i64 integer; else a *big.Int when it is an integer
//           literal beyond i64 (raw); else a float64, or the literal's text when it is
//           past the doubles (OPA's float64 conversion fails there)
//   string: a Go string
//   anything else (null, booleans, arrays, objects, sets): the Go string of its Rego text
//           (["a", 1], {"k": 1}, {1, 2}, set(), null, true)
// Everything here is allocated per call (no globals hold evaluation data).

import {
  Value, NumV, StrV, ArrV, ObjV, SetV, BoolV,
  T_NULL, T_BOOL, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT, T_SET, mkStr,
} from "../value";
import { numberText } from "../json";
import { encodeBytes, isByteEscape } from "../bytes";
import { decimalToF64 } from "../decimal";
import { typeError } from "./errors";
import { abortWith } from "../abi-host";

// Go operand kinds.
const K_INT: i32 = 0;
const K_BIG: i32 = 1;
const K_FLOAT: i32 = 2;
const K_STR: i32 = 3;

class Arg {
  kind: i32 = K_STR;
  i: i64 = 0;
  f: f64 = 0;
  s: string = ""; // string value, or the big integer's decimal text
}

class Flags {
  wid: i32 = 0;
  prec: i32 = 0;
  widPresent: bool = false;
  precPresent: bool = false;
  minus: bool = false;
  plus: bool = false;
  sharp: bool = false;
  space: bool = false;
  zero: bool = false;
  plusV: bool = false;
  sharpV: bool = false;
  clear (): void {
    this.wid = 0; this.prec = 0; this.widPresent = false; this.precPresent = false;
    this.minus = false; this.plus = false; this.sharp = false; this.space = false; this.zero = false;
    this.plusV = false; this.sharpV = false;
  }
}

const LDIGITS: string = "0123456789abcdefx";
const UDIGITS: string = "0123456789ABCDEFX";

// ---- entry point ------------------------------------------------------------------------

export function sprintf (args: Array<Value>): Value | null {
  let fv = args[0], av = args[1];
  if (fv.kind != T_STRING) return typeError("sprintf", 1, "string", fv);
  if (av.kind != T_ARRAY) return typeError("sprintf", 2, "array", av);
  let items = changetype<ArrV>(av).items;
  let n = items.length;
  let ops = new Array<Arg>(n);
  for (let i = 0; i < n; i++) unchecked(ops[i] = toArg(unchecked(items[i])));
  return mkStr(format(changetype<StrV>(fv).s, ops));
}

function toArg (v: Value): Arg {
  let a = new Arg();
  if (v.kind == T_NUMBER) {
    let n = changetype<NumV>(v);
    if (n.isInt) { a.kind = K_INT; a.i = n.i; return a; }
    let raw = n.raw;
    if (raw !== null) { a.kind = K_BIG; a.s = raw; return a; }
    // Past the doubles (2e308): OPA's conversion to a float64 fails and the operand is the
    // number's text, a Go string.
    let dec = n.dec;
    if (dec !== null && !isFinite(n.f)) { a.s = dec; return a; }
    a.kind = K_FLOAT; a.f = n.f;
    return a;
  }
  if (v.kind == T_STRING) { a.s = changetype<StrV>(v).s; return a; }
  a.s = regoText(v);
  return a;
}

// ---- internal.template_string (OPA 1.12's $"..." templates) ------------------------------

/**
 * The text of a template string. The parser made each part a string or scalar literal (as
 * written), or the set of an expression's values: empty when it was undefined ("<undefined>"),
 * one value (strings bare, anything else as Rego text), and more than one is a conflict, as in
 * OPA's topdown.
 */
export function templateString (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_ARRAY) return typeError("internal.template_string", 1, "array", a);
  let items = changetype<ArrV>(a).items;
  let out = new Array<string>();
  for (let i = 0, n = items.length; i < n; i++) {
    let p = unchecked(items[i]);
    if (p.kind == T_SET) {
      let vs = changetype<SetV>(p).items;
      if (vs.length == 0) { out.push("<undefined>"); continue; }
      if (vs.length > 1) abortWith("eval_conflict_error: template-strings must not produce multiple outputs");
      p = unchecked(vs[0]);
    }
    if (p.kind == T_STRING) out.push(changetype<StrV>(p).s);
    else writeRego(out, p);
  }
  return mkStr(out.join(""));
}

// ---- Rego value text (OPA's term String()) ----------------------------------------------

function regoText (v: Value): string {
  let parts = new Array<string>();
  writeRego(parts, v);
  return parts.join("");
}

function writeRego (out: Array<string>, v: Value): void {
  switch (v.kind) {
    case T_NULL: out.push("null"); return;
    case T_BOOL: out.push(changetype<BoolV>(v).b ? "true" : "false"); return;
    case T_NUMBER: out.push(numberText(changetype<NumV>(v))); return;
    case T_STRING: out.push(goQuote(changetype<StrV>(v).s, false)); return;
    case T_ARRAY: {
      let items = changetype<ArrV>(v).items;
      out.push("[");
      for (let i = 0, n = items.length; i < n; i++) {
        if (i > 0) out.push(", ");
        writeRego(out, unchecked(items[i]));
      }
      out.push("]");
      return;
    }
    case T_SET: {
      let items = changetype<SetV>(v).items;
      let n = items.length;
      if (n == 0) { out.push("set()"); return; }
      out.push("{");
      for (let i = 0; i < n; i++) {
        if (i > 0) out.push(", ");
        writeRego(out, unchecked(items[i]));
      }
      out.push("}");
      return;
    }
    case T_OBJECT: {
      let o = changetype<ObjV>(v);
      out.push("{");
      for (let i = 0, n = o.keys.length; i < n; i++) {
        if (i > 0) out.push(", ");
        writeRego(out, unchecked(o.keys[i]));
        out.push(": ");
        writeRego(out, unchecked(o.vals[i]));
      }
      out.push("}");
      return;
    }
  }
}

// ---- code points ------------------------------------------------------------------------

/**
 * Code points of s (unpaired surrogates become U+FFFD, as Go's UTF-8 conversion does; with
 * `bytes`, an escaped invalid byte U+DC80..U+DCFF (../bytes) stays as it is).
 */
function codePoints (s: string, bytes: bool = false): Array<i32> {
  let out = new Array<i32>();
  for (let i = 0, n = s.length; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < n) {
      let d = s.charCodeAt(i + 1);
      if (d >= 0xDC00 && d < 0xE000) { out.push(0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00)); i++; continue; }
    }
    if (c >= 0xD800 && c < 0xE000 && !(bytes && isByteEscape(<u32>c))) c = 0xFFFD;
    out.push(c);
  }
  return out;
}

function cpLen (s: string): i32 {
  let n = s.length, count = n;
  for (let i = 0; i + 1 < n; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xD800 && c < 0xDC00) {
      let d = s.charCodeAt(i + 1);
      if (d >= 0xDC00 && d < 0xE000) { count--; i++; }
    }
  }
  return count;
}

/** The bytes of s as Go holds them (an escaped invalid byte as itself: ../bytes). */
function utf8Bytes (s: string): Uint8Array {
  return encodeBytes(s);
}

function repeatChar (c: string, n: i32): string {
  return n <= 0 ? "" : c.repeat(n);
}

// ---- Go strconv quoting -----------------------------------------------------------------

/** Approximates unicode.IsPrint (letters, marks, numbers, punctuation, symbols, ASCII space). */
function isPrint (c: i32): bool {
  if (c < 0x20 || c == 0x7F) return false;
  if (c < 0x7F) return true;
  if (c < 0xA1 || c == 0xAD) return false;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F)) return false;
  if ((c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF) return false;
  if (c >= 0xD800 && c < 0xE000) return false;
  if (c >= 0xE000 && c < 0xF900) return false; // private use
  if (c >= 0xFFF9 && c <= 0xFFFB) return false;
  if (c == 0xFFFE || c == 0xFFFF || c > 0x10FFFF) return false;
  if (c >= 0xF0000) return false; // planes 15-16: private use
  return true;
}

function hexN (v: i32, n: i32): string {
  let s = "";
  for (let i = n - 1; i >= 0; i--) s += LDIGITS.charAt((v >> (i * 4)) & 15);
  return s;
}

function cpToString (c: i32): string { return String.fromCodePoint(c); }

function escapeRune (c: i32, quote: i32, ascii: bool): string {
  if (c == quote || c == 0x5C) return "\\" + String.fromCharCode(c);
  if (ascii ? (c < 0x80 && isPrint(c)) : isPrint(c)) return cpToString(c);
  switch (c) {
    case 0x07: return "\\a";
    case 0x08: return "\\b";
    case 0x0C: return "\\f";
    case 0x0A: return "\\n";
    case 0x0D: return "\\r";
    case 0x09: return "\\t";
    case 0x0B: return "\\v";
  }
  if (c < 0x20 || c == 0x7F) return "\\x" + hexN(c, 2);
  if (c < 0x10000) return "\\u" + hexN(c, 4);
  return "\\U" + hexN(c, 8);
}

/** strconv.Quote (ascii: QuoteToASCII). */
function goQuote (s: string, ascii: bool): string {
  let cps = codePoints(s, true);
  let parts = new Array<string>();
  parts.push("\"");
  for (let i = 0, n = cps.length; i < n; i++) {
    let c = unchecked(cps[i]);
    // an invalid byte: \x and its hex, as strconv.Quote writes it
    parts.push(isByteEscape(<u32>c) ? "\\x" + hexN(c & 0xFF, 2) : escapeRune(c, 0x22, ascii));
  }
  parts.push("\"");
  return parts.join("");
}

/** strconv.CanBackquote. */
function canBackquote (s: string): bool {
  let cps = codePoints(s);
  for (let i = 0, n = cps.length; i < n; i++) {
    let c = unchecked(cps[i]);
    if (c == 0x60 || c == 0xFEFF || c == 0xFFFD) return false;
    if (c < 0x20 && c != 0x09) return false;
    if (c == 0x7F) return false;
  }
  return true;
}

function quoteRune (c: i32, ascii: bool): string {
  if (c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) c = 0xFFFD;
  return "'" + escapeRune(c, 0x27, ascii) + "'";
}

// ---- padding ----------------------------------------------------------------------------

/** fmt's pad: width counts runes; zero pads with '0' on the left, minus pads on the right. */
function pad (f: Flags, s: string): string {
  if (!f.widPresent || f.wid == 0) return s;
  let w = f.wid - cpLen(s);
  if (w <= 0) return s;
  if (f.minus) return s + repeatChar(" ", w);
  return repeatChar(f.zero ? "0" : " ", w) + s;
}

function padding (f: Flags, n: i32): string {
  return repeatChar(f.zero ? "0" : " ", n);
}

// ---- the format loop --------------------------------------------------------------------

const TOO_LARGE: i32 = 1000000;

function isDigitC (c: i32): bool { return c >= 0x30 && c <= 0x39; }

class NumParse {
  num: i32 = 0;
  isnum: bool = false;
  newi: i32 = 0;
}

/** Go's parsenum over s[start, end). */
function parsenum (s: string, start: i32, end: i32): NumParse {
  let r = new NumParse();
  if (start >= end) { r.newi = end; return r; }
  let i = start;
  while (i < end && isDigitC(s.charCodeAt(i))) {
    if (r.num > TOO_LARGE) { r.num = 0; r.isnum = false; r.newi = end; return r; }
    r.num = r.num * 10 + (s.charCodeAt(i) - 0x30);
    r.isnum = true;
    i++;
  }
  r.newi = i;
  return r;
}

class Formatter {
  s: string;
  ops: Array<Arg>;
  argNum: i32 = 0;
  reordered: bool = false;
  goodArgNum: bool = true;
  i: i32 = 0;
  constructor (s: string, ops: Array<Arg>) { this.s = s; this.ops = ops; }

  /** Go's argNumber: an optional "[n]" at i; returns whether one was found (and well-formed). */
  argNumber (): bool {
    let s = this.s, i = this.i;
    if (s.length <= i || s.charCodeAt(i) != 0x5B) return false;
    this.reordered = true;
    let ok = false, wid = 1, index = 0;
    if (s.length - i >= 3) {
      for (let j = i + 1; j < s.length; j++) {
        if (s.charCodeAt(j) == 0x5D) {
          let p = parsenum(s, i + 1, j);
          wid = j - i + 1;
          if (p.isnum && p.newi == j) { ok = true; index = p.num - 1; }
          break;
        }
      }
    }
    this.i = i + wid;
    if (ok && index >= 0 && index < this.ops.length) { this.argNum = index; return true; }
    this.goodArgNum = false;
    return ok;
  }
}

function format (fmtS: string, ops: Array<Arg>): string {
  let out = new Array<string>();
  let f = new Flags();
  let end = fmtS.length;
  let p = new Formatter(fmtS, ops);
  let i = 0;
  while (i < end) {
    p.goodArgNum = true;
    let lasti = i;
    while (i < end && fmtS.charCodeAt(i) != 0x25) i++;
    if (i > lasti) out.push(fmtS.substring(lasti, i));
    if (i >= end) break;
    i++; // '%'
    f.clear();
    // flags
    while (i < end) {
      let c = fmtS.charCodeAt(i);
      if (c == 0x23) f.sharp = true;
      else if (c == 0x30) f.zero = !f.minus;
      else if (c == 0x2B) f.plus = true;
      else if (c == 0x2D) { f.minus = true; f.zero = false; }
      else if (c == 0x20) f.space = true;
      else break;
      i++;
    }
    // argument index, width
    p.i = i;
    let afterIndex = p.argNumber();
    i = p.i;
    if (i < end && fmtS.charCodeAt(i) == 0x2A) {
      i++;
      let w = intFromArg(ops, p.argNum);
      f.wid = w.num; f.widPresent = w.isInt; p.argNum = w.argNum;
      if (!f.widPresent) out.push("%!(BADWIDTH)");
      if (f.wid < 0) { f.wid = -f.wid; f.minus = true; f.zero = false; }
      afterIndex = false;
    } else {
      let n = parsenum(fmtS, i, end);
      f.wid = n.num; f.widPresent = n.isnum; i = n.newi;
      if (afterIndex && f.widPresent) p.goodArgNum = false; // "%[3]2d"
    }
    // precision
    if (i + 1 < end && fmtS.charCodeAt(i) == 0x2E) {
      i++;
      if (afterIndex) p.goodArgNum = false; // "%[3].2d"
      p.i = i;
      afterIndex = p.argNumber();
      i = p.i;
      if (i < end && fmtS.charCodeAt(i) == 0x2A) {
        i++;
        let w = intFromArg(ops, p.argNum);
        f.prec = w.num; f.precPresent = w.isInt; p.argNum = w.argNum;
        if (f.prec < 0) { f.prec = 0; f.precPresent = false; }
        if (!f.precPresent) out.push("%!(BADPREC)");
        afterIndex = false;
      } else {
        let n = parsenum(fmtS, i, end);
        f.prec = n.num; f.precPresent = n.isnum; i = n.newi;
        if (!f.precPresent) { f.prec = 0; f.precPresent = true; }
      }
    }
    if (!afterIndex) {
      p.i = i;
      afterIndex = p.argNumber();
      i = p.i;
    }
    if (i >= end) { out.push("%!(NOVERB)"); break; }
    let verb = fmtS.codePointAt(i);
    i += verb >= 0x10000 ? 2 : 1;
    let vs = cpToString(verb);
    let argNum = p.argNum;
    if (verb == 0x25) { out.push("%"); continue; } // ignores width and precision
    if (!p.goodArgNum) { out.push("%!" + vs + "(BADINDEX)"); continue; }
    if (argNum >= ops.length) { out.push("%!" + vs + "(MISSING)"); continue; }
    if (verb == 0x77) { // %w is only for fmt.Errorf: a bad verb that consumes nothing
      out.push("%!w(" + typeOf(unchecked(ops[argNum])) + "=" + printArg(f, unchecked(ops[argNum]), 0x76) + ")");
      continue;
    }
    if (verb == 0x76) {
      f.sharpV = f.sharp; f.sharp = false;
      f.plusV = f.plus; f.plus = false;
    }
    out.push(printArg(f, unchecked(ops[argNum]), verb));
    p.argNum = argNum + 1;
  }
  if (!p.reordered && p.argNum < ops.length) {
    f.clear();
    out.push("%!(EXTRA ");
    for (let k = p.argNum; k < ops.length; k++) {
      if (k > p.argNum) out.push(", ");
      let a = unchecked(ops[k]);
      out.push(typeOf(a) + "=" + printArg(f, a, 0x76));
    }
    out.push(")");
  }
  return out.join("");
}

class IntArg {
  num: i32 = 0;
  isInt: bool = false;
  argNum: i32 = 0;
}

function intFromArg (ops: Array<Arg>, argNum: i32): IntArg {
  let r = new IntArg();
  r.argNum = argNum;
  if (argNum < ops.length) {
    let a = unchecked(ops[argNum]);
    if (a.kind == K_INT) {
      if (a.i >= -TOO_LARGE && a.i <= TOO_LARGE) { r.num = <i32>a.i; r.isInt = true; }
    }
    r.argNum = argNum + 1;
  }
  return r;
}

function typeOf (a: Arg): string {
  switch (a.kind) {
    case K_INT: return "int64"; // OPA passes util.Atoi64's int64 (since v1.20; an int before)
    case K_BIG: return "*big.Int";
    case K_FLOAT: return "float64";
  }
  return "string";
}

function badVerb (f: Flags, a: Arg, verb: i32): string {
  return "%!" + cpToString(verb) + "(" + typeOf(a) + "=" + printArg(f, a, 0x76) + ")";
}

function printArg (f: Flags, a: Arg, verb: i32): string {
  if (verb == 0x54) return pad(f, typeOf(a)); // %T
  if (verb == 0x70) return badVerb(f, a, verb); // %p of a non-pointer
  switch (a.kind) {
    case K_INT: return fmtIntVerb(f, a.i, verb, a);
    case K_BIG: return fmtBig(f, a.s, verb);
    case K_FLOAT: return fmtFloatVerb(f, a.f, verb, a);
  }
  return fmtStringVerb(f, a.s, verb, a);
}

// ---- strings ----------------------------------------------------------------------------

function fmtStringVerb (f: Flags, s: string, verb: i32, a: Arg): string {
  switch (verb) {
    case 0x76: // v
      if (f.sharpV) return fmtQ(f, s);
      return fmtS(f, s);
    case 0x73: return fmtS(f, s); // s
    case 0x78: return fmtSbx(f, s, LDIGITS); // x
    case 0x58: return fmtSbx(f, s, UDIGITS); // X
    case 0x71: return fmtQ(f, s); // q
  }
  return badVerb(f, a, verb);
}

function truncate (f: Flags, s: string): string {
  if (f.precPresent) {
    let n = 0;
    for (let i = 0, m = s.length; i < m; i++) {
      if (n == f.prec) return s.substring(0, i);
      let c = s.charCodeAt(i);
      if (c >= 0xD800 && c < 0xDC00 && i + 1 < m) {
        let d = s.charCodeAt(i + 1);
        if (d >= 0xDC00 && d < 0xE000) i++;
      }
      n++;
    }
  }
  return s;
}

function fmtS (f: Flags, s: string): string { return pad(f, truncate(f, s)); }

function fmtQ (f: Flags, s: string): string {
  s = truncate(f, s);
  if (f.sharp && canBackquote(s)) return pad(f, "`" + s + "`");
  return pad(f, goQuote(s, f.plus));
}

function fmtSbx (f: Flags, s: string, digits: string): string {
  let b = utf8Bytes(s);
  let length = b.length;
  if (f.precPresent && f.prec < length) length = f.prec;
  let width = 2 * length;
  if (width > 0) {
    if (f.space) {
      if (f.sharp) width *= 2;
      width += length - 1;
    } else if (f.sharp) {
      width += 2;
    }
  } else {
    return f.widPresent ? padding(f, f.wid) : "";
  }
  let parts = new Array<string>();
  if (f.widPresent && f.wid > width && !f.minus) parts.push(padding(f, f.wid - width));
  let x = digits.charAt(16);
  if (f.sharp) parts.push("0" + x);
  for (let i = 0; i < length; i++) {
    if (f.space && i > 0) {
      parts.push(" ");
      if (f.sharp) parts.push("0" + x);
    }
    let c = <i32>unchecked(b[i]);
    parts.push(digits.charAt(c >> 4) + digits.charAt(c & 15));
  }
  if (f.widPresent && f.wid > width && f.minus) parts.push(padding(f, f.wid - width));
  return parts.join("");
}

// ---- integers ---------------------------------------------------------------------------

function fmtIntVerb (f: Flags, v: i64, verb: i32, a: Arg): string {
  switch (verb) {
    case 0x76: case 0x64: return fmtInteger(f, v, 10, verb, LDIGITS); // v d
    case 0x62: return fmtInteger(f, v, 2, verb, LDIGITS); // b
    case 0x6F: case 0x4F: return fmtInteger(f, v, 8, verb, LDIGITS); // o O
    case 0x78: return fmtInteger(f, v, 16, verb, LDIGITS); // x
    case 0x58: return fmtInteger(f, v, 16, verb, UDIGITS); // X
    case 0x63: return pad(f, cpToString(runeOf(v))); // c
    case 0x71: return pad(f, quoteRune(runeOf(v), f.plus)); // q
    case 0x55: return fmtUnicode(f, v); // U
  }
  return badVerb(f, a, verb);
}

function runeOf (v: i64): i32 {
  let u = <u64>v;
  if (u > 0x10FFFF) return 0xFFFD;
  let c = <i32>u;
  if (c >= 0xD800 && c < 0xE000) return 0xFFFD;
  return c;
}

/** Digits of u in base (1..36 not needed: 2, 8, 10, 16). */
function u64Digits (u: u64, base: i32, digits: string): string {
  if (u == 0) return "0";
  let s = "";
  let b = <u64>base;
  while (u != 0) { s = digits.charAt(<i32>(u % b)) + s; u /= b; }
  return s;
}

function fmtInteger (f: Flags, v: i64, base: i32, verb: i32, digits: string): string {
  let negative = v < 0;
  let u: u64 = negative ? <u64>(0 - v) : <u64>v;
  let prec = 0;
  if (f.precPresent) {
    prec = f.prec;
    if (prec == 0 && u == 0) {
      let oldZero = f.zero;
      f.zero = false;
      let r = f.widPresent ? padding(f, f.wid) : "";
      f.zero = oldZero;
      return r;
    }
  } else if (f.zero && !f.minus && f.widPresent) {
    prec = f.wid;
    if (negative || f.plus || f.space) prec--;
  }
  let ds = u64Digits(u, base, digits);
  if (prec > ds.length) ds = repeatChar("0", prec - ds.length) + ds;
  if (f.sharp) {
    if (base == 2) ds = "0b" + ds;
    else if (base == 8) { if (ds.charCodeAt(0) != 0x30) ds = "0" + ds; }
    else if (base == 16) ds = "0" + digits.charAt(16) + ds;
  }
  if (verb == 0x4F) ds = "0o" + ds;
  if (negative) ds = "-" + ds;
  else if (f.plus) ds = "+" + ds;
  else if (f.space) ds = " " + ds;
  let oldZero = f.zero;
  f.zero = false;
  let r = pad(f, ds);
  f.zero = oldZero;
  return r;
}

function fmtUnicode (f: Flags, v: i64): string {
  let u = <u64>v;
  let hex = u64Digits(u, 16, UDIGITS);
  let prec = 4;
  if (f.precPresent && f.prec > 4) prec = f.prec;
  if (hex.length < prec) hex = repeatChar("0", prec - hex.length) + hex;
  let s = "U+" + hex;
  if (f.sharp && u <= 0x10FFFF && isPrint(<i32>u)) s += " '" + cpToString(<i32>u) + "'";
  let oldZero = f.zero;
  f.zero = false;
  let r = pad(f, s);
  f.zero = oldZero;
  return r;
}

// ---- big integers (math/big's Int.Format) -----------------------------------------------

/** Converts a non-negative decimal digit string to `base` (2, 8, 16). */
function convertBase (dec: string, base: i32, digits: string): string {
  let n = dec.length;
  let d = new Array<i32>(n);
  for (let i = 0; i < n; i++) unchecked(d[i] = dec.charCodeAt(i) - 0x30);
  let out = new Array<string>();
  let start = 0;
  while (start < n && unchecked(d[start]) == 0) start++;
  if (start == n) return "0";
  while (start < n) {
    let rem = 0;
    for (let i = start; i < n; i++) {
      let cur = rem * 10 + unchecked(d[i]);
      unchecked(d[i] = cur / base);
      rem = cur % base;
    }
    out.push(digits.charAt(rem));
    while (start < n && unchecked(d[start]) == 0) start++;
  }
  out.reverse();
  return out.join("");
}

function fmtBig (f: Flags, raw: string, verb: i32): string {
  let base = 0;
  switch (verb) {
    case 0x62: base = 2; break;
    case 0x6F: case 0x4F: base = 8; break;
    case 0x64: case 0x73: case 0x76: base = 10; break;
    case 0x78: case 0x58: base = 16; break;
    default: return "%!" + cpToString(verb) + "(big.Int=" + raw + ")";
  }
  let neg = raw.charCodeAt(0) == 0x2D;
  let abs = neg ? raw.substring(1) : raw;
  let plus = f.plus || f.plusV, sharp = f.sharp || f.sharpV;
  let sign = neg ? "-" : (plus ? "+" : (f.space ? " " : ""));
  let prefix = "";
  if (sharp) {
    if (verb == 0x62) prefix = "0b";
    else if (verb == 0x6F) prefix = "0";
    else if (verb == 0x78) prefix = "0x";
    else if (verb == 0x58) prefix = "0X";
  }
  if (verb == 0x4F) prefix = "0o";
  let ds = base == 10 ? abs : convertBase(abs, base, verb == 0x58 ? UDIGITS : LDIGITS);
  let left = 0, zeros = 0, right = 0;
  if (f.precPresent) {
    if (ds.length < f.prec) zeros = f.prec - ds.length;
    else if (ds == "0" && f.prec == 0) return "";
  }
  let length = sign.length + prefix.length + zeros + ds.length;
  if (f.widPresent && length < f.wid) {
    let d = f.wid - length;
    if (f.minus) right = d;
    else if (f.zero && !f.precPresent) zeros = d;
    else left = d;
  }
  return repeatChar(" ", left) + sign + prefix + repeatChar("0", zeros) + ds + repeatChar(" ", right);
}

// ---- floats -----------------------------------------------------------------------------

function fmtFloatVerb (f: Flags, v: f64, verb: i32, a: Arg): string {
  switch (verb) {
    case 0x76: return fmtFloat(f, v, 0x67, -1); // v -> g
    case 0x62: case 0x67: case 0x47: case 0x78: case 0x58: return fmtFloat(f, v, verb, -1);
    case 0x66: case 0x65: case 0x45: case 0x46: return fmtFloat(f, v, verb, 6);
  }
  return badVerb(f, a, verb);
}

/** Exact decimal digits of a finite, non-negative double: value = 0.d1d2... * 10^dp. */
class Decimal {
  d: Array<i32> = new Array<i32>(); // digits 0-9, no trailing zeros; empty for zero
  dp: i32 = 0;
}

function exactDecimal (v: f64): Decimal {
  let r = new Decimal();
  if (v == 0) return r;
  let bits = reinterpret<u64>(v);
  let be = <i32>((bits >> 52) & 0x7FF);
  let m = bits & 0xFFFFFFFFFFFFF;
  let e: i32;
  if (be == 0) e = -1074; else { m |= <u64>1 << 52; e = be - 1075; }
  // Base 1e9 limbs, least significant first.
  let limbs = new Array<u32>();
  while (m != 0) { limbs.push(<u32>(m % 1000000000)); m /= 1000000000; }
  let shift = 0; // decimal point shift: value = N / 10^shift
  if (e >= 0) {
    let k = e;
    while (k > 0) { let s = k > 28 ? 28 : k; mulSmall(limbs, <u32>1 << <u32>s); k -= s; }
  } else {
    let k = -e;
    shift = k;
    while (k > 0) {
      let s = k > 12 ? 12 : k;
      let p: u32 = 1;
      for (let j = 0; j < s; j++) p *= 5;
      mulSmall(limbs, p);
      k -= s;
    }
  }
  // Digits of N.
  let ds = new Array<i32>();
  let top = limbs.length - 1;
  for (let i = top; i >= 0; i--) {
    let l = unchecked(limbs[i]);
    let chunk = new Array<i32>(9);
    for (let j = 8; j >= 0; j--) { unchecked(chunk[j] = <i32>(l % 10)); l /= 10; }
    let j0 = 0;
    if (i == top) while (j0 < 8 && unchecked(chunk[j0]) == 0) j0++;
    for (let j = j0; j < 9; j++) ds.push(unchecked(chunk[j]));
  }
  r.dp = ds.length - shift;
  while (ds.length > 0 && ds[ds.length - 1] == 0) ds.pop();
  r.d = ds;
  return r;
}

function mulSmall (limbs: Array<u32>, m: u32): void {
  let carry: u64 = 0;
  for (let i = 0, n = limbs.length; i < n; i++) {
    let t = <u64>unchecked(limbs[i]) * <u64>m + carry;
    unchecked(limbs[i] = <u32>(t % 1000000000));
    carry = t / 1000000000;
  }
  while (carry != 0) { limbs.push(<u32>(carry % 1000000000)); carry /= 1000000000; }
}

/** Rounds to nd digits, half to even on exact ties (strconv's decimal.Round). */
function roundDec (x: Decimal, nd: i32): Decimal {
  let r = new Decimal();
  r.dp = x.dp;
  let n = x.d.length;
  if (nd < 0) { r.d = x.d.slice(0); return r; }
  if (nd >= n) { r.d = x.d.slice(0); return r; }
  let up = false;
  let dig = x.d[nd];
  if (dig > 5) up = true;
  else if (dig == 5) {
    if (nd + 1 < n) up = true; // more non-zero digits follow (no trailing zeros are kept)
    else up = nd > 0 && (x.d[nd - 1] % 2) == 1;
  }
  let ds = x.d.slice(0, nd);
  if (up) {
    let i = nd - 1;
    while (i >= 0 && ds[i] == 9) i--;
    if (i < 0) { ds = [1]; r.dp = x.dp + 1; }
    else { ds[i] = ds[i] + 1; ds.length = i + 1; }
  }
  while (ds.length > 0 && ds[ds.length - 1] == 0) ds.pop();
  if (ds.length == 0) r.dp = 0;
  r.d = ds;
  return r;
}

/** Shortest digits that round-trip to v (v finite, > 0). */
function shortestDec (v: f64, x: Decimal): Decimal {
  for (let p = 1; p <= 17; p++) {
    let r = roundDec(x, p);
    let nd = r.d.length;
    let mant: u64 = 0;
    for (let i = 0; i < nd; i++) mant = mant * 10 + <u64>r.d[i];
    if (decimalToF64(mant, r.dp - nd, false) == v) return r;
  }
  return roundDec(x, 17);
}

function digitAt (x: Decimal, i: i32): string {
  return i >= 0 && i < x.d.length ? String.fromCharCode(0x30 + x.d[i]) : "0";
}

/** %e: d.ddddde±dd (prec digits after the point). */
function fmtE (x: Decimal, prec: i32, e: string): string {
  let s = digitAt(x, 0);
  if (prec > 0) {
    s += ".";
    let parts = new Array<string>();
    for (let i = 1; i <= prec; i++) parts.push(digitAt(x, i));
    s += parts.join("");
  }
  let exp = x.d.length == 0 ? 0 : x.dp - 1;
  s += e;
  if (exp < 0) { s += "-"; exp = -exp; } else s += "+";
  if (exp < 10) s += "0" + exp.toString();
  else s += exp.toString();
  return s;
}

/** %f: ddd.ddd (prec digits after the point). */
function fmtF (x: Decimal, prec: i32): string {
  let parts = new Array<string>();
  if (x.dp > 0) {
    for (let i = 0; i < x.dp; i++) parts.push(digitAt(x, i));
  } else parts.push("0");
  if (prec > 0) {
    parts.push(".");
    for (let i = 0; i < prec; i++) parts.push(digitAt(x, x.dp + i));
  }
  return parts.join("");
}

/** strconv.FormatFloat(abs(v), verb, prec, 64) for e E f F g G (v finite, non-negative). */
function formatDecimal (v: f64, verb: i32, prec: i32): string {
  let x = exactDecimal(v);
  let shortest = prec < 0;
  let digs: Decimal;
  if (shortest) {
    digs = x.d.length == 0 ? x : shortestDec(v, x);
    let nd = digs.d.length;
    if (verb == 0x65 || verb == 0x45) prec = nd > 0 ? nd - 1 : 0;
    else if (verb == 0x66 || verb == 0x46) prec = nd - digs.dp > 0 ? nd - digs.dp : 0;
    else prec = nd;
  } else {
    if (verb == 0x65 || verb == 0x45) digs = roundDec(x, prec + 1);
    else if (verb == 0x66 || verb == 0x46) digs = roundDec(x, x.dp + prec);
    else { if (prec == 0) prec = 1; digs = roundDec(x, prec); }
  }
  if (verb == 0x65 || verb == 0x45) return fmtE(digs, prec, verb == 0x65 ? "e" : "E");
  if (verb == 0x66 || verb == 0x46) return fmtF(digs, prec);
  // g G
  let nd = digs.d.length;
  let eprec = prec;
  if (eprec > nd && nd >= digs.dp) eprec = nd;
  if (shortest) eprec = 6;
  let exp = digs.dp - 1;
  if (exp < -4 || exp >= eprec) {
    let p = prec;
    if (p > nd) p = nd;
    return fmtE(digs, p - 1, verb == 0x67 ? "e" : "E");
  }
  let p = prec;
  if (p > digs.dp) p = nd;
  return fmtF(digs, p - digs.dp > 0 ? p - digs.dp : 0);
}

/** %b of a float: mantissa p exponent (decimal). */
function formatBinary (v: f64): string {
  let bits = reinterpret<u64>(v) & 0x7FFFFFFFFFFFFFFF;
  let be = <i32>((bits >> 52) & 0x7FF);
  let m = bits & 0xFFFFFFFFFFFFF;
  let e: i32;
  if (be == 0) e = -1074; else { m |= <u64>1 << 52; e = be - 1075; }
  return m.toString() + "p" + (e >= 0 ? "+" : "-") + (e >= 0 ? e : -e).toString();
}

/** %x of a float: hexadecimal mantissa and binary exponent, as strconv does. */
function formatHexFloat (v: f64, prec: i32, upper: bool): string {
  let bits = reinterpret<u64>(v) & 0x7FFFFFFFFFFFFFFF;
  let be = <i32>((bits >> 52) & 0x7FF);
  let mant = bits & 0xFFFFFFFFFFFFF;
  let exp: i32;
  if (be == 0) exp = -1022; else { mant |= <u64>1 << 52; exp = be - 1023; }
  if (mant == 0) exp = 0;
  // Leading 1 at bit 60.
  mant <<= 8;
  while (mant != 0 && (mant & (<u64>1 << 60)) == 0) { mant <<= 1; exp--; }
  if (prec >= 0 && prec < 15) {
    let shift = <u64>(prec * 4);
    let extra = (mant << shift) & ((<u64>1 << 60) - 1);
    mant >>= 60 - shift;
    if ((extra | (mant & 1)) > (<u64>1 << 59)) mant++;
    mant <<= 60 - shift;
    if ((mant & (<u64>1 << 61)) != 0) { mant >>= 1; exp++; }
  }
  let hex = upper ? UDIGITS : LDIGITS;
  let parts = new Array<string>();
  parts.push(upper ? "0X" : "0x");
  parts.push(((mant >> 60) & 1) != 0 ? "1" : "0");
  mant <<= 4;
  if (prec < 0 && mant != 0) {
    parts.push(".");
    while (mant != 0) { parts.push(hex.charAt(<i32>((mant >> 60) & 15))); mant <<= 4; }
  } else if (prec > 0) {
    parts.push(".");
    for (let i = 0; i < prec; i++) { parts.push(hex.charAt(<i32>((mant >> 60) & 15))); mant <<= 4; }
  }
  parts.push(upper ? "P" : "p");
  if (exp < 0) { parts.push("-"); exp = -exp; } else parts.push("+");
  if (exp < 10) parts.push("0");
  parts.push(exp.toString());
  return parts.join("");
}

function fmtFloat (f: Flags, v: f64, verb: i32, prec: i32): string {
  if (f.precPresent) prec = f.prec;
  let neg = v < 0 || (v == 0 && 1 / v < 0);
  let num: string;
  if (isNaN(v)) { num = "NaN"; neg = false; }
  else if (!isFinite(v)) num = "Inf";
  else if (verb == 0x62) num = formatBinary(v);
  else if (verb == 0x78 || verb == 0x58) num = formatHexFloat(Math.abs(v), prec, verb == 0x58);
  else num = formatDecimal(Math.abs(v), verb, prec);
  let sign = neg ? "-" : "+";
  if (f.space && sign == "+" && !f.plus) sign = " ";
  if (num == "Inf" || num == "NaN") {
    let oldZero = f.zero;
    f.zero = false;
    let s = num == "NaN" && !f.space && !f.plus ? num : sign + num;
    let r = pad(f, s);
    f.zero = oldZero;
    return r;
  }
  if (f.sharp && verb != 0x62) {
    let digits = 0;
    if (verb == 0x76 || verb == 0x67 || verb == 0x47 || verb == 0x78) {
      digits = prec;
      if (digits == -1) digits = 6;
    }
    let tail = "";
    let body = num;
    let cut = -1;
    for (let i = 0; i < body.length; i++) {
      let c = body.charCodeAt(i);
      if (c == 0x70 || c == 0x50) { cut = i; break; }
      if ((c == 0x65 || c == 0x45) && verb != 0x78 && verb != 0x58) { cut = i; break; }
    }
    if (cut >= 0) { tail = body.substring(cut); body = body.substring(0, cut); }
    let hasPoint = false, sawNonzero = false;
    for (let i = 0; i < body.length; i++) {
      let c = body.charCodeAt(i);
      if (c == 0x2E) { hasPoint = true; continue; }
      if (c != 0x30) sawNonzero = true;
      if (sawNonzero) digits--;
    }
    if (!hasPoint) {
      if (body == "0") digits--;
      body += ".";
    }
    if (digits > 0) body += repeatChar("0", digits);
    num = body + tail;
  }
  if (f.plus || sign != "+") {
    if (f.zero && !f.minus && f.widPresent && f.wid > num.length + 1) {
      return sign + repeatChar("0", f.wid - num.length - 1) + num;
    }
    return pad(f, sign + num);
  }
  return pad(f, num);
}
