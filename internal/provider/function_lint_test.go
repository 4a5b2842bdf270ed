package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

// TestAccFunctionLint: findings name the rule, severity, policy and index;
// a clean list gives no findings; lint_ignore silences a rule.
func TestAccFunctionLint(t *testing.T) {
	cfg := testSimProvider + testSimInventory + `
locals {
  bad = [
    { name = "web", traffic = "net.dst.port == 443",
      egress = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2a09:bac0:1000:10::/64", ipv4_fallback = "203.0.113.10" } },
    { name = "everything", traffic = "net.dst.ip in {0.0.0.0/0 ::/0}", egress = { method = "default" } },
    { name = "ssh", traffic = "net.dst.port == 22", egress = { method = "default" } },
  ]
  good = [
    { name = "web", id = null, precedence = 1000, traffic = "net.dst.port == 443",
      egress = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2a09:bac0:1000:10::/64", ipv4_fallback = "203.0.113.20" } },
    { name = "rest", traffic = "net.dst.ip in {0.0.0.0/0 ::/0}", egress = { method = "default" } },
  ]
  ignored = [
    { name = "web", traffic = "net.dst.port == 443", lint_ignore = ["missing_catch_all"],
      egress = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2a09:bac0:1000:10::/64", ipv4_fallback = "203.0.113.20" } },
  ]
}
output "bad" { value = provider::cfegress::lint(local.bad, local.ips) }
output "good" { value = provider::cfegress::lint(local.good, local.ips) }
output "not_ignored" { value = [for f in provider::cfegress::lint([local.ignored[0]], local.ips) : f.rule] }
output "ignored_inventory" { value = [for f in provider::cfegress::lint([merge(local.ignored[0], { lint_ignore = [] })], ` + nullArgument() + `) : f.rule] }
output "not_dedicated" {
  value = [for f in provider::cfegress::lint(local.good, [local.ips[0]]) : "${f.rule}:${f.index}:${f.attribute}" if f.severity == "error"]
}
`
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowTF18(),
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("bad", knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"rule": knownvalue.StringExact("fallback_equals_primary"), "severity": knownvalue.StringExact("error"),
						"policy": knownvalue.StringExact("web"), "index": knownvalue.Int64Exact(0),
						"attribute": knownvalue.StringExact("egress.ipv4_fallback"),
					}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"rule": knownvalue.StringExact("catch_all_not_last"), "severity": knownvalue.StringExact("error"),
						"policy": knownvalue.StringExact("everything"), "index": knownvalue.Int64Exact(1),
					}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"rule": knownvalue.StringExact("shadowed"), "severity": knownvalue.StringExact("error"),
						"policy": knownvalue.StringExact("ssh"), "index": knownvalue.Int64Exact(2),
					}),
				})),
				statecheck.ExpectKnownOutputValue("good", knownvalue.ListExact([]knownvalue.Check{})),
				statecheck.ExpectKnownOutputValue("not_ignored", knownvalue.ListExact([]knownvalue.Check{})),
				statecheck.ExpectKnownOutputValue("ignored_inventory", knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("missing_catch_all")})),
				statecheck.ExpectKnownOutputValue("not_dedicated", knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("ip_not_dedicated:0:egress.ipv4_fallback")})),
			},
		}, {
			Config:      testSimProvider + `output "x" { value = provider::cfegress::lint([{ name = "a", egress = { method = 3 } }], ` + nullArgument() + `) }`,
			ExpectError: regexp.MustCompile(`policies\[0\]\.egress\.method:\s+must\s+be\s+a\s+string`),
		}, {
			Config:      testSimProvider + `output "x" { value = provider::cfegress::lint([], [{ ipv4 = "203.0.113.10" }]) }`,
			ExpectError: regexp.MustCompile(`dedicated_ips\[0\]\.colo:`),
		}},
	})
}
