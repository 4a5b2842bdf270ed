package engine

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
)

// randomPolicies draws policies whose hints overlap a lot, so the index has
// many elementary intervals and many candidates per flow.
func randomPolicies(r *rand.Rand, n int) []Policy {
	ps := make([]Policy, n)
	for i := range ps {
		m := &testMatcher{}
		if r.Intn(4) > 0 {
			m.cidrs = []netip.Prefix{}
			for k := r.Intn(3) + 1; k > 0; k-- {
				m.cidrs = append(m.cidrs, randomPrefix(r))
			}
		}
		if r.Intn(3) > 0 {
			m.ports = []PortRange{}
			for k := r.Intn(3) + 1; k > 0; k-- {
				switch r.Intn(4) {
				case 0:
					m.ports = append(m.ports, PortRange{443, 443})
				case 1:
					m.ports = append(m.ports, PortRange{80, 80})
				case 2:
					from := uint16(r.Intn(65000))
					m.ports = append(m.ports, PortRange{from, from + uint16(r.Intn(500))})
				default:
					m.ports = append(m.ports, PortRange{8000, 8999})
				}
			}
		}
		switch r.Intn(4) {
		case 0:
			m.protos = []string{"tcp"}
		case 1:
			m.protos = []string{"udp"}
		case 2:
			m.protos = []string{"tcp", "udp"}
		}
		if r.Intn(8) == 0 {
			m.email = fmt.Sprintf("u%d@example.com", r.Intn(3))
		}
		if r.Intn(6) == 0 {
			m.countries = []string{[]string{"JP", "US", "MX"}[r.Intn(3)]}
		}
		if r.Intn(6) == 0 {
			m.domains = []string{fmt.Sprintf("svc%d.example.com", r.Intn(4)), fmt.Sprintf("svc%d.example.com", r.Intn(4))}
		}
		if r.Intn(8) == 0 {
			m.groups = []string{[]string{"Eng", "Ops", "Fin"}[r.Intn(3)]}
		}
		m.noKeys = r.Intn(5) == 0
		var match Matcher = m
		if r.Intn(10) == 0 {
			match = MatcherFunc(m.Match) // no Hinter: must be a candidate everywhere
		}
		ps[i] = Policy{Name: fmt.Sprintf("p%d", i), Enabled: r.Intn(10) > 0, Match: match, Egress: Egress{Method: MethodDefault}}
	}
	return ps
}

var prefixBases = []string{"10.0.0.0", "10.1.0.0", "192.0.2.0", "198.51.100.0", "203.0.113.0", "2001:db8::", "2001:db8:1::"}

func randomPrefix(r *rand.Rand) netip.Prefix {
	base := netip.MustParseAddr(prefixBases[r.Intn(len(prefixBases))])
	b := base.AsSlice()
	bits := len(b) * 8
	var plen int
	if base.Is4() {
		plen = 8 + r.Intn(25)
		b[2] = byte(r.Intn(4))
		b[3] = byte(r.Intn(256))
	} else {
		plen = 32 + r.Intn(97)
		b[5] = byte(r.Intn(4))
		b[15] = byte(r.Intn(256))
	}
	_ = bits
	a, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(a, plen).Masked()
}

func randomFlow(r *rand.Rand) *Flow {
	p := randomPrefix(r)
	b := p.Addr().AsSlice()
	b[len(b)-1] = byte(r.Intn(256))
	dst, _ := netip.AddrFromSlice(b)
	if r.Intn(20) == 0 {
		dst = netip.MustParseAddr("::ffff:10.0.0.1") // IPv4-mapped: index must not prune
	}
	f := &Flow{IngressColo: "NRT", SourceCountry: "JP", SourceIP: netip.MustParseAddr("198.51.100.7"), SourcePort: uint16(r.Intn(65536)), DestinationIP: dst}
	f.DestinationPort = []uint16{0, 80, 443, 8500, 22, 53, uint16(r.Intn(65536))}[r.Intn(7)]
	f.Protocol = []string{"tcp", "udp", "", "TCP", "sctp"}[r.Intn(5)]
	if r.Intn(2) == 0 {
		f.Email = fmt.Sprintf("u%d@example.com", r.Intn(3))
	}
	f.SourceCountry = []string{"JP", "US", "MX", "", "DE"}[r.Intn(5)]
	switch r.Intn(4) {
	case 0: // no FQDN: unknown for domain policies
	case 1:
		f.FQDNDomains = []string{}
	default:
		for k := r.Intn(4); k >= 0; k-- {
			f.FQDNDomains = append(f.FQDNDomains, fmt.Sprintf("svc%d.example.com", r.Intn(6)))
		}
	}
	switch r.Intn(3) {
	case 0:
	case 1:
		f.Groups = []Group{}
	default:
		for k := r.Intn(3); k >= 0; k-- {
			f.Groups = append(f.Groups, Group{Name: []string{"Eng", "Ops", "Fin", "HR"}[r.Intn(4)]})
		}
	}
	if r.Intn(30) == 0 { // more elements than the index keeps per term
		for k := 0; k < 60; k++ {
			f.FQDNDomains = append(f.FQDNDomains, fmt.Sprintf("svc%d.example.com", k))
		}
	}
	return f
}

// The index must return exactly what a linear first-match scan returns.
func TestIndexEqualsLinearScan(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for round, n := range []int{0, 1, 2, 5, 63, 64, 65, 200, 700} {
		ps := randomPolicies(r, n)
		ix := buildIndex(ps)
		for k := 0; k < 3000; k++ {
			f := randomFlow(r)
			gi, gt, gm := ix.firstMatch(ps, f)
			wi, wt, wm := linearFirstMatch(ps, f)
			if gi != wi || gt != wt || gm != wm {
				t.Fatalf("round %d (n=%d) flow %+v: index (%d,%v,%q) != linear (%d,%v,%q)", round, n, f, gi, gt, gm, wi, wt, wm)
			}
		}
	}
}

// Merging intervals to bound memory keeps the result exact.
func TestIndexCoarsenedEqualsLinearScan(t *testing.T) {
	old := maxDimWords
	maxDimWords = 40
	defer func() { maxDimWords = old }()
	r := rand.New(rand.NewSource(2))
	ps := randomPolicies(r, 300)
	ix := buildIndex(ps)
	if got := len(ix.v4.starts) * ix.v4.words; got > 2*maxDimWords+ix.v4.words {
		t.Fatalf("v4 dimension not coarsened: %d words", got)
	}
	for k := 0; k < 5000; k++ {
		f := randomFlow(r)
		gi, gt, gm := ix.firstMatch(ps, f)
		wi, wt, wm := linearFirstMatch(ps, f)
		if gi != wi || gt != wt || gm != wm {
			t.Fatalf("flow %+v: index (%d,%v,%q) != linear (%d,%v,%q)", f, gi, gt, gm, wi, wt, wm)
		}
	}
}

type countingMatcher struct {
	*testMatcher
	calls *int
}

func (c countingMatcher) Match(f *Flow) (Tri, string) { *c.calls++; return c.testMatcher.Match(f) }
func (c countingMatcher) Hints() Hints                { return c.testMatcher.Hints() }

// The index prunes: with 2,000 policies on disjoint /24s, a flow evaluates
// only the policies whose hints contain it.
func TestIndexPrunes(t *testing.T) {
	calls := 0
	var ps []Policy
	for i := 0; i < 2000; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i / 256), byte(i % 256), 0}), 24)
		ps = append(ps, Policy{Name: fmt.Sprint(i), Enabled: true, Match: countingMatcher{&testMatcher{cidrs: []netip.Prefix{p}, ports: []PortRange{{443, 443}}, protos: []string{"tcp"}}, &calls}, Egress: Egress{Method: MethodDefault}})
	}
	e, err := Compile(ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := flow("NRT", "JP", "10.5.220.9", false) // policy 5*256+220 = 1500
	d, err := e.Decide(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.PolicyIndex != 1500 || calls != 1 {
		t.Errorf("PolicyIndex=%d after %d evaluations, want 1500 after 1", d.PolicyIndex, calls)
	}
	calls = 0
	f.DestinationPort = 80 // no policy's port: nothing to evaluate
	if d, _ := e.Decide(f, nil); d.Outcome != OutcomeNoMatch || calls != 0 {
		t.Errorf("outcome %s after %d evaluations, want no_match after 0", d.Outcome, calls)
	}
}

// DecideInto without trace allocates nothing once warmed up.
func TestDecideIntoZeroAlloc(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	ps := randomPolicies(r, 500)
	inv := append(invNRTLAX(), DedicatedIP{IPv4: ipNRT2, IPv6Range: v6NRT2, Colo: "NRT"})
	e, err := Compile(ps, inv)
	if err != nil {
		t.Fatal(err)
	}
	flows := make([]*Flow, 64)
	for i := range flows {
		flows[i] = randomFlow(r)
		flows[i].IngressColo = "KIX"
	}
	var d Decision
	for _, f := range flows {
		_ = e.DecideInto(f, nil, &d, false)
	}
	down := ColoSet{"LAX": true}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		_ = e.DecideInto(flows[i%len(flows)], down, &d, false)
		i++
	})
	if allocs != 0 {
		t.Errorf("DecideInto allocates %.1f times per decision, want 0", allocs)
	}
}

func TestAddrOrderKey(t *testing.T) {
	for _, c := range []struct {
		addr   string
		hi, lo uint64
	}{
		{"0.0.0.0", 0, 0},
		{"10.1.2.3", 0, 0x0a010203},
		{"255.255.255.255", 0, 0xffffffff},
		{"::", 0, 0},
		{"2001:db8::1", 0x20010db800000000, 1},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ^uint64(0), ^uint64(0)},
	} {
		hi, lo := AddrOrderKey(netip.MustParseAddr(c.addr))
		if hi != c.hi || lo != c.lo {
			t.Errorf("AddrOrderKey(%s) = %#x, %#x; want %#x, %#x", c.addr, hi, lo, c.hi, c.lo)
		}
	}
	// Keys order addresses of one family as netip does.
	addrs := []string{"2001:db8::1", "2001:db8::2", "2001:db8:1::", "fe80::1"}
	for i := 1; i < len(addrs); i++ {
		a, b := netip.MustParseAddr(addrs[i-1]), netip.MustParseAddr(addrs[i])
		if !addrKey(a).less(addrKey(b)) || a.Compare(b) >= 0 {
			t.Errorf("%s and %s are out of order", a, b)
		}
	}
}
