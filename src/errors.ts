// The one registry of runtime error codes (BOUNCER_ERR_<AREA>_<REASON>).
// Each code has a message template (%s placeholders) and an HTTP status used when the
// error surfaces on the request path. Compiler *diagnostics* are not here: user mistakes
// in Rego are collected as diagnostics (src/compiler/diagnostics.ts), not thrown.
// Helpers: add codes inside your area's block; keep the blocks in this order.

export interface ErrorDef { readonly message: string; readonly status: number }

export const ERROR_DEFS = {
  // --- config ---
  BOUNCER_ERR_CONFIG_INVALID: { message: 'invalid configuration: %s', status: 500 },
  BOUNCER_ERR_CONFIG_FILE: { message: 'cannot read config file %s: %s', status: 500 },
  BOUNCER_ERR_CONFIG_FLAG: { message: 'invalid command-line flag: %s', status: 500 },
  BOUNCER_ERR_CONFIG_ENV: { message: 'invalid environment variable: %s', status: 500 },

  // --- compiler / bundle build ---
  BOUNCER_ERR_COMPILE_FAILED: { message: 'compilation failed with %s error(s)', status: 500 },
  BOUNCER_ERR_COMPILER_RUNTIME_MISSING: { message: 'compiler runtime %s is missing; run "npm run build:runtime"', status: 500 },

  // --- policy (loading and evaluation) ---
  BOUNCER_ERR_POLICY_LOAD: { message: 'cannot load policy: %s', status: 500 },
  BOUNCER_ERR_POLICY_MISSING_BUILTIN: { message: 'policy needs built-in function(s) the host does not provide: %s', status: 500 },
  BOUNCER_ERR_POLICY_ENTRYPOINT: { message: 'entrypoint %s not found in policy (have: %s)', status: 500 },
  BOUNCER_ERR_POLICY_EVAL: { message: 'policy evaluation failed: %s', status: 500 },
  BOUNCER_ERR_POLICY_DECISION: { message: 'policy returned an invalid decision: %s', status: 500 },
  // Time (policy.eval_timeout_seconds, noticed after the fact) or steps (policy.eval_step_budget,
  // the evaluation is stopped): the argument says which.
  BOUNCER_ERR_POLICY_EVAL_TIMEOUT: { message: 'policy evaluation exceeded its limit: %s', status: 500 },

  // --- bundle ---
  BOUNCER_ERR_BUNDLE_INVALID: { message: 'invalid bundle: %s', status: 500 },
  // Every code below takes (file, reason): the bundle entry (or source) at fault and why.
  BOUNCER_ERR_BUNDLE_GZIP: { message: 'bundle %s is not valid gzip: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_TAR: { message: 'bundle %s is not a valid tar archive: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_UNSAFE_PATH: { message: 'bundle entry %s has an unsafe path: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_ENTRY_TYPE: { message: 'bundle entry %s has a forbidden type: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_DUPLICATE_ENTRY: { message: 'bundle entry %s appears more than once: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_TOO_LARGE: { message: 'bundle %s exceeds a size limit: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_MANIFEST: { message: 'bundle manifest %s is invalid: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_ROOTS_OVERLAP: { message: 'bundle manifest %s has overlapping roots: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_WASM_MODULE: { message: 'bundle wasm module %s: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_UNSUPPORTED: { message: 'bundle file %s is not supported: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_DATA: { message: 'bundle data file %s is invalid: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_OUTSIDE_ROOTS: { message: 'bundle file %s is outside the manifest roots: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_REGO: { message: 'bundle Rego module %s has no readable package clause: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_UNSIGNED: { message: 'bundle %s is not signed: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_SIGNATURE: { message: 'bundle signature check failed on %s: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_ROLLBACK: { message: 'bundle %s is older than the active one: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_SIGN: { message: 'cannot sign bundle file %s: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_DOWNLOAD: { message: 'bundle download from %s failed: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_ACTIVATION: { message: 'bundle revision %s was not activated: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_PERSIST: { message: 'bundle persistence at %s failed: %s', status: 500 },
  BOUNCER_ERR_BUNDLE_CONFIG: { message: 'bundle configuration %s is invalid: %s', status: 500 },

  // --- proxy ---
  BOUNCER_ERR_PROXY_BAD_REQUEST: { message: 'malformed request: %s', status: 400 },
  BOUNCER_ERR_PROXY_BAD_PATH: { message: 'rejected request target: %s', status: 400 },
  BOUNCER_ERR_PROXY_BAD_QUERY: { message: 'rejected query string: %s', status: 400 },
  BOUNCER_ERR_PROXY_BAD_BODY: { message: 'rejected request body: %s', status: 400 },
  BOUNCER_ERR_PROXY_BODY_TOO_LARGE: { message: 'request body exceeds %s bytes', status: 413 },
  // parsed_body.max_buffered_bytes: the bodies held for parsing, all requests together, are at the cap.
  BOUNCER_ERR_PROXY_BODY_BUDGET: { message: 'request bodies held for parsing would exceed %s bytes', status: 503 },
  BOUNCER_ERR_PROXY_NO_POLICY: { message: 'no policy is active', status: 503 },
  // server.max_inflight_requests: the process holds that many exchanges already.
  BOUNCER_ERR_PROXY_OVERLOADED: { message: 'more than %s requests in flight', status: 503 },
  BOUNCER_ERR_PROXY_UPSTREAM_TIMEOUT: { message: 'upstream did not answer in time', status: 504 },
  BOUNCER_ERR_PROXY_UPSTREAM_FAILED: { message: 'upstream connection failed: %s', status: 502 },
  BOUNCER_ERR_PROXY_MASK_UNAVAILABLE: { message: 'decision requires masking but no masker is configured', status: 502 },
  BOUNCER_ERR_PROXY_MASK_FAILED: { message: 'response masking failed: %s', status: 502 },
  // A 206 fragment or a 304 cannot be masked as a document (and a 304 would answer a guess
  // about the unmasked body): never relayed on a masked request.
  BOUNCER_ERR_PROXY_MASK_PARTIAL: { message: 'upstream answered %s to a masked request', status: 502 },
  BOUNCER_ERR_PROXY_UPGRADE_REFUSED: { message: 'upgrade refused: %s', status: 400 },
  BOUNCER_ERR_PROXY_LOG_BACKPRESSURE: { message: 'decision log is full; refusing new requests', status: 503 },
  BOUNCER_ERR_PROXY_LISTEN: { message: 'cannot listen on %s: %s', status: 500 },
  BOUNCER_ERR_STOPPED_DURING_START: { message: 'stopped while starting: %s', status: 503 },
  // server.tls: a renewed certificate that cannot be used is logged, the previous one stays in service.
  BOUNCER_ERR_PROXY_TLS_RELOAD: { message: 'TLS certificate not reloaded, the previous one is still served: %s', status: 500 },
  // client_certificates "request": a certificate was presented but does not verify against ca_file.
  BOUNCER_ERR_PROXY_CLIENT_CERT: { message: 'client certificate rejected: %s', status: 400 },
  // gRPC bodies are length-prefixed protobuf: mask rules cannot apply, the call fails closed.
  BOUNCER_ERR_PROXY_GRPC_MASK: { message: 'a decision with mask rules cannot apply to a gRPC response (%s)', status: 502 },
  // An HTTP/2 stream reset or broken by the client, the upstream or a protocol error (per stream).
  BOUNCER_ERR_PROXY_HTTP2_STREAM: { message: 'HTTP/2 stream failed: %s', status: 502 },

  // --- auth ---
  BOUNCER_ERR_AUTH_CONFIG: { message: 'invalid authentication setup: %s', status: 500 },
  BOUNCER_ERR_AUTH_JWKS_FETCH: { message: 'cannot fetch JWKS from %s: %s', status: 500 },

  // --- masking ---
  // Rule errors come from the policy's decision: callers treat them as a policy error (deny).
  BOUNCER_ERR_MASK_RULES_INVALID: { message: 'mask rules are invalid: %s', status: 500 },
  BOUNCER_ERR_MASK_RULE_INVALID: { message: 'mask rule #%s is invalid: %s', status: 500 },
  BOUNCER_ERR_MASK_HASH_KEY: { message: 'mask hash key is unusable: %s', status: 500 },
  // Fail-closed codes: the client gets an error status (502 unless configured), never the unmasked body.
  // Messages never quote body content (it may be the very data being masked).
  BOUNCER_ERR_MASK_NOT_JSON: { message: 'response is not JSON (%s) but mask rules apply', status: 502 },
  // masking.max_buffered_bytes: the responses held for masking, all together, are at the cap.
  BOUNCER_ERR_MASK_BUSY: { message: 'responses held for masking would exceed %s bytes', status: 503 },
  BOUNCER_ERR_MASK_TOO_LARGE: { message: 'response body exceeds the masking limit of %s bytes (%s)', status: 502 },
  BOUNCER_ERR_MASK_ENCODING: { message: 'response content-encoding cannot be decoded: %s', status: 502 },
  BOUNCER_ERR_MASK_BODY_READ: { message: 'upstream response body could not be read: %s', status: 502 },
  BOUNCER_ERR_MASK_BODY_INVALID: { message: 'response body cannot be masked: %s', status: 502 },
  // Logged as a warning at start, never thrown: masking still works, in JavaScript.
  BOUNCER_ERR_MASK_SCANNER_MISSING: { message: '%s is missing or from another build (npm run build): responses are masked by the JavaScript scanner, with the same results at about twice the CPU', status: 500 },

  // --- cache ---
  // Config-time codes (thrown while building the cache). On the request path the cache never
  // throws: Redis trouble is a miss. KEY_INPUT is the one exception, raised by key derivation
  // when the policy input cannot be serialised; callers treat it as "do not cache".
  // Redis URLs in messages are printed with the password replaced by ***.
  BOUNCER_ERR_CACHE_OPTIONS: { message: 'invalid cache options: %s', status: 500 },
  BOUNCER_ERR_CACHE_REDIS_URL: { message: 'invalid Redis URL %s: %s', status: 500 },
  BOUNCER_ERR_CACHE_REDIS_INSECURE: { message: 'refusing insecure Redis connection %s in production (%s); use rediss:// with certificate verification or set allow_insecure', status: 500 },
  BOUNCER_ERR_CACHE_KEY_INPUT: { message: 'policy input cannot be used as a cache key: %s', status: 500 },

  // --- decision log ---
  BOUNCER_ERR_DECISION_LOG_CONFIG: { message: 'invalid decision log configuration: %s', status: 500 },
  BOUNCER_ERR_DECISION_LOG_INSECURE_URL: { message: 'decision log service URL %s is plaintext http; use https or set allow_insecure', status: 500 },
  BOUNCER_ERR_DECISION_LOG_SPOOL: { message: 'decision log spool %s: %s', status: 500 },
  BOUNCER_ERR_DECISION_LOG_SPOOL_LOCKED: { message: 'decision log spool %s is in use by process %s', status: 500 },
  BOUNCER_ERR_DECISION_LOG_NOT_STARTED: { message: 'decision logger is not started', status: 500 },

  // --- evidence (bouncer evidence: the CLI exits 2 on these) ---
  BOUNCER_ERR_EVIDENCE_INPUT: { message: 'cannot read decision log %s: %s', status: 500 },
  BOUNCER_ERR_EVIDENCE_NOT_A_LOG: { message: '%s is not a decision log: %s', status: 500 },
  BOUNCER_ERR_EVIDENCE_EMPTY_PERIOD: { message: 'no decisions to report: %s', status: 500 },
  BOUNCER_ERR_EVIDENCE_OPTIONS: { message: 'invalid evidence option %s: %s', status: 500 },

  // --- replay (bouncer replay: the CLI exits 2 on these) ---
  BOUNCER_ERR_REPLAY_NOT_A_LOG: { message: '%s is not a decision log: %s', status: 500 },
  BOUNCER_ERR_REPLAY_OPTIONS: { message: 'invalid replay option %s: %s', status: 500 },
} as const satisfies Record<string, ErrorDef>

export type ErrorCode = keyof typeof ERROR_DEFS

export class BouncerError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  constructor (code: ErrorCode, args: readonly unknown[] = [], options?: { cause?: unknown }) {
    const def: ErrorDef = ERROR_DEFS[code]
    let i = 0
    super(def.message.replace(/%s/g, () => String(args[i++])), options)
    this.name = 'BouncerError'
    this.code = code
    this.statusCode = def.status
  }
}

export function bouncerError (code: ErrorCode, ...args: unknown[]): BouncerError {
  return new BouncerError(code, args)
}

export function isBouncerError (e: unknown, code?: ErrorCode): e is BouncerError {
  return e instanceof BouncerError && (code === undefined || e.code === code)
}
