package flowspace

import (
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// The algebra is exact for the syntax and selectors of issue 12: IP ranges
// in sets, a negation inside any(...), the new selectors' domains, and
// literals no flow can carry (which select nothing).
func TestAnalyserNewSyntaxExact(t *testing.T) {
	cases := []struct {
		a, b   string // expressions (traffic; "id:" prefix: identity)
		aCovB  engine.Tri
		bCovA  engine.Tri
		bEmpty engine.Tri
	}{
		// an IP range is the set of its addresses
		{`net.dst.ip in {10.0.0.0/24}`, `net.dst.ip in {10.0.0.0..10.0.0.255}`, engine.Yes, engine.Yes, engine.No},
		{`net.dst.ip in {10.0.0.0/24}`, `net.dst.ip in {10.0.0.0..10.0.1.0}`, engine.No, engine.Yes, engine.No},
		{`net.dst.ip in {2001:db8::/126}`, `net.dst.ip in {2001:db8::1..2001:db8::3}`, engine.Yes, engine.No, engine.No},
		// any(not(c)) is "some element fails c" = any(f[*] != v), not not(any(c))
		{`any(identity.groups[*].name != "Contractors")`, `any(not(identity.groups[*].name in {"Contractors"}))`, engine.Yes, engine.Yes, engine.No},
		{`not(any(identity.groups[*].name in {"Contractors"}))`, `any(not(identity.groups[*].name in {"Contractors"}))`, engine.No, engine.No, engine.No},
		{`any(not(not(app.ids[*] in {5})))`, `any(app.ids[*] in {5})`, engine.Yes, engine.Yes, engine.No},
		// on a scalar read as a one-element array, any(not(c)) is not(c)
		{`not(net.src.ip in {10.0.0.0/8})`, `any(not(net.src.ip[*] in {10.0.0.0/8}))`, engine.Yes, engine.Yes, engine.No},
		// OIDC claims: the quoted and the bare pair are the same claim
		{`id:any(identity.oidc_claims[*] == "department=engineering")`, `id:any(identity.oidc_claims[*] == "\"department=engineering\"")`, engine.Yes, engine.Yes, engine.No},
		{`id:any(identity.oidc_claims[*] == "a=1")`, `id:any(identity.oidc_claims[*] == "a=2")`, engine.No, engine.No, engine.No},
		// device_posture.checks.failed is its own array, not .passed
		{`any(device_posture.checks.passed[*] == "c1")`, `any(device_posture.checks.failed[*] == "c1")`, engine.No, engine.No, engine.No},
		// net.onramp.type: the published traffic sources, nothing else
		{`net.onramp.type in {"agentless_biso" "browser_isolation" "clientless_rdp" "cloudflare_wan" "device_client" "mcp_portal" "mesh" "proxy_endpoint"}`, ``, engine.Yes, engine.Yes, engine.No},
		{`net.onramp.type != "device_client"`, `net.onramp.type == "mesh"`, engine.Yes, engine.No, engine.No},
		// literals no flow carries select nothing (and their negation everything)
		{``, `net.protocol == "TCP"`, engine.Yes, engine.No, engine.Yes},
		{``, `net.fqdn.host == "Example.com"`, engine.Yes, engine.No, engine.Yes},
		{``, `any(net.fqdn.domains[*] in {"Example.com" "EXAMPLE.ORG"})`, engine.Yes, engine.No, engine.Yes},
		{``, `net.src.geo.continent == "North America"`, engine.Yes, engine.No, engine.Yes},
		{``, `net.dst.geo.country in {"us" "jp"}`, engine.Yes, engine.No, engine.Yes},
		{``, `net.onramp.type == "warp"`, engine.Yes, engine.No, engine.Yes},
		{`net.fqdn.host != "Example.com"`, `net.fqdn.host in {"a.example" "b.example"}`, engine.Yes, engine.No, engine.No},
		{`net.protocol != "TCP"`, ``, engine.Yes, engine.Yes, engine.No},
	}
	compile := func(a *Analyzer, src string) *Set {
		t.Helper()
		traffic, identity := src, ""
		if rest, ok := strings.CutPrefix(src, "id:"); ok {
			traffic, identity = "", rest
		}
		s, err := a.CompileText(traffic, identity, "")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		return s
	}
	for _, tc := range cases {
		a := NewAnalyzer()
		A, B := compile(a, tc.a), compile(a, tc.b)
		if got := a.Covers(A, B); got != tc.aCovB {
			t.Errorf("Covers(%q ⊇ %q) = %v, want %v", tc.a, tc.b, got, tc.aCovB)
		}
		if got := a.Covers(B, A); got != tc.bCovA {
			t.Errorf("Covers(%q ⊇ %q) = %v, want %v", tc.b, tc.a, got, tc.bCovA)
		}
		if got := a.IsEmpty(B); got != tc.bEmpty {
			t.Errorf("IsEmpty(%q) = %v, want %v", tc.b, got, tc.bEmpty)
		}
	}
}
