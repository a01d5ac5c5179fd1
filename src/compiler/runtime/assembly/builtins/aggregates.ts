// Aggregates over collections: count sum product max min sort any all.

import {
  Value, ArrV, ObjV, SetV, StrV, NumV, BoolV, T_ARRAY, T_OBJECT, T_SET, T_STRING, T_NUMBER, T_BOOL,
  mkInt, mkBool, compare, sortValues, isInteger,
} from "../value";
import { typeError, elementError } from "./errors";
import { addNum, mulNum, floatAggregate } from "./numbers";
import { codePointCount } from "./strings";

/** Items of an array or set, or null when `v` is neither. */
function items (v: Value): Array<Value> | null {
  if (v.kind == T_ARRAY) return changetype<ArrV>(v).items;
  if (v.kind == T_SET) return changetype<SetV>(v).items;
  return null;
}

export function count (args: Array<Value>): Value | null {
  let a = args[0];
  switch (a.kind) {
    case T_ARRAY: return mkInt(changetype<ArrV>(a).items.length);
    case T_SET: return mkInt(changetype<SetV>(a).items.length);
    case T_OBJECT: return mkInt(changetype<ObjV>(a).keys.length);
    case T_STRING: return mkInt(codePointCount(changetype<StrV>(a).s));
  }
  return typeError("count", 1, "one of {array, object, set, string}", a);
}

export function sum (args: Array<Value>): Value | null {
  let a = args[0];
  let xs = items(a);
  if (xs === null) return typeError("sum", 1, "one of {array, set}", a);
  let acc = mkInt(0);
  let floats = false;
  for (let i = 0, n = xs.length; i < n; i++) {
    let x = unchecked(xs[i]);
    if (x.kind != T_NUMBER) return elementError("sum", 1, a, "number", x);
    if (!isInteger(x)) floats = true;
  }
  // Any non-integer: OPA sums every element in one 64-bit big.Float (the host does it).
  if (floats) { let r = floatAggregate("sum", a, xs); if (r !== a) return r; }
  for (let i = 0, n = xs.length; i < n; i++) {
    let r = addNum(changetype<NumV>(acc), changetype<NumV>(unchecked(xs[i])));
    if (r === null) return null;
    acc = r;
  }
  return acc;
}

export function product (args: Array<Value>): Value | null {
  let a = args[0];
  let xs = items(a);
  if (xs === null) return typeError("product", 1, "one of {array, set}", a);
  let acc = mkInt(1);
  let floats = false;
  for (let i = 0, n = xs.length; i < n; i++) {
    let x = unchecked(xs[i]);
    if (x.kind != T_NUMBER) return elementError("product", 1, a, "number", x);
    if (!isInteger(x)) floats = true;
  }
  // Any non-integer: OPA multiplies in a big.Float that starts as big.NewFloat(1), at 53 bits.
  if (floats) { let r = floatAggregate("product", a, xs); if (r !== a) return r; }
  for (let i = 0, n = xs.length; i < n; i++) {
    let r = mulNum(changetype<NumV>(acc), changetype<NumV>(unchecked(xs[i])));
    if (r === null) return null;
    acc = r;
  }
  return acc;
}

export function max (args: Array<Value>): Value | null {
  let a = args[0];
  let xs = items(a);
  if (xs === null) return typeError("max", 1, "one of {array, set}", a);
  let n = xs.length;
  if (n == 0) return null;
  if (a.kind == T_SET) return unchecked(xs[n - 1]);
  let best = unchecked(xs[0]);
  // of equal elements (2 and 2.0) the last, as OPA's builtinMax keeps it
  for (let i = 1; i < n; i++) if (compare(unchecked(xs[i]), best) >= 0) best = unchecked(xs[i]);
  return best;
}

export function min (args: Array<Value>): Value | null {
  let a = args[0];
  let xs = items(a);
  if (xs === null) return typeError("min", 1, "one of {array, set}", a);
  let n = xs.length;
  if (n == 0) return null;
  if (a.kind == T_SET) return unchecked(xs[0]);
  let best = unchecked(xs[0]);
  for (let i = 1; i < n; i++) if (compare(unchecked(xs[i]), best) <= 0) best = unchecked(xs[i]);
  return best;
}

export function sort (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind == T_SET) return new ArrV(changetype<SetV>(a).items.slice(0));
  if (a.kind != T_ARRAY) return typeError("sort", 1, "one of {array, set}", a);
  return new ArrV(sortValues(changetype<ArrV>(a).items));
}

function isTrue (v: Value): bool { return v.kind == T_BOOL && changetype<BoolV>(v).b; }

export function any (args: Array<Value>): Value | null {
  let a = args[0];
  let xs = items(a);
  if (xs === null) return typeError("any", 1, "one of {array, set}", a);
  for (let i = 0, n = xs.length; i < n; i++) if (isTrue(unchecked(xs[i]))) return mkBool(true);
  return mkBool(false);
}

export function all (args: Array<Value>): Value | null {
  let a = args[0];
  let xs = items(a);
  if (xs === null) return typeError("all", 1, "one of {array, set}", a);
  for (let i = 0, n = xs.length; i < n; i++) if (!isTrue(unchecked(xs[i]))) return mkBool(false);
  return mkBool(true);
}
