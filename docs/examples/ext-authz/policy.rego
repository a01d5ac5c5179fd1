# An ext_authz policy in the style of opa-envoy-plugin's documentation (package envoy.authz),
# for `bouncer run --mode ext_authz` (README, "Envoy ext_authz"). Two entrypoints:
#   envoy/authz/allow   a boolean
#   envoy/authz/result  the object the plugin documents (allowed, headers, ...)
package envoy.authz

import input.attributes.request.http as http_request

default allow := false

# Anyone may read people.
allow if {
  http_request.method == "GET"
  input.parsed_path[0] == "people"
}

# Admins may add people; the token is only decoded here (verify it in Envoy: jwt_authn).
allow if {
  http_request.method == "POST"
  input.parsed_path == ["people"]
  claims.role == "admin"
  is_string(input.parsed_body.firstname)
}

claims := payload if {
  [_, encoded] := split(http_request.headers.authorization, " ")
  [_, payload, _] := io.jwt.decode(encoded)
}

default role := "anonymous"

role := claims.role

result := {
  "allowed": allow,
  "headers": {"x-ext-auth-allow": "yes"},
  "request_headers_to_remove": ["x-internal-token"],
  "response_headers_to_add": {"x-policy": "people-v1"},
  "http_status": 403,
  "body": "Unauthorized Request",
  "dynamic_metadata": {"role": role},
} if allow

result := {
  "allowed": false,
  "http_status": 403,
  "body": "Unauthorized Request",
} if not allow
