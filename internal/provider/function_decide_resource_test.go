package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// TestAccFunctionDecide_resourcePolicies: the resource's `policies` and the
// cfegress_dedicated_egress_ip resources are passed as is, to the function
// and to cfegress_egress_decision. At plan time the rules' id and precedence
// are unknown and the decision is already known.
func TestAccFunctionDecide_resourcePolicies(t *testing.T) {
	env := newAccEnv(t)
	if len(env.Inventory) < 2 {
		t.Skip("needs two dedicated egress IPs")
	}
	a, b := env.Inventory[0], env.Inventory[1]
	cfg := env.Config(env.InventoryResources() + `
resource "cfegress_egress_policies" "p" {
  dedicated_egress_ips = ` + env.InventoryRefs() + `
  policies = [
    {
      name    = "acc web"
      traffic = "net.dst.port == 443"
      egress  = { method = "dedicated", ipv4 = "` + b.IPv4.String() + `", ipv6 = "` + b.IPv6Range.String() + `", ipv4_fallback = "` + a.IPv4.String() + `" }
    },
    {
      name    = "acc rest"
      traffic = "net.protocol in {\"tcp\" \"udp\"}"
      egress  = { method = "default" }
    },
  ]
}

locals {
  flow = { ingress_colo = "` + a.Colo + `", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" }
}

output "web" {
  value = provider::cfegress::decide(cfegress_egress_policies.p.policies, ` + env.InventoryRefs() + `, local.flow)
}

data "cfegress_egress_decision" "d" {
  policies      = cfegress_egress_policies.p.policies
  dedicated_ips = ` + env.InventoryRefs() + `
  flows         = [local.flow]
}

check "web_leaves_from_second_ip" {
  assert {
    condition     = provider::cfegress::decide(cfegress_egress_policies.p.policies, ` + env.InventoryRefs() + `, local.flow).egress_ip == "` + b.IPv4.String() + `"
    error_message = "web traffic should leave from the second dedicated IP"
  }
}
`)
	web := knownvalue.ObjectPartial(map[string]knownvalue.Check{
		"outcome": knownvalue.StringExact("policy"), "policy": knownvalue.StringExact("acc web"),
		"egress_ip": knownvalue.StringExact(b.IPv4.String()), "egress_colo": knownvalue.StringExact(b.Colo),
	})
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowTF18(),
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectKnownOutputValue("web", web),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("web", web),
				statecheck.ExpectKnownValue("data.cfegress_egress_decision.d", tfjsonpathDecision0(), web),
			},
		}},
	})
}

func tfjsonpathDecision0() tfjsonpath.Path { return tfjsonpath.New("decisions").AtSliceIndex(0) }
