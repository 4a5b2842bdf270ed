package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

// impactLocals: the current list, a planned one that inserts a policy
// taking the upper half of the partner's range, and one that only edits a
// description and reformats an expression.
func impactLocals(env *accEnv) string {
	a, b := env.Inventory[0], env.Inventory[1]
	return `
locals {
  ips = ` + env.InventoryLiteral() + `
  partner = {
    name    = "partner"
    traffic = "net.dst.ip in {198.51.100.0/24}"
    egress  = { method = "dedicated", ipv4 = "` + b.IPv4.String() + `", ipv6 = "` + b.IPv6Range.String() + `", ipv4_fallback = "` + a.IPv4.String() + `" }
  }
  rest = { name = "rest", traffic = "net.protocol in {\"tcp\" \"udp\"}", egress = { method = "default" } }
  upper = {
    name    = "partner upper half"
    traffic = "net.dst.ip in {198.51.100.128/25}"
    egress  = { method = "dedicated", ipv4 = "` + a.IPv4.String() + `", ipv6 = "` + a.IPv6Range.String() + `", ipv4_fallback = "` + b.IPv4.String() + `" }
  }
  current  = [local.partner, local.rest]
  planned  = [local.upper, local.partner, local.rest]
  reworded = [merge(local.partner, { description = "reworded", traffic = "(net.dst.ip in {198.51.100.0/24})" }), local.rest]

  impact = provider::cfegress::impact(local.current, local.planned, local.ips)
  # Only the flows to the protected range: a first policy that takes every
  # other flow the same way on both lists.
  outside   = { name = "outside the partner range", traffic = "not(net.dst.ip in {198.51.100.0/24})", egress = { method = "default" } }
}
`
}

// TestAccFunctionImpact: the function through terraform: the insert moves
// one region, whose example decide() decides exactly as before/after say;
// rewording moves nothing; a check block guards a protected range.
func TestAccFunctionImpact(t *testing.T) {
	env := newAccEnv(t)
	if len(env.Inventory) < 2 {
		t.Skip("needs two dedicated egress IPs")
	}
	b := env.Inventory[1]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: env.Config(impactLocals(env) + `
output "regions" { value = length(local.impact) }
output "region" { value = local.impact[0].region }
output "before_ip" { value = local.impact[0].before.egress_ip }
output "after_policy" { value = local.impact[0].after.policy }
output "example_decided_as_reported" {
  value = alltrue([for r in local.impact :
    provider::cfegress::decide(local.planned, local.ips, r.example) == r.after &&
    provider::cfegress::decide(local.current, local.ips, r.example) == r.before])
}
output "reworded" { value = length(provider::cfegress::impact(local.current, local.reworded, local.ips)) }
output "protected_range_moves" {
  value = length(provider::cfegress::impact(concat([local.outside], local.current), concat([local.outside], local.planned), local.ips)) > 0
}

check "nothing_else_moves" {
  assert {
    condition     = length(provider::cfegress::impact(concat([local.outside], local.current), concat([local.outside], local.reworded), local.ips)) == 0
    error_message = "rewording must not move the partner's traffic"
  }
}
`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("regions", knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownOutputValue("region", knownvalue.StringExact("net.dst.ip in {198.51.100.128/25} [IPv4 not proxied, IPv4 proxied]")),
				statecheck.ExpectKnownOutputValue("before_ip", knownvalue.StringExact(b.IPv4.String())),
				statecheck.ExpectKnownOutputValue("after_policy", knownvalue.StringExact("partner upper half")),
				statecheck.ExpectKnownOutputValue("example_decided_as_reported", knownvalue.Bool(true)),
				statecheck.ExpectKnownOutputValue("reworded", knownvalue.Int64Exact(0)),
				statecheck.ExpectKnownOutputValue("protected_range_moves", knownvalue.Bool(true)),
			},
		}, {
			// A bad list is an argument error naming the attribute.
			Config:      env.Config(`output "x" { value = provider::cfegress::impact([{ name = "a", traffic = "net.dst.port ==", egress = { method = "default" } }], [], []) }`),
			ExpectError: regexp.MustCompile(`old_policies\[0\]\.traffic`),
		}},
	})
}

// TestAccEgressPoliciesInvariants: invariants that hold pass the plan; one
// that a policy breaks fails it, naming the invariant and a counterexample.
func TestAccEgressPoliciesInvariants(t *testing.T) {
	env := newAccEnv(t)
	if len(env.Inventory) < 2 {
		t.Skip("needs two dedicated egress IPs")
	}
	a, b := env.Inventory[0], env.Inventory[1]
	cfg := func(invariants string, insert bool) string {
		policies := "local.current"
		if insert {
			policies = "local.planned"
		}
		return env.Config(impactLocals(env) + `
resource "cfegress_egress_policies" "p" {
  dedicated_egress_ips = local.ips
  policies             = ` + policies + `
  invariants           = [` + invariants + `]
}
`)
	}
	partnerViaB := `{
    name      = "partner leaves via ` + b.IPv4.String() + `"
    traffic   = "net.dst.ip in {198.51.100.0/24}"
    egress_ip = "` + b.IPv4.String() + `"
    policy    = "partner"
  }`
	rest := `{
    name        = "the rest is default egress"
    traffic     = "not(net.dst.ip in {198.51.100.0/24})"
    method      = "default"
    ingress_colos = ["` + a.Colo + `"]
  }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg(partnerViaB+", "+rest, false)},
			{
				Config:      cfg(partnerViaB+", "+rest, true),
				ExpectError: regexp.MustCompile(`(?s)invariants\[0\] "partner leaves via .*" does not hold.*Counterexample: tcp 198\.51\.100\.1[0-9]*:443.*decided by policy "partner upper half"`),
			},
			{
				Config:      cfg(`{ name = "typo", traffic = "net.dst.port == 443", policy = "partnr" }`, false),
				ExpectError: regexp.MustCompile(`no such policy`),
			},
			// The insert with an invariant that says so holds (and the
			// destroy after the test plans a valid configuration).
			{Config: cfg(rest+`, {
    name      = "upper half via `+a.IPv4.String()+`"
    traffic   = "net.dst.ip in {198.51.100.128/25}"
    egress_ip = "`+a.IPv4.String()+`"
  }`, true)},
		},
	})
}

// TestAccExamples_impact applies the function's documentation example.
func TestAccExamples_impact(t *testing.T) {
	newAccEnv(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "functions", "impact", "function.tf"))
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowTF18(),
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{Config: testSimProvider + string(b), ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("moved", knownvalue.ListExact([]knownvalue.Check{
				knownvalue.StringExact("net.dst.ip in {198.51.100.128/25} [IPv4 not proxied, IPv4 proxied]: 203.0.113.20 -> 203.0.113.10"),
			})),
		}}},
	})
}
