package expr

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// Program is a policy's compiled traffic AND identity AND device_posture
// expressions. It implements engine.Matcher and engine.Hinter. Match does not
// re-parse and does not allocate.
type Program struct {
	root   evaluator // nil: no constraint, matches every flow
	expr   Node      // the checked AST of the three expressions ANDed (nil = true)
	hints  engine.Hints
	fields []string
}

var (
	_ engine.Matcher = (*Program)(nil)
	_ engine.Hinter  = (*Program)(nil)
)

// CompilePolicy parses, checks and compiles a policy's three expressions.
// An empty expression is "true". Errors name the expression
// ("traffic: 1:5: ...") and wrap the *Error.
func CompilePolicy(traffic, identity, posture string) (*Program, error) {
	var parts []Node
	for _, e := range []struct{ name, src string }{
		{"traffic", traffic}, {"identity", identity}, {"device_posture", posture},
	} {
		n, err := ParseAndCheck(e.src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if n != nil {
			parts = append(parts, n)
		}
	}
	var root Node
	switch len(parts) {
	case 0:
	case 1:
		root = parts[0]
	default:
		root = &And{P: parts[0].Position(), X: flatten(parts, false)}
	}
	return Compile(root)
}

// Compile compiles a checked expression (nil = match everything).
func Compile(n Node) (*Program, error) {
	p := &Program{expr: n, fields: Fields(n)}
	if n == nil {
		return p, nil
	}
	ev, err := compile(n, false)
	if err != nil {
		return nil, err
	}
	p.root = ev
	p.hints = hintsOf(n)
	return p, nil
}

// Match implements engine.Matcher with Kleene logic: a condition on a field
// the flow does not carry is Unknown (missing names the field; a $list
// reference is always Unknown with missing "$<uuid> (Gateway list)", since
// list contents live in Cloudflare). "false and unknown" is false, "true or
// unknown" is true, not(unknown) is unknown.
func (p *Program) Match(f *engine.Flow) (engine.Tri, string) {
	if p.root == nil {
		return engine.Yes, ""
	}
	return p.root.eval(f)
}

// Hints implements engine.Hinter: conservative supersets of the destination
// IPs, destination ports, protocols and string-field values (Keys, for the
// engine.KeyHintFields fields; see hints_keys.go) of the flows that can
// match (Yes or Unknown). A nil field means "any". The hints assume the flow
// carries the field: an index must not skip a policy for a flow whose
// destination port, protocol or string field is missing (port 0, protocol
// "", empty string, nil array), since such a flow's match can be Unknown.
//
// Each call returns fresh copies, so a caller may keep or change them.
func (p *Program) Hints() engine.Hints {
	h := engine.Hints{
		DstIPs:    slices.Clone(p.hints.DstIPs),
		DstPorts:  slices.Clone(p.hints.DstPorts),
		Protocols: slices.Clone(p.hints.Protocols),
	}
	if p.hints.Keys != nil {
		h.Keys = make(map[string][]string, len(p.hints.Keys))
		for name, vs := range p.hints.Keys {
			h.Keys[name] = append([]string{}, vs...)
		}
	}
	return h
}

// Expr returns the checked AST the program was compiled from: the three
// expressions ANDed, nil when all were empty.
func (p *Program) Expr() Node { return p.expr }

// Fields returns the fields the program reads, sorted.
func (p *Program) Fields() []string { return p.fields }

type evaluator interface {
	eval(f *engine.Flow) (engine.Tri, string)
}

type andEval []evaluator

func (a andEval) eval(f *engine.Flow) (engine.Tri, string) {
	res, missing := engine.Yes, ""
	for _, x := range a {
		t, m := x.eval(f)
		switch t {
		case engine.No:
			return engine.No, ""
		case engine.Unknown:
			if res != engine.Unknown {
				res, missing = engine.Unknown, m
			}
		}
	}
	return res, missing
}

type orEval []evaluator

func (o orEval) eval(f *engine.Flow) (engine.Tri, string) {
	res, missing := engine.No, ""
	for _, x := range o {
		t, m := x.eval(f)
		switch t {
		case engine.Yes:
			return engine.Yes, ""
		case engine.Unknown:
			if res != engine.Unknown {
				res, missing = engine.Unknown, m
			}
		}
	}
	return res, missing
}

type notEval struct{ x evaluator }

func (n notEval) eval(f *engine.Flow) (engine.Tri, string) {
	t, m := n.x.eval(f)
	switch t {
	case engine.Yes:
		return engine.No, ""
	case engine.No:
		return engine.Yes, ""
	}
	return t, m
}

type constEval struct {
	t       engine.Tri
	missing string
}

func (c constEval) eval(*engine.Flow) (engine.Tri, string) { return c.t, c.missing }

func tri(b bool) engine.Tri {
	if b {
		return engine.Yes
	}
	return engine.No
}

// ---- field access ----

type fieldID uint8

const (
	fDstIP fieldID = iota
	fSrcIP
	fInternalSrcIP
	fDstPort
	fSrcPort
	fProtocol
	fDstCountry
	fDstContinent
	fSrcCountry
	fSrcContinent
	fVnet
	fProxyEndpoint
	fFQDNHost
	fEmail
	fName
	fDomains
	fGroupID
	fGroupName
	fGroupEmail
	fSAML
	fPosture
	fContentCategory
	fAppIDs
	fOIDCClaims
	fPostureFailed
	fOnramp
)

var fieldIDs = map[string]fieldID{
	"net.dst.ip":                   fDstIP,
	"net.src.ip":                   fSrcIP,
	"net.src.internal_src_ip":      fInternalSrcIP,
	"net.dst.port":                 fDstPort,
	"net.src.port":                 fSrcPort,
	"net.protocol":                 fProtocol,
	"net.dst.geo.country":          fDstCountry,
	"net.dst.geo.continent":        fDstContinent,
	"net.src.geo.country":          fSrcCountry,
	"net.src.geo.continent":        fSrcContinent,
	"net.vnet_id":                  fVnet,
	"proxy.endpoint":               fProxyEndpoint,
	"net.fqdn.host":                fFQDNHost,
	"identity.email":               fEmail,
	"identity.name":                fName,
	"net.fqdn.domains":             fDomains,
	"identity.groups.id":           fGroupID,
	"identity.groups.name":         fGroupName,
	"identity.groups.email":        fGroupEmail,
	"identity.saml_attributes":     fSAML,
	"device_posture.checks.passed": fPosture,
	"net.fqdn.content_category":    fContentCategory,
	"app.ids":                      fAppIDs,
	"identity.oidc_claims":         fOIDCClaims,
	"device_posture.checks.failed": fPostureFailed,
	"net.onramp.type":              fOnramp,
}

func getIP(id fieldID, f *engine.Flow) netip.Addr {
	switch id {
	case fDstIP:
		return f.DestinationIP
	case fSrcIP:
		return f.SourceIP
	default:
		return f.InternalSourceIP
	}
}

func getPort(id fieldID, f *engine.Flow) uint16 {
	if id == fDstPort {
		return f.DestinationPort
	}
	return f.SourcePort
}

func getString(id fieldID, f *engine.Flow) string {
	switch id {
	case fProtocol:
		return f.Protocol
	case fDstCountry:
		return f.DstCountry
	case fDstContinent:
		return f.DstContinent
	case fSrcCountry:
		return f.SourceCountry
	case fSrcContinent:
		return f.SourceContinent
	case fVnet:
		return f.VirtualNetworkID
	case fProxyEndpoint:
		return f.ProxyEndpoint
	case fFQDNHost:
		return f.FQDNHost
	case fEmail:
		return f.Email
	case fOnramp:
		return f.OnrampType
	default:
		return f.Name
	}
}

func getInts(id fieldID, f *engine.Flow) []int64 {
	if id == fAppIDs {
		return f.AppIDs
	}
	return f.ContentCategories
}

// ---- predicates ----

type intPred struct {
	set intSet
	neg bool
}

func (p *intPred) test(x int64) bool { return p.set.contains(x) != p.neg }

type strPred struct {
	eq    string
	useEq bool
	set   map[string]struct{}
	re    *regexp.Regexp
	neg   bool
}

func (p *strPred) test(s string) bool {
	var r bool
	switch {
	case p.useEq:
		r = s == p.eq
	case p.re != nil:
		r = p.re.MatchString(s)
	default:
		_, r = p.set[s]
	}
	return r != p.neg
}

// ---- leaves ----

type ipLeaf struct {
	id   fieldID
	name string
	set  ipSet
	neg  bool
}

func (l *ipLeaf) eval(f *engine.Flow) (engine.Tri, string) {
	a := getIP(l.id, f)
	if !a.IsValid() {
		return engine.Unknown, l.name
	}
	return tri(l.set.contains(a.Unmap()) != l.neg), ""
}

type portLeaf struct {
	id   fieldID
	name string
	p    intPred
}

func (l *portLeaf) eval(f *engine.Flow) (engine.Tri, string) {
	x := getPort(l.id, f)
	if x == 0 {
		return engine.Unknown, l.name
	}
	return tri(l.p.test(int64(x))), ""
}

type intsLeaf struct {
	id   fieldID
	name string
	p    intPred
}

func (l *intsLeaf) eval(f *engine.Flow) (engine.Tri, string) {
	xs := getInts(l.id, f)
	if xs == nil {
		return engine.Unknown, l.name
	}
	for _, x := range xs {
		if l.p.test(x) {
			return engine.Yes, ""
		}
	}
	return engine.No, ""
}

type strLeaf struct {
	id   fieldID
	name string
	p    strPred
}

func (l *strLeaf) eval(f *engine.Flow) (engine.Tri, string) {
	s := getString(l.id, f)
	if s == "" {
		return engine.Unknown, l.name
	}
	return tri(l.p.test(s)), ""
}

type strsLeaf struct {
	id   fieldID
	name string
	key  string // identity.saml_attributes["key"]
	p    strPred
}

func (l *strsLeaf) eval(f *engine.Flow) (engine.Tri, string) {
	switch l.id {
	case fGroupID, fGroupName, fGroupEmail:
		if f.Groups == nil {
			return engine.Unknown, l.name
		}
		for i := range f.Groups {
			g := &f.Groups[i]
			s := g.Name
			switch l.id {
			case fGroupID:
				s = g.ID
			case fGroupEmail:
				s = g.Email
			}
			if l.p.test(s) {
				return engine.Yes, ""
			}
		}
		return engine.No, ""
	case fSAML:
		if f.SAMLAttributes == nil {
			return engine.Unknown, l.name
		}
		return anyString(f.SAMLAttributes[l.key], &l.p), ""
	}
	var xs []string
	switch l.id {
	case fDomains:
		xs = f.FQDNDomains
	case fOIDCClaims:
		if f.OIDCClaims == nil {
			return engine.Unknown, l.name
		}
		for _, c := range f.OIDCClaims {
			if l.p.test(ClaimValue(c)) {
				return engine.Yes, ""
			}
		}
		return engine.No, ""
	case fPostureFailed:
		xs = f.FailedPostureChecks
	default:
		xs = f.PostureChecks
	}
	if xs == nil {
		return engine.Unknown, l.name
	}
	return anyString(xs, &l.p), ""
}

func anyString(xs []string, p *strPred) engine.Tri {
	for _, s := range xs {
		if p.test(s) {
			return engine.Yes
		}
	}
	return engine.No
}

// samlPairLeaf is the keyless identity.saml_attributes == "name=value" form:
// true when the user has attribute name with that value.
type samlPairLeaf struct {
	pairs map[[2]string]struct{}
	neg   bool
}

func (l *samlPairLeaf) eval(f *engine.Flow) (engine.Tri, string) {
	if f.SAMLAttributes == nil {
		return engine.Unknown, "identity.saml_attributes"
	}
	found := false
	for k, vs := range f.SAMLAttributes {
		for _, v := range vs {
			if _, ok := l.pairs[[2]string{k, v}]; ok {
				found = true
			}
		}
	}
	return tri(found != l.neg), ""
}

// negateElements turns the evaluator of an element comparison c into that
// of any(not(c)): an array leaf matches when some element fails c (an empty
// array matches nothing); a scalar read as a one-element array
// (net.src.ip[*]) is plain negation.
func negateElements(e evaluator) evaluator {
	switch l := e.(type) {
	case *intsLeaf:
		c := *l
		c.p.neg = !c.p.neg
		return &c
	case *strsLeaf:
		c := *l
		c.p.neg = !c.p.neg
		return &c
	}
	return notEval{e}
}

// ClaimValue returns a "name=value" element as the comparison sees it: a
// literal written with its own quotes, as Cloudflare's example
// any(identity.oidc_claims[*] == "\"department=engineering\"") does, means
// department=engineering. One pair of surrounding double quotes is removed.
func ClaimValue(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// ---- compiler ----

func compile(n Node, _ bool) (evaluator, error) {
	switch n := n.(type) {
	case *And:
		out := make(andEval, 0, len(n.X))
		for _, x := range n.X {
			e, err := compile(x, false)
			if err != nil {
				return nil, err
			}
			if sub, ok := e.(andEval); ok {
				out = append(out, sub...)
			} else {
				out = append(out, e)
			}
		}
		return out, nil
	case *Or:
		out := make(orEval, 0, len(n.X))
		for _, x := range n.X {
			e, err := compile(x, false)
			if err != nil {
				return nil, err
			}
			if sub, ok := e.(orEval); ok {
				out = append(out, sub...)
			} else {
				out = append(out, e)
			}
		}
		return out, nil
	case *Not:
		e, err := compile(n.X, false)
		if err != nil {
			return nil, err
		}
		if inner, ok := e.(notEval); ok {
			return inner.x, nil
		}
		return notEval{e}, nil
	case *Any:
		body, negated := AnyBody(n)
		e, err := compile(body, true)
		if err != nil || !negated {
			return e, err
		}
		return negateElements(e), nil
	case *InList:
		return constEval{engine.Unknown, "$" + n.ListID + " (Gateway list)"}, nil
	case *Compare:
		return leaf(n.Field, n.Op, []Value{n.Value}, "", n.P)
	case *In:
		return leaf(n.Field, OpEq, n.Set, "", n.P)
	case *Matches:
		return leaf(n.Field, "", nil, n.Regex, n.P)
	case *Bare:
		return nil, &Error{Pos: n.P, Msg: fmt.Sprintf("%s is not a condition", n.Field.Name)}
	}
	return nil, fmt.Errorf("expr: cannot compile %T", n)
}

// leaf compiles `field op values` (op == for sets) or `field matches re`
// (re != "", op "").
func leaf(fr FieldRef, op Op, vals []Value, re string, pos Pos) (evaluator, error) {
	fi, ok := LookupField(fr.Name)
	id, ok2 := fieldIDs[fr.Name]
	if !ok || !ok2 {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("unknown field %q (run Check first)", fr.Name)}
	}
	name := fi.Name
	if fi.Map && fr.HasKey {
		name = fi.Name + "[" + quote(fr.Key) + "]"
	}
	neg := op == OpNe
	switch fi.Type {
	case TIP:
		set, err := ipSetOf(op, vals, pos)
		if err != nil {
			return nil, err
		}
		return &ipLeaf{id: id, name: name, set: set, neg: neg}, nil
	case TInt:
		set, err := intSetOf(op, vals, pos)
		if err != nil {
			return nil, err
		}
		if fi.Array {
			return &intsLeaf{id: id, name: name, p: intPred{set: set, neg: neg}}, nil
		}
		return &portLeaf{id: id, name: name, p: intPred{set: set, neg: neg}}, nil
	}
	// strings
	var p strPred
	if re != "" || op == "" {
		r, err := regexp.Compile(re)
		if err != nil {
			return nil, &Error{Pos: pos, Msg: "invalid regular expression: " + err.Error()}
		}
		p.re = r
	} else {
		switch op {
		case OpEq, OpNe:
		default:
			return nil, &Error{Pos: pos, Msg: fmt.Sprintf("%s is a string: %s does not apply", fi.Name, op)}
		}
		p.neg = neg
		if fi.Map && !fr.HasKey {
			pairs := map[[2]string]struct{}{}
			for _, v := range vals {
				k, val, ok := samlPair(v.Str)
				if !ok {
					return nil, &Error{Pos: v.P, Msg: `expected "name=value"`}
				}
				pairs[[2]string{k, val}] = struct{}{}
			}
			return &samlPairLeaf{pairs: pairs, neg: neg}, nil
		}
		// Byte for byte, as Gateway compares (net.protocol "TCP" never
		// matches a flow's "tcp"); "name=value" elements (Pairs) without
		// the quotes the literal may carry.
		lit := func(v Value) string {
			if fi.Pairs {
				return ClaimValue(v.Str)
			}
			return v.Str
		}
		if len(vals) == 1 {
			p.useEq, p.eq = true, lit(vals[0])
		} else {
			p.set = make(map[string]struct{}, len(vals))
			for _, v := range vals {
				p.set[lit(v)] = struct{}{}
			}
		}
	}
	if fi.Array {
		key := ""
		if fr.HasKey {
			key = fr.Key
		}
		return &strsLeaf{id: id, name: name, key: key, p: p}, nil
	}
	return &strLeaf{id: id, name: name, p: p}, nil
}

// ipSetOf returns the addresses op/vals selects before negation (!= is == negated).
func ipSetOf(op Op, vals []Value, pos Pos) (ipSet, error) {
	switch op {
	case OpEq, OpNe:
		rs := make([]ipRange, 0, len(vals))
		for _, v := range vals {
			if v.Kind != VIP && v.Kind != VCIDR && v.Kind != VIPRange {
				return nil, &Error{Pos: v.P, Msg: "expected an IP address or CIDR (run Check first)"}
			}
			rs = append(rs, ipBounds(v))
		}
		return normIPs(rs), nil
	}
	if len(vals) != 1 || vals[0].Kind != VIP {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("%s needs one IP address", op)}
	}
	a := vals[0].IP
	fam := familyRange(a)
	var r ipRange
	switch op {
	case OpLt:
		if a == fam.from {
			return ipSet{}, nil
		}
		r = ipRange{fam.from, a.Prev()}
	case OpLe:
		r = ipRange{fam.from, a}
	case OpGt:
		if a == fam.to {
			return ipSet{}, nil
		}
		r = ipRange{a.Next(), fam.to}
	case OpGe:
		r = ipRange{a, fam.to}
	}
	return ipSet{r}, nil
}

func intSetOf(op Op, vals []Value, pos Pos) (intSet, error) {
	switch op {
	case OpEq, OpNe:
		rs := make([]intRange, 0, len(vals))
		for _, v := range vals {
			if v.Kind != VInt && v.Kind != VRange {
				return nil, &Error{Pos: v.P, Msg: "expected a number (run Check first)"}
			}
			lo, hi := intBounds(v)
			rs = append(rs, intRange{lo, hi})
		}
		return normInts(rs), nil
	}
	if len(vals) != 1 || vals[0].Kind != VInt {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("%s needs one number", op)}
	}
	x := vals[0].Int
	switch op {
	case OpLt:
		return normInts([]intRange{{0, x - 1}}), nil
	case OpLe:
		return intSet{{0, x}}, nil
	case OpGt:
		if x == maxInt {
			return intSet{}, nil
		}
		return intSet{{x + 1, maxInt}}, nil
	default: // OpGe
		return intSet{{x, maxInt}}, nil
	}
}

// ---- hints ----

// hint is a superset, per dimension, of the values for which a node can be
// Yes or Unknown (neg=false) or No or Unknown (neg=true). nil = any.
type hint struct {
	ips    ipSet
	ports  intSet
	protos []string // sorted, deduplicated
	keys   keyHints // string fields (hints_keys.go)
}

func hintsOf(n Node) engine.Hints {
	h := hintOf(n, false)
	var out engine.Hints
	if h.ips != nil {
		out.DstIPs = make([]engine.IPRange, len(h.ips))
		for i, r := range h.ips {
			out.DstIPs[i] = engine.IPRange{From: r.from, To: r.to}
		}
	}
	if h.ports != nil {
		out.DstPorts = make([]engine.PortRange, 0, len(h.ports))
		for _, r := range h.ports.intersect(intSet{{0, 65535}}) {
			out.DstPorts = append(out.DstPorts, engine.PortRange{From: uint16(r.lo), To: uint16(r.hi)})
		}
	}
	if h.protos != nil {
		out.Protocols = slices.Clone(h.protos)
	}
	out.Keys = h.keys.engineKeys()
	return out
}

func hintOf(n Node, neg bool) hint {
	switch n := n.(type) {
	case *Not:
		return hintOf(n.X, !neg)
	case *And:
		if neg { // not(a and b) = not a or not b
			return unionHints(n.X, true)
		}
		return intersectHints(n.X, false)
	case *Or:
		if neg {
			return intersectHints(n.X, true)
		}
		return unionHints(n.X, false)
	case *Any:
		body, negated := AnyBody(n)
		if negated {
			if f := bodyField(body); f != nil {
				if fi, ok := LookupField(f.Name); ok && fi.Array {
					// any(not(c)) on an array: Yes when some element fails
					// c, No when every element passes it (an empty array
					// too): no constraint on the elements either way.
					return hint{}
				}
			}
			// A scalar read as a one-element array: any(not(c)) is not(c).
			return hintOf(body, !neg)
		}
		return hintOf(body, neg)
	case *Compare:
		return leafHint(n.Field, n.Op, []Value{n.Value}, neg)
	case *In:
		return leafHint(n.Field, OpEq, n.Set, neg)
	}
	return hint{} // InList, Matches, Bare: any
}

func leafHint(fr FieldRef, op Op, vals []Value, neg bool) hint {
	if _, ok := keyHintField[fr.Name]; ok {
		return hint{keys: keyLeafHint(fr, op, vals, neg)}
	}
	if fr.Name == "net.dst.ip" {
		set, err := ipSetOf(op, vals, Pos{})
		if err != nil {
			return hint{}
		}
		if (op == OpNe) != neg {
			set = set.complement()
		}
		return hint{ips: set}
	}
	if fr.Name == "net.dst.port" {
		set, err := intSetOf(op, vals, Pos{})
		if err != nil {
			return hint{}
		}
		if (op == OpNe) != neg {
			set = set.complement(0, 65535)
		}
		return hint{ports: set.intersect(intSet{{0, 65535}})}
	}
	if fr.Name == "net.protocol" && (op == OpEq || op == OpNe) && (op == OpNe) == neg {
		var ps []string
		for _, v := range vals {
			ps = append(ps, v.Str) // compared byte for byte: "TCP" is no protocol
		}
		slices.Sort(ps)
		return hint{protos: slices.Compact(ps)}
	}
	return hint{}
}

func intersectHints(xs []Node, neg bool) hint {
	var h hint
	for _, x := range xs {
		c := hintOf(x, neg)
		if c.ips != nil {
			if h.ips == nil {
				h.ips = c.ips
			} else {
				h.ips = h.ips.intersect(c.ips)
			}
		}
		if c.ports != nil {
			if h.ports == nil {
				h.ports = c.ports
			} else {
				h.ports = h.ports.intersect(c.ports)
			}
		}
		if c.protos != nil {
			if h.protos == nil {
				h.protos = c.protos
			} else {
				var both []string
				for _, p := range h.protos {
					if slices.Contains(c.protos, p) {
						both = append(both, p)
					}
				}
				if both == nil {
					both = []string{}
				}
				h.protos = both
			}
		}
		h.keys = h.keys.and(c.keys)
	}
	return h
}

func unionHints(xs []Node, neg bool) hint {
	var h hint
	for i, x := range xs {
		c := hintOf(x, neg)
		if i == 0 {
			h = c
			continue
		}
		if h.ips != nil && c.ips != nil {
			h.ips = h.ips.union(c.ips)
		} else {
			h.ips = nil
		}
		if h.ports != nil && c.ports != nil {
			h.ports = h.ports.union(c.ports)
		} else {
			h.ports = nil
		}
		if h.protos != nil && c.protos != nil {
			ps := append(slices.Clone(h.protos), c.protos...)
			slices.Sort(ps)
			h.protos = slices.Compact(ps)
		} else {
			h.protos = nil
		}
		h.keys = h.keys.or(c.keys)
	}
	return h
}
