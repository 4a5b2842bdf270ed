package benchmarks

import (
	"fmt"
	"testing"
)

// TestAPICallGoals checks the goals of issue 7 with the same code the
// benchmarks run, and the per-rule model's expected costs (so the
// comparison is not against a straw man):
//
//   - ours: a no-change refresh is 1 call at any size (goal: <= 2 at 500);
//     insert, move and delete are exactly 1 write and 3 calls (refresh +
//     Apply's list + the write); create is n writes and n+1 calls.
//   - per rule: a refresh is n GETs; create n writes; delete 1 write; with
//     gaps, insert and move are 1 write; dense numbering renumbers.
func TestAPICallGoals(t *testing.T) {
	sizes := []int{10, 100, 500}
	if testing.Short() {
		sizes = sizes[:2]
	}
	type key struct{ model, scenario string }
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			got := map[key]measurement{}
			for _, mk := range modelKinds() {
				p := prepare(t, mk, n, false)
				got[key{mk.name, "create"}] = p.created
				for _, s := range scenarios()[1:] {
					got[key{mk.name, s.name}] = p.run(t, s)
				}
				_ = p.e.emu.Close()
			}
			want := map[key]measurement{
				{"ours", "create"}:        {calls: n + 1, writes: n},
				{"ours", "refresh"}:       {calls: 1, writes: 0},
				{"ours", "insert_middle"}: {calls: 3, writes: 1},
				// Moving the bottom rule to the top: one PUT of its precedence.
				{"ours", "move_bottom_to_top"}: {calls: 3, writes: 1},
				{"ours", "delete_one"}:         {calls: 3, writes: 1},

				{"perrule_gapped", "create"}:             {calls: n, writes: n},
				{"perrule_gapped", "refresh"}:            {calls: n, writes: 0},
				{"perrule_gapped", "insert_middle"}:      {calls: n + 1, writes: 1},
				{"perrule_gapped", "move_bottom_to_top"}: {calls: n + 1, writes: 1},
				{"perrule_gapped", "delete_one"}:         {calls: n + 1, writes: 1},

				{"perrule_dense", "create"}:  {calls: n, writes: n},
				{"perrule_dense", "refresh"}: {calls: n, writes: 0},
				// Insert at n/2: the n - n/2 rules below shift by one, plus the create.
				{"perrule_dense", "insert_middle"}: {calls: n + (n - n/2) + 1, writes: n - n/2 + 1},
				// Move to the top: every rule's number changes, and the cycle
				// (the bottom rule's number is the next one's target) costs a park.
				{"perrule_dense", "move_bottom_to_top"}: {calls: n + n + 1, writes: n + 1},
				{"perrule_dense", "delete_one"}:         {calls: n + 1, writes: 1},
			}
			for k, w := range want {
				g := got[k]
				if g.calls != w.calls || g.writes != w.writes {
					t.Errorf("n=%d %s %s: %d calls, %d writes; want %d calls, %d writes", n, k.model, k.scenario, g.calls, g.writes, w.calls, w.writes)
				}
			}
			if n == 500 && got[key{"ours", "refresh"}].calls > 2 {
				t.Errorf("goal: a no-change refresh at 500 policies is at most 2 calls")
			}
			for _, s := range scenarios() {
				t.Logf("n=%d %-19s ours %4d calls %4d writes | per-rule gapped %4d calls %4d writes | dense %4d calls %4d writes",
					n, s.name, got[key{"ours", s.name}].calls, got[key{"ours", s.name}].writes,
					got[key{"perrule_gapped", s.name}].calls, got[key{"perrule_gapped", s.name}].writes,
					got[key{"perrule_dense", s.name}].calls, got[key{"perrule_dense", s.name}].writes)
			}
		})
	}
}
