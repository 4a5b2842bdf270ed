package reconcile

import (
	"fmt"
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
	// ID is the rule ID from prior state; "" when new or unknown.
	ID            string
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
	// Unmanaged are the account's egress rules that no desired policy pairs
	// with, in precedence order; Ops delete them.
	Unmanaged []cfapi.Rule
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

// egressInOrder returns the indices of current's egress rules in precedence
// order (ties by ID, for determinism).
func egressInOrder(current []cfapi.Rule) []int {
	var idx []int
	for i, r := range current {
		if cfapi.IsEgress(r) {
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

// pair matches desired policies with current egress rules: by ID first,
// then by name among the rules left. match[i] is an index into current or
// -1; unmanaged lists the unpaired egress rules in precedence order.
func pair(current []cfapi.Rule, desired []Desired) (match []int, unmanaged []int) {
	egress := egressInOrder(current)
	byID := make(map[string]int, len(egress))
	byName := make(map[string][]int, len(egress))
	for _, j := range egress {
		if id := current[j].ID; id != "" {
			if _, dup := byID[id]; !dup {
				byID[id] = j
			}
		}
		byName[current[j].Name] = append(byName[current[j].Name], j)
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
	for i, d := range desired {
		if match[i] >= 0 {
			continue
		}
		for _, j := range byName[d.Name] {
			if !taken[j] {
				match[i] = j
				taken[j] = true
				break
			}
		}
	}
	for _, j := range egress {
		if !taken[j] {
			unmanaged = append(unmanaged, j)
		}
	}
	return match, unmanaged
}

// numberSpace answers questions about the precedences in use by any rule.
type numberSpace struct{ used []uint64 } // sorted, unique

func newNumberSpace(current []cfapi.Rule) numberSpace {
	u := make([]uint64, 0, len(current))
	for _, r := range current {
		u = append(u, r.Precedence)
	}
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
// in order. It is pure; Apply runs it on a fresh listing.
func PlanFor(current []cfapi.Rule, desired []Desired) Plan {
	n := len(desired)
	match, unmanagedIdx := pair(current, desired)
	space := newNumberSpace(current)

	// Keep-set dynamic programme over the paired rules, with sentinels at
	// both ends. Node k has a desired position pos (sentinel start 0, end
	// n+1), a current precedence and a weight.
	type node struct {
		pos  int
		prec uint64
		w    int64
		lt   uint64 // used numbers below prec
		in   uint64 // 1 when prec itself is used
	}
	big := int64(n + 2) // an unchanged kept rule outweighs all changed ones
	same := make([]bool, n)
	nodes := []node{{pos: 0, prec: MinPrecedence - 1}}
	for i := 0; i < n; i++ {
		j := match[i]
		if j < 0 {
			continue
		}
		same[i] = sameContent(current[j], desired[i])
		p := current[j].Precedence
		if p < MinPrecedence || p > MaxPrecedence {
			continue // cannot keep a number we would never assign
		}
		w := int64(1)
		if same[i] {
			w += big
		}
		nodes = append(nodes, node{pos: i + 1, prec: p, w: w})
	}
	nodes = append(nodes, node{pos: n + 1, prec: MaxPrecedence + 1})

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
			if best[j] == none || nodes[j].prec >= nodes[k].prec {
				continue
			}
			need := uint64(nodes[k].pos - nodes[j].pos - 1)
			if need > 0 && freeBetween(&nodes[j], &nodes[k]) < need {
				continue
			}
			if v := best[j] + nodes[k].w; v > best[k] {
				best[k], prev[k] = v, j
			}
		}
	}
	// The end sentinel is always reachable from the start one (all numbers
	// above the largest in use are free), so the chain exists.
	var chain []int
	for k := len(nodes) - 1; k > 0; k = prev[k] {
		chain = append(chain, k)
	}
	chain = append(chain, 0)
	for a, b := 0, len(chain)-1; a < b; a, b = a+1, b-1 {
		chain[a], chain[b] = chain[b], chain[a]
	}

	target := make([]uint64, n)
	kept := make([]bool, n)
	for c := 0; c+1 < len(chain); c++ {
		a, b := nodes[chain[c]], nodes[chain[c+1]]
		if b.pos <= n {
			kept[b.pos-1] = true
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
		for t, x := range space.assign(lo, hi, m) {
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
		op := Op{Kind: OpUpdate, Index: i, Rule: r, From: cur.Precedence, Move: !kept[i], Edit: edit}
		switch {
		case kept[i] && !edit:
		case kept[i]:
			edits = append(edits, op)
		case target[i] < cur.Precedence:
			downs = append(downs, op)
		default:
			ups = append(ups, op)
		}
	}
	var dels []Op
	for _, j := range unmanagedIdx {
		r := current[j]
		p.Unmanaged = append(p.Unmanaged, r)
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
	egress := egressInOrder(current)
	old := make([]cfapi.Rule, len(egress))
	for k, j := range egress {
		old[k] = current[j]
	}
	p.Ops = safeOrder(old, &p, p.Ops)
	return p
}
