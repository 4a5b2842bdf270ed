package flowspace

import (
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// An Index holds the boxes of an ordered list of sets (a policy list) so
// that questions over long lists do not scan: which boxes contain a point
// (the witness walk's step), which may overlap a box (the subtraction's
// candidates). Per dimension it keeps bitsets over the boxes: for interval
// dimensions one per elementary segment, for strings one per listed value,
// for opaque atoms one per truth value; array constraints are few and are
// tested one by one. A point lookup costs one AND per dimension over
// len(boxes)/64 words instead of one containment test per box.
//
// Questions built with Analyzer.NewIndexedQuestion select items of the
// index by owner masks (Index.Prefix, Index.Mask, ...), in list order.
type Index struct {
	sp    *space
	items []item // every box of every set, in set order
	start []int  // start[i]: first item of set i; start[n] = len(items)
	nw    int    // words per item bitset
	dims  []*dimIx
	ndims int   // dimensions known when built (later ones are unconstrained)
	pos   []int // dimension -> position in dims, or -1
	loc   *locator
	// sig[id]: bit d set when item id constrains dimension d non-trivially
	// (for d < 64); wideSig: some item constrains a dimension >= 64.
	sig     []uint64
	wideSig bool
	tmp     bitset // overlapping's scratch
}

// locator returns the index's reusable locator.
func (ix *Index) locator() *locator {
	if ix.loc == nil {
		ix.loc = ix.newLocator()
	}
	return ix.loc
}

// bitset is a set of small integers.
type bitset []uint64

func newBits(nw int) bitset { return make(bitset, nw) }

func (b bitset) set(i int)      { b[i>>6] |= 1 << uint(i&63) }
func (b bitset) has(i int) bool { return b[i>>6]&(1<<uint(i&63)) != 0 }

// setRange sets [lo, hi).
func (b bitset) setRange(lo, hi int) {
	for i := lo; i < hi; {
		if i&63 == 0 && i+64 <= hi {
			b[i>>6] = ^uint64(0)
			i += 64
			continue
		}
		b.set(i)
		i++
	}
}

// next returns the lowest set bit >= from and < to, or -1.
func (b bitset) next(from, to int) int {
	if from >= to {
		return -1
	}
	w := from >> 6
	x := b[w] &^ (1<<uint(from&63) - 1)
	for {
		if x != 0 {
			i := w<<6 + bits.TrailingZeros64(x)
			if i >= to {
				return -1
			}
			return i
		}
		w++
		if w<<6 >= to || w >= len(b) {
			return -1
		}
		x = b[w]
	}
}

func (b bitset) orWith(c bitset) {
	for i := range b {
		b[i] |= c[i]
	}
}

type dimIx struct {
	dim int
	con bitset // items that constrain this dimension
	// kIP (v4 and v6), kNum (v4): segment k is [lo[k], lo[k+1]) (the last
	// one to the top of the key space); seg[k] holds the items containing it.
	lo4, lo6   []u128
	seg4, seg6 []bitset
	// kStr: items whose finite set holds a value; items with co-finite sets,
	// and those of them that exclude a value.
	fin  map[string]bitset
	co   bitset
	coEx map[string]bitset
	// kBool: items allowing true, false.
	t, f bitset
	// kArr: items whose constraint is "some element in R" for a finite R,
	// by element; the others, tested one by one.
	elem   map[string]bitset
	arr    []int
	isElem bool
}

// NewIndex indexes the boxes of sets (nil sets have no boxes); set i owns
// its items.
func (a *Analyzer) NewIndex(sets []*Set) *Index {
	ix := &Index{sp: a.sp, start: make([]int, len(sets)+1), ndims: len(a.sp.dims)}
	for i, s := range sets {
		ix.start[i] = len(ix.items)
		if s == nil {
			continue
		}
		for _, b := range s.boxes {
			ix.items = append(ix.items, item{b: b, owner: i})
		}
	}
	ix.start[len(sets)] = len(ix.items)
	ix.nw = (len(ix.items) + 63) / 64
	if ix.nw == 0 {
		ix.nw = 1
	}
	// Which items constrain which dimension.
	per := make([][]int, ix.ndims)
	for id, it := range ix.items {
		for _, x := range it.b {
			per[x.dim] = append(per[x.dim], id)
		}
	}
	for d, ids := range per {
		if len(ids) == 0 {
			continue
		}
		dx := &dimIx{dim: d, con: newBits(ix.nw)}
		for _, id := range ids {
			dx.con.set(id)
		}
		switch a.sp.dims[d].kind {
		case kIP:
			dx.lo4, dx.seg4 = ix.segments(d, ids, func(c cons) ivset { return c.v4 })
			dx.lo6, dx.seg6 = ix.segments(d, ids, func(c cons) ivset { return c.v6 })
		case kNum:
			dx.lo4, dx.seg4 = ix.segments(d, ids, func(c cons) ivset { return c.v4 })
		case kStr:
			dx.fin, dx.coEx, dx.co = map[string]bitset{}, map[string]bitset{}, newBits(ix.nw)
			for _, id := range ids {
				c, _ := ix.items[id].b.get(d)
				m := dx.fin
				if c.s.co {
					dx.co.set(id)
					m = dx.coEx
				}
				for _, v := range c.s.xs {
					bs, ok := m[v]
					if !ok {
						bs = newBits(ix.nw)
						m[v] = bs
					}
					bs.set(id)
				}
			}
		case kBool:
			dx.t, dx.f = newBits(ix.nw), newBits(ix.nw)
			for _, id := range ids {
				c, _ := ix.items[id].b.get(d)
				if c.b&1 != 0 {
					dx.t.set(id)
				}
				if c.b&2 != 0 {
					dx.f.set(id)
				}
			}
		case kArr:
			dx.isElem, dx.elem = true, map[string]bitset{}
			for _, id := range ids {
				c, _ := ix.items[id].b.get(d)
				a := c.arr
				if len(a.req) == 1 && a.req[0].c.kind == kStr && !a.req[0].c.s.co && noneForbidden(a) {
					for _, v := range a.req[0].c.s.xs {
						key := elemKey(a.req[0].k, v)
						bs, ok := dx.elem[key]
						if !ok {
							bs = newBits(ix.nw)
							dx.elem[key] = bs
						}
						bs.set(id)
					}
					continue
				}
				dx.arr = append(dx.arr, id)
			}
		}
		ix.dims = append(ix.dims, dx)
	}
	ix.pos = make([]int, ix.ndims)
	for d := range ix.pos {
		ix.pos[d] = -1
	}
	for k, dx := range ix.dims {
		ix.pos[dx.dim] = k
	}
	ix.sig = make([]uint64, len(ix.items))
	for id, it := range ix.items {
		for _, x := range it.b {
			if a.sp.dims[x.dim].univ.subsetOf(*x.c) {
				continue
			}
			if x.dim >= 64 {
				ix.wideSig = true
				continue
			}
			ix.sig[id] |= 1 << uint(x.dim)
		}
	}
	ix.tmp = newBits(ix.nw)
	return ix
}

// within reports what space.within does for item id and box b, from the
// items' signatures when every dimension is below 64.
func (ix *Index) within(id int, b box) bool {
	if ix.wideSig {
		return ix.sp.within(ix.items[id].b, b)
	}
	var bs uint64
	for _, x := range b {
		if x.dim >= 64 {
			return ix.sp.within(ix.items[id].b, b)
		}
		bs |= 1 << uint(x.dim)
	}
	return ix.sig[id]&^bs == 0
}

// noneForbidden reports whether a forbids no element.
func noneForbidden(a *arrc) bool {
	for _, f := range a.forbid {
		if !f.empty() {
			return false
		}
	}
	return true
}

// elemKey keys an array element's coordinate value.
func elemKey(k int, v string) string { return string(rune('0'+k)) + "\x00" + v }

// segments cuts the key space at every interval boundary of the items'
// constraints on d and lists, per segment, the items containing it.
func (ix *Index) segments(d int, ids []int, ivs func(cons) ivset) ([]u128, []bitset) {
	type ev struct {
		k   u128
		id  int
		add bool
	}
	var evs []ev
	for _, id := range ids {
		c, _ := ix.items[id].b.get(d)
		for _, iv := range ivs(c) {
			evs = append(evs, ev{iv.lo, id, true})
			if iv.hi != maxU128 {
				evs = append(evs, ev{iv.hi.inc(), id, false})
			}
		}
	}
	if len(evs) == 0 {
		return nil, nil
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].k.cmp(evs[j].k) < 0 })
	cur := newBits(ix.nw)
	var los []u128
	var segs []bitset
	if evs[0].k != (u128{}) {
		los = append(los, u128{})
		segs = append(segs, newBits(ix.nw))
	}
	for i := 0; i < len(evs); {
		k := evs[i].k
		for ; i < len(evs) && evs[i].k == k; i++ {
			if evs[i].add {
				cur.set(evs[i].id)
			} else {
				cur[evs[i].id>>6] &^= 1 << uint(evs[i].id&63)
			}
		}
		los = append(los, k)
		segs = append(segs, append(bitset(nil), cur...))
	}
	return los, segs
}

// segAt returns the bitset of the segment holding k.
func segAt(los []u128, segs []bitset, k u128) bitset {
	i := sort.Search(len(los), func(i int) bool { return los[i].cmp(k) > 0 }) - 1
	if i < 0 {
		return nil
	}
	return segs[i]
}

// hit writes into out the items that constrain this dimension and hold v.
func (dx *dimIx) hit(ix *Index, v pval, out bitset) {
	clear(out)
	switch {
	case dx.seg4 != nil || dx.seg6 != nil:
		var s bitset
		if v.v6 {
			s = segAt(dx.lo6, dx.seg6, v.k)
		} else {
			s = segAt(dx.lo4, dx.seg4, v.k)
		}
		if s != nil {
			copy(out, s)
		}
	case dx.fin != nil:
		if s, ok := dx.fin[v.s]; ok {
			copy(out, s)
		}
		ex := dx.coEx[v.s]
		for i := range out {
			x := dx.co[i]
			if ex != nil {
				x &^= ex[i]
			}
			out[i] |= x
		}
	case dx.t != nil:
		if v.b == 1 {
			copy(out, dx.t)
		} else {
			copy(out, dx.f)
		}
	default:
		if len(dx.elem) > 0 {
			n := len(ix.sp.dims[dx.dim].univ.arr.forbid)
			for i, e := range v.ss {
				if bs, ok := dx.elem[elemKey(i%n, e)]; ok {
					out.orWith(bs)
				}
			}
		}
		for _, id := range dx.arr {
			c, _ := ix.items[id].b.get(dx.dim)
			if c.hasPoint(v) {
				out.set(id)
			}
		}
	}
}

// locator tracks the items containing a moving point: per indexed
// dimension a mask (items not constraining it, or holding the point's
// value). Dimensions where the point is at its default value are ANDed once
// into a cached base mask per set of moved dimensions, so a lookup ANDs the
// base and the few moved dimensions' masks.
type locator struct {
	ix    *Index
	def   []bitset // per indexed dimension: the mask of the default value
	own   []bitset // per indexed dimension: the mask of the point's value
	moved []int    // positions of the dimensions away from their default
	key   uint64   // bit k set: dimension position k moved (k < 64)
	wide  bool     // a dimension position >= 64 moved: no cached base
	bases map[uint64]bitset
	base  bitset
	stale bool
}

func (ix *Index) newLocator() *locator {
	n := len(ix.dims)
	l := &locator{ix: ix, def: make([]bitset, n), own: make([]bitset, n), bases: map[uint64]bitset{}, stale: true}
	defs := ix.sp.defaultPoint()
	for k, dx := range ix.dims {
		l.def[k], l.own[k] = newBits(ix.nw), newBits(ix.nw)
		l.mask(l.def[k], dx, defs[dx.dim])
	}
	return l
}

// reset sets the point to p, which differs from the default point at most
// in the dimensions touched.
func (l *locator) reset(p []pval, touched []int) {
	l.moved, l.key, l.wide = l.moved[:0], 0, false
	for _, d := range touched {
		l.move(p, d)
	}
	l.stale = true
}

// move recomputes the mask of dimension d after p[d] changed.
func (l *locator) move(p []pval, d int) {
	k := l.ix.dimPos(d)
	if k < 0 {
		return
	}
	l.mask(l.own[k], l.ix.dims[k], p[d])
	if k >= 64 {
		l.wide = true
	} else if l.key&(1<<uint(k)) != 0 {
		return // already among the moved ones: its mask is updated
	} else {
		l.key |= 1 << uint(k)
	}
	if !slices.Contains(l.moved, k) {
		l.moved = append(l.moved, k)
	}
	l.stale = true
}

func (l *locator) mask(m bitset, dx *dimIx, v pval) {
	dx.hit(l.ix, v, m)
	for i := range m {
		m[i] |= ^dx.con[i]
	}
}

// first returns the lowest item in sel, from <= id < to, that contains the
// point, or -1.
func (l *locator) first(sel bitset, from, to int) int {
	if from >= to {
		return -1
	}
	if l.stale {
		l.rebase()
	}
	for w := from >> 6; w<<6 < to && w < len(sel); w++ {
		x := sel[w] & l.base[w]
		if w == from>>6 {
			x &^= 1<<uint(from&63) - 1
		}
		for _, k := range l.moved {
			if x == 0 {
				break
			}
			x &= l.own[k][w]
		}
		if x != 0 {
			if id := w<<6 + bits.TrailingZeros64(x); id < to {
				return id
			}
			return -1
		}
	}
	return -1
}

// rebase finds (or computes) the AND of the default masks of the dimensions
// that did not move.
func (l *locator) rebase() {
	l.stale = false
	if !l.wide {
		if b, ok := l.bases[l.key]; ok {
			l.base = b
			return
		}
	}
	b := newBits(l.ix.nw)
	for i := range b {
		b[i] = ^uint64(0)
	}
	for k, m := range l.def {
		if slices.Contains(l.moved, k) {
			continue
		}
		for i := range b {
			b[i] &= m[i]
		}
	}
	if !l.wide {
		l.bases[l.key] = b
	}
	l.base = b
}

// overlapping writes into out a superset of the items that overlap b
// (within sel).
func (ix *Index) overlapping(b box, sel bitset, out bitset) {
	copy(out, sel)
	tmp := ix.tmp
	for _, x := range b {
		dx := ix.dimOf(x.dim)
		if dx == nil {
			continue
		}
		ok := true
		clear(tmp)
		switch {
		case dx.seg4 != nil || dx.seg6 != nil:
			ok = orSegments(dx.lo4, dx.seg4, x.c.v4, tmp) && orSegments(dx.lo6, dx.seg6, x.c.v6, tmp)
		case dx.fin != nil:
			if x.c.s.co {
				ok = false
				break
			}
			for _, v := range x.c.s.xs {
				if s, found := dx.fin[v]; found {
					tmp.orWith(s)
				}
			}
			tmp.orWith(dx.co)
		case dx.t != nil:
			if x.c.b&1 != 0 {
				tmp.orWith(dx.t)
			}
			if x.c.b&2 != 0 {
				tmp.orWith(dx.f)
			}
		default:
			ok = false
		}
		if !ok {
			continue
		}
		for i := range out {
			out[i] &= tmp[i] | ^dx.con[i]
		}
	}
}

// orSegments ORs into out the segments that ivs meets; false when that is
// too many to be worth it (the caller then does not narrow by this
// dimension).
func orSegments(los []u128, segs []bitset, ivs ivset, out bitset) bool {
	const maxSegs = 64
	n := 0
	for _, iv := range ivs {
		i := sort.Search(len(los), func(i int) bool { return los[i].cmp(iv.lo) > 0 }) - 1
		if i < 0 {
			i = 0
		}
		for ; i < len(los) && los[i].cmp(iv.hi) <= 0; i++ {
			n++
			if n > maxSegs {
				return false
			}
			out.orWith(segs[i])
		}
	}
	return true
}

func (ix *Index) dimOf(d int) *dimIx {
	if k := ix.dimPos(d); k >= 0 {
		return ix.dims[k]
	}
	return nil
}

// dimPos is the position of dimension d in ix.dims, or -1.
func (ix *Index) dimPos(d int) int {
	if d < len(ix.pos) {
		return ix.pos[d]
	}
	return -1
}

// Mask is a set of the index's items, chosen by owner (set position).
type Mask struct {
	ix *Index
	b  bitset
}

// Empty returns a mask with no item.
func (ix *Index) Empty() Mask { return Mask{ix, newBits(ix.nw)} }

// Range returns the items of the sets lo <= i < hi.
func (ix *Index) Range(lo, hi int) Mask {
	m := ix.Empty()
	lo, hi = max(lo, 0), min(hi, len(ix.start)-1)
	if lo < hi {
		m.b.setRange(ix.start[lo], ix.start[hi])
	}
	return m
}

// Select returns the items of the sets i with keep(i).
func (ix *Index) Select(keep func(i int) bool) Mask {
	m := ix.Empty()
	for i := 0; i+1 < len(ix.start); i++ {
		if ix.start[i] < ix.start[i+1] && keep(i) {
			m.b.setRange(ix.start[i], ix.start[i+1])
		}
	}
	return m
}

// Has reports whether m holds the items of set i.
func (m Mask) Has(i int) bool {
	lo := m.ix.start[i]
	return lo < m.ix.start[i+1] && m.b.has(lo)
}

// And returns m ∩ o.
func (m Mask) And(o Mask) Mask {
	out := Mask{m.ix, make(bitset, len(m.b))}
	for i := range m.b {
		out.b[i] = m.b[i] & o.b[i]
	}
	return out
}

// Or returns m ∪ o.
func (m Mask) Or(o Mask) Mask {
	out := Mask{m.ix, make(bitset, len(m.b))}
	for i := range m.b {
		out.b[i] = m.b[i] | o.b[i]
	}
	return out
}

// Minus returns m \ o.
func (m Mask) Minus(o Mask) Mask {
	out := Mask{m.ix, make(bitset, len(m.b))}
	for i := range m.b {
		out.b[i] = m.b[i] &^ o.b[i]
	}
	return out
}

// Owners returns, in order, the sets owning an item of m that overlaps the
// hull of s (a box containing s that ignores opaque atoms and arrays): the
// sets a question about s may need, also once opaque atoms are erased.
func (m Mask) Owners(s *Set) []int {
	ix := m.ix
	over := newBits(ix.nw)
	hull := s.getHull()
	ix.overlapping(hull, m.b, over)
	var out []int
	last := -1
	for id := over.next(0, len(ix.items)); id >= 0; id = over.next(id+1, len(ix.items)) {
		if o := ix.items[id].owner; o != last && boxOverlap(ix.items[id].b, hull) {
			out = append(out, o)
			last = o
		}
	}
	return out
}

// String lists the owners of m (tests, debugging).
func (m Mask) String() string {
	var s []string
	last := -1
	for id := m.b.next(0, len(m.ix.items)); id >= 0; id = m.b.next(id+1, len(m.ix.items)) {
		if o := m.ix.items[id].owner; o != last {
			s = append(s, strconv.Itoa(o))
			last = o
		}
	}
	return "{" + strings.Join(s, " ") + "}"
}
