// A Redis endpoint that answers a lookup with a reply without end (a compromised Redis, or a
// man in the middle of plaintext redis://): once the lookup's deadline passes the connection is
// dropped and made anew, so the reply is never read whole. Before, the client kept reading it
// and held it all (an 800 MB bulk string: 1.6 GB more RSS). A RESP server on loopback, written
// here: no real Redis sends such a reply.
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { TieredDecisionCache } from '../../src/cache/index.js'

t.test('a lookup answered by an endless bulk reply: the connection is dropped after the deadline and a new one made', async (t) => {
  const sockets: Array<{ socket: Socket; closed: boolean; streamed: number }> = []
  const server = createServer((socket) => {
    const conn = { socket, closed: false, streamed: 0 }
    sockets.push(conn)
    socket.on('error', () => {})
    socket.on('close', () => { conn.closed = true })
    let buf = ''
    socket.on('data', (d) => {
      buf += d.toString('latin1')
      const re = /\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/g
      let m: RegExpExecArray | null
      let last = 0
      const names: string[] = []
      while ((m = re.exec(buf)) !== null) { names.push(m[1]!.toUpperCase()); last = re.lastIndex }
      buf = buf.slice(last)
      for (const name of names) {
        if (name === 'INFO') { const b = '# Server\r\nloading:0\r\n'; socket.write(`$${b.length}\r\n${b}\r\n`) } else if (name === 'PING') socket.write('+PONG\r\n')
        else if (name === 'GETRANGE') {
          // 1 GiB announced, sent 64 KiB at a time for as long as the socket lives.
          socket.write(`$${1 << 30}\r\n`)
          const chunk = Buffer.alloc(64 * 1024, 0x41)
          const pump = (): void => {
            while (!conn.closed && conn.streamed < (1 << 30)) {
              conn.streamed += chunk.length
              if (!socket.write(chunk)) { socket.once('drain', pump); return }
            }
          }
          pump()
          return
        } else socket.write('+OK\r\n')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.socket.destroy(); server.close(() => resolve()) }))
  const url = `redis://127.0.0.1:${(server.address() as AddressInfo).port}`
  const cache = new TieredDecisionCache({
    memory: false,
    redis: { url, commandTimeoutMs: 50, maxReconnectDelayMs: 100, breaker: { failureThreshold: 3, openMs: 100, maxOpenMs: 400 } },
    ttl: { allowSeconds: 60, denySeconds: 10 },
  }, {})
  t.teardown(() => cache.close())
  t.ok(await cache.whenRedisReady(5000), 'the handshake passed: Redis in use')
  t.equal(await cache.get('k1'), undefined, 'the lookup ends at its deadline as a miss')
  const first = sockets[0]!
  const end = Date.now() + 5000
  while (!first.closed && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(first.closed, 'the connection holding the endless reply was closed by the client')
  t.ok(first.streamed < 256 * 1024 * 1024, `it stopped reading long before the announced 1 GiB (${(first.streamed / 1048576).toFixed(1)} MiB sent)`)
  while (sockets.length < 2 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(sockets.length >= 2, 'and a new connection was made')
})
