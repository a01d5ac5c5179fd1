// Entry file of the runtime: the OPA Wasm ABI (version 1.2) as @open-policy-agent/opa-wasm
// 1.10 drives it. Values cross the boundary as addresses: changetype<usize>(value).
//
// Start: the linker stores the plan's location in PLAN_INFO; the plan JSON is parsed here
// and handed to the interpreter, so everything the plan needs lives below the heap base
// the SDK records after loading.

import {
  Value, ObjV, ArrV, StrV, T_OBJECT, T_ARRAY, newObject, newArray, mkStr,
} from "./value";
import {
  parseJSON, parseValue, dumpJSONToMemory, dumpValueToMemory, ByteWriter, writeValue,
} from "./json";
import { abortWith, currentHostArgs } from "./abi-host";
import { heapGet, heapSet, PLAN_INFO } from "~lib/rt/bouncer";
import { planInit, entrypointsValue, builtinsValue, evalEntrypoint } from "./eval/index";
import { setStepBudget, lastEvalSteps } from "./budget";

export const opa_wasm_abi_version: i32 = 1;
export const opa_wasm_abi_minor_version: i32 = 2;

/** Address of the 16-byte plan-info area the linker fills in. */
export const __bouncer_plan_info: usize = PLAN_INFO;

// ---------------------------------------------------------------------------
// Start

function start (): void {
  let planAddr = <usize>load<u32>(PLAN_INFO, 0);
  let planLen = <usize>load<u32>(PLAN_INFO, 4);
  let plan: Value | null = null;
  if (planLen > 0) {
    plan = parseJSON(planAddr, planLen);
    if (plan === null) abortWith("bouncer: the embedded plan is not valid JSON");
  }
  planInit(plan);
}
start();

// ---------------------------------------------------------------------------
// Memory

export function opa_malloc (size: usize): usize {
  return __alloc(size);
}

export function opa_free (ptr: usize): void {
  // Memory is reclaimed by resetting the heap pointer.
}

export function opa_heap_ptr_get (): usize {
  return heapGet();
}

export function opa_heap_ptr_set (ptr: usize): void {
  heapSet(ptr);
}

export function opa_value_free (ptr: usize): void {
}

// ---------------------------------------------------------------------------
// Values

// During a host call the SDK dumps the builtin's arguments and parses its result through these:
// invalid bytes in strings travel as \udcXX escapes then (json.ts, bytes.ts), and only then.

export function opa_json_parse (addr: usize, len: usize): usize {
  let v = parseJSON(addr, len, currentHostArgs() !== null);
  return v === null ? 0 : changetype<usize>(v);
}

export function opa_value_parse (addr: usize, len: usize): usize {
  let v = parseValue(addr, len);
  return v === null ? 0 : changetype<usize>(v);
}

export function opa_json_dump (v: usize): usize {
  return dumpJSONToMemory(changetype<Value>(v), currentHostArgs() !== null);
}

export function opa_value_dump (v: usize): usize {
  return dumpValueToMemory(changetype<Value>(v));
}

const ERR_OK: i32 = 0;
const ERR_INVALID_TYPE: i32 = 2;
const ERR_INVALID_PATH: i32 = 3;

/** Sets `value` at `path` (array of keys) inside object `base`, creating objects on the way. */
export function opa_value_add_path (base: usize, path: usize, value: usize): i32 {
  if (base == 0 || path == 0 || value == 0) return ERR_INVALID_TYPE;
  let b = changetype<Value>(base), p = changetype<Value>(path);
  if (b.kind != T_OBJECT || p.kind != T_ARRAY) return ERR_INVALID_TYPE;
  let keys = changetype<ArrV>(p).items;
  let n = keys.length;
  if (n == 0) return ERR_INVALID_PATH;
  // Validate first so that errors leave `base` unchanged.
  let cur = changetype<ObjV>(b);
  let i = 0;
  for (; i < n - 1; i++) {
    let next = cur.get(unchecked(keys[i]));
    if (next === null) break;
    if (next.kind != T_OBJECT) return ERR_INVALID_PATH;
    cur = changetype<ObjV>(next);
  }
  for (; i < n - 1; i++) {
    let o = newObject();
    cur.set(unchecked(keys[i]), o);
    cur = o;
  }
  cur.set(unchecked(keys[n - 1]), changetype<Value>(value));
  return ERR_OK;
}

/** Removes the value at `path` inside object `base`. Absent paths are not an error. */
export function opa_value_remove_path (base: usize, path: usize): i32 {
  if (base == 0 || path == 0) return ERR_INVALID_TYPE;
  let b = changetype<Value>(base), p = changetype<Value>(path);
  if (b.kind != T_OBJECT || p.kind != T_ARRAY) return ERR_INVALID_TYPE;
  let keys = changetype<ArrV>(p).items;
  let n = keys.length;
  if (n == 0) return ERR_INVALID_PATH;
  let cur = changetype<ObjV>(b);
  for (let i = 0; i < n - 1; i++) {
    let next = cur.get(unchecked(keys[i]));
    if (next === null) return ERR_OK;
    if (next.kind != T_OBJECT) return ERR_INVALID_PATH;
    cur = changetype<ObjV>(next);
  }
  cur.remove(unchecked(keys[n - 1]));
  return ERR_OK;
}

// ---------------------------------------------------------------------------
// Policy

export function builtins (): usize {
  return changetype<usize>(builtinsValue());
}

export function entrypoints (): usize {
  return changetype<usize>(entrypointsValue());
}

// ---------------------------------------------------------------------------
// Evaluation budget (./budget; a Bouncer extension: OPA's SDK never calls these, and without
// a call there is no budget). f64 so that JS passes plain numbers (exact up to 2^53).

/** Sets the step budget of every following evaluation; 0 = none. */
export function bouncer_eval_step_budget_set (budget: f64): void {
  setStepBudget(budget >= 9.0e15 ? <i64>9.0e15 : <i64>budget);
}

/** How many arguments the host builtin being called has (0 outside a host call). */
export function bouncer_host_arg_count (): i32 {
  let a = currentHostArgs();
  return a === null ? 0 : a.length;
}

/** Argument `i` of the host builtin being called (dump it with opa_json_dump), or 0. */
export function bouncer_host_arg (i: i32): usize {
  let a = currentHostArgs();
  return a === null || i < 0 || i >= a.length ? 0 : changetype<usize>(unchecked(a[i]));
}

/** Steps taken by the last evaluation (also after it was stopped by the budget). */
export function bouncer_eval_steps (): f64 {
  return <f64>lastEvalSteps();
}

class EvalCtx {
  input: Value | null = null;
  data: Value | null = null;
  entrypoint: i32 = 0;
  result: Value | null = null;
}

export function opa_eval_ctx_new (): usize {
  return changetype<usize>(new EvalCtx());
}

export function opa_eval_ctx_set_input (ctx: usize, v: usize): void {
  changetype<EvalCtx>(ctx).input = v == 0 ? null : changetype<Value>(v);
}

export function opa_eval_ctx_set_data (ctx: usize, v: usize): void {
  changetype<EvalCtx>(ctx).data = v == 0 ? null : changetype<Value>(v);
}

export function opa_eval_ctx_set_entrypoint (ctx: usize, ep: i32): void {
  changetype<EvalCtx>(ctx).entrypoint = ep;
}

export function opa_eval_ctx_get_result (ctx: usize): usize {
  let r = changetype<EvalCtx>(ctx).result;
  return r === null ? changetype<usize>(newArray()) : changetype<usize>(r);
}

const RESULT_KEY = mkStr("result");

export function eval (ctx: usize): i32 {
  let c = changetype<EvalCtx>(ctx);
  let data = c.data;
  let v = evalEntrypoint(c.entrypoint, data !== null ? data : newObject(), c.input);
  let rs = newArray();
  if (v !== null) {
    let row = newObject();
    row.set(RESULT_KEY, v);
    rs.push(row);
  }
  c.result = rs;
  return 0;
}

/** ABI 1.2 one-call evaluation; returns the address of the serialized result set. */
export function opa_eval (reserved: usize, ep: i32, data: usize, inputAddr: usize, inputLen: usize, heapPtr: usize, format: i32): usize {
  heapSet(heapPtr);
  let input: Value | null = null;
  if (inputAddr != 0 || inputLen != 0) {
    input = parseJSON(inputAddr, inputLen);
    if (input === null) abortWith("opa_eval: input is not valid JSON");
  }
  let d: Value = data != 0 ? changetype<Value>(data) : newObject();
  let v = evalEntrypoint(ep, d, input);
  let w = new ByteWriter(v === null ? 8 : 256);
  if (v === null) {
    w.ascii("[]");
  } else {
    w.ascii("[{\"result\":");
    writeValue(w, v, format != 1);
    w.ascii("}]");
  }
  return w.finish();
}
