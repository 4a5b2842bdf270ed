package expr

import "sort"

// Type is a field's value type.
type Type uint8

const (
	TString Type = iota
	TInt
	TIP
	TBool
)

func (t Type) String() string {
	switch t {
	case TInt:
		return "number"
	case TIP:
		return "IP address"
	case TBool:
		return "boolean"
	default:
		return "string"
	}
}

// Selector groups fields by the policy expression they belong to.
type Selector uint8

const (
	SelTraffic Selector = iota
	SelIdentity
	SelPosture
)

// String is the policy attribute holding expressions of this selector:
// "traffic", "identity" or "device_posture".
func (s Selector) String() string {
	switch s {
	case SelIdentity:
		return "identity"
	case SelPosture:
		return "device_posture"
	}
	return "traffic"
}

// FieldInfo describes one field the egress builder accepts (SPEC §3).
type FieldInfo struct {
	Name     string
	Type     Type
	Array    bool // an array field: use `in`, `any(f[*] ...)` or `f[*]`
	Map      bool // a map field indexed by ["key"] (identity.saml_attributes)
	Selector Selector
	// HostSelector: needs Gateway's host selector setting (lint: host_selector).
	HostSelector bool
	// Pairs: the elements are "name=value" strings whose literal may carry
	// its own quotes (identity.oidc_claims); see ClaimValue.
	Pairs bool
}

var fields = map[string]FieldInfo{
	"net.dst.ip":                {Name: "net.dst.ip", Type: TIP},
	"net.dst.port":              {Name: "net.dst.port", Type: TInt},
	"net.protocol":              {Name: "net.protocol", Type: TString},
	"net.dst.geo.country":       {Name: "net.dst.geo.country", Type: TString},
	"net.dst.geo.continent":     {Name: "net.dst.geo.continent", Type: TString},
	"net.src.ip":                {Name: "net.src.ip", Type: TIP},
	"net.src.port":              {Name: "net.src.port", Type: TInt},
	"net.src.geo.country":       {Name: "net.src.geo.country", Type: TString},
	"net.src.geo.continent":     {Name: "net.src.geo.continent", Type: TString},
	"net.src.internal_src_ip":   {Name: "net.src.internal_src_ip", Type: TIP},
	"net.vnet_id":               {Name: "net.vnet_id", Type: TString},
	"proxy.endpoint":            {Name: "proxy.endpoint", Type: TString},
	"net.fqdn.host":             {Name: "net.fqdn.host", Type: TString, HostSelector: true},
	"net.fqdn.domains":          {Name: "net.fqdn.domains", Type: TString, Array: true, HostSelector: true},
	"net.fqdn.content_category": {Name: "net.fqdn.content_category", Type: TInt, Array: true, HostSelector: true},
	"app.ids":                   {Name: "app.ids", Type: TInt, Array: true, HostSelector: true},

	"identity.email":           {Name: "identity.email", Type: TString, Selector: SelIdentity},
	"identity.name":            {Name: "identity.name", Type: TString, Selector: SelIdentity},
	"identity.groups.id":       {Name: "identity.groups.id", Type: TString, Array: true, Selector: SelIdentity},
	"identity.groups.name":     {Name: "identity.groups.name", Type: TString, Array: true, Selector: SelIdentity},
	"identity.groups.email":    {Name: "identity.groups.email", Type: TString, Array: true, Selector: SelIdentity},
	"identity.saml_attributes": {Name: "identity.saml_attributes", Type: TString, Array: true, Map: true, Selector: SelIdentity},
	// identity.oidc_claims: the user's custom OIDC claims as "name=value"
	// strings, in egress policies since 2026-03-24 (Cloudflare changelog
	// "OIDC Claims filtering now available in Gateway Firewall, Resolver, and
	// Egress policies"). Cloudflare's API example quotes the pair inside the
	// string: any(identity.oidc_claims[*] == "\"department=engineering\"")
	// (developers.cloudflare.com/cloudflare-one/traffic-policies/identity-selectors/#oidc-claims),
	// as it does for identity.saml_attributes == "\"group=finance\"": an
	// element equals the literal with one pair of surrounding quotes removed
	// (ClaimValue).
	"identity.oidc_claims":         {Name: "identity.oidc_claims", Type: TString, Array: true, Selector: SelIdentity, Pairs: true},
	"device_posture.checks.passed": {Name: "device_posture.checks.passed", Type: TString, Array: true, Selector: SelPosture},
	// device_posture.checks.failed: the egress page's Device Posture selector
	// lists any(device_posture.checks.failed[*] in {"<check id>"}) next to
	// .passed (cloudflare-docs partial gateway/selectors/device-posture.mdx).
	"device_posture.checks.failed": {Name: "device_posture.checks.failed", Type: TString, Array: true, Selector: SelPosture},

	// net.onramp.type ("Traffic source"): in Cloudflare's changelog of
	// 2026-06-10 "Traffic sources are available in HTTP, Network, and Egress
	// policies", but the changelog of 2026-08-12 and the egress policies page
	// of 2026-07-09 list it for HTTP and Network policies only. Accepted;
	// egress support is unconfirmed (docs say so).
	"net.onramp.type": {Name: "net.onramp.type", Type: TString},
}

// OnrampTypes are the values of net.onramp.type Cloudflare publishes: the
// changelog of 2026-08-12 ("Traffic Source selector in Gateway policies")
// and the HTTP policies page list device_client, mesh, cloudflare_wan,
// clientless_rdp, proxy_endpoint, agentless_biso and mcp_portal; the
// traffic-sources selector partial (cloudflare-docs
// src/content/partials/cloudflare-one/gateway/selectors/traffic-sources.mdx)
// names the Browser Isolation source browser_isolation instead of
// agentless_biso. Both spellings are accepted.
func OnrampTypes() []string {
	return []string{"agentless_biso", "browser_isolation", "clientless_rdp", "cloudflare_wan", "device_client", "mcp_portal", "mesh", "proxy_endpoint"}
}

// IsOnrampType reports whether s is one of OnrampTypes.
func IsOnrampType(s string) bool {
	for _, t := range OnrampTypes() {
		if s == t {
			return true
		}
	}
	return false
}

// LookupField returns the field named name.
func LookupField(name string) (FieldInfo, bool) {
	f, ok := fields[name]
	return f, ok
}

// FieldNames returns every field name, sorted.
func FieldNames() []string {
	out := make([]string, 0, len(fields))
	for n := range fields {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
