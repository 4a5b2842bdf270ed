package reconcile

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// planByName pairs desired with cur by name, as a plan does (AdoptByName),
// and plans.
func planByName(t testing.TB, cur []cfapi.Rule, desired []Desired) ([]Desired, Plan) {
	t.Helper()
	d, _ := AdoptByName(cur, desired)
	p, err := PlanFor(cur, d)
	if err != nil {
		t.Fatal(err)
	}
	return d, p
}

// allKnown is the Options of an apply whose plan knew every egress rule of
// cur.
func allKnown(cur []cfapi.Rule) Options {
	var ids []string
	for _, r := range cur {
		if cfapi.IsEgress(r) {
			ids = append(ids, r.ID)
		}
	}
	return Options{Prior: ids}
}

func TestPlanPure(t *testing.T) {
	cur := []cfapi.Rule{
		egressRule("a", "A", 1000, "net.dst.port in {1}"),
		otherRule("x", "dns", 1500),
		egressRule("b", "B", 2000, "net.dst.port in {2}"),
		egressRule("c", "C", 3000, "net.dst.port in {3}"),
		egressRule("s", "stray", 4000, "net.dst.port in {4}"),
	}
	a, b, c := pol("A", 1), pol("B", 2), pol("C", 3)
	a.ID = "a" // b and c are paired by name
	_, p := planByName(t, cur, []Desired{c, a, pol("N", 9), b})
	var got []string
	for _, o := range p.Ops {
		got = append(got, o.String())
	}
	// C moves above A (midpoint of 0..1000), N goes between A and B (1500 is
	// the DNS rule's: next free), the stray rule is deleted last.
	want := []string{
		`move "C" (c) 3000 -> 500`,
		`create "N" at 1501`,
		`delete "stray" (s) at 4000`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ops:\n got %q\nwant %q", got, want)
	}
	if len(p.Deleted) != 1 || p.Deleted[0].ID != "s" {
		t.Errorf("deleted = %v", p.Deleted)
	}
	// Without IDs nothing pairs: PlanFor never pairs by name.
	if p, err := PlanFor(cur, []Desired{pol("A", 1)}); err != nil || len(p.Deleted) != 4 || p.Ops[0].Kind != OpCreate {
		t.Errorf("plan without IDs: %v %v, want a create and 4 deletes", p.Ops, err)
	}
	var precs []uint64
	for _, r := range p.Rules {
		precs = append(precs, r.Precedence)
	}
	if fmt.Sprint(precs) != "[500 1000 1501 2000]" {
		t.Errorf("final precedences %v", precs)
	}
	if cr, up, de := p.Counts(); cr != 1 || up != 1 || de != 1 || p.Writes() != 3 {
		t.Errorf("counts %d %d %d", cr, up, de)
	}
	// Content and place change in one PUT.
	c.Description = "changed"
	_, p = planByName(t, cur, []Desired{c, a, b})
	if len(p.Ops) != 2 || p.Ops[0].String() != `update "C" (c) and move 3000 -> 500` || p.Ops[0].Rule.Description != "changed" {
		t.Errorf("ops %v", p.Ops)
	}
}

func TestPlanOrderAndEarlyDelete(t *testing.T) {
	// Dense: A=1 D=2 (to delete) B=3 ... moving A below B must not leave it
	// behind D while D still exists, so D is deleted before the move.
	cur := []cfapi.Rule{
		egressRule("a", "A", 1, "net.dst.port in {1}"),
		egressRule("d", "D", 2, "net.dst.port in {1}"),
		egressRule("b", "B", 3, "net.dst.port in {2}"),
	}
	_, p := planByName(t, cur, []Desired{pol("B", 2), pol("A", 1)})
	if len(p.Ops) != 2 || p.Ops[0].Kind != OpDelete || p.Ops[1].Kind != OpUpdate || p.Ops[1].Rule.Precedence <= 3 {
		t.Errorf("ops %v, want the delete of D, then A moved below B", p.Ops)
	}
}

// bruteMinWrites finds the fewest writes over every choice of rules that keep
// their number, with the same rules (no number reused within an apply).
func bruteMinWrites(cur []cfapi.Rule, desired []Desired) int {
	match, unmanaged := pair(cur, desired)
	used := map[uint64]bool{}
	for _, r := range cur {
		used[r.Precedence] = true
	}
	freeBetween := func(lo, hi uint64) int {
		n := 0
		for x := lo + 1; x < hi; x++ {
			if !used[x] {
				n++
			}
		}
		return n
	}
	var paired []int
	for i, j := range match {
		if j >= 0 {
			paired = append(paired, i)
		}
	}
	best := -1
	for mask := 0; mask < 1<<len(paired); mask++ {
		kept := map[int]bool{}
		for b, i := range paired {
			if mask&(1<<b) != 0 {
				kept[i] = true
			}
		}
		ok, lastPos, lastPrec := true, -1, uint64(0)
		for i := 0; i <= len(desired) && ok; i++ {
			if i < len(desired) && !kept[i] {
				continue
			}
			need := i - lastPos - 1
			if i == len(desired) {
				break // above the last kept rule everything is free
			}
			p := cur[match[i]].Precedence
			if p <= lastPrec || freeBetween(lastPrec, p) < need {
				ok = false
			}
			lastPos, lastPrec = i, p
		}
		if !ok {
			continue
		}
		w := len(unmanaged)
		for i, d := range desired {
			if !kept[i] || !sameContent(cur[match[i]], d) {
				w++
			}
		}
		if best < 0 || w < best {
			best = w
		}
	}
	return best
}

func TestPlanFewestWritesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for iter := 0; iter < 2000; iter++ {
		// A small, crowded number space so that gaps matter.
		space := 4 + r.IntN(14)
		perm := r.Perm(space)
		var cur []cfapi.Rule
		var names []string
		k := 0
		for e := r.IntN(7); k < e && k < space; k++ {
			name := fmt.Sprintf("e%d", k)
			names = append(names, name)
			cur = append(cur, egressRule(name, name, uint64(perm[k]+1), fmt.Sprintf("net.dst.port in {%d}", k)))
		}
		for o := r.IntN(4); o > 0 && k < space; o, k = o-1, k+1 {
			cur = append(cur, otherRule(fmt.Sprintf("o%d", k), "other", uint64(perm[k]+1)))
		}
		var desired []Desired
		for _, i := range r.Perm(len(names)) {
			if r.IntN(5) == 0 {
				continue // deleted
			}
			d := pol(names[i], 0)
			d.Traffic = fmt.Sprintf("net.dst.port in {%s}", names[i][1:])
			if r.IntN(4) == 0 {
				d.Description = "edited"
			}
			desired = append(desired, d)
		}
		for n := r.IntN(3); n > 0; n-- {
			desired = insertAt(desired, r.IntN(len(desired)+1), pol(fmt.Sprintf("new%d", n), 100+n))
		}
		desired, p := planByName(t, cur, desired)
		if want := bruteMinWrites(cur, desired); p.Writes() != want {
			t.Fatalf("iter %d: plan has %d writes, brute force finds %d\ncurrent %+v\ndesired %+v\nops %v", iter, p.Writes(), want, cur, desired, p.Ops)
		}
		// Every assigned number was free; the plan runs cleanly and converges.
		taken := map[uint64]bool{}
		for _, r := range cur {
			taken[r.Precedence] = true
		}
		for _, o := range p.Ops {
			if o.Kind != OpDelete && o.Move || o.Kind == OpCreate {
				if taken[o.Rule.Precedence] {
					t.Fatalf("iter %d: %v reuses a number in use", iter, o)
				}
				taken[o.Rule.Precedence] = true
			}
		}
		f := newFake(cur...)
		f.resetCounters()
		res, err := Apply(ctx, f, "acc", desired, allKnown(cur))
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		if res.Writes != p.Writes() || f.calls() != p.Writes()+1 {
			t.Fatalf("iter %d: apply wrote %d (calls %d), plan said %d", iter, res.Writes, f.calls(), p.Writes())
		}
		assertConverged(t, f, desired)
		f.checkHealthy(t, false)
		if pairs, _ := misrouted(t, f.history, 110); pairs != 0 && len(desired) > 0 && singleChange(cur, desired) {
			t.Errorf("iter %d: single change misrouted %d flow-states", iter, pairs)
		}
	}
}

// singleChange reports whether desired differs from the current egress list
// by one insert, one delete or one move (no edits).
func singleChange(cur []cfapi.Rule, desired []Desired) bool {
	var old []string
	for _, r := range sortedRules(cur) {
		if cfapi.IsEgress(r) {
			old = append(old, r.Name)
		}
	}
	var nw []string
	for _, d := range desired {
		if d.Description != "" {
			return false
		}
		nw = append(nw, d.Name)
	}
	del := func(s []string, i int) []string { return append(append([]string(nil), s[:i]...), s[i+1:]...) }
	eq := func(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
	for i := range old {
		if eq(del(old, i), nw) {
			return true
		}
	}
	for i := range nw {
		if eq(del(nw, i), old) {
			return true // insert, or move when the name was already there
		}
		for j := range old {
			if old[j] == nw[i] && eq(del(nw, i), del(old, j)) {
				return true
			}
		}
	}
	return false
}

// sortedRules returns rules in precedence order (test helper).
func sortedRules(rs []cfapi.Rule) []cfapi.Rule {
	f := newFake(rs...)
	return f.all()
}

func benchPlan(b *testing.B, n int, dense bool) {
	var cur []cfapi.Rule
	var desired []Desired
	for i := 0; i < n; i++ {
		d := pol(fmt.Sprintf("p%04d", i), i)
		d.ID = fmt.Sprintf("id%d", i)
		p := uint64(i+1) * Spacing
		if dense {
			p = uint64(i + 1)
		}
		cur = append(cur, ruleFor(d, d.ID, p))
		desired = append(desired, d)
	}
	// Move the last to the top and insert one in the middle.
	desired = insertAt(append([]Desired{desired[n-1]}, desired[:n-1]...), n/2, pol("new", 9))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p, err := PlanFor(cur, desired); err != nil || p.Writes() == 0 {
			b.Fatal("no writes")
		}
	}
}

func BenchmarkPlan500(b *testing.B)       { benchPlan(b, 500, false) }
func BenchmarkPlan1000(b *testing.B)      { benchPlan(b, 1000, false) }
func BenchmarkPlan1000Dense(b *testing.B) { benchPlan(b, 1000, true) }
