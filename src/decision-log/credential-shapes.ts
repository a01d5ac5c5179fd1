// Credentials recognised by their shape, under any name: a JWT, an auth scheme with a token
// after it, an AWS access key id, a private key. `bouncer evidence` reports them wherever they
// survived into a log (src/evidence/scan.ts); the decision log erases request headers holding
// one (event.ts), and the process-log scrubber cuts their values out of messages
// (src/proxy/secret-values.ts): one reading for all three, so what the log keeps is what the
// scan passes.

// What is left of a value a logger cut, maybe followed by punctuation ("Bearer [erased], expected …").
const CUT_MARK = /^\[(erased|redacted|masked)\]/i

// Values that are credentials whatever their name.
export type SchemeReading = 'any' | 'token' | 'none'
// 16 or more token characters (percent-escapes too) with a digit or a symbol, or 20 or more
// letters of both cases that are not words run together (ExpiredSignatureError).
const TOKEN_LIKE = /^(?:(?=\S*[0-9+/=_.~%-])[A-Za-z0-9+/=_.~%-]{16,}|(?!(?:[A-Z][a-z]+)+$)(?=\S*[a-z])(?=\S*[A-Z])[A-Za-z]{20,})$/
const AUTH_SCHEME = /^(?:bearer|basic|digest|negotiate|ntlm|token|apikey|aws4-hmac-sha256)\s+(\S{8,})/i
// What JWT, AWS_KEY and PRIVATE_KEY need to match.
const FIXED_PARTS = /eyJ|AKIA|ASIA|-----BEGIN/
// The first letters of AUTH_SCHEME's words, lower case.
const SCHEME_INITIAL: ReadonlySet<number> = new Set([...'bdnta'].map((c) => c.charCodeAt(0)))
const AWS_KEY = /\b(AKIA|ASIA)[0-9A-Z]{16}\b/
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/

/** Whether s holds a JWT: `eyJ` at a word start, 8+ base64url characters, ".", the same again,
 * ".". In one pass: a regex for it backtracks from every `eyJ` of a long run that never reaches
 * a "." (`-eyJ-eyJ…`, 64 KB took 1.6 s), where this finds each run's end once. */
function hasJwt (s: string): boolean {
  let runEnd = -1
  let second = -1 // the first run whose second part was read (the same for every eyJ of it)
  for (let p = s.indexOf('eyJ'); p >= 0; p = s.indexOf('eyJ', p + 1)) {
    if (p > 0 && isWordChar(s.charCodeAt(p - 1))) continue
    if (p >= runEnd) runEnd = tokenRunEnd(s, p) // the same end for every eyJ of one run
    if (runEnd - (p + 3) < 8 || s.charCodeAt(runEnd) !== 0x2e) continue // .
    if (second === runEnd) continue
    second = runEnd
    const q = runEnd + 1
    if (!s.startsWith('eyJ', q)) continue
    const end = tokenRunEnd(s, q)
    if (end - (q + 3) >= 8 && s.charCodeAt(end) === 0x2e) return true
  }
  return false
}

/** The end of the run of base64url characters ([A-Za-z0-9_-]) starting at i. */
function tokenRunEnd (s: string, i: number): number {
  while (i < s.length && (isWordChar(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2d)) i++
  return i
}

function isWordChar (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f
}

/**
 * What credential `s` holds, or null. `schemes`: whether an auth scheme and a word after it count
 * ('any': a request header's value), only when the word looks like a token ('token': 16 or more
 * token characters with a digit or a symbol, not "Bearer credentials required" in a result's
 * prose), or never ('none': a challenge header, `Bearer realm="api"`).
 */
// What may follow a token quoted in prose ("Bearer abc…, expected …").
const TRAILING = new Set([...',;:…)"\''].map((c) => c.charCodeAt(0)))

/** `s` without the punctuation it ends with: a loop from the end (a regex anchored at $ backtracked over long runs, quadratic). */
function withoutTrailingPunctuation (s: string): string {
  let end = s.length
  while (end > 0 && TRAILING.has(s.charCodeAt(end - 1))) end--
  return end === s.length ? s : s.slice(0, end)
}

export function credentialShape (s: string, schemes: SchemeReading = 'any'): string | null {
  // The decision log reads every request header with this: the auth scheme is tried only on a
  // value starting with one of its letters, the rest only where one's fixed part occurs (one
  // regex over the value for all of them: ~20 ns, four searches took ~55).
  if (s.length < 12) return null
  const scheme = schemes === 'none' || !SCHEME_INITIAL.has(s.charCodeAt(0) | 0x20) ? null : AUTH_SCHEME.exec(s)
  // "token [erased]": what the scrubber left of one is no finding.
  if (scheme !== null && !CUT_MARK.test(scheme[1]!) && (schemes === 'any' || TOKEN_LIKE.test(withoutTrailingPunctuation(scheme[1]!)))) return 'credential with an auth scheme (' + s.slice(0, s.search(/\s/)).toLowerCase() + ')'
  if (!FIXED_PARTS.test(s)) return null
  if (hasJwt(s)) return 'JWT'
  if (AWS_KEY.test(s)) return 'AWS access key id'
  if (PRIVATE_KEY.test(s)) return 'private key'
  return null
}
