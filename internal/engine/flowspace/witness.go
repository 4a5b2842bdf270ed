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

func (c cons) hasElem(v pval, i int) bool {
	if c.kind == kNum {
		return c.v4.has(v.ks[i])
	}
	return c.s.has(v.ss[i])
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
		n := len(v.ks) + len(v.ss)
		for i := 0; i < n; i++ {
			if c.arr.forbid.hasElem(v, i) {
				return false
			}
		}
		for _, r := range c.arr.req {
			hit := false
			for i := 0; i < n; i++ {
				if r.hasElem(v, i) {
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

// pickArr picks a minimal array for c: one element per requirement,
// preferring elements outside avoid (the union of the requirements of the
// boxes to dodge).
func pickArr(c cons, avoid cons) (pval, bool) {
	var v pval
	for _, r := range c.arr.req {
		e, ok := pick(r, avoid)
		if !ok {
			return pval{}, false
		}
		if r.kind == kNum {
			v.ks = append(v.ks, e.k)
		} else {
			v.ss = append(v.ss, e.s)
		}
	}
	return v, true
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
	tries := 0
	for m := k; m < len(q.seq) && tries < 8; m++ {
		it := q.seq[m]
		if !it.obstacle || !boxOverlap(b, it.b) {
			continue
		}
		tries++
		bo, ok := boxAnd(b, it.b)
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
	sp.defaultPoint()
	p := sp.scratch
	var touched []int
	defer func() {
		for _, d := range touched {
			p[d] = sp.defaults[d]
		}
	}()
	for _, x := range b {
		var v pval
		var ok bool
		if x.c.kind == kArr {
			v, ok = pickArr(x.c, cons{})
		} else {
			v, ok = pick(x.c, cons{})
		}
		if !ok {
			return engine.Unknown
		}
		p[x.dim] = v
		touched = append(touched, x.dim)
	}
	// Walk the sequence; when a subtract item catches the point, move the
	// point out of it along one dimension where b allows it and walk on.
	// A move may put the point into an item already passed, so a walk that
	// ends (at an obstacle or the end) re-checks the items before the last
	// move. tried guards against cycling: each dimension is moved at most
	// once per item.
	type move struct{ item, dim int }
	tried := map[move]bool{}
	first := func(from, to int) int {
		if q.scans < 0 {
			return -2
		}
		for m := from; m < to; m++ {
			q.scans--
			if pointIn(p, q.seq[m].b) {
				return m
			}
		}
		return -1
	}
	pos := k // items before pos were passed before the last move
	for round := 0; round < 32; round++ {
		hit := first(pos, len(q.seq))
		if hit == -2 {
			return engine.Unknown
		}
		end := hit
		if end < 0 {
			end = len(q.seq)
		}
		if hit < 0 || q.seq[hit].obstacle {
			if h := first(k, min(pos, end)); h == -2 {
				return engine.Unknown
			} else if h >= 0 {
				hit = h
			} else if hit < 0 {
				if q.endOK {
					return engine.Unknown
				}
				return engine.No
			} else {
				return engine.No
			}
		}
		it := q.seq[hit]
		if it.obstacle {
			return engine.No
		}
		pos = hit + 1
		moved := false
		for _, x := range it.b {
			if x.c.kind == kArr || tried[move{hit, x.dim}] {
				continue
			}
			c, ok := b.get(x.dim)
			if !ok {
				c = sp.dims[x.dim].univ
			}
			rest := c.minus(x.c)
			if rest.empty() {
				continue
			}
			v, ok := pick(rest, cons{})
			if !ok {
				continue
			}
			tried[move{hit, x.dim}] = true
			p[x.dim] = v
			touched = append(touched, x.dim)
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
		u := sp.dims[d].univ
		var v pval
		if u.kind == kArr {
			v, _ = pickArr(u, cons{})
		} else {
			v, _ = pick(u, cons{})
		}
		sp.defaults = append(sp.defaults, v)
		sp.scratch = append(sp.scratch, v)
	}
	return sp.defaults
}
