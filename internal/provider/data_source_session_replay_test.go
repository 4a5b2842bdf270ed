package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// The example (a week of Logpush records, check blocks) through terraform:
// every session agrees and the change under review moves none; its new
// policy is reached by none.
func TestAccDataSourceSessionReplay_example(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples", "data-sources", "cfegress_session_replay"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "data-source.tf"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(raw), "${path.module}", filepath.ToSlash(dir))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: testSimProvider + cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("replay", knownvalue.ObjectExact(map[string]knownvalue.Check{
					"sessions": knownvalue.Int64Exact(9), "agree": knownvalue.Int64Exact(9), "disagree": knownvalue.Int64Exact(0),
					"undecidable": knownvalue.Int64Exact(0), "changed": knownvalue.Int64Exact(0),
					"unused":         knownvalue.ListExact([]knownvalue.Check{}),
					"planned_unused": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("Payroll from Los Angeles")}),
				})),
				statecheck.ExpectKnownValue("data.cfegress_session_replay.last_week", tfjsonpath.New("inferred"), knownvalue.ObjectExact(map[string]knownvalue.Check{
					// orange: the LA user to the partner behind Cloudflare;
					// colo_down: the NRT outage; user_country: the Mexican user at LAX.
					"grey": knownvalue.Int64Exact(3), "orange": knownvalue.Int64Exact(1), "either": knownvalue.Int64Exact(5),
					"colo_down": knownvalue.Int64Exact(1), "user_country": knownvalue.Int64Exact(1), "equidistant": knownvalue.Int64Exact(0),
				})),
				statecheck.ExpectKnownValue("data.cfegress_session_replay.last_week", tfjsonpath.New("policy_hits"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact("Partner API from Tokyo"), "hits": knownvalue.Int64Exact(3), "logged_hits": knownvalue.Int64Exact(3)}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact("Web keeps the user's geolocation"), "hits": knownvalue.Int64Exact(2), "logged_hits": knownvalue.Int64Exact(2)}),
				})),
			},
		}},
	})
}

// Records written by hand against the seed's tables: a disagreement on
// purpose, a change, an aggregated row, a session the engine cannot
// decide, a malformed line, and the same records gzip-compressed.
func TestAccDataSourceSessionReplay_figures(t *testing.T) {
	cfg := testSimProvider + `
locals {
  ips = [
    { ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2001:db8:20::/64", colo = "LAX" },
  ]
  live = [
    { name = "Finance", traffic = "net.dst.ip in {198.18.0.0/15}", identity = "any(identity.groups.name[*] == \"finance\")",
      egress = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2001:db8:20::/64", ipv4_fallback = "203.0.113.10" } },
    { name = "Partners", traffic = "net.dst.ip in {192.0.2.128/25}",
      egress = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" } },
  ]
  planned = [
    { name = "Partners", traffic = "net.dst.ip in {192.0.2.128/25}",
      egress = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2001:db8:20::/64", ipv4_fallback = "203.0.113.10" } },
  ]
  ndjson = <<-EOT
    {"SessionID":"seed","IngressColoName":"KIX","OriginIP":"192.0.2.80","OriginPort":443,"Protocol":"TCP","EgressRuleID":"00000000-0000-0000-0000-000000000000","EgressRuleName":"","EgressIP":"203.0.113.10","EgressColoName":"NRT"}
    {"SessionID":"partner","IngressColoName":"LAX","OriginIP":"192.0.2.200","OriginPort":443,"Protocol":"TCP","EgressRuleName":"Partners","EgressIP":"203.0.113.10","EgressColoName":"NRT"}
    {"IngressColoName":"KIX","OriginIP":"192.0.2.201","OriginPort":443,"Protocol":"TCP","EgressRuleName":"Partners","EgressIP":"203.0.113.10","EgressColoName":"NRT","count":250}
    {"SessionID":"wrong-colo","IngressColoName":"KIX","OriginIP":"192.0.2.81","OriginPort":443,"Protocol":"TCP","EgressRuleName":"","EgressIP":"203.0.113.10","EgressColoName":"LAX"}
    {"SessionID":"finance","IngressColoName":"NRT","OriginIP":"198.18.0.9","OriginPort":443,"Protocol":"TCP","EgressRuleName":"Finance","EgressIP":"203.0.113.20","EgressColoName":"LAX"}
    {"SessionID":"cut","IngressColoName":"KIX",
  EOT
}

data "cfegress_session_replay" "plain" {
  records          = local.ndjson
  policies         = local.live
  dedicated_ips    = local.ips
  planned_policies = local.planned
}

data "cfegress_session_replay" "gzip" {
  records_base64 = base64gzip(local.ndjson)
  policies       = local.live
  dedicated_ips  = local.ips
  max_examples   = 0
}
`
	ds := "data.cfegress_session_replay.plain"
	egress := func(policy, ip, colo string) knownvalue.Check {
		m := map[string]knownvalue.Check{"egress_ip": knownvalue.StringExact(ip), "egress_colo": knownvalue.StringExact(colo)}
		if policy == "" {
			m["policy"] = knownvalue.Null()
		} else {
			m["policy"] = knownvalue.StringExact(policy)
		}
		return knownvalue.ObjectPartial(m)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("sessions"), knownvalue.Int64Exact(254)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("rows"), knownvalue.Int64Exact(5)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("agree"), knownvalue.Int64Exact(252)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("disagree"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("undecidable"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("undecidable_fields"), knownvalue.MapExact(map[string]knownvalue.Check{"identity.groups.name": knownvalue.Int64Exact(1)})),
				// partner, the 250 aggregated ones: Partners moves to LA.
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("changed"), knownvalue.Int64Exact(251)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("changes"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"session_id": knownvalue.StringExact("partner"), "count": knownvalue.Int64Exact(1),
						"before": egress("Partners", "203.0.113.10", "NRT"), "after": egress("Partners", "203.0.113.20", "LAX")}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"session_id": knownvalue.Null(), "line": knownvalue.Int64Exact(3), "count": knownvalue.Int64Exact(250),
						"before": egress("Partners", "203.0.113.10", "NRT"), "after": egress("Partners", "203.0.113.20", "LAX")}),
				})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("disagreements"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"session_id": knownvalue.StringExact("wrong-colo"), "line": knownvalue.Int64Exact(4),
						"observed": egress("", "203.0.113.10", "LAX"), "model": egress("", "203.0.113.10", "NRT"),
						"reason": knownvalue.StringRegexp(regexp.MustCompile(`^egress colo: the log has LAX, the model says NRT`)),
					}),
				})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("malformed"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("malformed_lines"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectExact(map[string]knownvalue.Check{"line": knownvalue.Int64Exact(6), "error": knownvalue.StringRegexp(regexp.MustCompile(`truncated`))}),
				})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("unused"), knownvalue.ListExact([]knownvalue.Check{})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("planned_policy_hits"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact("Partners"), "hits": knownvalue.Int64Exact(251)}),
				})),
				// gzip, base64: the same figures; no plan, no examples listed.
				statecheck.ExpectKnownValue("data.cfegress_session_replay.gzip", tfjsonpath.New("agree"), knownvalue.Int64Exact(252)),
				statecheck.ExpectKnownValue("data.cfegress_session_replay.gzip", tfjsonpath.New("changed"), knownvalue.Int64Exact(0)),
				statecheck.ExpectKnownValue("data.cfegress_session_replay.gzip", tfjsonpath.New("disagreements"), knownvalue.ListExact([]knownvalue.Check{})),
				statecheck.ExpectKnownValue("data.cfegress_session_replay.gzip", tfjsonpath.New("disagree"), knownvalue.Int64Exact(1)),
			},
		}},
	})
}

func TestAccDataSourceSessionReplay_errors(t *testing.T) {
	inv := `dedicated_ips = [{ ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NRT" }]`
	steps := []resource.TestStep{
		{Config: testSimProvider + `data "cfegress_session_replay" "x" {` + inv + `}`,
			ExpectError: regexp.MustCompile(`(?s)Exactly one of these attributes must be configured:\s+\[records,records_base64\]`)},
		{Config: testSimProvider + `data "cfegress_session_replay" "x" {
  records = ""
  records_base64 = ""
  ` + inv + `
}`, ExpectError: regexp.MustCompile(`(?s)Exactly one of these attributes must be configured:\s+\[records,records_base64\]`)},
		{Config: testSimProvider + `data "cfegress_session_replay" "x" {
  records_base64 = "not base64!"
  ` + inv + `
}`, ExpectError: regexp.MustCompile(`(?s)records_base64 is not base64`)},
		{Config: testSimProvider + `data "cfegress_session_replay" "x" {
  records  = ""
  policies = [{ name = "bad", traffic = "net.dst.port ==", egress = { method = "default" } }]
  ` + inv + `
}`, ExpectError: regexp.MustCompile(`(?s)Invalid policies.*policies\[0\]\.traffic`)},
		{Config: testSimProvider + `data "cfegress_session_replay" "x" {
  records          = ""
  planned_policies = [{ name = "bad", traffic = "net.dst.port == 443", egress = { method = "dedicated", ipv4 = "198.51.100.1" } }]
  ` + inv + `
}`, ExpectError: regexp.MustCompile(`(?s)Invalid planned_policies.*198\.51\.100\.1 is not one of\s+the\s+account's\s+dedicated\s+egress\s+IPs.*add\s+it\s+to\s+dedicated_ips\s+or`)},
		{Config: testSimProvider + `data "cfegress_session_replay" "x" {
  records      = ""
  max_examples = -1
  ` + inv + `
}`, ExpectError: regexp.MustCompile(`max_examples is -1`)},
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProtoV6ProviderFactories, Steps: steps})
}
