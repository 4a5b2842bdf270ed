package lint

import (
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// DefaultBudget is the default work bound of one set question: the number
// of box subtractions (and 64 times as many overlap tests) the analyser may
// spend before it answers Unknown ("could not decide").
const DefaultBudget = 20000

// Analyzer builds sets of flows that can be compared with each other. The
// sets of one Analyzer share their dimensions (fields, SAML attribute names
// and opaque atoms), so sets of different Analyzers must not be mixed.
// An Analyzer is not safe for concurrent use.
type Analyzer struct {
	sp *space
	// Budget bounds the work of one question; 0 means DefaultBudget.
	Budget int

	noWitness bool // tests: answer by subtraction alone
	// total, when set, is the work (subtractions, overlap tests) left for
	// all questions together: Lint sets it so that a list of pathological
	// policies cannot add up.
	total *[2]int
}

// NewAnalyzer returns an empty Analyzer.
func NewAnalyzer() *Analyzer { return &Analyzer{sp: newSpace()} }

// Set is a set of flows: a union of boxes over the fields' domains.
//
// Domains: net.protocol ∈ {tcp, udp}; net.dst.ip excludes 0.0.0.0 and ::;
// ports are 1..65535; scalar strings are non-empty (an empty value means the
// flow does not carry the field); an array field is any finite set of
// elements. `matches` regexes, `$list` references and ordering comparisons
// on IP addresses are opaque atoms: independent boolean dimensions, so
// every proof stays sound, but a proof that involves one is reported as
// "possibly" by Lint.
type Set struct {
	a      *Analyzer
	boxes  fset
	opaque bool // some box constrains an opaque dimension
	hull   box  // a box containing the whole set (prefilter)
}

// Boxes is the number of boxes of s (for tests and diagnostics).
func (s *Set) Boxes() int { return len(s.boxes) }

// Opaque reports whether s involves an opaque atom.
func (s *Set) Opaque() bool { return s.opaque }

// Universe returns the set of all flows.
func (a *Analyzer) Universe() *Set { return a.newSet(universeSet) }

// Compile returns the set of flows matched by the ANDed, already
// type-checked expressions (a nil node matches everything). The error is
// ErrTooComplex when the set would need too many boxes.
func (a *Analyzer) Compile(nodes ...expr.Node) (*Set, error) {
	acc := universeSet
	for _, n := range nodes {
		s, err := a.sp.build(n, false)
		if err != nil {
			return nil, err
		}
		acc, err = a.sp.and(acc, s)
		if err != nil {
			return nil, err
		}
	}
	return a.newSet(acc), nil
}

// CompileText parses, type-checks and compiles the three expressions of a
// policy; empty text matches everything.
func (a *Analyzer) CompileText(traffic, identity, posture string) (*Set, error) {
	var nodes []expr.Node
	for _, src := range []string{traffic, identity, posture} {
		n, err := expr.ParseAndCheck(src)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return a.Compile(nodes...)
}

func (a *Analyzer) newSet(bs fset) *Set {
	s := &Set{a: a, boxes: bs}
	for _, b := range bs {
		for _, x := range b {
			if a.sp.dims[x.dim].opaque {
				s.opaque = true
			}
		}
	}
	s.hull = a.sp.hull(bs)
	return s
}

// hull returns a box containing every box of bs, constraining only scalar,
// non-opaque dimensions that every box constrains.
func (sp *space) hull(bs fset) box {
	if len(bs) == 0 {
		return nil
	}
	var out box
	for _, x := range bs[0] {
		if x.c.kind == kArr || sp.dims[x.dim].opaque {
			continue
		}
		c := x.c
		all := true
		for _, b := range bs[1:] {
			y, ok := b.get(x.dim)
			if !ok {
				all = false
				break
			}
			c = c.or(y)
		}
		if all {
			out = append(out, dc{x.dim, hullOf(c)})
		}
	}
	return out
}

// hullOf coarsens a constraint to at most one interval per family, so
// prefilter overlap tests stay cheap.
func hullOf(c cons) cons {
	h := func(s ivset) ivset {
		if len(s) <= 1 {
			return s
		}
		return ivset{{s[0].lo, s[len(s)-1].hi}}
	}
	switch c.kind {
	case kIP:
		return cons{kind: kIP, v4: h(c.v4), v6: h(c.v6)}
	case kNum:
		return cons{kind: kNum, v4: h(c.v4)}
	}
	return c
}

func (a *Analyzer) budget() int {
	if a.Budget > 0 {
		return a.Budget
	}
	return DefaultBudget
}

// IsEmpty reports whether s contains no flow. Emptiness of a union of boxes
// is exact (every stored box is non-empty), so the answer is Yes or No.
func (a *Analyzer) IsEmpty(s *Set) engine.Tri {
	if len(s.boxes) == 0 {
		return engine.Yes
	}
	return engine.No
}

// Covers reports whether b ⊆ a.
func (a *Analyzer) Covers(outer, inner *Set) engine.Tri {
	return a.CoveredByUnion(inner, []*Set{outer})
}

// CoveredByUnion reports whether b ⊆ a1 ∪ … ∪ ak, by box subtraction. Past
// the work bound it answers Unknown, never a wrong answer.
func (a *Analyzer) CoveredByUnion(b *Set, as []*Set) engine.Tri {
	q := a.newQuestion()
	for i, s := range as {
		q.add(s, i, false)
	}
	return q.run(b.boxes, engine.No)
}

// question is one bounded walk: does every flow of a set, going through the
// sequence of boxes, get removed by a "subtract" box before it meets an
// "obstacle" box or the end? The walk is depth-first, so a witness flow
// (answer No) is found without building the whole remainder.
type question struct {
	a       *Analyzer
	start   [2]int // ops and scans at the start
	sp      *space
	seq     []item
	ops     int // box subtractions left
	scans   int // overlap tests left
	used    []int
	usedSet map[int]bool
	endOK   bool

	noWitness bool
}

type item struct {
	b        box
	owner    int
	obstacle bool
}

func (a *Analyzer) newQuestion() *question {
	n := a.budget()
	sc := 64 * n
	if a.total != nil {
		n = max(min(n, a.total[0]), 0)
		sc = max(min(sc, a.total[1]), 0)
	}
	return &question{a: a, sp: a.sp, ops: n, scans: sc, start: [2]int{n, sc}, usedSet: map[int]bool{}, noWitness: a.noWitness}
}

func (q *question) add(s *Set, owner int, obstacle bool) {
	for _, b := range s.boxes {
		q.seq = append(q.seq, item{b: b, owner: owner, obstacle: obstacle})
	}
}

// run answers for the boxes bs; end is the answer for a flow that passes
// every item (No for a coverage question).
func (q *question) run(bs fset, end engine.Tri) engine.Tri {
	q.endOK = end == engine.Yes
	if q.a.total != nil {
		defer func() {
			q.a.total[0] -= q.start[0] - max(q.ops, 0)
			q.a.total[1] -= q.start[1] - max(q.scans, 0)
		}()
	}
	// Cheap witnesses first: most questions are answered No.
	for _, b := range bs {
		if !q.noWitness && q.witness(b, 0) == engine.No {
			return engine.No
		}
	}
	all := make([]int, len(q.seq))
	for i := range all {
		all[i] = i
	}
	res := engine.Yes
	for _, b := range bs {
		switch q.dfs(b, all) {
		case engine.No:
			return engine.No
		case engine.Unknown:
			res = engine.Unknown
		}
	}
	return res
}

func (q *question) use(owner int) {
	if !q.usedSet[owner] {
		q.usedSet[owner] = true
		q.used = append(q.used, owner)
	}
}

// dfs answers for the box b, which still has to pass the items cands
// (indices into seq, ascending, a superset of the items overlapping b).
func (q *question) dfs(b box, cands []int) engine.Tri {
	// Keep the items overlapping b: b's pieces only need those. If a
	// subtract item before any overlapping obstacle contains b whole, b is
	// removed without splitting. Otherwise subtract one of the subtract
	// items before the first overlapping obstacle (flows they remove never
	// reach it, whatever their order), the one that cuts b least.
	var over []int
	best, bestScore := -1, 1<<30
	sawObstacle := false
	for _, m := range cands {
		q.scans--
		if q.scans < 0 {
			return engine.Unknown
		}
		it := &q.seq[m]
		if !boxOverlap(b, it.b) {
			continue
		}
		if it.obstacle {
			if best < 0 {
				return engine.No
			}
			sawObstacle = true
			over = append(over, m)
			continue
		}
		if !sawObstacle {
			sc := q.sp.cutScore(b, it.b)
			if sc == 0 {
				q.use(it.owner)
				return engine.Yes
			}
			if sc < bestScore {
				best, bestScore = len(over), sc
			}
		}
		over = append(over, m)
	}
	if best < 0 {
		if q.endOK {
			return engine.Yes
		}
		return engine.No
	}
	it := q.seq[over[best]]
	q.ops--
	if q.ops < 0 {
		return engine.Unknown
	}
	q.use(it.owner)
	rest := make([]int, 0, len(over)-1)
	rest = append(rest, over[:best]...)
	rest = append(rest, over[best+1:]...)
	res := engine.Yes
	for _, p := range q.sp.boxMinus(b, it.b) {
		switch q.dfs(p, rest) {
		case engine.No:
			return engine.No
		case engine.Unknown:
			res = engine.Unknown
		}
	}
	return res
}

// cutScore rates subtracting a from b: 0 when a contains b; otherwise
// 16 per dimension a constrains and b does not (a thin slice of b), plus
// one per dimension where b sticks out of a.
func (sp *space) cutScore(b, a box) int {
	score := 0
	i := 0
	for _, y := range a {
		for i < len(b) && b[i].dim < y.dim {
			i++
		}
		if i == len(b) || b[i].dim != y.dim {
			if !sp.dims[y.dim].univ.subsetOf(y.c) {
				score += 17
			}
			continue
		}
		if !b[i].c.subsetOf(y.c) {
			score++
		}
	}
	return score
}

// strict returns a copy of s for proofs that must not depend on opaque atoms:
// as an inner set (grow=true) opaque constraints are erased; as a
// subtracted set (grow=false) boxes that need an opaque atom are dropped.
func (s *Set) strict(grow bool) *Set {
	if !s.opaque {
		return s
	}
	sp := s.a.sp
	var out fset
	for _, b := range s.boxes {
		var nb box
		drop := false
		for _, x := range b {
			if sp.dims[x.dim].opaque {
				if !grow {
					drop = true
					break
				}
				continue
			}
			nb = append(nb, x)
		}
		if !drop {
			out = append(out, nb)
		}
	}
	return &Set{a: s.a, boxes: out, hull: s.hull}
}
