package reconcile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

type gen struct {
	r    *rand.Rand
	next int
}

func (g *gen) policy() Desired {
	g.next++
	k := 1 + g.r.IntN(4)
	ports := make([]int, k)
	for i := range ports {
		ports[i] = 1 + g.r.IntN(40)
	}
	var e *cfapi.EgressSettings
	switch g.r.IntN(3) {
	case 0:
		e = egressNRT
	case 1:
		e = egressLAX
	}
	d := portsPol(fmt.Sprintf("pol-%d", g.next), e, ports...)
	d.Enabled = g.r.IntN(10) != 0
	return d
}

// mutate applies one random change and names its kind.
func (g *gen) mutate(ds []Desired) ([]Desired, string) {
	ds = append([]Desired(nil), ds...)
	kind := []string{"insert", "delete", "move", "edit", "rename"}[g.r.IntN(5)]
	if len(ds) == 0 {
		kind = "insert"
	}
	switch kind {
	case "insert":
		ds = insertAt(ds, g.r.IntN(len(ds)+1), g.policy())
	case "delete":
		i := g.r.IntN(len(ds))
		ds = append(ds[:i], ds[i+1:]...)
	case "move":
		i, j := g.r.IntN(len(ds)), g.r.IntN(len(ds))
		d := ds[i]
		ds = insertAt(append(ds[:i], ds[i+1:]...), j, d)
	case "edit":
		i := g.r.IntN(len(ds))
		fresh := g.policy()
		switch g.r.IntN(4) {
		case 0:
			ds[i].Traffic = fresh.Traffic
		case 1:
			ds[i].Egress = fresh.Egress
		case 2:
			ds[i].Enabled = !ds[i].Enabled
		default:
			ds[i].Description = fmt.Sprintf("d%d", g.r.IntN(1000))
		}
	case "rename":
		i := g.r.IntN(len(ds))
		g.next++
		ds[i].Name = fmt.Sprintf("renamed-%d", g.next)
	}
	return ds, kind
}

// drift changes the account out of band (the next apply must repair it).
func (g *gen) drift(f *fakeClient) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var eg []int
	for i, r := range f.rules {
		if cfapi.IsEgress(r) {
			eg = append(eg, i)
		}
	}
	freeNum := func() uint64 {
		for {
			p := uint64(1 + g.r.IntN(60000))
			if f.ownerLocked(p) < 0 {
				return p
			}
		}
	}
	kind := []string{"delete", "add", "renumber", "edit"}[g.r.IntN(4)]
	if len(eg) == 0 {
		kind = "add"
	}
	switch kind {
	case "delete":
		i := eg[g.r.IntN(len(eg))]
		f.rules = append(f.rules[:i], f.rules[i+1:]...)
	case "add":
		f.seq++
		f.rules = append(f.rules, egressRule(fmt.Sprintf("oob-%d", f.seq), fmt.Sprintf("stray-%d", f.seq), freeNum(), "net.dst.port in {5}"))
	case "renumber":
		f.rules[eg[g.r.IntN(len(eg))]].Precedence = freeNum()
	case "edit":
		f.rules[eg[g.r.IntN(len(eg))]].Traffic = "net.dst.port in {39}"
	}
	f.sortLocked()
	return kind
}

// pin gives want the precedences a plan on the account all promises: those
// of the paired rules that neither move nor are created (as the resource's
// plan does).
func pin(all []cfapi.Rule, want []Desired) []Desired {
	p, err := PlanFor(all, want)
	if err != nil {
		return want
	}
	out := append([]Desired(nil), want...)
	moved := map[int]bool{}
	for _, o := range p.Ops {
		if o.Index >= 0 && (o.Kind == OpCreate || o.Move) {
			moved[o.Index] = true
		}
	}
	for i := range out {
		if out[i].ID != "" && !moved[i] {
			out[i].Precedence = p.Rules[i].Precedence
		}
	}
	return out
}

func nonIntruders(rs []cfapi.Rule) []cfapi.Rule {
	var out []cfapi.Rule
	for _, r := range rs {
		if !strings.HasPrefix(r.ID, "intruder-") {
			out = append(out, r)
		}
	}
	return out
}

// TestPropertyConverges: random sequences of inserts, deletes, moves, edits
// and renames from random starting lists (spaced, dense or scattered
// numbers, non-egress rules interleaved), with out-of-band drift and a
// random failing write, always converge to exactly the desired list: nothing
// orphaned or duplicated, in order, non-egress rules untouched, no
// intermediate precedence collision.
func TestPropertyConverges(t *testing.T) {
	seqs, steps := 150, 12
	if testing.Short() {
		seqs = 30
	}
	type agg struct{ applies, writes, pairs, flows, failed int }
	stats := map[string]*agg{}
	faults := map[string]int{}
	for seed := 0; seed < seqs; seed++ {
		g := &gen{r: rand.New(rand.NewPCG(uint64(seed), 42))}
		// Starting account: non-egress rules at random numbers.
		var rules []cfapi.Rule
		used := map[uint64]bool{}
		num := func(limit int) uint64 {
			for {
				p := uint64(1 + g.r.IntN(limit))
				if !used[p] {
					used[p] = true
					return p
				}
			}
		}
		for i, k := 0, g.r.IntN(15); i < k; i++ {
			rules = append(rules, otherRule(fmt.Sprintf("other-%d", i), fmt.Sprintf("other-%d", i), num(3000)))
		}
		n := g.r.IntN(30)
		var desired []Desired
		for i := 0; i < n; i++ {
			desired = append(desired, g.policy())
		}
		var f *fakeClient
		switch mode := seed % 3; mode {
		case 0: // created by this package
			f = newFake(rules...)
			res, err := Apply(ctx, f, "acc", desired, Options{Create: true})
			if err != nil {
				t.Fatalf("seed %d: initial apply: %v", seed, err)
			}
			desired = withIDs(desired, res)
		default: // imported: dense (consecutive free numbers) or scattered
			p := uint64(1 + g.r.IntN(50))
			for i := range desired {
				for used[p] {
					p++
				}
				prec := p
				if mode == 2 {
					prec = num(3000)
				}
				used[prec] = true
				r := ruleFor(desired[i], fmt.Sprintf("imp-%d", i), prec)
				rules = append(rules, r)
				desired[i].ID = r.ID
			}
			f = newFake(rules...)
			sort.SliceStable(desired, func(a, b int) bool {
				return f.rules[f.indexLocked(desired[a].ID)].Precedence < f.rules[f.indexLocked(desired[b].ID)].Precedence
			})
		}
		others := f.nonEgress()

		for step := 0; step < steps; step++ {
			want := desired
			var kinds []string
			for k := 1 + g.r.IntN(3); k > 0; k-- {
				var kind string
				want, kind = g.mutate(want)
				kinds = append(kinds, kind)
			}
			category := "mixed"
			if len(kinds) == 1 {
				category = kinds[0]
			} else if !strings.Contains(fmt.Sprint(kinds), "edit") && !strings.Contains(fmt.Sprint(kinds), "rename") {
				category = "mixed (no edit)"
			}
			// The plan is made from a refresh; out-of-band drift happens
			// before it (the plan shows it) or between plan and apply.
			drift := ""
			if g.r.IntN(5) == 0 {
				drift = "before"
				g.drift(f)
			}
			planned, opts := replan(f.all(), want)
			planned = pin(f.all(), planned)
			if drift == "" && g.r.IntN(5) == 0 {
				drift = "after:" + g.drift(f)
			}
			if drift != "" {
				category = "drift " + strings.SplitN(drift, ":", 2)[0] + "+" + category
			}
			f.resetCounters()
			mode := faultNone
			if g.r.IntN(2) == 0 {
				mode = []string{faultLostLanded, faultLostNotLanded, faultClash, faultVanish, faultFail}[g.r.IntN(5)]
				at := 1 + g.r.IntN(4)
				f.fault = func(k int, _ string, _ cfapi.Rule) string {
					if k == at {
						return mode
					}
					return faultNone
				}
			}
			res, err := Apply(ctx, f, "acc", planned, opts)
			st := stats[category]
			if st == nil {
				st = &agg{}
				stats[category] = st
			}
			st.applies++
			if mode == faultNone && drift == "" && err == nil {
				pairs, flows := misrouted(t, f.history, 40)
				st.pairs += pairs
				st.flows += flows
				st.writes += res.Writes
			}
			f.fault = nil
			var ace *AccountChangedError
			if drift == "after:add" {
				// A rule the plan did not show: stop before the first write.
				if !errors.As(err, &ace) || ace.Writes != 0 || len(res.Done) != 0 {
					t.Fatalf("seed %d step %d: a rule added after the plan: err %v, %d changes; want an AccountChangedError before any write", seed, step, err, len(res.Done))
				}
			} else if errors.As(err, &ace) && (mode != faultClash || len(ace.Conflicts) == 0) {
				// (Another writer taking a number the plan kept, or the only
				// free numbers between two kept rules, is a change the plan
				// did not foresee: stopping is right.)
				t.Fatalf("seed %d step %d (%s, fault %s): unexpected %v", seed, step, drift, mode, err)
			}
			if err != nil {
				st.failed++
				faults[mode]++
				checkPartial(t, f, res)
				w, opts := replan(f.all(), withIDs(planned, res))
				res, err = Apply(ctx, f, "acc", pin(f.all(), w), opts)
				if err != nil {
					t.Fatalf("seed %d step %d (%v, fault %s): retry failed: %v", seed, step, kinds, mode, err)
				}
			}
			assertConverged(t, f, want)
			f.checkHealthy(t, mode == faultClash)
			if got := nonIntruders(f.nonEgress()); !reflect.DeepEqual(got, others) {
				t.Fatalf("seed %d step %d: non-egress rules changed:\n got %v\nwant %v", seed, step, got, others)
			}
			desired = withIDs(want, res)
			if t.Failed() {
				t.Fatalf("seed %d step %d (%v, fault %s)", seed, step, kinds, mode)
			}
		}
	}
	var cats []string
	for c := range stats {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		s := stats[c]
		t.Logf("%-16s applies=%4d failed-then-retried=%3d writes(clean)=%5d misrouted flow-states=%d flows=%d", c, s.applies, s.failed, s.writes, s.pairs, s.flows)
		if (c == "insert" || c == "delete" || c == "move" || c == "mixed (no edit)") && s.pairs != 0 {
			t.Errorf("%s: %d misrouted flow-states, want 0", c, s.pairs)
		}
	}
	t.Logf("failed first applies by fault: %v", faults)
}
