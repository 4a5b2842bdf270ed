package lint

import (
	"strings"
	"testing"
)

// Findings about the inventory name it as the caller's user gave it
// (provider::cfegress::lint's dedicated_ips), dedicated_egress_ips only by
// default.
func TestLintNamesTheInventory(t *testing.T) {
	in := Input{InventoryKnown: true, Inventory: testInv[:1], Policies: []Policy{
		pol("a", `net.dst.port == 443`, ded("203.0.113.9", "", "")),
		pol("rest", catchAll, dflt),
	}}
	check := func(in Input, name, other string) {
		t.Helper()
		rules := map[string]bool{}
		for _, f := range Lint(in) {
			if strings.Contains(f.Message, other) {
				t.Errorf("%s: %q names %s", f.Rule, f.Message, other)
			}
			if strings.Contains(f.Message, name) {
				rules[f.Rule] = true
			}
		}
		for _, r := range []string{RuleIPNotDedicated, RuleInventoryTooSmall} {
			if !rules[r] {
				t.Errorf("no %s finding names %s", r, name)
			}
		}
	}
	check(in, "dedicated_egress_ips", "dedicated_ips")
	in.InventoryName = "dedicated_ips"
	check(in, "dedicated_ips", "dedicated_egress_ips")
}
