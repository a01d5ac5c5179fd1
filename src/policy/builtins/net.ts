// net.cidr_* builtins with Go's net.ParseIP / net.ParseCIDR rules (no leading zeros in IPv4
// octets, no zones, IPv4-mapped IPv6 addresses behave as IPv4). Addresses are BigInts.
import { BuiltinHalt, builtinError, type HostBuiltin } from './context.js'
import { isObject, operandTypeError, setOf, str, strings } from './args.js'

interface IP { v4: boolean; bits: bigint }
interface Net { v4: boolean; base: bigint; prefix: number }

const width = (v4: boolean): number => v4 ? 32 : 128

function parseIPv4 (s: string): bigint | null {
  const parts = s.split('.')
  if (parts.length !== 4) return null
  let v = 0n
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null
    const n = Number(p)
    if (n > 255) return null
    v = (v << 8n) | BigInt(n)
  }
  return v
}

function parseIPv6 (s: string): bigint | null {
  if (s.includes('%')) return null
  const lastColon = s.lastIndexOf(':')
  if (lastColon < 0) return null
  let head = s
  let tail: bigint | null = null
  if (s.slice(lastColon + 1).includes('.')) {
    tail = parseIPv4(s.slice(lastColon + 1))
    if (tail === null) return null
    head = s.slice(0, lastColon + 1)
    if (!head.endsWith('::')) head = head.slice(0, -1)
  }
  const want = tail === null ? 8 : 6
  const parseGroups = (t: string): number[] | null => {
    if (t === '') return []
    const out: number[] = []
    for (const g of t.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null
      out.push(parseInt(g, 16))
    }
    return out
  }
  let groups: number[]
  const dbl = head.indexOf('::')
  if (dbl >= 0) {
    if (head.indexOf('::', dbl + 1) >= 0) return null
    const left = parseGroups(head.slice(0, dbl))
    const right = parseGroups(head.slice(dbl + 2))
    if (left === null || right === null || left.length + right.length > want - 1) return null
    groups = [...left, ...new Array<number>(want - left.length - right.length).fill(0), ...right]
  } else {
    const g = parseGroups(head)
    if (g === null || g.length !== want) return null
    groups = g
  }
  let v = 0n
  for (const g of groups) v = (v << 16n) | BigInt(g)
  if (tail !== null) v = (v << 32n) | tail
  return v
}

/** Go's net.ParseIP (IPv4-mapped IPv6 normalised to IPv4). */
export function parseIP (s: string): IP | null {
  if (s.includes('.') && !s.includes(':')) {
    const v = parseIPv4(s)
    return v === null ? null : { v4: true, bits: v }
  }
  if (!s.includes(':')) return null
  const v = parseIPv6(s)
  if (v === null) return null
  if (v >> 32n === 0xffffn) return { v4: true, bits: v & 0xffffffffn }
  return { v4: false, bits: v }
}

const mask = (v4: boolean, prefix: number): bigint => {
  const w = BigInt(width(v4))
  return ((1n << w) - 1n) ^ ((1n << (w - BigInt(prefix))) - 1n)
}

/** Go's net.ParseCIDR (network address masked). */
export function parseCIDR (s: string): Net | null {
  const slash = s.indexOf('/')
  if (slash < 0) return null
  const addr = s.slice(0, slash)
  const p = s.slice(slash + 1)
  if (!/^\d+$/.test(p) || p.length > 4) return null
  let prefix = Number(p)
  let ip: IP | null
  if (addr.includes(':')) {
    const v = parseIPv6(addr)
    if (v === null) return null
    if (prefix > 128) return null
    if (v >> 32n === 0xffffn && prefix >= 96) {
      ip = { v4: true, bits: v & 0xffffffffn }
      prefix -= 96
    } else {
      ip = { v4: false, bits: v }
    }
  } else {
    const v = parseIPv4(addr)
    if (v === null || prefix > 32) return null
    ip = { v4: true, bits: v }
  }
  return { v4: ip.v4, base: ip.bits & mask(ip.v4, prefix), prefix }
}

const contains = (n: Net, ip: IP): boolean => n.v4 === ip.v4 && (ip.bits & mask(n.v4, n.prefix)) === n.base
const lastIP = (n: Net): bigint => n.base | ((1n << BigInt(width(n.v4) - n.prefix)) - 1n)

export function formatIP (ip: IP): string {
  if (ip.v4) return [24n, 16n, 8n, 0n].map(s => String((ip.bits >> s) & 0xffn)).join('.')
  if (ip.bits >> 32n === 0xffffn) return formatIP({ v4: true, bits: ip.bits & 0xffffffffn })
  const groups: number[] = []
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.bits >> BigInt(i * 16)) & 0xffffn))
  // longest run of zero groups (length >= 2), first on ties
  let best = -1; let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (best < 0) return hex.join(':')
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':')
}

const formatNet = (n: Net): string => `${formatIP({ v4: n.v4, bits: n.base })}/${n.prefix}`

function cidrOperand (name: string, pos: number, v: unknown): Net {
  const s = str(name, pos, v)
  const n = parseCIDR(s)
  if (n === null) throw builtinError(name, `invalid CIDR address: ${s}`)
  return n
}

function cidrContains (name: string, network: Net, x: string): boolean {
  const ip = parseIP(x)
  if (ip !== null) return contains(network, ip)
  const other = parseCIDR(x)
  if (other === null) throw builtinError(name, `not a valid textual representation of an IP address or CIDR: ${x}`)
  const first = { v4: other.v4, bits: other.base }
  return contains(network, first) && contains(network, { v4: other.v4, bits: lastIP(other) })
}

const EXPAND_LIMIT = 1 << 20

function cidrExpand (cidr: unknown): string[] {
  const name = 'net.cidr_expand'
  const n = cidrOperand(name, 1, cidr)
  const size = 1n << BigInt(width(n.v4) - n.prefix)
  if (size > BigInt(EXPAND_LIMIT)) throw builtinError(name, `${formatNet(n)} has more than ${EXPAND_LIMIT} addresses`)
  const out: string[] = []
  for (let i = 0n; i < size; i++) out.push(formatIP({ v4: n.v4, bits: n.base + i }))
  return setOf(out)
}

// net.cidr_merge as OPA computes it (topdown/cidr.go over internal/cidr/merge). Each network
// becomes a range of two byte strings compared as Go's bytes.Compare does (a shorter string that
// is a prefix of a longer one sorts first):
// - an IPv4 network: the 16 bytes of its IPv4-mapped IPv6 form (::ffff:a.b.c.d);
// - an IPv6 network: its 16 bytes;
// - an IPv6 network whose masked address is IPv4-mapped (::ffff:a.b.c.d/96 and longer): Go's
//   net.IP.To4 accepts it, so OPA puts the 12-byte mapped prefix before all 16 bytes (28 bytes)
//   and ors the host mask into bytes 12..15. Such a range sorts just above ::ffff:0.0.0.0 and
//   reaches about ::ffff:0.0.0.0 + its size, not where the address is: "::ffff:1.2.3.0/120"
//   merges with "0.0.0.0/24", not with "1.2.4.0/24".
// Ranges are sorted by last then first byte string and merged from the end while the address
// before a range's first (no lower than :: or ::ffff:0.0.0.0) is not after the previous range's
// last. An unmerged network prints as Go prints the input's IPNet; a merged range is cut into
// aligned blocks (Go's IPNet.String: blocks within the mapped block as IPv4) when OPA's
// range-to-CIDR step works; where it panics (review helper, 2026-12-07: a merged range with a
// 28-byte end, an IPv6 spanning network below 100:: other than ::/N, a range running out of the
// IPv4-mapped block) or, in its IPv6 arithmetic, crosses into that block and answers wrongly,
// there is no answer: the evaluation halts, as OPA's does (its HTTP server drops the request).
const MAPPED = 0xffffn << 32n
const V4_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

const bytesOf = (v: bigint, len: number): number[] => {
  const out: number[] = []
  for (let i = len - 1; i >= 0; i--) out.push(Number((v >> BigInt(i * 8)) & 0xffn))
  return out
}
const valueOf = (b: number[]): bigint => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n)
function compareBytes (a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1
  return a.length - b.length
}
const isMapped = (v: bigint): boolean => v >> 32n === 0xffffn
/** The address before `b` (same length); :: and ::ffff:0.0.0.0 are their own predecessors. */
function before (b: number[]): number[] {
  const v = valueOf(b)
  if (b.length === 16 && (v === 0n || v === MAPPED)) return b
  return bytesOf(v - 1n, b.length)
}

interface MergeRange { first: number[]; last: number[]; text?: string }

function mergeHalt (): never {
  throw new BuiltinHalt('net.cidr_merge: OPA\'s merge fails on these networks (no answer)')
}

/** Aligned blocks covering [a, b] within a space of `w` bits, as Go prints them. */
function blocks (a: bigint, b: bigint, w: number, out: string[]): void {
  while (a <= b) {
    let size = 0
    while (size < w && (a & ((1n << BigInt(size + 1)) - 1n)) === 0n && a + (1n << BigInt(size + 1)) - 1n <= b) size++
    const prefix = w - size
    if (w === 32) out.push(formatNet({ v4: true, base: a & 0xffffffffn, prefix }))
    else if (isMapped(a) && prefix >= 96) out.push(formatNet({ v4: true, base: a & 0xffffffffn, prefix: prefix - 96 }))
    else out.push(formatNet({ v4: false, base: a, prefix }))
    a += 1n << BigInt(size)
  }
}

/** OPA's CIDRs for a merged range, or a halt where its range-to-CIDR step has no answer. */
function mergedBlocks (r: MergeRange, out: string[]): void {
  if (r.first.length !== 16 || r.last.length !== 16) {
    // A 28-byte end: the spanning network OPA builds has an address of the wrong length (a
    // panic), except that a 28-byte first with a 16-byte last at or above 100:: gives the last
    // address alone.
    if (r.first.length === 28 && r.last.length === 16 && r.last[0] !== 0) { out.push(formatNet({ v4: false, base: valueOf(r.last), prefix: 128 })); return }
    mergeHalt()
  }
  const a = valueOf(r.first)
  const b = valueOf(r.last)
  if (isMapped(a)) {
    // IPv4 arithmetic: a last address outside the mapped block makes a spanning network of
    // more than 16 bytes (a panic).
    if (!isMapped(b)) mergeHalt()
    blocks(a & 0xffffffffn, b & 0xffffffffn, 32, out)
    return
  }
  // IPv6: the spanning network is `b` with its low bits cleared until it is not above `a`;
  // Go's big.Int drops leading zero bytes, so an address under 100:: other than :: is short.
  let k = 0
  let span = b
  while (k < 128 && a < span) { k++; span = (b >> BigInt(k)) << BigInt(k) }
  if (span !== 0n && span < (1n << 120n)) mergeHalt()
  const spanLast = span | ((1n << BigInt(k)) - 1n)
  // Cutting at the address before `a` or after `b` uses a 32-bit mask when that address is
  // IPv4-mapped: the cut is empty or wrong.
  if (span < a && isMapped(a - 1n)) mergeHalt()
  if (spanLast > b && isMapped(b + 1n)) mergeHalt()
  blocks(a, b, 128, out)
}

function cidrMerge (addrs: unknown): string[] {
  const name = 'net.cidr_merge'
  const items = strings(name, 1, addrs)
  const ranges: MergeRange[] = []
  for (const s of items) {
    if (s.includes('/')) {
      const n = parseCIDR(s)
      if (n === null) throw builtinError(name, `invalid CIDR address: ${s}`)
      const text = formatNet(n)
      if (!n.v4) {
        ranges.push({ first: bytesOf(n.base, 16), last: bytesOf(lastIP(n), 16), text })
      } else if (!s.slice(0, s.indexOf('/')).includes(':')) {
        ranges.push({ first: bytesOf(MAPPED | n.base, 16), last: bytesOf(MAPPED | lastIP(n), 16), text })
      } else {
        // written as IPv6, IPv4-mapped, /96 or longer (parseCIDR made it IPv4, prefix less 96)
        const ip16 = bytesOf(MAPPED | n.base, 16)
        const host = (1n << BigInt(32 - n.prefix)) - 1n
        ranges.push({ first: [...V4_PREFIX, ...ip16], last: [...V4_PREFIX, ...bytesOf(host, 4), ...ip16.slice(4)], text })
      }
    } else {
      const ip = parseIP(s)
      if (ip === null) throw builtinError(name, `IP address must be a valid IP address or CIDR: ${s}`)
      // OPA refuses a bare IPv6 address and gives a bare IPv4 one its classful default mask
      // (Go's IP.DefaultMask: /8 below 128.0.0.0, /16 below 192.0.0.0, else /24): a lone
      // "1.1.1.1" is "1.1.1.1/8" (the address keeps its own digits), and "192.0.2.112" merges
      // as 192.0.2.0/24.
      if (!ip.v4) throw builtinError(name, 'IPv6 invalid: needs prefix length')
      const first = Number(ip.bits >> 24n)
      const prefix = first < 128 ? 8 : first < 192 ? 16 : 24
      const n = { v4: true, base: ip.bits & mask(true, prefix), prefix }
      ranges.push({ first: bytesOf(MAPPED | n.base, 16), last: bytesOf(MAPPED | lastIP(n), 16), text: `${formatIP(ip)}/${prefix}` })
    }
  }
  ranges.sort((x, y) => compareBytes(x.last, y.last) || compareBytes(x.first, y.first))
  for (let i = ranges.length - 1; i > 0; i--) {
    const lower = ranges[i - 1]!
    const upper = ranges[i]!
    if (compareBytes(before(upper.first), lower.last) > 0) continue
    ranges[i - 1] = { first: compareBytes(lower.first, upper.first) < 0 ? lower.first : upper.first, last: upper.last }
    ranges.splice(i, 1)
  }
  const out: string[] = []
  for (const r of ranges) {
    if (r.text !== undefined) out.push(r.text)
    else mergedBlocks(r, out)
  }
  return setOf(out)
}

/** Entries of a cidr_contains_matches operand: [key, cidr-or-ip string]. */
function matchEntries (name: string, pos: number, v: unknown): Array<[unknown, string]> {
  const elem = (x: unknown): string => {
    if (typeof x === 'string') return x
    if (Array.isArray(x) && typeof x[0] === 'string') return x[0]
    throw builtinError(name, `operand ${pos}: element must be string or non-empty array`)
  }
  if (typeof v === 'string') return [[v, v]]
  if (Array.isArray(v)) return v.map((x, i) => [i, elem(x)])
  if (isObject(v)) return Object.keys(v).map(k => [k, elem(v[k])])
  throw operandTypeError(name, pos, v, 'string', 'array', 'object', 'set')
}

function cidrContainsMatches (cidrs: unknown, targets: unknown): unknown[][] {
  const name = 'net.cidr_contains_matches'
  const as = matchEntries(name, 1, cidrs)
  const bs = matchEntries(name, 2, targets)
  const out: unknown[][] = []
  for (const [ka, ca] of as) {
    const n = parseCIDR(ca)
    if (n === null) throw builtinError(name, `invalid CIDR address: ${ca}`)
    for (const [kb, cb] of bs) if (cidrContains(name, n, cb)) out.push([ka, kb])
  }
  return setOf(out)
}

export const netBuiltins: Record<string, HostBuiltin> = {
  'net.cidr_contains': (cidr: unknown, x: unknown) => {
    const n = cidrOperand('net.cidr_contains', 1, cidr)
    return cidrContains('net.cidr_contains', n, str('net.cidr_contains', 2, x))
  },
  // Deprecated (v0 policies): whether the network holds an address (not a CIDR). OPA reads
  // both operands as "operand 1" and refuses a CIDR as the second.
  'net.cidr_overlap': (cidr: unknown, x: unknown) => {
    const name = 'net.cidr_overlap'
    const n = cidrOperand(name, 1, cidr)
    const s = str(name, 1, x)
    const ip = parseIP(s)
    if (ip === null) throw builtinError(name, `not a valid textual representation of an IP address: ${s}`)
    return contains(n, ip)
  },
  'net.cidr_intersects': (a: unknown, b: unknown) => {
    const x = cidrOperand('net.cidr_intersects', 1, a)
    const y = cidrOperand('net.cidr_intersects', 2, b)
    return contains(x, { v4: y.v4, bits: y.base }) || contains(y, { v4: x.v4, bits: x.base })
  },
  'net.cidr_is_valid': (cidr: unknown) => typeof cidr === 'string' && parseCIDR(cidr) !== null,
  'net.cidr_expand': cidrExpand,
  'net.cidr_merge': cidrMerge,
  'net.cidr_contains_matches': cidrContainsMatches,
}

