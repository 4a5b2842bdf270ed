package provider

import (
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/lint"
)

// ruleTitles are the short titles of lint findings, used in summaries.
var ruleTitles = map[string]string{
	lint.RuleDuplicateName:         "duplicate policy name",
	lint.RuleEmptyName:             "empty policy name",
	lint.RuleExpressionSyntax:      "expression does not parse",
	lint.RuleExpressionType:        "expression does not type-check",
	lint.RuleDedicatedMissingIP:    "dedicated egress without its IPs",
	lint.RuleDefaultWithIP:         "default egress with IPs",
	lint.RuleFallbackSameColo:      "fallback in the same colo",
	lint.RuleFallbackEqualsPrimary: "fallback equal to the primary IPv4",
	lint.RuleIPv6Fallback:          "there is no secondary IPv6",
	lint.RuleShadowed:              "policy can never match",
	lint.RuleCatchAllNotLast:       "catch-all is not the last policy",
	lint.RuleMissingCatchAll:       "no catch-all at the bottom",
	lint.RuleSplitLocation:         "IPv4 and IPv6 in different colos",
	lint.RuleFallbackLocal:         "fallback to default egress",
	lint.RuleRedundant:             "redundant policy",
	lint.RuleIPNotDedicated:        "IP is not one of the account's dedicated egress IPs",
	lint.RuleInventoryTooSmall:     "too few dedicated egress locations",
	lint.RuleHostSelector:          "host selector needed",
	lint.RuleCannotAnalyse:         "cannot analyse the expression",
}

// policyPath is the schema path of attribute attr ("egress.ipv4_fallback")
// inside policies[i].
func policyPath(i int, attr string) path.Path {
	p := path.Root("policies").AtListIndex(i)
	if attr == "" {
		return p
	}
	for _, step := range strings.Split(attr, ".") {
		p = p.AtName(step)
	}
	return p
}

// findingDiagnostic turns a lint finding into a diagnostic attached to the
// offending attribute. The summary names the policy and its index, so it is
// readable when the list comes from a `for` expression or a module:
// `Policy "partners" (policies[3]): fallback in the same colo`.
func findingDiagnostic(f lint.Finding) diag.Diagnostic {
	title := ruleTitles[f.Rule]
	if title == "" {
		title = strings.ReplaceAll(f.Rule, "_", " ")
	}
	if f.Possibly {
		title = "possibly: " + title
	}
	var summary string
	var p path.Path
	if f.Index >= 0 {
		summary = fmt.Sprintf("Policy %q (policies[%d]): %s", f.Policy, f.Index, title)
		p = policyPath(f.Index, f.Attribute)
	} else {
		summary = "Egress policies: " + title
		p = path.Root("policies")
	}
	detail := f.Message
	switch f.Rule {
	case lint.RuleDuplicateName, lint.RuleEmptyName, lint.RuleExpressionSyntax, lint.RuleExpressionType:
		detail += fmt.Sprintf("\n\n(rule %s)", f.Rule)
	default:
		detail += fmt.Sprintf("\n\n(rule %s; if this is deliberate, silence it with lint_ignore = [%q] on the policy", f.Rule, f.Rule)
		if f.Index < 0 {
			detail += " (the last policy, for list-level findings)"
		}
		detail += ".)"
	}
	if f.Severity == lint.SeverityError && !f.Possibly {
		return diag.NewAttributeErrorDiagnostic(p, summary, detail)
	}
	return diag.NewAttributeWarningDiagnostic(p, summary, detail)
}
