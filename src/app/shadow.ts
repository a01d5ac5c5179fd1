// The shadow policy from config.policy (shadow, shadow_entrypoint, shadow_sample,
// shadow_max_per_second) or from the bundle service (bundles.shadow_resource): its own
// PolicyHolder, and the observer the engine calls (src/proxy/shadow.ts). Imported by compose only
// when a shadow is configured.
//
// policy.shadow is loaded at start and on reload; bundles.shadow_resource is polled like the
// active bundle, by its own BundleManager named "shadow" (same service, signing keys and limits;
// its own persisted copy), started without waiting for its first download: the shadow is not
// critical, so a bundle service slow to answer for it (a hung request, long polling) delays
// neither the active policy nor the listeners; decisions made before it is active are skipped
// (no_shadow_policy), those after are compared. A shadow that cannot be loaded (missing file,
// compile error, bad or unverifiable bundle) is not a reason to refuse to start or to stop
// serving: the error is logged with the compiler's diagnostics (file:line:col), counted
// (bouncer_shadow_load_failures_total), reported by /readyz as a non-critical WARN, and the proxy
// serves with the active policy alone (decisions are counted as skipped, no_shadow_policy). A
// reload or a new bundle that fails keeps the shadow that was loaded before. close() stops the
// poller, its first download too if that is still waiting.
import type { Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import { ConfigError } from '../config/index.js'
import { normalizeStatus, type Health } from '../health/index.js'
import type { Metrics } from '../metrics/index.js'
import type { BundleManager } from '../policy/bundle/index.js'
import { PolicyHolder } from '../policy/holder.js'
import { loadPolicyFromPath, type LoadedPolicy, type LoadPolicyOptions } from '../policy/load.js'
import type { DecisionObserver } from '../proxy/engine.js'
import type { PolicyInput } from '../proxy/input.js'
import type { DecisionLogger, Masker } from '../proxy/seams.js'
import { createShadow, type Shadow } from '../proxy/shadow.js'
import { signingFromConfig } from './bundle-signing.js'
import type { SecretScrubber } from '../proxy/secret-values.js'

export interface ShadowComponent {
  readonly holder: PolicyHolder
  readonly observe: DecisionObserver
  /** Evaluates what is queued now (tests). */
  readonly drain: Shadow['drain']
  /**
   * Loads policy.shadow; or starts the shadow bundle's poller and returns without waiting for its
   * first attempt (`started` settles after it). Never throws.
   */
  load (): Promise<void>
  /** The shadow bundle's first attempt (and, failing it, the persisted copy), once load() started it; tests wait on it. */
  readonly started: Promise<void> | undefined
  /** Stops the shadow bundle's poller (if any), its first attempt included, and waits for it. */
  close (): Promise<void>
}

export interface ShadowComponentDeps {
  readonly metrics: Metrics
  readonly log: Logger
  readonly health: Health
  readonly policyOptions: LoadPolicyOptions
  readonly decisionLog?: DecisionLogger
  readonly masker?: Masker
  readonly production: boolean
  readonly allowInsecure: boolean
  /** Cuts credential values of the input out of an error message (the active path's, src/proxy/secret-values.ts). */
  readonly scrubSecrets: SecretScrubber
  /** Called with the input right before each shadow evaluation (policy.print). */
  readonly beforeEvaluate?: (input: PolicyInput) => void
  /** Clock in ms for the per-second cap (tests inject one). */
  readonly now?: () => number
  /** Sampling's random source (tests inject one). */
  readonly random?: () => number
}

/** The shadow settings run refuses (src/app/preflight.ts runs this too). */
export function checkShadowConfig (c: Pick<BouncerConfig, 'policy' | 'bundles'>): void {
  const resource = c.bundles.shadow_resource
  if (c.policy.shadow && resource) throw new ConfigError(['bundles.shadow_resource: not together with policy.shadow (one shadow policy)'])
  if (resource && !c.bundles.service_url) throw new ConfigError(['bundles.shadow_resource: needs bundles.service_url'])
}

export async function fromConfig (c: Pick<BouncerConfig, 'policy' | 'bundles'>, deps: ShadowComponentDeps): Promise<ShadowComponent | undefined> {
  const p = c.policy
  const path = p.shadow
  const resource = c.bundles.shadow_resource
  if (!path && !resource) return undefined
  checkShadowConfig(c)
  const { metrics, log, health } = deps
  const entrypoint = p.shadow_entrypoint ?? p.entrypoint
  const policyOptions: LoadPolicyOptions = p.shadow_eval_step_budget === undefined ? deps.policyOptions : { ...deps.policyOptions, evalStepBudget: p.shadow_eval_step_budget }
  const holder = new PolicyHolder()
  let lastError: string | undefined
  holder.onActivate((next, prev) => {
    if (prev) metrics.shadowPolicyInfo.remove({ revision: prev.revision, entrypoint: prev.entrypoint, source: prev.source })
    metrics.shadowPolicyInfo.set({ revision: next.revision, entrypoint: next.entrypoint, source: next.source }, 1)
    log.info({ revision: next.revision, previous: prev?.revision, source: next.source, entrypoint: next.entrypoint }, 'shadow policy activated (evaluated, never enforced)')
  })
  health.register('shadow_policy', () => {
    const s = holder.current
    if (lastError !== undefined) return { status: 'WARN', message: lastError, ...(s ? { revision: s.revision } : {}) }
    return s ? { status: 'OK', revision: s.revision, source: s.source, entrypoint: s.entrypoint } : { status: 'NOT_READY', message: 'shadow policy not loaded yet' }
  }, { critical: false })
  const failed = (setting: string, e: unknown): void => {
    lastError = `${setting}: ${(e as Error).message}`
    metrics.shadowLoadFailures.inc()
    log.error({ code: (e as { code?: unknown }).code, error: lastError, kept: holder.current?.revision },
      holder.current ? 'shadow policy failed to load; the previous shadow stays' : 'shadow policy failed to load; serving with the active policy only')
  }
  const activate = (policy: LoadedPolicy): void => {
    holder.activate(policy)
    lastError = undefined
  }
  const shadow = createShadow({
    sample: p.shadow_sample,
    maxPerSecond: p.shadow_max_per_second,
    evalTimeoutSeconds: p.eval_timeout_seconds,
    parsedBodyMaxBytes: p.parsed_body.max_bytes,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  }, { holder, metrics, log, decisionLog: deps.decisionLog, masker: deps.masker, beforeEvaluate: deps.beforeEvaluate, scrubSecrets: deps.scrubSecrets })

  let bundles: BundleManager | undefined
  if (resource) {
    bundles = (await import('./bundles.js')).fromConfig(c.bundles, {
      holder, entrypoint, policyOptions, metrics, log, production: deps.production, allowInsecure: deps.allowInsecure,
    }, {
      name: 'shadow',
      resource,
      // Its own scope (bundles.signing.shadow_scope), so neither bundle can stand in for the other.
      scope: c.bundles.signing.shadow_scope ?? c.bundles.signing.scope,
      activate,
      // A bundle that does not load (entrypoint missing, a module that does not compile): the
      // manager keeps the previous one and counts it in bouncer_bundle_failures_total{name="shadow"}.
      onError: (e) => failed('bundles.shadow_resource', e),
    })
    const manager = bundles
    if (manager) health.register('shadow_bundle', () => normalizeStatus(manager.status()), { critical: false })
  }
  let started: Promise<void> | undefined
  let closed = false
  return {
    holder,
    observe: shadow.observe,
    drain: shadow.drain,
    get started () { return started },
    async load () {
      if (bundles !== undefined) {
        if (started !== undefined || closed) return
        // Not awaited: its outcome is the shadow's own (activated, or counted and logged by
        // onError and the manager), and close() stops it even mid-request.
        started = bundles.start().catch((e: unknown) => failed('bundles.shadow_resource', e))
        return
      }
      try {
        // A bundle archive as policy.shadow is checked against the shadow's own scope, as one
        // from bundles.shadow_resource is: neither bundle can stand in for the other.
        const verification = signingFromConfig(c.bundles, c.bundles.signing.shadow_scope ?? c.bundles.signing.scope)
        const { verification: _active, ...rest } = policyOptions
        activate(await loadPolicyFromPath(path!, entrypoint, verification === undefined ? rest : { ...rest, verification }))
      } catch (e) {
        failed('policy.shadow', e)
      }
    },
    async close () {
      closed = true
      if (bundles === undefined) return
      // stop() aborts the first attempt if it is still waiting (nothing is counted for that), and
      // the poller after it; close() returns once both are over.
      const stopping = bundles.stop()
      await started
      await stopping
    },
  }
}
