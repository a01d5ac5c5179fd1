// The builtin table: ONE declaration per Rego builtin function, from which everything else
// is derived — do not list builtin names anywhere else (test/compiler/builtin-table.test.ts
// fails when a second hand-written list appears):
//   - the runtime's native name list and dispatch switch (scripts/build-runtime.mjs
//     generates them from the `native` entries; ids follow table order),
//   - the compiler's facts (BUILTINS / builtinInfo / RELATIONS below: arity, native or host),
//   - the bundle manifest's `nondeterministic` flag (src/compiler/bundle),
//   - the decision cache's uncacheable set (NONDETERMINISTIC_BUILTINS: src/cache/ttl.ts,
//     src/policy/builtins, src/policy/eval, src/policy/load),
//   - what the opa-wasm SDK implements itself (SDK_BUILTINS).
//
// Each declaration gives:
//   name        as Rego spells it;
//   args/result OPA's declared types (ast/builtins.go), in the JSON shape OPA's
//               capabilities files use ({"type": "string"}, {"type": "array", "dynamic": ...},
//               {"type": "any", "of": [...]} for a union, ...); `result: null` = no value;
//   impl        native(<file>.<export>) — implemented in the Wasm runtime
//               (src/compiler/runtime/assembly/builtins/<file>.ts, export <export>);
//               HOST — called through opa_builtinN and implemented in JS (src/policy/builtins);
//               COMPILER — never called: the compiler rewrites it (print into internal.print
//               calls, rego.metadata.* into constants, = and := into unification);
//               NONE — declared for its facts only (OPA has it, Bouncer does not implement it:
//               the compiler rejects calls to it naming it, a module importing it fails to load);
//   flags       nondeterministic: the result is not a function of the arguments (OPA's set —
//               time, randomness, network, runtime, signing — plus anything that reads the
//               current time, e.g. io.jwt.decode_verify checks exp/nbf against it);
//               sdk: @open-policy-agent/opa-wasm implements it itself (and wins over ours for
//               OPA-built modules that import it); comparison: OPA's "comparison" category
//               (a truth test, never called with an output argument); relation: OPA's
//               relation builtins (walk: one result per element, called with an output
//               argument); infix: the operator spelling; variadic: the type of every argument
//               of a variadic function (print); deprecated: OPA deprecated it (capabilities'
//               "deprecated"; `bouncer check --strict` rejects calls to it, as opa check --strict).

// ---- types (OPA's type language, capabilities JSON shape) ----

export type RegoType =
  | { readonly type: 'any'; readonly of?: readonly RegoType[] }
  | { readonly type: 'null' | 'boolean' | 'number' | 'string' }
  | { readonly type: 'array'; readonly static?: readonly RegoType[]; readonly dynamic?: RegoType }
  | { readonly type: 'set'; readonly of: RegoType }
  | {
    readonly type: 'object'
    readonly static?: readonly { readonly key: string; readonly value: RegoType }[]
    readonly dynamic?: { readonly key: RegoType; readonly value: RegoType }
  }

const A: RegoType = { type: 'any' }
const S: RegoType = { type: 'string' }
const N: RegoType = { type: 'number' }
const B: RegoType = { type: 'boolean' }
const NUL: RegoType = { type: 'null' }
/** array of T (any length) */
const arr = (of: RegoType): RegoType => ({ type: 'array', dynamic: of })
/** fixed-length array */
const tuple = (...items: RegoType[]): RegoType => ({ type: 'array', static: items })
const set = (of: RegoType): RegoType => ({ type: 'set', of })
/** object with keys of type k and values of type v */
const obj = (k: RegoType, v: RegoType): RegoType => ({ type: 'object', dynamic: { key: k, value: v } })
/** object with known keys, plus optional dynamic ones */
const objWith = (props: Record<string, RegoType>, dyn?: [RegoType, RegoType]): RegoType => ({
  type: 'object',
  static: Object.entries(props).map(([key, value]) => ({ key, value })),
  ...(dyn ? { dynamic: { key: dyn[0], value: dyn[1] } } : {}),
})
/** union */
const or = (...of: RegoType[]): RegoType => ({ type: 'any', of })

const SET_A = set(A)
const ARR_A = arr(A)
const OBJ_AA = obj(A, A)
const OBJ_SA = obj(S, A)
const TIME_ARG = or(N, tuple(N, S))
const JSON_PATHS = or(arr(or(S, ARR_A)), set(or(S, ARR_A)))
const STRINGS = or(S, set(S), arr(S))
const CIDR_OPERAND = or(S, arr(or(S, ARR_A)), set(or(S, ARR_A)), obj(S, or(S, ARR_A)))
const KEYS = or(ARR_A, SET_A, OBJ_AA)

// ---- declarations ----

export type BuiltinImpl =
  | { readonly kind: 'native'; readonly module: string; readonly fn: string }
  | { readonly kind: 'host' }
  | { readonly kind: 'compiler' }
  | { readonly kind: 'none' }

export interface BuiltinDecl {
  readonly name: string
  readonly args: readonly RegoType[]
  readonly result: RegoType | null
  readonly impl: BuiltinImpl
  readonly nondeterministic: boolean
  readonly sdk: boolean
  readonly comparison: boolean
  readonly relation: boolean
  readonly infix?: string
  readonly variadic?: RegoType
  readonly deprecated: boolean
}

interface Flags { nondeterministic?: true; sdk?: true; comparison?: true; relation?: true; infix?: string; variadic?: RegoType; deprecated?: true }

const HOST: BuiltinImpl = Object.freeze({ kind: 'host' })
const COMPILER: BuiltinImpl = Object.freeze({ kind: 'compiler' })
const NONE: BuiltinImpl = Object.freeze({ kind: 'none' })
function native (ref: string): BuiltinImpl {
  const dot = ref.indexOf('.')
  return Object.freeze({ kind: 'native', module: ref.slice(0, dot), fn: ref.slice(dot + 1) })
}

function fn (name: string, args: RegoType[], result: RegoType | null, impl: BuiltinImpl, flags: Flags = {}): BuiltinDecl {
  return Object.freeze({
    name,
    args: Object.freeze(args),
    result,
    impl,
    nondeterministic: flags.nondeterministic === true,
    sdk: flags.sdk === true,
    comparison: flags.comparison === true,
    relation: flags.relation === true,
    ...(flags.infix !== undefined ? { infix: flags.infix } : {}),
    ...(flags.variadic !== undefined ? { variadic: flags.variadic } : {}),
    deprecated: flags.deprecated === true,
  })
}

const CMP = (infix: string): Flags => ({ comparison: true, infix })
const ND: Flags = { nondeterministic: true }
const SDK: Flags = { sdk: true }
const DEPRECATED: Flags = { deprecated: true }

/** Every builtin Bouncer knows, in runtime id order for the native ones. */
export const BUILTIN_TABLE: readonly BuiltinDecl[] = Object.freeze([
  // operators
  fn('eq', [A, A], B, COMPILER, { infix: '=' }),
  fn('assign', [A, A], B, COMPILER, { infix: ':=' }),
  fn('equal', [A, A], B, native('numbers.eq'), CMP('==')),
  fn('neq', [A, A], B, native('numbers.neq'), CMP('!=')),
  fn('lt', [A, A], B, native('numbers.lt'), CMP('<')),
  fn('lte', [A, A], B, native('numbers.lte'), CMP('<=')),
  fn('gt', [A, A], B, native('numbers.gt'), CMP('>')),
  fn('gte', [A, A], B, native('numbers.gte'), CMP('>=')),
  fn('plus', [N, N], N, native('numbers.plus'), { infix: '+' }),
  fn('minus', [or(N, SET_A), or(N, SET_A)], or(N, SET_A), native('numbers.minus'), { infix: '-' }),
  fn('mul', [N, N], N, native('numbers.mul'), { infix: '*' }),
  fn('div', [N, N], N, native('numbers.div'), { infix: '/' }),
  fn('rem', [N, N], N, native('numbers.rem'), { infix: '%' }),
  fn('and', [SET_A, SET_A], SET_A, native('numbers.andOp'), { infix: '&' }),
  fn('or', [SET_A, SET_A], SET_A, native('numbers.orOp'), { infix: '|' }),
  fn('internal.member_2', [A, A], B, native('collections.member2'), { infix: 'in' }),
  fn('internal.member_3', [A, A, A], B, native('collections.member3'), { infix: 'in' }),
  // numbers
  fn('abs', [N], N, native('numbers.abs')),
  fn('round', [N], N, native('numbers.round')),
  fn('ceil', [N], N, native('numbers.ceil')),
  fn('floor', [N], N, native('numbers.floor')),
  fn('numbers.range', [N, N], arr(N), native('numbers.range')),
  fn('numbers.range_step', [N, N, N], arr(N), native('numbers.rangeStep')),
  fn('to_number', [or(N, S, B, NUL)], N, native('numbers.toNumber')),
  fn('format_int', [N, N], S, native('numbers.formatInt')),
  fn('bits.or', [N, N], N, NONE),
  fn('bits.and', [N, N], N, NONE),
  fn('bits.negate', [N], N, NONE),
  fn('bits.xor', [N, N], N, NONE),
  fn('bits.lsh', [N, N], N, NONE),
  fn('bits.rsh', [N, N], N, NONE),
  // aggregates
  fn('count', [or(SET_A, ARR_A, OBJ_AA, S)], N, native('aggregates.count')),
  fn('sum', [or(set(N), arr(N))], N, native('aggregates.sum')),
  fn('product', [or(set(N), arr(N))], N, native('aggregates.product')),
  fn('max', [or(SET_A, ARR_A)], A, native('aggregates.max')),
  fn('min', [or(SET_A, ARR_A)], A, native('aggregates.min')),
  fn('sort', [or(ARR_A, SET_A)], ARR_A, native('aggregates.sort')),
  fn('any', [or(SET_A, ARR_A)], B, native('aggregates.any'), DEPRECATED),
  fn('all', [or(SET_A, ARR_A)], B, native('aggregates.all'), DEPRECATED),
  // strings
  fn('concat', [S, or(set(S), arr(S))], S, native('strings.concat')),
  fn('contains', [S, S], B, native('strings.contains')),
  fn('startswith', [S, S], B, native('strings.startswith')),
  fn('endswith', [S, S], B, native('strings.endswith')),
  fn('lower', [S], S, native('strings.lower')),
  fn('upper', [S], S, native('strings.upper')),
  fn('split', [S, S], arr(S), native('strings.split')),
  fn('replace', [S, S, S], S, native('strings.replace')),
  fn('strings.replace_n', [obj(S, S), S], S, native('strings.replaceN')),
  fn('trim', [S, S], S, native('strings.trim')),
  fn('trim_left', [S, S], S, native('strings.trimLeft')),
  fn('trim_right', [S, S], S, native('strings.trimRight')),
  fn('trim_prefix', [S, S], S, native('strings.trimPrefix')),
  fn('trim_suffix', [S, S], S, native('strings.trimSuffix')),
  fn('trim_space', [S], S, native('strings.trimSpace')),
  fn('indexof', [S, S], N, native('strings.indexof')),
  fn('indexof_n', [S, S], arr(N), native('strings.indexofN')),
  fn('substring', [S, N, N], S, native('strings.substring')),
  fn('strings.any_prefix_match', [STRINGS, STRINGS], B, native('strings.anyPrefixMatch')),
  fn('strings.any_suffix_match', [STRINGS, STRINGS], B, native('strings.anySuffixMatch')),
  fn('strings.reverse', [S], S, native('strings.reverse')),
  fn('strings.count', [S, S], N, native('strings.count')),
  // The SDK's sprintf (sprintf-js) serves OPA-built modules only; ours runs natively.
  fn('sprintf', [S, ARR_A], S, native('sprintf.sprintf'), SDK),
  fn('strings.render_template', [S, OBJ_SA], S, HOST),
  // arrays / sets / objects
  fn('array.concat', [ARR_A, ARR_A], ARR_A, native('collections.arrayConcat')),
  fn('array.slice', [ARR_A, N, N], ARR_A, native('collections.arraySlice')),
  fn('array.reverse', [ARR_A], ARR_A, native('collections.arrayReverse')),
  fn('union', [set(SET_A)], SET_A, native('collections.union')),
  fn('intersection', [set(SET_A)], SET_A, native('collections.intersection')),
  fn('set_diff', [SET_A, SET_A], SET_A, NONE, DEPRECATED),
  fn('object.get', [OBJ_AA, A, A], A, native('collections.objectGet')),
  fn('object.keys', [OBJ_AA], SET_A, native('collections.objectKeys')),
  fn('object.remove', [OBJ_AA, KEYS], A, native('collections.objectRemove')),
  fn('object.union', [OBJ_AA, OBJ_AA], A, native('collections.objectUnion')),
  fn('object.union_n', [arr(OBJ_AA)], A, native('collections.objectUnionN')),
  fn('object.filter', [OBJ_AA, KEYS], A, native('collections.objectFilter')),
  fn('object.subset', [or(OBJ_AA, SET_A, ARR_A), or(OBJ_AA, SET_A, ARR_A)], A, HOST),
  fn('json.filter', [OBJ_AA, JSON_PATHS], A, HOST),
  fn('json.remove', [OBJ_AA, JSON_PATHS], A, HOST),
  fn('json.patch', [A, arr(objWith({ op: S, path: A }, [A, A]))], A, HOST),
  // types
  fn('type_name', [A], S, native('types.typeName')),
  fn('is_number', [A], B, native('types.isNumber')),
  fn('is_string', [A], B, native('types.isString')),
  fn('is_boolean', [A], B, native('types.isBoolean')),
  fn('is_array', [A], B, native('types.isArray')),
  fn('is_set', [A], B, native('types.isSet')),
  fn('is_object', [A], B, native('types.isObject')),
  fn('is_null', [A], B, native('types.isNull')),
  fn('cast_array', [A], ARR_A, native('collections.castArray'), DEPRECATED),
  fn('cast_set', [A], SET_A, native('collections.castSet'), DEPRECATED),
  fn('cast_string', [A], S, HOST, DEPRECATED),
  fn('cast_boolean', [A], B, HOST, DEPRECATED),
  fn('cast_null', [A], NUL, HOST, DEPRECATED),
  fn('cast_object', [A], OBJ_AA, HOST, DEPRECATED),
  // encoding
  fn('json.marshal', [A], S, native('encoding.jsonMarshal')),
  fn('json.marshal_with_options', [A, objWith({ pretty: B, indent: S, prefix: S }, [S, A])], S, HOST),
  fn('json.unmarshal', [S], A, native('encoding.jsonUnmarshal')),
  fn('json.is_valid', [S], B, native('encoding.jsonIsValid'), SDK),
  fn('base64.encode', [S], S, native('encoding.base64Encode')),
  fn('base64.decode', [S], S, native('encoding.base64Decode')),
  fn('base64.is_valid', [S], B, HOST),
  fn('base64url.encode', [S], S, native('encoding.base64UrlEncode')),
  fn('base64url.decode', [S], S, native('encoding.base64UrlDecode')),
  fn('base64url.encode_no_pad', [S], S, native('encoding.base64UrlEncodeNoPad')),
  fn('hex.encode', [S], S, native('encoding.hexEncode')),
  fn('hex.decode', [S], S, native('encoding.hexDecode')),
  fn('urlquery.encode', [S], S, HOST),
  fn('urlquery.decode', [S], S, HOST),
  fn('urlquery.encode_object', [obj(S, or(S, arr(S), set(S)))], S, HOST),
  fn('urlquery.decode_object', [S], obj(S, arr(S)), HOST),
  fn('yaml.marshal', [A], S, HOST, SDK),
  fn('yaml.unmarshal', [S], A, HOST, SDK),
  fn('yaml.is_valid', [S], B, HOST, SDK),
  // regex / glob
  fn('regex.match', [S, S], B, HOST),
  fn('re_match', [S, S], B, HOST, DEPRECATED),
  fn('regex.is_valid', [S], B, HOST),
  fn('regex.find_n', [S, S, N], arr(S), HOST),
  // not SDK: the SDK's own (JS RegExp) is withdrawn at load, ours has Go semantics (src/policy/builtins/regex.ts)
  fn('regex.split', [S, S], arr(S), HOST),
  fn('regex.replace', [S, S, S], S, HOST),
  fn('regex.find_all_string_submatch_n', [S, S, N], arr(arr(S)), HOST),
  fn('regex.template_match', [S, S, S, S], B, HOST),
  fn('regex.globs_match', [S, S], B, HOST),
  fn('glob.match', [S, or(arr(S), NUL), S], B, HOST),
  fn('glob.quote_meta', [S], S, HOST),
  // time
  fn('time.now_ns', [], N, HOST, ND),
  fn('time.parse_rfc3339_ns', [S], N, HOST),
  fn('time.parse_ns', [S, S], N, HOST),
  fn('time.parse_duration_ns', [S], N, HOST),
  fn('time.date', [TIME_ARG], tuple(N, N, N), HOST),
  fn('time.clock', [TIME_ARG], tuple(N, N, N), HOST),
  fn('time.weekday', [TIME_ARG], S, HOST),
  fn('time.add_date', [N, N, N, N], N, HOST),
  fn('time.diff', [TIME_ARG, TIME_ARG], tuple(N, N, N, N, N, N), HOST),
  fn('time.format', [or(N, tuple(N, S), tuple(N, S, S))], S, HOST),
  // net
  fn('net.cidr_contains', [S, S], B, HOST),
  fn('net.cidr_intersects', [S, S], B, HOST),
  fn('net.cidr_merge', [or(arr(S), set(S))], set(S), HOST),
  fn('net.cidr_is_valid', [S], B, HOST),
  fn('net.cidr_contains_matches', [CIDR_OPERAND, CIDR_OPERAND], set(tuple(A, A)), HOST),
  fn('net.cidr_expand', [S], set(S), HOST),
  fn('net.lookup_ip_addr', [S], set(S), NONE, ND),
  fn('net.cidr_overlap', [S, S], B, NONE, DEPRECATED),
  // crypto
  fn('crypto.sha256', [S], S, HOST),
  fn('crypto.sha1', [S], S, HOST),
  fn('crypto.md5', [S], S, HOST),
  fn('crypto.sha512', [S], S, HOST), // not an OPA builtin
  fn('crypto.hmac.sha256', [S, S], S, HOST),
  fn('crypto.hmac.sha512', [S, S], S, HOST),
  fn('crypto.hmac.sha1', [S, S], S, HOST),
  fn('crypto.hmac.md5', [S, S], S, HOST),
  fn('crypto.hmac.equal', [S, S], B, HOST),
  // Chain verification checks validity windows against the current time.
  fn('crypto.x509.parse_and_verify_certificates', [S], tuple(B, arr(OBJ_SA)), NONE, ND),
  fn('crypto.x509.parse_and_verify_certificates_with_options', [S, OBJ_SA], tuple(B, arr(OBJ_SA)), NONE, ND),
  fn('crypto.x509.parse_certificates', [S], arr(OBJ_SA), NONE),
  fn('crypto.x509.parse_certificate_request', [S], OBJ_SA, NONE),
  fn('crypto.x509.parse_rsa_private_key', [S], OBJ_SA, NONE),
  fn('crypto.x509.parse_keypair', [S, S], OBJ_SA, NONE),
  fn('crypto.parse_private_keys', [S], arr(OBJ_SA), NONE),
  // tokens
  fn('io.jwt.decode', [S], tuple(OBJ_AA, OBJ_AA, S), HOST),
  // exp/nbf are checked against the current time unless the constraints pin `time`.
  fn('io.jwt.decode_verify', [S, OBJ_SA], tuple(B, OBJ_AA, OBJ_AA), HOST, ND),
  // ECDSA/PSS signatures are randomised.
  fn('io.jwt.encode_sign', [OBJ_SA, OBJ_SA, OBJ_SA], S, HOST, ND),
  fn('io.jwt.encode_sign_raw', [S, S, S], S, HOST, ND),
  ...['rs256', 'rs384', 'rs512', 'ps256', 'ps384', 'ps512', 'es256', 'es384', 'es512', 'hs256', 'hs384', 'hs512', 'eddsa']
    .map(alg => fn(`io.jwt.verify_${alg}`, [S, S], B, HOST)),
  // misc
  fn('uuid.rfc4122', [S], S, HOST, ND),
  fn('uuid.parse', [S], OBJ_SA, NONE),
  fn('rand.intn', [S, N], N, HOST, ND),
  fn('semver.compare', [S, S], N, HOST),
  fn('semver.is_valid', [A], B, HOST),
  fn('units.parse', [S], N, HOST),
  fn('units.parse_bytes', [S], N, HOST),
  fn('http.send', [OBJ_SA], OBJ_AA, HOST, ND),
  fn('opa.runtime', [], OBJ_SA, HOST, ND),
  // print(...) is rewritten into internal.print([{formatted values of arg 1}, ...]), where the
  // values are formatted with sprintf("%v") in the runtime (src/compiler/planner/print.ts)
  fn('print', [], null, COMPILER, { variadic: A }),
  fn('internal.print', [arr(SET_A)], null, HOST),
  fn('trace', [S], B, HOST),
  // rego.metadata.* become constants at compile time, as OPA's rewriteRegoMetadataCalls does
  fn('rego.metadata.chain', [], ARR_A, COMPILER),
  fn('rego.metadata.rule', [], A, COMPILER),
  fn('rego.parse_module', [S, S], OBJ_SA, NONE),
  fn('json.match_schema', [or(S, OBJ_AA), or(S, OBJ_AA)], tuple(B, arr(objWith({ error: S, type: S, field: S, desc: S }))), HOST),
  fn('json.verify_schema', [or(S, OBJ_AA)], tuple(B, or(NUL, S)), HOST),
  fn('graph.reachable', [obj(A, or(SET_A, ARR_A)), or(SET_A, ARR_A)], SET_A, HOST),
  fn('graph.reachable_paths', [obj(A, or(SET_A, ARR_A)), or(SET_A, ARR_A)], set(ARR_A), NONE),
  // a relation: the planner iterates over the runtime's list of [path, value] pairs
  fn('walk', [A], tuple(ARR_A, A), native('collections.walk'), { relation: true }),
  fn('graphql.is_valid', [or(S, OBJ_AA), or(S, OBJ_AA)], B, NONE),
  fn('graphql.parse', [or(S, OBJ_AA), or(S, OBJ_AA)], tuple(OBJ_AA, OBJ_AA), NONE),
  fn('graphql.parse_and_verify', [or(S, OBJ_AA), or(S, OBJ_AA)], tuple(B, OBJ_AA, OBJ_AA), NONE),
  fn('graphql.parse_query', [S], OBJ_AA, NONE),
  fn('graphql.parse_schema', [S], OBJ_AA, NONE),
  fn('graphql.schema_is_valid', [or(S, OBJ_AA)], B, NONE),
  fn('providers.aws.sign_req', [OBJ_SA, OBJ_SA, N], OBJ_AA, NONE),
])

// ---- derived facts ----

const byName = new Map<string, BuiltinDecl>()
for (const d of BUILTIN_TABLE) {
  if (byName.has(d.name)) throw new Error(`builtin ${d.name} is declared twice`)
  byName.set(d.name, d)
}

/** The declaration of `name`, implemented or not. */
export function builtinDecl (name: string): BuiltinDecl | undefined {
  return byName.get(name)
}

const namesWhere = (p: (d: BuiltinDecl) => boolean): ReadonlySet<string> =>
  Object.freeze(new Set(BUILTIN_TABLE.filter(p).map(d => d.name))) as ReadonlySet<string>

/** Builtins whose result is not a function of their arguments: decisions using them are not cached by default. */
export const NONDETERMINISTIC_BUILTINS: ReadonlySet<string> = namesWhere(d => d.nondeterministic)

/** Builtins the opa-wasm SDK provides on its own (they win over customBuiltins by name). */
export const SDK_BUILTINS: ReadonlySet<string> = namesWhere(d => d.sdk)

/** Builtins implemented inside the Wasm runtime, in runtime id order. */
export const NATIVE_BUILTINS: readonly string[] = Object.freeze(BUILTIN_TABLE.filter(d => d.impl.kind === 'native').map(d => d.name))

/** True when any of `names` is non-deterministic. */
export function anyNondeterministic (names: Iterable<string>): boolean {
  for (const n of names) if (NONDETERMINISTIC_BUILTINS.has(n)) return true
  return false
}

// The compiler's view: builtins a policy may call, with their arity and where they run. A call
// to a name not here is a compile-time error, never a silent undefined: rego_type_error
// "undefined function" for a name OPA does not know either, rego_unsupported_error naming the
// builtin for one OPA has and Bouncer does not (declared NONE). COMPILER entries are handled by
// the planner before it looks here.

export interface BuiltinInfo { arity: number; impl: 'native' | 'host'; nondeterministic?: boolean; relation?: boolean }

export const BUILTINS: Record<string, BuiltinInfo> = Object.freeze(Object.fromEntries(
  BUILTIN_TABLE.filter(d => d.impl.kind === 'native' || d.impl.kind === 'host').map(d => [d.name, Object.freeze({
    arity: d.args.length,
    impl: d.impl.kind as 'native' | 'host',
    ...(d.nondeterministic ? { nondeterministic: true } : {}),
    ...(d.relation ? { relation: true } : {}),
  })]),
))

/** Builtins whose result is a truth test when used as an expression statement. */
export const RELATIONS: ReadonlySet<string> = namesWhere(d => d.comparison)

export function builtinInfo (name: string): BuiltinInfo | undefined {
  return Object.prototype.hasOwnProperty.call(BUILTINS, name) ? BUILTINS[name] : undefined
}
