package expr

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

func ipr(from, to string) engine.IPRange {
	return engine.IPRange{From: netip.MustParseAddr(from), To: netip.MustParseAddr(to)}
}

// ports builds port ranges from (from, to) pairs; ports() is the empty, non-nil list.
func ports(b ...uint16) []engine.PortRange {
	out := []engine.PortRange{}
	for i := 0; i+1 < len(b); i += 2 {
		out = append(out, engine.PortRange{From: b[i], To: b[i+1]})
	}
	return out
}

const v6max = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

func TestHintsTight(t *testing.T) {
	allButZero := []engine.IPRange{ipr("0.0.0.1", "255.255.255.255"), ipr("::", v6max)}
	cases := []struct {
		traffic, identity string
		want              engine.Hints
	}{
		{`net.dst.ip in {10.0.0.0/8}`, ``, engine.Hints{DstIPs: []engine.IPRange{ipr("10.0.0.0", "10.255.255.255")}}},
		{`net.dst.ip in {10.0.0.0/8 10.1.0.0/16 11.0.0.0/8 2001:db8::/32}`, ``, engine.Hints{DstIPs: []engine.IPRange{ipr("10.0.0.0", "11.255.255.255"), ipr("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")}}},
		{`net.dst.ip == 192.0.2.1`, ``, engine.Hints{DstIPs: []engine.IPRange{ipr("192.0.2.1", "192.0.2.1")}}},
		{`net.dst.port in {443 80}`, ``, engine.Hints{DstPorts: ports(80, 80, 443, 443)}},
		{`net.dst.port in {8000..8999 9000}`, ``, engine.Hints{DstPorts: ports(8000, 9000)}},
		{`net.protocol == "tcp"`, ``, engine.Hints{Protocols: []string{"tcp"}}},
		{`net.protocol in {"udp" "tcp"}`, ``, engine.Hints{Protocols: []string{"tcp", "udp"}}},
		{`net.dst.ip in {10.0.0.0/8} and net.dst.port == 443 and net.protocol == "tcp"`, `identity.email == "a"`,
			engine.Hints{DstIPs: []engine.IPRange{ipr("10.0.0.0", "10.255.255.255")}, DstPorts: ports(443, 443), Protocols: []string{"tcp"},
				Keys: map[string][]string{"identity.email": {"a"}}}},
		{`net.dst.ip != 0.0.0.0`, ``, engine.Hints{DstIPs: allButZero}},
		{`net.dst.port == 80 or net.dst.port == 443`, ``, engine.Hints{DstPorts: ports(80, 80, 443, 443)}},
		{`net.dst.port == 80 or identity.email == "x"`, ``, engine.Hints{}},
		{`(net.dst.port == 80 and net.protocol == "tcp") or (net.dst.port == 53 and net.protocol == "udp")`, ``,
			engine.Hints{DstPorts: ports(53, 53, 80, 80), Protocols: []string{"tcp", "udp"}}},
		{`not(net.dst.port == 80)`, ``, engine.Hints{DstPorts: ports(0, 79, 81, 65535)}},
		{`net.dst.port != 80`, ``, engine.Hints{DstPorts: ports(0, 79, 81, 65535)}},
		{`not(net.dst.port != 80)`, ``, engine.Hints{DstPorts: ports(80, 80)}},
		{`not(net.dst.port == 80 or net.dst.port == 81)`, ``, engine.Hints{DstPorts: ports(0, 79, 82, 65535)}},
		{`not(net.dst.port == 80 and net.protocol == "tcp")`, ``, engine.Hints{}},
		{`not(net.protocol == "tcp")`, ``, engine.Hints{}},
		{`net.protocol != "tcp"`, ``, engine.Hints{}},
		{`net.dst.port > 1000 and net.dst.port <= 2000`, ``, engine.Hints{DstPorts: ports(1001, 2000)}},
		{`net.dst.port in {80} and net.dst.port in {443}`, ``, engine.Hints{DstPorts: ports()}},
		{`net.protocol == "tcp" and net.protocol == "udp"`, ``, engine.Hints{Protocols: []string{}}},
		{`net.dst.ip < 0.0.0.1`, ``, engine.Hints{DstIPs: []engine.IPRange{ipr("0.0.0.0", "0.0.0.0")}}},
		{`net.dst.ip >= 2001:db8::`, ``, engine.Hints{DstIPs: []engine.IPRange{ipr("2001:db8::", v6max)}}},
		{`net.dst.ip in $0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4 and net.dst.port == 1`, ``, engine.Hints{DstPorts: ports(1, 1)}},
		{`any(net.src.ip[*] in {10.0.0.0/8})`, ``, engine.Hints{}},
		{`net.protocol in {"tcp" "udp"}`, ``, engine.Hints{Protocols: []string{"tcp", "udp"}}},
	}
	for _, tc := range cases {
		p, err := CompilePolicy(tc.traffic, tc.identity, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.traffic, err)
		}
		if got := p.Hints(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Hints(%s)\n got %+v\nwant %+v", tc.traffic, got, tc.want)
		}
	}
}

// ---- random expressions and flows ----

var (
	randIPs = []string{"0.0.0.0", "0.0.0.1", "9.255.255.255", "10.0.0.0", "10.0.0.1", "10.1.2.3", "10.255.255.255", "11.0.0.0",
		"192.0.2.1", "192.0.2.255", "203.0.113.10", "255.255.255.255", "::", "::1", "2001:db8::", "2001:db8::1", "2001:db9::", v6max}
	randCIDRs = []string{"10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/24", "0.0.0.0/0", "203.0.113.0/25", "2001:db8::/32", "::/0", "0.0.0.0/32"}
	randPorts = []uint16{0, 1, 22, 53, 79, 80, 81, 443, 8000, 8500, 8999, 9000, 65535}
	randProto = []string{"tcp", "udp", "", "TCP"}
	cmpOps    = []string{"==", "!=", "<", "<=", ">", ">="}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// String fields for the Keys part: scalar and array fields of
// engine.KeyHintFields, values with case variants (comparison is byte for
// byte, so "jp" never matches "JP").
var (
	randKeyScalars = []struct {
		field string
		vals  []string
	}{
		{"net.src.geo.country", []string{"JP", "US", "jp"}},
		{"identity.email", []string{"a", "b", "A"}},
		{"net.fqdn.host", []string{"x.example", "y.example"}},
	}
	randKeyArrays = []struct {
		field, wild string
		vals        []string
	}{
		{"net.fqdn.domains", "net.fqdn.domains[*]", []string{"d1", "d2", "D1", "d3"}},
		{"identity.groups.name", "identity.groups[*].name", []string{"g1", "g2", "G1", "g3"}},
	}
)

func randStrSet(r *rand.Rand, vals []string) string {
	var el []string
	for i := r.IntN(3) + 1; i > 0; i-- {
		el = append(el, fmt.Sprintf("%q", pick(r, vals)))
	}
	return "{" + strings.Join(el, " ") + "}"
}

// randKeyLeaf is a condition on a string key field, in every form the
// language has: ==, !=, in, matches, $list, any(...), f[*], f in {...}.
func randKeyLeaf(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		k := pick(r, randKeyScalars)
		field := k.field
		if r.IntN(6) == 0 {
			field += "[*]" // a scalar field written as a one-element array
		}
		switch r.IntN(6) {
		case 0, 1:
			return fmt.Sprintf("%s == %q", field, pick(r, k.vals))
		case 2:
			return fmt.Sprintf("%s != %q", field, pick(r, k.vals))
		case 3, 4:
			return field + " in " + randStrSet(r, k.vals)
		default:
			return fmt.Sprintf("%s matches %q", field, "^"+pick(r, k.vals)[:1])
		}
	}
	k := pick(r, randKeyArrays)
	var body string
	switch r.IntN(6) {
	case 0, 1:
		body = fmt.Sprintf("%s == %q", k.wild, pick(r, k.vals))
	case 2:
		body = fmt.Sprintf("%s != %q", k.wild, pick(r, k.vals))
	case 3:
		body = k.wild + " in " + randStrSet(r, k.vals)
	case 4:
		return k.field + " in " + randStrSet(r, k.vals) // the array form without [*]
	default:
		body = fmt.Sprintf("%s matches %q", k.wild, pick(r, k.vals)[1:]+"$")
	}
	switch r.IntN(5) {
	case 0:
		return body // f[*] op v outside any(...)
	case 1:
		return "any(not(" + body + "))" // some element fails it
	}
	return "any(" + body + ")"
}

// randIPRange is an IP range lo..hi of randIPs, lo <= hi, one family.
func randIPRange(r *rand.Rand) string {
	for {
		a, b := netip.MustParseAddr(pick(r, randIPs)), netip.MustParseAddr(pick(r, randIPs))
		if a.BitLen() != b.BitLen() {
			continue
		}
		if b.Less(a) {
			a, b = b, a
		}
		return a.String() + ".." + b.String()
	}
}

func randLeaf(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return randKeyLeaf(r)
	}
	switch r.IntN(9) {
	case 0:
		return fmt.Sprintf("net.dst.ip %s %s", pick(r, cmpOps), pick(r, randIPs))
	case 1:
		op := "=="
		if r.IntN(2) == 0 {
			op = "!="
		}
		return fmt.Sprintf("net.dst.ip %s %s", op, pick(r, randCIDRs))
	case 2:
		var el []string
		for i := r.IntN(3) + 1; i > 0; i-- {
			switch r.IntN(3) {
			case 0:
				el = append(el, pick(r, randIPs))
			case 1:
				el = append(el, pick(r, randCIDRs))
			default:
				el = append(el, randIPRange(r))
			}
		}
		set := "net.dst.ip in {" + strings.Join(el, " ") + "}"
		if r.IntN(4) == 0 {
			// a scalar as a one-element array, negated inside any(...)
			return "any(not(net.dst.ip[*] in {" + strings.Join(el, " ") + "}))"
		}
		return set
	case 3:
		return fmt.Sprintf("net.dst.port %s %d", pick(r, cmpOps), pick(r, randPorts))
	case 4:
		var el []string
		for i := r.IntN(3) + 1; i > 0; i-- {
			lo := pick(r, randPorts)
			if r.IntN(2) == 0 {
				hi := pick(r, randPorts)
				if hi < lo {
					lo, hi = hi, lo
				}
				el = append(el, fmt.Sprintf("%d..%d", lo, hi))
			} else {
				el = append(el, fmt.Sprint(lo))
			}
		}
		return "net.dst.port in {" + strings.Join(el, " ") + "}"
	case 5:
		return fmt.Sprintf("net.protocol %s %q", pick(r, []string{"==", "!="}), pick(r, []string{"tcp", "udp", "TCP"}))
	case 6:
		return `net.protocol in {"tcp" "udp"}`
	case 7:
		return fmt.Sprintf("identity.email == %q", pick(r, []string{"a", "b"}))
	default:
		return "net.fqdn.host in $01302951-49f9-47c9-a400-0297e60b6a10"
	}
}

func randExpr(r *rand.Rand, depth int) string { return randExprOf(r, depth, randLeaf) }

func randExprOf(r *rand.Rand, depth int, leaf func(*rand.Rand) string) string {
	if depth == 0 || r.IntN(3) == 0 {
		return leaf(r)
	}
	switch r.IntN(3) {
	case 0:
		return "not(" + randExprOf(r, depth-1, leaf) + ")"
	case 1:
		return "(" + randExprOf(r, depth-1, leaf) + " and " + randExprOf(r, depth-1, leaf) + ")"
	default:
		return "(" + randExprOf(r, depth-1, leaf) + " or " + randExprOf(r, depth-1, leaf) + ")"
	}
}

func randFlow(r *rand.Rand) engine.Flow {
	f := baseFlow()
	f.DestinationIP = netip.MustParseAddr(pick(r, randIPs))
	if r.IntN(4) == 0 { // perturb around the universe to hit range edges
		if r.IntN(2) == 0 {
			f.DestinationIP = f.DestinationIP.Next()
		} else {
			f.DestinationIP = f.DestinationIP.Prev()
		}
		if !f.DestinationIP.IsValid() {
			f.DestinationIP = netip.MustParseAddr("10.0.0.0")
		}
	}
	f.DestinationPort = pick(r, randPorts)
	if r.IntN(5) == 0 {
		f.DestinationPort = uint16(r.IntN(65536))
	}
	f.Protocol = pick(r, randProto)
	f.Email = pick(r, []string{"a", "b", "A", ""})
	f.SourceCountry = pick(r, []string{"JP", "US", "jp", "MX", ""})
	f.FQDNHost = pick(r, []string{"x.example", "y.example", ""})
	f.FQDNDomains = randStrs(r, randKeyArrays[0].vals)
	f.Groups = nil
	if gs := randStrs(r, randKeyArrays[1].vals); gs != nil {
		f.Groups = []engine.Group{}
		for _, g := range gs {
			f.Groups = append(f.Groups, engine.Group{ID: "id-" + g, Name: g})
		}
	}
	return f
}

// randStrs is a nil (missing), empty or 1-3 element array.
func randStrs(r *rand.Rand, vals []string) []string {
	switch r.IntN(5) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	var out []string
	for i := r.IntN(3) + 1; i > 0; i-- {
		out = append(out, pick(r, vals))
	}
	return out
}

// refEval is an independent AST interpreter (no compiled sets) used to
// cross-check the compiled evaluator.
func refEval(n Node, f *engine.Flow) (engine.Tri, string) {
	switch n := n.(type) {
	case nil:
		return engine.Yes, ""
	case *And:
		res, miss := engine.Yes, ""
		for _, x := range n.X {
			t, m := refEval(x, f)
			if t == engine.No {
				return engine.No, ""
			}
			if t == engine.Unknown && res == engine.Yes {
				res, miss = t, m
			}
		}
		return res, miss
	case *Or:
		res, miss := engine.No, ""
		for _, x := range n.X {
			t, m := refEval(x, f)
			if t == engine.Yes {
				return engine.Yes, ""
			}
			if t == engine.Unknown && res == engine.No {
				res, miss = t, m
			}
		}
		return res, miss
	case *Not:
		t, m := refEval(n.X, f)
		switch t {
		case engine.Yes:
			return engine.No, ""
		case engine.No:
			return engine.Yes, ""
		}
		return t, m
	case *InList:
		return engine.Unknown, "$" + n.ListID + " (Gateway list)"
	case *Any:
		body, negated := AnyBody(n)
		if !negated {
			return refEval(body, f)
		}
		// any(not(c)): some element fails c; a scalar field is one element.
		field := bodyField(body).Name
		xs, array, ok := refValues(field, f)
		if !ok {
			return engine.Unknown, field
		}
		if !array {
			t, m := refEval(body, f)
			if t == engine.Unknown {
				return t, m
			}
			return tri(t == engine.No), ""
		}
		for _, x := range xs {
			var pass bool
			switch b := body.(type) {
			case *In:
				pass, _ = refCompareBool(x, b.Set, OpEq)
			case *Compare:
				pass, _ = refCompareBool(x, []Value{b.Value}, b.Op)
			case *Matches:
				pass = regexp.MustCompile(b.Regex).MatchString(refStr(x))
			}
			if !pass {
				return engine.Yes, ""
			}
		}
		return engine.No, ""
	case *Matches:
		re := regexp.MustCompile(n.Regex)
		xs, array, ok := refValues(n.Field.Name, f)
		if !ok {
			return engine.Unknown, n.Field.Name
		}
		if !array {
			return tri(re.MatchString(refStr(xs[0]))), ""
		}
		for _, x := range xs {
			if re.MatchString(refStr(x)) {
				return engine.Yes, ""
			}
		}
		return engine.No, ""
	case *In:
		return refLeaf(n.Field.Name, f, func(v Value, x any) bool { return refEq(v, x) }, n.Set, OpEq)
	case *Compare:
		return refLeaf(n.Field.Name, f, nil, []Value{n.Value}, n.Op)
	}
	panic(fmt.Sprintf("refEval: %T", n))
}

// refCompareBool is refCompare as a bool.
func refCompareBool(x any, vals []Value, op Op) (bool, string) {
	t, m := refCompare(x, vals, op)
	return t == engine.Yes, m
}

func refEq(v Value, x any) bool {
	switch x := x.(type) {
	case netip.Addr:
		if v.Kind == VCIDR {
			return v.Prefix.Contains(x)
		}
		if v.Kind == VIPRange {
			return x.BitLen() == v.IP.BitLen() && v.IP.Compare(x) <= 0 && x.Compare(v.IPHi) <= 0
		}
		return v.IP == x
	case int64:
		if v.Kind == VRange {
			return v.Lo <= x && x <= v.Hi
		}
		return v.Int == x
	case string:
		return v.Str == x
	}
	return false
}

// refValues returns the flow's value(s) of field: one for a scalar field,
// the elements for an array field; ok false when the flow lacks the field.
func refValues(field string, f *engine.Flow) (xs []any, array, ok bool) {
	str := func(s string) ([]any, bool, bool) { return []any{s}, false, s != "" }
	switch field {
	case "net.dst.ip":
		return []any{f.DestinationIP.Unmap()}, false, f.DestinationIP.IsValid()
	case "net.dst.port":
		return []any{int64(f.DestinationPort)}, false, f.DestinationPort != 0
	case "net.protocol":
		return str(f.Protocol)
	case "identity.email":
		return str(f.Email)
	case "net.src.geo.country":
		return str(f.SourceCountry)
	case "net.fqdn.host":
		return str(f.FQDNHost)
	case "net.fqdn.domains":
		for _, d := range f.FQDNDomains {
			xs = append(xs, d)
		}
		return xs, true, f.FQDNDomains != nil
	case "identity.groups.name":
		for _, g := range f.Groups {
			xs = append(xs, g.Name)
		}
		return xs, true, f.Groups != nil
	}
	panic(field)
}

// refStr is x, a value of a string field, as a string. Like refValues with
// an unknown field, the reference evaluator panics on anything else.
func refStr(x any) string {
	s, ok := x.(string)
	if !ok {
		panic(fmt.Sprintf("reference evaluator: %T value %v where a string is expected", x, x))
	}
	return s
}

func refLeaf(field string, f *engine.Flow, _ func(Value, any) bool, vals []Value, op Op) (engine.Tri, string) {
	xs, array, ok := refValues(field, f)
	if !ok {
		return engine.Unknown, field
	}
	if array { // some element satisfies the comparison
		for _, x := range xs {
			if t, _ := refCompare(x, vals, op); t == engine.Yes {
				return engine.Yes, ""
			}
		}
		return engine.No, ""
	}
	return refCompare(xs[0], vals, op)
}

func refCompare(x any, vals []Value, op Op) (engine.Tri, string) {
	found := false
	for _, v := range vals {
		if refEq(v, x) {
			found = true
		}
	}
	switch op {
	case OpEq:
		return tri(found), ""
	case OpNe:
		return tri(!found), ""
	}
	// ordering: one value
	v := vals[0]
	var c int
	switch x := x.(type) {
	case netip.Addr:
		if x.BitLen() != v.IP.BitLen() {
			return engine.No, ""
		}
		c = x.Compare(v.IP)
	case int64:
		c = 0
		if x < v.Int {
			c = -1
		} else if x > v.Int {
			c = 1
		}
	}
	switch op {
	case OpLt:
		return tri(c < 0), ""
	case OpLe:
		return tri(c <= 0), ""
	case OpGt:
		return tri(c > 0), ""
	}
	return tri(c >= 0), ""
}

func ipIn(rs []engine.IPRange, a netip.Addr) bool {
	for _, r := range rs {
		if r.From.BitLen() == a.BitLen() && r.From.Compare(a) <= 0 && a.Compare(r.To) <= 0 {
			return true
		}
	}
	return false
}

func portIn(rs []engine.PortRange, p uint16) bool {
	for _, r := range rs {
		if r.From <= p && p <= r.To {
			return true
		}
	}
	return false
}

// TestHintsSoundAndEvalAgrees: for random expressions and flows, every flow
// that matches (Yes or Unknown) and carries the field lies inside the hints,
// and the compiled evaluator agrees with the reference interpreter.
func TestHintsSoundAndEvalAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	exprs, flows := 3000, 60
	if testing.Short() {
		exprs = 300
	}
	matched, pruned := 0, 0
	for i := 0; i < exprs; i++ {
		src := randExpr(r, 3)
		if i%3 == 2 { // string key fields only: more conditions on one field
			src = randExprOf(r, 3, randKeyLeaf)
		}
		n, err := ParseAndCheck(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		p, err := Compile(n)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		h := p.Hints()
		for j := 0; j < flows; j++ {
			f := randFlow(r)
			got, miss := p.Match(&f)
			want, wmiss := refEval(n, &f)
			if got != want || miss != wmiss {
				t.Fatalf("%s on dst=%v port=%d proto=%q email=%q: compiled (%v,%q), reference (%v,%q)",
					src, f.DestinationIP, f.DestinationPort, f.Protocol, f.Email, got, miss, want, wmiss)
			}
			if got == engine.No {
				continue
			}
			matched++
			if h.DstIPs != nil && !ipIn(h.DstIPs, f.DestinationIP) {
				t.Fatalf("%s: flow dst %v matches (%v) but is outside DstIPs hint %v", src, f.DestinationIP, got, h.DstIPs)
			}
			if h.DstPorts != nil && f.DestinationPort != 0 && !portIn(h.DstPorts, f.DestinationPort) {
				t.Fatalf("%s: flow port %d matches (%v) but is outside DstPorts hint %v", src, f.DestinationPort, got, h.DstPorts)
			}
			if h.Protocols != nil && f.Protocol != "" && !contains(strings.Join(h.Protocols, ","), f.Protocol) {
				t.Fatalf("%s: flow protocol %q matches (%v) but is outside Protocols hint %v", src, f.Protocol, got, h.Protocols)
			}
			for field, list := range h.Keys {
				xs, _, carried := refValues(field, &f)
				if !carried {
					continue // the index does not narrow by a field the flow lacks
				}
				in := false
				for _, x := range xs {
					s, ok := x.(string)
					if !ok {
						t.Fatalf("%s: Keys hint on %s, whose value %v is a %T, not a string", src, field, x, x)
					}
					in = in || slices.Contains(list, s)
				}
				if !in {
					t.Fatalf("%s: flow %s=%v matches (%v) but no value is in the Keys hint %q", src, field, xs, got, list)
				}
			}
		}
		// Keys prune: count the carried-field samples a key hint rules out
		// (the evaluator must say No for all of them, checked above).
		for j := 0; j < 5; j++ {
			f := randFlow(r)
			for field, list := range h.Keys {
				xs, _, carried := refValues(field, &f)
				in := false
				for _, x := range xs {
					s, ok := x.(string)
					if !ok {
						t.Fatalf("Keys hint on %s, whose value %v is a %T, not a string", field, x, x)
					}
					in = in || slices.Contains(list, s)
				}
				if carried && !in {
					pruned++
				}
			}
		}
	}
	if matched < exprs*flows/10 {
		t.Errorf("only %d matching samples: generator too narrow", matched)
	}
	if pruned < exprs/10 {
		t.Errorf("Keys ruled out only %d samples: key hints too weak or generator too narrow", pruned)
	}
	t.Logf("%d matching samples, %d samples ruled out by Keys", matched, pruned)
}
