// Rego strings are byte strings (OPA is Go): base64.decode, hex.decode and urlquery.decode
// return the decoded bytes even when they are not valid UTF-8, and hashes, encoders and equality
// work on those bytes. The runtime holds strings as UTF-16, so a byte that is not part of valid
// UTF-8 (each such byte on its own, as Go's utf8 decoding rejects it) is held as the lone low
// surrogate U+DC00+byte, U+DC80..U+DCFF ("surrogateescape"). Nothing else makes lone surrogates:
// JSON input, the plan and Rego literals turn an escape like \udc80 into U+FFFD as Go does. So
// equality tells hex.decode("ff") from hex.decode("fe") (a MAC compare cannot be forged by
// bytes that both became U+FFFD), count() counts such a byte as one rune as Go does, and the
// encoders get the byte back (encodeBytes).
//
// How such a byte leaves the runtime (json.ts):
//   * to a host builtin and back: during a host call, opa_json_dump writes it as the escape
//     \udcXX and opa_json_parse keeps that escape as the same lone surrogate (JSON.parse and
//     JSON.stringify carry lone surrogates as such), so the host sees and returns the bytes;
//   * everywhere else (the policy's result, json.marshal, error texts): as \ufffd, which is what
//     Go's encoding/json writes for an invalid byte.

/** Whether UTF-16 unit `c`, not paired with a high surrogate before it, is an escaped byte. */
// @ts-ignore: decorator
@inline export function isByteEscape (c: u32): bool { return c >= 0xDC80 && c <= 0xDCFF; }

// @ts-ignore: decorator
@inline function isHigh (c: u32): bool { return c >= 0xD800 && c < 0xDC00; }
// @ts-ignore: decorator
@inline function isLow (c: u32): bool { return c >= 0xDC00 && c < 0xE000; }

/** Whether unit `i` of `s` is a lone surrogate (neither half of a pair). */
export function loneSurrogateAt (s: string, i: i32): bool {
  let c = <u32>s.charCodeAt(i);
  if (isHigh(c)) return !(i + 1 < s.length && isLow(<u32>s.charCodeAt(i + 1)));
  if (isLow(c)) return !(i > 0 && isHigh(<u32>s.charCodeAt(i - 1)));
  return false;
}

/**
 * Decodes bytes as Go reads them: valid UTF-8 to characters, every byte of an invalid
 * sequence on its own to its escape U+DC00+byte.
 */
export function decodeBytes (p: usize, n: usize): string {
  let out = __new(n << 1, idof<String>()); // never more UTF-16 units than bytes
  let o: usize = 0;
  let i: usize = 0;
  while (i < n) {
    let c = <u32>load<u8>(p + i);
    if (c < 0x80) { store<u16>(out + (o << 1), <u16>c); o++; i++; continue; }
    let need: usize = 0;
    let cp: u32 = 0;
    let minCp: u32 = 0;
    if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; minCp = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; minCp = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; minCp = 0x10000; }
    let ok = need > 0;
    if (ok) {
      for (let k: usize = 1; k <= need; k++) {
        if (i + k >= n) { ok = false; break; }
        let cc = <u32>load<u8>(p + i + k);
        if ((cc & 0xC0) != 0x80) { ok = false; break; }
        cp = (cp << 6) | (cc & 0x3F);
      }
    }
    if (ok && (cp < minCp || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))) ok = false;
    if (!ok) { store<u16>(out + (o << 1), <u16>(0xDC00 | c)); o++; i++; continue; }
    if (cp >= 0x10000) {
      let v = cp - 0x10000;
      store<u16>(out + (o << 1), <u16>(0xD800 | (v >> 10))); o++;
      store<u16>(out + (o << 1), <u16>(0xDC00 | (v & 0x3FF))); o++;
    } else {
      store<u16>(out + (o << 1), <u16>cp); o++;
    }
    i += need + 1;
  }
  if (o < n) out = __renew(out, o << 1);
  return changetype<string>(out);
}

/**
 * The bytes of `s` as Go holds them: UTF-8, an escaped byte as that byte, and any other lone
 * surrogate (none should exist) as U+FFFD.
 */
export function encodeBytes (s: string): Uint8Array {
  let n = s.length;
  let src = changetype<usize>(s);
  let len = 0;
  for (let i = 0; i < n; i++) len += unitBytes(src, i, n);
  let out = new Uint8Array(len);
  writeUtf8(src, n, out.dataStart, true);
  return out;
}

/**
 * Writes the `n` UTF-16 units at `src` as UTF-8 at `d` (room for 3 bytes a unit) and returns
 * the bytes written. A lone surrogate is U+FFFD, except, with `bytes`, an escaped byte, which is
 * that byte (encodeBytes); without it, as text is written out (json.ts's ByteWriter).
 */
export function writeUtf8 (src: usize, n: i32, d: usize, bytes: bool): usize {
  let o: usize = 0;
  for (let i = 0; i < n; i++) {
    let c = <u32>load<u16>(src + (<usize>i << 1));
    if (c < 0x80) { store<u8>(d + o, <u8>c); o++; continue; }
    if (c < 0x800) {
      store<u8>(d + o, <u8>(0xC0 | (c >> 6)));
      store<u8>(d + o + 1, <u8>(0x80 | (c & 0x3F)));
      o += 2; continue;
    }
    if (isHigh(c) && i + 1 < n) {
      let lo = <u32>load<u16>(src + (<usize>(i + 1) << 1));
      if (isLow(lo)) {
        let cp = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        store<u8>(d + o, <u8>(0xF0 | (cp >> 18)));
        store<u8>(d + o + 1, <u8>(0x80 | ((cp >> 12) & 0x3F)));
        store<u8>(d + o + 2, <u8>(0x80 | ((cp >> 6) & 0x3F)));
        store<u8>(d + o + 3, <u8>(0x80 | (cp & 0x3F)));
        o += 4; i++; continue;
      }
    }
    if (bytes && isByteEscape(c)) { store<u8>(d + o, <u8>(c & 0xFF)); o++; continue; }
    if (c >= 0xD800 && c < 0xE000) c = 0xFFFD;
    store<u8>(d + o, <u8>(0xE0 | (c >> 12)));
    store<u8>(d + o + 1, <u8>(0x80 | ((c >> 6) & 0x3F)));
    store<u8>(d + o + 2, <u8>(0x80 | (c & 0x3F)));
    o += 3;
  }
  return o;
}

/** Bytes unit `i` adds to encodeBytes' output (4 for a pair's high half, 0 for its low half). */
function unitBytes (src: usize, i: i32, n: i32): i32 {
  let c = <u32>load<u16>(src + (<usize>i << 1));
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (isHigh(c)) {
    if (i + 1 < n && isLow(<u32>load<u16>(src + (<usize>(i + 1) << 1)))) return 4;
    return 3;
  }
  if (isLow(c)) {
    if (i > 0 && isHigh(<u32>load<u16>(src + (<usize>(i - 1) << 1)))) return 0;
    return isByteEscape(c) ? 1 : 3;
  }
  return 3;
}

/**
 * `s` as Go's rune view sees it ([]rune(s), strings.Map): every invalid byte U+FFFD. For the
 * builtins OPA computes on runes (substring, upper/lower, indexof).
 */
export function goRunes (s: string): string {
  if (!hasByteEscape(s)) return s;
  let n = s.length;
  let out = __new(<usize>n << 1, idof<String>());
  let src = changetype<usize>(s);
  for (let i = 0; i < n; i++) {
    let c = <u32>load<u16>(src + (<usize>i << 1));
    store<u16>(out + (<usize>i << 1), <u16>(isByteEscape(c) && loneSurrogateAt(s, i) ? 0xFFFD : c));
  }
  return changetype<string>(out);
}

/** Whether `s` holds an escaped byte (cheap test before the byte-exact paths). */
export function hasByteEscape (s: string): bool {
  let src = changetype<usize>(s);
  for (let i = 0, n = s.length; i < n; i++) {
    if (isByteEscape(<u32>load<u16>(src + (<usize>i << 1))) && loneSurrogateAt(s, i)) return true;
  }
  return false;
}

/** Go's byte order of a[i:] and b[i:] (the strings agree before unit i, a character start). */
export function compareBytesFrom (a: string, b: string, i: i32): i32 {
  let x = encodeBytes(a.substring(i)), y = encodeBytes(b.substring(i));
  let nx = x.length, ny = y.length;
  let n = nx < ny ? nx : ny;
  for (let k = 0; k < n; k++) {
    let cx = unchecked(x[k]), cy = unchecked(y[k]);
    if (cx != cy) return cx < cy ? -1 : 1;
  }
  return nx == ny ? 0 : (nx < ny ? -1 : 1);
}
