package lint

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// The fuzz targets check the analyser against the evaluator
// (expr.CompilePolicy): a random expression generator driven by the fuzz
// input, flows drawn from the generator's own constants (and their
// neighbours), and three properties:
//   - membership: a flow is in the analyser's set exactly when the evaluator
//     matches it (for sets without opaque atoms);
//   - Covers(A, B) = Yes ⇒ no flow matches B but not A; IsEmpty = Yes ⇒ no
//     flow matches;
//   - a shadowed or redundant finding agrees with brute-force first-match
//     evaluation over the flows.

// rnd reads choices from the fuzz input (zeros once it runs out).
type rnd struct {
	b []byte
	i int
}

func (r *rnd) n(k int) int {
	if k <= 1 {
		return 0
	}
	var x int
	if r.i < len(r.b) {
		x = int(r.b[r.i])
		r.i++
	}
	return x % k
}

func (r *rnd) pick(xs ...string) string { return xs[r.n(len(xs))] }

var (
	genIPs4   = []string{"10.0.0.0", "10.0.0.1", "10.1.2.3", "10.255.255.255", "11.0.0.0", "9.255.255.255", "192.168.1.1", "0.0.0.1", "255.255.255.255"}
	genCIDRs  = []string{"10.0.0.0/8", "10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16", "0.0.0.0/0", "192.168.0.0/16", "2001:db8::/32", "2001:db8:1::/48", "::/0"}
	genIPs6   = []string{"2001:db8::1", "2001:db8:1::1", "2001:db9::", "::1", "ffff::1"}
	genPorts  = []string{"1", "22", "53", "80", "443", "1000", "65535"}
	genStrs   = []string{"a", "b", "c"}
	genCtry   = []string{"JP", "US", "MX"} // flows carry upper-case codes
	genClaims = []string{"k=a", "k=b", "j=a"}
	genRamps  = []string{"device_client", "mesh", "proxy_endpoint"}
	genInts   = []string{"1", "5", "6", "9"}
	genSAMLKs = []string{"k1", "k2"}
)

func genAtom(r *rnd) string {
	q := func(s string) string { return `"` + s + `"` }
	switch r.n(24) {
	case 0:
		return fmt.Sprintf("net.dst.ip in {%s %s}", r.pick(genCIDRs...), r.pick(genIPs4...))
	case 1:
		return fmt.Sprintf("net.dst.ip %s %s", r.pick("==", "!="), r.pick(append(genCIDRs, genIPs4...)...))
	case 2:
		return fmt.Sprintf("net.dst.ip %s %s", r.pick("<", "<=", ">", ">="), r.pick(append(genIPs4, genIPs6...)...))
	case 3:
		return fmt.Sprintf("net.dst.port %s %s", r.pick("==", "!=", "<", "<=", ">", ">="), r.pick(genPorts...))
	case 4:
		return fmt.Sprintf("net.dst.port in {%s..%s %s}", r.pick("1", "80", "443"), r.pick("443", "1000", "65535"), r.pick(genPorts...))
	case 5:
		return fmt.Sprintf("net.protocol %s %s", r.pick("==", "!="), q(r.pick("tcp", "udp", "icmp")))
	case 6:
		return fmt.Sprintf("identity.email %s %s", r.pick("==", "!="), q(r.pick(genStrs...)))
	case 7:
		return fmt.Sprintf("net.dst.geo.country in {%s %s}", q(r.pick(genCtry...)), q(r.pick(append(genCtry, "us")...)))
	case 8:
		return fmt.Sprintf("any(identity.groups[*].name %s %s)", r.pick("==", "!="), q(r.pick(genStrs...)))
	case 9:
		return fmt.Sprintf("identity.groups.name in {%s %s}", q(r.pick(genStrs...)), q(r.pick(genStrs...)))
	case 10:
		return fmt.Sprintf("any(app.ids[*] %s %s)", r.pick("==", "!=", "<", ">="), r.pick(genInts...))
	case 11:
		return fmt.Sprintf("any(app.ids[*] in {%s 5..6})", r.pick(genInts...))
	case 12:
		return fmt.Sprintf("identity.saml_attributes[%s] %s %s", q(r.pick(genSAMLKs...)), r.pick("==", "!="), q(r.pick(genStrs...)))
	case 13:
		return fmt.Sprintf("identity.saml_attributes %s %s", r.pick("==", "!="), q(r.pick(genSAMLKs...)+"="+r.pick(genStrs...)))
	case 14:
		return fmt.Sprintf("net.src.ip in {%s}", r.pick(genCIDRs...))
	// issue 12: IP ranges, any(not ...), the new selectors, literals that
	// never match
	case 16:
		return fmt.Sprintf("net.dst.ip in {%s %s}", genIPRange(r), r.pick(genCIDRs...))
	case 17:
		return fmt.Sprintf("any(not(identity.groups[*].name %s %s))", r.pick("==", "!=", "in"), genStrOrSet(r, genStrs))
	case 18:
		return fmt.Sprintf("any(not(net.src.ip[*] in {%s}))", r.pick(append(genCIDRs, genIPRange(r))...))
	case 19:
		lit := r.pick(genClaims...)
		if r.n(2) == 0 {
			lit = `\"` + lit + `\"` // Cloudflare's quoted form
		}
		body := fmt.Sprintf("identity.oidc_claims[*] == %s", q(lit))
		if r.n(3) == 0 {
			return "any(not(" + body + "))"
		}
		return "any(" + body + ")"
	case 20:
		return fmt.Sprintf("any(device_posture.checks.failed[*] %s %s)", r.pick("==", "!=", "in"), genStrOrSet(r, genStrs))
	case 21:
		return fmt.Sprintf("net.onramp.type %s %s", r.pick("==", "!=", "in"), genStrOrSet(r, append(genRamps, "warp")))
	case 22:
		return fmt.Sprintf("net.fqdn.host %s %s", r.pick("==", "!=", "in"), genStrOrSet(r, []string{"a.example", "A.example", "c"}))
	case 23:
		return fmt.Sprintf("any(net.fqdn.domains[*] %s %s)", r.pick("==", "!=", "in"), genStrOrSet(r, []string{"a", "B", "c"}))
	default:
		return fmt.Sprintf("net.fqdn.host matches %s", q(r.pick("^a", "b", ".*")))
	}
}

// genIPRange is an IP range lo..hi of the generator's addresses.
func genIPRange(r *rnd) string {
	for {
		a := netip.MustParseAddr(r.pick(append(genIPs4, genIPs6...)...))
		b := netip.MustParseAddr(r.pick(append(genIPs4, genIPs6...)...))
		if a.BitLen() != b.BitLen() {
			continue
		}
		if b.Less(a) {
			a, b = b, a
		}
		return a.String() + ".." + b.String()
	}
}

// genStrOrSet is a quoted string, or a set of one or two, for == / != / in.
func genStrOrSet(r *rnd, vals []string) string {
	q := func(s string) string { return `"` + s + `"` }
	if r.n(2) == 0 {
		return q(r.pick(vals...))
	}
	return "{" + q(r.pick(vals...)) + " " + q(r.pick(vals...)) + "}"
}

func genExpr(r *rnd, depth int) string {
	if depth <= 0 {
		return genAtom(r)
	}
	switch r.n(5) {
	case 0:
		return "(" + genExpr(r, depth-1) + " and " + genExpr(r, depth-1) + ")"
	case 1:
		return "(" + genExpr(r, depth-1) + " or " + genExpr(r, depth-1) + ")"
	case 2:
		return "not(" + genExpr(r, depth-1) + ")"
	default:
		return genAtom(r)
	}
}

// genFlows returns complete flows (every field present) built from the
// generator's constants and their neighbours.
func genFlows(r *rnd, n int) []*engine.Flow {
	var ips []netip.Addr
	for _, s := range append(genIPs4, genIPs6...) {
		a := netip.MustParseAddr(s)
		ips = append(ips, a, a.Next(), a.Prev())
	}
	for _, s := range genCIDRs {
		p := netip.MustParsePrefix(s)
		ips = append(ips, p.Addr().Next(), p.Addr().Prev())
	}
	var dst []netip.Addr
	for _, a := range ips {
		if a.IsValid() && !a.IsUnspecified() {
			dst = append(dst, a)
		}
	}
	ports := []uint16{1, 2, 21, 22, 23, 52, 53, 54, 79, 80, 81, 442, 443, 444, 999, 1000, 1001, 65534, 65535}
	pick := func(vals []string) []string {
		out := []string{}
		for _, s := range vals {
			if r.n(2) == 0 {
				out = append(out, s)
			}
		}
		return out
	}
	strs := func() []string {
		var out []string
		for _, s := range genStrs {
			if r.n(2) == 0 {
				out = append(out, s)
			}
		}
		if out == nil {
			out = []string{}
		}
		return out
	}
	ints := func() []int64 {
		out := []int64{}
		for _, x := range []int64{0, 1, 4, 5, 6, 7, 9, 10} {
			if r.n(3) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	var flows []*engine.Flow
	for i := 0; i < n; i++ {
		f := &engine.Flow{
			SourceIP:            ips[(i*7+r.n(len(ips)))%len(ips)],
			SourcePort:          ports[r.n(len(ports))],
			SourceCountry:       "JP",
			SourceContinent:     "AS",
			IngressColo:         "NRT",
			DestinationIP:       dst[(i+r.n(len(dst)))%len(dst)],
			DestinationPort:     ports[(i+r.n(len(ports)))%len(ports)],
			Protocol:            []string{"tcp", "udp"}[r.n(2)],
			DstCountry:          genCtry[r.n(3)],
			DstContinent:        "AS",
			VirtualNetworkID:    "v",
			ProxyEndpoint:       "p",
			FQDNHost:            []string{"a.example", "b.example", "c"}[r.n(3)],
			FQDNDomains:         strs(),
			ContentCategories:   ints(),
			AppIDs:              ints(),
			Email:               genStrs[r.n(3)],
			Name:                "n",
			SAMLAttributes:      map[string][]string{"k1": strs(), "k2": strs()},
			PostureChecks:       strs(),
			InternalSourceIP:    ips[r.n(len(ips))],
			OIDCClaims:          pick(genClaims),
			FailedPostureChecks: strs(),
			OnrampType:          genRamps[r.n(3)],
		}
		if !f.SourceIP.IsValid() {
			f.SourceIP = netip.MustParseAddr("10.0.0.1")
		}
		if !f.InternalSourceIP.IsValid() {
			f.InternalSourceIP = netip.MustParseAddr("10.0.0.1")
		}
		for _, n := range strs() {
			f.Groups = append(f.Groups, engine.Group{ID: "id-" + n, Name: n, Email: n + "@g"})
		}
		if f.Groups == nil {
			f.Groups = []engine.Group{}
		}
		flows = append(flows, f)
	}
	return flows
}

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
	for _, s := range []string{"", "\x00\x01\x02", "\x01\x03\x04\x00\x05", "\x00\x02\x0b\x03\x01\x10\x05", "\x02\x00\x08\x01\x0a\x00\x03\x04", "\x01\x01\x0c\x00\x0d\x01\x02\x03\x04\x05\x06"} {
		f.Add([]byte(s))
	}
}

func FuzzCovers(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &rnd{b: data}
		a := NewAnalyzer()
		A, okA := compileBoth(t, a, genExpr(r, 3))
		B, okB := compileBoth(t, a, genExpr(r, 3))
		if !okA || !okB {
			return
		}
		flows := genFlows(r, 150)
		checkMembership(t, A, flows)
		checkMembership(t, B, flows)
		cov := a.Covers(A.set, B.set)
		emptyB := a.IsEmpty(B.set)
		a.noWitness = true
		if exact := a.Covers(A.set, B.set); exact != cov && exact != engine.Unknown && cov != engine.Unknown {
			t.Fatalf("Covers(%q ⊇ %q): %v with witnesses, %v by subtraction alone", A.src, B.src, cov, exact)
		}
		a.noWitness = false
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

// FuzzLintOrder: shadowed and redundant findings agree with brute-force
// first-match evaluation.
func FuzzLintOrder(f *testing.F) {
	fuzzSeeds(f)
	egresses := []opt{nrt, kix, dflt}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &rnd{b: data}
		n := 2 + r.n(4)
		var ps, truths []Policy // what Lint sees, and the truth
		var ms []engine.Matcher
		for i := 0; i < n; i++ {
			src := genExpr(r, 2)
			p, err := expr.CompilePolicy(src, "", "")
			if err != nil {
				return
			}
			e := egresses[r.n(3)]
			if r.n(6) == 0 {
				e = ded("203.0.113.1", "2001:db8:1::/64", "") // the no-match egress with one IP
			}
			truth := pol(fmt.Sprint("p", i), src, e)
			if r.n(8) == 0 {
				truth.Enabled = false
			}
			seen := truth
			switch r.n(10) {
			case 0:
				seen.TrafficKnown, seen.Traffic = false, ""
			case 1:
				seen.EnabledKnown, seen.Enabled = false, false
			case 2:
				seen.FallbackKnown, seen.IPv4Fallback = false, ""
			}
			ps, truths = append(ps, seen), append(truths, truth)
			ms = append(ms, p)
		}
		inv := testInv
		if r.n(3) == 0 {
			inv = testInv[:1]
		}
		in := Input{Policies: ps, Inventory: inv, InventoryKnown: true}
		fs := Lint(in)
		in.noWitness = true
		if a, b := summary(fs), summary(Lint(in)); !slices.Equal(a, b) {
			t.Fatalf("findings with witnesses %q, by subtraction alone %q\n%s", a, b, srcs(ps))
		}
		in.noWitness = false
		flows := genFlows(r, 200)
		// decide returns the index of the first matching policy (skipping
		// skip), -1 for no match, -2 when a match is Unknown.
		decide := func(fl *engine.Flow, skip int) int {
			for i, m := range ms {
				if i == skip || !truths[i].Enabled {
					continue
				}
				switch t, _ := m.Match(fl); t {
				case engine.Yes:
					return i
				case engine.Unknown:
					return -2
				}
			}
			return -1
		}
		l := &linter{in: Input{Policies: truths, Inventory: inv, InventoryKnown: true}}
		l.egress = make([]egressKey, len(ps))
		for i := range ps {
			l.egressRules(i)
		}
		l.out = nil
		noMatch := l.noMatchEgress()
		key := func(i int) egressKey {
			if i == -1 {
				return noMatch
			}
			return l.egress[i]
		}
		for _, fd := range fs {
			switch fd.Rule {
			case RuleShadowed:
				for _, fl := range flows {
					if decide(fl, -1) == fd.Index {
						t.Fatalf("policy %d reported shadowed (%s) but decides flow %+v\n%s", fd.Index, fd.Message, *fl, srcs(ps))
					}
				}
			case RuleCatchAllNotLast:
				for _, fl := range flows {
					if m, _ := ms[fd.Index].Match(fl); m == engine.No && !fd.Possibly {
						t.Fatalf("policy %d reported a catch-all but does not match %+v\n%s", fd.Index, *fl, srcs(ps))
					}
				}
			case RuleRedundant:
				for _, fl := range flows {
					with, without := decide(fl, -1), decide(fl, fd.Index)
					if with != fd.Index || without == -2 {
						continue
					}
					if !key(with).same(key(without)) {
						t.Fatalf("policy %d reported redundant (%s) but flow %+v goes to %d instead\n%s", fd.Index, fd.Message, *fl, without, srcs(ps))
					}
				}
			}
		}
	})
}

func srcs(ps []Policy) string {
	var b strings.Builder
	for i, p := range ps {
		fmt.Fprintf(&b, "  #%d %s %s %s\n", i, p.Method, p.IPv4, p.Traffic)
	}
	return b.String()
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
	for iter := 0; iter < 800; iter++ {
		data := make([]byte, 64)
		for i := range data {
			data[i] = next()
		}
		r := &rnd{b: data}
		a := NewAnalyzer()
		A, okA := compileBoth(t, a, genExpr(r, 3))
		B, okB := compileBoth(t, a, genExpr(r, 3))
		if !okA || !okB {
			continue
		}
		flows := genFlows(r, 100)
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
		a.noWitness = true
		if exact := a.Covers(A.set, B.set); exact != cov {
			t.Fatalf("Covers(%q ⊇ %q): %v with witnesses, %v by subtraction alone", A.src, B.src, cov, exact)
		}
		a.noWitness = false
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
