// crypto.* hashes and HMACs over the bytes of strings (invalid UTF-8 included: ./bytes.ts),
// hex-encoded as OPA.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { HostBuiltin } from './context.js'
import { str } from './args.js'
import { stringBytes } from './bytes.js'

const hash = (name: string, algo: string) => (x: unknown): string =>
  createHash(algo).update(stringBytes(str(name, 1, x))).digest('hex')

const hmac = (name: string, algo: string) => (x: unknown, key: unknown): string => {
  const data = stringBytes(str(name, 1, x))
  const k = stringBytes(str(name, 2, key))
  return createHmac(algo, k).update(data).digest('hex')
}

function hmacEqual (a: unknown, b: unknown): boolean {
  const x = stringBytes(str('crypto.hmac.equal', 1, a))
  const y = stringBytes(str('crypto.hmac.equal', 2, b))
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
