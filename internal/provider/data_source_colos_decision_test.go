package provider

import (
	"fmt"
	"strconv"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccDataSourceColos(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: testSimProvider + `
data "cfegress_colos" "all" {}
data "cfegress_colos" "mx" { country = "mx" }
data "cfegress_colos" "oc" { continent = "OC" }
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.cfegress_colos.mx", tfjsonpath.New("codes"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("GDL"), knownvalue.StringExact("MEX"), knownvalue.StringExact("QRO")})),
				statecheck.ExpectKnownValue("data.cfegress_colos.mx", tfjsonpath.New("colos").AtSliceIndex(2), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"code": knownvalue.StringExact("QRO"), "country": knownvalue.StringExact("MX"), "continent": knownvalue.StringExact("NA"),
				})),
				statecheck.ExpectKnownValue("data.cfegress_colos.all", tfjsonpath.New("codes"), knownvalue.ListPartial(map[int]knownvalue.Check{})),
				statecheck.ExpectKnownValue("data.cfegress_colos.oc", tfjsonpath.New("codes"), knownvalue.ListPartial(map[int]knownvalue.Check{})),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttrWith("data.cfegress_colos.all", "colos.#", atLeast(300)),
				resource.TestCheckResourceAttr("data.cfegress_colos.all", "colos.#", itoa(len(catalogCodes()))),
				resource.TestCheckTypeSetElemAttr("data.cfegress_colos.oc", "codes.*", "SYD"),
				resource.TestCheckTypeSetElemAttr("data.cfegress_colos.all", "codes.*", "NRT"),
				resource.TestCheckTypeSetElemAttr("data.cfegress_colos.all", "codes.*", "KIX"),
			),
		}, {
			Config:      testSimProvider + `data "cfegress_colos" "x" { continent = "XX" }`,
			ExpectError: regexp.MustCompile(`continent\s+"XX"\s+is\s+not\s+one\s+of`),
		}},
	})
}

// TestAccDataSourceEgressDecision decides a list of flows from a policies
// value shaped like the resource's, and reports bad flows by path.
func TestAccDataSourceEgressDecision(t *testing.T) {
	cfg := testSimProvider + testSimInventory + `
data "cfegress_egress_decision" "d" {
  dedicated_ips = local.ips
  policies = [
    { name = "ssh", id = null, precedence = null, traffic = "net.dst.port == 22", egress = { method = "default" } },
    { name = "all", traffic = "net.dst.ip in {0.0.0.0/0 ::/0}", egress = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2a09:bac0:1000:20::/64", ipv4_fallback = "0.0.0.0" } },
  ]
  flows = [
    { name = "kix web", ingress_colo = "KIX", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" },
    { name = "kix web, LAX down", ingress_colo = "KIX", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp", colos_down = ["LAX"] },
    { ingress_colo = "LAX", source_country = "MX", destination_ip = "198.51.100.7", destination_port = 22, protocol = "tcp" },
  ]
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.cfegress_egress_decision.d", tfjsonpath.New("decisions"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name": knownvalue.StringExact("kix web"), "outcome": knownvalue.StringExact("policy"), "policy": knownvalue.StringExact("all"),
						"policy_index": knownvalue.Int64Exact(1), "egress_colo": knownvalue.StringExact("LAX"), "egress_ip": knownvalue.StringExact("203.0.113.20"),
						"geo_country": knownvalue.StringExact("US"),
					}),
					// LAX down, fallback 0.0.0.0: default egress from the ingress colo, user's geolocation.
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"outcome": knownvalue.StringExact("policy"), "method": knownvalue.StringExact("default"), "egress_ip": knownvalue.Null(),
						"egress_colo": knownvalue.StringExact("KIX"),
					}),
					// Default egress keeps the Mexican user's geolocation, leaving from a Mexican colo.
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name": knownvalue.Null(), "policy": knownvalue.StringExact("ssh"), "method": knownvalue.StringExact("default"),
						"geo_country": knownvalue.StringExact("MX"), "egress_colo": knownvalue.StringRegexp(regexp.MustCompile(`^(QRO|MEX|GDL)$`)),
					}),
				})),
			},
		}, {
			Config: testSimProvider + testSimInventory + `
data "cfegress_egress_decision" "d" {
  dedicated_ips = local.ips
  flows = [{ ingress_colo = "KIX", destination_ip = "198.51.100.7" }, { ingress_colo = "KIX", destination_ip = "not-an-ip" }]
}`,
			ExpectError: regexp.MustCompile(`flows\[1\]\.destination_ip:\s+"not-an-ip"\s+is\s+not\s+an\s+IP\s+address`),
		}, {
			Config: testSimProvider + testSimInventory + `
data "cfegress_egress_decision" "d" {
  dedicated_ips = [{ ipv4 = "203.0.113.10", colo = "ZZZ" }]
  flows = [{ ingress_colo = "KIX", destination_ip = "198.51.100.7" }]
}`,
			ExpectError: regexp.MustCompile(`dedicated_ips\[0\]\.colo:`),
		}},
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

func catalogCodes() []string {
	var out []string
	for _, c := range engine.Catalog() {
		out = append(out, c.Code)
	}
	return out
}

func atLeast(n int) resource.CheckResourceAttrWithFunc {
	return func(v string) error {
		i, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		if i < n {
			return fmt.Errorf("got %d, want at least %d", i, n)
		}
		return nil
	}
}
