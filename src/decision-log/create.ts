// Which decision logger a configuration gets: the hash chain, spool and delivery on their own
// thread (thread.ts) wherever the in-thread logger would defer its work to the end of the turn
// anyway — write_mode group or batched with overflow drop_oldest, the defaults — and in the
// request thread otherwise (sync writes before record() returns; backpressure needs the line's
// size in record()), or when the caller hands in its own sink or stdout (they cannot cross a
// thread), or when decision_logs.thread is "main".

import { resolveDecisionLogConfig, type DecisionLogConfigInput } from './config.js'
import { DecisionLogger, type DecisionLoggerOptions } from './logger.js'
import { ThreadedDecisionLogger } from './thread.js'

/** What both loggers offer. */
export type DecisionLog = Pick<DecisionLogger, 'config' | 'holdRequests' | 'start' | 'record' | 'written' | 'settled' | 'stop' | 'status'>

export function createDecisionLogger (config: DecisionLogConfigInput, deps: DecisionLoggerOptions = {}): DecisionLog {
  const c = resolveDecisionLogConfig(config, deps) // throws on bad config, whichever logger
  const threaded = c.thread === 'worker' && c.overflow === 'drop_oldest' && c.spool.write_mode !== 'sync' &&
    deps.sink === undefined && deps.stdout === undefined
  return threaded ? new ThreadedDecisionLogger(config, deps) : new DecisionLogger(config, deps)
}
