package emulator

import (
	"bytes"
	"encoding/json"
	"sort"
	"time"
)

// Rule is one Gateway rule as Cloudflare's API sends and stores it
// (`/accounts/{account_id}/gateway/rules`). Field names and JSON tags follow
// Cloudflare's wire format (its OpenAPI, as cloudflare-go v7's
// zero_trust.GatewayRule carries it).
type Rule struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Description   string       `json:"description"`
	Precedence    uint64       `json:"precedence"`
	Enabled       bool         `json:"enabled"`
	Action        string       `json:"action"`
	Filters       []string     `json:"filters"`
	Traffic       string       `json:"traffic"`
	Identity      string       `json:"identity"`
	DevicePosture string       `json:"device_posture"`
	Version       uint64       `json:"version"`
	RuleSettings  RuleSettings `json:"rule_settings"`
	// Schedule and Expiration (DNS rules only) are kept as sent.
	Schedule   json.RawMessage `json:"schedule,omitempty"`
	Expiration json.RawMessage `json:"expiration,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	DeletedAt  *time.Time      `json:"deleted_at"`

	// Set by Cloudflare, never taken from a request (cloudflare-go v7
	// GatewayRule: "Indicate that this rule is shared via the Orgs API and
	// read only", "Indicate that this rule is sharable via the Orgs API",
	// "Provide the account tag of the account that created the rule",
	// "Indicate a warning for a misconfigured rule, if any"). Seed them with
	// SeedRules or PutRule. A ReadOnly rule cannot be changed or deleted.
	ReadOnly      bool    `json:"read_only"`
	Sharable      bool    `json:"sharable"`
	SourceAccount string  `json:"source_account,omitempty"`
	WarningStatus *string `json:"warning_status"`
}

// IsEgress reports whether r is an egress rule: action "egress" or filters
// ["egress"] (a response may lack filters).
func (r *Rule) IsEgress() bool {
	return r.Action == "egress" || (len(r.Filters) == 1 && r.Filters[0] == "egress")
}

// serverFields clears what only Cloudflare sets (read_only, sharable,
// source_account, warning_status) from a rule taken from a request.
func (r *Rule) serverFields(old *Rule) {
	r.ReadOnly, r.Sharable, r.SourceAccount, r.WarningStatus = false, false, "", nil
	if old != nil {
		r.Sharable, r.SourceAccount = old.Sharable, old.SourceAccount
		if old.WarningStatus != nil {
			w := *old.WarningStatus
			r.WarningStatus = &w
		}
	}
}

// EgressSettings is rule_settings.egress.
type EgressSettings struct {
	IPv4         string `json:"ipv4"`
	IPv6         string `json:"ipv6"`
	IPv4Fallback string `json:"ipv4_fallback"`
}

func (e *EgressSettings) empty() bool {
	return e == nil || (e.IPv4 == "" && e.IPv6 == "" && e.IPv4Fallback == "")
}

// RuleSettings is rule_settings. Egress is typed (the emulator validates
// it); every other setting (block_reason, override_ips, l4override, ...) is
// kept verbatim in Other so DNS, network and HTTP rules round-trip unchanged.
type RuleSettings struct {
	Egress *EgressSettings
	Other  map[string]json.RawMessage
}

// MarshalJSON writes the other settings plus "egress" (null when unset), keys
// sorted, like one JSON object.
func (s RuleSettings) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(s.Other)+1)
	for k := range s.Other {
		if k != "egress" {
			keys = append(keys, k)
		}
	}
	keys = append(keys, "egress")
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		if k == "egress" {
			if s.Egress == nil {
				b.WriteString("null")
			} else {
				eb, err := json.Marshal(s.Egress)
				if err != nil {
					return nil, err
				}
				b.Write(eb)
			}
			continue
		}
		v := s.Other[k]
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads "egress" into Egress and keeps the rest. An egress
// object whose three fields are all empty is the same as no egress settings
// (default egress): that is what a zero-valued client struct sends.
func (s *RuleSettings) UnmarshalJSON(data []byte) error {
	*s = RuleSettings{}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if raw, ok := m["egress"]; ok {
		delete(m, "egress")
		if !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			var e EgressSettings
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			if !e.empty() {
				s.Egress = &e
			}
		}
	}
	if len(m) > 0 {
		s.Other = m
	}
	return nil
}

// clone returns a deep copy of r.
func (r Rule) clone() Rule {
	c := r
	c.Filters = append([]string(nil), r.Filters...)
	if r.RuleSettings.Egress != nil {
		e := *r.RuleSettings.Egress
		c.RuleSettings.Egress = &e
	}
	if r.RuleSettings.Other != nil {
		c.RuleSettings.Other = make(map[string]json.RawMessage, len(r.RuleSettings.Other))
		for k, v := range r.RuleSettings.Other {
			c.RuleSettings.Other[k] = append(json.RawMessage(nil), v...)
		}
	}
	c.Schedule = append(json.RawMessage(nil), r.Schedule...)
	c.Expiration = append(json.RawMessage(nil), r.Expiration...)
	if len(r.Schedule) == 0 {
		c.Schedule = nil
	}
	if len(r.Expiration) == 0 {
		c.Expiration = nil
	}
	if r.DeletedAt != nil {
		t := *r.DeletedAt
		c.DeletedAt = &t
	}
	if r.WarningStatus != nil {
		w := *r.WarningStatus
		c.WarningStatus = &w
	}
	return c
}

func cloneRules(rs []Rule) []Rule {
	if rs == nil {
		return nil
	}
	out := make([]Rule, len(rs))
	for i := range rs {
		out[i] = rs[i].clone()
	}
	return out
}

// sortRules orders rules by precedence (lower runs first), then by ID so
// the order is total even for seeded duplicates.
func sortRules(rs []Rule) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Precedence != rs[j].Precedence {
			return rs[i].Precedence < rs[j].Precedence
		}
		return rs[i].ID < rs[j].ID
	})
}
