// Response masking (src/masking) as the pipeline's Masker, from config.masking; and the HMAC key
// of the "hash" action, which decision-log mask rules use too.
import type { BouncerConfig } from '../config/index.js'
import { bouncerError } from '../errors.js'
import { ConfigError } from '../config/index.js'
import { compileMaskRules, maskUpstreamResponse, MIN_HASH_KEY_BYTES, type CompiledMask } from '../masking/index.js'
import { walkModulePath } from '../masking/json-scan.js'
import type { Masker } from '../proxy/seams.js'
import { readSettingFile } from './tls.js'

/** The masking HMAC key (masking.hash_key or the trimmed content of masking.hash_key_file). */
export function readHashKey (cfg: BouncerConfig['masking']): Buffer | undefined {
  // hash_key itself was length-checked with the rest of the config; the file is read here.
  if (cfg.hash_key !== undefined) return Buffer.from(cfg.hash_key)
  const file = cfg.hash_key_file
  if (file === undefined) return undefined
  const key = Buffer.from(readSettingFile(file, 'masking.hash_key_file').trim())
  if (key.length < MIN_HASH_KEY_BYTES) {
    throw new ConfigError([`masking.hash_key_file: ${file} holds a ${key.length}-byte key (after trimming whitespace); it must be at least ${MIN_HASH_KEY_BYTES} bytes (e.g. \`openssl rand -base64 32\`)`])
  }
  return key
}

export interface MaskingDeps {
  hashKey: Buffer | undefined
  log: { warn (obj: object, msg: string): void }
  /** Where the Wasm walk's module is, null when missing (default: the package's build/json-scan.wasm). */
  walkModule?: () => string | null
}

export function fromConfig (cfg: BouncerConfig['masking'], deps: MaskingDeps): Masker<CompiledMask> {
  const { hashKey } = deps
  // A build without the masker's Wasm walk still masks (in JavaScript, the same bytes), at about
  // twice the CPU: said once, at start, where the platform team looks.
  if ((deps.walkModule ?? walkModulePath)() === null) {
    const e = bouncerError('BOUNCER_ERR_MASK_SCANNER_MISSING', 'build/json-scan.wasm')
    deps.log.warn({ code: e.code }, e.message)
  }
  const opts = { hashKey, maxBodyBytes: cfg.max_body_bytes, failStatus: cfg.fail_status }
  return {
    compile (rules) {
      const compiled = compileMaskRules(rules)
      if (compiled.usesHash && !hashKey) throw new Error('mask rules use "hash" but masking.hash_key is not configured')
      return compiled
    },
    async apply (res, compiled, ctx) {
      return await maskUpstreamResponse(res, compiled, { ...opts, method: ctx.method, ...(ctx.budget !== undefined ? { budget: ctx.budget } : {}) })
    },
  }
}
