// The one configuration schema (JSON Schema draft-07, validated with ajv).
// Every setting lives here with its default and a description; the Helm chart reuses the
// exported schema (values.schema.json), env-var names are derived from it (see env.ts).
// Units are in key names (*_seconds, *_bytes). Each component reads only its own section.
import { CREDENTIAL_HEADER_NAMES, CREDENTIAL_PARAM_NAMES } from '../decision-log/credential-names.js'

const str = (description: string, extra: Record<string, unknown> = {}) => ({ type: 'string', description, ...extra }) as const
const bool = (description: string, dflt: boolean) => ({ type: 'boolean', default: dflt, description }) as const
const int = (description: string, dflt: number | undefined, minimum: number, maximum?: number) => ({
  type: 'integer', description, minimum, ...(maximum !== undefined ? { maximum } : {}), ...(dflt !== undefined ? { default: dflt } : {}),
}) as const
const seconds = (description: string, dflt: number | undefined, minimum = 0) => ({
  type: 'number', description, minimum, ...(dflt !== undefined ? { default: dflt } : {}),
}) as const
const port = (description: string, dflt: number) => int(description, dflt, 0, 65535)
const section = (description: string, properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object', description, additionalProperties: false, default: {}, properties, ...extra,
}) as const
const strList = (description: string, dflt?: string[]) => ({
  type: 'array', description, items: { type: 'string' }, ...(dflt ? { default: dflt } : {}),
}) as const
const httpStatus = (description: string, dflt: number) => int(description, dflt, 400, 599)

/**
 * Default of policy.eval_step_budget (see docs/operations.md, "Evaluation budget"): the shipped
 * policy takes a few hundred steps per request; nested iteration over a large input takes
 * billions.
 */
export const DEFAULT_EVAL_STEP_BUDGET = 10_000_000
// Credentials kept out of decision logs by default: the names `bouncer evidence` reports as
// credentials (one list, src/decision-log/credential-names.ts). The decision log's own defaults,
// for loggers built without this schema, are these same lists.
export const DEFAULT_ERASE_HEADERS: readonly string[] = CREDENTIAL_HEADER_NAMES
export const DEFAULT_ERASE_QUERY_PARAMS: readonly string[] = CREDENTIAL_PARAM_NAMES

const tlsOptions = section('TLS client options', {
  enabled: bool('use TLS. A Redis client uses it even with a redis:// URL; an HTTP client (upstream, bundle server, control plane) takes TLS from its URL: https:// is TLS, and true with an http:// URL is a config error', false),
  ca_file: str('PEM file with CA certificates to trust'),
  cert_file: str('PEM client certificate (mTLS)'),
  key_file: str('PEM client key (mTLS)'),
  servername: str('the server name sent (SNI) and checked in the server\'s certificate; default: the host of the URL (an IP is checked, not sent). For the upstream, never the client\'s Host header'),
  reject_unauthorized: bool('verify the server certificate', true),
})

const maskRule = {
  type: 'object',
  required: ['path', 'action'],
  additionalProperties: false,
  properties: {
    path: { type: 'string', description: 'JSON Pointer with * wildcards' },
    action: { type: 'string', enum: ['redact', 'remove', 'null', 'hash', 'last4'] },
    replacement: { type: 'string' },
  },
} as const

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://bouncer.dev/schemas/config.json',
  title: 'Bouncer configuration',
  type: 'object',
  additionalProperties: false,
  properties: {
    production: bool('production mode: refuse a cleartext proxy port (server.tls off), plaintext redis:// and http:// control-plane URLs and unsigned bundles unless allow_insecure is set', false),
    allow_insecure: bool('allow plaintext connections and unsigned bundles in production mode', false),

    server: section('the proxy listener', {
      host: str('address to listen on', { default: '0.0.0.0' }),
      port: port('proxy port', 8080),
      max_header_bytes: int('largest request head (request line + headers) accepted; larger gets 431', 16384, 1024, 1048576),
      max_body_bytes: int('largest request body forwarded; larger gets 413', 10485760, 0),
      max_connections: int('most client connections open at once on the proxy port (HTTP/1.1 and HTTP/2 alike); a connection past it is closed as soon as it is accepted and counted in bouncer_rejected_requests_total{reason="max_connections"} (0 = no cap)', 10000, 0),
      max_inflight_requests: int('most requests in flight at once across the process (HTTP/1.1 requests, HTTP/2 streams, gRPC calls: from arrival to the end of the response); one past it is answered 503 at once, before the policy or the upstream sees it, and counted in bouncer_rejected_requests_total{reason="max_inflight"} (0 = no cap). Each connection may carry server.http2.max_concurrent_streams HTTP/2 streams (~24 KB each), so max_connections alone does not bound memory', 10000, 0),
      headers_timeout_seconds: seconds('time allowed to receive the request head', 30, 1),
      request_timeout_seconds: seconds('time allowed to receive the whole request (0 = no limit); HTTP/1.1: 408, HTTP/2: the stream is reset (gRPC calls excepted: they have grpc-timeout)', 300),
      send_timeout_seconds: seconds('how long a client may leave a relayed response unread before it is cut and the upstream request aborted (0 = no limit; as nginx\'s send_timeout, between two successive writes): a client that stops reading holds an upstream connection, and a few hundred of them took every connection of upstream.connections', 60),
      keep_alive_timeout_seconds: seconds('idle keep-alive timeout for client connections', 72),
      shutdown_timeout_seconds: seconds('on SIGTERM, how long in-flight requests may take before connections are closed', 10),
      trust_forwarded_headers: bool('keep client-supplied forwarding headers (X-Forwarded-*, Forwarded, X-Real-IP, True-Client-IP, X-Client-IP) and the routing overrides some upstreams obey (X-Original-URL, X-Rewrite-URL, X-Host, X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override) and append the peer to X-Forwarded-For, instead of dropping them and setting our own (only behind a trusted proxy)', false),
      underscore_headers: { type: 'string', enum: ['drop', 'keep'], default: 'drop', description: 'request headers whose names contain "_": drop them before the policy runs (as nginx does: CGI-style upstreams read X_User as X-User, so one could shadow a header the policy judged or a reserved one), or keep them (reserved and forwarding names are then matched with "_" as "-")' },
      header_charset: { type: 'string', enum: ['latin1', 'utf8', 'ascii'], default: 'latin1', description: 'how the policy (and the JWT authenticator) reads request header values with bytes >= 0x80; they are forwarded as the same bytes whatever is chosen, so pick the upstream\'s reading. latin1: one character per byte (Node, Python ASGI/WSGI, Java servlets); utf8: decoded as UTF-8 (Go, and OPA behind Envoy), a value that is not valid UTF-8 is refused with 400; ascii: any such value is refused with 400' },
      reserved_headers: {
        type: 'array',
        default: [],
        description: 'request headers removed from the client\'s request before the policy runs, on top of the always-reserved x-bouncer-*; a name, or a prefix ending in "*" (e.g. "x-internal-*")',
        items: { type: 'string', pattern: "^[!#$%&'+\\-.^_`|~0-9A-Za-z]+\\*?$" },
      },
      upgrade: section('Upgrade requests (WebSocket and others)', {
        allowed: {
          type: 'array',
          default: ['websocket'],
          description: 'protocols tunnelled after the policy allows the upgrade; an Upgrade naming any other protocol is answered as plain HTTP/1.1 without it. h2c is never tunnelled',
          items: { type: 'string', pattern: "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$" },
        },
      }),
      tls: section('TLS on the proxy port (HTTPS, and HTTP/2 by ALPN: server.http2). The files are re-read when they change (cert-manager renewals): new connections get the new certificate, open ones are kept', {
        enabled: bool('serve TLS on the proxy port (production mode refuses a cleartext proxy port unless allow_insecure)', false),
        cert_file: str('PEM certificate chain, leaf first (a Kubernetes TLS Secret\'s tls.crt)'),
        key_file: str('PEM private key of the certificate, unencrypted (tls.key)'),
        ca_file: str('PEM CA certificates that client certificates are verified against (ca.crt); required when client_certificates is request or require'),
        min_version: { type: 'string', enum: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2', description: 'oldest TLS version accepted' },
        client_certificates: {
          type: 'string', enum: ['none', 'request', 'require'], default: 'none',
          description: 'none: not asked for; request: asked for and optional, but one that is presented must verify against ca_file (else the connection is closed); require: a verified certificate is required. A verified certificate is in the policy input as attributes.source.principal (first URI SAN, else first DNS SAN, else the subject) and attributes.source.certificate (URL-encoded PEM), as in opa-envoy-plugin',
        },
        reload_check_seconds: seconds('besides watching the files, how often they are compared with what is loaded (0 = watch only)', 10),
      }),
      http2: section('HTTP/2 on the proxy port: each stream goes through the same pipeline as an HTTP/1.1 request (attributes.request.http.protocol "HTTP/2")', {
        enabled: bool('offer h2 by ALPN when server.tls is on (HTTP/1.1 stays available)', true),
        cleartext: bool('on a cleartext port, also accept h2c with prior knowledge (a connection that opens with the HTTP/2 preface); HTTP/1.1 is unchanged and Upgrade: h2c is still answered as HTTP/1.1', false),
        max_concurrent_streams: int('streams one HTTP/2 connection may have open at once', 100, 1, 2147483647),
      }),
    }),

    mode: {
      type: 'string', enum: ['proxy', 'ext_authz'], default: 'proxy',
      description: 'proxy: the proxy port (and, beside it, the ext_authz listeners that are enabled); ext_authz: only the ext_authz listeners (Envoy asks, the bouncer decides; no proxy port, upstream.url not needed; at least one of ext_authz.grpc / ext_authz.http must be enabled)',
    },

    ext_authz: section('Envoy external authorization (ext_authz): the same policy, decision cache and decision logs as the proxy, asked by Envoy. The input is built as opa-envoy-plugin builds it (see README, "Envoy ext_authz"). Cleartext listeners: keep them on loopback or a pod network', {
      grpc: section('envoy.service.auth.v3.Authorization/Check over gRPC (Envoy grpc_service)', {
        enabled: bool('serve the gRPC Authorization service', false),
        host: str('address to listen on', { default: '127.0.0.1' }),
        port: port('gRPC port (opa-envoy-plugin\'s default is 9191)', 9191),
      }),
      http: section('Envoy\'s HTTP ext_authz protocol (Envoy http_service): 200 allows, any other answer denies and is sent to the client', {
        enabled: bool('serve HTTP authorization requests', false),
        host: str('address to listen on', { default: '127.0.0.1' }),
        port: port('HTTP port', 9192),
        path_prefix: str('http_service.path_prefix as configured in Envoy; removed from the path before the policy sees it', { default: '', pattern: '^(/[^?#]*)?$' }),
      }),
      max_request_bytes: int('largest CheckRequest (gRPC) or authorization request body (HTTP) accepted; larger: RESOURCE_EXHAUSTED (gRPC, before any decision) or 413', 4194304, 1024, 67108864),
    }),

    admin: section('the admin listener (/healthz, /readyz, /metrics)', {
      enabled: bool('serve the admin endpoints', true),
      host: str('address to listen on', { default: '0.0.0.0' }),
      port: port('admin port', 9090),
      default_metrics: bool('also export process/runtime metrics', true),
    }),

    upstream: section('the protected service', {
      url: str('base URL of the upstream, e.g. http://127.0.0.1:3000 (path prefix allowed)', { pattern: '^https?://' }),
      connect_timeout_seconds: seconds('TCP/TLS connect timeout', 5, 0.001),
      timeout_seconds: seconds('time to wait for the upstream response head once the request is sent, and, while every connection of upstream.connections is busy, for a free one; exceeded → 504 (upstream errors reason timeout or queue_timeout)', 30, 0.001),
      body_timeout_seconds: seconds('idle time allowed between upstream body chunks (0 = none)', 300),
      connections: int('maximum connections to the upstream', 256, 1),
      keep_alive_timeout_seconds: seconds('idle keep-alive timeout for upstream connections', 4, 0.001),
      preserve_host: bool('forward the client Host header (false: use the upstream host)', true),
      tls: tlsOptions,
      http2: section('HTTP/2 to the upstream, for gRPC calls (requests with content-type application/grpc or application/grpc+...)', {
        url: str('where gRPC calls go when not to upstream.url (path prefix allowed): http:// = h2c with prior knowledge, https:// = TLS with ALPN h2 and the upstream.tls options; default upstream.url', { pattern: '^https?://' }),
        connections: int('most HTTP/2 connections opened to the upstream (one carries many concurrent calls; another is opened when the upstream\'s stream limit is reached)', 4, 1, 64),
      }),
    }),

    path: section('request-target normalisation (see README)', {
      encoded_slash: { type: 'string', enum: ['reject', 'keep'], default: 'reject', description: '%2F in the path: reject, or keep encoded' },
      encoded_backslash: { type: 'string', enum: ['reject', 'keep'], default: 'reject', description: '%5C in the path: reject, or keep encoded' },
      double_encoding: { type: 'string', enum: ['reject', 'keep'], default: 'reject', description: '%25 followed by two hex digits: reject, or keep encoded' },
      matrix_params: { type: 'string', enum: ['keep', 'reject'], default: 'keep', description: 'path parameters (raw ";" in a segment): keep, or reject; a dot-segment with parameters ("..;", ".;x") is always rejected' },
      semicolons: { type: 'string', enum: ['keep', 'reject'], description: 'deprecated alias of matrix_params (reject wins when either says reject)' },
      query_semicolons: { type: 'string', enum: ['keep', 'reject'], default: 'keep', description: 'raw ";" in the query: keep (data, not a separator, as parsed_query reads it), or reject (for upstreams that split the query on ";": Rack 2, Bottle, Python before 3.9.2)' },
      merge_slashes: bool('merge runs of "/" into one', true),
      reject_status: httpStatus('status for a rejected request target', 400),
    }),

    policy: section('the policy and how decisions are enforced', {
      path: str('a directory of Rego, a .rego file, or an OPA bundle .tar.gz'),
      entrypoint: str('the entrypoint that returns the decision', { default: 'bouncer/decision', pattern: '^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$' }),
      error_status: { type: 'integer', enum: [403, 500], default: 403, description: 'status when evaluation fails or the decision is invalid' },
      not_ready_status: httpStatus('status while no policy is active', 503),
      eval_timeout_seconds: seconds('an evaluation slower than this is discarded and denied (fail closed)', 1, 0.0001),
      eval_step_budget: int('steps one evaluation may take before it is stopped and denied (fail closed, BOUNCER_ERR_POLICY_EVAL_TIMEOUT); counts instructions, iterations and builtin result elements; 0 = no budget. Modules built by opa build are not counted', DEFAULT_EVAL_STEP_BUDGET, 0, 1_000_000_000_000),
      strict_builtin_errors: bool('a failing builtin aborts the evaluation (deny) instead of being undefined (OPA: --strict-builtin-errors)', false),
      rego_version: { type: 'integer', enum: [0, 1], default: 1, description: 'Rego version of policy sources compiled at start (a directory or .rego file, or the .rego files of a bundle without policy.wasm): 1, or 0 for Rego v0 (OPA: --v0-compatible); a bundle manifest\'s rego_version and file_rego_versions take precedence, and a module importing rego.v1 is v1' },
      shadow: str('a shadow policy (a directory of Rego, a .rego file, or an OPA bundle .tar.gz, like policy.path), evaluated beside the active policy after the active decision is applied and never enforced; disagreements are counted (bouncer_shadow_decisions_total) and written to the decision log. A shadow that fails to load is logged (file:line:col) and counted; the proxy serves with the active policy alone. Or a bundle from the bundle service: bundles.shadow_resource'),
      shadow_entrypoint: str('entrypoint of the shadow policy (default: policy.entrypoint)', { pattern: '^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$' }),
      shadow_sample: { type: 'number', minimum: 0, maximum: 1, default: 1, description: 'fraction of decisions the shadow policy is evaluated for (0..1; 0 = none)' },
      shadow_eval_step_budget: int('steps one shadow evaluation may take (as policy.eval_step_budget, which is the default); evaluation is synchronous, so a shadow stuck in a loop delays the other requests of the process until it is stopped: a smaller budget bounds that. Past it, the shadow evaluation is an error; the request is not affected', undefined, 0, 1_000_000_000_000),
      shadow_max_per_second: int('most shadow evaluations per second (each second of the clock); the rest are counted as skipped (rate_limited); 0 = no cap', 1000, 0),
      print: bool('log the output of the policy\'s print() calls at debug level, with the request id and without the credential values the decision log erases; when false, print() calls are left out of policies compiled at start and do nothing in bundles', false),
      initial_memory_pages: int('initial Wasm memory (64 KiB pages)', 16, 2, 65536),
      max_memory_pages: int('maximum Wasm memory (64 KiB pages)', 4096, 2, 65536),
      parsed_body: section('expose JSON request bodies as input.parsed_body', {
        enabled: bool('parse JSON bodies for the policy', false),
        max_bytes: int('largest body parsed', 65536, 0),
        over_limit: { type: 'string', enum: ['reject', 'skip'], default: 'reject', description: 'a JSON body over max_bytes: 413, or forward without parsed_body' },
        invalid_json: { type: 'string', enum: ['reject', 'skip'], default: 'reject', description: 'an unparseable JSON body: 400, or evaluate without parsed_body' },
        max_buffered_bytes: int('most bytes of request bodies held in memory for parsing at once, all requests together (a body is held from its first byte until its response ends); a body that would go past it is refused with 503 before the policy or the upstream sees it (0 = no limit); the ext_authz HTTP listener\'s request bodies have a budget of this size of their own, a body past it refused there with 403 (a 5xx lets Envoy allow with failure_mode_allow)', 67108864, 0),
      }),
    }),

    auth: section('authentication of callers', {
      jwt: section('bearer JWT verification; verified claims become input.identity', {
        enabled: bool('verify bearer tokens', false),
        header: str('header carrying the token', { default: 'authorization' }),
        scheme: str('scheme prefix expected in the header ("" = raw token)', { default: 'Bearer' }),
        jwks_url: str('JWKS endpoint', { pattern: '^https?://' }),
        jwks_cache_seconds: seconds('how long a fetched JWKS is used before refetching', 300, 1),
        jwks_cooldown_seconds: seconds('minimum time between refetches triggered by an unknown kid', 10),
        jwks_timeout_seconds: seconds('JWKS fetch timeout', 5, 0.001),
        jwks_max_stale_seconds: seconds('how long the last fetched JWKS keeps verifying tokens while refetches fail (an unreachable IdP); past it, tokens get identity_error jwks_unavailable until a fetch succeeds, so a key the IdP removed is not trusted for ever by whoever keeps the IdP out of reach (0 = no limit; otherwise more than jwks_cache_seconds + jwks_cooldown_seconds + jwks_timeout_seconds)', 0),
        jwks_tls: tlsOptions,
        keys: {
          type: 'array',
          description: 'static verification keys',
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['alg'],
            properties: {
              kid: { type: 'string' },
              alg: { type: 'string', enum: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512'] },
              pem: { type: 'string', description: 'SPKI PEM public key' },
              pem_file: { type: 'string' },
              jwk: { type: 'object' },
              secret: { type: 'string', description: 'HMAC secret (prefer secret_file)' },
              secret_file: { type: 'string' },
            },
          },
        },
        issuer: { type: ['string', 'array'], items: { type: 'string' }, description: 'accepted issuer(s)' },
        audience: { type: ['string', 'array'], items: { type: 'string' }, description: 'accepted audience(s)' },
        algorithms: strList('accepted algorithms (default: those of the configured keys / JWKS, never "none")'),
        clock_tolerance_seconds: seconds('clock skew allowed for exp/nbf', 30),
        required_claims: { ...strList('claims every token must carry, else identity_error "invalid_claims" (exp by default: a token without exp never expires; [] accepts one)', ['exp']), uniqueItems: true, items: { type: 'string', minLength: 1 } },
        typ: str('required JOSE header "typ" (e.g. "at+jwt", RFC 9068 access tokens, so an ID token of the same issuer is refused); unset: any', { minLength: 1 }),
        token_cache_entries: int('verified tokens remembered until they expire, or for JWKS-verified ones until the key set changes (0 = off); the cache also holds at most about 4 KiB per entry in total, so large tokens make room for fewer', 10000, 0),
      }),
    }),

    logging: section('process logs (pino JSON)', {
      level: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
      redact: strList('extra pino redaction paths', []),
    }),

    cache: section('decision cache (in-process LRU in front of Redis)', {
      enabled: bool('use the decision cache', false),
      l1: section('in-process LRU', {
        enabled: bool('use the in-process tier', true),
        max_entries: int('maximum entries', 10000, 1),
        max_bytes: int('maximum total size', 67108864, 1024),
      }),
      redis: section('shared Redis tier', {
        enabled: bool('use Redis', false),
        url: str('redis:// or rediss:// URL (single node)', { pattern: '^rediss?://' }),
        password_file: str('file holding the Redis password'),
        integrity_key_file: str('file holding a secret of at least 16 bytes that authenticates every cached value (HMAC-SHA-256 over its key, expiry and decision); every pod sharing the Redis needs the same one. Without it, whoever can write to the Redis can plant a decision for any request; production mode refuses a Redis tier without it (unless allow_insecure)'),
        key_prefix: str('prefix for every key', { default: 'bouncer:decision:' }),
        tls: tlsOptions,
        sentinel: section('Redis Sentinel', {
          name: str('master group name'),
          sentinels: { type: 'array', items: { type: 'string', pattern: '^[^:]+:[0-9]+$' }, default: [], description: 'host:port list' },
          password_file: str('file holding the Sentinel password'),
        }),
        cluster: section('Redis Cluster', {
          nodes: { type: 'array', items: { type: 'string', pattern: '^[^:]+:[0-9]+$' }, default: [], description: 'host:port seed nodes' },
        }),
        connect_timeout_seconds: seconds('connect timeout', 1, 0.001),
        command_timeout_seconds: seconds('per-command timeout; a slower lookup is a miss', 0.025, 0.001),
        breaker_failures: int('consecutive failures that open the circuit breaker', 5, 1),
        breaker_reset_seconds: seconds('how long the breaker stays open before probing', 5, 0.001),
      }),
      ttl: section('default time-to-live when the decision has no cache_ttl', {
        allow_seconds: seconds('allows', 60),
        deny_seconds: seconds('denials', 10),
        max_seconds: seconds('largest time-to-live a decision\'s own cache_ttl can ask for (longer is cut to this)', 86400, 1),
      }),
      ignore_paths: strList('input paths (JSON Pointers) left out of the key for bundles without recorded input paths', ['/attributes/request/http/id', '/attributes/request/http/headers/x-request-id']),
      input_paths: strList('input paths (JSON Pointers) the key is built from for bundles without recorded input paths (default: whole input)'),
    }),

    masking: section('response masking', {
      max_body_bytes: int('largest upstream body that can be masked, and the largest masked body (rules that lengthen values cannot take it past this); larger is refused (fail_status)', 10485760, 0),
      max_buffered_bytes: int('most bytes of upstream responses held in memory for masking at once, all requests together (a response is held from its first byte until it has been sent); one that would go past it is refused with 503 (0 = no limit)', 67108864, 0),
      hash_key: str('HMAC key for the hash action, at least 16 bytes (prefer hash_key_file)'),
      hash_key_file: str('file holding the HMAC key (at least 16 bytes once surrounding whitespace is trimmed)'),
      fail_status: httpStatus('status when a response cannot be masked', 502),
    }),

    decision_logs: section('decision logs', {
      enabled: bool('record decision log events', false),
      service_url: str('control plane base URL (events are POSTed to <service_url>/logs)', { pattern: '^https?://' }),
      bearer_token_file: str('file holding a bearer token for the control plane'),
      tls: tlsOptions,
      spool_dir: str('directory of the on-disk spool', { default: '/var/lib/bouncer/spool' }),
      max_bytes: int('spool size limit', 268435456, 16384),
      overflow: { type: 'string', enum: ['drop_oldest', 'backpressure'], default: 'drop_oldest', description: 'what happens when the spool is full: delete the oldest undelivered events and declare them in the chain with a drop marker, or refuse requests with 503. A spool write that fails (a disk error) refuses the request either way in the group and sync write modes: its event cannot be declared' },
      upload_size_limit_bytes: int('largest gzip\'d batch uploaded', 32768, 1024),
      min_delay_seconds: seconds('minimum delay between uploads', 1),
      max_delay_seconds: seconds('maximum delay (backoff cap)', 120, 0.001),
      fsync: { type: 'string', enum: ['always', 'interval', 'never'], default: 'interval', description: 'when spool appends are fsync\'d' },
      fsync_interval_seconds: seconds('fsync period when fsync is "interval"', 1, 0.001),
      shutdown_flush_seconds: seconds('on SIGTERM, time the spooled events get to be delivered after the connections are closed, however long closing them took (events not delivered stay in the spool; the pod\'s terminationGracePeriodSeconds must cover server.shutdown_timeout_seconds plus this)', 5),
      write_mode: {
        type: 'string', enum: ['group', 'sync', 'batched'], default: 'group',
        description: 'group: one spool write per event-loop turn shared by its requests, each request held until its event is written; sync: write on the event loop before forwarding; batched: as group without holding requests (a crash loses the last turn)',
      },
      sinks: { type: 'array', items: { type: 'string', enum: ['control_plane', 'console', 'file'] }, default: ['control_plane'], uniqueItems: true },
      file_path: str('target of the file sink'),
      mask_rules: { type: 'array', items: maskRule, default: [], description: 'erase/mask /input/... and /result/... fields before storage' },
      mask_entrypoint: str('not supported: refused at start (the bundle\'s data.system.log.mask and data.system.log.drop are applied at OPA\'s default paths; another path is not); use mask_rules'),
      erase_headers: strList('request headers erased from logged input (auth.jwt.header is always erased too)', [...DEFAULT_ERASE_HEADERS]),
      erase_query_params: strList('query parameters that are credentials (case-insensitive, percent-decoded, also as `name[]`, `name[x]`, `a[name]`): values replaced in the logged path and in URL-valued request headers (`referer`, `x-original-url`, …), removed from parsed_query, and from parsed_body and the verified token claims (identity) at any depth; an ext_authz body nothing parsed loses them too (JSON, a form) or is withheld (other text); also scrubbed from process logs', [...DEFAULT_ERASE_QUERY_PARAMS]),
      labels: { type: 'object', additionalProperties: { type: 'string' }, default: {}, description: 'labels added to every event' },
    }),

    bundles: section('policy bundles from a bundle server', {
      service_url: str('bundle service base URL', { pattern: '^https?://' }),
      resource: str('bundle resource path under the service', { default: 'bundles/bundle.tar.gz' }),
      shadow_resource: str('a second bundle resource on the same service, activated as the shadow policy (evaluated beside the active one, never enforced: see policy.shadow, whose sampling and cap apply; the entrypoint is policy.shadow_entrypoint or policy.entrypoint); same signing keys and limits, its own persisted copy; not together with policy.shadow'),
      bearer_token_file: str('file holding a bearer token'),
      tls: tlsOptions,
      polling: section('polling', {
        min_delay_seconds: seconds('minimum delay between polls', 60, 0.001),
        max_delay_seconds: seconds('maximum delay between polls', 120, 0.001),
        long_polling_timeout_seconds: seconds('long polling timeout (0 = off)', 0),
      }),
      signing: section('signature verification', {
        keys: {
          type: 'object',
          default: {},
          description: 'key id → verification key',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['algorithm'],
            properties: {
              algorithm: { type: 'string', enum: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'] },
              key: { type: 'string', description: 'PEM public key or HMAC secret' },
              key_file: { type: 'string' },
            },
          },
        },
        scope: str('required scope claim of the active bundle\'s signature'),
        shadow_scope: str('required scope claim of the shadow bundle\'s signature (bundles.shadow_resource); must differ from scope, which must then be set, so that a bundle signed for shadow evaluation is refused as the active policy (whoever can write the bundle store could otherwise move an unapproved candidate to the active resource and have it enforced). Required in production mode with shadow_resource and signing keys'),
        exclude_files: strList('files excluded from verification', []),
        refuse_rollback: bool('refuse a bundle whose signature was issued (its iat claim) before the active bundle\'s: a rollback to an older signed revision, replayed by the bundle server or a cache in the way. Off by default, as in OPA (re-publishing an older bundle is a legitimate rollback; with this on, sign it again). Signatures without iat are not compared; a rollback is logged either way', false),
      }),
      persist_dir: str('where the last good bundle is kept', { default: '/var/lib/bouncer/bundles' }),
      max_bundle_bytes: int('largest bundle download / total uncompressed size (the default fits the chart\'s 384 MiB memory limit: a bundle is held whole, and its data parsed, while the previous one still serves; raise both with the pod\'s memory)', 67108864, 1024),
      max_file_bytes: int('largest file inside a bundle', 33554432, 1024),
    }),
  },
} as const

export type TlsOptions = {
  enabled: boolean; ca_file?: string; cert_file?: string; key_file?: string; servername?: string; reject_unauthorized: boolean
}
export type ServerTlsConfig = {
  enabled: boolean; cert_file?: string; key_file?: string; ca_file?: string; min_version: 'TLSv1.2' | 'TLSv1.3'
  client_certificates: 'none' | 'request' | 'require'; reload_check_seconds: number
}
export type MaskRuleConfig = { path: string; action: 'redact' | 'remove' | 'null' | 'hash' | 'last4'; replacement?: string }
export type JwtKeyConfig = {
  kid?: string; alg: string; pem?: string; pem_file?: string; jwk?: Record<string, unknown>; secret?: string; secret_file?: string
}

/** The validated, defaulted, frozen configuration. Mirrors configSchema (a test keeps them in sync). */
export interface BouncerConfig {
  readonly production: boolean
  readonly allow_insecure: boolean
  readonly server: {
    readonly host: string; readonly port: number; readonly max_header_bytes: number; readonly max_body_bytes: number; readonly max_connections: number; readonly max_inflight_requests: number
    readonly headers_timeout_seconds: number; readonly request_timeout_seconds: number; readonly send_timeout_seconds: number
    readonly keep_alive_timeout_seconds: number; readonly shutdown_timeout_seconds: number
    readonly trust_forwarded_headers: boolean
    readonly underscore_headers: 'drop' | 'keep'
    readonly header_charset: 'latin1' | 'utf8' | 'ascii'
    readonly reserved_headers: readonly string[]
    readonly upgrade: { readonly allowed: readonly string[] }
    readonly tls: Readonly<ServerTlsConfig>
    readonly http2: { readonly enabled: boolean; readonly cleartext: boolean; readonly max_concurrent_streams: number }
  }
  readonly mode: 'proxy' | 'ext_authz'
  readonly ext_authz: {
    readonly grpc: { readonly enabled: boolean; readonly host: string; readonly port: number }
    readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly path_prefix: string }
    readonly max_request_bytes: number
  }
  readonly admin: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly default_metrics: boolean }
  readonly upstream: {
    readonly url?: string; readonly connect_timeout_seconds: number; readonly timeout_seconds: number
    readonly body_timeout_seconds: number; readonly connections: number; readonly keep_alive_timeout_seconds: number
    readonly preserve_host: boolean; readonly tls: Readonly<TlsOptions>
    readonly http2: { readonly url?: string; readonly connections: number }
  }
  readonly path: {
    readonly encoded_slash: 'reject' | 'keep'; readonly encoded_backslash: 'reject' | 'keep'
    readonly double_encoding: 'reject' | 'keep'; readonly matrix_params: 'keep' | 'reject'; readonly semicolons?: 'keep' | 'reject'; readonly query_semicolons?: 'keep' | 'reject'
    readonly merge_slashes: boolean; readonly reject_status: number
  }
  readonly policy: {
    readonly path?: string; readonly entrypoint: string; readonly error_status: 403 | 500; readonly not_ready_status: number
    readonly eval_timeout_seconds: number; readonly eval_step_budget: number; readonly strict_builtin_errors: boolean; readonly initial_memory_pages: number; readonly max_memory_pages: number
    readonly rego_version: 0 | 1; readonly print: boolean
    readonly shadow?: string; readonly shadow_entrypoint?: string; readonly shadow_sample: number; readonly shadow_max_per_second: number; readonly shadow_eval_step_budget?: number
    readonly parsed_body: {
      readonly enabled: boolean; readonly max_bytes: number
      readonly over_limit: 'reject' | 'skip'; readonly invalid_json: 'reject' | 'skip'; readonly max_buffered_bytes: number
    }
  }
  readonly auth: {
    readonly jwt: {
      readonly enabled: boolean; readonly header: string; readonly scheme: string; readonly jwks_url?: string
      readonly jwks_cache_seconds: number; readonly jwks_cooldown_seconds: number; readonly jwks_timeout_seconds: number; readonly jwks_max_stale_seconds: number
      readonly jwks_tls: Readonly<TlsOptions>
      readonly keys: readonly Readonly<JwtKeyConfig>[]
      readonly issuer?: string | readonly string[]; readonly audience?: string | readonly string[]
      readonly algorithms?: readonly string[]; readonly clock_tolerance_seconds: number
      readonly required_claims: readonly string[]; readonly typ?: string
      readonly token_cache_entries: number
    }
  }
  readonly logging: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'; readonly redact: readonly string[] }
  readonly cache: {
    readonly enabled: boolean
    readonly l1: { readonly enabled: boolean; readonly max_entries: number; readonly max_bytes: number }
    readonly redis: {
      readonly enabled: boolean; readonly url?: string; readonly password_file?: string; readonly integrity_key_file?: string; readonly key_prefix: string
      readonly tls: Readonly<TlsOptions>
      readonly sentinel: { readonly name?: string; readonly sentinels: readonly string[]; readonly password_file?: string }
      readonly cluster: { readonly nodes: readonly string[] }
      readonly connect_timeout_seconds: number; readonly command_timeout_seconds: number
      readonly breaker_failures: number; readonly breaker_reset_seconds: number
    }
    readonly ttl: { readonly allow_seconds: number; readonly deny_seconds: number; readonly max_seconds: number }
    readonly ignore_paths: readonly string[]
    readonly input_paths?: readonly string[]
  }
  readonly masking: {
    readonly max_body_bytes: number; readonly max_buffered_bytes: number; readonly hash_key?: string; readonly hash_key_file?: string; readonly fail_status: number
  }
  readonly decision_logs: {
    readonly enabled: boolean; readonly service_url?: string; readonly bearer_token_file?: string; readonly tls: Readonly<TlsOptions>
    readonly spool_dir: string; readonly max_bytes: number; readonly overflow: 'drop_oldest' | 'backpressure'
    readonly upload_size_limit_bytes: number; readonly min_delay_seconds: number; readonly max_delay_seconds: number
    readonly fsync: 'always' | 'interval' | 'never'; readonly fsync_interval_seconds: number
    readonly shutdown_flush_seconds: number
    readonly write_mode: 'group' | 'sync' | 'batched'
    readonly sinks: readonly ('control_plane' | 'console' | 'file')[]; readonly file_path?: string
    readonly mask_rules: readonly Readonly<MaskRuleConfig>[]; readonly mask_entrypoint?: string
    readonly erase_headers: readonly string[]
    readonly erase_query_params: readonly string[]
    readonly labels: Readonly<Record<string, string>>
  }
  readonly bundles: {
    readonly service_url?: string; readonly resource: string; readonly shadow_resource?: string; readonly bearer_token_file?: string; readonly tls: Readonly<TlsOptions>
    readonly polling: { readonly min_delay_seconds: number; readonly max_delay_seconds: number; readonly long_polling_timeout_seconds: number }
    readonly signing: {
      readonly keys: Readonly<Record<string, Readonly<{ algorithm: string; key?: string; key_file?: string }>>>
      readonly scope?: string; readonly shadow_scope?: string; readonly exclude_files: readonly string[]; readonly refuse_rollback: boolean
    }
    readonly persist_dir: string; readonly max_bundle_bytes: number; readonly max_file_bytes: number
  }
}
