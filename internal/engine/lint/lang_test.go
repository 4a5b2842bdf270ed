package lint

import (
	"strings"
	"testing"
)

// The expression-level warnings and Gateway's length limit are lint
// findings with stable rule IDs, silenced by lint_ignore.
func TestLintLanguageFindings(t *testing.T) {
	long := strings.Repeat("net.dst.port == 1 or ", 7000) + "net.dst.port == 2"
	in := Input{Policies: []Policy{
		pol("proto", `net.protocol == "TCP" and net.dst.port == 443`, nrt),
		pol("continent", `net.src.geo.continent == "North America"`, nrt),
		pol("slot", `identity.email == "a@example.com"`, nrt, identity(`any(identity.groups[*].name == "g")`)),
		pol("quiet", `net.fqdn.host == "Example.com"`, nrt, ignore(RuleNeverMatches, RuleShadowed)),
		pol("long", long, nrt),
		pol("rest", catchAll, dflt),
	}, Inventory: testInv, InventoryKnown: true}
	fs := Lint(in)
	want := map[string]bool{
		"0:never_matches:warning":     false,
		"1:never_matches:warning":     false,
		"2:wrong_slot:warning":        false,
		"4:expression_too_long:error": false,
	}
	for _, f := range fs {
		s := summary([]Finding{f})[0]
		if _, ok := want[s]; ok {
			want[s] = true
		}
		if f.Index == 3 && (f.Rule == RuleNeverMatches || f.Rule == RuleShadowed) {
			t.Errorf("lint_ignore did not silence %s", f)
		}
		if f.Index == 4 && f.Rule == RuleExpressionSyntax {
			t.Errorf("the length limit is reported twice: %s", f)
		}
	}
	for s, seen := range want {
		if !seen {
			t.Errorf("missing %s in %q", s, summary(fs))
		}
	}
	for _, f := range fs {
		switch f.Rule {
		case RuleNeverMatches:
			if f.Index == 0 && !strings.Contains(f.Message, `write "tcp"`) {
				t.Errorf("never_matches message: %s", f.Message)
			}
			if f.Index == 1 && !strings.Contains(f.Message, `write "NA"`) {
				t.Errorf("never_matches message: %s", f.Message)
			}
		case RuleExpressionTooLong:
			if f.Attribute != "traffic" || !strings.Contains(f.Message, "at most 140000 characters") {
				t.Errorf("expression_too_long: %+v", f)
			}
		}
	}
	// A policy whose only literal never matches selects no flow: it is
	// reported as unreachable, not silently kept.
	fs = Lint(Input{Policies: []Policy{
		pol("tcp upper", `net.protocol == "TCP"`, nrt),
		pol("rest", catchAll, dflt),
	}, Inventory: testInv, InventoryKnown: true})
	found := false
	for _, f := range fs {
		if f.Index == 0 && f.Rule == RuleShadowed {
			found = true
		}
	}
	if !found {
		t.Errorf("a policy matching no flow is not reported: %q", summary(fs))
	}
}
