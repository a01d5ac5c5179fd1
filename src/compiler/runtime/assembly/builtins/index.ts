// Registry of builtins implemented natively in the runtime (ids are stable within one
// runtime build; the interpreter maps plan builtin names to ids at plan init).
//   nativeBuiltinId(name) -> id, or -1 when the builtin is not native (use the host)
//   callNative(id, args)  -> result, or null for undefined; errors: see ./errors
// Arity is the planner's business (src/compiler/builtins.ts): args has the right length.
//
// The name list and the dispatch switch are not written by hand: scripts/build-runtime.mjs
// generates "./generated" from the builtin table (src/compiler/builtins.ts, its
// native(<file>.<export>) entries) at build time. To add a native builtin, export it from a
// file in this folder and declare it in the table.
export {
  setStrictBuiltinErrors, strictBuiltinErrors, setBuiltinErrorLocation, lastBuiltinError, clearBuiltinError,
  builtinError, typeError, elementError, typeErrorMsg,
} from "./errors";
export { nativeBuiltinCount, nativeBuiltinName, nativeBuiltinId, callNative } from "./generated";
