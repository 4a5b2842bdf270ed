package flowspace

import (
	"net/netip"
	"slices"
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
			if !consHas(*x.c, d.name, f) {
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
	// arr: elements are tuples of coordinate values (strings, or one int).
	arr := func(elems [][]string, ints []int64) bool {
		has := func(e cons, i, k int) bool {
			if ints != nil {
				kk := keyOfInt(ints[i])
				return e.v4.overlaps(ivOf(kk, kk))
			}
			return e.s.has(elems[i][k])
		}
		n := len(elems)
		if ints != nil {
			n = len(ints)
		}
		for i := 0; i < n; i++ {
			for k, fb := range c.arr.forbid {
				if has(fb, i, k) {
					return false
				}
			}
		}
		for _, r := range c.arr.req {
			found := false
			for i := 0; i < n; i++ {
				if has(r.c, i, r.k) {
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
	strs := func(xs []string) [][]string {
		out := [][]string{}
		for _, x := range xs {
			out = append(out, []string{x})
		}
		return out
	}
	ints := func(xs []int64) []int64 {
		if xs == nil {
			return []int64{}
		}
		return xs
	}
	var groups [][]string
	for _, g := range f.Groups {
		groups = append(groups, []string{g.ID, g.Name, g.Email})
	}
	switch name {
	case dimProxied:
		if f.Proxied {
			return c.b&1 != 0
		}
		return c.b&2 != 0
	case dimIngress:
		return c.s.has(f.IngressColo)
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
		return arr(strs(f.FQDNDomains), nil)
	case "device_posture.checks.passed":
		return arr(strs(f.PostureChecks), nil)
	case "device_posture.checks.failed":
		return arr(strs(f.FailedPostureChecks), nil)
	case "identity.oidc_claims":
		return arr(strs(f.OIDCClaims), nil)
	case "net.onramp.type":
		return c.s.has(f.OnrampType)
	case "identity.groups":
		return arr(groups, nil)
	case "net.fqdn.content_category":
		return arr(nil, ints(f.ContentCategories))
	case "app.ids":
		return arr(nil, ints(f.AppIDs))
	}
	if k, ok := strings.CutPrefix(name, "identity.saml_attributes["); ok {
		return arr(strs(f.SAMLAttributes[strings.TrimSuffix(k, "]")]), nil)
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
		// Set.Contains evaluates regexes too: it agrees with the evaluator
		// whenever it can tell.
		if in, ok := c.set.Contains(f); ok {
			if got, _ := c.m.Match(f); got != engine.Unknown && in != (got == engine.Yes) {
				t.Fatalf("%q: Contains %v, evaluator %v for flow %+v", c.src, in, got, *f)
			}
		}
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
	next := fstest.Inputs(12345, 64)
	var yes, no, checked, inside int
	for iter := 0; iter < 800; iter++ { // 24 atom kinds (issue 12): 800 inputs keep the Yes/No counts meaningful
		r := fstest.New(next())
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

// TestIndexedAgreesWithExplicit: a question over an Index answers as the
// same question with its sets added one by one (same answer, same sets used
// for a Yes), and the index's point lookup finds the first containing box.
func TestIndexedAgreesWithExplicit(t *testing.T) {
	next := fstest.Inputs(777, 256)
	var yes, no int
	for iter := 0; iter < 200; iter++ {
		r := fstest.New(next())
		a := NewAnalyzer()
		n := 4 + r.N(12)
		sets := make([]*Set, n)
		for i := range sets {
			n, err := expr.ParseAndCheck(fstest.GenExpr(r, 2))
			if err != nil {
				continue
			}
			if s, err := a.Compile(n); err == nil {
				sets[i] = s
			}
		}
		ix := a.NewIndex(sets)
		obstacle := make([]bool, n)
		for i := range obstacle {
			obstacle[i] = r.N(3) == 0
		}
		for i := 0; i < n; i++ {
			if sets[i] == nil {
				continue
			}
			for _, end := range []engine.Tri{engine.No, engine.Yes} {
				var subs, obs []int
				q1 := a.NewQuestion()
				for j := 0; j < n; j++ {
					if j == i || sets[j] == nil {
						continue
					}
					q1.Add(sets[j], j, obstacle[j])
					if obstacle[j] {
						obs = append(obs, j)
					} else {
						subs = append(subs, j)
					}
				}
				want := q1.Run(sets[i], end)
				wantUsed := append([]int(nil), q1.Used()...)
				q1.Release()
				in := func(l []int) func(int) bool { return func(j int) bool { return slices.Contains(l, j) } }
				q2 := a.NewQuestion()
				q2.UseIndex(ix, ix.Select(in(subs)), ix.Select(in(obs)))
				got := q2.Run(sets[i], end)
				if got != want || (got == engine.Yes && !slices.Equal(q2.Used(), wantUsed)) {
					t.Fatalf("set %d end %v: indexed %v used %v, explicit %v used %v", i, end, got, q2.Used(), want, wantUsed)
				}
				q2.Release()
				switch got {
				case engine.Yes:
					yes++
				case engine.No:
					no++
				}
			}
		}
		// Point lookup: the default point moved into each set's first box.
		for _, s := range sets {
			if s == nil || s.Empty() {
				continue
			}
			b := s.boxes[0]
			p := append([]pval(nil), a.sp.defaultPoint()...)
			var touched []int
			for _, x := range b {
				if v, ok := lowest(*x.c); ok {
					p[x.dim] = v
					touched = append(touched, x.dim)
				}
			}
			loc := ix.newLocator()
			loc.reset(p, touched)
			all := ix.Range(0, n).b
			wantFirst := -1
			for id := range ix.items {
				if pointIn(p, ix.items[id].b) {
					wantFirst = id
					break
				}
			}
			if got := loc.first(all, 0, len(ix.items)); got != wantFirst {
				t.Fatalf("first box containing the point: index %d, scan %d", got, wantFirst)
			}
		}
	}
	t.Logf("yes=%d no=%d", yes, no)
	if yes < 20 || no < 20 {
		t.Fatalf("vacuous: yes=%d no=%d", yes, no)
	}
}
