// The evaluation step budget, shared by the interpreter (eval/) and builtins whose work is not
// bounded by the size of their arguments (numbers.range builds as many elements as asked).
//
// The interpreter resets the count at the start of every evaluation (startEvaluation) and
// charges one step per instruction, per element a SCAN visits, and per element of a builtin's
// collection result. Past the budget the evaluation stops with
// opa_abort(BUDGET_EXCEEDED + ...); the host maps that message to its timeout error. The
// budget is 0 (none) until the host sets one (index.ts: bouncer_eval_step_budget_set), so
// OPA's SDK and other hosts that know nothing about it see an ordinary OPA module.
import { abortWith } from "./abi-host";

/** Prefix of the opa_abort message when the budget is exhausted (the host matches on it). */
export const BUDGET_EXCEEDED = "bouncer_eval_budget_exceeded: ";

let stepBudget: i64 = 0;
let stepLimit: i64 = i64.MAX_VALUE;
let steps: i64 = 0;

/** Steps an evaluation may take; 0 = no budget. Applies from the next evaluation. */
export function setStepBudget (n: i64): void { stepBudget = n > 0 ? n : 0; }

/** Steps the last (or current) evaluation has taken. */
export function lastEvalSteps (): i64 { return steps; }

export function startEvaluation (): void {
  steps = 0;
  stepLimit = stepBudget > 0 ? stepBudget : i64.MAX_VALUE;
}

function budgetExceeded (): void {
  abortWith(BUDGET_EXCEEDED + "evaluation stopped after " + stepBudget.toString() + " steps");
}

/** Charges `n` steps; stops the evaluation when the budget is exceeded. */
// @ts-ignore: decorator
@inline export function chargeSteps (n: i64): void {
  steps += n;
  if (steps > stepLimit) budgetExceeded();
}
