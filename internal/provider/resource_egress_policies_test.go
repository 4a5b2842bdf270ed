package provider

import (
	"fmt"
	"os"
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
func policiesConfig(env *accEnv, ps []testPolicy) string {
	var b strings.Builder
	b.WriteString(env.InventoryResources())
	b.WriteString("resource \"cfegress_egress_policies\" \"this\" {\n")
	fmt.Fprintf(&b, "  dedicated_egress_ips = %s\n", env.InventoryRefs())
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
				Config: policiesConfig(env, ps),
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
				Config:           policiesConfig(env, ps),
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
			{Config: policiesConfig(env, ps), Check: saveIDs},
			{
				PreConfig: w.start,
				Config:    policiesConfig(env, withNew),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policiesAddr, plancheck.ResourceActionUpdate),
					expectPoliciesDiff{addr: policiesAddr, changed: []int{1}},
					plancheck.ExpectUnknownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(1).AtMapKey("id")),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(w.expect(1), namesAre(withNew), saveIDs),
			},
			{
				PreConfig: w.start,
				Config:    policiesConfig(env, moved),
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
				Config:    policiesConfig(env, renamed),
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
				Config:    policiesConfig(env, deleted),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectPoliciesDiff{addr: policiesAddr, removed: []int{1}},
				}},
				Check: resource.ComposeAggregateTestCheckFunc(w.expect(1), namesAre(deleted)),
			},
			{
				Config:           policiesConfig(env, deleted),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// TestAccEgressPolicies_drift: rules edited, deleted and added outside
// Terraform show in the plan and the apply restores the declared list.
func TestAccEgressPolicies_drift(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	ps := basePolicies()
	cfg := policiesConfig(env, ps)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() {
					rules := env.Emu.Rules(env.AccountID)
					for _, r := range rules {
						switch r.Name {
						case "partners": // edited in the dashboard
							r.Traffic = "net.dst.ip in {198.51.100.0/25}"
							if _, err := env.Emu.PutRule(env.AccountID, r); err != nil {
								t.Fatal(err)
							}
						case "web": // deleted in the dashboard
							if err := env.Emu.DeleteRule(env.AccountID, r.ID); err != nil {
								t.Fatal(err)
							}
						}
					}
					// added in the dashboard
					if _, err := env.Emu.PutRule(env.AccountID, emulatorEgressRule("rogue", "net.dst.port == 22", nil)); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policiesAddr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					rules := env.EgressRules(t)
					var names []string
					for _, r := range rules {
						names = append(names, r.Name)
					}
					if got := strings.Join(names, ","); got != "partners,web,everything else" {
						return fmt.Errorf("after repair the account has %s", got)
					}
					if !expressionsEquivalent(rules[0].Traffic, ps[0].traffic) {
						return fmt.Errorf("partners traffic not restored: %q", rules[0].Traffic)
					}
					return nil
				},
			},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			// Reordered outside Terraform: detected too.
			{
				PreConfig: func() {
					rules := env.Emu.Rules(env.AccountID)
					var first, second = -1, -1
					for i, r := range rules {
						if r.Name == "partners" {
							first = i
						}
						if r.Name == "web" {
							second = i
						}
					}
					a, b := rules[first], rules[second]
					a.Precedence, b.Precedence = b.Precedence, a.Precedence
					for _, r := range []emulator.Rule{a, b} {
						if _, err := env.Emu.PutRule(env.AccountID, r); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policiesAddr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if got := strings.Join(env.EgressRuleNames(t), ","); got != "partners,web,everything else" {
						return fmt.Errorf("after repair the account has %s", got)
					}
					return nil
				},
			},
		},
	})
}

// TestAccEgressPolicies_unmanagedAndImport: create fails where the account
// has egress rules the configuration does not list, with an import hint;
// import adopts them in order and the first apply makes no API write.
func TestAccEgressPolicies_unmanagedAndImport(t *testing.T) {
	seed := []emulator.Rule{
		emulatorEgressRule("legacy partners", "net.dst.ip in {198.51.100.0/24}", &emulator.EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"}),
		emulatorEgressRule("rest", "net.dst.ip != 0.0.0.0", nil),
	}
	seed[0].Precedence, seed[1].Precedence = 7, 8
	env := newAccEnv(t, accOptions{Seed: seed})
	w := &writesCounter{env: env, t: t}
	imported := []testPolicy{
		{name: "legacy partners", traffic: "net.dst.ip in {198.51.100.0/24}", dedicated: true},
		{name: "rest", traffic: "net.dst.ip != 0.0.0.0"},
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      policiesConfig(env, basePolicies()),
				ExpectError: regexp.MustCompile(`(?s)egress rules this configuration does not manage.*legacy partners.*terraform import\s+cfegress_egress_policies`),
			},
		},
	})
	if got := env.Writes(t); got != 0 {
		t.Fatalf("the failed create wrote %d times to the account", got)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig:          w.start,
				Config:             policiesConfig(env, imported),
				ResourceName:       policiesAddr,
				ImportState:        true,
				ImportStateId:      env.AccountID,
				ImportStatePersist: true,
				ImportStateCheck: func(s []*terraform.InstanceState) error {
					if len(s) != 1 || s[0].Attributes["policies.#"] != "2" || s[0].Attributes["policies.0.name"] != "legacy partners" {
						return fmt.Errorf("imported %v", s)
					}
					return nil
				},
			},
			{
				Config: policiesConfig(env, imported),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Only config-only attributes change (dedicated_egress_ips).
					plancheck.ExpectResourceAction(policiesAddr, plancheck.ResourceActionUpdate),
					expectPoliciesDiff{addr: policiesAddr},
				}},
				Check: w.expect(0),
			},
			{Config: policiesConfig(env, imported), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

// TestAccEgressPolicies_adoptByName: rules whose names are in the
// configuration are taken over on create (a retried create never
// duplicates), and the plan shows it: the policy has the rule's id. The
// apply keeps that rule.
func TestAccEgressPolicies_adoptByName(t *testing.T) {
	seed := []emulator.Rule{emulatorEgressRule("web", "net.dst.port in {443 80}", &emulator.EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"})}
	env := newAccEnv(t, accOptions{Seed: seed})
	w := &writesCounter{env: env, t: t}
	var id string
	if env.Emu != nil {
		id = env.Emu.Rules(env.AccountID)[0].ID
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: w.start,
			Config:    policiesConfig(env, basePolicies()),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(1).AtMapKey("id"), knownvalue.StringExact(id)),
				plancheck.ExpectUnknownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(0).AtMapKey("id")),
			}},
			Check: resource.ComposeAggregateTestCheckFunc(w.expect(2), func(*terraform.State) error {
				rules := env.EgressRules(t)
				if len(rules) != 3 || rules[1].Name != "web" || rules[1].ID != env.Emu.Rules(env.AccountID)[1].ID {
					return fmt.Errorf("rules %v", env.EgressRuleNames(t))
				}
				return nil
			}),
		}},
	})
}

// TestAccEgressPolicies_insertInto100 inserts one policy in the middle of a
// 100-policy list: the plan changes that element only, the apply makes one
// API write.
func TestAccEgressPolicies_insertInto100(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	w := &writesCounter{env: env, t: t}
	var ps []testPolicy
	for i := 0; i < 100; i++ {
		ps = append(ps, testPolicy{name: fmt.Sprintf("p%03d", i), traffic: fmt.Sprintf("net.dst.port == %d", 1000+i), dedicated: true})
	}
	ps = append(ps, testPolicy{name: "rest", traffic: "net.dst.ip != 0.0.0.0"})
	ins := append(append(append([]testPolicy{}, ps[:50]...), testPolicy{name: "inserted", traffic: "net.dst.port == 2000", dedicated: true}), ps[50:]...)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policiesConfig(env, ps)},
			{
				PreConfig: w.start,
				Config:    policiesConfig(env, ins),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectPoliciesDiff{addr: policiesAddr, changed: []int{50}},
				}},
				Check: w.expect(1),
			},
			{Config: policiesConfig(env, ins), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

func TestAccEgressPolicies_missingToken(t *testing.T) {
	env := newAccEnv(t)
	if os.Getenv(envAPIToken) != "" {
		t.Skip("CLOUDFLARE_API_TOKEN is set in the environment")
	}
	cfg := fmt.Sprintf("provider \"cfegress\" {\n  account_id = %q\n  base_url = %q\n}\n", env.AccountID, env.BaseURL) +
		`resource "cfegress_egress_policies" "this" {
  policies = [{ name = "all", egress = { method = "default" } }]
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps:                    []resource.TestStep{{Config: cfg, ExpectError: regexp.MustCompile(`cfegress needs an API token: set api_token`)}},
	})
}

// TestAccExamples_resources applies the documentation examples of the resources
// against the emulator (their inventory is the emulator's default one).
func TestAccExamples_resources(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	var steps []resource.TestStep
	for _, f := range []string{
		"../../examples/resources/cfegress_dedicated_egress_ip/resource.tf",
		"../../examples/resources/cfegress_egress_policies/resource.tf",
	} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps,
			resource.TestStep{Config: env.Config(string(b))},
			resource.TestStep{Config: env.Config(string(b)), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		)
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProtoV6ProviderFactories, Steps: steps})
}

// TestAccEgressPolicies_otherRulesUntouched: DNS/network/HTTP rules that
// share the precedence space are never written, and an insert avoids their
// numbers (the plan predicts the numbers from the last read).
func TestAccEgressPolicies_otherRulesUntouched(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	w := &writesCounter{env: env, t: t}
	ps := basePolicies()
	withNew := []testPolicy{ps[0], {name: "new", traffic: "net.dst.ip in {192.0.2.0/24}", dedicated: true}, ps[1], ps[2]}
	var dnsBefore emulator.Rule
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: policiesConfig(env, ps),
				Check: func(*terraform.State) error {
					rules := env.EgressRules(t)
					// A DNS rule right at the midpoint between the first two
					// egress rules, where an insert would go.
					mid := (rules[0].Precedence + rules[1].Precedence) / 2
					r, err := env.Emu.PutRule(env.AccountID, emulator.Rule{
						Name: "block malware", Enabled: true, Action: "block", Filters: []string{"dns"},
						Traffic: `any(dns.content_category[*] in {80})`, Precedence: mid,
					})
					dnsBefore = r
					return err
				},
			},
			{
				PreConfig: w.start,
				Config:    policiesConfig(env, withNew),
				Check: resource.ComposeAggregateTestCheckFunc(w.expect(1), accountMatches(t, env, withNew), func(*terraform.State) error {
					for _, r := range env.Emu.Rules(env.AccountID) {
						if r.ID == dnsBefore.ID {
							if r.Precedence != dnsBefore.Precedence || r.Version != dnsBefore.Version {
								return fmt.Errorf("the DNS rule was changed: %+v -> %+v", dnsBefore, r)
							}
							return nil
						}
					}
					return fmt.Errorf("the DNS rule is gone")
				}),
			},
			{Config: policiesConfig(env, withNew), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

// TestAccEgressPolicies_denseImported: rules imported with consecutive
// precedences (no free number between them): an insert renumbers the fewest
// rules, and the plan marks exactly those precedences unknown (the apply's
// result matches the plan).
func TestAccEgressPolicies_denseImported(t *testing.T) {
	ps := basePolicies()
	var seed []emulator.Rule
	for i, p := range ps {
		var eg *emulator.EgressSettings
		if p.dedicated {
			eg = &emulator.EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"}
		}
		r := emulatorEgressRule(p.name, p.traffic, eg)
		r.Precedence = uint64(i + 1)
		seed = append(seed, r)
	}
	env := newAccEnv(t, accOptions{Seed: seed})
	w := &writesCounter{env: env, t: t}
	withNew := []testPolicy{ps[0], {name: "new", traffic: "net.dst.ip in {192.0.2.0/24}", dedicated: true}, ps[1], ps[2]}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:             policiesConfig(env, ps),
				ResourceName:       policiesAddr,
				ImportState:        true,
				ImportStateId:      env.AccountID,
				ImportStatePersist: true,
			},
			{
				PreConfig: w.start,
				Config:    policiesConfig(env, withNew),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(0).AtMapKey("precedence"), knownvalue.Int64Exact(1)),
					plancheck.ExpectUnknownValue(policiesAddr, tfjsonpath.New("policies").AtSliceIndex(1).AtMapKey("precedence")),
				}},
				// 1, 2, 3 leave no number below 2 or between 1 and 3 for two
				// policies: the fewest writes keep partners at 1 and move web
				// and rest up (create + 2 moves).
				Check: resource.ComposeAggregateTestCheckFunc(w.expect(3), accountMatches(t, env, withNew)),
			},
			{Config: policiesConfig(env, withNew), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}
