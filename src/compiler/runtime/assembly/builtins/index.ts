// Registry of builtins implemented natively in the runtime.
//   nativeBuiltinId(name) -> id, or -1 when the builtin is not native (use the host)
//   callNative(id, args)  -> result, or null for undefined (errors: see ./errors)
export { setStrictBuiltinErrors, strictBuiltinErrors, builtinError, typeError } from "./errors";
import { Value } from "../value";

export function nativeBuiltinId (name: string): i32 {
  return -1;
}

export function callNative (id: i32, args: Array<Value>): Value | null {
  return null;
}
