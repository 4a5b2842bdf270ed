package spec

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// fullFlow sets every field of engine.Flow to a value the flow object can
// write.
func fullFlow() engine.Flow {
	return engine.Flow{
		SourceIP: netip.MustParseAddr("198.51.100.7"), SourcePort: 50000, SourceCountry: "JP", SourceContinent: "AS", IngressColo: "NRT",
		DestinationIP: netip.MustParseAddr("2001:db8::10"), DestinationPort: 443, Proxied: true, Protocol: "udp", DNS: true, PrivateNetwork: true,
		DstCountry: "US", DstContinent: "NA", InternalSourceIP: netip.MustParseAddr("10.0.0.7"), VirtualNetworkID: "vnet", ProxyEndpoint: "pe",
		FQDNHost: "app.example.com", FQDNDomains: []string{"example.com"}, ContentCategories: []int64{1, 2}, AppIDs: []int64{3},
		Email: "user@example.com", Name: "Alex", Groups: []engine.Group{{ID: "staff", Name: "staff", Email: "staff"}},
		SAMLAttributes: map[string][]string{"dept": {"eng"}}, PostureChecks: []string{"c1"},
		FailedPostureChecks: []string{"c2"}, OIDCClaims: []string{"role=staff"}, OnrampType: "device_client", UserID: "u-1", DeviceID: "d-1",
	}
}

// TestFlowObjectRoundTrip: a flow with every engine.Flow field set (so a
// field added to engine.Flow without a flow attribute fails here) encodes
// to an object with every attribute, which decodes back to it; the colos
// down come back too.
func TestFlowObjectRoundTrip(t *testing.T) {
	f := fullFlow()
	v := reflect.ValueOf(f)
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() {
			t.Fatalf("fullFlow leaves engine.Flow.%s unset", v.Type().Field(i).Name)
		}
	}
	down := engine.ColoSet{"LAX": true, "FRA": true}
	o, exact := FlowObject(f, down)
	if !exact {
		t.Fatalf("not exact: %v", o)
	}
	if len(o) != len(FlowAttrs()) {
		t.Errorf("%d attributes, want %d", len(o), len(FlowAttrs()))
	}
	back, backDown, err := FlowFromObject(o)
	if err != nil || !reflect.DeepEqual(back, f) {
		t.Fatalf("decoded %+v (%v)\nfrom %+v", back, err, f)
	}
	if !reflect.DeepEqual(backDown, down) || !reflect.DeepEqual(o["colos_down"], []string{"FRA", "LAX"}) {
		t.Errorf("colos down %v, object %v", backDown, o["colos_down"])
	}
	// Every attribute but the label carries a field.
	for _, a := range FlowAttrs() {
		if o[a.Name] == nil && a.Name != FlowLabelAttr {
			t.Errorf("attribute %s is null for a full flow", a.Name)
		}
	}
	// Groups whose id and name differ cannot be written as a flow object.
	f.Groups = []engine.Group{{ID: "g-1", Name: "staff", Email: "staff@example.com"}}
	if _, exact := FlowObject(f, nil); exact {
		t.Fatal("groups with distinct id/name: exact")
	}
	// An upper-case host is case-folded by decoding: not exact either.
	f = fullFlow()
	f.FQDNHost = "App.Example.com"
	if _, exact := FlowObject(f, nil); exact {
		t.Fatal("upper-case host: exact")
	}
}

// TestFlowFromObjectErrors: errors name the attribute, and the element.
func TestFlowFromObjectErrors(t *testing.T) {
	base := func() Object { return Object{"ingress_colo": "kix", "destination_ip": "192.0.2.1"} }
	for _, c := range []struct {
		name, attr, msg string
		set             Object
	}{
		{"required", "destination_ip", "is required", Object{"destination_ip": nil}},
		{"empty ingress", "ingress_colo", "is required (the IATA code", Object{"ingress_colo": " "}},
		{"unknown colo", "ingress_colo", "ZZZ", Object{"ingress_colo": "zzz"}},
		{"typo", "destination_prot", `did you mean "destination_port"?`, Object{"destination_prot": int64(1)}},
		{"port", "source_port", "must be between 0 and 65535, got 70000", Object{"source_port": int64(70000)}},
		{"kind", "proxied", "must be a bool, got string", Object{"proxied": "yes"}},
		{"ip", "source_ip", `"nope" is not an IP address`, Object{"source_ip": "nope"}},
		{"protocol", "protocol", `must be "tcp", "udp" or "icmp", got "sctp"`, Object{"protocol": "SCTP"}},
		{"claim", "oidc_claims[1]", `must be a "name=value" claim, got "x"`, Object{"oidc_claims": []string{"a=b", "x"}}},
		{"down", "colos_down[0]", "NOPE", Object{"colos_down": []string{"nope"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := base()
			for k, v := range c.set {
				o[k] = v
			}
			_, _, err := FlowFromObject(o)
			var se *Error
			if !errors.As(err, &se) || se.Attr != c.attr || !strings.Contains(se.Msg, c.msg) {
				t.Fatalf("error %#v, want %s: ...%s...", err, c.attr, c.msg)
			}
		})
	}
	f, _, err := FlowFromObject(Object{"ingress_colo": " kix ", "destination_ip": "::ffff:192.0.2.1", "posture_checks": []string{}, "fqdn_domains": []string{" A.Example "}})
	if err != nil || f.IngressColo != "KIX" || f.DestinationIP != netip.MustParseAddr("192.0.2.1") || f.PostureChecks == nil || f.FQDNDomains[0] != "a.example" {
		t.Fatalf("flow %+v, %v", f, err)
	}
}

// TestDecisionObject: the Decision's JSON has every attribute, null where
// nothing decided, and the candidates as objects.
func TestDecisionObject(t *testing.T) {
	d := engine.Decision{
		Outcome: engine.OutcomeNoMatch, PolicyIndex: -1, Method: engine.MethodDedicated,
		EgressIP: netip.MustParseAddr("203.0.113.10"), EgressColo: "NRT", GeoCountry: "JP",
		Candidates: []engine.Candidate{{IPv4: netip.MustParseAddr("203.0.113.10"), Colo: "NRT", DistanceKm: 402.26}},
	}
	b, err := json.Marshal(DecisionObject(d))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"candidates":[{"colo":"NRT","distance_km":402.3,"down":false,"ipv4":"203.0.113.10","ipv6_range":null}],"egress_colo":"NRT","egress_ip":"203.0.113.10","geo_country":"JP","method":"dedicated","missing":null,"no_geolocation":false,"outcome":"no_match","policy":null,"policy_index":null,"trace":[]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if got := AttrNames(DecisionAttrs()); len(got) != len(DecisionObject(d)) {
		t.Errorf("attributes %v, object %v", got, DecisionObject(d))
	}
}

func TestUnsupportedSuggestsTheClosest(t *testing.T) {
	names := AttrNames(FlowAttrs())
	if got := Unsupported("destination_pi", names); !strings.Contains(got, `did you mean "destination_ip"?`) {
		t.Errorf("got %q", got)
	}
	if got := Unsupported("zzzzzzzzzz", names); !strings.Contains(got, "expected one of name, source_ip") {
		t.Errorf("got %q", got)
	}
}
