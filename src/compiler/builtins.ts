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
//               of a variadic function (print); float: its runtime implementation hands
//               non-integer arithmetic to the host call FLOAT_BUILTIN (src/compiler/float-builtin.ts),
//               which the planner adds to every plan calling it; deprecated: OPA deprecated it (capabilities'
//               "deprecated"; `bouncer check --strict` rejects calls to it, as opa check --strict);
//               names: OPA's names of the arguments then the result, as its type errors print
//               them (`want: (x: number, y: number, z: number)`); exact: a host builtin that
//               reads its arguments exactly, not as the SDK's doubles (it prints numbers as
//               written, or has an integer operand, which 2.0 is not: src/policy/builtins).

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
  /** Non-integer results come from the host's big.Float arithmetic (FLOAT_BUILTIN). */
  readonly float: boolean
  /** A host builtin given its arguments exactly (numbers as written), not as doubles. */
  readonly exact: boolean
  /** OPA's names of the arguments (argNames[i] for args[i]) and of the result, if it has them */
  readonly argNames?: readonly string[]
  readonly resultName?: string
}

interface Flags { nondeterministic?: true; sdk?: true; comparison?: true; relation?: true; infix?: string; variadic?: RegoType; deprecated?: true; float?: true; exact?: true; names?: string[] }

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
    float: flags.float === true,
    exact: flags.exact === true,
    ...(flags.names !== undefined ? namesOf(name, args, result, flags.names) : {}),
  })
}

function namesOf (name: string, args: RegoType[], result: RegoType | null, names: string[]): { argNames: readonly string[]; resultName?: string } {
  if (names.length !== args.length + (result === null ? 0 : 1)) throw new Error(`builtin ${name}: ${names.length} names for ${args.length} arguments${result === null ? '' : ' and a result'}`)
  return {
    argNames: Object.freeze(names.slice(0, args.length)),
    ...(result !== null ? { resultName: names[args.length] } : {}),
  }
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
  fn('equal', [A, A], B, native('numbers.eq'), { ...CMP('=='), names: ['x', 'y', 'result'] }),
  fn('neq', [A, A], B, native('numbers.neq'), { ...CMP('!='), names: ['x', 'y', 'result'] }),
  fn('lt', [A, A], B, native('numbers.lt'), { ...CMP('<'), names: ['x', 'y', 'result'] }),
  fn('lte', [A, A], B, native('numbers.lte'), { ...CMP('<='), names: ['x', 'y', 'result'] }),
  fn('gt', [A, A], B, native('numbers.gt'), { ...CMP('>'), names: ['x', 'y', 'result'] }),
  fn('gte', [A, A], B, native('numbers.gte'), { ...CMP('>='), names: ['x', 'y', 'result'] }),
  fn('plus', [N, N], N, native('numbers.plus'), { infix: '+', float: true, names: ['x', 'y', 'z'] }),
  fn('minus', [or(N, SET_A), or(N, SET_A)], or(N, SET_A), native('numbers.minus'), { infix: '-', float: true, names: ['x', 'y', 'z'] }),
  fn('mul', [N, N], N, native('numbers.mul'), { infix: '*', float: true, names: ['x', 'y', 'z'] }),
  fn('div', [N, N], N, native('numbers.div'), { infix: '/', float: true, names: ['x', 'y', 'z'] }),
  fn('rem', [N, N], N, native('numbers.rem'), { infix: '%', names: ['x', 'y', 'z'] }),
  fn('and', [SET_A, SET_A], SET_A, native('numbers.andOp'), { infix: '&', names: ['x', 'y', 'z'] }),
  fn('or', [SET_A, SET_A], SET_A, native('numbers.orOp'), { infix: '|', names: ['x', 'y', 'z'] }),
  fn('internal.member_2', [A, A], B, native('collections.member2'), { infix: 'in' }),
  fn('internal.member_3', [A, A, A], B, native('collections.member3'), { infix: 'in' }),
  // numbers
  fn('abs', [N], N, native('numbers.abs'), { float: true, names: ['x', 'y'] }),
  fn('round', [N], N, native('numbers.round'), { float: true, names: ['x', 'y'] }),
  fn('ceil', [N], N, native('numbers.ceil'), { float: true, names: ['x', 'y'] }),
  fn('floor', [N], N, native('numbers.floor'), { float: true, names: ['x', 'y'] }),
  fn('numbers.range', [N, N], arr(N), native('numbers.range'), { names: ['a', 'b', 'range'] }),
  fn('numbers.range_step', [N, N, N], arr(N), native('numbers.rangeStep'), { names: ['a', 'b', 'step', 'range'] }),
  fn('to_number', [or(N, S, B, NUL)], N, native('numbers.toNumber'), { names: ['x', 'num'] }),
  fn('format_int', [N, N], S, native('numbers.formatInt'), { float: true, names: ['number', 'base', 'output'] }),
  fn('bits.or', [N, N], N, native('numbers.bitsOr'), { names: ['x', 'y', 'z'] }),
  fn('bits.and', [N, N], N, native('numbers.bitsAnd'), { names: ['x', 'y', 'z'] }),
  fn('bits.negate', [N], N, native('numbers.bitsNegate'), { names: ['x', 'z'] }),
  fn('bits.xor', [N, N], N, native('numbers.bitsXor'), { names: ['x', 'y', 'z'] }),
  fn('bits.lsh', [N, N], N, native('numbers.bitsLsh'), { names: ['x', 's', 'z'] }),
  fn('bits.rsh', [N, N], N, native('numbers.bitsRsh'), { names: ['x', 's', 'z'] }),
  // aggregates
  fn('count', [or(SET_A, ARR_A, OBJ_AA, S)], N, native('aggregates.count'), { names: ['collection', 'n'] }),
  fn('sum', [or(set(N), arr(N))], N, native('aggregates.sum'), { float: true, names: ['collection', 'n'] }),
  fn('product', [or(set(N), arr(N))], N, native('aggregates.product'), { float: true, names: ['collection', 'n'] }),
  fn('max', [or(SET_A, ARR_A)], A, native('aggregates.max'), { names: ['collection', 'n'] }),
  fn('min', [or(SET_A, ARR_A)], A, native('aggregates.min'), { names: ['collection', 'n'] }),
  fn('sort', [or(ARR_A, SET_A)], ARR_A, native('aggregates.sort'), { names: ['collection', 'n'] }),
  fn('any', [or(SET_A, ARR_A)], B, native('aggregates.any'), DEPRECATED),
  fn('all', [or(SET_A, ARR_A)], B, native('aggregates.all'), DEPRECATED),
  // strings
  fn('concat', [S, or(set(S), arr(S))], S, native('strings.concat'), { names: ['delimiter', 'collection', 'output'] }),
  fn('contains', [S, S], B, native('strings.contains'), { names: ['haystack', 'needle', 'result'] }),
  fn('startswith', [S, S], B, native('strings.startswith'), { names: ['search', 'base', 'result'] }),
  fn('endswith', [S, S], B, native('strings.endswith'), { names: ['search', 'base', 'result'] }),
  fn('lower', [S], S, native('strings.lower'), { names: ['x', 'y'] }),
  fn('upper', [S], S, native('strings.upper'), { names: ['x', 'y'] }),
  fn('split', [S, S], arr(S), native('strings.split'), { names: ['x', 'delimiter', 'ys'] }),
  fn('strings.split_n', [S, S, N], arr(S), native('strings.splitN')),
  fn('replace', [S, S, S], S, native('strings.replace'), { names: ['x', 'old', 'new', 'y'] }),
  fn('strings.replace_n', [obj(S, S), S], S, native('strings.replaceN'), { names: ['patterns', 'value', 'output'] }),
  fn('trim', [S, S], S, native('strings.trim'), { names: ['value', 'cutset', 'output'] }),
  fn('trim_left', [S, S], S, native('strings.trimLeft'), { names: ['value', 'cutset', 'output'] }),
  fn('trim_right', [S, S], S, native('strings.trimRight'), { names: ['value', 'cutset', 'output'] }),
  fn('trim_prefix', [S, S], S, native('strings.trimPrefix'), { names: ['value', 'prefix', 'output'] }),
  fn('trim_suffix', [S, S], S, native('strings.trimSuffix'), { names: ['value', 'suffix', 'output'] }),
  fn('trim_space', [S], S, native('strings.trimSpace'), { names: ['value', 'output'] }),
  fn('indexof', [S, S], N, native('strings.indexof'), { names: ['haystack', 'needle', 'output'] }),
  fn('indexof_n', [S, S], arr(N), native('strings.indexofN'), { names: ['haystack', 'needle', 'output'] }),
  fn('substring', [S, N, N], S, native('strings.substring'), { names: ['value', 'offset', 'length', 'output'] }),
  fn('strings.any_prefix_match', [STRINGS, STRINGS], B, native('strings.anyPrefixMatch'), { names: ['search', 'base', 'result'] }),
  fn('strings.any_suffix_match', [STRINGS, STRINGS], B, native('strings.anySuffixMatch'), { names: ['search', 'base', 'result'] }),
  fn('strings.reverse', [S], S, native('strings.reverse'), { names: ['x', 'y'] }),
  fn('strings.count', [S, S], N, native('strings.count'), { names: ['search', 'substring', 'output'] }),
  // The SDK's sprintf (sprintf-js) serves OPA-built modules only; ours runs natively.
  fn('sprintf', [S, ARR_A], S, native('sprintf.sprintf'), { ...SDK, names: ['format', 'values', 'output'] }),
  fn('strings.render_template', [S, OBJ_SA], S, HOST, { exact: true, names: ['value', 'vars', 'result'] }),
  // arrays / sets / objects
  fn('array.concat', [ARR_A, ARR_A], ARR_A, native('collections.arrayConcat'), { names: ['x', 'y', 'z'] }),
  fn('array.slice', [ARR_A, N, N], ARR_A, native('collections.arraySlice'), { names: ['arr', 'start', 'stop', 'slice'] }),
  fn('array.reverse', [ARR_A], ARR_A, native('collections.arrayReverse'), { names: ['arr', 'rev'] }),
  fn('array.flatten', [ARR_A], ARR_A, native('collections.arrayFlatten')),
  fn('union', [set(SET_A)], SET_A, native('collections.union'), { names: ['xs', 'y'] }),
  fn('intersection', [set(SET_A)], SET_A, native('collections.intersection'), { names: ['xs', 'y'] }),
  fn('set_diff', [SET_A, SET_A], SET_A, native('collections.setDiff'), DEPRECATED),
  fn('object.get', [OBJ_AA, A, A], A, native('collections.objectGet'), { names: ['object', 'key', 'default', 'value'] }),
  fn('object.keys', [OBJ_AA], SET_A, native('collections.objectKeys'), { names: ['object', 'value'] }),
  // Results typed as OPA types them since PR #8849 (July 2026; they were `any`): an object, and
  // object.subset a boolean, so `count(object.subset(a, b))` is a type error at compile time.
  fn('object.remove', [OBJ_AA, KEYS], OBJ_AA, native('collections.objectRemove'), { names: ['object', 'keys', 'output'] }),
  fn('object.union', [OBJ_AA, OBJ_AA], OBJ_AA, native('collections.objectUnion'), { names: ['a', 'b', 'output'] }),
  fn('object.union_n', [arr(OBJ_AA)], OBJ_AA, native('collections.objectUnionN'), { names: ['objects', 'output'] }),
  fn('object.filter', [OBJ_AA, KEYS], OBJ_AA, native('collections.objectFilter'), { names: ['object', 'keys', 'filtered'] }),
  fn('object.subset', [or(OBJ_AA, SET_A, ARR_A), or(OBJ_AA, SET_A, ARR_A)], B, native('collections.objectSubset'), { names: ['super', 'sub', 'result'] }),
  fn('json.filter', [OBJ_AA, JSON_PATHS], OBJ_AA, HOST, { names: ['object', 'paths', 'filtered'] }),
  fn('json.remove', [OBJ_AA, JSON_PATHS], OBJ_AA, HOST, { names: ['object', 'paths', 'output'] }),
  fn('json.patch', [A, arr(objWith({ op: S, path: A }, [A, A]))], A, HOST, { exact: true, names: ['object', 'patches', 'output'] }),
  // types
  fn('type_name', [A], S, native('types.typeName'), { names: ['x', 'type'] }),
  fn('is_number', [A], B, native('types.isNumber'), { names: ['x', 'result'] }),
  fn('is_string', [A], B, native('types.isString'), { names: ['x', 'result'] }),
  fn('is_boolean', [A], B, native('types.isBoolean'), { names: ['x', 'result'] }),
  fn('is_array', [A], B, native('types.isArray'), { names: ['x', 'result'] }),
  fn('is_set', [A], B, native('types.isSet'), { names: ['x', 'result'] }),
  fn('is_object', [A], B, native('types.isObject'), { names: ['x', 'result'] }),
  fn('is_null', [A], B, native('types.isNull'), { names: ['x', 'result'] }),
  fn('cast_array', [A], ARR_A, native('collections.castArray'), DEPRECATED),
  fn('cast_set', [A], SET_A, native('collections.castSet'), DEPRECATED),
  fn('cast_string', [A], S, HOST, DEPRECATED),
  fn('cast_boolean', [A], B, HOST, DEPRECATED),
  fn('cast_null', [A], NUL, HOST, DEPRECATED),
  fn('cast_object', [A], OBJ_AA, HOST, DEPRECATED),
  // encoding
  fn('json.marshal', [A], S, native('encoding.jsonMarshal'), { names: ['x', 'y'] }),
  fn('json.marshal_with_options', [A, objWith({ pretty: B, indent: S, prefix: S }, [S, A])], S, HOST, { exact: true, names: ['x', 'opts', 'y'] }),
  fn('json.unmarshal', [S], A, native('encoding.jsonUnmarshal'), { names: ['x', 'y'] }),
  fn('json.is_valid', [S], B, native('encoding.jsonIsValid'), { ...SDK, names: ['x', 'result'] }),
  fn('base64.encode', [S], S, native('encoding.base64Encode'), { names: ['x', 'y'] }),
  fn('base64.decode', [S], S, native('encoding.base64Decode'), { names: ['x', 'y'] }),
  fn('base64.is_valid', [S], B, HOST, { names: ['x', 'result'] }),
  fn('base64url.encode', [S], S, native('encoding.base64UrlEncode'), { names: ['x', 'y'] }),
  fn('base64url.decode', [S], S, native('encoding.base64UrlDecode'), { names: ['x', 'y'] }),
  fn('base64url.encode_no_pad', [S], S, native('encoding.base64UrlEncodeNoPad'), { names: ['x', 'y'] }),
  fn('hex.encode', [S], S, native('encoding.hexEncode'), { names: ['x', 'y'] }),
  fn('hex.decode', [S], S, native('encoding.hexDecode'), { names: ['x', 'y'] }),
  // Go's net/url.Parse (src/policy/builtins/uri.ts)
  fn('uri.parse', [S], obj(S, S), HOST, { names: ['uri', 'result'] }),
  fn('uri.is_valid', [S], B, HOST, { names: ['uri', 'result'] }),
  fn('urlquery.encode', [S], S, HOST, { names: ['x', 'y'] }),
  fn('urlquery.decode', [S], S, HOST, { names: ['x', 'y'] }),
  fn('urlquery.encode_object', [obj(S, or(S, arr(S), set(S)))], S, HOST, { names: ['object', 'y'] }),
  fn('urlquery.decode_object', [S], obj(S, arr(S)), HOST, { names: ['x', 'object'] }),
  // not SDK: OPA's go-yaml v3 reading, not the SDK's (src/policy/builtins/yaml.ts)
  fn('yaml.marshal', [A], S, HOST, { names: ['x', 'y'] }),
  fn('yaml.unmarshal', [S], A, HOST, { names: ['x', 'y'] }),
  fn('yaml.is_valid', [S], B, HOST, { names: ['x', 'result'] }),
  // regex / glob
  fn('regex.match', [S, S], B, HOST, { names: ['pattern', 'value', 'result'] }),
  fn('re_match', [S, S], B, HOST, DEPRECATED),
  fn('regex.is_valid', [S], B, HOST, { names: ['pattern', 'result'] }),
  fn('regex.find_n', [S, S, N], arr(S), HOST, { exact: true, names: ['pattern', 'value', 'number', 'output'] }),
  // not SDK: the SDK's own (JS RegExp) is withdrawn at load, ours has Go semantics (src/policy/builtins/regex.ts)
  fn('regex.split', [S, S], arr(S), HOST, { names: ['pattern', 'value', 'output'] }),
  fn('regex.replace', [S, S, S], S, HOST, { names: ['s', 'pattern', 'value', 'output'] }),
  fn('regex.find_all_string_submatch_n', [S, S, N], arr(arr(S)), HOST, { exact: true, names: ['pattern', 'value', 'number', 'output'] }),
  fn('regex.template_match', [S, S, S, S], B, HOST, { names: ['template', 'value', 'delimiter_start', 'delimiter_end', 'result'] }),
  fn('regex.globs_match', [S, S], B, HOST, { names: ['glob1', 'glob2', 'result'] }),
  fn('glob.match', [S, or(arr(S), NUL), S], B, HOST, { names: ['pattern', 'delimiters', 'match', 'result'] }),
  fn('glob.quote_meta', [S], S, HOST, { names: ['pattern', 'output'] }),
  // time
  fn('time.now_ns', [], N, HOST, { ...ND, names: ['now'] }),
  fn('time.parse_rfc3339_ns', [S], N, HOST, { names: ['value', 'ns'] }),
  fn('time.parse_ns', [S, S], N, HOST, { names: ['layout', 'value', 'ns'] }),
  fn('time.parse_duration_ns', [S], N, HOST, { names: ['duration', 'ns'] }),
  fn('time.date', [TIME_ARG], tuple(N, N, N), HOST, { names: ['x', 'date'] }),
  fn('time.clock', [TIME_ARG], tuple(N, N, N), HOST, { names: ['x', 'output'] }),
  fn('time.weekday', [TIME_ARG], S, HOST, { names: ['x', 'day'] }),
  fn('time.add_date', [N, N, N, N], N, HOST, { exact: true, names: ['ns', 'years', 'months', 'days', 'output'] }),
  fn('time.diff', [TIME_ARG, TIME_ARG], tuple(N, N, N, N, N, N), HOST, { names: ['ns1', 'ns2', 'output'] }),
  fn('time.format', [or(N, tuple(N, S), tuple(N, S, S))], S, HOST, { names: ['x', 'formatted timestamp'] }),
  // net
  fn('net.cidr_contains', [S, S], B, HOST, { names: ['cidr', 'cidr_or_ip', 'result'] }),
  fn('net.cidr_intersects', [S, S], B, HOST, { names: ['cidr1', 'cidr2', 'result'] }),
  fn('net.cidr_merge', [or(arr(S), set(S))], set(S), HOST, { names: ['addrs', 'output'] }),
  fn('net.cidr_is_valid', [S], B, HOST, { names: ['cidr', 'result'] }),
  fn('net.cidr_contains_matches', [CIDR_OPERAND, CIDR_OPERAND], set(tuple(A, A)), HOST, { names: ['cidrs', 'cidrs_or_ips', 'output'] }),
  fn('net.cidr_expand', [S], set(S), HOST, { names: ['cidr', 'hosts'] }),
  fn('net.lookup_ip_addr', [S], set(S), NONE, { ...ND, names: ['name', 'addrs'] }),
  fn('net.cidr_overlap', [S, S], B, HOST, DEPRECATED),
  // crypto
  fn('crypto.sha256', [S], S, HOST, { names: ['x', 'y'] }),
  fn('crypto.sha1', [S], S, HOST, { names: ['x', 'y'] }),
  fn('crypto.md5', [S], S, HOST, { names: ['x', 'y'] }),
  fn('crypto.sha512', [S], S, HOST, { names: ['x', 'y'] }), // not an OPA builtin
  fn('crypto.hmac.sha256', [S, S], S, HOST, { names: ['x', 'key', 'y'] }),
  fn('crypto.hmac.sha512', [S, S], S, HOST, { names: ['x', 'key', 'y'] }),
  fn('crypto.hmac.sha1', [S, S], S, HOST, { names: ['x', 'key', 'y'] }),
  fn('crypto.hmac.md5', [S, S], S, HOST, { names: ['x', 'key', 'y'] }),
  fn('crypto.hmac.equal', [S, S], B, HOST, { names: ['mac1', 'mac2', 'result'] }),
  // Chain verification checks validity windows against the current time.
  fn('crypto.x509.parse_and_verify_certificates', [S], tuple(B, arr(OBJ_SA)), HOST, { ...ND, names: ['certs', 'output'] }),
  fn('crypto.x509.parse_and_verify_certificates_with_options', [S, OBJ_SA], tuple(B, arr(OBJ_SA)), HOST, { ...ND, exact: true, names: ['certs', 'options', 'output'] }),
  fn('crypto.x509.parse_certificates', [S], arr(OBJ_SA), HOST, { names: ['certs', 'output'] }),
  fn('crypto.x509.parse_certificate_request', [S], OBJ_SA, HOST, { names: ['csr', 'output'] }),
  fn('crypto.x509.parse_rsa_private_key', [S], OBJ_SA, HOST, { names: ['pem', 'output'] }),
  fn('crypto.x509.parse_keypair', [S, S], OBJ_SA, NONE, { names: ['cert', 'pem', 'output'] }),
  fn('crypto.parse_private_keys', [S], arr(OBJ_SA), NONE, { names: ['keys', 'output'] }),
  // tokens
  fn('io.jwt.decode', [S], tuple(OBJ_AA, OBJ_AA, S), HOST, { names: ['jwt', 'output'] }),
  // exp/nbf are checked against the current time unless the constraints pin `time`.
  fn('io.jwt.decode_verify', [S, OBJ_SA], tuple(B, OBJ_AA, OBJ_AA), HOST, { ...ND, names: ['jwt', 'constraints', 'output'] }),
  // ECDSA/PSS signatures are randomised.
  fn('io.jwt.encode_sign', [OBJ_SA, OBJ_SA, OBJ_SA], S, HOST, { ...ND, exact: true, names: ['headers', 'payload', 'key', 'output'] }),
  fn('io.jwt.encode_sign_raw', [S, S, S], S, HOST, { ...ND, names: ['headers', 'payload', 'key', 'output'] }),
  ...['rs256', 'rs384', 'rs512', 'ps256', 'ps384', 'ps512', 'es256', 'es384', 'es512', 'hs256', 'hs384', 'hs512', 'eddsa']
    .map(alg => fn(`io.jwt.verify_${alg}`, [S, S], B, HOST, { names: ['jwt', alg.startsWith('hs') ? 'secret' : 'certificate', 'result'] })),
  // misc
  fn('uuid.rfc4122', [S], S, HOST, { ...ND, names: ['k', 'output'] }),
  fn('uuid.parse', [S], OBJ_SA, HOST, { names: ['uuid', 'result'] }),
  fn('rand.intn', [S, N], N, HOST, { ...ND, exact: true, names: ['str', 'n', 'y'] }),
  fn('semver.compare', [S, S], N, HOST, { names: ['a', 'b', 'result'] }),
  fn('semver.is_valid', [A], B, HOST, { names: ['vsn', 'result'] }),
  fn('units.parse', [S], N, HOST, { names: ['x', 'y'] }),
  fn('units.parse_bytes', [S], N, HOST, { names: ['x', 'y'] }),
  fn('http.send', [OBJ_SA], OBJ_AA, HOST, { ...ND, names: ['request', 'response'] }),
  fn('opa.runtime', [], OBJ_SA, HOST, { ...ND, names: ['output'] }),
  // print(...) is rewritten into internal.print([{formatted values of arg 1}, ...]), where the
  // values are formatted with sprintf("%v") in the runtime (src/compiler/planner/print.ts)
  fn('print', [], null, COMPILER, { variadic: A }),
  fn('internal.print', [arr(SET_A)], null, HOST),
  // $"text {expr}" is parsed into internal.template_string([parts]) (src/compiler/parser)
  fn('internal.template_string', [ARR_A], S, native('sprintf.templateString')),
  fn('trace', [S], B, HOST, { names: ['note', 'result'] }),
  // rego.metadata.* become constants at compile time, as OPA's rewriteRegoMetadataCalls does
  fn('rego.metadata.chain', [], ARR_A, COMPILER, { names: ['chain'] }),
  fn('rego.metadata.rule', [], A, COMPILER, { names: ['output'] }),
  fn('rego.parse_module', [S, S], OBJ_SA, NONE, { names: ['filename', 'rego', 'output'] }),
  fn('json.match_schema', [or(S, OBJ_AA), or(S, OBJ_AA)], tuple(B, arr(objWith({ error: S, type: S, field: S, desc: S }))), HOST, { names: ['document', 'schema', 'output'] }),
  fn('json.verify_schema', [or(S, OBJ_AA)], tuple(B, or(NUL, S)), HOST, { names: ['schema', 'output'] }),
  fn('graph.reachable', [obj(A, or(SET_A, ARR_A)), or(SET_A, ARR_A)], SET_A, HOST, { names: ['graph', 'initial', 'output'] }),
  fn('graph.reachable_paths', [obj(A, or(SET_A, ARR_A)), or(SET_A, ARR_A)], set(ARR_A), HOST, { names: ['graph', 'initial', 'output'] }),
  // a relation: the planner iterates over the runtime's list of [path, value] pairs
  fn('walk', [A], tuple(ARR_A, A), native('collections.walk'), { relation: true, names: ['x', 'output'] }),
  fn('graphql.is_valid', [or(S, OBJ_AA), or(S, OBJ_AA)], B, HOST, { names: ['query', 'schema', 'output'] }),
  fn('graphql.parse', [or(S, OBJ_AA), or(S, OBJ_AA)], tuple(OBJ_AA, OBJ_AA), HOST, { names: ['query', 'schema', 'output'] }),
  fn('graphql.parse_and_verify', [or(S, OBJ_AA), or(S, OBJ_AA)], tuple(B, OBJ_AA, OBJ_AA), HOST, { names: ['query', 'schema', 'output'] }),
  fn('graphql.parse_query', [S], OBJ_AA, HOST, { names: ['query', 'output'] }),
  fn('graphql.parse_schema', [S], OBJ_AA, HOST, { names: ['schema', 'output'] }),
  fn('graphql.schema_is_valid', [or(S, OBJ_AA)], B, HOST, { names: ['schema', 'output'] }),
  fn('providers.aws.sign_req', [OBJ_SA, OBJ_SA, N], OBJ_AA, HOST, { exact: true, names: ['request', 'aws_config', 'time_ns', 'signed_request'] }),
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

/** Builtins whose non-integer arithmetic is the host's (see the `float` flag). */
export const FLOAT_BUILTINS: ReadonlySet<string> = namesWhere(d => d.float)

/** Host builtins that read their arguments exactly (see the `exact` flag). */
export const EXACT_ARG_BUILTINS: ReadonlySet<string> = namesWhere(d => d.exact)

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
