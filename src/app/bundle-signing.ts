// bundles.signing as the bundle readers take it: for bundles from the service (bundles.ts) and
// for a bundle archive named by policy.path (compose.ts), as `opa run -b x.tar.gz
// --verification-key` verifies a local bundle with the same keys.
import type { BouncerConfig } from '../config/index.js'
import type { VerificationConfig } from '../bundle/signatures.js'
import { readOptionalFile } from './tls.js'

/** The verification config, or undefined without keys. `scope`: the scope the signature must carry (bundles.signing.scope, or the shadow's own). */
export function signingFromConfig (b: BouncerConfig['bundles'], scope: string | undefined): VerificationConfig | undefined {
  const keys = Object.entries(b.signing.keys)
  if (keys.length === 0) return undefined
  return {
    keys: Object.fromEntries(keys.map(([id, k]) => [id, {
      key: k.key ?? readOptionalFile(k.key_file, `bundles.signing.keys.${id}.key_file`) ?? '',
      algorithm: k.algorithm as 'RS256',
    }])),
    ...(scope ? { scope } : {}),
    excludeFiles: [...b.signing.exclude_files],
  }
}
