package cfapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkListRules1000 measures one ListRules of 1,000 rules over
// loopback HTTP: request, JSON decoding by cloudflare-go, mapping, sorting.
func BenchmarkListRules1000(b *testing.B) {
	all := make([]any, 0, 1000)
	for i := range 1000 {
		all = append(all, apiRule(fmt.Sprintf("r-%04d", i), fmt.Sprintf("rule %d", i), 1000+(i*7919)%1000,
			map[string]string{"ipv4": "203.0.113.10", "ipv6": "2001:db8:10::/64", "ipv4_fallback": "0.0.0.0"}))
	}
	body, err := json.Marshal(map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": all})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	a, err := New(Config{APIToken: testToken, BaseURL: srv.URL, RequestsPerSecond: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rules, err := a.ListRules(context.Background(), testAccount)
		if err != nil || len(rules) != 1000 {
			b.Fatalf("%d rules, %v", len(rules), err)
		}
	}
}
