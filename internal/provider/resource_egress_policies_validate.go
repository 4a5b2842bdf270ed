package provider

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/lint"
)

// expectModel is one element of `expect`.
type expectModel struct {
	Flow       types.Object `tfsdk:"flow"`
	Policy     types.String `tfsdk:"policy"`
	EgressIP   types.String `tfsdk:"egress_ip"`
	EgressColo types.String `tfsdk:"egress_colo"`
	GeoCountry types.String `tfsdk:"geo_country"`
}

// ValidateConfig runs the engine's lint (SPEC §4) on what is known and
// checks `expect`. It runs in `terraform validate` (references unknown) and
// again at plan (resolved): what is unknown is never guessed.
func (r *egressPoliciesResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg egressPoliciesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || cfg.Policies.IsUnknown() || cfg.Policies.IsNull() {
		return
	}
	root, ok := configValue(ctx, cfg.Policies)
	if !ok {
		return
	}
	pis, err := decodePolicies(root)
	if err != nil {
		// Unknown elements: nothing to say yet. Malformed values are
		// reported by the attribute validators.
		return
	}
	inv, invKnown, invErr := r.inventoryOf(ctx, cfg)
	if invErr != nil {
		var de *DecodeError
		if errors.As(invErr, &de) {
			resp.Diagnostics.AddAttributeError(de.Path.From(path.Root("dedicated_egress_ips")), "Invalid dedicated_egress_ips", "dedicated_egress_ips"+invErr.Error()[len(de.Path.String()):]+".")
		} else {
			resp.Diagnostics.AddAttributeError(path.Root("dedicated_egress_ips"), "Invalid dedicated_egress_ips", invErr.Error())
		}
	}
	mode := lint.CatchAllRecommended
	switch {
	case cfg.CatchAll.IsUnknown():
		mode = lint.CatchAllOff
	case !cfg.CatchAll.IsNull():
		mode = lint.CatchAllMode(cfg.CatchAll.ValueString())
	}
	in := lint.Input{Inventory: inv, InventoryKnown: invKnown, CatchAll: mode}
	for _, pi := range pis {
		in.Policies = append(in.Policies, lintPolicyOfInput(pi))
	}
	for _, f := range lint.Lint(in) {
		resp.Diagnostics.Append(findingDiagnostic(f))
	}
	if resp.Diagnostics.HasError() {
		return
	}
	r.checkExpect(ctx, cfg, pis, inv, invKnown, &resp.Diagnostics)
	r.checkInvariants(ctx, cfg, pis, inv, invKnown, &resp.Diagnostics)
}

// inventoryOf decodes dedicated_egress_ips; known is false when it is not
// given, not known yet (or not convertible, see configValue) or invalid
// (err, unless merely unknown).
func (r *egressPoliciesResource) inventoryOf(ctx context.Context, cfg egressPoliciesModel) ([]engine.DedicatedIP, bool, error) {
	if cfg.DedicatedEgressIPs.IsNull() || cfg.DedicatedEgressIPs.IsUnknown() {
		return nil, false, nil
	}
	d, ok := configValue(ctx, cfg.DedicatedEgressIPs)
	if !ok {
		return nil, false, nil
	}
	inv, err := decodeDedicatedIPs(d)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) && de.Unknown {
			return nil, false, nil
		}
		return nil, false, err
	}
	return inv, true, nil
}

// configValue reads an attribute of the config for decoding. It is false
// when the value cannot be converted, which is not reported here:
// req.Config.Get has already read the whole config into the model (and
// reported any failure), so the value is treated like one not known yet.
func configValue(ctx context.Context, v attr.Value) (dv, bool) {
	d, err := rootValue(ctx, v, "")
	return d, err == nil
}

// lintPolicyOfInput converts a decoded policy for lint, with Known flags.
func lintPolicyOfInput(pi policyInput) lint.Policy {
	u := pi.Unknown
	p := lint.Policy{
		Name: pi.Name, NameKnown: !u["name"],
		Enabled: pi.Enabled, EnabledKnown: !u["enabled"],
		Traffic: pi.Traffic, TrafficKnown: !u["traffic"],
		Identity: pi.Identity, IdentityKnown: !u["identity"],
		DevicePosture: pi.DevicePosture, PostureKnown: !u["device_posture"],
		IPv4: pi.IPv4, IPv4Known: !u["egress.ipv4"],
		IPv6: pi.IPv6, IPv6Known: !u["egress.ipv6"],
		IPv4Fallback: pi.IPv4Fallback, FallbackKnown: !u["egress.ipv4_fallback"],
		LintIgnore: pi.LintIgnore,
	}
	if !u["egress.method"] {
		p.Method = pi.Method
	}
	return p
}

// knownEnginePolicies converts the policies for the engine; false when one
// is not known yet (the check waits for apply) or does not convert (lint
// reports it).
func knownEnginePolicies(pis []policyInput) ([]engine.Policy, bool) {
	policies := make([]engine.Policy, 0, len(pis))
	for _, pi := range pis {
		if pi.unknownForDecide() != "" {
			return nil, false
		}
		p, err := pi.enginePolicy()
		if err != nil {
			return nil, false
		}
		policies = append(policies, p)
	}
	return policies, true
}

// checkExpect decides every `expect` flow with the engine, when everything
// it needs is known, and reports mismatches as errors on expect[i].
func (r *egressPoliciesResource) checkExpect(ctx context.Context, cfg egressPoliciesModel, pis []policyInput, inv []engine.DedicatedIP, invKnown bool, diags diagAppender) {
	if cfg.Expect.IsNull() || cfg.Expect.IsUnknown() {
		return
	}
	if cfg.DedicatedEgressIPs.IsNull() {
		diags.AddAttributeError(path.Root("expect"), "expect needs dedicated_egress_ips",
			"The engine simulates where traffic leaves from the account's dedicated egress IPs (dedicated policies, and the nearest IP when no policy matches): "+
				"set dedicated_egress_ips, e.g. [cfegress_dedicated_egress_ip.nrt, cfegress_dedicated_egress_ip.lax].")
		return
	}
	if !invKnown {
		return // inventory not known yet (or invalid: reported above)
	}
	policies, ok := knownEnginePolicies(pis)
	if !ok {
		return
	}
	eng, err := engine.Compile(policies, inv)
	if err != nil {
		diags.AddAttributeError(path.Root("expect"), "Cannot check expect",
			fmt.Sprintf("The policies cannot be simulated: %s. Fix the policies (and dedicated_egress_ips), then the expectations are checked.", err))
		return
	}
	var expects []expectModel
	if d := cfg.Expect.ElementsAs(ctx, &expects, true); d.HasError() {
		return
	}
	for i, e := range expects {
		p := path.Root("expect").AtListIndex(i)
		if e.Flow.IsUnknown() {
			continue
		}
		flow, down, err := flowFromObject(ctx, e.Flow)
		if err != nil {
			var de *DecodeError
			if errors.As(err, &de) && de.Unknown {
				continue
			}
			diags.AddAttributeError(p.AtName("flow"), fmt.Sprintf("expect[%d]: invalid flow", i), err.Error())
			continue
		}
		dec, err := eng.Decide(&flow, down)
		if err != nil {
			diags.AddAttributeError(p.AtName("flow"), fmt.Sprintf("expect[%d]: the flow cannot be decided", i), err.Error())
			continue
		}
		if msg := expectMismatch(e, flow, dec, pis); msg != "" {
			diags.AddAttributeError(p, fmt.Sprintf("expect[%d]: %s is not decided as expected", i, flowSummary(flow)), msg+"\n\nTrace:\n  "+strings.Join(dec.Trace, "\n  "))
		}
	}
}

// diagAppender is the part of diag.Diagnostics checkExpect uses.
type diagAppender interface {
	AddAttributeError(p path.Path, summary, detail string)
}

func flowSummary(f engine.Flow) string {
	s := fmt.Sprintf("flow from %s to %s", f.IngressColo, f.DestinationIP)
	if f.DestinationPort != 0 {
		s += fmt.Sprintf(":%d", f.DestinationPort)
	}
	if f.Proxied {
		s += " (proxied)"
	}
	return s
}

// decidedBy describes who decided.
func decidedBy(d engine.Decision) string {
	switch d.Outcome {
	case engine.OutcomePolicy:
		return fmt.Sprintf("policy %q (policies[%d])", d.PolicyName, d.PolicyIndex)
	case engine.OutcomeNoMatch:
		return "no policy (no match: the nearest dedicated IP)"
	case engine.OutcomeIndeterminate:
		return fmt.Sprintf("nothing yet: the outcome is indeterminate because the flow lacks %s", d.Missing)
	case engine.OutcomeUnavailable:
		return "nothing: the flow is unavailable (the dedicated IP's colo and its fallback are down)"
	case engine.OutcomeNotApplicable:
		return "nothing: egress policies do not apply to this flow"
	}
	return string(d.Outcome)
}

// expectMismatch returns "" when the decision meets the expectation.
func expectMismatch(e expectModel, f engine.Flow, d engine.Decision, pis []policyInput) string {
	var msgs []string
	if !e.Policy.IsNull() && !e.Policy.IsUnknown() {
		want := e.Policy.ValueString()
		got := ""
		if d.Outcome == engine.OutcomePolicy {
			got = d.PolicyName
		}
		if got != want || (want == "" && d.Outcome != engine.OutcomeNoMatch) {
			w := fmt.Sprintf("policy %q", want)
			for i, pi := range pis {
				if pi.Name == want {
					w = fmt.Sprintf("policy %q (policies[%d])", want, i)
				}
			}
			if want == "" {
				w = "no policy to match"
			}
			msgs = append(msgs, fmt.Sprintf("expected %s, but the flow is decided by %s.", w, decidedBy(d)))
		}
	}
	if !e.EgressIP.IsNull() && !e.EgressIP.IsUnknown() {
		want := strings.TrimSpace(e.EgressIP.ValueString())
		got := ""
		switch {
		case f.DestinationIP.Is6() && d.EgressIPv6Range.IsValid():
			got = d.EgressIPv6Range.String()
		case d.EgressIP.IsValid():
			got = d.EgressIP.String()
		}
		if !sameIPText(want, got) {
			gs := got
			if gs == "" {
				gs = "the shared pool (default egress)"
			}
			msgs = append(msgs, fmt.Sprintf("expected egress_ip %q, got %s (decided by %s).", want, gs, decidedBy(d)))
		}
	}
	if !e.EgressColo.IsNull() && !e.EgressColo.IsUnknown() && !strings.EqualFold(e.EgressColo.ValueString(), d.EgressColo) {
		msgs = append(msgs, fmt.Sprintf("expected egress_colo %q, got %q (decided by %s).", e.EgressColo.ValueString(), d.EgressColo, decidedBy(d)))
	}
	if !e.GeoCountry.IsNull() && !e.GeoCountry.IsUnknown() && !strings.EqualFold(e.GeoCountry.ValueString(), d.GeoCountry) {
		got := fmt.Sprintf("%q", d.GeoCountry)
		if d.NoGeolocation {
			// BYOIP dedicated egress IPs do not support IP geolocation
			// (Cloudflare): expect geo_country = "" for them.
			got = `no geolocation (the egress IP is BYOIP, which has no IP geolocation; expect geo_country = "")`
		}
		msgs = append(msgs, fmt.Sprintf("expected geo_country %q, got %s (decided by %s).", e.GeoCountry.ValueString(), got, decidedBy(d)))
	}
	return strings.Join(msgs, "\n")
}

// sameIPText compares addresses or prefixes by meaning.
func sameIPText(a, b string) bool {
	if a == b {
		return true
	}
	if x, err := netip.ParseAddr(a); err == nil {
		y, err := netip.ParseAddr(b)
		return err == nil && x == y
	}
	if x, err := netip.ParsePrefix(a); err == nil {
		y, err := netip.ParsePrefix(b)
		return err == nil && x.Masked() == y.Masked()
	}
	return false
}
