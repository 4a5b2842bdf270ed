package flowspace

import (
	"errors"
	"net/netip"
	"regexp"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// This file turns a checked expression AST into a set of flows (a union of
// boxes). Negation is pushed down to the atoms; an atom the analyser does not
// interpret (matches, $list, ordering on IP addresses) becomes an opaque
// boolean dimension of its own, keyed by its canonical text, so the same atom
// in two policies is the same dimension and its negation is its complement.

// dim is one dimension of the flow space.
type dim struct {
	name   string
	kind   dimKind
	univ   cons
	opaque bool
	atom   expr.Node // an opaque dimension's condition
}

// space registers dimensions; sets built in one space can be compared.
type space struct {
	dims      []dim
	byName    map[string]int
	defaults  []pval // a point of the universe, per dimension
	scratch   []pval // witness search's working point (equal to defaults between probes)
	regexps   map[string]*regexp.Regexp
	regexEx   map[string][]string // strings generated from a regex
	reMatches map[reMatch]bool    // see matches
	stk       []int               // part's and dfs's items, by frame
	compl     map[*cons][2]*cons  // see complement
	ands      map[consPair]*cons  // see andOf
	slab      box                 // see carve
	arena     box                 // see boxMinusTmp
	tmpPieces bool                // boxMinus carves from arena
	descs     map[*cons][]string  // see describeBox
}

func newSpace() *space { return &space{byName: map[string]int{}} }

// ErrTooComplex: a policy's set would need more than maxBoxes boxes.
var ErrTooComplex = errors.New("expression too complex to analyse")

// maxBoxes bounds the size of one policy's set (a DNF blow-up such as
// (a or b) and (c or d) and ... is cut off here).
const maxBoxes = MaxBoxes

// MaxBoxes is the most boxes one policy's set may have.
const MaxBoxes = 256

func ipUniverse(dst bool) cons {
	lo4, lo6 := u128{}, u128{}
	if dst {
		// 0.0.0.0 and :: are not destinations (engine.Decide refuses them):
		// `net.dst.ip != 0.0.0.0` is a documented catch-all.
		lo4, lo6 = u128{0, 1}, u128{0, 1}
	}
	// IPv4-mapped IPv6 addresses (::ffff:0:0/96) are IPv4 flows: the
	// evaluator unmaps them, so they are not IPv6 points of their own.
	mapped := ipCons(netip.MustParsePrefix("::ffff:0:0/96")).v6
	return cons{kind: kIP, v4: ivOf(lo4, maxU32), v6: ivOf(lo6, maxU128).minus(mapped)}
}

func portUniverse() cons {
	// Port 0 means "the flow does not carry a port".
	return cons{kind: kNum, v4: ivOf(keyOfInt(1), keyOfInt(65535))}
}

func intUniverse() cons {
	return cons{kind: kNum, v4: ivOf(keyOfInt(-1<<63), keyOfInt(1<<63-1))}
}

// groupsDim is the one dimension of identity.groups.id, .name and .email:
// an array of (id, name, email) elements, so that the three selectors read
// one list of groups (a flow cannot have group names but no group IDs).
const groupsDim = "identity.groups"

// groupCoord is the coordinate of a group selector in a groupsDim element.
var groupCoord = map[string]int{"identity.groups.id": 0, "identity.groups.name": 1, "identity.groups.email": 2}

// dimFor returns the dimension of a field (key: the SAML attribute name)
// and, for an array field, the coordinate of its elements the field reads.
func (sp *space) dimFor(fi expr.FieldInfo, key string) (int, int) {
	name, coords, coord := fi.Name, 1, 0
	if fi.Map {
		name += "[" + key + "]"
	}
	if k, ok := groupCoord[fi.Name]; ok {
		name, coords, coord = groupsDim, 3, k
	}
	if i, ok := sp.byName[name]; ok {
		return i, coord
	}
	d := dim{name: name}
	switch {
	case fi.Array:
		d.kind = kArr
		el := cons{kind: kStr, s: strset{co: true}}
		if fi.Type == expr.TInt {
			el = intUniverse()
		}
		d.univ = cons{kind: kArr, arr: &arrc{forbid: noForbid(coords, el)}}
	case fi.Type == expr.TIP:
		d.kind = kIP
		d.univ = ipUniverse(fi.Name == "net.dst.ip")
	case fi.Type == expr.TInt:
		d.kind = kNum
		d.univ = intUniverse()
		if fi.Name == "net.dst.port" || fi.Name == "net.src.port" {
			d.univ = portUniverse()
		}
	case fi.Name == "net.protocol":
		d.kind = kStr
		d.univ = cons{kind: kStr, s: strOf("tcp", "udp")}
	case fi.Name == "net.onramp.type":
		// The flow decoders accept only the published traffic sources.
		d.kind = kStr
		d.univ = cons{kind: kStr, s: strOf(expr.OnrampTypes()...)}
	default:
		d.kind = kStr
		// An empty string means "the flow does not carry this field".
		d.univ = cons{kind: kStr, s: strset{co: true, xs: []string{""}}}
	}
	sp.dims = append(sp.dims, d)
	sp.byName[name] = len(sp.dims) - 1
	return len(sp.dims) - 1, coord
}

func (sp *space) opaqueDim(n expr.Node) int {
	name := "opaque:" + expr.Format(n)
	if i, ok := sp.byName[name]; ok {
		return i
	}
	sp.dims = append(sp.dims, dim{name: name, kind: kBool, univ: cons{kind: kBool, b: 3}, opaque: true, atom: n})
	sp.byName[name] = len(sp.dims) - 1
	return len(sp.dims) - 1
}

// fset is a union of boxes under construction.
type fset []box

var universeSet = fset{box{}}

// single returns the set {flows whose dimension d satisfies c}, normalised
// against the dimension's universe.
func (sp *space) single(d int, c cons) fset {
	u := sp.dims[d].univ
	if c.kind != kArr {
		c = c.and(u)
		if c.empty() {
			return nil
		}
		if u.subsetOf(c) {
			return universeSet
		}
	} else if c.empty() {
		return nil
	}
	return fset{box{mkdc(d, c)}}
}

// singleNeg returns the set of flows whose dimension d does NOT satisfy c.
func (sp *space) singleNeg(d int, c cons) fset {
	var out fset
	for _, p := range c.notIn(sp.dims[d].univ) {
		out = append(out, sp.single(d, p)...)
	}
	return out
}

func (sp *space) and(a, b fset) (fset, error) {
	if len(a)*len(b) > maxBoxes*4 {
		return nil, ErrTooComplex
	}
	var out fset
	for _, x := range a {
		for _, y := range b {
			if z, ok := boxAnd(x, y); ok {
				out = append(out, z)
			}
		}
	}
	out = sp.simplify(out)
	if len(out) > maxBoxes {
		return nil, ErrTooComplex
	}
	return out, nil
}

func (sp *space) or(a, b fset) (fset, error) {
	out := make(fset, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	out = sp.simplify(out)
	if len(out) > maxBoxes {
		return nil, ErrTooComplex
	}
	return out, nil
}

// simplify drops boxes contained in another box and merges boxes that differ
// in one scalar dimension only (a few O(k²) passes, never more).
func (sp *space) simplify(s fset) fset {
	if len(s) <= 1 || len(s) > 4*maxBoxes {
		return s
	}
	for pass := 0; pass < 3; pass++ {
		changed := false
		keep := make([]bool, len(s))
		for i := range keep {
			keep[i] = true
		}
		for i := range s {
			for j := range s {
				if i != j && keep[j] && sp.boxSubset(s[i], s[j]) {
					keep[i], changed = false, true
					break
				}
			}
		}
		out := s[:0]
		for i, b := range s {
			if keep[i] {
				out = append(out, b)
			}
		}
		s = out
		for i := 0; i < len(s); i++ {
			for j := i + 1; j < len(s); j++ {
				if m, ok := sp.merge(s[i], s[j]); ok {
					s[i] = m
					s = append(s[:j], s[j+1:]...)
					j--
					changed = true
				}
			}
		}
		if !changed {
			break
		}
	}
	return s
}

// merge joins two boxes that are equal on every dimension but one scalar one.
func (sp *space) merge(a, b box) (box, bool) {
	if len(a) != len(b) {
		return nil, false
	}
	diff := -1
	for i := range a {
		if a[i].dim != b[i].dim {
			return nil, false
		}
		if a[i].c != b[i].c && !a[i].c.equal(*b[i].c) {
			if diff >= 0 || a[i].c.kind == kArr {
				return nil, false
			}
			diff = i
		}
	}
	if diff < 0 {
		return a, true
	}
	c := a[diff].c.or(*b[diff].c)
	if sp.dims[a[diff].dim].univ.subsetOf(c) {
		out := make(box, 0, len(a)-1)
		out = append(out, a[:diff]...)
		return append(out, a[diff+1:]...), true
	}
	out := append(box(nil), a...)
	out[diff] = mkdc(a[diff].dim, c)
	return out, true
}

// build returns the set of flows matching n (neg: not matching n).
func (sp *space) build(n expr.Node, neg bool) (fset, error) {
	switch n := n.(type) {
	case nil:
		if neg {
			return nil, nil
		}
		return universeSet, nil
	case *expr.Not:
		return sp.build(n.X, !neg)
	case *expr.And, *expr.Or:
		var xs []expr.Node
		isAnd := false
		switch n := n.(type) {
		case *expr.And:
			xs, isAnd = n.X, true
		case *expr.Or:
			xs = n.X
		}
		if neg {
			isAnd = !isAnd
		}
		var acc fset
		if isAnd {
			acc = universeSet
		}
		for _, x := range xs {
			s, err := sp.build(x, neg)
			if err != nil {
				return nil, err
			}
			if isAnd {
				acc, err = sp.and(acc, s)
			} else {
				acc, err = sp.or(acc, s)
			}
			if err != nil {
				return nil, err
			}
			if isAnd && len(acc) == 0 {
				return nil, nil
			}
		}
		return acc, nil
	}
	d, c, negate, ok := sp.atom(n)
	if !ok {
		d = sp.opaqueDim(n)
		c = cons{kind: kBool, b: 1}
	}
	if d < 0 {
		// A disjunction of atoms on several dimensions (keyless SAML).
		return sp.samlPairs(n, neg)
	}
	if negate {
		neg = !neg
	}
	if neg {
		return sp.singleNeg(d, c), nil
	}
	return sp.single(d, c), nil
}

// atom translates one comparison into a constraint on one dimension.
// ok=false: the atom is opaque. d<0: handled by samlPairs. negate: the
// set is the complement of c's (any(not(c)) on a scalar read as a
// one-element array, net.src.ip[*], is not(c)).
func (sp *space) atom(n expr.Node) (d int, c cons, negate, ok bool) {
	elemNeg := false // any(not(c)): some element fails c
	if a, isAny := n.(*expr.Any); isAny {
		n, elemNeg = expr.AnyBody(a)
	}
	var f expr.FieldRef
	switch n := n.(type) {
	case *expr.Compare:
		f = n.Field
	case *expr.In:
		f = n.Field
	default:
		return 0, cons{}, false, false // matches, $list, bare fields
	}
	fi, found := expr.LookupField(f.Name)
	if !found {
		return 0, cons{}, false, false
	}
	if fi.Map && !f.HasKey {
		if elemNeg {
			return 0, cons{}, false, false // rejected by Check
		}
		return -1, cons{}, false, true
	}
	elem := fi.Array // the constraint is on one element; the atom is "some element"
	var ec cons
	switch n := n.(type) {
	case *expr.Compare:
		ec, ok = valueCons(fi, n.Op, n.Value)
	case *expr.In:
		ec, ok = setCons(fi, n.Set)
	}
	if !ok {
		return 0, cons{}, false, false
	}
	d, k := sp.dimFor(fi, f.Key)
	if elem {
		if elemNeg {
			ec = ec.universeOf().minus(ec) // the element fails the comparison
		}
		return d, arrOf(len(sp.dims[d].univ.arr.forbid), k, ec), false, true
	}
	return d, ec, elemNeg, true
}

// samlPairs handles identity.saml_attributes == "name=value" and
// identity.saml_attributes in {"name=value" ...}: some attribute named name
// holds value.
func (sp *space) samlPairs(n expr.Node, neg bool) (fset, error) {
	if a, ok := n.(*expr.Any); ok {
		n = a.Body
	}
	var vals []expr.Value
	op := expr.OpEq
	switch n := n.(type) {
	case *expr.Compare:
		vals, op = []expr.Value{n.Value}, n.Op
	case *expr.In:
		vals = n.Set
	}
	fi, _ := expr.LookupField("identity.saml_attributes")
	if op == expr.OpNe {
		// != "name=value": the user does not have that attribute value.
		neg = !neg
	} else if op != expr.OpEq {
		d := sp.opaqueDim(n)
		if neg {
			return sp.single(d, cons{kind: kBool, b: 2}), nil
		}
		return sp.single(d, cons{kind: kBool, b: 1}), nil
	}
	acc := fset(nil)
	if neg {
		acc = universeSet
	}
	for _, v := range vals {
		name, value, ok := samlPair(v.Str)
		if !ok {
			continue
		}
		d, _ := sp.dimFor(fi, name)
		c := arrOf(1, 0, cons{kind: kStr, s: strOf(value)})
		var err error
		if neg {
			acc, err = sp.and(acc, sp.singleNeg(d, c))
		} else {
			acc, err = sp.or(acc, sp.single(d, c))
		}
		if err != nil {
			return nil, err
		}
	}
	return acc, nil
}

func samlPair(s string) (name, value string, ok bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	name, value, ok = strings.Cut(s, "=")
	return name, value, ok && name != ""
}

// valueCons is the set of values v' with v' op v.
func valueCons(fi expr.FieldInfo, op expr.Op, v expr.Value) (cons, bool) {
	var eq cons
	switch fi.Type {
	case expr.TIP:
		switch v.Kind {
		case expr.VIP:
			eq = ipCons(netip.PrefixFrom(v.IP, v.IP.BitLen()))
		case expr.VCIDR:
			eq = ipCons(v.Prefix)
		default:
			return cons{}, false
		}
		if v.Kind == expr.VCIDR && op != expr.OpEq && op != expr.OpNe {
			return cons{}, false
		}
		switch op {
		case expr.OpEq:
			return eq, true
		case expr.OpNe:
			return cons{kind: kIP, v4: ivOf(u128{}, maxU32), v6: ivOf(u128{}, maxU128)}.minus(eq), true
		}
		// Ordering compares within the value's family (as the evaluator does).
		k, top := keyOfAddr(v.IP), maxU128
		if v.IP.Is4() {
			top = maxU32
		}
		var iv ivset
		switch op {
		case expr.OpLt:
			if k != (u128{}) {
				iv = ivOf(u128{}, k.dec())
			}
		case expr.OpLe:
			iv = ivOf(u128{}, k)
		case expr.OpGt:
			if k != top {
				iv = ivOf(k.inc(), top)
			}
		case expr.OpGe:
			iv = ivOf(k, top)
		default:
			return cons{}, false
		}
		if v.IP.Is4() {
			return cons{kind: kIP, v4: iv}, true
		}
		return cons{kind: kIP, v6: iv}, true
	case expr.TInt:
		if v.Kind != expr.VInt {
			return cons{}, false
		}
		k := keyOfInt(v.Int)
		lo, hi := keyOfInt(-1<<63), keyOfInt(1<<63-1)
		switch op {
		case expr.OpEq:
			lo, hi = k, k
		case expr.OpNe:
			all := ivOf(lo, hi)
			return cons{kind: kNum, v4: all.minus(ivOf(k, k))}, true
		case expr.OpLt:
			// The evaluator's ordering starts at 0.
			lo, hi = keyOfInt(0), k.dec()
			if v.Int <= 0 {
				return cons{kind: kNum}, true
			}
		case expr.OpLe:
			lo, hi = keyOfInt(0), k
			if v.Int < 0 {
				return cons{kind: kNum}, true
			}
		case expr.OpGt:
			if v.Int == 1<<63-1 {
				return cons{kind: kNum}, true
			}
			lo = k.inc()
		case expr.OpGe:
			lo = k
		default:
			return cons{}, false
		}
		return cons{kind: kNum, v4: ivOf(lo, hi)}, true
	default:
		if v.Kind != expr.VString {
			return cons{}, false
		}
		s := strOf(literals(fi, []expr.Value{v})...)
		switch op {
		case expr.OpEq:
			return cons{kind: kStr, s: s}, true
		case expr.OpNe:
			return cons{kind: kStr, s: s.not()}, true
		}
		return cons{}, false
	}
}

// setCons is the set of values listed in an `in {...}`.
func setCons(fi expr.FieldInfo, vs []expr.Value) (cons, bool) {
	switch fi.Type {
	case expr.TIP:
		var v4, v6 []ival
		for _, v := range vs {
			var p netip.Prefix
			switch v.Kind {
			case expr.VIP:
				p = netip.PrefixFrom(v.IP, v.IP.BitLen())
			case expr.VCIDR:
				p = v.Prefix
			case expr.VIPRange:
				// lo..hi, one family (the parser unmapped and checked it)
				iv := ival{keyOfAddr(v.IP), keyOfAddr(v.IPHi)}
				if v.IP.Is4() {
					v4 = append(v4, iv)
				} else {
					v6 = append(v6, iv)
				}
				continue
			default:
				return cons{}, false
			}
			c := ipCons(p)
			v4 = append(v4, c.v4...)
			v6 = append(v6, c.v6...)
		}
		return cons{kind: kIP, v4: ivFromList(v4), v6: ivFromList(v6)}, true
	case expr.TInt:
		var xs []ival
		for _, v := range vs {
			switch v.Kind {
			case expr.VInt:
				xs = append(xs, ival{keyOfInt(v.Int), keyOfInt(v.Int)})
			case expr.VRange:
				xs = append(xs, ival{keyOfInt(v.Lo), keyOfInt(v.Hi)})
			default:
				return cons{}, false
			}
		}
		return cons{kind: kNum, v4: ivFromList(xs)}, true
	default:
		for _, v := range vs {
			if v.Kind != expr.VString {
				return cons{}, false
			}
		}
		return cons{kind: kStr, s: strOf(literals(fi, vs)...)}, true
	}
}

// literals returns the strings the string literals vs stand for in field
// fi, as the evaluator compares them: "name=value" elements without the
// quotes they may carry (expr.ClaimValue), and without the literals no flow
// can carry (expr.CanMatchLiteral: upper-case hosts and domains, continents
// that are not codes, ...), which match nothing.
func literals(fi expr.FieldInfo, vs []expr.Value) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		s := v.Str
		if fi.Pairs {
			s = expr.ClaimValue(s)
		}
		if expr.CanMatchLiteral(fi.Name, s) {
			out = append(out, s)
		}
	}
	return out
}

// ipCons is the set of addresses in p.
func ipCons(p netip.Prefix) cons {
	p = p.Masked()
	a := p.Addr().Unmap()
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(a, max(p.Bits()-96, 0))
	}
	lo := keyOfAddr(a)
	width := a.BitLen() - p.Bits()
	hi := lo
	if width >= 64 {
		hi.lo = ^uint64(0)
		hi.hi |= (uint64(1) << (width - 64)) - 1
		if width == 128 {
			hi.hi = ^uint64(0)
		}
	} else if width > 0 {
		hi.lo |= (uint64(1) << width) - 1
	}
	if a.Is4() {
		return cons{kind: kIP, v4: ivOf(lo, hi)}
	}
	return cons{kind: kIP, v6: ivOf(lo, hi)}
}
