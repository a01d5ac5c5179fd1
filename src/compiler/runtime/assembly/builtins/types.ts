// Type inspection builtins.

import {
  Value, T_NULL, T_BOOL, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT, T_SET, mkBool, mkStr, typeName as kindName,
} from "../value";

export function typeName (args: Array<Value>): Value | null { return mkStr(kindName(args[0])); }
export function isNumber (args: Array<Value>): Value | null { return mkBool(args[0].kind == T_NUMBER); }
export function isString (args: Array<Value>): Value | null { return mkBool(args[0].kind == T_STRING); }
export function isBoolean (args: Array<Value>): Value | null { return mkBool(args[0].kind == T_BOOL); }
export function isArray (args: Array<Value>): Value | null { return mkBool(args[0].kind == T_ARRAY); }
export function isSet (args: Array<Value>): Value | null { return mkBool(args[0].kind == T_SET); }
export function isObject (args: Array<Value>): Value | null { return mkBool(args[0].kind == T_OBJECT); }
export function isNull (args: Array<Value>): Value | null { return mkBool(args[0].kind == T_NULL); }
