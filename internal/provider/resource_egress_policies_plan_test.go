package provider

import (
	"context"
	"fmt"
	"testing"

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
			out, d := shapePlan(ctx, l, prior, c.others)
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

// TestPartialPolicies: after a failed update the state is what the account
// holds: rules Apply created or kept, and not-yet-deleted ones, in
// precedence order; nothing known keeps the prior state.
func TestPartialPolicies(t *testing.T) {
	prior := []policyModel{statePolicy("a", 1000), statePolicy("old", 2000)}
	planned := []policyModel{plannedPolicy("new"), plannedPolicy("a")}
	res := reconcile.Result{
		Rules: []cfapi.Rule{
			{ID: "id-new", Name: "new", Precedence: 500, Enabled: true, Action: "egress", Filters: []string{"egress"}, Traffic: "net.dst.port==3"},
			{ID: "id-a", Name: "a", Precedence: 1000, Enabled: true, Action: "egress", Filters: []string{"egress"}, Traffic: "net.dst.port == 1"},
		},
		Unmanaged: []cfapi.Rule{{ID: "id-old", Name: "old", Precedence: 2000, Enabled: true, Action: "egress", Filters: []string{"egress"}}},
	}
	got := partialPolicies(res, planned, prior)
	var names []string
	for _, p := range got {
		names = append(names, p.Name.ValueString()+"/"+p.ID.ValueString())
	}
	if fmt.Sprint(names) != "[new/id-new a/id-a old/id-old]" {
		t.Fatalf("partial state %v", names)
	}
	// The planned spelling of an equivalent expression is kept.
	if got[0].Traffic.ValueString() != "net.dst.port == 3" {
		t.Errorf("traffic %q, want the planned spelling", got[0].Traffic.ValueString())
	}
	if len(partialPolicies(reconcile.Result{}, planned, prior)) != len(prior) {
		t.Error("an apply that learnt nothing must keep the prior state")
	}
}
