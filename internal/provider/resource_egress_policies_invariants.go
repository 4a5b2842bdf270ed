package provider

// `invariants` of cfegress_egress_policies (SPEC §5): "every flow these
// expressions select (from these ingress colos) is decided like this",
// proven at plan time over the whole selected flow space by
// internal/engine/impact; the generalisation of `expect` from one flow to
// all of them. ValidateConfig calls checkInvariants.

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/impact"
)

// invariantModel is one element of `invariants`.
type invariantModel struct {
	Name          types.String   `tfsdk:"name"`
	Traffic       semStringValue `tfsdk:"traffic"`
	Identity      semStringValue `tfsdk:"identity"`
	DevicePosture semStringValue `tfsdk:"device_posture"`
	IngressColos  types.List     `tfsdk:"ingress_colos"`
	Policy        types.String   `tfsdk:"policy"`
	Method        types.String   `tfsdk:"method"`
	EgressIP      types.String   `tfsdk:"egress_ip"`
	EgressColo    types.String   `tfsdk:"egress_colo"`
	GeoCountry    types.String   `tfsdk:"geo_country"`
}

// invariantsAttribute is the `invariants` schema attribute.
func invariantsAttribute() schema.ListNestedAttribute {
	expr := func(what string) schema.StringAttribute {
		return schema.StringAttribute{
			MarkdownDescription: what + " (ANDed with the others; leave out to select everything).",
			Optional:            true, CustomType: expressionType, Validators: []validator.String{notEmptyValidator{}},
		}
	}
	return schema.ListNestedAttribute{
		MarkdownDescription: "Plan-time invariants over **whole sets of flows**, the generalisation of `expect` from one flow to all of them: " +
			"every flow `traffic`, `identity` and `device_posture` select (IPv4 not proxied, IPv4 proxied and IPv6 alike, from `ingress_colos`, default every colo) must be decided with the given `policy`, `method`, `egress_ip`, `egress_colo` and `geo_country` (each optional). " +
			"Each invariant is **proven** over the selected flow space, not sampled; a violation fails the plan, names the invariant and gives a counterexample flow with the decision it gets. " +
			"When only `matches` regexes or `$list` references (which the analysis treats as opaque) could break it, or the proof is past the analysis bound, it is a warning. Not sent to Cloudflare; needs `dedicated_egress_ips`.",
		Optional: true,
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"name":           schema.StringAttribute{MarkdownDescription: "A name for the invariant, used in diagnostics.", Required: true, Validators: []validator.String{notEmptyValidator{}}},
			"traffic":        expr("Traffic expression selecting the flows"),
			"identity":       expr("Identity expression selecting the flows"),
			"device_posture": expr("Device posture expression selecting the flows"),
			"ingress_colos": schema.ListAttribute{
				MarkdownDescription: "IATA codes of the ingress colos the invariant is about; every colo when unset.",
				Optional:            true, ElementType: types.StringType,
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(coloValidator{})},
			},
			"policy":      schema.StringAttribute{MarkdownDescription: "The policy that must decide every selected flow, by name; `\"\"` means no policy may match (the nearest dedicated IP decides).", Optional: true},
			"method":      schema.StringAttribute{MarkdownDescription: "The egress method every selected flow must get: " + quoted(methodNames()) + ".", Optional: true, Validators: []validator.String{stringvalidator.OneOf(methodNames()...)}},
			"egress_ip":   schema.StringAttribute{MarkdownDescription: "The dedicated egress IP every selected flow must leave with: a dedicated IPv4 (IPv6 flows then leave with that IP's `ipv6_range`) or an IPv6 range (IPv4 flows then with its IPv4).", Optional: true, Validators: []validator.String{notEmptyValidator{}}},
			"egress_colo": schema.StringAttribute{MarkdownDescription: "The physical colo every selected flow must leave from (IATA). IPv4 proxied and IPv6 flows leave from the ingress colo: restrict `traffic` or `ingress_colos` accordingly.", Optional: true, Validators: []validator.String{coloValidator{}}},
			"geo_country": schema.StringAttribute{MarkdownDescription: "The geolocation (ISO 3166-1 alpha-2) every selected flow must get.", Optional: true, Validators: []validator.String{stringvalidator.LengthBetween(2, 2)}},
		}},
	}
}

// checkInvariants proves every invariant, when everything it needs is
// known, and reports a violation as an error on invariants[i].
func (r *egressPoliciesResource) checkInvariants(ctx context.Context, cfg egressPoliciesModel, pis []policyInput, inv []engine.DedicatedIP, invKnown bool, diags diagWarner) {
	if cfg.Invariants.IsNull() || cfg.Invariants.IsUnknown() {
		return
	}
	if cfg.DedicatedEgressIPs.IsNull() {
		diags.AddAttributeError(path.Root("invariants"), "invariants need dedicated_egress_ips",
			"The engine decides where traffic leaves from the account's dedicated egress IPs (dedicated policies, and the nearest IP when no policy matches): "+
				"set dedicated_egress_ips, e.g. [cfegress_dedicated_egress_ip.nrt, cfegress_dedicated_egress_ip.lax].")
		return
	}
	if !invKnown {
		return
	}
	policies, ok := knownEnginePolicies(pis)
	if !ok {
		return
	}
	names := make(map[string]bool, len(policies))
	for _, p := range policies {
		names[p.Name] = true
	}
	var models []invariantModel
	if d := cfg.Invariants.ElementsAs(ctx, &models, true); d.HasError() {
		return
	}
	var invs []impact.Invariant
	var at []int
	for i, m := range models {
		iv, ok := invariantOf(ctx, m)
		if !ok {
			continue // not known yet
		}
		if iv.HasPolicy && iv.Policy != "" && !names[iv.Policy] {
			diags.AddAttributeError(path.Root("invariants").AtListIndex(i).AtName("policy"), fmt.Sprintf("invariants[%d] %q: no such policy", i, iv.Name),
				fmt.Sprintf("No policy is named %q: name one of the policies (%s), or \"\" for \"no policy matches\".", iv.Policy, strings.Join(sortedKeys(names), ", ")))
			continue
		}
		invs = append(invs, iv)
		at = append(at, i)
	}
	verdicts, err := impact.Check(impact.Side{Policies: policies, Inventory: inv}, invs, impact.Options{})
	if err != nil {
		diags.AddAttributeError(path.Root("invariants"), "Cannot check invariants", fmt.Sprintf("%s. Fix the policies, dedicated_egress_ips or the invariant, then the invariants are checked.", err))
		return
	}
	for k, v := range verdicts {
		i, iv := at[k], invs[k]
		p := path.Root("invariants").AtListIndex(i)
		switch v.Status {
		case impact.Violated:
			diags.AddAttributeError(p, fmt.Sprintf("invariants[%d] %q does not hold", i, iv.Name), counterexample(ctx, v))
		case impact.Possibly:
			msg := "It is not proven: " + v.Reason + "."
			if v.HasFlow {
				msg += "\n\n" + counterexample(ctx, v)
			}
			diags.AddAttributeWarning(p, fmt.Sprintf("invariants[%d] %q possibly does not hold", i, iv.Name), msg)
		case impact.Undecided:
			diags.AddAttributeWarning(p, fmt.Sprintf("invariants[%d] %q could not be proven", i, iv.Name), v.Reason+".")
		}
	}
}

// diagWarner is the part of diag.Diagnostics checkInvariants uses.
type diagWarner interface {
	AddAttributeError(p path.Path, summary, detail string)
	AddAttributeWarning(p path.Path, summary, detail string)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, fmt.Sprintf("%q", k))
	}
	sort.Strings(out)
	return out
}

// invariantOf converts an invariant; ok is false while a value is unknown.
func invariantOf(ctx context.Context, m invariantModel) (impact.Invariant, bool) {
	str := func(v interface {
		IsNull() bool
		IsUnknown() bool
		ValueString() string
	}) (string, bool) {
		if v.IsUnknown() {
			return "", false
		}
		return v.ValueString(), true
	}
	iv := impact.Invariant{}
	ok := true
	for _, x := range []struct {
		dst *string
		v   interface {
			IsNull() bool
			IsUnknown() bool
			ValueString() string
		}
	}{
		{&iv.Name, m.Name}, {&iv.Traffic, m.Traffic}, {&iv.Identity, m.Identity}, {&iv.DevicePosture, m.DevicePosture},
		{&iv.Method, m.Method}, {&iv.EgressIP, m.EgressIP}, {&iv.EgressColo, m.EgressColo}, {&iv.GeoCountry, m.GeoCountry},
	} {
		s, known := str(x.v)
		ok = ok && known
		*x.dst = s
	}
	if m.Policy.IsUnknown() || m.IngressColos.IsUnknown() {
		return iv, false
	}
	if !m.Policy.IsNull() {
		iv.Policy, iv.HasPolicy = m.Policy.ValueString(), true
	}
	if !m.IngressColos.IsNull() {
		var cs []types.String
		if d := m.IngressColos.ElementsAs(ctx, &cs, true); d.HasError() {
			return iv, false
		}
		for _, c := range cs {
			if c.IsUnknown() {
				return iv, false
			}
			iv.IngressColos = append(iv.IngressColos, strings.ToUpper(strings.TrimSpace(c.ValueString())))
		}
	}
	return iv, ok
}

// counterexample tells a verdict's flow and decision, with the flow as an
// HCL object to paste into `expect` or `decide`.
func counterexample(ctx context.Context, v impact.Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Counterexample: %s\nDecided: %s", impact.FlowText(v.Example), decisionText(v.Decision))
	if v.Reason != "" {
		fmt.Fprintf(&b, " (%s)", v.Reason)
	}
	if obj, _, err := flowObject(ctx, v.Example); err == nil {
		fmt.Fprintf(&b, "\n\nAs a flow for expect or provider::cfegress::decide:\n  %s", flowHCL(obj))
	}
	if len(v.Decision.Trace) > 0 {
		fmt.Fprintf(&b, "\n\nTrace:\n  %s", strings.Join(v.Decision.Trace, "\n  "))
	}
	return b.String()
}

// decisionText is a decision in words.
func decisionText(d engine.Decision) string {
	ip := cmp.Or(d.EgressSource(), "the shared pool")
	return fmt.Sprintf("%s, %s egress via %s from %s, geolocation %s", decidedBy(d), d.Method, ip, orNone(d.EgressColo), orNone(d.GeoCountry))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// flowHCL renders a flow object's set attributes as an HCL object.
func flowHCL(o types.Object) string {
	attrs := o.Attributes()
	keys := make([]string, 0, len(attrs))
	for k, v := range attrs {
		if !v.IsNull() {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+" = "+hclValue(attrs[k]))
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

func hclValue(v attr.Value) string {
	switch v := v.(type) {
	case types.String:
		return fmt.Sprintf("%q", v.ValueString())
	case types.Bool:
		return fmt.Sprint(v.ValueBool())
	case types.Int64:
		return fmt.Sprint(v.ValueInt64())
	case types.List:
		var xs []string
		for _, e := range v.Elements() {
			xs = append(xs, hclValue(e))
		}
		return "[" + strings.Join(xs, ", ") + "]"
	case types.Map:
		var xs []string
		for k, e := range v.Elements() {
			xs = append(xs, fmt.Sprintf("%q = %s", k, hclValue(e)))
		}
		sort.Strings(xs)
		return "{ " + strings.Join(xs, ", ") + " }"
	}
	return v.String()
}
