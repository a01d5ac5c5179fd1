// Public surface of the masking engine: compile a decision's `mask` rules once, apply them to
// upstream JSON responses (fail closed) and to decision-log documents ({input, result}).
export { compileMaskRules, clearMaskRuleCache, maskRuleCacheSize, MAX_MASK_RULES, MAX_REPLACEMENT_LENGTH } from './rules.js'
export type { MaskRule, CompiledMask, CompiledRule } from './rules.js'
export { applyMask } from './apply.js'
export type { ApplyMaskOptions, ApplyMaskResult } from './apply.js'
export { maskUpstreamResponse, jsonMediaType, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_DEPTH } from './response.js'
export type { MaskResponseOptions, UpstreamResponse, MaskedResponse } from './response.js'
export { MaskRuleError, MaskFailClosedError } from './errors.js'
export type { FailClosedCode } from './errors.js'
export { MASK_ACTIONS, DEFAULT_REDACTION, DEFAULT_LAST4_PREFIX, HASH_PREFIX, MIN_HASH_KEY_BYTES, hashValue } from './actions.js'
export type { MaskAction } from './actions.js'
export { parseMaskPointer, escapeToken, MAX_POINTER_TOKENS, MAX_POINTER_LENGTH } from './pointer.js'
export { parseStrictJson, canonicalJson } from './json.js'
