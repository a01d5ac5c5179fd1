// The one registry of runtime error codes (BOUNCER_ERR_<AREA>_<REASON>).
// Each code has a message template (%s placeholders) and an HTTP status used when the
// error surfaces on the request path. Compiler *diagnostics* are not here: user mistakes
// in Rego are collected as diagnostics (src/compiler/diagnostics.ts), not thrown.
// Helpers: add codes inside your area's block; keep the blocks in this order.

export interface ErrorDef { readonly message: string; readonly status: number }

export const ERROR_DEFS = {
  // --- config ---
  BOUNCER_ERR_CONFIG_INVALID: { message: 'invalid configuration: %s', status: 500 },
  BOUNCER_ERR_CONFIG_FILE: { message: 'cannot read config file %s: %s', status: 500 },

  // --- compiler / bundle build ---
  BOUNCER_ERR_COMPILE_FAILED: { message: 'compilation failed with %s error(s)', status: 500 },
  BOUNCER_ERR_COMPILER_RUNTIME_MISSING: { message: 'compiler runtime %s is missing; run "npm run build:runtime"', status: 500 },
  BOUNCER_ERR_COMPILER_PLAN_TOO_LARGE: { message: 'compiled plan is %s bytes; the limit is %s', status: 500 },

  // --- policy (loading and evaluation) ---
  BOUNCER_ERR_POLICY_LOAD: { message: 'cannot load policy: %s', status: 500 },
  BOUNCER_ERR_POLICY_MISSING_BUILTIN: { message: 'policy needs built-in function(s) the host does not provide: %s', status: 500 },
  BOUNCER_ERR_POLICY_ENTRYPOINT: { message: 'entrypoint %s not found in policy (have: %s)', status: 500 },
  BOUNCER_ERR_POLICY_EVAL: { message: 'policy evaluation failed: %s', status: 500 },
  BOUNCER_ERR_POLICY_DECISION: { message: 'policy returned an invalid decision: %s', status: 500 },

  // --- bundle ---
  BOUNCER_ERR_BUNDLE_INVALID: { message: 'invalid bundle: %s', status: 500 },

  // --- proxy ---

  // --- masking ---

  // --- cache ---

  // --- decision log ---
} as const satisfies Record<string, ErrorDef>

export type ErrorCode = keyof typeof ERROR_DEFS

export class BouncerError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  constructor (code: ErrorCode, args: readonly unknown[] = [], options?: { cause?: unknown }) {
    const def: ErrorDef = ERROR_DEFS[code]
    let i = 0
    super(def.message.replace(/%s/g, () => String(args[i++])), options)
    this.name = 'BouncerError'
    this.code = code
    this.statusCode = def.status
  }
}

export function bouncerError (code: ErrorCode, ...args: unknown[]): BouncerError {
  return new BouncerError(code, args)
}

export function isBouncerError (e: unknown, code?: ErrorCode): e is BouncerError {
  return e instanceof BouncerError && (code === undefined || e.code === code)
}
