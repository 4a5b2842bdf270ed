package engine

import (
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func seedMeta() SessionMeta {
	return SessionMeta{
		AccountID:     "699d98642c564d2e855e9661899b7252",
		SessionID:     "1f6c9b2e4a0d4e6f8a7b3c2d1e0f9a8b",
		DeviceID:      "5f1d3c3e-9b1a-4c07-9d7e-2b1f0c6a9e11",
		DeviceName:    "osaka-laptop",
		Start:         time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC),
		Duration:      1500 * time.Millisecond,
		BytesSent:     1820,
		BytesReceived: 48213,
	}
}

// The seed's log record: a user at KIX, no policy matched, leaving from NRT
// (the dedicated IP nearest KIX), EgressRuleName "" and the zero UUID.
// testdata/seed_session_kix_nrt.json holds the record field by field.
func TestSessionSeedGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/seed_session_kix_nrt.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	f := flow("KIX", "JP", dst4, false)
	f.Email = "user@example.com"
	d, err := Decide(noMatchPolicies(), invNRTLAX(), nil, f)
	if err != nil {
		t.Fatal(err)
	}
	rec := RenderSession(d, f, seedMeta())
	enc, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(enc, &got); err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected field %s = %v (add it to the golden file if intended)", k, got[k])
		}
	}
	// Integers stay exact in JSON (ns timestamps exceed float64's 2^53).
	if !strings.Contains(string(enc), `"SessionStartTime":1795654800000000000`) || !strings.Contains(string(enc), `"SessionEndTime":1795654801500000000`) {
		t.Errorf("timestamps not exact ns integers: %s", enc)
	}
}

func TestSessionPolicyAndIPv6(t *testing.T) {
	p := partners()
	p.ID = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
	f := flow("LAX", "US", dst6, false)
	f.SourceIP = netip.MustParseAddr("2001:db8:aaaa::7")
	d, err := Decide([]Policy{p}, invNRTLAX(), nil, f)
	if err != nil {
		t.Fatal(err)
	}
	rec := RenderSession(d, f, seedMeta())
	if rec.EgressRuleID != p.ID || rec.EgressRuleName != "Partners" || rec.EgressColoName != "LAX" || rec.IngressColoName != "LAX" {
		t.Errorf("record = %+v", rec)
	}
	a := netip.MustParseAddr(rec.EgressIP)
	if !v6NRT.Contains(a) {
		t.Fatalf("EgressIP %s not inside %s", a, v6NRT)
	}
	h := FlowHash(f)
	b := a.As16()
	var low uint64
	for _, x := range b[8:] {
		low = low<<8 | uint64(x)
	}
	if low != h {
		t.Errorf("interface ID %#x, want the flow hash %#x", low, h)
	}
	if again := RenderSession(d, f, seedMeta()); again != rec {
		t.Errorf("not deterministic")
	}
	f2 := *f
	f2.SourcePort++
	if other := RenderSession(d, &f2, seedMeta()); other.EgressIP == rec.EgressIP {
		t.Errorf("different 5-tuples got the same address %s", other.EgressIP)
	}
}

func TestSessionDefaultAndUnavailable(t *testing.T) {
	// Default egress: the shared pool's address is not published.
	f := flow("LAX", "MX", dst4, false)
	f.Protocol = "udp"
	d, _ := Decide([]Policy{defaultPolicy("Default", MatchAll)}, invNRTLAX(), nil, f)
	rec := RenderSession(d, f, SessionMeta{})
	if rec.EgressIP != "" || rec.EgressPort != 0 || rec.EgressRuleName != "Default" || rec.Protocol != "UDP" || rec.SessionStartTime != 0 || rec.Offramp != "INTERNET" {
		t.Errorf("default egress record = %+v", rec)
	}
	// Unavailable: the flow fails; the record names the rule and no egress.
	d, _ = Decide([]Policy{partners()}, invNRTLAX(), ColoSet{"NRT": true, "LAX": true}, flow("KIX", "JP", dst4, false))
	rec = RenderSession(d, flow("KIX", "JP", dst4, false), seedMeta())
	if d.Outcome != OutcomeUnavailable || rec.EgressIP != "" || rec.EgressColoName != "" || rec.EgressRuleName != "Partners" {
		t.Errorf("unavailable record = %+v", rec)
	}
	// Indeterminate: no rule is guessed.
	fe := flow("KIX", "JP", dst4, false)
	d, _ = Decide([]Policy{dedicated("Finance", &testMatcher{email: "a@b"}, ipNRT, v6NRT, ipLAX)}, invNRTLAX(), nil, fe)
	if rec := RenderSession(d, fe, seedMeta()); rec.EgressRuleID != ZeroUUID || rec.EgressRuleName != "" {
		t.Errorf("indeterminate record = %+v", rec)
	}
}

func TestAddressInRange(t *testing.T) {
	for _, tc := range []struct {
		p    string
		h    uint64
		want string
	}{
		{"2001:db8:10::/64", 0x0123456789abcdef, "2001:db8:10:0:123:4567:89ab:cdef"},
		{"2001:db8:10::/48", 1, "2001:db8:10::1"},
		{"2001:db8:10::ff00/120", 0xffffffffffffffff, "2001:db8:10::ffff"},
	} {
		if got := AddressInRange(netip.MustParsePrefix(tc.p), tc.h).String(); got != tc.want {
			t.Errorf("AddressInRange(%s, %#x) = %s, want %s", tc.p, tc.h, got, tc.want)
		}
	}
}

// A private-network flow (Cloudflare Tunnel, Magic WAN, device-to-device)
// is not logged with Offramp INTERNET: the dataset's Offramp is "The type of
// destination to which the network session was routed", INTERNET | MAGIC |
// CFD_TUNNEL | DEVICE_CLIENT | MESH. Rendered as INTERNET, the replay read
// it back as Internet traffic that egress policies apply to.
func TestRenderSessionPrivateNetworkOfframp(t *testing.T) {
	f := flow("KIX", "JP", dst4, false)
	f.PrivateNetwork = true
	d, err := Decide([]Policy{partners()}, invNRTLAX(), nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != OutcomeNotApplicable {
		t.Fatalf("outcome %s, want not_applicable", d.Outcome)
	}
	if rec := RenderSession(d, f, seedMeta()); rec.Offramp != OfframpTunnel {
		t.Errorf("private network: Offramp %q, want %q (Cloudflare Tunnel, the default private offramp)", rec.Offramp, OfframpTunnel)
	}
	m := seedMeta()
	m.Offramp = "MAGIC"
	if rec := RenderSession(d, f, m); rec.Offramp != "MAGIC" {
		t.Errorf("private network with SessionMeta.Offramp MAGIC: Offramp %q", rec.Offramp)
	}
	// The Internet stays INTERNET whatever the meta says: the flow decides.
	g := flow("KIX", "JP", dst4, false)
	d, _ = Decide([]Policy{partners()}, invNRTLAX(), nil, g)
	if rec := RenderSession(d, g, m); rec.Offramp != OfframpInternet {
		t.Errorf("Internet flow: Offramp %q, want INTERNET", rec.Offramp)
	}
}
