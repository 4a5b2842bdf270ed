package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

func statePolicy(name string, prec int64) policyModel {
	p := plannedPolicy(name)
	p.ID = types.StringValue("id-" + name)
	p.Precedence = types.Int64Value(prec)
	return p
}

func plannedPolicy(name string) policyModel {
	return policyModel{
		ID: types.StringUnknown(), Precedence: types.Int64Unknown(),
		Name: types.StringValue(name), Description: types.StringValue(""), Enabled: types.BoolValue(true),
		Traffic:  semValue(kindExpression, fmt.Sprintf("net.dst.port == %d", len(name))),
		Identity: semNull(kindExpression), DevicePosture: semNull(kindExpression),
		Egress:     egressModel{Method: types.StringValue("default"), IPv4: semNull(kindIP), IPv6: semNull(kindCIDR), IPv4Fallback: semNull(kindIP)},
		LintIgnore: types.SetNull(types.StringType),
	}
}

// TestShapePlan: planned policies are paired with prior ones by name (or
// renamed in place); paired ones keep their ID, and their precedence when
// the reconciler keeps it; the rest are unknown.
func TestShapePlan(t *testing.T) {
	ctx := context.Background()
	prior := []policyModel{statePolicy("a", 1000), statePolicy("b", 2000), statePolicy("c", 3000)}
	type want struct {
		id   string // "" = unknown
		prec int64  // 0 = unknown
	}
	cases := []struct {
		name    string
		planned []string
		others  []cfapi.Rule
		want    []want
	}{
		{"unchanged", []string{"a", "b", "c"}, nil, []want{{"id-a", 1000}, {"id-b", 2000}, {"id-c", 3000}}},
		{"insert", []string{"a", "x", "b", "c"}, nil, []want{{"id-a", 1000}, {"", 0}, {"id-b", 2000}, {"id-c", 3000}}},
		{"rename in place", []string{"a", "b2", "c"}, nil, []want{{"id-a", 1000}, {"id-b", 2000}, {"id-c", 3000}}},
		{"move to top", []string{"c", "a", "b"}, nil, []want{{"id-c", 0}, {"id-a", 1000}, {"id-b", 2000}}},
		{"delete", []string{"a", "c"}, nil, []want{{"id-a", 1000}, {"id-c", 3000}}},
		{"rename and insert elsewhere", []string{"x", "a", "b2", "c"}, nil, []want{{"", 0}, {"id-a", 1000}, {"", 0}, {"id-c", 3000}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ps []policyModel
			for _, n := range c.planned {
				ps = append(ps, plannedPolicy(n))
			}
			l, d := policiesToList(ctx, ps)
			if d.HasError() {
				t.Fatal(d)
			}
			out, _, d := shapePlan(ctx, l, prior, c.others)
			if d.HasError() {
				t.Fatal(d)
			}
			var got []policyModel
			if d := out.ElementsAs(ctx, &got, false); d.HasError() {
				t.Fatal(d)
			}
			for i, w := range c.want {
				if w.id == "" != got[i].ID.IsUnknown() || (w.id != "" && got[i].ID.ValueString() != w.id) {
					t.Errorf("policies[%d].id = %v, want %q", i, got[i].ID, w.id)
				}
				if w.prec == 0 != got[i].Precedence.IsUnknown() || (w.prec != 0 && got[i].Precedence.ValueInt64() != w.prec) {
					t.Errorf("policies[%d].precedence = %v, want %d", i, got[i].Precedence, w.prec)
				}
			}
		})
	}
}

// TestPartialPolicies: after a failed apply the state is the prior state
// plus exactly the changes made: a created rule is added with the planned
// policy's values, an updated one replaces its prior entry, a deleted one
// leaves; the rest keep their prior values, in precedence order. With no
// change the prior list itself comes back.
func TestPartialPolicies(t *testing.T) {
	old := statePolicy("old", 2000)
	old.LintIgnore = types.SetValueMust(types.StringType, []attr.Value{types.StringValue("redundant")})
	prior := []policyModel{statePolicy("a", 1000), old, statePolicy("b", 3000), statePolicy("gone", 4000)}
	planned := []policyModel{plannedPolicy("new"), plannedPolicy("a"), plannedPolicy("b")}
	planned[1].Description = types.StringValue("edited")
	planned[2].LintIgnore = types.SetUnknown(types.StringType)
	res := reconcile.Result{Done: []reconcile.Write{
		{Kind: reconcile.OpCreate, Index: 0, Rule: cfapi.Rule{ID: "id-new", Name: "new", Precedence: 500, Traffic: "net.dst.port==3"}},
		{Kind: reconcile.OpUpdate, Index: 1, Rule: cfapi.Rule{ID: "id-a", Name: "a", Precedence: 1000, Description: "edited"}},
		{Kind: reconcile.OpDelete, Index: -1, Rule: cfapi.Rule{ID: "id-gone"}, Gone: true},
		{Kind: reconcile.OpUpdate, Index: 2, Rule: cfapi.Rule{ID: "id-b", Name: "b", Precedence: 1500}},
	}}
	got := partialPolicies(prior, planned, res)
	var names []string
	for _, p := range got {
		names = append(names, fmt.Sprintf("%s/%s@%d", p.Name.ValueString(), p.ID.ValueString(), p.Precedence.ValueInt64()))
	}
	if fmt.Sprint(names) != "[new/id-new@500 a/id-a@1000 b/id-b@1500 old/id-old@2000]" {
		t.Fatalf("partial state %v", names)
	}
	if got[0].Traffic.ValueString() != "net.dst.port == 3" || got[1].Description.ValueString() != "edited" {
		t.Errorf("created/updated entries do not hold the planned values: %q %q", got[0].Traffic.ValueString(), got[1].Description.ValueString())
	}
	if !got[3].LintIgnore.Equal(old.LintIgnore) {
		t.Errorf("an entry nothing wrote lost its lint_ignore: %v", got[3].LintIgnore)
	}
	if !got[2].LintIgnore.IsNull() {
		t.Errorf("an unknown lint_ignore must be saved as null, got %v", got[2].LintIgnore)
	}
	if same := partialPolicies(prior, planned, reconcile.Result{}); len(same) != len(prior) || &same[0] != &prior[0] {
		t.Error("an apply that changed nothing must keep the prior state as it is")
	}
	if len(partialPolicies(nil, planned, reconcile.Result{})) != 0 {
		t.Error("a create that changed nothing has no state")
	}
}

// TestWarnDeletesFromOutside: a plan that deletes rules no apply of this
// configuration wrote (added in the dashboard, then refreshed into the
// state) warns and names them; a rule the configuration dropped is a plain
// delete; without the private record (imported state) nothing is claimed.
func TestWarnDeletesFromOutside(t *testing.T) {
	ctx := context.Background()
	prior := []policyModel{statePolicy("a", 1000), statePolicy("dropped", 2000), statePolicy("from-dashboard", 3000)}
	planned := []policyModel{prior[0]}
	l, d := policiesToList(ctx, planned)
	if d.HasError() {
		t.Fatal(d)
	}
	ids, _ := plannedIDsAndNames(l)
	var diags diag.Diagnostics
	warnDeletesFromOutside(prior, ids, map[string]bool{"id-a": true, "id-dropped": true}, &diags)
	if len(diags) != 1 || diags.HasError() {
		t.Fatalf("diags %v, want one warning", diags)
	}
	detail := diags[0].Detail()
	if !strings.Contains(detail, `"from-dashboard" (id id-from-dashboard, precedence 3000)`) || strings.Contains(detail, "dropped") {
		t.Errorf("the warning must name from-dashboard only:\n%s", detail)
	}
	diags = nil
	warnDeletesFromOutside(prior, ids, nil, &diags)
	if len(diags) != 0 {
		t.Errorf("no record of the managed rules: %v", diags)
	}
}
