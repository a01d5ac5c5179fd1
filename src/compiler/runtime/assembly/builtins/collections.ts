// Set, array and object builtins, membership and casts.

import {
  Value, ArrV, ObjV, SetV, T_ARRAY, T_OBJECT, T_SET, T_NUMBER,
  mkBool, mkInt, newArrayCap, newSet, setFromItems, compare, equals, numToI64, i64Ok,
} from "../value";
import { typeError, elementError, typeErrorMsg } from "./errors";
import { intArg, intOk } from "./numbers";

// ---- sets -------------------------------------------------------------------------

/** a - b for sets (both sorted: a linear merge). */
export function setMinus (a: Value, b: Value): Value {
  let x = changetype<SetV>(a).items, y = changetype<SetV>(b).items;
  let out = new Array<Value>(x.length); out.length = 0;
  let i = 0, j = 0, n = x.length, m = y.length;
  while (i < n) {
    if (j >= m) { out.push(unchecked(x[i++])); continue; }
    let c = compare(unchecked(x[i]), unchecked(y[j]));
    if (c < 0) out.push(unchecked(x[i++]));
    else if (c > 0) j++;
    else { i++; j++; }
  }
  return new SetV(out);
}

export function setUnion (a: Value, b: Value): Value {
  let x = changetype<SetV>(a).items, y = changetype<SetV>(b).items;
  if (y.length == 0) return a;
  if (x.length == 0) return b;
  let out = new Array<Value>(x.length + y.length); out.length = 0;
  let i = 0, j = 0, n = x.length, m = y.length;
  while (i < n || j < m) {
    if (i >= n) { out.push(unchecked(y[j++])); continue; }
    if (j >= m) { out.push(unchecked(x[i++])); continue; }
    let c = compare(unchecked(x[i]), unchecked(y[j]));
    if (c < 0) out.push(unchecked(x[i++]));
    else if (c > 0) out.push(unchecked(y[j++]));
    else { out.push(unchecked(x[i++])); j++; }
  }
  return new SetV(out);
}

export function setIntersect (a: Value, b: Value): Value {
  let x = changetype<SetV>(a).items, y = changetype<SetV>(b).items;
  let out = new Array<Value>();
  let i = 0, j = 0, n = x.length, m = y.length;
  while (i < n && j < m) {
    let c = compare(unchecked(x[i]), unchecked(y[j]));
    if (c < 0) i++;
    else if (c > 0) j++;
    else { out.push(unchecked(x[i++])); j++; }
  }
  return new SetV(out);
}

export function union (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_SET) return typeError("union", 1, "set", a);
  let items = changetype<SetV>(a).items;
  let acc: Value = newSet();
  for (let i = 0, n = items.length; i < n; i++) {
    let s = unchecked(items[i]);
    if (s.kind != T_SET) return elementError("union", 1, a, "set", s);
    acc = setUnion(acc, s);
  }
  return acc;
}

export function intersection (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_SET) return typeError("intersection", 1, "set", a);
  let items = changetype<SetV>(a).items;
  if (items.length == 0) return newSet();
  for (let i = 0, n = items.length; i < n; i++) {
    let s = unchecked(items[i]);
    if (s.kind != T_SET) return elementError("intersection", 1, a, "set", s);
  }
  let acc: Value = unchecked(items[0]);
  for (let i = 1, n = items.length; i < n; i++) acc = setIntersect(acc, unchecked(items[i]));
  return acc;
}

// ---- arrays -----------------------------------------------------------------------

export function arrayConcat (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (a.kind != T_ARRAY) return typeError("array.concat", 1, "array", a);
  if (b.kind != T_ARRAY) return typeError("array.concat", 2, "array", b);
  let x = changetype<ArrV>(a).items, y = changetype<ArrV>(b).items;
  if (y.length == 0) return a;
  if (x.length == 0) return b;
  return new ArrV(x.concat(y));
}

/** array.flatten(arr): the elements of arr, with the elements of each array element in its place (one level). */
export function arrayFlatten (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_ARRAY) return typeError("array.flatten", 1, "array", a);
  let items = changetype<ArrV>(a).items;
  let out = new Array<Value>();
  for (let i = 0, n = items.length; i < n; i++) {
    let v = unchecked(items[i]);
    if (v.kind == T_ARRAY) { let inner = changetype<ArrV>(v).items; for (let j = 0, m = inner.length; j < m; j++) out.push(unchecked(inner[j])); }
    else out.push(v);
  }
  return new ArrV(out);
}

export function arraySlice (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_ARRAY) return typeError("array.slice", 1, "array", a);
  let start = intArg("array.slice", args[1], 2);
  if (!intOk) return null;
  let stop = intArg("array.slice", args[2], 3);
  if (!intOk) return null;
  let items = changetype<ArrV>(a).items;
  let n = <i64>items.length;
  if (start < 0) start = 0;
  if (stop > n) stop = n;
  if (start >= stop) return newArrayCap(0);
  return new ArrV(items.slice(<i32>start, <i32>stop));
}

export function arrayReverse (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_ARRAY) return typeError("array.reverse", 1, "array", a);
  let items = changetype<ArrV>(a).items;
  let n = items.length;
  let out = new Array<Value>(n);
  for (let i = 0; i < n; i++) unchecked(out[i] = items[n - 1 - i]);
  return new ArrV(out);
}

// ---- objects ----------------------------------------------------------------------

export function objectGet (args: Array<Value>): Value | null {
  let o = args[0], key = args[1], dflt = args[2];
  if (o.kind != T_OBJECT) return typeError("object.get", 1, "object", o);
  if (key.kind != T_ARRAY) {
    let v = changetype<ObjV>(o).get(key);
    return v !== null ? v : dflt;
  }
  let path = changetype<ArrV>(key).items;
  let cur: Value = o;
  for (let i = 0, n = path.length; i < n; i++) {
    let k = unchecked(path[i]);
    let next: Value | null = null;
    if (cur.kind == T_OBJECT) next = changetype<ObjV>(cur).get(k);
    else if (cur.kind == T_ARRAY && k.kind == T_NUMBER) {
      let idx = numToI64(k);
      let items = changetype<ArrV>(cur).items;
      if (i64Ok && idx >= 0 && idx < <i64>items.length) next = unchecked(items[<i32>idx]);
    } else if (cur.kind == T_SET) {
      if (changetype<SetV>(cur).has(k)) next = k;
    }
    if (next === null) return dflt;
    cur = next;
  }
  return cur;
}

export function objectKeys (args: Array<Value>): Value | null {
  let o = args[0];
  if (o.kind != T_OBJECT) return typeError("object.keys", 1, "object", o);
  return new SetV(changetype<ObjV>(o).keys.slice(0));
}

/** Keys given as an array, set or object (its keys), as a sorted set; null on type error. */
function keySet (name: string, v: Value, operand: i32): SetV | null {
  switch (v.kind) {
    case T_SET: return changetype<SetV>(v);
    case T_OBJECT: return new SetV(changetype<ObjV>(v).keys);
    case T_ARRAY: {
      let s = newSet();
      let items = changetype<ArrV>(v).items;
      for (let i = 0, n = items.length; i < n; i++) s.add(unchecked(items[i]));
      return s;
    }
  }
  typeError(name, operand, "one of {object, set, array}", v);
  return null;
}

export function objectRemove (args: Array<Value>): Value | null {
  let o = args[0];
  if (o.kind != T_OBJECT) return typeError("object.remove", 1, "object", o);
  let ks = keySet("object.remove", args[1], 2);
  if (ks === null) return null;
  let obj = changetype<ObjV>(o);
  let keys = new Array<Value>(), vals = new Array<Value>();
  for (let i = 0, n = obj.keys.length; i < n; i++) {
    let k = unchecked(obj.keys[i]);
    if (!ks.has(k)) { keys.push(k); vals.push(unchecked(obj.vals[i])); }
  }
  return new ObjV(keys, vals);
}

export function objectFilter (args: Array<Value>): Value | null {
  let o = args[0];
  if (o.kind != T_OBJECT) return typeError("object.filter", 1, "object", o);
  let ks = keySet("object.filter", args[1], 2);
  if (ks === null) return null;
  let obj = changetype<ObjV>(o);
  let keys = new Array<Value>(), vals = new Array<Value>();
  for (let i = 0, n = obj.keys.length; i < n; i++) {
    let k = unchecked(obj.keys[i]);
    if (ks.has(k)) { keys.push(k); vals.push(unchecked(obj.vals[i])); }
  }
  return new ObjV(keys, vals);
}

/** Recursive merge: b's values win; objects on both sides merge. */
export function mergeObjects (a: ObjV, b: ObjV): ObjV {
  let out = new ObjV(a.keys.slice(0), a.vals.slice(0));
  for (let i = 0, n = b.keys.length; i < n; i++) {
    let k = unchecked(b.keys[i]);
    let bv = unchecked(b.vals[i]);
    let av = a.get(k);
    if (av !== null && av.kind == T_OBJECT && bv.kind == T_OBJECT) out.set(k, mergeObjects(changetype<ObjV>(av), changetype<ObjV>(bv)));
    else out.set(k, bv);
  }
  return out;
}

export function objectUnion (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (a.kind != T_OBJECT) return typeError("object.union", 1, "object", a);
  if (b.kind != T_OBJECT) return typeError("object.union", 2, "object", b);
  return mergeObjects(changetype<ObjV>(a), changetype<ObjV>(b));
}

// ---- object.subset ------------------------------------------------------------------
// As OPA's topdown/subset.go: objects: every key of sub is in super with an equal value, or
// both values objects (recursively), both sets or both arrays in the sense below; sets: every
// element of sub is in super; arrays: sub appears contiguously, in order, in super; an array
// super and a set sub: counting the array's elements that are in the set reaches the set's
// size (so duplicates count twice, and an empty array is never a superset, not even of the
// empty set: OPA's answers, kept). Sets stay sets here (over the JSON ABI they were arrays).

function objectSubsetOf (a: ObjV, b: ObjV): bool {
  for (let i = 0, n = b.keys.length; i < n; i++) {
    let v = a.get(unchecked(b.keys[i]));
    if (v === null) return false;
    let w = unchecked(b.vals[i]);
    if (equals(v, w)) continue;
    if (v.kind == T_OBJECT && w.kind == T_OBJECT) { if (!objectSubsetOf(changetype<ObjV>(v), changetype<ObjV>(w))) return false; }
    else if (v.kind == T_SET && w.kind == T_SET) { if (!setSubsetOf(changetype<SetV>(v), changetype<SetV>(w))) return false; }
    else if (v.kind == T_ARRAY && w.kind == T_ARRAY) { if (!arraySubsetOf(changetype<ArrV>(v), changetype<ArrV>(w))) return false; }
    else return false;
  }
  return true;
}

function setSubsetOf (a: SetV, b: SetV): bool {
  let items = b.items;
  for (let i = 0, n = items.length; i < n; i++) if (!a.has(unchecked(items[i]))) return false;
  return true;
}

function arraySubsetOf (sup: ArrV, sub: ArrV): bool {
  let a = sup.items, b = sub.items;
  let n = a.length, m = b.length;
  if (m == 0) return true;
  for (let i = 0; i + m <= n; i++) {
    let j = 0;
    while (j < m && equals(unchecked(a[i + j]), unchecked(b[j]))) j++;
    if (j == m) return true;
  }
  return false;
}

function arraySetSubsetOf (sup: ArrV, sub: SetV): bool {
  let a = sup.items;
  let unmatched = sub.items.length;
  for (let i = 0, n = a.length; i < n; i++) {
    if (sub.has(unchecked(a[i]))) unmatched--;
    if (unmatched == 0) return true;
  }
  return false;
}

function subsetOf (sup: Value, sub: Value): bool {
  if (sup.kind == T_OBJECT) return objectSubsetOf(changetype<ObjV>(sup), changetype<ObjV>(sub));
  if (sup.kind == T_SET) return setSubsetOf(changetype<SetV>(sup), changetype<SetV>(sub));
  if (sub.kind == T_SET) return arraySetSubsetOf(changetype<ArrV>(sup), changetype<SetV>(sub));
  return arraySubsetOf(changetype<ArrV>(sup), changetype<ArrV>(sub));
}

const isCollection = (v: Value): bool => v.kind == T_OBJECT || v.kind == T_SET || v.kind == T_ARRAY;

export function objectSubset (args: Array<Value>): Value | null {
  let sup = args[0], sub = args[1];
  if (!isCollection(sup)) return typeError("object.subset", 1, "one of {object, set, array}", sup);
  if (!isCollection(sub)) return typeError("object.subset", 2, "one of {object, set, array}", sub);
  if (sup.kind != sub.kind && !(sup.kind == T_ARRAY && sub.kind == T_SET)) {
    return typeErrorMsg("object.subset", "both arguments must be of the same type or array and set");
  }
  return mkBool(subsetOf(sup, sub));
}

// ---- membership and casts ---------------------------------------------------------

/** `x in coll` */
export function member2 (args: Array<Value>): Value | null {
  let x = args[0], c = args[1];
  switch (c.kind) {
    case T_SET: return mkBool(changetype<SetV>(c).has(x));
    case T_ARRAY: {
      let items = changetype<ArrV>(c).items;
      for (let i = 0, n = items.length; i < n; i++) if (equals(unchecked(items[i]), x)) return mkBool(true);
      return mkBool(false);
    }
    case T_OBJECT: {
      let vals = changetype<ObjV>(c).vals;
      for (let i = 0, n = vals.length; i < n; i++) if (equals(unchecked(vals[i]), x)) return mkBool(true);
      return mkBool(false);
    }
  }
  return mkBool(false);
}

/** `k, v in coll` */
export function member3 (args: Array<Value>): Value | null {
  let k = args[0], v = args[1], c = args[2];
  switch (c.kind) {
    case T_OBJECT: {
      let got = changetype<ObjV>(c).get(k);
      return mkBool(got !== null && equals(got, v));
    }
    case T_ARRAY: {
      if (k.kind != T_NUMBER) return mkBool(false);
      let i = numToI64(k);
      let items = changetype<ArrV>(c).items;
      if (!i64Ok || i < 0 || i >= <i64>items.length) return mkBool(false);
      return mkBool(equals(unchecked(items[<i32>i]), v));
    }
    case T_SET: return mkBool(equals(k, v) && changetype<SetV>(c).has(k));
  }
  return mkBool(false);
}

export function objectUnionN (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind != T_ARRAY) return typeError("object.union_n", 1, "array", a);
  let xs = changetype<ArrV>(a).items;
  let acc = new ObjV(new Array<Value>(), new Array<Value>());
  for (let i = 0, n = xs.length; i < n; i++) {
    let x = unchecked(xs[i]);
    if (x.kind != T_OBJECT) return elementError("object.union_n", 1, a, "object", x);
    acc = mergeObjects(acc, changetype<ObjV>(x));
  }
  return acc;
}

/** set_diff (deprecated since OPA v0.4.2, still in v0 policies): `a - b` for sets only. */
export function setDiff (args: Array<Value>): Value | null {
  let a = args[0], b = args[1];
  if (a.kind != T_SET) return typeError("set_diff", 1, "set", a);
  if (b.kind != T_SET) return typeError("set_diff", 2, "set", b);
  return setMinus(a, b);
}

export function castSet (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind == T_SET) return a;
  if (a.kind == T_ARRAY) return setFromItems(changetype<ArrV>(a).items);
  return typeError("cast_set", 1, "one of {array, set}", a);
}

export function castArray (args: Array<Value>): Value | null {
  let a = args[0];
  if (a.kind == T_ARRAY) return a;
  if (a.kind == T_SET) return new ArrV(changetype<SetV>(a).items.slice(0));
  return typeError("cast_array", 1, "one of {array, set}", a);
}

// ---- walk ---------------------------------------------------------------------------

/**
 * walk(x): every [path, value] pair of x, in OPA's order (pre-order: the value itself with
 * the path [] first, then each element: arrays by index, objects and sets in sorted order;
 * a set element's path key is the element). walk is a relation in Rego: the planner iterates
 * over this array and unifies each pair with the call's output argument.
 */
export function walk (args: Array<Value>): Value | null {
  let out = new Array<Value>();
  walkInto(args[0], new Array<Value>(), out);
  return new ArrV(out);
}

function walkInto (v: Value, path: Array<Value>, out: Array<Value>): void {
  let pair = new Array<Value>(2);
  unchecked(pair[0] = new ArrV(path.slice(0)));
  unchecked(pair[1] = v);
  out.push(new ArrV(pair));
  switch (v.kind) {
    case T_ARRAY: {
      let items = changetype<ArrV>(v).items;
      for (let i = 0; i < items.length; i++) {
        path.push(mkInt(<i64>i));
        walkInto(unchecked(items[i]), path, out);
        path.pop();
      }
      break;
    }
    case T_OBJECT: {
      let o = changetype<ObjV>(v);
      for (let i = 0; i < o.keys.length; i++) {
        path.push(unchecked(o.keys[i]));
        walkInto(unchecked(o.vals[i]), path, out);
        path.pop();
      }
      break;
    }
    case T_SET: {
      let items = changetype<SetV>(v).items;
      for (let i = 0; i < items.length; i++) {
        let e = unchecked(items[i]);
        path.push(e);
        walkInto(e, path, out);
        path.pop();
      }
      break;
    }
  }
}
