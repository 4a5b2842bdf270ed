package engine

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Engine is a compiled set of policies and dedicated egress IPs. It is
// immutable and safe for concurrent use.
type Engine struct {
	cat      *catalog
	policies []Policy
	pol      []compiledPolicy
	inv      []invEntry
	// byIngress[c] lists inventory indices sorted by distance from catalog
	// colo c, ties by IPv4 address.
	byIngress [][]int
	idx       *policyIndex
	// invName is what the caller calls the inventory, for error messages.
	invName string
}

type invEntry struct {
	DedicatedIP
	colo    int // catalog index
	country string
}

// geo is the geolocation destinations see for traffic from x: its colo's
// country, or none for a BYOIP entry ("BYOIP dedicated egress IPs do not
// support IP geolocation": Cloudflare's dedicated egress IPs page, Bring
// your own IP address).
func (x *invEntry) geo(d *Decision) {
	d.GeoCountry, d.NoGeolocation = x.country, x.BYOIP
	if x.BYOIP {
		d.GeoCountry = ""
	}
}

// geoText is x's geolocation for traces.
func (x *invEntry) geoText() string {
	if x.BYOIP {
		return "no geolocation: BYOIP dedicated egress IPs do not support IP geolocation"
	}
	return "geolocation " + x.country
}

type fallbackKind uint8

const (
	fallbackNone    fallbackKind = iota // legacy rule without ipv4_fallback
	fallbackDefault                     // 0.0.0.0: default egress
	fallbackIP                          // another dedicated IPv4
)

type compiledPolicy struct {
	v4     int // inventory index of the primary IPv4
	fbKind fallbackKind
	fb     int          // inventory index of the fallback IPv4
	v6     netip.Prefix // the IPv6 range the policy egresses from
	v6geo  int          // inventory index whose location the IPv6 range has
	// v6Note explains where v6/v6geo came from when not the usual way.
	v6Note string
}

// Compile validates policies and the dedicated egress IP inventory and
// precomputes the policy index. Every enabled policy needs a Match;
// dedicated policies' IPv4 and ipv4_fallback must be in the inventory.
func Compile(policies []Policy, inv []DedicatedIP) (*Engine, error) {
	return compile(policies, inv, true, "")
}

// DefaultInventoryName is the name errors give the inventory when the
// caller does not name it: cfegress_egress_policies' attribute.
const DefaultInventoryName = "dedicated_egress_ips"

// CompileNamed is Compile for a caller whose user gives the inventory
// under another name (a data source's or function's dedicated_ips, a CLI
// flag): errors name inventoryName, "" meaning DefaultInventoryName.
func CompileNamed(policies []Policy, inv []DedicatedIP, inventoryName string) (*Engine, error) {
	return compile(policies, inv, true, inventoryName)
}

func policyLabel(i int, p *Policy) string { return fmt.Sprintf("policy %d %q", i, p.Name) }

func compile(policies []Policy, inv []DedicatedIP, requireMatch bool, invName string) (*Engine, error) {
	c := theCatalog()
	e := &Engine{cat: c, policies: append([]Policy(nil), policies...), invName: cmp.Or(invName, DefaultInventoryName)}
	seen := map[netip.Addr]int{}
	for i, d := range inv {
		if !d.IPv4.IsValid() || !d.IPv4.Is4() {
			return nil, fmt.Errorf("%s[%d]: ipv4 %q is not an IPv4 address", e.invName, i, addrText(d.IPv4))
		}
		if j, dup := seen[d.IPv4]; dup {
			return nil, fmt.Errorf("%s[%d]: ipv4 %s is listed twice (also at index %d); list each dedicated IP once", e.invName, i, d.IPv4, j)
		}
		seen[d.IPv4] = i
		if d.IPv6Range.IsValid() && !d.IPv6Range.Addr().Is6() {
			return nil, fmt.Errorf("%s[%d] (%s): ipv6_range %s is not an IPv6 prefix", e.invName, i, d.IPv4, d.IPv6Range)
		}
		ci, ok := c.index(d.Colo)
		if !ok {
			return nil, fmt.Errorf("%s[%d] (%s): colo: %w", e.invName, i, d.IPv4, unknownColoError(d.Colo))
		}
		d.Colo = c.colos[ci].Code
		d.IPv6Range = d.IPv6Range.Masked()
		e.inv = append(e.inv, invEntry{DedicatedIP: d, colo: ci, country: c.colos[ci].Country})
	}
	e.byIngress = make([][]int, len(c.colos))
	for ci := range c.colos {
		order := make([]int, len(e.inv))
		for k := range order {
			order[k] = k
		}
		sort.SliceStable(order, func(a, b int) bool {
			da, db := c.distance(ci, e.inv[order[a]].colo), c.distance(ci, e.inv[order[b]].colo)
			if da != db {
				return da < db
			}
			return e.inv[order[a]].IPv4.Less(e.inv[order[b]].IPv4)
		})
		e.byIngress[ci] = order
	}

	e.pol = make([]compiledPolicy, len(policies))
	for i := range e.policies {
		p := &e.policies[i]
		if !p.Enabled {
			continue
		}
		if p.Match == nil && requireMatch {
			return nil, fmt.Errorf("%s: no compiled matcher (Match is nil): compile its traffic/identity/device_posture expressions (expr.CompilePolicy) before building the engine", policyLabel(i, p))
		}
		switch p.Egress.Method {
		case MethodDefault:
		case MethodDedicated:
			cp, err := e.compileDedicated(i, p)
			if err != nil {
				return nil, err
			}
			e.pol[i] = cp
		default:
			return nil, fmt.Errorf("%s: egress method %q is not one of %q, %q", policyLabel(i, p), p.Egress.Method, MethodDefault, MethodDedicated)
		}
	}
	e.idx = buildIndex(e.policies)
	return e, nil
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func (e *Engine) invIndex(a netip.Addr) int {
	a = a.Unmap()
	for k := range e.inv {
		if e.inv[k].IPv4 == a {
			return k
		}
	}
	return -1
}

func (e *Engine) compileDedicated(i int, p *Policy) (compiledPolicy, error) {
	var cp compiledPolicy
	eg := p.Egress
	if !eg.IPv4.IsValid() {
		return cp, fmt.Errorf("%s: egress method dedicated needs ipv4 (one of the account's dedicated egress IPs)", policyLabel(i, p))
	}
	cp.v4 = e.invIndex(eg.IPv4)
	if cp.v4 < 0 {
		return cp, fmt.Errorf("%s: egress ipv4 %s is not one of the account's dedicated egress IPs (%s): its colo and geolocation are unknown; add it to %s or use one of them", policyLabel(i, p), eg.IPv4, e.inventoryList(), e.invName)
	}
	switch {
	case !eg.IPv4Fallback.IsValid():
		cp.fbKind = fallbackNone
	case eg.IPv4Fallback.Unmap() == netip.IPv4Unspecified():
		cp.fbKind = fallbackDefault
	default:
		cp.fbKind = fallbackIP
		cp.fb = e.invIndex(eg.IPv4Fallback)
		if cp.fb < 0 {
			return cp, fmt.Errorf("%s: egress ipv4_fallback %s is not one of the account's dedicated egress IPs (%s) nor 0.0.0.0; use one of them or 0.0.0.0 for default egress", policyLabel(i, p), eg.IPv4Fallback, e.inventoryList())
		}
	}
	v4e := e.inv[cp.v4]
	if !eg.IPv6.IsValid() {
		cp.v6, cp.v6geo = v4e.IPv6Range, cp.v4
		if v4e.IPv6Range.IsValid() {
			cp.v6Note = fmt.Sprintf("policy has no ipv6: using the IPv6 range %s of its IPv4 %s (%s)", v4e.IPv6Range, v4e.IPv4, v4e.Colo)
		} else {
			cp.v6Note = "policy has no ipv6 and its IPv4's inventory entry has no ipv6_range"
		}
		return cp, nil
	}
	cp.v6 = eg.IPv6.Masked()
	cp.v6geo = -1
	for k := range e.inv {
		r := e.inv[k].IPv6Range
		if r.IsValid() && r.Bits() <= cp.v6.Bits() && r.Contains(cp.v6.Addr()) {
			cp.v6geo = k
			break
		}
	}
	if cp.v6geo < 0 {
		cp.v6geo = cp.v4
		cp.v6Note = fmt.Sprintf("ipv6 %s is in no dedicated egress IP's ipv6_range: geolocation taken from its IPv4 %s (%s)", cp.v6, v4e.IPv4, v4e.Colo)
	}
	return cp, nil
}

func (e *Engine) inventoryList() string {
	if len(e.inv) == 0 {
		return "the inventory is empty"
	}
	s := make([]string, len(e.inv))
	for k := range e.inv {
		s[k] = e.inv[k].IPv4.String() + " " + e.inv[k].Colo
	}
	return strings.Join(s, ", ")
}

// Decide returns the Decision for f with its trace, given the colos that are
// down. An ingress colo that is down or not in the catalog is an error
// (SPEC §2 rule 6), as is a flow without destination IP or to the unspecified
// address (0.0.0.0, ::).
//
// How the Decision's fields are filled:
//   - EgressIP is set only for IPv4 flows with a dedicated IP;
//     EgressIPv6Range only for IPv6 flows with a dedicated range; both are
//     zero for the shared pool (default egress) and for unavailable,
//     indeterminate outcomes.
//   - Method is the method actually used: a dedicated policy whose IPv4 colo
//     is down with ipv4_fallback 0.0.0.0 reports Outcome policy with Method
//     default; no_match reports dedicated (nearest dedicated IP) or default
//     (no dedicated IPs at all).
//   - For unavailable and indeterminate outcomes of a policy, PolicyIndex,
//     PolicyName and PolicyID name it; EgressColo and GeoCountry are "".
//   - Candidates is filled for no_match with dedicated IPs: every inventory
//     entry, nearest first (ties by IPv4), with its distance and health.
//   - Default egress leaves from the ingress colo when the user's country
//     (SourceCountry) is the colo's; otherwise from the healthy colo of the
//     user's country nearest the ingress colo; else from the ingress colo.
//     Geolocation is the user's country (the ingress colo's when the flow
//     has none).
//   - Equidistant dedicated IPs (within 1 km of the nearest eligible one)
//     are ordered by IPv4 address and the one at IdentityHash(f) mod n is
//     picked: one user always gets the same IP (see IdentityKey).
//   - A BYOIP inventory entry has no geolocation: GeoCountry is "" and
//     NoGeolocation is set.
func (e *Engine) Decide(f *Flow, down ColoSet) (Decision, error) {
	var d Decision
	err := e.DecideInto(f, down, &d, true)
	return d, err
}

// Decide compiles policies and inv and decides one flow: a convenience for
// callers that decide once.
func Decide(policies []Policy, inv []DedicatedIP, down ColoSet, f *Flow) (Decision, error) {
	e, err := Compile(policies, inv)
	if err != nil {
		return Decision{}, err
	}
	return e.Decide(f, down)
}

// errUnspecifiedDestination: the unspecified address is not a destination.
// No connection goes to 0.0.0.0 or :: (RFC 1122 3.2.1.3 and RFC 4291 2.5.2:
// it "must not be used as the destination address"), so the engine has no
// flow to decide, and the flow-set algebra leaves both out of net.dst.ip
// (which is why `net.dst.ip != 0.0.0.0` matches every flow, and
// `net.dst.ip == 0.0.0.0` none): one contract for both.
func errUnspecifiedDestination(a netip.Addr) error {
	return fmt.Errorf("destination_ip %s is the unspecified address, which is never a destination (no traffic is sent to it): use the address the user connects to", a)
}

// ErrInvalidFlow wraps every input error of DecideInto.
var ErrInvalidFlow = errors.New("invalid flow")

// DecideInto writes the Decision for f into d, reusing d's Candidates and
// Trace storage. With trace false it builds no trace and, once d's slices
// have grown, allocates nothing: the hot path for simulations and benchmarks.
func (e *Engine) DecideInto(f *Flow, down ColoSet, d *Decision, trace bool) error {
	cands, tr := d.Candidates[:0], d.Trace[:0]
	*d = Decision{PolicyIndex: -1, Candidates: cands, Trace: tr}
	if f == nil {
		return fmt.Errorf("%w: flow is nil", ErrInvalidFlow)
	}
	if !f.DestinationIP.IsValid() {
		return fmt.Errorf("%w: destination_ip is required", ErrInvalidFlow)
	}
	if f.DestinationIP.Unmap().IsUnspecified() {
		return fmt.Errorf("%w: %w", ErrInvalidFlow, errUnspecifiedDestination(f.DestinationIP))
	}
	ing, ok := e.cat.index(f.IngressColo)
	if !ok {
		if f.IngressColo == "" {
			return fmt.Errorf("%w: ingress_colo is required (the colo the user is connected to, e.g. NRT)", ErrInvalidFlow)
		}
		return fmt.Errorf("%w: ingress_colo: %w", ErrInvalidFlow, unknownColoError(f.IngressColo))
	}
	ingCode := e.cat.colos[ing].Code
	if len(down) > 0 && down[ingCode] {
		return fmt.Errorf("%w: ingress_colo %s is in the set of colos that are down: a user cannot be connected to a colo that is down; pick another ingress colo or remove %s from the down set", ErrInvalidFlow, ingCode, ingCode)
	}

	// Rule 0.
	if isICMP(f.Protocol) || f.DNS || f.PrivateNetwork {
		d.Outcome = OutcomeNotApplicable
		d.Method = MethodDefault
		if trace {
			what := "ICMP"
			switch {
			case f.DNS:
				what = "DNS (Gateway resolver)"
			case f.PrivateNetwork:
				what = "private-network (Tunnel/WAN)"
			}
			d.Trace = append(d.Trace, fmt.Sprintf("egress policies do not apply to %s traffic: default egress", what))
		}
		e.defaultEgress(f, ing, down, d, trace)
		return nil
	}

	// Rule 1: first enabled policy that matches.
	p, t, missing := e.idx.firstMatch(e.policies, f)
	if p >= 0 {
		pol := &e.policies[p]
		d.PolicyIndex, d.PolicyName, d.PolicyID = p, pol.Name, pol.ID
		if t == Unknown {
			d.Outcome = OutcomeIndeterminate
			d.Missing = missing
			if trace {
				d.Trace = append(d.Trace, fmt.Sprintf("policy %d %q needs %s, which the flow does not carry: the outcome is indeterminate (add %s to the flow)", p, pol.Name, missing, missing))
			}
			return nil
		}
		if trace {
			d.Trace = append(d.Trace, fmt.Sprintf("policy %d %q matched", p, pol.Name))
		}
		e.applyPolicy(p, f, ing, down, d, trace)
		return nil
	}
	if trace {
		d.Trace = append(d.Trace, "no enabled policy matched")
	}
	e.noMatch(f, ing, down, d, trace)
	return nil
}

// applyPolicy decides the egress of policy p (rules 2-4) for f.
func (e *Engine) applyPolicy(p int, f *Flow, ing int, down ColoSet, d *Decision, trace bool) {
	d.Outcome = OutcomePolicy
	pol := &e.policies[p]
	if pol.Egress.Method != MethodDedicated {
		d.Method = MethodDefault
		e.defaultEgress(f, ing, down, d, trace)
		return
	}
	d.Method = MethodDedicated
	cp := &e.pol[p]
	if isIPv6Flow(f) {
		e.egressIPv6(cp.v6, cp.v6geo, cp.v6Note, ing, d, trace)
		return
	}
	prim := &e.inv[cp.v4]
	if f.Proxied {
		e.egressIPv4Local(prim, ing, down, d, trace)
		return
	}
	if len(down) == 0 || !down[prim.Colo] {
		e.egressIPv4Grey(prim, d, trace)
		return
	}
	switch cp.fbKind {
	case fallbackDefault:
		if trace {
			d.Trace = append(d.Trace, fmt.Sprintf("colo %s of ipv4 %s is down: ipv4_fallback is 0.0.0.0, using default egress", prim.Colo, prim.IPv4))
		}
		d.Method = MethodDefault
		e.defaultEgress(f, ing, down, d, trace)
	case fallbackIP:
		fb := &e.inv[cp.fb]
		if len(down) > 0 && down[fb.Colo] {
			d.Outcome = OutcomeUnavailable
			if trace {
				d.Trace = append(d.Trace, fmt.Sprintf("colo %s of ipv4 %s is down and colo %s of ipv4_fallback %s is down too: the flow fails (unavailable)", prim.Colo, prim.IPv4, fb.Colo, fb.IPv4))
			}
			return
		}
		if trace {
			d.Trace = append(d.Trace, fmt.Sprintf("colo %s is down: using ipv4_fallback %s (%s)", prim.Colo, fb.IPv4, fb.Colo))
		}
		e.egressIPv4Grey(fb, d, trace)
	default:
		d.Outcome = OutcomeUnavailable
		if trace {
			d.Trace = append(d.Trace, fmt.Sprintf("colo %s of ipv4 %s is down and the policy has no ipv4_fallback: the flow fails (unavailable)", prim.Colo, prim.IPv4))
		}
	}
}

func isIPv6Flow(f *Flow) bool { return f.DestinationIP.Is6() && !f.DestinationIP.Is4In6() }

// egressIPv4Grey: rule 2, physically from the dedicated IP's colo.
func (e *Engine) egressIPv4Grey(x *invEntry, d *Decision, trace bool) {
	d.EgressIP = x.IPv4
	d.EgressColo = x.Colo
	x.geo(d)
	if trace {
		d.Trace = append(d.Trace, fmt.Sprintf("IPv4 destination not proxied by Cloudflare: leaves from %s, the colo of dedicated IP %s (%s)", x.Colo, x.IPv4, x.geoText()))
	}
}

// egressIPv4Local: rule 3 for IPv4 orange, physically from the ingress colo.
func (e *Engine) egressIPv4Local(x *invEntry, ing int, down ColoSet, d *Decision, trace bool) {
	d.EgressIP = x.IPv4
	d.EgressColo = e.cat.colos[ing].Code
	x.geo(d)
	if trace {
		d.Trace = append(d.Trace, fmt.Sprintf("IPv4 destination proxied by Cloudflare: leaves locally from ingress colo %s with source %s (%s, from %s)", d.EgressColo, x.IPv4, x.geoText(), x.Colo))
		if len(down) > 0 && down[x.Colo] {
			d.Trace = append(d.Trace, fmt.Sprintf("colo %s of %s is down, which does not affect proxied destinations", x.Colo, x.IPv4))
		}
	}
}

// egressIPv6: rule 3 for IPv6, physically from the ingress colo.
func (e *Engine) egressIPv6(r netip.Prefix, geo int, note string, ing int, d *Decision, trace bool) {
	if !r.IsValid() {
		d.Outcome = OutcomeUnavailable
		if trace {
			d.Trace = append(d.Trace, "IPv6 destination but no dedicated IPv6 range is known: the flow fails (unavailable)")
		}
		return
	}
	d.EgressIPv6Range = r
	d.EgressColo = e.cat.colos[ing].Code
	x := &e.inv[geo]
	x.geo(d)
	if trace {
		if note != "" {
			d.Trace = append(d.Trace, note)
		}
		d.Trace = append(d.Trace, fmt.Sprintf("IPv6 destination: leaves locally from ingress colo %s with source range %s (%s, from %s)", d.EgressColo, r, x.geoText(), x.Colo))
	}
}

// defaultEgress: rule 4, the shared pool with the user's geolocation.
func (e *Engine) defaultEgress(f *Flow, ing int, down ColoSet, d *Decision, trace bool) {
	ingColo := &e.cat.colos[ing]
	country := f.SourceCountry
	if hasLower(country) {
		country = strings.ToUpper(country)
	}
	d.EgressIP = netip.Addr{}
	d.EgressIPv6Range = netip.Prefix{}
	d.NoGeolocation = false
	switch country {
	case "":
		d.EgressColo, d.GeoCountry = ingColo.Code, ingColo.Country
		if trace {
			d.Trace = append(d.Trace, fmt.Sprintf("default egress (shared pool): flow has no source country, so it leaves from ingress colo %s with geolocation %s", ingColo.Code, ingColo.Country))
		}
	case ingColo.Country:
		d.EgressColo, d.GeoCountry = ingColo.Code, country
		if trace {
			d.Trace = append(d.Trace, fmt.Sprintf("default egress (shared pool): leaves from ingress colo %s with the user's geolocation %s", ingColo.Code, country))
		}
	default:
		d.GeoCountry = country
		if j, ok := e.cat.nearestInCountry(ing, country, down); ok {
			d.EgressColo = e.cat.colos[j].Code
			if trace {
				d.Trace = append(d.Trace, fmt.Sprintf("default egress (shared pool): user's country %s differs from ingress colo %s (%s): geolocation %s; physically leaves from %s, the nearest colo in %s (modelled: Cloudflare only says \"the nearest Cloudflare data center\")", country, ingColo.Code, ingColo.Country, country, d.EgressColo, country))
			}
		} else {
			d.EgressColo = ingColo.Code
			if trace {
				d.Trace = append(d.Trace, fmt.Sprintf("default egress (shared pool): no healthy colo in the user's country %s: geolocation %s; physically leaves from ingress colo %s (modelled: Cloudflare only says \"the nearest Cloudflare data center\")", country, country, ingColo.Code))
			}
		}
	}
}

func hasLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return true
		}
	}
	return false
}

// nearestGroup is rule 5's group at ingress colo ing: the dedicated IPs a
// flow that no policy matches may leave from, the eligible one nearest ing
// and every eligible one within 1 km of it (equidistant: Gateway keeps each
// user on one of them). An IP is eligible when it can carry the flow: IPv6
// flows need its IPv6 range, unproxied IPv4 flows (grey4) its colo up.
// Decide (noMatch) and the analyses (NoMatchGroup) share it.
type nearestGroup struct {
	e       *Engine
	ing     int
	v6      bool
	grey4   bool
	down    ColoSet
	nearest float64 // km from ing to the nearest eligible IP (-1: none)
	n       int     // how many IPs the group has
}

func (e *Engine) nearestGroup(ing int, v6, grey4 bool, down ColoSet) nearestGroup {
	g := nearestGroup{e: e, ing: ing, v6: v6, grey4: grey4, down: down, nearest: -1}
	for _, k := range e.byIngress[ing] { // nearest first
		if !g.eligible(k) {
			continue
		}
		dist := e.cat.distance(ing, e.inv[k].colo)
		if g.nearest < 0 {
			g.nearest = dist
		}
		if dist > g.nearest+1.0 {
			break
		}
		g.n++
	}
	return g
}

// eligible reports whether dedicated IP k can carry the flow.
func (g *nearestGroup) eligible(k int) bool {
	x := &g.e.inv[k]
	if g.grey4 && len(g.down) > 0 && g.down[x.Colo] {
		return false
	}
	return !g.v6 || x.IPv6Range.IsValid()
}

// has reports whether dedicated IP k is in the group.
func (g *nearestGroup) has(k int) bool {
	return g.n > 0 && g.eligible(k) && g.e.cat.distance(g.ing, g.e.inv[k].colo) <= g.nearest+1.0
}

// noMatch: rule 5, the dedicated IP nearest the ingress colo.
func (e *Engine) noMatch(f *Flow, ing int, down ColoSet, d *Decision, trace bool) {
	d.Outcome = OutcomeNoMatch
	if len(e.inv) == 0 {
		d.Method = MethodDefault
		if trace {
			d.Trace = append(d.Trace, "the account has no dedicated egress IPs: default egress")
		}
		e.defaultEgress(f, ing, down, d, trace)
		return
	}
	d.Method = MethodDedicated
	v6 := isIPv6Flow(f)
	grey4 := !v6 && !f.Proxied
	order := e.byIngress[ing]
	for _, k := range order {
		x := &e.inv[k]
		d.Candidates = append(d.Candidates, Candidate{
			IPv4:       x.IPv4,
			IPv6Range:  x.IPv6Range,
			Colo:       x.Colo,
			DistanceKm: e.cat.distance(ing, x.colo),
			Down:       len(down) > 0 && down[x.Colo],
		})
	}
	g := e.nearestGroup(ing, v6, grey4, down)
	if g.n == 0 {
		d.Outcome = OutcomeUnavailable
		if trace {
			if v6 {
				d.Trace = append(d.Trace, "no policy matched and no dedicated egress IP has an IPv6 range: the flow fails (unavailable)")
			} else {
				d.Trace = append(d.Trace, "no policy matched and the colos of all dedicated egress IPs are down: the flow fails (unavailable)")
			}
		}
		return
	}
	// Equidistant group: order by IPv4 address, pick FNV-1a(user identity)
	// mod n, so one user keeps one IP whatever the connection (rule 5).
	want := 0
	var h uint64
	if g.n > 1 {
		h = IdentityHash(f)
		want = int(h % uint64(g.n))
	}
	pick := -1
	for _, k := range order {
		if !g.has(k) {
			continue
		}
		rank := 0
		for _, j := range order {
			if j != k && g.has(j) && e.inv[j].IPv4.Less(e.inv[k].IPv4) {
				rank++
			}
		}
		if rank == want {
			pick = k
			break
		}
	}
	x := &e.inv[pick]
	if trace {
		ingCode := e.cat.colos[ing].Code
		if g.n > 1 {
			d.Trace = append(d.Trace, fmt.Sprintf("no policy matched: %d dedicated IPs are equally near ingress colo %s (within 1 km, %.0f km): Gateway keeps each user on one of them; FNV-1a of the user's identity %q picks %s (%d of %d by IPv4 order)", g.n, ingCode, g.nearest, string(IdentityKey(nil, f)), x.IPv4, want+1, g.n))
		} else {
			d.Trace = append(d.Trace, fmt.Sprintf("no policy matched: using dedicated IP %s in %s, the nearest to ingress colo %s (%.0f km)", x.IPv4, x.Colo, ingCode, g.nearest))
		}
		if grey4 && len(down) > 0 {
			for _, k := range order {
				if k == pick || !down[e.inv[k].Colo] {
					break
				}
				d.Trace = append(d.Trace, fmt.Sprintf("dedicated IP %s is nearer but its colo %s is down: skipped for this unproxied IPv4 destination", e.inv[k].IPv4, e.inv[k].Colo))
			}
		}
	}
	if v6 {
		e.egressIPv6(x.IPv6Range, pick, "", ing, d, trace)
		return
	}
	if f.Proxied {
		e.egressIPv4Local(x, ing, down, d, trace)
		return
	}
	e.egressIPv4Grey(x, d, trace)
}
