package reconcile

import (
	"fmt"
	"slices"
	"sort"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

const (
	// MinPrecedence is the lowest precedence the package assigns.
	MinPrecedence uint64 = 1
	// MaxPrecedence is the highest precedence the package assigns (the
	// largest 32-bit signed integer, which every client can represent).
	MaxPrecedence uint64 = 1<<31 - 1
	// Spacing is the distance between the numbers of policies appended after
	// the last rule that keeps its number (and of a brand-new list).
	Spacing uint64 = 1000
)

// Desired is one egress policy as configured.
type Desired struct {
	// ID is the rule ID the plan gave the policy (from the prior state, or
	// an existing rule a create plan adopted); "" when new. Rules are paired
	// with policies by ID only.
	ID string
	// Precedence, when not 0, is the number the plan promised the policy
	// (its planned value was known): Apply keeps the policy there, moving
	// the rule back if it was moved since the plan, or fails with an
	// *AccountChangedError when that number is no longer free.
	Precedence    uint64
	Name          string
	Description   string
	Enabled       bool
	Traffic       string
	Identity      string
	DevicePosture string
	// Egress is nil (or all empty) for default egress.
	Egress *cfapi.EgressSettings
}

// OpKind is the kind of a write.
type OpKind int

const (
	// OpCreate creates a rule (POST).
	OpCreate OpKind = iota + 1
	// OpUpdate replaces a rule (PUT): new content, new precedence, or both.
	OpUpdate
	// OpDelete deletes a rule.
	OpDelete
)

func (k OpKind) String() string {
	switch k {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op is one API write of a plan.
type Op struct {
	Kind OpKind
	// Index is the desired policy's index; -1 for deletes.
	Index int
	// Rule is the rule to create (no ID), the whole rule to PUT, or the rule
	// to delete.
	Rule cfapi.Rule
	// From is the rule's current precedence (updates and deletes).
	From uint64
	// Move is true when the precedence changes; Edit when the content does.
	Move, Edit bool
}

func (o Op) String() string {
	switch o.Kind {
	case OpCreate:
		return fmt.Sprintf("create %q at %d", o.Rule.Name, o.Rule.Precedence)
	case OpDelete:
		return fmt.Sprintf("delete %q (%s) at %d", o.Rule.Name, o.Rule.ID, o.From)
	}
	switch {
	case o.Move && o.Edit:
		return fmt.Sprintf("update %q (%s) and move %d -> %d", o.Rule.Name, o.Rule.ID, o.From, o.Rule.Precedence)
	case o.Move:
		return fmt.Sprintf("move %q (%s) %d -> %d", o.Rule.Name, o.Rule.ID, o.From, o.Rule.Precedence)
	}
	return fmt.Sprintf("update %q (%s) at %d", o.Rule.Name, o.Rule.ID, o.Rule.Precedence)
}

// Plan is what Apply will write, in order.
type Plan struct {
	// Ops are the writes in the order they are made.
	Ops []Op
	// Rules are the managed egress rules as they will be once every op is
	// done, in desired order (ID "" for rules still to be created).
	Rules []cfapi.Rule
	// Deleted are the egress rules of current that no desired policy pairs
	// with, in precedence order; Ops delete them.
	Deleted []cfapi.Rule
}

// Counts returns the number of creates, updates and deletes of the plan.
func (p Plan) Counts() (creates, updates, deletes int) {
	for _, o := range p.Ops {
		switch o.Kind {
		case OpCreate:
			creates++
		case OpUpdate:
			updates++
		case OpDelete:
			deletes++
		}
	}
	return creates, updates, deletes
}

// Writes is the number of API writes of the plan.
func (p Plan) Writes() int { return len(p.Ops) }

// ruleFor builds the rule that realises d.
func ruleFor(d Desired, id string, prec uint64) cfapi.Rule {
	return cfapi.Rule{
		ID:            id,
		Name:          d.Name,
		Description:   d.Description,
		Precedence:    prec,
		Enabled:       d.Enabled,
		Action:        "egress",
		Filters:       []string{"egress"},
		Traffic:       d.Traffic,
		Identity:      d.Identity,
		DevicePosture: d.DevicePosture,
		Egress:        normEgress(d.Egress),
	}
}

// managed reports whether r is an egress rule this package may write: an
// egress rule that is not read_only. A read_only rule is shared by a parent
// account ("Indicate that this rule is shared via the Orgs API and read
// only": cloudflare-go v7.9.0 zero_trust.GatewayRule.ReadOnly, generated
// from Cloudflare's OpenAPI): it is never paired, written or deleted, but it
// is evaluated among the egress rules, in precedence order, and its number
// is taken.
func managed(r cfapi.Rule) bool { return cfapi.IsEgress(r) && !r.ReadOnly }

// egressInOrder returns the indices of current's egress rules (read_only
// ones included: they are evaluated with the others) in precedence order
// (ties by ID, for determinism).
func egressInOrder(current []cfapi.Rule) []int { return inOrder(current, cfapi.IsEgress) }

// egressRules returns current's egress rules (read_only ones included) in
// precedence order.
func egressRules(current []cfapi.Rule) []cfapi.Rule {
	idx := egressInOrder(current)
	out := make([]cfapi.Rule, len(idx))
	for k, j := range idx {
		out[k] = current[j]
	}
	return out
}

// managedInOrder is egressInOrder without the read_only rules.
func managedInOrder(current []cfapi.Rule) []int { return inOrder(current, managed) }

func inOrder(current []cfapi.Rule, keep func(cfapi.Rule) bool) []int {
	var idx []int
	for i, r := range current {
		if keep(r) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ra, rb := current[idx[a]], current[idx[b]]
		if ra.Precedence != rb.Precedence {
			return ra.Precedence < rb.Precedence
		}
		return ra.ID < rb.ID
	})
	return idx
}

// pair matches desired policies with current egress rules by ID. match[i]
// is an index into current or -1; unpaired lists the egress rules no
// desired policy pairs with, in precedence order.
func pair(current []cfapi.Rule, desired []Desired) (match []int, unpaired []int) {
	egress := managedInOrder(current)
	byID := make(map[string]int, len(egress))
	for _, j := range egress {
		if id := current[j].ID; id != "" {
			if _, dup := byID[id]; !dup {
				byID[id] = j
			}
		}
	}
	taken := make(map[int]bool, len(egress))
	match = make([]int, len(desired))
	for i, d := range desired {
		match[i] = -1
		if d.ID == "" {
			continue
		}
		if j, ok := byID[d.ID]; ok && !taken[j] {
			match[i] = j
			taken[j] = true
		}
	}
	for _, j := range egress {
		if !taken[j] {
			unpaired = append(unpaired, j)
		}
	}
	return match, unpaired
}

// AdoptByName is what a create plan shows as adoption: each desired policy
// without an ID gets the ID of the account's egress rule with the same name
// (the first in precedence order not already taken). It returns the desired
// policies with those IDs and the egress rules left unpaired (rules the
// configuration does not manage). Apply itself never pairs by name: a rule
// is taken over only when the plan showed it. read_only rules are neither
// adopted nor unpaired: they are not the configuration's to manage.
func AdoptByName(current []cfapi.Rule, desired []Desired) ([]Desired, []cfapi.Rule) {
	out := append([]Desired(nil), desired...)
	egress := managedInOrder(current)
	taken := make(map[string]bool, len(out))
	for _, d := range out {
		if d.ID != "" {
			taken[d.ID] = true
		}
	}
	byName := make(map[string][]int, len(egress))
	for _, j := range egress {
		byName[current[j].Name] = append(byName[current[j].Name], j)
	}
	for i := range out {
		if out[i].ID != "" {
			continue
		}
		for _, j := range byName[out[i].Name] {
			if id := current[j].ID; id != "" && !taken[id] {
				out[i].ID, taken[id] = id, true
				break
			}
		}
	}
	var unpaired []cfapi.Rule
	for _, j := range egress {
		if !taken[current[j].ID] {
			unpaired = append(unpaired, current[j])
		}
	}
	return out, unpaired
}

// numberSpace answers questions about the precedences in use by any rule.
type numberSpace struct{ used []uint64 } // sorted, unique

// newNumberSpace is the numbers current uses, plus extra.
func newNumberSpace(current []cfapi.Rule, extra ...uint64) numberSpace {
	u := make([]uint64, 0, len(current)+len(extra))
	for _, r := range current {
		u = append(u, r.Precedence)
	}
	u = append(u, extra...)
	sort.Slice(u, func(i, j int) bool { return u[i] < u[j] })
	out := u[:0]
	for i, v := range u {
		if i == 0 || v != u[i-1] {
			out = append(out, v)
		}
	}
	return numberSpace{used: out}
}

func (s numberSpace) isUsed(x uint64) bool {
	i := sort.Search(len(s.used), func(i int) bool { return s.used[i] >= x })
	return i < len(s.used) && s.used[i] == x
}

// countUsed is the number of used precedences strictly between lo and hi.
func (s numberSpace) countUsed(lo, hi uint64) uint64 {
	a := sort.Search(len(s.used), func(i int) bool { return s.used[i] > lo })
	b := sort.Search(len(s.used), func(i int) bool { return s.used[i] >= hi })
	if b <= a {
		return 0
	}
	return uint64(b - a)
}

// free is the number of unused precedences strictly between lo and hi.
func (s numberSpace) free(lo, hi uint64) uint64 {
	if hi <= lo+1 {
		return 0
	}
	return hi - lo - 1 - s.countUsed(lo, hi)
}

// kthFree returns the k-th (from 0) unused number greater than lo.
func (s numberSpace) kthFree(lo, k uint64) uint64 {
	x := lo + 1 + k
	i := sort.Search(len(s.used), func(i int) bool { return s.used[i] > lo })
	for ; i < len(s.used) && s.used[i] <= x; i++ {
		x++
	}
	return x
}

// assign picks m unused, increasing numbers strictly between lo and hi,
// spread evenly (a single one takes the midpoint). The caller guarantees
// there are at least m free numbers in the gap.
func (s numberSpace) assign(lo, hi uint64, m int) []uint64 {
	if m == 0 {
		return nil
	}
	out := make([]uint64, m)
	prev := lo
	ok := true
	for j := 1; j <= m; j++ {
		x := lo + (hi-lo)*uint64(j)/uint64(m+1)
		if x <= prev {
			x = prev + 1
		}
		for x < hi && s.isUsed(x) {
			x++
		}
		if x >= hi {
			ok = false
			break
		}
		out[j-1] = x
		prev = x
	}
	if ok {
		return out
	}
	// Crowded gap: pick evenly among the free numbers by rank.
	f := s.free(lo, hi)
	for j := 1; j <= m; j++ {
		rank := uint64(j)*(f+1)/uint64(m+1) - 1
		out[j-1] = s.kthFree(lo, rank)
	}
	return out
}

// PlanFor computes the writes that turn the account's rules (current: every
// Gateway rule of the account, any kind) into the desired egress policies,
// in order. Policies pair with rules by ID only; every egress rule of
// current that no policy pairs with is deleted, so the caller passes only
// rules it may delete (Apply checks the listing against what the plan knew
// first). Policies with a promised Precedence keep it; when that is not
// possible PlanFor returns an *AccountChangedError. It is pure; Apply runs it
// on a fresh listing.
//
// read_only egress rules (shared by a parent account) keep their numbers,
// and a policy is never numbered across one unless the order of desired
// requires it: a rule that is already between the same two policies keeps
// its side of every read_only rule between them, a new (or moved) policy
// takes the side of the policy before it in desired (at the top of the
// list, of the policy after it).
func PlanFor(current []cfapi.Rule, desired []Desired) (Plan, error) {
	return planFor(current, desired, nil)
}

// planFor is PlanFor with extra numbers taken: numbers Cloudflare refused
// although no visible rule holds them (rules the token cannot see).
func planFor(current []cfapi.Rule, desired []Desired, taken []uint64) (Plan, error) {
	n := len(desired)
	match, unpairedIdx := pair(current, desired)

	// Promised numbers: each must be free, or already the policy's own.
	var conflicts []string
	pinned := make([]bool, n)
	var owner map[uint64]int // (only built when something is pinned)
	for _, d := range desired {
		if d.Precedence != 0 {
			owner = make(map[uint64]int, len(current))
			for j, r := range current {
				owner[r.Precedence] = j
			}
			break
		}
	}
	pins := make(map[uint64]int)
	var pinNums []uint64
	for i, d := range desired {
		pv := d.Precedence
		if pv == 0 {
			continue
		}
		if pv < MinPrecedence || pv > MaxPrecedence {
			conflicts = append(conflicts, fmt.Sprintf("policies[%d] %q: the planned precedence %d is out of range", i, d.Name, pv))
			continue
		}
		if k, dup := pins[pv]; dup {
			conflicts = append(conflicts, fmt.Sprintf("policies[%d] %q and policies[%d] %q were both planned at precedence %d", k, desired[k].Name, i, d.Name, pv))
			continue
		}
		if j, used := owner[pv]; used && (match[i] < 0 || j != match[i]) {
			o := current[j]
			conflicts = append(conflicts, fmt.Sprintf("precedence %d, which the plan keeps for policies[%d] %q, is now used by the rule %q (id %s)", pv, i, d.Name, o.Name, o.ID))
			continue
		}
		if slices.Contains(taken, pv) {
			conflicts = append(conflicts, fmt.Sprintf("precedence %d, which the plan keeps for policies[%d] %q, was refused by Cloudflare although no rule this token can see holds it: "+
				"a Gateway rule the token cannot see probably took it since the plan (%s)", pv, i, d.Name, seeEveryRule))
			continue
		}
		pins[pv] = i
		pinned[i] = true
		pinNums = append(pinNums, pv)
	}
	if len(conflicts) > 0 {
		return Plan{}, &AccountChangedError{Conflicts: conflicts}
	}
	// A promised number is taken for this apply even while the rule that
	// will hold it is elsewhere.
	space := newNumberSpace(current, append(pinNums, taken...)...)
	// Where the read_only egress rules are.
	var shared []uint64
	for _, r := range current {
		if cfapi.IsEgress(r) && r.ReadOnly {
			shared = append(shared, r.Precedence)
		}
	}
	slices.Sort(shared)

	// Keep-set dynamic programme over the paired (and the pinned) rules,
	// with sentinels at both ends. Node k has a desired position pos
	// (sentinel start 0, end n+1), a precedence and a weight; pinned nodes
	// cannot be left out of the chain.
	type node struct {
		pos    int
		prec   uint64
		w      int64
		lt     uint64 // used numbers below prec
		in     uint64 // 1 when prec itself is used
		pinned bool
	}
	big := int64(n + 2) // an unchanged kept rule outweighs all changed ones
	same := make([]bool, n)
	nodes := []node{{pos: 0, prec: MinPrecedence - 1, pinned: true}}
	for i := 0; i < n; i++ {
		j := match[i]
		if j >= 0 {
			same[i] = sameContent(current[j], desired[i])
		}
		var p uint64
		switch {
		case pinned[i]:
			p = desired[i].Precedence
		case j >= 0:
			p = current[j].Precedence
			if p < MinPrecedence || p > MaxPrecedence {
				continue // cannot keep a number we would never assign
			}
		default:
			continue
		}
		w := int64(1)
		if same[i] && j >= 0 && current[j].Precedence == p {
			w += big
		}
		nodes = append(nodes, node{pos: i + 1, prec: p, w: w, pinned: pinned[i]})
	}
	nodes = append(nodes, node{pos: n + 1, prec: MaxPrecedence + 1, pinned: true})

	for k := range nodes {
		nd := &nodes[k]
		nd.lt = uint64(sort.Search(len(space.used), func(i int) bool { return space.used[i] >= nd.prec }))
		if space.isUsed(nd.prec) {
			nd.in = 1
		}
	}
	// free(a, b) in O(1): the numbers strictly between, minus the used ones.
	freeBetween := func(a, b *node) uint64 {
		return b.prec - a.prec - 1 - (b.lt - a.lt - a.in)
	}

	const none = int64(-1)
	best := make([]int64, len(nodes))
	prev := make([]int, len(nodes))
	best[0] = 0
	for k := 1; k < len(nodes); k++ {
		best[k], prev[k] = none, -1
		for j := k - 1; j >= 0; j-- {
			if best[j] != none && nodes[j].prec < nodes[k].prec {
				need := uint64(nodes[k].pos - nodes[j].pos - 1)
				if need == 0 || freeBetween(&nodes[j], &nodes[k]) >= need {
					if v := best[j] + nodes[k].w; v > best[k] {
						best[k], prev[k] = v, j
					}
				}
			}
			if nodes[j].pinned {
				break // a pinned rule is never skipped
			}
		}
	}
	if best[len(nodes)-1] == none {
		// Only pins can make the chain impossible (without them the end
		// sentinel is reachable from the start one: every number above the
		// largest in use is free).
		return Plan{}, &AccountChangedError{Conflicts: []string{
			"the precedences the plan keeps no longer leave room, in order, for the policies placed between them (other rules took the numbers in between)"}}
	}
	var chain []int
	for k := len(nodes) - 1; k > 0; k = prev[k] {
		chain = append(chain, k)
	}
	chain = append(chain, 0)
	for a, b := 0, len(chain)-1; a < b; a, b = a+1, b-1 {
		chain[a], chain[b] = chain[b], chain[a]
	}

	target := make([]uint64, n)
	for c := 0; c+1 < len(chain); c++ {
		a, b := nodes[chain[c]], nodes[chain[c+1]]
		if b.pos <= n {
			target[b.pos-1] = b.prec
		}
		m := b.pos - a.pos - 1
		if m == 0 {
			continue
		}
		lo, hi := a.prec, b.prec
		if b.pos == n+1 { // after the last kept rule: spaced
			hi = lo + Spacing*uint64(m+1)
			if hi > MaxPrecedence+1 || space.free(lo, hi) < uint64(m) {
				hi = MaxPrecedence + 1
			}
		}
		for t, x := range assignSides(space, shared, lo, hi, a.pos, m, a.pos == 0, b.pos == n+1, match, current) {
			target[a.pos+t] = x
		}
	}

	var p Plan
	p.Rules = make([]cfapi.Rule, n)
	var downs, creates, edits, ups []Op
	for i, d := range desired {
		j := match[i]
		if j < 0 {
			r := ruleFor(d, "", target[i])
			p.Rules[i] = r
			creates = append(creates, Op{Kind: OpCreate, Index: i, Rule: r})
			continue
		}
		cur := current[j]
		r := ruleFor(d, cur.ID, target[i])
		r.CreatedAt = cur.CreatedAt
		edit := !same[i]
		if !edit {
			// Nothing to write about the content: keep the account's text.
			r = cur
			r.Precedence = target[i]
		}
		p.Rules[i] = r
		move := target[i] != cur.Precedence
		op := Op{Kind: OpUpdate, Index: i, Rule: r, From: cur.Precedence, Move: move, Edit: edit}
		switch {
		case !move && !edit:
		case !move:
			edits = append(edits, op)
		case target[i] < cur.Precedence:
			downs = append(downs, op)
		default:
			ups = append(ups, op)
		}
	}
	var dels []Op
	for _, j := range unpairedIdx {
		r := current[j]
		p.Deleted = append(p.Deleted, r)
		dels = append(dels, Op{Kind: OpDelete, Index: -1, Rule: r, From: r.Precedence})
	}
	// Deletes bottom first (a flow never falls from a deleted rule onto
	// another rule that is about to be deleted).
	sort.SliceStable(dels, func(a, b int) bool { return dels[a].From > dels[b].From })
	// Rules moving to a lower number: lowest destination first; to a higher
	// number: highest destination first. Either way no mover passes another
	// mover that the old and the new list both put on the other side.
	sort.SliceStable(downs, func(a, b int) bool { return downs[a].Rule.Precedence < downs[b].Rule.Precedence })
	sort.SliceStable(ups, func(a, b int) bool { return ups[a].Rule.Precedence > ups[b].Rule.Precedence })

	// A rule moving to a higher number past a rule about to be deleted would
	// leave that rule in front of it for a while: delete first then.
	early := false
	for _, u := range ups {
		for _, d := range dels {
			if u.From < d.From && d.From < u.Rule.Precedence {
				early = true
			}
		}
	}
	p.Ops = append(p.Ops, downs...)
	p.Ops = append(p.Ops, creates...)
	p.Ops = append(p.Ops, edits...)
	if early {
		p.Ops = append(p.Ops, dels...)
		p.Ops = append(p.Ops, ups...)
	} else {
		p.Ops = append(p.Ops, ups...)
		p.Ops = append(p.Ops, dels...)
	}
	p.Ops = safeOrder(egressRules(current), &p, p.Ops)
	return p, nil
}

// assignSides numbers the m policies desired[from..from+m-1], placed between
// the numbers lo and hi, keeping them on their sides of the read_only rules
// (shared) in between: a policy whose rule is already in the gap keeps its
// side, any other policy takes the side of the one before it (of the one
// after it at the top of the list, top). open: hi is not a rule's number
// but the end of the spaced numbers after the last kept rule (the last
// segment is then spaced from its start). When the sides do not leave room
// the gap is numbered as a whole.
func assignSides(space numberSpace, shared []uint64, lo, hi uint64, from, m int, top, open bool, match []int, current []cfapi.Rule) []uint64 {
	a := sort.Search(len(shared), func(i int) bool { return shared[i] > lo })
	b := sort.Search(len(shared), func(i int) bool { return shared[i] >= hi })
	if a >= b {
		return space.assign(lo, hi, m)
	}
	cuts := shared[a:b] // segment s is between cuts[s-1] (or lo) and cuts[s] (or hi)
	segOf := func(p uint64) int { return sort.Search(len(cuts), func(i int) bool { return cuts[i] > p }) }
	seg := make([]int, m)
	prev := -1
	if top {
		prev = len(cuts) // the policy after the gap: below every shared rule in it
	}
	for t := 0; t < m; t++ {
		s := prev
		if j := match[from+t]; j >= 0 {
			if p := current[j].Precedence; p > lo && p < hi {
				s = segOf(p)
			}
		}
		if s < 0 {
			s = 0 // right after the kept policy before the gap
		}
		if t > 0 && s < seg[t-1] {
			s = seg[t-1]
		}
		seg[t], prev = s, s
	}
	out := make([]uint64, 0, m)
	for t := 0; t < m; {
		u := t
		for u < m && seg[u] == seg[t] {
			u++
		}
		sLo, sHi := lo, hi
		if seg[t] > 0 {
			sLo = cuts[seg[t]-1]
		}
		if seg[t] < len(cuts) {
			sHi = cuts[seg[t]]
		} else if open {
			sHi = sLo + Spacing*uint64(u-t+1)
			if sHi > MaxPrecedence+1 || space.free(sLo, sHi) < uint64(u-t) {
				sHi = MaxPrecedence + 1
			}
		}
		if space.free(sLo, sHi) < uint64(u-t) {
			return space.assign(lo, hi, m)
		}
		out = append(out, space.assign(sLo, sHi, u-t)...)
		t = u
	}
	return out
}
