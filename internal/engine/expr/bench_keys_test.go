package expr_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// identityPolicies builds n policies that destination IP, port and protocol
// hints cannot tell apart, as in an account that routes by who the user is
// or which SaaS host they reach (every policy compiled by expr.CompilePolicy):
//   - 40%: net.protocol in {"tcp" "udp"} AND identity.email in {3 of 300 users};
//   - 30%: net.dst.port == 443 AND any(identity.groups[*].name == "team-N") (N < 100);
//   - 20%: any(net.fqdn.domains[*] == "svcN.example.com") (N < 200);
//   - 10%: net.src.geo.country == C AND identity.email == a user;
//   - a catch-all last: net.protocol in {"tcp" "udp"}.
func identityPolicies(b testing.TB, n int, r *rand.Rand, inv []engine.DedicatedIP) []engine.Policy {
	user := func() string { return fmt.Sprintf("user%d@example.com", r.IntN(300)) }
	countries := []string{"JP", "US", "DE", "MX", "BR", "IN", "GB", "FR"}
	var ps []engine.Policy
	for i := 0; i < n-1; i++ {
		var traffic, identity string
		switch k := r.IntN(100); {
		case k < 40:
			traffic = `net.protocol in {"tcp" "udp"}`
			identity = fmt.Sprintf(`identity.email in {%q %q %q}`, user(), user(), user())
		case k < 70:
			traffic = `net.dst.port == 443`
			identity = fmt.Sprintf(`any(identity.groups[*].name == "team-%d")`, r.IntN(100))
		case k < 90:
			traffic = fmt.Sprintf(`any(net.fqdn.domains[*] == "svc%d.example.com")`, r.IntN(200))
		default:
			traffic = fmt.Sprintf(`net.src.geo.country == %q`, countries[r.IntN(len(countries))])
			identity = fmt.Sprintf(`identity.email == %q`, user())
		}
		ps = append(ps, policy(b, i, traffic, identity, "", r, inv))
	}
	return append(ps, policy(b, n-1, `net.protocol in {"tcp" "udp"}`, "", "", r, nil))
}

func identityFlows(r *rand.Rand, n int) []engine.Flow {
	countries := []string{"JP", "US", "DE", "MX", "BR", "IN", "GB", "FR"}
	fs := make([]engine.Flow, n)
	for i := range fs {
		svc := fmt.Sprintf("svc%d.example.com", r.IntN(400))
		fs[i] = engine.Flow{
			SourceIP: netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(256))}), SourcePort: uint16(1024 + r.IntN(60000)),
			SourceCountry: countries[r.IntN(len(countries))], IngressColo: "NRT",
			DestinationIP:   netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}),
			DestinationPort: []uint16{443, 443, 80, 8443}[r.IntN(4)], Protocol: "tcp",
			FQDNHost: svc, FQDNDomains: []string{svc, "example.com"},
			Email:  fmt.Sprintf("user%d@example.com", r.IntN(400)),
			Groups: []engine.Group{{ID: "g", Name: fmt.Sprintf("team-%d", r.IntN(150))}},
		}
	}
	return fs
}

// withoutKeys hides a Program's Hints.Keys (keeps IPs, ports, protocols):
// the engine's index as it was before expr filled Keys.
type withoutKeys struct{ *expr.Program }

func (w withoutKeys) Hints() engine.Hints {
	h := w.Program.Hints()
	h.Keys = nil
	return h
}

// BenchmarkDecideIdentity: DecideInto without trace over 1,000
// identityPolicies and 1,024 rotating flows, with the string Keys hints
// ("keys") and without them ("nokeys": only IP/port/protocol hints).
func BenchmarkDecideIdentity(b *testing.B) {
	for _, keys := range []bool{true, false} {
		name := "keys"
		if !keys {
			name = "nokeys"
		}
		b.Run(name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(5, 9))
			inv := benchInventory()
			ps := identityPolicies(b, 1000, r, inv)
			if !keys {
				for i := range ps {
					prog, ok := ps[i].Match.(*expr.Program)
					if !ok {
						b.Fatalf("policy %d: matcher %T, want *expr.Program", i, ps[i].Match)
					}
					ps[i].Match = withoutKeys{prog}
				}
			}
			e, err := engine.Compile(ps, inv)
			if err != nil {
				b.Fatal(err)
			}
			flows := identityFlows(r, 1024)
			var d engine.Decision
			sum := 0
			for i := range flows {
				if err := e.DecideInto(&flows[i], nil, &d, false); err != nil {
					b.Fatal(err)
				}
				sum += d.PolicyIndex
			}
			b.Logf("mean deciding policy index %.0f of %d", float64(sum)/float64(len(flows)), len(ps))
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
		})
	}
}
