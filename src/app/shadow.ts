// The shadow policy from config.policy (shadow, shadow_entrypoint, shadow_sample,
// shadow_max_per_second): its own PolicyHolder, loaded at start and on reload, and the observer
// the engine calls (src/proxy/shadow.ts). Imported by compose only when policy.shadow is set.
//
// A shadow that cannot be loaded (missing file, compile error, bad bundle) is not a reason to
// refuse to start or to stop serving: the error is logged with the compiler's diagnostics
// (file:line:col), counted (bouncer_shadow_load_failures_total), reported by /readyz as a
// non-critical WARN, and the proxy serves with the active policy alone (decisions are counted as
// skipped, no_shadow_policy). A reload that fails keeps the shadow that was loaded before.
import type { Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import type { Health } from '../health/index.js'
import type { Metrics } from '../metrics/index.js'
import { PolicyHolder } from '../policy/holder.js'
import { loadPolicyFromPath, type LoadPolicyOptions } from '../policy/load.js'
import type { DecisionObserver } from '../proxy/engine.js'
import type { DecisionLogger, Masker } from '../proxy/seams.js'
import { createShadow, type Shadow } from '../proxy/shadow.js'

export interface ShadowComponent {
  readonly holder: PolicyHolder
  readonly observe: DecisionObserver
  /** Evaluates what is queued now (tests). */
  readonly drain: Shadow['drain']
  /** Loads policy.shadow and activates it as the shadow; never throws. */
  load (): Promise<void>
}

export interface ShadowComponentDeps {
  readonly metrics: Metrics
  readonly log: Logger
  readonly health: Health
  readonly policyOptions: LoadPolicyOptions
  readonly decisionLog?: DecisionLogger
  readonly masker?: Masker
  /** Clock in ms for the per-second cap (tests inject one). */
  readonly now?: () => number
  /** Sampling's random source (tests inject one). */
  readonly random?: () => number
}

export function fromConfig (p: BouncerConfig['policy'], deps: ShadowComponentDeps): ShadowComponent | undefined {
  const path = p.shadow
  if (!path) return undefined
  const { metrics, log, health } = deps
  const entrypoint = p.shadow_entrypoint ?? p.entrypoint
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
  const shadow = createShadow({
    sample: p.shadow_sample,
    maxPerSecond: p.shadow_max_per_second,
    evalTimeoutSeconds: p.eval_timeout_seconds,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  }, { holder, metrics, log, decisionLog: deps.decisionLog, masker: deps.masker })
  return {
    holder,
    observe: shadow.observe,
    drain: shadow.drain,
    async load () {
      try {
        holder.activate(await loadPolicyFromPath(path, entrypoint, deps.policyOptions))
        lastError = undefined
      } catch (e) {
        lastError = `policy.shadow: ${(e as Error).message}`
        metrics.shadowLoadFailures.inc()
        log.error({ code: (e as { code?: unknown }).code, error: lastError, kept: holder.current?.revision },
          holder.current ? 'shadow policy failed to load; the previous shadow stays' : 'shadow policy failed to load; serving with the active policy only')
      }
    },
  }
}
