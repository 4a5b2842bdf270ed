// Package fstest generates random expressions and flows for the property
// tests of the flow-set algebra and of its question-askers (lint, impact,
// invariants): expressions over a small set of constants, and complete flows
// built from the same constants and their neighbours, so that boundaries are
// hit.
package fstest

import (
	"fmt"
	"net/netip"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// Seeds are the fuzz targets' seed inputs.
func Seeds() [][]byte {
	var out [][]byte
	for _, s := range []string{"", "\x00\x01\x02", "\x01\x03\x04\x00\x05", "\x00\x02\x0b\x03\x01\x10\x05", "\x02\x00\x08\x01\x0a\x00\x03\x04", "\x01\x01\x0c\x00\x0d\x01\x02\x03\x04\x05\x06"} {
		out = append(out, []byte(s))
	}
	return out
}

// New returns a Rand reading the choices in b.
func New(b []byte) *Rand { return &Rand{b: b} }

// Rand reads choices from the fuzz input (zeros once it runs out).
type Rand struct {
	b []byte
	i int
}

// N returns a choice in [0, k).
func (r *Rand) N(k int) int {
	if k <= 1 {
		return 0
	}
	var x int
	if r.i < len(r.b) {
		x = int(r.b[r.i])
		r.i++
	}
	return x % k
}

// Pick returns one of xs.
func (r *Rand) Pick(xs ...string) string { return xs[r.N(len(xs))] }

var (
	genIPs4   = []string{"10.0.0.0", "10.0.0.1", "10.1.2.3", "10.255.255.255", "11.0.0.0", "9.255.255.255", "192.168.1.1", "0.0.0.1", "255.255.255.255"}
	genCIDRs  = []string{"10.0.0.0/8", "10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16", "0.0.0.0/0", "192.168.0.0/16", "2001:db8::/32", "2001:db8:1::/48", "::/0"}
	genIPs6   = []string{"2001:db8::1", "2001:db8:1::1", "2001:db9::", "::1", "ffff::1"}
	genPorts  = []string{"1", "22", "53", "80", "443", "1000", "65535"}
	genStrs   = []string{"a", "b", "c"}
	genCtry   = []string{"JP", "US", "MX"} // flows carry upper-case codes, as decoded flows do
	genClaims = []string{"k=a", "k=b", "j=a"}
	genRamps  = []string{"device_client", "mesh", "proxy_endpoint"}
	genInts   = []string{"1", "5", "6", "9"}
	genSAMLKs = []string{"k1", "k2"}
)

// GenAtom returns one random comparison over the generator's constants.
func GenAtom(r *Rand) string {
	q := func(s string) string { return `"` + s + `"` }
	switch r.N(27) {
	case 0:
		return fmt.Sprintf("net.dst.ip in {%s %s}", r.Pick(genCIDRs...), r.Pick(genIPs4...))
	case 1:
		return fmt.Sprintf("net.dst.ip %s %s", r.Pick("==", "!="), r.Pick(append(genCIDRs, genIPs4...)...))
	case 2:
		return fmt.Sprintf("net.dst.ip %s %s", r.Pick("<", "<=", ">", ">="), r.Pick(append(genIPs4, genIPs6...)...))
	case 3:
		return fmt.Sprintf("net.dst.port %s %s", r.Pick("==", "!=", "<", "<=", ">", ">="), r.Pick(genPorts...))
	case 4:
		return fmt.Sprintf("net.dst.port in {%s..%s %s}", r.Pick("1", "80", "443"), r.Pick("443", "1000", "65535"), r.Pick(genPorts...))
	case 5:
		return fmt.Sprintf("net.protocol %s %s", r.Pick("==", "!="), q(r.Pick("tcp", "udp", "icmp")))
	case 6:
		return fmt.Sprintf("identity.email %s %s", r.Pick("==", "!="), q(r.Pick(genStrs...)))
	case 7:
		return fmt.Sprintf("net.dst.geo.country in {%s %s}", q(r.Pick(genCtry...)), q(r.Pick(append(genCtry, "us")...)))
	case 8:
		return fmt.Sprintf("any(identity.groups[*].name %s %s)", r.Pick("==", "!="), q(r.Pick(genStrs...)))
	case 9:
		return fmt.Sprintf("identity.groups.name in {%s %s}", q(r.Pick(genStrs...)), q(r.Pick(genStrs...)))
	case 10:
		return fmt.Sprintf("any(app.ids[*] %s %s)", r.Pick("==", "!=", "<", ">="), r.Pick(genInts...))
	case 11:
		return fmt.Sprintf("any(app.ids[*] in {%s 5..6})", r.Pick(genInts...))
	case 12:
		return fmt.Sprintf("identity.saml_attributes[%s] %s %s", q(r.Pick(genSAMLKs...)), r.Pick("==", "!="), q(r.Pick(genStrs...)))
	case 13:
		return fmt.Sprintf("identity.saml_attributes %s %s", r.Pick("==", "!="), q(r.Pick(genSAMLKs...)+"="+r.Pick(genStrs...)))
	case 14:
		return fmt.Sprintf("net.src.ip in {%s}", r.Pick(genCIDRs...))
	// issue 12: IP ranges, any(not ...), the new selectors, literals that
	// never match
	case 16:
		return fmt.Sprintf("net.dst.ip in {%s %s}", GenIPRange(r), r.Pick(genCIDRs...))
	case 17:
		return fmt.Sprintf("any(not(identity.groups[*].name %s %s))", r.Pick("==", "!=", "in"), genStrOrSet(r, genStrs))
	case 18:
		return fmt.Sprintf("any(not(net.src.ip[*] in {%s}))", r.Pick(append(genCIDRs, GenIPRange(r))...))
	case 19:
		lit := r.Pick(genClaims...)
		if r.N(2) == 0 {
			lit = `\"` + lit + `\"` // Cloudflare's quoted form
		}
		body := fmt.Sprintf("identity.oidc_claims[*] == %s", q(lit))
		if r.N(3) == 0 {
			return "any(not(" + body + "))"
		}
		return "any(" + body + ")"
	case 20:
		return fmt.Sprintf("any(device_posture.checks.failed[*] %s %s)", r.Pick("==", "!=", "in"), genStrOrSet(r, genStrs))
	case 21:
		return fmt.Sprintf("net.onramp.type %s %s", r.Pick("==", "!=", "in"), genStrOrSet(r, append(genRamps, "warp")))
	case 22:
		return fmt.Sprintf("net.fqdn.host %s %s", r.Pick("==", "!=", "in"), genStrOrSet(r, []string{"a.example", "A.example", "c"}))
	case 23:
		return fmt.Sprintf("any(net.fqdn.domains[*] %s %s)", r.Pick("==", "!=", "in"), genStrOrSet(r, []string{"a", "B", "c"}))
	// issue 10: the group selectors read one list of groups
	case 24:
		return fmt.Sprintf("any(identity.groups[*].id %s %s)", r.Pick("==", "!="), q("id-"+r.Pick(genStrs...)))
	case 25:
		return fmt.Sprintf("identity.groups.email in {%s %s}", q(r.Pick(genStrs...)+"@g"), q(r.Pick(genStrs...)+"@g"))
	case 26:
		// Some group / no group at all, through one selector.
		g := r.Pick("id", "name", "email")
		return fmt.Sprintf("(any(identity.groups[*].%s == \"x\") or any(identity.groups[*].%s != \"x\"))", g, g)
	default:
		return fmt.Sprintf("net.fqdn.host matches %s", q(r.Pick("^a", "b", ".*")))
	}
}

// GenIPRange returns an IP range lo..hi of the generator's addresses (one
// family, lo <= hi).
func GenIPRange(r *Rand) string {
	all := append(append([]string{}, genIPs4...), genIPs6...)
	for {
		a, b := netip.MustParseAddr(r.Pick(all...)), netip.MustParseAddr(r.Pick(all...))
		if a.BitLen() != b.BitLen() {
			continue
		}
		if b.Less(a) {
			a, b = b, a
		}
		return a.String() + ".." + b.String()
	}
}

// genStrOrSet is a quoted string, or a set of one or two, for == / != / in.
func genStrOrSet(r *Rand, vals []string) string {
	q := func(s string) string { return `"` + s + `"` }
	if r.N(2) == 0 {
		return q(r.Pick(vals...))
	}
	return "{" + q(r.Pick(vals...)) + " " + q(r.Pick(vals...)) + "}"
}

// GenExpr returns a random expression of at most depth nested and/or/not.
func GenExpr(r *Rand, depth int) string {
	if depth <= 0 {
		return GenAtom(r)
	}
	switch r.N(5) {
	case 0:
		return "(" + GenExpr(r, depth-1) + " and " + GenExpr(r, depth-1) + ")"
	case 1:
		return "(" + GenExpr(r, depth-1) + " or " + GenExpr(r, depth-1) + ")"
	case 2:
		return "not(" + GenExpr(r, depth-1) + ")"
	default:
		return GenAtom(r)
	}
}

// GenFlows returns complete flows (every field present) built from the
// generator's constants and their neighbours.
func GenFlows(r *Rand, n int) []*engine.Flow {
	var ips []netip.Addr
	for _, s := range append(genIPs4, genIPs6...) {
		a := netip.MustParseAddr(s)
		ips = append(ips, a, a.Next(), a.Prev())
	}
	for _, s := range genCIDRs {
		p := netip.MustParsePrefix(s)
		ips = append(ips, p.Addr().Next(), p.Addr().Prev())
	}
	var dst []netip.Addr
	for _, a := range ips {
		if a.IsValid() && !a.IsUnspecified() {
			dst = append(dst, a)
		}
	}
	ports := []uint16{1, 2, 21, 22, 23, 52, 53, 54, 79, 80, 81, 442, 443, 444, 999, 1000, 1001, 65534, 65535}
	strs := func() []string {
		var out []string
		for _, s := range genStrs {
			if r.N(2) == 0 {
				out = append(out, s)
			}
		}
		if out == nil {
			out = []string{}
		}
		return out
	}
	pick := func(vals []string) []string {
		out := []string{}
		for _, s := range vals {
			if r.N(2) == 0 {
				out = append(out, s)
			}
		}
		return out
	}
	ints := func() []int64 {
		out := []int64{}
		for _, x := range []int64{0, 1, 4, 5, 6, 7, 9, 10} {
			if r.N(3) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	var flows []*engine.Flow
	for i := 0; i < n; i++ {
		f := &engine.Flow{
			SourceIP:          ips[(i*7+r.N(len(ips)))%len(ips)],
			SourcePort:        ports[r.N(len(ports))],
			SourceCountry:     "JP",
			SourceContinent:   "AS",
			IngressColo:       "NRT",
			DestinationIP:     dst[(i+r.N(len(dst)))%len(dst)],
			DestinationPort:   ports[(i+r.N(len(ports)))%len(ports)],
			Protocol:          []string{"tcp", "udp"}[r.N(2)],
			DstCountry:        genCtry[r.N(3)],
			DstContinent:      "AS",
			VirtualNetworkID:  "v",
			ProxyEndpoint:     "p",
			FQDNHost:          []string{"a.example", "b.example", "c"}[r.N(3)],
			FQDNDomains:       strs(),
			ContentCategories: ints(),
			AppIDs:            ints(),
			Email:             genStrs[r.N(3)],
			Name:              "n",
			SAMLAttributes:    map[string][]string{"k1": strs(), "k2": strs()},
			PostureChecks:     strs(),
			InternalSourceIP:  ips[r.N(len(ips))],
			OIDCClaims:        pick(genClaims),
			OnrampType:        genRamps[r.N(3)],
		}
		f.FailedPostureChecks = strs()
		if !f.SourceIP.IsValid() {
			f.SourceIP = netip.MustParseAddr("10.0.0.1")
		}
		if !f.InternalSourceIP.IsValid() {
			f.InternalSourceIP = netip.MustParseAddr("10.0.0.1")
		}
		// Groups: (id, name, email) drawn separately, so that the three
		// selectors see one list of groups whose fields need not agree.
		for _, n := range strs() {
			f.Groups = append(f.Groups, engine.Group{ID: "id-" + genStrs[r.N(3)], Name: n, Email: genStrs[r.N(3)] + "@g"})
		}
		if f.Groups == nil {
			f.Groups = []engine.Group{}
		}
		flows = append(flows, f)
	}
	return flows
}
