package bouncer

req(method, path, segments, headers, identity) := {
	"attributes": {"request": {"http": {"method": method, "path": path, "headers": headers}}},
	"parsed_path": segments,
	"identity": identity,
}

anon(method, path, segments) := {
	"attributes": {"request": {"http": {"method": method, "path": path, "headers": {}}}},
	"parsed_path": segments,
	"identity_error": "missing",
}

alice := {"sub": "alice", "tenant": "acme", "roles": ["admin"]}

bob := {"sub": "bob", "tenant": "acme", "roles": ["support"]}

vera := {"sub": "vera", "tenant": "acme", "roles": ["viewer"]}

root := {"sub": "root", "tenant": "ops", "roles": ["platform-admin", "support"]}

test_public_route_needs_no_token if {
	d := decision with input as anon("GET", "/v1/products", ["v1", "products"])
	d.allow == true
	d.reason == "public route"
}

test_public_route_only_for_listed_methods if {
	d := decision with input as anon("POST", "/v1/products", ["v1", "products"])
	d.allow == false
	d.status == 401
}

test_anonymous_is_401 if {
	d := decision with input as anon("GET", "/v1/customers", ["v1", "customers"])
	d.allow == false
	d.status == 401
	d.reason == "authentication required (missing)"
	d.response_headers["www-authenticate"] == "Bearer"
}

test_admin_sees_everything_unmasked if {
	d := decision with input as req("GET", "/v1/customers", ["v1", "customers"], {"x-tenant": "acme"}, alice)
	d.allow == true
	d.mask == []
	d.headers["x-bouncer-subject"] == "alice"
}

test_support_gets_pii_masked if {
	d := decision with input as req("GET", "/v1/customers/7", ["v1", "customers", "7"], {"x-tenant": "acme"}, bob)
	d.allow == true
	count(d.mask) > 0
	d.reason == "granted to role(s) support"
}

test_support_cannot_write if {
	d := decision with input as req("DELETE", "/v1/customers/7", ["v1", "customers", "7"], {"x-tenant": "acme"}, bob)
	d.allow == false
	d.status == 403
}

test_viewer_cannot_read_customers if {
	d := decision with input as req("GET", "/v1/customers", ["v1", "customers"], {"x-tenant": "acme"}, vera)
	d.allow == false
	d.reason == "no role grants this route"
}

test_tenant_isolation if {
	d := decision with input as req("GET", "/v1/customers", ["v1", "customers"], {"x-tenant": "globex"}, alice)
	d.allow == false
	d.reason == "tenant mismatch"
}

test_missing_tenant_header_is_denied if {
	d := decision with input as req("GET", "/v1/customers", ["v1", "customers"], {}, alice)
	d.allow == false
}

test_cross_tenant_role if {
	d := decision with input as req("GET", "/v1/customers", ["v1", "customers"], {"x-tenant": "acme"}, root)
	d.allow == true
}

test_segment_count_must_match if {
	d := decision with input as req("GET", "/v1/customers/7/secrets", ["v1", "customers", "7", "secrets"], {"x-tenant": "acme"}, alice)
	d.allow == false
}
