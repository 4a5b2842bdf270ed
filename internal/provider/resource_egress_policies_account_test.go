package provider

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

func TestWarnSharedSaysWhereTheyAreEvaluated(t *testing.T) {
	shared := []cfapi.Rule{
		{ID: "s0", Name: "org: first", Precedence: 5, ReadOnly: true},
		{ID: "s1", Name: "org: finance", Precedence: 1500, ReadOnly: true, SourceAccount: "parent-1"},
		{ID: "s2", Name: "org: last", Precedence: 99999, ReadOnly: true},
	}
	var diags diag.Diagnostics
	warnShared(&diags, "acc", shared, []string{"a", "b", "c"}, []uint64{1000, 2000, 3000})
	if len(diags) != 1 || diags[0].Severity() != diag.SeverityWarning {
		t.Fatalf("diags %v, want one warning", diags)
	}
	d := diags[0].Detail()
	for _, s := range []string{
		`"org: first" (id s0, precedence 5, shared by a parent account): evaluated before every policy (first: policies[0] "a")`,
		`"org: finance" (id s1, precedence 1500, shared by account parent-1): evaluated after policies[0] "a" and before policies[1] "b"`,
		`"org: last" (id s2, precedence 99999, shared by a parent account): evaluated after every policy (last: policies[2] "c")`,
		"never writes, moves or deletes them",
	} {
		if !strings.Contains(d, s) {
			t.Errorf("warning does not say %s:\n%s", s, d)
		}
	}
	diags = nil
	warnShared(&diags, "acc", shared[:1], []string{"a"}, nil)
	if !strings.Contains(diags[0].Detail(), "exact place is known once") {
		t.Errorf("unknown precedences: %s", diags[0].Detail())
	}
	diags = nil
	warnShared(&diags, "acc", nil, nil, nil)
	if len(diags) != 0 {
		t.Errorf("no shared rules: %v", diags)
	}
}

func TestWarnStatusIsOnThePolicy(t *testing.T) {
	var diags diag.Diagnostics
	warnStatus(&diags, []string{"r0", "", "r2"}, []string{"a", "b", "c"}, map[string]string{"r2": "dedicated IP unavailable"})
	if len(diags) != 1 {
		t.Fatalf("diags %v, want one warning", diags)
	}
	wd, ok := diags[0].(diag.DiagnosticWithPath)
	if !ok || !wd.Path().Equal(path.Root("policies").AtListIndex(2)) || !strings.Contains(diags[0].Detail(), "dedicated IP unavailable") {
		t.Errorf("warning %v, want it at policies[2] quoting Cloudflare's warning", diags[0])
	}
}

func TestPolicyLimitNamesTheSetting(t *testing.T) {
	var diags diag.Diagnostics
	if !checkPolicyLimit(&diags, 500, 500) || len(diags) != 0 {
		t.Errorf("500 of 500: %v", diags)
	}
	if checkPolicyLimit(&diags, 501, 500) || !strings.Contains(diags[0].Detail(), "max_policies") || !strings.Contains(diags[0].Detail(), "allows 500") {
		t.Errorf("501 of 500: %v", diags)
	}
}

func TestNotOwnedIsReportedOnEgressIPv4(t *testing.T) {
	api := &cfapi.Error{Kind: cfapi.KindValidation, Status: 400, Codes: []int{cfapi.CodeDedicatedIPv4NotOwned}, Messages: []string{"Account doesn't own dedicated primary IPv4"}}
	we := &reconcile.WriteError{Op: reconcile.Op{Kind: reconcile.OpCreate, Index: 3, Rule: cfapi.Rule{Name: "b", Egress: &cfapi.EgressSettings{IPv4: "198.51.100.77"}}}, Err: api}
	other := &reconcile.WriteError{Op: reconcile.Op{Kind: reconcile.OpCreate, Index: 1}, Err: errors.New("boom")}
	var diags diag.Diagnostics
	addApplyError(&diags, "Creating the egress policies failed", "the detail", errors.Join(other, we))
	if len(diags) != 1 {
		t.Fatalf("diags %v", diags)
	}
	wd, ok := diags[0].(diag.DiagnosticWithPath)
	if !ok || !wd.Path().Equal(path.Root("policies").AtListIndex(3).AtName("egress").AtName("ipv4")) {
		t.Errorf("error %v, want it at policies[3].egress.ipv4", diags[0])
	}
	for _, s := range []string{`"198.51.100.77"`, "2055", "the detail"} {
		if !strings.Contains(diags[0].Detail(), s) {
			t.Errorf("detail does not say %s: %s", s, diags[0].Detail())
		}
	}
	diags = nil
	addApplyError(&diags, "s", "d", other)
	if _, ok := diags[0].(diag.DiagnosticWithPath); ok || len(diags) != 1 {
		t.Errorf("other errors are on the resource: %v", diags)
	}
}
