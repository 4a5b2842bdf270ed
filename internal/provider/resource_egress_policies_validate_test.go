package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// validationInventory: two IPs in NRT, one in LAX.
const validationInventory = `[
    { ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.11", ipv6_range = "2001:db8:11::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2001:db8:20::/64", colo = "LAX" },
  ]`

const nrtEgress = `{ method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" }`

// TestAccEgressPolicies_validation: every plan-time error, through
// terraform plan, with the policy and index in the summary. Nothing is
// written to the account.
func TestAccEgressPolicies_validation(t *testing.T) {
	env := newAccEnv(t)
	cases := []struct {
		name     string
		policies string
		extra    string
		want     string
	}{
		{"duplicate names", `
    { name = "a", traffic = "net.dst.port == 22", egress = ` + nrtEgress + ` },
    { name = "a", traffic = "net.dst.port == 23", egress = ` + nrtEgress + ` },
    { name = "rest", egress = { method = "default" } },`,
			"", `Policy "a" \(policies\[1\]\): duplicate policy name`},
		{"catch-all in the middle", `
    { name = "everything", traffic = "net.dst.ip != 0.0.0.0", egress = ` + nrtEgress + ` },
    { name = "ssh", traffic = "net.dst.port == 22", egress = { method = "default" } },`,
			"", `Policy "everything" \(policies\[0\]\): catch-all is not the last policy`},
		{"fallback in the same colo", `
    { name = "partners", traffic = "net.dst.port == 22", egress = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.11" } },
    { name = "rest", egress = { method = "default" } },`,
			"", `Policy "partners" \(policies\[0\]\): fallback in the same colo`},
		{"missing fallback", `
    { name = "partners", traffic = "net.dst.port == 22", egress = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64" } },
    { name = "rest", egress = { method = "default" } },`,
			"", `Policy "partners" \(policies\[0\]\): dedicated egress without its IPs`},
		{"fallback equals primary", `
    { name = "partners", traffic = "net.dst.port == 22", egress = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.10" } },
    { name = "rest", egress = { method = "default" } },`,
			"", `Policy "partners" \(policies\[0\]\): fallback (equal to the primary IPv4|in the same colo)`},
		{"default with IPs", `
    { name = "web", traffic = "net.dst.port == 443", egress = { method = "default", ipv4 = "203.0.113.10" } },
    { name = "rest", egress = { method = "default" } },`,
			"", `Policy "web" \(policies\[0\]\): default egress with IPs`},
		{"expression syntax with position", `
    { name = "web", traffic = "net.dst.port in {443", egress = ` + nrtEgress + ` },
    { name = "rest", egress = { method = "default" } },`,
			"", `(?s)Policy "web" \(policies\[0\]\): expression does not parse.*1:\d+`},
		{"unknown field", `
    { name = "web", traffic = "net.dst.prot == 443", egress = ` + nrtEgress + ` },
    { name = "rest", egress = { method = "default" } },`,
			"", `Policy "web" \(policies\[0\]\): expression does not`},
		{"type mismatch", `
    { name = "web", traffic = "net.dst.port == \"https\"", egress = ` + nrtEgress + ` },
    { name = "rest", egress = { method = "default" } },`,
			"", `Policy "web" \(policies\[0\]\): expression does not type-check`},
		{"shadowed", `
    { name = "web", traffic = "net.dst.port in {443 80}", egress = ` + nrtEgress + ` },
    { name = "https", traffic = "net.dst.port == 443", egress = { method = "default" } },
    { name = "rest", egress = { method = "default" } },`,
			"", `Policy "https" \(policies\[1\]\): policy can never match`},
		{"ip not dedicated", `
    { name = "web", traffic = "net.dst.port == 443", egress = { method = "dedicated", ipv4 = "198.51.100.7", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" } },
    { name = "rest", egress = { method = "default" } },`,
			"", `Policy "web" \(policies\[0\]\): IP is not one of the account's dedicated egress IPs`},
		{"catch-all required", `
    { name = "web", traffic = "net.dst.port == 443", egress = ` + nrtEgress + ` },`,
			`  catch_all = "required"` + "\n", `Egress policies: no catch-all at the bottom`},
		{"bad method", `
    { name = "web", egress = { method = "dedicate" } },`,
			"", `(?s)egress.method.*value must be one of`},
		{"bad ipv4", `
    { name = "web", traffic = "net.dst.port == 443", egress = { method = "dedicated", ipv4 = "203.0.113.300", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" } },`,
			"", `(?s)Invalid IPv4 address.*not an IPv4 address`},
		{"ipv6 outside the inventory ranges", `
    { name = "web", traffic = "net.dst.port == 443", egress = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/48", ipv4_fallback = "203.0.113.20" } },`,
			"", `(?s)not one of the account's dedicated egress IPs.*2001:db8:10::/48 is not within the IPv6 range`},
		{"unknown lint_ignore rule", `
    { name = "web", egress = { method = "default" }, lint_ignore = ["shadowing"] },`,
			"", `(?s)lint_ignore.*value must be one of`},
		{"empty identity", `
    { name = "web", identity = "", egress = { method = "default" } },`,
			"", `(?s)Empty value.*leave the attribute out`},
		{"expect mismatch", `
    { name = "web", traffic = "net.dst.port == 443", egress = ` + nrtEgress + ` },
    { name = "rest", egress = { method = "default" } },`,
			`  expect = [{ flow = { ingress_colo = "LAX", destination_ip = "192.0.2.1", destination_port = 22, protocol = "tcp", source_country = "US" }, policy = "web" }]` + "\n",
			`(?s)expect\[0\]: flow from LAX to 192.0.2.1:22.*expected policy "web" \(policies\[0\]\), but the flow is decided by policy "rest"`},
		{"expect without inventory", `
    { name = "rest", egress = { method = "default" } },`,
			`  expect = [{ flow = { ingress_colo = "LAX", destination_ip = "192.0.2.1" }, policy = "rest" }]` + "\n", `expect needs dedicated_egress_ips`},
		{"bad inventory colo", `
    { name = "rest", egress = { method = "default" } },`,
			"", `did you mean`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		inv := "  dedicated_egress_ips = " + validationInventory + "\n"
		switch c.name {
		case "bad inventory colo":
			inv = `  dedicated_egress_ips = [{ ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NTR" }]` + "\n"
		case "expect without inventory":
			inv = ""
		}
		steps = append(steps, resource.TestStep{
			Config: env.Config(`
resource "cfegress_egress_policies" "this" {
` + inv + c.extra + `  policies = [` + c.policies + `
  ]
}`),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(c.want),
		})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProtoV6ProviderFactories, Steps: steps})
	if env.Emu != nil {
		if n := env.Writes(t); n != 0 {
			t.Fatalf("invalid configurations wrote %d times to the account", n)
		}
	}
}

// TestAccEgressPolicies_unknownNotGuessed: a policy whose expression is not
// known at plan time (computed by another resource) may match anything or
// nothing, so order findings that depend on it are not reported; the same
// configuration with the value known is an error.
func TestAccEgressPolicies_unknownNotGuessed(t *testing.T) {
	env := newAccEnv(t)
	policies := func(first string) string {
		return env.Config(`
resource "terraform_data" "computed" {
  input = "net.dst.port == 25"
}

resource "cfegress_egress_policies" "this" {
  dedicated_egress_ips = ` + validationInventory + `
  policies = [
    { name = "mail", traffic = ` + first + `, egress = ` + nrtEgress + ` },
    { name = "smtp", traffic = "net.dst.port == 25", egress = { method = "default" } },
    { name = "rest", egress = { method = "default" } },
  ]
}`)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policies(`terraform_data.computed.output`), PlanOnly: true, ExpectNonEmptyPlan: true},
			{Config: policies(`"net.dst.port == 25"`), PlanOnly: true, ExpectError: regexp.MustCompile(`Policy "smtp" \(policies\[1\]\): policy can never match`)},
		},
	})
}

// TestAccEgressPolicies_apiProblemsAtPlan: a wrong token and an unreachable
// API are reported at plan time, naming what to fix.
func TestAccEgressPolicies_apiProblemsAtPlan(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	body := `
resource "cfegress_egress_policies" "this" {
  policies = [{ name = "rest", egress = { method = "default" } }]
}`
	wrong := *env
	wrong.Token = "cfegress-wrong-token"
	unreachable := *env
	unreachable.BaseURL = "http://127.0.0.1:1"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: wrong.Config(body), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Cannot list the account's Gateway rules.*authentication`)},
			{Config: unreachable.ConfigWith("max_retries = 0", body), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Cannot list the account's Gateway rules.*127\.0\.0\.1:1`)},
		},
	})
	if n := env.Writes(t); n != 0 {
		t.Fatalf("%d writes", n)
	}
}
