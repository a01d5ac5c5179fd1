// The plan: a small IR that the AssemblyScript interpreter (runtime/assembly/eval) executes.
// It is serialised as JSON and embedded in policy.wasm. Bodies are flat instruction lists;
// the planner has already resolved names, reordered expressions for safety and decided
// statically which variables are bound, so the interpreter never unifies dynamically: it
// only assigns, compares, indexes and scans (scans are the only source of backtracking).
//
// Operands: n >= 0 is local slot n of the current frame; n < 0 is constant -1-n.
// A destination of -1 means "discard".

// The numbers (Op, WithKind, FuncKind) are declared once in ./opcodes.ts, which also
// generates the runtime's constants.
import { FuncKind, Op, WithKind } from './opcodes.js'
export { FuncKind, Op, WithKind }

/** Replacement for FUNC/BUILTIN overrides: [0, funcId] | [1, builtinIndex] | [2, valueOperand] */

export type Instr = Array<number | Instr[] | number[] | Array<Array<number | number[]>>>

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
  /** COMPLETE/FUNCTION whose rules (else branches included, the default not) all have one
   *  literal value: evaluation stops at the first solution, as OPA's early exit does (later
   *  iterations and rules are not evaluated, so their errors and prints never happen) */
  earlyExit?: boolean
}

export interface PlanNode {
  /** keys below data */
  path: string[]
  children: Record<string, number>
  /** rule group at this node; -1 if none, -2 when the node is a function (not a value), -3 for a
   *  package without rules at the node (a document: {} at least) */
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
  /** host builtins whose result is a set (it arrives as a JSON array), by index into builtins */
  hostSets: number[]
}
