// The plan's numeric vocabulary, declared once: the opcodes of plan instructions, the kinds of
// `with` targets and the kinds of plan functions. The planner (./ir.ts re-exports these as Op,
// WithKind and FuncKind) emits them; the runtime interpreter (src/compiler/runtime/assembly/
// eval) reads them from AssemblyScript constants that scripts/build-runtime.mjs generates from
// this file (eval/opcodes.generated.ts, a file only the AssemblyScript compiler sees; a copy is
// written to build/runtime-opcodes.generated.ts and the table to build/runtime.json). Neither
// side writes a number by hand; test/compiler/opcodes.test.ts fails if they drift.
//
// Change a number here and the runtime must be rebuilt (npm run build); plans embed numbers, so
// a module keeps working only with the runtime it was linked with (they ship together).
//
// Operand conventions (see ./ir.ts): n >= 0 is local slot n of the current frame; n < 0 is
// constant -1-n; a destination of -1 means "discard".

/** Plan instruction opcodes (the first element of an instruction). */
export const Op = {
  ASSIGN: 0, // [0, dst, src]
  EQ: 1, // [1, a, b]                      fail unless a == b
  DOT: 2, // [2, dst, src, key]            fail unless src[key] defined
  SCAN: 3, // [3, src, kdst, vdst]          generator over array/object/set
  INPUT: 4, // [4, dst]                     fail when there is no input
  DATA: 5, // [5, dst, pathConst]           base document at a static path
  CALLRULE: 6, // [6, dst, func]            value of a rule group (memoised)
  CALLFN: 7, // [7, dst, func, [args]]      user function
  CALLB: 8, // [8, dst, builtin, [args]]    builtin (index into plan.builtins)
  NOTFALSE: 10, // [10, a]                  fail when a is false
  NOT: 11, // [11, block]                   succeed once when block has no solution
  MAKEARR: 12, // [12, dst, [ops]]
  MAKESET: 13, // [13, dst, [ops]]
  MAKEOBJ: 14, // [14, dst, [kops], [vops]]  (error on conflicting duplicate keys)
  COMPR: 15, // [15, kind(0 arr,1 set,2 obj), dst, block, key, val]
  WITH: 16, // [16, [[kind, target, valueOp], ...], block]
  ISARR: 17, // [17, a, len]
  ISOBJ: 18, // [18, a, nkeys]
  DOC: 20, // [20, dst, node]                merged base + virtual document of a tree node
  ISCOLL: 22, // [22, a]                     fail unless a is an array, object or set
  DOCKEY: 23, // [23, dst, node, key]         DOC's value at one key, from only the rules that can
  //                                           give it (fail when undefined): OPA does not evaluate
  //                                           the other keys, so their conflicts do not surface
  NOTALL: 26, // [26, block]                 `not expr`: as NOT, after enumerating every solution
  //                                           of the block (OPA's evalNot does not stop at the first:
  //                                           an error a later one raises surfaces)
  SCANDOC: 25, // [25, node, kdst, vdst]      SCAN over DOC's document, building each key's value
  //                                           when the iteration reaches it (as DOCKEY): an early
  //                                           exit leaves the later children unevaluated, as in OPA
} as const

/** WITH target kinds */
export const WithKind = {
  INPUT: 0, // target: pathConst (array of keys below input)
  DATA: 1, // target: pathConst (array of keys below data)
  FUNC: 2, // target: func id; value: [replacementKind, x]
  BUILTIN: 3, // target: builtin index
} as const

/** Plan function kinds */
export const FuncKind = {
  COMPLETE: 0,
  SET: 1, // partial set / multi-value rule
  OBJECT: 2, // partial object / ref-head rules with a key path
  FUNCTION: 3,
} as const

/** Every group, with the prefix its AssemblyScript constants get (OP_ASSIGN, WITH_INPUT, FUNC_SET, ...). */
export const PLAN_CODES = { OP: Op, WITH: WithKind, FUNC: FuncKind } as const
