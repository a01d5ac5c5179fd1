// The names Bouncer treats as credentials, in one place: the decision log erases these by
// default (config defaults of decision_logs.erase_headers / erase_query_params), and
// `bouncer evidence` reports a value under any of them that survived into a log. One list for
// both, so a log written with the defaults passes the tool's own scan by name. The scan also
// reports values by their shape (a bearer token, a JWT, an AWS key, a private key) under any
// name, which no name list erases: those findings remain possible with the defaults.
// Lower case; parameter names are compared percent-decoded (erase.ts compileNameMatcher).

/** Request/response header names whose value is a credential. */
export const CREDENTIAL_HEADER_NAMES: readonly string[] = Object.freeze([
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token',
  'api-key', 'apikey', 'x-apikey', 'x-access-token', 'x-id-token', 'x-refresh-token', 'x-session-token',
  'x-amz-security-token', 'x-vault-token', 'private-token', 'x-goog-iam-authorization-token', 'x-csrf-token',
  'x-xsrf-token', 'x-client-secret', 'x-upstream-authorization', 'x-forwarded-access-token', 'x-ms-token-aad-access-token',
  // Tokens identity-aware proxies in front of a service pass on: AWS ALB, Google IAP,
  // Cloudflare Access, oauth2-proxy, Azure App Service; and copies of Authorization.
  'x-amzn-oidc-data', 'x-amzn-oidc-accesstoken', 'x-goog-iap-jwt-assertion', 'cf-access-jwt-assertion',
  'x-auth-request-access-token', 'x-auth-request-id-token', 'x-ms-token-aad-id-token', 'x-ms-token-aad-refresh-token',
  'x-forwarded-authorization', 'x-original-authorization',
])

/** Query parameter names whose value is a credential (erasure also removes them from parsed
 * bodies and token claims at any depth). Signed-URL parameters (AWS SigV4, SAS `sig`) included:
 * a logged signed URL can be replayed until it expires. */
export const CREDENTIAL_PARAM_NAMES: readonly string[] = Object.freeze([
  'access_token', 'id_token', 'refresh_token', 'token', 'api_key', 'apikey', 'key', 'password', 'passwd', 'secret',
  'client_secret', 'client_assertion', 'api-key', 'private_key', 'session', 'sessionid', 'session_id', 'auth',
  'authorization', 'x-amz-signature', 'x-amz-security-token', 'x-amz-credential', 'sig', 'signature',
  // OIDC logout, OAuth token exchange / JWT-bearer grants, back-channel logout, GCS signed URLs, OAuth 1.0.
  'id_token_hint', 'subject_token', 'actor_token', 'assertion', 'logout_token', 'x-goog-signature', 'x-goog-credential',
  'oauth_signature', 'oauth_token',
])

/** The unambiguous names among them, for JSON bodies and token claims scanned by name alone
 * ("key" or "session" in a body is usually data). */
export const CREDENTIAL_BODY_FIELD_NAMES: readonly string[] = Object.freeze([
  'access_token', 'id_token', 'refresh_token', 'token', 'api_key', 'apikey', 'password', 'passwd', 'secret',
  'client_secret', 'private_key', 'client_assertion', 'id_token_hint', 'subject_token', 'actor_token', 'logout_token',
])
