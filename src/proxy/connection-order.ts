// Pipelined HTTP/1.1 requests after an answer that closes the connection. Node parses and
// emits pipelined requests ahead of their answers, so a request received after one we answer
// with `Connection: close` (a denial with its body unread, a 413...) was decided and forwarded
// all the same: the upstream carried out a request whose answer nobody would read (RFC 9112
// §9.6: a server that sends close "MUST NOT process any further requests received on that
// connection"). Each request gets its place on its connection; one behind a closing answer is
// never forwarded.

interface Connection { received: number; closedAt: number }

const connections = new WeakMap<object, Connection>()
const places = new WeakMap<object, { connection: Connection; place: number }>()

/** Gives an HTTP/1.1 request its place on its connection (call once, as it arrives). */
export function admit (socket: object, res: object): void {
  let c = connections.get(socket)
  if (c === undefined) connections.set(socket, c = { received: 0, closedAt: Infinity })
  places.set(res, { connection: c, place: ++c.received })
}

/** The answer on `res` closes the connection: no request received after it is processed. */
export function closesConnection (res: object): void {
  const p = places.get(res)
  if (p !== undefined && p.place < p.connection.closedAt) p.connection.closedAt = p.place
}

/** Whether the request answered on `res` came after one whose answer closes the connection. */
export function behindClose (res: object): boolean {
  const p = places.get(res)
  return p !== undefined && p.place > p.connection.closedAt
}
