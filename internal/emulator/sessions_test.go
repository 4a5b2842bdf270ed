package emulator

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// Expected values follow SPEC §2 with the default inventory (NRT
// 203.0.113.10, LAX 203.0.113.20).
func TestSessionsEndpoint(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e, c := start(t, Config{Now: func() time.Time { return at }})
	// Policy 0: https via LAX with NRT fallback; a DNS rule (ignored by the engine).
	if err := e.SeedRules(acctA, []Rule{{Name: "dns", Precedence: 1, Action: "block", Filters: []string{"dns"}, Enabled: true, Traffic: "any(dns.domains[*] == \"x.example\")"}}); err != nil {
		t.Fatal(err)
	}
	m := egressRule("https via LAX", 10)
	m["traffic"] = "net.dst.port == 443 && net.protocol == \"tcp\""
	m["rule_settings"] = map[string]any{"egress": map[string]any{"ipv4": "203.0.113.20", "ipv6": "2001:db8:20::/64", "ipv4_fallback": "203.0.113.10"}}
	pol := mustCreate(t, c, acctA, m)

	flows := []map[string]any{
		// 0: grey IPv4 https -> policy, leaves LAX from 203.0.113.20.
		{"source_ip": "198.51.100.7", "source_port": 50000, "source_country": "JP", "ingress_colo": "KIX", "destination_ip": "192.0.2.1", "destination_port": 443, "protocol": "tcp"},
		// 1: same, LAX down -> fallback NRT 203.0.113.10.
		{"source_ip": "198.51.100.7", "source_port": 50001, "source_country": "JP", "ingress_colo": "KIX", "destination_ip": "192.0.2.1", "destination_port": 443, "protocol": "tcp", "colos_down": []string{"lax"}},
		// 2: no policy matches (port 22) from KIX -> nearest dedicated IP, NRT (the seed's log).
		{"source_ip": "198.51.100.7", "source_port": 50002, "source_country": "JP", "ingress_colo": "KIX", "destination_ip": "192.0.2.1", "destination_port": 22, "protocol": "tcp"},
		// 3: IPv6 https -> an address in the policy's /64, leaves locally (KIX).
		{"source_ip": "2001:db8:ffff::7", "source_port": 50003, "source_country": "JP", "ingress_colo": "KIX", "destination_ip": "2001:db8:beef::1", "destination_port": 443, "protocol": "tcp"},
	}
	r := c.do("POST", "/__emulator/accounts/"+acctA+"/sessions", flows)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var recs []engine.SessionRecord
	if err := json.Unmarshal(r.Env.Result, &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records", len(recs))
	}
	check := func(i int, ruleID, ruleName, colo, ip string) {
		t.Helper()
		g := recs[i]
		if g.EgressRuleID != ruleID || g.EgressRuleName != ruleName || g.EgressColoName != colo || g.EgressIP != ip {
			t.Errorf("flow %d: rule %s %q colo %s ip %s; want %s %q %s %s", i, g.EgressRuleID, g.EgressRuleName, g.EgressColoName, g.EgressIP, ruleID, ruleName, colo, ip)
		}
		if g.AccountID != acctA || g.IngressColoName != "KIX" || g.Offramp != "INTERNET" || g.Protocol != "TCP" {
			t.Errorf("flow %d: record %+v", i, g)
		}
	}
	check(0, pol.ID, "https via LAX", "LAX", "203.0.113.20")
	check(1, pol.ID, "https via LAX", "NRT", "203.0.113.10")
	check(2, engine.ZeroUUID, "", "NRT", "203.0.113.10")
	if recs[3].EgressColoName != "KIX" || recs[3].EgressRuleID != pol.ID {
		t.Errorf("IPv6 flow: %+v", recs[3])
	}
	if a, err := netip.ParseAddr(recs[3].EgressIP); err != nil || !netip.MustParsePrefix("2001:db8:20::/64").Contains(a) {
		t.Errorf("IPv6 egress IP %q not in 2001:db8:20::/64", recs[3].EgressIP)
	}
	if recs[0].SessionStartTime != at.UnixNano() || recs[0].OriginIP != "192.0.2.1" || recs[0].OriginPort != 443 || recs[0].SourcePort != 50000 {
		t.Errorf("record 0: %+v", recs[0])
	}

	// The library call agrees with the endpoint for flows without outages.
	f, _, err := FlowJSON{SourceIP: "198.51.100.7", SourcePort: 50000, SourceCountry: "JP", IngressColo: "KIX", DestinationIP: "192.0.2.1", DestinationPort: 443, Protocol: "tcp"}.ToFlow()
	if err != nil {
		t.Fatal(err)
	}
	lib, err := e.Sessions(acctA, []engine.Flow{f})
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(lib[0]) != mustJSON(recs[0]) {
		t.Errorf("Sessions() %+v\nendpoint %+v", lib[0], recs[0])
	}

	// Input errors name the flow and the field.
	for _, tc := range []struct {
		body any
		want string
	}{
		{[]map[string]any{{"ingress_colo": "KIX"}}, "flow 0: destination_ip"},
		{[]map[string]any{{"destination_ip": "192.0.2.1"}}, "ingress_colo"},
		{[]map[string]any{{"ingress_colo": "KIX", "destination_ip": "nope"}}, "destination_ip"},
		{[]map[string]any{{"ingress_colo": "ZZZ", "destination_ip": "192.0.2.1", "protocol": "tcp"}}, "flow 0"},
		{map[string]any{"not": "a list"}, "JSON list of flows"},
	} {
		r := c.do("POST", "/__emulator/accounts/"+acctA+"/sessions", tc.body)
		if r.Status != 400 || !strings.Contains(r.msg(), tc.want) {
			t.Errorf("body %v: %d %s", tc.body, r.Status, r.Body)
		}
	}
	if r := c.do("GET", "/__emulator/accounts/"+acctA+"/sessions", nil); r.Status != 405 {
		t.Errorf("GET sessions: %d", r.Status)
	}
}
