// The process logger (pino, JSON lines): built from config.logging, with what else must never
// reach a log line taken from the auth and decision-log sections.
import { pino, type DestinationStream, type Logger } from 'pino'
import type { BouncerConfig } from '../config/index.js'
import { compileLogScrubber, DEFAULT_ERASE_QUERY_PARAMS } from '../decision-log/erase.js'

/** What else createLogger keeps out of logs (from the auth and decision-log config). */
export interface LoggerSecrets {
  /** The header callers send their token in (auth.jwt.header), redacted like authorization. */
  authHeader?: string
  /** Query parameter names that are credentials (decision_logs.erase_query_params). */
  queryParams?: readonly string[]
}

/**
 * JSON logs; credentials never leave the process: credential headers (authorization, cookies,
 * the configured auth header) are redacted by pino's compiled paths, and query parameters
 * named as credentials are scrubbed from `url`/`path`/`query` fields of every line by a
 * formatter that child loggers inherit (also those that switch redaction off).
 */
export function createLogger (level: BouncerConfig['logging']['level'], extraRedact: readonly string[] = [], destination?: DestinationStream, secrets: LoggerSecrets = {}): Logger {
  const sensitive = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization']
  const auth = secrets.authHeader?.trim().toLowerCase()
  if (auth && !sensitive.includes(auth)) sensitive.push(auth)
  const paths = [
    ...sensitive.map((h) => `[${JSON.stringify(h)}]`).flatMap((h) => [`req.headers${h}`, `res.headers${h}`, `headers${h}`, `*.headers${h}`, `input.attributes.request.http.headers${h}`]),
    ...extraRedact,
  ]
  const scrub = compileLogScrubber(secrets.queryParams ?? DEFAULT_ERASE_QUERY_PARAMS)
  return pino({
    level,
    base: { service: 'bouncer' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }), log: scrub },
  }, destination ?? pino.destination({ sync: false }))
}

/** The logger `bouncer run` uses: config.logging, plus the auth header and credential query parameters. */
export function fromConfig (logging: BouncerConfig['logging'], deps: { authHeader: string; queryParams: readonly string[]; destination?: DestinationStream }): Logger {
  return createLogger(logging.level, logging.redact, deps.destination, { authHeader: deps.authHeader, queryParams: deps.queryParams })
}
