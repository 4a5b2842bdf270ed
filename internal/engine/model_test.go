package engine

import (
	"net/netip"
	"strings"
	"testing"
)

// BYOIP dedicated egress IPs "do not support IP geolocation" (Cloudflare's
// dedicated egress IPs page, Bring your own IP address; changelog
// 2025-08-21 "Gateway BYOIP Dedicated Egress IPs now available"): the
// Decision and the matrix say so instead of the colo's country.
func TestBYOIPHasNoGeolocation(t *testing.T) {
	byoip := DedicatedIP{IPv4: ipNRT, IPv6Range: v6NRT, Colo: "NRT", BYOIP: true}
	inv := []DedicatedIP{byoip, {IPv4: ipLAX, IPv6Range: v6LAX, Colo: "LAX"}}
	all := &testMatcher{}
	ps := []Policy{dedicated("own prefix", all, ipNRT, v6NRT, ipLAX)}
	for _, tc := range []struct {
		name    string
		f       *Flow
		down    ColoSet
		geo     string
		noGeo   bool
		colo    string
		traceIn string
	}{
		{"IPv4 grey", flow("KIX", "JP", dst4, false), nil, "", true, "NRT", "no geolocation: BYOIP dedicated egress IPs do not support IP geolocation"},
		{"IPv4 orange", flow("KIX", "JP", dst4, true), nil, "", true, "KIX", "no geolocation: BYOIP"},
		{"IPv6", flow("KIX", "JP", dst6, false), nil, "", true, "KIX", "no geolocation: BYOIP"},
		// the fallback is a Cloudflare IP: it has a geolocation
		{"IPv4 grey, NRT down", flow("KIX", "JP", dst4, false), ColoSet{"NRT": true}, "US", false, "LAX", "geolocation US"},
	} {
		d, err := Decide(ps, inv, tc.down, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if d.GeoCountry != tc.geo || d.NoGeolocation != tc.noGeo || d.EgressColo != tc.colo {
			t.Errorf("%s: geo %q no_geolocation %v colo %s, want %q %v %s", tc.name, d.GeoCountry, d.NoGeolocation, d.EgressColo, tc.geo, tc.noGeo, tc.colo)
		}
		if tr := strings.Join(d.Trace, "\n"); !strings.Contains(tr, tc.traceIn) {
			t.Errorf("%s: trace %q lacks %q", tc.name, tr, tc.traceIn)
		}
	}
	// No policy: the nearest dedicated IP (the BYOIP one in NRT for KIX).
	d, err := Decide(nil, inv, nil, flow("KIX", "JP", dst4, false))
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != OutcomeNoMatch || d.EgressIP != ipNRT || !d.NoGeolocation || d.GeoCountry != "" {
		t.Errorf("no match via BYOIP: %+v", d)
	}
	// Default egress after a BYOIP decision on the same Decision value has a
	// geolocation again (DecideInto reuses d).
	e, err := Compile([]Policy{defaultPolicy("dflt", all)}, inv)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.DecideInto(flow("KIX", "JP", dst4, false), nil, &d, false); err != nil {
		t.Fatal(err)
	}
	if d.NoGeolocation || d.GeoCountry != "JP" {
		t.Errorf("default egress after a BYOIP decision: %+v", d)
	}

	rows, err := Matrix(ps, inv, []string{"KIX"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !r.NoGeolocation || r.GeoCountry != "" || !strings.Contains(r.Note, "BYOIP: no IP geolocation") {
			t.Errorf("matrix row %s/%s: no_geolocation %v geo %q note %q", r.Scenario, r.Case, r.NoGeolocation, r.GeoCountry, r.Note)
		}
	}
	if out := FormatMatrix(rows); !strings.Contains(out, "no geolocation") {
		t.Errorf("FormatMatrix does not say no geolocation:\n%s", out)
	}
}

// IPv6 ranges as Cloudflare shows them: cloudflare-go's egress rule fixture
// carries "ipv6": "2a06:98c1:54::c61/64" (host bits set), the egress
// policies page pairs 203.0.113.88 with 2001:db8::/32. Both are accepted
// and compared masked.
func TestIPv6RangesAsCloudflareShowsThem(t *testing.T) {
	fixture := netip.MustParsePrefix("2a06:98c1:54::c61/64")
	docs := netip.MustParsePrefix("2001:db8::/32")
	inv := []DedicatedIP{
		{IPv4: ipNRT, IPv6Range: fixture, Colo: "NRT"},
		{IPv4: ipLAX, IPv6Range: docs, Colo: "LAX"},
	}
	all := &testMatcher{}
	ps := []Policy{
		dedicated("fixture form", all, ipNRT, netip.MustParsePrefix("2a06:98c1:54::/64"), ipLAX),
	}
	d, err := Decide(ps, inv, nil, flow("KIX", "JP", dst6, false))
	if err != nil {
		t.Fatal(err)
	}
	if d.EgressIPv6Range != fixture.Masked() || d.GeoCountry != "JP" {
		t.Errorf("policy ipv6 2a06:98c1:54::/64 against inventory %s: %+v", fixture, d)
	}
	// A /64 inside the docs' /32 geolocates with the /32's entry.
	ps = []Policy{dedicated("inside the /32", all, ipNRT, netip.MustParsePrefix("2001:db8:abcd:1::/64"), ipLAX)}
	d, err = Decide(ps, inv, nil, flow("KIX", "JP", dst6, false))
	if err != nil {
		t.Fatal(err)
	}
	if d.GeoCountry != "US" || d.EgressIPv6Range.String() != "2001:db8:abcd:1::/64" {
		t.Errorf("a /64 inside the inventory's /32: %+v", d)
	}
	// The policy may name the range with host bits too.
	ps = []Policy{dedicated("host bits", all, ipNRT, fixture, ipLAX)}
	if d, err = Decide(ps, inv, nil, flow("KIX", "JP", dst6, false)); err != nil || d.EgressIPv6Range != fixture.Masked() {
		t.Errorf("policy ipv6 with host bits: %v %+v", err, d)
	}
}

// Rule 4's physical colo for a user abroad is our model (Cloudflare only
// says "the nearest Cloudflare data center"): the trace says so.
func TestDefaultEgressAbroadIsLabelledModelled(t *testing.T) {
	d, err := Decide([]Policy{defaultPolicy("dflt", &testMatcher{})}, invNRTLAX(), nil, flow("LAX", "MX", dst4, false))
	if err != nil {
		t.Fatal(err)
	}
	tr := strings.Join(d.Trace, "\n")
	if d.GeoCountry != "MX" || !strings.Contains(tr, `modelled: Cloudflare only says "the nearest Cloudflare data center"`) {
		t.Errorf("geo %s, trace %q", d.GeoCountry, tr)
	}
	// At home there is nothing modelled to label.
	d, _ = Decide([]Policy{defaultPolicy("dflt", &testMatcher{})}, invNRTLAX(), nil, flow("LAX", "US", dst4, false))
	if tr := strings.Join(d.Trace, "\n"); strings.Contains(tr, "modelled") {
		t.Errorf("trace at home: %q", tr)
	}
}

// Session records carry the flow's user and device (Cloudflare's
// zero_trust_network_sessions fields UserID and DeviceID).
func TestSessionUserAndDevice(t *testing.T) {
	f := flow("KIX", "JP", dst4, false)
	f.UserID, f.DeviceID = "u-1", "d-1"
	d, err := Decide(nil, invNRTLAX(), nil, f)
	if err != nil {
		t.Fatal(err)
	}
	r := RenderSession(d, f, SessionMeta{})
	if r.UserID != "u-1" || r.DeviceID != "d-1" {
		t.Errorf("UserID %q DeviceID %q", r.UserID, r.DeviceID)
	}
	if r = RenderSession(d, f, SessionMeta{DeviceID: "meta"}); r.DeviceID != "meta" {
		t.Errorf("SessionMeta.DeviceID does not win: %q", r.DeviceID)
	}
}
