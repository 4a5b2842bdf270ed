package provider

import (
	"context"
	"errors"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/lint"
)

var _ function.Function = (*lintFunction)(nil)

// NewLintFunction is provider::cfegress::lint.
func NewLintFunction() function.Function { return &lintFunction{} }

type lintFunction struct{}

var findingAttrTypes = map[string]attr.Type{
	"rule":      types.StringType,
	"severity":  types.StringType,
	"policy":    types.StringType,
	"index":     types.Int64Type,
	"attribute": types.StringType,
	"message":   types.StringType,
}

func (f *lintFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "lint"
}

func (f *lintFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "The plan-time checks of an ordered list of egress policies, as a list of findings.",
		MarkdownDescription: "Runs the checks `cfegress_egress_policies` runs at plan time (names, expressions, egress settings, " +
			"IPs against the dedicated egress IPs, shadowed and redundant policies, catch-all placement) and returns the findings as a list of objects " +
			"`{ rule, severity, policy, index, attribute, message }`, ordered by `index`. `severity` is `error` or `warning`; " +
			"list-level findings (`missing_catch_all`, `inventory_too_small`) have null `policy` and `index`. " +
			"A missing catch-all is a warning (the resource's default `catch_all = \"recommended\"`). `lint_ignore` on a policy silences its findings by rule ID. " +
			"While part of an argument is not known yet (plan), the result is unknown: findings are never guessed. Needs no credentials.\n\n" +
			"Rule IDs: `" + strings.Join(lint.Rules(), "`, `") + "`.",
		Parameters: []function.Parameter{
			function.DynamicParameter{Name: "policies", MarkdownDescription: policiesParamDesc, AllowNullValue: true, AllowUnknownValues: true},
			function.DynamicParameter{Name: "dedicated_ips", MarkdownDescription: dedicatedIPsParamDesc + " Null skips the checks against the inventory (on OpenTofu write `tolist(null)`: OpenTofu answers a call with a bare, untyped `null` argument itself, with an unknown and then null result, without calling the provider).", AllowNullValue: true, AllowUnknownValues: true},
		},
		Return: function.ListReturn{ElementType: types.ObjectType{AttrTypes: findingAttrTypes}},
	}
}

func (f *lintFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var policies, ips types.Dynamic
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &policies, &ips))
	if resp.Error != nil {
		return
	}
	// A function's known result must not change once its arguments are
	// known, and findings can depend on any value: while part of an argument
	// is unknown the result is unknown. (The resource's plan-time checks do
	// report what is already known.)
	for _, v := range []types.Dynamic{policies, ips} {
		if tv, err := v.ToTerraformValue(ctx); err == nil && !tv.IsFullyKnown() {
			resp.Error = resp.Result.Set(ctx, types.ListUnknown(types.ObjectType{AttrTypes: findingAttrTypes}))
			return
		}
	}
	in, err := lintInput(ctx, policies, ips)
	if err != nil {
		resp.Error = argError(err, map[string]int64{"policies": 0, "dedicated_ips": 1})
		return
	}
	if in == nil {
		resp.Error = resp.Result.Set(ctx, types.ListUnknown(types.ObjectType{AttrTypes: findingAttrTypes}))
		return
	}
	list, err := findingsValue(lint.Lint(*in))
	if err != nil {
		resp.Error = function.NewFuncError(err.Error())
		return
	}
	resp.Error = resp.Result.Set(ctx, list)
}

// lintInput decodes the arguments for lint.Lint. A nil Input (and nil
// error) means the policies list itself is not known yet.
func lintInput(ctx context.Context, policies, ips attr.Value) (*lint.Input, error) {
	in := &lint.Input{CatchAll: lint.CatchAllRecommended, InventoryName: "dedicated_ips"}
	pd, err := rootValue(ctx, policies, "policies")
	if err != nil {
		return nil, err
	}
	pis, err := decodePolicies(pd)
	var de *DecodeError
	if errors.As(err, &de) && de.Unknown {
		// The list itself (or one element) is unknown: nothing to check yet.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	id, err := rootValue(ctx, ips, "dedicated_ips")
	if err != nil {
		return nil, err
	}
	if id.known() && !id.null() {
		inv, err := decodeDedicatedIPs(id)
		switch {
		case errors.As(err, &de) && de.Unknown:
		case err != nil:
			return nil, err
		default:
			in.Inventory, in.InventoryKnown = inv, true
		}
	}
	for _, pi := range pis {
		u := pi.Unknown
		in.Policies = append(in.Policies, lint.Policy{
			Name: pi.Name, NameKnown: !u["name"],
			Enabled: pi.Enabled, EnabledKnown: !u["enabled"],
			Traffic: pi.Traffic, Identity: pi.Identity, DevicePosture: pi.DevicePosture,
			TrafficKnown: !u["traffic"], IdentityKnown: !u["identity"], PostureKnown: !u["device_posture"],
			Method: map[bool]string{true: "", false: pi.Method}[u["egress.method"]],
			IPv4:   pi.IPv4, IPv6: pi.IPv6, IPv4Fallback: pi.IPv4Fallback,
			IPv4Known: !u["egress.ipv4"], IPv6Known: !u["egress.ipv6"], FallbackKnown: !u["egress.ipv4_fallback"],
			IPv6Fallback: pi.IPv6Fallback,
			LintIgnore:   pi.LintIgnore,
		})
	}
	return in, nil
}

// findingsValue converts findings to the function's list value.
func findingsValue(fs []lint.Finding) (types.List, error) {
	vals := make([]attr.Value, 0, len(fs))
	for _, f := range fs {
		policy, index := types.StringNull(), types.Int64Null()
		if f.Index >= 0 {
			policy, index = types.StringValue(f.Policy), types.Int64Value(int64(f.Index))
		}
		o, diags := types.ObjectValue(findingAttrTypes, map[string]attr.Value{
			"rule":      types.StringValue(f.Rule),
			"severity":  types.StringValue(string(f.Severity)),
			"policy":    policy,
			"index":     index,
			"attribute": strOrNull(f.Attribute),
			"message":   types.StringValue(f.Message),
		})
		if diags.HasError() {
			return types.List{}, errors.New("finding: internal error")
		}
		vals = append(vals, o)
	}
	l, diags := types.ListValue(types.ObjectType{AttrTypes: findingAttrTypes}, vals)
	if diags.HasError() {
		return types.List{}, errors.New("findings: internal error")
	}
	return l, nil
}
