// Package engine is the one implementation of how Cloudflare picks the egress
// for a flow (SPEC §1, §2): first-match policy evaluation, dedicated vs default
// egress, IPv4 grey/orange and IPv6 rules, nearest dedicated IP when nothing
// matches, secondary-colo fallback and geolocation.
//
// It imports only the standard library: no Terraform, no HTTP. The provider,
// the API emulator and the simulation data sources all call it.
package engine

import (
	"net/netip"
)

// Method is an egress policy's egress method.
type Method string

const (
	// MethodDefault is Cloudflare's shared egress pool.
	MethodDefault Method = "default"
	// MethodDedicated egresses from the account's dedicated IPs.
	MethodDedicated Method = "dedicated"
)

// Methods lists every method; validators and docs are built from it.
func Methods() []Method { return []Method{MethodDefault, MethodDedicated} }

// Colo is a Cloudflare data center.
type Colo struct {
	Code      string  `json:"code"`      // IATA code, upper case: "NRT"
	City      string  `json:"city"`      // "Tokyo"
	Country   string  `json:"country"`   // ISO 3166-1 alpha-2: "JP"
	Continent string  `json:"continent"` // two letters: AF AN AS EU NA OC SA
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// DedicatedIP is one dedicated egress location of an account: a static IPv4
// and its IPv6 /64 range, both in one colo.
type DedicatedIP struct {
	IPv4      netip.Addr
	IPv6Range netip.Prefix
	Colo      string
	// BYOIP marks the customer's own prefix: "BYOIP dedicated egress IPs do
	// not support IP geolocation" (Cloudflare's dedicated egress IP docs), so
	// a flow leaving from it has no geolocation (Decision.NoGeolocation).
	BYOIP bool
}

// Egress is a policy's egress method and IPs.
//
// IPv4Fallback: the zero netip.Addr means "no fallback" (legacy rules),
// 0.0.0.0 (netip.IPv4Unspecified()) means "fall back to default egress".
type Egress struct {
	Method       Method
	IPv4         netip.Addr
	IPv6         netip.Prefix
	IPv4Fallback netip.Addr
}

// Tri is a three-valued match result.
type Tri uint8

const (
	// No: the policy does not match the flow.
	No Tri = iota
	// Yes: the policy matches the flow.
	Yes
	// Unknown: the policy needs a field the flow does not carry.
	Unknown
)

// Matcher decides whether a policy's expressions (traffic AND identity AND
// device_posture) match a flow. When the answer is Unknown, missing names the
// field the flow lacks (e.g. "identity.email").
type Matcher interface {
	Match(f *Flow) (t Tri, missing string)
}

// MatcherFunc adapts a function to Matcher.
type MatcherFunc func(f *Flow) (Tri, string)

// Match implements Matcher.
func (m MatcherFunc) Match(f *Flow) (Tri, string) { return m(f) }

// MatchAll matches every flow.
var MatchAll Matcher = MatcherFunc(func(*Flow) (Tri, string) { return Yes, "" })

// Hints are an optional, conservative summary of a Matcher, used to index
// policies. Each non-nil field is a SUPERSET of the values for which Match
// can return Yes or Unknown; a nil field means "any value". The index never
// changes first-match semantics: it only skips policies that provably cannot
// match.
type Hints struct {
	DstIPs    []IPRange   // destination IPs (v4 and v6 mixed), nil = any
	DstPorts  []PortRange // destination ports, nil = any
	Protocols []string    // lower case "tcp", "udp", nil = any

	// Keys narrows string-valued fields, by field name (KeyHintFields lists
	// the ones the index uses; others are ignored). Each value list is a
	// SUPERSET of the field values for which Match can return Yes or
	// Unknown when the flow carries the field, compared byte for byte (omit
	// a field the matcher compares case-insensitively). For array fields
	// (net.fqdn.domains, identity.groups.*) the policy can match only if
	// at least one of the flow's elements is in the list. A missing entry
	// means "any value". (Matchers evaluate AND with three-valued logic: a
	// conjunct that is certainly false makes the match No even when another
	// field is missing; that is what makes per-field supersets valid.)
	Keys map[string][]string
}

// KeyHintFields are the Hints.Keys fields the policy index uses.
func KeyHintFields() []string {
	return []string{
		"net.src.geo.country", "net.src.geo.continent", "net.dst.geo.country", "net.dst.geo.continent",
		"net.vnet_id", "proxy.endpoint", "net.fqdn.host", "net.fqdn.domains",
		"identity.email", "identity.name", "identity.groups.id", "identity.groups.name", "identity.groups.email",
	}
}

// IPRange is an inclusive range of addresses of one family.
type IPRange struct{ From, To netip.Addr }

// PortRange is an inclusive port range.
type PortRange struct{ From, To uint16 }

// Hinter is implemented by matchers that can summarise themselves for the index.
type Hinter interface {
	Hints() Hints
}

// Policy is one egress policy as the engine sees it.
type Policy struct {
	ID            string // Cloudflare rule ID, "" when not created yet
	Name          string
	Description   string
	Enabled       bool
	Traffic       string
	Identity      string
	DevicePosture string
	Egress        Egress
	// Match is the compiled form of Traffic/Identity/DevicePosture. It must be
	// set before Decide; expr.CompilePolicy builds it.
	Match Matcher
}

// Group is an identity group.
type Group struct {
	ID    string
	Name  string
	Email string
}

// Flow is what the engine decides about. Zero values mean "the flow does not
// carry this field" for optional fields: empty strings, invalid netip.Addr,
// nil slices/maps, port 0. A policy that needs a missing field has an
// Unknown match.
type Flow struct {
	SourceIP        netip.Addr
	SourcePort      uint16
	SourceCountry   string // ISO alpha-2, the country of the user's source IP
	SourceContinent string
	IngressColo     string // the colo the user is connected to (required)

	DestinationIP   netip.Addr // required
	DestinationPort uint16
	Proxied         bool   // destination proxied by Cloudflare ("orange")
	Protocol        string // "tcp", "udp", "icmp" (lower case)
	DNS             bool   // a DNS query to Gateway's resolver (rule 0)
	PrivateNetwork  bool   // private-network (Tunnel/WAN) destination (rule 0)

	DstCountry        string
	DstContinent      string
	InternalSourceIP  netip.Addr
	VirtualNetworkID  string
	ProxyEndpoint     string
	FQDNHost          string
	FQDNDomains       []string
	ContentCategories []int64
	AppIDs            []int64

	Email          string
	Name           string
	Groups         []Group
	SAMLAttributes map[string][]string
	OIDCClaims     []string // identity.oidc_claims: "key=value" strings; nil = unknown
	PostureChecks  []string // IDs of passed device posture checks; nil = unknown
	// FailedPostureChecks are the IDs of failed device posture checks
	// (device_posture.checks.failed); nil = unknown.
	FailedPostureChecks []string
	// OnrampType is net.onramp.type, how the traffic reached Cloudflare
	// (device_client, mesh, cloudflare_wan, ...); "" = unknown.
	OnrampType string

	// UserID and DeviceID identify the user and the device (as Network
	// Session Logs do); with Email and SourceIP they pick among equidistant
	// dedicated IPs (SPEC §2 rule 5). "" = unknown.
	UserID   string
	DeviceID string
}

// Outcome is the kind of a Decision.
type Outcome string

const (
	OutcomePolicy        Outcome = "policy"
	OutcomeNoMatch       Outcome = "no_match"
	OutcomeUnavailable   Outcome = "unavailable"
	OutcomeIndeterminate Outcome = "indeterminate"
	OutcomeNotApplicable Outcome = "not_applicable"
)

// Candidate is a dedicated egress IP the engine chose between.
type Candidate struct {
	IPv4       netip.Addr
	IPv6Range  netip.Prefix
	Colo       string
	DistanceKm float64 // from the ingress colo
	Down       bool    // its colo is down
}

// Decision is where a flow leaves Cloudflare.
type Decision struct {
	Outcome     Outcome
	PolicyIndex int // -1 when no policy decided; counts all policies, enabled or not
	PolicyName  string
	PolicyID    string
	Method      Method // meaningful for policy and no_match outcomes
	// EgressIP is the source IP the destination sees: the IPv4 address for
	// IPv4 flows, the /64 range for IPv6 flows. Invalid (zero) for the
	// shared pool (default egress) and for unavailable/indeterminate.
	EgressIP        netip.Addr
	EgressIPv6Range netip.Prefix
	EgressColo      string // the physical egress colo
	GeoCountry      string // the geolocation the destination sees
	// NoGeolocation: the egress IP is a BYOIP dedicated IP, which has no IP
	// geolocation (GeoCountry is then "").
	NoGeolocation bool
	Missing       string // for indeterminate: the field the flow lacks
	Candidates    []Candidate
	Trace         []string
}

// ColoSet is the set of colos that are down, by IATA code.
type ColoSet map[string]bool
