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
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace/fstest"
)

// benchInventory: four dedicated IPs in four colos.
var benchInventory = []engine.DedicatedIP{
	{IPv4: netip.MustParseAddr("203.0.113.1"), IPv6Range: netip.MustParsePrefix("2001:db8:1::/64"), Colo: "NRT"},
	{IPv4: netip.MustParseAddr("203.0.113.2"), IPv6Range: netip.MustParsePrefix("2001:db8:2::/64"), Colo: "KIX"},
	{IPv4: netip.MustParseAddr("203.0.113.3"), IPv6Range: netip.MustParsePrefix("2001:db8:3::/64"), Colo: "LAX"},
	{IPv4: netip.MustParseAddr("203.0.113.4"), IPv6Range: netip.MustParsePrefix("2001:db8:4::/64"), Colo: "FRA"},
}

// benchCorpus is fstest.Corpus as lint policies: egress rotates over the
// four dedicated IPs of benchInventory (fallback in the next colo) and
// default egress.
func benchCorpus(n int) Input {
	var ps []Policy
	for _, c := range fstest.Corpus(n) {
		p := pol(c.Name, c.Traffic)
		p.Identity, p.DevicePosture = c.Identity, c.DevicePosture
		if c.Egress == 4 {
			dflt(&p)
		} else {
			ded(benchInventory[c.Egress].IPv4.String(), benchInventory[c.Egress].IPv6Range.String(), benchInventory[(c.Egress+1)%4].IPv4.String())(&p)
		}
		ps = append(ps, p)
	}
	return Input{Policies: ps, Inventory: benchInventory, InventoryKnown: true, CatchAll: CatchAllRequired}
}

func benchLint(b *testing.B, n int) {
	in := benchCorpus(n)
	var st Stats
	var fs []Finding
	var cpu fstest.CPUMeter
	b.ReportAllocs()
	b.ResetTimer()
	cpu.Start()
	for i := 0; i < b.N; i++ {
		fs, st = LintWithStats(in)
	}
	cpu.Stop(b)
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
			defer func() { _ = f.Close() }()
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
