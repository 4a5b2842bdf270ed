package e2e

import (
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// The checkers the end-to-end tests rely on must see what they claim to
// see (these run without terraform).

func storedRule(p pol, prec uint64) emulator.Rule {
	r := emulator.Rule{Name: p.Name, Precedence: prec, Enabled: p.Enabled, Description: p.Desc, Action: "egress",
		Filters: []string{"egress"}, Traffic: p.traffic()}
	if e := egressChoices[p.Egress]; e.ipv4 != "" {
		r.RuleSettings.Egress = &emulator.EgressSettings{IPv4: e.ipv4, IPv6: e.ipv6, IPv4Fallback: e.fallback}
	}
	return r
}

func TestCompareSeesEveryDivergence(t *testing.T) {
	ps := newGen(1).list(4)
	stored := func(order ...int) []emulator.Rule {
		var out []emulator.Rule
		for i, k := range order {
			out = append(out, storedRule(ps[k], uint64(1000*(i+1))))
		}
		return out
	}
	if d := compare(stored(0, 1, 2, 3), ps); !d.ok() {
		t.Fatalf("identical lists: %s", d)
	}
	// Reformatted expression and IPv6 spelling are the same content.
	same := stored(0, 1, 2, 3)
	same[0].Traffic = "(" + same[0].Traffic + ")"
	for i := range same {
		if e := same[i].RuleSettings.Egress; e != nil {
			e.IPv6 = "2001:DB8:" + e.IPv6[len("2001:db8:"):]
		}
	}
	if d := compare(same, ps); !d.ok() {
		t.Fatalf("equivalent spellings: %s", d)
	}
	if d := compare(stored(0, 1, 3, 2), ps); d.Misordered != 2 {
		t.Errorf("swapped pair: %s, want 2 wrongly ordered", d)
	}
	if d := compare(stored(0, 1, 2), ps); d.Misordered != 1 {
		t.Errorf("missing rule: %s, want 1 wrongly ordered", d)
	}
	if d := compare(stored(0, 1, 1, 2, 3), ps); d.Duplicated != 1 {
		t.Errorf("duplicate: %s, want 1 duplicated", d)
	}
	orphan := append(stored(0, 1, 2, 3), storedRule(pol{Name: "stray", Own: 9, Enabled: true}, 99999))
	if d := compare(orphan, ps); d.Orphaned != 1 {
		t.Errorf("stray rule: %s, want 1 orphaned", d)
	}
	edited := stored(0, 1, 2, 3)
	edited[2].Traffic = "net.dst.port == 1"
	edited[3].Enabled = !edited[3].Enabled
	if d := compare(edited, ps); d.Wrong != 2 {
		t.Errorf("edited rules: %s, want 2 with wrong content", d)
	}
}

func TestReplayCountsMisroutedFlows(t *testing.T) {
	// a (port 443 -> NRT) above b (port 443 -> LAX): a decides 443.
	a := pol{Name: "a", Own: 1001, Shared: []int{443}, Egress: 1, Enabled: true}
	b := pol{Name: "b", Own: 1002, Shared: []int{443}, Egress: 2, Enabled: true}
	c := pol{Name: "c", Own: 1003, Shared: []int{443}, Egress: 0, Enabled: true}
	old := []emulator.Rule{storedRule(a, 1000), storedRule(b, 2000), storedRule(c, 3000)}
	// New list: b, a, c.
	now := []emulator.Rule{storedRule(b, 500), storedRule(a, 1000), storedRule(c, 3000)}
	// A good intermediate: b moved up first (old or new decision everywhere).
	good := [][]emulator.Rule{now}
	if states, _, mis := replay(t, old, good, now); states != 1 || mis != 0 {
		t.Errorf("make-before-break history: %d states, %d misrouted, want 1 and 0", states, mis)
	}
	// A bad intermediate: a and b both gone for a moment, c (default
	// egress) decides port 443: neither the old (NRT) nor the new (LAX).
	bad := [][]emulator.Rule{{storedRule(c, 3000)}, now}
	states, checks, mis := replay(t, old, bad, now)
	// 2 ingress colos x 3 destinations see port 443 misrouted, and a's and
	// b's own ports go to the no-match egress instead of NRT/LAX: for
	// IPv4 grey and IPv6 flows the nearest dedicated IP differs from a
	// policy's egress at least at one ingress colo.
	if states != 2 || mis < 6 {
		t.Errorf("history with a gap: %d states, %d of %d checks misrouted; want 2 states and at least 6 misrouted", states, mis, checks)
	}
}
