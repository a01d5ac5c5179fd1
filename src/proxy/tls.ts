// TLS on the proxy port (server.tls): the server's secure context from PEM files, checked with a
// message that names the file and the setting; reloaded when the files change (cert-manager
// renews a Secret by swapping the volume's ..data symlink) through setSecureContext, so new
// connections get the new certificate and open ones are never dropped; and the client
// certificate as opa-envoy-plugin puts it in the input (attributes.source.principal and
// attributes.source.certificate).
import { X509Certificate, constants as cryptoConstants, createPrivateKey, type KeyObject } from 'node:crypto'
import { readFileSync, watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { createSecureContext, type DetailedPeerCertificate, type SecureContextOptions, type TLSSocket, type TlsOptions } from 'node:tls'
import type { Logger } from 'pino'
import { ConfigError, type BouncerConfig } from '../config/index.js'
import { BouncerError } from '../errors.js'

export type ServerTlsSettings = BouncerConfig['server']['tls']

/** The PEM contents a context was built from (compared on every check). */
interface Material { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer }

export interface LoadedServerTls {
  /** Context options for tls.createServer / setSecureContext (cert, key, ca, minVersion). */
  readonly context: SecureContextOptions
  /** The leaf certificate. */
  readonly leaf: X509Certificate
  readonly material: Material
  /** Non-fatal findings (an expired or not yet valid certificate): logged, not refused. */
  readonly warnings: readonly string[]
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

function certificates (pem: string, file: string, setting: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT) ?? []
  if (blocks.length === 0) throw new Error(`${setting}: ${file} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`)
  return blocks.map((b, i) => {
    try { return new X509Certificate(b) } catch (e) {
      throw new Error(`${setting}: certificate #${i + 1} in ${file} cannot be parsed: ${(e as Error).message}`)
    }
  })
}

function privateKey (pem: Buffer, file: string): KeyObject {
  const text = pem.toString('latin1')
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) { // security-gate: allow-secret (PEM header pattern, no key)
    throw new Error(`server.tls.key_file: ${file} holds an encrypted private key; a passphrase is not supported, store the key unencrypted (e.g. a Kubernetes TLS Secret)`)
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new Error(`server.tls.key_file: ${file} holds no PEM private key (expected "-----BEGIN PRIVATE KEY-----" or an RSA/EC variant)`) // security-gate: allow-secret (PEM header pattern, no key)
  }
  try { return createPrivateKey(pem) } catch (e) {
    throw new Error(`server.tls.key_file: ${file} holds a private key that cannot be used: ${(e as Error).message}`)
  }
}

/**
 * Builds and checks the context from PEM contents. Throws an Error whose message starts with
 * the setting and names the file. `now` decides the validity warnings.
 */
export function buildServerTls (cfg: ServerTlsSettings, m: Material, now = Date.now()): LoadedServerTls {
  const certFile = cfg.cert_file!
  const keyFile = cfg.key_file!
  const chain = certificates(m.cert.toString('latin1'), certFile, 'server.tls.cert_file')
  const leaf = chain[0]
  const key = privateKey(m.key, keyFile)
  if (!leaf.checkPrivateKey(key)) {
    throw new Error(`server.tls.key_file: the key in ${keyFile} does not belong to the certificate in ${certFile} (server.tls.cert_file; the leaf certificate must come first)`)
  }
  if (m.ca !== undefined) certificates(m.ca.toString('latin1'), cfg.ca_file!, 'server.tls.ca_file')
  // No TLS 1.2 renegotiation: Node checks the client certificate of the first handshake only
  // (socket.authorized stays true), so a client could renegotiate to an untrusted certificate
  // and be judged by its identity. Part of the context, so a reloaded one keeps it.
  const context: SecureContextOptions = { cert: m.cert, key: m.key, minVersion: cfg.min_version, secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION, ...(m.ca !== undefined ? { ca: m.ca } : {}) }
  try { createSecureContext(context) } catch (e) {
    throw new Error(`server.tls: OpenSSL refuses ${certFile} with ${keyFile}${m.ca !== undefined ? ` and ${cfg.ca_file}` : ''}: ${(e as Error).message}`)
  }
  const warnings: string[] = []
  if (Date.parse(leaf.validTo) < now) warnings.push(`server.tls.cert_file: the certificate in ${certFile} expired on ${new Date(leaf.validTo).toISOString()}`)
  if (Date.parse(leaf.validFrom) > now) warnings.push(`server.tls.cert_file: the certificate in ${certFile} is not valid before ${new Date(leaf.validFrom).toISOString()}`)
  return { context, leaf, material: m, warnings }
}

function readSetting (file: string, setting: string): Buffer {
  try { return readFileSync(file) } catch (e) {
    throw new ConfigError([`${setting}: cannot read ${file}: ${(e as Error).message}`])
  }
}

/** At start: reads and checks the configured files; every problem is a ConfigError naming the file and the setting. */
export function loadServerTls (cfg: ServerTlsSettings): LoadedServerTls {
  if (!cfg.cert_file || !cfg.key_file) throw new ConfigError(['server.tls: cert_file and key_file are required when server.tls.enabled is true'])
  const m: Material = {
    cert: readSetting(cfg.cert_file, 'server.tls.cert_file'),
    key: readSetting(cfg.key_file, 'server.tls.key_file'),
    ...(cfg.ca_file ? { ca: readSetting(cfg.ca_file, 'server.tls.ca_file') } : {}),
  }
  try { return buildServerTls(cfg, m) } catch (e) {
    throw new ConfigError([(e as Error).message])
  }
}

/**
 * Options for the proxy port's TLS server: the context plus who must present a certificate.
 * "request" asks without requiring; that a presented certificate verifies is enforced per
 * connection (enforceClientCertificate), since OpenSSL's verify-if-presented is not exposed.
 */
export function serverTlsOptions (cfg: ServerTlsSettings, loaded: LoadedServerTls): TlsOptions {
  const ask = cfg.client_certificates !== 'none'
  return {
    ...loaded.context,
    requestCert: ask,
    rejectUnauthorized: cfg.client_certificates === 'require',
  }
}

/**
 * client_certificates "request": a connection that presented a certificate which does not verify
 * is closed (what Envoy does with an untrusted certificate that is not required). Returns the
 * reason when it closed the socket.
 */
export function enforceClientCertificate (cfg: ServerTlsSettings, socket: TLSSocket): string | undefined {
  if (cfg.client_certificates !== 'request' || socket.authorized) return undefined
  const err = socket.authorizationError
  // Not authorized and nothing presented: optional, fine.
  if (!socket.getPeerX509Certificate()) return undefined
  const why = typeof err === 'string' ? err : (err as Error | null)?.message ?? 'not verified'
  socket.destroy()
  return why
}

/** The certificates of a ca_file's contents (the trust store a reloaded context verifies with). */
export function trustStore (ca: Buffer | undefined): X509Certificate[] {
  if (ca === undefined) return []
  const out: X509Certificate[] = []
  for (const b of ca.toString('latin1').match(PEM_CERT) ?? []) {
    try { out.push(new X509Certificate(b)) } catch { /* checked at load: not reached */ }
  }
  return out
}

const selfSigned = (c: X509Certificate): boolean => c.checkIssued(c) && c.verify(c.publicKey)
// A self-signed certificate of the store is a trust anchor whatever its extensions say (OpenSSL
// accepts a v1 root, or one with keyCertSign only); an intermediate must be a CA.
const signedBy = (c: X509Certificate, issuer: X509Certificate): boolean =>
  c.checkIssued(issuer) && c.verify(issuer.publicKey) && (issuer.ca || selfSigned(issuer))

/** Whether `c` is, or is signed through the store's certificates by, a self-signed certificate of the store (as OpenSSL needs: no partial chains). */
function reachesRoot (c: X509Certificate, store: readonly X509Certificate[], depth = 0): boolean {
  if (depth > 8) return false
  for (const s of store) {
    if (s.fingerprint256 === c.fingerprint256) { if (selfSigned(s)) return true; continue }
    if (signedBy(c, s) && (selfSigned(s) || reachesRoot(s, store, depth + 1))) return true
  }
  return false
}

/**
 * The certificates the client sent at a full handshake, leaf first (DER), as Node reports them
 * (linked by names only: nothing here is trusted yet). A resumed session has the leaf alone.
 */
export function presentedChain (socket: TLSSocket): Buffer[] {
  const out: Buffer[] = []
  let link: DetailedPeerCertificate | undefined
  try { link = socket.getPeerCertificate(true) } catch { return out }
  const seen = new Set<string>()
  while (link?.raw !== undefined && !seen.has(link.fingerprint256) && out.length < 10) {
    seen.add(link.fingerprint256)
    out.push(link.raw)
    link = link.issuerCertificate
  }
  return out
}

/**
 * Whether a client chain (leaf first, DER) is trusted by `store` (after ca_file changed): from
 * the leaf, each certificate must be signed by the next (a CA) until one is signed, through the
 * store, by a self-signed certificate of the store. Every link is a signature check: a client can
 * send anything after its leaf.
 */
export function chainTrusted (chain: readonly Buffer[], store: readonly X509Certificate[]): boolean {
  if (store.length === 0 || chain.length === 0) return false
  try {
    let c = new X509Certificate(chain[0]!)
    for (let i = 1; ; i++) {
      if (reachesRoot(c, store)) return true
      if (i >= chain.length) return false
      const n = new X509Certificate(chain[i]!)
      if (n.fingerprint256 === c.fingerprint256 || !signedBy(c, n)) return false
      c = n
    }
  } catch { return false }
}

// ---- reloading ----

export type TlsStatus = 'OK' | 'WARN'

export interface TlsReloaderDeps {
  /** Installs a new context (Server.setSecureContext). */
  readonly apply: (options: SecureContextOptions) => void
  readonly log: Logger
  /** After each successful reload (with what it replaced). */
  readonly onReload?: (loaded: LoadedServerTls, previous: LoadedServerTls) => void
  /** false: only the periodic check (tests of the fallback). Default true. */
  readonly watchFiles?: boolean
}

/**
 * Watches the directories of cert_file, key_file and ca_file (a Kubernetes Secret volume
 * replaces the files by swapping a symlink, which a watch on the file itself would miss) and
 * compares the contents every reload_check_seconds as a fallback (fs.watch misses changes on
 * some filesystems and can fail outright). A change is loaded and checked as at start; only a
 * context that passes replaces the served one. A bad update (a half-written Secret, a key that
 * does not match yet) is logged once per distinct content and retried on the next change.
 */
export class TlsReloader {
  private current: LoadedServerTls
  private watchers: FSWatcher[] = []
  private timer: NodeJS.Timeout | undefined
  private running: Promise<boolean> | undefined
  private again = false
  private rejected: Material | undefined
  private lastError: string | undefined
  private reloadedAt: number | undefined
  private stopped = false

  constructor (private readonly cfg: ServerTlsSettings, loaded: LoadedServerTls, private readonly deps: TlsReloaderDeps) {
    this.current = loaded
  }

  get loaded (): LoadedServerTls { return this.current }

  start (): void {
    const dirs = new Set([this.cfg.cert_file, this.cfg.key_file, this.cfg.ca_file].filter((f): f is string => !!f).map((f) => dirname(f)))
    for (const dir of this.deps.watchFiles === false ? [] : dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => { void this.check() })
        w.on('error', (e) => {
          this.deps.log.warn({ dir, err: e.message }, 'TLS file watch failed; relying on the periodic check')
          w.close()
        })
        this.watchers.push(w)
      } catch (e) {
        this.deps.log.warn({ dir, err: (e as Error).message }, 'cannot watch TLS files; relying on the periodic check')
      }
    }
    const every = this.cfg.reload_check_seconds
    if (every > 0) {
      this.timer = setInterval(() => { void this.check() }, every * 1000)
      this.timer.unref()
    }
  }

  stop (): void {
    this.stopped = true
    for (const w of this.watchers) w.close()
    this.watchers = []
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /**
   * Reads the files and reloads when they differ from what is served. Resolves true when a new
   * context was installed. Calls made while a check runs are folded into one more check.
   */
  check (): Promise<boolean> {
    if (this.running) { this.again = true; return this.running }
    this.running = (async () => {
      let changed = false
      do {
        this.again = false
        changed = (await this.checkOnce()) || changed
      } while (this.again && !this.stopped)
      return changed
    })().finally(() => { this.running = undefined })
    return this.running
  }

  private async checkOnce (): Promise<boolean> {
    if (this.stopped) return false
    const cfg = this.cfg
    let m: Material
    try {
      const [cert, key, ca] = await Promise.all([
        readFile(cfg.cert_file!), readFile(cfg.key_file!), cfg.ca_file ? readFile(cfg.ca_file) : Promise.resolve(undefined),
      ])
      m = { cert, key, ...(ca !== undefined ? { ca } : {}) }
    } catch (e) {
      // Mid-swap a file can be missing for a moment; the next event or check sees the result.
      const which = (e as NodeJS.ErrnoException).path ?? ''
      const setting = which === cfg.key_file ? 'server.tls.key_file' : which === cfg.ca_file ? 'server.tls.ca_file' : 'server.tls.cert_file'
      this.fail(`${setting}: cannot read ${which}: ${(e as Error).message}`)
      return false
    }
    if (same(m, this.current.material)) { this.lastError = undefined; return false }
    if (this.rejected && same(m, this.rejected)) return false
    let next: LoadedServerTls
    try { next = buildServerTls(cfg, m) } catch (e) {
      this.rejected = m
      this.fail((e as Error).message)
      return false
    }
    try { this.deps.apply(next.context) } catch (e) {
      this.rejected = m
      this.fail(`server.tls: the new context was refused: ${(e as Error).message}`)
      return false
    }
    const prev = this.current
    this.current = next
    this.rejected = undefined
    this.lastError = undefined
    this.reloadedAt = Date.now()
    this.deps.log.info({
      subject: next.leaf.subject.replace(/\n/g, ', '), serial: next.leaf.serialNumber, not_after: new Date(next.leaf.validTo).toISOString(),
      previous_serial: prev.leaf.serialNumber,
    }, 'TLS certificate reloaded')
    for (const w of next.warnings) this.deps.log.warn(w)
    this.deps.onReload?.(next, prev)
    return true
  }

  private fail (message: string): void {
    if (message === this.lastError) return
    this.lastError = message
    const err = new BouncerError('BOUNCER_ERR_PROXY_TLS_RELOAD', [message])
    this.deps.log.error({ code: err.code, err: err.message }, err.message)
  }

  /** For /readyz (non-critical): WARN while the files on disk could not be loaded. */
  status (): { status: TlsStatus; serial: string; not_after: string; reloaded_at?: string; message?: string } {
    const leaf = this.current.leaf
    return {
      status: this.lastError ? 'WARN' : 'OK',
      serial: leaf.serialNumber,
      not_after: new Date(leaf.validTo).toISOString(),
      ...(this.reloadedAt ? { reloaded_at: new Date(this.reloadedAt).toISOString() } : {}),
      ...(this.lastError ? { message: this.lastError } : {}),
    }
  }
}

function same (a: Material, b: Material): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key) &&
    (a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca))
}

// ---- the client certificate in the input ----

export interface PeerIdentity {
  /** First URI SAN, else first DNS SAN, else the subject (RFC 2253): Envoy's principal. */
  readonly principal: string
  /** The certificate as URL-encoded PEM (Envoy's "certificate"). */
  readonly certificate: string
}

const peerCache = new WeakMap<TLSSocket, PeerIdentity | null>()

/**
 * The verified client certificate of a TLS connection, as opa-envoy-plugin's input has it, or
 * undefined (cleartext, no certificate, or one that did not verify). Computed once per connection.
 */
export function peerIdentity (socket: TLSSocket | undefined): PeerIdentity | undefined {
  if (socket === undefined || typeof socket.getPeerX509Certificate !== 'function') return undefined
  let v = peerCache.get(socket)
  if (v === undefined) {
    // authorizationError too: Node leaves `authorized` set after a later handshake fails to verify.
    const cert = socket.authorized && !socket.authorizationError ? socket.getPeerX509Certificate() : undefined
    v = cert ? { principal: principalOf(cert), certificate: urlEncodePem(cert.toString()) } : null
    peerCache.set(socket, v)
  }
  return v ?? undefined
}

/** Envoy's order: URI SANs, DNS SANs, then the subject in RFC 2253 form. */
export function principalOf (cert: X509Certificate): string {
  const sans = subjectAltNames(cert.subjectAltName)
  const uri = sans.find((s) => s.type === 'URI')
  if (uri) return uri.value
  const dns = sans.find((s) => s.type === 'DNS')
  if (dns) return dns.value
  return rfc2253(cert.subject)
}

/**
 * Node prints the subject one RDN per line, most significant first, values already escaped as
 * RFC 2253 wants; RFC 2253 lists them the other way round, comma-separated (what Envoy prints).
 */
export function rfc2253 (subject: string): string {
  return subject.split('\n').filter(Boolean).reverse().map((rdn) => rdn.replace(/ \+ /g, '+')).join(',')
}

/** Parses X509Certificate.subjectAltName ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4"; values with special characters are JSON-quoted). */
export function subjectAltNames (text: string | undefined): { type: string; value: string }[] {
  const out: { type: string; value: string }[] = []
  if (!text) return out
  let i = 0
  while (i < text.length) {
    const colon = text.indexOf(':', i)
    if (colon < 0) break
    const type = text.slice(i, colon).trim()
    let j = colon + 1
    let value: string
    if (text[j] === '"') {
      // JSON string: find the closing quote that is not escaped.
      let k = j + 1
      while (k < text.length && text[k] !== '"') k += text[k] === '\\' ? 2 : 1
      try { value = JSON.parse(text.slice(j, k + 1)) as string } catch { value = text.slice(j + 1, k) }
      j = k + 1
    } else {
      const end = text.indexOf(', ', j)
      value = text.slice(j, end < 0 ? text.length : end)
      j = end < 0 ? text.length : end
    }
    out.push({ type, value })
    const next = text.indexOf(', ', j)
    if (next < 0) break
    i = next + 2
  }
  return out
}

/** URL-encoding of a PEM text as Envoy does it (unreserved characters kept, everything else %XX). */
export function urlEncodePem (pem: string): string {
  return encodeURIComponent(pem).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}
