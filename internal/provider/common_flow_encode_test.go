package provider

import (
	"context"
	"net/netip"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// TestFlowObjectRoundTrip: the generic encoder finds the engine field of
// every flow attribute (but the label and colos_down), and a flow the
// object can express decodes back to itself.
func TestFlowObjectRoundTrip(t *testing.T) {
	ts, err := targets()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		if x.index < 0 && x.field.name != flowAttrName && x.field.name != flowAttrColosDown {
			t.Errorf("flow attribute %s: no engine field found", x.field.name)
		}
	}
	f := engine.Flow{
		SourceIP: netip.MustParseAddr("198.51.100.7"), SourcePort: 50000, SourceCountry: "JP", SourceContinent: "AS", IngressColo: "NRT",
		DestinationIP: netip.MustParseAddr("2001:db8::10"), DestinationPort: 443, Proxied: true, Protocol: "udp",
		DstCountry: "US", DstContinent: "NA", InternalSourceIP: netip.MustParseAddr("10.0.0.7"), VirtualNetworkID: "vnet", ProxyEndpoint: "pe",
		FQDNHost: "app.example.com", FQDNDomains: []string{"example.com"}, ContentCategories: []int64{1, 2}, AppIDs: []int64{3},
		Email: "user@example.com", Name: "Alex", Groups: []engine.Group{{ID: "staff", Name: "staff", Email: "staff"}},
		SAMLAttributes: map[string][]string{"dept": {"eng"}}, PostureChecks: []string{"c1"},
		FailedPostureChecks: []string{"c2"}, OIDCClaims: []string{"role=staff"}, OnrampType: "device_client", UserID: "u-1", DeviceID: "d-1",
	}
	obj, exact, err := flowObject(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := flowFromObject(context.Background(), obj)
	if err != nil || !exact {
		t.Fatalf("exact %v, decoded %+v (%v)\nfrom %+v", exact, back, err, f)
	}
	// Groups whose id and name differ cannot be written as a flow object.
	f.Groups = []engine.Group{{ID: "g-1", Name: "staff", Email: "staff@example.com"}}
	if _, exact, err := flowObject(context.Background(), f); err != nil || exact {
		t.Fatalf("groups with distinct id/name: exact %v (%v)", exact, err)
	}
}
