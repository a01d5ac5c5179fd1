// The protected service: node:http, keep-alive, precomputed bodies. /v1/customers... answers
// a ~100 KB page of customers (the masking scenario), everything else a small JSON document.
// The subject header the policy adds to granted requests is reflected in the answer
// (x-upstream-saw-subject), so the harness can check that the bouncer really evaluated.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { customersBody, SMALL_BODY } from '../lib/payload.js'
import { childArgs, onShutdown, send } from './child.js'

const args = childArgs()
const bigBody = customersBody(Number(args['big-bytes'] ?? 100 * 1024))
const smallHeaders = { 'content-type': 'application/json', 'content-length': String(SMALL_BODY.length) }
const bigHeaders = { 'content-type': 'application/json', 'content-length': String(bigBody.length) }

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume()
  const subject = req.headers['x-bouncer-subject']
  const big = req.url !== undefined && req.url.startsWith('/v1/customers')
  const headers = big ? bigHeaders : smallHeaders
  res.writeHead(200, subject === undefined ? headers : { ...headers, 'x-upstream-saw-subject': String(subject) })
  res.end(big ? bigBody : SMALL_BODY)
})
server.listen(Number(args.port ?? 0), '127.0.0.1', () => {
  send('ready', { port: (server.address() as AddressInfo).port, big_bytes: bigBody.length })
})
onShutdown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
