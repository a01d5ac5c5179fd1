// The Envoy ext_authz listeners (config.ext_authz) from their config slice. Imported by compose
// only when one is enabled, so a bouncer without them never loads src/ext-authz or
// @grpc/grpc-js. Each transport gets its own engine over the same policy holder, decision cache
// and keys, and decision logger as the proxy (createEngine with the plugin's reading of the
// result and a bouncer_mode label on its events); nothing listens until listen().
import type { Logger } from 'pino'
import type { Authenticator } from '../auth/index.js'
import type { BouncerConfig } from '../config/index.js'
import type { Metrics } from '../metrics/index.js'
import { createEngine, type EngineDeps } from '../proxy/engine.js'
import { createChecker } from '../ext-authz/check.js'
import { parseExtAuthzDecision } from '../ext-authz/decision.js'
import { createGrpcServer, type ExtAuthzGrpcServer } from '../ext-authz/grpc.js'
import { createHttpServer, type ExtAuthzHttpServer } from '../ext-authz/http.js'

export interface ExtAuthzAddresses {
  grpc?: { address: string; port: number }
  http?: { address: string; port: number }
}

export interface ExtAuthzComponent {
  listen (): Promise<ExtAuthzAddresses>
  close (deadlineMs: number): Promise<void>
}

/** The decision-log label of each transport's events. */
export const MODE_LABELS = Object.freeze({ grpc: 'ext_authz_grpc', http: 'ext_authz_http' })

export async function fromConfig (c: BouncerConfig, deps: { engine: Omit<EngineDeps, 'parse' | 'eventLabels'>; metrics: Metrics; log: Logger; auth?: Authenticator }): Promise<ExtAuthzComponent | undefined> {
  const x = c.ext_authz
  if (!x.grpc.enabled && !x.http.enabled) return undefined
  const log = deps.log.child({ component: 'ext_authz' })
  const checkerFor = (transport: 'grpc' | 'http') => createChecker({
    decide: createEngine({ ...deps.engine, parse: parseExtAuthzDecision, eventLabels: { bouncer_mode: MODE_LABELS[transport] } }),
    metrics: deps.metrics,
    log,
    errorStatus: c.policy.error_status,
    holder: deps.engine.holder,
    ...(deps.auth !== undefined ? { auth: deps.auth } : {}),
  })
  const grpc: ExtAuthzGrpcServer | undefined = x.grpc.enabled
    ? await createGrpcServer(checkerFor('grpc'), { host: x.grpc.host, port: x.grpc.port, maxRequestBytes: x.max_request_bytes }, log)
    : undefined
  const http: ExtAuthzHttpServer | undefined = x.http.enabled
    ? createHttpServer(checkerFor('http'), { host: x.http.host, port: x.http.port, maxRequestBytes: x.max_request_bytes, pathPrefix: x.http.path_prefix, headerCharset: c.server.header_charset, maxBufferedBytes: c.policy.parsed_body.max_buffered_bytes }, log)
    : undefined
  return {
    async listen () {
      const out: ExtAuthzAddresses = {}
      if (grpc) out.grpc = await grpc.listen()
      if (http) out.http = await http.listen()
      return out
    },
    async close (deadlineMs) {
      await Promise.all([grpc?.close(deadlineMs), http?.close(deadlineMs)])
    },
  }
}
