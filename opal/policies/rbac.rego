# Group-based RBAC from the identity provider.
#
# data.pip.<tenant>.users.<key>.groups lists the user's groups directly AND through nested
# groups; .roles the roles assigned to the user or to any of those groups (see docs/opa-data.md).
# Suspended or deprovisioned users get nothing.
package authz.rbac

import rego.v1

# permission = "<resource type>:<action>", granted to IdP groups (keys of data.pip.<tenant>.groups)
group_permissions := {
	"engineering": {"project:read", "account:read"},
	"platform": {"project:update"},
	"admins": {"project:read", "project:update", "document:read", "document:delete", "account:read"},
}

# and to IdP roles
role_permissions := {
	"admin": {"project:delete"},
	"deployer": {"project:deploy"},
}

user := data.pip[input.tenant].users[lower(input.user)]

permissions contains p if {
	user.status == "active"
	some group in user.groups
	some p in group_permissions[group]
}

permissions contains p if {
	user.status == "active"
	some role in user.roles
	some p in role_permissions[role]
}

allow if concat(":", [input.resource.type, input.action]) in permissions
