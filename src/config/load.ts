// Config loading: file (YAML/JSON) ← env BOUNCER_* ← CLI flags, then one validation pass
// (schema + cross-field + production rules) that reports every bad field at once, with
// where its value came from. The result is deeply frozen.
import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { deepFreeze } from '../deep-freeze.js'
import { BouncerError } from '../errors.js'
import { configSchema, type BouncerConfig } from './schema.js'
import { coerce, leaves, schemaAt, schemaOfDocumentPath } from './leaves.js'
// The masking engine refuses shorter keys when a hash rule runs; config refuses them at startup.
import { MIN_HASH_KEY_BYTES } from '../masking/actions.js'
import { droppedRequestHeader } from '../proxy/headers.js'

/** The most static keys of one alg without kid (src/auth tries them in turn; MAX_CANDIDATE_KEYS there). */
export const MAX_STATIC_KEYS_WITHOUT_KID = 8

export class ConfigError extends BouncerError {
  readonly problems: readonly string[]
  constructor (problems: string[]) {
    super('BOUNCER_ERR_CONFIG_INVALID', [problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`])
    this.problems = problems
  }
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictTypes: false, allowUnionTypes: true })
const validateSchema = ajv.compile(configSchema)

/** Where each setting came from, for messages: dotted path → "env BOUNCER_X" / "flag --port" / "file x.yaml". */
export type Sources = Map<string, string>

export type DeepPartial<T> = T extends readonly (infer U)[] ? readonly DeepPartial<U>[] : T extends object ? { -readonly [K in keyof T]?: DeepPartial<T[K]> } : T

export interface LoadConfigOptions {
  /** config file (YAML or JSON); falls back to env BOUNCER_CONFIG, then none */
  file?: string
  /** environment (default: none — pass process.env explicitly) */
  env?: Readonly<Record<string, string | undefined>>
  /** values from CLI flags: dotted path → text (coerced by the schema) or value */
  flags?: ReadonlyArray<readonly [dotted: string, value: unknown, flag: string]>
}

function setPath (target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]
    const next = node[k]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[k] = {}
    node = node[k] as Record<string, unknown>
  }
  node[path[path.length - 1]] = value
}

function recordSources (value: unknown, prefix: string[], source: string, sources: Sources): void {
  if (prefix.length) sources.set(prefix.join('.'), source)
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) recordSources(v, [...prefix, k], source, sources)
  }
}

export function readConfigFile (file: string): Record<string, unknown> {
  let text: string
  try { text = readFileSync(file, 'utf8') } catch (e) {
    throw new BouncerError('BOUNCER_ERR_CONFIG_FILE', [file, (e as Error).message], { cause: e })
  }
  let doc: unknown
  const json = file.endsWith('.json')
  // logLevel error: the library's warnings (an unknown tag such as !vault) go to
  // process.emitWarning with an excerpt of the line, which may hold a secret.
  try { doc = json ? JSON.parse(text) : parseYaml(text, { logLevel: 'error' }) } catch (e) {
    throw new BouncerError('BOUNCER_ERR_CONFIG_FILE', [file, json ? jsonSyntaxError(e as Error, text) : syntaxError(e as Error)], { cause: e })
  }
  if (doc === null || doc === undefined) return {}
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new BouncerError('BOUNCER_ERR_CONFIG_FILE', [file, 'the top level must be a mapping'])
  }
  return doc as Record<string, unknown>
}

/**
 * A parse error as one line: the yaml library's message ends "at line L, column C:" and puts the
 * source excerpt on the lines after it, which a one-line message cut off mid-sentence. Here:
 * "line L, column C: <what>". The excerpt is left out: the file may hold secrets (an inline
 * password), and this message reaches process logs.
 */
function syntaxError (e: Error): string {
  const { linePos, code } = e as { linePos?: Array<{ line: number; col: number }>; code?: string }
  const pos = linePos?.[0]
  let what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
  // Some messages end by quoting the text ("Unresolved alias ...: <name>", an escape sequence):
  // the part before the quote, or the error's code when the text is in the middle.
  const colon = what.indexOf(': ')
  if (colon > 0) what = what.slice(0, colon)
  if (/["'\\]/.test(what)) what = `YAML error ${code ?? 'in the document'}`
  return pos === undefined ? what : `line ${pos.line}, column ${pos.col}: ${what}`
}

/** JSON.parse's message quotes the text around the error (a secret, perhaps): only where it is. */
function jsonSyntaxError (e: Error, text: string): string {
  const lc = /line (\d+) column (\d+)/.exec(e.message)
  if (lc !== null) return `line ${lc[1]}, column ${lc[2]}: invalid JSON`
  const at = /position (\d+)/.exec(e.message)
  if (at === null) return 'invalid JSON'
  const before = text.slice(0, Number(at[1])).split('\n')
  return `line ${before.length}, column ${before[before.length - 1]!.length + 1}: invalid JSON`
}

// Kubernetes service-link variables: <SERVICE>_SERVICE_HOST, <SERVICE>_SERVICE_PORT[_<name>],
// <SERVICE>_PORT, <SERVICE>_PORT_<n>_<TCP|UDP|SCTP>[_PROTO|_PORT|_ADDR].
const SERVICE_LINK = /^BOUNCER(?:_[A-Z0-9]+)*_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT(?:_\d+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)?)$/

/** The value Kubernetes gives <SERVICE>_PORT: the Service's first port as a URL. */
const SERVICE_LINK_VALUE = /^(?:tcp|udp|sctp):\/\/(?:\d{1,3}(?:\.\d{1,3}){3}|\[?[0-9a-fA-F:]+\]?):\d{1,5}$/
const IP = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/
const PORT_NUMBER = /^\d{1,5}$/

/**
 * Whether `name`=`text` is a variable Kubernetes injects as a service link: the name's form and
 * a value of the kind Kubernetes writes for that form. A name alone is not enough: every
 * BOUNCER_<anything>_PORT has a service link's form, so a typo of a setting
 * (BOUNCER_ADMN_PORT=9999) would be skipped unreported.
 */
function isServiceLink (name: string, text: string): boolean {
  if (!SERVICE_LINK.test(name)) return false
  const t = text.trim()
  // A service's name is part of the variable's, so a name can fit several forms (a Service
  // named bouncer-service gives BOUNCER_SERVICE_PORT=tcp://...): any form it fits will do.
  return LINK_FORMS.some(([form, value]) => form.test(name) && value(t))
}

const isIp = (t: string): boolean => IP.test(t)
const isPort = (t: string): boolean => PORT_NUMBER.test(t)
const LINK_FORMS: ReadonlyArray<readonly [RegExp, (t: string) => boolean]> = [
  [/_SERVICE_HOST$/, isIp],
  [/_SERVICE_PORT(?:_[A-Z0-9_]+)?$/, isPort],
  [/_PORT$/, (t) => SERVICE_LINK_VALUE.test(t)],
  [/_PORT_\d+_(?:TCP|UDP|SCTP)$/, (t) => SERVICE_LINK_VALUE.test(t)],
  [/_PORT_\d+_(?:TCP|UDP|SCTP)_PROTO$/, (t) => t === 'tcp' || t === 'udp' || t === 'sctp'],
  [/_PORT_\d+_(?:TCP|UDP|SCTP)_PORT$/, isPort],
  [/_PORT_\d+_(?:TCP|UDP|SCTP)_ADDR$/, isIp],
]

/** file ← env ← flags, then validate. Throws ConfigError listing every problem. */
export function loadConfig (opts: LoadConfigOptions = {}): BouncerConfig {
  const env = opts.env ?? {}
  const sources: Sources = new Map()
  const problems: string[] = []
  const file = opts.file ?? env.BOUNCER_CONFIG
  const raw: Record<string, unknown> = file ? readConfigFile(file) : {}
  if (file) recordSources(raw, [], `file ${file}`, sources)

  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('BOUNCER_') || name === 'BOUNCER_CONFIG' || text === undefined) continue
    const leaf = leaves.byEnv.get(name)
    // Kubernetes injects these for a Service named bouncer (or bouncer-...) in the namespace;
    // they are no setting, and refusing them would stop every new pod from starting.
    if (!leaf && isServiceLink(name, text)) continue
    // A Service named bouncer-admin (bouncer-server, ...) sets BOUNCER_ADMIN_PORT to
    // "tcp://<cluster ip>:<port>": a service link, not the port setting of the same name.
    if (leaf && SERVICE_LINK_VALUE.test(text) && SERVICE_LINK.test(name)) continue
    if (!leaf) { problems.push(`${name}: unknown setting (environment variable)`); continue }
    // An empty variable (an unset template value) must not quietly empty a list such as
    // decision_logs.erase_headers: an empty list is written [].
    const types = Array.isArray(leaf.schema.type) ? leaf.schema.type : [leaf.schema.type]
    if (text.trim() === '' && types.includes('array')) { problems.push(`${leaf.dotted} (env ${name}): empty; write [] for an empty list`); continue }
    setPath(raw, leaf.path, coerce(leaf.schema, text))
    sources.set(leaf.dotted, `env ${name}`)
  }
  for (const [dotted, value, flag] of opts.flags ?? []) {
    const path = dotted.split('.')
    const schema = schemaAt(path)
    if (!schema) {
      const near = nearestSetting(path)
      problems.push(`${flag}: unknown setting ${dotted}${near !== undefined ? ` (did you mean ${near}?)` : ''}`)
      continue
    }
    setPath(raw, path, typeof value === 'string' ? coerce(schema, value) : value)
    recordSources(value, path, `flag ${flag}`, sources)
  }
  return resolveConfig(raw, sources, problems)
}

/** Validate an in-memory config (tests, buildApp callers): defaults applied, result frozen. */
export function createConfig (input: DeepPartial<BouncerConfig> | Record<string, unknown> = {}): BouncerConfig {
  return resolveConfig(input as Record<string, unknown>)
}

export function resolveConfig (input: Record<string, unknown>, sources: Sources = new Map(), earlier: string[] = []): BouncerConfig {
  const data = structuredClone(input) as Record<string, unknown>
  const problems = [...earlier]
  if (!validateSchema(data)) {
    for (const err of validateSchema.errors ?? []) problems.push(describe(err, data, sources))
  } else {
    problems.push(...crossFieldProblems(data as unknown as BouncerConfig, sources))
  }
  if (problems.length) throw new ConfigError([...new Set(problems)])
  return deepFreeze(data) as unknown as BouncerConfig
}

function at (dotted: string, sources: Sources): string {
  // The most specific recorded source for this path or a parent.
  let p = dotted
  while (p) {
    const s = sources.get(p)
    if (s) return `${dotted} (${s})`
    const i = p.lastIndexOf('.')
    p = i < 0 ? '' : p.slice(0, i)
  }
  return dotted || '(root)'
}

// Settings whose value is a secret, or holds one somewhere below it (auth.jwt.keys: a key's
// secret written where an object was expected, `keys: ["..."]`): an error names the setting,
// never repeats the value. A key's alg and kid are not secret and help find the mistake.
const SECRET_SEGMENT = /(^|_)(secret|hash_key|password|token|key|keys|jwk|pem)$/
const PUBLIC_LEAF = new Set(['alg', 'kid'])

function isSecretSetting (dotted: string): boolean {
  const parts = dotted.split('.')
  if (PUBLIC_LEAF.has(parts[parts.length - 1]!)) return false
  return parts.some((p) => SECRET_SEGMENT.test(p))
}

/** Whether a setting lies under one that holds secrets (auth.jwt.keys.0.alg): a name there that
 * is no setting may be a secret typed as a YAML key, a value there that is not allowed may be a
 * secret typed into the wrong field. */
function underSecretSetting (dotted: string): boolean {
  return dotted.split('.').slice(0, -1).some((p) => SECRET_SEGMENT.test(p))
}

// What a mistyped algorithm looks like (HS257, rs256, EdDSA, none); a secret pasted into alg does not.
const ALG_LIKE = /^[A-Za-z]{2,5}[0-9]{0,3}$/

/** A value for an error message: secrets hidden (a mistyped `redis//user:pw@host` is still a
 * password; a user name is a token as often as a name, `https://<token>@host`). */
function show (v: unknown, dotted = ''): string {
  if (v !== undefined && isSecretSetting(dotted)) return '[redacted]'
  const s = JSON.stringify(typeof v === 'string' ? v.replace(/[^/@\s]*@/g, '***@').replace(/([?&][^=&#]+=)[^&#]*/g, '$1***') : v)
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s
}

function valueAt (data: unknown, pointer: string): unknown {
  let node = data
  for (const k of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[k.replace(/~1/g, '/').replace(/~0/g, '~')]
  }
  return node
}

// Names one section uses for what another calls otherwise: a JWT key's alg is a signing key's
// algorithm. Listed, not guessed by prefix: a name under auth.jwt.keys may be a secret typed as
// a key, and only a near miss of a setting's name is repeated in the message.
const ALIASES: Readonly<Record<string, readonly string[]>> = { algorithm: ['alg'], alg: ['algorithm'], key_id: ['kid'], keyid: ['kid'], kid: ['key_id'] }

/** The known name `name` most likely stands for: within 3 edits, or a listed alias of it. */
function nearMiss (name: string, known: readonly string[]): string | undefined {
  const best = known.map((k) => [k, levenshtein(k, name)] as const).sort((a, b) => a[1] - b[1])[0]
  if (best !== undefined && best[1] <= 3) return best[0]
  return (Object.hasOwn(ALIASES, name) ? ALIASES[name]! : []).find((a) => known.includes(a))
}

/** For `--set a.b.c` naming no setting: the setting one near miss away in one segment, if any. */
function nearestSetting (path: readonly string[]): string | undefined {
  for (let i = 0; i < path.length; i++) {
    if (schemaAt(path.slice(0, i + 1)) !== undefined) continue
    const known = Object.keys(schemaAt(path.slice(0, i))?.properties ?? {})
    const near = nearMiss(path[i]!, known)
    if (near === undefined) return undefined
    const fixed = [...path.slice(0, i), near, ...path.slice(i + 1)]
    return schemaAt(fixed) !== undefined ? fixed.join('.') : nearestSetting(fixed)
  }
  return undefined
}

function levenshtein (a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]; d[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return d[b.length]
}

function describe (err: ErrorObject, data: unknown, sources: Sources): string {
  const dotted = err.instancePath.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~')).join('.')
  const value = valueAt(data, err.instancePath)
  switch (err.keyword) {
    case 'additionalProperties': {
      const extra = String(err.params.additionalProperty)
      const full = dotted ? `${dotted}.${extra}` : extra
      const node = schemaOfDocumentPath(dotted ? dotted.split('.') : [])
      const known = Object.keys((node as { properties?: object } | undefined)?.properties ?? {})
      const best = nearMiss(extra, known)
      const hint = best !== undefined ? ` (did you mean "${best}"?)` : ''
      // Not a near miss of a setting's name, under one that holds secrets: the name is not repeated.
      if (hint === '' && underSecretSetting(full)) return `${at(dotted, sources)}: unknown setting (its name is not shown: it may be a secret typed as a key)`
      return `${at(full, sources)}: unknown setting${hint}`
    }
    case 'required': {
      const full = dotted ? `${dotted}.${String(err.params.missingProperty)}` : String(err.params.missingProperty)
      return `${at(full, sources)}: is required`
    }
    case 'enum':
      return `${at(dotted, sources)}: must be one of ${(err.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${underSecretSetting(dotted) && !(typeof value === 'string' && ALG_LIKE.test(value)) ? '[redacted]' : show(value, dotted)}`
    case 'type':
      return `${at(dotted, sources)}: must be ${String(err.params.type).replace(',', ' or ')}, got ${show(value, dotted)}`
    case 'pattern':
      return `${at(dotted, sources)}: ${show(value, dotted)} does not match ${String(err.params.pattern)}`
    default:
      return `${at(dotted, sources)}: ${err.message ?? 'is invalid'}${value !== undefined && typeof value !== 'object' ? `, got ${show(value, dotted)}` : ''}`
  }
}

// Headers the proxy needs to frame and route the request (reserved_headers may not name them).
const FRAMING_HEADERS = ['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade']

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '::1', 'localhost'])

const HEADERS_POINTER = '/attributes/request/http/headers/'

/** Why `ptr` cannot name a field of the policy input (a JSON Pointer, RFC 6901), or undefined. */
function inputPointerProblem (ptr: string): string | undefined {
  if (!ptr.startsWith('/')) return 'is not a JSON Pointer: it must start with "/" (e.g. /attributes/request/http/path)'
  if (/~[^01]|~$/.test(ptr)) return 'has a "~" that is not ~0 or ~1'
  if (ptr.split('/').slice(1).some((t) => t === '')) return 'has an empty segment (a doubled or trailing "/")'
  if (ptr.startsWith(HEADERS_POINTER)) {
    const name = ptr.slice(HEADERS_POINTER.length).split('/')[0]!
    if (name !== name.toLowerCase()) return `names header "${name}": header names in the input are lower case (${HEADERS_POINTER}${name.toLowerCase()})`
  }
  return undefined
}

function crossFieldProblems (c: BouncerConfig, sources: Sources): string[] {
  const p: string[] = []
  const where = (d: string) => at(d, sources)
  if (c.admin.enabled && c.admin.port !== 0 && c.admin.port === c.server.port && c.admin.host === c.server.host) {
    p.push(`${where('admin.port')}: must differ from server.port (${c.server.port})`)
  }
  const xa = c.ext_authz
  if (c.mode === 'ext_authz' && !xa.grpc.enabled && !xa.http.enabled) {
    p.push(`${where('mode')}: "ext_authz" needs ext_authz.grpc.enabled or ext_authz.http.enabled (nothing would listen)`)
  }
  if (xa.grpc.enabled && xa.http.enabled && xa.grpc.port !== 0 && xa.grpc.port === xa.http.port) {
    p.push(`${where('ext_authz.http.port')}: must differ from ext_authz.grpc.port (${xa.grpc.port})`)
  }
  if (c.policy.max_memory_pages < c.policy.initial_memory_pages) {
    p.push(`${where('policy.max_memory_pages')}: must be >= policy.initial_memory_pages (${c.policy.initial_memory_pages})`)
  }
  const jwt = c.auth.jwt
  if (jwt.enabled && !jwt.jwks_url && jwt.keys.length === 0) {
    p.push(`${where('auth.jwt')}: enabled but neither jwks_url nor keys is set`)
  }
  // The set must outlive its refresh and one retry after a failed refresh (the cooldown, the
  // fetch's timeout): shorter, it expires as it is refetched, and one failed fetch would refuse
  // every token for the cooldown although the IdP is back.
  const minStale = jwt.jwks_cache_seconds + jwt.jwks_cooldown_seconds + jwt.jwks_timeout_seconds
  if (jwt.jwks_max_stale_seconds > 0 && jwt.jwks_max_stale_seconds <= minStale) {
    p.push(`${where('auth.jwt.jwks_max_stale_seconds')}: must be 0 (no limit) or more than jwks_cache_seconds + jwks_cooldown_seconds + jwks_timeout_seconds (${minStale}), so a failed refresh is retried before the set expires`)
  }
  // Keys a token without kid may have been signed with are tried in turn, a few at most (each
  // try is a signature check a forged token can ask for): more of one alg need kids.
  const kidless = new Map<string, number>()
  // A kid inside a JWK counts only as a string (src/auth reads it so).
  for (const k of jwt.keys) if (k.kid === undefined && typeof (k.jwk as { kid?: unknown } | undefined)?.kid !== 'string') kidless.set(k.alg, (kidless.get(k.alg) ?? 0) + 1)
  for (const [alg, n] of kidless) if (n > MAX_STATIC_KEYS_WITHOUT_KID) p.push(`${where('auth.jwt.keys')}: ${n} ${alg} keys without kid; at most ${MAX_STATIC_KEYS_WITHOUT_KID} (give the others a kid, as the tokens they sign name it)`)
  jwt.keys.forEach((k, i) => {
    const material = (['pem', 'pem_file', 'jwk', 'secret', 'secret_file'] as const).filter((f) => k[f] !== undefined)
    if (material.length !== 1) p.push(`${where(`auth.jwt.keys.${i}`)}: needs exactly one of pem, pem_file, jwk, secret, secret_file (has ${material.length})`)
    const hmac = k.alg.startsWith('HS')
    if (hmac && material.some((m) => m === 'pem' || m === 'pem_file')) p.push(`${where(`auth.jwt.keys.${i}`)}: ${k.alg} needs secret or secret_file`)
    if (!hmac && material.some((m) => m === 'secret' || m === 'secret_file')) p.push(`${where(`auth.jwt.keys.${i}`)}: ${k.alg} needs a public key (pem, pem_file or jwk)`)
  })
  if (jwt.algorithms?.some((a) => a.toLowerCase() === 'none')) p.push(`${where('auth.jwt.algorithms')}: "none" is never accepted`)
  // The proxy port authenticates the request the upstream gets (Envoy's headers, on ext_authz,
  // are not filtered: with an ext_authz listener beside the proxy port, such a header may be
  // meant for Envoy's requests alone).
  const dropped = jwt.enabled && c.mode !== 'ext_authz' && !c.ext_authz.grpc.enabled && !c.ext_authz.http.enabled
    ? droppedRequestHeader(jwt.header, { trustForwarded: c.server.trust_forwarded_headers, underscores: c.server.underscore_headers, reserved: c.server.reserved_headers })
    : undefined
  if (dropped !== undefined) p.push(`${where('auth.jwt.header')}: ${JSON.stringify(jwt.header)} is ${dropped}: removed from every request before authentication, so no token would ever be found`)
  const redis = c.cache.redis
  if (c.cache.enabled && redis.enabled && !redis.url && !(redis.sentinel.name && redis.sentinel.sentinels.length) && !redis.cluster.nodes.length) {
    p.push(`${where('cache.redis')}: enabled but none of url, sentinel (name + sentinels) or cluster.nodes is set`)
  }
  // cache.input_paths / ignore_paths: a pointer that names nothing silently widens what requests
  // share a key ("attributes/..." lost its first segment; header names in the input are lower case).
  for (const setting of ['input_paths', 'ignore_paths'] as const) {
    (c.cache[setting] ?? []).forEach((ptr, i) => {
      const why = inputPointerProblem(ptr)
      if (why !== undefined) p.push(`${where(`cache.${setting}.${i}`)}: ${JSON.stringify(ptr)} ${why}`)
    })
  }
  // A shadow bundle signed like the active one could be moved to the active resource and
  // enforced by whoever can write the bundle store: two scopes keep the two apart.
  const sign = c.bundles.signing
  // A shadow bundle from the service, or a bundle archive as policy.shadow (verified with the same keys).
  const shadowBundle = c.bundles.shadow_resource !== undefined || /\.(tar\.gz|tgz)$/.test(c.policy.shadow ?? '')
  if (shadowBundle && Object.keys(sign.keys).length > 0) {
    if (sign.shadow_scope === undefined) {
      if (c.production && !c.allow_insecure) p.push(`${where('bundles.signing.shadow_scope')}: is required in production mode with a shadow bundle (bundles.shadow_resource or a policy.shadow archive) and signing keys (sign shadow bundles with another scope than the active bundle's, so that one cannot be enforced as the other)`)
    } else if (sign.scope === undefined) {
      p.push(`${where('bundles.signing.scope')}: must be set when bundles.signing.shadow_scope is (without it the active bundle's signature may carry any scope, the shadow's too)`)
    } else if (sign.scope === sign.shadow_scope) {
      p.push(`${where('bundles.signing.shadow_scope')}: must differ from bundles.signing.scope ("${sign.scope}")`)
    }
  }
  const dl = c.decision_logs
  if (dl.enabled && dl.sinks.includes('control_plane') && !dl.service_url) p.push(`${where('decision_logs.service_url')}: is required by the control_plane sink`)
  if (dl.enabled && dl.sinks.includes('file') && !dl.file_path) p.push(`${where('decision_logs.file_path')}: is required by the file sink`)
  if (dl.min_delay_seconds > dl.max_delay_seconds) p.push(`${where('decision_logs.min_delay_seconds')}: must be <= max_delay_seconds`)
  // batched answers a request before its event is written: a write that then fails cannot
  // refuse it, which is backpressure's promise (requests are served with their events lost).
  if (dl.enabled && dl.overflow === 'backpressure' && dl.write_mode === 'batched') {
    p.push(`${where('decision_logs.write_mode')}: "batched" answers requests before their events are written, so overflow "backpressure" could not refuse a request whose event fails to be written (a full or failing disk); use write_mode "group" (the default) or "sync", or overflow "drop_oldest"`)
  }
  // Accepted by the schema but never implemented: refused rather than ignored, so nobody relies
  // on log masking that does not happen.
  if (dl.mask_entrypoint !== undefined) p.push(`${where('decision_logs.mask_entrypoint')}: is not supported: the bundle's own data.system.log.mask and data.system.log.drop are applied (OPA's default paths; another path is not); or mask events with decision_logs.mask_rules`)
  // h2c through a tunnel would be HTTP/2 requests the policy never sees.
  if (c.server.upgrade.allowed.some((u) => u.toLowerCase() === 'h2c')) p.push(`${where('server.upgrade.allowed')}: "h2c" is never tunnelled (requests inside the tunnel would bypass the policy)`)
  for (const h of c.server.reserved_headers) {
    const name = h.toLowerCase()
    const hit = FRAMING_HEADERS.find((f) => name.endsWith('*') ? f.startsWith(name.slice(0, -1)) : f === name)
    if (hit) p.push(`${where('server.reserved_headers')}: ${JSON.stringify(h)} would remove "${hit}", which frames the request`)
  }
  const stls = c.server.tls
  if (stls.enabled) {
    if (!stls.cert_file) p.push(`${where('server.tls.cert_file')}: is required when server.tls.enabled is true`)
    if (!stls.key_file) p.push(`${where('server.tls.key_file')}: is required when server.tls.enabled is true`)
    if (stls.client_certificates !== 'none' && !stls.ca_file) {
      p.push(`${where('server.tls.ca_file')}: is required when server.tls.client_certificates is ${JSON.stringify(stls.client_certificates)} (client certificates are verified against it)`)
    }
  }
  // tls.enabled means "use TLS" for redis (redis:// → rediss://); the HTTP clients choose TLS
  // by the URL's scheme, so an http:// URL with tls.enabled would quietly be cleartext.
  const httpClients: ReadonlyArray<readonly [string, string, string | undefined, boolean]> = [
    ['upstream.url', 'upstream.tls', c.upstream.url, c.upstream.tls.enabled],
    ['upstream.grpc.url', 'upstream.tls', c.upstream.http2.url, c.upstream.tls.enabled],
    ['auth.jwt.jwks_url', 'auth.jwt.jwks_tls', jwt.jwks_url, jwt.jwks_tls.enabled],
    ['decision_logs.service_url', 'decision_logs.tls', dl.service_url, dl.tls.enabled],
    ['bundles.service_url', 'bundles.tls', c.bundles.service_url, c.bundles.tls.enabled],
  ]
  for (const [urlKey, tlsKey, url, tlsOn] of httpClients) {
    if (tlsOn && url?.startsWith('http://')) p.push(`${where(`${tlsKey}.enabled`)}: is true but ${urlKey} is http:// (cleartext); TLS is chosen by the URL's scheme: use https://`)
  }
  const poll = c.bundles.polling
  if (poll.min_delay_seconds > poll.max_delay_seconds) p.push(`${where('bundles.polling.min_delay_seconds')}: must be <= max_delay_seconds`)
  if (c.masking.hash_key && c.masking.hash_key_file) p.push(`${where('masking.hash_key')}: set hash_key or hash_key_file, not both`)
  // A short HMAC key makes `hash` output guessable by brute force over the key space. The
  // value is never echoed (it is a secret); hash_key_file is checked when it is read (buildApp).
  if (c.masking.hash_key !== undefined && Buffer.byteLength(c.masking.hash_key) < MIN_HASH_KEY_BYTES) {
    p.push(`${where('masking.hash_key')}: must be at least ${MIN_HASH_KEY_BYTES} bytes, got ${Buffer.byteLength(c.masking.hash_key)} (e.g. \`openssl rand -base64 32\`)`)
  }

  if (c.production && !c.allow_insecure) {
    const insecure = 'is refused in production mode (set allow_insecure to override)'
    // Bearer tokens and the data the policy protects would cross the network in clear.
    if (!stls.enabled && c.mode !== 'ext_authz') p.push(`${where('server.tls.enabled')}: a cleartext proxy port ${insecure}; configure server.tls (cert_file, key_file)`)
    // The ext_authz listeners are cleartext: Envoy beside the bouncer (same pod) reaches them on loopback.
    for (const l of ['grpc', 'http'] as const) {
      const x = xa[l]
      if (x.enabled && !LOOPBACK_HOSTS.has(x.host)) p.push(`${where(`ext_authz.${l}.host`)}: a cleartext ext_authz listener on ${JSON.stringify(x.host)} ${insecure}; listen on loopback (127.0.0.1, ::1) beside Envoy`)
    }
    if (c.cache.enabled && redis.enabled && redis.url?.startsWith('redis://') && !redis.tls.enabled) {
      p.push(`${where('cache.redis.url')}: plaintext redis:// ${insecure}; use rediss://`)
    }
    // Whoever can write to a shared Redis could otherwise plant an allow for any request.
    if (c.cache.enabled && redis.enabled && redis.integrity_key_file === undefined) {
      p.push(`${where('cache.redis.integrity_key_file')}: a Redis tier whose values are not authenticated ${insecure}; whoever can write to the Redis could plant a decision for any request. Set integrity_key_file (a secret of at least 16 bytes, the same on every pod)`)
    }
    if (dl.enabled && dl.service_url?.startsWith('http://')) p.push(`${where('decision_logs.service_url')}: plaintext http:// ${insecure}`)
    if (c.bundles.service_url?.startsWith('http://')) p.push(`${where('bundles.service_url')}: plaintext http:// ${insecure}`)
    if (c.bundles.service_url && Object.keys(c.bundles.signing.keys).length === 0) {
      p.push(`${where('bundles.signing.keys')}: unsigned bundles are refused in production mode; configure signing keys (or allow_insecure)`)
    }
    if (jwt.enabled && jwt.jwks_url?.startsWith('http://')) p.push(`${where('auth.jwt.jwks_url')}: plaintext http:// ${insecure}`)
    if (redis.tls.reject_unauthorized === false || c.bundles.tls.reject_unauthorized === false ||
        dl.tls.reject_unauthorized === false || jwt.jwks_tls.reject_unauthorized === false || c.upstream.tls.reject_unauthorized === false) {
      p.push(`${where('production')}: tls.reject_unauthorized=false ${insecure}`)
    }
  }
  return p
}

/**
 * What `bouncer run` needs beyond a valid configuration (which a library user building the app
 * in code may supply otherwise): an upstream unless in ext_authz mode, and a policy source.
 * `bouncer config check` reports the same, so a CI gate on it passes only what run starts.
 */
export function requiredToRun (config: BouncerConfig): string[] {
  const problems: string[] = []
  if (!config.upstream.url && config.mode !== 'ext_authz') problems.push('upstream.url: is required (--upstream or BOUNCER_UPSTREAM_URL) unless --mode ext_authz')
  if (!config.policy.path && !config.bundles.service_url) problems.push('policy.path: is required (--policy or BOUNCER_POLICY_PATH) unless bundles.service_url is set')
  return problems
}

/** The heading of a list of configuration problems, as run and config check print it. */
export function problemsText (command: string, problems: readonly string[]): string {
  return `bouncer ${command}: invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}\n`).join('')}`
}
