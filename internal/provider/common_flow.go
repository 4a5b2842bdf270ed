package provider

// The flow object: what the engine decides about (SPEC §1, §2), as the
// `expect` blocks of cfegress_egress_policies, the flows of
// cfegress_egress_decision and the `flow` argument of
// provider::cfegress::decide write it. One table (flowFields) drives the
// resource schema, the data-source schema, the object type and decoding.
//
// API for other files of this package:
//   - flowResourceAttribute(desc) / flowResourceAttributes(): resource schema
//   - flowDataSourceAttributes(): data-source schema (input attributes)
//   - flowAttrTypes(): the object's attribute types
//   - flowFromObject(ctx, types.Object)
//   - flowFromValue(ctx, attr.Value, name): also types.Dynamic (functions)
// All decoders return (engine.Flow, engine.ColoSet, error); the error is a
// *DecodeError whose Path names the flow attribute (e.g. groups[1]), with
// Unknown set when a value is not known yet.

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

type flowKind uint8

const (
	fString flowKind = iota
	fBool
	fPort
	fIP
	fStringList
	fIntList
	fStringListMap
)

type flowField struct {
	name     string
	kind     flowKind
	required bool
	desc     string
	set      func(f *engine.Flow, down engine.ColoSet, v dv) error
}

// Flow attribute names.
const (
	flowAttrName            = "name"
	flowAttrSourceIP        = "source_ip"
	flowAttrSourcePort      = "source_port"
	flowAttrSourceCountry   = "source_country"
	flowAttrIngressColo     = "ingress_colo"
	flowAttrDestinationIP   = "destination_ip"
	flowAttrDestinationPort = "destination_port"
	flowAttrProxied         = "proxied"
	flowAttrProtocol        = "protocol"
	flowAttrColosDown       = "colos_down"
)

var flowFields = []flowField{
	{name: flowAttrName, kind: fString, desc: "A label for this flow, echoed in results. Not used by the engine (the user's name is `identity_name`).",
		set: func(*engine.Flow, engine.ColoSet, dv) error { return nil }},
	{name: flowAttrSourceIP, kind: fIP, desc: "The user's public source IP (`net.src.ip`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.SourceIP, _, err = v.addr(); return }},
	{name: flowAttrSourcePort, kind: fPort, desc: "Source port (`net.src.port`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.SourcePort, err = port(v); return }},
	{name: flowAttrSourceCountry, kind: fString, desc: "ISO 3166-1 alpha-2 country of the user's source IP (`net.src.geo.country`), e.g. `MX`. Default egress keeps this geolocation and leaves from a colo in this country when there is one.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.SourceCountry, err = upper(v); return }},
	{name: "source_continent", kind: fString, desc: "Continent of the user's source IP (`net.src.geo.continent`), two letters (`AS`, `EU`, `NA`, ...).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.SourceContinent, err = upper(v); return }},
	{name: flowAttrIngressColo, kind: fString, required: true, desc: "IATA code of the colo the user is connected to (e.g. `KIX`). Must be in the catalog (`cfegress_colos`) and not down.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.IngressColo, err = upper(v); return }},
	{name: flowAttrDestinationIP, kind: fIP, required: true, desc: "Destination IP address, IPv4 or IPv6 (`net.dst.ip`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) error {
			a, ok, err := v.addr()
			if err == nil && !ok {
				return v.errf("a destination IP address is required")
			}
			f.DestinationIP = a
			return err
		}},
	{name: flowAttrDestinationPort, kind: fPort, desc: "Destination port (`net.dst.port`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.DestinationPort, err = port(v); return }},
	{name: flowAttrProxied, kind: fBool, desc: "Whether the destination is proxied by Cloudflare (\"orange\"). Defaults to `false` (\"grey\"). Dedicated IPv4 grey traffic leaves from the dedicated IP's colo; orange and IPv6 traffic leaves from the ingress colo.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.Proxied, _, err = v.boolean(); return }},
	{name: flowAttrProtocol, kind: fString, desc: "`tcp`, `udp` or `icmp` (`net.protocol`). Egress policies do not apply to ICMP.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) error {
			s, err := lower(v)
			if err == nil && s != "" && s != "tcp" && s != "udp" && s != "icmp" {
				return v.errf("must be \"tcp\", \"udp\" or \"icmp\", got %q", s)
			}
			f.Protocol = s
			return err
		}},
	{name: "dns", kind: fBool, desc: "A DNS query to Gateway's resolver: egress policies do not apply (outcome `not_applicable`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.DNS, _, err = v.boolean(); return }},
	{name: "private_network", kind: fBool, desc: "A private-network (Tunnel/WAN) destination: egress policies do not apply (outcome `not_applicable`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) {
			f.PrivateNetwork, _, err = v.boolean()
			return
		}},
	{name: "destination_country", kind: fString, desc: "ISO country of the destination IP (`net.dst.geo.country`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.DstCountry, err = upper(v); return }},
	{name: "destination_continent", kind: fString, desc: "Continent of the destination IP (`net.dst.geo.continent`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.DstContinent, err = upper(v); return }},
	{name: "internal_source_ip", kind: fIP, desc: "The device's internal source IP (`net.src.internal_src_ip`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) {
			f.InternalSourceIP, _, err = v.addr()
			return
		}},
	{name: "virtual_network_id", kind: fString, desc: "Virtual network ID (`net.vnet_id`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.VirtualNetworkID, _, err = v.str(); return }},
	{name: "proxy_endpoint", kind: fString, desc: "Proxy endpoint (`proxy.endpoint`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.ProxyEndpoint, _, err = v.str(); return }},
	// Host names are case-insensitive: hosts and domains are lower-cased
	// here, and policy literals are compared byte for byte, so an
	// upper-case literal never matches (lint: never_matches), one contract
	// with expr.CanMatchLiteral and the analyser.
	{name: "fqdn_host", kind: fString, desc: "Destination host name (`net.fqdn.host`). Host names are case-insensitive: it is lower-cased.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.FQDNHost, err = lower(v); return }},
	{name: "fqdn_domains", kind: fStringList, desc: "Destination domains (`net.fqdn.domains`), lower-cased like `fqdn_host`.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) error {
			l, err := v.strList()
			for i := range l {
				l[i] = strings.ToLower(strings.TrimSpace(l[i]))
			}
			f.FQDNDomains = l
			return err
		}},
	{name: "content_categories", kind: fIntList, desc: "Content category IDs of the destination (`net.fqdn.content_category`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) {
			f.ContentCategories, err = intList(v)
			return
		}},
	{name: "app_ids", kind: fIntList, desc: "Application IDs (`app.ids`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.AppIDs, err = intList(v); return }},
	{name: "email", kind: fString, desc: "The user's email (`identity.email`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.Email, _, err = v.str(); return }},
	{name: "identity_name", kind: fString, desc: "The user's name (`identity.name`).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.Name, _, err = v.str(); return }},
	{name: "groups", kind: fStringList, desc: "Names of the user's identity groups (`identity.groups.name`; each is also used as `.id` and `.email`, so a policy on group IDs matches when the ID is listed here).",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) error {
			gs, err := v.strList()
			if v.null() {
				return err
			}
			f.Groups = make([]engine.Group, 0, len(gs))
			for _, g := range gs {
				f.Groups = append(f.Groups, engine.Group{ID: g, Name: g, Email: g})
			}
			return err
		}},
	{name: "saml_attributes", kind: fStringListMap, desc: "SAML attributes of the user (`identity.saml_attributes[\"...\"]`): a map from attribute name to its values.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) error {
			if v.null() {
				return nil
			}
			m, err := v.object()
			if err != nil {
				return err
			}
			f.SAMLAttributes = make(map[string][]string, len(m))
			for k, e := range m {
				l, err := e.strList()
				if err != nil {
					return err
				}
				f.SAMLAttributes[k] = l
			}
			return nil
		}},
	{name: "posture_checks", kind: fStringList, desc: "IDs of the device posture checks the device passed (`device_posture.checks.passed`). Unset means unknown: a policy with a device posture expression is then `indeterminate`.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) error {
			l, err := v.strList()
			if err == nil && !v.null() && l == nil {
				l = []string{}
			}
			f.PostureChecks = l
			return err
		}},
	{name: "failed_posture_checks", kind: fStringList, desc: "IDs of the device posture checks the device failed (`device_posture.checks.failed`). Unset means unknown.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) error {
			l, err := v.strList()
			if err == nil && !v.null() && l == nil {
				l = []string{}
			}
			f.FailedPostureChecks = l
			return err
		}},
	{name: "oidc_claims", kind: fStringList, desc: "The user's custom OIDC claims as `\"name=value\"` strings (`identity.oidc_claims`), e.g. `[\"department=engineering\"]`. Unset means unknown.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) error {
			l, err := v.strList()
			if err != nil || v.null() {
				return err
			}
			f.OIDCClaims = make([]string, 0, len(l))
			for i, c := range l {
				c = expr.ClaimValue(strings.TrimSpace(c))
				if name, _, ok := strings.Cut(c, "="); !ok || name == "" {
					return v.p.idx(i).errf("must be a \"name=value\" claim, got %q", l[i])
				}
				f.OIDCClaims = append(f.OIDCClaims, c)
			}
			return nil
		}},
	{name: "onramp_type", kind: fString, desc: "How the traffic reached Cloudflare (`net.onramp.type`): " + quotedList(expr.OnrampTypes()) + ". Cloudflare's changelogs disagree on whether egress policies support this selector.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) error {
			s, err := lower(v)
			if err == nil && s != "" && !expr.IsOnrampType(s) {
				return v.errf("must be one of %s, got %q", strings.Join(expr.OnrampTypes(), ", "), s)
			}
			f.OnrampType = s
			return err
		}},
	{name: "user_id", kind: fString, desc: "The user's ID (as Network Session Logs' `UserID`). With `device_id`, `email` and `source_ip`, it decides which of several equidistant dedicated IPs the user keeps.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.UserID, _, err = v.str(); return }},
	{name: "device_id", kind: fString, desc: "The device's ID (as Network Session Logs' `DeviceID`): identifies the user among equidistant dedicated IPs when `user_id` is not given.",
		set: func(f *engine.Flow, _ engine.ColoSet, v dv) (err error) { f.DeviceID, _, err = v.str(); return }},
	{name: flowAttrColosDown, kind: fStringList, desc: "IATA codes of colos that are down for this decision (to see the secondary `ipv4_fallback` at work).",
		set: func(_ *engine.Flow, down engine.ColoSet, v dv) error {
			l, err := v.strList()
			for i, c := range l {
				c = strings.ToUpper(strings.TrimSpace(c))
				if _, lerr := engine.LookupColo(c); lerr != nil {
					return v.p.idx(i).errf("%s", lerr)
				}
				down[c] = true
			}
			return err
		}},
}

// quotedList renders values as `a`, `b`, ... for descriptions.
func quotedList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = "`" + v + "`"
	}
	return strings.Join(q, ", ")
}

func port(v dv) (uint16, error) {
	n, _, err := v.integer(0, 65535)
	return uint16(n), err
}

func upper(v dv) (string, error) {
	s, _, err := v.str()
	return strings.ToUpper(strings.TrimSpace(s)), err
}

func lower(v dv) (string, error) {
	s, _, err := v.str()
	return strings.ToLower(strings.TrimSpace(s)), err
}

func intList(v dv) ([]int64, error) {
	els, err := v.list()
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range els {
		n, ok, err := e.integer(-1<<53, 1<<53)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, e.errf("must be a number, got null")
		}
		out = append(out, n)
	}
	return out, nil
}

func flowFieldNames() []string {
	out := make([]string, len(flowFields))
	for i, f := range flowFields {
		out[i] = f.name
	}
	return out
}

// flowAttrType is the Terraform type of one flow attribute.
func (f flowField) attrType() attr.Type {
	switch f.kind {
	case fBool:
		return types.BoolType
	case fPort:
		return types.Int64Type
	case fStringList:
		return types.ListType{ElemType: types.StringType}
	case fIntList:
		return types.ListType{ElemType: types.Int64Type}
	case fStringListMap:
		return types.MapType{ElemType: types.ListType{ElemType: types.StringType}}
	}
	return types.StringType
}

// flowAttrTypes is the attribute types of the flow object.
func flowAttrTypes() map[string]attr.Type {
	m := make(map[string]attr.Type, len(flowFields))
	for _, f := range flowFields {
		m[f.name] = f.attrType()
	}
	return m
}

// flowResourceAttributes returns the flow's attributes for a resource schema
// (all input: Required or Optional).
func flowResourceAttributes() map[string]rschema.Attribute {
	m := make(map[string]rschema.Attribute, len(flowFields))
	for _, f := range flowFields {
		opt := !f.required
		switch f.kind {
		case fBool:
			m[f.name] = rschema.BoolAttribute{MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		case fPort:
			m[f.name] = rschema.Int64Attribute{MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		case fStringList:
			m[f.name] = rschema.ListAttribute{ElementType: types.StringType, MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		case fIntList:
			m[f.name] = rschema.ListAttribute{ElementType: types.Int64Type, MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		case fStringListMap:
			m[f.name] = rschema.MapAttribute{ElementType: types.ListType{ElemType: types.StringType}, MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		default:
			m[f.name] = rschema.StringAttribute{MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		}
	}
	return m
}

// flowResourceAttribute is the flow as a required single nested attribute
// of a resource schema (e.g. `expect[*].flow`).
func flowResourceAttribute(desc string) rschema.SingleNestedAttribute {
	return rschema.SingleNestedAttribute{
		MarkdownDescription: desc,
		Required:            true,
		Attributes:          flowResourceAttributes(),
	}
}

// flowDataSourceAttributes returns the flow's attributes for a data-source
// schema (inputs).
func flowDataSourceAttributes() map[string]dschema.Attribute {
	m := make(map[string]dschema.Attribute, len(flowFields))
	for _, f := range flowFields {
		opt := !f.required
		switch f.kind {
		case fBool:
			m[f.name] = dschema.BoolAttribute{MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		case fPort:
			m[f.name] = dschema.Int64Attribute{MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		case fStringList:
			m[f.name] = dschema.ListAttribute{ElementType: types.StringType, MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		case fIntList:
			m[f.name] = dschema.ListAttribute{ElementType: types.Int64Type, MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		case fStringListMap:
			m[f.name] = dschema.MapAttribute{ElementType: types.ListType{ElemType: types.StringType}, MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		default:
			m[f.name] = dschema.StringAttribute{MarkdownDescription: f.desc, Required: f.required, Optional: opt}
		}
	}
	return m
}

// decodeFlow reads a flow object (typed or hand-written). Unsupported
// attribute names are errors (a typo would silently change the answer).
func decodeFlow(d dv) (engine.Flow, engine.ColoSet, error) {
	m, err := d.object()
	if err != nil {
		if de, ok := err.(*DecodeError); ok && !de.Unknown {
			de.Msg += " with at least ingress_colo and destination_ip"
		}
		return engine.Flow{}, nil, err
	}
	return decodeFlowAttrs(m, d.p)
}

// decodeFlowAttrs reads the attributes of a flow object at path base.
func decodeFlowAttrs(m map[string]dv, base attrPath) (engine.Flow, engine.ColoSet, error) {
	var f engine.Flow
	down := engine.ColoSet{}
	if err := rejectUnknownAttrs(m, flowFieldNames()); err != nil {
		return f, nil, err
	}
	for _, ff := range flowFields {
		v := m[ff.name].withPath(base.attr(ff.name))
		if ff.required && v.known() && v.null() {
			return f, nil, v.errf("is required")
		}
		if err := ff.set(&f, down, v); err != nil {
			return f, nil, err
		}
	}
	if f.IngressColo == "" {
		return f, nil, base.attr(flowAttrIngressColo).errf("is required (the IATA code of the colo the user is connected to, e.g. \"KIX\")")
	}
	if _, err := engine.LookupColo(f.IngressColo); err != nil {
		return f, nil, base.attr(flowAttrIngressColo).errf("%s", err)
	}
	return f, down, nil
}

// flowLabel returns the flow's `name` attribute ("" when absent).
func flowLabel(d dv) string {
	m, err := d.object()
	if err != nil {
		return ""
	}
	s, _, _ := m[flowAttrName].str()
	return s
}

// flowFromValue decodes a flow from any framework value: types.Object,
// types.Dynamic (function arguments) or a custom object type. name prefixes
// error paths ("flow", or "" for paths relative to the flow).
func flowFromValue(ctx context.Context, v attr.Value, name string) (engine.Flow, engine.ColoSet, error) {
	d, err := rootValue(ctx, v, name)
	if err != nil {
		return engine.Flow{}, nil, err
	}
	return decodeFlow(d)
}

// flowFromObject decodes a typed flow object (e.g. `expect[*].flow` of the
// resource). Error paths are relative to the flow object.
func flowFromObject(ctx context.Context, obj types.Object) (engine.Flow, engine.ColoSet, error) {
	return flowFromValue(ctx, obj, "")
}
