package reconcile

import (
	"sort"
	"strconv"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// Make-before-break ordering.
//
// A list of rules is evaluated first match. During an apply the account goes
// through intermediate lists S between the old list I and the new list F. A
// flow that matches a set M of rules is sent by S to min_S(M); it is
// misrouted when that is neither min_I(M) nor min_F(M). For arbitrary
// predicates, S misroutes some flow exactly when some rule r in S is
//
//   - not "old-safe": r is not in I, or a rule before r in I is not before r
//     in S (it is after r, or absent), and
//   - not "new-safe": r is not in F, or a rule before r in F is not before r
//     in S
//
// (take M = {r, a, b} with a and b the rules that break each condition), or
// when a rule of I is gone while a rule of F is not there yet (M = {a, b}
// matches nothing in S).
// An edited rule is a different rule before and after its write. safeOrder
// uses this to pick an order of the ops in which every intermediate list is
// safe when the default order is not.

// maxGreedyOps bounds the search (it costs ops² list evaluations).
const maxGreedyOps = 64

type mbbRule struct {
	key  string
	prec uint64
}

type mbbModel struct {
	iOrder, fOrder []string // keys in old and new order
	start          []mbbRule
	// effect of each op: key removed (or ""), key added (or "") and its precedence
	del, add []string
	at       []uint64
}

func oldKey(id string, edited bool) string {
	if edited {
		return id + "\x00old"
	}
	return id
}

func newKey(op Op, id string) string {
	switch {
	case op.Kind == OpCreate:
		return "\x00new" + strconv.Itoa(op.Index)
	case op.Edit:
		return id + "\x00new"
	}
	return id
}

// newMBBModel describes the old list (current: egress rules in precedence
// order, read_only ones included), the new list (p.Rules and the read_only
// rules) and what each op does to the list.
func newMBBModel(current []cfapi.Rule, p *Plan, ops []Op) *mbbModel {
	m := &mbbModel{}
	edited := map[string]bool{}
	for _, o := range ops {
		if o.Kind == OpUpdate && o.Edit {
			edited[o.Rule.ID] = true
		}
	}
	for _, r := range current {
		k := oldKey(r.ID, edited[r.ID])
		m.iOrder = append(m.iOrder, k)
		m.start = append(m.start, mbbRule{k, r.Precedence})
	}
	byIndex := make(map[int]Op, len(ops))
	for _, o := range ops {
		if o.Index >= 0 {
			byIndex[o.Index] = o
		}
	}
	// The new list: the planned rules and, at their numbers, the read_only
	// rules (never written, evaluated with the others).
	type at struct {
		prec uint64
		key  string
	}
	var fin []at
	for i, r := range p.Rules {
		if o, ok := byIndex[i]; ok {
			fin = append(fin, at{r.Precedence, newKey(o, r.ID)})
		} else {
			fin = append(fin, at{r.Precedence, r.ID})
		}
	}
	for _, r := range current {
		if r.ReadOnly {
			fin = append(fin, at{r.Precedence, r.ID})
		}
	}
	sort.SliceStable(fin, func(i, j int) bool { return fin[i].prec < fin[j].prec })
	for _, x := range fin {
		m.fOrder = append(m.fOrder, x.key)
	}
	for _, o := range ops {
		switch o.Kind {
		case OpCreate:
			m.del = append(m.del, "")
			m.add = append(m.add, newKey(o, ""))
		case OpUpdate:
			m.del = append(m.del, oldKey(o.Rule.ID, o.Edit))
			m.add = append(m.add, newKey(o, o.Rule.ID))
		case OpDelete:
			m.del = append(m.del, o.Rule.ID)
			m.add = append(m.add, "")
		}
		m.at = append(m.at, o.Rule.Precedence)
	}
	return m
}

// apply returns state after op k.
func (m *mbbModel) apply(state []mbbRule, k int) []mbbRule {
	out := make([]mbbRule, 0, len(state)+1)
	for _, r := range state {
		if r.key != m.del[k] {
			out = append(out, r)
		}
	}
	if m.add[k] != "" {
		out = append(out, mbbRule{m.add[k], m.at[k]})
	}
	return out
}

// unsafe counts the rules of state that make it misroute some flow.
func (m *mbbModel) unsafe(state []mbbRule) int {
	s := append([]mbbRule(nil), state...)
	sort.Slice(s, func(i, j int) bool { return s[i].prec < s[j].prec })
	pos := make(map[string]int, len(s))
	for i, r := range s {
		pos[r.key] = i
	}
	safe := make(map[string]bool, len(s))
	for _, order := range [][]string{m.iOrder, m.fOrder} {
		maxBefore := -1
		for _, k := range order {
			p, present := pos[k]
			if present && maxBefore < p {
				safe[k] = true
			}
			if !present {
				maxBefore = len(s) // absent: never before anything
			} else if p > maxBefore {
				maxBefore = p
			}
		}
	}
	n := 0
	for _, r := range s {
		if !safe[r.key] {
			n++
		}
	}
	// A flow matching only a rule of I that is gone and a rule of F that is
	// not there yet matches nothing in S.
	if m.missing(m.iOrder, pos) && m.missing(m.fOrder, pos) {
		n++
	}
	return n
}

func (m *mbbModel) missing(order []string, pos map[string]int) bool {
	for _, k := range order {
		if _, ok := pos[k]; !ok {
			return true
		}
	}
	return false
}

// cost runs ops in the given order and sums the unsafe counts of the
// intermediate lists.
func (m *mbbModel) cost(order []int) int {
	state, total := m.start, 0
	for step, k := range order {
		state = m.apply(state, k)
		if step < len(order)-1 {
			total += m.unsafe(state)
		}
	}
	return total
}

// safeOrder returns ops reordered so that no intermediate list misroutes
// traffic when the default order does and a greedy search finds better.
func safeOrder(current []cfapi.Rule, p *Plan, ops []Op) []Op {
	if len(ops) < 2 || len(ops) > maxGreedyOps {
		return ops
	}
	m := newMBBModel(current, p, ops)
	def := make([]int, len(ops))
	for i := range def {
		def[i] = i
	}
	defCost := m.cost(def)
	if defCost == 0 {
		return ops
	}
	done := make([]bool, len(ops))
	order := make([]int, 0, len(ops))
	state, total := m.start, 0
	for len(order) < len(ops) {
		best, bestU := -1, 0
		var bestState []mbbRule
		for k := range ops {
			if done[k] {
				continue
			}
			next := m.apply(state, k)
			u := 0
			if len(order) < len(ops)-1 {
				u = m.unsafe(next)
			}
			if best < 0 || u < bestU {
				best, bestU, bestState = k, u, next
			}
			if u == 0 {
				break
			}
		}
		done[best] = true
		order = append(order, best)
		state, total = bestState, total+bestU
	}
	if total >= defCost {
		return ops
	}
	out := make([]Op, len(ops))
	for i, k := range order {
		out[i] = ops[k]
	}
	return out
}
