// The plan: a small IR that the AssemblyScript interpreter (runtime/assembly/eval) executes.
// It is serialised as JSON and embedded in policy.wasm. Bodies are flat instruction lists;
// the planner has already resolved names, reordered expressions for safety and decided
// statically which variables are bound, so the interpreter never unifies dynamically: it
// only assigns, compares, indexes and scans (scans are the only source of backtracking).
//
// Operands: n >= 0 is local slot n of the current frame; n < 0 is constant -1-n.
// A destination of -1 means "discard".

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
} as const

/** WITH target kinds */
export const WithKind = {
  INPUT: 0, // target: pathConst (array of keys below input)
  DATA: 1, // target: pathConst (array of keys below data)
  FUNC: 2, // target: func id; value: [replacementKind, x] (see below)
  BUILTIN: 3, // target: builtin index
} as const

/** Replacement for FUNC/BUILTIN overrides: [0, funcId] | [1, builtinIndex] | [2, valueOperand] */

export type Instr = Array<number | Instr[] | number[] | Array<Array<number | number[]>>>

export const FuncKind = {
  COMPLETE: 0,
  SET: 1, // partial set / multi-value rule
  OBJECT: 2, // partial object / ref-head rules with a key path
  FUNCTION: 3,
} as const

export interface PlanRule {
  body: Instr[]
  /** OBJECT: key path operands; SET: [element operand] */
  key: number[]
  /** value operand (COMPLETE, OBJECT, FUNCTION); -1 for SET without value */
  value: number
  /** OBJECT leaf is a set (`p[k] contains v`) */
  multi: boolean
  else: PlanRule | null
  loc: string
}

export interface PlanFunc {
  name: string
  kind: number
  nargs: number
  nlocals: number
  rules: PlanRule[]
  /** constant operand of the default value, or 0 (no default) — 0 is never a const */
  default: number
  /** default value that is not a constant (e.g. a comprehension), evaluated like a rule */
  defaultRule: PlanRule | null
}

export interface PlanNode {
  /** keys below data */
  path: string[]
  children: Record<string, number>
  /** rule group at this node; -1 if none, -2 when the node is a function (not a value) */
  func: number
}

export interface Plan {
  version: 1
  strict: boolean
  consts: unknown[]
  funcs: PlanFunc[]
  nodes: PlanNode[]
  entrypoints: Array<[string, number]>
  /** builtin names used by the policy; index = builtin id in CALLB */
  builtins: string[]
  /** which builtins must be provided by the host (opa_builtinN), by index into builtins */
  host: number[]
}
