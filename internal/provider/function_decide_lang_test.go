package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

// Through the real terraform: a BYOIP inventory entry with its range as
// Cloudflare's fixtures write it (host bits set) and a policy on the new
// selectors. decide says no_geolocation for the BYOIP IP; the OIDC claim
// selector matches Cloudflare's documented example; the matrix data source
// says no geolocation too.
func TestAccFunctionDecide_byoipAndNewSelectors(t *testing.T) {
	cfg := testSimProvider + `
locals {
  ips = [
    { ipv4 = "203.0.113.10", ipv6_range = "2a06:98c1:54::c61/64", colo = "NRT", byoip = true },
    { ipv4 = "203.0.113.20", ipv6_range = "2a09:bac0:1000:20::/64", colo = "LAX" },
  ]
  policies = [
    {
      name     = "engineering"
      identity = "any(identity.oidc_claims[*] == \"\\\"department=engineering\\\"\")"
      traffic  = "net.dst.ip in {198.51.100.0..198.51.100.255}"
      egress   = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2a06:98c1:54::/64", ipv4_fallback = "203.0.113.20" }
    },
  ]
}
output "eng" {
  value = provider::cfegress::decide(local.policies, local.ips, { ingress_colo = "KIX", destination_ip = "198.51.100.7", oidc_claims = ["department=engineering"], user_id = "u-1" })
}
output "other" {
  value = provider::cfegress::decide(local.policies, local.ips, { ingress_colo = "LAX", source_country = "US", destination_ip = "198.51.100.7", oidc_claims = ["department=sales"] })
}
data "cfegress_egress_matrix" "m" {
  policies      = local.policies
  dedicated_ips = local.ips
  ingress_colos = ["KIX"]
}
output "matrix_row0" {
  value = data.cfegress_egress_matrix.m.rows[0]
}
`
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowTF18(),
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("eng", knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"outcome":        knownvalue.StringExact("policy"),
					"policy":         knownvalue.StringExact("engineering"),
					"egress_ip":      knownvalue.StringExact("203.0.113.10"),
					"egress_colo":    knownvalue.StringExact("NRT"),
					"geo_country":    knownvalue.Null(),
					"no_geolocation": knownvalue.Bool(true),
				})),
				statecheck.ExpectKnownOutputValue("other", knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"outcome":        knownvalue.StringExact("no_match"),
					"egress_ip":      knownvalue.StringExact("203.0.113.20"),
					"geo_country":    knownvalue.StringExact("US"),
					"no_geolocation": knownvalue.Bool(false),
				})),
				statecheck.ExpectKnownOutputValue("matrix_row0", knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"scenario":       knownvalue.StringExact("no match"),
					"no_geolocation": knownvalue.Bool(true),
					"geo_country":    knownvalue.Null(),
				})),
			},
		}},
	})
}
