// Package cfapi is the provider's access to Cloudflare's Gateway rules API
// (SPEC §6) through cloudflare-go v7's zero_trust.GatewayRuleService, with a
// sliding-window request budget, Cloudflare's lockout waited out, retries and
// errors a user can act on.
package cfapi

import (
	"context"
	"time"
)

// EgressSettings is rule_settings.egress. Empty strings mean unset.
type EgressSettings struct {
	IPv4         string
	IPv6         string
	IPv4Fallback string
}

// Rule is one Gateway rule (any kind: DNS, network, HTTP, egress).
type Rule struct {
	ID            string
	Name          string
	Description   string
	Precedence    uint64
	Enabled       bool
	Action        string   // "egress" for egress rules
	Filters       []string // ["egress"] for egress rules
	Traffic       string
	Identity      string
	DevicePosture string
	// Egress is rule_settings.egress; nil means default egress (shared pool).
	Egress    *EgressSettings
	CreatedAt time.Time
	UpdatedAt time.Time

	// ReadOnly rules are shared by a parent account (Cloudflare's
	// `read_only`): they are never written or deleted.
	ReadOnly bool
	// Sharable and SourceAccount are Cloudflare's `sharable` and
	// `source_account` (the parent account of a shared rule). Read only.
	Sharable      bool
	SourceAccount string
	// WarningStatus is Cloudflare's `warning_status` on the rule ("" when
	// none): shown to the user as a plan warning, never written.
	WarningStatus string
}

// IsEgress reports whether r is an egress rule: action "egress", or filters
// ["egress"] (a response may lack filters; SPEC §6).
func IsEgress(r Rule) bool {
	if r.Action == "egress" {
		return true
	}
	return len(r.Filters) == 1 && r.Filters[0] == "egress"
}

// Client is what the provider needs from Cloudflare. *API implements it;
// tests may plug in their own.
type Client interface {
	// ListRules returns every Gateway rule of the account (one API call),
	// sorted by precedence.
	ListRules(ctx context.Context, accountID string) ([]Rule, error)
	CreateRule(ctx context.Context, accountID string, r Rule) (Rule, error)
	// UpdateRule replaces the whole rule r.ID (PUT).
	UpdateRule(ctx context.Context, accountID string, r Rule) (Rule, error)
	DeleteRule(ctx context.Context, accountID, ruleID string) error
}
