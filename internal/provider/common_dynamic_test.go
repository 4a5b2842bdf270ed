package provider

import (
	"context"
	"errors"
	"math/big"
	"net/netip"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// Helpers building tftypes values the way Terraform hands hand-written HCL
// to a dynamic parameter: tuples and objects with only the attributes given.

func tStr(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
func tNum(n float64) tftypes.Value {
	return tftypes.NewValue(tftypes.Number, big.NewFloat(n))
}
func tBool(b bool) tftypes.Value { return tftypes.NewValue(tftypes.Bool, b) }
func tUnknown() tftypes.Value    { return tftypes.NewValue(tftypes.String, tftypes.UnknownValue) }
func tNull() tftypes.Value       { return tftypes.NewValue(tftypes.String, nil) }

func tObj(attrs map[string]tftypes.Value) tftypes.Value {
	ts := map[string]tftypes.Type{}
	for k, v := range attrs {
		ts[k] = v.Type()
	}
	return tftypes.NewValue(tftypes.Object{AttributeTypes: ts}, attrs)
}

func tTuple(els ...tftypes.Value) tftypes.Value {
	ts := make([]tftypes.Type, len(els))
	for i, e := range els {
		ts[i] = e.Type()
	}
	return tftypes.NewValue(tftypes.Tuple{ElementTypes: ts}, els)
}

func root(name string, v tftypes.Value) dv { return dv{v: v, p: attrPath{}.attr(name)} }

func dedicated(v4, v6, fb string) tftypes.Value {
	return tObj(map[string]tftypes.Value{"method": tStr("dedicated"), "ipv4": tStr(v4), "ipv6": tStr(v6), "ipv4_fallback": tStr(fb)})
}

func TestDecodePolicies_errorsNamePath(t *testing.T) {
	ok := tObj(map[string]tftypes.Value{"name": tStr("ok"), "egress": tObj(map[string]tftypes.Value{"method": tStr("default")})})
	cases := []struct {
		name string
		v    tftypes.Value
		want string
	}{
		{"not a list", tStr("x"), "policies: must be a list, got a string"},
		{"element not an object", tTuple(ok, tNum(3)), "policies[1]: must be an object, got a number"},
		{"egress missing", tTuple(ok, ok, tObj(map[string]tftypes.Value{"name": tStr("c")})), "policies[2].egress: egress is required"},
		{"egress not an object", tTuple(tObj(map[string]tftypes.Value{"name": tStr("a"), "egress": tStr("default")})), "policies[0].egress: must be an object, got a string"},
		{"method value", tTuple(tObj(map[string]tftypes.Value{"egress": tObj(map[string]tftypes.Value{"method": tStr("dedicatd")})})), `policies[0].egress.method: must be "default" or "dedicated", got "dedicatd"`},
		{"egress typo", tTuple(tObj(map[string]tftypes.Value{"egress": tObj(map[string]tftypes.Value{"method": tStr("dedicated"), "ipv4_fallbak": tStr("1.2.3.4")})})), `policies[0].egress.ipv4_fallbak: unsupported attribute; did you mean "ipv4_fallback"?`},
		{"name type", tTuple(tObj(map[string]tftypes.Value{"name": tNum(1), "egress": tObj(map[string]tftypes.Value{"method": tStr("default")})})), "policies[0].name: must be a string, got a number"},
		{"enabled type", tTuple(ok, tObj(map[string]tftypes.Value{"enabled": tStr("maybe"), "egress": tObj(map[string]tftypes.Value{"method": tStr("default")})})), "policies[1].enabled: must be true or false"},
		{"lint_ignore element", tTuple(tObj(map[string]tftypes.Value{"lint_ignore": tTuple(tStr("a"), tNum(2)), "egress": tObj(map[string]tftypes.Value{"method": tStr("default")})})), "policies[0].lint_ignore[1]: must be a string, got a number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodePolicies(root("policies", c.v))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error = %v, want prefix %q", err, c.want)
			}
		})
	}
}

func TestDecodePolicies_resourceShapeAndDefaults(t *testing.T) {
	v := tTuple(
		// The resource's shape: id/precedence unknown at plan time, extra attributes.
		tObj(map[string]tftypes.Value{
			"id": tUnknown(), "precedence": tftypes.NewValue(tftypes.Number, tftypes.UnknownValue),
			"name": tStr("web"), "description": tNull(), "enabled": tBool(true),
			"traffic": tStr("net.dst.port == 443"), "identity": tNull(), "device_posture": tNull(),
			"egress":      dedicated("203.0.113.10", "2a09:bac0:1000:10::/64", "0.0.0.0"),
			"lint_ignore": tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, nil),
		}),
		// Hand-written, optional attributes absent: enabled defaults to true,
		// method inferred from the IPs.
		tObj(map[string]tftypes.Value{"name": tStr("rest"), "egress": tObj(map[string]tftypes.Value{"ipv4": tStr("203.0.113.20")})}),
		tObj(map[string]tftypes.Value{"name": tStr("off"), "enabled": tBool(false), "egress": tObj(map[string]tftypes.Value{})}),
	)
	ps, err := decodePolicies(root("policies", v))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("got %d policies", len(ps))
	}
	if ps[0].unknownForDecide() != "" || ps[0].Method != "dedicated" || ps[0].IPv4Fallback != "0.0.0.0" {
		t.Errorf("policy 0 = %+v", ps[0])
	}
	if !ps[1].Enabled || ps[1].Method != "dedicated" {
		t.Errorf("policy 1 = %+v", ps[1])
	}
	if ps[2].Enabled || ps[2].Method != "default" {
		t.Errorf("policy 2 = %+v", ps[2])
	}
	p, err := ps[0].enginePolicy()
	if err != nil {
		t.Fatal(err)
	}
	if p.Egress.IPv4Fallback != netip.IPv4Unspecified() || p.Egress.IPv6.String() != "2a09:bac0:1000:10::/64" || p.Match == nil {
		t.Errorf("engine policy = %+v", p)
	}
}

func TestDecodePolicies_unknownUsedValue(t *testing.T) {
	v := tTuple(tObj(map[string]tftypes.Value{"name": tStr("a"), "traffic": tUnknown(), "egress": tObj(map[string]tftypes.Value{"method": tStr("default")})}))
	ps, err := decodePolicies(root("policies", v))
	if err != nil {
		t.Fatal(err)
	}
	if got := ps[0].unknownForDecide(); got != "traffic" {
		t.Fatalf("unknownForDecide = %q, want traffic", got)
	}
}

func TestEnginePolicy_errorsNamePath(t *testing.T) {
	cases := []struct {
		name   string
		egress tftypes.Value
		extra  map[string]tftypes.Value
		want   string
	}{
		{"bad ipv4", dedicated("203.0.113", "2a09:bac0:1000:10::/64", "0.0.0.0"), nil, `policies[0].egress.ipv4: "203.0.113" is not an IPv4 address`},
		{"missing ipv4", tObj(map[string]tftypes.Value{"method": tStr("dedicated")}), nil, "policies[0].egress.ipv4: a dedicated policy needs ipv4"},
		{"bad ipv6", dedicated("203.0.113.10", "2a09::1", "0.0.0.0"), nil, `policies[0].egress.ipv6: "2a09::1" is not an IPv6 range`},
		{"bad fallback", dedicated("203.0.113.10", "2a09:bac0:1000:10::/64", "local"), nil, `policies[0].egress.ipv4_fallback: "local" is not an IPv4 address`},
		{"ipv6 fallback", tObj(map[string]tftypes.Value{"method": tStr("dedicated"), "ipv4": tStr("203.0.113.10"), "ipv6_fallback": tStr("2a09::/64")}), nil, "policies[0].egress.ipv6_fallback: there is no secondary IPv6"},
		{"traffic syntax", tObj(map[string]tftypes.Value{"method": tStr("default")}), map[string]tftypes.Value{"traffic": tStr("net.dst.port ==")}, "policies[0].traffic: "},
		{"identity field", tObj(map[string]tftypes.Value{"method": tStr("default")}), map[string]tftypes.Value{"identity": tStr(`identity.mail == "a"`)}, "policies[0].identity: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			attrs := map[string]tftypes.Value{"name": tStr("p"), "egress": c.egress}
			for k, v := range c.extra {
				attrs[k] = v
			}
			ps, err := decodePolicies(root("policies", tTuple(tObj(attrs))))
			if err == nil {
				_, err = ps[0].enginePolicy()
			}
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error = %v, want prefix %q", err, c.want)
			}
		})
	}
}

func TestDecodeDedicatedIPs(t *testing.T) {
	good := tObj(map[string]tftypes.Value{"ipv4": tStr("203.0.113.10"), "ipv6_range": tStr("2A09:BAC0:1000:10::/64"), "colo": tStr("nrt"),
		"id": tUnknown(), "city": tUnknown()})
	ips, err := decodeDedicatedIPs(root("dedicated_ips", tTuple(good)))
	if err != nil {
		t.Fatal(err)
	}
	want := engine.DedicatedIP{IPv4: netip.MustParseAddr("203.0.113.10"), IPv6Range: netip.MustParsePrefix("2a09:bac0:1000:10::/64"), Colo: "NRT"}
	if len(ips) != 1 || ips[0] != want {
		t.Fatalf("got %+v, want %+v", ips, want)
	}
	cases := []struct {
		name string
		v    tftypes.Value
		want string
	}{
		{"string element", tTuple(good, tStr("203.0.113.20")), "dedicated_ips[1]: must be an object"},
		{"no colo", tTuple(tObj(map[string]tftypes.Value{"ipv4": tStr("203.0.113.10")})), "dedicated_ips[0].colo: the colo"},
		{"unknown colo", tTuple(tObj(map[string]tftypes.Value{"ipv4": tStr("203.0.113.10"), "colo": tStr("QQQ")})), "dedicated_ips[0].colo: "},
		{"v6 as ipv4", tTuple(tObj(map[string]tftypes.Value{"ipv4": tStr("2001:db8::1"), "colo": tStr("NRT")})), "dedicated_ips[0].ipv4: \"2001:db8::1\" is not an IPv4 address"},
		{"v4 range", tTuple(tObj(map[string]tftypes.Value{"ipv4": tStr("203.0.113.10"), "ipv6_range": tStr("10.0.0.0/8"), "colo": tStr("NRT")})), "dedicated_ips[0].ipv6_range: must be an IPv6 range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeDedicatedIPs(root("dedicated_ips", c.v))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error = %v, want prefix %q", err, c.want)
			}
		})
	}
}

func TestDecodeFlow(t *testing.T) {
	f, down, err := decodeFlow(root("flow", tObj(map[string]tftypes.Value{
		"ingress_colo": tStr("kix"), "destination_ip": tStr("2001:db8::1"), "destination_port": tStr("443"),
		"proxied": tBool(true), "protocol": tStr("TCP"), "source_country": tStr("jp"),
		"groups": tTuple(tStr("eng")), "colos_down": tTuple(tStr("nrt")), "posture_checks": tTuple(),
		"saml_attributes": tObj(map[string]tftypes.Value{"dept": tTuple(tStr("r&d"))}),
	})))
	if err != nil {
		t.Fatal(err)
	}
	if f.IngressColo != "KIX" || f.DestinationIP != netip.MustParseAddr("2001:db8::1") || f.DestinationPort != 443 ||
		!f.Proxied || f.Protocol != "tcp" || f.SourceCountry != "JP" || len(f.Groups) != 1 || f.Groups[0].Name != "eng" ||
		f.PostureChecks == nil || f.SAMLAttributes["dept"][0] != "r&d" {
		t.Errorf("flow = %+v", f)
	}
	if !down["NRT"] || len(down) != 1 {
		t.Errorf("down = %v", down)
	}
	cases := []struct {
		name  string
		attrs map[string]tftypes.Value
		want  string
	}{
		{"missing destination", map[string]tftypes.Value{"ingress_colo": tStr("KIX")}, "flow.destination_ip: is required"},
		{"missing ingress", map[string]tftypes.Value{"destination_ip": tStr("1.1.1.1")}, "flow.ingress_colo: is required"},
		{"typo", map[string]tftypes.Value{"ingress_colo": tStr("KIX"), "destination_ip": tStr("1.1.1.1"), "destination_prot": tNum(1)}, `flow.destination_prot: unsupported attribute; did you mean "destination_port"?`},
		{"port range", map[string]tftypes.Value{"ingress_colo": tStr("KIX"), "destination_ip": tStr("1.1.1.1"), "source_port": tNum(-1)}, "flow.source_port: must be between 0 and 65535"},
		{"port fraction", map[string]tftypes.Value{"ingress_colo": tStr("KIX"), "destination_ip": tStr("1.1.1.1"), "destination_port": tNum(1.5)}, "flow.destination_port: must be a whole number"},
		{"protocol", map[string]tftypes.Value{"ingress_colo": tStr("KIX"), "destination_ip": tStr("1.1.1.1"), "protocol": tStr("sctp")}, `flow.protocol: must be "tcp", "udp" or "icmp"`},
		{"group element", map[string]tftypes.Value{"ingress_colo": tStr("KIX"), "destination_ip": tStr("1.1.1.1"), "groups": tTuple(tStr("a"), tBool(true))}, "flow.groups[1]: must be a string, got a bool"},
		{"down colo", map[string]tftypes.Value{"ingress_colo": tStr("KIX"), "destination_ip": tStr("1.1.1.1"), "colos_down": tTuple(tStr("NRT"), tStr("NOPE"))}, "flow.colos_down[1]: "},
		{"unknown ingress colo", map[string]tftypes.Value{"ingress_colo": tStr("ZZZ"), "destination_ip": tStr("1.1.1.1")}, "flow.ingress_colo: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := decodeFlow(root("flow", tObj(c.attrs)))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error = %v, want prefix %q", err, c.want)
			}
		})
	}
	_, _, err = decodeFlow(root("flow", tObj(map[string]tftypes.Value{"ingress_colo": tUnknown(), "destination_ip": tStr("1.1.1.1")})))
	var de *DecodeError
	if !errors.As(err, &de) || !de.Unknown || de.Path.String() != "flow.ingress_colo" {
		t.Fatalf("unknown ingress_colo: error = %v", err)
	}
}

// The typed path (resource `expect[*].flow`): an object of flowObjectType
// with nulls for what is not set decodes, and the error path maps onto a
// schema path.
func TestFlowFromObject(t *testing.T) {
	ctx := context.Background()
	vals := map[string]attr.Value{}
	for k, typ := range flowAttrTypes() {
		tv := tftypes.NewValue(typ.TerraformType(ctx), nil)
		v, err := typ.ValueFromTerraform(ctx, tv)
		if err != nil {
			t.Fatal(err)
		}
		vals[k] = v
	}
	vals["ingress_colo"] = types.StringValue("LAX")
	vals["destination_ip"] = types.StringValue("198.51.100.7")
	vals["destination_port"] = types.Int64Value(443)
	obj, diags := types.ObjectValue(flowAttrTypes(), vals)
	if diags.HasError() {
		t.Fatal(diags)
	}
	f, _, err := flowFromObject(ctx, obj)
	if err != nil || f.IngressColo != "LAX" || f.DestinationPort != 443 || f.Proxied {
		t.Fatalf("flow = %+v, err = %v", f, err)
	}
	vals["destination_ip"] = types.StringValue("nope")
	obj, _ = types.ObjectValue(flowAttrTypes(), vals)
	_, _, err = flowFromObject(ctx, obj)
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error = %v", err)
	}
	base := path.Root("expect").AtListIndex(2).AtName("flow")
	if got, want := de.Path.From(base), base.AtName("destination_ip"); !got.Equal(want) {
		t.Fatalf("path = %s, want %s", got, want)
	}
}

func TestEditDistanceSuggestions(t *testing.T) {
	if got := closest("destination_pi", flowFieldNames()); got != "destination_ip" {
		t.Errorf("closest = %q", got)
	}
	if got := closest("zzzzzzzzzz", flowFieldNames()); got != "" {
		t.Errorf("closest = %q, want none", got)
	}
}
