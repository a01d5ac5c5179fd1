#!/usr/bin/env node
// Sends one Envoy CheckRequest to a bouncer's ext_authz gRPC port and prints the CheckResponse —
// a way to try `bouncer run --mode ext_authz` without Envoy or grpcurl. The messages are encoded
// with @grpc/proto-loader from the .proto subset in test/ext-authz/fixtures/proto (Envoy's field
// numbers); the request is shaped like the one Envoy sends (see README, "Envoy ext_authz").
//
//   node scripts/ext-authz-check.mjs [--port 9191] [--method GET] [--path /people]
//        [--header name=value ...] [--body TEXT] [--source 10.0.0.7:51234]
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9191' },
    host: { type: 'string', default: '127.0.0.1' },
    method: { type: 'string', default: 'GET' },
    path: { type: 'string', default: '/people' },
    header: { type: 'string', multiple: true, default: [] },
    body: { type: 'string' },
    source: { type: 'string', default: '10.0.0.7:51234' },
  },
})

const protoDir = join(fileURLToPath(new URL('..', import.meta.url)), 'test', 'ext-authz', 'fixtures', 'proto')
const def = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs: [protoDir], keepCase: true, longs: Number, enums: Number, oneofs: true })
const { Authorization } = grpc.loadPackageDefinition(def).envoy.service.auth.v3

const headers = { ':authority': 'people.example', ':method': values.method, ':path': values.path, 'x-request-id': crypto.randomUUID() }
for (const h of values.header) {
  const i = h.indexOf('=')
  if (i <= 0) { console.error(`--header expects name=value, got ${JSON.stringify(h)}`); process.exit(2) }
  headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1)
}
const [srcIp, srcPort] = values.source.split(':')
const request = {
  attributes: {
    source: { address: { socket_address: { address: srcIp, port_value: Number(srcPort ?? 0) } } },
    destination: { address: { socket_address: { address: '127.0.0.1', port_value: 8000 } } },
    request: {
      time: { seconds: Math.floor(Date.now() / 1000) },
      http: {
        id: String(Date.now()), method: values.method, headers, path: values.path, host: 'people.example', scheme: 'http', protocol: 'HTTP/1.1',
        ...(values.body !== undefined ? { body: values.body, size: Buffer.byteLength(values.body) } : {}),
      },
    },
  },
}

const client = new Authorization(`${values.host}:${values.port}`, grpc.credentials.createInsecure())
client.Check(request, { deadline: Date.now() + 5000 }, (err, res) => {
  client.close()
  if (err) { console.error(`Check failed: ${err.message}`); process.exit(1) }
  console.log(JSON.stringify(res, null, 2))
  process.exit(res.status?.code ? 3 : 0)
})
