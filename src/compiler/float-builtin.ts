// Non-integer arithmetic as OPA does it (64-bit big.Float, see src/policy/builtins/big-float.ts)
// runs in the host: a plan calling a builtin flagged `float` in the builtin table
// (FLOAT_BUILTINS) also gets the host call FLOAT_BUILTIN, which the runtime's arithmetic hands
// the operations that are not exact on integers. It is never a Rego builtin: a policy cannot
// call it by name, the name is not in the builtin table.

export const FLOAT_BUILTIN = 'bouncer.internal.float'
