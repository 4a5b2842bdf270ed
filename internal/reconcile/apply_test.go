package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

var ctx = context.Background()

// pol builds a desired policy matching one destination port.
func pol(name string, port int) Desired {
	return Desired{Name: name, Enabled: true, Traffic: fmt.Sprintf("net.dst.port in {%d}", port)}
}

// pols builds n desired policies named p000, p001, ... on ports 1000+i.
func pols(n int) []Desired {
	out := make([]Desired, n)
	for i := range out {
		out[i] = pol(fmt.Sprintf("p%03d", i), 1000+i)
	}
	return out
}

// withIDs returns desired with the IDs Apply reported (the provider's next
// prior state).
func withIDs(desired []Desired, res Result) []Desired {
	out := append([]Desired(nil), desired...)
	for i := range out {
		if i < len(res.Rules) {
			out[i].ID = res.Rules[i].ID
		}
	}
	return out
}

func insertAt(ds []Desired, i int, d Desired) []Desired {
	out := append([]Desired(nil), ds[:i]...)
	out = append(out, d)
	return append(out, ds[i:]...)
}

// assertConverged checks the account's egress rules are exactly desired, in
// order, by meaning: nothing orphaned, nothing duplicated.
func assertConverged(t testing.TB, f *fakeClient, desired []Desired) {
	t.Helper()
	got := f.egress()
	if len(got) != len(desired) {
		t.Fatalf("account has %d egress rules, want %d: %v", len(got), len(desired), names(got))
	}
	for i, d := range desired {
		if !sameContent(got[i], d) {
			t.Fatalf("egress rule %d is %+v, want %+v", i, got[i], d)
		}
	}
}

func names(rs []cfapi.Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

// from is the Options of an update whose plan was made from prior.
func from(prior []Desired) Options {
	var ids []string
	for _, d := range prior {
		if d.ID != "" {
			ids = append(ids, d.ID)
		}
	}
	return Options{Prior: ids}
}

// refreshed is the Options of an update whose plan was made from a fresh
// read of the account (every egress rule in the prior state).
func refreshed(f *fakeClient) Options {
	var ids []string
	for _, r := range f.egress() {
		ids = append(ids, r.ID)
	}
	return Options{Prior: ids}
}

// replan is what the provider's next plan gives Apply after a refresh:
// every egress rule of the account is in the prior state, and policies pair
// with them by ID, then by name (as the resource's plan pairs them).
func replan(all []cfapi.Rule, want []Desired) ([]Desired, Options) {
	var ids []string
	present := map[string]bool{}
	for _, r := range all {
		if cfapi.IsEgress(r) {
			ids = append(ids, r.ID)
			present[r.ID] = true
		}
	}
	w := append([]Desired(nil), want...)
	for i := range w {
		w[i].Precedence = 0 // a new plan makes its own promises
		if !present[w[i].ID] {
			w[i].ID = ""
		}
	}
	w, _ = AdoptByName(all, w)
	return w, Options{Prior: ids}
}

// setup creates desired through Apply on an account that has a few
// non-egress rules, and resets the fake's counters.
func setup(t testing.TB, desired []Desired) (*fakeClient, []Desired) {
	t.Helper()
	f := newFake(otherRule("", "dns-a", 1500), otherRule("", "http-b", 7), otherRule("", "net-c", 100000))
	res, err := Apply(ctx, f, "acc", desired, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	assertConverged(t, f, desired)
	f.resetCounters()
	return f, withIDs(desired, res)
}

func TestApplyNewListIsSpacedAndAvoidsOtherRules(t *testing.T) {
	f := newFake(otherRule("", "dns", 2000))
	res, err := Apply(ctx, f, "acc", pols(3), Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, r := range res.Rules {
		got = append(got, r.Precedence)
	}
	// 2000 belongs to the DNS rule: the second policy takes the next free number.
	if want := []uint64{1000, 2001, 3000}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("precedences = %v, want %v", got, want)
	}
	if res.Writes != 3 || res.Creates != 3 || res.Calls != 4 || f.calls() != 4 {
		t.Errorf("writes=%d creates=%d calls=%d fake calls=%d, want 3/3/4/4", res.Writes, res.Creates, res.Calls, f.calls())
	}
	f.checkHealthy(t, false)
}

func TestApplyScenarios(t *testing.T) {
	for _, n := range []int{10, 100, 500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			base := pols(n)

			t.Run("no-op is one call", func(t *testing.T) {
				f, prior := setup(t, base)
				f.reformat = true
				res, err := Apply(ctx, f, "acc", prior, from(prior))
				if err != nil {
					t.Fatal(err)
				}
				if res.Writes != 0 || f.calls() != 1 {
					t.Errorf("writes=%d calls=%d, want 0 writes and 1 call", res.Writes, f.calls())
				}
			})

			t.Run("insert in the middle is one write", func(t *testing.T) {
				f, prior := setup(t, base)
				before := f.egress()
				want := insertAt(prior, n/2, pol("new", 9))
				res, err := Apply(ctx, f, "acc", want, from(prior))
				if err != nil {
					t.Fatal(err)
				}
				if res.Writes != 1 || res.Creates != 1 || f.calls() != 2 {
					t.Errorf("writes=%d creates=%d calls=%d, want 1/1/2", res.Writes, res.Creates, f.calls())
				}
				assertConverged(t, f, want)
				after := f.egress()
				for i, r := range before { // nobody else was renumbered
					j := i
					if i >= n/2 {
						j++
					}
					if after[j].ID != r.ID || after[j].Precedence != r.Precedence {
						t.Fatalf("rule %q moved: %d -> %d", r.Name, r.Precedence, after[j].Precedence)
					}
				}
				f.checkHealthy(t, false)
			})

			t.Run("move bottom to top is one write", func(t *testing.T) {
				f, prior := setup(t, base)
				want := append([]Desired{prior[n-1]}, prior[:n-1]...)
				res, err := Apply(ctx, f, "acc", want, from(prior))
				if err != nil {
					t.Fatal(err)
				}
				if res.Writes != 1 || res.Updates != 1 || f.calls() != 2 {
					t.Errorf("writes=%d updates=%d calls=%d, want 1/1/2", res.Writes, res.Updates, f.calls())
				}
				assertConverged(t, f, want)
				f.checkHealthy(t, false)
			})

			t.Run("delete one is one write", func(t *testing.T) {
				f, prior := setup(t, base)
				want := append(append([]Desired(nil), prior[:n/3]...), prior[n/3+1:]...)
				res, err := Apply(ctx, f, "acc", want, from(prior))
				if err != nil {
					t.Fatal(err)
				}
				if res.Writes != 1 || res.Deletes != 1 || f.calls() != 2 {
					t.Errorf("writes=%d deletes=%d calls=%d, want 1/1/2", res.Writes, res.Deletes, f.calls())
				}
				assertConverged(t, f, want)
			})

			t.Run("edit one is one write", func(t *testing.T) {
				f, prior := setup(t, base)
				want := append([]Desired(nil), prior...)
				want[n/4].Description = "edited"
				want[n/4].Egress = &cfapi.EgressSettings{IPv4: "203.0.113.1", IPv6: "2001:db8::/64", IPv4Fallback: "0.0.0.0"}
				res, err := Apply(ctx, f, "acc", want, from(prior))
				if err != nil {
					t.Fatal(err)
				}
				if res.Writes != 1 || res.Updates != 1 || f.calls() != 2 {
					t.Errorf("writes=%d updates=%d calls=%d, want 1/1/2", res.Writes, res.Updates, f.calls())
				}
				if got := f.egress()[n/4].Precedence; got != res.Rules[n/4].Precedence || got != uint64(n/4+1)*Spacing {
					t.Errorf("edited rule moved to %d", got)
				}
				assertConverged(t, f, want)
			})
		})
	}
}

func TestInsertsAtTheSameSpotSplitGapsThenRenumberFew(t *testing.T) {
	f, prior := setup(t, pols(20))
	want := prior
	total := 0
	for k := 0; k < 15; k++ { // always right after p009: halves the gap each time
		want = insertAt(want, 10, pol(fmt.Sprintf("ins%02d", k), 5000+k))
		f.resetCounters()
		res, err := Apply(ctx, f, "acc", want, refreshed(f))
		if err != nil {
			t.Fatal(err)
		}
		want = withIDs(want, res)
		assertConverged(t, f, want)
		f.checkHealthy(t, false)
		total += res.Writes
		if k < 9 && res.Writes != 1 { // 1000 -> 500 -> 250 ... 1: nine midpoints fit
			t.Errorf("insert %d: %d writes, want 1", k, res.Writes)
		}
	}
	t.Logf("15 inserts at one spot: %d writes", total)
	if total > 15+10 {
		t.Errorf("15 inserts at one spot cost %d writes", total)
	}
}

func TestNoOpComparesByMeaning(t *testing.T) {
	d := Desired{ID: "r1", Name: "a", Enabled: true, Traffic: "net.dst.ip in {10.0.0.0/8} and net.dst.port == 443",
		Egress: &cfapi.EgressSettings{IPv4: "203.0.113.1", IPv6: "2001:DB8::/64", IPv4Fallback: "0.0.0.0"}}
	stored := egressRule("r1", "a", 1000, "net.dst.ip in {10.0.0.0/8} && net.dst.port == 443")
	stored.Egress = &cfapi.EgressSettings{IPv4: "203.0.113.1", IPv6: "2001:db8::/64", IPv4Fallback: "0.0.0.0"}
	empty := egressRule("r2", "b", 2000, "net.dst.port == 80")
	empty.Egress = &cfapi.EgressSettings{}
	f := newFake(stored, empty)
	b := Desired{ID: "r2", Name: "b", Enabled: true, Traffic: "net.dst.port == 80"}
	res, err := Apply(ctx, f, "acc", []Desired{d, b}, Options{Prior: []string{"r1", "r2"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 0 || f.calls() != 1 {
		t.Errorf("writes=%d calls=%d, want 0 and 1", res.Writes, f.calls())
	}
	// A real change is seen.
	d.Egress.IPv4Fallback = ""
	if p, err := PlanFor(f.all(), []Desired{d, b}); err != nil || p.Writes() != 1 {
		t.Errorf("dropping the fallback: %d writes planned, want 1", p.Writes())
	}
}

func TestDenseImportedNumbers(t *testing.T) {
	// Egress rules at 1..n, non-egress rules interleaved right above them.
	for _, n := range []int{10, 100, 500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var rules []cfapi.Rule
			var prior []Desired
			for i := 0; i < n; i++ {
				rules = append(rules, egressRule(fmt.Sprintf("e%d", i), fmt.Sprintf("p%03d", i), uint64(2*i+1), fmt.Sprintf("net.dst.port in {%d}", 1000+i)))
				rules = append(rules, otherRule(fmt.Sprintf("o%d", i), fmt.Sprintf("o%d", i), uint64(2*i+2)))
				d := pol(fmt.Sprintf("p%03d", i), 1000+i)
				d.ID = fmt.Sprintf("e%d", i)
				prior = append(prior, d)
			}
			f := newFake(rules...)
			others := f.nonEgress()
			res, err := Apply(ctx, f, "acc", prior, from(prior))
			if err != nil || res.Writes != 0 {
				t.Fatalf("import no-op: writes=%d err=%v", res.Writes, err)
			}
			// Insert after position 3*n/4: no free number between its
			// neighbours; the fewest renumbered rules is the tail.
			at := 3 * n / 4
			want := insertAt(prior, at, pol("new", 7))
			f.resetCounters()
			res, err = Apply(ctx, f, "acc", want, from(prior))
			if err != nil {
				t.Fatal(err)
			}
			assertConverged(t, f, want)
			f.checkHealthy(t, false)
			if wantWrites := n - at + 1; res.Writes != wantWrites {
				t.Errorf("dense insert at %d of %d: %d writes, want %d (the tail + 1)", at, n, res.Writes, wantWrites)
			}
			t.Logf("n=%d dense insert: %d writes, %d intermediate lists", n, res.Writes, len(f.history))
			want = withIDs(want, res)
			// The renumbered part is spaced now: another insert there is one write.
			want = insertAt(want, at+1, pol("new2", 8))
			f.resetCounters()
			if res, err = Apply(ctx, f, "acc", want, refreshed(f)); err != nil || res.Writes != 1 {
				t.Errorf("second insert: writes=%d err=%v, want 1 write", res.Writes, err)
			}
			assertConverged(t, f, want)
			if got := f.nonEgress(); fmt.Sprint(got) != fmt.Sprint(others) {
				t.Errorf("non-egress rules changed")
			}
		})
	}
}

func TestUnknownRuleStopsBeforeFirstWrite(t *testing.T) {
	f := newFake(egressRule("r1", "a", 10, "net.dst.port == 1"), egressRule("r2", "stray", 20, "net.dst.port == 2"),
		otherRule("o1", "dns", 15))
	a := pol("a", 1)
	a.ID = "r1"
	want := []Desired{a, pol("b", 2)}
	// The plan knew only r1: r2 appeared since.
	res, err := Apply(ctx, f, "acc", want, Options{Prior: []string{"r1"}})
	var ace *AccountChangedError
	if !errors.As(err, &ace) {
		t.Fatalf("err = %v, want *AccountChangedError", err)
	}
	if len(ace.Unknown) != 1 || ace.Unknown[0].ID != "r2" || ace.Writes != 0 {
		t.Errorf("unknown = %+v, writes %d, want only r2 and 0 writes", ace.Unknown, ace.Writes)
	}
	for _, s := range []string{`"stray"`, "r2", "precedence 20", "terraform plan", "Nothing was written"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	if f.calls() != 1 || len(res.Done) != 0 {
		t.Errorf("%d calls, %d changes, want 1 (the list) and none", f.calls(), len(res.Done))
	}
	// On create the hint is about importing.
	if _, err := Apply(ctx, f, "acc", []Desired{pol("a", 1)}, Options{Create: true}); err == nil || !strings.Contains(err.Error(), "import") {
		t.Errorf("create over existing rules: %v, want an AccountChangedError with an import hint", err)
	}
	// A plan that knew r2 (its refresh saw it) deletes it.
	res, err = Apply(ctx, f, "acc", want, Options{Prior: []string{"r1", "r2"}})
	if err != nil || res.Deletes != 1 || res.Creates != 1 {
		t.Fatalf("update: %+v %v", res, err)
	}
	assertConverged(t, f, want)
}

func TestCreateAdoptsOnlyWhatThePlanShowed(t *testing.T) {
	f := newFake(egressRule("r1", "a", 10, "net.dst.port == 1"), egressRule("r2", "b", 20, "net.dst.port == 2"))
	want := []Desired{pol("a", 1), pol("b", 2), pol("c", 3)}
	want[0].Traffic = "net.dst.port == 1"
	want[1].Traffic = "net.dst.port == 2"
	// Without the plan's adoption, same-name rules are not taken over.
	if _, err := Apply(ctx, f, "acc", want, Options{Create: true}); err == nil {
		t.Fatal("a create took over rules no plan showed")
	}
	planned, unpaired := AdoptByName(f.all(), want)
	if planned[0].ID != "r1" || planned[1].ID != "r2" || planned[2].ID != "" || len(unpaired) != 0 {
		t.Fatalf("AdoptByName = %+v, unpaired %v", planned, unpaired)
	}
	f.resetCounters()
	res, err := Apply(ctx, f, "acc", planned, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 1 || res.Creates != 1 || res.Rules[0].ID != "r1" || res.Rules[1].ID != "r2" {
		t.Errorf("result %+v, want the two rules adopted and one create", res)
	}
	assertConverged(t, f, want)
	// A rule the create plan adopted that is gone by the apply stops it
	// before its first write (a new ID would contradict the plan).
	f2 := newFake(egressRule("r1", "a", 10, "net.dst.port == 1"))
	planned, _ = AdoptByName(f2.all(), want)
	if err := f2.DeleteRule(ctx, "acc", "r1"); err != nil {
		t.Fatal(err)
	}
	f2.resetCounters()
	_, err = Apply(ctx, f2, "acc", planned, Options{Create: true})
	var ace *AccountChangedError
	if !errors.As(err, &ace) || len(ace.Vanished) != 1 || f2.calls() != 1 {
		t.Errorf("adopted rule gone: err %v after %d calls, want an AccountChangedError before any write", err, f2.calls())
	}
}

func TestRenameKeepsIDByPriorState(t *testing.T) {
	f, prior := setup(t, pols(5))
	want := append([]Desired(nil), prior...)
	want[1].Name, want[3].Name = prior[3].Name, prior[1].Name // swap names only
	res, err := Apply(ctx, f, "acc", want, from(prior))
	if err != nil {
		t.Fatal(err)
	}
	if res.Updates != 2 || res.Creates != 0 || res.Deletes != 0 {
		t.Errorf("%+v, want 2 updates", res)
	}
	if res.Rules[1].ID != prior[1].ID {
		t.Errorf("rename changed the rule ID")
	}
	assertConverged(t, f, want)
}

func TestDuplicateOrEmptyNamesRejected(t *testing.T) {
	f := newFake()
	for _, ds := range [][]Desired{{pol("a", 1), pol("a", 2)}, {pol("", 1)}} {
		if _, err := Apply(ctx, f, "acc", ds, Options{}); err == nil || !strings.Contains(err.Error(), "policies[") {
			t.Errorf("Apply(%v) err = %v, want an error naming the policy", ds, err)
		}
	}
	if f.calls() != 0 {
		t.Errorf("%d calls for invalid input", f.calls())
	}
}

// faultOn injects mode into the k-th write (from 1) of the given op ("" any).
func faultOn(k int, op, mode string) func(int, string, cfapi.Rule) string {
	return func(n int, o string, _ cfapi.Rule) string {
		if n == k && (op == "" || op == o) {
			return mode
		}
		return faultNone
	}
}

func TestFaults(t *testing.T) {
	type tc struct {
		name   string
		change func(prior []Desired) []Desired
		fault  func(int, string, cfapi.Rule) string
		ok     bool
	}
	insert := func(p []Desired) []Desired { return insertAt(p, 3, pol("new", 77)) }
	move := func(p []Desired) []Desired { return append([]Desired{p[9]}, p[:9]...) }
	del := func(p []Desired) []Desired { return append(append([]Desired(nil), p[:2]...), p[3:]...) }
	edit := func(p []Desired) []Desired {
		q := append([]Desired(nil), p...)
		q[5].Description = "x"
		return q
	}
	cases := []tc{
		{"clash on create", insert, faultOn(1, "create", faultClash), true},
		{"clash on move", move, faultOn(1, "update", faultClash), true},
		{"clash every time", insert, func(int, string, cfapi.Rule) string { return faultClash }, false},
		{"create landed, response lost", insert, faultOn(1, "create", faultLostLanded), true},
		{"create lost", insert, faultOn(1, "create", faultLostNotLanded), true},
		{"move landed, response lost", move, faultOn(1, "update", faultLostLanded), true},
		{"move lost", move, faultOn(1, "update", faultLostNotLanded), true},
		{"delete landed, response lost", del, faultOn(1, "delete", faultLostLanded), true},
		{"delete lost", del, faultOn(1, "delete", faultLostNotLanded), true},
		{"moved rule deleted out of band", move, faultOn(1, "update", faultVanish), true},
		{"edited rule deleted out of band", edit, faultOn(1, "update", faultVanish), true},
		{"deleted rule already gone", del, faultOn(1, "delete", faultVanish), true},
		{"plain error", insert, faultOn(1, "", faultFail), false},
		{"always lost", insert, func(int, string, cfapi.Rule) string { return faultLostNotLanded }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, prior := setup(t, pols(10))
			want := c.change(prior)
			f.fault = c.fault
			res, err := Apply(ctx, f, "acc", want, from(prior))
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			f.checkHealthy(t, true)
			if err == nil {
				assertConverged(t, f, want)
				if len(res.Rules) != len(want) || res.Rules[3].ID == "" {
					t.Errorf("result rules %v", res.Rules)
				}
				return
			}
			// The partial result describes the account; a retry converges.
			checkPartial(t, f, res)
			f.fault = nil
			w, opts := replan(f.all(), withIDs(want, res))
			if _, err := Apply(ctx, f, "acc", w, opts); err != nil {
				t.Fatalf("retry: %v", err)
			}
			assertConverged(t, f, want)
		})
	}
}

// checkPartial verifies that every rule a partial Result reports is in the
// account as reported.
func checkPartial(t testing.TB, f *fakeClient, res Result) {
	t.Helper()
	byID := map[string]cfapi.Rule{}
	for _, r := range f.egress() {
		byID[r.ID] = r
	}
	for i, r := range res.Rules {
		if r.ID == "" {
			continue
		}
		got, ok := byID[r.ID]
		if !ok || got.Precedence != r.Precedence || got.Name != r.Name {
			t.Errorf("partial result rule %d = %q@%d, account has %q@%d (present %v)", i, r.Name, r.Precedence, got.Name, got.Precedence, ok)
		}
	}
}

// TestErrorMidwayThenResumedCreate, one write at a time (the concurrent
// version is TestConcurrentFailureStopsNewWrites).
func TestErrorMidwayThenResumedCreate(t *testing.T) {
	f := newFake(otherRule("", "dns", 3000))
	want := pols(6)
	f.fault = faultOn(4, "", faultFail)
	res, err := Apply(ctx, f, "acc", want, Options{Create: true, MaxConcurrentWrites: 1})
	if err == nil {
		t.Fatal("want an error")
	}
	if !strings.Contains(err.Error(), `"p003"`) || !strings.Contains(err.Error(), "policies[3]") {
		t.Errorf("error %q does not name the policy", err)
	}
	var ids []string
	for _, w := range res.Done {
		if w.Kind == OpCreate {
			ids = append(ids, w.Rule.ID)
		}
	}
	if len(ids) != 3 || res.Creates != 3 || len(res.Done) != 3 {
		t.Errorf("partial result has %d creates (%d changes), want 3", len(ids), len(res.Done))
	}
	checkPartial(t, f, res)
	f.fault = nil
	// Resumed from the state the failed create saved (terraform untaint,
	// then apply: an update whose prior state is the three rules).
	f.resetCounters()
	res2, err := Apply(ctx, f, "acc", withIDs(want, res), Options{Prior: ids})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Creates != 3 || res2.Writes != 3 {
		t.Errorf("resume: %+v, want the 3 missing creates only", res2)
	}
	assertConverged(t, f, want)
	// Or, when that state was lost (the process was killed), a new create
	// plan adopts the rules by name, visibly, and completes.
	g := newFake(otherRule("", "dns", 3000))
	g.fault = faultOn(4, "", faultFail)
	if _, err := Apply(ctx, g, "acc", want, Options{Create: true, MaxConcurrentWrites: 1}); err == nil {
		t.Fatal("want an error")
	}
	g.fault = nil
	planned, unpaired := AdoptByName(g.all(), want)
	if len(unpaired) != 0 {
		t.Fatalf("unpaired %v", unpaired)
	}
	g.resetCounters()
	res3, err := Apply(ctx, g, "acc", planned, Options{Create: true})
	if err != nil || res3.Creates != 3 || res3.Writes != 3 {
		t.Fatalf("adopting create: %+v %v, want the 3 missing creates", res3, err)
	}
	assertConverged(t, g, want)
}

func TestContextCanceledStopsWriting(t *testing.T) {
	f := newFake()
	c, cancel := context.WithCancel(ctx)
	f.fault = func(n int, _ string, _ cfapi.Rule) string {
		if n == 2 {
			cancel()
		}
		return faultNone
	}
	res, err := Apply(c, f, "acc", pols(5), Options{Create: true, MaxConcurrentWrites: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if res.Creates != 2 || f.calls() != 3 {
		t.Errorf("creates=%d calls=%d, want 2 creates then stop", res.Creates, f.calls())
	}
	// Concurrently: the writes in flight when the context ends finish and
	// are recorded; none starts after.
	const workers = 4
	g := newFake()
	g.pause = time.Millisecond
	c, cancel = context.WithCancel(ctx)
	defer cancel()
	g.fault = func(n int, _ string, _ cfapi.Rule) string {
		if n == 10 {
			cancel()
		}
		return faultNone
	}
	res, err = Apply(c, g, "acc", pols(40), Options{Create: true, MaxConcurrentWrites: workers})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if g.writes > 10+workers-1 || res.Creates != g.writes || len(g.egress()) != res.Creates {
		t.Errorf("%d writes received, %d creates recorded, %d rules in the account: want at most %d writes, all recorded", g.writes, res.Creates, len(g.egress()), 10+workers-1)
	}
}

func TestReadAndDelete(t *testing.T) {
	f := newFake(egressRule("r1", "a", 30, ""), otherRule("o1", "dns", 20), egressRule("r2", "b", 10, ""), egressRule("r3", "c", 40, ""))
	got, err := Read(ctx, f, "acc")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(names(got)) != "[b a c]" {
		t.Errorf("Read = %v, want [b a c]", names(got))
	}
	// r9 does not exist, o1 is not an egress rule: neither is touched.
	gone, err := Delete(ctx, f, "acc", []string{"r1", "r9", "o1", "r2"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(gone)
	if fmt.Sprint(gone) != "[o1 r1 r2 r9]" {
		t.Errorf("gone = %v, want every ID (none of them is an egress rule of the account any more)", gone)
	}
	if all := f.all(); len(all) != 2 || all[0].ID != "o1" || all[1].ID != "r3" {
		t.Errorf("after delete: %v", names(all))
	}
	f.checkHealthy(t, false)
	// Already gone (deleted between the list and the delete) is success.
	f.fault = faultOn(1, "delete", faultVanish)
	if gone, err := Delete(ctx, f, "acc", []string{"r3"}, Options{}); err != nil || fmt.Sprint(gone) != "[r3]" {
		t.Errorf("delete of a vanished rule: %v %v", gone, err)
	}
	f.fault = faultOn(2, "delete", faultLostLanded)
	f.mu.Lock()
	f.writes = 0
	f.mu.Unlock()
	f.rules = append(f.rules, egressRule("r4", "d", 50, ""))
	f.fault = faultOn(1, "delete", faultLostLanded)
	if _, err := Delete(ctx, f, "acc", []string{"r4"}, Options{}); err != nil || len(f.egress()) != 0 {
		t.Errorf("delete with lost response: %v, left %v", err, names(f.egress()))
	}
	// A delete that fails half way reports exactly the rules it deleted
	// (bottom first); a failed list deletes nothing.
	for i := 0; i < 4; i++ {
		f.rules = append(f.rules, egressRule(fmt.Sprintf("x%d", i), fmt.Sprintf("x%d", i), uint64(100+i), ""))
	}
	f.mu.Lock()
	f.writes = 0
	f.mu.Unlock()
	f.fault = faultOn(3, "delete", faultFail)
	gone, err = Delete(ctx, f, "acc", []string{"x0", "x1", "x2", "x3"}, Options{})
	sort.Strings(gone)
	if err == nil || fmt.Sprint(gone) != "[x2 x3]" || len(f.egress()) != 2 {
		t.Errorf("failed delete: gone %v, err %v, left %v; want x3 and x2 gone and an error", gone, err, names(f.egress()))
	}
	f.fault = nil
	f.listFault = func(int) error { return lost("list rules") }
	if gone, err := Delete(ctx, f, "acc", []string{"x0"}, Options{}); err == nil || len(gone) != 0 || len(f.egress()) != 2 {
		t.Errorf("failed list: gone %v, err %v", gone, err)
	}
	f.listFault = nil
	if _, err := Read(ctx, f, "other"); !cfapi.IsNotFound(err) {
		t.Errorf("Read of an unknown account: %v", err)
	}
}

// TestWritesTable logs API writes and calls per scenario at 10/100/500
// policies, for lists this package numbered (spaced) and for imported
// dense numbering (1, 2, 3, ... with non-egress rules interleaved).
func TestWritesTable(t *testing.T) {
	scen := []struct {
		name   string
		change func([]Desired) []Desired
	}{
		{"no change", func(p []Desired) []Desired { return p }},
		{"insert middle", func(p []Desired) []Desired { return insertAt(p, len(p)/2, pol("new", 9)) }},
		{"insert top", func(p []Desired) []Desired { return insertAt(p, 0, pol("new", 9)) }},
		{"append", func(p []Desired) []Desired { return append(append([]Desired(nil), p...), pol("new", 9)) }},
		{"move bottom to top", func(p []Desired) []Desired { return append([]Desired{p[len(p)-1]}, p[:len(p)-1]...) }},
		{"move top to bottom", func(p []Desired) []Desired { return append(append([]Desired(nil), p[1:]...), p[0]) }},
		{"delete one", func(p []Desired) []Desired { return append(append([]Desired(nil), p[:len(p)/2]...), p[len(p)/2+1:]...) }},
		{"swap two adjacent", func(p []Desired) []Desired {
			q := append([]Desired(nil), p...)
			q[len(q)/2], q[len(q)/2+1] = q[len(q)/2+1], q[len(q)/2]
			return q
		}},
		{"reverse", func(p []Desired) []Desired {
			q := make([]Desired, len(p))
			for i := range p {
				q[len(p)-1-i] = p[i]
			}
			return q
		}},
	}
	for _, s := range scen {
		line := fmt.Sprintf("%-20s", s.name)
		for _, dense := range []bool{false, true} {
			for _, n := range []int{10, 100, 500} {
				var f *fakeClient
				var prior []Desired
				if dense {
					var rules []cfapi.Rule
					for i, d := range pols(n) {
						r := ruleFor(d, fmt.Sprintf("e%d", i), uint64(2*i+1))
						rules = append(rules, r, otherRule(fmt.Sprintf("o%d", i), "other", uint64(2*i+2)))
						d.ID = r.ID
						prior = append(prior, d)
					}
					f = newFake(rules...)
					f.resetCounters()
				} else {
					f, prior = setup(t, pols(n))
				}
				want := s.change(prior)
				res, err := Apply(ctx, f, "acc", want, from(prior))
				if err != nil {
					t.Fatal(err)
				}
				assertConverged(t, f, want)
				f.checkHealthy(t, false)
				if !dense && s.name != "reverse" && s.name != "no change" && res.Writes != 1 {
					t.Errorf("spaced %d %s: %d writes, want 1", n, s.name, res.Writes)
				}
				if s.name == "no change" && (res.Writes != 0 || f.calls() != 1) {
					t.Errorf("%d no change: %d writes %d calls", n, res.Writes, f.calls())
				}
				line += fmt.Sprintf(" %5d/%-5d", res.Writes, f.calls())
			}
		}
		t.Log(line)
	}
	t.Logf("%-20s %s", "writes/calls", "spaced n=10, 100, 500 | dense n=10, 100, 500")
}
