package flowspace

import (
	"math/bits"
	"net/netip"
	"sort"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// This file holds the per-dimension value sets the analyser works with:
// interval sets over 128-bit keys (IP addresses, ports, integers) and
// finite/co-finite string sets.

// u128 is an unsigned 128-bit key.
type u128 struct{ hi, lo uint64 }

var (
	maxU128 = u128{^uint64(0), ^uint64(0)}
	maxU32  = u128{0, 0xffffffff}
)

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func (a u128) inc() u128 {
	lo, c := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + c, lo}
}

func (a u128) dec() u128 {
	lo, b := bits.Sub64(a.lo, 1, 0)
	return u128{a.hi - b, lo}
}

// keyOfAddr returns the key of an address: v4 addresses use the low 32 bits.
func keyOfAddr(a netip.Addr) u128 {
	hi, lo := engine.AddrOrderKey(a)
	return u128{hi, lo}
}

// keyOfInt maps an int64 to a key preserving order.
func keyOfInt(x int64) u128 { return u128{0, uint64(x) ^ (1 << 63)} }

// ival is an inclusive interval of keys.
type ival struct{ lo, hi u128 }

// ivset is a sorted list of disjoint, non-adjacent intervals.
type ivset []ival

func ivOf(lo, hi u128) ivset {
	if lo.cmp(hi) > 0 {
		return nil
	}
	return ivset{{lo, hi}}
}

// ivFromList normalises arbitrary intervals into an ivset.
func ivFromList(xs []ival) ivset {
	var in []ival
	for _, x := range xs {
		if x.lo.cmp(x.hi) <= 0 {
			in = append(in, x)
		}
	}
	sort.Slice(in, func(i, j int) bool { return in[i].lo.cmp(in[j].lo) < 0 })
	var out ivset
	for _, x := range in {
		if n := len(out); n > 0 {
			last := &out[n-1]
			// Merge overlapping or adjacent intervals.
			if last.hi == maxU128 || x.lo.cmp(last.hi.inc()) <= 0 {
				if x.hi.cmp(last.hi) > 0 {
					last.hi = x.hi
				}
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

func (s ivset) empty() bool { return len(s) == 0 }

func (s ivset) and(t ivset) ivset {
	if len(s) == 0 || len(t) == 0 {
		return nil
	}
	var out ivset
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		lo, hi := s[i].lo, s[i].hi
		if t[j].lo.cmp(lo) > 0 {
			lo = t[j].lo
		}
		if t[j].hi.cmp(hi) < 0 {
			hi = t[j].hi
		}
		if lo.cmp(hi) <= 0 {
			out = append(out, ival{lo, hi})
		}
		if s[i].hi.cmp(t[j].hi) < 0 {
			i++
		} else {
			j++
		}
	}
	return out
}

func (s ivset) or(t ivset) ivset {
	if len(s) == 0 {
		return t
	}
	if len(t) == 0 {
		return s
	}
	xs := make([]ival, 0, len(s)+len(t))
	xs = append(xs, s...)
	xs = append(xs, t...)
	return ivFromList(xs)
}

// minus returns s \ t.
func (s ivset) minus(t ivset) ivset {
	if len(s) == 0 || len(t) == 0 {
		return s
	}
	var out ivset
	j := 0
	for _, x := range s {
		lo := x.lo
		done := false
		for j < len(t) && t[j].hi.cmp(lo) < 0 {
			j++
		}
		k := j
		for k < len(t) && t[k].lo.cmp(x.hi) <= 0 {
			if t[k].lo.cmp(lo) > 0 {
				out = append(out, ival{lo, t[k].lo.dec()})
			}
			if t[k].hi.cmp(x.hi) >= 0 {
				done = true
				break
			}
			lo = t[k].hi.inc()
			k++
		}
		if !done {
			out = append(out, ival{lo, x.hi})
		}
	}
	return out
}

// subsetOf reports s ⊆ t.
func (s ivset) subsetOf(t ivset) bool {
	j := 0
	for _, x := range s {
		for j < len(t) && t[j].hi.cmp(x.lo) < 0 {
			j++
		}
		if j == len(t) || t[j].lo.cmp(x.lo) > 0 || t[j].hi.cmp(x.hi) < 0 {
			return false
		}
	}
	return true
}

func (s ivset) overlaps(t ivset) bool {
	if len(s) < len(t) {
		s, t = t, s
	}
	if len(s) > 8 && len(t) <= 4 {
		// Binary search each of t's few intervals in the long list s.
		for _, x := range t {
			i := sort.Search(len(s), func(i int) bool { return s[i].hi.cmp(x.lo) >= 0 })
			if i < len(s) && s[i].lo.cmp(x.hi) <= 0 {
				return true
			}
		}
		return false
	}
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		if s[i].hi.cmp(t[j].lo) < 0 {
			i++
		} else if t[j].hi.cmp(s[i].lo) < 0 {
			j++
		} else {
			return true
		}
	}
	return false
}

func (s ivset) equal(t ivset) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// strset is a finite set of strings (co=false) or the complement of one
// (co=true: every string except xs). xs is sorted and duplicate-free.
type strset struct {
	co bool
	xs []string
}

func strOf(xs ...string) strset {
	ys := append([]string(nil), xs...)
	sort.Strings(ys)
	out := ys[:0]
	for i, y := range ys {
		if i == 0 || y != ys[i-1] {
			out = append(out, y)
		}
	}
	return strset{xs: out}
}

func (s strset) empty() bool { return !s.co && len(s.xs) == 0 }

func (s strset) not() strset { return strset{co: !s.co, xs: s.xs} }

func (s strset) has(x string) bool {
	i := sort.SearchStrings(s.xs, x)
	in := i < len(s.xs) && s.xs[i] == x
	return in != s.co
}

// Sorted-list helpers.
func sInter(a, b []string) []string {
	var out []string
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(a[i], b[j]); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

func sUnion(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

func sMinus(a, b []string) []string {
	var out []string
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			continue
		}
		out = append(out, x)
	}
	return out
}

func (s strset) and(t strset) strset {
	switch {
	case !s.co && !t.co:
		return strset{xs: sInter(s.xs, t.xs)}
	case !s.co && t.co:
		return strset{xs: sMinus(s.xs, t.xs)}
	case s.co && !t.co:
		return strset{xs: sMinus(t.xs, s.xs)}
	default:
		return strset{co: true, xs: sUnion(s.xs, t.xs)}
	}
}

func (s strset) or(t strset) strset {
	return s.not().and(t.not()).not()
}

func (s strset) minus(t strset) strset { return s.and(t.not()) }

// subsetOf reports s ⊆ t without allocating.
func (s strset) subsetOf(t strset) bool {
	switch {
	case !s.co && !t.co: // every x of s in t
		return sortedSubset(s.xs, t.xs)
	case !s.co && t.co: // no x of s excluded by t
		return sortedDisjoint(s.xs, t.xs)
	case s.co && !t.co: // co-finite never fits in a finite set
		return false
	default: // every exclusion of t is excluded by s
		return sortedSubset(t.xs, s.xs)
	}
}

// overlaps reports s ∩ t ≠ ∅ without allocating.
func (s strset) overlaps(t strset) bool {
	switch {
	case !s.co && !t.co:
		return !sortedDisjoint(s.xs, t.xs)
	case !s.co && t.co:
		return !sortedSubset(s.xs, t.xs)
	case s.co && !t.co:
		return !sortedSubset(t.xs, s.xs)
	default:
		return true // two co-finite sets of an infinite domain meet
	}
}

// sortedSubset reports a ⊆ b for sorted lists.
func sortedSubset(a, b []string) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			return false
		}
	}
	return true
}

// sortedDisjoint reports a ∩ b = ∅ for sorted lists.
func sortedDisjoint(a, b []string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			return false
		}
	}
	return true
}

func (s strset) equal(t strset) bool {
	if s.co != t.co || len(s.xs) != len(t.xs) {
		return false
	}
	for i := range s.xs {
		if s.xs[i] != t.xs[i] {
			return false
		}
	}
	return true
}

// sample returns some member of s, or false if s is empty.
func (s strset) sample() (string, bool) {
	if !s.co {
		if len(s.xs) == 0 {
			return "", false
		}
		return s.xs[0], true
	}
	for i := 0; ; i++ {
		c := "x" + strings.Repeat("z", i)
		if s.has(c) {
			return c, true
		}
	}
}
