// The two error classes callers of the masking engine branch on.
import { BouncerError, type ErrorCode } from '../errors.js'

/**
 * A mask rule list from a policy decision is unusable. Callers turn this into a policy error
 * (deny) and log `ruleIndex` / `rule` so the policy author can find the bad rule.
 */
export class MaskRuleError extends BouncerError {
  /** Index of the offending rule in the list; null when the list itself is bad. */
  readonly ruleIndex: number | null
  readonly reason: string
  /** The offending rule as received (for logs); undefined when the list itself is bad. */
  readonly rule: unknown

  constructor (ruleIndex: number | null, reason: string, rule?: unknown) {
    super(ruleIndex === null ? 'BOUNCER_ERR_MASK_RULES_INVALID' : 'BOUNCER_ERR_MASK_RULE_INVALID',
      ruleIndex === null ? [reason] : [ruleIndex, reason])
    this.name = 'MaskRuleError'
    this.ruleIndex = ruleIndex
    this.reason = reason
    this.rule = rule
  }
}

export type FailClosedCode =
  | 'BOUNCER_ERR_MASK_NOT_JSON'
  | 'BOUNCER_ERR_MASK_TOO_LARGE'
  | 'BOUNCER_ERR_MASK_ENCODING'
  | 'BOUNCER_ERR_MASK_BODY_READ'
  | 'BOUNCER_ERR_MASK_BODY_INVALID'
  | 'BOUNCER_ERR_MASK_BUSY'

/**
 * A response that mask rules apply to could not be masked. The proxy must answer with
 * `statusCode` (502 unless configured) and must not send any of the upstream body.
 */
export class MaskFailClosedError extends BouncerError {
  // Re-declared so the configured fail status can replace the registry's default.
  override readonly statusCode: number
  declare readonly code: FailClosedCode

  constructor (code: FailClosedCode, args: readonly unknown[], statusCode = 502, options?: { cause?: unknown }) {
    super(code satisfies ErrorCode, args, options)
    this.name = 'MaskFailClosedError'
    this.statusCode = statusCode
  }
}
