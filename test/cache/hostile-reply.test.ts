// A Redis endpoint that answers a lookup with a reply without end (a compromised Redis, or a
// man in the middle of plaintext redis://): once the lookup's deadline passes the connection is
// dropped and made anew, so the reply is never read whole. Before, the client kept reading it
// and held it all (an 800 MB bulk string: 1.6 GB more RSS). A RESP server on loopback, written
// here: no real Redis sends such a reply.
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { TieredDecisionCache } from '../../src/cache/index.js'

type Conn = { socket: Socket; closed: boolean; streamed: number }

/** A RESP server on loopback answering the handshake, and `endless` with a bulk reply without end. */
async function hostileRedis (t: Test, endless: 'GETRANGE' | 'PING'): Promise<{ url: string; sockets: Conn[] }> {
  const sockets: Conn[] = []
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
        if (name === 'INFO') { const b = '# Server\r\nloading:0\r\n'; socket.write(`$${b.length}\r\n${b}\r\n`) } else if (name === endless) {
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
        } else if (name === 'PING') socket.write('+PONG\r\n')
        else socket.write('+OK\r\n')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.socket.destroy(); server.close(() => resolve()) }))
  return { url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets }
}

async function waitUntil (ok: () => boolean): Promise<void> {
  const end = Date.now() + 5000
  while (!ok() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10))
}

t.test('a lookup answered by an endless bulk reply: the connection is dropped after the deadline and a new one made', async (t) => {
  const { url, sockets } = await hostileRedis(t, 'GETRANGE')
  const cache = new TieredDecisionCache({
    memory: false,
    redis: { url, commandTimeoutMs: 50, maxReconnectDelayMs: 100, breaker: { failureThreshold: 3, openMs: 100, maxOpenMs: 400 } },
    ttl: { allowSeconds: 60, denySeconds: 10 },
  }, {})
  t.teardown(() => cache.close())
  t.ok(await cache.whenRedisReady(5000), 'the handshake passed: Redis in use')
  t.equal(await cache.get('k1'), undefined, 'the lookup ends at its deadline as a miss')
  const first = sockets[0]!
  await waitUntil(() => first.closed)
  t.ok(first.closed, 'the connection holding the endless reply was closed by the client')
  t.ok(first.streamed < 256 * 1024 * 1024, `it stopped reading long before the announced 1 GiB (${(first.streamed / 1048576).toFixed(1)} MiB sent)`)
  await waitUntil(() => sockets.length >= 2)
  t.ok(sockets.length >= 2, 'and a new connection was made')
})

t.test('the breaker\'s PING probe answered by an endless bulk reply: the same', async (t) => {
  const { url, sockets } = await hostileRedis(t, 'PING')
  const cache = new TieredDecisionCache({
    memory: false,
    redis: { url, commandTimeoutMs: 50, maxReconnectDelayMs: 100, breaker: { failureThreshold: 3, openMs: 100, maxOpenMs: 400 } },
    ttl: { allowSeconds: 60, denySeconds: 10 },
  }, {})
  t.teardown(() => cache.close())
  t.equal(await cache.whenRedisReady(300), false, 'never usable: the probe never gets its PONG')
  await waitUntil(() => sockets.length > 0 && sockets[0]!.closed)
  t.ok(sockets[0]!.closed, 'the connection holding the endless reply was closed by the client')
  t.ok(sockets[0]!.streamed < 256 * 1024 * 1024, `it stopped reading long before the announced 1 GiB (${(sockets[0]!.streamed / 1048576).toFixed(1)} MiB sent)`)
  await waitUntil(() => sockets.length >= 2)
  t.ok(sockets.length >= 2, 'and a new connection was made')
  // The new connection's probe meets the same reply: it is dropped as well, however soon after
  // the first (a once-a-second limit let it read the whole GiB).
  await waitUntil(() => sockets[1]!.closed)
  t.ok(sockets[1]!.closed, 'the second connection was dropped too')
  t.ok(sockets[1]!.streamed < 256 * 1024 * 1024, `it too stopped reading early (${(sockets[1]!.streamed / 1048576).toFixed(1)} MiB sent)`)
})
