// The bouncer in the HTTP/2 benchmark: h2c with prior knowledge on the proxy port
// (server.http2.cleartext), plain requests to the HTTP/1.1 upstream, gRPC calls over HTTP/2 to
// the gRPC upstream (upstream.http2.url), the shipped policy with the admin role also granted
// POST /bouncer.test.Echo/Unary, JWT verification on, decision cache and logs off.
//   node --import tsx bench/servers/h2-bouncer.ts --upstream URL --grpc URL --policy DIR [--dist]
// --dist runs the compiled dist/ (what bin/bouncer.js runs) instead of src/ through tsx.
import type { AddressInfo } from 'node:net'
import { JWT_SECRET } from '../lib/scenarios.js'
import { childArgs, fatal, onShutdown, send } from './child.js'

const args = childArgs()
const { buildApp, createConfig } = args.dist === 'true'
  ? await import('../../dist/index.js' as string) as typeof import('../../src/index.js')
  : await import('../../src/index.js')
let app: Awaited<ReturnType<typeof buildApp>>
try {
  const config = createConfig({
    server: { host: '127.0.0.1', port: 0, http2: { cleartext: true } },
    admin: { enabled: true, host: '127.0.0.1', port: 0 },
    upstream: { url: args.upstream, http2: { url: args.grpc } },
    policy: { path: args.policy, entrypoint: 'bouncer/decision' },
    auth: { jwt: { enabled: true, keys: [{ alg: 'HS256', secret: JWT_SECRET }] } },
    logging: { level: 'warn' },
    cache: { enabled: false },
  })
  app = await buildApp(config, { decisionLog: null, cache: null })
  const { proxy, admin } = await app.start()
  send('ready', { port: proxy!.port, admin_port: (admin as AddressInfo | undefined)?.port })
} catch (e) { fatal(e) }
onShutdown(() => app.close(1500), 2500)
