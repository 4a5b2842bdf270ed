package lint

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// benchInventory: four dedicated IPs in four colos.
var benchInventory = []engine.DedicatedIP{
	{IPv4: netip.MustParseAddr("203.0.113.1"), IPv6Range: netip.MustParsePrefix("2001:db8:1::/64"), Colo: "NRT"},
	{IPv4: netip.MustParseAddr("203.0.113.2"), IPv6Range: netip.MustParsePrefix("2001:db8:2::/64"), Colo: "KIX"},
	{IPv4: netip.MustParseAddr("203.0.113.3"), IPv6Range: netip.MustParsePrefix("2001:db8:3::/64"), Colo: "LAX"},
	{IPv4: netip.MustParseAddr("203.0.113.4"), IPv6Range: netip.MustParsePrefix("2001:db8:4::/64"), Colo: "FRA"},
}

// benchCorpus generates n policies deterministically, the shape of a large
// account's egress list:
//   - 30% destination CIDRs in 10.0.0.0/8: two /24s or (10%) a /16, so
//     CIDRs of different policies nest and overlap; half of them also
//     restricted to ports {443 8443};
//   - 15% port ranges per protocol (100 ports from 1024 + 20k, overlapping);
//   - 20% identity policies: a /24 of 172.16.0.0/12 plus a group
//     (any(identity.groups[*].name in {...})) or an e-mail, some with a
//     device-posture check;
//   - 10% two destination countries (of 20) with a port (of 6);
//   - 10% IPv6 destinations (/48s of 2001:db8::/32);
//   - 5% host regexes (net.fqdn.host matches, opaque to the analyser);
//   - 10% shadowed on purpose: an earlier policy's expressions narrowed by
//     an identity (identity.email == "audit@example.com"), or a /24 inside
//     an earlier /16;
//   - a catch-all (`net.protocol in {"tcp" "udp"}`) last.
//
// Egress rotates over the four dedicated IPs (fallback in the next colo) and
// default egress.
func benchCorpus(n int) Input {
	seed := uint64(42)
	rnd := func(k int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int((seed >> 33) % uint64(k))
	}
	var ps []Policy
	var cidr16 []string
	for i := 0; i < n-1; i++ {
		var p Policy
		name := fmt.Sprintf("policy-%04d", i)
		k := rnd(100)
		switch {
		case k < 30:
			a := rnd(256)
			var t string
			if rnd(10) == 0 {
				c16 := fmt.Sprintf("10.%d.0.0/16", a)
				cidr16 = append(cidr16, c16)
				t = fmt.Sprintf("net.dst.ip in {%s}", c16)
			} else {
				t = fmt.Sprintf("net.dst.ip in {10.%d.%d.0/24 10.%d.%d.0/24}", a, rnd(256), a, rnd(256))
			}
			if rnd(2) == 0 {
				t += " and net.dst.port in {443 8443}"
			}
			p = pol(name, t)
		case k < 45:
			lo := 1024 + rnd(2000)*20
			p = pol(name, fmt.Sprintf(`net.dst.port in {%d..%d} and net.protocol == "%s"`, lo, lo+99, []string{"tcp", "udp"}[rnd(2)]))
		case k < 65:
			p = pol(name, fmt.Sprintf("net.dst.ip in {172.%d.%d.0/24}", 16+rnd(16), rnd(256)))
			if rnd(2) == 0 {
				p.Identity = fmt.Sprintf(`any(identity.groups[*].name in {"team-%d" "team-%d"})`, rnd(40), rnd(40))
			} else {
				p.Identity = fmt.Sprintf(`identity.email == "user%d@example.com"`, rnd(500))
			}
			if rnd(4) == 0 {
				p.DevicePosture = fmt.Sprintf(`any(device_posture.checks.passed[*] in {"check-%d"})`, rnd(5))
			}
		case k < 75:
			cs := []string{"US", "CA", "MX", "BR", "AR", "GB", "DE", "FR", "NL", "ES", "IT", "PL", "SE", "JP", "KR", "CN", "IN", "SG", "AU", "ZA"}
			p = pol(name, fmt.Sprintf(`net.dst.geo.country in {"%s" "%s"} and net.dst.port == %d`, cs[rnd(20)], cs[rnd(20)], []int{22, 80, 443, 3389, 5432, 8080}[rnd(6)]))
		case k < 85:
			p = pol(name, fmt.Sprintf("net.dst.ip in {2001:db8:%x::/48}", rnd(65536)))
		case k < 90:
			p = pol(name, fmt.Sprintf(`net.fqdn.host matches "^svc%d\\."`, rnd(1000)))
		default:
			if len(ps) > 0 && rnd(2) == 0 {
				j := rnd(len(ps))
				p = pol(name, ps[j].Traffic)
				p.Identity, p.DevicePosture = `identity.email == "audit@example.com"`, ps[j].DevicePosture
				if ps[j].Identity != "" {
					p.Identity = ps[j].Identity + " and " + p.Identity
				}
			} else if len(cidr16) > 0 {
				c := netip.MustParsePrefix(cidr16[rnd(len(cidr16))])
				b := c.Addr().As4()
				p = pol(name, fmt.Sprintf("net.dst.ip in {%d.%d.%d.0/24}", b[0], b[1], rnd(256)))
			} else {
				p = pol(name, "net.dst.ip in {192.0.2.0/24}")
			}
		}
		switch e := rnd(5); e {
		case 4:
			dflt(&p)
		default:
			ded(benchInventory[e].IPv4.String(), benchInventory[e].IPv6Range.String(), benchInventory[(e+1)%4].IPv4.String())(&p)
		}
		ps = append(ps, p)
	}
	ps = append(ps, pol("catch-all", catchAll, dflt))
	return Input{Policies: ps, Inventory: benchInventory, InventoryKnown: true, CatchAll: CatchAllRequired}
}

func benchLint(b *testing.B, n int) {
	in := benchCorpus(n)
	var st Stats
	var fs []Finding
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fs, st = LintWithStats(in)
	}
	b.StopTimer()
	shadowed := 0
	for _, f := range fs {
		if f.Rule == RuleShadowed {
			shadowed++
		}
	}
	b.ReportMetric(float64(st.Decided)/float64(max(st.Questions, 1)), "decided")
	b.ReportMetric(float64(st.RedundancyDecided)/float64(max(st.RedundancyQuestions, 1)), "redundancy-decided")
	b.ReportMetric(float64(shadowed), "shadowed")
	b.ReportMetric(float64(len(fs)), "findings")
}

func BenchmarkLint100(b *testing.B)  { benchLint(b, 100) }
func BenchmarkLint1000(b *testing.B) { benchLint(b, 1000) }
func BenchmarkLint5000(b *testing.B) { benchLint(b, 5000) }

// TestBenchCorpusDecided: the 1,000-policy corpus gets >= 99% of its
// shadowing questions decided, and the planted shadowed policies are found.
func TestBenchCorpusDecided(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	in := benchCorpus(1000)
	fs, st := LintWithStats(in)
	if st.Questions < 900 || float64(st.Decided) < 0.99*float64(st.Questions) {
		t.Fatalf("decided %d of %d shadowing questions", st.Decided, st.Questions)
	}
	shadowed := 0
	for _, f := range fs {
		if f.Rule == RuleShadowed {
			shadowed++
		}
		if f.Rule == RuleMissingCatchAll || f.Rule == RuleCatchAllNotLast {
			t.Errorf("unexpected %s", f)
		}
	}
	if shadowed < 50 {
		t.Fatalf("only %d shadowed findings; the corpus plants about 100", shadowed)
	}
}

// TestWitnessAgreesWithSubtraction: the witness fast path changes no
// finding on a 300-policy corpus.
func TestWitnessAgreesWithSubtraction(t *testing.T) {
	in := benchCorpus(300)
	fast := Lint(in)
	in.noWitness = true
	slow := Lint(in)
	a, b := summary(fast), summary(slow)
	if !slices.Equal(a, b) {
		t.Fatalf("with witnesses %d findings, by subtraction alone %d", len(a), len(b))
	}
	if len(a) < 20 {
		t.Fatalf("only %d findings", len(a))
	}
}

// TestSmallBudgetIsHonest: with a tiny work bound Lint decides less, says so
// (cannot_analyse), and every order finding it still makes is one it makes
// with the full bound.
func TestSmallBudgetIsHonest(t *testing.T) {
	in := benchCorpus(300)
	full, fst := LintWithStats(in)
	in.Budget = 1
	small, sst := LintWithStats(in)
	if sst.Decided >= fst.Decided || fst.Decided != fst.Questions {
		t.Fatalf("decided: full %d/%d, budget 1 %d/%d", fst.Decided, fst.Questions, sst.Decided, sst.Questions)
	}
	want := map[string]bool{}
	for _, f := range full {
		want[f.String()] = true
	}
	undecided := 0
	for _, f := range small {
		switch f.Rule {
		case RuleCannotAnalyse:
			undecided++
		case RuleShadowed, RuleRedundant, RuleCatchAllNotLast, RuleMissingCatchAll:
			if !want[f.String()] {
				t.Errorf("finding only under the small budget: %s", f)
			}
		}
	}
	if undecided != sst.Questions-sst.Decided {
		t.Errorf("%d cannot_analyse findings for %d undecided questions", undecided, sst.Questions-sst.Decided)
	}
}

// TestBenchCorpusFindingsUnchanged: the findings on the benchmark corpora
// (1,000 and 5,000 policies) are, line for line, those the analyser gave
// before the flow-set algebra moved to internal/engine/flowspace and was
// made to scale (testdata/bench*.findings.gz were written by that code).
// A change of the analysis that changes a finding must say why here.
func TestBenchCorpusFindingsUnchanged(t *testing.T) {
	for _, n := range []int{1000, 5000} {
		if n > 1000 && testing.Short() {
			continue
		}
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f, err := os.Open(fmt.Sprintf("testdata/bench%d.findings.gz", n))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			var got []string
			for _, fd := range Lint(benchCorpus(n)) {
				got = append(got, fd.String())
			}
			if len(want) < 100 {
				t.Fatalf("golden file has only %d findings", len(want))
			}
			if slices.Equal(got, want) {
				return
			}
			t.Errorf("%d findings, golden %d", len(got), len(want))
			for i := 0; i < max(len(got), len(want)); i++ {
				var g, w string
				if i < len(got) {
					g = got[i]
				}
				if i < len(want) {
					w = want[i]
				}
				if g != w {
					t.Fatalf("first difference at finding %d:\n got  %s\n want %s", i, g, w)
				}
			}
		})
	}
}
