package flowspace

import (
	"fmt"
	"math/bits"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Describing a set of flows for people: an expression in the policies' own
// language for the fields expressions read, and, apart, the flow kinds and
// ingress colos it holds (no expression reads those).

// Description is a set of flows, told.
type Description struct {
	// Expression selects the flows, in the traffic expression language
	// ("" = every flow). Long value lists are cut short ("... and 12
	// more"), which then no longer parses.
	Expression string
	// Kinds are the flow kinds in the set, in FlowKinds order.
	Kinds []FlowKind
	// IngressColos are the ingress colos of the set, sorted; nil means all.
	IngressColos []string
	// Pieces is the number of boxes; Shown how many of them Expression
	// spells out.
	Pieces, Shown int
}

// maxListed bounds the values one comparison lists.
const maxListed = 12

// Describe tells the set s, spelling out at most maxBoxes of its boxes.
func (a *Analyzer) Describe(s *Set, maxBoxes int) Description {
	sp := a.sp
	var d Description
	kinds := map[FlowKind]bool{}
	ingress := map[string]bool{}
	allIngress := false
	dst, hasDst := sp.byName["net.dst.ip"]
	prox, hasProx := sp.byName[dimProxied]
	ing, hasIng := sp.byName[dimIngress]
	var terms []string
	for _, b := range s.boxes {
		// Kinds.
		v4, v6 := true, true
		if hasDst {
			if c, ok := b.get(dst); ok {
				v4, v6 = len(c.v4) > 0, len(c.v6) > 0
			}
		}
		grey, orange := true, true
		if hasProx {
			if c, ok := b.get(prox); ok {
				grey, orange = c.b&2 != 0, c.b&1 != 0
			}
		}
		if v4 && grey {
			kinds[IPv4Grey] = true
		}
		if v4 && orange {
			kinds[IPv4Orange] = true
		}
		if v6 {
			kinds[IPv6] = true
		}
		// Ingress colos.
		if c, ok := b.get(ing); hasIng && ok {
			for _, code := range c.s.xs {
				ingress[code] = true
			}
		} else {
			allIngress = true
		}
		if len(terms) < maxBoxes {
			terms = append(terms, a.describeBox(b))
		}
	}
	for _, k := range FlowKinds() {
		if kinds[k] {
			d.Kinds = append(d.Kinds, k)
		}
	}
	if !allIngress {
		for c := range ingress {
			d.IngressColos = append(d.IngressColos, c)
		}
		sort.Strings(d.IngressColos)
	}
	d.Pieces, d.Shown = len(s.boxes), len(terms)
	switch {
	case len(terms) == 1:
		d.Expression = terms[0]
	case len(terms) > 1:
		for i, t := range terms {
			if t == "" {
				t = "true"
			}
			if strings.Contains(t, " and ") {
				t = "(" + t + ")"
			}
			terms[i] = t
		}
		d.Expression = strings.Join(terms, " or ")
		if d.Pieces > d.Shown {
			d.Expression += fmt.Sprintf(" or ... (%d more)", d.Pieces-d.Shown)
		}
	}
	return d
}

// describeBox spells a box as a conjunction ("" when it constrains only the
// flow's kind and ingress colo).
func (a *Analyzer) describeBox(b box) string {
	sp := a.sp
	var parts []string
	for _, x := range b {
		if ps, ok := sp.descs[x.c]; ok {
			parts = append(parts, ps...)
			continue
		}
		n := len(parts)
		dm := &sp.dims[x.dim]
		switch {
		case dm.name == dimProxied || dm.name == dimIngress:
			continue
		case dm.opaque:
			t := strings.TrimPrefix(dm.name, "opaque:")
			if x.c.b == 2 {
				t = "not(" + t + ")"
			}
			parts = append(parts, t)
		case dm.kind == kIP:
			if t := describeIP(dm.name, *x.c, dm.univ); t != "" {
				parts = append(parts, t)
			}
		case dm.kind == kNum:
			parts = append(parts, describeNum(dm.name, x.c.v4, dm.univ.v4))
		case dm.kind == kStr:
			parts = append(parts, describeStr(dm.name, x.c.s))
		case dm.kind == kArr:
			parts = append(parts, describeArr(dm.name, *x.c)...)
		}
		// The pieces of a region share most of their constraints: keep
		// each one's text (a constraint is never changed in place and
		// belongs to one dimension).
		if sp.descs == nil || len(sp.descs) >= 1<<14 {
			sp.descs = map[*cons][]string{}
		}
		sp.descs[x.c] = parts[n:len(parts):len(parts)]
	}
	return strings.Join(parts, " and ")
}

// describeIP lists the addresses of c, the shortest way: its prefixes;
// those its families leave out; or the prefixes that hold each of its
// ranges, less the holes between them.
func describeIP(field string, c, u cons) string {
	if field == "net.dst.ip" && (c.v4.equal(u.v4) && len(c.v6) == 0 || c.v6.equal(u.v6) && len(c.v4) == 0) {
		return ""
	}
	var in, out, covers, holes prefixList
	in.add(c.v4, false)
	in.add(c.v6, true)
	best, n := &in, in.n
	// The complement names every address left out; of net.dst.ip a family
	// the set lacks is told by the kinds.
	if len(c.v4) > 0 || field != "net.dst.ip" {
		out.add(u.v4.minus(c.v4), false)
	}
	if len(c.v6) > 0 || field != "net.dst.ip" {
		out.add(u.v6.minus(c.v6), true)
	}
	if out.n > 0 && out.n < n {
		best, n = &out, out.n
	}
	cover4, cover6 := coverOf(c.v4, false), coverOf(c.v6, true)
	covers.add(cover4, false)
	covers.add(cover6, true)
	holes.add(cover4.minus(c.v4), false)
	holes.add(cover6.minus(c.v6), true)
	switch {
	case holes.n > 0 && covers.n+holes.n < n:
		return field + " in {" + covers.join() + "} and not(" + field + " in {" + holes.join() + "})"
	case best == &out:
		return "not(" + field + " in {" + out.join() + "})"
	}
	return field + " in {" + in.join() + "}"
}

// prefixList is a list of prefixes as joinListed shows it: the first
// maxListed of them, and how many there are.
type prefixList struct {
	first []lazyText
	n     int
}

// add appends the prefixes of iv (see cidrs).
func (l *prefixList) add(iv ivset, v6 bool) {
	forCIDRs(iv, v6, func(p netip.Prefix) {
		if len(l.first) < maxListed {
			l.first = append(l.first, prefixText(p))
		}
		l.n++
	})
}

// join is joinListed of the whole list.
func (l *prefixList) join() string {
	s := joinListed(l.first)
	if l.n > maxListed {
		s += fmt.Sprintf(" ... and %d more", l.n-maxListed)
	}
	return s
}

// coverOf is the union of the smallest prefixes that each hold one of iv's
// ranges.
func coverOf(iv ivset, v6 bool) ivset {
	top := 32
	if v6 {
		top = 128
	}
	var xs []ival
	for _, r := range iv {
		// The longest common prefix of lo and hi.
		x := u128{r.lo.hi ^ r.hi.hi, r.lo.lo ^ r.hi.lo}
		free := 128 - (bits.LeadingZeros64(x.hi) + func() int {
			if x.hi != 0 {
				return 0
			}
			return bits.LeadingZeros64(x.lo)
		}())
		if x == (u128{}) {
			free = 0
		}
		if free > top {
			free = top
		}
		lo, hi := r.lo, r.lo
		if free > 0 {
			mask := addPow(u128{}, free).dec()
			lo = u128{r.lo.hi &^ mask.hi, r.lo.lo &^ mask.lo}
			hi = u128{lo.hi | mask.hi, lo.lo | mask.lo}
		}
		xs = append(xs, ival{lo, hi})
	}
	return ivFromList(xs)
}

// lazyText is a value's text, formatted only when shown.
type lazyText struct {
	s string
	p netip.Prefix
}

func prefixText(p netip.Prefix) lazyText { return lazyText{p: p} }
func text(s string) lazyText             { return lazyText{s: s} }

func (t lazyText) String() string {
	if t.p.IsValid() {
		return t.p.String()
	}
	return t.s
}

func texts(xs []string) []lazyText {
	out := make([]lazyText, len(xs))
	for i, x := range xs {
		out[i] = text(x)
	}
	return out
}

func joinListed(xs []lazyText) string {
	var b strings.Builder
	for i, x := range xs {
		if i == maxListed {
			fmt.Fprintf(&b, " ... and %d more", len(xs)-maxListed)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x.String())
	}
	return b.String()
}

// forCIDRs calls f with the prefixes iv splits into, in order.
func forCIDRs(iv ivset, v6 bool, f func(netip.Prefix)) {
	bitsLen := 32
	if v6 {
		bitsLen = 128
	}
	for _, r := range iv {
		lo := r.lo
		for {
			// The largest aligned block starting at lo that fits in r.
			size := min(tz128(lo), bitsLen)
			for size > 0 && addPow(lo, size).dec().cmp(r.hi) > 0 {
				size--
			}
			f(netip.PrefixFrom(addrOfKey(lo, v6), bitsLen-size))
			next := addPow(lo, size)
			if size == bitsLen || next.dec().cmp(r.hi) >= 0 {
				break
			}
			lo = next
		}
	}
}

func tz128(k u128) int {
	if k.lo != 0 {
		return bits.TrailingZeros64(k.lo)
	}
	if k.hi != 0 {
		return 64 + bits.TrailingZeros64(k.hi)
	}
	return 128
}

// addPow returns k + 2^n (n < 128), saturating at the top.
func addPow(k u128, n int) u128 {
	var d u128
	if n >= 128 {
		return maxU128.inc() // wraps to 0; callers stop first
	}
	if n >= 64 {
		d.hi = 1 << uint(n-64)
	} else {
		d.lo = 1 << uint(n)
	}
	lo, c := bits.Add64(k.lo, d.lo, 0)
	hi, _ := bits.Add64(k.hi, d.hi, c)
	return u128{hi, lo}
}

func describeNum(field string, iv, u ivset) string {
	if len(iv) == 1 && iv[0].lo == iv[0].hi {
		return fmt.Sprintf("%s == %d", field, intOfKey(iv[0].lo))
	}
	comp := u.minus(iv)
	if len(comp) == 1 && comp[0].lo == comp[0].hi {
		return fmt.Sprintf("%s != %d", field, intOfKey(comp[0].lo))
	}
	show, not := iv, false
	if len(comp) < len(iv) {
		show, not = comp, true
	}
	var xs []string
	for _, r := range show {
		if r.lo == r.hi {
			xs = append(xs, strconv.FormatInt(intOfKey(r.lo), 10))
		} else {
			xs = append(xs, fmt.Sprintf("%d..%d", intOfKey(r.lo), intOfKey(r.hi)))
		}
	}
	return listed(field, texts(xs), not)
}

func describeStr(field string, s strset) string {
	xs := s.xs
	if s.co {
		// The universe of a string field already leaves out "".
		var ys []string
		for _, x := range xs {
			if x != "" || field == dimIngress {
				ys = append(ys, x)
			}
		}
		xs = ys
	}
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	if len(q) == 1 {
		op := "=="
		if s.co {
			op = "!="
		}
		return field + " " + op + " " + q[0]
	}
	return listed(field, texts(q), s.co)
}

func describeArr(field string, c cons) []string {
	names := []string{field + "[*]"}
	if field == groupsDim {
		names = []string{"identity.groups[*].id", "identity.groups[*].name", "identity.groups[*].email"}
	} else if k, ok := strings.CutPrefix(field, "identity.saml_attributes["); ok {
		names[0] = "identity.saml_attributes[" + strconv.Quote(strings.TrimSuffix(k, "]")) + "][*]"
	}
	elem := func(k int, e cons) string {
		if e.kind == kNum {
			return describeNum(names[k], e.v4, intUniverse().v4)
		}
		return describeStr(names[k], e.s)
	}
	var out []string
	for _, r := range c.arr.req {
		out = append(out, "any("+elem(r.k, r.c)+")")
	}
	for k, f := range c.arr.forbid {
		if !f.empty() {
			out = append(out, "not(any("+elem(k, f)+"))")
		}
	}
	return out
}

// listed is `field in {...}` (or its negation), cut short past maxListed.
func listed(field string, xs []lazyText, not bool) string {
	t := fmt.Sprintf("%s in {%s}", field, joinListed(xs))
	if len(xs) == 1 && !strings.Contains(xs[0].String(), "..") {
		t = field + " == " + xs[0].String()
		if not {
			return field + " != " + xs[0].String()
		}
	}
	if not {
		return "not(" + t + ")"
	}
	return t
}
