package provider

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

// TestAccExamples_simulation applies the examples of the functions and of the
// data sources that need no credentials, so the documentation cannot rot.
func TestAccExamples_simulation(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		file   string
		checks []statecheck.StateCheck
	}{
		{"functions/decide/function.tf", []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("kix_ssh", knownvalue.ObjectPartial(map[string]knownvalue.Check{
				"outcome": knownvalue.StringExact("no_match"), "egress_ip": knownvalue.StringExact("203.0.113.10"),
				"egress_colo": knownvalue.StringExact("NRT"), "geo_country": knownvalue.StringExact("JP"),
			})),
			statecheck.ExpectKnownOutputValue("engineer", knownvalue.ObjectPartial(map[string]knownvalue.Check{
				"outcome": knownvalue.StringExact("policy"), "egress_ip": knownvalue.StringExact("198.51.100.10"),
				"egress_colo": knownvalue.StringExact("NRT"), "geo_country": knownvalue.Null(), "no_geolocation": knownvalue.Bool(true),
			})),
		}},
		{"functions/lint/function.tf", []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("findings", knownvalue.ListExact([]knownvalue.Check{
				knownvalue.ObjectPartial(map[string]knownvalue.Check{"rule": knownvalue.StringExact("catch_all_not_last"), "index": knownvalue.Int64Exact(0)}),
				knownvalue.ObjectPartial(map[string]knownvalue.Check{"rule": knownvalue.StringExact("shadowed"), "index": knownvalue.Int64Exact(1)}),
			})),
		}},
		{"data-sources/cfegress_colos/data-source.tf", []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("mexican_colos", knownvalue.ListExact([]knownvalue.Check{
				knownvalue.StringExact("GDL"), knownvalue.StringExact("MEX"), knownvalue.StringExact("QRO"),
			})),
		}},
		{"data-sources/cfegress_egress_decision/data-source.tf", []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("decisions", knownvalue.MapPartial(map[string]knownvalue.Check{
				"Osaka user, HTTPS":    knownvalue.StringExact("no_match: 203.0.113.10 from NRT (JP)"),
				"Osaka user, NRT down": knownvalue.StringExact("no_match: 203.0.113.20 from LAX (US)"),
			})),
		}},
		{"data-sources/cfegress_egress_matrix/data-source.tf", []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("matrix", knownvalue.ListSizeExact(16)),
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				TerraformVersionChecks:   skipBelowTF18(),
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: testSimProvider + read(c.file), ConfigStateChecks: c.checks}},
			})
		})
	}
}
