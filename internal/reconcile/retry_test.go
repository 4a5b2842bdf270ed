package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// Issue 11: the list is authorization-aware (Gateway granular permissions,
// changelog 2026-06-30): a token sees only the rules it may read, but the
// numbers of the rules it cannot see still collide. Cloudflare publishes no
// code or text for a clash (the fake answers "Bad Request"), so a refused
// create or move is retried at other free numbers between the same rules.

// hiddenAt is a fake whose token cannot see its DNS rules at nums.
func hiddenAt(nums ...uint64) *fakeClient {
	var rules []cfapi.Rule
	for i, p := range nums {
		rules = append(rules, otherRule(fmt.Sprintf("hidden-%d", i), fmt.Sprintf("hidden-%d", i), p))
	}
	f := newFake(rules...)
	f.hideOthers = true
	return f
}

func precedences(rs []cfapi.Rule) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.Precedence
	}
	return out
}

func TestCreateNextToInvisibleRulesRetries(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			// Hidden rules hold exactly the numbers a new list of 5 takes.
			hidden := map[uint64]bool{1000: true, 2000: true, 3000: true, 4000: true, 5000: true}
			f := hiddenAt(1000, 2000, 3000, 4000, 5000)
			want := pols(5)
			res, err := Apply(ctx, f, "acc", want, Options{Create: true, MaxConcurrentWrites: workers})
			if err != nil {
				t.Fatal(err)
			}
			assertConverged(t, f, want)
			got := precedences(f.egress())
			for i, p := range got {
				// A retry is random inside its gap, so any free number
				// (a multiple of 1000 too) is right; a hidden one is not.
				if hidden[p] || (i > 0 && p <= got[i-1]) {
					t.Errorf("precedences %v: want increasing numbers clear of the hidden rules", got)
				}
			}
			// One refusal per policy, no re-list: 1 list + 10 writes.
			if len(f.rejected) != 5 || f.calls() != 11 || res.Writes != 5 {
				t.Errorf("%d refusals, %d calls, %d writes; want 5, 11, 5", len(f.rejected), f.calls(), res.Writes)
			}
			if len(f.nonEgress()) != 5 {
				t.Errorf("the hidden rules were touched: %v", f.nonEgress())
			}
			f.checkHealthy(t, true)
		})
	}
}

func TestMoveNextToInvisibleRuleRetries(t *testing.T) {
	f, prior := setup(t, pols(6))
	f.hideOthers = true
	// Moving p005 to the top takes the midpoint below p000 (500): hidden.
	f.rules = append(f.rules, otherRule("hidden", "hidden", 500))
	want := append([]Desired{prior[5]}, prior[:5]...)
	res, err := Apply(ctx, f, "acc", want, from(prior))
	if err != nil {
		t.Fatal(err)
	}
	assertConverged(t, f, want)
	if p := res.Rules[0].Precedence; p == 500 || p >= res.Rules[1].Precedence {
		t.Errorf("moved to %d, want a free number below %d", p, res.Rules[1].Precedence)
	}
	if res.Writes != 1 || len(f.rejected) != 1 {
		t.Errorf("%d writes, %d refusals; want 1 and 1", res.Writes, len(f.rejected))
	}
}

// TestRefusedGapReplans: the only free number between two rules is held by
// a hidden rule: Apply re-plans with that number taken and renumbers, in
// order.
func TestRefusedGapReplans(t *testing.T) {
	a, b := egressRule("ra", "a", 10, "net.dst.port in {1}"), egressRule("rb", "b", 12, "net.dst.port in {2}")
	f := newFake(a, b, otherRule("hidden", "hidden", 11))
	f.hideOthers = true
	da, db := pol("a", 1), pol("b", 2)
	da.ID, db.ID = "ra", "rb"
	want := []Desired{da, pol("new", 3), db}
	res, err := Apply(ctx, f, "acc", want, Options{Prior: []string{"ra", "rb"}})
	if err != nil {
		t.Fatal(err)
	}
	assertConverged(t, f, want)
	for _, r := range res.Rules {
		if r.Precedence == 11 {
			t.Errorf("a policy holds the hidden rule's number: %v", precedences(res.Rules))
		}
	}
	if f.lists != 2 {
		t.Errorf("%d lists, want 2 (the re-plan re-reads the account)", f.lists)
	}
	f.checkHealthy(t, true)
}

// TestRefusedEverywhereNamesCauseAndPermission: a create refused at every
// number fails after MaxPrecedenceTries different free numbers between the
// same rules, naming the likely cause and the permission; what was done
// before is recorded.
func TestRefusedEverywhereNamesCauseAndPermission(t *testing.T) {
	f, prior := setup(t, pols(4))
	want := insertAt(prior, 2, pol("new", 9))
	var tried []uint64
	f.fault = func(_ int, op string, r cfapi.Rule) string {
		if op == "create" {
			tried = append(tried, r.Precedence)
			return faultInvalid
		}
		return faultNone
	}
	res, err := Apply(ctx, f, "acc", want, from(prior))
	var pe *PrecedenceRejectedError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *PrecedenceRejectedError", err)
	}
	if len(tried) != MaxPrecedenceTries || fmt.Sprint(pe.Tried) != fmt.Sprint(tried) || pe.Index != 2 {
		t.Errorf("tried %v (error says %v, policies[%d]), want %d numbers for policies[2]", tried, pe.Tried, pe.Index, MaxPrecedenceTries)
	}
	lo, hi := f.egress()[1].Precedence, f.egress()[2].Precedence
	seen := map[uint64]bool{}
	for _, p := range tried {
		if p <= lo || p >= hi || seen[p] {
			t.Errorf("tried %v: want distinct numbers between %d and %d", tried, lo, hi)
		}
		seen[p] = true
	}
	for _, s := range []string{`"new"`, "policies[2]", "cannot see", cfapi.RoleGatewayPoliciesRead, cfapi.PermissionZeroTrustRead, "Bad Request"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %s", err, s)
		}
	}
	if len(res.Done) != 0 || !cfapi.IsValidation(err) {
		t.Errorf("done %+v, validation %v: want nothing done and the API error in the chain", res.Done, cfapi.IsValidation(err))
	}
}

// TestPromisedNumberRefusedStops: moving a rule back to the number the plan
// promised is refused (a hidden rule took it): Apply stops, it does not
// choose another number (the plan showed that one).
func TestPromisedNumberRefusedStops(t *testing.T) {
	f, prior := setup(t, pols(3))
	want := pin(f.all(), prior)
	moved := f.egress()[1]
	promised := moved.Precedence
	moved.Precedence = 77777
	if _, err := f.UpdateRule(ctx, "acc", moved); err != nil {
		t.Fatal(err)
	}
	f.resetCounters()
	updates := 0
	f.fault = func(_ int, op string, r cfapi.Rule) string {
		if op == "update" && r.Precedence == promised {
			updates++
			return faultInvalid
		}
		return faultNone
	}
	_, err := Apply(ctx, f, "acc", want, from(prior))
	var ace *AccountChangedError
	var we *WriteError
	if !errors.As(err, &ace) || !errors.As(err, &we) || updates != 1 || f.writes != 1 {
		t.Fatalf("err %v after %d updates (%d writes): want an AccountChangedError with the refused write, one try", err, updates, f.writes)
	}
	for _, s := range []string{fmt.Sprint(promised), "cannot see", cfapi.RoleGatewayPoliciesRead, "terraform plan"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %s", err, s)
		}
	}
}

// TestNotOwnedIsNotRetried: Cloudflare's 2055 (the dedicated IPv4 is not
// the account's) is about the content: no other number is tried, and the
// error carries the policy's index.
func TestNotOwnedIsNotRetried(t *testing.T) {
	f, prior := setup(t, pols(3))
	want := insertAt(prior, 1, portsPol("new", egressLAX, 9))
	f.fault = faultOn(1, "create", faultNotOwned)
	_, err := Apply(ctx, f, "acc", want, from(prior))
	var we *WriteError
	if !errors.As(err, &we) || we.Op.Index != 1 || !cfapi.IsDedicatedIPv4NotOwned(err) || f.writes != 1 {
		t.Fatalf("err %v after %d writes: want one write and a *WriteError for policies[1] with code 2055", err, f.writes)
	}
}

// TestRetriesKeepOrderUnderConcurrency: 60 creates, 4 at a time, with
// hidden rules on every number the plan picks, so that neighbours are
// renumbered at the same time: every policy lands in order (a retry keeps
// to the side of its neighbours' current numbers, retried ones included),
// and nothing collides. Ten times, as the interleavings vary.
func TestRetriesKeepOrderUnderConcurrency(t *testing.T) {
	var nums []uint64
	for p := uint64(1000); p <= 60000; p += 1000 {
		nums = append(nums, p)
	}
	for run := 0; run < 10; run++ {
		f := hiddenAt(nums...)
		f.pause = 100 * time.Microsecond
		want := pols(60)
		if _, err := Apply(ctx, f, "acc", want, Options{Create: true}); err != nil {
			t.Fatal(err)
		}
		assertConverged(t, f, want)
		f.checkHealthy(t, true)
		if len(f.rejected) != len(nums) {
			t.Errorf("%d refusals, want %d", len(f.rejected), len(nums))
		}
	}
}
