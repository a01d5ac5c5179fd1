// Test certificates made with openssl in a temporary directory: a CA, server certificates for
// 127.0.0.1, client certificates (URI/DNS SANs or a subject only), and a second CA nobody trusts.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0

export interface Issued { readonly cert: string; readonly key: string; readonly certPem: Buffer; readonly keyPem: Buffer }

export class Pki {
  readonly ca: Issued
  private n = 0
  constructor (readonly dir: string, caName = 'test-ca') {
    this.ca = this.selfSigned(caName)
  }

  private ssl (...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' })
  }

  private selfSigned (name: string): Issued {
    const cert = join(this.dir, `${name}.pem`)
    const key = join(this.dir, `${name}.key`)
    this.ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    return { cert, key, certPem: readFileSync(cert), keyPem: readFileSync(key) }
  }

  /** A certificate signed by this CA. `san`: e.g. "IP:127.0.0.1" or "URI:spiffe://x/y,DNS:a"; `usage`: serverAuth or clientAuth. */
  issue (name: string, opts: { subject?: string; san?: string; usage?: 'serverAuth' | 'clientAuth'; days?: number } = {}): Issued {
    const id = `${name}-${++this.n}`
    const cert = join(this.dir, `${id}.pem`)
    const key = join(this.dir, `${id}.key`)
    const csr = join(this.dir, `${id}.csr`)
    const ext = join(this.dir, `${id}.ext`)
    this.ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', opts.subject ?? `/CN=${name}`)
    writeFileSync(ext, [
      `extendedKeyUsage=${opts.usage ?? 'serverAuth'}`,
      ...(opts.san ? [`subjectAltName=${opts.san}`] : []),
    ].join('\n') + '\n')
    this.ssl('x509', '-req', '-in', csr, '-CA', this.ca.cert, '-CAkey', this.ca.key, '-CAcreateserial', '-out', cert, '-days', String(opts.days ?? 2), '-extfile', ext)
    return { cert, key, certPem: readFileSync(cert), keyPem: readFileSync(key) }
  }
}
