// The policy input, in the shape of OPA's Envoy ext_authz input (DESIGN.md), so policies
// written for opa-envoy-plugin work unchanged where they use these fields.
import { parsePath, parseQuery } from './target.js'

export interface RequestFacts {
  readonly id: string
  readonly method: string
  /** canonical path (see target.ts), without the query */
  readonly path: string
  /** raw query without "?" ("" when none), forwarded verbatim */
  readonly query: string
  readonly host: string
  readonly scheme: string
  readonly protocol: string
  readonly headers: Readonly<Record<string, string>>
  readonly sourceAddress: string
  readonly destinationAddress: string
  /** the verified client certificate's identity (TLS with client certificates; see tls.ts peerIdentity) */
  readonly sourcePrincipal?: string
  /** that certificate, URL-encoded PEM */
  readonly sourceCertificate?: string
  /** the TLS server name the client asked for (SNI), when it sent one */
  readonly sni?: string
}

export interface InputExtras {
  /** JSON body, when parsed_body is on and the body qualified */
  readonly parsedBody?: unknown
  /** verified token claims */
  readonly identity?: Readonly<Record<string, unknown>>
  /** why there is no identity when authentication is configured (missing, expired, ...) */
  readonly identityError?: string
}

export interface PolicyInput {
  attributes: {
    request: { http: {
      id: string; method: string; path: string; host: string; scheme: string; protocol: string
      headers: Readonly<Record<string, string>>
    } }
    /** principal and certificate: as opa-envoy-plugin, only with a verified client certificate */
    source: { address: string; principal?: string; certificate?: string }
    destination: { address: string }
    /** as Envoy's AttributeContext: only on TLS with a server name sent */
    tls_session?: { sni: string }
  }
  parsed_path: string[]
  parsed_query: Record<string, string[]>
  parsed_body?: unknown
  identity?: Readonly<Record<string, unknown>>
  identity_error?: string
}

// Every object is built with its keys in canonical (sorted) order: the decision log's canonical
// serialiser then takes them as they are instead of copying each into sorted order (about 2.5 us
// of the ~17 us it takes to build and seal a proxy event). Key order means nothing to a policy.
export function buildInput (f: RequestFacts, extras: InputExtras = {}): PolicyInput {
  const input = {
    attributes: {
      destination: { address: f.destinationAddress },
      request: { http: {
        headers: f.headers,
        host: f.host,
        id: f.id,
        method: f.method,
        path: f.query === '' ? f.path : `${f.path}?${f.query}`,
        protocol: f.protocol,
        scheme: f.scheme,
      } },
      source: f.sourcePrincipal === undefined
        ? { address: f.sourceAddress }
        : { address: f.sourceAddress, certificate: f.sourceCertificate ?? '', principal: f.sourcePrincipal },
    },
  } as PolicyInput
  if (f.sni !== undefined) input.attributes.tls_session = { sni: f.sni }
  if (extras.identity !== undefined) input.identity = extras.identity
  if (extras.identityError !== undefined) input.identity_error = extras.identityError
  if (extras.parsedBody !== undefined) input.parsed_body = extras.parsedBody
  input.parsed_path = parsePath(f.path)
  input.parsed_query = parseQuery(f.query)
  return input
}

/** "ip:port", with IPv6 addresses bracketed. */
export function formatAddress (ip: string | undefined, port: number | undefined): string {
  if (!ip) return ''
  const host = ip.includes(':') ? `[${ip}]` : ip
  return port === undefined ? host : `${host}:${port}`
}
