# Default Bouncer policy: RBAC + tenant isolation + PII masking.
#
# Entrypoint: bouncer/decision (returns the decision object, see DESIGN.md).
#  - public routes (data.bouncer.public_routes) are open to everyone;
#  - everything else needs a verified token (input.identity, set by the bouncer's JWT auth);
#  - the caller's tenant claim must equal the x-tenant header (tenant isolation);
#  - a role grants a route when data.bouncer.permissions[role] lists it ("*" = any segment);
#  - callers without a privileged role get PII masked in the response (data.bouncer.pii_mask).
package bouncer

default decision := {"allow": false, "status": 403, "reason": "no role grants this route"}

decision := {"allow": true, "reason": "public route"} if public_route

decision := {
	"allow": false,
	"status": 401,
	"reason": reason,
	"response_headers": {"www-authenticate": "Bearer"},
} if {
	not public_route
	not authenticated
	reason := concat("", ["authentication required (", identity_error, ")"])
}

decision := {"allow": false, "status": 403, "reason": "tenant mismatch"} if {
	not public_route
	authenticated
	not tenant_ok
}

decision := {
	"allow": true,
	"reason": concat("", ["granted to role(s) ", concat(",", granting_roles)]),
	"headers": {"x-bouncer-subject": subject, "x-bouncer-tenant": caller_tenant},
	"mask": mask,
} if {
	not public_route
	authenticated
	tenant_ok
	count(granting_roles) > 0
}

method := input.attributes.request.http.method

authenticated if is_object(input.identity)

identity_error := input.identity_error

default identity_error := "no token"

subject := input.identity.sub

caller_tenant := input.identity.tenant

roles contains role if {
	some role in input.identity.roles
}

tenant_ok if {
	caller_tenant == input.attributes.request.http.headers["x-tenant"]
}

tenant_ok if {
	some role in roles
	role in data.bouncer.cross_tenant_roles
}

privileged if {
	some role in roles
	role in data.bouncer.privileged_roles
}

mask := [] if privileged

mask := data.bouncer.pii_mask if not privileged

granting_roles contains role if {
	some role in roles
	some route in data.bouncer.permissions[role]
	route_matches(route)
}

public_route if {
	some route in data.bouncer.public_routes
	route_matches(route)
}

route_matches(route) if {
	method in route.methods
	count(route.path) == count(input.parsed_path)
	not segment_mismatch(route)
}

segment_mismatch(route) if {
	some i, segment in route.path
	segment != "*"
	segment != input.parsed_path[i]
}
