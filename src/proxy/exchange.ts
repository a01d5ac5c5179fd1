// One exchange: the record every request, upgrade (and HTTP/2 stream) carries through the
// pipeline — target → input → decide → apply decision → forward → respond → account — and
// the two steps whose meaning must never differ between those kinds: what a verdict means for
// the outcome (outcomeOf) and what an allow does to the forwarded request (applyDecision).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { ErrorCode } from '../errors.js'
import type { Decision } from './decision.js'
import { FAIL_CODES, type Verdict } from './engine.js'
import type { Abort } from './forward.js'
import { maskAcceptEncoding, MASK_REQUEST_DROP, type OutgoingHeaders } from './headers.js'
import type { Target } from './target.js'

/**
 * What the pipeline reads from a request. node:http's IncomingMessage and node:http2's
 * compatibility Http2ServerRequest both are one (a Readable with these members).
 */
export interface ClientRequest extends Readable {
  readonly method?: string
  readonly url?: string
  readonly headers: IncomingHttpHeaders
  /** name, value, name, value, ... as received (HTTP/1.1: repeated fields each appear) */
  readonly rawHeaders: readonly string[]
  readonly httpVersion: string
  readonly httpVersionMajor: number
  readonly httpVersionMinor: number
  readonly socket: { readonly remoteAddress?: string; readonly remotePort?: number; readonly localAddress?: string; readonly localPort?: number }
}

/**
 * What the pipeline writes a response to. node:http's ServerResponse and node:http2's
 * compatibility Http2ServerResponse both have these members (the latter's typings omit
 * destroy and writableFinished, which it has).
 */
export interface ClientResponse {
  statusCode: number
  readonly headersSent: boolean
  readonly writableFinished: boolean
  readonly writableLength: number
  getHeaderNames (): string[]
  removeHeader (name: string): void
  writeHead (statusCode: number, headers?: OutgoingHttpHeaders | string[]): unknown
  write (chunk: Buffer | string): boolean
  end (): unknown
  end (chunk: Buffer | string): unknown
  destroy (err?: Error): unknown
  once (event: 'close' | 'drain' | 'finish', fn: () => void): unknown
}

/** How an exchange ended, for metrics and the request log line. */
export type Outcome = 'allow' | 'deny' | 'policy_error' | 'unavailable' | 'rejected' | 'upstream_error' | 'mask_failed' | 'client_aborted' | 'tunnelled'

/** The exchange record: created when the request arrives, filled in by each step, read by accounting. */
export class Exchange {
  outcome: Outcome = 'client_aborted'
  reason: string | undefined = undefined
  code: ErrorCode | undefined = undefined
  cached = false
  /** response status written (0 = none) */
  status = 0
  /** time to the upstream's response head */
  upstreamMs: number | undefined = undefined
  /** when our response head went out (request duration ends there) */
  headSentNs: bigint | undefined = undefined
  /** the client went away before the response was complete */
  clientGone = false
  /** aborts the upstream request while it is in flight */
  #abort: Abort | undefined = undefined

  constructor (
    /** process.hrtime.bigint() at arrival */
    readonly startNs: bigint,
    /** this decision (unique; the decision-log event's decision_id) */
    readonly id: string,
    /** the request across services: the client's valid x-request-id, else the decision id */
    readonly requestId: string,
    readonly target: Target,
  ) {}

  /** Given by the forwarder once the upstream request is dispatched. */
  readonly abortable = (abort: Abort): void => {
    if (this.clientGone) abort(GONE)
    else this.#abort = abort
  }

  /** The client side closed before the response was complete: stop the upstream request. */
  gone (): void {
    this.clientGone = true
    const abort = this.#abort
    this.#abort = undefined
    abort?.(GONE)
  }

  fail (outcome: Outcome, reason: string | undefined, code: ErrorCode | undefined): void {
    this.outcome = outcome
    this.reason = reason
    this.code = code
  }
}

class ClientGone extends Error {
  override readonly name = 'AbortError'
  readonly code = 'UND_ERR_ABORTED'
  constructor () { super('the client went away') }
}
const GONE = new ClientGone()

/** The outcome a verdict stands for (requests, upgrades and streams alike). */
export function outcomeOf (v: Verdict): Outcome {
  if (v.kind === 'allow') return 'allow'
  if (v.kind === 'deny') return 'deny'
  switch (v.reason) {
    case 'no_policy':
    case 'log_backpressure':
      return 'unavailable'
    case 'mask_unavailable':
      return 'mask_failed'
    default:
      return 'policy_error'
  }
}

/** The stable error code of a verdict that failed closed. */
export function codeOf (v: Verdict): ErrorCode | undefined {
  return v.kind === 'fail' ? FAIL_CODES[v.reason] : undefined
}

/**
 * What an allow does to the request view before it is forwarded: the decision's
 * remove_headers, then its headers; and when the response will be masked, the conditional and
 * Range headers go (a Range fragment would be masked as if it were a document and match no
 * rule; a 304 answers an oracle question about the unmasked body), and Accept-Encoding names only
 * the codings the masker decodes.
 */
export function applyDecision (headers: OutgoingHeaders, d: Decision, masked: boolean): void {
  for (const h of d.removeHeaders) delete headers[h]
  for (const [n, val] of d.headers) headers[n] = val
  if (masked) {
    for (const h of MASK_REQUEST_DROP) delete headers[h]
    const ae = headers['accept-encoding']
    if (ae !== undefined) headers['accept-encoding'] = maskAcceptEncoding(ae)
  }
}

// Compile-time: node's request/response objects are what the pipeline takes (HTTP/2's
// compatibility response is checked without the two members its typings omit).
type Assert<T extends true> = T
export type NodeObjectsFit = [
  Assert<import('node:http').IncomingMessage extends ClientRequest ? true : false>,
  Assert<import('node:http').ServerResponse extends ClientResponse ? true : false>,
  Assert<import('node:http2').Http2ServerRequest extends ClientRequest ? true : false>,
  Assert<import('node:http2').Http2ServerResponse extends Omit<ClientResponse, 'destroy' | 'writableFinished'> ? true : false>,
]
