// The active policy, swapped atomically. A request reads `holder.current` once at its start
// and uses that object until it finishes, so in-flight requests complete on the policy they
// started with while new requests see the new one. Nothing else is shared.
import type { Evaluator, WasmPolicy } from './eval/index.js'

/** input paths an entrypoint can read (compiler-recorded); null = the whole input; undefined = unknown. */
export type InputPaths = readonly (readonly string[])[] | null | undefined

export interface ActivePolicy {
  /** Bundle revision ("" when the source has none). */
  readonly revision: string
  /** SHA-256 (hex) of the policy's Wasm module and data: two policies share decision cache
   *  entries only when both their revision and this are equal (a revision is a label anyone
   *  can reuse). */
  readonly contentDigest: string
  /** Where it came from: a path, a bundle URL, ... (for logs and /readyz). */
  readonly source: string
  /** The decision entrypoint this policy is evaluated at. */
  readonly entrypoint: string
  /** The per-request evaluation of `entrypoint`. */
  readonly evaluate: Evaluator
  readonly wasm: WasmPolicy
  /** What the compiler recorded about the input paths the entrypoint reads (decision cache key). */
  readonly inputPaths: InputPaths
  /** False when the policy uses non-deterministic builtins: decisions are cached only with an explicit cache_ttl. */
  readonly cacheable: boolean
  /** Bundle name → revision, for decision-log events (OPA's `bundles` field). */
  readonly bundles: Readonly<Record<string, { revision: string }>>
  /** ms since epoch; set by PolicyHolder.activate. */
  readonly activatedAt: number
  /** The bundle's decision-log policies (data.system.log.mask / drop), when it has them. */
  readonly logPolicy?: { readonly mask?: Evaluator; readonly drop?: Evaluator }
}

export type ActivationListener = (next: ActivePolicy, previous: ActivePolicy | null) => void

export class PolicyHolder {
  #current: ActivePolicy | null = null
  readonly #listeners = new Set<ActivationListener>()

  get current (): ActivePolicy | null { return this.#current }

  /** Makes `policy` the one new requests use. Listeners (metrics, cache, status) run synchronously after the swap. */
  activate (policy: Omit<ActivePolicy, 'activatedAt'> & { activatedAt?: number }): void {
    const previous = this.#current
    this.#current = Object.freeze({ ...policy, activatedAt: Date.now() })
    for (const l of this.#listeners) {
      try { l(this.#current, previous) } catch { /* a listener must not undo an activation */ }
    }
  }

  onActivate (listener: ActivationListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }
}
