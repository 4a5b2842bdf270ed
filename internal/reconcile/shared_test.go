package reconcile

import (
	"errors"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// Issue 11: read_only egress rules are shared by a parent account ("shared
// via the Orgs API and read only", cloudflare-go v7 GatewayRule.ReadOnly):
// never written, deleted, adopted or reported as unknown, their numbers
// taken, and evaluated among ours, so a policy never crosses one unless the
// order requires it.

func sharedRule(id, name string, prec uint64) cfapi.Rule {
	r := egressRule(id, name, prec, "net.dst.port in {7000}")
	r.ReadOnly, r.SourceAccount = true, "parent-account"
	return r
}

// sideOf is how many shared rules are before prec.
func sideOf(shared []cfapi.Rule, prec uint64) int {
	n := 0
	for _, r := range shared {
		if r.Precedence < prec {
			n++
		}
	}
	return n
}

func TestSharedRulesAreNeverWrittenAndKeepTheirSide(t *testing.T) {
	s1, s2 := sharedRule("s1", "org: finance", 1500), sharedRule("s2", "org: guests", 2500)
	f := newFake(s1, s2, otherRule("o1", "dns", 900))
	shared := []cfapi.Rule{s1, s2}
	// A new list is not refused for "unmanaged" rules; a policy at the top
	// of the list takes the side of the one after it, and the last of a new
	// list goes after every shared rule: all three after both.
	res, err := Apply(ctx, f, "acc", pols(3), Options{Create: true})
	if err != nil {
		t.Fatalf("create next to shared rules: %v", err)
	}
	want := withIDs(pols(3), res)
	for _, r := range res.Rules {
		if sideOf(shared, r.Precedence) != 2 {
			t.Errorf("new list: %q at %d, want after both shared rules", r.Name, r.Precedence)
		}
	}
	// Place p001 between the shared rules (as an earlier import may have):
	// then an insert after p000 stays before them, one after p001 stays
	// between them, and p001 keeps its side when p000 is deleted.
	p0 := f.egress()[2]
	p0.Precedence = 1000
	p1 := f.egress()[3]
	p1.Precedence = 2000
	for _, r := range []cfapi.Rule{p0, p1} {
		if _, err := f.UpdateRule(ctx, "acc", r); err != nil {
			t.Fatal(err)
		}
	}
	want = insertAt(want, 1, pol("after-p000", 11))
	want = insertAt(want, 3, pol("after-p001", 12))
	f.resetCounters()
	res, err = Apply(ctx, f, "acc", want, refreshed(f))
	if err != nil {
		t.Fatal(err)
	}
	for i, wantSide := range []int{0, 0, 1, 1, 2} {
		if got := sideOf(shared, res.Rules[i].Precedence); got != wantSide {
			t.Errorf("policies[%d] %q at %d: %d shared rules before it, want %d", i, res.Rules[i].Name, res.Rules[i].Precedence, got, wantSide)
		}
	}
	if res.Writes != 2 {
		t.Errorf("%d writes, want the 2 creates", res.Writes)
	}
	// Delete everything: the shared rules stay.
	if _, err := Apply(ctx, f, "acc", nil, refreshed(f)); err != nil {
		t.Fatal(err)
	}
	gone, err := Delete(ctx, f, "acc", []string{"s1"}, Options{})
	if err != nil || len(gone) != 0 {
		t.Errorf("Delete of a shared rule: gone %v, err %v; want it left alone", gone, err)
	}
	for _, id := range []string{"s1", "s2"} {
		if f.indexLocked(id) < 0 {
			t.Errorf("shared rule %s was deleted", id)
		}
	}
	f.checkHealthy(t, false)
	if v := f.violations; len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
	// Adoption by name never takes a shared rule.
	planned, unpaired := AdoptByName(f.all(), []Desired{pol("org: finance", 1)})
	if planned[0].ID != "" || len(unpaired) != 0 {
		t.Errorf("AdoptByName took %q / left %v unpaired: shared rules are neither", planned[0].ID, unpaired)
	}
	// A plan that did not know a shared rule is not "the account changed".
	f.rules = append(f.rules, sharedRule("s3", "org: new", 3500))
	if _, err := Apply(ctx, f, "acc", []Desired{pol("x", 1)}, Options{Create: true}); err != nil {
		var ace *AccountChangedError
		t.Errorf("a new shared rule stopped the apply (%v, AccountChangedError %v)", err, errors.As(err, &ace))
	}
}

// TestDeletesFirstAtTheLimit: at the account's limit of egress policies,
// replacing one policy by another cannot create first; with MaxPolicies the
// delete goes first and the apply succeeds.
func TestDeletesFirstAtTheLimit(t *testing.T) {
	for _, limit := range []int{0, 5} {
		f, prior := setup(t, pols(5))
		f.limit = 5
		want := append(append([]Desired(nil), prior[:2]...), prior[3:]...)
		want = insertAt(want, 2, pol("replacement", 77))
		// (One write at a time: concurrently, the delete of a rule disjoint
		// from the create may land first, by chance.)
		res, err := Apply(ctx, f, "acc", want, Options{Prior: from(prior).Prior, MaxPolicies: limit, MaxConcurrentWrites: 1})
		if limit == 0 {
			if err == nil {
				t.Fatal("without MaxPolicies the create goes first and is refused: want an error")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		assertConverged(t, f, want)
		if res.Done[0].Kind != OpDelete {
			t.Errorf("first change %v, want the delete", res.Done[0].Kind)
		}
	}
}
