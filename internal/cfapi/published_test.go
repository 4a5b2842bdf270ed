package cfapi

// Tests of the API layer against behaviours Cloudflare has published (each
// case names its source), served by httptest servers that answer exactly
// as those sources show.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ruleCall is one operation on a rule ID path.
type ruleCall struct {
	name string
	call func(ctx context.Context, a *API) error
}

func ruleIDCalls() []ruleCall {
	r := Rule{ID: "8ddd1a4c-64d7-42e5-aced-6d3ab82dd365", Name: "gone", Enabled: true, Action: "egress",
		Filters: []string{"egress"}, Traffic: "net.dst.port == 443"}
	return []ruleCall{
		{"GET", func(ctx context.Context, a *API) error { _, err := a.GetRule(ctx, testAccount, r.ID); return err }},
		{"PUT", func(ctx context.Context, a *API) error { _, err := a.UpdateRule(ctx, testAccount, r); return err }},
		{"DELETE", func(ctx context.Context, a *API) error { return a.DeleteRule(ctx, testAccount, r.ID) }},
	}
}

// TestNotFoundAnswersOnRuleIDPaths: Cloudflare has answered an unknown or
// deleted rule ID in three ways; each means "gone" on GET, PUT and DELETE.
func TestNotFoundAnswersOnRuleIDPaths(t *testing.T) {
	t.Parallel()
	answers := []struct {
		name   string
		status int
		errs   []map[string]any
	}{
		{"404", 404, []map[string]any{cfErr(1001, "not found")}},
		// cloudflare/terraform-provider-cloudflare#1618 (2022-05-11): a GET of a
		// deleted Teams rule answers "invalid rule id"; #1622: "we should be
		// returning a 404 here; not a 400".
		{"400 invalid rule id", 400, []map[string]any{cfErr(2, "invalid rule id")}},
		{"400 invalid rule id, no code", 400, []map[string]any{{"message": "Invalid rule ID"}}},
		// cloudflare/terraform-provider-cloudflare#3223 (2024-04-03): GET of a
		// rule ID the endpoint does not serve answers code 7003.
		{"400 7003", 400, []map[string]any{
			cfErr(7003, "Could not route to /client/v4/accounts/"+testAccount+"/gateway/rules/8ddd1a4c-64d7-42e5-aced-6d3ab82dd365, perhaps your object identifier is invalid?"),
			cfErr(7000, "No route for that URI"),
		}},
	}
	for _, ans := range answers {
		for _, rc := range ruleIDCalls() {
			t.Run(ans.name+"/"+rc.name, func(t *testing.T) {
				t.Parallel()
				f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
					writeEnvelope(w, ans.status, nil, ans.errs...)
				})
				a, _ := newTestAPI(t, f.URL, nil)
				err := rc.call(context.Background(), a)
				if !IsNotFound(err) {
					t.Fatalf("err = %v (kind %v), want not_found", err, KindOf(err))
				}
				if !strings.Contains(err.Error(), "not found") {
					t.Errorf("message %q does not say not found", err)
				}
				if n := len(f.requests()); n != 1 {
					t.Errorf("%d requests, want 1 (not found is not retried)", n)
				}
			})
		}
	}
}

// TestRouteErrorOnListIsNotNotFound: 7003 on the list path (a malformed
// account ID) is a bad request naming account_id, never "every rule is gone".
func TestRouteErrorOnListIsNotNotFound(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
		writeEnvelope(w, 400, nil, cfErr(7003, "Could not route to /client/v4/accounts/xyz/gateway/rules, perhaps your object identifier is invalid?"))
	})
	a, _ := newTestAPI(t, f.URL, nil)
	_, err := a.ListRules(context.Background(), testAccount)
	if KindOf(err) != KindValidation || !strings.Contains(err.Error(), "account_id") {
		t.Errorf("err = %v (%v), want a validation error naming account_id", err, KindOf(err))
	}
}

// TestDeleteLostThenInvalidRuleIDIsSuccess: a delete whose answer was lost
// and whose retry is answered "invalid rule id" deleted the rule.
func TestDeleteLostThenInvalidRuleIDIsSuccess(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
		if n == 1 {
			dropConn(t, w)
			return
		}
		writeEnvelope(w, 400, nil, cfErr(2, "invalid rule id"))
	})
	a, _ := newTestAPI(t, f.URL, nil)
	if err := a.DeleteRule(context.Background(), testAccount, "r1"); err != nil {
		t.Errorf("err = %v, want nil", err)
	}
}

// TestForbidden10000NamesBothCauses: 403 with code 10000 is what Cloudflare
// answers for a bad token and for a token without the permission, so the
// message says both and names the permission the call needs.
func TestForbidden10000NamesBothCauses(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
		writeEnvelope(w, 403, nil, cfErr(10000, "Authentication error"))
	})
	a, _ := newTestAPI(t, f.URL, nil)
	ctx := context.Background()
	_, readErr := a.ListRules(ctx, testAccount)
	_, writeErr := a.CreateRule(ctx, testAccount, Rule{Name: "x", Action: "egress", Filters: []string{"egress"}})
	for _, c := range []struct {
		name string
		err  error
		want []string
	}{
		{"read", readErr, []string{"HTTP 403", "10000", "invalid, expired or revoked", "permission", PermissionZeroTrustRead, RoleGatewayPoliciesRead, "api_token"}},
		{"write", writeErr, []string{"HTTP 403", "10000", "invalid, expired or revoked", "permission", PermissionZeroTrustEdit, RoleGatewayEgressPoliciesAdmin}},
	} {
		if KindOf(c.err) != KindAuthentication {
			t.Errorf("%s: kind %v, want authentication", c.name, KindOf(c.err))
		}
		for _, s := range c.want {
			if !strings.Contains(c.err.Error(), s) {
				t.Errorf("%s: %q lacks %q", c.name, c.err, s)
			}
		}
	}
}

// TestCode2055IsTheDedicatedIPv4: "Account doesn't own dedicated primary
// IPv4" (error code 2055, quoted in the official provider's
// internal/services/zero_trust_gateway_policy/resource_test.go,
// TestAccCloudflareTeamsRule_EgressDedicated) is recognisable by its code so
// the provider can point at the policy's egress.ipv4.
func TestCode2055IsTheDedicatedIPv4(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
		writeEnvelope(w, 400, nil, cfErr(CodeDedicatedIPv4NotOwned, "Account doesn't own dedicated primary IPv4"))
	})
	a, _ := newTestAPI(t, f.URL, nil)
	_, err := a.CreateRule(context.Background(), testAccount, Rule{Name: "x", Action: "egress", Filters: []string{"egress"},
		Egress: &EgressSettings{IPv4: "192.0.2.1", IPv6: "2001:db8::/64", IPv4Fallback: "0.0.0.0"}})
	if !IsDedicatedIPv4NotOwned(err) || !HasCode(err, 2055) || !IsValidation(err) {
		t.Fatalf("err = %v: want a validation error with code 2055", err)
	}
	if !strings.Contains(err.Error(), "egress.ipv4") {
		t.Errorf("message %q does not point at egress.ipv4", err)
	}
	if IsDedicatedIPv4NotOwned(&Error{Kind: KindValidation, Codes: []int{2001}}) || IsDedicatedIPv4NotOwned(nil) {
		t.Error("other errors are not 2055")
	}
}

// TestListNeverReturnsAPartialList: the list is one page (SPEC §6); an
// answer whose result_info says there is more than it carries is an error,
// because a caller would read the missing rules as deleted.
func TestListNeverReturnsAPartialList(t *testing.T) {
	t.Parallel()
	rules := []any{apiRule("a", "a", 1000, nil), apiRule("b", "b", 2000, nil)}
	cases := []struct {
		name string
		info map[string]any
		ok   bool
	}{
		{"no result_info", nil, true},
		{"complete", map[string]any{"page": 1, "per_page": 2, "count": 2, "total_count": 2, "total_pages": 1}, true},
		{"more pages", map[string]any{"page": 1, "per_page": 2, "count": 2, "total_count": 2, "total_pages": 3}, false},
		{"more rules", map[string]any{"page": 1, "per_page": 50, "count": 2, "total_count": 7}, false},
		{"count beyond result", map[string]any{"count": 5}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
				body := map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": rules}
				if c.info != nil {
					body["result_info"] = c.info
				}
				writeJSONBody(w, 200, body)
			})
			a, _ := newTestAPI(t, f.URL, nil)
			got, err := a.ListRules(context.Background(), testAccount)
			if c.ok {
				if err != nil || len(got) != 2 {
					t.Fatalf("ListRules = %d rules, %v", len(got), err)
				}
				return
			}
			if err == nil || got != nil {
				t.Fatalf("ListRules = %d rules, %v: want an error and no rules", len(got), err)
			}
			if !errors.Is(err, ErrIncompleteList) || !strings.Contains(err.Error(), "result_info") ||
				!strings.Contains(err.Error(), "2 rules") {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// TestSharedAndWarnedRulesAreMapped: read_only, sharable, source_account and
// warning_status (Cloudflare's OpenAPI, as cloudflare-go v7's GatewayRule
// carries them) reach cfapi.Rule; a rule without filters but with action
// egress is an egress rule.
func TestSharedAndWarnedRulesAreMapped(t *testing.T) {
	t.Parallel()
	shared := apiRule("s", "from parent", 100, map[string]string{"ipv4": "203.0.113.10", "ipv6": "2001:db8:10::/64", "ipv4_fallback": "0.0.0.0"})
	shared["read_only"] = true
	shared["sharable"] = true
	shared["source_account"] = "fedcba9876543210fedcba9876543210"
	shared["warning_status"] = "The dedicated egress IP is not available in this data center"
	nofilters := apiRule("n", "no filters", 200, nil)
	delete(nofilters, "filters")
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
		writeEnvelope(w, 200, []any{shared, nofilters})
	})
	a, _ := newTestAPI(t, f.URL, nil)
	rules, err := a.ListRules(context.Background(), testAccount)
	if err != nil || len(rules) != 2 {
		t.Fatalf("ListRules = %v, %v", rules, err)
	}
	got := rules[0]
	want := Rule{ReadOnly: true, Sharable: true, SourceAccount: "fedcba9876543210fedcba9876543210",
		WarningStatus: "The dedicated egress IP is not available in this data center"}
	if d := cmp.Diff(want, Rule{ReadOnly: got.ReadOnly, Sharable: got.Sharable, SourceAccount: got.SourceAccount, WarningStatus: got.WarningStatus}); d != "" {
		t.Errorf("shared rule fields (-want +got):\n%s", d)
	}
	if rules[1].Filters != nil || !IsEgress(rules[1]) {
		t.Errorf("rule without filters = %+v: want Filters nil and an egress rule", rules[1])
	}
	if eg := EgressRules(rules); len(eg) != 2 {
		t.Errorf("EgressRules kept %d rules, want 2", len(eg))
	}
}

// TestPlainHTTPOnlyToLoopback: the token is never sent over plain http://
// to a host that is not a loopback address; the error names base_url.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	t.Parallel()
	for _, base := range []string{
		"http://api.cloudflare.com/client/v4", "http://example.com", "http://10.0.0.1:8787",
		"http://[2001:db8::1]:8787", "http://127.0.0.1.example.com", "http://localhost.example.com",
	} {
		_, err := New(Config{APIToken: testToken, BaseURL: base})
		if err == nil || !strings.Contains(err.Error(), "base_url") || !strings.Contains(err.Error(), "https://") {
			t.Errorf("New(%s) error = %v, want a refusal naming base_url", base, err)
		}
		if err != nil && strings.Contains(err.Error(), testToken) {
			t.Errorf("error shows the token: %v", err)
		}
	}
	for _, base := range []string{
		"https://api.cloudflare.com/client/v4", "https://10.0.0.1", "http://127.0.0.1:8787", "http://127.1.2.3",
		"http://[::1]:8787/client/v4", "http://localhost:8787", "http://emu.localhost:1",
	} {
		if _, err := New(Config{APIToken: testToken, BaseURL: base}); err != nil {
			t.Errorf("New(%s) = %v, want accepted", base, err)
		}
	}
}

// TestRedirectToAnotherHostIsNotFollowed: a redirect to another host (here
// the same address on another port, where Go's client would keep the
// Authorization header) is refused; the token never reaches it.
func TestRedirectToAnotherHostIsNotFollowed(t *testing.T) {
	t.Parallel()
	var reached atomic.Int32
	other := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
		reached.Add(1)
		writeEnvelope(w, 200, []any{})
	})
	for _, status := range []int{301, 302, 307, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
				http.Redirect(w, r, other.URL+r.URL.Path, status)
			})
			a, _ := newTestAPI(t, f.URL, nil)
			_, err := a.ListRules(context.Background(), testAccount)
			if err == nil || !strings.Contains(err.Error(), "redirect") || !strings.Contains(err.Error(), "base_url") {
				t.Errorf("err = %v, want a refused redirect naming base_url", err)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error shows the token: %v", err)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d requests to the first host, want 1 (a refused redirect is not retried)", n)
			}
		})
	}
	t.Cleanup(func() {
		if n := reached.Load(); n != 0 {
			t.Errorf("the other host got %d requests", n)
		}
		for _, r := range other.requests() {
			if strings.Contains(r.Auth, testToken) {
				t.Errorf("the other host got the token")
			}
		}
	})
}

// TestRedirectOnTheSameHostIsFollowed: a redirect to another path of the
// same scheme, host and port is followed.
func TestRedirectOnTheSameHostIsFollowed(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
		if !strings.HasPrefix(r.URL.Path, "/v4") {
			http.Redirect(w, r, "/v4"+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		writeEnvelope(w, 200, []any{apiRule("a", "a", 1, nil)})
	})
	a, _ := newTestAPI(t, f.URL, nil)
	rules, err := a.ListRules(context.Background(), testAccount)
	if err != nil || len(rules) != 1 {
		t.Fatalf("ListRules = %v, %v", rules, err)
	}
	if reqs := f.requests(); len(reqs) != 2 || reqs[1].Auth != "Bearer "+testToken {
		t.Errorf("requests = %+v", reqs)
	}
}
