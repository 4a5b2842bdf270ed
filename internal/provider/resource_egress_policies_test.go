package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

const policiesAddr = "cfegress_egress_policies.this"

// testPolicy is one policy of a generated configuration.
type testPolicy struct {
	name, traffic string
	dedicated     bool // NRT primary, LAX fallback
	extra         string
}

// policiesConfig renders a cfegress_egress_policies with the inventory
// resources of env.
func policiesConfig(env *accEnv, ps []testPolicy, extra string) string {
	var b strings.Builder
	b.WriteString(env.InventoryResources())
	b.WriteString("resource \"cfegress_egress_policies\" \"this\" {\n")
	fmt.Fprintf(&b, "  dedicated_egress_ips = %s\n", env.InventoryRefs())
	b.WriteString(extra)
	b.WriteString("  policies = [\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "    {\n      name = %q\n", p.name)
		if p.traffic != "" {
			fmt.Fprintf(&b, "      traffic = %q\n", p.traffic)
		}
		if p.dedicated {
			b.WriteString("      egress = { method = \"dedicated\", ipv4 = \"203.0.113.10\", ipv6 = \"2001:db8:10::/64\", ipv4_fallback = \"203.0.113.20\" }\n")
		} else {
			b.WriteString("      egress = { method = \"default\" }\n")
		}
		b.WriteString(p.extra)
		b.WriteString("    },\n")
	}
	b.WriteString("  ]\n}\n")
	return env.Config(b.String())
}

// basePolicies: two specific policies and a catch-all.
func basePolicies() []testPolicy {
	return []testPolicy{
		{name: "partners", traffic: "net.dst.ip in {198.51.100.0/24}", dedicated: true},
		{name: "web", traffic: "net.dst.port in {443 80}", dedicated: true},
		{name: "everything else", traffic: "net.dst.ip != 0.0.0.0"},
	}
}

func TestAccEgressPolicies_lifecycle(t *testing.T) {
	env := newAccEnv(t)
	ps := basePolicies()
	var firstIDs []string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: policiesConfig(env, ps, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policiesAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(0).AtMapKey("id")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("account_id"), knownvalue.StringExact(env.AccountID)),
					statecheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("policies"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("partners")),
					statecheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(0).AtMapKey("enabled"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(2).AtMapKey("egress").AtMapKey("method"), knownvalue.StringExact("default")),
					statecheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("catch_all"), knownvalue.StringExact("recommended")),
				},
				Check: func(s *terraform.State) error {
					if got := strings.Join(env.EgressRuleNames(t), ","); got != "partners,web,everything else" {
						return fmt.Errorf("account egress rules = %s", got)
					}
					firstIDs = nil
					for _, r := range env.EgressRules(t) {
						firstIDs = append(firstIDs, r.ID)
					}
					return nil
				},
			},
			// The emulator reformatted the expressions: no diff.
			{
				Config: policiesConfig(env, ps, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName:                         policiesAddr,
				ImportState:                          true,
				ImportStateId:                        env.AccountID,
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "id",
				ImportStateVerifyIgnore:              []string{"dedicated_egress_ips", "expect", "timeouts"},
			},
		},
	})
	_ = firstIDs
	_ = emulator.DefaultAccountID
	_ = regexp.MustCompile
}

// TestAccEgressPolicies_update: insert, move, rename and delete, each one
// API write, with plans that change only the element concerned.
func TestAccEgressPolicies_update(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	w := &writesCounter{env: env, t: t}
	ps := basePolicies()
	withNew := []testPolicy{ps[0], {name: "new", traffic: "net.dst.ip in {192.0.2.0/24}", dedicated: true}, ps[1], ps[2]}
	moved := []testPolicy{withNew[2], withNew[0], withNew[1], withNew[3]}
	renamed := []testPolicy{moved[0], moved[1], {name: "new renamed", traffic: moved[2].traffic, dedicated: true}, moved[3]}
	deleted := []testPolicy{renamed[0], renamed[2], renamed[3]}
	idOf := map[string]string{}
	saveIDs := func(*terraform.State) error {
		for _, r := range env.EgressRules(t) {
			idOf[r.Name] = r.ID
		}
		return nil
	}
	namesAre := func(want []testPolicy) func(*terraform.State) error {
		return func(*terraform.State) error {
			var names []string
			for _, p := range want {
				names = append(names, p.name)
			}
			if got, w := strings.Join(env.EgressRuleNames(t), ","), strings.Join(names, ","); got != w {
				return fmt.Errorf("account egress rules %s, want %s", got, w)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policiesConfig(env, ps, ""), Check: saveIDs},
			{
				PreConfig: w.start,
				Config:    policiesConfig(env, withNew, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policiesAddr, plancheck.ResourceActionUpdate),
					expectPoliciesDiff{addr: policiesAddr, changed: []int{1}},
					plancheck.ExpectUnknownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(1).AtMapKey("id")),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(w.expect(1), namesAre(withNew), saveIDs),
			},
			{
				PreConfig: w.start,
				Config:    policiesConfig(env, moved, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// The moved policy keeps its ID; only its precedence is unknown.
					plancheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("web")),
					plancheck.ExpectUnknownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(0).AtMapKey("precedence")),
					plancheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(1).AtMapKey("precedence"), knownvalue.NotNull()),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(w.expect(1), namesAre(moved), func(*terraform.State) error {
					if got := env.EgressRules(t)[0].ID; got != idOf["web"] {
						return fmt.Errorf("moved policy has rule ID %s, want %s (same rule)", got, idOf["web"])
					}
					return nil
				}),
			},
			{
				PreConfig: w.start,
				Config:    policiesConfig(env, renamed, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectPoliciesDiff{addr: policiesAddr, changed: []int{2}, removed: []int{2}},
					plancheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(2).AtMapKey("id"), knownvalue.NotNull()),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(w.expect(1), namesAre(renamed), func(*terraform.State) error {
					if got := env.EgressRules(t)[2].ID; got != idOf["new"] {
						return fmt.Errorf("renamed policy has rule ID %s, want %s (a rename updates the same rule)", got, idOf["new"])
					}
					return nil
				}),
			},
			{
				PreConfig: w.start,
				Config:    policiesConfig(env, deleted, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectPoliciesDiff{addr: policiesAddr, removed: []int{1}},
				}},
				Check: resource.ComposeAggregateTestCheckFunc(w.expect(1), namesAre(deleted)),
			},
			{
				Config:           policiesConfig(env, deleted, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
