// Policy evaluation with @open-policy-agent/opa-wasm: the one place a policy module is
// instantiated — by the proxy (src/policy/load.ts), `bouncer eval`, `bouncer test`, the
// conformance runner and replay alike. One instance per loaded policy, created once at load
// (never per request); the SDK resets the Wasm heap before each evaluation so memory does not
// grow across calls. Node runs one evaluation at a time on the event loop, so a single
// instance is enough.
//
// Loading refuses a module that needs a builtin the host cannot provide (that must fail at
// load, never evaluate to undefined later). Every evaluation runs inside runEvaluation(): host
// builtins then see this policy's strict builtin error setting, one time.now_ns value for the
// whole evaluation, and per-evaluation memos (src/policy/builtins/context.ts).
//
// Evaluation call (evaluateWith below): for modules of ABI 1.2 and later, the evaluator drives
// the module's opa_eval export itself instead of going through the SDK's evaluate(), which
// per call builds a TextEncoder and a TextDecoder, encodes the input into a fresh buffer and
// copies it into the module's memory, and scans for the result's end byte by byte. Here the
// input text is encoded straight into the module's memory (pre-serialised input, as the
// proxy passes it, is copied once), the result's end is found with indexOf, and both memory
// views are kept until the memory grows. The calls are the SDK's own, in its order, with its
// addresses (its data address and the heap pointer after the data); older modules use the
// SDK's evaluate() as before.
//
// Evaluation budget: evaluation is synchronous, so a policy whose cost grows with its input
// (nested iteration over input arrays) would block the event loop for as long as it runs.
// Modules built by the project's compiler count their steps (src/compiler/runtime/assembly/
// eval) and stop past the budget set here after instantiation (export
// bouncer_eval_step_budget_set); the evaluator turns that stop into
// BOUNCER_ERR_POLICY_EVAL_TIMEOUT (the proxy fails closed). Modules without the export (built
// by `opa build`) load and run as before, bounded only by policy.eval_timeout_seconds after the
// fact.
import { createRequire } from 'node:module'
// loadPolicySync is on the SDK's CommonJS exports only (its ES module entry re-exports loadPolicy).
const { loadPolicySync } = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as typeof import('@open-policy-agent/opa-wasm')
import { DEFAULT_EVAL_STEP_BUDGET } from '../../config/schema.js'
import { deepFreeze } from '../../deep-freeze.js'
import { BouncerError } from '../../errors.js'
import { anyNondeterministic } from '../../compiler/builtins.js'
import { COVERAGE_BUILTIN } from '../../compiler/coverage.js'
import { FLOAT_BUILTIN } from '../../compiler/float-builtin.js'
import { floatBuiltin } from '../builtins/big-float.js'
import { guard } from '../builtins/context.js'
import { hostBuiltins, missingBuiltins, runEvaluation, type HostBuiltin } from '../builtins/index.js'
import { parseJsonExact } from '../../exact-json.js'

export interface WasmPolicyOptions {
  /** Host builtins (default: the registry in src/policy/builtins). */
  builtins?: Record<string, HostBuiltin>
  /** Initial / maximum Wasm memory in 64 KiB pages (default 16 / 4096, policy.*_memory_pages;
   *  tools that run a policy once, like opa, pass WASM_MAX_MEMORY_PAGES). */
  initialMemoryPages?: number
  maxMemoryPages?: number
  /** OPA's strict builtin errors (--strict-builtin-errors): a failing host builtin aborts the
   *  evaluation instead of being undefined. Pass the value the module was compiled with
   *  (compileModules' strictBuiltinErrors), which governs native builtins; loadRego (./rego.ts)
   *  gives the compiler the same value. */
  strictBuiltinErrors?: boolean
  /** Steps one evaluation may take (0 = no budget, as opa eval / opa test). Default:
   *  policy.eval_step_budget's default. */
  evalStepBudget?: number
  /** Receives each line the policy's print() (and trace()) calls output (OPA's format:
   *  arguments separated by spaces, strings bare and other values in Rego syntax, undefined
   *  ones as <undefined>; one line per combination when an argument has several values), with
   *  the entrypoint and input of the evaluation that printed it (policy.print). Absent: print()
   *  calls do nothing (and cost nothing beyond the call); to remove them from the module,
   *  compile with printStatements: false. */
  onPrint?: (line: string, ctx: PrintEvent) => void
  /** Coverage builds (compileModules' coverage): receives the number of each coverage point
   *  reached (src/compiler/coverage.ts). */
  onCoverage?: (point: number) => void
}

/** The wasm32 limit (4 GiB): no cap beyond the module's own, as the opa-wasm SDK alone gives. */
export const WASM_MAX_MEMORY_PAGES = 65536

/** What a print line is attached to. */
export interface PrintEvent {
  /** the entrypoint evaluated */
  entrypoint: string
  /** the input of the evaluation that printed the line */
  input: unknown
}

export { DEFAULT_EVAL_STEP_BUDGET }

/** Prefix of the runtime's abort message when an evaluation exhausts its budget (runtime eval/index.ts). */
const BUDGET_EXCEEDED = 'bouncer_eval_budget_exceeded: '

/** Evaluates one entrypoint: the entrypoint's value, or undefined when it is undefined. */
export type Evaluator = (input: unknown) => unknown

export interface EvaluatorOptions {
  /**
   * Results are deep-frozen and shared: an evaluation whose result text equals an earlier one
   * returns the same object (no JSON parse; the proxy then reuses what it derived from it, as
   * for a cached decision). For callers that never modify a result (the proxy). Only modules
   * of ABI 1.2 and later, driven by this evaluator, give the text; others return fresh results.
   */
  shareResults?: boolean
}

// Shared results: bounded by count and by the size of each result's text. Decisions repeat
// per principal and route; past the bound the memo starts over (a policy whose results are
// all different costs a freeze and a Map insert per evaluation, no more).
const SHARED_MAX_ENTRIES = 1024
const SHARED_MAX_TEXT = 4096

/** A result set as opa-wasm returns it: [] when undefined, else one element whose `result` is
 *  the entrypoint's value (a query's entrypoint: the rows of variable bindings). */
export type ResultSet = Array<{ result: unknown }>

export interface WasmPolicy {
  /** Entrypoint names the module exports. */
  readonly entrypoints: readonly string[]
  /** Builtins the module imports from the host. */
  readonly builtins: readonly string[]
  /** True when the module imports a builtin whose result is not a function of its arguments. */
  readonly nondeterministic: boolean
  /** Resolves an entrypoint once; the returned function is the per-request call. */
  evaluator (entrypoint: string, opts?: EvaluatorOptions): Evaluator
  /** One evaluation of `entrypoint` with its whole result set (tools: eval, test, conformance). */
  evaluate (input: unknown, entrypoint: string): ResultSet
  /** Replaces the data document. */
  setData (data: unknown): void
  /** Current size of the instance's linear memory. */
  memoryBytes (): number
  /** The step budget in force (0 = none), or null when the module cannot count steps (e.g. built by `opa build`). */
  readonly stepBudget: number | null
  /** Steps the last evaluation took, or undefined when the module cannot count steps. */
  lastEvalSteps (): number | undefined
}

type Exports = {
  builtins: () => number
  opa_json_dump: (addr: number) => number
  opa_eval?: (reserved: number, entrypoint: number, data: number, inputAddr: number, inputLen: number, heapPtr: number, format: number) => number
  bouncer_eval_step_budget_set?: (budget: number) => void
  bouncer_eval_steps?: () => number
  bouncer_host_arg_count?: () => number
  bouncer_host_arg?: (i: number) => number
}

/** What evaluateWith reads of the SDK's LoadedPolicy (public properties of opa-wasm 1.x, not in its types). */
interface LoadedInternals {
  minorVersion?: unknown
  dataAddr?: unknown
  dataHeapPtr?: unknown
  mem: WebAssembly.Memory
  evaluate: (input: unknown, entrypoint: number) => unknown
}

const PAGE = 65536
const utf8 = new TextEncoder()

/**
 * Input JSON already serialised as text (the proxy's projected input, src/proxy/projection.ts).
 * The evaluator writes it as UTF-8 straight into the module's memory: no intermediate buffer,
 * one copy. The text must be JSON (the module parses it; malformed text fails the evaluation).
 */
export class InputJson {
  constructor (readonly text: string) {}
}

/**
 * The evaluation call for one loaded module: `(input, entrypoint id) => result set`. Same
 * contract as the SDK's evaluate(): a falsy input is no input, an ArrayBuffer (or an InputJson)
 * is input JSON already serialised, anything else goes through JSON.stringify.
 */
interface EvalCalls {
  /** One evaluation: the result set, parsed. */
  readonly run: (input: unknown, id: number) => unknown
  /** One evaluation: the result set as the module wrote it (JSON text); absent for modules the SDK drives. */
  readonly text?: (input: unknown, id: number) => string
}

function evaluateWith (loaded: LoadedInternals, exp: Exports): EvalCalls {
  const opaEval = exp.opa_eval
  if (typeof opaEval !== 'function' || typeof loaded.minorVersion !== 'number' || loaded.minorVersion < 2 ||
    typeof loaded.dataAddr !== 'number' || typeof loaded.dataHeapPtr !== 'number') {
    return {
      run: (input, id) => {
        // As bytes whatever the value: the SDK takes a falsy input (null, false, 0, "") for none.
        if (input !== undefined && !(input instanceof ArrayBuffer)) {
          const u8 = utf8.encode(input instanceof InputJson ? input.text : JSON.stringify(input))
          input = u8.buffer.byteLength === u8.byteLength ? u8.buffer : u8.slice().buffer
        }
        return loaded.evaluate(input, id)
      },
    }
  }
  const mem = loaded.mem
  let u8 = new Uint8Array(mem.buffer)
  let buf = Buffer.from(mem.buffer)
  const view = (): Uint8Array => {
    if (u8.byteLength === 0 || u8.buffer !== mem.buffer) { u8 = new Uint8Array(mem.buffer); buf = Buffer.from(mem.buffer) }
    return u8
  }
  /** Makes room for `bytes` bytes at `at` (as the SDK does: grows by whole pages). */
  const reserve = (at: number, bytes: number): Uint8Array => {
    const delta = at + bytes - mem.buffer.byteLength
    if (delta > 0) mem.grow(Math.ceil(delta / PAGE))
    return view()
  }
  const text = (input: unknown, id: number): string => {
    // read on every call: setData moves them
    const dataAddr = loaded.dataAddr as number
    const at = loaded.dataHeapPtr as number
    let inputAddr = 0
    let len = 0
    // Only undefined is no input: null, false, 0 and "" are inputs (as `opa eval -i` gives them).
    if (input !== undefined) {
      inputAddr = at
      if (input instanceof ArrayBuffer) {
        len = input.byteLength
        reserve(at, len).set(new Uint8Array(input), at)
      } else {
        const text = input instanceof InputJson ? input.text : JSON.stringify(input) as string | undefined
        if (text !== undefined) {
          // UTF-8 takes at most 3 bytes per UTF-16 unit; grow only by what the text needs
          const worst = text.length * 3
          if (at + worst <= mem.buffer.byteLength) view()
          else reserve(at, Buffer.byteLength(text, 'utf8'))
          // Buffer#write stops silently where the room ends: the room is checked above
          len = buf.write(text, at, 'utf8')
        }
      }
    }
    const addr = opaEval(0, id, dataAddr, inputAddr, len, at + len, 0)
    const bytes = view()
    const end = bytes.indexOf(0, addr)
    return buf.toString('utf8', addr, end < 0 ? bytes.length : end)
  }
  return { run: (input, id) => parseJsonExact(text(input, id)), text }
}

function readCString (mem: WebAssembly.Memory, addr: number): string {
  const bytes = new Uint8Array(mem.buffer)
  let end = addr
  while (end < bytes.length && bytes[end] !== 0) end++
  return Buffer.from(bytes.buffer, addr, end - addr).toString('utf8')
}

function errorText (e: unknown): string {
  if (e instanceof Error) return e.message
  if (typeof e === 'string') return abortText(e)
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message)
  return String(e)
}

/**
 * The runtime's abort message (a string the SDK throws from opa_abort) as the UTF-8 it was: the
 * SDK reads the bytes as signed chars, so a byte from 0x80 up arrives as U+FF80..U+FFFF and
 * "é" read "\uffc3\uffa9" in a strict error (review helper, 2026-12-07).
 */
function abortText (s: string): string {
  if (!/[\uff80-\uffff]/.test(s) || /[^\u0001-\u007f\uff80-\uffff]/.test(s)) return s
  return Buffer.from(Array.from(s, c => c.charCodeAt(0) & 0xff)).toString('utf8')
}

/** The engine's own words for an evaluation failure thrown by a WasmPolicy (without the
 *  BOUNCER_ERR_POLICY_EVAL wording around them), e.g. for `bouncer test`'s report. */
export function evaluationMessage (e: unknown): string {
  if (e instanceof BouncerError && (e.code === 'BOUNCER_ERR_POLICY_EVAL' || e.code === 'BOUNCER_ERR_POLICY_EVAL_TIMEOUT') && e.cause !== undefined) {
    return errorText(e.cause)
  }
  return errorText(e)
}

function evaluationFailure (e: unknown): BouncerError {
  const msg = errorText(e)
  if (msg.startsWith(BUDGET_EXCEEDED)) {
    return new BouncerError('BOUNCER_ERR_POLICY_EVAL_TIMEOUT', [`${msg.slice(BUDGET_EXCEEDED.length)} (policy.eval_step_budget)`], { cause: e })
  }
  return new BouncerError('BOUNCER_ERR_POLICY_EVAL', [msg], { cause: e })
}

function setDataOf (loaded: { setData: (d: object) => void }, data: unknown): void {
  try {
    loaded.setData(data as object ?? {})
  } catch (e) {
    throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`cannot load data: ${errorText(e)}`], { cause: e })
  }
}

// Errors are OPA's: undefined, or with strict builtin errors an evaluation error.
const floatHost = guard(FLOAT_BUILTIN, floatBuiltin)

export async function loadWasmPolicy (wasm: Uint8Array, data: unknown = {}, opts: WasmPolicyOptions = {}): Promise<WasmPolicy> {
  const onCoverage = opts.onCoverage
  // Host calls the planner adds itself: non-integer arithmetic always, coverage hits on request.
  const registry = {
    ...(opts.builtins ?? hostBuiltins),
    [FLOAT_BUILTIN]: floatHost,
    ...(onCoverage === undefined ? {} : { [COVERAGE_BUILTIN]: (point: unknown) => { onCoverage(Number(point)); return true } }),
  }
  let initial = opts.initialMemoryPages ?? 16
  let maximum = opts.maxMemoryPages ?? 4096
  let loaded!: ReturnType<typeof loadPolicySync>
  let module: WebAssembly.Module
  try {
    module = await WebAssembly.compile(wasm as unknown as BufferSource)
  } catch (e) {
    throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`not a valid Wasm module: ${errorText(e)}`], { cause: e })
  }
  // The module declares its own memory limits; the imported memory must fit them. V8 names
  // the mismatch in the LinkError, so adjust once to the module's declaration.
  for (let attempt = 0; ; attempt++) {
    try {
      // The module is compiled already (above, asynchronously): instantiate it synchronously.
      // The SDK's async loadPolicy() asks whether its argument is a fetch Response, and reading
      // the global Response loads Node's whole internal fetch implementation (~4 MB of RSS).
      loaded = loadPolicySync(module, { initial, maximum }, registry as Record<string, (...a: unknown[]) => unknown>)
      break
    } catch (e) {
      const msg = errorText(e)
      const small = /smaller than the declared initial of (\d+)/.exec(msg)
      const large = /larger maximum size (\d+) than the module's declared maximum (\d+)/.exec(msg)
      if (attempt < 2 && e instanceof WebAssembly.LinkError && (small || large)) {
        if (small) initial = Math.max(initial, Number(small[1]))
        if (large) maximum = Number(large[2])
        if (initial > maximum) throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`module needs ${initial} memory pages; the limit is ${maximum}`])
        continue
      }
      throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [msg], { cause: e })
    }
  }
  // The SDK keeps the module's builtins() map private; read it the same way it does
  // (dump the value to JSON). This allocates above the heap base, which setData resets.
  let required: string[]
  try {
    const exp = (loaded.wasmInstance as WebAssembly.Instance).exports as unknown as Exports
    const map = JSON.parse(readCString(loaded.mem, exp.opa_json_dump(exp.builtins()))) as Record<string, number>
    required = Object.keys(map).sort()
  } catch (e) {
    throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`cannot read the module's builtins: ${errorText(e)}`], { cause: e })
  }
  const exp = (loaded.wasmInstance as WebAssembly.Instance).exports as unknown as Exports
  let stepBudget: number | null = null
  if (typeof exp.bouncer_eval_step_budget_set === 'function') {
    const b = opts.evalStepBudget ?? DEFAULT_EVAL_STEP_BUDGET
    if (!Number.isSafeInteger(b) || b < 0) throw new BouncerError('BOUNCER_ERR_POLICY_LOAD', [`invalid evaluation step budget: ${b}`])
    exp.bouncer_eval_step_budget_set(b)
    stepBudget = b
  }
  const steps = typeof exp.bouncer_eval_steps === 'function' ? exp.bouncer_eval_steps : undefined
  const missing = missingBuiltins(required, registry)
  if (missing.length) throw new BouncerError('BOUNCER_ERR_POLICY_MISSING_BUILTIN', [missing.join(', ')])
  setDataOf(loaded, data)
  const eps = loaded.entrypoints as Record<string, number>
  const entrypoints = Object.keys(eps).sort()
  const idOf = (entrypoint: string): number => {
    if (!Object.prototype.hasOwnProperty.call(eps, entrypoint)) {
      throw new BouncerError('BOUNCER_ERR_POLICY_ENTRYPOINT', [entrypoint, entrypoints.join(', ') || '(none)'])
    }
    return eps[entrypoint]
  }
  const strict = opts.strictBuiltinErrors ?? false
  // The arguments of the host builtin being called, exactly (see context.ts guard): modules of
  // Bouncer's runtime expose them; OPA-built ones do not.
  const argCount = exp.bouncer_host_arg_count
  const argAt = exp.bouncer_host_arg
  const hostArgs = argCount !== undefined && argAt !== undefined
    ? (): unknown[] | undefined => {
        const n = argCount()
        if (n === 0) return undefined
        const out: unknown[] = []
        for (let i = 0; i < n; i++) out.push(parseJsonExact(readCString(loaded.mem, exp.opa_json_dump(argAt(i)))))
        return out
      }
    : undefined
  const calls = evaluateWith(loaded as unknown as LoadedInternals, exp)
  const evalOnce = calls.run

  return Object.freeze({
    entrypoints,
    builtins: required,
    nondeterministic: anyNondeterministic(required),
    memoryBytes: () => loaded.mem.buffer.byteLength,
    stepBudget,
    lastEvalSteps: () => steps?.(),
    setData: (value: unknown) => { setDataOf(loaded, value) },
    evaluate (value: unknown, entrypoint: string): ResultSet {
      const id = idOf(entrypoint)
      const onPrint = opts.onPrint
      const print = onPrint === undefined ? undefined : (line: string) => onPrint(line, { entrypoint, input: value })
      try {
        return runEvaluation(() => evalOnce(value, id), { strict, onPrint: print, hostArgs }) as ResultSet
      } catch (e) {
        throw evaluationFailure(e)
      }
    },
    evaluator (entrypoint: string, evOpts: EvaluatorOptions = {}): Evaluator {
      const id = idOf(entrypoint)
      const onPrint = opts.onPrint
      let input: unknown
      // one closure per entrypoint (not per evaluation): it reads the current input
      const print = onPrint === undefined ? undefined : (line: string) => onPrint(line, { entrypoint, input })
      const evalOpts = { strict, onPrint: print, hostArgs }
      // A module that imports no host builtin (print and coverage are host builtins too) never
      // reads the evaluation scope: it is not set up.
      const scoped = required.length > 0
      const resultOf = (rs: unknown): unknown => {
        if (!Array.isArray(rs) || rs.length === 0) return undefined
        if (rs.length > 1) throw new BouncerError('BOUNCER_ERR_POLICY_EVAL', [`entrypoint ${entrypoint} produced ${rs.length} results`])
        const first = rs[0] as { result?: unknown } | null
        return first && typeof first === 'object' ? first.result : undefined
      }
      /** `call` as one evaluation of the value: in the evaluation scope, failures as BouncerErrors. */
      const scopedCall = <T>(call: (v: unknown, id: number) => T): ((value: unknown) => T) => {
        const run = () => call(input, id)
        return (value) => {
          input = value
          try {
            // One evaluation scope for host builtins: strictness, one clock, per-evaluation memos.
            return scoped ? runEvaluation(run, evalOpts) : call(value, id)
          } catch (e) {
            throw evaluationFailure(e)
          }
        }
      }
      if (evOpts.shareResults === true && calls.text !== undefined) {
        const text = scopedCall(calls.text)
        const shared = new Map<string, { readonly value: unknown }>()
        return (value: unknown): unknown => {
          const t = text(value)
          const hit = shared.get(t)
          if (hit !== undefined) return hit.value
          let rs: unknown
          try { rs = parseJsonExact(t) } catch (e) { throw evaluationFailure(e) }
          const result = deepFreeze(resultOf(rs))
          if (t.length <= SHARED_MAX_TEXT) {
            if (shared.size >= SHARED_MAX_ENTRIES) shared.clear()
            shared.set(t, { value: result })
          }
          return result
        }
      }
      const once = scopedCall(evalOnce)
      return (value: unknown): unknown => resultOf(once(value))
    },
  })
}
