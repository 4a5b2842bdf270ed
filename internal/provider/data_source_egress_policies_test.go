package provider

import (
	"context"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// TestAccDataSourceEgressPolicies reads egress rules created through the
// API (out of Terraform), in precedence order, and feeds them as is to
// provider::cfegress::decide.
func TestAccDataSourceEgressPolicies(t *testing.T) {
	env := newAccEnv(t)
	if len(env.Inventory) < 2 {
		t.Skip("needs two dedicated egress IPs")
	}
	nrt, lax := env.Inventory[0], env.Inventory[1]
	c, err := env.client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Created bottom first: the data source must order by precedence.
	var ids []string
	for _, r := range []cfapi.Rule{
		{Name: "acc ssh default", Precedence: 9200, Enabled: true, Action: "egress", Filters: []string{"egress"},
			Traffic: "net.dst.port == 22"},
		{Name: "acc web dedicated", Precedence: 9100, Enabled: true, Action: "egress", Filters: []string{"egress"},
			Traffic: "net.dst.port == 443", Description: "web via the first dedicated IP",
			Egress: &cfapi.EgressSettings{IPv4: nrt.IPv4.String(), IPv6: nrt.IPv6Range.String(), IPv4Fallback: lax.IPv4.String()}},
	} {
		got, err := c.CreateRule(ctx, env.AccountID, r)
		if err != nil {
			t.Fatalf("creating %q: %v", r.Name, err)
		}
		ids = append(ids, got.ID)
	}
	t.Cleanup(func() {
		for _, id := range ids {
			_ = c.DeleteRule(context.Background(), env.AccountID, id)
		}
	})
	cfg := env.Config(`
data "cfegress_egress_policies" "p" {}

output "web" {
  value = provider::cfegress::decide(data.cfegress_egress_policies.p.policies, ` + env.InventoryLiteral() + `,
    { ingress_colo = "` + nrt.Colo + `", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" })
}
output "lint" {
  value = [for f in provider::cfegress::lint(data.cfegress_egress_policies.p.policies, ` + env.InventoryLiteral() + `) : f.rule if f.severity == "error"]
}
`)
	ds := "data.cfegress_egress_policies.p"
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowTF18(),
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("policies"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"id": knownvalue.StringExact(ids[1]), "name": knownvalue.StringExact("acc web dedicated"),
						"precedence": knownvalue.Int64Exact(9100), "enabled": knownvalue.Bool(true),
						"description": knownvalue.StringExact("web via the first dedicated IP"),
						"egress": knownvalue.ObjectExact(map[string]knownvalue.Check{
							"method": knownvalue.StringExact("dedicated"), "ipv4": knownvalue.StringExact(nrt.IPv4.String()),
							"ipv6": knownvalue.NotNull(), "ipv4_fallback": knownvalue.StringExact(lax.IPv4.String()),
						}),
					}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"id": knownvalue.StringExact(ids[0]), "name": knownvalue.StringExact("acc ssh default"),
						"description": knownvalue.Null(), "identity": knownvalue.Null(),
						"egress": knownvalue.ObjectExact(map[string]knownvalue.Check{
							"method": knownvalue.StringExact("default"), "ipv4": knownvalue.Null(),
							"ipv6": knownvalue.Null(), "ipv4_fallback": knownvalue.Null(),
						}),
					}),
				})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("dedicated_ipv4"), knownvalue.SetExact([]knownvalue.Check{
					knownvalue.StringExact(nrt.IPv4.String()), knownvalue.StringExact(lax.IPv4.String()),
				})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("account_id"), knownvalue.StringExact(env.AccountID)),
				statecheck.ExpectKnownOutputValue("web", knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"outcome": knownvalue.StringExact("policy"), "policy": knownvalue.StringExact("acc web dedicated"),
					"egress_ip": knownvalue.StringExact(nrt.IPv4.String()), "egress_colo": knownvalue.StringExact(nrt.Colo),
				})),
				statecheck.ExpectKnownOutputValue("lint", knownvalue.ListExact([]knownvalue.Check{})),
			},
		}},
	})
}

// TestAccDataSourceEgressPolicies_noToken: the data source says what it
// needs when the provider has no credentials.
func TestAccDataSourceEgressPolicies_noToken(t *testing.T) {
	t.Setenv(envAPIToken, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      `provider "cfegress" { account_id = "0123456789abcdef0123456789abcdef" }` + "\n" + `data "cfegress_egress_policies" "p" {}`,
			ExpectError: regexp.MustCompile(`needs\s+an\s+API\s+token`),
		}},
	})
}
