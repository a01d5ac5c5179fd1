// The privacy scan: credentials that survived into logged decision events. The logger erases
// credential headers and query parameters before an event is chained (src/decision-log/erase.ts),
// with the names it is configured with; this scan is independent of that configuration, so a
// header missing from erase_headers, a token in an unexpected header, or a log written before
// erasure existed is found. Values are never copied into the report: a finding names the
// event, the location and the kind of credential only.

export interface CredentialHit {
  /** JSON pointer into the event, e.g. /input/attributes/request/http/headers/x-api-key */
  location: string
  kind: string
}

/** Header names whose value is a credential (lower case). */
const CREDENTIAL_HEADERS = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key', 'apikey', 'x-apikey',
  'x-auth-token', 'x-access-token', 'x-id-token', 'x-refresh-token', 'x-session-token', 'x-amz-security-token',
  'x-vault-token', 'private-token', 'x-goog-iam-authorization-token', 'x-csrf-token', 'x-xsrf-token',
  'x-client-secret', 'x-upstream-authorization', 'x-forwarded-access-token', 'x-ms-token-aad-access-token',
])

/** Query / body field names whose value is a credential (lower case, compared decoded). */
const CREDENTIAL_FIELDS = new Set([
  'access_token', 'id_token', 'refresh_token', 'token', 'api_key', 'apikey', 'api-key', 'key', 'password', 'passwd',
  'secret', 'client_secret', 'private_key', 'session', 'sessionid', 'session_id', 'auth', 'authorization',
  'x-amz-signature', 'x-amz-security-token', 'x-amz-credential', 'sig', 'signature',
])

/** Body field names: the unambiguous ones only ("key" or "session" in a JSON body is usually data). */
const CREDENTIAL_BODY_FIELDS = new Set([
  'access_token', 'id_token', 'refresh_token', 'token', 'api_key', 'apikey', 'password', 'passwd', 'secret',
  'client_secret', 'private_key',
])

const REDACTED = new Set(['', '[REDACTED]', 'REDACTED', '***', '[MASKED]', '[ERASED]'])

// Values that are credentials whatever their name.
const AUTH_SCHEME = /^(bearer|basic|digest|negotiate|ntlm|token|apikey|aws4-hmac-sha256)\s+\S{8,}/i
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/
const AWS_KEY = /\b(AKIA|ASIA)[0-9A-Z]{16}\b/
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/

// One pass to rule most values out: every pattern above needs one of these.
const MAYBE = /\s\S{8}|eyJ|AKIA|ASIA|-----BEGIN/

function valueKind (s: string): string | null {
  if (s.length < 12 || !MAYBE.test(s)) return null
  if (AUTH_SCHEME.test(s)) return 'credential with an auth scheme (' + s.slice(0, s.search(/\s/)).toLowerCase() + ')'
  if (JWT.test(s)) return 'JWT'
  if (AWS_KEY.test(s)) return 'AWS access key id'
  if (PRIVATE_KEY.test(s)) return 'private key'
  return null
}

function escapePointer (s: string): string {
  return s.includes('~') || s.includes('/') ? s.replace(/~/g, '~0').replace(/\//g, '~1') : s
}

function isObject (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function scanHeaders (h: unknown, base: string, out: CredentialHit[]): void {
  if (!isObject(h)) return
  for (const name in h) {
    const v = h[name]
    if (typeof v === 'string') scanHeader(name, v, base, out)
    else if (Array.isArray(v)) {
      for (const one of v) if (typeof one === 'string' && scanHeader(name, one, base, out)) break
    }
  }
}

function scanHeader (name: string, value: string, base: string, out: CredentialHit[]): boolean {
  const lower = CREDENTIAL_HEADERS.has(name) ? name : name.toLowerCase()
  if (CREDENTIAL_HEADERS.has(lower)) {
    if (REDACTED.has(value.trim())) return false
    out.push({ location: base + escapePointer(name), kind: `${lower} header` })
    return true
  }
  const k = valueKind(value)
  if (k !== null && !REDACTED.has(value.trim())) {
    out.push({ location: base + escapePointer(name), kind: `${k} in the ${lower} header` })
    return true
  }
  return false
}

function scanQuery (path: unknown, out: CredentialHit[]): void {
  if (typeof path !== 'string') return
  const q = path.indexOf('?')
  if (q >= 0) scanQueryString(path.slice(q + 1), '/input/attributes/request/http/path', out)
}

/** name=value parts separated by "&" or ";" (some servers split on either). */
function scanQueryString (query: string, location: string, out: CredentialHit[]): void {
  for (const part of query.split(/[&;]/)) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    let name: string
    let value: string
    try {
      name = decodeURIComponent(part.slice(0, eq).replace(/\+/g, ' ')).toLowerCase()
      value = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '))
    } catch { continue }
    if (REDACTED.has(value.trim())) continue
    if (CREDENTIAL_FIELDS.has(name)) out.push({ location, kind: `query parameter ${name}` })
    else {
      const k = valueKind(value)
      if (k !== null) out.push({ location, kind: `${k} in query parameter ${name}` })
    }
  }
}

/** Walk a parsed query or body for credential field names and credential-shaped values. */
function scanTree (v: unknown, base: string, fields: ReadonlySet<string>, out: CredentialHit[], budget: { n: number }, depth = 0): void {
  if (budget.n-- <= 0 || depth > 16) return
  if (typeof v === 'string') {
    const k = REDACTED.has(v.trim()) ? null : valueKind(v)
    if (k !== null) out.push({ location: base, kind: k })
    return
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) scanTree(v[i], base + '/' + i, fields, out, budget, depth + 1)
    return
  }
  if (!isObject(v)) return
  for (const name of Object.keys(v)) {
    const x = v[name]
    const at = base + '/' + escapePointer(name)
    if (fields.has(name.toLowerCase()) && x !== null && x !== undefined && !(typeof x === 'string' && REDACTED.has(x.trim())) &&
        !(Array.isArray(x) && x.every((e) => typeof e === 'string' && REDACTED.has(e.trim())))) {
      out.push({ location: at, kind: `field ${name.toLowerCase()}` })
      continue
    }
    scanTree(x, at, fields, out, budget, depth + 1)
  }
}

/** Credentials in one decision event's logged input and in the headers its decision set. */
export function scanEvent (ev: Record<string, unknown>): CredentialHit[] {
  const out: CredentialHit[] = []
  const input = ev.input
  if (isObject(input)) {
    const http = (input.attributes as any)?.request?.http as Record<string, unknown> | undefined
    if (isObject(http)) {
      scanHeaders(http.headers, '/input/attributes/request/http/headers/', out)
      scanQuery(http.path, out)
    }
    const budget = { n: 5000 }
    if (input.parsed_query !== undefined) {
      scanTree(input.parsed_query, '/input/parsed_query', CREDENTIAL_FIELDS, out, budget)
      // `?x=1;token=abc` is x: ["1;token=abc"] in parsed_query (it splits on "&" only).
      if (isObject(input.parsed_query)) {
        for (const k of Object.keys(input.parsed_query)) {
          const list = input.parsed_query[k]
          if (!Array.isArray(list)) continue
          list.forEach((one, i) => { if (typeof one === 'string' && one.includes(';')) scanQueryString(one, `/input/parsed_query/${escapePointer(k)}/${i}`, out) })
        }
      }
    }
    if (input.parsed_body !== undefined) scanTree(input.parsed_body, '/input/parsed_body', CREDENTIAL_BODY_FIELDS, out, budget)
  }
  const result = ev.result
  if (isObject(result)) {
    scanHeaders(result.headers, '/result/headers/', out)
    scanHeaders(result.response_headers, '/result/response_headers/', out)
  }
  return out
}
