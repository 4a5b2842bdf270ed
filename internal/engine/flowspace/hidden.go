package flowspace

import (
	"sort"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// The decision depends on more than the fields expressions read: whether
// the destination is proxied by Cloudflare (IPv4 grey or orange), the
// ingress colo (the nearest dedicated IP when nothing matches, the physical
// colo of orange, IPv6 and default egress) and the user's country (default
// egress). These are dimensions of the flow space too, so that the change
// impact and the invariants are exact over them; no expression constrains
// the first two.

// Names of the dimensions no expression reads.
const (
	dimProxied = "flow.proxied"
	dimIngress = "flow.ingress_colo"
)

// FlowKind is how a flow egresses: IPv4 not proxied by Cloudflare (grey),
// IPv4 proxied (orange), or IPv6.
type FlowKind uint8

const (
	IPv4Grey FlowKind = iota
	IPv4Orange
	IPv6
)

// FlowKinds lists every kind.
func FlowKinds() []FlowKind { return []FlowKind{IPv4Grey, IPv4Orange, IPv6} }

func (k FlowKind) String() string {
	switch k {
	case IPv4Grey:
		return "IPv4 not proxied"
	case IPv4Orange:
		return "IPv4 proxied"
	}
	return "IPv6"
}

// KindOf is the kind of a flow.
func KindOf(f *engine.Flow) FlowKind {
	switch {
	case f.DestinationIP.Is6() && !f.DestinationIP.Is4In6():
		return IPv6
	case f.Proxied:
		return IPv4Orange
	}
	return IPv4Grey
}

func (sp *space) proxiedDim() int {
	if i, ok := sp.byName[dimProxied]; ok {
		return i
	}
	sp.dims = append(sp.dims, dim{name: dimProxied, kind: kBool, univ: cons{kind: kBool, b: 3}})
	sp.byName[dimProxied] = len(sp.dims) - 1
	return len(sp.dims) - 1
}

// ingressCodes are the catalog's colo codes, sorted.
func ingressCodes() []string {
	var out []string
	for _, c := range engine.Catalog() {
		out = append(out, c.Code)
	}
	sort.Strings(out)
	return out
}

func (sp *space) ingressDim() int {
	if i, ok := sp.byName[dimIngress]; ok {
		return i
	}
	sp.dims = append(sp.dims, dim{name: dimIngress, kind: kStr, univ: cons{kind: kStr, s: strOf(ingressCodes()...)}})
	sp.byName[dimIngress] = len(sp.dims) - 1
	return len(sp.dims) - 1
}

func (sp *space) dstDim() int {
	fi, _ := expr.LookupField("net.dst.ip")
	d, _ := sp.dimFor(fi, "")
	return d
}

// Kind returns the set of flows of kind k.
func (a *Analyzer) Kind(k FlowKind) *Set {
	sp := a.sp
	dst := sp.dstDim()
	u := sp.dims[dst].univ
	if k == IPv6 {
		return a.newSet(sp.single(dst, cons{kind: kIP, v6: u.v6}))
	}
	b := box{mkdc(dst, cons{kind: kIP, v4: u.v4})}
	p := sp.proxiedDim()
	bit := uint8(2) // false
	if k == IPv4Orange {
		bit = 1
	}
	b, _ = boxAnd(b, box{mkdc(p, cons{kind: kBool, b: bit})})
	return a.newSet(fset{b})
}

// Ingress returns the set of flows from the ingress colos codes (IATA,
// upper case; unknown codes are ignored).
func (a *Analyzer) Ingress(codes []string) *Set {
	d := a.sp.ingressDim()
	up := make([]string, len(codes))
	for i, c := range codes {
		up[i] = strings.ToUpper(c)
	}
	return a.newSet(a.sp.single(d, cons{kind: kStr, s: strOf(up...)}))
}

// StringIn returns the set of flows whose string field holds one of values
// (or, with not, none of them). The field is a scalar string field of the
// expression catalog, e.g. net.src.geo.country.
func (a *Analyzer) StringIn(field string, values []string, not bool) *Set {
	fi, ok := expr.LookupField(field)
	if !ok || fi.Array || fi.Type != expr.TString {
		panic("flowspace: StringIn on " + field)
	}
	d, _ := a.sp.dimFor(fi, "")
	c := cons{kind: kStr, s: strOf(values...)}
	if not {
		return a.newSet(a.sp.singleNeg(d, c))
	}
	return a.newSet(a.sp.single(d, c))
}

// And returns x ∩ y (ErrTooComplex past MaxBoxes boxes).
func (a *Analyzer) And(x, y *Set) (*Set, error) {
	bs, err := a.sp.and(x.boxes, y.boxes)
	if err != nil {
		return nil, err
	}
	return a.newSet(bs), nil
}

// Or returns x ∪ y (ErrTooComplex past MaxBoxes boxes).
func (a *Analyzer) Or(x, y *Set) (*Set, error) {
	bs, err := a.sp.or(x.boxes, y.boxes)
	if err != nil {
		return nil, err
	}
	return a.newSet(bs), nil
}

// Not returns the complement of x (ErrTooComplex past MaxBoxes boxes).
func (a *Analyzer) Not(x *Set) (*Set, error) {
	out := universeSet
	for _, b := range x.boxes {
		var next fset
		for _, p := range out {
			next = append(next, a.sp.boxMinus(p, b)...)
			if len(next) > 4*maxBoxes {
				return nil, ErrTooComplex
			}
		}
		out = a.sp.simplify(next)
		if len(out) > maxBoxes {
			return nil, ErrTooComplex
		}
	}
	return a.newSet(out), nil
}

// Empty returns the empty set.
func (a *Analyzer) Empty() *Set { return a.newSet(nil) }
