package emulator

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cloudflare "github.com/cloudflare/cloudflare-go"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// goldenInventory holds the IPs used by internal/cfapi/testdata.
func goldenInventory() []engine.DedicatedIP {
	return []engine.DedicatedIP{
		{IPv4: netip.MustParseAddr("203.0.113.10"), IPv6Range: netip.MustParsePrefix("2001:db8:1::/64"), Colo: "NRT"},
		{IPv4: netip.MustParseAddr("198.51.100.20"), IPv6Range: netip.MustParsePrefix("2001:db8:2::/64"), Colo: "KIX"},
		{IPv4: netip.MustParseAddr("203.0.113.30"), IPv6Range: netip.MustParsePrefix("2001:db8:3::/64"), Colo: "LAX"},
	}
}

// TestGoldenRequestBodies replays the exact bytes the API layer sends
// through cloudflare-go (internal/cfapi/testdata) and checks the emulator
// accepts them as Cloudflare does.
func TestGoldenRequestBodies(t *testing.T) {
	dir := filepath.Join("..", "cfapi", "testdata")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Skip("no golden request bodies in internal/cfapi/testdata")
	}
	e, c := start(t, Config{Inventory: goldenInventory()})
	for _, f := range files {
		name := filepath.Base(f)
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			// Each golden on a fresh account, with a rule for PUT to replace.
			e.Reset()
			target := mustCreate(t, c, acctA, map[string]any{"name": "target", "action": "egress", "filters": []string{"egress"}, "traffic": "net.dst.port == 1", "precedence": 11000})
			var r *resp
			switch {
			case strings.HasPrefix(name, "create_"):
				r = c.do("POST", rulesPath(acctA), body)
			case strings.HasPrefix(name, "update_"):
				r = c.do("PUT", rulesPath(acctA)+"/"+target.ID, body)
			default:
				t.Skipf("unknown golden kind %s", name)
			}
			if r.Status != 200 || !r.Env.Success {
				t.Fatalf("rejected: %d %s", r.Status, r.Body)
			}
			got := r.rule(t)
			if got.Action != "egress" || !got.IsEgress() || got.Name == "" || got.Precedence == 0 {
				t.Fatalf("stored %+v", got)
			}
			if len(e.Rules(acctA)) != 1+map[bool]int{true: 1}[strings.HasPrefix(name, "create_")] {
				t.Fatalf("stored rules: %v", names(e.Rules(acctA)))
			}
			if strings.Contains(string(body), `"egress":null`) != (got.RuleSettings.Egress == nil) {
				t.Fatalf("egress settings: sent %s, stored %+v", body, got.RuleSettings.Egress)
			}
		})
	}
}

// TestCloudflareGoSDK drives the emulator with cloudflare-go v0 itself.
func TestCloudflareGoSDK(t *testing.T) {
	e, c := start(t, Config{})
	ctx := context.Background()
	api, err := cloudflare.NewWithAPIToken(testToken, cloudflare.BaseURL(c.base+"/client/v4"), cloudflare.UsingRetryPolicy(0, 0, 0), cloudflare.UsingRateLimit(1000))
	if err != nil {
		t.Fatal(err)
	}
	created, err := api.TeamsCreateRule(ctx, acctA, cloudflare.TeamsRule{
		Name: "sdk", Enabled: true, Action: cloudflare.Egress, Filters: []cloudflare.TeamsFilterType{cloudflare.EgressFilter},
		Traffic: "net.dst.port == 443 && net.protocol == \"tcp\"",
		RuleSettings: cloudflare.TeamsRuleSettings{EgressSettings: &cloudflare.EgressSettings{
			Ipv4: "203.0.113.10", Ipv6Range: "2001:db8:10::/64", Ipv4Fallback: "0.0.0.0",
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Precedence < 1001 || created.Traffic != `net.dst.port == 443 and net.protocol == "tcp"` ||
		created.RuleSettings.EgressSettings == nil || created.RuleSettings.EgressSettings.Ipv4Fallback != "0.0.0.0" || created.CreatedAt == nil {
		t.Fatalf("created %+v", created)
	}
	list, err := api.TeamsRules(ctx, acctA)
	if err != nil || len(list) != 1 || list[0].ID != created.ID {
		t.Fatalf("list %+v %v", list, err)
	}
	created.Description = "updated"
	created.RuleSettings.EgressSettings = nil
	upd, err := api.TeamsUpdateRule(ctx, acctA, created.ID, created)
	if err != nil || upd.Description != "updated" || upd.RuleSettings.EgressSettings != nil || upd.Precedence != created.Precedence {
		t.Fatalf("update %+v %v", upd, err)
	}
	pat, err := api.TeamsPatchRule(ctx, acctA, created.ID, cloudflare.TeamsRulePatchRequest{ID: created.ID, Name: "patched", Action: cloudflare.Egress, Enabled: true})
	if err != nil || pat.Name != "patched" || pat.Precedence != created.Precedence {
		t.Fatalf("patch %+v %v", pat, err)
	}
	one, err := api.TeamsRule(ctx, acctA, created.ID)
	if err != nil || one.Name != "patched" {
		t.Fatalf("get %+v %v", one, err)
	}
	// A validation error is a RequestError carrying the message.
	_, err = api.TeamsCreateRule(ctx, acctA, cloudflare.TeamsRule{Name: "bad", Action: cloudflare.Egress, Filters: []cloudflare.TeamsFilterType{cloudflare.EgressFilter},
		RuleSettings: cloudflare.TeamsRuleSettings{EgressSettings: &cloudflare.EgressSettings{Ipv4: "203.0.113.10", Ipv6Range: "2001:db8:10::/64"}}})
	var reqErr *cloudflare.RequestError
	if !errors.As(err, &reqErr) || !strings.Contains(err.Error(), "ipv4_fallback") {
		t.Fatalf("validation error: %T %v", err, err)
	}
	if err := api.TeamsDeleteRule(ctx, acctA, created.ID); err != nil {
		t.Fatal(err)
	}
	_, err = api.TeamsRule(ctx, acctA, created.ID)
	var nf *cloudflare.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("get deleted: %T %v", err, err)
	}
	// Wrong token: cloudflare-go's AuthenticationError (403) with code 10000.
	bad, _ := cloudflare.NewWithAPIToken("wrong", cloudflare.BaseURL(c.base+"/client/v4"), cloudflare.UsingRetryPolicy(0, 0, 0), cloudflare.UsingRateLimit(1000))
	_, err = bad.TeamsRules(ctx, acctA)
	var authErr *cloudflare.AuthenticationError
	if !errors.As(err, &authErr) || !authErr.InternalErrorCodeIs(10000) {
		t.Fatalf("wrong token: %T %v", err, err)
	}
	if e.Stats().ByRoute["POST "+RouteRules] != 2 {
		t.Fatalf("stats %+v", e.Stats())
	}
}
