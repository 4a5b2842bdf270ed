package expr_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// Property: engine.Compile over policies compiled by expr (whose Hints feed
// the engine's policy index: destination IPs, ports, protocols and the
// string Keys) decides exactly like a linear first-match scan of the same
// matchers, for random policies and random flows, including flows that lack
// the fields the policies read.

func pickS[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

var (
	propCIDRs     = []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.0.2.0/24", "203.0.113.0/25", "2001:db8::/32", "2001:db8:1::/48", "0.0.0.0/0"}
	propPorts     = []string{"443", "80", "22", "8000..8999", "53", "1..1024"}
	propCountries = []string{"JP", "US", "MX", "jp", "DE", "FR", "BR", "IN"}
	propEmails    = []string{"a@example.com", "b@example.com", "A@example.com", "c@example.com", "d@example.com", "e@example.com"}
	propGroups    = []string{"Eng", "Ops", "Fin", "eng", "HR", "Legal"}
	propDomains   = []string{"svc1.example.com", "svc2.example.com", "example.com", "svc3.example.com", "svc4.example.com", "svc5.example.com"}
	propHosts     = []string{"api.example.com", "www.example.com", "git.example.com", "ci.example.com"}
)

func propSet(r *rand.Rand, vals []string, quote bool) string {
	var el []string
	for i := r.IntN(3) + 1; i > 0; i-- {
		v := pickS(r, vals)
		if quote {
			v = fmt.Sprintf("%q", v)
		}
		el = append(el, v)
	}
	return "{" + strings.Join(el, " ") + "}"
}

func propTrafficLeaf(r *rand.Rand) string {
	switch r.IntN(14) {
	case 0, 1:
		return "net.dst.ip in " + propSet(r, propCIDRs, false)
	case 2:
		return "net.dst.ip != 0.0.0.0"
	case 3:
		return "net.dst.port in " + propSet(r, propPorts, false)
	case 4:
		return fmt.Sprintf("net.protocol == %q", pickS(r, []string{"tcp", "udp"}))
	case 5:
		return fmt.Sprintf("net.src.geo.country == %q", pickS(r, propCountries))
	case 6:
		return "net.src.geo.country in " + propSet(r, propCountries, true)
	case 7:
		return fmt.Sprintf("net.dst.geo.country != %q", pickS(r, propCountries))
	case 8:
		return fmt.Sprintf("any(net.fqdn.domains[*] == %q)", pickS(r, propDomains))
	case 9:
		if r.IntN(3) == 0 { // negated below by propExpr's not(...) at times
			return fmt.Sprintf("any(net.fqdn.domains[*] != %q)", pickS(r, propDomains))
		}
		return "net.fqdn.domains in " + propSet(r, propDomains, true)
	case 10:
		return fmt.Sprintf("net.fqdn.host == %q", pickS(r, propHosts))
	case 11:
		return `net.fqdn.host matches "^api\\."`
	case 12:
		if r.IntN(3) == 0 {
			return "net.fqdn.host in $0a1b2c3d-0000-4000-8000-000000000000"
		}
		return fmt.Sprintf("net.fqdn.host in {%q %q}", pickS(r, propHosts), pickS(r, propHosts))
	default:
		return fmt.Sprintf("net.vnet_id == %q", pickS(r, []string{"v1", "v2"}))
	}
}

func propIdentityLeaf(r *rand.Rand) string {
	switch r.IntN(6) {
	case 5:
		return fmt.Sprintf("not(any(identity.groups[*].name != %q))", pickS(r, propGroups))
	case 0, 1:
		return fmt.Sprintf("identity.email == %q", pickS(r, propEmails))
	case 2:
		return "identity.email in " + propSet(r, propEmails, true)
	case 3:
		return fmt.Sprintf("any(identity.groups[*].name in %s)", propSet(r, propGroups, true))
	default:
		return fmt.Sprintf("not(any(identity.groups[*].name == %q))", pickS(r, propGroups))
	}
}

func propExpr(r *rand.Rand, depth int, leaf func(*rand.Rand) string) string {
	if depth == 0 || r.IntN(2) == 0 {
		return leaf(r)
	}
	switch r.IntN(6) {
	case 0:
		return "not(" + propExpr(r, depth-1, leaf) + ")"
	case 1, 2, 3:
		return "(" + propExpr(r, depth-1, leaf) + " and " + propExpr(r, depth-1, leaf) + ")"
	default:
		return "(" + propExpr(r, depth-1, leaf) + " or " + propExpr(r, depth-1, leaf) + ")"
	}
}

func propPolicies(t *testing.T, r *rand.Rand, n int, inv []engine.DedicatedIP) []engine.Policy {
	ps := make([]engine.Policy, n)
	for i := range ps {
		var traffic, identity string
		if r.IntN(20) > 0 { // a conjunction of 2-3 conditions, each maybe compound
			var cs []string
			for k := r.IntN(2) + 3; k > 0; k-- {
				cs = append(cs, propExpr(r, 1, propTrafficLeaf))
			}
			traffic = strings.Join(cs, " and ")
		}
		if r.IntN(3) == 0 {
			identity = propExpr(r, 1, propIdentityLeaf)
		}
		ps[i] = policy(t, i, traffic, identity, "", r, inv)
		ps[i].Enabled = r.IntN(10) > 0
	}
	return ps
}

func propStrs(r *rand.Rand, vals []string) []string {
	switch r.IntN(10) {
	case 0:
		return nil // missing
	case 1, 2:
		return []string{}
	}
	var out []string
	for i := r.IntN(3) + 1; i > 0; i-- {
		out = append(out, pickS(r, vals))
	}
	return out
}

func propFlow(r *rand.Rand) engine.Flow {
	// (0.0.0.0 and :: are not destinations: engine.Decide refuses them, see
	// lint's TestUnspecifiedDestinationOneContract.)
	dsts := []string{"10.1.2.3", "10.200.0.1", "192.0.2.77", "203.0.113.5", "203.0.113.200", "198.18.0.1", "2001:db8:1::5", "2001:db9::1", "0.0.0.1", "::ffff:10.1.2.3"}
	f := engine.Flow{
		SourceIP:         netip.MustParseAddr("198.51.100.7"),
		SourcePort:       51000,
		IngressColo:      pickS(r, []string{"NRT", "KIX", "LAX", "FRA"}),
		DestinationIP:    netip.MustParseAddr(pickS(r, dsts)),
		DestinationPort:  pickS(r, []uint16{22, 53, 80, 443, 8500, 9000}),
		Protocol:         pickS(r, []string{"tcp", "tcp", "udp"}),
		Proxied:          r.IntN(2) == 0,
		SourceCountry:    pickS(r, append([]string{"DE"}, propCountries...)),
		DstCountry:       pickS(r, propCountries),
		FQDNHost:         pickS(r, append([]string{"api.example.org"}, propHosts...)),
		FQDNDomains:      propStrs(r, propDomains),
		Email:            pickS(r, propEmails),
		VirtualNetworkID: pickS(r, []string{"v1", "v2"}),
	}
	if r.IntN(4) == 0 { // a flow that lacks a field: no pruning by it
		switch r.IntN(7) {
		case 5:
			f.DestinationPort = 0
		case 6:
			f.Protocol = ""
		case 0:
			f.SourceCountry = ""
		case 1:
			f.DstCountry = ""
		case 2:
			f.FQDNHost = ""
		case 3:
			f.Email = ""
		default:
			f.VirtualNetworkID = ""
		}
	}
	if gs := propStrs(r, propGroups); gs != nil {
		f.Groups = []engine.Group{}
		for _, g := range gs {
			f.Groups = append(f.Groups, engine.Group{ID: "id-" + g, Name: g})
		}
	}
	return f
}

// noHints hides a matcher's Hints, so the engine's index cannot prune it.
type noHints struct{ m engine.Matcher }

func (n noHints) Match(f *engine.Flow) (engine.Tri, string) { return n.m.Match(f) }

func TestDecideCompiledEqualsLinearScan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	inv := benchInventory()
	rounds := []int{1, 2, 10, 63, 64, 65, 300, 700}
	flows := 1500
	if testing.Short() {
		flows = 300
	}
	decided, indeterminate, keyed, depth := 0, 0, 0, 0
	for _, n := range rounds {
		ps := propPolicies(t, r, n, inv)
		for i := range ps {
			prog, ok := ps[i].Match.(*expr.Program)
			if !ok {
				t.Fatalf("policy %d: matcher %T, want *expr.Program", i, ps[i].Match)
			}
			if prog.Hints().Keys != nil {
				keyed++
			}
		}
		e, err := engine.Compile(ps, inv)
		if err != nil {
			t.Fatal(err)
		}
		plain := make([]engine.Policy, n)
		copy(plain, ps)
		for i := range plain {
			plain[i].Match = noHints{ps[i].Match}
		}
		ref, err := engine.Compile(plain, inv)
		if err != nil {
			t.Fatal(err)
		}
		var got, want engine.Decision
		for k := 0; k < flows; k++ {
			f := propFlow(r)
			if err := e.DecideInto(&f, nil, &got, true); err != nil {
				t.Fatal(err)
			}
			// The linear first-match scan, by hand.
			wi, wt, wm := -1, engine.No, ""
			for p := range ps {
				if !ps[p].Enabled {
					continue
				}
				if tr, m := ps[p].Match.Match(&f); tr != engine.No {
					wi, wt, wm = p, tr, m
					break
				}
			}
			if got.PolicyIndex != wi {
				t.Fatalf("n=%d flow %+v: engine picked policy %d (%s), linear scan %d (%v, %q)", n, f, got.PolicyIndex, got.Outcome, wi, wt, wm)
			}
			switch {
			case wi < 0 && got.Outcome != engine.OutcomeNoMatch,
				wt == engine.Unknown && (got.Outcome != engine.OutcomeIndeterminate || got.Missing != wm),
				wt == engine.Yes && got.Outcome != engine.OutcomePolicy && got.Outcome != engine.OutcomeUnavailable:
				t.Fatalf("n=%d flow %+v: outcome %s (missing %q), linear scan (%d, %v, %q)", n, f, got.Outcome, got.Missing, wi, wt, wm)
			}
			// The whole Decision (egress IP, colo, trace...) equals the one
			// of an engine whose index cannot prune.
			if err := ref.DecideInto(&f, nil, &want, true); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("n=%d flow %+v:\nindexed  %+v\nno hints %+v", n, f, got, want)
			}
			if wi >= 0 {
				depth += wi
				decided++
				if wt == engine.Unknown {
					indeterminate++
				}
			}
		}
	}
	total := len(rounds) * flows
	t.Logf("%d flows: %d decided by a policy (%d indeterminate, mean index %.1f), %d no match; %d policies with Keys hints",
		total, decided, indeterminate, float64(depth)/float64(max(decided, 1)), total-decided, keyed)
	if decided < total/4 || total-decided < total/50 || indeterminate < total/50 || keyed < 100 {
		t.Errorf("generator too narrow: %d decided, %d indeterminate, %d no match, %d keyed policies", decided, indeterminate, total-decided, keyed)
	}
}
