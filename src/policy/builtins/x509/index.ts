// crypto.x509.parse_certificates, as OPA reads its argument: PEM (a string starting with
// "-----BEGIN"), or standard base64 of PEM or of DER; every PEM block must be a CERTIFICATE,
// and the certificates' DER is parsed back to back (x509.ParseCertificates). No certificates
// is an empty array. See certificate.ts for what each certificate becomes.
//
// crypto.x509.parse_and_verify_certificates checks the chain as Go's Verify does (verify.ts).
// The other crypto.x509.* builtins (verifying with options, certificate requests, key pairs)
// are not implemented; a policy calling them is refused at compile time.
import { LRUCache } from 'lru-cache'
import { str } from '../args.js'
import { builtinError, evaluationNowNs, type HostBuiltin } from '../context.js'
import { goBase64Decode } from '../encoding.js'
import { pemDecode } from '../pem.js'
import { parseCertificateAt } from './certificate.js'
import { verifyChain } from './verify.js'

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
// connection (~100 µs a certificate here): answers, and errors, are kept by the exact text.
// The values are frozen: every caller gets the same one.
const parsed = new LRUCache<string, ReadonlyArray<Record<string, unknown>> | Error>({
  max: 256,
  maxSize: 8 * 1024 * 1024,
  sizeCalculation: (_v, key) => 4 * key.length + 64,
})

export function parseCertificates (input: string): ReadonlyArray<Record<string, unknown>> {
  let r = parsed.get(input)
  if (r === undefined) {
    try { r = deepFreeze(parseUncached(input)) } catch (e) { r = e as Error }
    parsed.set(input, r)
  }
  if (r instanceof Error) throw r
  return r
}

function deepFreeze<T> (v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x)
    Object.freeze(v)
  }
  return v
}

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

export const x509Builtins: Record<string, HostBuiltin> = {
  [NAME]: (certs: unknown) => parseCertificates(str(NAME, 1, certs)),
  [VERIFY]: (certs: unknown) => parseAndVerifyCertificates(str(VERIFY, 1, certs)),
}
