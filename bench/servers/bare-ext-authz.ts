// The ext_authz baseline: a grpc-js Authorization server and a node:http server that answer
// every check "allowed" with a fixed answer — no decoding, no policy, no decision step. What the
// bouncer adds per check is its row minus this one.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as grpc from '@grpc/grpc-js'
import { encodeCheckResponse } from '../../src/ext-authz/proto.js'
import { childArgs, fatal, onShutdown, send } from './child.js'

const args = childArgs()
const ok = encodeCheckResponse({ status: { code: 0 }, dynamicMetadata: { decision_id: '00000000-0000-4000-8000-000000000000' } })
const id = (b: Buffer): Buffer => b
const server = new grpc.Server({ 'grpc.enable_channelz': 0 }) // as the bouncer's
server.addService({
  Check: { path: '/envoy.service.auth.v3.Authorization/Check', requestStream: false, responseStream: false, originalName: 'Check', requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
}, { Check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, ok) })
const http = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume()
  res.writeHead(200, { 'content-length': '0' })
  res.end()
})
server.bindAsync(`127.0.0.1:${args['grpc-port'] ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, grpcPort) => {
  if (err) fatal(err)
  http.listen(Number(args['http-port'] ?? 0), '127.0.0.1', () => send('ready', { grpc_port: grpcPort, http_port: (http.address() as AddressInfo).port }))
})
onShutdown(() => new Promise<void>((resolve) => { server.forceShutdown(); http.closeAllConnections(); http.close(() => resolve()) }))
