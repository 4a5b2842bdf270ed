package lint

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace/fstest"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range fstest.Seeds() {
		f.Add(s)
	}
}

// FuzzLintOrder: shadowed and redundant findings agree with brute-force
// first-match evaluation.
func FuzzLintOrder(f *testing.F) {
	fuzzSeeds(f)
	egresses := []opt{nrt, kix, dflt}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := fstest.New(data)
		n := 2 + r.N(4)
		var ps, truths []Policy // what Lint sees, and the truth
		var ms []engine.Matcher
		for i := 0; i < n; i++ {
			src := fstest.GenExpr(r, 2)
			p, err := expr.CompilePolicy(src, "", "")
			if err != nil {
				return
			}
			e := egresses[r.N(3)]
			if r.N(6) == 0 {
				e = ded("203.0.113.1", "2001:db8:1::/64", "") // the no-match egress with one IP
			}
			truth := pol(fmt.Sprint("p", i), src, e)
			if r.N(8) == 0 {
				truth.Enabled = false
			}
			seen := truth
			switch r.N(10) {
			case 0:
				seen.TrafficKnown, seen.Traffic = false, ""
			case 1:
				seen.EnabledKnown, seen.Enabled = false, false
			case 2:
				seen.FallbackKnown, seen.IPv4Fallback = false, ""
			}
			ps, truths = append(ps, seen), append(truths, truth)
			ms = append(ms, p)
		}
		inv := testInv
		if r.N(3) == 0 {
			inv = testInv[:1]
		}
		in := Input{Policies: ps, Inventory: inv, InventoryKnown: true}
		fs := Lint(in)
		in.noWitness = true
		if a, b := summary(fs), summary(Lint(in)); !slices.Equal(a, b) {
			t.Fatalf("findings with witnesses %q, by subtraction alone %q\n%s", a, b, srcs(ps))
		}
		in.noWitness = false
		flows := fstest.GenFlows(r, 200)
		// decide returns the index of the first matching policy (skipping
		// skip), -1 for no match, -2 when a match is Unknown.
		decide := func(fl *engine.Flow, skip int) int {
			for i, m := range ms {
				if i == skip || !truths[i].Enabled {
					continue
				}
				switch t, _ := m.Match(fl); t {
				case engine.Yes:
					return i
				case engine.Unknown:
					return -2
				}
			}
			return -1
		}
		l := &linter{in: Input{Policies: truths, Inventory: inv, InventoryKnown: true}}
		l.egress = make([]egressKey, len(ps))
		for i := range ps {
			l.egressRules(i)
		}
		l.out = nil
		noMatch := l.noMatchEgress()
		key := func(i int) egressKey {
			if i == -1 {
				return noMatch
			}
			return l.egress[i]
		}
		for _, fd := range fs {
			switch fd.Rule {
			case RuleShadowed:
				for _, fl := range flows {
					if decide(fl, -1) == fd.Index {
						t.Fatalf("policy %d reported shadowed (%s) but decides flow %+v\n%s", fd.Index, fd.Message, *fl, srcs(ps))
					}
				}
			case RuleCatchAllNotLast:
				for _, fl := range flows {
					if m, _ := ms[fd.Index].Match(fl); m == engine.No && !fd.Possibly {
						t.Fatalf("policy %d reported a catch-all but does not match %+v\n%s", fd.Index, *fl, srcs(ps))
					}
				}
			case RuleRedundant:
				for _, fl := range flows {
					with, without := decide(fl, -1), decide(fl, fd.Index)
					if with != fd.Index || without == -2 {
						continue
					}
					if !key(with).same(key(without)) {
						t.Fatalf("policy %d reported redundant (%s) but flow %+v goes to %d instead\n%s", fd.Index, fd.Message, *fl, without, srcs(ps))
					}
				}
			}
		}
	})
}

func srcs(ps []Policy) string {
	var b strings.Builder
	for i, p := range ps {
		fmt.Fprintf(&b, "  #%d %s %s %s\n", i, p.Method, p.IPv4, p.Traffic)
	}
	return b.String()
}
