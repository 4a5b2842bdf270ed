package engine

import (
	"net/netip"
	"strings"
)

// testMatcher is a tiny stand-in for a compiled expression (the expr
// package owns the real one): destination CIDRs, destination ports,
// protocols and an optional identity.email equality. nil fields mean "any".
// It implements Hinter with exact hints.
type testMatcher struct {
	cidrs  []netip.Prefix
	ports  []PortRange
	protos []string
	email  string // "" = no identity condition

	countries []string // net.src.geo.country in {...}
	domains   []string // any(net.fqdn.domains[*] in {...})
	groups    []string // any(identity.groups.name[*] in {...})
	noKeys    bool     // do not report Keys hints (only IP/port/protocol)
}

func (m *testMatcher) Match(f *Flow) (Tri, string) {
	if m.protos != nil {
		ok := false
		for _, p := range m.protos {
			if strings.EqualFold(p, f.Protocol) {
				ok = true
			}
		}
		if !ok {
			return No, ""
		}
	}
	if m.ports != nil {
		ok := false
		for _, r := range m.ports {
			if r.From <= f.DestinationPort && f.DestinationPort <= r.To {
				ok = true
			}
		}
		if !ok {
			return No, ""
		}
	}
	if m.cidrs != nil {
		ok := false
		for _, c := range m.cidrs {
			if c.Contains(f.DestinationIP) {
				ok = true
			}
		}
		if !ok {
			return No, ""
		}
	}
	// Three-valued AND (Kleene): No if any condition is No, else Unknown
	// if any needs a missing field, else Yes. This is what makes the Keys
	// hints valid supersets.
	res, missing := Yes, ""
	unknown := func(field string) {
		if res == Yes {
			res, missing = Unknown, field
		}
	}
	if m.countries != nil {
		if f.SourceCountry == "" {
			unknown("net.src.geo.country")
		} else if !contains(m.countries, f.SourceCountry) {
			return No, ""
		}
	}
	if m.domains != nil {
		if f.FQDNDomains == nil {
			unknown("net.fqdn.domains")
		} else {
			ok := false
			for _, d := range f.FQDNDomains {
				ok = ok || contains(m.domains, d)
			}
			if !ok {
				return No, ""
			}
		}
	}
	if m.groups != nil {
		if f.Groups == nil {
			unknown("identity.groups.name")
		} else {
			ok := false
			for _, g := range f.Groups {
				ok = ok || contains(m.groups, g.Name)
			}
			if !ok {
				return No, ""
			}
		}
	}
	if m.email != "" {
		if f.Email == "" {
			unknown("identity.email")
		} else if f.Email != m.email {
			return No, ""
		}
	}
	return res, missing
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (m *testMatcher) Hints() Hints {
	var h Hints
	if m.cidrs != nil {
		h.DstIPs = []IPRange{}
		for _, c := range m.cidrs {
			h.DstIPs = append(h.DstIPs, prefixRange(c))
		}
	}
	h.DstPorts = m.ports
	h.Protocols = m.protos
	if !m.noKeys {
		h.Keys = map[string][]string{}
		if m.email != "" {
			h.Keys["identity.email"] = []string{m.email}
		}
		if m.countries != nil {
			h.Keys["net.src.geo.country"] = m.countries
		}
		if m.domains != nil {
			h.Keys["net.fqdn.domains"] = m.domains
		}
		if m.groups != nil {
			h.Keys["identity.groups.name"] = m.groups
		}
	}
	return h
}

func prefixRange(p netip.Prefix) IPRange {
	p = p.Masked()
	from := p.Addr()
	b := from.AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - uint(i%8))
	}
	to, _ := netip.AddrFromSlice(b)
	return IPRange{From: from, To: to}
}

func cidrs(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, x := range s {
		out[i] = netip.MustParsePrefix(x)
	}
	return out
}

var (
	ipNRT  = netip.MustParseAddr("203.0.113.10")
	ipNRT2 = netip.MustParseAddr("203.0.113.11")
	ipLAX  = netip.MustParseAddr("203.0.113.20")
	ipFRA  = netip.MustParseAddr("203.0.113.30")
	v6NRT  = netip.MustParsePrefix("2001:db8:10::/64")
	v6NRT2 = netip.MustParsePrefix("2001:db8:11::/64")
	v6LAX  = netip.MustParsePrefix("2001:db8:20::/64")
	v6FRA  = netip.MustParsePrefix("2001:db8:30::/64")
)

// invNRTLAX is the account of most tests: one dedicated IP in Tokyo, one in
// Los Angeles.
func invNRTLAX() []DedicatedIP {
	return []DedicatedIP{
		{IPv4: ipNRT, IPv6Range: v6NRT, Colo: "NRT"},
		{IPv4: ipLAX, IPv6Range: v6LAX, Colo: "LAX"},
	}
}

func dedicated(name string, m Matcher, v4 netip.Addr, v6 netip.Prefix, fb netip.Addr) Policy {
	return Policy{Name: name, Enabled: true, Match: m, Egress: Egress{Method: MethodDedicated, IPv4: v4, IPv6: v6, IPv4Fallback: fb}}
}

func defaultPolicy(name string, m Matcher) Policy {
	return Policy{Name: name, Enabled: true, Match: m, Egress: Egress{Method: MethodDefault}}
}

// flow builds a TCP flow to port 443. dst decides the family.
func flow(ingress, srcCountry, dst string, proxied bool) *Flow {
	return &Flow{
		SourceIP:        netip.MustParseAddr("198.51.100.7"),
		SourcePort:      50000,
		SourceCountry:   srcCountry,
		IngressColo:     ingress,
		DestinationIP:   netip.MustParseAddr(dst),
		DestinationPort: 443,
		Proxied:         proxied,
		Protocol:        "tcp",
	}
}

const (
	dst4 = "192.0.2.80"
	dst6 = "2001:db8:ffff::80"
)
