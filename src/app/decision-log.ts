// Decision logs (src/decision-log) from config.decision_logs. Imported by compose only when they
// are enabled: a bouncer without decision logs never loads the spool, the uploader or gzip.
import type { Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import { ConfigError } from '../config/index.js'
import { chainMaskers, DecisionLogger, logPolicyMasker, type DecisionLogConfigInput, type EventMasker } from '../decision-log/index.js'
import type { PolicyHolder } from '../policy/holder.js'
import { applyMask, compileMaskRules, type CompiledMask } from '../masking/index.js'
import type { Metrics } from '../metrics/index.js'
import { readOptionalFile, readTlsFiles } from './tls.js'

export interface DecisionLogDeps {
  readonly metrics: Metrics
  readonly log: Logger
  readonly production: boolean
  readonly allowInsecure: boolean
  /** auth.jwt.header: always erased from logged input, like authorization. */
  readonly authHeader: string
  /** The masking HMAC key, for "hash" rules in mask_rules. */
  readonly hashKey: Buffer | undefined
  /** The active policy: its decision-log policies (data.system.log.mask / drop) apply to events. */
  readonly holder: PolicyHolder
}

/**
 * The logger's own config from the slice: its files read now (a missing one is a config error at
 * start) and the mask rules compiled. `bouncer config check` runs this too (src/app/preflight.ts).
 */
export function loggerConfigOf (dl: BouncerConfig['decision_logs'], hashKey: Uint8Array | undefined): { slice: DecisionLogConfigInput; rules: CompiledMask | undefined } {
  let rules: CompiledMask | undefined
  if (dl.mask_rules.length) {
    rules = compileMaskRules(dl.mask_rules)
    if (rules.usesHash && !hashKey) throw new ConfigError(['decision_logs.mask_rules: "hash" rules need masking.hash_key or masking.hash_key_file'])
  }
  // Files are read here, through the one helper (the logger is handed their contents).
  // shutdown_flush_seconds is the lifecycle's (how long stop() is given), not the logger's.
  const { bearer_token_file: tokenFile, tls: tlsFiles, shutdown_flush_seconds: _flush, ...rest } = dl
  let slice: DecisionLogConfigInput = rest
  if (dl.sinks.includes('control_plane')) {
    const tls = readTlsFiles(tlsFiles, 'decision_logs.tls')
    slice = {
      ...rest,
      // Read now so that a missing file is a config error at start; the uploader reads the
      // file again for every upload (tokens are rotated on disk).
      bearer_token: readOptionalFile(tokenFile, 'decision_logs.bearer_token_file', { trim: true }),
      ...(tokenFile === undefined ? {} : { bearer_token_file: tokenFile }),
      tls: { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername, reject_unauthorized: tls.rejectUnauthorized },
    }
  }
  return { slice, rules }
}

/** The logger described by the slice, or undefined when decision logs are disabled. */
export function fromConfig (dl: BouncerConfig['decision_logs'], deps: DecisionLogDeps): DecisionLogger | undefined {
  if (!dl.enabled) return undefined
  const { metrics, log } = deps
  const hashKey = deps.hashKey
  const { slice, rules } = loggerConfigOf(dl, hashKey)
  // The bundle's own mask and drop policies first (as OPA applies them), then mask_rules.
  const holder = deps.holder
  let mask: EventMasker = logPolicyMasker(() => holder.current?.logPolicy)
  if (rules !== undefined) {
    const compiled = rules
    mask = chainMaskers(mask, (event) => {
      const r = applyMask(event, compiled, { hashKey })
      return { event: r.value as typeof event, erased: r.erased, masked: r.masked }
    })
  }
  // Bound once: recorded() runs for every decision.
  const recorded = metrics.decisionLogEvents.labels('recorded')
  const uploaded = metrics.decisionLogEvents.labels('uploaded')
  const dropped = metrics.decisionLogEvents.labels('dropped')
  const logger = new DecisionLogger(slice, {
    production: deps.production,
    allow_insecure: deps.allowInsecure,
    auth_header: deps.authHeader,
    mask,
    log,
    metrics: {
      recorded: () => recorded.inc(),
      delivered: (n) => uploaded.inc(n),
      dropped: (reason, n) => { dropped.inc(n); metrics.decisionLogDropped.inc({ reason }, n) },
      backpressure: () => metrics.decisionLogDropped.inc({ reason: 'backpressure' }),
      uploadFailed: (status) => metrics.decisionLogUploads.inc({ outcome: status === 413 ? 'too_large' : 'error' }),
      maskError: () => metrics.decisionLogDropped.inc({ reason: 'mask_error' }),
    },
  })
  metrics.collectors.push(() => {
    const s = logger.status()
    metrics.decisionLogSpoolBytes.set(s.spool_bytes)
    metrics.decisionLogBufferEvents.set(s.pending_events)
  })
  return logger
}
