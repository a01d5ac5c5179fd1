// envoy.service.auth.v3.Authorization/Check over gRPC (@grpc/grpc-js), messages encoded by hand
// (proto.ts). The answer follows opa-envoy-plugin: status OK or PERMISSION_DENIED; for an object
// decision an ok_response (headers, headers_to_remove, response_headers_to_add,
// query_parameters_to_remove) or a denied_response (status, headers, body); dynamic_metadata with
// the decision's own and decision_id.
//
// Fail closed, in band: every failure is a CheckResponse that denies, never an RPC error — Envoy
// treats an RPC error as "the authorization server failed" and lets the request through when
// failure_mode_allow is set, but denies on any non-OK CheckResponse.status whatever that setting:
//   - a CheckRequest that does not parse (proto.ts) or that the plugin would refuse (input.ts):
//     status INVALID_ARGUMENT with the reason, denied_response 400 with the reason as body
//     (the plugin answers PERMISSION_DENIED with the same 400 and body);
//   - a policy error (evaluation error, step budget, invalid decision): PERMISSION_DENIED,
//     denied_response policy.error_status; no policy / decision log full: UNAVAILABLE, 503.
// Only what grpc-js refuses before our handler runs (a message over max_request_bytes:
// RESOURCE_EXHAUSTED) is an RPC error: run Envoy with failure_mode_allow false (its default).
import type * as Grpc from '@grpc/grpc-js'
import type { Logger } from 'pino'
import { ERROR_CODES } from '../proxy/respond.js'
import type { CheckResult, Checker } from './check.js'
import { inputFromCheckRequest, InputError, peerAddress } from './input.js'
import { decodeCheckRequest, encodeCheckResponse, ProtoError, type CheckResponseFields, type HeaderOption } from './proto.js'

export const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check'

export const GrpcCode = Object.freeze({ OK: 0, INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, UNAVAILABLE: 14 })

const opts = (list: readonly (readonly [string, string])[]): HeaderOption[] => list.map(([key, value]) => ({ key, value }))
const JSON_TYPE: HeaderOption = { key: 'content-type', value: 'application/json' }

/** The CheckResponse for a decision or a failure. */
export function checkResponseOf (r: CheckResult): CheckResponseFields {
  if (r.kind === 'fail') {
    const body = JSON.stringify({ error: ERROR_CODES[r.status] ?? 'denied', decision_id: r.decisionId })
    const unavailable = r.reason === 'no_policy' || r.reason === 'log_backpressure'
    return {
      status: { code: unavailable ? GrpcCode.UNAVAILABLE : GrpcCode.PERMISSION_DENIED, message: r.code },
      denied: { httpStatus: r.status, headers: [JSON_TYPE], body },
      dynamicMetadata: { decision_id: r.decisionId },
    }
  }
  const d = r.decision
  const e = d.envoy
  const dynamicMetadata = { ...e.dynamicMetadata, decision_id: r.decisionId }
  if (r.kind === 'allow') {
    return {
      status: { code: GrpcCode.OK },
      ...(e.object ? { ok: { headers: opts(e.headerOptions), headersToRemove: e.headersToRemove, responseHeadersToAdd: opts(e.responseHeadersToAdd), queryParametersToRemove: e.queryParametersToRemove, queryParametersToSet: e.queryParametersToSet } } : {}),
      dynamicMetadata,
    }
  }
  return {
    status: { code: GrpcCode.PERMISSION_DENIED },
    ...(e.object ? { denied: { httpStatus: d.status, headers: opts(e.headerOptions), body: d.body ?? '' } } : {}),
    dynamicMetadata,
  }
}

/** The in-band denial of a decision whose answer could not be encoded. */
function unencodable (decisionId: string): CheckResponseFields {
  return {
    status: { code: GrpcCode.PERMISSION_DENIED, message: 'BOUNCER_ERR_POLICY_DECISION' },
    denied: { httpStatus: 403, headers: [JSON_TYPE], body: JSON.stringify({ error: 'decision_not_enforceable', decision_id: decisionId }) },
  }
}

/** The in-band denial of a malformed request. */
export function invalidResponse (message: string): CheckResponseFields {
  return { status: { code: GrpcCode.INVALID_ARGUMENT, message }, denied: { httpStatus: 400, headers: [], body: message } }
}

export interface GrpcServerOptions {
  readonly host: string
  readonly port: number
  readonly maxRequestBytes: number
}

export interface ExtAuthzGrpcServer {
  listen (): Promise<{ address: string; port: number }>
  /** Stops accepting calls, lets calls in flight finish until the deadline, then cuts them. */
  close (deadlineMs: number): Promise<void>
}

export async function createGrpcServer (checker: Checker, o: GrpcServerOptions, log: Logger): Promise<ExtAuthzGrpcServer> {
  const grpc: typeof Grpc = await import('@grpc/grpc-js')
  // channelz (grpc-js's introspection, on by default) is not served here; tracking every call
  // for it costs ~10-20% of grpc-js's CPU per call.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': o.maxRequestBytes, 'grpc.enable_channelz': 0 })
  const identity = (b: Buffer): Buffer => b
  const service: Grpc.ServiceDefinition = {
    Check: {
      path: CHECK_PATH, requestStream: false, responseStream: false, originalName: 'Check',
      // Decoded in the handler, so that a message that does not parse gets an answer of ours.
      requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
    },
  }

  async function answer (bytes: Buffer, peer: string): Promise<Buffer> {
    const t0 = process.hrtime.bigint()
    let input
    const body = checker.readsBody()
    try {
      input = inputFromCheckRequest(decodeCheckRequest(bytes), { body })
    } catch (e) {
      if (!(e instanceof ProtoError) && !(e instanceof InputError)) throw e
      checker.account('grpc', 'invalid', t0, { peer, error: e.message })
      log.info({ transport: 'grpc', peer, error: e.message }, 'ext_authz: malformed CheckRequest denied')
      return encodeCheckResponse(invalidResponse(e.message))
    }
    const r = await checker.check(input, peerAddress(input.attributes.source) || peer, t0, body)
    let out: Buffer
    try {
      out = encodeCheckResponse(checkResponseOf(r))
    } catch (e) {
      // Never an RPC error (failure_mode_allow would let the request through): denied in band.
      log.error({ err: e, decision_id: r.decisionId }, 'ext_authz: the CheckResponse could not be encoded; denied')
      checker.account('grpc', 'fail_closed', t0, { decision_id: r.decisionId })
      return encodeCheckResponse(unencodable(r.decisionId))
    }
    checker.account('grpc', r.kind === 'fail' ? 'fail_closed' : r.kind, t0, { decision_id: r.decisionId })
    return out
  }

  server.addService(service, {
    Check: (call: Grpc.ServerUnaryCall<Buffer, Buffer>, callback: Grpc.sendUnaryData<Buffer>) => {
      answer(call.request, call.getPeer()).then((b) => callback(null, b), (e: unknown) => {
        log.error({ err: e }, 'ext_authz: unexpected error answering a CheckRequest')
        callback({ code: grpc.status.INTERNAL, details: 'internal error' })
      })
    },
  })

  return {
    listen: () => new Promise((resolve, reject) => {
      server.bindAsync(`${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) return reject(err)
        resolve({ address: o.host, port })
      })
    }),
    close: (deadlineMs) => new Promise((resolve) => {
      const force = setTimeout(() => { server.forceShutdown(); resolve() }, deadlineMs)
      force.unref()
      server.tryShutdown(() => { clearTimeout(force); resolve() })
    }),
  }
}
