package impact

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace/fstest"
)

// benchInventory: four dedicated IPs in four colos (as lint's benchmarks).
var benchInventory = []engine.DedicatedIP{
	{IPv4: netip.MustParseAddr("203.0.113.1"), IPv6Range: netip.MustParsePrefix("2001:db8:1::/64"), Colo: "NRT"},
	{IPv4: netip.MustParseAddr("203.0.113.2"), IPv6Range: netip.MustParsePrefix("2001:db8:2::/64"), Colo: "KIX"},
	{IPv4: netip.MustParseAddr("203.0.113.3"), IPv6Range: netip.MustParsePrefix("2001:db8:3::/64"), Colo: "LAX"},
	{IPv4: netip.MustParseAddr("203.0.113.4"), IPv6Range: netip.MustParsePrefix("2001:db8:4::/64"), Colo: "FRA"},
}

// benchPolicies is fstest.Corpus(n) as engine policies with rule IDs.
func benchPolicies(tb testing.TB, n int) []engine.Policy {
	var ps []engine.Policy
	for _, c := range fstest.Corpus(n) {
		eg := defaultEgress
		if c.Egress < 4 {
			eg = dedicated(benchInventory[c.Egress], benchInventory[(c.Egress+1)%4])
		}
		p := policy(tb, c.Name, c.Traffic, eg)
		p.Identity, p.DevicePosture = c.Identity, c.DevicePosture
		m, err := compilePolicy(p)
		if err != nil {
			tb.Fatal(err)
		}
		p.Match, p.ID = m, "id-"+c.Name
		ps = append(ps, p)
	}
	return ps
}

func benchImpact(b *testing.B, before, after []engine.Policy) {
	var res *Result
	var err error
	var cpu fstest.CPUMeter
	b.ReportAllocs()
	b.ResetTimer()
	cpu.Start()
	for i := 0; i < b.N; i++ {
		res, err = Analyze(Side{before, benchInventory}, Side{after, benchInventory}, Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	cpu.Stop(b)
	b.StopTimer()
	b.ReportMetric(float64(len(res.Regions)+res.MoreCount), "regions")
	b.ReportMetric(float64(len(res.Incomplete)), "incomplete")
}

// insertAt inserts a policy that takes a /16 (overlapping several
// policies' CIDRs) in the middle of the list.
func insertAt(tb testing.TB, ps []engine.Policy, at int) []engine.Policy {
	p := policy(tb, "inserted", `net.dst.ip in {10.77.0.0/16 172.20.0.0/16}`, dedicated(benchInventory[0], benchInventory[1]))
	return slices.Insert(slices.Clone(ps), at, p)
}

// BenchmarkImpactInsert500: one inserted policy in a 500-policy list (goal
// ≤ 50 ms).
func BenchmarkImpactInsert500(b *testing.B) {
	ps := benchPolicies(b, 500)
	benchImpact(b, ps, insertAt(b, ps, 250))
}

// BenchmarkImpactReverse500: the 500 policies in reverse order (goal ≤ 2 s).
func BenchmarkImpactReverse500(b *testing.B) {
	ps := benchPolicies(b, 500)
	rev := slices.Clone(ps)
	slices.Reverse(rev)
	benchImpact(b, ps, rev)
}

// BenchmarkImpactNone500: a plan that changes nothing the analysis sees.
func BenchmarkImpactNone500(b *testing.B) {
	ps := benchPolicies(b, 500)
	benchImpact(b, ps, slices.Clone(ps))
}
