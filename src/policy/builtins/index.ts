// Host builtins: JS implementations of Rego builtins that a policy module imports (its
// `builtins()` map names them) and that @open-policy-agent/opa-wasm does not implement
// itself. They are passed to loadPolicy as customBuiltins. Arguments and results are plain
// JSON values (the SDK dumps/loads them). Throwing makes the evaluation fail → policy error.
//
// The SDK (1.10) implements: sprintf, regex.split, json.is_valid, yaml.is_valid,
// yaml.marshal, yaml.unmarshal. Everything else a module imports must be here, or loading
// fails with BOUNCER_ERR_POLICY_MISSING_BUILTIN (see missingBuiltins).

export type HostBuiltin = (...args: any[]) => unknown

/** Builtins the opa-wasm SDK provides on its own. */
export const SDK_BUILTINS: ReadonlySet<string> = new Set([
  'sprintf', 'regex.split', 'json.is_valid', 'yaml.is_valid', 'yaml.marshal', 'yaml.unmarshal',
])

/** Builtins whose result is not a function of their arguments (decisions using them are not cached by default). */
export const NONDETERMINISTIC_BUILTINS: ReadonlySet<string> = new Set([
  'time.now_ns', 'http.send', 'rand.intn', 'uuid.rfc4122', 'opa.runtime', 'net.lookup_ip_addr', 'crypto.x509.parse_and_verify_certificates',
])

const NS_PER_MS = 1_000_000n
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/

function parseRfc3339Ns (s: unknown): number {
  if (typeof s !== 'string') throw new TypeError('time.parse_rfc3339_ns: operand 1 must be a string')
  const m = RFC3339.exec(s)
  if (!m) throw new TypeError(`time.parse_rfc3339_ns: cannot parse ${JSON.stringify(s)}`)
  const frac = m[7] ? m[7].slice(1).padEnd(9, '0') : '000000000'
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8].toUpperCase()}`)
  if (Number.isNaN(ms)) throw new TypeError(`time.parse_rfc3339_ns: invalid date ${JSON.stringify(s)}`)
  // Numbers beyond 2^53 lose precision through the SDK's JSON round trip either way.
  return Number(BigInt(ms) * NS_PER_MS + BigInt(frac))
}

// glob.match(pattern, delimiters, match): gobwas/glob syntax — "*" (no delimiter), "**" (any),
// "?", "[a-z]" / "[!a-z]", "{a,b}", "\\" escapes. delimiters [] → ["."]; null → none.
const globCache = new Map<string, RegExp>()
const reEscape = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')

function globToRegExp (pattern: string, delimiters: string[]): RegExp {
  const notDelim = delimiters.length ? `[^${delimiters.map(reEscape).join('')}]` : '[\\s\\S]'
  let re = ''
  let depth = 0
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\') { if (++i >= pattern.length) throw new TypeError('glob.match: trailing escape'); re += reEscape(pattern[i]); continue }
    if (c === '*') {
      if (pattern[i + 1] === '*') { re += '[\\s\\S]*'; i++ } else re += notDelim + '*'
      continue
    }
    if (c === '?') { re += notDelim; continue }
    if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end < 0) throw new TypeError('glob.match: unterminated character class')
      let body = pattern.slice(i + 1, end)
      const negate = body[0] === '!'
      if (negate) body = body.slice(1)
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`
      i = end
      continue
    }
    if (c === '{') { re += '(?:'; depth++; continue }
    if (c === '}' && depth > 0) { re += ')'; depth--; continue }
    if (c === ',' && depth > 0) { re += '|'; continue }
    re += reEscape(c)
  }
  if (depth !== 0) throw new TypeError('glob.match: unbalanced braces')
  return new RegExp(`^${re}$`)
}

function globMatch (pattern: unknown, delimiters: unknown, match: unknown): boolean {
  if (typeof pattern !== 'string' || typeof match !== 'string') throw new TypeError('glob.match: pattern and match must be strings')
  let delims: string[]
  if (delimiters === null) delims = []
  else if (Array.isArray(delimiters) && delimiters.every((d) => typeof d === 'string')) delims = delimiters.length ? delimiters as string[] : ['.']
  else throw new TypeError('glob.match: delimiters must be null or an array of strings')
  const key = JSON.stringify([pattern, delims])
  let re = globCache.get(key)
  if (!re) {
    re = globToRegExp(pattern, delims)
    if (globCache.size >= 1000) globCache.delete(globCache.keys().next().value as string)
    globCache.set(key, re)
  }
  return re.test(match)
}

/** The registry. Another module (issue 3) fills in the rest; keep entries pure where possible. */
export const hostBuiltins: Record<string, HostBuiltin> = {
  'time.now_ns': () => Number(BigInt(Date.now()) * NS_PER_MS),
  'time.parse_rfc3339_ns': parseRfc3339Ns,
  'uuid.rfc4122': (_seed: unknown) => crypto.randomUUID(),
  'glob.match': globMatch,
}

/** Names in `required` that neither the SDK nor the host registry implements. */
export function missingBuiltins (required: readonly string[], registry: Record<string, HostBuiltin> = hostBuiltins): string[] {
  return required.filter((name) => !SDK_BUILTINS.has(name) && !Object.prototype.hasOwnProperty.call(registry, name))
}
