# opa test opal/policies opal/fixtures -v
#
# opal/fixtures/pip/acme/data.json is data.pip.acme as the document builder makes it from the
# seeded store (opal/build-fixtures.ts), built at 2026-01-15T12:00:00Z.
package authz_test

import rego.v1

import data.authz

fixture_now := time.parse_rfc3339_ns("2026-01-15T12:00:00Z")

req(user, action, type, id) := {"tenant": "acme", "user": user, "action": action, "resource": {"type": type, "id": id}}

# RBAC through nested IdP groups: alice is in platform, platform is in engineering
test_nested_group_member_reads_project if {
	authz.allow with input as req("Alice@Example.com", "read", "project", "p1") with time.now_ns as fixture_now
}

# a user merged from the HR source (same email) gets the merged group
test_merged_user_from_second_source_reads_project if {
	authz.allow with input as req("dave@example.com", "read", "project", "p2") with time.now_ns as fixture_now
}

# roles through groups: engineering holds the deployer role
test_role_through_group_grants_deploy if {
	authz.allow with input as req("bob@example.com", "deploy", "project", "p1") with time.now_ns as fixture_now
}

test_admin_group_deletes_documents if {
	authz.allow with input as req("carol@example.com", "delete", "document", "d1") with time.now_ns as fixture_now
}

test_engineer_cannot_delete_documents if {
	not authz.allow with input as req("bob@example.com", "delete", "document", "d2") with time.now_ns as fixture_now
}

test_suspended_user_gets_nothing if {
	not authz.allow with input as req("mallory@example.com", "read", "project", "p1") with time.now_ns as fixture_now
}

test_unknown_user_gets_nothing if {
	not authz.allow with input as req("eve@example.com", "read", "project", "p1") with time.now_ns as fixture_now
}

# ownership from the database source
test_owner_reads_and_updates_own_document if {
	authz.allow with input as req("alice@example.com", "read", "document", "d1") with time.now_ns as fixture_now
	authz.allow with input as req("alice@example.com", "update", "document", "d1") with time.now_ns as fixture_now
}

test_non_owner_cannot_read_document if {
	not authz.allow with input as req("alice@example.com", "read", "document", "d2") with time.now_ns as fixture_now
}

test_owner_cannot_delete_own_document if {
	not authz.allow with input as req("alice@example.com", "delete", "document", "d1") with time.now_ns as fixture_now
}

# project p1 is owned by group platform: its members update it, other engineers do not
test_owner_group_member_updates_project if {
	authz.allow with input as req("alice@example.com", "update", "project", "p1") with time.now_ns as fixture_now
}

test_outside_owner_group_cannot_update_project if {
	not authz.allow with input as req("dave@example.com", "update", "project", "p1") with time.now_ns as fixture_now
}

# freshness: legacy_crm has not synced for three days, so account decisions are denied
test_stale_source_denies if {
	not authz.allow with input as req("bob@example.com", "read", "account", "a1") with time.now_ns as fixture_now
	authz.reasons == {"data from legacy_crm is stale"} with input as req("bob@example.com", "read", "account", "a1") with time.now_ns as fixture_now
}

# the same account decision is allowed when the CRM is fresh
test_fresh_source_allows if {
	authz.allow with input as req("bob@example.com", "read", "account", "a1")
		with time.now_ns as fixture_now
		with data.pip.acme.meta.sources.legacy_crm.stale as false
		with data.pip.acme.meta.sources.legacy_crm.synced_at as "2026-01-15T11:00:00Z"
}

# a source that goes stale while OPA holds the document is noticed through synced_at
test_source_ages_into_staleness if {
	two_days_later := fixture_now + ((2 * 24) * 3600) * 1000000000
	not authz.allow with input as req("alice@example.com", "read", "project", "p1") with time.now_ns as two_days_later
}
