// crypto.x509.parse_certificates, as OPA reads its argument: PEM (a string starting with
// "-----BEGIN"), or standard base64 of PEM or of DER; every PEM block must be a CERTIFICATE,
// and the certificates' DER is parsed back to back (x509.ParseCertificates). No certificates
// is an empty array. See certificate.ts for what each certificate becomes.
//
// The other crypto.x509.* builtins (verifying a chain as Go's Verify does, certificate
// requests, key pairs) are not implemented; a policy calling them is refused at compile time.
import { str } from '../args.js'
import { builtinError, type HostBuiltin } from '../context.js'
import { goBase64Decode } from '../encoding.js'
import { pemDecode } from '../pem.js'
import { parseCertificateAt } from './certificate.js'

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

export function parseCertificates (input: string): Array<Record<string, unknown>> {
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

export const x509Builtins: Record<string, HostBuiltin> = {
  [NAME]: (certs: unknown) => parseCertificates(str(NAME, 1, certs)),
}
