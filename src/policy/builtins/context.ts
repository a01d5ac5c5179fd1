// Per-evaluation state shared by the host builtins, and OPA-style builtin errors.
//
// Host builtins are plain functions the SDK calls synchronously in the middle of
// `policy.evaluate()`. Some need to know about the evaluation they run in:
//   * strict builtin errors — OPA's default makes a failing builtin undefined; with strict
//     errors the failure aborts the evaluation (`eval_builtin_error: <name>: <reason>`);
//   * time.now_ns — one timestamp per evaluation (also the clock io.jwt.decode_verify uses);
//   * uuid.rfc4122 / rand.intn — the same output for the same arguments within one evaluation;
//   * print / trace — where the lines of this evaluation go (nowhere unless the loader says).
// A loader wraps each evaluate() in `runEvaluation(fn, { strict })`. Evaluation is synchronous
// and Node runs one at a time, so a module-level "current evaluation" is enough; nesting (an
// evaluation started from inside another) restores the outer state afterwards.

export interface EvaluationOptions {
  /** Strict builtin errors for this evaluation (default: the process default, normally false). */
  strict?: boolean
  /** Fixed clock for this evaluation in ns since the epoch (default: captured on first use). */
  nowNs?: bigint
  /** Receives the lines print() and trace() output during this evaluation; without it they
   *  are dropped (print is off). */
  onPrint?: (line: string) => void
  /** The arguments of the host builtin being called, read exactly from the module (integers
   *  past 2^53 as their digits); undefined when the module cannot give them (OPA-built Wasm). */
  hostArgs?: () => unknown[] | undefined
}

interface EvaluationState {
  strict: boolean
  nowNs: bigint | undefined
  cache: Map<string, unknown> | undefined
  onPrint: ((line: string) => void) | undefined
  hostArgs: (() => unknown[] | undefined) | undefined
}

let defaultStrict = false
let current: EvaluationState | null = null

/** Process-wide default for evaluations that do not say (OPA's default: false). */
export function setDefaultStrictBuiltinErrors (on: boolean): void { defaultStrict = on }

/** Runs `fn` (normally one `policy.evaluate(...)`) as one evaluation. */
export function runEvaluation<T> (fn: () => T, opts: EvaluationOptions = {}): T {
  const prev = current
  current = { strict: opts.strict ?? defaultStrict, nowNs: opts.nowNs, cache: undefined, onPrint: opts.onPrint, hostArgs: opts.hostArgs }
  try {
    return fn()
  } finally {
    current = prev
  }
}

/**
 * Where print/trace lines of the current evaluation go: its onPrint, or undefined (dropped).
 * Outside any evaluation (a builtin called directly) the `fallback` receives them.
 */
export function evaluationPrintHook (fallback: (line: string) => void): ((line: string) => void) | undefined {
  return current === null ? fallback : current.onPrint
}

/** True while strict builtin errors are on (outside any evaluation: the process default). */
export function strictBuiltinErrors (): boolean { return current?.strict ?? defaultStrict }

/** Wall clock in ns, microsecond resolution. */
export function wallClockNs (): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n
}

/** The evaluation's clock: captured once per evaluation; outside one, the wall clock. */
export function evaluationNowNs (): bigint {
  if (current === null) return wallClockNs()
  if (current.nowNs === undefined) current.nowNs = wallClockNs()
  return current.nowNs
}

/**
 * Per-evaluation memo: the same key yields the same value within one evaluation (OPA caches
 * uuid.rfc4122 and rand.intn this way). Outside an evaluation nothing is remembered.
 */
export function evaluationMemo<T> (key: string, make: () => T): T {
  if (current === null) return make()
  const cache = current.cache ?? (current.cache = new Map())
  if (cache.has(key)) return cache.get(key) as T
  const v = make()
  cache.set(key, v)
  return v
}

// ---- errors ----

/** A builtin failure; becomes undefined (non-strict) or aborts the evaluation (strict). */
export class BuiltinError extends Error {
  constructor (readonly code: 'eval_builtin_error' | 'eval_type_error', readonly builtin: string, readonly reason: string) {
    super(`${code}: ${builtin}: ${reason}`)
    this.name = 'BuiltinError'
  }
}

/** An error that aborts the evaluation whatever the strict setting (OPA's Halt errors). */
export class BuiltinHalt extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'BuiltinHalt'
  }
}

export function builtinError (builtin: string, reason: string): BuiltinError {
  return new BuiltinError('eval_builtin_error', builtin, reason)
}

export function typeErrorMsg (builtin: string, reason: string): BuiltinError {
  return new BuiltinError('eval_type_error', builtin, reason)
}

export type HostBuiltin = (...args: any[]) => unknown

/** An argument, or an element of an array argument, is a number a double may have rounded. */
function anyUnsafeNumber (args: readonly unknown[]): boolean {
  for (const a of args) {
    if (typeof a === 'number' && !Number.isSafeInteger(a) && Number.isInteger(a)) return true
    if (Array.isArray(a)) for (const x of a) if (typeof x === 'number' && !Number.isSafeInteger(x) && Number.isInteger(x)) return true
  }
  return false
}

/**
 * Wraps an implementation with OPA's error behaviour. Implementations throw BuiltinError (or
 * any Error, reported as eval_builtin_error with its message); non-strict evaluations turn
 * that into undefined, strict ones into an Error whose message starts with the OPA code.
 */
export function guard (name: string, impl: HostBuiltin, exactArgs = false): HostBuiltin {
  const wrapped = (...args: unknown[]): unknown => {
    try {
      // The SDK parsed the arguments as doubles: a number past 2^53 (a nanosecond timestamp)
      // arrives rounded, and 1.0 arrives as 1. Read them again exactly from the module when it
      // can give them: when a number may have been rounded, or always (exactArgs) for a builtin
      // that prints numbers as written.
      if (current?.hostArgs !== undefined && (exactArgs || anyUnsafeNumber(args))) {
        const exact = current.hostArgs()
        if (exact !== undefined && exact.length === args.length) return impl(...exact)
      }
      return impl(...args)
    } catch (e) {
      if (e instanceof BuiltinHalt) throw e
      const msg = e instanceof BuiltinError ? e.message : `eval_builtin_error: ${name}: ${e instanceof Error ? e.message : String(e)}`
      if (strictBuiltinErrors()) throw new Error(msg)
      return undefined
    }
  }
  Object.defineProperty(wrapped, 'name', { value: name })
  return wrapped
}
