package reconcile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// applyOps returns rules after ops (creates get IDs from their index).
func applyOps(rules []cfapi.Rule, ops []Op) []cfapi.Rule {
	out := cloneRules(rules)
	for _, o := range ops {
		switch o.Kind {
		case OpCreate:
			r := cloneRule(o.Rule)
			r.ID = fmt.Sprintf("new-%d", o.Index)
			out = append(out, r)
		case OpUpdate:
			for i := range out {
				if out[i].ID == o.Rule.ID {
					out[i] = cloneRule(o.Rule)
				}
			}
		case OpDelete:
			out = slices.DeleteFunc(out, func(r cfapi.Rule) bool { return r.ID == o.Rule.ID })
		}
	}
	slices.SortStableFunc(out, func(a, b cfapi.Rule) int { return int(a.Precedence) - int(b.Precedence) })
	return out
}

// TestPhasesEverySubsetIsSafe is the proof of the concurrent path, checked
// by evaluation rather than by the model that built the phases: for random
// applies (inserts, deletes, moves, edits of policies whose port sets
// overlap or not, spaced or dense numbers), every subset of every phase,
// applied on top of the phases before it, sends every sample flow to its
// old or its new decision whenever the sequential order does, and the
// phases end where the plan ends.
func TestPhasesEverySubsetIsSafe(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	const ports = 40
	var plans, writes, concurrent, subsets, maxPhase int
	for seed := 0; seed < seeds; seed++ {
		g := &gen{r: rand.New(rand.NewPCG(uint64(seed), 77))}
		n := 2 + g.r.IntN(14)
		var desired []Desired
		for i := 0; i < n; i++ {
			d := g.policy()
			if g.r.IntN(3) == 0 { // many disjoint policies: one port each, far apart
				d = portsPol(d.Name, d.Egress, 100+seed%50*20+i)
			}
			desired = append(desired, d)
		}
		f := newFake(otherRule("o1", "dns", 1500))
		res, err := Apply(ctx, f, "acc", desired, Options{Create: true, MaxConcurrentWrites: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := withIDs(desired, res)
		for k := 1 + g.r.IntN(4); k > 0; k-- {
			want, _ = g.mutate(want)
		}
		all := f.all()
		p, err := PlanFor(all, want)
		if err != nil {
			t.Fatal(err)
		}
		old := f.egress()
		oldD := decisions(t, old, ports)
		newD := decisions(t, applyOps(old, p.Ops), ports)
		// Whether the sequential order itself is safe.
		seqSafe := true
		state := old
		for _, o := range p.Ops {
			state = applyOps(state, []Op{o})
			for i, d := range decisions(t, state, ports) {
				if d != oldD[i] && d != newD[i] {
					seqSafe = false
				}
			}
		}
		phs := phases(old, &p, p.Ops)
		var flat []Op
		for _, ph := range phs {
			flat = append(flat, ph...)
		}
		if len(flat) != len(p.Ops) {
			t.Fatalf("seed %d: phases hold %d ops, the plan %d", seed, len(flat), len(p.Ops))
		}
		plans++
		writes += len(p.Ops)
		base := old
		for _, ph := range phs {
			maxPhase = max(maxPhase, len(ph))
			if len(ph) > 1 {
				concurrent += len(ph)
			}
			if len(ph) > 12 {
				t.Fatalf("seed %d: a phase of %d writes: too many subsets to check", seed, len(ph))
			}
			for mask := 1; mask < 1<<len(ph); mask++ {
				var sub []Op
				for j := range ph {
					if mask&(1<<j) != 0 {
						sub = append(sub, ph[j])
					}
				}
				subsets++
				if !seqSafe {
					continue
				}
				for i, d := range decisions(t, applyOps(base, sub), ports) {
					if d != oldD[i] && d != newD[i] {
						t.Fatalf("seed %d: phase %v, subset %v: port %d goes to %s, neither old %s nor new %s", seed, ph, sub, i+1, d, oldD[i], newD[i])
					}
				}
			}
			base = applyOps(base, ph)
		}
		for i, d := range decisions(t, base, ports) {
			if d != newD[i] {
				t.Fatalf("seed %d: the phases end elsewhere than the plan (port %d)", seed, i+1)
			}
		}
	}
	t.Logf("%d plans, %d writes, %d of them in phases of several (largest %d), %d subsets checked", plans, writes, concurrent, maxPhase, subsets)
	if concurrent == 0 {
		t.Error("no phase had more than one write: the concurrent path was not exercised")
	}
}

// TestConcurrentWritesRunTogether: creating 40 disjoint policies keeps 4
// writes in flight (1 with MaxConcurrentWrites 1); a catch-all at the end
// overlaps them all and is written last, after every other create landed,
// so no intermediate list sends a flow to the catch-all that a policy above
// it will take.
func TestConcurrentWritesRunTogether(t *testing.T) {
	want := pols(40)
	want = append(want, Desired{Name: "catch-all", Enabled: true, Traffic: "net.dst.port in {1..65535}", Egress: egressLAX})
	for _, workers := range []int{1, 4} {
		f := newFake()
		f.pause = time.Millisecond
		res, err := Apply(ctx, f, "acc", want, Options{Create: true, MaxConcurrentWrites: workers})
		if err != nil {
			t.Fatal(err)
		}
		assertConverged(t, f, want)
		if f.maxInFlight != workers {
			t.Errorf("MaxConcurrentWrites %d: %d writes in flight at most", workers, f.maxInFlight)
		}
		if res.Writes != 41 || f.calls() != 42 {
			t.Errorf("%d writes, %d calls; want 41 and 42", res.Writes, f.calls())
		}
		for k, h := range f.history[:len(f.history)-1] {
			for _, r := range h {
				if r.Name == "catch-all" {
					t.Errorf("intermediate list %d of %d already has the catch-all", k, len(f.history))
				}
			}
		}
		f.checkHealthy(t, false)
	}
}

// TestConcurrentFailureStopsNewWrites: a write fails while others are in
// flight: those finish and are recorded, no new write starts once the apply
// has seen the failure, the error names the policy that failed, the account
// is exactly the prior state plus Done, and a resumed apply finishes. (A
// write in flight may complete in the instant between the failing write's
// answer and the apply seeing it, and its worker start one more: at most
// 2 × (workers-1) writes arrive after the failing one, never the rest.)
func TestConcurrentFailureStopsNewWrites(t *testing.T) {
	const workers, k = 4, 10
	for _, mode := range []string{faultFail, faultLostNotLanded, faultNotOwned} {
		t.Run(mode, func(t *testing.T) {
			f := newFake(otherRule("", "dns", 3000))
			f.pause = time.Millisecond
			want := pols(40)
			var failed string
			f.fault = func(n int, _ string, r cfapi.Rule) string {
				if n == k {
					failed = r.Name
					return mode
				}
				return faultNone
			}
			res, err := Apply(ctx, f, "acc", want, Options{Create: true, MaxConcurrentWrites: workers})
			if mode == faultLostNotLanded {
				// A lost response is verified and the apply goes on.
				if err != nil {
					t.Fatal(err)
				}
				assertConverged(t, f, want)
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", failed)) {
				t.Errorf("error %q does not name the policy %q whose write failed", err, failed)
			}
			var we *WriteError
			if !errors.As(err, &we) || want[we.Op.Index].Name != failed {
				t.Errorf("error %v: want a *WriteError for %q", err, failed)
			}
			if f.arrived > k+2*(workers-1) {
				t.Errorf("%d writes arrived with a failure at write %d and %d workers: new writes started after the failure", f.arrived, k, workers)
			}
			checkExact(t, mode, nil, want, Options{}, res, f)
			if res.Creates != k-1 && res.Creates > f.writes-1 {
				t.Errorf("%d creates recorded of %d writes", res.Creates, f.writes)
			}
			f.fault = nil
			var ids []string
			for _, w := range res.Done {
				ids = append(ids, w.Rule.ID)
			}
			if _, err := Apply(ctx, f, "acc", withIDs(want, res), Options{Prior: ids}); err != nil {
				t.Fatal(err)
			}
			assertConverged(t, f, want)
		})
	}
}
