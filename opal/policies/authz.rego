# The decision: RBAC or ownership, and never on stale data.
#
# input: {"tenant": "acme", "user": "alice@example.com", "action": "read",
#         "resource": {"type": "project", "id": "p1"}}
package authz

import rego.v1

import data.authz.freshness
import data.authz.ownership
import data.authz.rbac

default allow := false

allow if {
	count(freshness.deny) == 0
	rbac.allow
}

allow if {
	count(freshness.deny) == 0
	ownership.allow
}

reasons := freshness.deny
