package flowspace

import (
	"slices"
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

// arrc constrains an array field E, a finite set of elements. An element
// is a tuple of len(forbid) coordinates (one for most arrays; three for
// identity.groups, whose elements are (id, name, email): the three group
// selectors read the same list of groups). E satisfies the constraint when
// no element has a coordinate k in forbid[k], and for each requirement r
// some element has coordinate r.k in r.c. Coordinate values are kNum or
// kStr constraints. Normalised: every r.c is disjoint from forbid[r.k] and
// no r is a superset of another on the same coordinate.
type arrc struct {
	forbid []cons
	req    []areq
}

// areq is one requirement of an array constraint: some element whose
// coordinate k is in c.
type areq struct {
	k int
	c cons
}

// allowedEmpty reports whether some coordinate has no allowed value: then
// no element is allowed at all and E must be empty.
func (a *arrc) allowedEmpty() bool {
	for _, f := range a.forbid {
		if f.universeOf().subsetOf(f) {
			return true
		}
	}
	return false
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
			if r.c.empty() {
				return true
			}
		}
		return len(c.arr.req) > 0 && c.arr.allowedEmpty()
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
		f := make([]cons, len(c.arr.forbid))
		for k := range f {
			f[k] = c.arr.forbid[k].or(d.arr.forbid[k])
		}
		req := make([]areq, 0, len(c.arr.req)+len(d.arr.req))
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
		return c.arr.subsetOf(d.arr)
	}
	return false
}

// subsetOf reports a ⊆ b for a non-empty a.
func (a *arrc) subsetOf(b *arrc) bool {
	if a.allowedEmpty() {
		// No element is allowed: a = {∅}, which is in b when b requires
		// nothing.
		return len(b.req) == 0
	}
	// Every element allowed by a (any tuple of allowed coordinates) may be
	// added to a member of a, so b must allow all of them: Fb ⊆ Fa per
	// coordinate. A minimal member picks one element per requirement of a,
	// whose coordinate r.k is in r.c and whose other coordinates are any
	// allowed value; each requirement of b must be met by one of them
	// whatever the picks.
	for k := range b.forbid {
		if !b.forbid[k].subsetOf(a.forbid[k]) {
			return false
		}
	}
	for _, rb := range b.req {
		ok := false
		for _, ra := range a.req {
			if ra.k == rb.k && ra.c.subsetOf(rb.c) {
				ok = true
				break
			}
			if ra.k != rb.k && a.allowed(rb.k).subsetOf(rb.c) {
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

// allowed is coordinate k's allowed values.
func (a *arrc) allowed(k int) cons {
	f := a.forbid[k]
	return f.universeOf().minus(f)
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
func mkArr(forbid []cons, req []areq) cons {
	rs := make([]areq, 0, len(req))
	for _, r := range req {
		r.c = r.c.minus(forbid[r.k])
		rs = append(rs, r)
		if r.c.empty() {
			return cons{kind: kArr, arr: &arrc{forbid: forbid, req: []areq{r}}}
		}
	}
	// Drop a requirement implied by a smaller one on the same coordinate
	// (r ⊆ r' makes r' redundant).
	keep := rs[:0]
	for i, r := range rs {
		redundant := false
		for j, q := range rs {
			if i == j || q.k != r.k {
				continue
			}
			if q.c.subsetOf(r.c) && (!r.c.subsetOf(q.c) || j < i) {
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

// arrOf is the array constraint "some element's coordinate k is in c" over
// elements of n coordinates of c's kind.
func arrOf(n, k int, c cons) cons {
	return mkArr(noForbid(n, c), []areq{{k, c}})
}

// noForbid is n empty forbid sets of c's kind.
func noForbid(n int, c cons) []cons {
	f := make([]cons, n)
	for i := range f {
		f[i] = emptyOf(c.universeOf())
	}
	return f
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
	// ¬(∀e ∀k e_k∉F_k ∧ ∧ ∃e e_{r.k}∈r.c) = ∨_k ∃e e_k∈F_k ∨ ∨_r ∀e e_{r.k}∉r.c.
	var out []cons
	n := len(c.arr.forbid)
	for k, f := range c.arr.forbid {
		if !f.empty() {
			out = append(out, mkArr(noForbid(n, f), []areq{{k, f}}))
		}
	}
	for _, r := range c.arr.req {
		f := noForbid(n, r.c)
		f[r.k] = r.c
		out = append(out, mkArr(f, nil))
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

// dc is a box's constraint on dimension dim. Constraints are never
// changed in place: boxes share them, so that a box is cheap to copy (two
// words a dimension) when it is cut into pieces.
type dc struct {
	dim int
	c   *cons
}

// mkdc is the constraint c on dim.
func mkdc(dim int, c cons) dc { return dc{dim, &c} }

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
			if a[i].c == b[j].c {
				out = append(out, a[i])
			} else {
				c := a[i].c.and(*b[j].c)
				if c.empty() {
					return nil, false
				}
				out = append(out, mkdc(a[i].dim, c))
			}
			i++
			j++
		}
	}
	return out, true
}

// boxAnd is boxAnd for boxes of sp's walks: the constraints of both meet
// through andOf, and the box is carved from the slab.
func (sp *space) boxAnd(a, b box) (box, bool) {
	n, i, j := 0, 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].dim < b[j].dim):
			i++
		case i == len(a) || b[j].dim < a[i].dim:
			j++
		default:
			if a[i].c != b[j].c && sp.andOf(a[i].c, b[j].c).empty() {
				return nil, false
			}
			i++
			j++
		}
		n++
	}
	out := sp.carve(n)
	i, j = 0, 0
	for w := range out {
		switch {
		case j == len(b) || (i < len(a) && a[i].dim < b[j].dim):
			out[w] = a[i]
			i++
		case i == len(a) || b[j].dim < a[i].dim:
			out[w] = b[j]
			j++
		default:
			out[w] = a[i]
			if a[i].c != b[j].c {
				out[w].c = sp.andOf(a[i].c, b[j].c)
			}
			i++
			j++
		}
	}
	return out, true
}

// boxOverlap reports whether two (non-empty) boxes intersect.
func boxOverlap(a, b box) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(b) <= 2 && len(a) >= 16 {
		// A policy's box against a piece that many cuts narrowed: look its
		// few dimensions up.
		for _, y := range b {
			if x, ok := a.lookup(y.dim); ok && x != y.c && !x.overlaps(*y.c) {
				return false
			}
		}
		return true
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].dim < b[j].dim:
			i++
		case b[j].dim < a[i].dim:
			j++
		default:
			if a[i].c != b[j].c && !a[i].c.overlaps(*b[j].c) {
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
	if len(b) <= 2 && len(a) >= 16 {
		for _, y := range b {
			x, ok := a.lookup(y.dim)
			if !ok {
				if !sp.dims[y.dim].univ.subsetOf(*y.c) {
					return false
				}
				continue
			}
			if x != y.c && !x.subsetOf(*y.c) {
				return false
			}
		}
		return true
	}
	i := 0
	for _, y := range b {
		for i < len(a) && a[i].dim < y.dim {
			i++
		}
		if i == len(a) || a[i].dim != y.dim {
			// a is unconstrained here.
			if !sp.dims[y.dim].univ.subsetOf(*y.c) {
				return false
			}
			continue
		}
		if a[i].c != y.c && !a[i].c.subsetOf(*y.c) {
			return false
		}
	}
	return true
}

// get returns the box's constraint on dim, or ok=false if unconstrained.
func (b box) get(dim int) (cons, bool) {
	if c, ok := b.lookup(dim); ok {
		return *c, true
	}
	return cons{}, false
}

// lookup is get without the copy.
func (b box) lookup(dim int) (*cons, bool) {
	lo, hi := 0, len(b)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if b[m].dim < dim {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(b) && b[lo].dim == dim {
		return b[lo].c, true
	}
	return nil, false
}

// complement is the complement of a scalar constraint y within its
// dimension's universe (fresh: the universe and it, a piece's constraint on
// a dimension the box left free). Items are subtracted again and again,
// so the answers are kept (constraints are never changed in place, and each
// belongs to one dimension); the cache starts over past a bound.
func (sp *space) complement(y dc) *cons {
	if x, ok := sp.compl[y.c]; ok {
		return x[0]
	}
	x := sp.dims[y.dim].univ.minus(*y.c)
	if sp.compl == nil || len(sp.compl) >= 1<<14 {
		sp.compl = map[*cons][2]*cons{}
	}
	sp.compl[y.c] = [2]*cons{&x, nil}
	return &x
}

// fresh is the universe ∧ complement(y), kept with it.
func (sp *space) fresh(y dc) *cons {
	nc := sp.complement(y)
	x := sp.compl[y.c]
	if x[1] == nil {
		f := sp.dims[y.dim].univ.and(*nc)
		x[1] = &f
		sp.compl[y.c] = x
	}
	return x[1]
}

type consPair struct{ x, y *cons }

// andOf is x ∧ y for two constraints of one dimension, kept by pointer
// pair: the pieces of a walk share their constraints, and meet the same
// items again and again.
func (sp *space) andOf(x, y *cons) *cons {
	k := consPair{x, y}
	if r, ok := sp.ands[k]; ok {
		return r
	}
	r := x.and(*y)
	if sp.ands == nil || len(sp.ands) >= 1<<15 {
		sp.ands = map[consPair]*cons{}
	}
	sp.ands[k] = &r
	return &r
}

// carve returns a box of length n from the space's slab, capped at n so
// that appending to it never writes into its neighbour.
func (sp *space) carve(n int) box {
	if cap(sp.slab)-len(sp.slab) < n {
		sp.slab = make(box, 0, max(1024, n))
	}
	l := len(sp.slab)
	sp.slab = sp.slab[:l+n]
	return sp.slab[l : l+n : l+n]
}

// boxMinusTmp is boxMinus with pieces that live on the space's arena until
// the caller truncates it back to the length it had before the call
// (arenaMark): pieces a walk only splits further, never keeps.
func (sp *space) boxMinusTmp(a, b box) []box {
	sp.tmpPieces = true
	out := sp.boxMinus(a, b)
	sp.tmpPieces = false
	return out
}

// keep is a copy of a box from the arena, on the heap.
func (sp *space) keep(b box) box {
	p := sp.carve(len(b))
	copy(p, b)
	return p
}

// overlay writes into p (of the exact length) the box a with the
// constraints of ov (sorted by dimension) in place of a's on theirs.
func overlay(p, a box, ov []dc) {
	if len(ov) == 1 {
		o := ov[0]
		pos := sort.Search(len(a), func(i int) bool { return a[i].dim >= o.dim })
		copy(p, a[:pos])
		p[pos] = o
		if pos < len(a) && a[pos].dim == o.dim {
			pos++
		}
		copy(p[len(p)-(len(a)-pos):], a[pos:])
		return
	}
	i, j, w := 0, 0, 0
	for i < len(a) || j < len(ov) {
		switch {
		case j == len(ov) || (i < len(a) && a[i].dim < ov[j].dim):
			p[w] = a[i]
			i++
		case i == len(a) || ov[j].dim < a[i].dim:
			p[w] = ov[j]
			j++
		default:
			p[w] = ov[j]
			i++
			j++
		}
		w++
	}
}

// boxMinus returns a \ b as a union of non-empty boxes (pairwise disjoint
// except for pieces of an array dimension's complement). Assumes a and b are
// non-empty. A piece is a narrowed on b's dimensions before y and cut on
// y's; it shares a's constraints, and is carved from the space's slab.
func (sp *space) boxMinus(a, b box) []box {
	if !boxOverlap(a, b) {
		return []box{a}
	}
	if sp.boxSubset(a, b) {
		return nil
	}
	var out []box
	// ov: the constraints narrowed so far (b's dimensions are ascending),
	// then the piece's; extra: how many of them a leaves free.
	var ovBuf [4]dc
	ov := ovBuf[:0]
	extra := 0
	for k, y := range b {
		ap, has := a.lookup(y.dim)
		if has && (ap == y.c || ap.subsetOf(*y.c)) {
			continue // nothing of a lies outside b on this dimension
		}
		n := len(a) + extra
		if !has {
			n++
		}
		var ncs []cons
		var fresh *cons
		if y.c.kind == kArr {
			ncs = y.c.notIn(sp.dims[y.dim].univ)
		} else {
			if nc := sp.complement(y); !nc.empty() {
				if has {
					fresh = sp.andOf(ap, nc)
				} else {
					fresh = sp.fresh(y)
				}
				ncs = []cons{{}} // one piece: fresh
			}
		}
		for _, nc := range ncs {
			var pc *cons
			switch {
			case fresh != nil:
				pc = fresh
			case has:
				c := ap.and(nc)
				pc = &c
			default:
				c := sp.dims[y.dim].univ.and(nc)
				pc = &c
			}
			if pc.empty() {
				continue
			}
			var p box
			if sp.tmpPieces {
				l := len(sp.arena)
				sp.arena = slices.Grow(sp.arena, n)[:l+n]
				p = sp.arena[l : l+n : l+n]
			} else {
				p = sp.carve(n)
			}
			overlay(p, a, append(ov, dc{y.dim, pc}))
			if out == nil {
				out = make([]box, 0, len(b)-k)
			}
			out = append(out, p)
		}
		if k == len(b)-1 {
			break // not narrowed again
		}
		var in *cons
		if has {
			in = sp.andOf(ap, y.c)
		} else {
			c := sp.dims[y.dim].univ.and(*y.c)
			in = &c
		}
		if in.empty() {
			break // unreachable after the overlap check, kept for safety
		}
		ov = append(ov, dc{y.dim, in})
		if !has {
			extra++
		}
	}
	return out
}
