package impact

import (
	"slices"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace/fstest"
)

// benchInventory: the corpus's four dedicated IPs in four colos (as lint's
// benchmarks).
var benchInventory = fstest.CorpusInventory()

// benchPolicies is fstest.Corpus(n) as engine policies with rule IDs.
func benchPolicies(tb testing.TB, n int) []engine.Policy { //nolint:unparam // the size is the benchmarks' choice
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
		res, err = Analyze(Side{Policies: before, Inventory: benchInventory}, Side{Policies: after, Inventory: benchInventory}, Options{})
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

// benchInvariants: 20 invariants of the kinds users write, over the
// corpus: a policy decides its own traffic (at positions spread over the
// list), a protected range leaves via its dedicated IP, broad ones (HTTPS
// by default egress, IPv6 documentation prefixes via dedicated IPs, SSH
// from LAX leaves from LAX, Tokyo users geolocate to JP). In this corpus
// most of them break: earlier port, country and host policies take some of
// their flows (or may, through host regexes), as they would in a real list.
func benchInvariants(ps []engine.Policy) []Invariant {
	var invs []Invariant
	for k := 0; len(invs) < 10; k += 47 {
		p := ps[k%len(ps)]
		invs = append(invs, Invariant{Name: "own-" + p.Name, Traffic: p.Traffic, Identity: p.Identity, DevicePosture: p.DevicePosture, Policy: p.Name, HasPolicy: true})
	}
	for k := 0; k < 5; k++ {
		invs = append(invs, Invariant{Name: "range", Traffic: "net.dst.ip in {198.18." + string(rune('0'+k)) + ".0/24}", Method: "default"})
	}
	return append(invs,
		Invariant{Name: "https-default", Traffic: `net.dst.port == 443`, Method: "default"},
		Invariant{Name: "v6-dedicated", Traffic: `net.dst.ip in {2001:db8::/32}`, Method: "dedicated"},
		Invariant{Name: "ssh-lax", Traffic: `net.dst.port == 22 and net.protocol == "tcp"`, IngressColos: []string{"LAX"}, EgressColo: "LAX"},
		Invariant{Name: "tokyo-geo", Traffic: `net.dst.ip in {172.16.0.0/12}`, IngressColos: []string{"NRT"}, GeoCountry: "JP"},
		Invariant{Name: "some-policy", Traffic: `net.dst.ip in {10.0.0.0/8}`, Policy: "", HasPolicy: false, Method: "dedicated"},
	)
}

// BenchmarkInvariants20x500: 20 invariants over 500 policies (goal
// ≤ 100 ms).
func BenchmarkInvariants20x500(b *testing.B) {
	ps := benchPolicies(b, 500)
	invs := benchInvariants(ps)
	var vs []Verdict
	var err error
	var cpu fstest.CPUMeter
	b.ReportAllocs()
	b.ResetTimer()
	cpu.Start()
	for i := 0; i < b.N; i++ {
		if vs, err = Check(Side{Policies: ps, Inventory: benchInventory}, invs, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	cpu.Stop(b)
	b.StopTimer()
	counts := map[Status]int{}
	for _, v := range vs {
		counts[v.Status]++
	}
	b.ReportMetric(float64(counts[Holds]), "holds")
	b.ReportMetric(float64(counts[Violated]), "violated")
	b.ReportMetric(float64(counts[Possibly]), "possibly")
	b.ReportMetric(float64(counts[Undecided]), "undecided")
}
