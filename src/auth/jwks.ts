// A JWKS fetched with undici and kept in memory. Refreshed when older than `maxAgeMs`
// (the stale set keeps serving while a refresh runs, and after one fails) and on demand when
// a token names an unknown `kid`; either way at most one fetch per `cooldownMs`, counted from
// the last attempt, so neither unknown kids nor an IdP outage make every request refetch.
// With `maxStaleMs`, a set that old (no fetch succeeded since) is not used: tokens then fail
// as they do before the first fetch.
// (Reviewed against jose's createRemoteJWKSet: see the README's library table.)
// `generation` counts the distinct key sets fetched, so whoever remembers a verification can
// tell (with one comparison) that the keys it was made with may have gone.
import { Agent, request } from 'undici'
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import { BouncerError } from '../errors.js'
import { redactUrl } from '../redact-url.js'

export interface JwksOptions {
  url: string
  maxAgeMs: number
  cooldownMs: number
  timeoutMs: number
  /** After this long without a successful fetch the set is no longer used (0 or absent: no limit). */
  maxStaleMs?: number
  dispatcher?: Agent
  maxBytes?: number
  onFetch?: (outcome: 'ok' | 'error', error?: Error) => void
  /** Clock (ms), injectable for tests. Default Date.now. */
  now?: () => number
}

export interface JwksSnapshot {
  readonly resolver: JWTVerifyGetKey
  /** See RemoteJwks.generation. */
  readonly generation: number
}

export class RemoteJwks {
  readonly #opts: JwksOptions
  /** The current set: its resolver and generation, replaced together. */
  #set: JwksSnapshot | undefined
  #keysText: string | undefined
  #fetchedAt = 0
  #attemptAt = -Infinity
  #inflight: Promise<void> | undefined
  #lastError: Error | undefined

  readonly #now: () => number

  constructor (opts: JwksOptions) {
    this.#opts = opts
    this.#now = opts.now ?? Date.now
  }

  get lastError (): Error | undefined { return this.#lastError }
  get fetchedAt (): number { return this.#fetchedAt }
  /** Incremented each time a fetch returns keys that differ from the previous set's (0 before the first). */
  get generation (): number { return this.#set?.generation ?? 0 }
  /**
   * The set is older than maxStaleMs: no refetch has succeeded for that long (an unreachable
   * IdP). It verifies nothing more until a fetch succeeds, so a key the IdP has since removed
   * (a compromised key, say) is not trusted for ever by whoever can keep the IdP out of reach.
   */
  get expired (): boolean {
    const max = this.#opts.maxStaleMs ?? 0
    return max > 0 && this.#set !== undefined && this.#now() - this.#fetchedAt > max
  }

  /** Fetch now (deduplicated). Rejects with BOUNCER_ERR_AUTH_JWKS_FETCH. */
  refresh (): Promise<void> {
    this.#inflight ??= this.#fetch().finally(() => { this.#inflight = undefined })
    return this.#inflight
  }

  async #fetch (): Promise<void> {
    this.#attemptAt = this.#now()
    const { url, timeoutMs, dispatcher } = this.#opts
    const max = this.#opts.maxBytes ?? 1024 * 1024
    try {
      const res = await request(url, {
        method: 'GET',
        headers: { accept: 'application/json, application/jwk-set+json' },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        ...(dispatcher ? { dispatcher } : {}),
      })
      if (res.statusCode !== 200) {
        await res.body.dump()
        throw new Error(`HTTP ${res.statusCode}`)
      }
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length
        if (size > max) { res.body.destroy(); throw new Error(`response larger than ${max} bytes`) }
        chunks.push(chunk as Buffer)
      }
      const jwks = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JSONWebKeySet
      if (!jwks || !Array.isArray(jwks.keys)) throw new Error('not a JWK set (no "keys" array)')
      // Same keys in the same order: same generation (a refetch alone must not void every cached token).
      const keysText = JSON.stringify(jwks.keys)
      const generation = this.generation + (keysText === this.#keysText ? 0 : 1)
      this.#set = { resolver: createLocalJWKSet(jwks), generation }
      this.#keysText = keysText
      this.#fetchedAt = this.#now()
      this.#lastError = undefined
      this.#opts.onFetch?.('ok')
    } catch (e) {
      const err = new BouncerError('BOUNCER_ERR_AUTH_JWKS_FETCH', [redactUrl(url), (e as Error).message], { cause: e })
      this.#lastError = err
      this.#opts.onFetch?.('error', err)
      throw err
    }
  }

  /**
   * The key resolver, fetching first if there is none yet. A stale set keeps serving while a
   * refresh runs in the background; fetches happen at most once per cooldown (a failing IdP is
   * not asked again on every request, and without a set the request fails at once).
   */
  async resolver (): Promise<JWTVerifyGetKey> { return (await this.current()).resolver }

  /** As resolver(), with the generation of the set the resolver belongs to. */
  async current (): Promise<JwksSnapshot> {
    if (!this.#set || this.expired) {
      // No usable set and the last attempt failed within the cooldown: fail now, do not refetch;
      // unless the set expired after that attempt (a refresh that failed just before expiry
      // is retried once at expiry, not a cooldown later, so a recovered IdP is asked).
      if (this.#lastError && !this.#inflight && this.#coolingDown() && !this.#expiredSinceAttempt()) throw this.#lastError
      await this.refresh()
    } else this.refreshIfStale()
    return this.#set!
  }

  /**
   * Start a background refresh when the set is older than maxAgeMs (and not cooling down).
   * Cheap enough for every request: callers that answer from their own cache (without calling
   * resolver()) call it so that a removed key is still noticed within maxAgeMs.
   */
  refreshIfStale (): void {
    if (this.#now() - this.#fetchedAt > this.#opts.maxAgeMs && !this.#coolingDown()) {
      this.refresh().catch(() => { /* keep the stale set; reported via status */ })
    }
  }

  #coolingDown (): boolean { return this.#now() - this.#attemptAt < this.#opts.cooldownMs }

  #expiredSinceAttempt (): boolean {
    const max = this.#opts.maxStaleMs ?? 0
    return max > 0 && this.#set !== undefined && this.#attemptAt <= this.#fetchedAt + max
  }

  /** For an unknown kid: refetch unless one was attempted within the cooldown. Returns whether it refetched. */
  async refreshForUnknownKey (): Promise<boolean> {
    if (this.#coolingDown()) {
      if (this.#inflight) { await this.#inflight.catch(() => {}); return true }
      return false
    }
    await this.refresh()
    return true
  }
}
