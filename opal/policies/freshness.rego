# Deny when the data a decision depends on is stale (data.pip.<tenant>.meta).
#
# meta.sources.<connection> carries stale (computed when the document was built) and synced_at /
# stale_after_s, so the policy also notices a source going stale while OPA holds the document.
package authz.freshness

import rego.v1

meta := data.pip[input.tenant].meta

# every identity source, plus the source behind the resource type
needed contains name if {
	some name, source in meta.sources
	source.category == "identity"
}

needed contains "app_db" if input.resource.type in {"document", "project"}

needed contains "legacy_crm" if input.resource.type == "account"

stale(name) if not meta.sources[name]

stale(name) if meta.sources[name].stale == true

stale(name) if not meta.sources[name].synced_at

stale(name) if {
	source := meta.sources[name]
	time.now_ns() - time.parse_rfc3339_ns(source.synced_at) > source.stale_after_s * 1000000000
}

deny contains msg if {
	some name in needed
	stale(name)
	msg := sprintf("data from %s is stale", [name])
}
