// Package flowspace is the flow-set algebra of the engine: how a policy's
// expressions become a set of flows, and the bounded questions asked of such
// sets (emptiness, inclusion, coverage by a union, first-match walks with
// witnesses). Lint (shadowing, catch-alls, redundancy), the change impact
// and the invariants are question-askers over it.
//
// # The sets
//
// A policy (traffic AND identity AND device_posture) becomes a union of
// boxes. A box constrains some dimensions: IP fields (v4 and v6 interval
// sets), ports and numbers (interval sets), strings (finite or co-finite
// sets), array fields ("contains an element of R", "contains no element of
// F" — exact for any finite array), and opaque atoms. Negation is pushed
// down to the atoms. Domains follow the engine: net.protocol is tcp or udp,
// net.dst.ip excludes 0.0.0.0 and :: (no traffic goes to the unspecified
// address, and engine.Decide refuses it as a destination: so both documented
// catch-all idioms are catch-alls), ports are 1..65535, scalar strings are
// non-empty; identity.groups is one array of (id, name, email) elements.
//
// `matches` regexes and `$list` references are opaque: each distinct atom is
// an independent boolean dimension, so proofs stay sound; a proof that
// needs one (it fails once the atoms are erased, see Set.Strict) is only a
// "possibly". Coverage (B ⊆ A1 ∪ … ∪ Ak) is decided by depth-first box
// subtraction, subtracting first the box that cuts least, after a cheap
// search for a witness flow; each question has a work bound past which the
// answer is Unknown ("could not decide"), never a wrong one.
//
// It imports only the standard library and the engine packages.
package flowspace

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

	// NoWitness answers by subtraction alone, without the witness fast
	// path (tests check that both agree).
	NoWitness bool
	// total, when set, is the work (subtractions, overlap tests) left for
	// all questions together: Lint sets it so that a list of pathological
	// policies cannot add up.
	total *[2]int
	// seqBuf is a question's item buffer, reused by the next question once
	// released.
	seqBuf []item
}

// LimitTotal bounds the work of all later questions together: ops box
// subtractions and scans overlap tests, shared by every question.
func (a *Analyzer) LimitTotal(ops, scans int) { a.total = &[2]int{ops, scans} }

// NewAnalyzer returns an empty Analyzer.
func NewAnalyzer() *Analyzer { return &Analyzer{sp: newSpace()} }

// Set is a set of flows: a union of boxes over the fields' domains.
//
// Domains: net.protocol ∈ {tcp, udp}; net.dst.ip excludes 0.0.0.0 and ::
// (engine.Decide refuses them as destinations);
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
	// hull is a box containing the whole set (prefilter), computed when
	// first needed.
	hull     box
	hullDone bool
}

func (s *Set) getHull() box {
	if !s.hullDone {
		s.hull, s.hullDone = s.a.sp.hull(s.boxes), true
	}
	return s.hull
}

// Boxes is the number of boxes of s (for tests and diagnostics).
func (s *Set) Boxes() int { return len(s.boxes) }

// Empty reports whether s holds no flow (exact: every stored box is
// non-empty).
func (s *Set) Empty() bool { return len(s.boxes) == 0 }

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
		c := *x.c
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
			out = append(out, mkdc(x.dim, hullOf(c)))
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

// EffectiveBudget is the work bound of one question (Budget, or
// DefaultBudget when Budget is 0).
func (a *Analyzer) EffectiveBudget() int { return a.budget() }

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
	q := a.NewQuestion()
	defer q.Release()
	for i, s := range as {
		q.Add(s, i, false)
	}
	return q.Run(b, engine.No)
}

// CoversAll reports whether s holds every flow: Yes, Unknown when it does
// only if its opaque atoms are always true (a "possibly" catch-all), No.
func (a *Analyzer) CoversAll(s *Set) engine.Tri {
	for _, x := range s.getHull() {
		if !a.sp.dims[x.dim].univ.subsetOf(*x.c) {
			return engine.No
		}
	}
	u := a.Universe()
	q := a.NewQuestion()
	q.Add(s, 0, false)
	r := q.Run(u, engine.No)
	q.Release()
	if r != engine.Yes {
		return engine.No
	}
	if !s.opaque {
		return engine.Yes
	}
	q = a.NewQuestion()
	q.Add(s.Strict(false), 0, false)
	r = q.Run(u, engine.No)
	q.Release()
	if r == engine.Yes {
		return engine.Yes
	}
	return engine.Unknown
}

// Question is one bounded walk: does every flow of a set, going through the
// sequence of boxes, get removed by a "subtract" box before it meets an
// "obstacle" box or the end? The walk is depth-first, so a witness flow
// (answer No) is found without building the whole remainder.
//
// Build one with NewQuestion, Add the sets in order (subtract sets remove
// the flows they hold, obstacle sets stop them), Run it on the inner set,
// read Used, and Release it so the next question reuses its storage.
type Question struct {
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

	// Indexed questions (UseIndex) walk the items of ix in sel, in index
	// order: obs are obstacles, the others subtract items. seq is unused.
	ix       *Index
	sel, obs bitset

	// wit is a box of flows that answered No (see Witness), kept when
	// keepWit is set.
	wit     box
	hasWit  bool
	keepWit bool
}

// KeepWitness makes q keep a witness of a No answer (see Witness).
func (q *Question) KeepWitness() { q.keepWit = true }

// saw records the first witness box (made by b only when kept).
func (q *Question) saw(b func() box) {
	if q.keepWit && !q.hasWit {
		q.wit, q.hasWit = b(), true
	}
}

// Witness returns, after a No answer of a question told to KeepWitness, a
// box of flows that shows it: they pass every subtract item and meet an
// obstacle (or the end, when end is No). ok is false otherwise.
func (q *Question) Witness() (Piece, bool) {
	return Piece{q.a, q.wit}, q.hasWit
}

type item struct {
	b        box
	owner    int
	obstacle bool
}

// NewQuestion returns an empty question with the analyser's work bound.
func (a *Analyzer) NewQuestion() *Question {
	n := a.budget()
	sc := 64 * n
	if a.total != nil {
		n = max(min(n, a.total[0]), 0)
		sc = max(min(sc, a.total[1]), 0)
	}
	q := &Question{a: a, sp: a.sp, ops: n, scans: sc, start: [2]int{n, sc}, usedSet: map[int]bool{}, noWitness: a.NoWitness}
	q.seq, a.seqBuf = a.seqBuf[:0], nil
	return q
}

// Limit lowers q's work bound to ops box subtractions (and 64 times as many
// overlap tests).
func (q *Question) Limit(ops int) {
	q.ops, q.scans = min(q.ops, ops), min(q.scans, 64*ops)
	q.start = [2]int{q.ops, q.scans}
}

// Release hands the question's storage to the next question; q must not be
// used afterwards.
func (q *Question) Release() {
	if q.a.seqBuf == nil && q.seq != nil {
		q.a.seqBuf = q.seq[:0]
	}
	q.seq = nil
}

// Add appends the boxes of s, owned by owner (reported by Used), as
// subtract items or, with obstacle, as obstacles.
func (q *Question) Add(s *Set, owner int, obstacle bool) {
	for _, b := range s.boxes {
		q.seq = append(q.seq, item{b: b, owner: owner, obstacle: obstacle})
	}
}

// UseIndex makes q walk the items of ix: those of sub as subtract items and
// those of obs as obstacles, in the index's order (an item in both is an
// obstacle). The masks are not copied; q must not be Added to.
func (q *Question) UseIndex(ix *Index, sub, obs Mask) {
	q.ix = ix
	q.sel = sub.Or(obs).b
	q.obs = obs.b
}

// n is the number of item positions.
func (q *Question) n() int {
	if q.ix != nil {
		return len(q.ix.items)
	}
	return len(q.seq)
}

// at returns item m.
func (q *Question) at(m int) (b box, owner int, obstacle bool) {
	if q.ix != nil {
		it := &q.ix.items[m]
		return it.b, it.owner, q.obs.has(m)
	}
	it := &q.seq[m]
	return it.b, it.owner, it.obstacle
}

// candidates returns the positions of the items that may overlap b
// (ascending).
func (q *Question) candidates(b box) []int {
	if q.ix == nil {
		all := make([]int, len(q.seq))
		for i := range all {
			all[i] = i
		}
		return all
	}
	over := newBits(q.ix.nw)
	q.ix.overlapping(b, q.sel, over)
	var out []int
	for id := over.next(0, len(q.ix.items)); id >= 0; id = over.next(id+1, len(q.ix.items)) {
		out = append(out, id)
	}
	return out
}

// Used returns the owners of the subtract items a Yes answer used, in the
// order first used.
func (q *Question) Used() []int { return q.used }

// Run answers for the flows of s; end is the answer for a flow that passes
// every item (No for a coverage question): Yes when every flow of s is
// removed by a subtract item before it meets an obstacle (or the end, when
// end is No), No when some flow is not, Unknown past the work bound.
func (q *Question) Run(s *Set, end engine.Tri) engine.Tri { return q.run(s.boxes, end) }

func (q *Question) run(bs fset, end engine.Tri) engine.Tri {
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
	res := engine.Yes
	for _, b := range bs {
		if q.ix != nil {
			if r, ok := q.contained(b); ok {
				switch r {
				case engine.No:
					return engine.No
				case engine.Unknown:
					res = r
				}
				continue
			}
		}
		var r engine.Tri
		if q.ix != nil {
			r = q.dfsIndexed(b)
		} else {
			r = q.dfs(b, q.candidates(b))
		}
		switch r {
		case engine.No:
			return engine.No
		case engine.Unknown:
			res = engine.Unknown
		}
	}
	return res
}

func (q *Question) use(owner int) {
	if !q.usedSet[owner] {
		q.usedSet[owner] = true
		q.used = append(q.used, owner)
	}
}

// dfs answers for the box b, which still has to pass the items cands
// (indices into seq, ascending, a superset of the items overlapping b).
func (q *Question) dfs(b box, cands []int) engine.Tri {
	base := len(q.sp.stk)
	r := q.dfs1(b, cands)
	q.sp.stk = q.sp.stk[:base]
	return r
}

// dfs1 is dfs; the items overlapping b go on the space's stack (above
// cands, which may lie on it too), which dfs pops.
func (q *Question) dfs1(b box, cands []int) engine.Tri {
	// Keep the items overlapping b: b's pieces only need those. If a
	// subtract item before any overlapping obstacle contains b whole, b is
	// removed without splitting. Otherwise subtract one of the subtract
	// items before the first overlapping obstacle (flows they remove never
	// reach it, whatever their order), the one that cuts b least.
	stk := q.sp.stk
	base := len(stk)
	best, bestScore := -1, 1<<30
	sawObstacle := false
	for _, m := range cands {
		q.scans--
		if q.scans < 0 {
			return engine.Unknown
		}
		ib, owner, obstacle := q.at(m)
		if !boxOverlap(b, ib) {
			continue
		}
		if obstacle {
			if best < 0 {
				q.saw(func() box { w, _ := boxAnd(b, ib); return w })
				return engine.No
			}
			sawObstacle = true
			stk = append(stk, m)
			continue
		}
		if !sawObstacle {
			sc := q.sp.cutScore(b, ib)
			if sc == 0 {
				q.use(owner)
				return engine.Yes
			}
			if sc < bestScore {
				best, bestScore = len(stk)-base, sc
			}
		}
		stk = append(stk, m)
	}
	over := stk[base:]
	q.sp.stk = stk
	if best < 0 {
		if q.endOK {
			return engine.Yes
		}
		q.saw(func() box { return q.sp.keep(b) })
		return engine.No
	}
	ib, owner, _ := q.at(over[best])
	q.ops--
	if q.ops < 0 {
		return engine.Unknown
	}
	q.use(owner)
	// The other items, in place (over is not read again).
	rest := append(over[:best], over[best+1:]...)
	return q.sp.eachPieceOfMinus(b, ib, func(p box) engine.Tri { return q.dfs(p, rest) })
}

// dfsIndexed is dfs over the candidates of an indexed question. It first
// tries with the subtract items that constrain no dimension b leaves free
// (the only ones dfs picks while any of them overlaps the piece it works
// on, since they never cost cutScore's thin-slice penalty): when that
// proves b removed, the full dfs would have made the same choices and found
// the same answer; otherwise the full dfs runs.
func (q *Question) dfsIndexed(b box) engine.Tri {
	cands := q.candidates(b)
	var narrow []int
	if !q.endOK {
		for _, m := range cands {
			if q.obs.has(m) || q.ix.within(m, b) {
				narrow = append(narrow, m)
			}
		}
	}
	// (With end Yes a piece that reaches the end without a narrow item is
	// removed too, where the full dfs would subtract other items first: the
	// answer is the same but not the items used, so only for end No.)
	if len(narrow) < len(cands) && !q.endOK {
		nUsed, hadWit := len(q.used), q.hasWit
		if q.dfs(b, narrow) == engine.Yes {
			return engine.Yes
		}
		for _, o := range q.used[nUsed:] {
			delete(q.usedSet, o)
		}
		q.used = q.used[:nUsed]
		q.hasWit = hadWit // a No without the other items proves nothing
	}
	if q.ops < 0 || q.scans < 0 {
		return engine.Unknown
	}
	return q.dfs(b, cands)
}

// within reports whether a constrains only dimensions that b constrains
// (or constrains others trivially): subtracting it never costs cutScore's
// thin-slice penalty.
func (sp *space) within(a, b box) bool {
	i := 0
	for _, y := range a {
		for i < len(b) && b[i].dim < y.dim {
			i++
		}
		if (i == len(b) || b[i].dim != y.dim) && !sp.dims[y.dim].univ.subsetOf(*y.c) {
			return false
		}
	}
	return true
}

// contained is dfs's first step for an indexed question, without scanning:
// when the first subtract item that contains b whole comes before every
// obstacle overlapping b, b is removed by it (Yes); when an obstacle
// overlapping b comes before every subtract item overlapping b, No.
// ok=false: neither, dfs decides.
func (q *Question) contained(b box) (engine.Tri, bool) {
	ix := q.ix
	n := len(ix.items)
	// Items containing b contain its lowest point.
	sp := q.sp
	p, touched, ok := sp.lowestPoint(b)
	defer sp.restore(touched)
	if !ok {
		return engine.Unknown, false
	}
	loc := ix.locator()
	loc.reset(p, touched)
	firstIn := -1
	for id := loc.first(q.sel, 0, n); id >= 0; id = loc.first(q.sel, id+1, n) {
		q.scans--
		if q.obs.has(id) {
			continue
		}
		if sp.boxSubset(b, ix.items[id].b) {
			firstIn = id
			break
		}
	}
	over := newBits(ix.nw)
	ix.overlapping(b, q.sel, over)
	sawSub := false
	for id := over.next(0, n); id >= 0; id = over.next(id+1, n) {
		if firstIn >= 0 && id >= firstIn {
			break
		}
		q.scans--
		if !boxOverlap(b, ix.items[id].b) {
			continue
		}
		switch {
		case q.obs.has(id) && !sawSub:
			q.saw(func() box { w, _ := boxAnd(b, ix.items[id].b); return w })
			return engine.No, true
		case q.obs.has(id), firstIn < 0:
			// A subtract item overlaps first and no later one contains b
			// before an obstacle: dfs splits.
			return engine.Unknown, false
		}
		sawSub = true
	}
	if q.scans < 0 {
		return engine.Unknown, true
	}
	if firstIn >= 0 {
		q.use(ix.items[firstIn].owner)
		return engine.Yes, true
	}
	if q.endOK {
		return engine.Yes, true
	}
	q.saw(func() box { return b })
	return engine.No, true
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
			if !sp.dims[y.dim].univ.subsetOf(*y.c) {
				score += 17
			}
			continue
		}
		if b[i].c != y.c && !b[i].c.subsetOf(*y.c) {
			score++
		}
	}
	return score
}

// Strict returns a copy of s for proofs that must not depend on opaque atoms:
// as an inner set (grow=true) opaque constraints are erased; as a
// subtracted set (grow=false) boxes that need an opaque atom are dropped.
func (s *Set) Strict(grow bool) *Set {
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
	return &Set{a: s.a, boxes: out, hull: s.getHull(), hullDone: true}
}

// Optimistic returns s with opaque constraints erased (every opaque atom may
// be true).
func (s *Set) Optimistic() *Set { return s.Strict(true) }
