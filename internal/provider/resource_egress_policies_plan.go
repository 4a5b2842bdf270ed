package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

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
	// Shared are the read_only egress rules (shared by a parent account).
	Shared []sharedRule `json:"s,omitempty"`
	// Warnings are Cloudflare's warning_status of egress rules, by ID.
	Warnings map[string]string `json:"w,omitempty"`
}

// savePrivateOthers keeps, for the plan, the non-egress rules' precedences,
// the shared egress rules and Cloudflare's warnings.
func savePrivateOthers(ctx context.Context, all []cfapi.Rule, priv privateStore) {
	if priv == nil {
		return
	}
	o := otherRules{Precedences: []uint64{}}
	for _, r := range all {
		switch {
		case !cfapi.IsEgress(r):
			o.Precedences = append(o.Precedences, r.Precedence)
		case r.ReadOnly:
			o.Shared = append(o.Shared, sharedRule{ID: r.ID, Name: r.Name, Precedence: r.Precedence, Source: r.SourceAccount})
		case r.WarningStatus != "":
			if o.Warnings == nil {
				o.Warnings = map[string]string{}
			}
			o.Warnings[r.ID] = r.WarningStatus
		}
	}
	b, err := json.Marshal(o)
	if err != nil {
		return
	}
	_ = priv.SetKey(ctx, privateOtherRules, b)
}

func loadPrivateRead(ctx context.Context, priv privateStore) otherRules {
	var o otherRules
	if priv == nil {
		return o
	}
	b, _ := priv.GetKey(ctx, privateOtherRules)
	if len(b) == 0 || json.Unmarshal(b, &o) != nil {
		return otherRules{}
	}
	return o
}

// sharedRules are the shared (read_only) egress rules of the last read.
func (o otherRules) sharedRules() []cfapi.Rule {
	var out []cfapi.Rule
	for _, sr := range o.Shared {
		out = append(out, sr.rule())
	}
	return out
}

// keepClearOf is the rules a plan must keep clear of: the non-egress rules'
// numbers and the shared egress rules.
func (o otherRules) keepClearOf(shared []cfapi.Rule) []cfapi.Rule {
	if o.Precedences == nil && o.Shared == nil {
		return nil
	}
	out := make([]cfapi.Rule, 0, len(o.Precedences)+len(shared))
	for i, p := range o.Precedences {
		out = append(out, cfapi.Rule{ID: fmt.Sprintf("other-%d", i), Name: fmt.Sprintf("other-%d", i), Precedence: p, Action: "block", Filters: []string{"dns"}})
	}
	return append(out, shared...)
}

// privateManaged is the private-state key under which an apply keeps the
// rule IDs it wrote from the configuration, so that a later plan can tell a
// rule the configuration dropped from one added outside Terraform.
const privateManaged = "managed_ids"

func saveManaged(ctx context.Context, priv privateStore, ids map[string]bool) {
	if priv == nil {
		return
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	sort.Strings(list)
	if b, err := json.Marshal(list); err == nil {
		_ = priv.SetKey(ctx, privateManaged, b)
	}
}

// loadManaged returns the IDs saved by saveManaged; nil when none were
// (an imported resource, or state from an older provider).
func loadManaged(ctx context.Context, priv privateStore) map[string]bool {
	if priv == nil {
		return nil
	}
	b, _ := priv.GetKey(ctx, privateManaged)
	var list []string
	if len(b) == 0 || json.Unmarshal(b, &list) != nil {
		return nil
	}
	out := make(map[string]bool, len(list))
	for _, id := range list {
		out[id] = true
	}
	return out
}

// managedAfter is the managed set after an apply: the earlier one plus
// every rule the apply wrote from the configuration, minus those deleted.
func managedAfter(before map[string]bool, res reconcile.Result) map[string]bool {
	out := make(map[string]bool, len(before)+len(res.Done))
	for id := range before {
		out[id] = true
	}
	for _, w := range res.Done {
		if w.Kind == reconcile.OpDelete {
			delete(out, w.Rule.ID)
		} else {
			out[w.Rule.ID] = true
		}
	}
	for _, r := range res.Rules {
		if r.ID != "" {
			out[r.ID] = true
		}
	}
	return out
}

// warnDeletesFromOutside warns when the plan deletes egress rules that no
// apply of this configuration wrote: rules added outside Terraform (in the
// dashboard), which the refresh put in the state.
// planned are the planned policies' known IDs (plannedIDsAndNames).
func warnDeletesFromOutside(prior []policyModel, planned []string, managed map[string]bool, diags *diag.Diagnostics) {
	if managed == nil {
		return
	}
	kept := make(map[string]bool, len(planned))
	for _, id := range planned {
		kept[id] = true
	}
	var lines []string
	for _, p := range prior {
		id := strOf(p.ID)
		if id == "" || kept[id] || managed[id] {
			continue
		}
		lines = append(lines, fmt.Sprintf("  - %q (id %s, precedence %d)", p.Name.ValueString(), id, p.Precedence.ValueInt64()))
	}
	if len(lines) == 0 {
		return
	}
	diags.AddAttributeWarning(path.Root("policies"), "This plan deletes egress rules added outside Terraform",
		fmt.Sprintf("These egress rules are in the account but not in the configuration, and no apply of this configuration made them (they were added in the dashboard or by another tool):\n%s\n"+
			"cfegress_egress_policies owns every egress rule of the account, so applying this plan deletes them. To keep one, add a policy with its name to policies.", strings.Join(lines, "\n")))
}

func (r *egressPoliciesResource) applyOptions(ctx context.Context) reconcile.Options {
	o := reconcile.Options{
		Log: func(format string, args ...any) {
			tflog.Info(ctx, fmt.Sprintf(format, args...))
		},
	}
	if r.data != nil {
		o.MaxConcurrentWrites = r.data.maxConcurrentWrites
		o.MaxPolicies = r.data.policyLimit()
	}
	return o
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
	ids := make([]string, len(policies))
	names := make([]string, len(policies))
	status := map[string]string{}
	for i, r := range res.Rules {
		ids[i], names[i] = r.ID, r.Name
		if r.WarningStatus != "" {
			status[r.ID] = r.WarningStatus
		}
	}
	warnStatus(diags, ids, names, status)
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

// partialPolicies is the state's policies after a failed apply: the prior
// state's (none on create) plus exactly the changes the apply made
// (res.Done), in precedence order. A created or updated rule holds the
// planned policy (the configuration's values and spelling, lint_ignore
// included) with its new ID and precedence; a deleted rule leaves the
// list. With no change it returns prior itself.
func partialPolicies(prior, planned []policyModel, res reconcile.Result) []policyModel {
	if len(res.Done) == 0 {
		return prior
	}
	out := append([]policyModel(nil), prior...)
	find := func(id string) int {
		for i := range out {
			if strOf(out[i].ID) == id {
				return i
			}
		}
		return -1
	}
	for _, w := range res.Done {
		switch w.Kind {
		case reconcile.OpCreate, reconcile.OpUpdate:
			if w.Index < 0 || w.Index >= len(planned) {
				continue
			}
			p := planned[w.Index]
			p.ID = types.StringValue(w.Rule.ID)
			p.Precedence = types.Int64Value(int64(w.Rule.Precedence))
			if p.LintIgnore.IsUnknown() {
				p.LintIgnore = types.SetNull(types.StringType)
			}
			if i := find(w.Rule.ID); i >= 0 {
				out[i] = p
			} else {
				out = append(out, p)
			}
		case reconcile.OpDelete:
			if i := find(w.Rule.ID); i >= 0 {
				out = append(out[:i], out[i+1:]...)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Precedence.ValueInt64() < out[j].Precedence.ValueInt64() })
	return out
}

// Rules read per provider instance and account, for planCreate: a create
// planned in the same run as the refresh of an existing instance for the
// same account is a replacement (a tainted resource, -replace, a moved
// address), and the replacement's destroy deletes that instance's rules
// before the create runs.
var (
	readMu  sync.Mutex
	readIDs = map[readKey]map[string]bool{}
)

type readKey struct {
	d       *providerData
	account string
}

func rememberRead(d *providerData, account string, rules []cfapi.Rule) {
	ids := make(map[string]bool, len(rules))
	for _, r := range rules {
		ids[r.ID] = true
	}
	readMu.Lock()
	readIDs[readKey{d, account}] = ids
	readMu.Unlock()
}

func readInThisRun(d *providerData, account string) map[string]bool {
	readMu.Lock()
	defer readMu.Unlock()
	return readIDs[readKey{d, account}]
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
		r.planCreate(ctx, &plan, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	} else if !plan.Policies.IsUnknown() && !plan.Policies.IsNull() {
		prior, d := policiesFromList(ctx, state.Policies)
		resp.Diagnostics.Append(d...)
		if resp.Diagnostics.HasError() {
			return
		}
		read := loadPrivateRead(ctx, req.Private)
		shared := read.sharedRules()
		l, predicted, d := shapePlan(ctx, plan.Policies, prior, read.keepClearOf(shared))
		resp.Diagnostics.Append(d...)
		if resp.Diagnostics.HasError() {
			return
		}
		plan.Policies = l
		ids, names := plannedIDsAndNames(l)
		warnDeletesFromOutside(prior, ids, loadManaged(ctx, req.Private), &resp.Diagnostics)
		warnShared(&resp.Diagnostics, plan.AccountID.ValueString(), shared, names, predicted)
		warnStatus(&resp.Diagnostics, ids, names, read.Warnings)
	}
	if !plan.Policies.IsUnknown() && !plan.Policies.IsNull() && r.data != nil && !r.data.unknown &&
		!checkPolicyLimit(&resp.Diagnostics, len(plan.Policies.Elements()), r.data.policyLimit()) {
		return
	}
	r.planImpact(ctx, state, plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// planCreate lists the account for a create plan: egress rules whose names
// are not in the configuration fail the plan (import hint); rules with the
// configuration's names are taken over, and the plan shows it: their
// policies get the rules' IDs, with a warning naming each one. The apply
// takes over only these (a same-name rule that appears after the plan
// stops it). Rules of an instance being replaced in this run are neither:
// the replacement's destroy deletes them first.
func (r *egressPoliciesResource) planCreate(ctx context.Context, plan *egressPoliciesModel, diags *diag.Diagnostics) {
	if !r.data.available() || plan.AccountID.IsUnknown() || plan.Policies.IsUnknown() {
		return
	}
	elems := plan.Policies.Elements()
	desired := make([]reconcile.Desired, len(elems))
	for i, e := range elems {
		obj, ok := e.(basetypes.ObjectValue)
		if !ok || obj.IsUnknown() {
			return
		}
		n, ok := obj.Attributes()["name"].(types.String)
		if !ok || n.IsUnknown() {
			return // cannot tell which rules would be taken over
		}
		desired[i] = reconcile.Desired{Name: n.ValueString()}
	}
	account := plan.AccountID.ValueString()
	rules, err := r.data.client.ListRules(ctx, account)
	if err != nil {
		diags.AddError("Cannot list the account's Gateway rules", fmt.Sprintf("Account %s: %s", account, err))
		return
	}
	replaced := readInThisRun(r.data, account)
	var current, going []cfapi.Rule
	for _, rule := range rules {
		if cfapi.IsEgress(rule) && replaced[rule.ID] {
			going = append(going, rule)
			continue
		}
		current = append(current, rule)
	}
	adopted, unmanaged := reconcile.AdoptByName(current, desired)
	if len(unmanaged) > 0 {
		diags.AddAttributeError(path.Root("policies"), "The account has egress rules this configuration does not manage", unmanagedDetail(account, unmanaged))
		return
	}
	if len(going) > 0 {
		diags.AddWarning("Replacing cfegress_egress_policies deletes its egress rules first",
			fmt.Sprintf("Account %s: this plan replaces the existing cfegress_egress_policies (it is tainted, because a create failed half way, or its replacement was requested). "+
				"The replacement deletes its %d egress rule(s), then creates the policies again: in between, the traffic they match leaves from the account's nearest dedicated egress IP. "+
				"If the resource is tainted and you want to finish its create instead, without deleting anything: terraform untaint <address>, then plan again.", account, len(going)))
	}
	byID := make(map[string]cfapi.Rule, len(current))
	status := map[string]string{}
	for _, rule := range current {
		byID[rule.ID] = rule
		if rule.WarningStatus != "" {
			status[rule.ID] = rule.WarningStatus
		}
	}
	names := make([]string, len(desired))
	ids := make([]string, len(desired))
	for i := range desired {
		names[i], ids[i] = desired[i].Name, adopted[i].ID
	}
	if shared := sharedOf(current); len(shared) > 0 {
		// Where the apply will put the policies (when their content is known).
		var predicted []uint64
		full := make([]reconcile.Desired, len(elems))
		known := true
		for i, e := range elems {
			obj, _ := e.(basetypes.ObjectValue)
			d, ok := desiredFromAttrs(ctx, obj.Attributes())
			known = known && ok
			d.ID = adopted[i].ID
			full[i] = d
		}
		if pl, err := reconcile.PlanFor(current, full); known && err == nil {
			for _, r := range pl.Rules {
				predicted = append(predicted, r.Precedence)
			}
			if predicted == nil {
				predicted = []uint64{}
			}
		}
		warnShared(diags, account, shared, names, predicted)
	}
	warnStatus(diags, ids, names, status)
	var lines []string
	out := make([]attr.Value, len(elems))
	for i, e := range elems {
		out[i] = e
		id := adopted[i].ID
		if id == "" {
			continue
		}
		rule := byID[id]
		lines = append(lines, fmt.Sprintf("  - policies[%d] %q: rule %s (precedence %d)", i, rule.Name, rule.ID, rule.Precedence))
		obj, _ := e.(basetypes.ObjectValue)
		a := make(map[string]attr.Value, len(obj.Attributes()))
		for k, v := range obj.Attributes() {
			a[k] = v
		}
		a["id"] = types.StringValue(id)
		v, d := types.ObjectValue(policyAttrTypes, a)
		diags.Append(d...)
		out[i] = v
	}
	if len(lines) == 0 {
		return
	}
	diags.AddWarning("Existing egress rules will be taken over",
		fmt.Sprintf("Account %s already has egress rules with the names of policies in this configuration. The apply takes them over (the plan shows their ids) and rewrites them to match the configuration:\n%s\n"+
			"If they belong to someone else, rename your policies or import the account's rules first (terraform import <address> %s).", account, strings.Join(lines, "\n"), account))
	l, d := types.ListValue(policyObjectType, out)
	diags.Append(d...)
	plan.Policies = l
}

// shapePlan pairs planned policies with prior ones by name (a different name
// at the same index, with neither name on the other side, is a rename) and
// gives paired policies their rule ID, and their precedence when the
// reconciler will keep it. Only new and moved policies get unknown values,
// so inserting one policy changes one element of the plan.
// It also returns the precedences the apply will give the policies (nil
// when some content is not known yet).
func shapePlan(ctx context.Context, planned types.List, prior []policyModel, others []cfapi.Rule) (types.List, []uint64, diag.Diagnostics) {
	var diags diag.Diagnostics
	var predicted []uint64
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
		pl, err := reconcile.PlanFor(current, desired)
		if err != nil {
			pl = reconcile.Plan{} // (no promised numbers here: cannot fail)
		}
		if len(pl.Rules) == n {
			predicted = make([]uint64, n)
			for i, r := range pl.Rules {
				predicted[i] = r.Precedence
			}
		}
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
	return l, predicted, diags
}

// plannedIDsAndNames are the planned policies' known IDs and names ("" when
// not known).
func plannedIDsAndNames(l types.List) (ids, names []string) {
	for _, e := range l.Elements() {
		var id, name string
		if obj, ok := e.(basetypes.ObjectValue); ok {
			if v, ok := obj.Attributes()["id"].(types.String); ok && !v.IsUnknown() && !v.IsNull() {
				id = v.ValueString()
			}
			if v, ok := obj.Attributes()["name"].(types.String); ok && !v.IsUnknown() && !v.IsNull() {
				name = v.ValueString()
			}
		}
		ids, names = append(ids, id), append(names, name)
	}
	return ids, names
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
