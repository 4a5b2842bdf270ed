package expr_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

const (
	benchTraffic  = `net.dst.ip in {10.0.0.0/8 172.16.0.0/12 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24 2001:db8::/32} and net.dst.port in {443 8443 8000..8999} and net.protocol in {"tcp" "udp"} and not(net.src.geo.country in {"RU" "KP"})`
	benchIdentity = `any(identity.groups[*].name in {"Engineering" "Finance" "Ops"}) or identity.email matches "@example\\.com$"`
	benchPosture  = `any(device_posture.checks.passed[*] in {"1308749e-fcfb-4ebc-b051-fe022b632644"})`
)

func benchFlow() engine.Flow {
	return engine.Flow{
		SourceIP: netip.MustParseAddr("198.51.100.7"), SourcePort: 51000, SourceCountry: "JP", SourceContinent: "AS",
		IngressColo: "NRT", DestinationIP: netip.MustParseAddr("203.0.113.10"), DestinationPort: 8443, Protocol: "tcp",
		Email: "alice@example.com", Groups: []engine.Group{{ID: "g1", Name: "Security"}, {ID: "g2", Name: "Ops"}},
		PostureChecks: []string{"1308749e-fcfb-4ebc-b051-fe022b632644"},
	}
}

// BenchmarkParseCompile: parse, check and compile one realistic policy
// (traffic, identity and posture expressions).
func BenchmarkParseCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := expr.CompilePolicy(benchTraffic, benchIdentity, benchPosture); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate: one Match of that policy on a matching flow.
func BenchmarkEvaluate(b *testing.B) {
	p, err := expr.CompilePolicy(benchTraffic, benchIdentity, benchPosture)
	if err != nil {
		b.Fatal(err)
	}
	f := benchFlow()
	if t, _ := p.Match(&f); t != engine.Yes {
		b.Fatalf("want Yes, got %v", t)
	}
	b.ReportAllocs()
	var cpu cpuMeter
	cpu.start()
	for b.Loop() {
		p.Match(&f)
	}
	cpu.stop(b)
}

// BenchmarkCanonical: parse, check and print canonically (what the provider
// does to compare an API-returned expression with the configuration).
func BenchmarkCanonical(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := expr.Canonical(benchTraffic); err != nil {
			b.Fatal(err)
		}
	}
}

// realisticPolicies builds n policies of a stated corpus, every one compiled
// by expr.CompilePolicy:
//   - 45% destination-CIDR policies (1-4 CIDRs out of /16../28 blocks in
//     10/8, 172.16/12 and documentation ranges, 10% IPv6), half with ports;
//   - 20% port + protocol policies (well-known ports and ranges);
//   - 15% identity policies (a group or an email) AND a destination CIDR;
//   - 10% source-country policies AND a port;
//   - 5% host-selector policies (net.fqdn.domains);
//   - 5% SAML/posture policies AND a CIDR;
//   - a catch-all last: net.protocol in {"tcp" "udp"}.
//
// Half of the policies are dedicated (IPv4 + IPv6 + fallback in another
// colo), half default.
func realisticPolicies(b testing.TB, n int, r *rand.Rand, inv []engine.DedicatedIP) []engine.Policy {
	cidr := func() string {
		if r.IntN(10) == 0 {
			return fmt.Sprintf("2001:db8:%x::/48", r.IntN(4096))
		}
		bits := 16 + r.IntN(13)
		var a netip.Addr
		switch r.IntN(3) {
		case 0:
			a = netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		case 1:
			a = netip.AddrFrom4([4]byte{172, byte(16 + r.IntN(16)), byte(r.IntN(256)), byte(r.IntN(256))})
		default:
			a = netip.AddrFrom4([4]byte{203, 0, 113, byte(r.IntN(256))})
			bits = 24 + r.IntN(5)
		}
		return netip.PrefixFrom(a, bits).Masked().String()
	}
	cidrs := func() string {
		var s []string
		for i := r.IntN(4) + 1; i > 0; i-- {
			s = append(s, cidr())
		}
		return strings.Join(s, " ")
	}
	portsets := []string{"443", "80 443", "22", "8000..8999", "3389", "25 465 587", "5432", "1194", "51820"}
	countries := []string{"JP", "US", "DE", "MX", "BR", "IN", "GB", "FR"}
	groups := []string{"Engineering", "Finance", "Ops", "Sales", "Legal"}
	var ps []engine.Policy
	for i := 0; i < n-1; i++ {
		var traffic, identity, posture string
		switch k := r.IntN(100); {
		case k < 45:
			traffic = "net.dst.ip in {" + cidrs() + "}"
			if r.IntN(2) == 0 {
				traffic += " and net.dst.port in {" + portsets[r.IntN(len(portsets))] + "}"
			}
		case k < 65:
			traffic = fmt.Sprintf(`net.dst.port in {%s} and net.protocol == %q`, portsets[r.IntN(len(portsets))], []string{"tcp", "udp"}[r.IntN(2)])
		case k < 80:
			traffic = "net.dst.ip in {" + cidrs() + "}"
			if r.IntN(2) == 0 {
				identity = fmt.Sprintf(`any(identity.groups[*].name in {%q})`, groups[r.IntN(len(groups))])
			} else {
				identity = fmt.Sprintf(`identity.email == "user%d@example.com"`, r.IntN(50))
			}
		case k < 90:
			traffic = fmt.Sprintf(`net.src.geo.country == %q and net.dst.port == 443`, countries[r.IntN(len(countries))])
		case k < 95:
			traffic = fmt.Sprintf(`any(net.fqdn.domains[*] == "svc%d.example.com")`, r.IntN(100))
		default:
			traffic = "net.dst.ip in {" + cidrs() + "}"
			identity = `any(identity.saml_attributes["department"] in {"finance"})`
			posture = `any(device_posture.checks.passed[*] in {"1308749e-fcfb-4ebc-b051-fe022b632644"})`
		}
		ps = append(ps, policy(b, i, traffic, identity, posture, r, inv))
	}
	ps = append(ps, policy(b, n-1, `net.protocol in {"tcp" "udp"}`, "", "", r, nil))
	return ps
}

func policy(b testing.TB, i int, traffic, identity, posture string, r *rand.Rand, inv []engine.DedicatedIP) engine.Policy {
	m, err := expr.CompilePolicy(traffic, identity, posture)
	if err != nil {
		b.Fatalf("policy %d: %v", i, err)
	}
	p := engine.Policy{Name: fmt.Sprintf("p%d", i), Enabled: true, Traffic: traffic, Identity: identity, DevicePosture: posture, Match: m,
		Egress: engine.Egress{Method: engine.MethodDefault}}
	if inv != nil && r.IntN(2) == 0 {
		a := r.IntN(len(inv))
		fb := (a + 1) % len(inv)
		p.Egress = engine.Egress{Method: engine.MethodDedicated, IPv4: inv[a].IPv4, IPv6: inv[a].IPv6Range, IPv4Fallback: inv[fb].IPv4}
	}
	return p
}

func benchInventory() []engine.DedicatedIP {
	colos := []string{"NRT", "KIX", "LAX", "FRA", "QRO", "SIN"}
	var inv []engine.DedicatedIP
	for i, c := range colos {
		inv = append(inv, engine.DedicatedIP{
			IPv4:      netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}),
			IPv6Range: netip.MustParsePrefix(fmt.Sprintf("2001:db8:ffff:%x::/64", i)),
			Colo:      c,
		})
	}
	return inv
}

func randomFlows(r *rand.Rand, n int) []engine.Flow {
	colos := []string{"NRT", "KIX", "LAX", "FRA", "QRO", "SIN", "CDG", "GRU"}
	countries := []string{"JP", "US", "DE", "MX", "BR", "IN", "GB", "FR"}
	ports := []uint16{443, 80, 22, 8443, 8500, 3389, 53, 5432, 51820, 12345}
	fs := make([]engine.Flow, n)
	for i := range fs {
		var dst netip.Addr
		switch r.IntN(4) {
		case 0:
			dst = netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		case 1:
			dst = netip.AddrFrom4([4]byte{172, byte(16 + r.IntN(16)), byte(r.IntN(256)), byte(r.IntN(256))})
		case 2:
			dst = netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		default:
			dst = netip.AddrFrom4([4]byte{203, 0, 113, byte(r.IntN(256))})
		}
		fs[i] = engine.Flow{
			SourceIP: netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(256))}), SourcePort: uint16(1024 + r.IntN(60000)),
			SourceCountry: countries[r.IntN(len(countries))], SourceContinent: "AS",
			IngressColo: colos[r.IntN(len(colos))], DestinationIP: dst, DestinationPort: ports[r.IntN(len(ports))],
			Protocol: []string{"tcp", "tcp", "tcp", "udp"}[r.IntN(4)], Proxied: r.IntN(3) == 0,
			FQDNHost: "www.example.org", FQDNDomains: []string{"www.example.org", "example.org"},
			Email: fmt.Sprintf("user%d@example.com", r.IntN(80)), Name: "User",
			Groups:         []engine.Group{{ID: "g", Name: []string{"Engineering", "Finance", "Ops", "Sales", "Legal"}[r.IntN(5)]}},
			SAMLAttributes: map[string][]string{"department": {[]string{"finance", "hr"}[r.IntN(2)]}},
			PostureChecks:  []string{},
		}
	}
	return fs
}

// BenchmarkDecideCompiled: engine.Compile over 1,000 compiled realistic
// policies (see realisticPolicies), then DecideInto without trace over a
// rotating set of 1,024 flows. Besides ns/op (wall clock) it reports
// cpu-ns/op, the thread's CPU time per decision, which is what to compare on
// a shared machine.
func BenchmarkDecideCompiled(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 11))
	inv := benchInventory()
	ps := realisticPolicies(b, 1000, r, inv)
	e, err := engine.Compile(ps, inv)
	if err != nil {
		b.Fatal(err)
	}
	flows := randomFlows(r, 1024)
	var d engine.Decision
	outcomes := map[engine.Outcome]int{}
	catchAll := 0
	for i := range flows {
		if err := e.DecideInto(&flows[i], nil, &d, false); err != nil {
			b.Fatal(err)
		}
		outcomes[d.Outcome]++
		if d.PolicyIndex == len(ps)-1 {
			catchAll++
		}
	}
	b.Logf("outcomes over %d flows: %v; %d decided by the catch-all (index %d)", len(flows), outcomes, catchAll, len(ps)-1)
	b.ReportAllocs()
	var cpu cpuMeter
	cpu.start()
	i := 0
	for b.Loop() {
		if err := e.DecideInto(&flows[i&1023], nil, &d, false); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cpu.stop(b)
}

// BenchmarkCompile1000: expr.CompilePolicy of 1,000 realistic policies plus engine.Compile.
func BenchmarkCompile1000(b *testing.B) {
	inv := benchInventory()
	b.ReportAllocs()
	for b.Loop() {
		r := rand.New(rand.NewPCG(7, 11))
		ps := realisticPolicies(b, 1000, r, inv)
		if _, err := engine.Compile(ps, inv); err != nil {
			b.Fatal(err)
		}
	}
}
