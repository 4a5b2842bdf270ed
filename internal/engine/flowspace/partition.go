package flowspace

import "github.com/cfegress/terraform-provider-cfegress/internal/engine"

// A Piece is one box of flows: a conjunction of constraints, one per
// dimension it constrains.
type Piece struct {
	a *Analyzer
	b box
}

// Opaque reports whether p constrains an opaque atom (a regex or $list
// condition): which flows it holds then depends on what the atom means.
func (p Piece) Opaque() bool {
	for _, x := range p.b {
		if p.a.sp.dims[x.dim].opaque {
			return true
		}
	}
	return false
}

// And returns the pieces of p ∩ s.
func (p Piece) And(s *Set) []Piece {
	var out []Piece
	for _, b := range s.boxes {
		if c, ok := boxAnd(p.b, b); ok {
			out = append(out, Piece{p.a, c})
		}
	}
	return out
}

// Overlaps reports whether p and s share a flow.
func (p Piece) Overlaps(s *Set) bool {
	for _, b := range s.boxes {
		if boxOverlap(p.b, b) {
			return true
		}
	}
	return false
}

// Overlaps reports whether s and t share a flow.
func (s *Set) Overlaps(t *Set) bool {
	for _, b := range s.boxes {
		for _, c := range t.boxes {
			if boxOverlap(b, c) {
				return true
			}
		}
	}
	return false
}

// SetOf returns the union of pieces as a set, simplified (boxes contained
// in others are dropped, boxes that differ in one dimension merged) when
// there are at most 32 of them.
func (a *Analyzer) SetOf(ps []Piece) *Set {
	bs := make(fset, len(ps))
	for i, p := range ps {
		bs[i] = p.b
	}
	if len(bs) <= 32 {
		bs = a.sp.simplify(bs)
	}
	return a.newSet(bs)
}

// Pieces returns the boxes of s.
func (s *Set) Pieces() []Piece {
	out := make([]Piece, len(s.boxes))
	for i, b := range s.boxes {
		out[i] = Piece{s.a, b}
	}
	return out
}

// Partition walks the flows of s through the question's items in order, as
// first-match evaluation does: flows a subtract item holds are dropped,
// flows an obstacle holds are emitted with its owner, flows that pass every
// item are emitted with owner -1. Each flow of s is in exactly one emitted
// label (pieces with one label may overlap where array complements do).
// emit returns false to stop the walk (answer No). Past the work bound the
// answer is Unknown: what was emitted is exact, but some flows were not
// reached. Otherwise Yes.
func (q *Question) Partition(s *Set, emit func(p Piece, owner int) bool) engine.Tri {
	q.endOK = false
	if q.a.total != nil {
		defer func() {
			q.a.total[0] -= q.start[0] - max(q.ops, 0)
			q.a.total[1] -= q.start[1] - max(q.scans, 0)
		}()
	}
	res := engine.Yes
	for _, b := range s.boxes {
		switch q.part(b, q.candidates(b), emit) {
		case engine.No:
			return engine.No
		case engine.Unknown:
			res = engine.Unknown
		}
	}
	return res
}

// part is Partition for the box b and the items cands (ascending, a
// superset of those overlapping b).
func (q *Question) part(b box, cands []int, emit func(Piece, int) bool) engine.Tri {
	base := len(q.sp.stk)
	r := q.part1(b, cands, emit)
	q.sp.stk = q.sp.stk[:base]
	return r
}

// part1 is part; the items overlapping b go on the space's stack (above
// cands, which may lie on it too), which part pops.
func (q *Question) part1(b box, cands []int, emit func(Piece, int) bool) engine.Tri {
	// Subtract items before the first overlapping obstacle take their flows
	// whatever their order: subtract the one that cuts b least first.
	stk := q.sp.stk
	base := len(stk)
	best, bestScore, firstObs := -1, 1<<30, -1
	for _, m := range cands {
		q.scans--
		if q.scans < 0 {
			return engine.Unknown
		}
		ib, _, obstacle := q.at(m)
		if !boxOverlap(b, ib) {
			continue
		}
		if obstacle {
			if firstObs < 0 {
				firstObs = len(stk) - base
			}
			stk = append(stk, m)
			continue
		}
		if firstObs < 0 {
			sc := q.sp.cutScore(b, ib)
			if sc == 0 {
				return engine.Yes // dropped whole
			}
			if sc < bestScore {
				best, bestScore = len(stk)-base, sc
			}
		}
		stk = append(stk, m)
	}
	over := stk[base:]
	q.sp.stk = stk
	if best < 0 && firstObs < 0 {
		if !emit(Piece{q.a, q.sp.keep(b)}, -1) {
			return engine.No
		}
		return engine.Yes
	}
	k := best
	if k < 0 {
		// The first overlapping item is an obstacle: it takes b ∩ it.
		k = firstObs
		ib, owner, _ := q.at(over[k])
		if in, ok := q.sp.boxAnd(b, ib); ok && !emit(Piece{q.a, in}, owner) {
			return engine.No
		}
	}
	ib, _, _ := q.at(over[k])
	q.ops--
	if q.ops < 0 {
		return engine.Unknown
	}
	// The other items, in place (over is not read again).
	rest := append(over[:k], over[k+1:]...)
	return q.sp.eachPieceOfMinus(b, ib, func(p box) engine.Tri { return q.part(p, rest, emit) })
}

// eachPieceOfMinus answers f for each piece of b \ ib, carved on the arena
// (f splits a piece further or copies what it keeps): No as soon as one
// answer is No, else Unknown if one was, else Yes. The pieces are released
// after the last answer.
func (sp *space) eachPieceOfMinus(b, ib box, f func(box) engine.Tri) engine.Tri {
	res := engine.Yes
	mark := len(sp.arena)
	for _, p := range sp.boxMinusTmp(b, ib) {
		switch f(p) {
		case engine.No:
			res = engine.No
		case engine.Unknown:
			res = engine.Unknown
		}
		if res == engine.No {
			break
		}
	}
	clear(sp.arena[mark:])
	sp.arena = sp.arena[:mark]
	return res
}
