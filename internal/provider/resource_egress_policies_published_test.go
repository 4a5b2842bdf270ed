package provider

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// Issue 11: the resource against the emulator playing what Cloudflare
// publishes (SPEC §6).

const threePolicies = `resource "cfegress_egress_policies" "this" {
  policies = [
    { name = "a", traffic = "net.dst.port == 1", egress = { method = "default" } },
    { name = "b", traffic = "net.dst.port == 2", egress = { method = "default" } },
    { name = "c", traffic = "net.dst.port == 3", egress = { method = "default" } },
  ]
}`

// TestAccEgressPolicies_scopedTokenRetriesNextToHiddenRules: the token is
// permission-scoped to egress policies (Gateway granular permissions,
// 2026-06-30): DNS rules it cannot see hold the numbers a new list takes.
// The creates are refused there and retried at other free numbers; the
// apply succeeds, the hidden rules are untouched, the next plan is empty.
func TestAccEgressPolicies_scopedTokenRetriesNextToHiddenRules(t *testing.T) {
	scoped := "cfegress-scoped-" + randomHex(t, 8)
	var seed []emulator.Rule
	for i, p := range []uint64{1000, 2000, 3000} {
		seed = append(seed, emulator.Rule{Name: fmt.Sprintf("dns-%d", i), Precedence: p, Enabled: true, Action: "block",
			Filters: []string{"dns"}, Traffic: `any(dns.domains[*] == "blocked.example")`})
	}
	env := newAccEnv(t, accOptions{Seed: seed, Emulator: func(c *emulator.Config) { c.ScopedToken = scoped }})
	env.needEmulator(t)
	env.Token = scoped
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: env.Config(threePolicies),
			Check: func(*terraform.State) error {
				if got := strings.Join(env.EgressRuleNames(t), ","); got != "a,b,c" {
					return fmt.Errorf("account has %s", got)
				}
				for _, r := range env.EgressRules(t) {
					if r.Precedence%1000 == 0 {
						return fmt.Errorf("%q at %d, a hidden rule's number", r.Name, r.Precedence)
					}
				}
				if n := len(env.Emu.Rules(env.AccountID)) - len(env.EgressRules(t)); n != 3 {
					return fmt.Errorf("%d DNS rules left, want 3", n)
				}
				if n := env.Emu.Stats().ByRoute["POST "+emulator.RouteRules]; n != 6 {
					return fmt.Errorf("%d creates sent, want 6 (each refused once at a hidden rule's number)", n)
				}
				return nil
			},
		}},
	})
}

// TestAccEgressPolicies_vanishedRulesEveryNotFoundStyle: rules deleted
// outside Terraform between the apply's read and its write, with each of
// the three answers Cloudflare has given for an unknown rule ID (404, 400
// "invalid rule id", 400 7003): a planned delete is done, an update creates
// the rule again (and says so), and the next plan is empty.
func TestAccEgressPolicies_vanishedRulesEveryNotFoundStyle(t *testing.T) {
	for name, style := range map[string]emulator.NotFoundStyle{"404": emulator.NotFound404, "invalid rule id": emulator.NotFoundInvalidRuleID, "7003": emulator.NotFoundRoute} {
		t.Run(name, func(t *testing.T) {
			env := newAccEnv(t, accOptions{Emulator: func(c *emulator.Config) { c.NotFound = style }})
			env.needEmulator(t)
			var once sync.Map
			vanish := func(_, account, id string) {
				for _, r := range env.Emu.Rules(account) {
					if r.ID == id && (r.Name == "b" || r.Name == "c") {
						if _, done := once.LoadOrStore(r.Name, true); !done {
							_ = env.Emu.DeleteRule(account, id)
						}
					}
				}
			}
			changed := `resource "cfegress_egress_policies" "this" {
  policies = [
    { name = "a", traffic = "net.dst.port == 1", egress = { method = "default" } },
    { name = "c", traffic = "net.dst.port == 3", description = "edited", egress = { method = "default" } },
  ]
}`
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{
					{Config: env.Config(threePolicies)},
					{
						PreConfig:   func() { env.Emu.BeforeWrite(vanish) },
						Config:      env.Config(changed),
						ExpectError: regexp.MustCompile(`(?s)deleted\s+outside\s+Terraform\s+after\s+the\s+plan.*policies\[1\]\s+"c"\s+is\s+now\s+rule`),
					},
					{
						PreConfig: func() { env.Emu.BeforeWrite(nil) },
						Config:    env.Config(changed),
						Check: func(*terraform.State) error {
							if got := strings.Join(env.EgressRuleNames(t), ","); got != "a,c" {
								return fmt.Errorf("account has %s, want a,c", got)
							}
							return nil
						},
					},
				},
			})
		})
	}
}

// TestAccEgressPolicies_responsesWithoutFilters: the API's answers lack
// "filters" (Cloudflare's OpenAPI marks it required; the client must not
// rely on it): rules are recognised by action "egress", the plan after the
// apply is empty and an import adopts them.
func TestAccEgressPolicies_responsesWithoutFilters(t *testing.T) {
	env := newAccEnv(t, accOptions{Emulator: func(c *emulator.Config) { c.OmitFilters = true }})
	env.needEmulator(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: env.Config(threePolicies)},
			{
				Config:                               env.Config(threePolicies),
				ResourceName:                         "cfegress_egress_policies.this",
				ImportState:                          true,
				ImportStateId:                        env.AccountID,
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "id",
				ImportStateVerifyIgnore:              []string{"timeouts"},
			},
		},
	})
}

// TestAccEgressPolicies_incompleteListFailsLoudly: a list answer that says
// it has more pages (Cloudflare's list is one page) fails the refresh with
// an error saying so; nothing is deleted, the state is kept, and once the
// answers are whole again the plan is empty.
func TestAccEgressPolicies_incompleteListFailsLoudly(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: env.Config(threePolicies)},
			{
				PreConfig:   func() { env.Emu.SetListPageSize(2) },
				Config:      env.Config(`resource "cfegress_egress_policies" "this" { policies = [] }`),
				ExpectError: regexp.MustCompile(`(?s)result_info.*pages.*missing\s+rules\s+would\s+look\s+deleted`),
			},
			{
				PreConfig: func() {
					env.Emu.SetListPageSize(0)
					if got := strings.Join(env.EgressRuleNames(t), ","); got != "a,b,c" {
						t.Errorf("after the failed refresh the account has %s, want a,b,c", got)
					}
				},
				Config:   env.Config(threePolicies),
				PlanOnly: true, // the state was kept: nothing to do
			},
		},
	})
}

// TestAccEgressPolicies_accountLimits: more policies than the account
// allows is a plan error naming the limit and max_policies (500 by
// default); max_policies raises it (the emulator's limit raised alike);
// an expression over 140,000 characters is a plan error, one of exactly
// 140,000 is accepted by the plan and by the emulator.
func TestAccEgressPolicies_accountLimits(t *testing.T) {
	env := newAccEnv(t, accOptions{Emulator: func(c *emulator.Config) { c.MaxEgressPolicies = 4 }})
	env.needEmulator(t)
	many := func(n int) string {
		return fmt.Sprintf(`resource "cfegress_egress_policies" "this" {
  policies = [for i in range(%d) : { name = "p${i}", traffic = "net.dst.port == ${1000 + i}", egress = { method = "default" } }]
  catch_all = "off"
}`, n)
	}
	long := func(n int) string {
		return fmt.Sprintf(`resource "cfegress_egress_policies" "this" {
  policies = [{ name = "long", traffic = format("%%-%ds", "net.dst.port == 443"), egress = { method = "default" } }]
  catch_all = "off"
}`, n)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      env.Config(many(501)),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Too many egress policies.*501 egress policies, but the account allows 500.*max_policies`),
			},
			{
				Config:      env.ConfigWith("max_policies = 3", many(4)),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)4 egress policies, but the account allows 3`),
			},
			{Config: env.ConfigWith("max_policies = 4", many(4))},
			{
				Config:      env.Config(long(140001)),
				ExpectError: regexp.MustCompile(`(?s)140001\s+characters\s+long.*at\s+most\s+140000`),
			},
			{Config: env.Config(long(140000))},
		},
	})
}

// TestAccEgressPolicies_dedicatedIPv4NotOwned: Cloudflare's 2055 ("Account
// doesn't own dedicated primary IPv4") on a policy whose IPv4 is not one of
// the account's is reported on that policy's egress.ipv4, naming the IP.
func TestAccEgressPolicies_dedicatedIPv4NotOwned(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: env.Config(`resource "cfegress_egress_policies" "this" {
  policies = [
    { name = "a", traffic = "net.dst.port == 1", egress = { method = "default" } },
    { name = "b", traffic = "net.dst.port == 2", egress = { method = "dedicated", ipv4 = "198.51.100.77", ipv6 = "2001:db8:77::/64", ipv4_fallback = "0.0.0.0" } },
  ]
  catch_all = "off"
}`),
			ExpectError: regexp.MustCompile(`(?s)policies\[1\]\s+"b":\s+egress.ipv4\s+=\s+"198.51.100.77"\s+is\s+not\s+a\s+dedicated\s+egress\s+IPv4.*2055`),
		}},
	})
}
