package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// Issue 10: an apply never deletes or forgets what its plan did not show.

// TestSavedPlanKeepsRuleAddedAfterThePlan: the plan was made from six
// policies and inserts one; a colleague adds an egress rule before the
// apply. Apply must stop before its first write, name the rule, and leave
// the account as it is. (The provider-level and terraform-level versions of
// this reproduction are in internal/provider and internal/e2e.)
func TestSavedPlanKeepsRuleAddedAfterThePlan(t *testing.T) {
	f, prior := setup(t, pols(6))
	opts := from(prior)
	want := insertAt(prior, 3, pol("inserted", 77))
	f.rules = append(f.rules, egressRule("colleague-1", "added-by-colleague", 3500, "net.dst.port == 4242"))
	f.resetCounters()
	res, err := Apply(ctx, f, "acc", want, opts)
	var ace *AccountChangedError
	if !errors.As(err, &ace) {
		t.Fatalf("err = %v, want *AccountChangedError", err)
	}
	for _, s := range []string{`"added-by-colleague"`, "colleague-1", "precedence 3500", "Nothing was written", "terraform plan"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %s", err, s)
		}
	}
	if f.calls() != 1 || len(res.Done) != 0 || res.Writes != 0 {
		t.Errorf("%d calls, %d changes: want the list only", f.calls(), len(res.Done))
	}
	if len(f.egress()) != 7 {
		t.Errorf("the account has %d egress rules, want the 6 and the colleague's", len(f.egress()))
	}
	// Also when a rule the plan deletes is already gone: the stop records
	// nothing (the state stays exactly as it was).
	g, gprior := setup(t, pols(4))
	gwant := gprior[:3]
	if err := g.DeleteRule(ctx, "acc", gprior[3].ID); err != nil {
		t.Fatal(err)
	}
	g.rules = append(g.rules, egressRule("colleague-2", "another", 9999, "net.dst.port == 1"))
	if res, err := Apply(ctx, g, "acc", gwant, from(gprior)); !errors.As(err, &ace) || len(res.Done) != 0 {
		t.Errorf("err %v, done %+v: want a stop that records nothing", err, res.Done)
	}
	// The next plan (made from a refresh) knows the rule: applying it
	// deletes it, as that plan shows.
	w, o := replan(f.all(), want)
	if _, err := Apply(ctx, f, "acc", w, o); err != nil {
		t.Fatal(err)
	}
	assertConverged(t, f, want)
}

// TestFailedFirstListReportsNothingDone: the second reproduction at this
// level: when the first read fails, the result records no change at all
// (the provider then saves its prior state as it was).
func TestFailedFirstListReportsNothingDone(t *testing.T) {
	f, prior := setup(t, pols(7))
	want := append([]Desired(nil), prior...)
	want[2].Description = "edited"
	f.listFault = func(int) error { return &cfapi.Error{Kind: cfapi.KindServer, Op: "list rules", Status: 503} }
	res, err := Apply(ctx, f, "acc", want, from(prior))
	if err == nil || len(res.Done) != 0 || res.Writes != 0 || len(res.Recreated) != 0 {
		t.Fatalf("err %v, result %+v: want an error and nothing done", err, res)
	}
}

func TestVanishedRuleIsRecreatedAndGoneDeleteSucceeds(t *testing.T) {
	f, prior := setup(t, pols(6))
	want := append(append([]Desired(nil), prior[:4]...), prior[5]) // delete p004
	want = pin(f.all(), want)
	// Out of band, after the plan: p001 (kept) and p004 (to delete) are gone.
	for _, id := range []string{prior[1].ID, prior[4].ID} {
		if err := f.DeleteRule(ctx, "acc", id); err != nil {
			t.Fatal(err)
		}
	}
	f.resetCounters()
	res, err := Apply(ctx, f, "acc", want, from(prior))
	if err != nil {
		t.Fatal(err)
	}
	assertConverged(t, f, want)
	if fmt.Sprint(res.Recreated) != "[1]" || res.Rules[1].ID == prior[1].ID || res.Creates != 1 || res.Writes != 1 {
		t.Errorf("recreated %v, creates %d, writes %d: want p001 created again, one write", res.Recreated, res.Creates, res.Writes)
	}
	// In its place, between its neighbours.
	if p := res.Rules[1].Precedence; p <= res.Rules[0].Precedence || p >= res.Rules[2].Precedence {
		t.Errorf("recreated at %d, not between %d and %d", p, res.Rules[0].Precedence, res.Rules[2].Precedence)
	}
	var gone int
	for _, w := range res.Done {
		if w.Kind == OpDelete && w.Gone && w.Rule.ID == prior[4].ID {
			gone++
		}
	}
	if gone != 1 {
		t.Errorf("the planned delete of a rule already gone is not recorded as done: %+v", res.Done)
	}
}

func TestPromisedPrecedenceIsKept(t *testing.T) {
	f, prior := setup(t, pols(5))
	want := pin(f.all(), insertAt(prior, 2, pol("new", 9)))
	for i, d := range want {
		if (i == 2) != (d.Precedence == 0) {
			t.Fatalf("pins %+v: want every policy but the new one pinned", want)
		}
	}
	// A colleague moves p003 (pinned at 3000... precedence of index 3 in
	// want) elsewhere after the plan: the apply moves it back.
	moved := f.egress()[2]
	moved.Precedence = 99999
	if _, err := f.UpdateRule(ctx, "acc", moved); err != nil {
		t.Fatal(err)
	}
	f.resetCounters()
	res, err := Apply(ctx, f, "acc", want, from(prior))
	if err != nil {
		t.Fatal(err)
	}
	assertConverged(t, f, want)
	for i, d := range want {
		if d.Precedence != 0 && res.Rules[i].Precedence != d.Precedence {
			t.Errorf("policies[%d] at %d, the plan said %d", i, res.Rules[i].Precedence, d.Precedence)
		}
	}
	if res.Writes != 2 {
		t.Errorf("%d writes, want 2 (the insert and the move back)", res.Writes)
	}
	// A promised number now held by another rule: stop before any write.
	f2, prior2 := setup(t, pols(3))
	want2 := pin(f2.all(), prior2)
	r := f2.egress()[1]
	if err := f2.DeleteRule(ctx, "acc", r.ID); err != nil {
		t.Fatal(err)
	}
	f2.rules = append(f2.rules, otherRule("dns-x", "dns-x", r.Precedence))
	want2[1].ID = "" // (deleted: its pin is dropped; the others keep theirs)
	want2[1].Precedence = 0
	want2[0].Precedence = f2.egress()[1].Precedence // p000 promised p002's number
	f2.resetCounters()
	_, err = Apply(ctx, f2, "acc", want2, from(prior2))
	var ace *AccountChangedError
	if !errors.As(err, &ace) || len(ace.Conflicts) == 0 || f2.calls() != 1 {
		t.Errorf("err %v after %d calls, want a conflict before any write", err, f2.calls())
	}
}

// TestLostCreateAdoptedOnlyWhenItIsOurs: a create whose response was lost
// is adopted at the next read only when a rule nobody knew has its name,
// number and content; a colleague's rule with the same name elsewhere is
// not taken over (the apply stops instead).
func TestLostCreateAdoptedOnlyWhenItIsOurs(t *testing.T) {
	f, prior := setup(t, pols(4))
	want := insertAt(prior, 2, pol("new", 9))
	f.fault = faultOn(1, "create", faultLostLanded)
	res, err := Apply(ctx, f, "acc", want, from(prior))
	if err != nil {
		t.Fatal(err)
	}
	assertConverged(t, f, want)
	if res.Creates != 1 || len(res.Done) != 1 || !res.Done[0].Verified {
		t.Errorf("done %+v, want one verified create", res.Done)
	}

	f, prior = setup(t, pols(4))
	want = insertAt(prior, 2, pol("new", 9))
	f.fault = func(n int, op string, r cfapi.Rule) string {
		if n == 1 {
			// The create is lost; meanwhile a colleague made a rule with
			// the same name at another number.
			f.seq++
			f.rules = append(f.rules, egressRule("colleague-2", "new", 77777, "net.dst.port in {9}"))
			return faultLostNotLanded
		}
		return faultNone
	}
	res, err = Apply(ctx, f, "acc", want, from(prior))
	var ace *AccountChangedError
	if !errors.As(err, &ace) || len(ace.Unknown) != 1 || ace.Unknown[0].ID != "colleague-2" {
		t.Fatalf("err %v, want an AccountChangedError naming the colleague's rule", err)
	}
	if len(res.Done) != 0 {
		t.Errorf("done %+v, want nothing", res.Done)
	}
}

// stateAfter is what the provider's state holds after Apply: the rules of
// the prior state (as the plan saw them) plus exactly res.Done.
func stateAfter(prior []cfapi.Rule, res Result) map[string]cfapi.Rule {
	m := map[string]cfapi.Rule{}
	for _, r := range prior {
		if cfapi.IsEgress(r) {
			m[r.ID] = r
		}
	}
	for _, w := range res.Done {
		switch w.Kind {
		case OpCreate, OpUpdate:
			m[w.Rule.ID] = w.Rule
		case OpDelete:
			delete(m, w.Rule.ID)
		}
	}
	return m
}

func desiredOfRule(r cfapi.Rule) Desired {
	return Desired{Name: r.Name, Description: r.Description, Enabled: r.Enabled, Traffic: r.Traffic,
		Identity: r.Identity, DevicePosture: r.DevicePosture, Egress: r.Egress}
}

// checkExact fails unless the account's egress rules are exactly the prior
// state plus res.Done (IDs, precedences, content), every write wrote the
// desired content, and no rule the plan did not delete is gone.
func checkExact(t *testing.T, where string, prior []cfapi.Rule, want []Desired, opts Options, res Result, f *fakeClient) {
	t.Helper()
	model := stateAfter(prior, res)
	got := f.egress()
	ids := func(m map[string]cfapi.Rule) []string {
		var out []string
		for id := range m {
			out = append(out, id)
		}
		sort.Strings(out)
		return out
	}
	acc := map[string]cfapi.Rule{}
	for _, r := range got {
		acc[r.ID] = r
	}
	if !reflect.DeepEqual(ids(model), ids(acc)) {
		t.Fatalf("%s: prior+done holds %v, the account %v (done %+v)", where, ids(model), ids(acc), res.Done)
	}
	for id, m := range model {
		a := acc[id]
		if a.Precedence != m.Precedence || !sameContent(a, desiredOfRule(m)) {
			t.Fatalf("%s: rule %s is %q@%d in the account, %q@%d in prior+done", where, id, a.Name, a.Precedence, m.Name, m.Precedence)
		}
	}
	for _, w := range res.Done {
		if w.Index >= 0 && !sameContent(w.Rule, want[w.Index]) {
			t.Fatalf("%s: write %+v does not hold policies[%d]", where, w, w.Index)
		}
	}
	deletable := map[string]bool{}
	for _, id := range opts.Prior {
		deletable[id] = true
	}
	for _, d := range want {
		delete(deletable, d.ID)
	}
	for _, r := range prior {
		if _, still := acc[r.ID]; cfapi.IsEgress(r) && !still && !deletable[r.ID] {
			t.Fatalf("%s: rule %q (%s) was deleted, but the plan kept it", where, r.Name, r.ID)
		}
	}
	if len(res.Unverified) != 0 {
		t.Fatalf("%s: unverified writes %v although the account could be read", where, res.Unverified)
	}
}

// TestFailureAtEveryStep: randomized applies (inserts, deletes, moves,
// edits, renames; spaced or dense starting numbers; other Gateway rules
// interleaved). Each apply runs once without faults to count its API calls,
// then once per call and fault: the call fails (a plain error, a lost
// response whether or not the write landed, the context canceled before
// the write, or canceled after it landed; for lists: an error or a
// cancellation). Every run must leave the account equal to the prior state
// plus exactly the changes the result reports, delete nothing the plan did
// not delete, never touch other rules, and a re-plan and re-apply must
// converge.
func TestFailureAtEveryStep(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 40
	}
	writeModes := []string{faultFail, faultLostLanded, faultLostNotLanded, faultCanceled, "canceled-landed"}
	listModes := []string{"list-fail", "list-canceled"}
	var applies, runs, failed, absorbed, steps, expected, inFlight int
	byMode := map[string]int{}
	for seed := 0; seed < seeds; seed++ {
		g := &gen{r: rand.New(rand.NewPCG(uint64(seed), 10))}
		var others []cfapi.Rule
		for i, k := 0, g.r.IntN(8); i < k; i++ {
			others = append(others, otherRule(fmt.Sprintf("o%d", i), fmt.Sprintf("other-%d", i), uint64(1+g.r.IntN(9000))*3))
		}
		base := newFake(dedupPrec(others)...)
		var desired []Desired
		for i, n := 0, 2+g.r.IntN(20); i < n; i++ {
			desired = append(desired, g.policy())
		}
		res, err := Apply(ctx, base, "acc", desired, Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		desired = withIDs(desired, res)
		want := desired
		for k := 1 + g.r.IntN(6); k > 0; k-- {
			want, _ = g.mutate(want)
		}
		planned, opts := replan(base.all(), want)
		planned = pin(base.all(), planned)
		prior := base.egress()

		dry := base.clone()
		if _, err := Apply(ctx, dry, "acc", planned, opts); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		total := dry.calls()
		applies++
		steps += total
		expected += dry.writes*len(writeModes) + dry.lists*len(listModes)
		for k := 1; k <= total; k++ {
			for _, mode := range append(append([]string(nil), writeModes...), listModes...) {
				f := base.clone()
				if seed%4 == 0 {
					// Writes that take a while, so that several are in
					// flight when the fault hits (default concurrency).
					f.pause = 100 * time.Microsecond
				}
				c, cancel := context.WithCancel(ctx)
				hit := false
				f.listFault = func(int) error {
					if f.lists+f.writes != k || !strings.HasPrefix(mode, "list-") {
						return nil
					}
					hit = true
					if mode == "list-canceled" {
						cancel()
						return canceled("list rules")
					}
					return &cfapi.Error{Kind: cfapi.KindServer, Op: "list rules", Status: 502}
				}
				f.fault = func(int, string, cfapi.Rule) string {
					if f.lists+f.writes != k || strings.HasPrefix(mode, "list-") {
						return faultNone
					}
					hit = true
					switch mode {
					case faultCanceled:
						cancel()
					case "canceled-landed":
						cancel()
						return faultLostLanded
					}
					return mode
				}
				res, err := Apply(c, f, "acc", planned, opts)
				cancel()
				if !hit {
					continue // this call is a list (write modes) or a write (list modes)
				}
				runs++
				byMode[mode]++
				if f.maxInFlight > 1 {
					inFlight++
				}
				where := fmt.Sprintf("seed %d, fault %s at call %d of %d", seed, mode, k, total)
				f.listFault, f.fault = nil, nil
				checkExact(t, where, prior, planned, opts, res, f)
				f.checkHealthy(t, false)
				if err == nil {
					absorbed++
					assertConverged(t, f, want)
					continue
				}
				failed++
				w, o := replan(f.all(), withIDs(planned, res))
				if _, err := Apply(ctx, f, "acc", pin(f.all(), w), o); err != nil {
					t.Fatalf("%s: re-apply: %v", where, err)
				}
				assertConverged(t, f, want)
			}
		}
	}
	t.Logf("%d randomized applies, %d API calls in all: %d fault-injected runs (%v), %d of them with several writes in flight; %d failed and were re-applied, %d absorbed by the apply itself",
		applies, steps, runs, byMode, inFlight, failed, absorbed)
	if inFlight == 0 {
		t.Error("no run had several writes in flight: the concurrent path was not exercised")
	}
	if runs != expected {
		t.Errorf("%d runs, want %d (every call of every apply, every fault)", runs, expected)
	}
}

// dedupPrec drops rules whose precedence repeats.
func dedupPrec(rs []cfapi.Rule) []cfapi.Rule {
	seen := map[uint64]bool{}
	var out []cfapi.Rule
	for _, r := range rs {
		if !seen[r.Precedence] {
			seen[r.Precedence] = true
			out = append(out, r)
		}
	}
	return out
}

// TestLostCreateLandingLateIsFoundOrReported: an apply stopped (here by a
// cancellation) with a create whose response was lost looks for it again a
// moment later when the first read does not show it (a request its client
// gave up on can still be processed); when it never shows, the result
// reports it as unverified instead of saying nothing.
func TestLostCreateLandingLateIsFoundOrReported(t *testing.T) {
	saved := verifyAgainAfter
	verifyAgainAfter = time.Millisecond
	defer func() { verifyAgainAfter = saved }()
	for _, lands := range []bool{true, false} {
		f, prior := setup(t, pols(3))
		want := insertAt(prior, 1, pol("late", 9))
		c, cancel := context.WithCancel(ctx)
		var sent cfapi.Rule
		f.fault = func(_ int, op string, r cfapi.Rule) string {
			if op == "create" {
				sent = r
				cancel()
				return faultLostNotLanded
			}
			return faultNone
		}
		f.listFault = func(n int) error {
			if n == 3 && lands { // the apply's list, the first check, then it lands
				f.seq++
				r := cloneRule(sent)
				r.ID = fmt.Sprintf("late-%d", f.seq)
				f.rules = append(f.rules, r)
			}
			return nil
		}
		res, err := Apply(c, f, "acc", want, from(prior))
		cancel()
		if err == nil {
			t.Fatal("want the cancellation")
		}
		if lands {
			if len(res.Done) != 1 || res.Done[0].Kind != OpCreate || !res.Done[0].Verified || len(res.Unverified) != 0 {
				t.Errorf("landed late: done %+v, unverified %v; want the create found", res.Done, res.Unverified)
			}
		} else if len(res.Done) != 0 || len(res.Unverified) != 1 || res.Unverified[0].Rule.Name != "late" {
			t.Errorf("never landed: done %+v, unverified %v; want the create reported as unverified", res.Done, res.Unverified)
		}
	}
}
