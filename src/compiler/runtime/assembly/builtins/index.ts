// Registry of builtins implemented natively in the runtime (ids are stable within one
// runtime build; the interpreter maps plan builtin names to ids at plan init).
//   nativeBuiltinId(name) -> id, or -1 when the builtin is not native (use the host)
//   callNative(id, args)  -> result, or null for undefined; errors: see ./errors
// Arity is the planner's business (src/compiler/builtins.ts): args has the right length.
//
// Generated list: keep NAMES and the switch in callNative in the same order.
export {
  setStrictBuiltinErrors, strictBuiltinErrors, setBuiltinErrorLocation, lastBuiltinError, clearBuiltinError,
  builtinError, typeError, elementError, typeErrorMsg,
} from "./errors";
import { Value } from "../value";
import * as N from "./numbers";
import * as A from "./aggregates";
import * as S from "./strings";
import * as C from "./collections";
import * as T from "./types";
import * as E from "./encoding";
import * as P from "./sprintf";

const NAMES: StaticArray<string> = [
  "equal",
  "neq",
  "lt",
  "lte",
  "gt",
  "gte",
  "plus",
  "minus",
  "mul",
  "div",
  "rem",
  "and",
  "or",
  "internal.member_2",
  "internal.member_3",
  "abs",
  "round",
  "ceil",
  "floor",
  "numbers.range",
  "numbers.range_step",
  "to_number",
  "format_int",
  "count",
  "sum",
  "product",
  "max",
  "min",
  "sort",
  "any",
  "all",
  "concat",
  "contains",
  "startswith",
  "endswith",
  "lower",
  "upper",
  "split",
  "replace",
  "strings.replace_n",
  "trim",
  "trim_left",
  "trim_right",
  "trim_prefix",
  "trim_suffix",
  "trim_space",
  "indexof",
  "substring",
  "strings.any_prefix_match",
  "strings.any_suffix_match",
  "array.concat",
  "array.slice",
  "array.reverse",
  "union",
  "intersection",
  "object.get",
  "object.keys",
  "object.remove",
  "object.union",
  "object.filter",
  "type_name",
  "is_number",
  "is_string",
  "is_boolean",
  "is_array",
  "is_set",
  "is_object",
  "is_null",
  "json.marshal",
  "json.unmarshal",
  "json.is_valid",
  "base64.encode",
  "base64.decode",
  "base64url.encode",
  "base64url.decode",
  "base64url.encode_no_pad",
  "hex.encode",
  "hex.decode",
  "cast_array",
  "strings.reverse",
  "indexof_n",
  "strings.count",
  "object.union_n",
  "cast_set",
  "sprintf",
];

export function nativeBuiltinCount (): i32 { return NAMES.length; }
export function nativeBuiltinName (id: i32): string { return NAMES[id]; }

export function nativeBuiltinId (name: string): i32 {
  for (let i = 0, n = NAMES.length; i < n; i++) if (unchecked(NAMES[i]) == name) return i;
  return -1;
}

export function callNative (id: i32, args: Array<Value>): Value | null {
  switch (id) {
    case 0: return N.eq(args); // equal
    case 1: return N.neq(args); // neq
    case 2: return N.lt(args); // lt
    case 3: return N.lte(args); // lte
    case 4: return N.gt(args); // gt
    case 5: return N.gte(args); // gte
    case 6: return N.plus(args); // plus
    case 7: return N.minus(args); // minus
    case 8: return N.mul(args); // mul
    case 9: return N.div(args); // div
    case 10: return N.rem(args); // rem
    case 11: return N.andOp(args); // and
    case 12: return N.orOp(args); // or
    case 13: return C.member2(args); // internal.member_2
    case 14: return C.member3(args); // internal.member_3
    case 15: return N.abs(args); // abs
    case 16: return N.round(args); // round
    case 17: return N.ceil(args); // ceil
    case 18: return N.floor(args); // floor
    case 19: return N.range(args); // numbers.range
    case 20: return N.rangeStep(args); // numbers.range_step
    case 21: return N.toNumber(args); // to_number
    case 22: return N.formatInt(args); // format_int
    case 23: return A.count(args); // count
    case 24: return A.sum(args); // sum
    case 25: return A.product(args); // product
    case 26: return A.max(args); // max
    case 27: return A.min(args); // min
    case 28: return A.sort(args); // sort
    case 29: return A.any(args); // any
    case 30: return A.all(args); // all
    case 31: return S.concat(args); // concat
    case 32: return S.contains(args); // contains
    case 33: return S.startswith(args); // startswith
    case 34: return S.endswith(args); // endswith
    case 35: return S.lower(args); // lower
    case 36: return S.upper(args); // upper
    case 37: return S.split(args); // split
    case 38: return S.replace(args); // replace
    case 39: return S.replaceN(args); // strings.replace_n
    case 40: return S.trim(args); // trim
    case 41: return S.trimLeft(args); // trim_left
    case 42: return S.trimRight(args); // trim_right
    case 43: return S.trimPrefix(args); // trim_prefix
    case 44: return S.trimSuffix(args); // trim_suffix
    case 45: return S.trimSpace(args); // trim_space
    case 46: return S.indexof(args); // indexof
    case 47: return S.substring(args); // substring
    case 48: return S.anyPrefixMatch(args); // strings.any_prefix_match
    case 49: return S.anySuffixMatch(args); // strings.any_suffix_match
    case 50: return C.arrayConcat(args); // array.concat
    case 51: return C.arraySlice(args); // array.slice
    case 52: return C.arrayReverse(args); // array.reverse
    case 53: return C.union(args); // union
    case 54: return C.intersection(args); // intersection
    case 55: return C.objectGet(args); // object.get
    case 56: return C.objectKeys(args); // object.keys
    case 57: return C.objectRemove(args); // object.remove
    case 58: return C.objectUnion(args); // object.union
    case 59: return C.objectFilter(args); // object.filter
    case 60: return T.typeName(args); // type_name
    case 61: return T.isNumber(args); // is_number
    case 62: return T.isString(args); // is_string
    case 63: return T.isBoolean(args); // is_boolean
    case 64: return T.isArray(args); // is_array
    case 65: return T.isSet(args); // is_set
    case 66: return T.isObject(args); // is_object
    case 67: return T.isNull(args); // is_null
    case 68: return E.jsonMarshal(args); // json.marshal
    case 69: return E.jsonUnmarshal(args); // json.unmarshal
    case 70: return E.jsonIsValid(args); // json.is_valid
    case 71: return E.base64Encode(args); // base64.encode
    case 72: return E.base64Decode(args); // base64.decode
    case 73: return E.base64UrlEncode(args); // base64url.encode
    case 74: return E.base64UrlDecode(args); // base64url.decode
    case 75: return E.base64UrlEncodeNoPad(args); // base64url.encode_no_pad
    case 76: return E.hexEncode(args); // hex.encode
    case 77: return E.hexDecode(args); // hex.decode
    case 78: return C.castArray(args); // cast_array
    case 79: return S.reverse(args); // strings.reverse
    case 80: return S.indexofN(args); // indexof_n
    case 81: return S.count(args); // strings.count
    case 82: return C.objectUnionN(args); // object.union_n
    case 83: return C.castSet(args); // cast_set
    case 84: return P.sprintf(args); // sprintf
  }
  return null;
}
