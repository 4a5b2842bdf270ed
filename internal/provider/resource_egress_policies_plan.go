package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

// privateStore is what Read and ModifyPlan use of private state.
type privateStore interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

type otherRules struct {
	// Precedences of the account's non-egress rules at the last read.
	Precedences []uint64 `json:"p"`
}

// savePrivateOthers keeps the non-egress rules' precedences for the plan.
func savePrivateOthers(ctx context.Context, all []cfapi.Rule, priv privateStore) {
	if priv == nil {
		return
	}
	o := otherRules{Precedences: []uint64{}}
	for _, r := range all {
		if !cfapi.IsEgress(r) {
			o.Precedences = append(o.Precedences, r.Precedence)
		}
	}
	b, err := json.Marshal(o)
	if err != nil {
		return
	}
	_ = priv.SetKey(ctx, privateOtherRules, b)
}

func loadPrivateOthers(ctx context.Context, priv privateStore) []cfapi.Rule {
	if priv == nil {
		return nil
	}
	b, _ := priv.GetKey(ctx, privateOtherRules)
	var o otherRules
	if len(b) == 0 || json.Unmarshal(b, &o) != nil {
		return nil
	}
	out := make([]cfapi.Rule, len(o.Precedences))
	for i, p := range o.Precedences {
		out[i] = cfapi.Rule{ID: fmt.Sprintf("other-%d", i), Name: fmt.Sprintf("other-%d", i), Precedence: p, Action: "block", Filters: []string{"dns"}}
	}
	return out
}

func (r *egressPoliciesResource) applyOptions(ctx context.Context, create bool) reconcile.Options {
	return reconcile.Options{
		FailOnUnmanaged: create,
		Log: func(format string, args ...any) {
			tflog.Info(ctx, fmt.Sprintf(format, args...))
		},
	}
}

// setApplied fills ids and precedences from a successful apply.
func (r *egressPoliciesResource) setApplied(ctx context.Context, m *egressPoliciesModel, policies []policyModel, res reconcile.Result, diags *diag.Diagnostics) {
	if len(res.Rules) != len(policies) {
		diags.AddError("Unexpected apply result", fmt.Sprintf("the apply returned %d rules for %d policies: this is a bug in the provider", len(res.Rules), len(policies)))
		return
	}
	for i := range policies {
		policies[i].ID = types.StringValue(res.Rules[i].ID)
		policies[i].Precedence = types.Int64Value(int64(res.Rules[i].Precedence))
		if policies[i].LintIgnore.IsUnknown() {
			policies[i].LintIgnore = types.SetNull(types.StringType)
		}
	}
	l, d := policiesToList(ctx, policies)
	diags.Append(d...)
	m.Policies = l
	account := m.AccountID.ValueString()
	if m.AccountID.IsUnknown() || m.AccountID.IsNull() {
		account = r.data.accountID
	}
	m.AccountID = types.StringValue(account)
	m.ID = types.StringValue(account)
	tflog.Info(ctx, "egress policies applied", map[string]any{
		"writes": res.Writes, "creates": res.Creates, "updates": res.Updates, "deletes": res.Deletes, "calls": res.Calls,
	})
}

// partialPolicies is the state after a failed update: the account's managed
// and not-yet-deleted egress rules as Apply left them, in precedence order.
func partialPolicies(res reconcile.Result, planned, prior []policyModel) []policyModel {
	var rules []cfapi.Rule
	known := make([]policyModel, 0, len(prior)+len(planned))
	known = append(known, prior...)
	for i, rule := range res.Rules {
		if rule.ID == "" {
			continue
		}
		rules = append(rules, rule)
		if i < len(planned) {
			p := planned[i]
			p.ID = types.StringValue(rule.ID)
			known = append(known, p)
		}
	}
	rules = append(rules, res.Unmanaged...)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Precedence < rules[j].Precedence })
	if len(rules) == 0 && len(res.Rules) == 0 {
		return prior // nothing known about the account: keep the prior state
	}
	return resPoliciesFromRules(rules, known)
}

// ---------------------------------------------------------------------------
// ModifyPlan

func (r *egressPoliciesResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		resp.Diagnostics.AddWarning("Destroying cfegress_egress_policies deletes every egress policy of the account",
			"After the destroy, no egress policy matches any traffic: all of it will leave from the account's dedicated egress IP nearest to the user's ingress colo "+
				"(Cloudflare's behaviour when no policy matches), including traffic that policies sent to the shared pool (default egress) or to a specific dedicated IP.")
		return
	}
	var plan, config egressPoliciesModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *egressPoliciesModel
	if !req.State.Raw.IsNull() {
		state = &egressPoliciesModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}

	// account_id defaults to the provider's.
	if config.AccountID.IsNull() {
		switch {
		case r.data != nil && r.data.unknown:
			plan.AccountID = types.StringUnknown()
		case r.data != nil && r.data.accountID != "":
			plan.AccountID = types.StringValue(r.data.accountID)
		case state != nil && !state.AccountID.IsNull():
			plan.AccountID = state.AccountID
		default:
			resp.Diagnostics.AddAttributeError(path.Root("account_id"), "Missing account ID",
				"cfegress_egress_policies needs an account: set account_id on the resource, account_id in the provider block, or the CLOUDFLARE_ACCOUNT_ID environment variable.")
			return
		}
	}
	plan.ID = plan.AccountID
	if r.data != nil && !r.data.unknown && r.data.err != nil {
		// Known provider configuration without a usable client: say so at
		// plan time rather than half way through an apply.
		resp.Diagnostics.AddError("Cloudflare API not available", r.data.err.Error())
		return
	}
	if state != nil && !plan.AccountID.IsUnknown() && !state.AccountID.IsNull() && state.AccountID.ValueString() != plan.AccountID.ValueString() {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("account_id"))
		state = nil // a new resource in the other account
	}

	if state == nil {
		r.checkUnmanaged(ctx, plan, &resp.Diagnostics)
	} else if !plan.Policies.IsUnknown() && !plan.Policies.IsNull() {
		prior, d := policiesFromList(ctx, state.Policies)
		resp.Diagnostics.Append(d...)
		if resp.Diagnostics.HasError() {
			return
		}
		l, d := shapePlan(ctx, plan.Policies, prior, loadPrivateOthers(ctx, req.Private))
		resp.Diagnostics.Append(d...)
		if resp.Diagnostics.HasError() {
			return
		}
		plan.Policies = l
	}
	r.planImpact(ctx, state, plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// checkUnmanaged fails a create plan when the account has egress rules whose
// names are not in the configuration (apply checks again).
func (r *egressPoliciesResource) checkUnmanaged(ctx context.Context, plan egressPoliciesModel, diags *diag.Diagnostics) {
	if !r.data.available() || plan.AccountID.IsUnknown() || plan.Policies.IsUnknown() {
		return
	}
	names := map[string]bool{}
	for _, e := range plan.Policies.Elements() {
		obj, ok := e.(basetypes.ObjectValue)
		if !ok || obj.IsUnknown() {
			return
		}
		n, ok := obj.Attributes()["name"].(types.String)
		if !ok || n.IsUnknown() {
			return // cannot tell which rules would be adopted
		}
		names[n.ValueString()] = true
	}
	account := plan.AccountID.ValueString()
	rules, err := r.data.client.ListRules(ctx, account)
	if err != nil {
		diags.AddError("Cannot list the account's Gateway rules", fmt.Sprintf("Account %s: %s", account, err))
		return
	}
	var unmanaged []cfapi.Rule
	for _, rule := range resEgressOnly(rules) {
		if !names[rule.Name] {
			unmanaged = append(unmanaged, rule)
		}
	}
	if len(unmanaged) > 0 {
		diags.AddAttributeError(path.Root("policies"), "The account has egress rules this configuration does not manage", unmanagedDetail(account, unmanaged))
	}
}

// shapePlan pairs planned policies with prior ones by name (a different name
// at the same index, with neither name on the other side, is a rename) and
// gives paired policies their rule ID, and their precedence when the
// reconciler will keep it. Only new and moved policies get unknown values,
// so inserting one policy changes one element of the plan.
func shapePlan(ctx context.Context, planned types.List, prior []policyModel, others []cfapi.Rule) (types.List, diag.Diagnostics) {
	var diags diag.Diagnostics
	elems := planned.Elements()
	n := len(elems)
	attrsOf := make([]map[string]attr.Value, n)
	names := make([]string, n)
	nameKnown := make([]bool, n)
	plannedNames := map[string]bool{}
	for i, e := range elems {
		obj, ok := e.(basetypes.ObjectValue)
		if !ok || obj.IsUnknown() || obj.IsNull() {
			continue
		}
		attrsOf[i] = obj.Attributes()
		if s, ok := attrsOf[i]["name"].(types.String); ok && !s.IsUnknown() && !s.IsNull() {
			names[i], nameKnown[i] = s.ValueString(), true
			plannedNames[names[i]] = true
		}
	}
	priorByName := map[string]int{}
	for j, p := range prior {
		priorByName[p.Name.ValueString()] = j
	}
	match := make([]int, n) // prior index or -1
	used := make([]bool, len(prior))
	for i := range match {
		match[i] = -1
		if nameKnown[i] {
			if j, ok := priorByName[names[i]]; ok && !used[j] {
				match[i], used[j] = j, true
			}
		}
	}
	for i := range match { // renames at the same index
		if match[i] == -1 && nameKnown[i] && i < len(prior) && !used[i] && !plannedNames[prior[i].Name.ValueString()] {
			match[i], used[i] = i, true
		}
	}

	// Which precedences stay: ask the reconciler's planner, with the
	// account as the prior state (refreshed) and the private state saw it.
	keep := make([]bool, n)
	contentKnown := true
	desired := make([]reconcile.Desired, n)
	for i := range elems {
		if attrsOf[i] == nil {
			contentKnown = false
			desired[i] = reconcile.Desired{Name: fmt.Sprintf("\x00unknown-%d", i)}
			continue
		}
		d, ok := desiredFromAttrs(ctx, attrsOf[i])
		if !ok {
			contentKnown = false
		}
		if !nameKnown[i] {
			d.Name = fmt.Sprintf("\x00unknown-%d", i)
		}
		if match[i] >= 0 {
			d.ID = prior[match[i]].ID.ValueString()
		}
		desired[i] = d
	}
	if contentKnown {
		current := make([]cfapi.Rule, 0, len(prior)+len(others))
		current = append(current, others...)
		for _, p := range prior {
			rule := ruleOfPolicy(p)
			current = append(current, rule)
		}
		sort.SliceStable(current, func(a, b int) bool { return current[a].Precedence < current[b].Precedence })
		pl := reconcile.PlanFor(current, desired)
		moved := make([]bool, n)
		for _, op := range pl.Ops {
			if op.Index >= 0 && op.Index < n && (op.Kind == reconcile.OpCreate || op.Move) {
				moved[op.Index] = true
			}
		}
		for i := range keep {
			keep[i] = match[i] >= 0 && !moved[i] && i < len(pl.Rules) && int64(pl.Rules[i].Precedence) == prior[match[i]].Precedence.ValueInt64()
		}
	} else {
		// Content not known yet: only an unchanged order keeps every number.
		same := n == len(prior)
		for i := 0; same && i < n; i++ {
			same = match[i] == i
		}
		for i := range keep {
			keep[i] = same
		}
	}

	out := make([]attr.Value, n)
	for i, e := range elems {
		if attrsOf[i] == nil {
			out[i] = e
			continue
		}
		a := make(map[string]attr.Value, len(attrsOf[i]))
		for k, v := range attrsOf[i] {
			a[k] = v
		}
		if match[i] >= 0 {
			a["id"] = prior[match[i]].ID
		} else {
			a["id"] = types.StringUnknown()
		}
		if keep[i] {
			a["precedence"] = prior[match[i]].Precedence
		} else {
			a["precedence"] = types.Int64Unknown()
		}
		obj, d := types.ObjectValue(policyAttrTypes, a)
		diags.Append(d...)
		out[i] = obj
	}
	l, d := types.ListValue(policyObjectType, out)
	diags.Append(d...)
	return l, diags
}

// desiredFromAttrs converts a planned policy's attributes; ok is false when
// some content is not known yet.
func desiredFromAttrs(ctx context.Context, a map[string]attr.Value) (reconcile.Desired, bool) {
	var d reconcile.Desired
	ok := true
	str := func(k string) string {
		v, has := a[k]
		if !has || v.IsNull() {
			return ""
		}
		if v.IsUnknown() {
			ok = false
			return ""
		}
		tv, err := v.ToTerraformValue(ctx)
		var s string
		if err != nil || tv.As(&s) != nil {
			ok = false
		}
		return s
	}
	d.Name = str("name")
	d.Description = str("description")
	d.Traffic = str("traffic")
	d.Identity = str("identity")
	d.DevicePosture = str("device_posture")
	d.Enabled = true
	if b, has := a["enabled"].(types.Bool); has {
		if b.IsUnknown() {
			ok = false
		} else if !b.IsNull() {
			d.Enabled = b.ValueBool()
		}
	}
	eg, has := a["egress"].(basetypes.ObjectValue)
	if !has || eg.IsUnknown() {
		return d, false
	}
	ea := eg.Attributes()
	estr := func(k string) string {
		v, has := ea[k]
		if !has || v.IsNull() {
			return ""
		}
		if v.IsUnknown() {
			ok = false
			return ""
		}
		tv, err := v.ToTerraformValue(ctx)
		var s string
		if err != nil || tv.As(&s) != nil {
			ok = false
		}
		return s
	}
	if estr("method") == string(engine.MethodDedicated) {
		d.Egress = &cfapi.EgressSettings{IPv4: estr("ipv4"), IPv6: estr("ipv6"), IPv4Fallback: estr("ipv4_fallback")}
	}
	return d, ok
}

// ruleOfPolicy is the egress rule a state policy stands for.
func ruleOfPolicy(p policyModel) cfapi.Rule {
	d := desiredOf([]policyModel{p})[0]
	rule := cfapi.Rule{
		ID: d.ID, Name: d.Name, Description: d.Description, Enabled: d.Enabled,
		Action: "egress", Filters: []string{"egress"},
		Traffic: d.Traffic, Identity: d.Identity, DevicePosture: d.DevicePosture, Egress: d.Egress,
	}
	if !p.Precedence.IsNull() && !p.Precedence.IsUnknown() {
		rule.Precedence = uint64(p.Precedence.ValueInt64())
	}
	return rule
}
