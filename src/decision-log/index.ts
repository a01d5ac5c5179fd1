// Public surface of decision logging: OPA-format events, hash-chained, spooled to disk and
// delivered in the background; verifyLog checks a stored chain.
export { DecisionLogger, BOUNCER_VERSION } from './logger.js'
export type {
  DecisionLoggerOptions, DecisionLogMetrics, DecisionLogLog, DecisionLogStatus, DecisionLogState, LossReason, StopResult,
} from './logger.js'
export { resolveDecisionLogConfig, validateServiceUrl, DEFAULT_ERASE_HEADERS } from './config.js'
export { DEFAULT_ERASE_QUERY_PARAMS, REDACTED_VALUE, compileLogScrubber, compileNameMatcher, compileUrlScrubber } from './erase.js'
export type {
  DecisionLogConfig, DecisionLogConfigInput, DecisionLogGlobals, SinkName, FsyncPolicy, OverflowPolicy, WriteMode,
} from './config.js'
export { chainMaskers, compileEventBuilder, maskerFromDocumentMask, parseTraceparent } from './event.js'
export { logPolicyMasker, type LogPolicy } from './log-policy.js'
export type {
  DecisionEventInput, ShadowRecord, DecisionEvent, EventMasker, DropMarker, DropDeclaration, DropReason, ChainFields, TraceContext,
} from './event.js'
export { verifyLog } from './verify.js'
export type { VerifyResult, ChainBreak, BreakReason } from './verify.js'
export { canonicalJson } from './canonical.js'
export { sealEvent, computeHash, GENESIS_HASH } from './chain.js'
export type { ChainHead, SealedEntry } from './chain.js'
export type { Sink, SendResult } from './sinks.js'
export { rfc3339Nano, nowNs } from './timestamp.js'
