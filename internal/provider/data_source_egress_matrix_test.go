package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// TestAccDataSourceEgressMatrix_seedTable reproduces the seed's four-row
// table for a user at KIX, for no match (nearest dedicated IP: NRT) and for a
// dedicated policy egressing from LAX.
func TestAccDataSourceEgressMatrix_seedTable(t *testing.T) {
	cfg := testSimProvider + testSimInventory + `
data "cfegress_egress_matrix" "m" {
  dedicated_ips = local.ips
  ingress_colos = ["KIX"]
  policies = [{
    name = "via LAX", traffic = "net.dst.port == 443",
    egress = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2a09:bac0:1000:20::/64", ipv4_fallback = "203.0.113.10" }
  }]
}
`
	row := func(scenario, kase, colo, ip, geo string) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"ingress_colo": knownvalue.StringExact("KIX"), "scenario": knownvalue.StringExact(scenario),
			"case": knownvalue.StringExact(kase), "egress_colo": knownvalue.StringExact(colo),
			"source_ip": knownvalue.StringExact(ip), "geo_country": knownvalue.StringExact(geo),
		})
	}
	nrt4, nrt6 := "203.0.113.10", "2a09:bac0:1000:10::/64"
	lax4, lax6 := "203.0.113.20", "2a09:bac0:1000:20::/64"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.cfegress_egress_matrix.m", tfjsonpath.New("rows"), knownvalue.ListExact([]knownvalue.Check{
					row("no match", "IPv4 grey", "NRT", nrt4, "JP"),
					row("no match", "IPv4 orange", "KIX", nrt4, "JP"),
					row("no match", "IPv6 grey", "KIX", nrt6, "JP"),
					row("no match", "IPv6 orange", "KIX", nrt6, "JP"),
					row("policy", "IPv4 grey", "LAX", lax4, "US"),
					row("policy", "IPv4 orange", "KIX", lax4, "US"),
					row("policy", "IPv6 grey", "KIX", lax6, "US"),
					row("policy", "IPv6 orange", "KIX", lax6, "US"),
				})),
				statecheck.ExpectKnownValue("data.cfegress_egress_matrix.m", tfjsonpath.New("rows").AtSliceIndex(4).AtMapKey("policy"), knownvalue.StringExact("via LAX")),
				// The text table carries the same rows for people.
				statecheck.ExpectKnownValue("data.cfegress_egress_matrix.m", tfjsonpath.New("text"),
					knownvalue.StringRegexp(regexp.MustCompile(`(?s)KIX.*IPv4 grey.*NRT.*203\.0\.113\.10.*via LAX.*IPv4 grey.*LAX.*203\.0\.113\.20`))),
			},
		}},
	})
}

// A policy's IP that is not in dedicated_ips: the error sends the user to
// dedicated_ips, this data source's attribute.
func TestAccDataSourceEgressMatrix_ipNotInDedicatedIPs(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: testSimProvider + testSimInventory + `
data "cfegress_egress_matrix" "m" {
  dedicated_ips = local.ips
  ingress_colos = ["KIX"]
  policies      = [{ name = "v", traffic = "net.dst.port == 443", egress = { method = "dedicated", ipv4 = "203.0.113.99" } }]
}
`,
			ExpectError: regexp.MustCompile(`(?s)203\.0\.113\.99\s+is\s+not\s+one\s+of.*add\s+it\s+to\s+dedicated_ips\s+or`),
		}},
	})
}
