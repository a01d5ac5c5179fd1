// TEST ONLY: direct access to native builtins from the host, for test/compiler/runtime (ill-typed
// arguments and set values that a compiled policy's type checker or JSON input would not let
// through). Exported by the test runtime only (test-entry.ts, build/runtime-test.wasm), never by
// build/runtime.wasm, the runtime every policy module is linked into.

import { Value, ArrV, T_ARRAY, newObject, mkStr } from "./value";
import { parseValue, dumpValueToMemory } from "./json";
import { nativeBuiltinId, callNative, setStrictBuiltinErrors } from "./builtins/index";
import { abortWith } from "./abi-host";

/**
 * Calls native builtin `name` (UTF-8 at nameAddr/nameLen) with the arguments in the Rego
 * value text array at argsAddr/argsLen. Returns the address of NUL-terminated Rego value
 * text: `{"result": <v>}` or `{}` when undefined. Invalid bytes in strings are written and read
 * as \udcXX escapes (bytes.ts), so tests see them exactly.
 */
export function __test_builtin (nameAddr: usize, nameLen: usize, argsAddr: usize, argsLen: usize): usize {
  let name = String.UTF8.decodeUnsafe(nameAddr, nameLen, false);
  let id = nativeBuiltinId(name);
  if (id < 0) abortWith("not a native builtin: " + name);
  let args = parseValue(argsAddr, argsLen, true); // strings byte-exact: \udcXX is an invalid byte
  if (args === null || args.kind != T_ARRAY) abortWith("arguments must be a Rego array");
  let r = callNative(id, changetype<ArrV>(args).items);
  let out = newObject();
  if (r !== null) out.set(mkStr("result"), r);
  return dumpValueToMemory(out, true);
}

export function __test_set_strict (on: i32): void {
  setStrictBuiltinErrors(on != 0);
}
