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

// FieldInfo describes one field the egress builder accepts (SPEC §3).
type FieldInfo struct {
	Name     string
	Type     Type
	Array    bool // an array field: use `in`, `any(f[*] ...)` or `f[*]`
	Map      bool // a map field indexed by ["key"] (identity.saml_attributes)
	Selector Selector
	// HostSelector: needs Gateway's host selector setting (lint: host_selector).
	HostSelector bool
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

	"identity.email":               {Name: "identity.email", Type: TString, Selector: SelIdentity},
	"identity.name":                {Name: "identity.name", Type: TString, Selector: SelIdentity},
	"identity.groups.id":           {Name: "identity.groups.id", Type: TString, Array: true, Selector: SelIdentity},
	"identity.groups.name":         {Name: "identity.groups.name", Type: TString, Array: true, Selector: SelIdentity},
	"identity.groups.email":        {Name: "identity.groups.email", Type: TString, Array: true, Selector: SelIdentity},
	"identity.saml_attributes":     {Name: "identity.saml_attributes", Type: TString, Array: true, Map: true, Selector: SelIdentity},
	"device_posture.checks.passed": {Name: "device_posture.checks.passed", Type: TString, Array: true, Selector: SelPosture},
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
