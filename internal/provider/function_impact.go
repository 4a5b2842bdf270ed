package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/impact"
)

var _ function.Function = (*impactFunction)(nil)

// NewImpactFunction is provider::cfegress::impact.
func NewImpactFunction() function.Function { return &impactFunction{} }

type impactFunction struct{}

func (f *impactFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "impact"
}

// impactMaxRegions bounds the regions the function lists one by one; the
// others are summarised in elements of their own.
const impactMaxRegions = 200

// impactAttrTypes is one element of the function's result.
func impactAttrTypes() map[string]attr.Type {
	return map[string]attr.Type{
		"region":   types.StringType,
		"example":  types.ObjectType{AttrTypes: flowAttrTypes()},
		"before":   types.ObjectType{AttrTypes: decisionAttrTypes()},
		"after":    types.ObjectType{AttrTypes: decisionAttrTypes()},
		"possibly": types.BoolType,
	}
}

func (f *impactFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Which traffic a change of the policy list moves: the regions of the flow space decided differently.",
		MarkdownDescription: "Compares two ordered lists of egress policies over the whole flow space (every field the expressions use, " +
			"IPv4 not proxied, IPv4 proxied and IPv6 flows, every ingress colo) and returns the regions whose decision differs in deciding policy " +
			"(by rule `id` when both lists carry one, else by name), method, egress IP, physical colo or geolocation. The same analysis as the plan's `Egress impact:` warning; " +
			"needs no credentials. `[]` means the change moves no traffic.\n\n" +
			"Each element is an object:\n\n" +
			"- `region`: the flows, as an expression, with the flow kinds and ingress colos when not all of them (`net.dst.ip in {198.51.100.0/25} [IPv4 not proxied, IPv4 proxied]`).\n" +
			"- `example`: one flow of the region, as an object `provider::cfegress::decide` accepts (`ingress_colo`, `destination_ip`, `proxied`, and the fields the expressions read).\n" +
			"- `before`, `after`: the Decision objects `decide` returns for `example` on `old_policies` and on `new_policies`.\n" +
			"- `possibly`: the region depends on `matches`/`$list` conditions the analysis treats as opaque (or on which of two equidistant dedicated IPs a user gets), or `example` could not be shown to move; `before` and `after` are still what `decide` returns.\n\n" +
			fmt.Sprintf("Past %d regions, the others are summarised in elements whose `region` starts with `... and` and whose `example`, `before` and `after` are null.", impactMaxRegions),
		Parameters: []function.Parameter{
			function.DynamicParameter{Name: "old_policies", MarkdownDescription: "The list before the change. " + policiesParamDesc, AllowNullValue: true, AllowUnknownValues: true},
			function.DynamicParameter{Name: "new_policies", MarkdownDescription: "The list after the change, in the same form.", AllowNullValue: true, AllowUnknownValues: true},
			function.DynamicParameter{Name: "dedicated_ips", MarkdownDescription: dedicatedIPsParamDesc, AllowNullValue: true, AllowUnknownValues: true},
		},
		Return: function.ListReturn{ElementType: types.ObjectType{AttrTypes: impactAttrTypes()}},
	}
}

func (f *impactFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var oldP, newP, ips types.Dynamic
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &oldP, &newP, &ips))
	if resp.Error != nil {
		return
	}
	elem := types.ObjectType{AttrTypes: impactAttrTypes()}
	before, err := newSimulation(ctx, oldP, "old_policies", ips, "dedicated_ips")
	if err != nil {
		resp.Error = argError(err, map[string]int64{"old_policies": 0, "dedicated_ips": 2})
		return
	}
	after, err := newSimulation(ctx, newP, "new_policies", ips, "dedicated_ips")
	if err != nil {
		resp.Error = argError(err, map[string]int64{"new_policies": 1, "dedicated_ips": 2})
		return
	}
	if before.unknown != "" || after.unknown != "" {
		resp.Error = resp.Result.Set(ctx, types.ListUnknown(elem))
		return
	}
	res, err := impact.Analyze(before.side(), after.side(), impact.Options{MaxRegions: impactMaxRegions})
	if err != nil {
		resp.Error = function.NewFuncError("cannot compare the lists: " + err.Error())
		return
	}
	rows, err := impactRows(ctx, res, before, after)
	if err != nil {
		resp.Error = function.NewFuncError(err.Error())
		return
	}
	var vals []attr.Value
	for _, r := range rows {
		vals = append(vals, r.object)
	}
	l, diags := types.ListValue(elem, vals)
	if diags.HasError() {
		resp.Error = function.NewFuncError(fmt.Sprintf("impact list: %v", diags))
		return
	}
	resp.Error = resp.Result.Set(ctx, l)
}

// side is the simulation's policies and inventory for the change impact.
func (s *simulation) side() impact.Side {
	return impact.Side{Policies: s.eng.Policies(), Inventory: s.inv}
}

// impactRow is one region as the function (and the CLI's JSON) returns it.
type impactRow struct {
	object        types.Object
	region        string
	example       *engine.Flow // nil for a summary row
	before, after engine.Decision
	possibly      bool
}

// impactRows turns regions into rows whose decisions are those `decide`
// gives for the example as its object decodes (so that decide(example)
// equals before/after exactly), and summary rows past the bound.
func impactRows(ctx context.Context, res *impact.Result, before, after *simulation) ([]impactRow, error) {
	var out []impactRow
	for _, r := range res.Regions {
		obj, exact, err := flowObject(ctx, r.Example)
		if err != nil {
			return nil, err
		}
		ex, down, err := flowFromObject(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("example flow of %s: %w", r, err)
		}
		db, errB := before.decide(&ex, down)
		da, errA := after.decide(&ex, down)
		if err := errors.Join(errB, errA); err != nil {
			return nil, fmt.Errorf("example flow of %s: %w", r, err)
		}
		possibly := r.Possibly || !r.Confirmed
		if !exact {
			possibly = possibly || sameDecisionOf(db, da)
		}
		row := impactRow{region: impact.Text(r.Description), example: &ex, before: db, after: da, possibly: possibly}
		bo, err := decisionValue(db)
		if err != nil {
			return nil, err
		}
		ao, err := decisionValue(da)
		if err != nil {
			return nil, err
		}
		row.object, err = impactObject(row.region, obj, bo, ao, possibly)
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	if res.MoreCount > 0 {
		for _, m := range append([]string{fmt.Sprintf("%d more regions", res.MoreCount)}, res.More...) {
			row := impactRow{region: "... and " + m, possibly: true}
			var err error
			row.object, err = impactObject(row.region, types.ObjectNull(flowAttrTypes()), types.ObjectNull(decisionAttrTypes()), types.ObjectNull(decisionAttrTypes()), true)
			if err != nil {
				return nil, err
			}
			out = append(out, row)
		}
	}
	return out, nil
}

func impactObject(region string, example, before, after types.Object, possibly bool) (types.Object, error) {
	o, diags := types.ObjectValue(impactAttrTypes(), map[string]attr.Value{
		"region": types.StringValue(region), "example": example, "before": before, "after": after, "possibly": types.BoolValue(possibly),
	})
	if diags.HasError() {
		return types.Object{}, fmt.Errorf("impact element: %v", diags)
	}
	return o, nil
}

// sameDecisionOf compares what the change impact reports of two decisions
// of one flow (policy by name and index, method, IP, colo, geolocation).
func sameDecisionOf(x, y engine.Decision) bool {
	return x.Outcome == y.Outcome && x.PolicyName == y.PolicyName && x.Method == y.Method && x.EgressIP == y.EgressIP &&
		x.EgressIPv6Range == y.EgressIPv6Range && x.EgressColo == y.EgressColo && x.GeoCountry == y.GeoCountry
}
