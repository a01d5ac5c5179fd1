// Calls into the host (imports from `env`), shared by the ABI layer, builtins and the
// interpreter.

import { Value } from "./value";
import { cstring } from "./json";

// @ts-ignore: decorator
@external("env", "opa_abort")
declare function opa_abort (addr: usize): void;
// @ts-ignore: decorator
@external("env", "opa_println")
declare function opa_println (addr: usize): void;
// @ts-ignore: decorator
@external("env", "opa_builtin0")
declare function opa_builtin0 (id: i32, ctx: usize): usize;
// @ts-ignore: decorator
@external("env", "opa_builtin1")
declare function opa_builtin1 (id: i32, ctx: usize, a: usize): usize;
// @ts-ignore: decorator
@external("env", "opa_builtin2")
declare function opa_builtin2 (id: i32, ctx: usize, a: usize, b: usize): usize;
// @ts-ignore: decorator
@external("env", "opa_builtin3")
declare function opa_builtin3 (id: i32, ctx: usize, a: usize, b: usize, c: usize): usize;
// @ts-ignore: decorator
@external("env", "opa_builtin4")
declare function opa_builtin4 (id: i32, ctx: usize, a: usize, b: usize, c: usize, d: usize): usize;

/** Reports `msg` to the host (which throws it) and traps. */
export function abortWith (msg: string): void {
  opa_abort(cstring(msg));
  unreachable();
}

/** Logs a line through the host (opa_println). */
export function printLine (msg: string): void {
  opa_println(cstring(msg));
}

// The arguments of the host call in progress. The SDK hands a host builtin its arguments through
// JSON.parse (numbers as doubles); the host can read them again exactly through
// bouncer_host_arg (index.ts) while the call runs.
// @ts-ignore: decorator
@lazy let hostArgs: Array<Value> | null = null;

export function currentHostArgs (): Array<Value> | null { return hostArgs; }

// The id of the host call "bouncer.internal.float" (src/compiler/float-builtin.ts) in this
// plan, or -1: non-integer arithmetic goes to the host through it (builtins/numbers.ts).
// @ts-ignore: decorator
@lazy let floatBuiltin: i32 = -1;
export function floatBuiltinId (): i32 { return floatBuiltin; }
export function setFloatBuiltinId (id: i32): void { floatBuiltin = id; }

/**
 * Calls a host-implemented builtin (ids come from builtins()). The host returns 0 when
 * its function returned undefined; that becomes null.
 */
export function callHost (builtinId: i32, args: Array<Value>): Value | null {
  let r: usize = 0;
  let outer = hostArgs;
  hostArgs = args;
  switch (args.length) {
    case 0: r = opa_builtin0(builtinId, 0); break;
    case 1: r = opa_builtin1(builtinId, 0, changetype<usize>(args[0])); break;
    case 2: r = opa_builtin2(builtinId, 0, changetype<usize>(args[0]), changetype<usize>(args[1])); break;
    case 3: r = opa_builtin3(builtinId, 0, changetype<usize>(args[0]), changetype<usize>(args[1]), changetype<usize>(args[2])); break;
    case 4: r = opa_builtin4(builtinId, 0, changetype<usize>(args[0]), changetype<usize>(args[1]), changetype<usize>(args[2]), changetype<usize>(args[3])); break;
    default: abortWith("host builtin called with " + args.length.toString() + " arguments (at most 4 supported)");
  }
  hostArgs = outer;
  return r == 0 ? null : changetype<Value>(r);
}

/** Replacement for AssemblyScript's `abort` (wired with `--use abort=...`). */
export function runtimeAbort (message: string | null, fileName: string | null, line: u32, column: u32): void {
  let msg = message !== null ? message : "abort";
  if (fileName !== null) msg += " (" + fileName + ":" + line.toString() + ":" + column.toString() + ")";
  abortWith("internal error: " + msg);
}
