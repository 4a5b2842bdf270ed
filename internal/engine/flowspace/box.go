package flowspace

import (
	"sort"
)

// A set of flows is a union of boxes. A box constrains some dimensions
// (fields, array fields, opaque atoms) and leaves the others at their
// universe. Dimensions are independent, so a box is empty exactly when one
// of its constraints is empty, which keeps emptiness and subtraction exact.

type dimKind uint8

const (
	kIP   dimKind = iota + 1 // v4 and v6 interval sets
	kNum                     // interval set (ports, integers)
	kStr                     // finite/co-finite string set
	kBool                    // opaque atom: bit 1 = true, bit 2 = false
	kArr                     // array field: "contains" constraints
)

// cons is the constraint of a box on one dimension.
type cons struct {
	kind   dimKind
	v4, v6 ivset // kIP: both; kNum: v4
	s      strset
	b      uint8
	arr    *arrc
}

// arrc constrains an array field E (a finite set of elements):
// E ∩ forbid = ∅ and, for each r in req, E ∩ r ≠ ∅. Element sets are kNum
// or kStr constraints. Normalised: every r is disjoint from forbid and no r
// is a superset of another.
type arrc struct {
	forbid cons
	req    []cons
}

func (c cons) empty() bool {
	switch c.kind {
	case kIP:
		return c.v4.empty() && c.v6.empty()
	case kNum:
		return c.v4.empty()
	case kStr:
		return c.s.empty()
	case kBool:
		return c.b == 0
	case kArr:
		for _, r := range c.arr.req {
			if r.empty() {
				return true
			}
		}
		return false
	}
	return true
}

func (c cons) and(d cons) cons {
	switch c.kind {
	case kIP:
		return cons{kind: kIP, v4: c.v4.and(d.v4), v6: c.v6.and(d.v6)}
	case kNum:
		return cons{kind: kNum, v4: c.v4.and(d.v4)}
	case kStr:
		return cons{kind: kStr, s: c.s.and(d.s)}
	case kBool:
		return cons{kind: kBool, b: c.b & d.b}
	case kArr:
		f := c.arr.forbid.or(d.arr.forbid)
		req := make([]cons, 0, len(c.arr.req)+len(d.arr.req))
		req = append(req, c.arr.req...)
		req = append(req, d.arr.req...)
		return mkArr(f, req)
	}
	panic("flowspace: bad constraint kind")
}

// or is defined for scalar kinds only.
func (c cons) or(d cons) cons {
	switch c.kind {
	case kIP:
		return cons{kind: kIP, v4: c.v4.or(d.v4), v6: c.v6.or(d.v6)}
	case kNum:
		return cons{kind: kNum, v4: c.v4.or(d.v4)}
	case kStr:
		return cons{kind: kStr, s: c.s.or(d.s)}
	case kBool:
		return cons{kind: kBool, b: c.b | d.b}
	}
	panic("flowspace: or on array constraint")
}

// minus is defined for scalar kinds only.
func (c cons) minus(d cons) cons {
	switch c.kind {
	case kIP:
		return cons{kind: kIP, v4: c.v4.minus(d.v4), v6: c.v6.minus(d.v6)}
	case kNum:
		return cons{kind: kNum, v4: c.v4.minus(d.v4)}
	case kStr:
		return cons{kind: kStr, s: c.s.minus(d.s)}
	case kBool:
		return cons{kind: kBool, b: c.b &^ d.b}
	}
	panic("flowspace: minus on array constraint")
}

func (c cons) overlaps(d cons) bool {
	switch c.kind {
	case kIP:
		return c.v4.overlaps(d.v4) || c.v6.overlaps(d.v6)
	case kNum:
		return c.v4.overlaps(d.v4)
	case kStr:
		return c.s.overlaps(d.s)
	case kBool:
		return c.b&d.b != 0
	}
	return !c.and(d).empty()
}

// subsetOf reports c ⊆ d (c is assumed non-empty for arrays).
func (c cons) subsetOf(d cons) bool {
	switch c.kind {
	case kIP:
		return c.v4.subsetOf(d.v4) && c.v6.subsetOf(d.v6)
	case kNum:
		return c.v4.subsetOf(d.v4)
	case kStr:
		return c.s.subsetOf(d.s)
	case kBool:
		return c.b&^d.b == 0
	case kArr:
		// Every E with E∩Fc=∅ and hitting each Rc must avoid Fd and hit each
		// Rd. E may hold any extra element outside Fc, so Fd ⊆ Fc is needed;
		// a minimal E picks one element of each Rc (all disjoint from Fc),
		// so each Rd must contain a whole Rc.
		if !d.arr.forbid.subsetOf(c.arr.forbid) {
			return false
		}
		for _, rd := range d.arr.req {
			ok := false
			for _, rc := range c.arr.req {
				if rc.subsetOf(rd) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}
	return false
}

func (c cons) equal(d cons) bool {
	switch c.kind {
	case kIP:
		return c.v4.equal(d.v4) && c.v6.equal(d.v6)
	case kNum:
		return c.v4.equal(d.v4)
	case kStr:
		return c.s.equal(d.s)
	case kBool:
		return c.b == d.b
	case kArr:
		return c.subsetOf(d) && d.subsetOf(c)
	}
	return false
}

// mkArr builds a normalised array constraint.
func mkArr(forbid cons, req []cons) cons {
	rs := make([]cons, 0, len(req))
	for _, r := range req {
		r = r.minus(forbid)
		rs = append(rs, r)
		if r.empty() {
			return cons{kind: kArr, arr: &arrc{forbid: forbid, req: []cons{r}}}
		}
	}
	// Drop a requirement implied by a smaller one (r ⊆ r' makes r' redundant).
	keep := rs[:0]
	for i, r := range rs {
		redundant := false
		for j, q := range rs {
			if i == j {
				continue
			}
			if q.subsetOf(r) && (!r.subsetOf(q) || j < i) {
				redundant = true
				break
			}
		}
		if !redundant {
			keep = append(keep, r)
		}
	}
	return cons{kind: kArr, arr: &arrc{forbid: forbid, req: keep}}
}

// notIn returns the complement of c within the universe u as a union of
// constraints.
func (c cons) notIn(u cons) []cons {
	if c.kind != kArr {
		x := u.minus(c)
		if x.empty() {
			return nil
		}
		return []cons{x}
	}
	// ¬(E∩F=∅ ∧ ∧ E∩R≠∅) = E∩F≠∅ ∨ ∨ E∩R=∅.
	var out []cons
	ue := u.arr.forbid.universeOf()
	if !c.arr.forbid.empty() {
		out = append(out, mkArr(emptyOf(ue), []cons{c.arr.forbid}))
	}
	for _, r := range c.arr.req {
		out = append(out, mkArr(r, nil))
	}
	return out
}

// universeOf returns the universe of element constraints of c's kind.
func (c cons) universeOf() cons {
	switch c.kind {
	case kNum:
		return intUniverse()
	case kStr:
		return cons{kind: kStr, s: strset{co: true}}
	}
	panic("flowspace: universeOf on non-element kind")
}

func emptyOf(u cons) cons { return cons{kind: u.kind} }

// dc is a box's constraint on dimension dim.
type dc struct {
	dim int
	c   cons
}

// box is a conjunction of constraints, sorted by dimension. A missing
// dimension is unconstrained.
type box []dc

// boxAnd intersects two boxes; ok is false when the result is empty.
func boxAnd(a, b box) (box, bool) {
	out := make(box, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].dim < b[j].dim):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].dim < a[i].dim:
			out = append(out, b[j])
			j++
		default:
			c := a[i].c.and(b[j].c)
			if c.empty() {
				return nil, false
			}
			out = append(out, dc{a[i].dim, c})
			i++
			j++
		}
	}
	return out, true
}

// boxOverlap reports whether two (non-empty) boxes intersect.
func boxOverlap(a, b box) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].dim < b[j].dim:
			i++
		case b[j].dim < a[i].dim:
			j++
		default:
			if !a[i].c.overlaps(b[j].c) {
				return false
			}
			i++
			j++
		}
	}
	return true
}

// boxSubset reports a ⊆ b for a non-empty box a.
func (sp *space) boxSubset(a, b box) bool {
	i := 0
	for _, y := range b {
		for i < len(a) && a[i].dim < y.dim {
			i++
		}
		if i == len(a) || a[i].dim != y.dim {
			// a is unconstrained here.
			if !sp.dims[y.dim].univ.subsetOf(y.c) {
				return false
			}
			continue
		}
		if !a[i].c.subsetOf(y.c) {
			return false
		}
	}
	return true
}

// get returns the box's constraint on dim, or ok=false if unconstrained.
func (b box) get(dim int) (cons, bool) {
	k := sort.Search(len(b), func(i int) bool { return b[i].dim >= dim })
	if k < len(b) && b[k].dim == dim {
		return b[k].c, true
	}
	return cons{}, false
}

// with returns a copy of b constrained to c on dim (replacing any previous
// constraint on dim).
func (b box) with(dim int, c cons) box {
	out := make(box, 0, len(b)+1)
	done := false
	for _, x := range b {
		if x.dim == dim {
			out = append(out, dc{dim, c})
			done = true
			continue
		}
		if !done && x.dim > dim {
			out = append(out, dc{dim, c})
			done = true
		}
		out = append(out, x)
	}
	if !done {
		out = append(out, dc{dim, c})
	}
	return out
}

// boxMinus returns a \ b as a union of non-empty boxes (pairwise disjoint
// except for pieces of an array dimension's complement). Assumes a and b are
// non-empty.
func (sp *space) boxMinus(a, b box) []box {
	if !boxOverlap(a, b) {
		return []box{a}
	}
	if sp.boxSubset(a, b) {
		return nil
	}
	var out []box
	cur := a
	for _, y := range b {
		ac, has := cur.get(y.dim)
		if !has {
			ac = sp.dims[y.dim].univ
		}
		if has && ac.subsetOf(y.c) {
			continue // nothing of cur lies outside b on this dimension
		}
		for _, nc := range y.c.notIn(sp.dims[y.dim].univ) {
			piece := ac.and(nc)
			if piece.empty() {
				continue
			}
			out = append(out, cur.with(y.dim, piece))
		}
		in := ac.and(y.c)
		if in.empty() {
			return out // unreachable after the overlap check, kept for safety
		}
		cur = cur.with(y.dim, in)
	}
	return out
}
