// The account step: metrics through children bound once per label value (prom-client hashes a
// label object on every call otherwise), and the one request log line per exchange — built
// only when the logger would write it.
import type { Logger } from 'pino'
import type { Metrics } from '../metrics/index.js'
import { parseTraceparent } from '../decision-log/event.js'
import type { ClientRequest, Exchange, Outcome } from './exchange.js'
import { formatAddress } from './input.js'
import type { FailureKind } from './forward.js'

interface Inc { inc (n?: number): void }
interface Observe { observe (v: number): void }

/** label value → child, created on first use. */
function bound<T> (make: (label: string) => T): (label: string) => T {
  const children = new Map<string, T>()
  return (label) => {
    let c = children.get(label)
    if (c === undefined) { c = make(label); children.set(label, c) }
    return c
  }
}

// Bytes read and written on an HTTP/1.x connection when its previous request's log line was
// written: the next request's bytes_in / bytes_out are counted from there (head and body on
// the wire; a pipelined request's first bytes may count toward the one before it).
const kWire = Symbol('bouncer.wireBytes')
type WireSocket = { bytesRead: number; bytesWritten: number; [kWire]?: { read: number; written: number } }

/** The peer's IP, IPv4-mapped IPv6 unwrapped. */
export function peerIp (req: ClientRequest): string {
  const ip = req.socket.remoteAddress ?? ''
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
}

/** The W3C trace id of the request (for the request log line), when it carries a valid traceparent. */
function traceIdOf (req: ClientRequest): string | undefined {
  const tp = req.headers.traceparent
  return typeof tp === 'string' ? parseTraceparent(tp)?.trace_id : undefined
}

function userAgent (req: ClientRequest): string | undefined {
  const ua = req.headers['user-agent']
  return ua === undefined || ua.length <= 256 ? ua : ua.slice(0, 256)
}

export type Accounting = ReturnType<typeof createAccounting>

export function createAccounting (metrics: Metrics, log: Logger) {
  // The per-request line carries only fields we set (never headers, never the query), so it
  // skips the redaction pass, which would triple its cost.
  const requestLog = log.child({}, { redact: { paths: [] } })
  const logRequests = requestLog.isLevelEnabled('info')
  const requests = bound((k) => { const i = k.indexOf('|'); return metrics.requests.labels(k.slice(0, i), k.slice(i + 1)) as Inc })
  const duration = bound((outcome) => metrics.requestDuration.labels(outcome) as Observe)
  const upstream = bound((outcome) => metrics.upstreamDuration.labels(outcome) as Observe)
  const upstreamErrors = bound((kind) => metrics.upstreamErrors.labels(kind) as Inc)
  const rejected = bound((reason) => metrics.rejected.labels(reason) as Inc)
  const failClosed = bound((reason) => metrics.failClosed.labels(reason) as Inc)
  const masked = bound((outcome) => metrics.maskedResponses.labels(outcome) as Inc)
  const upgrades = bound((outcome) => metrics.websocketUpgrades.labels(outcome) as Inc)
  const upstreamOk = upstream('ok')

  return {
    requestLog,
    inflight: metrics.inflight,
    tunnelsOpen: metrics.websocketOpen,
    maskDuration: metrics.maskDuration,
    rejected: (reason: string) => rejected(reason).inc(),
    failClosed: (reason: string) => failClosed(reason).inc(),
    masked: (outcome: 'masked' | 'failed') => masked(outcome).inc(),
    /** The upstream's response head arrived: seconds since the request was sent. */
    upstreamHead: (seconds: number) => upstreamOk.observe(seconds),
    upstreamFailed: (kind: FailureKind, seconds: number | undefined) => {
      if (seconds !== undefined) upstream(kind).observe(seconds)
      upstreamErrors(kind).inc()
    },

    /** An HTTP exchange is over (its response closed): counters, duration, the log line. */
    request (x: Exchange, req: ClientRequest, socket: ClientRequest['socket'], status: number, complete: boolean, wire: WireSocket | undefined): void {
      const endNs = process.hrtime.bigint()
      requests(`${x.outcome}|${status}`).inc()
      duration(x.outcome).observe(Number((x.headSentNs ?? endNs) - x.startNs) / 1e9)
      if (!logRequests) return
      let bytesIn: number | undefined
      let bytesOut: number | undefined
      if (wire !== undefined) {
        const from = wire[kWire]
        const read = wire.bytesRead
        const written = wire.bytesWritten
        bytesIn = read - (from?.read ?? 0)
        bytesOut = written - (from?.written ?? 0)
        wire[kWire] = { read, written }
      }
      const t = x.target
      requestLog.info({
        id: x.id, request_id: x.requestId, trace_id: traceIdOf(req), method: req.method, path: t.ok ? t.path : undefined, status,
        decision: x.outcome, reason: x.reason, code: x.code, cached: x.cached,
        ms: Number(endNs - x.startNs) / 1e6, upstream_ms: x.upstreamMs, complete,
        client_addr: clientAddr(socket), user_agent: userAgent(req), bytes_in: bytesIn, bytes_out: bytesOut,
      }, 'request')
    },

    /** An upgrade request has its answer (a 101 and a tunnel, or a response on the raw socket). */
    upgrade (x: Exchange, req: ClientRequest, status: number): void {
      upgrades(x.outcome).inc()
      requests(`${x.outcome === 'tunnelled' ? 'allow' : x.outcome}|${status}`).inc()
      if (!logRequests) return
      const t = x.target
      requestLog.info({
        id: x.id, request_id: x.requestId, trace_id: traceIdOf(req), method: req.method, path: t.ok ? t.path : undefined,
        upgrade: req.headers.upgrade, status, decision: x.outcome, reason: x.reason, code: x.code, ms: Number(process.hrtime.bigint() - x.startNs) / 1e6,
        client_addr: clientAddr(req.socket), user_agent: userAgent(req),
      }, 'request')
    },

    /** An Upgrade request with a body (tunnelled or not): refused with 400 on the raw socket. */
    upgradeRefused (x: Exchange, req: ClientRequest): void {
      requests('rejected|400').inc()
      if (!logRequests) return
      requestLog.info({
        id: x.id, request_id: x.requestId, trace_id: traceIdOf(req), method: req.method, upgrade: req.headers.upgrade, status: 400,
        decision: x.outcome, reason: x.reason, code: x.code, client_addr: clientAddr(req.socket), user_agent: userAgent(req),
      }, 'request')
    },

    /** The HTTP/1.x connection's byte counters, for bytes_in/bytes_out (HTTP/2 streams share a session: none). */
    wireOf (req: ClientRequest): WireSocket | undefined {
      return logRequests && req.httpVersionMajor === 1 ? req.socket as unknown as WireSocket : undefined
    },
  }
}

function clientAddr (socket: ClientRequest['socket'] | null): string | undefined {
  const ip = socket?.remoteAddress
  return ip === undefined ? undefined : formatAddress(ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip, socket!.remotePort)
}

export type { Outcome }
