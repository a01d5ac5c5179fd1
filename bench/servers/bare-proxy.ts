// The baseline every ratio is taken against: Fastify + @fastify/reply-from forwarding every
// request to the upstream, no policy, no logging — what any Node reverse proxy pays.
import Fastify from 'fastify'
import replyFrom from '@fastify/reply-from'
import type { AddressInfo } from 'node:net'
import { childArgs, fatal, onShutdown, send } from './child.js'

const args = childArgs()
const upstream = args.upstream
if (!upstream) fatal(new Error('--upstream URL is required'))

const app = Fastify({ logger: false })
await app.register(replyFrom, { base: upstream, undici: { connections: 256, pipelining: 1, keepAliveTimeout: 4000 } })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (_req, _payload, done) => done(null))
app.all('/*', (request, reply) => reply.from(request.url))
try {
  await app.listen({ host: '127.0.0.1', port: Number(args.port ?? 0) })
} catch (e) { fatal(e) }
send('ready', { port: (app.server.address() as AddressInfo).port })
onShutdown(() => app.close())
