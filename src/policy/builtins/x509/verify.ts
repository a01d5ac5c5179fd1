// crypto.x509.parse_and_verify_certificates: the chain checked as Go's Certificate.Verify checks
// it with the options OPA passes — the first certificate the only root, the last the leaf, the
// others intermediates, the evaluation's time, the default key usage (server authentication) —
// and, when it verifies, [true, the chain Go returns first: leaf … root]; otherwise
// [false, []]. Anything Bouncer cannot check as Go does is a certificate the parser refuses
// (certificate.ts: name constraints, policy constraints and mappings), so it ends as
// [false, []], never as a chain verified on fewer checks.
import { constants, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import { parseIP } from '../net.js'

type Cert = Readonly<Record<string, unknown>>

const LEAF = 0, INTERMEDIATE = 1, ROOT = 2
const KEY_USAGE_CERT_SIGN = 32
const EKU_ANY = 0, EKU_SERVER_AUTH = 1
// crypto.x509's limit on signature checks while building chains.
const MAX_SIGNATURE_CHECKS = 100

// SignatureAlgorithm -> [hash for node:crypto, PublicKeyAlgorithm, RSA-PSS salt length]. Go
// verifies nothing else: MD2/MD5/SHA-1 are insecure for certificates, DSA unsupported.
const SIGNATURES: Record<number, [string | null, number, number?]> = {
  4: ['sha256', 1], 5: ['sha384', 1], 6: ['sha512', 1],
  10: ['sha256', 3], 11: ['sha384', 3], 12: ['sha512', 3],
  13: ['sha256', 1, 32], 14: ['sha384', 1, 48], 15: ['sha512', 1, 64],
  16: [null, 4],
}

const raw = (c: Cert, field: string): Buffer => Buffer.from((c[field] as string | null) ?? '', 'base64')
const list = (c: Cert, field: string): readonly unknown[] => (c[field] as readonly unknown[] | null) ?? []
const instant = (t: unknown): bigint => BigInt(Date.parse(t as string)) * 1_000_000n

export interface VerifyOptions {
  /** The time certificates must be valid at, in ns since the epoch. */
  nowNs: bigint
  /** Extended key usages the chain must allow (Go's ExtKeyUsage numbers); empty: server authentication. */
  keyUsages?: readonly number[]
  /** A host name or IP address the leaf must be valid for (VerifyHostname). */
  dnsName?: string
}

/** The first chain Go's Verify would return for `certs` (root first, leaf last), or null. */
export function verifyChain (certs: readonly Cert[], opts: VerifyOptions): Cert[] | null {
  if (certs.length < 2) return null
  const root = certs[0]!
  const leaf = certs[certs.length - 1]!
  const intermediates = dedupe(certs.slice(1, -1))
  if (!isValid(leaf, LEAF, [], opts)) return null
  if (opts.dnsName !== undefined && opts.dnsName !== '' && !verifyHostname(leaf, opts.dnsName)) return null
  let chains: Cert[][]
  if (raw(leaf, 'Raw').equals(raw(root, 'Raw'))) chains = [[leaf]]
  else {
    // Past the limit of signature checks Go stops looking, and keeps what it found.
    chains = buildChains(leaf, [leaf], [root], intermediates, { n: 0 }, opts)
  }
  // Certificate policies: without policy constraints or mappings (refused by the parser) and
  // without a required policy set (OPA asks for none), every chain passes Go's policy check.
  const usages = opts.keyUsages !== undefined && opts.keyUsages.length > 0 ? opts.keyUsages : [EKU_SERVER_AUTH]
  if (usages.includes(EKU_ANY)) return chains[0] ?? null
  return chains.find((c) => allowsKeyUsages(c, usages)) ?? null
}

/** A CertPool keeps one of identical certificates. */
function dedupe (certs: readonly Cert[]): Cert[] {
  const seen = new Set<string>()
  return certs.filter((c) => { const k = c.Raw as string; if (seen.has(k)) return false; seen.add(k); return true })
}

function buildChains (c: Cert, chain: Cert[], roots: readonly Cert[], intermediates: readonly Cert[], checks: { n: number }, opts: VerifyOptions): Cert[][] {
  const out: Cert[][] = []
  const consider = (type: number, parent: Cert): void => {
    if (parent.PublicKey === null || alreadyInChain(parent, chain)) return
    if (++checks.n > MAX_SIGNATURE_CHECKS) return
    if (!signedBy(c, parent) || !isValid(parent, type, chain, opts)) return
    if (type === ROOT) out.push([...chain, parent])
    else out.push(...buildChains(parent, [...chain, parent], roots, intermediates, checks, opts))
  }
  for (const r of potentialParents(c, roots)) consider(ROOT, r)
  for (const i of potentialParents(c, intermediates)) consider(INTERMEDIATE, i)
  return out
}

/** Certificates whose subject is c's issuer, the likeliest first (CertPool.findPotentialParents). */
function potentialParents (c: Cert, pool: readonly Cert[]): Cert[] {
  const issuer = raw(c, 'RawIssuer')
  const aki = raw(c, 'AuthorityKeyId')
  const match: Cert[] = [], one: Cert[] = [], mismatch: Cert[] = []
  for (const p of pool) {
    if (!raw(p, 'RawSubject').equals(issuer)) continue
    const ski = raw(p, 'SubjectKeyId')
    if (ski.equals(aki)) match.push(p)
    else if ((ski.length === 0) !== (aki.length === 0)) one.push(p)
    else mismatch.push(p)
  }
  return [...match, ...one, ...mismatch]
}

/** The same subject, key and subject alternative names as one already in the chain. */
function alreadyInChain (candidate: Cert, chain: readonly Cert[]): boolean {
  const san = (c: Cert): string | undefined => (list(c, 'Extensions') as Array<{ Id: number[]; Value: string }>).find((e) => e.Id.join('.') === '2.5.29.17')?.Value
  return chain.some((c) => raw(c, 'RawSubject').equals(raw(candidate, 'RawSubject')) &&
    raw(c, 'RawSubjectPublicKeyInfo').equals(raw(candidate, 'RawSubjectPublicKeyInfo')) && san(c) === san(candidate))
}

function isValid (c: Cert, type: number, chain: readonly Cert[], opts: VerifyOptions): boolean {
  if (c.UnhandledCriticalExtensions !== null) return false
  const child = chain[chain.length - 1]
  if (child !== undefined && !raw(child, 'RawIssuer').equals(raw(c, 'RawSubject'))) return false
  if (opts.nowNs < instant(c.NotBefore) || opts.nowNs > instant(c.NotAfter)) return false
  if (type === INTERMEDIATE && (c.BasicConstraintsValid !== true || c.IsCA !== true)) return false
  const maxPathLen = Number(c.MaxPathLen)
  if (c.BasicConstraintsValid === true && maxPathLen >= 0 && chain.length - 1 > maxPathLen) return false
  return true
}

/** CheckSignatureFrom: the parent may sign certificates, and its key verifies c's signature as Go verifies it. */
function signedBy (c: Cert, parent: Cert): boolean {
  if ((parent.Version === 3 && parent.BasicConstraintsValid !== true) || (parent.BasicConstraintsValid === true && parent.IsCA !== true)) return false
  const ku = parent.KeyUsage as number
  if (ku !== 0 && (ku & KEY_USAGE_CERT_SIGN) === 0) return false
  const alg = SIGNATURES[c.SignatureAlgorithm as number]
  if (alg === undefined || alg[1] !== parent.PublicKeyAlgorithm) return false
  let key: KeyObject
  try { key = createPublicKey({ key: raw(parent, 'RawSubjectPublicKeyInfo'), format: 'der', type: 'spki' }) } catch { return false }
  // Go's crypto/rsa refuses keys under 1024 bits (Go 1.24).
  if (alg[1] === 1 && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 1024) return false
  const tbs = raw(c, 'RawTBSCertificate')
  const sig = raw(c, 'Signature')
  try {
    if (alg[2] !== undefined) return cryptoVerify(alg[0], tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg[2] }, sig)
    if (alg[1] === 1) return cryptoVerify(alg[0], tbs, { key, padding: constants.RSA_PKCS1_PADDING }, sig)
    return cryptoVerify(alg[0], tbs, key, sig)
  } catch {
    return false
  }
}

/** checkChainForKeyUsage: every requested usage survives each certificate that lists usages. */
function allowsKeyUsages (chain: readonly Cert[], requested: readonly number[]): boolean {
  const remaining = new Set(requested)
  for (let i = chain.length - 1; i >= 0; i--) {
    const c = chain[i]!
    const ekus = list(c, 'ExtKeyUsage') as number[]
    if (ekus.length === 0 && list(c, 'UnknownExtKeyUsage').length === 0) continue
    if (ekus.includes(EKU_ANY)) continue
    for (const u of [...remaining]) if (!ekus.includes(u)) remaining.delete(u)
    if (remaining.size === 0) return false
  }
  return true
}

/**
 * VerifyHostname: an IP address (brackets allowed) against the IP SANs; a name against the DNS
 * SANs, case-insensitively, a full left-most "*" label matching one label when both are valid
 * host names, an exact match otherwise. The common name is not read.
 */
export function verifyHostname (c: Cert, host: string): boolean {
  const ipText = host.length >= 3 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  const ip = parseIP(ipText)
  if (ip !== null) {
    return (list(c, 'IPAddresses') as string[]).some((t) => { const x = parseIP(t); return x !== null && x.v4 === ip.v4 && x.bits === ip.bits })
  }
  const name = lowerAscii(host)
  const validName = validHostname(name, false)
  return (list(c, 'DNSNames') as string[]).some((pattern) => validName && validHostname(pattern, true) ? matchHostnames(pattern, name) : matchExactly(pattern, name))
}

const lowerAscii = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase())

function validHostname (host: string, isPattern: boolean): boolean {
  if (!isPattern && host.endsWith('.')) host = host.slice(0, -1)
  if (host.length === 0 || host === '*') return false
  return host.split('.').every((label, i) => label !== '' && ((isPattern && i === 0 && label === '*') || /^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(label)))
}

function matchExactly (a: string, b: string): boolean {
  if (a === '' || a === '.' || b === '' || b === '.') return false
  return lowerAscii(a) === lowerAscii(b)
}

function matchHostnames (pattern: string, host: string): boolean {
  pattern = lowerAscii(pattern)
  host = lowerAscii(host.endsWith('.') ? host.slice(0, -1) : host)
  if (pattern.length === 0 || host.length === 0) return false
  const p = pattern.split('.')
  const h = host.split('.')
  return p.length === h.length && p.every((part, i) => (i === 0 && part === '*') || part === h[i])
}
