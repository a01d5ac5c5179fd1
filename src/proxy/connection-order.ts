// Pipelined HTTP/1.1 requests after an answer that closes the connection. Node parses and
// emits pipelined requests ahead of their answers, so a request received after one we answer
// with `Connection: close` (a denial with its body unread, a 413...) was decided and forwarded
// all the same: the upstream carried out a request whose answer nobody would read (RFC 9112
// §9.6: a server that sends close "MUST NOT process any further requests received on that
// connection"). Each request gets its place on its connection; one behind a closing answer is
// never forwarded.
//
// Requests of one connection are also handled one at a time (RFC 9112 §9.3.2 lets a server
// take pipelined requests in turn; their answers go out in order anyway): the next starts once
// the previous answer is done. Node parses and hands over pipelined requests as fast as they
// come, so without this one connection that never read opened 100,000 exchanges at once from
// 4.4 MB of input. At most MAX_WAITING wait; a client pipelining more is cut off.

/** Requests of one connection that may wait for their turn. */
export const MAX_WAITING = 32

interface Connection { received: number; closedAt: number; busy: boolean; waiting: Array<() => void> }
interface Place { readonly connection: Connection; readonly place: number }

// Kept on the socket and the response under symbols of this module: a WeakMap entry per
// request cost ~2 us (profile of bouncer-eval at 3,000 req/s), a property next to nothing.
const CONNECTION = Symbol('bouncer.connection')
const PLACE = Symbol('bouncer.place')
type WithConnection = { [CONNECTION]?: Connection }
type WithPlace = { [PLACE]?: Place }

const connectionOf = (socket: object): Connection | undefined => (socket as WithConnection)[CONNECTION]
const placeOf = (res: object): Place | undefined => (res as WithPlace)[PLACE]

/** Gives an HTTP/1.1 request its place on its connection (call once, as it arrives). */
export function admit (socket: object, res: object): void {
  let c = connectionOf(socket)
  if (c === undefined) (socket as WithConnection)[CONNECTION] = c = { received: 0, closedAt: Infinity, busy: false, waiting: [] }
  ;(res as WithPlace)[PLACE] = { connection: c, place: ++c.received }
}

/** The answer on `res` closes the connection: no request received after it is processed. */
export function closesConnection (res: object): void {
  const p = placeOf(res)
  if (p !== undefined && p.place < p.connection.closedAt) p.connection.closedAt = p.place
}

/** Whether the request answered on `res` came after one whose answer closes the connection. */
export function behindClose (res: object): boolean {
  const p = placeOf(res)
  return p !== undefined && p.place > p.connection.closedAt
}

/**
 * Runs `start` for a request of this connection once no earlier one is in hand (the pipeline
 * calls turnDone from its answer's 'close'). False when MAX_WAITING already wait: the caller
 * cuts the connection. Requests still waiting when the connection goes are dropped.
 */
export function inTurn (socket: { readonly destroyed: boolean }, start: () => void): boolean {
  const c = connectionOf(socket)
  if (c === undefined) { start(); return true }
  const run = (): void => {
    if (socket.destroyed) { c.waiting.length = 0; return }
    c.busy = true
    start()
  }
  if (!c.busy) { run(); return true }
  if (c.waiting.length >= MAX_WAITING) return false
  c.waiting.push(run)
  return true
}

/** The answer of the connection's request in hand is done (closed): the next waiting one starts. */
export function turnDone (socket: object): void {
  const c = connectionOf(socket)
  if (c === undefined) return
  c.busy = false
  c.waiting.shift()?.()
}
