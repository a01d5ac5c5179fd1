// Entry file of the test runtime (build/runtime-test.wasm): the shipped runtime (./index) plus
// the test hooks that call native builtins directly from the host. Only the runtime tests
// load it; policy modules are linked into build/runtime.wasm, which does not export the hooks.

export * from "./index";
export { __test_builtin, __test_set_strict } from "./test-hooks";
