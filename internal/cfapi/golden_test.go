package cfapi

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.json golden request bodies")

// goldenCase is one write whose exact request bytes (as cloudflare-go v7
// sends them) are kept in testdata/. The emulator must accept these bytes.
type goldenCase struct {
	file   string
	method string
	path   string
	call   func(ctx context.Context, a *API) error
}

var dedicated = &EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:1::/64", IPv4Fallback: "198.51.100.20"}

func goldenCases() []goldenCase {
	rulePath := "/accounts/" + testAccount + "/gateway/rules"
	return []goldenCase{
		{
			// Everything unset that can be: precedence 0 (Cloudflare picks),
			// description "", default egress (no rule_settings.egress).
			file: "create_default_egress.json", method: http.MethodPost, path: rulePath,
			call: func(ctx context.Context, a *API) error {
				_, err := a.CreateRule(ctx, testAccount, Rule{
					Name: "default for the rest", Enabled: true, Action: "egress",
					Filters: []string{"egress"}, Traffic: "net.dst.port in {443 80}",
				})
				return err
			},
		},
		{
			file: "create_dedicated_egress.json", method: http.MethodPost, path: rulePath,
			call: func(ctx context.Context, a *API) error {
				_, err := a.CreateRule(ctx, testAccount, Rule{
					Name: "tokyo via NRT", Description: "SaaS allow-lists our IP", Precedence: 12000,
					Enabled: true, Action: "egress", Filters: []string{"egress"},
					Traffic:  `net.dst.ip in {192.0.2.0/24} and net.dst.port == 443`,
					Identity: `identity.email == "ops@example.com"`, DevicePosture: `any(device_posture.checks.passed[*] in {"abc"})`,
					Egress: dedicated,
				})
				return err
			},
		},
		{
			// ipv4_fallback 0.0.0.0 = fall back to default egress.
			file: "create_dedicated_fallback_default.json", method: http.MethodPost, path: rulePath,
			call: func(ctx context.Context, a *API) error {
				_, err := a.CreateRule(ctx, testAccount, Rule{
					Name: "lax only", Precedence: 12100, Enabled: false, Action: "egress",
					Filters: []string{"egress"}, Traffic: "net.dst.port == 22",
					Egress: &EgressSettings{IPv4: "203.0.113.30", IPv6: "2001:db8:3::/64", IPv4Fallback: "0.0.0.0"},
				})
				return err
			},
		},
		{
			// PUT replaces the whole rule: every field is sent.
			file: "update_dedicated_egress.json", method: http.MethodPut, path: rulePath + "/rule-1",
			call: func(ctx context.Context, a *API) error {
				_, err := a.UpdateRule(ctx, testAccount, Rule{
					ID: "rule-1", Name: "tokyo via NRT", Description: "", Precedence: 12000,
					Enabled: true, Action: "egress", Filters: []string{"egress"},
					Traffic: "net.dst.port == 443", Egress: dedicated,
				})
				return err
			},
		},
		{
			// Precedence 0 is left out of a PUT: the rule keeps its own.
			file: "update_keep_precedence.json", method: http.MethodPut, path: rulePath + "/rule-1",
			call: func(ctx context.Context, a *API) error {
				_, err := a.UpdateRule(ctx, testAccount, Rule{
					ID: "rule-1", Name: "renamed", Enabled: true, Action: "egress", Filters: []string{"egress"},
					Traffic: "net.dst.port == 443", Egress: dedicated,
				})
				return err
			},
		},
		{
			// Switching a rule to default egress sends rule_settings.egress null.
			file: "update_to_default_egress.json", method: http.MethodPut, path: rulePath + "/rule-1",
			call: func(ctx context.Context, a *API) error {
				_, err := a.UpdateRule(ctx, testAccount, Rule{
					ID: "rule-1", Name: "tokyo via NRT", Precedence: 12000, Enabled: true,
					Action: "egress", Filters: []string{"egress"}, Traffic: "net.dst.port == 443",
				})
				return err
			},
		},
	}
}

func TestGoldenRequestBodies(t *testing.T) {
	for _, gc := range goldenCases() {
		t.Run(gc.file, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
				writeEnvelope(w, 200, apiRule("rule-1", "x", 12000, nil))
			})
			a, _ := newTestAPI(t, f.URL, nil)
			if err := gc.call(context.Background(), a); err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.Method != gc.method || got.Path != gc.path {
				t.Errorf("request line = %s %s, want %s %s", got.Method, got.Path, gc.method, gc.path)
			}
			if got.Auth != "Bearer "+testToken {
				t.Errorf("Authorization header = %q, want the bearer token", got.Auth)
			}
			path := filepath.Join("testdata", gc.file)
			if *updateGolden {
				if err := os.WriteFile(path, got.Body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run go test ./internal/cfapi -run TestGoldenRequestBodies -update): %v", err)
			}
			if !bytes.Equal(got.Body, want) {
				t.Errorf("request body differs from %s:\n got: %s\nwant: %s", path, got.Body, want)
			}
		})
	}
}
