package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccDedicatedEgressIP_basic(t *testing.T) {
	env := newAccEnv(t)
	addr := "cfegress_dedicated_egress_ip.nrt"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: env.Config(`
resource "cfegress_dedicated_egress_ip" "nrt" {
  ipv4       = "203.0.113.10"
  ipv6_range = "2001:DB8:10::/64"
  colo       = "nrt"
}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
					// Computed from the catalog at plan time, not after apply.
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact("NRT/203.0.113.10")),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("country"), knownvalue.StringExact("JP")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact("NRT/203.0.113.10")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("city"), knownvalue.StringExact("Tokyo")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("country"), knownvalue.StringExact("JP")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("latitude"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("longitude"), knownvalue.NotNull()),
				},
			},
			// Same range and colo spelled differently: an in-place update, no replacement.
			{
				Config: env.Config(`
resource "cfegress_dedicated_egress_ip" "nrt" {
  ipv4       = "203.0.113.10"
  ipv6_range = "2001:db8:10:0::/64"
  colo       = "NRT"
}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("byoip"), knownvalue.Bool(false)),
				},
			},
			// The account's own address (BYOIP), its range with host bits as
			// Cloudflare's fixtures write it: an in-place update.
			{
				Config: env.Config(`
resource "cfegress_dedicated_egress_ip" "nrt" {
  ipv4       = "203.0.113.10"
  ipv6_range = "2001:db8:10::c61/64"
  colo       = "NRT"
  byoip      = true
}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("byoip"), knownvalue.Bool(true)),
				},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     "203.0.113.10,2001:db8:10::/64,NRT,byoip",
				ImportStateVerify: true,
				// The import ID's spelling differs from the configuration's;
				// both mean the same.
				ImportStateVerifyIgnore: []string{"ipv6_range", "colo"},
			},
			// Another colo replaces the resource.
			{
				Config: env.Config(`
resource "cfegress_dedicated_egress_ip" "nrt" {
  ipv4       = "203.0.113.10"
  ipv6_range = "2001:db8:10::/64"
  colo       = "KIX"
}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact("KIX/203.0.113.10")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("city"), knownvalue.StringExact("Osaka")),
				},
			},
		},
	})
}

func TestAccDedicatedEgressIP_invalid(t *testing.T) {
	env := newAccEnv(t)
	cases := []struct {
		name, ipv4, ipv6, colo string
		want                   string
	}{
		{"bad ipv4", "203.0.113.300", "2001:db8::/64", "NRT", `ipv4.*not an IPv4 address`},
		{"ipv6 as ipv4", "2001:db8::1", "2001:db8::/64", "NRT", `IPv6 goes in the ipv6`},
		{"unspecified", "0.0.0.0", "2001:db8::/64", "NRT", `not a usable address`},
		{"address, not a range", "203.0.113.10", "2001:db8::1", "NRT", `is an address, not a range`},
		{"ipv4 range", "203.0.113.10", "10.0.0.0/8", "NRT", `not an IPv6 range`},
		{"unknown colo", "203.0.113.10", "2001:db8::/64", "NTR", `did you mean NRT`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config: env.Config(`
resource "cfegress_dedicated_egress_ip" "x" {
  ipv4       = "` + c.ipv4 + `"
  ipv6_range = "` + c.ipv6 + `"
  colo       = "` + c.colo + `"
}`),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(c.want),
		})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProtoV6ProviderFactories, Steps: steps})
}
