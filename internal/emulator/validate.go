package emulator

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// apiError is an error answer: HTTP status, Cloudflare error code, message.
type apiError struct {
	Status  int
	Code    int
	Message string
	route   bool // answer with Cloudflare's 7003 route error for the request's path
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %d: %s", e.Status, e.Code, e.Message) }

func badRequest(format string, a ...any) *apiError {
	return &apiError{Status: 400, Code: CodeValidation, Message: fmt.Sprintf(format, a...)}
}

// knownFilters and knownActions are Cloudflare's Gateway rule filters and
// actions (its OpenAPI, as cloudflare-go v7's zero_trust.GatewayFilter and
// GatewayRuleNewParamsAction list them; audit_ssh as cloudflare-go v0 had it).
var knownFilters = map[string]bool{"http": true, "dns": true, "l4": true, "egress": true, "dns_resolver": true}

var knownActions = map[string]bool{
	"allow": true, "block": true, "safesearch": true, "ytrestricted": true, "on": true, "off": true,
	"scan": true, "noscan": true, "isolate": true, "noisolate": true, "override": true,
	"l4_override": true, "egress": true, "audit_ssh": true, "resolve": true,
	"quarantine": true, "redirect": true,
}

// validateRule checks one rule as Cloudflare does before storing it. others
// are the account's other rules (for precedence uniqueness; r itself
// excluded). r.Precedence == 0 is allowed here (assigned later).
func validateRule(r *Rule, inv []engine.DedicatedIP, others []Rule) *apiError {
	if strings.TrimSpace(r.Name) == "" {
		return badRequest("name: a rule needs a non-empty name")
	}
	if len(r.Filters) != 1 {
		return badRequest("filters: a rule must have exactly one filter (one of http, dns, l4, egress, dns_resolver), got %d", len(r.Filters))
	}
	f := r.Filters[0]
	if !knownFilters[f] {
		return badRequest("filters: unknown filter %q (use one of http, dns, l4, egress, dns_resolver)", f)
	}
	if !knownActions[r.Action] {
		return badRequest("action: unknown action %q", r.Action)
	}
	if f == "egress" && r.Action != "egress" {
		return badRequest("action: a rule with filters [\"egress\"] must have action \"egress\", got %q", r.Action)
	}
	if r.Action == "egress" && f != "egress" {
		return badRequest("filters: action \"egress\" needs filters [\"egress\"], got [%q]", f)
	}
	if r.RuleSettings.Egress != nil && f != "egress" {
		return badRequest("rule_settings.egress: egress settings are only allowed on egress rules (action \"egress\", filters [\"egress\"])")
	}
	if f == "egress" {
		for _, x := range []struct{ name, src string }{
			{"traffic", r.Traffic}, {"identity", r.Identity}, {"device_posture", r.DevicePosture},
		} {
			if strings.TrimSpace(x.src) == "" {
				continue
			}
			if err := parseCheck(x.src); err != nil {
				return badRequest("%s: invalid expression: %v", x.name, err)
			}
		}
		if r.RuleSettings.Egress != nil {
			if err := validateEgress(r.RuleSettings.Egress, inv); err != nil {
				return err
			}
		}
	}
	if r.Precedence != 0 {
		for i := range others {
			if others[i].ID != r.ID && others[i].Precedence == r.Precedence {
				return &apiError{Status: 400, Code: CodePrecedence, Message: fmt.Sprintf(
					"precedence: %d is already used by rule %s (%q); precedence must be unique across all of the account's Gateway rules",
					r.Precedence, others[i].ID, others[i].Name)}
			}
		}
	}
	return nil
}

// validateEgress checks rule_settings.egress of a dedicated egress rule
// against the account's inventory.
func validateEgress(eg *EgressSettings, inv []engine.DedicatedIP) *apiError {
	if eg.IPv4 == "" || eg.IPv6 == "" || eg.IPv4Fallback == "" {
		var missing []string
		if eg.IPv4 == "" {
			missing = append(missing, "ipv4")
		}
		if eg.IPv6 == "" {
			missing = append(missing, "ipv6")
		}
		if eg.IPv4Fallback == "" {
			missing = append(missing, "ipv4_fallback")
		}
		return badRequest("rule_settings.egress: dedicated egress needs ipv4, ipv6 and ipv4_fallback (use 0.0.0.0 to fall back to default egress); missing %s",
			strings.Join(missing, ", "))
	}
	v4, err := netip.ParseAddr(eg.IPv4)
	if err != nil || !v4.Is4() {
		return badRequest("rule_settings.egress.ipv4: %q is not an IPv4 address", eg.IPv4)
	}
	primary, ok := findV4(inv, v4)
	if !ok {
		// Cloudflare's answer, code and text (see CodeDedicatedIPv4NotOwned).
		return &apiError{Status: 400, Code: CodeDedicatedIPv4NotOwned, Message: "Account doesn't own dedicated primary IPv4"}
	}
	v6, err := netip.ParsePrefix(eg.IPv6)
	if err != nil || !v6.Addr().Is6() || v6.Addr().Is4In6() {
		return badRequest("rule_settings.egress.ipv6: %q is not an IPv6 range (CIDR, e.g. 2001:db8::/64)", eg.IPv6)
	}
	foundV6 := false
	for _, d := range inv {
		if d.IPv6Range.IsValid() && d.IPv6Range.Masked() == v6.Masked() {
			foundV6 = true
			break
		}
	}
	if !foundV6 {
		return badRequest("rule_settings.egress.ipv6: %s is not one of the account's dedicated egress IPv6 ranges (%s)", v6, listV6(inv))
	}
	fb, err := netip.ParseAddr(eg.IPv4Fallback)
	if err != nil || !fb.Is4() {
		return badRequest("rule_settings.egress.ipv4_fallback: %q is not an IPv4 address (use 0.0.0.0 to fall back to default egress)", eg.IPv4Fallback)
	}
	if fb.IsUnspecified() {
		return nil
	}
	sec, ok := findV4(inv, fb)
	if !ok {
		return badRequest("rule_settings.egress.ipv4_fallback: %s is not one of the account's dedicated egress IPs (%s) nor 0.0.0.0", fb, listV4(inv))
	}
	if strings.EqualFold(sec.Colo, primary.Colo) {
		return badRequest("rule_settings.egress.ipv4_fallback: %s is in colo %s, the same colo as ipv4 %s; the fallback must be a dedicated IP in another colo, or 0.0.0.0",
			fb, sec.Colo, v4)
	}
	return nil
}

func findV4(inv []engine.DedicatedIP, a netip.Addr) (engine.DedicatedIP, bool) {
	for _, d := range inv {
		if d.IPv4 == a {
			return d, true
		}
	}
	return engine.DedicatedIP{}, false
}

func listV4(inv []engine.DedicatedIP) string {
	var s []string
	for _, d := range inv {
		s = append(s, d.IPv4.String())
	}
	if len(s) == 0 {
		return "the account has none"
	}
	return "the account has " + strings.Join(s, ", ")
}

func listV6(inv []engine.DedicatedIP) string {
	var s []string
	for _, d := range inv {
		if d.IPv6Range.IsValid() {
			s = append(s, d.IPv6Range.String())
		}
	}
	if len(s) == 0 {
		return "the account has none"
	}
	return "the account has " + strings.Join(s, ", ")
}
