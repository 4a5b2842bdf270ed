package reconcile

import (
	"math/rand/v2"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// TestUnsafeMatchesBruteForce checks the misrouting condition against every
// set of matched rules on small random old/new/intermediate lists.
func TestUnsafeMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	minOf := func(order []string, set map[string]bool) string {
		for _, k := range order {
			if set[k] {
				return k
			}
		}
		return "none"
	}
	for iter := 0; iter < 5000; iter++ {
		universe := []string{"a", "b", "c", "d", "e", "f"}[:2+r.IntN(5)]
		var iOrder, fOrder []string
		for _, k := range universe {
			switch r.IntN(4) {
			case 0:
				iOrder = append(iOrder, k) // deleted
			case 1:
				fOrder = append(fOrder, k) // created
			default:
				iOrder = append(iOrder, k)
				fOrder = append(fOrder, k)
			}
		}
		r.Shuffle(len(iOrder), func(i, j int) { iOrder[i], iOrder[j] = iOrder[j], iOrder[i] })
		r.Shuffle(len(fOrder), func(i, j int) { fOrder[i], fOrder[j] = fOrder[j], fOrder[i] })
		var state []mbbRule
		var sOrder []string
		for i, k := range r.Perm(len(universe)) {
			if r.IntN(4) != 0 {
				state = append(state, mbbRule{universe[k], uint64(i + 1)})
				sOrder = append(sOrder, universe[k])
			}
		}
		m := &mbbModel{iOrder: iOrder, fOrder: fOrder}
		got := m.unsafe(state) > 0
		want := false
		for mask := 1; mask < 1<<len(universe); mask++ {
			set := map[string]bool{}
			for b, k := range universe {
				if mask&(1<<b) != 0 {
					set[k] = true
				}
			}
			s := minOf(sOrder, set)
			if s != minOf(iOrder, set) && s != minOf(fOrder, set) {
				want = true
				break
			}
		}
		if got != want {
			t.Fatalf("I=%v F=%v S=%v: unsafe=%v, brute force=%v", iOrder, fOrder, sOrder, got, want)
		}
	}
}

// An insert above a rule that moves up past its old predecessor: creating
// first keeps every intermediate list safe (the default order moves first).
func TestSafeOrderCreatesBeforeMove(t *testing.T) {
	cur := []cfapi.Rule{
		egressRule("a", "A", 1000, "net.dst.port in {1}"),
		egressRule("b", "B", 2000, "net.dst.port in {23}"),
		egressRule("c", "C", 3000, "net.dst.port in {23}"),
	}
	want := []Desired{pol("A", 1), pol("X", 23), pol("C", 23), pol("B", 23)}
	want[2].Traffic, want[3].Traffic = "net.dst.port in {23}", "net.dst.port in {23}"
	want, p := planByName(t, cur, want)
	if len(p.Ops) != 2 || p.Ops[0].Kind != OpCreate {
		t.Fatalf("ops %v, want the create first", p.Ops)
	}
	f := newFake(cur...)
	f.resetCounters()
	if _, err := Apply(ctx, f, "acc", want, allKnown(cur)); err != nil {
		t.Fatal(err)
	}
	if pairs, _ := misrouted(t, f.history, 30); pairs != 0 {
		t.Errorf("%d misrouted flow-states", pairs)
	}
}
