// crypto.x509.parse_certificates, as OPA reads its argument: PEM (a string starting with
// "-----BEGIN"), or standard base64 of PEM or of DER; every PEM block must be a CERTIFICATE,
// and the certificates' DER is parsed back to back (x509.ParseCertificates). No certificates
// is an empty array. See certificate.ts for what each certificate becomes.
//
// crypto.x509.parse_and_verify_certificates(_with_options) check the chain as Go's Verify does
// (verify.ts); crypto.x509.parse_rsa_private_key reads private keys (private-key.ts);
// crypto.x509.parse_certificate_request reads a PKCS #10 request (csr.ts). crypto.x509.parse_keypair
// and crypto.parse_private_keys are not implemented; a policy calling them is refused at compile time.
import { obj, str } from '../args.js'
import { isRawJson } from '../../../exact-json.js'
import { builtinError, evaluationNowNs, type HostBuiltin } from '../context.js'
import { goBase64Decode } from '../encoding.js'
import { pemDecode } from '../pem.js'
import { parseCertificateAt } from './certificate.js'
import { parseCertificateRequestDer } from './csr.js'
import { PARSE_RSA_PRIVATE_KEY, parseRsaPrivateKey } from './private-key.js'
import { memoByText } from './memo.js'
import { verifyChain, type VerifyOptions } from './verify.js'
import { trimBy } from '../../../text-trim.js'

const NAME = 'crypto.x509.parse_certificates'

/** The certificates' DER, concatenated, from the builtin's argument. */
function certificatesDer (input: string): Buffer {
  if (input.startsWith('-----BEGIN')) return pemCertificates(input)
  let bytes: Buffer
  try { bytes = goBase64Decode(input, false, true) } catch (e) { throw builtinError(NAME, (e as Error).message) }
  if (bytes.subarray(0, 10).toString('latin1') === '-----BEGIN') return pemCertificates(bytes.toString('latin1'))
  return bytes
}

function pemCertificates (text: string): Buffer {
  const parts: Buffer[] = []
  for (let rest = text; rest.length > 0;) {
    const block = pemDecode(rest)
    if (block === null) break
    if (block.type !== 'CERTIFICATE') throw builtinError(NAME, `PEM block type is '${block.type}', expected CERTIFICATE`)
    parts.push(block.der)
    rest = block.rest
  }
  return Buffer.concat(parts)
}

// A policy that reads the client certificate parses the same text on every request of a
// connection (~100 µs a certificate here): see memo.ts.
export const parseCertificates: (input: string) => ReadonlyArray<Record<string, unknown>> = memoByText(256, 8 * 1024 * 1024, (input) => parseUncached(input))

function parseUncached (input: string): Array<Record<string, unknown>> {
  const der = certificatesDer(input)
  const certs: Array<Record<string, unknown>> = []
  for (let at = 0; at < der.length;) {
    let r
    try { r = parseCertificateAt(der, at) } catch (e) { throw builtinError(NAME, (e as Error).message) }
    certs.push(r.cert)
    at = r.end
  }
  return certs
}

const VERIFY = 'crypto.x509.parse_and_verify_certificates'

/** [true, chain (leaf … root)] when the certificates verify as a chain, else [false, []]; an unreadable argument is [false, []] too, as in OPA. */
export function parseAndVerifyCertificates (input: string): [boolean, ReadonlyArray<Record<string, unknown>>] {
  let certs: ReadonlyArray<Record<string, unknown>>
  try { certs = parseCertificates(input) } catch { return [false, []] }
  const chain = verifyChain(certs, { nowNs: evaluationNowNs() })
  return chain === null ? [false, []] : [true, chain]
}

const WITH_OPTIONS = 'crypto.x509.parse_and_verify_certificates_with_options'

// OPA's names of the key usages a caller may ask for (Go's ExtKeyUsage numbers).
const KEY_USAGES: Record<string, number> = {
  KeyUsageAny: 0, KeyUsageServerAuth: 1, KeyUsageClientAuth: 2, KeyUsageCodeSigning: 3, KeyUsageEmailProtection: 4,
  KeyUsageIPSECEndSystem: 5, KeyUsageIPSECTunnel: 6, KeyUsageIPSECUser: 7, KeyUsageTimeStamping: 8, KeyUsageOCSPSigning: 9,
  KeyUsageMicrosoftServerGatedCrypto: 10, KeyUsageNetscapeServerGatedCrypto: 11, KeyUsageMicrosoftCommercialCodeSigning: 12,
  KeyUsageMicrosoftKernelCodeSigning: 13,
}
const INT64 = 1n << 63n
const trimQuotes = (s: string): string => trimBy(s, (c) => c === 0x22)

/** An integer number's value if it is an int64 as written (json.Number's Int64), else null. */
function int64Of (v: unknown): bigint | null {
  const text = isRawJson(v) ? v.rawJSON : typeof v === 'number' ? String(v) : null
  if (text === null || !/^-?\d+$/.test(text)) return null
  const n = BigInt(text)
  return n >= -INT64 && n < INT64 ? n : null
}

/** The verification options, read as OPA reads them (its keys in order; its messages). */
function verifyOptionsOf (options: Record<string, unknown>): VerifyOptions {
  const opts: { nowNs: bigint; keyUsages?: number[]; dnsName?: string } = { nowNs: evaluationNowNs() }
  const fail = (m: string): never => { throw builtinError(WITH_OPTIONS, m) }
  for (const key of Object.keys(options).sort()) {
    const v = options[key]
    switch (key) {
      case 'DNSName':
        if (typeof v !== 'string') fail("'DNSName' should be a string")
        opts.dnsName = trimQuotes(v as string)
        break
      case 'CurrentTime': {
        if (typeof v !== 'number' && !isRawJson(v)) fail("'CurrentTime' should be a number")
        const ns = int64Of(v)
        if (ns === null) fail("'CurrentTime' should be a valid int64 number")
        opts.nowNs = ns!
        break
      }
      case 'MaxConstraintComparisons':
        // Only name constraints use it, and certificates with them are refused by the parser.
        if (typeof v !== 'number' && !isRawJson(v)) fail("'MaxConstraintComparisons' should be a number")
        if (int64Of(v) === null) fail("'MaxConstraintComparisons' should be a valid number")
        break
      case 'KeyUsages': {
        if (!Array.isArray(v)) fail("'KeyUsages' should be an Array or Set")
        const invalid: string[] = []
        for (const u of v as unknown[]) {
          if (typeof u !== 'string') continue
          const n = KEY_USAGES[trimQuotes(u)]
          if (n === undefined) invalid.push(trimQuotes(u))
          else (opts.keyUsages ??= []).push(n)
        }
        if (invalid.length > 0) fail(`invalid entries for 'KeyUsages' found: [${invalid.join(' ')}]`)
        break
      }
      default: fail('invalid key option')
    }
  }
  return opts
}

export function parseAndVerifyWithOptions (input: string, options: Record<string, unknown>): [boolean, ReadonlyArray<Record<string, unknown>>] {
  let certs: ReadonlyArray<Record<string, unknown>>
  try { certs = parseCertificates(input) } catch { return [false, []] }
  const chain = verifyChain(certs, verifyOptionsOf(options))
  // OPA gives this variant the plain x509.Certificate values: no URIStrings.
  return chain === null ? [false, []] : [true, chain.map(({ URIStrings: _, ...cert }) => cert)]
}

const CSR = 'crypto.x509.parse_certificate_request'

/**
 * The request's DER, as OPA reads the argument: the text itself when it starts with
 * "-----BEGIN CERTIFICATE REQUEST-----", else standard base64 (of PEM or DER). The first PEM
 * block found, if any, must be a CERTIFICATE REQUEST and gives the DER; without one the bytes
 * are the DER.
 */
function csrDer (input: string): Buffer {
  let bytes: Buffer
  if (input.startsWith('-----BEGIN CERTIFICATE REQUEST-----')) bytes = Buffer.from(input, 'utf8')
  else {
    try { bytes = goBase64Decode(input, false, true) } catch (e) { throw builtinError(CSR, (e as Error).message) }
  }
  const block = pemDecode(bytes.toString('latin1'))
  if (block !== null && block.type !== 'CERTIFICATE REQUEST') throw builtinError(CSR, 'invalid PEM-encoded certificate signing request')
  return block === null ? bytes : block.der
}

// Kept by the exact text, frozen, as for certificates.
export const parseCertificateRequest = memoByText(128, 4 * 1024 * 1024, (input): Readonly<Record<string, unknown>> => {
  const der = csrDer(input)
  try { return parseCertificateRequestDer(der) } catch (e) { throw builtinError(CSR, (e as Error).message) }
})

export const x509Builtins: Record<string, HostBuiltin> = {
  [NAME]: (certs: unknown) => parseCertificates(str(NAME, 1, certs)),
  [VERIFY]: (certs: unknown) => parseAndVerifyCertificates(str(VERIFY, 1, certs)),
  [WITH_OPTIONS]: (certs: unknown, options: unknown) => parseAndVerifyWithOptions(str(WITH_OPTIONS, 1, certs), obj(WITH_OPTIONS, 2, options)),
  [CSR]: (csr: unknown) => parseCertificateRequest(str(CSR, 1, csr)),
  [PARSE_RSA_PRIVATE_KEY]: (pem: unknown) => parseRsaPrivateKey(str(PARSE_RSA_PRIVATE_KEY, 1, pem)),
}
