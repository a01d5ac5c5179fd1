// JSON Pointer (RFC 6901) parsing for mask paths, extended with one wildcard.
//
//   "/customers/*/ssn"   `*` as a whole token matches any array index or object key.
//   "/a~1b/c~0d"         RFC 6901 escapes: ~1 is "/", ~0 is "~".
//   "/weird/~2"          ~2 is a literal "*" (our extension). RFC 6901 has no escape for "*";
//                        ~2 is invalid in a plain RFC 6901 pointer, so no standard pointer
//                        changes meaning. Only a token that is exactly "*" is a wildcard:
//                        "/a*b" already matches the key "a*b".
//
// Array elements match only canonical indices ("0", "17"; not "01", "-", "+1"); the same
// token still matches an object key of that spelling, because the node type is only known
// when the rule is applied.

/** A parsed token: a wildcard, or a key that may also be an array index. */
export type PathToken =
  | { readonly wildcard: true }
  | { readonly wildcard: false; readonly key: string; readonly index: number }

export const WILDCARD: PathToken = Object.freeze({ wildcard: true })

export const MAX_POINTER_LENGTH = 2048
export const MAX_POINTER_TOKENS = 128

const ARRAY_INDEX = /^(?:0|[1-9][0-9]{0,9})$/
// Past this no array fits in memory (an element takes two bytes of JSON at least), and the Wasm
// walk's table holds indices as i32: 4294967296 wrapped to 0 there and masked the first element.
// A larger token still names an object key.
const MAX_INDEX = 0x7fffffff

/** Parses a mask pointer; returns the tokens or a reason string (the caller names the rule). */
export function parseMaskPointer (path: string): PathToken[] | string {
  if (path === '') return 'path is empty (masking the whole document is not supported)'
  if (path.length > MAX_POINTER_LENGTH) return `path is longer than ${MAX_POINTER_LENGTH} characters`
  if (path[0] !== '/') return 'path must start with "/" (a JSON Pointer)'
  const raw = path.slice(1).split('/')
  if (raw.length > MAX_POINTER_TOKENS) return `path has more than ${MAX_POINTER_TOKENS} segments`
  const tokens: PathToken[] = []
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i]!
    if (r === '*') { tokens.push(WILDCARD); continue }
    const bad = /~(?![012])/.exec(r)
    if (bad) return `segment ${i + 1} ("${r}") has an invalid escape: "~" must be followed by 0, 1 or 2`
    // Order matters: ~01 is "~1" literally, so ~1/~2 are decoded before ~0.
    const key = r.includes('~') ? r.replace(/~1/g, '/').replace(/~2/g, '*').replace(/~0/g, '~') : r
    tokens.push(Object.freeze({ wildcard: false, key, index: ARRAY_INDEX.test(key) && Number(key) <= MAX_INDEX ? Number(key) : -1 }))
  }
  return tokens
}

/** Escapes one concrete key for a reported path (RFC 6901, plus ~2 for a literal "*" key). */
export function escapeToken (key: string): string {
  if (key === '*') return '~2'
  return key.includes('~') || key.includes('/') ? key.replace(/~/g, '~0').replace(/\//g, '~1') : key
}
