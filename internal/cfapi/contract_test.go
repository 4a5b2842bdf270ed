package cfapi_test

// Contract tests: the API layer against the emulator (internal/emulator),
// which answers like Cloudflare's Gateway rules API, faults included.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

const (
	token   = "emu-token-SECRET-42"
	account = emulator.DefaultAccountID
	listKey = "GET " + emulator.RouteRules
	postKey = "POST " + emulator.RouteRules
	putKey  = "PUT " + emulator.RouteRule
	delKey  = "DELETE " + emulator.RouteRule
)

type logs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logs) logf(_ context.Context, msg string, f map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, "%s %v\n", msg, f)
}

// startEmu starts an emulator and an API client for it (fast retries).
func startEmu(t *testing.T, ecfg emulator.Config, mod func(*cfapi.Config)) (*emulator.Emulator, *cfapi.API) {
	e, a, _ := startEmuBase(t, ecfg, mod)
	return e, a
}

func startEmuBase(t *testing.T, ecfg emulator.Config, mod func(*cfapi.Config)) (*emulator.Emulator, *cfapi.API, string) {
	t.Helper()
	ecfg.Token = token
	e := emulator.New(ecfg)
	base, err := e.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e, newClient(t, base+"/client/v4", mod), base + "/client/v4"
}

func newClient(t *testing.T, base string, mod func(*cfapi.Config)) *cfapi.API {
	t.Helper()
	lg := &logs{}
	cfg := cfapi.Config{
		APIToken: token, BaseURL: base, RequestsPerSecond: 1000, MaxRetries: 4,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Logf: lg.logf,
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := cfapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		lg.mu.Lock()
		defer lg.mu.Unlock()
		if strings.Contains(lg.b.String(), token) {
			t.Errorf("the token reached the logs:\n%s", lg.b.String())
		}
	})
	return a
}

func egressRule(name string, prec uint64, eg *cfapi.EgressSettings) cfapi.Rule {
	return cfapi.Rule{Name: name, Precedence: prec, Enabled: true, Action: "egress", Filters: []string{"egress"},
		Traffic: "net.dst.port == 443", Egress: eg}
}

var nrtToLAX = &cfapi.EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"}

func TestContractEveryCall(t *testing.T) {
	t.Parallel()
	e, a := startEmu(t, emulator.Config{Seed: 7}, nil)
	ctx := context.Background()
	if err := e.SeedRules(account, []emulator.Rule{{
		Name: "dns block", Precedence: 500, Enabled: true, Action: "block", Filters: []string{"dns"},
		Traffic: `any(dns.domains[*] == "bad.example")`,
	}}); err != nil {
		t.Fatal(err)
	}

	// Precedence 0: the emulator assigns one above the maximum (from 1000).
	def, err := a.CreateRule(ctx, account, cfapi.Rule{Name: "rest", Enabled: true, Action: "egress",
		Filters: []string{"egress"}, Traffic: "net.dst.port in {443 80}"})
	if err != nil {
		t.Fatal(err)
	}
	if def.ID == "" || def.Precedence < 1001 || def.Precedence > 1100 || def.Egress != nil || def.CreatedAt.IsZero() {
		t.Errorf("created default-egress rule = %+v", def)
	}
	ded := egressRule("tokyo", def.Precedence-100, nrtToLAX)
	ded.Traffic = `net.dst.port == 443 && net.protocol == "tcp"`
	ded.Description = "SaaS allow-list"
	got, err := a.CreateRule(ctx, account, ded)
	if err != nil {
		t.Fatal(err)
	}
	if got.Egress == nil || *got.Egress != *nrtToLAX || got.Description != "SaaS allow-list" {
		t.Errorf("created dedicated rule = %+v", got)
	}
	// The emulator re-formats expressions by its own rules.
	if got.Traffic != `net.dst.port == 443 and net.protocol == "tcp"` {
		t.Errorf("stored traffic = %q", got.Traffic)
	}

	rules, err := a.ListRules(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 3 || rules[0].Name != "dns block" || rules[1].ID != got.ID || rules[2].ID != def.ID {
		t.Fatalf("ListRules = %+v", rules)
	}
	eg := cfapi.EgressRules(rules)
	if len(eg) != 2 || eg[0].ID != got.ID {
		t.Errorf("EgressRules = %+v", eg)
	}

	// PUT replaces the whole rule: back to default egress, description gone.
	upd := egressRule("tokyo", got.Precedence, nil)
	upd.ID = got.ID
	after, err := a.UpdateRule(ctx, account, upd)
	if err != nil {
		t.Fatal(err)
	}
	if after.Egress != nil || after.Description != "" || after.ID != got.ID {
		t.Errorf("updated = %+v", after)
	}
	stored := e.Rules(account)
	for _, r := range stored {
		if r.ID == got.ID && (r.RuleSettings.Egress != nil || r.Description != "") {
			t.Errorf("emulator kept old fields after PUT: %+v", r)
		}
	}

	if err := a.DeleteRule(ctx, account, got.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteRule(ctx, account, def.ID); err != nil {
		t.Fatal(err)
	}
	rules, err = a.ListRules(ctx, account)
	if err != nil || len(rules) != 1 || rules[0].Name != "dns block" {
		t.Errorf("after deletes: %+v %v (the DNS rule must survive)", rules, err)
	}
	st := e.Stats()
	if st.ByRoute[postKey] != 2 || st.ByRoute[putKey] != 1 || st.ByRoute[delKey] != 2 || st.ByRoute[listKey] != 2 {
		t.Errorf("stats = %+v", st.ByRoute)
	}
}

func TestContractThousandRules(t *testing.T) {
	t.Parallel()
	e, a := startEmu(t, emulator.Config{}, nil)
	rng := rand.New(rand.NewPCG(3, 4))
	seed := make([]emulator.Rule, 0, 1000)
	for i, p := range rng.Perm(1000) {
		r := emulator.Rule{Name: fmt.Sprintf("rule %d", p), Precedence: uint64(1000 + p*3), Enabled: true,
			Action: "egress", Filters: []string{"egress"}, Traffic: "net.dst.port == 443"}
		switch i % 3 {
		case 0:
			r.RuleSettings.Egress = &emulator.EgressSettings{IPv4: "203.0.113.20", IPv6: "2001:db8:20::/64", IPv4Fallback: "0.0.0.0"}
		case 1:
			r.Action, r.Filters, r.Traffic = "allow", []string{"l4"}, "net.dst.port == 22"
		}
		seed = append(seed, r)
	}
	if err := e.SeedRules(account, seed); err != nil {
		t.Fatal(err)
	}
	rules, err := a.ListRules(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1000 {
		t.Fatalf("%d rules, want 1000", len(rules))
	}
	for i, r := range rules {
		if r.Precedence != uint64(1000+i*3) {
			t.Fatalf("rules[%d].Precedence = %d: not sorted", i, r.Precedence)
		}
	}
	if n := len(cfapi.EgressRules(rules)); n != 667 {
		t.Errorf("%d egress rules, want 667", n)
	}
	if st := e.Stats(); st.Requests != 1 || st.ByRoute[listKey] != 1 {
		t.Errorf("stats = %+v, want exactly one list request", st)
	}
}

func TestContractErrorClasses(t *testing.T) {
	t.Parallel()
	e, a, base := startEmuBase(t, emulator.Config{}, nil)
	ctx := context.Background()
	first, err := a.CreateRule(ctx, account, egressRule("first", 2000, nrtToLAX))
	if err != nil {
		t.Fatal(err)
	}
	badToken := newClient(t, base, func(c *cfapi.Config) { c.APIToken = "wrong-token" })

	cases := []struct {
		name     string
		call     func() error
		kind     cfapi.ErrorKind
		contains []string
	}{
		{"wrong token", func() error { _, err := badToken.ListRules(ctx, account); return err },
			cfapi.KindAuthentication, []string{"HTTP 403", "10000", "CLOUDFLARE_API_TOKEN"}},
		{"account the token does not own", func() error { _, err := a.ListRules(ctx, strings.Repeat("f", 32)); return err },
			cfapi.KindAuthorization, []string{"9109", "Zero Trust Read"}},
		{"malformed account id", func() error { _, err := a.ListRules(ctx, "not-an-account"); return err },
			cfapi.KindValidation, []string{"7003", "account_id"}},
		{"unknown rule", func() error {
			r := egressRule("ghost", 3000, nil)
			r.ID = "00000000-0000-0000-0000-000000000000"
			_, err := a.UpdateRule(ctx, account, r)
			return err
		}, cfapi.KindNotFound, []string{"HTTP 404", `update rule "ghost"`}},
		{"missing fallback", func() error {
			_, err := a.CreateRule(ctx, account, egressRule("nofb", 3000, &cfapi.EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64"}))
			return err
		}, cfapi.KindValidation, []string{"HTTP 400", "ipv4_fallback"}},
		{"precedence clash", func() error {
			_, err := a.CreateRule(ctx, account, egressRule("clash", first.Precedence, nil))
			return err
		},
			cfapi.KindValidation, []string{"HTTP 400", "precedence"}},
		{"IP not in the account", func() error {
			_, err := a.CreateRule(ctx, account, egressRule("foreign", 3001, &cfapi.EgressSettings{IPv4: "192.0.2.1", IPv6: "2001:db8:10::/64", IPv4Fallback: "0.0.0.0"}))
			return err
		}, cfapi.KindValidation, []string{"2055", "Account doesn't own dedicated primary IPv4", "egress.ipv4"}},
		{"bad expression", func() error {
			r := egressRule("bad expr", 3002, nil)
			r.Traffic = "net.dst.port =="
			_, err := a.CreateRule(ctx, account, r)
			return err
		}, cfapi.KindValidation, []string{"traffic"}},
	}
	for _, c := range cases {
		err := c.call()
		if cfapi.KindOf(err) != c.kind {
			t.Errorf("%s: kind %v, want %v (%v)", c.name, cfapi.KindOf(err), c.kind, err)
			continue
		}
		for _, s := range c.contains {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q lacks %q", c.name, err.Error(), s)
			}
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("%s: token in error", c.name)
		}
	}
	if n := len(e.Rules(account)); n != 1 {
		t.Errorf("%d rules stored, want only the first", n)
	}
}

func TestContractRetryAfter(t *testing.T) {
	t.Parallel()
	// 2 requests per second: the third waits for the emulator's Retry-After.
	e, a := startEmu(t, emulator.Config{RateLimit: 2, RateWindow: time.Second}, nil)
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < 3; i++ {
		if _, err := a.ListRules(ctx, account); err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("3 lists took %v: the 429's Retry-After (1s) was not honoured", el)
	}
	st := e.Stats()
	if st.Faults["rate_limited"] != 1 || st.ByRoute[listKey] != 4 {
		t.Errorf("stats = %+v, want one 429 and 4 requests", st)
	}
}

func TestContractRateLimitedAfterRetries(t *testing.T) {
	t.Parallel()
	e, a := startEmu(t, emulator.Config{Faults: emulator.Faults{Rate429: 1, RetryAfter: -1}}, func(c *cfapi.Config) { c.MaxRetries = 2 })
	_, err := a.ListRules(context.Background(), account)
	if !cfapi.IsRateLimited(err) || !strings.Contains(err.Error(), "971") {
		t.Errorf("err = %v", err)
	}
	if n := e.Stats().Requests; n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestContractServerErrors(t *testing.T) {
	t.Parallel()
	t.Run("reads ride out random 5xx", func(t *testing.T) {
		t.Parallel()
		e, a := startEmu(t, emulator.Config{Seed: 11, Faults: emulator.Faults{Rate5xx: 0.5}}, func(c *cfapi.Config) { c.MaxRetries = 10 })
		for i := 0; i < 10; i++ {
			if _, err := a.ListRules(context.Background(), account); err != nil {
				t.Fatalf("list %d: %v", i, err)
			}
		}
		if st := e.Stats(); st.Faults["5xx"] == 0 || st.Requests != 10+st.Faults["5xx"] {
			t.Errorf("stats = %+v: want some 5xx, each retried once", st)
		}
	})
	t.Run("always 5xx", func(t *testing.T) {
		t.Parallel()
		e, a := startEmu(t, emulator.Config{Faults: emulator.Faults{Rate5xx: 1}}, nil)
		_, err := a.ListRules(context.Background(), account)
		if cfapi.KindOf(err) != cfapi.KindServer {
			t.Errorf("list: %v", err)
		}
		_, err = a.CreateRule(context.Background(), account, egressRule("x", 5000, nil))
		if !cfapi.IsAmbiguous(err) {
			t.Errorf("create: %v", err)
		}
		st := e.Stats()
		if st.ByRoute[listKey] != 5 || st.ByRoute[postKey] != 1 {
			t.Errorf("stats = %+v: want 5 list attempts and a single create", st.ByRoute)
		}
	})
}

func TestContractDroppedConnections(t *testing.T) {
	t.Parallel()
	e, a := startEmu(t, emulator.Config{Faults: emulator.Faults{RateDrop: 1}}, func(c *cfapi.Config) { c.MaxRetries = 2 })
	_, err := a.ListRules(context.Background(), account)
	if cfapi.KindOf(err) != cfapi.KindNetwork {
		t.Errorf("list: %v", err)
	}
	_, err = a.CreateRule(context.Background(), account, egressRule("x", 5000, nil))
	if !cfapi.IsAmbiguous(err) {
		t.Errorf("create: %v", err)
	}
	st := e.Stats()
	if st.ByRoute[listKey] != 3 || st.ByRoute[postKey] != 1 {
		t.Errorf("stats = %+v", st.ByRoute)
	}
}

// TestContractLostResponses: the write is applied, then the answer is lost.
func TestContractLostResponses(t *testing.T) {
	t.Parallel()
	e, a := startEmu(t, emulator.Config{Seed: 5, Faults: emulator.Faults{RateLostResponse: 1}}, nil)
	ctx := context.Background()

	_, err := a.CreateRule(ctx, account, egressRule("lost create", 4000, nrtToLAX))
	if !cfapi.IsAmbiguous(err) {
		t.Fatalf("create: %v, want ambiguous", err)
	}
	// Never re-sent (it would create a duplicate); the rule exists once and
	// a caller can adopt it by name.
	if st := e.Stats(); st.ByRoute[postKey] != 1 {
		t.Errorf("%d creates sent, want 1", st.ByRoute[postKey])
	}
	rules, err := a.ListRules(ctx, account)
	if err != nil || len(rules) != 1 || rules[0].Name != "lost create" {
		t.Fatalf("after lost create: %+v %v", rules, err)
	}

	// PUT is idempotent: retried; every answer is lost, so still ambiguous,
	// but the change is there.
	upd := rules[0]
	upd.Description = "changed"
	_, err = a.UpdateRule(ctx, account, upd)
	if !cfapi.IsAmbiguous(err) {
		t.Errorf("update: %v, want ambiguous", err)
	}
	if got := e.Rules(account); len(got) != 1 || got[0].Description != "changed" {
		t.Errorf("update not applied: %+v", got)
	}

	// DELETE: applied, answer lost, the retry gets 404: that is success.
	if err := a.DeleteRule(ctx, account, upd.ID); err != nil {
		t.Errorf("delete: %v, want nil", err)
	}
	if got := e.Rules(account); len(got) != 0 {
		t.Errorf("rules left: %+v", got)
	}
}

// TestContractSuccessFalse: a 200 whose envelope says "success": false
// (the emulator's answer, altered in flight) is an error, never ignored.
func TestContractSuccessFalse(t *testing.T) {
	t.Parallel()
	e := emulator.New(emulator.Config{Token: token})
	flip := func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		e.Handler().ServeHTTP(rec, r)
		body := bytes.Replace(rec.Body.Bytes(), []byte(`"success":true,"errors":[]`),
			[]byte(`"success":false,"errors":[{"code":1001,"message":"partial failure"}]`), 1)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}
	srv := httptest.NewServer(http.HandlerFunc(flip))
	t.Cleanup(srv.Close)
	a := newClient(t, srv.URL, nil)
	ctx := context.Background()
	_, err := a.ListRules(ctx, account)
	if err == nil || !strings.Contains(err.Error(), `"success": false`) || !strings.Contains(err.Error(), "1001: partial failure") {
		t.Errorf("list: %v", err)
	}
	_, err = a.CreateRule(ctx, account, egressRule("x", 5000, nil))
	if err == nil || !strings.Contains(err.Error(), "HTTP 200") {
		t.Errorf("create: %v", err)
	}
}

// TestContractWithoutPrefix: the emulator serves paths without /client/v4 too.
func TestContractWithoutPrefix(t *testing.T) {
	t.Parallel()
	e := emulator.New(emulator.Config{Token: token})
	base, err := e.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	a := newClient(t, base, nil)
	if _, err := a.CreateRule(context.Background(), account, egressRule("x", 5000, nrtToLAX)); err != nil {
		t.Fatal(err)
	}
	rules, err := a.ListRules(context.Background(), account)
	if err != nil || len(rules) != 1 {
		t.Errorf("list: %+v %v", rules, err)
	}
}

// TestContractNotFoundStyles: every way the emulator can answer an unknown
// rule ID (as Cloudflare has) is not found on GET, PUT and DELETE.
func TestContractNotFoundStyles(t *testing.T) {
	t.Parallel()
	for _, style := range []emulator.NotFoundStyle{emulator.NotFound404, emulator.NotFoundInvalidRuleID, emulator.NotFoundRoute} {
		_, a := startEmu(t, emulator.Config{NotFound: style}, nil)
		ctx := context.Background()
		const ghost = "00000000-0000-4000-8000-000000000000"
		r := egressRule("ghost", 3000, nil)
		r.ID = ghost
		_, getErr := a.GetRule(ctx, account, ghost)
		_, putErr := a.UpdateRule(ctx, account, r)
		delErr := a.DeleteRule(ctx, account, ghost)
		for name, err := range map[string]error{"GET": getErr, "PUT": putErr, "DELETE": delErr} {
			if !cfapi.IsNotFound(err) {
				t.Errorf("style %d %s: %v, want not found", style, name, err)
			}
		}
	}
}

// TestContractPublishedShapes: responses without filters, shared and
// warned rules, and a list that says it has more pages.
func TestContractPublishedShapes(t *testing.T) {
	t.Parallel()
	warn := "misconfigured"
	seed := []emulator.Rule{
		{Name: "shared", Precedence: 100, Enabled: true, Action: "egress", Filters: []string{"egress"}, Traffic: "net.dst.port == 22",
			ReadOnly: true, Sharable: true, SourceAccount: "fedcba9876543210fedcba9876543210"},
		{Name: "warned", Precedence: 200, Enabled: true, Action: "egress", Filters: []string{"egress"}, Traffic: "net.dst.port == 23",
			WarningStatus: &warn},
		{Name: "dns", Precedence: 300, Enabled: true, Action: "block", Filters: []string{"dns"}, Traffic: `any(dns.domains[*] == "x.example")`},
	}
	e, a := startEmu(t, emulator.Config{OmitFilters: true}, nil)
	if err := e.SeedRules(account, seed); err != nil {
		t.Fatal(err)
	}
	rules, err := a.ListRules(context.Background(), account)
	if err != nil || len(rules) != 3 {
		t.Fatalf("list: %+v %v", rules, err)
	}
	if r := rules[0]; !r.ReadOnly || !r.Sharable || r.SourceAccount != seed[0].SourceAccount || r.Filters != nil || !cfapi.IsEgress(r) {
		t.Errorf("shared rule: %+v", r)
	}
	if r := rules[1]; r.WarningStatus != warn || r.ReadOnly {
		t.Errorf("warned rule: %+v", r)
	}
	if eg := cfapi.EgressRules(rules); len(eg) != 2 {
		t.Errorf("egress rules without filters: %d, want 2", len(eg))
	}
	_, err = a.UpdateRule(context.Background(), account, rules[0])
	if !cfapi.IsValidation(err) || !strings.Contains(err.Error(), "read_only") {
		t.Errorf("update of a read_only rule: %v", err)
	}

	e2, a2 := startEmu(t, emulator.Config{ListPageSize: 2}, nil)
	if err := e2.SeedRules(account, seed); err != nil {
		t.Fatal(err)
	}
	got, err := a2.ListRules(context.Background(), account)
	if got != nil || !errors.Is(err, cfapi.ErrIncompleteList) || !strings.Contains(err.Error(), "2 pages") {
		t.Errorf("paged list: %d rules, %v", len(got), err)
	}
}

// TestContractScopedToken: a token that sees only egress rules still meets
// the hidden rules' precedence numbers (a validation error, nothing named).
func TestContractScopedToken(t *testing.T) {
	t.Parallel()
	e, a := startEmu(t, emulator.Config{EgressOnly: true}, nil)
	if err := e.SeedRules(account, []emulator.Rule{{Name: "hidden", Precedence: 5000, Enabled: true, Action: "block",
		Filters: []string{"dns"}, Traffic: `any(dns.domains[*] == "x.example")`}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if rules, err := a.ListRules(ctx, account); err != nil || len(rules) != 0 {
		t.Fatalf("list: %+v %v", rules, err)
	}
	_, err := a.CreateRule(ctx, account, egressRule("clash", 5000, nil))
	if !cfapi.IsValidation(err) || strings.Contains(err.Error(), "hidden") {
		t.Errorf("create on a hidden rule's number: %v", err)
	}
	if _, err := a.CreateRule(ctx, account, egressRule("free", 5001, nil)); err != nil {
		t.Errorf("create on a free number: %v", err)
	}
}

// TestContractLockout: past the emulator's per-token budget every call is
// 429 with Retry-After for the lockout; the client waits it out (within the
// call's deadline) and then succeeds.
func TestContractLockout(t *testing.T) {
	t.Parallel()
	e, a := startEmu(t, emulator.Config{RateLimit: 3, RateWindow: time.Minute, Lockout: time.Second}, func(c *cfapi.Config) {
		c.RequestsPer5Minutes = 100 // more than the emulator allows
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	for i := range 5 {
		if _, err := a.ListRules(ctx, account); err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("5 lists took %v: the 1 s lockout was not waited out", el)
	}
	if n := e.Stats().Faults["rate_limited"]; n != 1 {
		t.Errorf("%d rate-limited answers, want 1 (the lockout is waited, not hammered)", n)
	}
	// A lockout longer than the deadline fails at once, saying so.
	_, a2 := startEmu(t, emulator.Config{RateLimit: 1, RateWindow: time.Minute, Lockout: time.Minute}, func(c *cfapi.Config) {
		c.RequestsPer5Minutes = 100
	})
	short, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if _, err := a2.ListRules(short, account); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err := a2.ListRules(short, account)
	if !cfapi.IsRateLimited(err) || !strings.Contains(err.Error(), "past this operation's deadline") || time.Since(start) > time.Second {
		t.Errorf("lockout past the deadline: %v after %v", err, time.Since(start))
	}
}
