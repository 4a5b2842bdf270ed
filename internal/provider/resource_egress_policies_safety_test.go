package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// Issue 10: an apply never deletes or takes over what its plan did not show.

// betweenPlanAndApply is a plan check with a side effect: it runs after the
// plan and before the apply, as a colleague's edit in the dashboard would.
type betweenPlanAndApply func()

func (f betweenPlanAndApply) CheckPlan(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse) {
	f()
}

func colleagueRule(name string, port int) emulator.Rule {
	return emulatorEgressRule(name, fmt.Sprintf("net.dst.port == %d", port),
		&emulator.EgressSettings{IPv4: "203.0.113.20", IPv6: "2001:db8:20::/64", IPv4Fallback: "203.0.113.10"})
}

// TestAccEgressPolicies_ruleAddedAfterPlanIsKept: an egress rule added
// between plan and apply stops the update before its first write, with an
// error naming it; the next plan shows it (its removal), and only applying
// that plan deletes it.
func TestAccEgressPolicies_ruleAddedAfterPlanIsKept(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	ps := faultPolicies(5, "p")
	ins := append(append(append([]testPolicy{}, ps[:2]...), testPolicy{name: "inserted", traffic: "net.dst.port == 4100", dedicated: true}), ps[2:]...)
	w := &writesCounter{env: env, t: t}
	var added emulator.Rule
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policiesConfig(env, ps)},
			{
				Config: policiesConfig(env, ins),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{betweenPlanAndApply(func() {
					var err error
					if added, err = env.Emu.InsertRule(env.AccountID, colleagueRule("added-by-colleague", 4242)); err != nil {
						t.Fatal(err)
					}
					w.start()
				})}},
				ExpectError: regexp.MustCompile(`(?s)changed since the plan.*added-by-colleague.*Nothing was written`),
			},
			{
				PreConfig: func() {
					if n := w.count(); n != 0 {
						t.Errorf("the stopped apply made %d writes", n)
					}
					if names := env.EgressRuleNames(t); !strings.Contains(strings.Join(names, ","), "added-by-colleague") {
						t.Errorf("the colleague's rule is gone: %v", names)
					}
				},
				Config: policiesConfig(env, ins),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// The refreshed state has the rule; the plan removes it.
					expectPriorHas{addr: policiesAddr, id: func() string { return added.ID }},
				}},
				Check: accountMatches(t, env, ins),
			},
		},
	})
}

// expectPriorHas checks that the plan's prior (refreshed) state lists the
// rule and its planned policies do not: the plan shows its deletion.
type expectPriorHas struct {
	addr string
	id   func() string
}

func (e expectPriorHas) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != e.addr {
			continue
		}
		has := func(v any) bool {
			m, _ := v.(map[string]any)
			l, _ := m["policies"].([]any)
			for _, p := range l {
				if pm, _ := p.(map[string]any); pm["id"] == e.id() {
					return true
				}
			}
			return false
		}
		if !has(rc.Change.Before) || has(rc.Change.After) {
			resp.Error = fmt.Errorf("the plan must show rule %s removed (before: %v, after: %v)", e.id(), has(rc.Change.Before), has(rc.Change.After))
		}
		return
	}
	resp.Error = fmt.Errorf("no change for %s", e.addr)
}

// TestAccEgressPolicies_ruleDeletedAfterPlanIsRecreated: a rule deleted
// outside Terraform after the plan is created again; the apply says so (its
// new ID differs from the plan's) and the next plan is empty.
func TestAccEgressPolicies_ruleDeletedAfterPlanIsRecreated(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	ps := faultPolicies(4, "p")
	edited := append([]testPolicy{}, ps...)
	edited[3].traffic = "net.dst.port == 3999"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policiesConfig(env, ps)},
			{
				Config: policiesConfig(env, edited),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{betweenPlanAndApply(func() {
					if err := env.Emu.DeleteRule(env.AccountID, env.EgressRules(t)[1].ID); err != nil {
						t.Fatal(err)
					}
				})}},
				ExpectError: regexp.MustCompile(`(?s)changed since the plan.*policies\[1\] "p01" is now rule`),
			},
			{
				Config:           policiesConfig(env, edited),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            accountMatches(t, env, edited),
			},
		},
	})
}

// TestAccEgressPolicies_ruleMovedAfterPlanIsMovedBack: a rule moved
// outside Terraform after the plan, whose precedence the plan kept, is
// moved back: the apply keeps every number the plan showed.
func TestAccEgressPolicies_ruleMovedAfterPlanIsMovedBack(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	ps := faultPolicies(4, "p")
	ins := append(append([]testPolicy{}, ps[:1]...), append([]testPolicy{{name: "new", traffic: "net.dst.port == 4200", dedicated: true}}, ps[1:]...)...)
	var was uint64
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policiesConfig(env, ps)},
			{
				Config: policiesConfig(env, ins),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{betweenPlanAndApply(func() {
					r := env.Emu.Rules(env.AccountID)[2]
					was = r.Precedence
					r.Precedence = 999999
					if _, err := env.Emu.PutRule(env.AccountID, r); err != nil {
						t.Fatal(err)
					}
				})}},
				Check: resource.ComposeAggregateTestCheckFunc(accountMatches(t, env, ins), func(*terraform.State) error {
					if got := env.EgressRules(t)[3].Precedence; got != was {
						return fmt.Errorf("the moved rule is at %d, the plan kept %d", got, was)
					}
					return nil
				}),
			},
		},
	})
}
