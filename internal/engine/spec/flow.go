package spec

// The flow object: what the engine decides about (SPEC §1, §2), as the
// `expect` blocks of cfegress_egress_policies, the flows of
// cfegress_egress_decision, the `flow` argument of provider::cfegress::decide
// and the change impact's example flows write it. One table (flowFields)
// gives each attribute's name, kind, documentation, decoding (FlowFromObject)
// and encoding (FlowObject).

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// FlowLabelAttr is the flow attribute that labels a flow in results; the
// engine does not read it.
const FlowLabelAttr = "name"

type flowField struct {
	Attr
	// get returns the attribute's value of a flow (nil: null).
	get func(f *engine.Flow, down engine.ColoSet) any
	// set checks and writes a value (nil, or of the attribute's Kind); an
	// error is relative to the attribute (an elemError for one element).
	set func(f *engine.Flow, down engine.ColoSet, v any) error
}

// elemError is an error of element i of a list attribute.
type elemError struct {
	i   int
	msg string
}

func (e *elemError) Error() string { return fmt.Sprintf("[%d]: %s", e.i, e.msg) }

var flowFields = []flowField{
	{Attr: Attr{Name: FlowLabelAttr, Kind: KindString, Desc: "A label for this flow, echoed in results. Not used by the engine (the user's name is `identity_name`)."},
		get: func(*engine.Flow, engine.ColoSet) any { return nil },
		set: func(*engine.Flow, engine.ColoSet, any) error { return nil }},
	{Attr: Attr{Name: "source_ip", Kind: KindString, Desc: "The user's public source IP (`net.src.ip`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return addrValue(f.SourceIP) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) (err error) { f.SourceIP, err = addr(v); return }},
	{Attr: Attr{Name: "source_port", Kind: KindInt, Desc: "Source port (`net.src.port`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return portValue(f.SourcePort) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) (err error) { f.SourcePort, err = port(v); return }},
	{Attr: Attr{Name: "source_country", Kind: KindString, Desc: "ISO 3166-1 alpha-2 country of the user's source IP (`net.src.geo.country`), e.g. `MX`. Default egress keeps this geolocation and leaves from a colo in this country when there is one."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.SourceCountry) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.SourceCountry = upper(v); return nil }},
	{Attr: Attr{Name: "source_continent", Kind: KindString, Desc: "Continent of the user's source IP (`net.src.geo.continent`), two letters (`AS`, `EU`, `NA`, ...)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.SourceContinent) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.SourceContinent = upper(v); return nil }},
	{Attr: Attr{Name: "ingress_colo", Kind: KindString, Required: true, Desc: "IATA code of the colo the user is connected to (e.g. `KIX`). Must be in the catalog (`cfegress_colos`) and not down."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.IngressColo) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error {
			f.IngressColo = upper(v)
			if f.IngressColo == "" {
				return errors.New("is required (the IATA code of the colo the user is connected to, e.g. \"KIX\")")
			}
			_, err := engine.LookupColo(f.IngressColo)
			return err
		}},
	{Attr: Attr{Name: "destination_ip", Kind: KindString, Required: true, Desc: "Destination IP address, IPv4 or IPv6 (`net.dst.ip`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return addrValue(f.DestinationIP) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) (err error) {
			f.DestinationIP, err = addr(v)
			if err == nil && !f.DestinationIP.IsValid() {
				return errors.New("a destination IP address is required")
			}
			return err
		}},
	{Attr: Attr{Name: "destination_port", Kind: KindInt, Desc: "Destination port (`net.dst.port`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return portValue(f.DestinationPort) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) (err error) { f.DestinationPort, err = port(v); return }},
	{Attr: Attr{Name: "proxied", Kind: KindBool, Desc: "Whether the destination is proxied by Cloudflare (\"orange\"). Defaults to `false` (\"grey\"). Dedicated IPv4 grey traffic leaves from the dedicated IP's colo; orange and IPv6 traffic leaves from the ingress colo."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return f.Proxied },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.Proxied, _ = v.(bool); return nil }},
	{Attr: Attr{Name: "protocol", Kind: KindString, Desc: "`tcp`, `udp` or `icmp` (`net.protocol`). Egress policies do not apply to ICMP."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.Protocol) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error {
			s := lower(v)
			if s != "" && s != "tcp" && s != "udp" && s != "icmp" {
				return fmt.Errorf("must be \"tcp\", \"udp\" or \"icmp\", got %q", s)
			}
			f.Protocol = s
			return nil
		}},
	{Attr: Attr{Name: "dns", Kind: KindBool, Desc: "A DNS query to Gateway's resolver: egress policies do not apply (outcome `not_applicable`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return f.DNS },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.DNS, _ = v.(bool); return nil }},
	{Attr: Attr{Name: "private_network", Kind: KindBool, Desc: "A private-network (Tunnel/WAN) destination: egress policies do not apply (outcome `not_applicable`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return f.PrivateNetwork },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.PrivateNetwork, _ = v.(bool); return nil }},
	{Attr: Attr{Name: "destination_country", Kind: KindString, Desc: "ISO country of the destination IP (`net.dst.geo.country`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.DstCountry) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.DstCountry = upper(v); return nil }},
	{Attr: Attr{Name: "destination_continent", Kind: KindString, Desc: "Continent of the destination IP (`net.dst.geo.continent`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.DstContinent) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.DstContinent = upper(v); return nil }},
	{Attr: Attr{Name: "internal_source_ip", Kind: KindString, Desc: "The device's internal source IP (`net.src.internal_src_ip`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return addrValue(f.InternalSourceIP) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) (err error) { f.InternalSourceIP, err = addr(v); return }},
	{Attr: Attr{Name: "virtual_network_id", Kind: KindString, Desc: "Virtual network ID (`net.vnet_id`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.VirtualNetworkID) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.VirtualNetworkID, _ = v.(string); return nil }},
	{Attr: Attr{Name: "proxy_endpoint", Kind: KindString, Desc: "Proxy endpoint (`proxy.endpoint`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.ProxyEndpoint) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.ProxyEndpoint, _ = v.(string); return nil }},
	// Host names are case-insensitive: hosts and domains are lower-cased
	// here, and policy literals are compared byte for byte, so an
	// upper-case literal never matches (lint: never_matches), one contract
	// with expr.CanMatchLiteral and the analyser.
	{Attr: Attr{Name: "fqdn_host", Kind: KindString, Desc: "Destination host name (`net.fqdn.host`). Host names are case-insensitive: it is lower-cased."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.FQDNHost) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.FQDNHost = lower(v); return nil }},
	{Attr: Attr{Name: "fqdn_domains", Kind: KindStringList, Desc: "Destination domains (`net.fqdn.domains`), lower-cased like `fqdn_host`."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return listValue(f.FQDNDomains) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error {
			l, _ := v.([]string)
			f.FQDNDomains = nil
			for _, d := range l {
				f.FQDNDomains = append(f.FQDNDomains, strings.ToLower(strings.TrimSpace(d)))
			}
			return nil
		}},
	{Attr: Attr{Name: "content_categories", Kind: KindIntList, Desc: "Content category IDs of the destination (`net.fqdn.content_category`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return listValue(f.ContentCategories) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.ContentCategories = intList(v); return nil }},
	{Attr: Attr{Name: "app_ids", Kind: KindIntList, Desc: "Application IDs (`app.ids`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return listValue(f.AppIDs) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.AppIDs = intList(v); return nil }},
	{Attr: Attr{Name: "email", Kind: KindString, Desc: "The user's email (`identity.email`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.Email) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.Email, _ = v.(string); return nil }},
	{Attr: Attr{Name: "identity_name", Kind: KindString, Desc: "The user's name (`identity.name`)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.Name) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.Name, _ = v.(string); return nil }},
	// The object lists each group once: the value is the group's id, name
	// and e-mail (a flow whose groups differ in them is not exact, see
	// FlowObject).
	{Attr: Attr{Name: "groups", Kind: KindStringList, Desc: "Names of the user's identity groups (`identity.groups.name`; each is also used as `.id` and `.email`, so a policy on group IDs matches when the ID is listed here)."},
		get: func(f *engine.Flow, _ engine.ColoSet) any {
			if f.Groups == nil {
				return nil
			}
			names := make([]string, len(f.Groups))
			for i, g := range f.Groups {
				names[i] = g.Name
			}
			return names
		},
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error {
			f.Groups = nil
			if gs, ok := v.([]string); ok {
				f.Groups = make([]engine.Group, 0, len(gs))
				for _, g := range gs {
					f.Groups = append(f.Groups, engine.Group{ID: g, Name: g, Email: g})
				}
			}
			return nil
		}},
	{Attr: Attr{Name: "saml_attributes", Kind: KindStringListMap, Desc: "SAML attributes of the user (`identity.saml_attributes[\"...\"]`): a map from attribute name to its values."},
		get: func(f *engine.Flow, _ engine.ColoSet) any {
			if f.SAMLAttributes == nil {
				return nil
			}
			return f.SAMLAttributes
		},
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error {
			f.SAMLAttributes = nil
			if m, ok := v.(map[string][]string); ok {
				f.SAMLAttributes = make(map[string][]string, len(m))
				for k, l := range m {
					f.SAMLAttributes[k] = l
				}
			}
			return nil
		}},
	{Attr: Attr{Name: "posture_checks", Kind: KindStringList, Desc: "IDs of the device posture checks the device passed (`device_posture.checks.passed`). Unset means unknown: a policy with a device posture expression is then `indeterminate`."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return listValue(f.PostureChecks) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.PostureChecks = knownList(v); return nil }},
	{Attr: Attr{Name: "failed_posture_checks", Kind: KindStringList, Desc: "IDs of the device posture checks the device failed (`device_posture.checks.failed`). Unset means unknown."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return listValue(f.FailedPostureChecks) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.FailedPostureChecks = knownList(v); return nil }},
	{Attr: Attr{Name: "oidc_claims", Kind: KindStringList, Desc: "The user's custom OIDC claims as `\"name=value\"` strings (`identity.oidc_claims`), e.g. `[\"department=engineering\"]`. Unset means unknown."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return listValue(f.OIDCClaims) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error {
			f.OIDCClaims = nil
			l, ok := v.([]string)
			if !ok {
				return nil
			}
			f.OIDCClaims = make([]string, 0, len(l))
			for i, c := range l {
				c = expr.ClaimValue(strings.TrimSpace(c))
				if name, _, ok := strings.Cut(c, "="); !ok || name == "" {
					return &elemError{i, fmt.Sprintf("must be a \"name=value\" claim, got %q", l[i])}
				}
				f.OIDCClaims = append(f.OIDCClaims, c)
			}
			return nil
		}},
	{Attr: Attr{Name: "onramp_type", Kind: KindString, Desc: "How the traffic reached Cloudflare (`net.onramp.type`): " + quotedList(expr.OnrampTypes()) + ". Cloudflare's changelogs disagree on whether egress policies support this selector."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.OnrampType) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error {
			s := lower(v)
			if s != "" && !expr.IsOnrampType(s) {
				return fmt.Errorf("must be one of %s, got %q", strings.Join(expr.OnrampTypes(), ", "), s)
			}
			f.OnrampType = s
			return nil
		}},
	{Attr: Attr{Name: "user_id", Kind: KindString, Desc: "The user's ID (as Network Session Logs' `UserID`). With `device_id`, `email` and `source_ip`, it decides which of several equidistant dedicated IPs the user keeps."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.UserID) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.UserID, _ = v.(string); return nil }},
	{Attr: Attr{Name: "device_id", Kind: KindString, Desc: "The device's ID (as Network Session Logs' `DeviceID`): identifies the user among equidistant dedicated IPs when `user_id` is not given."},
		get: func(f *engine.Flow, _ engine.ColoSet) any { return strValue(f.DeviceID) },
		set: func(f *engine.Flow, _ engine.ColoSet, v any) error { f.DeviceID, _ = v.(string); return nil }},
	{Attr: Attr{Name: "colos_down", Kind: KindStringList, Desc: "IATA codes of colos that are down for this decision (to see the secondary `ipv4_fallback` at work)."},
		get: func(_ *engine.Flow, down engine.ColoSet) any {
			if len(down) == 0 {
				return nil
			}
			l := make([]string, 0, len(down))
			for c, isDown := range down {
				if isDown {
					l = append(l, c)
				}
			}
			sort.Strings(l)
			return l
		},
		set: func(_ *engine.Flow, down engine.ColoSet, v any) error {
			l, _ := v.([]string)
			for i, c := range l {
				c = strings.ToUpper(strings.TrimSpace(c))
				if _, err := engine.LookupColo(c); err != nil {
					return &elemError{i, err.Error()}
				}
				down[c] = true
			}
			return nil
		}},
}

var flowAttrs = func() []Attr {
	out := make([]Attr, len(flowFields))
	for i, f := range flowFields {
		out[i] = f.Attr
	}
	return out
}()

// FlowAttrs returns the attributes of the flow object, in order.
func FlowAttrs() []Attr { return append([]Attr(nil), flowAttrs...) }

// FlowFromObject decodes a flow object: o holds values of the attributes'
// kinds (or nil) under FlowAttrs names; other names are errors (a typo
// would silently change the answer). Strings are trimmed and, where the
// field is case-insensitive, case-folded; the ingress colo must be in the
// catalog. A returned error is an *Error naming the attribute (and the
// element, as in "oidc_claims[1]").
func FlowFromObject(o Object) (engine.Flow, engine.ColoSet, error) {
	var f engine.Flow
	down := engine.ColoSet{}
	names := make([]string, 0, len(o))
	for k := range o {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !isFlowAttr(k) {
			return f, nil, errf(k, "%s", Unsupported(k, AttrNames(flowAttrs)))
		}
	}
	for _, ff := range flowFields {
		v := o[ff.Name]
		if v == nil {
			if ff.Required {
				return f, nil, errf(ff.Name, "is required")
			}
		} else if !checkKind(ff.Kind, v) {
			return f, nil, errf(ff.Name, "must be %s, got %T", ff.Kind, v)
		}
		if err := ff.set(&f, down, v); err != nil {
			var ee *elemError
			if errors.As(err, &ee) {
				return f, nil, errf(fmt.Sprintf("%s[%d]", ff.Name, ee.i), "%s", ee.msg)
			}
			return f, nil, errf(ff.Name, "%s", err)
		}
	}
	return f, down, nil
}

func isFlowAttr(name string) bool {
	for _, a := range flowAttrs {
		if a.Name == name {
			return true
		}
	}
	return false
}

// FlowObject encodes a flow (and the colos down for it) as a flow object.
// exact is false when the object does not decode back to f (a flow the
// object cannot express, such as groups whose id, name and e-mail differ,
// or text FlowFromObject would case-fold).
func FlowObject(f engine.Flow, down engine.ColoSet) (o Object, exact bool) {
	o = make(Object, len(flowFields))
	for _, ff := range flowFields {
		o[ff.Name] = ff.get(&f, down)
	}
	back, _, err := FlowFromObject(o)
	return o, err == nil && reflect.DeepEqual(normalFlow(back), normalFlow(f))
}

// normalFlow clears what the object does not carry the same way (an empty
// and an absent map).
func normalFlow(f engine.Flow) engine.Flow {
	if len(f.SAMLAttributes) == 0 {
		f.SAMLAttributes = nil
	}
	return f
}

// quotedList renders values as `a`, `b`, ... for descriptions.
func quotedList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = "`" + v + "`"
	}
	return strings.Join(q, ", ")
}

func addr(v any) (netip.Addr, error) {
	s, _ := v.(string)
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", v)
	}
	return a.Unmap(), nil
}

func port(v any) (uint16, error) {
	n, _ := v.(int64)
	if n < 0 || n > 65535 {
		return 0, fmt.Errorf("must be between 0 and 65535, got %d", n)
	}
	return uint16(n), nil
}

func upper(v any) string {
	s, _ := v.(string)
	return strings.ToUpper(strings.TrimSpace(s))
}

func lower(v any) string {
	s, _ := v.(string)
	return strings.ToLower(strings.TrimSpace(s))
}

func intList(v any) []int64 {
	l, _ := v.([]int64)
	if len(l) == 0 {
		return nil
	}
	return append([]int64(nil), l...)
}

// knownList is a list where null means unknown: a given empty list is a
// known empty one.
func knownList(v any) []string {
	l, ok := v.([]string)
	if !ok {
		return nil
	}
	return append([]string{}, l...)
}

func strValue(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func addrValue(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return a.String()
}

func portValue(p uint16) any {
	if p == 0 {
		return nil
	}
	return int64(p)
}

// listValue is a list attribute's value: nil (null) for a nil slice, a
// copy otherwise.
func listValue[T any](l []T) any {
	if l == nil {
		return nil
	}
	return append([]T{}, l...)
}
