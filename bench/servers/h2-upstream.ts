// The upstream of the HTTP/2 benchmark: the existing HTTP/1.1 upstream's answers for plain
// requests (what the bouncer forwards HTTP/2 requests to, over HTTP/1.1 with undici), and a real
// gRPC service (@grpc/grpc-js, h2c): bouncer.test.Echo/Unary answers its request message back.
//   node --import tsx bench/servers/h2-upstream.ts   → BENCH {"type":"ready","port":P,"grpc_port":G}
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { SMALL_BODY } from '../lib/payload.js'
import { childArgs, fatal, onShutdown, send } from './child.js'
import { ECHO_PROTO } from '../lib/h2.js'

childArgs()
const headers = { 'content-type': 'application/json', 'content-length': String(SMALL_BODY.length) }
const http1 = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume()
  const subject = req.headers['x-bouncer-subject']
  res.writeHead(200, subject === undefined ? headers : { ...headers, 'x-upstream-saw-subject': String(subject) })
  res.end(SMALL_BODY)
})
await new Promise<void>((resolve) => http1.listen(0, '127.0.0.1', resolve))

const def = protoLoader.loadSync(ECHO_PROTO, { keepCase: true, defaults: true })
const Echo = (grpc.loadPackageDefinition(def) as unknown as { bouncer: { test: { Echo: grpc.ServiceClientConstructor } } }).bouncer.test.Echo
const server = new grpc.Server()
type Msg = { text: string; n: number }
server.addService(Echo.service, {
  Unary (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) { cb(null, call.request) },
  ServerStream (call: grpc.ServerWritableStream<Msg, Msg>) { for (let i = 0; i < call.request.n; i++) call.write(call.request); call.end() },
  ClientStream (call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) { let n = 0; call.on('data', () => n++); call.on('end', () => cb(null, { text: '', n })) },
  Bidi (call: grpc.ServerDuplexStream<Msg, Msg>) { call.on('data', (m: Msg) => call.write(m)); call.on('end', () => call.end()) },
})
let grpcPort: number
try {
  grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))))
} catch (e) { fatal(e) }
send('ready', { port: (http1.address() as AddressInfo).port, grpc_port: grpcPort })
onShutdown(async () => {
  server.forceShutdown()
  http1.closeAllConnections()
  await new Promise<void>((resolve) => http1.close(() => resolve()))
})
