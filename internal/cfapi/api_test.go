package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"empty token", Config{}, "CLOUDFLARE_API_TOKEN"},
		{"blank token", Config{APIToken: "  "}, "CLOUDFLARE_API_TOKEN"},
		{"token with inner space", Config{APIToken: "ab cd"}, "whitespace"},
		{"base without scheme", Config{APIToken: "t", BaseURL: "api.cloudflare.com/client/v4"}, "base_url"},
		{"base ftp", Config{APIToken: "t", BaseURL: "ftp://x/"}, "base_url"},
		{"negative rps", Config{APIToken: "t", RequestsPerSecond: -1}, "requests_per_second"},
	}
	for _, c := range cases {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New() error = %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	a, err := New(Config{APIToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if a.baseURL != DefaultBaseURL || a.maxRetries != DefaultMaxRetries || a.minBackoff != DefaultMinBackoff ||
		a.maxBackoff != DefaultMaxBackoff || a.maxRetryAfter != DefaultMaxRetryAfter {
		t.Errorf("defaults not applied: %+v", *a)
	}
	if a.RequestsPer5Minutes() != DefaultRequestsPer5Minutes || a.budget.limit != 600 || a.budget.window != 5*time.Minute {
		t.Errorf("budget = %d per %v, want 600 per 5m", a.budget.limit, a.budget.window)
	}
	b, err := New(Config{APIToken: testToken, MaxRetries: -1, BaseURL: "http://127.0.0.1:1/client/v4/"})
	if err != nil {
		t.Fatal(err)
	}
	if b.maxRetries != 0 || b.baseURL != "http://127.0.0.1:1/client/v4" {
		t.Errorf("MaxRetries -1 / trailing slash: got retries %d base %q", b.maxRetries, b.baseURL)
	}
}

func TestConfigAndAPIDoNotPrintToken(t *testing.T) {
	t.Parallel()
	cfg := Config{APIToken: testToken, BaseURL: "http://127.0.0.1:1"}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(a), fmt.Sprintf("%#v", a)} {
		if strings.Contains(s, testToken) {
			t.Errorf("token printed: %s", s)
		}
	}
}

func TestListRulesMapsAndSorts(t *testing.T) {
	t.Parallel()
	dns := map[string]any{
		"id": "dns-1", "name": "block bad", "description": "d", "precedence": 5, "enabled": true,
		"action": "block", "filters": []string{"dns"}, "traffic": "any(dns.domains[*] == \"bad.example\")",
		"identity": "", "device_posture": "", "version": 3,
		"rule_settings": map[string]any{"block_reason": "no", "egress": nil},
	}
	emptyEgress := apiRule("eg-empty", "empty settings", 30000, map[string]string{"ipv4": "", "ipv6": "", "ipv4_fallback": ""})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
		writeEnvelope(w, 200, []any{
			apiRule("eg-2", "second", 20000, nil),
			dns,
			apiRule("eg-1", "first", 10000, map[string]string{"ipv4": "203.0.113.10", "ipv6": "2001:db8:10::/64", "ipv4_fallback": "0.0.0.0"}),
			emptyEgress,
			apiRule("legacy", "no fallback", 15000, map[string]string{"ipv4": "203.0.113.20", "ipv6": "2001:db8:20::/64"}),
		})
	})
	a, _ := newTestAPI(t, f.URL+"/client/v4", func(c *Config) { c.UserAgent = "cfegress-test/1" })
	rules, err := a.ListRules(context.Background(), testAccount)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Path != "/client/v4/accounts/"+testAccount+"/gateway/rules" {
		t.Fatalf("requests = %+v", reqs)
	}
	if reqs[0].Auth != "Bearer "+testToken || reqs[0].UA != "cfegress-test/1" {
		t.Errorf("headers: auth %q ua %q", reqs[0].Auth, reqs[0].UA)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	updated := created.Add(time.Second)
	want := []Rule{
		{ID: "dns-1", Name: "block bad", Description: "d", Precedence: 5, Enabled: true, Action: "block",
			Filters: []string{"dns"}, Traffic: "any(dns.domains[*] == \"bad.example\")"},
		{ID: "eg-1", Name: "first", Precedence: 10000, Enabled: true, Action: "egress", Filters: []string{"egress"},
			Traffic: "net.dst.port == 443", Egress: &EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "0.0.0.0"},
			CreatedAt: created, UpdatedAt: updated},
		{ID: "legacy", Name: "no fallback", Precedence: 15000, Enabled: true, Action: "egress", Filters: []string{"egress"},
			Traffic: "net.dst.port == 443", Egress: &EgressSettings{IPv4: "203.0.113.20", IPv6: "2001:db8:20::/64"},
			CreatedAt: created, UpdatedAt: updated},
		{ID: "eg-2", Name: "second", Precedence: 20000, Enabled: true, Action: "egress", Filters: []string{"egress"},
			Traffic: "net.dst.port == 443", CreatedAt: created, UpdatedAt: updated},
		{ID: "eg-empty", Name: "empty settings", Precedence: 30000, Enabled: true, Action: "egress", Filters: []string{"egress"},
			Traffic: "net.dst.port == 443", CreatedAt: created, UpdatedAt: updated},
	}
	if d := cmp.Diff(want, rules); d != "" {
		t.Errorf("ListRules (-want +got):\n%s", d)
	}
	eg := EgressRules(rules)
	if len(eg) != 4 || eg[0].ID != "eg-1" || eg[3].ID != "eg-empty" {
		t.Errorf("EgressRules = %v", eg)
	}
	eg2, err := ListEgressRules(context.Background(), a, testAccount)
	if err != nil || len(eg2) != 4 {
		t.Errorf("ListEgressRules = %d rules, %v", len(eg2), err)
	}
}

func TestListThousandRulesInOneCall(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	perm := rng.Perm(1000)
	all := make([]any, 0, 1000)
	for i, p := range perm {
		eg := map[string]string{"ipv4": "203.0.113.10", "ipv6": "2001:db8:10::/64", "ipv4_fallback": "0.0.0.0"}
		if i%3 == 0 {
			eg = nil
		}
		all = append(all, apiRule(fmt.Sprintf("r-%04d", p), fmt.Sprintf("rule %d", p), 1000+p*7, eg))
	}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
		writeEnvelope(w, 200, all)
	})
	a, _ := newTestAPI(t, f.URL, nil)
	rules, err := a.ListRules(context.Background(), testAccount)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if len(rules) != 1000 {
		t.Fatalf("%d rules, want 1000", len(rules))
	}
	for i, r := range rules {
		if r.ID != fmt.Sprintf("r-%04d", i) || r.Precedence != uint64(1000+i*7) {
			t.Fatalf("rules[%d] = %s prec %d: not sorted by precedence", i, r.ID, r.Precedence)
		}
	}
}

func TestCreateUpdateDelete(t *testing.T) {
	t.Parallel()
	stored := apiRule("new-id", "tokyo", 12000, map[string]string{"ipv4": "203.0.113.10", "ipv6": "2001:db8:10::/64", "ipv4_fallback": "203.0.113.20"})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int, body []byte) {
		switch r.Method {
		case http.MethodPost, http.MethodPut:
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Errorf("body not JSON: %v", err)
			}
			if _, has := got["id"]; has {
				t.Errorf("%s body carries an id: %s", r.Method, body)
			}
			writeEnvelope(w, 200, stored)
		case http.MethodDelete:
			writeEnvelope(w, 200, map[string]any{"id": "new-id"})
		}
	})
	a, _ := newTestAPI(t, f.URL, nil)
	ctx := context.Background()
	in := Rule{Name: "tokyo", Precedence: 12000, Enabled: true, Action: "egress", Filters: []string{"egress"},
		Traffic: "net.dst.port == 443", Egress: &EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"}}
	got, err := a.CreateRule(ctx, testAccount, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "new-id" || got.Egress == nil || got.Egress.IPv4Fallback != "203.0.113.20" || got.CreatedAt.IsZero() {
		t.Errorf("CreateRule = %+v", got)
	}
	in.ID = "new-id"
	if _, err := a.UpdateRule(ctx, testAccount, in); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteRule(ctx, testAccount, "new-id"); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range f.requests() {
		lines = append(lines, r.Method+" "+r.Path)
	}
	base := "/accounts/" + testAccount + "/gateway/rules"
	want := []string{"POST " + base, "PUT " + base + "/new-id", "DELETE " + base + "/new-id"}
	if d := cmp.Diff(want, lines); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
}

func TestInvalidIDsSendNothing(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) { writeEnvelope(w, 200, []any{}) })
	a, _ := newTestAPI(t, f.URL, nil)
	ctx := context.Background()
	errs := []error{}
	_, err := a.ListRules(ctx, "")
	errs = append(errs, err)
	_, err = a.CreateRule(ctx, "acc/../other", Rule{Name: "x"})
	errs = append(errs, err)
	_, err = a.UpdateRule(ctx, testAccount, Rule{Name: "x"})
	errs = append(errs, err)
	errs = append(errs, a.DeleteRule(ctx, testAccount, "a?b"))
	for i, err := range errs {
		if !IsValidation(err) || !strings.Contains(err.Error(), "invalid request") {
			t.Errorf("case %d: err = %v, want a local validation error", i, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
}

// TestErrorClasses: each HTTP failure becomes the right kind with
// Cloudflare's codes and an actionable message.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	type tc struct {
		name     string
		status   int
		raw      string // body; JSON envelope unless noted
		header   map[string]string
		kind     ErrorKind
		codes    []int
		contains []string
	}
	env := func(success bool, errs string) string {
		return fmt.Sprintf(`{"success":%v,"errors":[%s],"messages":[],"result":null}`, success, errs)
	}
	cases := []tc{
		{"401", 401, env(false, `{"code":10000,"message":"Authentication error"}`), nil, KindAuthentication, []int{10000},
			[]string{"authentication failed", "HTTP 401", "Cloudflare error 10000: Authentication error", "CLOUDFLARE_API_TOKEN"}},
		{"403 bad token", 403, env(false, `{"code":10000,"message":"Authentication error"}`), nil, KindAuthentication, []int{10000},
			[]string{"authentication failed or a permission is missing", "api_token", "invalid, expired or revoked", "lacks a permission", "Zero Trust Read"}},
		{"403 invalid access token 9109", 403, env(false, `{"code":9109,"message":"Invalid access token"}`), nil, KindAuthentication, []int{9109}, nil},
		{"403 unowned account 9109", 403, env(false, `{"code":9109,"message":"Unauthorized to access requested resource"}`), nil, KindAuthorization, []int{9109},
			[]string{"not allowed", "Zero Trust Read", "account_id"}},
		{"403 no codes", 403, env(false, ``), nil, KindAuthorization, nil, []string{"HTTP 403"}},
		{"404", 404, env(false, `{"code":2003,"message":"invalid rule id"}`), nil, KindNotFound, []int{2003},
			[]string{"not found", "invalid rule id", "account_id"}},
		{"400 two errors", 400, env(false, `{"code":2001,"message":"rule_settings.egress.ipv4_fallback: required"},{"code":2002,"message":"precedence 100 is already used"}`),
			map[string]string{"Cf-Ray": "8abc-NRT"}, KindValidation, []int{2001, 2002},
			[]string{"rejected", "Cloudflare error 2001: rule_settings.egress.ipv4_fallback: required", "error 2002: precedence 100 is already used", "cf-ray 8abc-NRT"}},
		{"400 string errors", 400, `{"success":false,"errors":["bad thing"],"messages":[],"result":null}`, nil, KindValidation, []int{0}, []string{"bad thing"}},
		{"409", 409, env(false, `{"code":2002,"message":"conflict"}`), nil, KindValidation, []int{2002}, nil},
		{"429 after retries", 429, env(false, `{"code":971,"message":"Please wait and consider throttling your request speed"}`),
			map[string]string{"Retry-After": "0"}, KindRateLimited, []int{971}, []string{"rate limited", "after 3 attempts", "requests_per_5_minutes", "1,200 requests per 5 minutes"}},
		{"500 after retries", 500, env(false, `{"code":2006,"message":"internal"}`), nil, KindServer, []int{2006}, []string{"server error", "HTTP 500", "after 3 attempts"}},
		{"503 html", 503, `<html>down</html>`, nil, KindServer, nil, []string{"HTTP 503"}},
		{"405", 405, env(false, `{"code":2005,"message":"method not allowed"}`), nil, KindUnknown, []int{2005}, []string{"unexpected answer"}},
		{"200 success false", 200, env(false, `{"code":1234,"message":"something went wrong"}`), nil, KindUnknown, []int{1234},
			[]string{"HTTP 200", "Cloudflare error 1234: something went wrong", `"success": false`}},
		{"200 success false auth", 200, env(false, `{"code":10000,"message":"Authentication error"}`), nil, KindAuthentication, []int{10000}, nil},
		{"200 not json", 200, `not json`, nil, KindUnknown, nil, []string{"not Cloudflare's JSON envelope"}},
		{"200 no success field", 200, `{"result":[]}`, nil, KindUnknown, nil, []string{"not Cloudflare's JSON envelope"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.raw))
			})
			a, _ := newTestAPI(t, f.URL, func(cfg *Config) { cfg.MaxRetries = 2 })
			_, err := a.ListRules(context.Background(), testAccount)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if e.Kind != c.kind || e.Status != c.status || e.Op != "list rules" {
				t.Errorf("kind %v status %d op %q, want %v %d", e.Kind, e.Status, e.Op, c.kind, c.status)
			}
			if !cmp.Equal(e.Codes, c.codes) {
				t.Errorf("codes = %v, want %v", e.Codes, c.codes)
			}
			for _, s := range c.contains {
				if !strings.Contains(e.Error(), s) {
					t.Errorf("message %q lacks %q", e.Error(), s)
				}
			}
			wantReqs := 1
			if c.status == 429 || c.status >= 500 {
				wantReqs = 3
			}
			if n := len(f.requests()); n != wantReqs {
				t.Errorf("%d requests, want %d", n, wantReqs)
			}
		})
	}
}

func TestKindHelpers(t *testing.T) {
	t.Parallel()
	e := &Error{Kind: KindNotFound, Op: "delete rule x"}
	wrapped := fmt.Errorf("reading: %w", e)
	if !IsNotFound(wrapped) || IsAuthentication(wrapped) || KindOf(wrapped) != KindNotFound {
		t.Errorf("helpers on wrapped NotFound wrong")
	}
	if !errors.Is(wrapped, &Error{Kind: KindNotFound}) || errors.Is(wrapped, &Error{Kind: KindServer}) {
		t.Errorf("errors.Is by kind wrong")
	}
	if IsNotFound(nil) || IsRetryable(nil) || KindOf(errors.New("x")) != KindUnknown {
		t.Errorf("nil/foreign errors misclassified")
	}
	if !IsRetryable(&Error{Kind: KindAmbiguous}) || IsRetryable(&Error{Kind: KindValidation}) {
		t.Errorf("IsRetryable wrong")
	}
	for k := KindUnknown; k <= KindCanceled; k++ {
		if strings.HasPrefix(k.String(), "ErrorKind(") {
			t.Errorf("kind %d has no name", k)
		}
	}
}
