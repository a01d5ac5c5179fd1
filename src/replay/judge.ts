// A policy to replay decisions with: loaded as `bouncer run` loads policy.path (a directory or
// file of Rego compiled by the project's compiler, or a bundle .tar.gz — src/policy/load.ts),
// and evaluated the way the proxy evaluates it (src/proxy/engine.ts): the input projected to
// the paths the entrypoint reads, serialised once, handed to the Wasm instance as bytes, the
// result checked against the decision contract.
import type { VerificationConfig } from '../bundle/index.js'
import { isBouncerError } from '../errors.js'
import { loadPolicyFromPath, type LoadedPolicy } from '../policy/load.js'
import { compileInputView, inputBytes } from '../proxy/projection.js'
import { compileReads } from './incomplete.js'
import { outcomeOfResult, type DecisionMode, type Outcome } from './outcome.js'

export interface Judge {
  /** The path as given and the revision the loader computed (content hash for Rego). */
  readonly source: string
  readonly revision: string
  /** The input paths the entrypoint reads (null: the whole input; undefined: not recorded). */
  readonly inputPaths: readonly (readonly string[])[] | null | undefined
  /** The policy calls builtins whose results are not a function of the input (time, random…). */
  readonly nondeterministic: boolean
  /** Whether the policy reads any of these input fields. */
  reads (fields: readonly (readonly string[])[]): boolean
  /** Two judges with the same key give the evaluator the same text for an input. */
  readonly viewKey: string
  /** What the evaluator is given for `input` (the projection, serialised canonically). */
  textOf (input: unknown): string
  /** The decision for a text from textOf (of this judge, or one with the same viewKey), read
   *  under the contract of the mode the event was recorded in. */
  decideText (text: string, mode: DecisionMode): Outcome
  decide (input: unknown, mode: DecisionMode): Outcome
  /** Evaluations run, and decisions taken from the memo instead. */
  readonly stats: { evaluations: number; memoHits: number }
}

export interface JudgeOptions {
  entrypoint: string
  regoVersion?: 0 | 1
  /** Keys for signed bundle archives (a signed bundle is refused without them, as by bouncer run). */
  verification?: VerificationConfig
}

/** Throws BouncerError BOUNCER_ERR_POLICY_LOAD (with file:line:col for compile errors) or
 * BOUNCER_ERR_POLICY_ENTRYPOINT. */
export async function loadJudge (path: string, opts: JudgeOptions): Promise<Judge> {
  const policy: LoadedPolicy = await loadPolicyFromPath(path, opts.entrypoint, {
    bundleName: 'replay',
    ...(opts.regoVersion !== undefined ? { regoVersion: opts.regoVersion } : {}),
    ...(opts.verification !== undefined ? { verification: opts.verification } : {}),
  })
  const view = compileInputView(policy.inputPaths)
  const evaluate = policy.evaluate
  const stats = { evaluations: 0, memoHits: 0 }
  const evaluateText = (text: string, mode: DecisionMode): Outcome => {
    stats.evaluations++
    let result: unknown
    try {
      result = evaluate(inputBytes(text))
    } catch (e) {
      const code = isBouncerError(e) ? e.code : 'BOUNCER_ERR_POLICY_EVAL'
      return { kind: 'error', code, message: (e as Error).message }
    }
    return outcomeOfResult(result, mode)
  }
  // The decision cache's reasoning (src/proxy/engine.ts): a deterministic policy decides the
  // same for the same projected input, so each distinct projection is evaluated once. Not for
  // policies that read the clock or random numbers, nor over the whole input (the request id
  // alone makes every text distinct).
  // One memo per mode: the same result reads differently under the two contracts.
  const memos = policy.cacheable && !view.whole ? { proxy: new Map<string, Outcome>(), ext_authz: new Map<string, Outcome>() } : null
  const decideText = memos === null
    ? evaluateText
    : (text: string, mode: DecisionMode): Outcome => {
        const memo = memos[mode]
        let o = memo.get(text)
        if (o !== undefined) { stats.memoHits++; return o }
        o = evaluateText(text, mode)
        if (memo.size >= MEMO_ENTRIES) memo.clear()
        memo.set(text, o)
        return o
      }
  return {
    source: path,
    revision: policy.revision,
    inputPaths: policy.inputPaths,
    nondeterministic: !policy.cacheable,
    reads: compileReads(policy.inputPaths),
    viewKey: view.whole ? '*' : JSON.stringify([...policy.inputPaths!].map((p) => [...p]).sort()),
    textOf: (input) => view.text(input),
    decideText,
    decide: (input, mode) => decideText(view.text(input), mode),
    stats,
  }
}

const MEMO_ENTRIES = 50_000
