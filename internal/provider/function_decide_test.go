package provider

import (
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// testSimInventory is the inventory of the simulation tests: one dedicated
// egress location in Tokyo (NRT) and one in Los Angeles (LAX).
const testSimInventory = `
locals {
  ips = [
    { ipv4 = "203.0.113.10", ipv6_range = "2a09:bac0:1000:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2a09:bac0:1000:20::/64", colo = "LAX" },
  ]
}
`

// testSimProvider is the provider block of simulation tests: no credentials.
const testSimProvider = `provider "cfegress" {}
`

func decideOutput(name, policies, flow string) string {
	return `output "` + name + `" {
  value = provider::cfegress::decide(` + policies + `, local.ips, ` + flow + `)
}
`
}

func pathCandidatesColo(i int) tfjsonpath.Path {
	return tfjsonpath.New("candidates").AtSliceIndex(i).AtMapKey("colo")
}

// nullArgument is a null function argument as a user writes it on the CLI
// under test: a bare `null` on Terraform; on OpenTofu, which answers a call
// with an untyped null argument itself (an unknown result, then null,
// without calling the provider), a typed one.
func nullArgument() string {
	if os.Getenv("TF_ACC_PROVIDER_HOST") == "registry.opentofu.org" {
		return "tolist(null)"
	}
	return "null"
}

func skipBelowTF18() []tfversion.TerraformVersionCheck {
	return []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)}
}

// TestAccFunctionDecide_seedNoMatch reproduces the seed's table for the
// no-match case: a user at KIX, no policy, the nearest dedicated IP is NRT's.
// IPv4 grey leaves from NRT; IPv4 orange, IPv6 grey and IPv6 orange leave
// from KIX (locally) with the NRT IP's source address and geolocation.
func TestAccFunctionDecide_seedNoMatch(t *testing.T) {
	cfg := testSimProvider + testSimInventory +
		decideOutput("v4grey", "[]", `{ ingress_colo = "KIX", destination_ip = "198.51.100.7", protocol = "tcp", destination_port = 443 }`) +
		decideOutput("v4orange", "[]", `{ ingress_colo = "KIX", destination_ip = "104.16.1.1", proxied = true }`) +
		decideOutput("v6grey", "[]", `{ ingress_colo = "KIX", destination_ip = "2001:db8:99::1" }`) +
		decideOutput("v6orange", nullArgument(), `{ ingress_colo = "KIX", destination_ip = "2606:4700::1", proxied = true }`) +
		`
check "kix_leaves_from_nrt" {
  assert {
    condition     = provider::cfegress::decide([], local.ips, { ingress_colo = "KIX", destination_ip = "198.51.100.7" }).egress_colo == "NRT"
    error_message = "a KIX user with no matching policy should leave from NRT"
  }
}
`
	row := func(colo, ip string) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"outcome":      knownvalue.StringExact("no_match"),
			"policy":       knownvalue.Null(),
			"policy_index": knownvalue.Null(),
			"method":       knownvalue.StringExact("dedicated"),
			"egress_colo":  knownvalue.StringExact(colo),
			"egress_ip":    knownvalue.StringExact(ip),
			"geo_country":  knownvalue.StringExact("JP"),
		})
	}
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowTF18(),
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("v4grey", row("NRT", "203.0.113.10")),
				statecheck.ExpectKnownOutputValue("v4orange", row("KIX", "203.0.113.10")),
				statecheck.ExpectKnownOutputValue("v6grey", row("KIX", "2a09:bac0:1000:10::/64")),
				statecheck.ExpectKnownOutputValue("v6orange", row("KIX", "2a09:bac0:1000:10::/64")),
				// Both dedicated IPs are candidates, nearest first.
				statecheck.ExpectKnownOutputValueAtPath("v4grey", pathCandidatesColo(0), knownvalue.StringExact("NRT")),
				statecheck.ExpectKnownOutputValueAtPath("v4grey", pathCandidatesColo(1), knownvalue.StringExact("LAX")),
			},
		}},
	})
}

// TestAccFunctionDecide_policies: first match wins, the resource-shaped
// policies value (with id/precedence) is accepted, fallback when the primary
// colo is down, default egress keeps the user's country.
func TestAccFunctionDecide_policies(t *testing.T) {
	cfg := testSimProvider + testSimInventory + `
locals {
  policies = [
    {
      name = "web via LAX", id = null, precedence = 1000, description = null, enabled = true,
      traffic = "net.dst.port in {443 80}", identity = "", device_posture = null,
      egress = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2a09:bac0:1000:20::/64", ipv4_fallback = "203.0.113.10" }
    },
    { name = "disabled", enabled = false, traffic = "net.dst.port == 22", egress = { method = "default" } },
    { name = "ssh default", traffic = "net.dst.port == 22", egress = { method = "default" } },
  ]
}
` + decideOutput("web", "local.policies", `{ ingress_colo = "NRT", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" }`) +
		decideOutput("web_lax_down", "local.policies", `{ ingress_colo = "NRT", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp", colos_down = ["LAX"] }`) +
		decideOutput("ssh_mx", "local.policies", `{ ingress_colo = "LAX", source_country = "MX", destination_ip = "198.51.100.7", destination_port = 22, protocol = "tcp" }`)
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowTF18(),
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("web", knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"outcome": knownvalue.StringExact("policy"), "policy": knownvalue.StringExact("web via LAX"),
					"policy_index": knownvalue.Int64Exact(0), "egress_ip": knownvalue.StringExact("203.0.113.20"),
					"egress_colo": knownvalue.StringExact("LAX"), "geo_country": knownvalue.StringExact("US"),
				})),
				statecheck.ExpectKnownOutputValue("web_lax_down", knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"outcome": knownvalue.StringExact("policy"), "egress_ip": knownvalue.StringExact("203.0.113.10"),
					"egress_colo": knownvalue.StringExact("NRT"), "geo_country": knownvalue.StringExact("JP"),
				})),
				statecheck.ExpectKnownOutputValue("ssh_mx", knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"outcome": knownvalue.StringExact("policy"), "policy": knownvalue.StringExact("ssh default"),
					"policy_index": knownvalue.Int64Exact(2), "method": knownvalue.StringExact("default"),
					"egress_ip": knownvalue.Null(), "geo_country": knownvalue.StringExact("MX"),
				})),
			},
		}},
	})
}

// TestAccFunctionDecide_errors: wrong types and values name the path.
func TestAccFunctionDecide_errors(t *testing.T) {
	flow := `{ ingress_colo = "KIX", destination_ip = "198.51.100.7" }`
	cases := []struct {
		name, policies, flow string
		want                 *regexp.Regexp
	}{
		{"policies not a list", `"x"`, flow, regexp.MustCompile(`policies:\s+must\s+be\s+a\s+list,\s+got\s+a\s+string`)},
		{"egress method", `[{ name = "a", egress = { method = "dedicatd" } }]`, flow, regexp.MustCompile(`policies\[0\]\.egress\.method:\s+must\s+be\s+"default"\s+or\s+"dedicated"`)},
		{"egress not an object", `[{ name = "a", egress = { method = "default" } }, { name = "b", egress = "default" }]`, flow, regexp.MustCompile(`policies\[1\]\.egress:\s+must\s+be\s+an\s+object`)},
		{"ipv6 fallback", `[{ name = "a", egress = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2a09:bac0:1000:10::/64", ipv4_fallback = "0.0.0.0", ipv6_fallback = "x" } }]`, flow, regexp.MustCompile(`policies\[0\]\.egress\.ipv6_fallback:\s+there\s+is\s+no\s+secondary\s+IPv6`)},
		{"flow typo", `[]`, `{ ingress_colo = "KIX", destination_pi = "198.51.100.7" }`, regexp.MustCompile(`flow\.destination_pi:\s+unsupported\s+attribute;\s+did\s+you\s+mean\s+"destination_ip"\?`)},
		{"flow port", `[]`, `{ ingress_colo = "KIX", destination_ip = "198.51.100.7", destination_port = 70000 }`, regexp.MustCompile(`flow\.destination_port:\s+must\s+be\s+between\s+0\s+and\s+65535`)},
		{"unknown colo", `[]`, `{ ingress_colo = "XXX", destination_ip = "198.51.100.7" }`, regexp.MustCompile(`flow\.ingress_colo:`)},
		{"dedicated IP not in dedicated_ips", `[{ name = "a", egress = { method = "dedicated", ipv4 = "203.0.113.99" } }]`, flow, regexp.MustCompile(`(?s)203\.0\.113\.99\s+is\s+not\s+one\s+of\s+the\s+account's\s+dedicated\s+egress\s+IPs.*add\s+it\s+to\s+dedicated_ips\s+or`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				TerraformVersionChecks:   skipBelowTF18(),
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      testSimProvider + testSimInventory + decideOutput("d", c.policies, c.flow),
					ExpectError: c.want,
				}},
			})
		})
	}
}

// TestAccFunctionDecide_unknownAtPlan: values the engine does not use (id,
// precedence) may be unknown at plan time and the decision is known then;
// an unknown expression makes the result unknown (never guessed).
func TestAccFunctionDecide_unknownAtPlan(t *testing.T) {
	cfg := testSimProvider + testSimInventory + `
resource "terraform_data" "later" {
  input = "net.dst.port == 443"
}

locals {
  known_rules = [{
    name = "web", id = terraform_data.later.id, precedence = null, traffic = "net.dst.port == 443",
    egress = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2a09:bac0:1000:20::/64", ipv4_fallback = "203.0.113.10" }
  }]
  unknown_rules = [{
    name = "web", traffic = terraform_data.later.output,
    egress = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2a09:bac0:1000:20::/64", ipv4_fallback = "203.0.113.10" }
  }]
  flow = { ingress_colo = "NRT", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" }
}

output "known" { value = provider::cfegress::decide(local.known_rules, local.ips, local.flow).egress_colo }
output "unknown" { value = provider::cfegress::decide(local.unknown_rules, local.ips, local.flow).egress_colo }
output "lint" { value = length(provider::cfegress::lint(local.unknown_rules, local.ips)) }
`
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowTF18(),
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectKnownOutputValue("known", knownvalue.StringExact("LAX")),
				plancheck.ExpectUnknownOutputValue("unknown"),
				// Lint never guesses: an unknown expression might be a catch-all.
				plancheck.ExpectUnknownOutputValue("lint"),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("unknown", knownvalue.StringExact("LAX")),
				// Known now: "net.dst.port == 443" is not a catch-all.
				statecheck.ExpectKnownOutputValue("lint", knownvalue.Int64Exact(1)),
			},
		}},
	})
}
