// The plan interpreter. The planner (src/compiler/planner) has resolved names, ordered
// expressions and decided which variables are bound where, so evaluation is a walk over
// flat instruction lists. Backtracking comes only from SCAN (iteration); the rest of a body
// after a scan is run once per element through an explicit continuation object (AS has no
// closures), which is also how `with` scopes and rule heads receive each solution.
//
// Contract with the ABI layer (do not change signatures):
//   planInit(plan), entrypointsValue(), builtinsValue(), evalEntrypoint(ep, data, input)
//
// Every evaluation counts its steps against the budget (../budget): one per instruction
// executed, one per element a SCAN visits, one per element of a builtin's collection result.
import {
  Value, BoolV, ArrV, ObjV, SetV, StrV,
  T_BOOL, T_ARRAY, T_OBJECT, T_SET, T_NUMBER, T_STRING,
  mkInt, mkStr, newArray, newObject, newPathObject, newSet, equals, compare, emptyValues, numToI64, i64Ok, setFromItems,
} from '../value'
import { abortWith, callHost, setFloatBuiltinId } from '../abi-host'
import { nativeBuiltinId, callNative } from '../builtins/index'
import { setStrictBuiltinErrors } from '../builtins/errors'
import { chargeSteps as tick, startEvaluation } from '../budget'
import { internInit } from '../intern'

// ---- opcodes: generated from src/compiler/planner/opcodes.ts (scripts/build-runtime.mjs) ----
import {
  OP_ASSIGN as ASSIGN, OP_EQ as EQ, OP_DOT as DOT, OP_SCAN as SCAN, OP_INPUT as INPUT, OP_DATA as DATA,
  OP_CALLRULE as CALLRULE, OP_CALLFN as CALLFN, OP_CALLB as CALLB, OP_NOTFALSE as NOTFALSE, OP_NOT as NOT,
  OP_MAKEARR as MAKEARR, OP_MAKESET as MAKESET, OP_MAKEOBJ as MAKEOBJ, OP_COMPR as COMPR, OP_WITH as WITH,
  OP_ISARR as ISARR, OP_ISOBJ as ISOBJ, OP_DOC as DOC, OP_ISCOLL as ISCOLL, OP_DOCKEY as DOCKEY, OP_SCANDOC as SCANDOC, OP_NOTALL as NOTALL,
  FUNC_COMPLETE as K_COMPLETE, FUNC_SET as K_SET, FUNC_OBJECT as K_OBJECT, FUNC_FUNCTION as K_FUNCTION,
  WITH_INPUT as W_INPUT, WITH_DATA as W_DATA, WITH_FUNC as W_FUNC, WITH_BUILTIN as W_BUILTIN,
} from "./opcodes.generated"

// ---- decoded plan ----

class WithSpec {
  kind: i32 = 0
  target: i32 = 0
  value: i32 = 0 // operand (INPUT/DATA) or replacement payload
  replKind: i32 = -1 // FUNC/BUILTIN: 0 func, 1 builtin, 2 value operand
}

class Instr {
  op: i32 = 0
  a: i32 = 0
  b: i32 = 0
  c: i32 = 0
  d: i32 = 0
  list1: Array<i32> = new Array<i32>()
  list2: Array<i32> = new Array<i32>()
  block: Array<Instr> = new Array<Instr>()
  withs: Array<WithSpec> = new Array<WithSpec>()
}

class Rule {
  body: Array<Instr> = new Array<Instr>()
  key: Array<i32> = new Array<i32>()
  value: i32 = -1
  multi: bool = false
  els: Rule | null = null
  loc: string = ''
}

class Func {
  name: string = ''
  kind: i32 = 0
  nargs: i32 = 0
  nlocals: i32 = 0
  rules: Array<Rule> = new Array<Rule>()
  def: i32 = 0
  defRule: Rule | null = null
  path: Array<Value> = new Array<Value>()
  /** OPA's early exit (the planner's earlyExit): stop at the first solution */
  ee: bool = false
}

class Node {
  path: Array<Value> = new Array<Value>()
  childKeys: Array<Value> = new Array<Value>()
  childIds: Array<i32> = new Array<i32>()
  func: i32 = -1
  isFunction: bool = false
  isPackage: bool = false
}

let consts: Array<Value> = new Array<Value>()
let funcs: Array<Func> = new Array<Func>()
let nodes: Array<Node> = new Array<Node>()
let epFuncs: Array<i32> = new Array<i32>()
let epValue: ObjV = newObject()
let builtinsMap: ObjV = newObject()
let bIsHost: Array<bool> = new Array<bool>()
let bNative: Array<i32> = new Array<i32>()
/** index of net.cidr_contains_matches among the plan's builtins (host-implemented), or -1 */
let bCidrMatches: i32 = -1
/** per builtin: a host builtin whose result is a set (the host returns it as a JSON array) */
let bSetResult: Array<bool> = new Array<bool>()

/**
 * net.cidr_contains_matches names each match by its key in the operands: an array index, an
 * object key, or for a set the element itself. Host builtins receive sets as JSON arrays (in
 * sorted order), so the host names a set's elements by their index: put the elements back.
 */
function setKeysOfMatches (r: Value, args: Array<Value>): Value {
  if (r.kind != T_SET || (args[0].kind != T_SET && args[1].kind != T_SET)) return r
  const tuples = changetype<SetV>(r).items
  const out = new Array<Value>(tuples.length)
  for (let i = 0; i < tuples.length; i++) {
    const t = tuples[i]
    if (t.kind != T_ARRAY || changetype<ArrV>(t).items.length != 2) return r
    const pair = changetype<ArrV>(t).items.slice(0)
    for (let j = 0; j < 2; j++) {
      if (args[j].kind != T_SET) continue
      const elems = changetype<SetV>(args[j]).items
      const k = pair[j]
      if (k.kind != T_NUMBER) return r
      const at = numToI64(k)
      if (!i64Ok || at < 0 || at >= <i64>elems.length) return r
      pair[j] = elems[<i32>at]
    }
    out[i] = new ArrV(pair)
  }
  return setFromItems(out)
}

function field (o: Value, name: string): Value {
  if (o.kind != T_OBJECT) abortWith('bouncer plan: expected object for ' + name)
  const v = changetype<ObjV>(o).getStr(name)
  if (v === null) { abortWith('bouncer plan: missing field ' + name); return o }
  return v
}
function arr (v: Value): Array<Value> {
  if (v.kind != T_ARRAY) abortWith('bouncer plan: expected array')
  return changetype<ArrV>(v).items
}
function int (v: Value): i32 { return <i32>numToI64(v) }
function str (v: Value): string {
  if (v.kind != T_STRING) abortWith('bouncer plan: expected string')
  return changetype<StrV>(v).s
}
function ints (v: Value): Array<i32> {
  const items = arr(v)
  const out = new Array<i32>(items.length)
  for (let i = 0; i < items.length; i++) out[i] = int(items[i])
  return out
}

function decodeBlock (v: Value): Array<Instr> {
  const items = arr(v)
  const out = new Array<Instr>(items.length)
  for (let i = 0; i < items.length; i++) out[i] = decodeInstr(arr(items[i]))
  return out
}

// Local slots an instruction writes are checked here, once, against the frame size of the
// function being decoded, so that the interpreter can write frames without bounds checks.
let decodeLocals: i32 = 0

function checkSlot (n: i32): void {
  if (n < 0 || n >= decodeLocals) abortWith('bouncer plan: local slot ' + n.toString() + ' out of range (' + decodeLocals.toString() + ' locals)')
}

function decodeInstr (x: Array<Value>): Instr {
  const ins = new Instr()
  const op = int(x[0])
  ins.op = op
  switch (op) {
    case ASSIGN: case EQ: case INPUT: case DATA: case CALLRULE: case NOTFALSE: case ISARR: case ISOBJ: case DOC: case ISCOLL:
    case DOT: case SCAN: case DOCKEY: case SCANDOC:
      if (x.length > 1) ins.a = int(x[1])
      if (x.length > 2) ins.b = int(x[2])
      if (x.length > 3) ins.c = int(x[3])
      break
    case CALLFN: case CALLB:
      ins.a = int(x[1]); ins.b = int(x[2]); ins.list1 = ints(x[3])
      break
    case NOT: case NOTALL:
      ins.block = decodeBlock(x[1])
      break
    case MAKEARR: case MAKESET:
      ins.a = int(x[1]); ins.list1 = ints(x[2])
      break
    case MAKEOBJ:
      ins.a = int(x[1]); ins.list1 = ints(x[2]); ins.list2 = ints(x[3])
      break
    case COMPR:
      ins.a = int(x[1]); ins.b = int(x[2]); ins.block = decodeBlock(x[3]); ins.c = int(x[4]); ins.d = int(x[5])
      break
    case WITH: {
      const ws = arr(x[1])
      for (let i = 0; i < ws.length; i++) {
        const w = arr(ws[i])
        const spec = new WithSpec()
        spec.kind = int(w[0])
        spec.target = int(w[1])
        if (spec.kind == W_FUNC || spec.kind == W_BUILTIN) {
          const r = arr(w[2])
          spec.replKind = int(r[0])
          spec.value = int(r[1])
        } else {
          spec.value = int(w[2])
        }
        ins.withs.push(spec)
      }
      ins.block = decodeBlock(x[2])
      break
    }
    default:
      abortWith('bouncer plan: unknown opcode ' + op.toString())
  }
  switch (op) {
    case ASSIGN: case DOT: case INPUT: case DATA: case CALLRULE: case CALLFN: case CALLB:
    case MAKEARR: case MAKESET: case MAKEOBJ: case DOC: case DOCKEY:
      checkSlot(ins.a)
      break
    case COMPR:
      checkSlot(ins.b)
      break
    case SCAN: case SCANDOC:
      if (ins.b >= 0) checkSlot(ins.b)
      if (ins.c >= 0) checkSlot(ins.c)
      break
  }
  return ins
}

function decodeRule (v: Value): Rule {
  const r = new Rule()
  r.body = decodeBlock(field(v, 'body'))
  r.key = ints(field(v, 'key'))
  r.value = int(field(v, 'value'))
  r.multi = changetype<BoolV>(field(v, 'multi')).b
  const e = field(v, 'else')
  if (e.kind == T_OBJECT) r.els = decodeRule(e)
  r.loc = str(field(v, 'loc'))
  return r
}

export function planInit (plan: Value | null): void {
  consts = new Array<Value>()
  funcs = new Array<Func>()
  nodes = new Array<Node>()
  epFuncs = new Array<i32>()
  epValue = newObject()
  builtinsMap = newObject()
  if (plan === null) return
  setStrictBuiltinErrors(changetype<BoolV>(field(plan, 'strict')).b)
  consts = arr(field(plan, 'consts'))
  const strings = new Array<string>()
  for (let i = 0; i < consts.length; i++) collectStrings(consts[i], strings)
  internInit(strings)
  const fs = arr(field(plan, 'funcs'))
  for (let i = 0; i < fs.length; i++) {
    const fv = fs[i]
    const f = new Func()
    f.name = str(field(fv, 'name'))
    f.kind = int(field(fv, 'kind'))
    f.nargs = int(field(fv, 'nargs'))
    f.nlocals = int(field(fv, 'nlocals'))
    decodeLocals = f.nlocals
    const rs = arr(field(fv, 'rules'))
    for (let j = 0; j < rs.length; j++) f.rules.push(decodeRule(rs[j]))
    f.def = int(field(fv, 'default'))
    const dr = field(fv, 'defaultRule')
    if (dr.kind == T_OBJECT) f.defRule = decodeRule(dr)
    const ee = changetype<ObjV>(fv).getStr('earlyExit')
    f.ee = ee !== null && ee.kind == T_BOOL && changetype<BoolV>(ee).b
    funcs.push(f)
  }
  const ns = arr(field(plan, 'nodes'))
  for (let i = 0; i < ns.length; i++) {
    const nv = ns[i]
    const n = new Node()
    n.path = arr(field(nv, 'path'))
    const ch = changetype<ObjV>(field(nv, 'children'))
    for (let j = 0; j < ch.keys.length; j++) {
      n.childKeys.push(ch.keys[j])
      n.childIds.push(int(ch.vals[j]))
    }
    n.func = int(field(nv, 'func'))
    if (n.func >= 0) funcs[n.func].path = n.path
    else if (n.func == -2) n.isFunction = true
    else if (n.func == -3) n.isPackage = true
    nodes.push(n)
  }
  const eps = arr(field(plan, 'entrypoints'))
  for (let i = 0; i < eps.length; i++) {
    const e = arr(eps[i])
    epValue.set(e[0], mkInt(i))
    epFuncs.push(int(e[1]))
  }
  const bs = arr(field(plan, 'builtins'))
  const host = ints(field(plan, 'host'))
  bIsHost = new Array<bool>(bs.length)
  bNative = new Array<i32>(bs.length)
  bSetResult = new Array<bool>(bs.length)
  bCidrMatches = -1
  setFloatBuiltinId(-1)
  if (plan.kind == T_OBJECT && changetype<ObjV>(plan).getStr('hostSets') !== null) {
    const sets = ints(field(plan, 'hostSets'))
    for (let i = 0; i < sets.length; i++) bSetResult[sets[i]] = true
  }
  for (let i = 0; i < host.length; i++) {
    bIsHost[host[i]] = true
    builtinsMap.set(bs[host[i]], mkInt(host[i]))
  }
  for (let i = 0; i < bs.length; i++) {
    if (bIsHost[i] && str(bs[i]) == 'net.cidr_contains_matches') bCidrMatches = i
    if (bIsHost[i] && str(bs[i]) == 'bouncer.internal.float') setFloatBuiltinId(i)
    if (bIsHost[i]) { bNative[i] = -1; continue }
    const id = nativeBuiltinId(str(bs[i]))
    if (id < 0) abortWith('rego_type_error: builtin ' + str(bs[i]) + ' is not implemented by this runtime')
    bNative[i] = id
  }
}

/** The strings in `v` (keys and elements included), for the intern table (../intern). */
function collectStrings (v: Value, out: Array<string>): void {
  switch (v.kind) {
    case T_STRING: out.push(changetype<StrV>(v).s); break
    case T_ARRAY: {
      const items = changetype<ArrV>(v).items
      for (let i = 0; i < items.length; i++) collectStrings(items[i], out)
      break
    }
    case T_SET: {
      const items = changetype<SetV>(v).items
      for (let i = 0; i < items.length; i++) collectStrings(items[i], out)
      break
    }
    case T_OBJECT: {
      const o = changetype<ObjV>(v)
      for (let i = 0; i < o.keys.length; i++) { collectStrings(o.keys[i], out); collectStrings(o.vals[i], out) }
      break
    }
  }
}

export function entrypointsValue (): Value { return epValue }
export function builtinsValue (): Value { return builtinsMap }

// ---- evaluation state ----

class DataOverride {
  constructor (public path: Array<Value>, public value: Value) {}
}

class Repl {
  kind: i32 = 0 // 0 func, 1 builtin, 2 value
  id: i32 = 0
  value: Value | null = null
}

// Evaluation allocates on a bump heap that is not zeroed between evaluations. Arrays that must
// start zeroed are cleared with stores here: for the small sizes an evaluation needs that is
// cheaper than memory.fill, which V8 runs as a call out of Wasm (AssemblyScript's Array and
// StaticArray constructors use it). Arrays that are filled right away are not cleared at all.

// @ts-ignore: decorator
@inline function zeroBytes (p: usize, size: usize): void {
  const end = p + size
  while (p + 8 <= end) { store<u64>(p, 0); p += 8 }
  while (p < end) { store<u8>(p, 0); p++ }
}

/** An array of `n` elements, all null / false / 0. */
function zeroedArray<T> (n: i32): Array<T> {
  const a = changetype<Array<T>>(__newArray(n, alignof<T>(), idof<Array<T>>()))
  zeroBytes(a.dataStart, <usize>n << alignof<T>())
  return a
}

/** An array of `n` elements the caller sets before reading any. */
// @ts-ignore: decorator
@inline function filledLater<T> (n: i32): Array<T> {
  return changetype<Array<T>>(__newArray(n, alignof<T>(), idof<Array<T>>()))
}

/** A frame of `n` local slots, all null. */
function newFrame (n: i32): StaticArray<Value | null> {
  const size = <usize>n << alignof<usize>()
  const f = changetype<StaticArray<Value | null>>(__new(size, idof<StaticArray<Value | null>>()))
  zeroBytes(changetype<usize>(f), size)
  return f
}

// Shared empty arrays (allocated at start, below the heap base, never mutated): a state
// without overrides points at these; execWith copies before it adds anything.
const NO_DATA_OV: Array<DataOverride> = new Array<DataOverride>()
const NO_REPL: Array<Repl | null> = new Array<Repl | null>()

class State {
  input: Value | null = null
  dataOv: Array<DataOverride> = NO_DATA_OV
  /** per func id, when hasFuncOv (else empty) */
  funcOv: Array<Repl | null> = NO_REPL
  /** per builtin index, when hasBuiltinOv (else empty) */
  builtinOv: Array<Repl | null> = NO_REPL
  hasFuncOv: bool = false
  hasBuiltinOv: bool = false
  memo: Array<Value | null> = changetype<Array<Value | null>>(0)
  memoDone: Array<bool> = changetype<Array<bool>>(0)
}

let st: State = new State()
let gData: Value = newObject()

function freshMemo (s: State): void {
  const n = funcs.length
  s.memo = zeroedArray<Value | null>(n)
  s.memoDone = zeroedArray<bool>(n)
}

export function evalEntrypoint (ep: i32, data: Value, input: Value | null): Value | null {
  if (ep < 0 || ep >= epFuncs.length) {
    abortWith('invalid entrypoint id ' + ep.toString())
    return null
  }
  const s = new State()
  s.input = input
  freshMemo(s)
  st = s
  gData = data
  startEvaluation()
  return evalRule(epFuncs[ep])
}

// ---- continuations ----

abstract class Cont {
  abstract run (): bool
}

/** A negation's continuation: notes a solution; `all` goes on to the next one (NOTALL). */
class StopCont extends Cont {
  found: bool = false
  constructor (public all: bool) { super() }
  run (): bool { this.found = true; return !this.all }
}

class SeqCont extends Cont {
  constructor (public instrs: Array<Instr>, public i: i32, public frame: StaticArray<Value | null>, public next: Cont) { super() }
  run (): bool { return execBlock(this.instrs, this.i, this.frame, this.next) }
}

class ComprCont extends Cont {
  arr: ArrV = newArray()
  set: SetV = newSet()
  obj: ObjV = newObject()
  constructor (public kind: i32, public key: i32, public val: i32, public frame: StaticArray<Value | null>) { super() }
  run (): bool {
    const v = get(this.frame, this.val)
    if (this.kind == 0) this.arr.items.push(v)
    else if (this.kind == 1) this.set.add(v)
    else {
      const k = get(this.frame, this.key)
      const prev = this.obj.get(k)
      if (prev !== null && !equals(prev, v)) abortWith('eval_conflict_error: object keys must be unique')
      this.obj.set(k, v)
    }
    return false
  }
}

class ValueCont extends Cont {
  found: bool = false
  value: Value | null = null
  /** `stop`: early exit — the first solution ends the body's evaluation */
  constructor (public op: i32, public frame: StaticArray<Value | null>, public fn: Func, public stop: bool) { super() }
  run (): bool {
    const v = get(this.frame, this.op)
    const prev = this.value
    if (prev !== null) {
      if (!equals(prev, v)) conflict(this.fn)
      return false
    }
    this.found = true
    this.value = v
    return this.stop
  }
}

class SetRuleCont extends Cont {
  constructor (public set: SetV, public op: i32, public frame: StaticArray<Value | null>) { super() }
  run (): bool { this.set.add(get(this.frame, this.op)); return false }
}

class ObjRuleCont extends Cont {
  constructor (public obj: ObjV, public rule: Rule, public frame: StaticArray<Value | null>) { super() }
  run (): bool {
    const keys = this.rule.key
    let cur = this.obj
    const n = keys.length
    for (let j = 0; j < n - 1; j++) {
      const k = get(this.frame, keys[j])
      const child = cur.get(k)
      if (child === null) {
        const o = newPathObject()
        cur.set(k, o)
        cur = o
      } else if (child.kind == T_OBJECT && changetype<ObjV>(child).path) {
        cur = changetype<ObjV>(child)
      } else {
        // a rule's value is there (an object included): OPA does not add to it
        abortWith('eval_conflict_error: object keys must be unique')
      }
    }
    const last = get(this.frame, keys[n - 1])
    const v = get(this.frame, this.rule.value)
    const prev = cur.get(last)
    if (this.rule.multi) {
      if (prev === null) {
        const s = newSet()
        s.add(v)
        cur.set(last, s)
      } else if (prev.kind == T_SET) {
        changetype<SetV>(prev).add(v)
      } else {
        abortWith('eval_conflict_error: object keys must be unique')
      }
    } else if (prev === null) {
      cur.set(last, v)
    } else if (!equals(prev, v)) {
      abortWith('eval_conflict_error: object keys must be unique')
    }
    // An equal value is not stored again: the first one stays (OPA's reduce keeps it; equal
    // numbers may differ in their text, 403.0 and 403).
    return false
  }
}

class WithExitCont extends Cont {
  constructor (public outer: State, public instrs: Array<Instr>, public i: i32, public frame: StaticArray<Value | null>, public next: Cont) { super() }
  run (): bool {
    const inner = st
    st = this.outer
    const r = execBlock(this.instrs, this.i, this.frame, this.next)
    st = inner
    return r
  }
}

// ---- helpers ----

// @ts-ignore: decorator
@inline function get (frame: StaticArray<Value | null>, op: i32): Value {
  if (op >= 0) return changetype<Value>(unchecked(frame[op]))
  return unchecked(consts[-1 - op])
}

function index (coll: Value, key: Value): Value | null {
  switch (coll.kind) {
    case T_OBJECT: return changetype<ObjV>(coll).get(key)
    case T_ARRAY: {
      // OPA's Array.Get: an integer (Number.Int), so arr[1.0] is undefined as in OPA
      if (key.kind != T_NUMBER) return null
      const i = numToI64(key)
      const items = changetype<ArrV>(coll).items
      if (!i64Ok || i < 0 || i >= <i64>items.length) return null
      return items[<i32>i]
    }
    case T_SET: return changetype<SetV>(coll).has(key) ? key : null
  }
  return null
}

function walk (v: Value | null, path: Array<Value>, from: i32): Value | null {
  let cur = v
  for (let i = from; i < path.length; i++) {
    if (cur === null) return null
    cur = index(cur, path[i])
  }
  return cur
}

// No lazily-filled caches here: anything allocated during an evaluation is reclaimed by
// the next heap reset, so a global pointing at it would dangle.
function constPath (op: i32): Array<Value> {
  return arr(unchecked(consts[-1 - op]))
}

/** A `with` target's path: a constant, or built by the expression (`with input[x] as ...`). */
function withPath (frame: StaticArray<Value | null>, op: i32): Array<Value> {
  return arr(get(frame, op))
}

/** `value` with `v` placed at `path` (copies along the path; never mutates shared values). */
function upsert (value: Value | null, path: Array<Value>, from: i32, v: Value): Value {
  if (from >= path.length) return v
  const obj = newObject()
  if (value !== null && value.kind == T_OBJECT) {
    const src = changetype<ObjV>(value)
    for (let i = 0; i < src.keys.length; i++) { obj.keys.push(src.keys[i]); obj.vals.push(src.vals[i]) }
  }
  const k = path[from]
  obj.set(k, upsert(obj.get(k), path, from + 1, v))
  return obj
}

/** 0: unrelated, 1: override path is a prefix of (or equal to) path, 2: path is a strict prefix */
function relation (ov: Array<Value>, path: Array<Value>): i32 {
  const n = min(ov.length, path.length)
  for (let i = 0; i < n; i++) if (!equals(ov[i], path[i])) return 0
  return ov.length <= path.length ? 1 : 2
}

/** Apply data overrides to a document found at `path` (base or virtual). */
function applyDataOverrides (path: Array<Value>, v: Value | null): Value | null {
  const ovs = st.dataOv
  let cur = v
  for (let i = 0; i < ovs.length; i++) {
    const o = ovs[i]
    const rel = relation(o.path, path)
    if (rel == 1) cur = walk(o.value, path, o.path.length)
    else if (rel == 2) cur = upsert(cur, o.path, path.length, o.value)
  }
  return cur
}

function overriddenAt (path: Array<Value>): bool {
  const ovs = st.dataOv
  for (let i = 0; i < ovs.length; i++) if (relation(ovs[i].path, path) == 1) return true
  return false
}

/** Base data: an integer key on an object is read as its digits (OPA's storage: data[2] is data["2"]). */
function walkBase (v: Value | null, path: Array<Value>): Value | null {
  let cur = v
  for (let i = 0; i < path.length; i++) {
    if (cur === null) return null
    const k = path[i]
    let n: i64 = 0
    if (cur.kind == T_OBJECT && k.kind == T_NUMBER && (n = numToI64(k), i64Ok)) {
      cur = changetype<ObjV>(cur).getStr(n.toString())
    } else cur = index(cur, k)
  }
  return cur
}

function dataLookup (path: Array<Value>): Value | null {
  const v = walkBase(gData, path)
  if (st.dataOv.length == 0) return v
  return applyDataOverrides(path, v)
}

// ---- rules and functions ----

function evalRule (f: i32): Value | null {
  const s = st
  if (unchecked(s.memoDone[f])) return unchecked(s.memo[f])
  const fn = funcs[f]
  let v: Value | null
  if (s.dataOv.length > 0 && overriddenAt(fn.path)) {
    v = applyDataOverrides(fn.path, null)
  } else {
    v = computeFunc(fn, null)
    if (s.dataOv.length > 0) v = applyDataOverrides(fn.path, v)
  }
  // f is in range: funcs[f] above is checked, and both memos have one slot per func
  unchecked(s.memoDone[f] = true)
  unchecked(s.memo[f] = v)
  return v
}

function computeFunc (fn: Func, args: Array<Value> | null): Value | null {
  const frame = newFrame(fn.nlocals)
  if (args !== null) for (let i = 0; i < args.length; i++) frame[i] = args[i]
  const rules = fn.rules
  switch (fn.kind) {
    case K_SET: {
      const set = newSet()
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i]
        execBlock(r.body, 0, frame, new SetRuleCont(set, r.key[0], frame))
      }
      return set
    }
    case K_OBJECT: {
      const obj = newPathObject()
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i]
        execBlock(r.body, 0, frame, new ObjRuleCont(obj, r, frame))
      }
      return obj
    }
  }
  let result: Value | null = null
  // With early exit the first value is the value: later rules could only repeat it.
  const ee = fn.ee
  for (let i = 0; i < rules.length; i++) {
    const v = evalChain(rules[i], frame, fn, ee)
    if (v !== null) {
      // The first rule's value stays when a later one is equal (OPA keeps the first result;
      // equal numbers may differ in their text).
      if (result === null) result = v
      else if (!equals(result, v)) conflict(fn)
      if (ee) break
    }
  }
  if (result === null && fn.def != 0) result = get(frame, fn.def)
  if (result === null) {
    const dr = fn.defRule
    if (dr !== null) result = evalChain(dr, frame, fn, false)
  }
  return result
}

/** Two different values for one complete rule, or for one function call: OPA's messages. */
function conflict (fn: Func): void {
  if (fn.kind == K_FUNCTION) abortWith('eval_conflict_error: functions must not produce multiple outputs for same inputs')
  else abortWith('eval_conflict_error: complete rules must not produce multiple outputs')
}

function evalChain (r: Rule, frame: StaticArray<Value | null>, fn: Func, ee: bool): Value | null {
  let cur: Rule | null = r
  while (cur !== null) {
    const k = new ValueCont(cur.value, frame, fn, ee)
    execBlock(cur.body, 0, frame, k)
    if (k.found) return k.value
    cur = cur.els
  }
  return null
}

function callFunc (f: i32, args: Array<Value>): Value | null {
  const s = st
  if (s.hasFuncOv) {
    const r = s.funcOv[f]
    if (r !== null) {
      return callUnmocked(s, r, args)
    }
  }
  return computeFunc(funcs[f], args)
}

/**
 * A replacement runs with no function or builtin replaced (as OPA, which gives a mock's call an
 * empty frame of mocks): the mocked function means the original again, and another `with`'s
 * mock does not reach into it ("mock will not call other mock"); a `with` inside it starts
 * afresh. input and data replacements stay in force.
 */
function callUnmocked (s: State, r: Repl, args: Array<Value>): Value | null {
  const inner = new State()
  inner.input = s.input
  inner.dataOv = s.dataOv
  freshMemo(inner)
  st = inner
  const v = callRepl(r, args)
  st = s
  return v
}

function callRepl (r: Repl, args: Array<Value>): Value | null {
  if (r.kind == 0) return computeFunc(funcs[r.id], args)
  if (r.kind == 1) return callBuiltinDirect(r.id, args)
  return r.value
}

function callBuiltin (b: i32, args: Array<Value>): Value | null {
  const s = st
  if (s.hasBuiltinOv) {
    const r = s.builtinOv[b]
    if (r !== null) {
      return callUnmocked(s, r, args)
    }
  }
  return callBuiltinDirect(b, args)
}

function callBuiltinDirect (b: i32, args: Array<Value>): Value | null {
  let r = unchecked(bIsHost[b]) ? callHost(b, args) : callNative(unchecked(bNative[b]), args)
  if (r !== null && unchecked(bSetResult[b]) && r.kind == T_ARRAY) r = setFromItems(changetype<ArrV>(r).items)
  if (b == bCidrMatches && r !== null) r = setKeysOfMatches(r, args)
  if (r !== null) {
    switch (r.kind) {
      case T_ARRAY: tick(<i64>changetype<ArrV>(r).items.length); break
      case T_SET: tick(<i64>changetype<SetV>(r).items.length); break
      case T_OBJECT: tick(<i64>changetype<ObjV>(r).keys.length); break
    }
  }
  return r
}

/**
 * materialize(nodeId)[key], built from only what can give that key: the base document's
 * value, the node's own rules' value at the key, and the child node named by it (merged as
 * materialize merges them). Conflicts between other keys' rules are not looked at, as OPA
 * evaluates only the rules a reference can reach. Null when the key is undefined.
 */
function materializeKey (nodeId: i32, key: Value): Value | null {
  const n = nodes[nodeId]
  const s = st
  if (s.dataOv.length > 0) return lookupKey(materialize(nodeId), key)
  const base = walk(gData, n.path, 0)
  let v: Value | null = base !== null && base.kind == T_OBJECT ? changetype<ObjV>(base).get(key) : null
  if (n.func >= 0) {
    const gv = evalRule(n.func)
    if (gv !== null && gv.kind == T_OBJECT) {
      const own = changetype<ObjV>(gv).get(key)
      if (own !== null) v = own
    }
  }
  for (let i = 0; i < n.childIds.length; i++) {
    if (!equals(n.childKeys[i], key)) continue
    const c = nodes[n.childIds[i]]
    if (c.isFunction) break
    let cv: Value | null = null
    if (c.func >= 0 && c.childIds.length == 0) cv = evalRule(c.func)
    else if (c.func >= 0 || c.isPackage || hasRulesBelow(c)) cv = materialize(n.childIds[i])
    if (cv === null) break
    if (c.childIds.length == 0 && base !== null && base.kind == T_OBJECT && changetype<ObjV>(base).has(key)) break
    if (v !== null && n.func >= 0) {
      const merged = mergeDocs(v, cv)
      if (merged === null) abortWith('eval_conflict_error: object keys must be unique')
      v = merged
    } else v = cv
    break
  }
  return v
}

function lookupKey (doc: Value, key: Value): Value | null {
  return doc.kind == T_OBJECT ? changetype<ObjV>(doc).get(key) : null
}

function materialize (nodeId: i32): Value {
  const n = nodes[nodeId]
  const s = st
  if (s.dataOv.length > 0 && overriddenAt(n.path)) {
    const v = applyDataOverrides(n.path, null)
    return v === null ? newPathObject() : v
  }
  const obj = newPathObject()
  const base = walk(gData, n.path, 0)
  if (base !== null && base.kind == T_OBJECT) {
    const b = changetype<ObjV>(base)
    for (let i = 0; i < b.keys.length; i++) { obj.keys.push(b.keys[i]); obj.vals.push(b.vals[i]) }
  }
  if (n.func >= 0) {
    const gv = evalRule(n.func)
    if (gv !== null && gv.kind == T_OBJECT) {
      const g = changetype<ObjV>(gv)
      for (let i = 0; i < g.keys.length; i++) obj.set(g.keys[i], g.vals[i])
    }
  }
  for (let i = 0; i < n.childIds.length; i++) {
    const c = nodes[n.childIds[i]]
    if (c.isFunction) continue
    let cv: Value | null = null
    if (c.func >= 0 && c.childIds.length == 0) cv = evalRule(c.func)
    else if (c.func >= 0 || c.isPackage || hasRulesBelow(c)) cv = materialize(n.childIds[i])
    else continue
    if (cv !== null) {
      const key = n.childKeys[i]
      // base documents take precedence over virtual ones at the same path (OPA's behaviour)
      // (packages below merge with the base document themselves)
      if (c.childIds.length == 0 && base !== null && base.kind == T_OBJECT && changetype<ObjV>(base).has(key)) continue
      const prev = obj.get(key)
      if (prev !== null && n.func >= 0) {
        // a key produced both by a ref-head rule above and by rules below: merge or conflict
        const merged = mergeDocs(prev, cv)
        if (merged === null) abortWith('eval_conflict_error: object keys must be unique')
        else obj.set(key, merged)
      } else obj.set(key, cv)
    }
  }
  if (s.dataOv.length > 0) {
    const v = applyDataOverrides(n.path, obj)
    return v === null ? newPathObject() : v
  }
  return obj
}

/** Packages exist as objects, even when empty, and so do the paths to rules (functions included). */
function hasRulesBelow (n: Node): bool {
  for (let i = 0; i < n.childIds.length; i++) {
    const c = nodes[n.childIds[i]]
    if (c.func >= 0 || c.isFunction || c.isPackage || hasRulesBelow(c)) return true
  }
  return false
}

/**
 * Merge two virtual documents for the same key: objects built from rule paths deeply, sets by
 * union; else equal or conflict (null). A rule's object value is not merged into: OPA reports
 * a conflict when another rule's path reaches inside it (p[q].r := {"s": 1} and p.q.r.t := 2).
 */
function mergeDocs (a: Value, b: Value): Value | null {
  if (equals(a, b)) return a
  if (a.kind == T_OBJECT && b.kind == T_OBJECT) {
    if (!changetype<ObjV>(a).path || !changetype<ObjV>(b).path) return null
    const out = newPathObject()
    const ao = changetype<ObjV>(a)
    const bo = changetype<ObjV>(b)
    for (let i = 0; i < ao.keys.length; i++) { out.keys.push(ao.keys[i]); out.vals.push(ao.vals[i]) }
    for (let i = 0; i < bo.keys.length; i++) {
      const prev = out.get(bo.keys[i])
      if (prev === null) out.set(bo.keys[i], bo.vals[i])
      else {
        const m = mergeDocs(prev, bo.vals[i])
        if (m === null) return null
        out.set(bo.keys[i], m)
      }
    }
    return out
  }
  if (a.kind == T_SET && b.kind == T_SET) {
    const out = newSet()
    const ai = changetype<SetV>(a).items
    const bi = changetype<SetV>(b).items
    for (let i = 0; i < ai.length; i++) out.add(ai[i])
    for (let i = 0; i < bi.length; i++) out.add(bi[i])
    return out
  }
  return null
}

// ---- blocks ----

function argsOf (frame: StaticArray<Value | null>, ops: Array<i32>): Array<Value> {
  const n = ops.length
  const out = filledLater<Value>(n)
  for (let i = 0; i < n; i++) unchecked(out[i] = get(frame, unchecked(ops[i])))
  return out
}

// Call arguments: user functions copy theirs into their frame before anything else runs, and
// builtins only read theirs during the call (no builtin calls back into the interpreter), so
// a call's argument array is dead once the callee has it. Calls of up to MAX_SCRATCH
// arguments reuse one array per arity, made at start (below the heap base, so a heap reset
// never frees it); elements are always written before the call.
const MAX_SCRATCH: i32 = 8
const SCRATCH: StaticArray<Array<Value>> = initScratch()

function initScratch (): StaticArray<Array<Value>> {
  const s = new StaticArray<Array<Value>>(MAX_SCRATCH + 1)
  for (let n = 0; n <= MAX_SCRATCH; n++) unchecked(s[n] = new Array<Value>(n))
  return s
}

/** The arguments of a CALLFN / CALLB: valid until the callee returns (see SCRATCH). */
function callArgs (frame: StaticArray<Value | null>, ops: Array<i32>): Array<Value> {
  const n = ops.length
  if (n > MAX_SCRATCH) return argsOf(frame, ops)
  const out = unchecked(SCRATCH[n])
  for (let i = 0; i < n; i++) unchecked(out[i] = get(frame, unchecked(ops[i])))
  return out
}

function execBlock (instrs: Array<Instr>, start: i32, frame: StaticArray<Value | null>, k: Cont): bool {
  const n = instrs.length
  for (let i = start; i < n; i++) {
    const ins = unchecked(instrs[i])
    tick(1)
    switch (ins.op) {
      case ASSIGN:
        unchecked(frame[ins.a] = get(frame, ins.b))
        break
      case EQ:
        if (!equals(get(frame, ins.a), get(frame, ins.b))) return false
        break
      case DOT: {
        const v = index(get(frame, ins.b), get(frame, ins.c))
        if (v === null) return false
        unchecked(frame[ins.a] = v)
        break
      }
      case SCAN:
        return scan(ins, instrs, i, frame, k)
      case SCANDOC:
        return scanDoc(ins, instrs, i, frame, k)
      case INPUT: {
        const v = st.input
        if (v === null) return false
        unchecked(frame[ins.a] = v)
        break
      }
      case DATA: {
        const v = dataLookup(constPath(ins.b))
        if (v === null) return false
        unchecked(frame[ins.a] = v)
        break
      }
      case CALLRULE: {
        const v = evalRule(ins.b)
        if (v === null) return false
        unchecked(frame[ins.a] = v)
        break
      }
      case CALLFN: {
        const v = callFunc(ins.b, callArgs(frame, ins.list1))
        if (v === null) return false
        unchecked(frame[ins.a] = v)
        break
      }
      case CALLB: {
        const v = callBuiltin(ins.b, callArgs(frame, ins.list1))
        if (v === null) return false
        unchecked(frame[ins.a] = v)
        break
      }
      case NOTFALSE: {
        const v = get(frame, ins.a)
        if (v.kind == T_BOOL && !changetype<BoolV>(v).b) return false
        break
      }
      case NOT: case NOTALL: {
        const stop = new StopCont(ins.op == NOTALL)
        execBlock(ins.block, 0, frame, stop)
        if (stop.found) return false
        break
      }
      case MAKEARR: {
        unchecked(frame[ins.a] = new ArrV(argsOf(frame, ins.list1)))
        break
      }
      case MAKESET: {
        const s = newSet()
        const ops = ins.list1
        for (let j = 0; j < ops.length; j++) s.add(get(frame, ops[j]))
        unchecked(frame[ins.a] = s)
        break
      }
      case MAKEOBJ: {
        const o = newObject()
        const ks = ins.list1
        const vs = ins.list2
        for (let j = 0; j < ks.length; j++) {
          const key = get(frame, ks[j])
          const val = get(frame, vs[j])
          const prev = o.get(key)
          if (prev !== null && !equals(prev, val)) abortWith('eval_conflict_error: object keys must be unique')
          o.set(key, val)
        }
        unchecked(frame[ins.a] = o)
        break
      }
      case COMPR: {
        const c = new ComprCont(ins.a, ins.c, ins.d, frame)
        execBlock(ins.block, 0, frame, c)
        unchecked(frame[ins.b] = ins.a == 0 ? c.arr : ins.a == 1 ? changetype<Value>(c.set) : changetype<Value>(c.obj))
        break
      }
      case WITH:
        return execWith(ins, instrs, i, frame, k)
      case ISARR: {
        const v = get(frame, ins.a)
        if (v.kind != T_ARRAY || changetype<ArrV>(v).items.length != ins.b) return false
        break
      }
      case ISOBJ: {
        const v = get(frame, ins.a)
        if (v.kind != T_OBJECT || changetype<ObjV>(v).keys.length != ins.b) return false
        break
      }
      case DOC:
        unchecked(frame[ins.a] = materialize(ins.b))
        break
      case DOCKEY: {
        const v = materializeKey(ins.b, get(frame, ins.c))
        if (v === null) return false
        unchecked(frame[ins.a] = v)
        break
      }
      case ISCOLL: {
        const kd = get(frame, ins.a).kind
        if (kd != T_ARRAY && kd != T_OBJECT && kd != T_SET) return false
        break
      }
      default:
        abortWith('bouncer: bad opcode ' + ins.op.toString())
    }
  }
  return k.run()
}

function scan (ins: Instr, instrs: Array<Instr>, i: i32, frame: StaticArray<Value | null>, k: Cont): bool {
  return scanColl(get(frame, ins.a), ins.b, ins.c, instrs, i + 1, frame, k)
}

/**
 * SCANDOC: a SCAN over DOC's document, one key at a time — each key's value is built when the
 * iteration reaches it (materializeKey), as OPA's evaluator enumerates a document of packages,
 * so an early exit ends it before the later children's rules are evaluated (their conflicts do
 * not surface). Keys in the document's order (sorted). A node with rules of its own, or `with`
 * replacing data, is built whole first, as DOC.
 */
function scanDoc (ins: Instr, instrs: Array<Instr>, i: i32, frame: StaticArray<Value | null>, k: Cont): bool {
  const nodeId = ins.a
  const n = nodes[nodeId]
  if (n.func >= 0 || st.dataOv.length > 0) return scanColl(materialize(nodeId), ins.b, ins.c, instrs, i + 1, frame, k)
  const base = walk(gData, n.path, 0)
  const bk = base !== null && base.kind == T_OBJECT ? changetype<ObjV>(base).keys : emptyValues()
  const ck = n.childKeys
  const kd = ins.b
  const vd = ins.c
  let a = 0
  let b = 0
  while (a < bk.length || b < ck.length) {
    let key: Value
    if (b >= ck.length) key = unchecked(bk[a++])
    else if (a >= bk.length) key = unchecked(ck[b++])
    else {
      const c = compare(unchecked(bk[a]), unchecked(ck[b]))
      if (c < 0) key = unchecked(bk[a++])
      else if (c > 0) key = unchecked(ck[b++])
      else { key = unchecked(bk[a++]); b++ }
    }
    const v = materializeKey(nodeId, key)
    if (v === null) continue
    tick(1)
    if (kd >= 0) unchecked(frame[kd] = key)
    if (vd >= 0) unchecked(frame[vd] = v)
    if (execBlock(instrs, i + 1, frame, k)) return true
  }
  return false
}

function scanColl (coll: Value, kd: i32, vd: i32, instrs: Array<Instr>, next: i32, frame: StaticArray<Value | null>, k: Cont): bool {
  switch (coll.kind) {
    case T_ARRAY: {
      const items = changetype<ArrV>(coll).items
      for (let j = 0; j < items.length; j++) {
        tick(1)
        if (kd >= 0) unchecked(frame[kd] = mkInt(j))
        if (vd >= 0) unchecked(frame[vd] = unchecked(items[j]))
        if (execBlock(instrs, next, frame, k)) return true
      }
      return false
    }
    case T_OBJECT: {
      const o = changetype<ObjV>(coll)
      for (let j = 0; j < o.keys.length; j++) {
        tick(1)
        if (kd >= 0) unchecked(frame[kd] = unchecked(o.keys[j]))
        if (vd >= 0) unchecked(frame[vd] = unchecked(o.vals[j]))
        if (execBlock(instrs, next, frame, k)) return true
      }
      return false
    }
    case T_SET: {
      const items = changetype<SetV>(coll).items
      for (let j = 0; j < items.length; j++) {
        tick(1)
        const v = unchecked(items[j])
        if (kd >= 0) unchecked(frame[kd] = v)
        if (vd >= 0) unchecked(frame[vd] = v)
        if (execBlock(instrs, next, frame, k)) return true
      }
      return false
    }
  }
  return false
}

function execWith (ins: Instr, instrs: Array<Instr>, i: i32, frame: StaticArray<Value | null>, k: Cont): bool {
  const outer = st
  const s = new State()
  s.input = outer.input
  s.dataOv = outer.dataOv
  s.funcOv = outer.funcOv
  s.builtinOv = outer.builtinOv
  s.hasFuncOv = outer.hasFuncOv
  s.hasBuiltinOv = outer.hasBuiltinOv
  let copiedData = false
  let copiedFunc = false
  let copiedBuiltin = false
  const ws = ins.withs
  for (let j = 0; j < ws.length; j++) {
    const w = ws[j]
    if (w.kind == W_INPUT) {
      const path = withPath(frame, w.target)
      const v = get(frame, w.value)
      s.input = path.length == 0 ? v : upsert(s.input, path, 0, v)
    } else if (w.kind == W_DATA) {
      if (!copiedData) { s.dataOv = s.dataOv.slice(0); copiedData = true }
      s.dataOv.push(new DataOverride(withPath(frame, w.target), get(frame, w.value)))
    } else {
      const r = new Repl()
      r.kind = w.replKind
      if (w.replKind == 2) r.value = get(frame, w.value)
      else r.id = w.value
      if (w.kind == W_FUNC) {
        if (!copiedFunc) { s.funcOv = s.hasFuncOv ? s.funcOv.slice(0) : zeroedArray<Repl | null>(funcs.length); copiedFunc = true }
        s.funcOv[w.target] = r
        s.hasFuncOv = true
      } else {
        if (!copiedBuiltin) { s.builtinOv = s.hasBuiltinOv ? s.builtinOv.slice(0) : zeroedArray<Repl | null>(bIsHost.length); copiedBuiltin = true }
        s.builtinOv[w.target] = r
        s.hasBuiltinOv = true
      }
    }
  }
  freshMemo(s)
  st = s
  const r = execBlock(ins.block, 0, frame, new WithExitCont(outer, instrs, i + 1, frame, k))
  st = outer
  return r
}

// keep `mkStr` referenced for debugging helpers
export function __evalDebugName (f: i32): Value { return mkStr(funcs[f].name) }
