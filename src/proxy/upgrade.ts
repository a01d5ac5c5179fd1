// Upgrade requests: which protocols may be tunnelled (server.upgrade.allowed; h2c never), and
// the raw response heads written on an upgraded socket. The exchange itself is the pipeline's
// (pipeline.ts): an upgrade goes through the same steps as any request.
import { createHash } from 'node:crypto'
import { STATUS_CODES } from '../node-http.js'
import type { HeaderList } from './decision.js'

/** Protocol names in an Upgrade value ("websocket", "h2c", "foo/2" → "foo"), lower-case. */
function upgradeProtocols (value: string | undefined): string[] {
  if (value === undefined) return []
  const out: string[] = []
  for (const part of value.split(',')) {
    const p = part.trim().toLowerCase()
    if (p) out.push(p.split('/', 1)[0].trim())
  }
  return out
}

/** Compiled once: true when every protocol the Upgrade value names may be tunnelled. */
export function compileUpgradePolicy (allowed: readonly string[]): (value: string | undefined) => boolean {
  const ok = new Set(allowed.map((a) => a.toLowerCase()).filter((a) => a !== 'h2c'))
  return (value) => {
    const ps = upgradeProtocols(value)
    return ps.length > 0 && ps.every((p) => ok.has(p))
  }
}

export function rawHead (status: number, message: string | undefined, rawHeaders: readonly string[], extra: HeaderList, drop: ReadonlySet<string>): string {
  let head = `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}\r\n`
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!drop.has(rawHeaders[i].toLowerCase())) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`
  }
  for (const [n, v] of extra) for (const one of Array.isArray(v) ? v : [v]) head += `${n}: ${one}\r\n`
  return head
}

export function headerValue (rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === name) return rawHeaders[i + 1]
  return undefined
}

// RFC 6455 4.2.2: the accept value is base64(SHA-1(key + this GUID)).
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/**
 * Whether a 101 to a WebSocket upgrade comes from a WebSocket server: its Sec-WebSocket-Accept
 * must answer the client's Sec-WebSocket-Key (RFC 6455). Anything else (an endpoint that can be
 * made to answer 101 and stays HTTP) would turn the tunnel into a way past the policy: the
 * client's later bytes would reach the upstream as requests nobody judged. Protocols other than
 * websocket have no such check: true.
 */
export function upgradeAnswered (upgrade: string, clientKey: string | string[] | undefined, rawHeaders: readonly string[]): boolean {
  if (!upgradeProtocols(upgrade).includes('websocket')) return true
  if (typeof clientKey !== 'string') return false
  const accept = headerValue(rawHeaders, 'sec-websocket-accept')
  return accept !== undefined && accept.trim() === createHash('sha1').update(clientKey.trim() + WS_GUID).digest('base64')
}
