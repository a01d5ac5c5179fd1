// Trimming by character class in one pass from each end. A regex such as /[\s]+$/ retries from
// every character of a run that does not reach the end ("x" + 16 KB of spaces + "x" cost ~110 ms
// per header), so text a client controls is trimmed with these instead.

/** `s` without the leading and trailing characters `drop` accepts (UTF-16 code units). */
export function trimBy (s: string, drop: (c: number) => boolean): string {
  let a = 0
  let z = s.length
  while (a < z && drop(s.charCodeAt(a))) a++
  while (z > a && drop(s.charCodeAt(z - 1))) z--
  return a === 0 && z === s.length ? s : s.slice(a, z)
}

/** `s` without its trailing characters `drop` accepts. */
export function trimEndBy (s: string, drop: (c: number) => boolean): string {
  let z = s.length
  while (z > 0 && drop(s.charCodeAt(z - 1))) z--
  return z === s.length ? s : s.slice(0, z)
}

/** JavaScript's \s (Unicode White_Space and the BOM) plus NEL (U+0085): what Python's
 * str.strip() and Go's unicode.IsSpace take around a media type. */
export function isSpaceOrNel (c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d)
  if (c < 0x85) return false
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
}

/** HTTP's optional whitespace: space and tab. */
export function isOws (c: number): boolean { return c === 0x20 || c === 0x09 }
