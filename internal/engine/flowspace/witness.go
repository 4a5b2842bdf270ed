package flowspace

import (
	"sort"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// Fast path to "No": before subtracting boxes, try a few concrete points of
// the inner box, moved out of the subtracted boxes that catch them. A point that reaches
// an obstacle (or the end, for a coverage question) without being removed
// is a witness: the answer is No, exactly as the subtraction would find,
// for a fraction of the work.

// pval is a point's value on one dimension.
type pval struct {
	v6 bool   // kIP: an IPv6 address
	k  u128   // kIP, kNum
	s  string // kStr
	b  uint8  // kBool: 1 true, 2 false
	ks []u128 // kArr of numbers: the elements
	ss []string
}

func (s ivset) has(k u128) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].hi.cmp(k) >= 0 })
	return i < len(s) && s[i].lo.cmp(k) <= 0
}

// coord returns coordinate k of element i of an array value of n
// coordinates.
func (v pval) coord(i, n, k int) pval {
	if v.ks != nil {
		return pval{k: v.ks[i]}
	}
	return pval{s: v.ss[i*n+k]}
}

// elems is the number of elements of an array value of n coordinates.
func (v pval) elems(n int) int {
	if v.ks != nil {
		return len(v.ks)
	}
	return len(v.ss) / n
}

func (c cons) hasValue(v pval) bool {
	if c.kind == kNum {
		return c.v4.has(v.k)
	}
	return c.s.has(v.s)
}

func (c cons) hasPoint(v pval) bool {
	switch c.kind {
	case kIP:
		if v.v6 {
			return c.v6.has(v.k)
		}
		return c.v4.has(v.k)
	case kNum:
		return c.v4.has(v.k)
	case kStr:
		return c.s.has(v.s)
	case kBool:
		return c.b&v.b != 0
	case kArr:
		n := len(c.arr.forbid)
		m := v.elems(n)
		for i := 0; i < m; i++ {
			for k, f := range c.arr.forbid {
				if f.hasValue(v.coord(i, n, k)) {
					return false
				}
			}
		}
		for _, r := range c.arr.req {
			hit := false
			for i := 0; i < m; i++ {
				if r.c.hasValue(v.coord(i, n, r.k)) {
					hit = true
					break
				}
			}
			if !hit {
				return false
			}
		}
		return true
	}
	return false
}

func pointIn(p []pval, b box) bool {
	for _, x := range b {
		if !x.c.hasPoint(p[x.dim]) {
			return false
		}
	}
	return true
}

// pick returns a value of c, preferring one outside avoid (same kind, may be
// the zero cons meaning "nothing to avoid").
func pick(c, avoid cons) (pval, bool) {
	if avoid.kind == c.kind && c.kind != kArr {
		if v, ok := pick(c.minus(avoid), cons{}); ok {
			return v, true
		}
	}
	switch c.kind {
	case kIP:
		if len(c.v4) > 0 {
			return pval{k: c.v4[0].lo}, true
		}
		if len(c.v6) > 0 {
			return pval{v6: true, k: c.v6[0].lo}, true
		}
	case kNum:
		if len(c.v4) > 0 {
			return pval{k: c.v4[0].lo}, true
		}
	case kStr:
		if s, ok := c.s.sample(); ok {
			return pval{s: s}, true
		}
	case kBool:
		if c.b&2 != 0 {
			return pval{b: 2}, true
		}
		if c.b&1 != 0 {
			return pval{b: 1}, true
		}
	}
	return pval{}, false
}

// pickArr picks a minimal array for c: one element per requirement, its
// other coordinates any allowed value.
func pickArr(c cons) (pval, bool) {
	return pickArrElems(c.arr, func(areq, int) cons { return cons{} }, nil)
}

// pickArrElems builds one element per requirement of a: coordinate k of the
// element for requirement r is picked from r.c (k = r.k) or the allowed
// values, minus without(r, k) when that leaves a value. extra, when set, is
// one more element's coordinates (already chosen).
func pickArrElems(a *arrc, without func(r areq, k int) cons, extra []pval) (pval, bool) {
	var v pval
	n := len(a.forbid)
	add := func(e pval, kind dimKind) {
		if kind == kNum {
			v.ks = append(v.ks, e.k)
		} else {
			v.ss = append(v.ss, e.s)
		}
	}
	for _, r := range a.req {
		for k := 0; k < n; k++ {
			src := a.allowed(k)
			if k == r.k {
				src = r.c
			}
			e, ok := pick(src, without(r, k))
			if !ok {
				return pval{}, false
			}
			add(e, src.kind)
		}
	}
	for k, e := range extra {
		add(e, a.forbid[k].kind)
	}
	return v, true
}

// pickArrOutside picks an array value that satisfies c but not x: one that
// misses a requirement s of x (no element's coordinate s.k in s.c), or one
// that holds an element x forbids and c allows.
func pickArrOutside(c, x cons) (pval, bool) {
	for _, s := range x.arr.req {
		v, ok := pickArrElems(c.arr, func(r areq, k int) cons {
			if k == s.k {
				return s.c
			}
			return cons{}
		}, nil)
		// pick only prefers values outside s.c: check.
		if ok && !x.hasPoint(v) && c.hasPoint(v) {
			return v, true
		}
	}
	n := len(c.arr.forbid)
	for k := 0; k < n; k++ {
		g := x.arr.forbid[k].minus(c.arr.forbid[k])
		if g.empty() {
			continue
		}
		extra := make([]pval, n)
		ok := true
		for j := 0; j < n && ok; j++ {
			src := c.arr.allowed(j)
			if j == k {
				src = g
			}
			extra[j], ok = pick(src, cons{})
		}
		if !ok {
			continue
		}
		if v, ok := pickArrElems(c.arr, func(areq, int) cons { return cons{} }, extra); ok && !x.hasPoint(v) && c.hasPoint(v) {
			return v, true
		}
	}
	return pval{}, false
}

// witness looks for a point of b that passes every subtract item of seq[k:]
// and reaches an obstacle, or the end when the end answer is No. It returns
// No when it finds one, Unknown otherwise.
func (q *Question) witness(b box, k int) engine.Tri {
	if r := q.probe(b, k); r == engine.No {
		return r
	}
	// A flow of b inside one of the first obstacles it meets, if it dodges
	// the subtract items before, is a witness too.
	// Indexed questions probe cheaply: try more obstacles before the
	// subtraction.
	tries, maxTries := 0, 8
	var over bitset
	if q.ix != nil {
		over = newBits(q.ix.nw)
		q.ix.overlapping(b, q.obs, over)
		maxTries = 256
	}
	for m := k; m < q.n() && tries < maxTries; m++ {
		if over != nil {
			if m = over.next(m, q.n()); m < 0 {
				break
			}
		}
		ib, _, obstacle := q.at(m)
		if !obstacle || !boxOverlap(b, ib) {
			continue
		}
		tries++
		bo, ok := boxAnd(b, ib)
		if !ok {
			continue
		}
		if q.probe(bo, k) == engine.No {
			return engine.No
		}
	}
	return engine.Unknown
}

// probe builds one point of b (each dimension at its lowest value, or a
// fresh string) and walks it through seq[k:], moving it out of subtract
// items that catch it.
func (q *Question) probe(b box, k int) engine.Tri {
	sp := q.sp
	// The point lives in a scratch copy of the default point; the dimensions
	// set here are restored on return (no allocation per probe).
	p, touched, ok := sp.lowestPoint(b)
	defer sp.restore(touched)
	if !ok {
		return engine.Unknown
	}
	// Walk the sequence; when a subtract item catches the point, move the
	// point out of it along one dimension where b allows it and walk on.
	// A move may put the point into an item already passed, so a walk that
	// ends (at an obstacle or the end) re-checks the items before the last
	// move. tried guards against cycling: each dimension is moved at most
	// once per item.
	type move struct{ item, dim int }
	tried := map[move]bool{}
	var loc *locator
	if q.ix != nil {
		loc = q.ix.locator()
		loc.reset(p, touched)
	}
	first := func(from, to int) int {
		if q.scans < 0 {
			return -2
		}
		if loc != nil {
			q.scans--
			return loc.first(q.sel, from, to)
		}
		for m := from; m < to; m++ {
			q.scans--
			if pointIn(p, q.seq[m].b) {
				return m
			}
		}
		return -1
	}
	isObstacle := func(m int) bool { _, _, o := q.at(m); return o }
	pos := k // items before pos were passed before the last move
	for round := 0; round < 32; round++ {
		hit := first(pos, q.n())
		if hit == -2 {
			return engine.Unknown
		}
		end := hit
		if end < 0 {
			end = q.n()
		}
		if hit < 0 || isObstacle(hit) {
			if h := first(k, min(pos, end)); h == -2 {
				return engine.Unknown
			} else if h >= 0 {
				hit = h
			} else if hit < 0 {
				if q.endOK {
					return engine.Unknown
				}
				q.saw(func() box { return sp.pin(p, b) })
				return engine.No
			} else {
				q.saw(func() box { return sp.pin(p, b) })
				return engine.No
			}
		}
		hb, _, obstacle := q.at(hit)
		if obstacle {
			q.saw(func() box { return sp.pin(p, b) })
			return engine.No
		}
		pos = hit + 1
		moved := false
		for _, x := range hb {
			if tried[move{hit, x.dim}] {
				continue
			}
			c, ok := b.get(x.dim)
			if !ok {
				c = sp.dims[x.dim].univ
			}
			var v pval
			if x.c.kind == kArr {
				if v, ok = pickArrOutside(c, *x.c); !ok {
					continue
				}
			} else {
				rest := c.minus(*x.c)
				if rest.empty() {
					continue
				}
				if v, ok = pick(rest, cons{}); !ok {
					continue
				}
			}
			tried[move{hit, x.dim}] = true
			p[x.dim] = v
			touched = append(touched, x.dim)
			if loc != nil {
				loc.move(p, x.dim)
			}
			moved = true
			break
		}
		if !moved {
			return engine.Unknown
		}
	}
	return engine.Unknown
}

// defaultPoint returns a point of the universe (cached; dimensions only
// grow).
func (sp *space) defaultPoint() []pval {
	for d := len(sp.defaults); d < len(sp.dims); d++ {
		v, _ := lowest(sp.dims[d].univ)
		sp.defaults = append(sp.defaults, v)
		sp.scratch = append(sp.scratch, v)
	}
	return sp.defaults
}

// lowest is c's lowest value (an array's: its lowest elements).
func lowest(c cons) (pval, bool) {
	if c.kind == kArr {
		return pickArr(c)
	}
	return pick(c, cons{})
}

// lowestPoint sets the scratch point to b's lowest value in each of b's
// dimensions (the default point elsewhere) and returns it with the
// dimensions it set, for restore; ok is false when a dimension of b has no
// value.
func (sp *space) lowestPoint(b box) (p []pval, touched []int, ok bool) {
	sp.defaultPoint()
	p = sp.scratch
	for _, x := range b {
		v, ok := lowest(*x.c)
		if !ok {
			return p, touched, false
		}
		p[x.dim] = v
		touched = append(touched, x.dim)
	}
	return p, touched, true
}

// restore puts the default point's values back in the scratch point's
// dimensions touched.
func (sp *space) restore(touched []int) {
	for _, d := range touched {
		sp.scratch[d] = sp.defaults[d]
	}
}

// pin returns the box of the single point p (within b): every dimension
// pinned to p's value; an array to its elements' values per coordinate
// (all that any constraint reads of an array).
func (sp *space) pin(p []pval, b box) box {
	out := make(box, 0, len(sp.dims))
	for d := range sp.dims {
		u := sp.dims[d].univ
		v := p[d]
		var c cons
		switch u.kind {
		case kIP:
			c = cons{kind: kIP}
			if v.v6 {
				c.v6 = ivOf(v.k, v.k)
			} else {
				c.v4 = ivOf(v.k, v.k)
			}
		case kNum:
			c = cons{kind: kNum, v4: ivOf(v.k, v.k)}
		case kStr:
			c = cons{kind: kStr, s: strOf(v.s)}
		case kBool:
			c = cons{kind: kBool, b: v.b}
		case kArr:
			n := len(u.arr.forbid)
			forbid := make([]cons, n)
			var req []areq
			for k := 0; k < n; k++ {
				if v.ks != nil || u.arr.forbid[k].kind == kNum {
					var xs []ival
					for _, x := range v.ks {
						xs = append(xs, ival{x, x})
						req = append(req, areq{k, cons{kind: kNum, v4: ivOf(x, x)}})
					}
					forbid[k] = cons{kind: kNum, v4: intUniverse().v4.minus(ivFromList(xs))}
					continue
				}
				var vals []string
				for i := 0; i*n+k < len(v.ss); i++ {
					vals = append(vals, v.ss[i*n+k])
					req = append(req, areq{k, cons{kind: kStr, s: strOf(v.ss[i*n+k])}})
				}
				forbid[k] = cons{kind: kStr, s: strOf(vals...).not()}
			}
			c = mkArr(forbid, req)
		}
		if x, ok := b.get(d); ok && !c.subsetOf(x) {
			c = c.and(x) // keep within b (never empty for a point of b)
		}
		out = append(out, mkdc(d, c))
	}
	return out
}
