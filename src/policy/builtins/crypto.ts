// crypto.* hashes and HMACs over the UTF-8 bytes of strings, hex-encoded as OPA.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { HostBuiltin } from './context.js'
import { str } from './args.js'

const hash = (name: string, algo: string) => (x: unknown): string =>
  createHash(algo).update(str(name, 1, x), 'utf8').digest('hex')

const hmac = (name: string, algo: string) => (x: unknown, key: unknown): string => {
  const data = str(name, 1, x)
  const k = str(name, 2, key)
  return createHmac(algo, Buffer.from(k, 'utf8')).update(data, 'utf8').digest('hex')
}

function hmacEqual (a: unknown, b: unknown): boolean {
  const x = Buffer.from(str('crypto.hmac.equal', 1, a), 'utf8')
  const y = Buffer.from(str('crypto.hmac.equal', 2, b), 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}

export const cryptoBuiltins: Record<string, HostBuiltin> = {
  'crypto.md5': hash('crypto.md5', 'md5'),
  'crypto.sha1': hash('crypto.sha1', 'sha1'),
  'crypto.sha256': hash('crypto.sha256', 'sha256'),
  'crypto.sha512': hash('crypto.sha512', 'sha512'),
  'crypto.hmac.md5': hmac('crypto.hmac.md5', 'md5'),
  'crypto.hmac.sha1': hmac('crypto.hmac.sha1', 'sha1'),
  'crypto.hmac.sha256': hmac('crypto.hmac.sha256', 'sha256'),
  'crypto.hmac.sha512': hmac('crypto.hmac.sha512', 'sha512'),
  'crypto.hmac.equal': hmacEqual,
}
