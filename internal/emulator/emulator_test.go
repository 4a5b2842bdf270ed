package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

const (
	testToken = "test-token-123"
	acctA     = DefaultAccountID
	acctB     = "fedcba9876543210fedcba9876543210"
)

type resp struct {
	Status int
	Header http.Header
	Env    struct {
		Success    bool              `json:"success"`
		Errors     []respInfo        `json:"errors"`
		Messages   []respInfo        `json:"messages"`
		Result     json.RawMessage   `json:"result"`
		ResultInfo *resultInfo       `json:"result_info"`
		Extra      map[string]string `json:"-"`
	}
	Body []byte
}

func (r *resp) rule(t *testing.T) Rule {
	t.Helper()
	var x Rule
	if err := json.Unmarshal(r.Env.Result, &x); err != nil {
		t.Fatalf("result is not a rule: %v\n%s", err, r.Body)
	}
	return x
}

func (r *resp) rules(t *testing.T) []Rule {
	t.Helper()
	var x []Rule
	if err := json.Unmarshal(r.Env.Result, &x); err != nil {
		t.Fatalf("result is not a list of rules: %v\n%s", err, r.Body)
	}
	return x
}

func (r *resp) code() int {
	if len(r.Env.Errors) == 0 {
		return 0
	}
	return r.Env.Errors[0].Code
}

func (r *resp) msg() string {
	if len(r.Env.Errors) == 0 {
		return ""
	}
	return r.Env.Errors[0].Message
}

type client struct {
	t     *testing.T
	base  string
	token string
	hc    *http.Client
}

func start(t *testing.T, cfg Config) (*Emulator, *client) {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.AccountIDs == nil {
		cfg.AccountIDs = []string{acctA, acctB}
	}
	e := New(cfg)
	base, err := e.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	tr := &http.Transport{DisableKeepAlives: true}
	return e, &client{t: t, base: base, token: cfg.Token, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

func (c *client) do(method, path string, body any) *resp {
	c.t.Helper()
	r, err := c.try(method, path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (c *client) try(method, path string, body any) (*resp, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	hr, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = hr.Body.Close() }() // the body is read in full; a close error changes nothing
	b, err := io.ReadAll(hr.Body)
	if err != nil {
		return nil, err
	}
	r := &resp{Status: hr.StatusCode, Header: hr.Header, Body: b}
	if strings.HasPrefix(hr.Header.Get("Content-Type"), "application/json") && len(b) > 0 && b[0] == '{' {
		_ = json.Unmarshal(b, &r.Env)
	}
	return r, nil
}

func rulesPath(acct string) string { return "/client/v4/accounts/" + acct + "/gateway/rules" }

// egressRule is a valid dedicated egress rule on the default inventory.
func egressRule(name string, prec uint64) map[string]any {
	return map[string]any{
		"name": name, "description": "", "precedence": prec, "enabled": true,
		"action": "egress", "filters": []string{"egress"},
		"traffic": "net.dst.port == 443", "identity": "", "device_posture": "",
		"rule_settings": map[string]any{"egress": map[string]any{
			"ipv4": "203.0.113.10", "ipv6": "2001:db8:10::/64", "ipv4_fallback": "203.0.113.20",
		}},
	}
}

func mustCreate(t *testing.T, c *client, acct string, body any) Rule {
	t.Helper()
	r := c.do("POST", rulesPath(acct), body)
	if r.Status != 200 || !r.Env.Success {
		t.Fatalf("create: status %d: %s", r.Status, r.Body)
	}
	return r.rule(t)
}

// --- auth and accounts ---------------------------------------------------

func TestAuth(t *testing.T) {
	_, c := start(t, Config{})
	cases := []struct {
		name, header string
	}{
		{"missing", ""},
		{"wrong token", "Bearer nope"},
		{"no bearer scheme", testToken},
		{"empty bearer", "Bearer "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", c.base+rulesPath(acctA), nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			hr, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = hr.Body.Close() }()
			b, _ := io.ReadAll(hr.Body)
			if hr.StatusCode != 403 {
				t.Fatalf("status %d, want 403: %s", hr.StatusCode, b)
			}
			var env envelope
			if err := json.Unmarshal(b, &env); err != nil {
				t.Fatal(err)
			}
			if env.Success || len(env.Errors) != 1 || env.Errors[0].Code != 10000 || env.Errors[0].Message != "Authentication error" {
				t.Fatalf("body %s, want code 10000 Authentication error", b)
			}
			if strings.Contains(string(b), testToken) {
				t.Fatal("response leaks the token")
			}
		})
	}
	if r := c.do("GET", rulesPath(acctA), nil); r.Status != 200 || !r.Env.Success {
		t.Fatalf("good token: %d %s", r.Status, r.Body)
	}
}

func TestAccountIsolationAndRouting(t *testing.T) {
	e, c := start(t, Config{})
	ra := mustCreate(t, c, acctA, egressRule("in A", 100))

	// Account B does not see A's rule, and cannot read, update or delete it.
	if got := c.do("GET", rulesPath(acctB), nil).rules(t); len(got) != 0 {
		t.Fatalf("account B lists %d rules, want 0", len(got))
	}
	for _, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
		r := c.do(m, rulesPath(acctB)+"/"+ra.ID, egressRule("hijack", 100))
		if r.Status != 404 || r.code() != CodeNotFound {
			t.Fatalf("%s A's rule via B: %d %s", m, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "in A") {
			t.Fatalf("%s leaks A's data: %s", m, r.Body)
		}
	}
	if got := e.Rules(acctA); len(got) != 1 || got[0].Name != "in A" {
		t.Fatalf("A's rules changed: %+v", got)
	}

	// A well-formed account the token does not own: 403 9109.
	other := "00000000000000000000000000000000"
	r := c.do("GET", rulesPath(other), nil)
	if r.Status != 403 || r.code() != CodeUnauthorized || r.msg() != "Unauthorized to access requested resource" {
		t.Fatalf("unowned account: %d %s", r.Status, r.Body)
	}
	// A malformed account ID: 7003 could not route.
	r = c.do("GET", "/client/v4/accounts/not-an-id/gateway/rules", nil)
	if r.Status != 400 || r.code() != CodeRoute || !strings.Contains(r.msg(), "Could not route to /client/v4/accounts/not-an-id/gateway/rules, perhaps your object identifier is invalid?") {
		t.Fatalf("malformed account: %d %s", r.Status, r.Body)
	}
	// Unknown path.
	r = c.do("GET", "/client/v4/accounts/"+acctA+"/gateway/lists", nil)
	if r.Status != 400 || r.code() != CodeRoute {
		t.Fatalf("unknown path: %d %s", r.Status, r.Body)
	}
	// Without the /client/v4 prefix works the same.
	r = c.do("GET", "/accounts/"+acctA+"/gateway/rules", nil)
	if r.Status != 200 || len(r.rules(t)) != 1 {
		t.Fatalf("unprefixed list: %d %s", r.Status, r.Body)
	}
	// Method not allowed.
	r = c.do("DELETE", rulesPath(acctA), nil)
	if r.Status != 405 {
		t.Fatalf("DELETE on collection: %d %s", r.Status, r.Body)
	}
}

// --- envelope and CRUD -----------------------------------------------------

func TestListEnvelopeSinglePage(t *testing.T) {
	e, c := start(t, Config{})
	var seed []Rule
	for i := 1; i <= 250; i++ {
		seed = append(seed, Rule{Name: fmt.Sprintf("r%03d", i), Precedence: uint64(i * 10), Action: "block", Filters: []string{"dns"}, Traffic: "any(dns.domains[*] == \"x.example\")", Enabled: true})
	}
	if err := e.SeedRules(acctA, seed); err != nil {
		t.Fatal(err)
	}
	r := c.do("GET", rulesPath(acctA), nil)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"success", "errors", "messages", "result", "result_info"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("envelope lacks %q: %s", k, r.Body[:200])
		}
	}
	rs := r.rules(t)
	if len(rs) != 250 {
		t.Fatalf("one GET returned %d rules, want all 250", len(rs))
	}
	for i := 1; i < len(rs); i++ {
		if rs[i-1].Precedence >= rs[i].Precedence {
			t.Fatalf("not in precedence order at %d", i)
		}
	}
	ri := r.Env.ResultInfo
	if ri == nil || ri.Count != 250 || ri.TotalCount != 250 || ri.TotalPages != 1 || ri.Page != 1 {
		t.Fatalf("result_info %+v", ri)
	}
}

func TestCreateGetPutPatchDelete(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := now
	var mu sync.Mutex
	e, c := start(t, Config{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	created := mustCreate(t, c, acctA, egressRule("first", 500))
	if created.ID == "" || created.Precedence != 500 || created.Version != 1 || !created.CreatedAt.Equal(now) {
		t.Fatalf("created %+v", created)
	}
	if created.RuleSettings.Egress == nil || created.RuleSettings.Egress.IPv4 != "203.0.113.10" {
		t.Fatalf("egress settings lost: %+v", created.RuleSettings)
	}

	got := c.do("GET", rulesPath(acctA)+"/"+created.ID, nil).rule(t)
	if got.Name != "first" || got.ID != created.ID {
		t.Fatalf("get %+v", got)
	}

	// PUT replaces the whole rule: description dropped when not sent, egress
	// removed (default egress), id and created_at kept.
	mu.Lock()
	clock = now.Add(time.Hour)
	mu.Unlock()
	put := map[string]any{"name": "renamed", "precedence": 600, "enabled": false, "action": "egress",
		"filters": []string{"egress"}, "traffic": "net.dst.port == 80"}
	r := c.do("PUT", rulesPath(acctA)+"/"+created.ID, put)
	if r.Status != 200 {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	p := r.rule(t)
	if p.ID != created.ID || !p.CreatedAt.Equal(now) || !p.UpdatedAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("put changed identity/timestamps: %+v", p)
	}
	if p.Name != "renamed" || p.Enabled || p.Precedence != 600 || p.RuleSettings.Egress != nil || p.Version != 2 {
		t.Fatalf("put result %+v", p)
	}

	// PUT with precedence 0 (cloudflare-go's zero value) keeps the precedence.
	put["precedence"] = 0
	p = c.do("PUT", rulesPath(acctA)+"/"+created.ID, put).rule(t)
	if p.Precedence != 600 {
		t.Fatalf("put precedence 0: got %d, want 600 kept", p.Precedence)
	}

	// PATCH changes only the given fields.
	r = c.do("PATCH", rulesPath(acctA)+"/"+created.ID, map[string]any{"description": "patched", "enabled": true})
	pa := r.rule(t)
	if pa.Description != "patched" || !pa.Enabled || pa.Name != "renamed" || pa.Traffic != "net.dst.port == 80" || pa.Precedence != 600 {
		t.Fatalf("patch result %+v", pa)
	}
	// PATCH is validated too.
	r = c.do("PATCH", rulesPath(acctA)+"/"+created.ID, map[string]any{"name": ""})
	if r.Status != 400 || !strings.Contains(r.msg(), "name") {
		t.Fatalf("patch with empty name: %d %s", r.Status, r.Body)
	}
	r = c.do("PATCH", rulesPath(acctA)+"/"+created.ID, "[1,2]")
	if r.Status != 400 || r.code() != CodeBadJSON {
		t.Fatalf("patch with a list: %d %s", r.Status, r.Body)
	}

	// Unknown IDs are 404 for every verb.
	for _, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
		r := c.do(m, rulesPath(acctA)+"/does-not-exist", egressRule("x", 1))
		if r.Status != 404 || r.code() != CodeNotFound {
			t.Fatalf("%s unknown id: %d %s", m, r.Status, r.Body)
		}
	}

	r = c.do("DELETE", rulesPath(acctA)+"/"+created.ID, nil)
	if r.Status != 200 || !r.Env.Success {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if len(e.Rules(acctA)) != 0 {
		t.Fatal("rule still stored after delete")
	}
	if r := c.do("DELETE", rulesPath(acctA)+"/"+created.ID, nil); r.Status != 404 {
		t.Fatalf("second delete: %d", r.Status)
	}

	// History: a snapshot after every successful write (create, 2 puts, patch, delete).
	h := e.History(acctA)
	if len(h) != 5 {
		t.Fatalf("history has %d snapshots, want 5", len(h))
	}
	if len(h[0]) != 1 || h[0][0].Name != "first" || h[1][0].Name != "renamed" || len(h[4]) != 0 {
		t.Fatalf("history content wrong: %+v", h)
	}
	e.ClearHistory()
	if len(e.History(acctA)) != 0 {
		t.Fatal("ClearHistory kept snapshots")
	}
}

func TestBadJSON(t *testing.T) {
	_, c := start(t, Config{})
	for _, body := range []string{"", "{", `{"precedence":-1,"name":"x"}`, `{"filters":"egress"}`} {
		r := c.do("POST", rulesPath(acctA), body)
		if r.Status != 400 || r.code() != CodeBadJSON {
			t.Errorf("body %q: %d %s", body, r.Status, r.Body)
		}
	}
}

// --- validation ------------------------------------------------------------

func TestValidation(t *testing.T) {
	_, c := start(t, Config{})
	mod := func(f func(m map[string]any)) map[string]any {
		m := egressRule("v", 0)
		f(m)
		return m
	}
	eg := func(ipv4, ipv6, fb string) func(m map[string]any) {
		return func(m map[string]any) {
			m["rule_settings"] = map[string]any{"egress": map[string]any{"ipv4": ipv4, "ipv6": ipv6, "ipv4_fallback": fb}}
		}
	}
	cases := []struct {
		name string
		body map[string]any
		want string // substring of the message; "" = accepted
	}{
		{"valid dedicated", mod(func(map[string]any) {}), ""},
		{"valid fallback 0.0.0.0", mod(eg("203.0.113.10", "2001:db8:10::/64", "0.0.0.0")), ""},
		{"ipv6 by meaning (upper case, unmasked zeros)", mod(eg("203.0.113.20", "2001:DB8:20:0::/64", "203.0.113.10")), ""},
		{"default egress (no settings)", mod(func(m map[string]any) { delete(m, "rule_settings") }), ""},
		{"default egress (egress null)", mod(func(m map[string]any) { m["rule_settings"] = map[string]any{"egress": nil, "block_reason": ""} }), ""},
		{"empty name", mod(func(m map[string]any) { m["name"] = "  " }), "name"},
		{"no filter", mod(func(m map[string]any) { m["filters"] = []string{} }), "exactly one filter"},
		{"two filters", mod(func(m map[string]any) { m["filters"] = []string{"egress", "dns"} }), "exactly one filter"},
		{"unknown filter", mod(func(m map[string]any) { m["filters"] = []string{"smtp"} }), "unknown filter"},
		{"egress filter wrong action", mod(func(m map[string]any) { m["action"] = "allow" }), "must have action \"egress\""},
		{"egress action wrong filter", mod(func(m map[string]any) { m["filters"] = []string{"l4"} }), "needs filters [\"egress\"]"},
		{"egress settings on dns rule", mod(func(m map[string]any) { m["filters"] = []string{"dns"}; m["action"] = "block" }), "only allowed on egress rules"},
		{"missing fallback", mod(eg("203.0.113.10", "2001:db8:10::/64", "")), "missing ipv4_fallback"},
		{"missing ipv4 and ipv6", mod(eg("", "", "0.0.0.0")), "missing ipv4, ipv6"},
		{"ipv4 not an address", mod(eg("nope", "2001:db8:10::/64", "0.0.0.0")), "not an IPv4 address"},
		{"ipv4 not in inventory", mod(eg("198.51.100.1", "2001:db8:10::/64", "0.0.0.0")), "Account doesn't own dedicated primary IPv4"},
		{"ipv6 not a range", mod(eg("203.0.113.10", "2001:db8:10::1", "0.0.0.0")), "not an IPv6 range"},
		{"ipv6 not in inventory", mod(eg("203.0.113.10", "2001:db8:99::/64", "0.0.0.0")), "dedicated egress IPv6 ranges"},
		{"ipv6 wrong prefix length", mod(eg("203.0.113.10", "2001:db8:10::/48", "0.0.0.0")), "dedicated egress IPv6 ranges"},
		{"fallback not in inventory", mod(eg("203.0.113.10", "2001:db8:10::/64", "198.51.100.9")), "nor 0.0.0.0"},
		{"fallback same as primary", mod(eg("203.0.113.10", "2001:db8:10::/64", "203.0.113.10")), "same colo"},
		{"bad traffic expression", mod(func(m map[string]any) { m["traffic"] = "net.dst.port == (443" }), "traffic: invalid expression"},
		{"unknown field", mod(func(m map[string]any) { m["traffic"] = "net.bogus == 1" }), "traffic: invalid expression"},
		{"bad identity expression", mod(func(m map[string]any) { m["identity"] = "identity.email == \"a" }), "identity: invalid expression"},
		{"bad device_posture expression", mod(func(m map[string]any) { m["device_posture"] = "any(device_posture.checks.passed[*] in {\"a\"}" }), "device_posture: invalid expression"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do("POST", rulesPath(acctA), tc.body)
			if tc.want == "" {
				if r.Status != 200 || !r.Env.Success {
					t.Fatalf("rejected: %d %s", r.Status, r.Body)
				}
				return
			}
			want := CodeValidation
			if strings.Contains(tc.want, "dedicated primary IPv4") {
				want = CodeDedicatedIPv4NotOwned // Cloudflare's answer
			}
			if r.Status != 400 || r.Env.Success || r.code() != want {
				t.Fatalf("status %d code %d, want 400 %d: %s", r.Status, r.code(), want, r.Body)
			}
			if !strings.Contains(r.msg(), tc.want) {
				t.Fatalf("message %q lacks %q", r.msg(), tc.want)
			}
		})
	}
}

func TestFallbackSameColoRejected(t *testing.T) {
	inv := []engine.DedicatedIP{
		{IPv4: netip.MustParseAddr("203.0.113.10"), IPv6Range: netip.MustParsePrefix("2001:db8:10::/64"), Colo: "NRT"},
		{IPv4: netip.MustParseAddr("203.0.113.11"), IPv6Range: netip.MustParsePrefix("2001:db8:11::/64"), Colo: "NRT"},
		{IPv4: netip.MustParseAddr("203.0.113.20"), IPv6Range: netip.MustParsePrefix("2001:db8:20::/64"), Colo: "LAX"},
	}
	_, c := start(t, Config{Inventory: inv})
	m := egressRule("same colo", 0)
	m["rule_settings"] = map[string]any{"egress": map[string]any{"ipv4": "203.0.113.10", "ipv6": "2001:db8:10::/64", "ipv4_fallback": "203.0.113.11"}}
	r := c.do("POST", rulesPath(acctA), m)
	if r.Status != 400 || !strings.Contains(r.msg(), "is in colo NRT, the same colo as ipv4") {
		t.Fatalf("same-colo fallback: %d %s", r.Status, r.Body)
	}
	m["rule_settings"] = map[string]any{"egress": map[string]any{"ipv4": "203.0.113.11", "ipv6": "2001:db8:10::/64", "ipv4_fallback": "203.0.113.20"}}
	if r := c.do("POST", rulesPath(acctA), m); r.Status != 200 {
		t.Fatalf("other-colo fallback: %d %s", r.Status, r.Body)
	}
}

func TestPerAccountInventory(t *testing.T) {
	invB := []engine.DedicatedIP{
		{IPv4: netip.MustParseAddr("198.51.100.1"), IPv6Range: netip.MustParsePrefix("2001:db8:b1::/64"), Colo: "FRA"},
		{IPv4: netip.MustParseAddr("198.51.100.2"), IPv6Range: netip.MustParsePrefix("2001:db8:b2::/64"), Colo: "AMS"},
	}
	_, c := start(t, Config{AccountInventory: map[string][]engine.DedicatedIP{acctB: invB}})
	// A's IP is not B's.
	if r := c.do("POST", rulesPath(acctB), egressRule("x", 0)); r.Status != 400 || r.code() != CodeDedicatedIPv4NotOwned {
		t.Fatalf("A's IP in B: %d %s", r.Status, r.Body)
	}
	m := egressRule("b", 0)
	m["rule_settings"] = map[string]any{"egress": map[string]any{"ipv4": "198.51.100.1", "ipv6": "2001:db8:b1::/64", "ipv4_fallback": "198.51.100.2"}}
	if r := c.do("POST", rulesPath(acctB), m); r.Status != 200 {
		t.Fatalf("B's IP in B: %d %s", r.Status, r.Body)
	}
}

// --- precedence ------------------------------------------------------------

func TestPrecedenceUniqueAcrossAllRules(t *testing.T) {
	e, c := start(t, Config{})
	if err := e.SeedRules(acctA, []Rule{{Name: "dns block", Precedence: 5000, Action: "block", Filters: []string{"dns"}, Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	// An egress rule cannot take a DNS rule's precedence.
	r := c.do("POST", rulesPath(acctA), egressRule("clash", 5000))
	if r.Status != 400 || r.code() != CodePrecedence || !strings.Contains(r.msg(), "5000 is already used") {
		t.Fatalf("clash with dns rule: %d %s", r.Status, r.Body)
	}
	a := mustCreate(t, c, acctA, egressRule("a", 100))
	b := mustCreate(t, c, acctA, egressRule("b", 200))
	// PUT onto another rule's precedence: 400; onto its own: fine.
	body := egressRule("b", 100)
	if r := c.do("PUT", rulesPath(acctA)+"/"+b.ID, body); r.Status != 400 || r.code() != CodePrecedence {
		t.Fatalf("put clash: %d %s", r.Status, r.Body)
	}
	if r := c.do("PATCH", rulesPath(acctA)+"/"+b.ID, map[string]any{"precedence": 5000}); r.Status != 400 || r.code() != CodePrecedence {
		t.Fatalf("patch clash: %d %s", r.Status, r.Body)
	}
	if r := c.do("PUT", rulesPath(acctA)+"/"+b.ID, egressRule("b2", 200)); r.Status != 200 {
		t.Fatalf("put own precedence: %d %s", r.Status, r.Body)
	}
	// Swapping needs a free number first, as Cloudflare requires.
	if r := c.do("PATCH", rulesPath(acctA)+"/"+a.ID, map[string]any{"precedence": 150}); r.Status != 200 {
		t.Fatalf("move a: %d %s", r.Status, r.Body)
	}
	// Order of the list follows precedence: a(150), b(200), dns(5000).
	rs := c.do("GET", rulesPath(acctA), nil).rules(t)
	if len(rs) != 3 || rs[0].ID != a.ID || rs[1].ID != b.ID || rs[2].Name != "dns block" {
		t.Fatalf("order %v", names(rs))
	}
}

func names(rs []Rule) []string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%s@%d", r.Name, r.Precedence))
	}
	return s
}

func TestPrecedenceAssignment(t *testing.T) {
	e, c := start(t, Config{Seed: 7})
	// Empty account: 1000 + 1..100.
	r1 := mustCreate(t, c, acctA, egressRule("one", 0))
	if r1.Precedence < 1001 || r1.Precedence > 1100 {
		t.Fatalf("first assigned precedence %d, want 1001..1100", r1.Precedence)
	}
	// Above the current maximum, whatever kind of rule holds it.
	if err := e.SeedRules(acctA, []Rule{{Name: "http", Precedence: 90000, Action: "allow", Filters: []string{"http"}}}); err != nil {
		t.Fatal(err)
	}
	r2 := mustCreate(t, c, acctA, egressRule("two", 0))
	if r2.Precedence < 90001 || r2.Precedence > 90100 {
		t.Fatalf("second assigned precedence %d, want 90001..90100", r2.Precedence)
	}
	// Max below 1000: still from 1000.
	_, c2 := start(t, Config{Seed: 7})
	mustCreate(t, c2, acctA, egressRule("low", 5))
	r3 := mustCreate(t, c2, acctA, egressRule("auto", 0))
	if r3.Precedence < 1001 || r3.Precedence > 1100 {
		t.Fatalf("assigned precedence %d with max 5, want 1001..1100", r3.Precedence)
	}
	// Deterministic with the seed, random across many creates.
	seen := map[uint64]bool{}
	e3, c3 := start(t, Config{Seed: 99})
	_ = e3
	prev := uint64(1000)
	for i := 0; i < 30; i++ {
		r := mustCreate(t, c3, acctA, egressRule(fmt.Sprint("n", i), 0))
		d := r.Precedence - prev
		if d < 1 || d > 100 {
			t.Fatalf("step %d: precedence %d, previous max %d", i, r.Precedence, prev)
		}
		seen[d] = true
		prev = r.Precedence
	}
	if len(seen) < 5 {
		t.Fatalf("increments are not random: %v", seen)
	}
	_, c4 := start(t, Config{Seed: 99})
	if r := mustCreate(t, c4, acctA, egressRule("n0", 0)); r.Precedence != c3.firstPrecedence(t) {
		t.Fatalf("same seed, different first precedence")
	}
}

func (c *client) firstPrecedence(t *testing.T) uint64 {
	rs := c.do("GET", rulesPath(acctA), nil).rules(t)
	return rs[0].Precedence
}

// --- expression reformatting ---------------------------------------------

func TestReformat(t *testing.T) {
	cases := []struct{ in, want string }{
		{"net.dst.port == 443", "net.dst.port == 443"},
		{"  net.dst.port   ==\t443\n", "net.dst.port == 443"},
		{"a==1&&b==2", "a == 1 and b == 2"},
		{"a == 1 || b == 2", "a == 1 or b == 2"},
		{"(a == 1 &&\n  b == 2)||c", "(a == 1 and b == 2) or c"},
		{`x == "a  &&  b || c"`, `x == "a  &&  b || c"`},
		{`x == "q\"  &&" && y`, `x == "q\"  &&" and y`},
		{"net.dst.port in {443   80}", "net.dst.port in {443 80}"},
		{"net.dst.port in { 443 80 }", "net.dst.port in {443 80}"},
		{"", ""},
		// parentheses: groups inside other groups, none around comparisons
		{"a == 1 and b == 2 or c == 3", "(a == 1 and b == 2) or c == 3"},
		{"a == 1 or b == 2 and c == 3", "a == 1 or (b == 2 and c == 3)"},
		{"((a == 1))", "a == 1"},
		{"(a == 1 and (b == 2 and c == 3))", "a == 1 and b == 2 and c == 3"},
		{"!(a == 1 || b == 2) && c == 3", "not(a == 1 or b == 2) and c == 3"},
		{"not a == 1", "not(a == 1)"},
		{"not not(a == 1)", "not(not(a == 1))"},
		// spaces in calls, brackets and fields
		{`any( dns.domains[ * ]  ==  "x" )`, `any(dns.domains[*] == "x")`},
		{`any(identity.groups[*] .name in {"a" "b"})`, `any(identity.groups[*].name in {"a" "b"})`},
		{`identity.saml_attributes["k"]=="v"`, `identity.saml_attributes["k"] == "v"`},
		{"net.dst.port in $abc-123", "net.dst.port in $abc-123"},
		// escapes
		{`x == "\x41\x2e\x22\x5c\x0a\n"`, `x == "A.\"\\\x0a\n"`},
		{`x == r"\x41"`, `x == r"\x41"`},
		{`x == r#"a"b"#`, `x == r#"a"b"#`},
		// unreadable: whitespace and &&/|| only
		{"(a == 1 &&  b", "(a == 1 and b"},
		{`x == "open`, `x == "open`},
	}
	for _, tc := range cases {
		if got := Reformat(tc.in); got != tc.want {
			t.Errorf("Reformat(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStoredExpressionsAreReformatted(t *testing.T) {
	e, c := start(t, Config{})
	m := egressRule("fmt", 0)
	m["traffic"] = "net.dst.port   in {443  80}\n&& net.protocol == \"tcp\""
	m["identity"] = "identity.email == \"a@example.com\" || identity.email == \"b@example.com\""
	got := mustCreate(t, c, acctA, m)
	wantT := `net.dst.port in {443 80} and net.protocol == "tcp"`
	wantI := `identity.email == "a@example.com" or identity.email == "b@example.com"`
	if got.Traffic != wantT || got.Identity != wantI {
		t.Fatalf("stored %q / %q", got.Traffic, got.Identity)
	}
	if s := e.Rules(acctA)[0]; s.Traffic != wantT {
		t.Fatalf("raw stored %q", s.Traffic)
	}
	p := c.do("PATCH", rulesPath(acctA)+"/"+got.ID, map[string]any{"traffic": "net.dst.port == 22 || net.dst.port == 2222"}).rule(t)
	if p.Traffic != "net.dst.port == 22 or net.dst.port == 2222" {
		t.Fatalf("patched %q", p.Traffic)
	}
}

// --- seeded rules ------------------------------------------------------------

func TestSeededRulesSurvive(t *testing.T) {
	e, c := start(t, Config{})
	seed := []Rule{
		{ID: "dns-1", Name: "block bad", Precedence: 10, Action: "block", Filters: []string{"dns"}, Enabled: true,
			Traffic:      "any(dns.content_category[*] in {80})",
			RuleSettings: RuleSettings{Other: map[string]json.RawMessage{"block_page_enabled": json.RawMessage("true"), "block_reason": json.RawMessage(`"nope"`)}}},
		{ID: "l4-1", Name: "ssh", Precedence: 20, Action: "audit_ssh", Filters: []string{"l4"}, Traffic: "net.dst.port == 22"},
		{ID: "http-1", Name: "no inspect", Precedence: 30, Action: "off", Filters: []string{"http"}, Traffic: "http.request.host == \"x\""},
		{ID: "legacy-1", Name: "legacy egress", Precedence: 40, Action: "egress", Filters: []string{"egress"}, Enabled: true,
			Traffic:      "net.dst.port == 25",
			RuleSettings: RuleSettings{Egress: &EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64"}}},
	}
	if err := e.SeedRules(acctA, seed); err != nil {
		t.Fatal(err)
	}
	// What the provider does: create, update, delete egress rules.
	a := mustCreate(t, c, acctA, egressRule("managed", 0))
	if r := c.do("PUT", rulesPath(acctA)+"/"+a.ID, egressRule("managed2", a.Precedence)); r.Status != 200 {
		t.Fatalf("put: %s", r.Body)
	}
	if r := c.do("DELETE", rulesPath(acctA)+"/"+a.ID, nil); r.Status != 200 {
		t.Fatalf("delete: %s", r.Body)
	}
	rs := c.do("GET", rulesPath(acctA), nil).rules(t)
	if len(rs) != 4 {
		t.Fatalf("after provider writes: %v", names(rs))
	}
	for i, want := range seed {
		got := rs[i]
		if got.ID != want.ID || got.Name != want.Name || got.Traffic != want.Traffic || got.Precedence != want.Precedence || got.Action != want.Action {
			t.Fatalf("seeded rule %d changed: %+v", i, got)
		}
	}
	if string(rs[0].RuleSettings.Other["block_reason"]) != `"nope"` {
		t.Fatalf("dns rule settings lost: %s", mustJSON(rs[0].RuleSettings))
	}
	if eg := rs[3].RuleSettings.Egress; eg == nil || eg.IPv4Fallback != "" {
		t.Fatalf("legacy egress rule changed: %+v", eg)
	}
	// The legacy rule is readable, but a client PUT of it as is is rejected
	// (Cloudflare now requires the fallback).
	if r := c.do("GET", rulesPath(acctA)+"/legacy-1", nil); r.Status != 200 {
		t.Fatalf("get legacy: %d", r.Status)
	}
	legacy := rs[3]
	if r := c.do("PUT", rulesPath(acctA)+"/legacy-1", legacy); r.Status != 400 || !strings.Contains(r.msg(), "ipv4_fallback") {
		t.Fatalf("put legacy without fallback: %d %s", r.Status, r.Body)
	}
	// Reset restores the seeded baseline.
	mustCreate(t, c, acctA, egressRule("temp", 0))
	e.Reset()
	if got := e.Rules(acctA); len(got) != 4 {
		t.Fatalf("after reset: %v", names(got))
	}
	// Seed validation.
	if err := e.SeedRules(acctA, []Rule{{Name: "dup", Precedence: 10, Filters: []string{"dns"}}}); err == nil {
		t.Fatal("seeding a duplicate precedence succeeded")
	}
	if err := e.SeedRules(acctA, []Rule{{Name: "", Filters: []string{"dns"}}}); err == nil {
		t.Fatal("seeding an unnamed rule succeeded")
	}
	if err := e.SeedRules("nope", nil); err == nil {
		t.Fatal("seeding an unknown account succeeded")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOutOfBandHelpers(t *testing.T) {
	e, c := start(t, Config{})
	r, err := e.PutRule(acctA, Rule{Name: "drift", Precedence: 77, Action: "egress", Filters: []string{"egress"}, Traffic: "bogus &&  stuff"})
	if err != nil {
		t.Fatal(err)
	}
	// PutRule bypasses validation and reformatting.
	if got := c.do("GET", rulesPath(acctA)+"/"+r.ID, nil).rule(t); got.Traffic != "bogus &&  stuff" {
		t.Fatalf("PutRule stored %q", got.Traffic)
	}
	r.Name = "drift2"
	if _, err := e.PutRule(acctA, r); err != nil {
		t.Fatal(err)
	}
	if got := e.Rules(acctA); len(got) != 1 || got[0].Name != "drift2" || got[0].Version != 2 {
		t.Fatalf("PutRule replace: %+v", got)
	}
	// InsertRule validates like the API.
	if _, err := e.InsertRule(acctA, Rule{Name: "x", Precedence: 77, Action: "egress", Filters: []string{"egress"}}); err == nil {
		t.Fatal("InsertRule accepted a precedence clash")
	}
	ins, err := e.InsertRule(acctA, Rule{Name: "x", Action: "egress", Filters: []string{"egress"}, Traffic: "net.dst.port==1||net.dst.port==2"})
	if err != nil {
		t.Fatal(err)
	}
	if ins.Traffic != "net.dst.port == 1 or net.dst.port == 2" || ins.Precedence <= 1000 {
		t.Fatalf("InsertRule stored %+v", ins)
	}
	if err := e.DeleteRule(acctA, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteRule(acctA, r.ID); err == nil {
		t.Fatal("deleting twice succeeded")
	}
	if len(e.History(acctA)) != 0 {
		t.Fatal("out-of-band edits recorded in history")
	}
}

// --- persistence -------------------------------------------------------------

func TestPersistenceAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	e1, c1 := start(t, Config{StatePath: path, Seed: 3})
	if err := e1.SeedRules(acctA, []Rule{{ID: "dns-1", Name: "dns", Precedence: 10, Action: "block", Filters: []string{"dns"}}}); err != nil {
		t.Fatal(err)
	}
	a := mustCreate(t, c1, acctA, egressRule("keep me", 0))
	b := mustCreate(t, c1, acctB, egressRule("in B", 0))
	c1.do("PATCH", rulesPath(acctA)+"/"+a.ID, map[string]any{"description": "patched"})
	want := e1.Rules(acctA)
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart with the same seed: rules are back, and new IDs never collide.
	e2, c2 := start(t, Config{StatePath: path, Seed: 3})
	got := c2.do("GET", rulesPath(acctA), nil).rules(t)
	if mustJSON(got) != mustJSON(want) {
		t.Fatalf("after restart:\n got %s\nwant %s", mustJSON(got), mustJSON(want))
	}
	if rb := e2.Rules(acctB); len(rb) != 1 || rb[0].ID != b.ID {
		t.Fatalf("account B after restart: %+v", rb)
	}
	n := mustCreate(t, c2, acctA, egressRule("new", 0))
	if n.ID == a.ID || n.ID == b.ID {
		t.Fatal("generated ID collides with a persisted one")
	}
	// No temp files left behind.
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state.json.tmp-*"))
	if len(matches) != 0 {
		t.Fatalf("temp files left: %v", matches)
	}
}

func TestCorruptStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := writeFileAtomic(path, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Config{StatePath: path}); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("Load with a corrupt state file: %v", err)
	}
}

// --- faults ------------------------------------------------------------------

func TestRateLimitWindow(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	e, c := start(t, Config{RateLimit: 3, RateWindow: 10 * time.Second, Now: now})
	for i := 0; i < 3; i++ {
		if r := c.do("GET", rulesPath(acctA), nil); r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
	}
	r := c.do("GET", rulesPath(acctA), nil)
	if r.Status != 429 || r.code() != CodeRateLimited || r.Header.Get("Retry-After") != "10" {
		t.Fatalf("over the limit: %d Retry-After=%q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	mu.Lock()
	clock = clock.Add(4 * time.Second)
	mu.Unlock()
	if r := c.do("GET", rulesPath(acctA), nil); r.Status != 429 || r.Header.Get("Retry-After") != "6" {
		t.Fatalf("still over: %d %q", r.Status, r.Header.Get("Retry-After"))
	}
	mu.Lock()
	clock = clock.Add(6 * time.Second)
	mu.Unlock()
	if r := c.do("GET", rulesPath(acctA), nil); r.Status != 200 {
		t.Fatalf("after the window: %d", r.Status)
	}
	s := e.Stats()
	if s.Faults["rate_limited"] != 2 || s.Requests != 6 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDefaultRateLimitIsCloudflares(t *testing.T) {
	e := New(Config{})
	if e.cfg.RateLimit != 1200 || e.cfg.RateWindow != 300*time.Second {
		t.Fatalf("defaults %d/%s", e.cfg.RateLimit, e.cfg.RateWindow)
	}
	if e.faults.RetryAfter != time.Second {
		t.Fatalf("default RetryAfter %s", e.faults.RetryAfter)
	}
}

func TestRandom429(t *testing.T) {
	e, c := start(t, Config{Faults: Faults{Rate429: 1, RetryAfter: 3 * time.Second}})
	r := c.do("GET", rulesPath(acctA), nil)
	if r.Status != 429 || r.Header.Get("Retry-After") != "3" || r.code() != CodeRateLimited {
		t.Fatalf("got %d %q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	e.SetFaults(Faults{Rate429: 1, RetryAfter: -1})
	if r := c.do("GET", rulesPath(acctA), nil); r.Header.Get("Retry-After") != "0" {
		t.Fatalf("negative RetryAfter: %q", r.Header.Get("Retry-After"))
	}
	e.SetFaults(Faults{})
	if r := c.do("GET", rulesPath(acctA), nil); r.Status != 200 {
		t.Fatalf("after SetFaults(off): %d", r.Status)
	}
	if got := e.Stats().Faults["429"]; got != 2 {
		t.Fatalf("429 faults counted %d", got)
	}
}

func Test5xxDoesNothing(t *testing.T) {
	e, c := start(t, Config{Faults: Faults{Rate5xx: 1}})
	for i := 0; i < 10; i++ {
		r := c.do("POST", rulesPath(acctA), egressRule("x", 0))
		if r.Status < 500 || r.Status > 503 || r.Env.Success {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	}
	if n := len(e.Rules(acctA)); n != 0 {
		t.Fatalf("a 5xx applied %d writes", n)
	}
}

func TestDropConnection(t *testing.T) {
	e, c := start(t, Config{Faults: Faults{RateDrop: 1}})
	if _, err := c.try("POST", rulesPath(acctA), egressRule("x", 0)); err == nil {
		t.Fatal("dropped connection returned a response")
	}
	if n := len(e.Rules(acctA)); n != 0 {
		t.Fatal("a dropped request was applied")
	}
	if e.Stats().Faults["drop"] != 1 {
		t.Fatalf("stats %+v", e.Stats())
	}
}

func TestLostResponseAppliesWrite(t *testing.T) {
	e, c := start(t, Config{Seed: 5, Faults: Faults{RateLostResponse: 1}})
	sawDrop, saw502 := false, false
	for i := 0; i < 12; i++ {
		r, err := c.try("POST", rulesPath(acctA), egressRule(fmt.Sprint("lost", i), 0))
		switch {
		case err != nil:
			sawDrop = true
		case r.Status == 502:
			saw502 = true
		default:
			t.Fatalf("lost response answered %d %s", r.Status, r.Body)
		}
		if n := len(e.Rules(acctA)); n != i+1 {
			t.Fatalf("write %d not applied (have %d rules)", i, n)
		}
	}
	if !sawDrop || !saw502 {
		t.Fatalf("want both kinds of lost answers, drop=%v 502=%v", sawDrop, saw502)
	}
	// Reads are never "lost".
	if r := c.do("GET", rulesPath(acctA), nil); r.Status != 200 {
		t.Fatalf("read with lost-response fault: %d", r.Status)
	}
	if e.Stats().Faults["lost_response"] != 12 || len(e.History(acctA)) != 12 {
		t.Fatalf("stats %+v history %d", e.Stats(), len(e.History(acctA)))
	}
}

func TestLatency(t *testing.T) {
	_, c := start(t, Config{Faults: Faults{Latency: 150 * time.Millisecond}})
	t0 := time.Now()
	c.do("GET", rulesPath(acctA), nil)
	if d := time.Since(t0); d < 150*time.Millisecond {
		t.Fatalf("request took %s, want >= 150ms", d)
	}
}

func TestFaultsDeterministicWithSeed(t *testing.T) {
	run := func(seed int64) string {
		e := New(Config{Token: testToken, Seed: seed, Faults: Faults{Rate429: 0.3, Rate5xx: 0.3}})
		h := e.Handler()
		var out []string
		for i := 0; i < 40; i++ {
			req, _ := http.NewRequest("GET", rulesPath(acctA), nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			w := &recorder{h: http.Header{}}
			h.ServeHTTP(w, req)
			out = append(out, fmt.Sprint(w.code))
		}
		return strings.Join(out, ",")
	}
	a, b, c := run(11), run(11), run(12)
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if a == c {
		t.Fatalf("different seeds, same faults: %s", a)
	}
	if !strings.Contains(a, "429") || !strings.Contains(a, "200") || (!strings.Contains(a, "500") && !strings.Contains(a, "502") && !strings.Contains(a, "503")) {
		t.Fatalf("fault mix: %s", a)
	}
}

type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }

// --- stats and admin endpoints --------------------------------------------

func TestStatsAndAdminEndpoints(t *testing.T) {
	e, c := start(t, Config{})
	a := mustCreate(t, c, acctA, egressRule("a", 0))
	c.do("GET", rulesPath(acctA), nil)
	c.do("GET", "/accounts/"+acctA+"/gateway/rules", nil)
	c.do("GET", rulesPath(acctA)+"/"+a.ID, nil)
	c.do("PUT", rulesPath(acctA)+"/"+a.ID, egressRule("a", a.Precedence))
	c.do("PATCH", rulesPath(acctA)+"/"+a.ID, map[string]any{"enabled": false})
	c.do("DELETE", rulesPath(acctA)+"/"+a.ID, nil)
	c.do("GET", "/client/v4/zones", nil)

	noAuth := &client{t: t, base: c.base, hc: c.hc}
	r := noAuth.do("GET", "/__emulator/stats", nil)
	var s Stats
	if err := json.Unmarshal(r.Body, &s); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"POST " + RouteRules: 1, "GET " + RouteRules: 2, "GET " + RouteRule: 1,
		"PUT " + RouteRule: 1, "PATCH " + RouteRule: 1, "DELETE " + RouteRule: 1, "GET (unknown)": 1,
	}
	if s.Requests != 8 || mustJSON(s.ByRoute) != mustJSON(want) {
		t.Fatalf("stats %+v, want 8 requests and %v", s, want)
	}
	if mustJSON(e.Stats()) != mustJSON(s) {
		t.Fatal("Stats() and /__emulator/stats disagree")
	}

	mustCreate(t, c, acctA, egressRule("b", 0))
	r = noAuth.do("GET", "/__emulator/accounts/"+acctA+"/rules", nil)
	if rs := r.rules(t); len(rs) != 1 || rs[0].Name != "b" {
		t.Fatalf("admin rules: %s", r.Body)
	}
	if r := noAuth.do("GET", "/__emulator/accounts/"+acctB+"/rules", nil); len(r.rules(t)) != 0 {
		t.Fatalf("admin rules of B: %s", r.Body)
	}
	if r := noAuth.do("GET", "/__emulator/accounts/00000000000000000000000000000000/rules", nil); r.Status != 404 {
		t.Fatalf("admin rules of unknown account: %d", r.Status)
	}
	if r := noAuth.do("POST", "/__emulator/reset", nil); r.Status != 200 {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	if len(e.Rules(acctA)) != 0 || e.Stats().Requests != 0 {
		t.Fatalf("after reset: rules %d stats %+v", len(e.Rules(acctA)), e.Stats())
	}
	if r := noAuth.do("GET", "/__emulator/nope", nil); r.Status != 404 {
		t.Fatalf("unknown admin endpoint: %d", r.Status)
	}
}

// --- contract: the bytes cloudflare-go sends --------------------------------

func TestAcceptsCloudflareGoZeroValues(t *testing.T) {
	// What cloudflare-go v0.119.0's TeamsRule marshals to for a default
	// egress rule: precedence 0, description "", version 0, every
	// rule_settings field zero-valued.
	body := `{"name":"default for the rest","description":"","precedence":0,"enabled":true,"action":"egress","filters":["egress"],"traffic":"net.dst.port in {443 80}","identity":"","device_posture":"","version":0,"rule_settings":{"override_ips":null,"block_reason":"","override_host":"","biso_admin_controls":null,"l4override":null,"add_headers":null,"check_session":null,"block_page_enabled":false,"insecure_disable_dnssec_validation":false,"egress":null,"payload_log":null,"audit_ssh":null,"ip_categories":false,"ignore_cname_category_matches":null,"untrusted_cert":null,"notification_settings":null}}`
	_, c := start(t, Config{})
	r := c.do("POST", rulesPath(acctA), body)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	got := r.rule(t)
	if got.Precedence <= 1000 || got.RuleSettings.Egress != nil || got.Version != 1 {
		t.Fatalf("stored %+v", got)
	}
	// An all-empty egress object is default egress, not a validation error.
	body2 := strings.Replace(body, `"egress":null`, `"egress":{"ipv6":"","ipv4":"","ipv4_fallback":""}`, 1)
	body2 = strings.Replace(body2, "default for the rest", "empty egress", 1)
	if r := c.do("POST", rulesPath(acctA), body2); r.Status != 200 || r.rule(t).RuleSettings.Egress != nil {
		t.Fatalf("empty egress object: %d %s", r.Status, r.Body)
	}
	// The other settings round-trip.
	var raw map[string]map[string]json.RawMessage
	_ = json.Unmarshal(r.Env.Result, &raw)
	if _, ok := raw["rule_settings"]["block_page_enabled"]; !ok {
		t.Fatalf("rule_settings fields dropped: %s", r.Env.Result)
	}
}

func TestRuleSettingsJSON(t *testing.T) {
	in := `{"block_reason":"x","egress":{"ipv4":"1.2.3.4","ipv6":"2001:db8::/64","ipv4_fallback":"0.0.0.0"},"override_ips":null}`
	var s RuleSettings
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	if s.Egress == nil || s.Egress.IPv4Fallback != "0.0.0.0" || string(s.Other["block_reason"]) != `"x"` {
		t.Fatalf("%+v", s)
	}
	out, _ := json.Marshal(s)
	if string(out) != in {
		t.Fatalf("round trip:\n got %s\nwant %s", out, in)
	}
	var n RuleSettings
	if err := json.Unmarshal([]byte("null"), &n); err != nil || n.Egress != nil {
		t.Fatal("null settings")
	}
	if b, _ := json.Marshal(RuleSettings{}); string(b) != `{"egress":null}` {
		t.Fatalf("zero settings: %s", b)
	}
}
