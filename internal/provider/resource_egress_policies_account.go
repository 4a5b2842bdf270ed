package provider

import (
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

// What the account says about its rules that the plan shows (issue 11):
// rules shared by a parent account, Cloudflare's warnings on rules, the
// account's limits, and the errors of writes mapped to the attribute at
// fault.

// sharedRule is a read_only egress rule as the private state keeps it.
type sharedRule struct {
	ID         string `json:"id"`
	Name       string `json:"n"`
	Precedence uint64 `json:"p"`
	Source     string `json:"s,omitempty"`
}

func (s sharedRule) rule() cfapi.Rule {
	return cfapi.Rule{ID: s.ID, Name: s.Name, Precedence: s.Precedence, Action: "egress", Filters: []string{"egress"},
		ReadOnly: true, SourceAccount: s.Source}
}

// sharedOf returns the read_only egress rules of rules, in precedence order.
func sharedOf(rules []cfapi.Rule) []cfapi.Rule {
	var out []cfapi.Rule
	for _, r := range rules {
		if cfapi.IsEgress(r) && r.ReadOnly {
			out = append(out, r)
		}
	}
	return out
}

// warnShared says which egress rules a parent account shares with this one
// and where they are evaluated among the policies (precs: the policies'
// planned precedences, nil when some are not known yet). Cloudflare:
// read_only "Indicate that this rule is shared via the Orgs API and read
// only" (cloudflare-go v7.9.0 zero_trust.GatewayRule, from Cloudflare's
// OpenAPI); Gateway evaluates every egress rule in precedence order.
func warnShared(diags *diag.Diagnostics, account string, shared []cfapi.Rule, names []string, precs []uint64) {
	if len(shared) == 0 {
		return
	}
	var lines []string
	for _, s := range shared {
		from := "a parent account"
		if s.SourceAccount != "" {
			from = "account " + s.SourceAccount
		}
		where := "among the policies (the exact place is known once the planned precedences are)"
		if precs != nil {
			before, after := -1, -1
			for i, p := range precs {
				if p < s.Precedence {
					before = i
				} else if after < 0 {
					after = i
				}
			}
			switch {
			case len(precs) == 0:
				where = "alone: there are no policies"
			case before < 0:
				where = fmt.Sprintf("before every policy (first: policies[0] %q)", names[0])
			case after < 0:
				where = fmt.Sprintf("after every policy (last: policies[%d] %q)", before, names[before])
			default:
				where = fmt.Sprintf("after policies[%d] %q and before policies[%d] %q", before, names[before], after, names[after])
			}
		}
		lines = append(lines, fmt.Sprintf("  - %q (id %s, precedence %d, shared by %s): evaluated %s", s.Name, s.ID, s.Precedence, from, where))
	}
	diags.AddAttributeWarning(path.Root("policies"), "Egress rules shared by a parent account are evaluated among these policies",
		fmt.Sprintf("Account %s has %d egress rule(s) shared by a parent account (read_only):\n%s\n"+
			"cfegress never writes, moves or deletes them, and they are not part of policies. Gateway evaluates them with the policies, in precedence order: "+
			"for traffic one of them matches, the first matching rule decides, theirs included. The provider keeps each policy on its side of them "+
			"unless the order of policies requires otherwise (a new policy goes on the side of the policy before it). "+
			"Plan-time checks (expect, invariants, the change impact) do not see them. Change them in the parent account.",
			account, len(shared), strings.Join(lines, "\n")))
}

// warnStatus shows Cloudflare's warning_status of the rules of the policies
// ("Indicate a warning for a misconfigured rule, if any": cloudflare-go
// v7.9.0 zero_trust.GatewayRule.WarningStatus) on each policy.
func warnStatus(diags *diag.Diagnostics, ids []string, names []string, status map[string]string) {
	for i, id := range ids {
		w := status[id]
		if id == "" || w == "" {
			continue
		}
		diags.AddAttributeWarning(path.Root("policies").AtListIndex(i), fmt.Sprintf("Cloudflare warns about egress policy %q", names[i]),
			fmt.Sprintf("Cloudflare reports a warning on the rule of policies[%d] %q (id %s): %q. Cloudflare sets it on rules it considers misconfigured; "+
				"the rule is still in the account as configured. Check the policy in the dashboard, or correct it here.", i, names[i], id, w))
	}
}

// checkPolicyLimit refuses more policies than the account allows.
func checkPolicyLimit(diags *diag.Diagnostics, n, limit int) bool {
	if n <= limit {
		return true
	}
	diags.AddAttributeError(path.Root("policies"), "Too many egress policies for the account",
		fmt.Sprintf("policies has %d egress policies, but the account allows %d (Cloudflare's limit is 500 egress policies per account; "+
			"Cloudflare can raise it for Enterprise accounts). Remove or merge %d policies, or, if Cloudflare raised your account's limit, "+
			"set max_policies in the cfegress provider block to the new limit.", n, limit, n-limit))
	return false
}

// writeErrors are the failed writes in err's tree.
func writeErrors(err error) []*reconcile.WriteError {
	var out []*reconcile.WriteError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if we, ok := e.(*reconcile.WriteError); ok {
			out = append(out, we)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// addApplyError reports a failed apply: at policies[i].egress.ipv4 for each
// write Cloudflare refused with 2055 ("Account doesn't own dedicated primary
// IPv4", the official provider's TestAccCloudflareTeamsRule_EgressDedicated),
// else on the resource.
func addApplyError(diags *diag.Diagnostics, summary, detail string, err error) {
	var at []*reconcile.WriteError
	for _, we := range writeErrors(err) {
		if cfapi.IsDedicatedIPv4NotOwned(we) && we.Op.Index >= 0 && we.Op.Rule.Egress != nil {
			at = append(at, we)
		}
	}
	if len(at) == 0 {
		diags.AddError(summary, detail)
		return
	}
	for k, we := range at {
		msg := fmt.Sprintf("policies[%d] %q: egress.ipv4 = %q is not a dedicated egress IPv4 of this account: Cloudflare refused the rule with error %d, \"Account doesn't own dedicated primary IPv4\". "+
			"Use one of the account's dedicated egress IPs (declare them as cfegress_dedicated_egress_ip and pass them in dedicated_egress_ips: the plan then checks every IP), or check account_id.",
			we.Op.Index, we.Op.Rule.Name, we.Op.Rule.Egress.IPv4, cfapi.CodeDedicatedIPv4NotOwned)
		if k == 0 {
			msg += "\n\n" + detail
		}
		diags.AddAttributeError(path.Root("policies").AtListIndex(we.Op.Index).AtName("egress").AtName("ipv4"), summary, msg)
	}
}
