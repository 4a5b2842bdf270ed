package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

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
func impactAttrTypes() map[string]attr.Type { return attrTypes(impact.ElementAttrs()) }

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
	els, err := impact.Elements(res)
	if err != nil {
		resp.Error = function.NewFuncError(err.Error())
		return
	}
	attrs := impact.ElementAttrs()
	vals := make([]attr.Value, 0, len(els))
	for _, e := range els {
		o, err := objectValue(attrs, e)
		if err != nil {
			resp.Error = function.NewFuncError(fmt.Sprintf("impact element: %v", err))
			return
		}
		vals = append(vals, o)
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
	return impact.Side{Policies: s.eng.Policies(), Inventory: s.inv, Engine: s.eng}
}
