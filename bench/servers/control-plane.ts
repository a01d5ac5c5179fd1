// A local control-plane stub for the decision-log scenario: accepts POST /logs (gzip'd
// NDJSON/JSON batches), drains them and answers 200; counts what it received.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { childArgs, onShutdown, send } from './child.js'

const args = childArgs()
let batches = 0
let bytes = 0
const server = createServer((req, res) => {
  req.on('data', (c: Buffer) => { bytes += c.length })
  req.on('end', () => {
    if (req.method === 'POST') batches++
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' })
    res.end('{}')
  })
})
server.listen(Number(args.port ?? 0), '127.0.0.1', () => send('ready', { port: (server.address() as AddressInfo).port }))
onShutdown(() => new Promise<void>((resolve) => {
  send('stats', { batches, bytes })
  server.closeAllConnections()
  server.close(() => resolve())
}))
