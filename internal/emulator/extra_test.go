package emulator

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Expressions in the forms Cloudflare's docs use are accepted and stored
// reformatted.
func TestDocumentedExpressionsAccepted(t *testing.T) {
	_, c := start(t, Config{})
	for i, tc := range []struct{ traffic, stored string }{
		{"net.dst.port in {443 80}", "net.dst.port in {443 80}"},
		{"net.dst.ip in {0.0.0.0/0 ::/0}", "net.dst.ip in {0.0.0.0/0 ::/0}"},
		{"net.protocol in {\"tcp\" \"udp\"}", "net.protocol in {\"tcp\" \"udp\"}"},
		{"net.dst.geo.country == \"US\"  &&  net.dst.port == 443", "net.dst.geo.country == \"US\" and net.dst.port == 443"},
		{"not(net.dst.port in {22 8000..8999})", "not(net.dst.port in {22 8000..8999})"},
	} {
		m := egressRule(fmt.Sprint("doc", i), 0)
		m["traffic"] = tc.traffic
		r := c.do("POST", rulesPath(acctA), m)
		if r.Status != 200 {
			t.Errorf("%q rejected: %s", tc.traffic, r.Body)
			continue
		}
		if got := r.rule(t).Traffic; got != tc.stored {
			t.Errorf("%q stored as %q, want %q", tc.traffic, got, tc.stored)
		}
	}
}

// Concurrent creates without a precedence all get distinct precedences.
func TestConcurrentCreatesUniquePrecedence(t *testing.T) {
	e, c := start(t, Config{})
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := c.try("POST", rulesPath(acctA), egressRule(fmt.Sprint("c", i), 0))
			if err != nil || r.Status != 200 {
				t.Errorf("create %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, r := range e.Rules(acctA) {
		if seen[r.Precedence] {
			t.Fatalf("duplicate precedence %d", r.Precedence)
		}
		seen[r.Precedence] = true
	}
	if len(seen) != 40 {
		t.Fatalf("%d rules stored", len(seen))
	}
}

func benchEmulator(b *testing.B, n int) http.Handler {
	e := New(Config{Token: testToken, RateLimit: -1})
	var seed []Rule
	for i := 1; i <= n; i++ {
		seed = append(seed, Rule{Name: fmt.Sprint("r", i), Precedence: uint64(i), Action: "egress", Filters: []string{"egress"},
			Traffic: "net.dst.port == 443", RuleSettings: RuleSettings{Egress: &EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"}}})
	}
	if err := e.SeedRules(acctA, seed); err != nil {
		b.Fatal(err)
	}
	return e.Handler()
}

// BenchmarkList1000 is one GET of an account with 1,000 rules (in-process handler).
func BenchmarkList1000(b *testing.B) {
	h := benchEmulator(b, 1000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", rulesPath(acctA), nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkCreate is one validated POST into an account of 1,000 rules.
func BenchmarkCreate(b *testing.B) {
	h := benchEmulator(b, 1000)
	body := `{"name":"x","action":"egress","filters":["egress"],"traffic":"net.dst.port in {443 80} && net.protocol == \"tcp\"","rule_settings":{"egress":{"ipv4":"203.0.113.10","ipv6":"2001:db8:10::/64","ipv4_fallback":"0.0.0.0"}}}`
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", rulesPath(acctA), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
