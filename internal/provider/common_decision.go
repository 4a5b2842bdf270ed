package provider

// The Decision object returned by provider::cfegress::decide and the
// cfegress_egress_decision data source, and the shared "decode policies +
// inventory, compile, decide" path of both.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

var candidateAttrTypes = map[string]attr.Type{
	"ipv4":        types.StringType,
	"ipv6_range":  types.StringType,
	"colo":        types.StringType,
	"distance_km": types.Float64Type,
	"down":        types.BoolType,
}

// decisionAttrTypes is the Decision object's type.
func decisionAttrTypes() map[string]attr.Type {
	return map[string]attr.Type{
		"outcome":        types.StringType,
		"policy":         types.StringType,
		"policy_index":   types.Int64Type,
		"method":         types.StringType,
		"egress_ip":      types.StringType,
		"egress_colo":    types.StringType,
		"geo_country":    types.StringType,
		"no_geolocation": types.BoolType,
		"missing":        types.StringType,
		"candidates":     types.ListType{ElemType: types.ObjectType{AttrTypes: candidateAttrTypes}},
		"trace":          types.ListType{ElemType: types.StringType},
	}
}

// decisionDescriptions documents the Decision's attributes (data sources and
// function docs).
var decisionDescriptions = map[string]string{
	"outcome":        "`policy` (a policy matched), `no_match` (no policy matched: the dedicated IP nearest the ingress colo is used), `unavailable` (the flow fails: the dedicated IP's colo and its fallback are down), `indeterminate` (a policy before the first certain match needs a flow field that is not given: see `missing`) or `not_applicable` (ICMP, DNS, private network: egress policies do not apply).",
	"policy":         "Name of the policy that decided; null when none did.",
	"policy_index":   "Index of that policy in `policies`, counting disabled ones, from 0; null when none decided.",
	"method":         "`default` (shared pool) or `dedicated`.",
	"egress_ip":      "The source IP the destination sees: the dedicated IPv4 for IPv4 flows, the IPv6 range for IPv6 flows; null for the shared pool (default egress) and when there is no egress.",
	"egress_colo":    "IATA code of the colo the traffic physically leaves from.",
	"geo_country":    "The country the destination geolocates the traffic to; null when it has none (see `no_geolocation`) or there is no egress.",
	"no_geolocation": "True when the source IP is a BYOIP dedicated egress IP (`byoip = true` in the inventory): \"BYOIP dedicated egress IPs do not support IP geolocation\" (Cloudflare), so destinations see no country.",
	"missing":        "For `indeterminate`: the flow field a policy needs (e.g. `identity.email`).",
	"candidates":     "The dedicated egress IPs the engine chose between (no match: sorted by distance from the ingress colo).",
	"trace":          "Human-readable steps of the decision.",
}

// decisionDataSourceAttributes is the Decision as computed data-source
// attributes.
func decisionDataSourceAttributes() map[string]dschema.Attribute {
	m := map[string]dschema.Attribute{}
	for name, desc := range decisionDescriptions {
		switch name {
		case "policy_index":
			m[name] = dschema.Int64Attribute{Computed: true, MarkdownDescription: desc}
		case "no_geolocation":
			m[name] = dschema.BoolAttribute{Computed: true, MarkdownDescription: desc}
		case "trace":
			m[name] = dschema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: desc}
		case "candidates":
			m[name] = dschema.ListNestedAttribute{Computed: true, MarkdownDescription: desc, NestedObject: dschema.NestedAttributeObject{
				Attributes: map[string]dschema.Attribute{
					"ipv4":        dschema.StringAttribute{Computed: true, MarkdownDescription: "The dedicated IPv4 address."},
					"ipv6_range":  dschema.StringAttribute{Computed: true, MarkdownDescription: "Its IPv6 range."},
					"colo":        dschema.StringAttribute{Computed: true, MarkdownDescription: "Its colo."},
					"distance_km": dschema.Float64Attribute{Computed: true, MarkdownDescription: "Great-circle distance from the ingress colo, km."},
					"down":        dschema.BoolAttribute{Computed: true, MarkdownDescription: "Whether its colo is down."},
				},
			}}
		default:
			m[name] = dschema.StringAttribute{Computed: true, MarkdownDescription: desc}
		}
	}
	return m
}

func strOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// decisionValue converts a Decision to its object value.
func decisionValue(d engine.Decision) (types.Object, error) {
	cands := make([]attr.Value, 0, len(d.Candidates))
	for _, c := range d.Candidates {
		v6 := types.StringNull()
		if c.IPv6Range.IsValid() {
			v6 = types.StringValue(c.IPv6Range.String())
		}
		o, diags := types.ObjectValue(candidateAttrTypes, map[string]attr.Value{
			"ipv4":        types.StringValue(c.IPv4.String()),
			"ipv6_range":  v6,
			"colo":        types.StringValue(c.Colo),
			"distance_km": types.Float64Value(float64(int64(c.DistanceKm*10+0.5)) / 10),
			"down":        types.BoolValue(c.Down),
		})
		if diags.HasError() {
			return types.Object{}, fmt.Errorf("candidate: %v", diags)
		}
		cands = append(cands, o)
	}
	candList, diags := types.ListValue(types.ObjectType{AttrTypes: candidateAttrTypes}, cands)
	if diags.HasError() {
		return types.Object{}, fmt.Errorf("candidates: %v", diags)
	}
	trace := make([]attr.Value, len(d.Trace))
	for i, t := range d.Trace {
		trace[i] = types.StringValue(t)
	}
	traceList, diags := types.ListValue(types.StringType, trace)
	if diags.HasError() {
		return types.Object{}, fmt.Errorf("trace: %v", diags)
	}
	egressIP := types.StringNull()
	switch {
	case d.EgressIPv6Range.IsValid():
		egressIP = types.StringValue(d.EgressIPv6Range.String())
	case d.EgressIP.IsValid():
		egressIP = types.StringValue(d.EgressIP.String())
	}
	policy, index := types.StringNull(), types.Int64Null()
	if d.PolicyIndex >= 0 {
		policy, index = types.StringValue(d.PolicyName), types.Int64Value(int64(d.PolicyIndex))
	}
	o, diags := types.ObjectValue(decisionAttrTypes(), map[string]attr.Value{
		"outcome":        types.StringValue(string(d.Outcome)),
		"policy":         policy,
		"policy_index":   index,
		"method":         strOrNull(string(d.Method)),
		"egress_ip":      egressIP,
		"egress_colo":    strOrNull(d.EgressColo),
		"geo_country":    strOrNull(d.GeoCountry),
		"no_geolocation": types.BoolValue(d.NoGeolocation),
		"missing":        strOrNull(d.Missing),
		"candidates":     candList,
		"trace":          traceList,
	})
	if diags.HasError() {
		return types.Object{}, fmt.Errorf("decision: %v", diags)
	}
	return o, nil
}

// simulation is a compiled set of policies and inventory, ready to decide.
type simulation struct {
	policies []policyInput
	inv      []engine.DedicatedIP
	eng      *engine.Engine
	// unknown names the first value the engine needs that is not known yet
	// ("" when everything is known); eng is nil then.
	unknown string
}

// newSimulation decodes the policies and dedicated_ips values (named by
// their argument/attribute names in error paths) and compiles them.
func newSimulation(ctx context.Context, policies attr.Value, policiesName string, ips attr.Value, ipsName string) (*simulation, error) {
	s, eps, err := decodeSimulation(ctx, policies, policiesName, ips, ipsName)
	if err != nil || s.unknown != "" {
		return s, err
	}
	s.eng, err = engine.CompileNamed(eps, s.inv, ipsName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", policiesName, err)
	}
	return s, nil
}

// decodeSimulation decodes policies and inventory into engine values
// without compiling an Engine.
func decodeSimulation(ctx context.Context, policies attr.Value, policiesName string, ips attr.Value, ipsName string) (*simulation, []engine.Policy, error) {
	s := &simulation{}
	pd, err := rootValue(ctx, policies, policiesName)
	if err != nil {
		return nil, nil, err
	}
	s.policies, err = decodePolicies(pd)
	if err := unknownAsSentinel(err, s); err != nil {
		return nil, nil, err
	}
	id, err := rootValue(ctx, ips, ipsName)
	if err != nil {
		return nil, nil, err
	}
	s.inv, err = decodeDedicatedIPs(id)
	if err := unknownAsSentinel(err, s); err != nil {
		return nil, nil, err
	}
	if s.unknown != "" {
		return s, nil, nil
	}
	eps := make([]engine.Policy, 0, len(s.policies))
	for i := range s.policies {
		pi := &s.policies[i]
		if k := pi.unknownForDecide(); k != "" {
			s.unknown = pi.Path.String() + "." + k
			return s, nil, nil
		}
		p, err := pi.enginePolicy()
		if err != nil {
			return nil, nil, err
		}
		eps = append(eps, p)
	}
	return s, eps, nil
}

// unknownAsSentinel records an Unknown DecodeError in s and returns nil for
// it; other errors are returned.
func unknownAsSentinel(err error, s *simulation) error {
	var de *DecodeError
	if errors.As(err, &de) && de.Unknown {
		if s.unknown == "" {
			s.unknown = de.Path.String()
		}
		return nil
	}
	return err
}

// decide runs one flow. Engine input errors (unknown/down ingress colo) are
// returned with "engine: invalid flow: " trimmed.
func (s *simulation) decide(f *engine.Flow, down engine.ColoSet) (engine.Decision, error) {
	d, err := s.eng.Decide(f, down)
	if err != nil {
		return d, errors.New(strings.TrimPrefix(err.Error(), engine.ErrInvalidFlow.Error()+": "))
	}
	return d, nil
}
