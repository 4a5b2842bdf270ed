package emulator

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/zero_trust"

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
// through cloudflare-go v7 (internal/cfapi/testdata) and checks the emulator
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

// set marks a cloudflare-go v7 param field present with value x.
func set[T any](value *T, present *bool, x T) { *value, *present = x, true }

// apiError is what cloudflare-go v7 returns for an HTTP error (its type is
// internal to the SDK).
type apiErrorLike interface{ DumpResponse(body bool) []byte }

// TestCloudflareGoV7SDK drives the emulator with cloudflare-go v7's Gateway
// rules service itself (its own encoding and decoding).
func TestCloudflareGoV7SDK(t *testing.T) {
	e, c := start(t, Config{})
	ctx := context.Background()
	svc := func(token string) *zero_trust.GatewayRuleService {
		return zero_trust.NewGatewayRuleService(option.WithBaseURL(c.base+"/client/v4/"), option.WithAPIToken(token), option.WithMaxRetries(0))
	}
	api := svc(testToken)
	var np zero_trust.GatewayRuleNewParams
	set(&np.AccountID.Value, &np.AccountID.Present, acctA)
	set(&np.Name.Value, &np.Name.Present, "sdk")
	set(&np.Enabled.Value, &np.Enabled.Present, true)
	set(&np.Action.Value, &np.Action.Present, zero_trust.GatewayRuleNewParamsActionEgress)
	set(&np.Filters.Value, &np.Filters.Present, []zero_trust.GatewayFilter{zero_trust.GatewayFilterEgress})
	set(&np.Traffic.Value, &np.Traffic.Present, `net.dst.port == 443 && net.protocol == "tcp"`)
	var eg zero_trust.RuleSettingEgressParam
	set(&eg.IPV4.Value, &eg.IPV4.Present, "203.0.113.10")
	set(&eg.IPV6.Value, &eg.IPV6.Present, "2001:db8:10::/64")
	set(&eg.IPV4Fallback.Value, &eg.IPV4Fallback.Present, "0.0.0.0")
	var rs zero_trust.RuleSettingParam
	set(&rs.Egress.Value, &rs.Egress.Present, eg)
	set(&np.RuleSettings.Value, &np.RuleSettings.Present, rs)
	created, err := api.New(ctx, np)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Precedence < 1001 || created.Traffic != `net.dst.port == 443 and net.protocol == "tcp"` ||
		created.RuleSettings.Egress.IPV4Fallback != "0.0.0.0" || created.CreatedAt.IsZero() || created.Version != 1 {
		t.Fatalf("created %+v", created)
	}
	var lp zero_trust.GatewayRuleListParams
	set(&lp.AccountID.Value, &lp.AccountID.Present, acctA)
	list, err := api.List(ctx, lp)
	if err != nil || len(list.Result) != 1 || list.Result[0].ID != created.ID {
		t.Fatalf("list %+v %v", list, err)
	}
	// PUT without a precedence keeps it; egress null is default egress.
	var up zero_trust.GatewayRuleUpdateParams
	set(&up.AccountID.Value, &up.AccountID.Present, acctA)
	set(&up.Name.Value, &up.Name.Present, "sdk")
	set(&up.Description.Value, &up.Description.Present, "updated")
	set(&up.Action.Value, &up.Action.Present, zero_trust.GatewayRuleUpdateParamsActionEgress)
	set(&up.Filters.Value, &up.Filters.Present, []zero_trust.GatewayFilter{zero_trust.GatewayFilterEgress})
	set(&up.Traffic.Value, &up.Traffic.Present, "net.dst.port == 443")
	var none zero_trust.RuleSettingParam
	none.Egress.Null, none.Egress.Present = true, true
	set(&up.RuleSettings.Value, &up.RuleSettings.Present, none)
	upd, err := api.Update(ctx, created.ID, up)
	if err != nil || upd.Description != "updated" || upd.RuleSettings.Egress.IPV4 != "" || upd.Precedence != created.Precedence {
		t.Fatalf("update %+v %v", upd, err)
	}
	var gp zero_trust.GatewayRuleGetParams
	set(&gp.AccountID.Value, &gp.AccountID.Present, acctA)
	one, err := api.Get(ctx, created.ID, gp)
	if err != nil || one.Description != "updated" {
		t.Fatalf("get %+v %v", one, err)
	}
	var dp zero_trust.GatewayRuleDeleteParams
	set(&dp.AccountID.Value, &dp.AccountID.Present, acctA)
	if _, err := api.Delete(ctx, created.ID, dp); err != nil {
		t.Fatal(err)
	}
	_, err = api.Get(ctx, created.ID, gp)
	var ae apiErrorLike
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("get deleted: %T %v", err, err)
	}
	if _, err := svc("wrong").List(ctx, lp); !errors.As(err, &ae) || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "10000") {
		t.Fatalf("wrong token: %T %v", err, err)
	}
	if e.Stats().ByRoute["POST "+RouteRules] != 1 {
		t.Fatalf("stats %+v", e.Stats())
	}
}
