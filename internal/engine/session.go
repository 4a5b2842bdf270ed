package engine

import (
	"cmp"
	"net/netip"
	"strings"
	"time"
)

// ZeroUUID is the EgressRuleID Cloudflare logs when no egress policy matched.
const ZeroUUID = "00000000-0000-0000-0000-000000000000"

// Offramp values of the dataset ("The type of destination to which the
// network session was routed. Possible values are INTERNET | MAGIC |
// CFD_TUNNEL | DEVICE_CLIENT | MESH.", cloudflare/cloudflare-docs
// src/content/docs/logs/logpush/logpush-job/datasets/account/zero_trust_network_sessions.md,
// read 2026-12; an older revision listed WARP for DEVICE_CLIENT). Egress
// policies apply to INTERNET only: the others are private networks
// (Magic WAN, Cloudflare Tunnel, a device behind the Cloudflare One
// client, Mesh).
const (
	// OfframpInternet is the Offramp of sessions that leave to the Internet.
	OfframpInternet = "INTERNET"
	// OfframpTunnel (Cloudflare Tunnel) is the Offramp RenderSession
	// writes for a private-network flow unless SessionMeta.Offramp says
	// which private offramp it was.
	OfframpTunnel = "CFD_TUNNEL"
)

// SessionMeta is what a session-log record needs beyond the flow and the
// Decision. Times are taken from it, never from the clock, so records are
// deterministic.
type SessionMeta struct {
	AccountID     string
	SessionID     string
	DeviceID      string
	DeviceName    string
	Start         time.Time
	Duration      time.Duration
	BytesSent     int64 // client to origin
	BytesReceived int64 // origin to client
	// Offramp is the private offramp of a private-network flow (MAGIC,
	// CFD_TUNNEL, DEVICE_CLIENT, MESH; "" for OfframpTunnel). It is not
	// used for Internet flows, which are always logged INTERNET.
	Offramp string
}

// SessionRecord is a Zero Trust Network Session Log record
// (dataset zero_trust_network_sessions) with Cloudflare's field names and
// types. The dataset's published field list is
// https://developers.cloudflare.com/logs/logpush/logpush-job/datasets/account/zero_trust_network_sessions/
// (cloudflare/cloudflare-docs,
// src/content/docs/logs/logpush/logpush-job/datasets/account/zero_trust_network_sessions.md,
// read 2026-11): strings, "int" counts and ports, and SessionStartTime /
// SessionEndTime as "int or string" (Logpush's timestamp_format). RenderSession
// writes a record and ParseSession (session_read.go) reads one: the same
// type both ways. Fields of the dataset this type lacks (TLS details,
// ConnectionCloseReason, SNI, ...) are ignored when read.
type SessionRecord struct {
	AccountID        string `json:"AccountID"`
	BytesReceived    int64  `json:"BytesReceived"`
	BytesSent        int64  `json:"BytesSent"`
	DeviceID         string `json:"DeviceID"`
	DeviceName       string `json:"DeviceName"`
	EgressColoName   string `json:"EgressColoName"`
	EgressIP         string `json:"EgressIP"`
	EgressPort       int    `json:"EgressPort"`
	EgressRuleID     string `json:"EgressRuleID"`
	EgressRuleName   string `json:"EgressRuleName"`
	Email            string `json:"Email"`
	IngressColoName  string `json:"IngressColoName"`
	Offramp          string `json:"Offramp"`
	OriginIP         string `json:"OriginIP"`
	OriginPort       int    `json:"OriginPort"`
	Protocol         string `json:"Protocol"`
	SessionEndTime   int64  `json:"SessionEndTime"`
	SessionID        string `json:"SessionID"`
	SessionStartTime int64  `json:"SessionStartTime"`
	SourceIP         string `json:"SourceIP"`
	SourceInternalIP string `json:"SourceInternalIP"`
	SourcePort       int    `json:"SourcePort"`
	UserID           string `json:"UserID"`
	VirtualNetworkID string `json:"VirtualNetworkID"`
	// ResolvedFQDN ("The fully qualified domain name of the destination.")
	// is read from logs (net.fqdn.host); the renderer leaves it empty, and
	// empty it is not written.
	ResolvedFQDN string `json:"ResolvedFQDN,omitempty"`
}

// RenderSession renders what Cloudflare would log for flow f decided as d.
//
//   - EgressRuleID/EgressRuleName: the matched policy's ID and name; the zero
//     UUID and "" when no policy decided (no_match, not_applicable,
//     indeterminate: the engine never guesses a rule).
//   - EgressIP: the dedicated IPv4; for IPv6 flows one address inside the
//     /64: the range's first 64 bits followed by the 64-bit FNV-1a hash of
//     the 5-tuple (FiveTupleKey), so a flow always logs the same address.
//     "" for the shared pool (its addresses are not published) and for
//     unavailable flows.
//   - EgressPort: a deterministic ephemeral port, 10000 + (h>>16) mod 50000
//     where h is the same FNV-1a hash; 0 when EgressIP is "".
//   - Protocol: upper case (TCP, UDP, ICMP, ICMPV6).
//   - Offramp: INTERNET, or for a private-network flow (Flow.PrivateNetwork)
//     m.Offramp, CFD_TUNNEL when that is "": the replay reads anything but
//     INTERNET as a private network, so a rendered record replays as the
//     same kind of flow.
//   - UserID, DeviceID: the flow's (DeviceID: m.DeviceID when set).
//     Network Session Logs carry no geolocation field, so a BYOIP egress
//     (Decision.NoGeolocation) shows in them only through EgressIP.
//   - SessionStartTime = m.Start in Unix ns; SessionEndTime = Start+Duration.
func RenderSession(d Decision, f *Flow, m SessionMeta) SessionRecord {
	r := SessionRecord{
		AccountID:        m.AccountID,
		BytesReceived:    m.BytesReceived,
		BytesSent:        m.BytesSent,
		DeviceID:         cmp.Or(m.DeviceID, f.DeviceID),
		DeviceName:       m.DeviceName,
		EgressColoName:   d.EgressColo,
		EgressRuleID:     ZeroUUID,
		Email:            f.Email,
		IngressColoName:  strings.ToUpper(f.IngressColo),
		Offramp:          OfframpInternet,
		OriginIP:         addrText(f.DestinationIP),
		OriginPort:       int(f.DestinationPort),
		Protocol:         strings.ToUpper(f.Protocol),
		SessionID:        m.SessionID,
		SourceIP:         addrText(f.SourceIP),
		SourceInternalIP: addrText(f.InternalSourceIP),
		SourcePort:       int(f.SourcePort),
		UserID:           f.UserID,
		VirtualNetworkID: f.VirtualNetworkID,
	}
	if f.PrivateNetwork {
		r.Offramp = cmp.Or(m.Offramp, OfframpTunnel)
	}
	if !m.Start.IsZero() {
		r.SessionStartTime = m.Start.UnixNano()
		r.SessionEndTime = m.Start.Add(m.Duration).UnixNano()
	}
	if d.PolicyIndex >= 0 && (d.Outcome == OutcomePolicy || d.Outcome == OutcomeUnavailable) {
		r.EgressRuleID = d.PolicyID
		if r.EgressRuleID == "" {
			r.EgressRuleID = ZeroUUID
		}
		r.EgressRuleName = d.PolicyName
	}
	h := FlowHash(f)
	switch {
	case d.EgressIP.IsValid():
		r.EgressIP = d.EgressIP.String()
	case d.EgressIPv6Range.IsValid():
		r.EgressIP = AddressInRange(d.EgressIPv6Range, h).String()
	}
	if r.EgressIP != "" {
		r.EgressPort = 10000 + int((h>>16)%50000)
	}
	return r
}

// AddressInRange returns the address of an IPv6 prefix (at most /64 long)
// whose first 64 bits are the prefix's and whose last 64 bits are h; for a
// longer prefix its own bits are kept and h fills the rest.
func AddressInRange(p netip.Prefix, h uint64) netip.Addr {
	p = p.Masked()
	b := p.Addr().As16()
	bitsN := p.Bits()
	for i := 0; i < 64; i++ {
		pos := 64 + i // bit position in the address, 0 = most significant
		if pos < bitsN {
			continue
		}
		if h>>(63-uint(i))&1 == 1 {
			b[pos/8] |= 1 << (7 - uint(pos%8))
		}
	}
	// Bits between the prefix length and 64 (prefix shorter than /64) stay 0.
	return netip.AddrFrom16(b)
}
