// What `bouncer run` refuses at start beyond the schema, found without starting anything: the
// files settings name (TLS material, keys, tokens, the policy path), the keys' sizes, and the
// components' own checks of their slices. `bouncer config check` runs it, so a config it passes
// does not then crash-loop the pod on a file run cannot read (review helper, 2026-12-07).
// Each check is the component's own reader; nothing listens, connects or writes.
import { stat } from 'node:fs/promises'
import type { BouncerConfig } from '../config/index.js'
import { ConfigError } from '../config/index.js'
import { resolveDecisionLogConfig } from '../decision-log/config.js'
import { loadServerTls } from '../proxy/tls.js'
import { grpcUpstreamUrl } from '../proxy/grpc.js'
import { prepareVerification } from '../bundle/signatures.js'
import { signingFromConfig } from './bundle-signing.js'
import { checkShadowConfig } from './shadow.js'
import { integrityKeyOf } from './cache.js'
import { loggerConfigOf } from './decision-log.js'
import { readHashKey } from './masking.js'
import { readOptionalFile, readTlsFiles } from './tls.js'

/** The problems run would meet at start, one line each naming the setting; [] when none. */
export async function preflight (config: BouncerConfig): Promise<string[]> {
  const problems: string[] = []
  const check = async (what: string, fn: () => unknown): Promise<void> => {
    try { await fn() } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.problems)
      else problems.push(`${what}: ${(e as Error).message}`)
    }
  }
  if (config.server.tls.enabled) await check('server.tls', () => loadServerTls(config.server.tls))
  let hashKey: Buffer | undefined
  await check('masking', () => { hashKey = readHashKey(config.masking) })
  const u = config.upstream
  // The HTTP/2 (gRPC) upstream too, in ext_authz mode without upstream.url (compose reads it so).
  if (u.url?.startsWith('https:') === true || grpcUpstreamUrl(u)?.startsWith('https:') === true) await check('upstream.tls', () => readTlsFiles(u.tls, 'upstream.tls'))
  const r = config.cache.redis
  if (config.cache.enabled && r.enabled) {
    await check('cache.redis.tls', () => readTlsFiles(r.tls, 'cache.redis.tls'))
    await check('cache.redis.password_file', () => readOptionalFile(r.password_file, 'cache.redis.password_file', { trim: true }))
    await check('cache.redis.sentinel.password_file', () => readOptionalFile(r.sentinel.password_file, 'cache.redis.sentinel.password_file', { trim: true }))
    await check('cache.redis.integrity_key_file', () => integrityKeyOf(r.integrity_key_file))
  }
  await check('bundles.shadow_resource', () => checkShadowConfig(config))
  const b = config.bundles
  if (b.service_url !== undefined) {
    await check('bundles.bearer_token_file', () => readOptionalFile(b.bearer_token_file, 'bundles.bearer_token_file', { trim: true }))
    await check('bundles.tls', () => readTlsFiles(b.tls, 'bundles.tls'))
  }
  // Read and imported as the bundle manager imports them (a key that is no PEM, a short HMAC).
  await check('bundles.signing', () => {
    const v = signingFromConfig(b, b.signing.scope)
    if (v !== undefined) prepareVerification(v)
  })
  const dl = config.decision_logs
  if (dl.enabled) {
    await check('decision_logs', () => {
      const { slice } = loggerConfigOf(dl, hashKey)
      resolveDecisionLogConfig(slice, { production: config.production, allow_insecure: config.allow_insecure, auth_header: config.auth.jwt.header })
    })
  }
  const jwt = config.auth.jwt
  if (jwt.enabled) {
    await check('auth.jwt', async () => {
      // Static keys are read and imported as at start (a file that is missing, a secret too short);
      // a JWKS is not fetched.
      const { createAuthenticator } = await import('../auth/index.js')
      const auth = await createAuthenticator(jwt, { jwksTls: jwt.jwks_url ? readTlsFiles(jwt.jwks_tls, 'auth.jwt.jwks_tls') : undefined })
      await auth?.close()
    })
  }
  const p = config.policy.path
  if (p !== undefined && p !== '') {
    await check('policy.path', async () => {
      try { await stat(p) } catch (e) {
        throw new ConfigError([`policy.path: ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`])
      }
    })
  }
  return problems
}
