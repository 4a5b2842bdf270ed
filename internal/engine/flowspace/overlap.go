package flowspace

import "slices"

// Overlaps returns, per set, the other live sets whose hulls overlap its
// hull (sorted indices): the candidates of every pairwise question. Sets
// whose hulls constrain the destination IP are paired by a sweep over their
// address ranges, so disjoint CIDRs cost nothing; the others are tested
// against all. live(i) false (or a nil or empty set) leaves set i out.
func (a *Analyzer) Overlaps(sets []*Set, live func(i int) bool) [][]int {
	n := len(sets)
	ov := make([][]int, n)
	isLive := func(i int) bool { return sets[i] != nil && live(i) && len(sets[i].boxes) > 0 }
	check := func(i, j int) {
		if boxOverlap(sets[i].hull, sets[j].hull) {
			ov[i] = append(ov[i], j)
			ov[j] = append(ov[j], i)
		}
	}
	type span struct {
		lo, hi u128
		i      int
	}
	var v4, v6 []span
	var free []int // no destination-IP bound
	dst, hasDst := a.sp.byName["net.dst.ip"]
	for i := 0; i < n; i++ {
		if !isLive(i) {
			continue
		}
		c, ok := cons{}, false
		if hasDst {
			c, ok = sets[i].hull.get(dst)
		}
		if !ok {
			free = append(free, i)
			continue
		}
		if len(c.v4) > 0 {
			v4 = append(v4, span{c.v4[0].lo, c.v4[len(c.v4)-1].hi, i})
		}
		if len(c.v6) > 0 {
			v6 = append(v6, span{c.v6[0].lo, c.v6[len(c.v6)-1].hi, i})
		}
	}
	pairs := map[[2]int]bool{}
	for _, list := range [][]span{v4, v6} {
		slices.SortFunc(list, func(a, b span) int { return a.lo.cmp(b.lo) })
		for x, a := range list {
			for y := x + 1; y < len(list) && list[y].lo.cmp(a.hi) <= 0; y++ {
				i, j := min(a.i, list[y].i), max(a.i, list[y].i)
				if !pairs[[2]int{i, j}] {
					pairs[[2]int{i, j}] = true
					check(i, j)
				}
			}
		}
	}
	for x, i := range free {
		for _, j := range free[x+1:] {
			check(i, j)
		}
		for j := 0; j < n; j++ {
			if isLive(j) && j != i {
				if _, isFree := slices.BinarySearch(free, j); !isFree {
					check(i, j)
				}
			}
		}
	}
	for i := range ov {
		slices.Sort(ov[i])
		ov[i] = slices.Compact(ov[i])
	}
	return ov
}
