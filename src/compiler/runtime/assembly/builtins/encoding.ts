// JSON, base64 and hex builtins. Encoders work on the bytes of a string and decoders return the
// decoded bytes as a string, invalid UTF-8 included (../bytes: such bytes are held escaped), as
// OPA's Go strings do.

import { Value, StrV, T_STRING, mkStr, mkBool } from "../value";
import { parseJSONString, dumpJSON } from "../json";
import { decodeBytes, encodeBytes } from "../bytes";
import { typeError, builtinError } from "./errors";

// @ts-ignore: decorator
@inline function S (v: Value): string { return changetype<StrV>(v).s; }

// ---- json ---------------------------------------------------------------------------

export function jsonMarshal (args: Array<Value>): Value | null {
  return mkStr(goHtmlEscape(dumpJSON(args[0])));
}

/**
 * Go's json.Marshal (OPA's json.marshal) escapes <, > and & (HTML safety) and U+2028/U+2029 in
 * strings. They can only occur inside strings of the JSON text, so the whole text is rewritten.
 */
function goHtmlEscape (t: string): string {
  let plain = true;
  for (let i = 0, n = t.length; i < n; i++) {
    let c = t.charCodeAt(i);
    if (c == 0x3c || c == 0x3e || c == 0x26 || c == 0x2028 || c == 0x2029) { plain = false; break; }
  }
  if (plain) return t;
  return t.replaceAll("<", "\\u003c").replaceAll(">", "\\u003e").replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028").replaceAll("\u2029", "\\u2029");
}

export function jsonUnmarshal (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_STRING) return typeError("json.unmarshal", 1, "string", a);
  let v = parseJSONString(S(a));
  if (v === null) return builtinError("json.unmarshal", "invalid JSON");
  return v;
}

export function jsonIsValid (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_STRING) return mkBool(false);
  return mkBool(parseJSONString(S(a)) !== null);
}

// ---- base64 -------------------------------------------------------------------------

const STD: string = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: string = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function b64encode (s: string, alphabet: string, pad: bool): string {
  let buf = encodeBytes(s);
  let p = buf.dataStart;
  let n = <usize>buf.length;
  let outLen = pad ? ((n + 2) / 3) * 4 : (n * 4 + 2) / 3;
  let out = __new(outLen << 1, idof<String>());
  let o: usize = 0;
  let i: usize = 0;
  let a = changetype<usize>(alphabet);
  while (i + 3 <= n) {
    let v = (<u32>load<u8>(p + i) << 16) | (<u32>load<u8>(p + i + 1) << 8) | <u32>load<u8>(p + i + 2);
    store<u16>(out + (o << 1), load<u16>(a + ((v >> 18) << 1))); o++;
    store<u16>(out + (o << 1), load<u16>(a + (((v >> 12) & 63) << 1))); o++;
    store<u16>(out + (o << 1), load<u16>(a + (((v >> 6) & 63) << 1))); o++;
    store<u16>(out + (o << 1), load<u16>(a + ((v & 63) << 1))); o++;
    i += 3;
  }
  let rest = n - i;
  if (rest > 0) {
    let v = <u32>load<u8>(p + i) << 16;
    if (rest == 2) v |= <u32>load<u8>(p + i + 1) << 8;
    store<u16>(out + (o << 1), load<u16>(a + ((v >> 18) << 1))); o++;
    store<u16>(out + (o << 1), load<u16>(a + (((v >> 12) & 63) << 1))); o++;
    if (rest == 2) { store<u16>(out + (o << 1), load<u16>(a + (((v >> 6) & 63) << 1))); o++; }
    else if (pad) { store<u16>(out + (o << 1), 0x3D); o++; }
    if (pad) { store<u16>(out + (o << 1), 0x3D); o++; }
  }
  return changetype<string>(out);
}

function b64val (c: i32, url: bool): i32 {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (url) { if (c == 45) return 62; if (c == 95) return 63; }
  else { if (c == 43) return 62; if (c == 47) return 63; }
  return -1;
}

// Decoder result: the decoded string, or an error position (-1 when ok).
let b64ErrorAt: i32 = -1;

/**
 * Go's base64 DecodeString (Std or URL alphabet, padded), on the bytes of `s`: quanta of four
 * symbols, CR and LF skipped anywhere. The error offsets are Go's (CorruptInputError), in bytes:
 * input ending inside a quantum is reported at the quantum's start less the newlines skipped in
 * it ("wg" at 0, "\n\rgwg" at 2); a misplaced '=' at itself; a second '=' that is missing at the
 * byte before where it should be ("YQ=x" at 2) or at the end; anything after the padding at its
 * first byte (review helper, 2026-12-07: these were the byte where decoding stopped, "wg" at 2).
 */
function b64decode (s: string, url: bool): string {
  b64ErrorAt = -1;
  let src = encodeBytes(s);
  let n = src.length;
  let bytes = new Array<u8>();
  let si = 0;
  while (si < n) {
    let acc: u32 = 0;
    let dlen = 4;
    let trailing = -1;
    for (let j = 0; j < 4; j++) {
      if (si == n) {
        if (j == 0) return decodeBytes(bytes.dataStart, <usize>bytes.length);
        b64ErrorAt = si - j; return ""; // padded: a partial quantum is an error
      }
      let c = <i32>unchecked(src[si++]);
      let v = b64val(c, url);
      if (v >= 0) { acc |= <u32>v << (18 - 6 * j); continue; }
      if (c == 10 || c == 13) { j--; continue; }
      if (c != 61 || j < 2) { b64ErrorAt = si - 1; return ""; }
      if (j == 2) { // a second '=' must follow (newlines between allowed)
        while (si < n && (unchecked(src[si]) == 10 || unchecked(src[si]) == 13)) si++;
        if (si == n) { b64ErrorAt = n; return ""; }
        if (unchecked(src[si]) != 61) { b64ErrorAt = si - 1; return ""; }
        si++;
      }
      while (si < n && (unchecked(src[si]) == 10 || unchecked(src[si]) == 13)) si++;
      if (si < n) trailing = si;
      dlen = j;
      break;
    }
    bytes.push(<u8>(acc >> 16));
    if (dlen > 2) bytes.push(<u8>(acc >> 8));
    if (dlen > 3) bytes.push(<u8>acc);
    if (trailing >= 0) { b64ErrorAt = trailing; return ""; }
    if (dlen < 4) break;
  }
  return decodeBytes(bytes.dataStart, <usize>bytes.length);
}

export function base64Encode (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_STRING) return typeError("base64.encode", 1, "string", a);
  return mkStr(b64encode(S(a), STD, true));
}

export function base64Decode (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_STRING) return typeError("base64.decode", 1, "string", a);
  let r = b64decode(S(a), false);
  if (b64ErrorAt >= 0) return builtinError("base64.decode", "illegal base64 data at input byte " + b64ErrorAt.toString());
  return mkStr(r);
}

export function base64UrlEncode (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_STRING) return typeError("base64url.encode", 1, "string", a);
  return mkStr(b64encode(S(a), URL, true));
}

export function base64UrlEncodeNoPad (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_STRING) return typeError("base64url.encode_no_pad", 1, "string", a);
  return mkStr(b64encode(S(a), URL, false));
}

export function base64UrlDecode (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_STRING) return typeError("base64url.decode", 1, "string", a);
  let s = S(a);
  // OPA (builtinBase64UrlDecode): a string ending in "=" is decoded as it is; otherwise it is
  // padded by its length in bytes modulo 4 (2: "==", 3: "=", 1: an error) and decoded padded.
  // CR and LF count in that length though the decoder skips them, so "aGk\n\n" is an error and
  // "aG\nk=" is "hi". A string that is not ASCII fails to decode whatever its length.
  if (!s.endsWith("=")) {
    let rem = encodeBytes(s).length % 4;
    if (rem == 1) return builtinError("base64url.decode", "illegal base64url string: " + s);
    if (rem == 2) s += "==";
    else if (rem == 3) s += "=";
  }
  let r = b64decode(s, true);
  if (b64ErrorAt >= 0) return builtinError("base64url.decode", "illegal base64 data at input byte " + b64ErrorAt.toString());
  return mkStr(r);
}

// ---- hex ----------------------------------------------------------------------------

const HEXDIGITS: string = "0123456789abcdef";

export function hexEncode (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_STRING) return typeError("hex.encode", 1, "string", a);
  let buf = encodeBytes(S(a));
  let p = buf.dataStart;
  let n = <usize>buf.length;
  let out = __new(n << 2, idof<String>());
  let h = changetype<usize>(HEXDIGITS);
  for (let i: usize = 0; i < n; i++) {
    let b = <usize>load<u8>(p + i);
    store<u16>(out + (i << 2), load<u16>(h + ((b >> 4) << 1)));
    store<u16>(out + (i << 2) + 2, load<u16>(h + ((b & 15) << 1)));
  }
  return mkStr(changetype<string>(out));
}

function hexVal (c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export function hexDecode (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_STRING) return typeError("hex.decode", 1, "string", a);
  let s = S(a);
  let n = s.length;
  let bytes = new Array<u8>();
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let hi = hexVal(s.charCodeAt(i)), lo = hexVal(s.charCodeAt(i + 1));
    if (hi < 0) return builtinError("hex.decode", "encoding/hex: invalid byte: " + describeRune(s, i));
    if (lo < 0) return builtinError("hex.decode", "encoding/hex: invalid byte: " + describeRune(s, i + 1));
    bytes.push(<u8>((hi << 4) | lo));
  }
  if (i < n) {
    if (hexVal(s.charCodeAt(i)) < 0) return builtinError("hex.decode", "encoding/hex: invalid byte: " + describeRune(s, i));
    return builtinError("hex.decode", "encoding/hex: odd length hex string");
  }
  return mkStr(decodeBytes(bytes.dataStart, <usize>bytes.length));
}

/** Go's %#U of the character at i: U+0067 'g' */
function describeRune (s: string, i: i32): string {
  let c = s.codePointAt(i);
  let hex = (<u32>c).toString(16).toUpperCase();
  while (hex.length < 4) hex = "0" + hex;
  return "U+" + hex + " '" + String.fromCodePoint(c) + "'";
}
