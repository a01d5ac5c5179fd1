// Builtin functions the compiler knows: name -> arity and where it runs. `native` builtins
// are implemented inside the Wasm runtime (runtime/assembly/builtins); `host` builtins are
// called through the ABI's opa_builtinN imports and implemented in JS (src/policy/builtins).
// A call to a name not listed here is a compile-time rego_type_error, never a silent undefined.

export interface BuiltinInfo { arity: number; impl: 'native' | 'host'; nondeterministic?: boolean; relation?: boolean }

const N = (arity: number, extra: Partial<BuiltinInfo> = {}): BuiltinInfo => ({ arity, impl: 'native', ...extra })
const H = (arity: number, extra: Partial<BuiltinInfo> = {}): BuiltinInfo => ({ arity, impl: 'host', ...extra })

export const BUILTINS: Record<string, BuiltinInfo> = {
  // operators
  equal: N(2), neq: N(2), lt: N(2), lte: N(2), gt: N(2), gte: N(2),
  plus: N(2), minus: N(2), mul: N(2), div: N(2), rem: N(2), and: N(2), or: N(2),
  'internal.member_2': N(2), 'internal.member_3': N(3),
  // numbers
  abs: N(1), round: N(1), ceil: N(1), floor: N(1), 'numbers.range': N(2), 'numbers.range_step': N(3),
  to_number: N(1), format_int: N(2),
  // aggregates
  count: N(1), sum: N(1), product: N(1), max: N(1), min: N(1), sort: N(1), any: N(1), all: N(1),
  // strings
  concat: N(2), contains: N(2), startswith: N(2), endswith: N(2), lower: N(1), upper: N(1),
  split: N(2), replace: N(3), 'strings.replace_n': N(2), trim: N(2), trim_left: N(2), trim_right: N(2),
  trim_prefix: N(2), trim_suffix: N(2), trim_space: N(1), indexof: N(2), indexof_n: N(2), substring: N(3),
  'strings.any_prefix_match': N(2), 'strings.any_suffix_match': N(2), 'strings.reverse': N(1),
  'strings.count': N(2), sprintf: N(2), 'strings.render_template': H(2),
  // arrays / sets / objects
  'array.concat': N(2), 'array.slice': N(3), 'array.reverse': N(1), union: N(1), intersection: N(1),
  'object.get': N(3), 'object.keys': N(1), 'object.remove': N(2), 'object.union': N(2),
  'object.union_n': N(1), 'object.filter': N(2), 'object.subset': H(2),
  'json.filter': H(2), 'json.remove': H(2), 'json.patch': H(2),
  // types
  type_name: N(1), is_number: N(1), is_string: N(1), is_boolean: N(1), is_array: N(1), is_set: N(1),
  is_object: N(1), is_null: N(1),
  // encoding
  'json.marshal': N(1), 'json.marshal_with_options': H(2), 'json.unmarshal': N(1), 'json.is_valid': N(1),
  'base64.encode': N(1), 'base64.decode': N(1), 'base64.is_valid': H(1), 'base64url.encode': N(1),
  'base64url.decode': N(1), 'base64url.encode_no_pad': N(1), 'hex.encode': N(1), 'hex.decode': N(1),
  'urlquery.encode': H(1), 'urlquery.decode': H(1), 'urlquery.encode_object': H(1), 'urlquery.decode_object': H(1),
  'yaml.marshal': H(1), 'yaml.unmarshal': H(1), 'yaml.is_valid': H(1),
  // regex / glob
  'regex.match': H(2), re_match: H(2), 'regex.is_valid': H(1), 'regex.find_n': H(3), 'regex.split': H(2),
  'regex.replace': H(3), 'regex.find_all_string_submatch_n': H(3), 'regex.template_match': H(4),
  'regex.globs_match': H(2), 'glob.match': H(3), 'glob.quote_meta': H(1),
  // time
  'time.now_ns': H(0, { nondeterministic: true }), 'time.parse_rfc3339_ns': H(1), 'time.parse_ns': H(2),
  'time.parse_duration_ns': H(1), 'time.date': H(1), 'time.clock': H(1), 'time.weekday': H(1),
  'time.add_date': H(4), 'time.diff': H(2), 'time.format': H(1),
  // net
  'net.cidr_contains': H(2), 'net.cidr_intersects': H(2), 'net.cidr_merge': H(1), 'net.cidr_is_valid': H(1),
  'net.cidr_contains_matches': H(2), 'net.cidr_expand': H(1),
  // crypto / jwt
  'crypto.sha256': H(1), 'crypto.sha1': H(1), 'crypto.md5': H(1), 'crypto.sha512': H(1),
  'crypto.hmac.sha256': H(2), 'crypto.hmac.sha512': H(2), 'crypto.hmac.sha1': H(2), 'crypto.hmac.md5': H(2),
  'crypto.hmac.equal': H(2),
  'io.jwt.decode': H(1), 'io.jwt.decode_verify': H(2), 'io.jwt.encode_sign': H(3), 'io.jwt.encode_sign_raw': H(3),
  'io.jwt.verify_rs256': H(2), 'io.jwt.verify_rs384': H(2), 'io.jwt.verify_rs512': H(2),
  'io.jwt.verify_ps256': H(2), 'io.jwt.verify_ps384': H(2), 'io.jwt.verify_ps512': H(2),
  'io.jwt.verify_es256': H(2), 'io.jwt.verify_es384': H(2), 'io.jwt.verify_es512': H(2),
  'io.jwt.verify_hs256': H(2), 'io.jwt.verify_hs384': H(2), 'io.jwt.verify_hs512': H(2), 'io.jwt.verify_eddsa': H(2),
  // misc
  'uuid.rfc4122': H(1, { nondeterministic: true }), 'rand.intn': H(2, { nondeterministic: true }),
  'semver.compare': H(2), 'semver.is_valid': H(1), 'units.parse': H(1), 'units.parse_bytes': H(1),
  'http.send': H(1, { nondeterministic: true }), 'opa.runtime': H(0, { nondeterministic: true }),
  'internal.print': H(1), trace: H(1),
  cast_array: N(1), cast_set: N(1), cast_string: H(1), cast_boolean: H(1), cast_null: H(1), cast_object: H(1),
  'graph.reachable': H(2), walk: H(1),
}

/** Builtins whose result is a truth test when used as an expression statement. */
export const RELATIONS = new Set(['equal', 'neq', 'lt', 'lte', 'gt', 'gte'])

export function builtinInfo (name: string): BuiltinInfo | undefined {
  return Object.prototype.hasOwnProperty.call(BUILTINS, name) ? BUILTINS[name] : undefined
}
