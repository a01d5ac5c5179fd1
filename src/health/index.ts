// Readiness and health: components register a reporter returning their status (OPA's
// NOT_READY / OK / WARN / ERROR). /readyz is 200 only when every *critical* reporter is OK or
// WARN; non-critical ones (e.g. Redis, the decision-log uploader) can only make the
// instance "degraded", which is reported but keeps it in rotation.

export type ComponentStatus = 'NOT_READY' | 'OK' | 'WARN' | 'ERROR'

export interface StatusReport {
  readonly status: ComponentStatus
  readonly message?: string
  readonly [detail: string]: unknown
}

export type StatusReporter = () => StatusReport

export interface ReadinessReport {
  readonly ready: boolean
  readonly degraded: boolean
  readonly components: Record<string, StatusReport & { critical: boolean }>
}

export class Health {
  readonly #reporters = new Map<string, { reporter: StatusReporter; critical: boolean }>()
  #shuttingDown = false

  /** Registers (or replaces) a component; `critical` components gate readiness. */
  register (name: string, reporter: StatusReporter, opts: { critical: boolean }): () => void {
    this.#reporters.set(name, { reporter, critical: opts.critical })
    return () => { if (this.#reporters.get(name)?.reporter === reporter) this.#reporters.delete(name) }
  }

  /** After SIGTERM readiness turns false so load balancers stop sending traffic. */
  markShuttingDown (): void { this.#shuttingDown = true }

  readiness (): ReadinessReport {
    let ready = !this.#shuttingDown
    let degraded = false
    const components: Record<string, StatusReport & { critical: boolean }> = {}
    for (const [name, { reporter, critical }] of this.#reporters) {
      let report: StatusReport
      try { report = reporter() } catch (e) { report = { status: 'ERROR', message: `status reporter failed: ${(e as Error).message}` } }
      components[name] = { ...report, critical }
      const bad = report.status === 'NOT_READY' || report.status === 'ERROR'
      if (bad && critical) ready = false
      if (bad || report.status === 'WARN') degraded = true
    }
    if (this.#shuttingDown) components.shutdown = { status: 'NOT_READY', message: 'shutting down', critical: true }
    return { ready, degraded, components }
  }
}

const STATUSES: ReadonlySet<string> = new Set(['NOT_READY', 'OK', 'WARN', 'ERROR'])

/**
 * Components report status in their own shape; readiness needs a StatusReport. Accepted:
 * `{status: <ComponentStatus>}`, `{state: <ComponentStatus>}` (decision logs), and the cache's
 * `{redis: 'ok' | 'degraded' | 'disabled'}` (degraded → WARN). Anything else counts as OK.
 */
export function normalizeStatus (report: unknown): StatusReport {
  if (!report || typeof report !== 'object') return { status: 'OK' }
  const r = report as Record<string, unknown>
  if (typeof r.status === 'string' && STATUSES.has(r.status)) return r as StatusReport
  if (typeof r.state === 'string' && STATUSES.has(r.state)) return { ...r, status: r.state as ComponentStatus }
  if (r.redis === 'degraded') return { ...r, status: 'WARN', message: 'redis tier skipped (down or not connected)' }
  return { ...r, status: 'OK' }
}
