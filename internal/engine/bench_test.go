package engine

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
)

// Benchmark workload (stated so numbers can be compared across runs):
//
//   - Policies: n realistic egress policies. Each has 1-4 destination CIDRs
//     (/16../28 inside 10.0.0.0/8 or 100.64.0.0/10, like partner and vendor
//     networks), 70% restrict ports (443, 80, 22, 8000-8999 or a random
//     100-port range), 60% restrict the protocol (tcp or udp), 30% require an
//     identity (user e-mail in a set of 3 of 200 users, also given to the
//     index as a Hints.Keys["identity.email"] hint). Half are dedicated
//     (IPv4 in NRT or LAX, fallback the other), half default. The matcher is
//     benchMatcher, which evaluates like a compiled expression and
//     implements Hinter.
//   - random: uniformly random flows: destination inside a random policy's
//     CIDR half of the time, else uniformly random IPv4; port from {443, 80,
//     22, 8443, random}; tcp or udp; random user; random ingress among 6 colos;
//     10% IPv6 destinations, 50% proxied.
//   - nomatch: flows to destinations no policy covers (198.18.0.0/15): every
//     flow falls through to rule 5 (nearest dedicated IP).
//   - allcandidates: the index cannot help: every policy covers the flow's
//     destination, port and protocol, only the identity differs, never
//     matches and is not hinted, so all n policies are evaluated (a linear
//     scan's cost).
//
// Measured: (*Engine).DecideInto without trace (the hot path). Decide with
// its trace is measured separately at 1,000 policies.

type benchMatcher struct {
	ranges []IPRange
	ports  []PortRange
	proto  string // "" = any
	emails []string
	noKeys bool // hide the identity hint (worst case: the index cannot prune)
}

func (m *benchMatcher) Match(f *Flow) (Tri, string) {
	if m.proto != "" && m.proto != f.Protocol {
		return No, ""
	}
	if m.ports != nil {
		ok := false
		for _, r := range m.ports {
			if r.From <= f.DestinationPort && f.DestinationPort <= r.To {
				ok = true
				break
			}
		}
		if !ok {
			return No, ""
		}
	}
	ok := false
	for _, r := range m.ranges {
		if r.From.Compare(f.DestinationIP) <= 0 && f.DestinationIP.Compare(r.To) <= 0 {
			ok = true
			break
		}
	}
	if !ok {
		return No, ""
	}
	if m.emails != nil {
		if f.Email == "" {
			return Unknown, "identity.email"
		}
		for _, e := range m.emails {
			if e == f.Email {
				return Yes, ""
			}
		}
		return No, ""
	}
	return Yes, ""
}

func (m *benchMatcher) Hints() Hints {
	h := Hints{DstIPs: m.ranges, DstPorts: m.ports}
	if m.proto != "" {
		h.Protocols = []string{m.proto}
	}
	if m.emails != nil && !m.noKeys {
		h.Keys = map[string][]string{"identity.email": m.emails}
	}
	return h
}

var benchUsers = func() []string {
	u := make([]string, 200)
	for i := range u {
		u[i] = fmt.Sprintf("user%d@example.com", i)
	}
	return u
}()

func benchPolicies(r *rand.Rand, n int) []Policy {
	ps := make([]Policy, n)
	for i := range ps {
		m := &benchMatcher{}
		for k := r.Intn(4) + 1; k > 0; k-- {
			var base [4]byte
			if r.Intn(2) == 0 {
				base = [4]byte{10, byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256))}
			} else {
				base = [4]byte{100, byte(64 + r.Intn(64)), byte(r.Intn(256)), byte(r.Intn(256))}
			}
			m.ranges = append(m.ranges, prefixRange(netip.PrefixFrom(netip.AddrFrom4(base), 16+r.Intn(13)).Masked()))
		}
		if r.Intn(10) < 7 {
			switch r.Intn(5) {
			case 0:
				m.ports = []PortRange{{443, 443}}
			case 1:
				m.ports = []PortRange{{80, 80}, {443, 443}}
			case 2:
				m.ports = []PortRange{{22, 22}}
			case 3:
				m.ports = []PortRange{{8000, 8999}}
			default:
				from := uint16(1024 + r.Intn(60000))
				m.ports = []PortRange{{from, from + 99}}
			}
		}
		if r.Intn(10) < 6 {
			m.proto = []string{"tcp", "udp"}[r.Intn(2)]
		}
		if r.Intn(10) < 3 {
			m.emails = []string{benchUsers[r.Intn(200)], benchUsers[r.Intn(200)], benchUsers[r.Intn(200)]}
		}
		p := Policy{Name: fmt.Sprintf("policy-%d", i), Enabled: true, Match: m, Egress: Egress{Method: MethodDefault}}
		if r.Intn(2) == 0 {
			if r.Intn(2) == 0 {
				p.Egress = Egress{Method: MethodDedicated, IPv4: ipNRT, IPv6: v6NRT, IPv4Fallback: ipLAX}
			} else {
				p.Egress = Egress{Method: MethodDedicated, IPv4: ipLAX, IPv6: v6LAX, IPv4Fallback: ipNRT}
			}
		}
		ps[i] = p
	}
	return ps
}

var benchIngress = []string{"NRT", "KIX", "LAX", "FRA", "SIN", "GRU"}

func benchFlows(tb testing.TB, r *rand.Rand, ps []Policy, k int, kind string) []*Flow {
	tb.Helper()
	fs := make([]*Flow, k)
	for i := range fs {
		f := &Flow{
			SourceIP:      netip.AddrFrom4([4]byte{198, 51, 100, byte(r.Intn(256))}),
			SourcePort:    uint16(1024 + r.Intn(60000)),
			SourceCountry: "JP",
			IngressColo:   benchIngress[r.Intn(len(benchIngress))],
			Protocol:      []string{"tcp", "udp"}[r.Intn(2)],
			Proxied:       r.Intn(2) == 0,
			Email:         benchUsers[r.Intn(200)],
		}
		f.DestinationPort = []uint16{443, 80, 22, 8443, uint16(1 + r.Intn(65535))}[r.Intn(5)]
		switch kind {
		case "random":
			if r.Intn(2) == 0 {
				m, ok := ps[r.Intn(len(ps))].Match.(*benchMatcher)
				if !ok {
					tb.Fatal("benchFlows: a policy's matcher is not a *benchMatcher")
				}
				rg := m.ranges[r.Intn(len(m.ranges))]
				b := rg.From.As4()
				b[3] |= byte(r.Intn(16))
				f.DestinationIP = netip.AddrFrom4(b)
			} else {
				f.DestinationIP = netip.AddrFrom4([4]byte{byte(r.Intn(224)), byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256))})
			}
			if r.Intn(10) == 0 {
				f.DestinationIP = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.Intn(256))})
			}
		case "nomatch":
			f.DestinationIP = netip.AddrFrom4([4]byte{198, byte(18 + r.Intn(2)), byte(r.Intn(256)), byte(r.Intn(256))})
		case "allcandidates":
			f.DestinationIP = netip.AddrFrom4([4]byte{10, 1, 2, byte(r.Intn(256))})
			f.DestinationPort = 443
			f.Protocol = "tcp"
			f.Email = "nobody@example.com"
		}
		fs[i] = f
	}
	return fs
}

func allCandidatePolicies(n int) []Policy {
	ps := make([]Policy, n)
	r := prefixRange(netip.MustParsePrefix("10.0.0.0/8"))
	for i := range ps {
		ps[i] = Policy{Name: fmt.Sprintf("team-%d", i), Enabled: true, Egress: Egress{Method: MethodDedicated, IPv4: ipNRT, IPv6: v6NRT, IPv4Fallback: ipLAX},
			Match: &benchMatcher{ranges: []IPRange{r}, ports: []PortRange{{443, 443}}, proto: "tcp", emails: []string{benchUsers[i%200]}, noKeys: true}}
	}
	return ps
}

func BenchmarkDecide(b *testing.B) {
	inv := invNRTLAX()
	for _, n := range []int{10, 100, 1000, 10000} {
		for _, kind := range []string{"random", "nomatch", "allcandidates"} {
			b.Run(fmt.Sprintf("policies=%d/%s", n, kind), func(b *testing.B) {
				r := rand.New(rand.NewSource(int64(n)))
				var ps []Policy
				if kind == "allcandidates" {
					ps = allCandidatePolicies(n)
				} else {
					ps = benchPolicies(r, n)
				}
				e, err := Compile(ps, inv)
				if err != nil {
					b.Fatal(err)
				}
				flows := benchFlows(b, r, ps, 4096, kind)
				var d Decision
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := e.DecideInto(flows[i&4095], nil, &d, false); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
			})
		}
	}
}

// Decide with its human-readable trace (what the provider's data sources use).
func BenchmarkDecideWithTrace(b *testing.B) {
	r := rand.New(rand.NewSource(1000))
	ps := benchPolicies(r, 1000)
	e, err := Compile(ps, invNRTLAX())
	if err != nil {
		b.Fatal(err)
	}
	flows := benchFlows(b, r, ps, 4096, "random")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Decide(flows[i&4095], nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("policies=%d", n), func(b *testing.B) {
			ps := benchPolicies(rand.New(rand.NewSource(int64(n))), n)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Compile(ps, invNRTLAX()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The benchmark workload's decisions equal a linear scan's (guards the
// benchmark matcher's hints).
func TestBenchWorkloadIndexExact(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	ps := benchPolicies(r, 500)
	ix := buildIndex(ps)
	for _, kind := range []string{"random", "nomatch", "allcandidates"} {
		for _, f := range benchFlows(t, r, ps, 2000, kind) {
			gi, gt, _ := ix.firstMatch(ps, f)
			wi, wt, _ := linearFirstMatch(ps, f)
			if gi != wi || gt != wt {
				t.Fatalf("%s flow %+v: index %d/%v, linear %d/%v", kind, f, gi, gt, wi, wt)
			}
		}
	}
}
