// The plan's constant strings, shared with parsed JSON. An ASCII string without escapes in the
// input (or any JSON the runtime parses) that equals one of them is that same string: no
// allocation for it, and object lookups by a constant key (input.identity.sub) find it by
// address before comparing characters (value.ts ObjV.getStr).
//
// Strings are immutable, so sharing one is invisible to Rego. The table is filled once, at
// plan init (below the heap base the SDK records after start), so a heap reset never frees
// what it points at.

/** Open-addressing table (size a power of two, at most half full), null = empty slot. */
let table: StaticArray<string | null> = new StaticArray<string | null>(0);
let mask: u32 = 0;

// @ts-ignore: decorator
@inline export const HASH_SEED: u32 = 0x811C9DC5;

/** One step of FNV-1a over a byte (an ASCII unit). */
// @ts-ignore: decorator
@inline export function hashStep (h: u32, c: u32): u32 { return (h ^ c) * 0x01000193; }

function isAscii (s: string): bool {
  for (let i = 0, n = s.length; i < n; i++) if (<u32>s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Replaces the table by one holding the ASCII strings of `strings` (duplicates kept once). */
export function internInit (strings: Array<string>): void {
  let size: i32 = 16;
  while (size < strings.length * 2) size <<= 1;
  table = new StaticArray<string | null>(size);
  mask = <u32>(size - 1);
  for (let i = 0, n = strings.length; i < n; i++) {
    let s = unchecked(strings[i]);
    if (!isAscii(s)) continue;
    let h = HASH_SEED;
    for (let j = 0, m = s.length; j < m; j++) h = hashStep(h, <u32>s.charCodeAt(j));
    let at = h & mask;
    while (true) {
      let t = unchecked(table[at]);
      if (t === null) { unchecked(table[at] = s); break; }
      if (t == s) break;
      at = (at + 1) & mask;
    }
  }
}

/** The interned string equal to the `n` ASCII bytes at `p` (FNV-1a hash `h`), or null. */
export function internedAscii (p: usize, n: usize, h: u32): string | null {
  if (mask == 0) return null;
  let at = h & mask;
  while (true) {
    let t = unchecked(table[at]);
    if (t === null) return null;
    if (<usize>t.length == n && sameAscii(changetype<usize>(t), p, n)) return t;
    at = (at + 1) & mask;
  }
  return null;
}

/** Whether the UTF-16 units at `s` equal the bytes at `p` (`n` of each). */
function sameAscii (s: usize, p: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) {
    if (<u32>load<u16>(s + (i << 1)) != <u32>load<u8>(p + i)) return false;
  }
  return true;
}
