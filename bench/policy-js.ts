// policies/policy.rego written by hand in JavaScript: the same decision for every input, Rego's
// semantics included where they differ from JavaScript's — undefined is not false (a rule whose
// body touches an undefined value simply does not apply), `==` and `in` compare values, `some x
// in coll` walks array elements and object values, count() works on arrays, objects and strings,
// a builtin type error (concat of a non-string) makes its rule undefined, and a set given to
// concat() is joined in sorted order. The benchmark checks that both agree on a set of inputs
// (bench/micro/eval.ts) before it compares their speed.

type Json = unknown
type Obj = Record<string, Json>

const hasOwn = Object.prototype.hasOwnProperty

function isObject (v: Json): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** `x.key` / `x[key]` with Rego's rules: undefined unless x has it. */
function at (v: Json, key: string | number): Json {
  if (Array.isArray(v)) return typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < v.length ? v[key] : undefined
  if (isObject(v)) return typeof key === 'string' && hasOwn.call(v, key) ? v[key] : undefined
  return undefined
}

/** `some x in coll`: array elements, object values; nothing for scalars or undefined. */
function members (v: Json): readonly Json[] {
  if (Array.isArray(v)) return v
  if (isObject(v)) return Object.values(v)
  return []
}

/** Rego equality (value equality; numbers by value; different types are unequal). */
function equal (a: Json, b: Json): boolean {
  if (a === b) return true
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]))
  if (isObject(a)) {
    if (!isObject(b)) return false
    const ka = Object.keys(a)
    return ka.length === Object.keys(b).length && ka.every((k) => hasOwn.call(b, k) && equal(a[k], b[k]))
  }
  return false
}

function contains (coll: Json, x: Json): boolean {
  for (const m of members(coll)) if (equal(m, x)) return true
  return false
}

/** count(): undefined for values it does not accept. */
function count (v: Json): number | undefined {
  if (Array.isArray(v)) return v.length
  if (isObject(v)) return Object.keys(v).length
  if (typeof v === 'string') { let n = 0; for (const _ of v) n++; return n }
  return undefined
}

/** OPA orders strings by their UTF-8 bytes (code point order). */
function compareStrings (a: string, b: string): number {
  const ia = a[Symbol.iterator]()
  const ib = b[Symbol.iterator]()
  for (;;) {
    const x = ia.next()
    const y = ib.next()
    if (x.done) return y.done ? 0 : -1
    if (y.done) return 1
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!
    if (d !== 0) return d
  }
}

const DEFAULT = (): Obj => ({ allow: false, status: 403, reason: 'no role grants this route' })

/** route_matches(route) for the request's method and parsed path. */
function routeMatches (route: Json, method: Json, parsedPath: Json, pathCount: number | undefined): boolean {
  if (method === undefined || !contains(at(route, 'methods'), method)) return false
  const rp = at(route, 'path')
  const rc = count(rp)
  if (rc === undefined || pathCount === undefined || rc !== pathCount) return false
  // segment_mismatch: some i, segment in route.path; segment != "*"; segment != input.parsed_path[i]
  const segs = members(rp)
  const keys: Array<string | number> = Array.isArray(rp) ? rp.map((_, i) => i) : isObject(rp) ? Object.keys(rp) : []
  for (let j = 0; j < segs.length; j++) {
    const seg = segs[j]
    if (equal(seg, '*')) continue
    const actual = at(parsedPath, keys[j]!)
    if (actual !== undefined && !equal(seg, actual)) return false
  }
  return true
}

function anyRouteMatches (routes: Json, method: Json, parsedPath: Json, pathCount: number | undefined): boolean {
  for (const r of members(routes)) if (routeMatches(r, method, parsedPath, pathCount)) return true
  return false
}

// No closure is made per call: the benchmarks run this file through tsx, whose esbuild wraps
// every named closure in a __name() call (an Object.defineProperty each time one is made), a
// cost the compiled product never pays (decideJs took ~1.4 us under tsx, ~0.85 us compiled by
// tsc, with routeMatches as a closure; 2026-12-04).
export function decideJs (input: Json, data: Json): Json {
  const b = at(data, 'bouncer')
  const http = at(at(at(input, 'attributes'), 'request'), 'http')
  const method = at(http, 'method')
  const parsedPath = at(input, 'parsed_path')
  const pathCount = count(parsedPath)

  if (anyRouteMatches(at(b, 'public_routes'), method, parsedPath, pathCount)) return { allow: true, reason: 'public route' }

  const identity = at(input, 'identity')
  if (!isObject(identity)) {
    const err = isObject(input) && hasOwn.call(input, 'identity_error') ? input.identity_error : 'no token'
    // concat() of a non-string is a type error: the rule is undefined, the default applies
    if (typeof err !== 'string') return DEFAULT()
    return { allow: false, status: 401, reason: `authentication required (${err})`, response_headers: { 'www-authenticate': 'Bearer' } }
  }

  // roles: the set of identity.roles members
  const roles: Json[] = []
  for (const r of members(at(identity, 'roles'))) if (!roles.some((x) => equal(x, r))) roles.push(r)

  const callerTenant = at(identity, 'tenant')
  const tenantHeader = at(at(http, 'headers'), 'x-tenant')
  const tenantOk = (callerTenant !== undefined && tenantHeader !== undefined && equal(callerTenant, tenantHeader)) ||
    roles.some((r) => contains(at(b, 'cross_tenant_roles'), r))
  if (!tenantOk) return { allow: false, status: 403, reason: 'tenant mismatch' }

  const permissions = at(b, 'permissions')
  const granting: string[] = []
  for (const r of roles) {
    if (typeof r !== 'string') continue
    if (anyRouteMatches(at(permissions, r), method, parsedPath, pathCount)) granting.push(r)
  }
  const subject = at(identity, 'sub')
  if (granting.length === 0 || subject === undefined || callerTenant === undefined) return DEFAULT()

  const privileged = roles.some((r) => contains(at(b, 'privileged_roles'), r))
  const mask = privileged ? [] : at(b, 'pii_mask')
  if (mask === undefined) return DEFAULT()
  granting.sort(compareStrings)
  return {
    allow: true,
    reason: `granted to role(s) ${granting.join(',')}`,
    headers: { 'x-bouncer-subject': subject, 'x-bouncer-tenant': callerTenant },
    mask,
  }
}
