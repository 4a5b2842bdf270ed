package emulator

// Tests of the switches that play what Cloudflare publishes (see the
// package doc for the sources).

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// dnsRule is a non-egress rule.
func dnsRule(name string, prec uint64) Rule {
	return Rule{Name: name, Precedence: prec, Enabled: true, Action: "block", Filters: []string{"dns"},
		Traffic: `any(dns.domains[*] == "blocked.example")`}
}

func TestEmulatorCodesStayOutOfCloudflareRanges(t *testing.T) {
	own := []int{CodeValidation, CodePrecedence, CodeNotFound, CodeBadJSON, CodeMethod, CodeServer,
		CodeTooManyPolicies, CodeExpressionTooLong, CodeReadOnly}
	seen := map[int]bool{}
	for _, c := range own {
		if seen[c] {
			t.Errorf("code %d used twice", c)
		}
		seen[c] = true
		for _, r := range [][2]int{{1000, 1999}, {2000, 2999}, {6000, 6999}, {7000, 7999}, {9000, 9999}, {10000, 10999}} {
			if c >= r[0] && c <= r[1] {
				t.Errorf("emulator code %d is in Cloudflare's range %d-%d", c, r[0], r[1])
			}
		}
	}
}

// TestScopedTokenSeesOnlyEgressRules: a permission-scoped token (Gateway
// granular permissions, 2026-06-30) lists and reads only egress rules, but
// the numbers of the rules it cannot see still collide on writes.
func TestScopedTokenSeesOnlyEgressRules(t *testing.T) {
	for _, mode := range []string{"EgressOnly", "ScopedToken"} {
		t.Run(mode, func(t *testing.T) {
			cfg := Config{}
			if mode == "EgressOnly" {
				cfg.EgressOnly = true
			} else {
				cfg.ScopedToken = "scoped-token-1"
			}
			e, c := start(t, cfg)
			if mode == "ScopedToken" {
				c.token = "scoped-token-1"
			}
			if err := e.SeedRules(acctA, []Rule{dnsRule("hidden dns", 5000)}); err != nil {
				t.Fatal(err)
			}
			hidden := e.Rules(acctA)[0]
			eg := mustCreate(t, c, acctA, egressRule("visible", 6000))

			if rs := c.do("GET", rulesPath(acctA), nil).rules(t); len(rs) != 1 || rs[0].ID != eg.ID {
				t.Fatalf("list = %v, want only the egress rule", names(rs))
			}
			if r := c.do("GET", rulesPath(acctA)+"/"+hidden.ID, nil); r.Status != 404 || r.code() != CodeNotFound {
				t.Errorf("GET hidden: %d %s", r.Status, r.Body)
			}
			for _, m := range []string{"PUT", "DELETE"} {
				if r := c.do(m, rulesPath(acctA)+"/"+hidden.ID, egressRule("x", 0)); r.Status != 404 {
					t.Errorf("%s hidden: %d %s", m, r.Status, r.Body)
				}
			}
			// Its number still collides, without naming the hidden rule.
			r := c.do("POST", rulesPath(acctA), egressRule("clash", 5000))
			if r.Status != 400 || r.code() != CodePrecedence || strings.Contains(r.msg(), "hidden dns") || strings.Contains(r.msg(), hidden.ID) {
				t.Errorf("clash with a hidden rule: %d %s", r.Status, r.Body)
			}
			// Writing a non-egress rule is Cloudflare's 403 10000.
			dns := map[string]any{"name": "d", "action": "block", "filters": []string{"dns"}, "traffic": `any(dns.domains[*] == "x.example")`}
			if r := c.do("POST", rulesPath(acctA), dns); r.Status != 403 || r.code() != CodeAuthentication {
				t.Errorf("create dns: %d %s", r.Status, r.Body)
			}
			// A precedence chosen by the emulator stays clear of hidden numbers.
			if got := e.Rules(acctA); len(got) != 2 {
				t.Fatalf("stored %v", names(got))
			}
			if mode == "ScopedToken" {
				full := &client{t: t, base: c.base, token: testToken, hc: c.hc}
				if rs := full.do("GET", rulesPath(acctA), nil).rules(t); len(rs) != 2 {
					t.Errorf("the full token lists %v, want both rules", names(rs))
				}
			}
		})
	}
}

// TestNotFoundStyles: each way Cloudflare has answered an unknown rule ID,
// on GET, PUT, PATCH and DELETE.
func TestNotFoundStyles(t *testing.T) {
	const ghost = "8ddd1a4c-64d7-42e5-aced-6d3ab82dd365"
	for _, tc := range []struct {
		flag   string
		status int
		code   int
		msg    string
	}{
		{"404", 404, CodeNotFound, "invalid rule id"},
		{"invalid-rule-id", 400, CodeNotFound, "invalid rule id"},
		{"7003", 400, CodeRoute, "Could not route to /client/v4/accounts/" + acctA + "/gateway/rules/" + ghost + ", perhaps your object identifier is invalid?"},
	} {
		style, err := ParseNotFoundStyle(tc.flag)
		if err != nil {
			t.Fatal(err)
		}
		_, c := start(t, Config{NotFound: style})
		for _, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
			r := c.do(m, rulesPath(acctA)+"/"+ghost, egressRule("x", 0))
			if r.Status != tc.status || r.code() != tc.code || !strings.Contains(r.msg(), tc.msg) {
				t.Errorf("%s %s: %d %s", tc.flag, m, r.Status, r.Body)
			}
		}
	}
	if _, err := ParseNotFoundStyle("410"); err == nil {
		t.Error("ParseNotFoundStyle accepted 410")
	}
}

// TestLockout: past RateLimit per RateWindow every call of the token is
// 429 for Lockout, with Retry-After the seconds left; other tokens are
// counted on their own.
func TestLockout(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	e, c := start(t, Config{RateLimit: 4, RateWindow: 300 * time.Second, Lockout: 300 * time.Second, Now: now, ScopedToken: "other"})
	for i := range 4 {
		if r := c.do("GET", rulesPath(acctA), nil); r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
	}
	r := c.do("GET", rulesPath(acctA), nil)
	if r.Status != 429 || r.code() != CodeRateLimited || r.Header.Get("Retry-After") != "300" {
		t.Fatalf("over the budget: %d Retry-After=%q", r.Status, r.Header.Get("Retry-After"))
	}
	other := &client{t: t, base: c.base, token: "other", hc: c.hc}
	if r := other.do("GET", rulesPath(acctA), nil); r.Status != 200 {
		t.Errorf("another token is locked out too: %d", r.Status)
	}
	// Every call, writes too, for the whole lockout, even once the window
	// would have room again.
	advance(200 * time.Second)
	if r := c.do("POST", rulesPath(acctA), egressRule("x", 0)); r.Status != 429 || r.Header.Get("Retry-After") != "100" {
		t.Errorf("during the lockout: %d Retry-After=%q", r.Status, r.Header.Get("Retry-After"))
	}
	advance(100 * time.Second)
	if r := c.do("GET", rulesPath(acctA), nil); r.Status != 200 {
		t.Errorf("after the lockout: %d %s", r.Status, r.Body)
	}
	if n := e.Stats().Faults["rate_limited"]; n != 2 {
		t.Errorf("rate_limited = %d, want 2", n)
	}
}

// TestOmitFilters: responses may lack "filters"; requests still need them.
func TestOmitFilters(t *testing.T) {
	e, c := start(t, Config{OmitFilters: true})
	r := c.do("POST", rulesPath(acctA), egressRule("a", 0))
	if r.Status != 200 || strings.Contains(string(r.Env.Result), `"filters"`) {
		t.Fatalf("create answer: %d %s", r.Status, r.Body)
	}
	id := r.rule(t).ID
	for _, path := range []string{rulesPath(acctA), rulesPath(acctA) + "/" + id} {
		if r := c.do("GET", path, nil); r.Status != 200 || strings.Contains(string(r.Env.Result), `"filters"`) {
			t.Errorf("GET %s: %s", path, r.Body)
		}
	}
	if got := e.Rules(acctA); len(got) != 1 || len(got[0].Filters) != 1 {
		t.Errorf("stored %+v: filters are kept", got)
	}
}

// TestReadOnlyAndWarningStatus: seeded shared rules and warnings are shown;
// a read_only rule cannot be changed or deleted; neither field is taken
// from a request.
func TestReadOnlyAndWarningStatus(t *testing.T) {
	e, c := start(t, Config{})
	warn := "The dedicated egress IP is not available"
	shared := Rule{Name: "parent policy", Precedence: 100, Enabled: true, Action: "egress", Filters: []string{"egress"},
		Traffic: "net.dst.port == 22", ReadOnly: true, Sharable: true, SourceAccount: acctB}
	warned := Rule{Name: "warned", Precedence: 200, Enabled: true, Action: "egress", Filters: []string{"egress"},
		Traffic: "net.dst.port == 23", WarningStatus: &warn}
	if err := e.SeedRules(acctA, []Rule{shared, warned}); err != nil {
		t.Fatal(err)
	}
	rs := c.do("GET", rulesPath(acctA), nil)
	var raw []map[string]any
	if err := json.Unmarshal(rs.Env.Result, &raw); err != nil || len(raw) != 2 {
		t.Fatalf("list: %s", rs.Body)
	}
	if raw[0]["read_only"] != true || raw[0]["sharable"] != true || raw[0]["source_account"] != acctB || raw[0]["warning_status"] != nil {
		t.Errorf("shared rule as listed: %v", raw[0])
	}
	if raw[1]["read_only"] != false || raw[1]["warning_status"] != warn {
		t.Errorf("warned rule as listed: %v", raw[1])
	}
	sharedID, warnedID := e.Rules(acctA)[0].ID, e.Rules(acctA)[1].ID
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		r := c.do(m, rulesPath(acctA)+"/"+sharedID, egressRule("mine now", 100))
		if r.Status != 400 || r.code() != CodeReadOnly || !strings.Contains(r.msg(), acctB) {
			t.Errorf("%s read_only: %d %s", m, r.Status, r.Body)
		}
	}
	// A client cannot set them; a PUT keeps Cloudflare's warning.
	body := egressRule("warned", 200)
	body["read_only"], body["warning_status"] = true, "client text"
	r := c.do("PUT", rulesPath(acctA)+"/"+warnedID, body)
	if got := r.rule(t); r.Status != 200 || got.ReadOnly || got.WarningStatus == nil || *got.WarningStatus != warn {
		t.Errorf("PUT with read_only and warning_status: %d %s", r.Status, r.Body)
	}
	body["precedence"] = 0
	n := mustCreate(t, c, acctA, body)
	if n.ReadOnly || n.WarningStatus != nil {
		t.Errorf("create took read_only/warning_status from the request: %+v", n)
	}
}

// TestAccountLimits: egress policies per account and characters per
// expression, with the emulator's own codes.
func TestAccountLimits(t *testing.T) {
	e, c := start(t, Config{MaxEgressPolicies: 3})
	if err := e.SeedRules(acctA, []Rule{dnsRule("dns", 10)}); err != nil {
		t.Fatal(err) // non-egress rules do not count
	}
	for i := range 3 {
		mustCreate(t, c, acctA, egressRule(fmt.Sprint("p", i), 0))
	}
	r := c.do("POST", rulesPath(acctA), egressRule("one too many", 0))
	if r.Status != 400 || r.code() != CodeTooManyPolicies || !strings.Contains(r.msg(), "3") {
		t.Errorf("fourth egress policy: %d %s", r.Status, r.Body)
	}
	// Updating one of the three is fine.
	id := e.Rules(acctA)[1].ID
	if r := c.do("PUT", rulesPath(acctA)+"/"+id, egressRule("renamed", 0)); r.Status != 200 {
		t.Errorf("update at the limit: %d %s", r.Status, r.Body)
	}

	_, c2 := start(t, Config{})
	long := egressRule("long", 0)
	port := "net.dst.port == 443"
	long["traffic"] = port + strings.Repeat(" or "+port, (DefaultMaxExpressionLength-len(port))/(len(port)+4))
	if n := len(long["traffic"].(string)); n > DefaultMaxExpressionLength {
		t.Fatalf("test expression is %d characters", n)
	}
	if r := c2.do("POST", rulesPath(acctA), long); r.Status != 200 {
		t.Fatalf("expression at the limit: %d %.200s", r.Status, r.Body)
	}
	long["traffic"] = long["traffic"].(string) + strings.Repeat(" ", DefaultMaxExpressionLength)
	long["name"] = "too long"
	if r := c2.do("POST", rulesPath(acctA), long); r.Status != 400 || r.code() != CodeExpressionTooLong || !strings.Contains(r.msg(), "traffic") {
		t.Errorf("expression over the limit: %d %.300s", r.Status, r.Body)
	}
}

// TestListPageSize: a list answer that says there are more pages.
func TestListPageSize(t *testing.T) {
	e, c := start(t, Config{ListPageSize: 2})
	for i := range 5 {
		mustCreate(t, c, acctA, egressRule(fmt.Sprint("p", i), 0))
	}
	r := c.do("GET", rulesPath(acctA), nil)
	ri := r.Env.ResultInfo
	if rs := r.rules(t); len(rs) != 2 || ri == nil || ri.Page != 1 || ri.PerPage != 2 || ri.Count != 2 || ri.TotalCount != 5 || ri.TotalPages != 3 {
		t.Fatalf("page 1: %s", r.Body)
	}
	r = c.do("GET", rulesPath(acctA)+"?page=3", nil)
	if rs := r.rules(t); len(rs) != 1 || rs[0].ID != e.Rules(acctA)[4].ID || r.Env.ResultInfo.Page != 3 {
		t.Fatalf("page 3: %s", r.Body)
	}
}
