import { BouncerError, type ErrorCode } from '../errors.js'

/** The bundle codes of src/errors.ts that take (file, reason). */
export type BundleErrorCode = Extract<ErrorCode, `BOUNCER_ERR_BUNDLE_${string}`>

/**
 * A bundle that cannot be used. `file` names the bundle entry (`data.json`, `.manifest`)
 * or, for whole-archive problems, the bundle's source; `reason` is the human text that
 * goes to logs and the status API; `kind` is the short, stable label used for metrics
 * (`signature`, `too_large`, ...), derived from the code so the two never drift apart.
 */
export class BundleError extends BouncerError {
  readonly file: string
  readonly reason: string
  readonly kind: string
  constructor (code: BundleErrorCode, file: string, reason: string, options?: { cause?: unknown }) {
    super(code, [file, reason], options)
    this.name = 'BundleError'
    this.file = file
    this.reason = reason
    this.kind = code.slice('BOUNCER_ERR_BUNDLE_'.length).toLowerCase()
  }
}

export function isBundleError (e: unknown, code?: BundleErrorCode): e is BundleError {
  return e instanceof BundleError && (code === undefined || e.code === code)
}

/** A short description of any thrown value, for reasons and logs. */
export function describeError (e: unknown): string {
  if (e instanceof Error) return e.message
  return String(e)
}
