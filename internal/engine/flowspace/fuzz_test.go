package flowspace

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace/fstest"
)

// The fuzz targets check the analyser against the evaluator
// (expr.CompilePolicy): random expressions and flows from fstest, and two
// properties:
//   - membership: a flow is in the analyser's set exactly when the evaluator
//     matches it (for sets without opaque atoms);
//   - Covers(A, B) = Yes ⇒ no flow matches B but not A; IsEmpty = Yes ⇒ no
//     flow matches.

// member evaluates the analyser's set on a flow; ok=false when it depends on
// an opaque atom.
func member(s *Set, f *engine.Flow) (in, ok bool) {
	sp := s.a.sp
	for _, b := range s.boxes {
		all := true
		for _, x := range b {
			d := sp.dims[x.dim]
			if d.opaque {
				return false, false
			}
			if !consHas(x.c, d.name, f) {
				all = false
				break
			}
		}
		if all {
			return true, true
		}
	}
	return false, true
}

func consHas(c cons, name string, f *engine.Flow) bool {
	ip := func(a netip.Addr) bool {
		a = a.Unmap()
		k := keyOfAddr(a)
		if a.Is4() {
			return c.v4.overlaps(ivOf(k, k))
		}
		return c.v6.overlaps(ivOf(k, k))
	}
	num := func(x int64) bool { k := keyOfInt(x); return c.v4.overlaps(ivOf(k, k)) }
	arr := func(strs []string, ints []int64, isInt bool) bool {
		hit := func(e cons, i int) bool {
			if isInt {
				k := keyOfInt(ints[i])
				return e.v4.overlaps(ivOf(k, k))
			}
			return e.s.has(strs[i])
		}
		n := len(strs)
		if isInt {
			n = len(ints)
		}
		for i := 0; i < n; i++ {
			if hit(c.arr.forbid, i) {
				return false
			}
		}
		for _, r := range c.arr.req {
			found := false
			for i := 0; i < n; i++ {
				if hit(r, i) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	groups := func(get func(engine.Group) string) []string {
		var out []string
		for _, g := range f.Groups {
			out = append(out, get(g))
		}
		return out
	}
	switch name {
	case "net.dst.ip":
		return ip(f.DestinationIP)
	case "net.src.ip":
		return ip(f.SourceIP)
	case "net.src.internal_src_ip":
		return ip(f.InternalSourceIP)
	case "net.dst.port":
		return num(int64(f.DestinationPort))
	case "net.src.port":
		return num(int64(f.SourcePort))
	case "net.protocol":
		return c.s.has(f.Protocol)
	case "net.dst.geo.country":
		return c.s.has(f.DstCountry)
	case "net.dst.geo.continent":
		return c.s.has(f.DstContinent)
	case "net.src.geo.country":
		return c.s.has(f.SourceCountry)
	case "net.src.geo.continent":
		return c.s.has(f.SourceContinent)
	case "net.vnet_id":
		return c.s.has(f.VirtualNetworkID)
	case "proxy.endpoint":
		return c.s.has(f.ProxyEndpoint)
	case "net.fqdn.host":
		return c.s.has(f.FQDNHost)
	case "identity.email":
		return c.s.has(f.Email)
	case "identity.name":
		return c.s.has(f.Name)
	case "net.fqdn.domains":
		return arr(f.FQDNDomains, nil, false)
	case "device_posture.checks.passed":
		return arr(f.PostureChecks, nil, false)
	case "device_posture.checks.failed":
		return arr(f.FailedPostureChecks, nil, false)
	case "identity.oidc_claims":
		return arr(f.OIDCClaims, nil, false)
	case "net.onramp.type":
		return c.s.has(f.OnrampType)
	case "identity.groups.id":
		return arr(groups(func(g engine.Group) string { return g.ID }), nil, false)
	case "identity.groups.name":
		return arr(groups(func(g engine.Group) string { return g.Name }), nil, false)
	case "identity.groups.email":
		return arr(groups(func(g engine.Group) string { return g.Email }), nil, false)
	case "net.fqdn.content_category":
		return arr(nil, f.ContentCategories, true)
	case "app.ids":
		return arr(nil, f.AppIDs, true)
	}
	if k, ok := strings.CutPrefix(name, "identity.saml_attributes["); ok {
		return arr(f.SAMLAttributes[strings.TrimSuffix(k, "]")], nil, false)
	}
	panic("unknown dimension " + name)
}

type compiled struct {
	src string
	set *Set
	m   engine.Matcher
}

func compileBoth(t *testing.T, a *Analyzer, src string) (compiled, bool) {
	n, err := expr.ParseAndCheck(src)
	if err != nil {
		return compiled{}, false
	}
	s, err := a.Compile(n)
	if err != nil {
		return compiled{}, false
	}
	p, err := expr.CompilePolicy(src, "", "")
	if err != nil {
		t.Fatalf("analyser accepts %q but CompilePolicy fails: %v", src, err)
	}
	return compiled{src, s, p}, true
}

func checkMembership(t *testing.T, c compiled, flows []*engine.Flow) {
	for _, f := range flows {
		in, ok := member(c.set, f)
		if !ok {
			return
		}
		got, _ := c.m.Match(f)
		if got == engine.Unknown {
			continue
		}
		if in != (got == engine.Yes) {
			t.Fatalf("%q: analyser membership %v, evaluator %v for flow %+v", c.src, in, got, *f)
		}
	}
}

func fuzzSeeds(f *testing.F) {
	for _, s := range fstest.Seeds() {
		f.Add(s)
	}
}

func FuzzCovers(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := fstest.New(data)
		a := NewAnalyzer()
		A, okA := compileBoth(t, a, fstest.GenExpr(r, 3))
		B, okB := compileBoth(t, a, fstest.GenExpr(r, 3))
		if !okA || !okB {
			return
		}
		flows := fstest.GenFlows(r, 150)
		checkMembership(t, A, flows)
		checkMembership(t, B, flows)
		cov := a.Covers(A.set, B.set)
		emptyB := a.IsEmpty(B.set)
		a.NoWitness = true
		if exact := a.Covers(A.set, B.set); exact != cov && exact != engine.Unknown && cov != engine.Unknown {
			t.Fatalf("Covers(%q ⊇ %q): %v with witnesses, %v by subtraction alone", A.src, B.src, cov, exact)
		}
		a.NoWitness = false
		for _, fl := range flows {
			mb, _ := B.m.Match(fl)
			ma, _ := A.m.Match(fl)
			if emptyB == engine.Yes && mb == engine.Yes {
				t.Fatalf("IsEmpty(%q) = Yes but the evaluator matches %+v", B.src, *fl)
			}
			if cov == engine.Yes && mb == engine.Yes && ma == engine.No {
				t.Fatalf("Covers(%q ⊇ %q) = Yes but flow %+v matches only the inner one", A.src, B.src, *fl)
			}
		}
	})
}

// TestAgreesWithEvaluator runs the fuzz properties over a fixed set of
// pseudo-random inputs on every `go test`, and checks they are not vacuous.
func TestAgreesWithEvaluator(t *testing.T) {
	seed := uint32(12345)
	next := func() byte {
		seed = seed*1664525 + 1013904223
		return byte(seed >> 24)
	}
	var yes, no, checked, inside int
	for iter := 0; iter < 800; iter++ { // 24 atom kinds (issue 12): 800 inputs keep the Yes/No counts meaningful
		data := make([]byte, 64)
		for i := range data {
			data[i] = next()
		}
		r := fstest.New(data)
		a := NewAnalyzer()
		A, okA := compileBoth(t, a, fstest.GenExpr(r, 3))
		B, okB := compileBoth(t, a, fstest.GenExpr(r, 3))
		if !okA || !okB {
			continue
		}
		flows := fstest.GenFlows(r, 100)
		checkMembership(t, A, flows)
		for _, fl := range flows {
			if in, ok := member(A.set, fl); ok {
				checked++
				if in {
					inside++
				}
			}
		}
		cov := a.Covers(A.set, B.set)
		a.NoWitness = true
		if exact := a.Covers(A.set, B.set); exact != cov {
			t.Fatalf("Covers(%q ⊇ %q): %v with witnesses, %v by subtraction alone", A.src, B.src, cov, exact)
		}
		a.NoWitness = false
		switch cov {
		case engine.Yes:
			yes++
			for _, fl := range flows {
				mb, _ := B.m.Match(fl)
				ma, _ := A.m.Match(fl)
				if mb == engine.Yes && ma == engine.No {
					t.Fatalf("Covers(%q ⊇ %q) = Yes but flow %+v matches only the inner one", A.src, B.src, *fl)
				}
			}
		case engine.No:
			no++
		}
	}
	t.Logf("covers yes=%d no=%d; membership checked on %d flows, %d inside", yes, no, checked, inside)
	if yes < 20 || no < 20 || inside < checked/20 || inside > checked-checked/20 {
		t.Fatalf("vacuous run: yes=%d no=%d checked=%d inside=%d", yes, no, checked, inside)
	}
}
