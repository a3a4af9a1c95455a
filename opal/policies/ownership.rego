# Resource ownership from a database source (connection app_db, streams documents and projects).
#
# data.pip.<tenant>.sources.<connection>.<stream>.<record key> holds each record's mapped fields.
# A document is owned by the user whose merge key (lowercased email) is its owner_email; a project
# by the members of its owner group, nested members included.
package authz.ownership

import rego.v1

user := data.pip[input.tenant].users[lower(input.user)]

app_db := data.pip[input.tenant].sources.app_db

owner if {
	input.resource.type == "document"
	lower(app_db.documents[input.resource.id].owner_email) == user.id
}

owner if {
	input.resource.type == "project"
	app_db.projects[input.resource.id].owner_group in user.groups
}

allow if {
	user.status == "active"
	owner
	input.action in {"read", "update"}
}
