package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// TestFlagsDefaultsAreCloudflares: with no switch the command plays
// Cloudflare's published numbers (1,200 per 5 minutes then a 5-minute
// lockout, 500 egress policies, 140,000 characters, one-page lists, 404).
func TestFlagsDefaultsAreCloudflares(t *testing.T) {
	var errb bytes.Buffer
	cfg, opts, code := parseFlags(nil, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if cfg.RateLimit != 1200 || cfg.RateWindow != 300*time.Second || cfg.Lockout != 5*time.Minute ||
		cfg.MaxEgressPolicies != 500 || cfg.MaxExpressionLength != 140000 || cfg.ListPageSize != 0 ||
		cfg.NotFound != emulator.NotFound404 || cfg.EgressOnly || cfg.OmitFilters || cfg.ScopedToken != "" ||
		opts.listen != "127.0.0.1:8787" {
		t.Errorf("defaults: %+v %+v", cfg, opts)
	}
}

// TestFlagsSwitches: every switch reaches the emulator's Config.
func TestFlagsSwitches(t *testing.T) {
	var errb bytes.Buffer
	cfg, _, code := parseFlags([]string{"-egress-only", "-scoped-token", "scoped", "-not-found", "7003", "-omit-filters",
		"-lockout", "2s", "-rate-limit", "10/60", "-max-egress-policies", "3", "-max-expression-length", "-1",
		"-list-page-size", "50"}, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := emulator.Config{EgressOnly: true, ScopedToken: "scoped", NotFound: emulator.NotFoundRoute, OmitFilters: true,
		Lockout: 2 * time.Second, RateLimit: 10, RateWindow: time.Minute, MaxEgressPolicies: 3, MaxExpressionLength: -1, ListPageSize: 50}
	got := cfg
	got.Token, got.Seed = "", 0 // not under test (the token may come from the environment)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("switches (-want +got):\n%s", d)
	}
	// And the emulator built from them plays them: 7003 for an unknown ID.
	cfg.Token = "t"
	srv := httptest.NewServer(emulator.New(cfg).Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/client/v4/accounts/"+emulator.DefaultAccountID+"/gateway/rules/nope", nil)
	req.Header.Set("Authorization", "Bearer t")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(b.String(), `"code":7003`) {
		t.Errorf("unknown rule: %d %s", res.StatusCode, b.String())
	}
}

func TestFlagsRejected(t *testing.T) {
	for _, args := range [][]string{
		{"-not-found", "410"}, {"-lockout", "-1s"}, {"-max-expression-length", "0"}, {"-rate-limit", "x"},
		{"-fault-5xx-rate", "2"}, {"extra"},
	} {
		var errb bytes.Buffer
		if _, _, code := parseFlags(args, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
