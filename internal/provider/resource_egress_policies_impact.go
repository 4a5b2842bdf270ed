package provider

// The plan's change impact (SPEC §4 "Change impact"): which flows the
// planned list decides differently from the one in the state, as one
// warning whose summary starts with "Egress impact:". ModifyPlan calls
// planImpact; nothing is added to the plan or the state.

import (
	"context"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/impact"
)

// impactWarningRegions bounds the regions the warning lists one by one.
const impactWarningRegions = 20

// envPlanImpact set to "off" skips the analysis (very long lists whose
// plans must be as fast as possible; benchmarks compare with it).
const envPlanImpact = "CFEGRESS_PLAN_IMPACT"

// planImpact warns about the traffic an update moves. It does nothing for a
// create or a destroy (state or plan missing), for a plan whose policies
// and inventory equal the state's, without declared dedicated_egress_ips on
// both sides (the no-match egress is unknown then), while a value the
// engine needs is unknown, and when CFEGRESS_PLAN_IMPACT is "off".
func (r *egressPoliciesResource) planImpact(ctx context.Context, state *egressPoliciesModel, plan egressPoliciesModel, diags *diag.Diagnostics) {
	if state == nil || plan.Policies.IsUnknown() || plan.Policies.IsNull() || state.Policies.IsNull() || os.Getenv(envPlanImpact) == "off" {
		return
	}
	if plan.Policies.Equal(state.Policies) && plan.DedicatedEgressIPs.Equal(state.DedicatedEgressIPs) {
		return // no change: no impact work
	}
	if state.DedicatedEgressIPs.IsNull() || plan.DedicatedEgressIPs.IsNull() || plan.DedicatedEgressIPs.IsUnknown() {
		return
	}
	before, err := newSimulation(ctx, state.Policies, "policies", state.DedicatedEgressIPs, "dedicated_egress_ips")
	if err != nil || before.unknown != "" {
		tflog.Debug(ctx, "egress impact skipped: the state's policies cannot be simulated", map[string]any{"error": errText(err)})
		return
	}
	after, err := newSimulation(ctx, plan.Policies, "policies", plan.DedicatedEgressIPs, "dedicated_egress_ips")
	if err != nil || after.unknown != "" {
		// Invalid policies are reported by validation; unknown ones are
		// known at apply.
		return
	}
	res, err := impact.Analyze(before.side(), after.side(), impact.Options{MaxRegions: impactWarningRegions})
	if err != nil {
		tflog.Debug(ctx, "egress impact skipped", map[string]any{"error": err.Error()})
		return
	}
	if !res.Moves() && len(res.Incomplete) == 0 {
		return
	}
	diags.AddAttributeWarning(path.Root("policies"), "Egress impact: "+impact.Summary(res), impactDetail(res))
}

func impactDetail(res *impact.Result) string {
	var b strings.Builder
	b.WriteString("The planned policies decide these flows differently from the current ones (deciding policy, method, egress IP, physical colo or geolocation). ")
	b.WriteString("Each region is exact over every field the expressions use, for IPv4 (not proxied, proxied) and IPv6 flows from every ingress colo; each example flow was decided by the engine on both lists.\n\n")
	b.WriteString(impact.Table(res))
	b.WriteString("\n\nprovider::cfegress::impact(old, new, dedicated_ips) returns the same regions for check blocks and outputs; `cfegress impact` reads them from `terraform show -json` in CI.")
	return b.String()
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
