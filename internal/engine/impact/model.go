// Package impact answers, over the whole flow space, the two questions a
// reviewer of an egress change asks (SPEC §4 "Change impact", §5):
//
//   - Analyze: which flows does a change move? Given the policy lists and
//     inventories before and after, the regions of the flow space whose
//     Decision differs in policy, method, source IP, physical colo or
//     geolocation, for IPv4 grey, IPv4 orange and IPv6 flows from every
//     ingress colo; each with a description (an expression) and one
//     example flow that engine.Decide confirms on both lists.
//   - Check (invariants): is every flow a set of expressions selects
//     decided like this? Proven over the selected space, or refuted with a
//     counterexample flow that engine.Decide confirms.
//
// Both ask their questions of internal/engine/flowspace, with the flow's
// kind and ingress colo as dimensions of the space; which decision a
// decider makes for which kind and colo comes from the engine itself
// (Engine.DecideAs, Engine.NoMatchGroup). Regexes and $list references are
// opaque to the algebra: findings through them say "possibly".
//
// It imports only the standard library and the engine packages.
package impact

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace"
)

// Side is one ordered list of policies with the inventory it egresses
// from. Policies need their Match compiled (expr.CompilePolicy), as for
// engine.Compile.
type Side struct {
	Policies  []engine.Policy
	Inventory []engine.DedicatedIP
	// Engine, when set, is engine.Compile's result for Policies and
	// Inventory, which the caller has already compiled: the analysis uses
	// it instead of compiling them again.
	Engine *engine.Engine
}

// probeColos are two ingress colos far apart: a decision that is the same
// at both is the same at every ingress colo (each of its fields is either
// fixed or the ingress colo itself, or, for default egress, the same
// function of the ingress colo and the user's country on both sides).
var probeColos = [2]string{"NRT", "LHR"}

// probeDst is a destination of each kind (documentation addresses).
func probeFlow(k flowspace.FlowKind, ingress string) engine.Flow {
	f := engine.Flow{IngressColo: ingress, DestinationIP: probeDst4, DestinationPort: 443, Protocol: "tcp"}
	switch k {
	case flowspace.IPv4Orange:
		f.Proxied = true
	case flowspace.IPv6:
		f.DestinationIP = probeDst6
	}
	return f
}

var (
	probeDst4 = netip.MustParseAddr("198.51.100.10")
	probeDst6 = netip.MustParseAddr("2001:db8::10")
)

// model is one side compiled: the engine, each enabled policy's set of
// flows, and the no-match groups per ingress colo.
type model struct {
	side Side
	eng  *engine.Engine
	// sets[i]: policy i's flows (nil: disabled, or too complex to analyse).
	sets []*flowspace.Set
	// tooComplex lists enabled policies without a set.
	tooComplex []int
	// canon[i]: the canonical text of policy i's three expressions
	// (computed when first needed, see sameExpressions).
	canon []string
	// out[i][k]: policy i's decision for a probe flow of kind k at each
	// probe colo (enabled policies; computed when first needed).
	out  [][3][2]probeOut
	outs []bool
	// groups[k][c]: the no-match group at catalog colo c for kind class k
	// (0: IPv4, 1: IPv6), as a key ("" = default egress); nmGroups the
	// group itself.
	groups   [2]map[string]string
	nmGroups [2]map[string][]engine.DedicatedIP
	// via caches noMatchVia.
	via    map[viaKey]engine.Decision
	single map[netip.Addr]*engine.Engine
}

type viaKey struct {
	ip      netip.Addr
	kind    flowspace.FlowKind
	ingress string
}

// noMatchGroup is the no-match group at an ingress colo.
func (m *model) noMatchGroup(ingress string, v6 bool) []engine.DedicatedIP {
	kc := 0
	if v6 {
		kc = 1
	}
	return m.nmGroups[kc][ingress]
}

// noMatchVia is the decision for a flow of kind k from ingress that no
// policy matches and that leaves from dedicated IP d: the engine's own
// no-match decision with d the only candidate.
func (m *model) noMatchVia(d engine.DedicatedIP, k flowspace.FlowKind, ingress string) engine.Decision {
	key := viaKey{d.IPv4, k, ingress}
	if dd, ok := m.via[key]; ok {
		return dd
	}
	eng, ok := m.single[d.IPv4]
	if !ok {
		var err error
		if eng, err = engine.Compile(nil, []engine.DedicatedIP{d}); err != nil {
			panic(err) // an entry of a valid inventory
		}
		m.single[d.IPv4] = eng
	}
	f := probeFlow(k, ingress)
	dd, err := eng.DecideAs(&f, -1, nil)
	if err != nil {
		panic(err)
	}
	m.via[key] = dd
	return dd
}

// compileSide compiles one side over the analyser a; cache shares the sets
// of policies whose expressions are the same text.
func compileSide(a *flowspace.Analyzer, s Side, cache map[string]*flowspace.Set, name string) (*model, error) {
	var err error
	eng := s.Engine
	if eng == nil {
		if eng, err = engine.Compile(s.Policies, s.Inventory); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	m := &model{side: s, eng: eng, sets: make([]*flowspace.Set, len(s.Policies)), canon: make([]string, len(s.Policies)), out: make([][3][2]probeOut, len(s.Policies)), outs: make([]bool, len(s.Policies))}
	for i := range s.Policies {
		p := &s.Policies[i]
		if !p.Enabled {
			continue
		}
		key := p.Traffic + "\x00" + p.Identity + "\x00" + p.DevicePosture
		set, ok := cache[key]
		if !ok {
			set, err = a.CompileText(p.Traffic, p.Identity, p.DevicePosture)
			if err != nil && err != flowspace.ErrTooComplex {
				return nil, fmt.Errorf("%s: policy %d %q: %w", name, i, p.Name, err)
			}
			cache[key] = set // nil when too complex
		}
		m.sets[i] = set
		if set == nil {
			m.tooComplex = append(m.tooComplex, i)
		}
	}
	m.via, m.single = map[viaKey]engine.Decision{}, map[netip.Addr]*engine.Engine{}
	for kc := 0; kc < 2; kc++ {
		m.groups[kc], m.nmGroups[kc] = map[string]string{}, map[string][]engine.DedicatedIP{}
		for _, c := range engine.Catalog() {
			g, err := eng.NoMatchGroup(c.Code, kc == 1)
			if err != nil {
				return nil, err
			}
			m.groups[kc][c.Code], m.nmGroups[kc][c.Code] = groupKey(g), g
		}
	}
	return m, nil
}

// probeOut is the egress part of a probe decision, all that is read of
// one: kindsDiffering compares the fields sameEgress does (==),
// expectation.satisfied reads them; half a Decision's size, for the 3,000
// probes of a 500-policy side.
type probeOut struct {
	outcome         engine.Outcome
	method          engine.Method
	egressIP        netip.Addr
	egressIPv6Range netip.Prefix
	egressColo      string
	geoCountry      string
	noGeolocation   bool
}

func probeOutOf(d engine.Decision) probeOut {
	return probeOut{d.Outcome, d.Method, d.EgressIP, d.EgressIPv6Range, d.EgressColo, d.GeoCountry, d.NoGeolocation}
}

// decision is the egress part as a Decision.
func (p probeOut) decision() engine.Decision {
	return engine.Decision{Outcome: p.outcome, Method: p.method, EgressIP: p.egressIP, EgressIPv6Range: p.egressIPv6Range, EgressColo: p.egressColo, GeoCountry: p.geoCountry, NoGeolocation: p.noGeolocation}
}

// outcomes returns policy i's decisions for the probe flows (their egress
// part).
func (m *model) outcomes(i int) *[3][2]probeOut {
	if !m.outs[i] {
		for _, k := range flowspace.FlowKinds() {
			for c, colo := range probeColos {
				f := probeFlow(k, colo)
				d, err := m.eng.DecideAs(&f, i, nil)
				if err != nil {
					panic(err) // probe flows are valid, i is enabled
				}
				m.out[i][k][c] = probeOutOf(d)
			}
		}
		m.outs[i] = true
	}
	return &m.out[i]
}

// sameExpressions reports whether policy i of m and policy j of n have the
// same expressions: the same text, or the same canonical text.
func sameExpressions(m *model, i int, n *model, j int) bool {
	p, q := &m.side.Policies[i], &n.side.Policies[j]
	if p.Traffic == q.Traffic && p.Identity == q.Identity && p.DevicePosture == q.DevicePosture {
		return true
	}
	if m.canon[i] == "" {
		m.canon[i] = canonical(p)
	}
	if n.canon[j] == "" {
		n.canon[j] = canonical(q)
	}
	return m.canon[i] == n.canon[j]
}

// canonical is the meaning-preserving text of a policy's expressions.
func canonical(p *engine.Policy) string {
	var parts []string
	for _, src := range []string{p.Traffic, p.Identity, p.DevicePosture} {
		c, err := expr.Canonical(src)
		if err != nil {
			c = src
		}
		parts = append(parts, c)
	}
	return "\x01" + strings.Join(parts, "\x00")
}

// groupKey names a no-match group: its IPv4s in order ("" = default egress).
func groupKey(g []engine.DedicatedIP) string {
	var s []string
	for _, d := range g {
		s = append(s, d.IPv4.String())
	}
	return strings.Join(s, " ")
}

// sameIdentity: the same policy on both sides: the same Cloudflare rule ID
// when both have one, else the same name (a rename keeps the rule ID).
func sameIdentity(a, b *engine.Policy) bool {
	if a.ID != "" && b.ID != "" {
		return a.ID == b.ID
	}
	return a.Name == b.Name
}

// sameDecision compares two decisions in what the change impact reports:
// the outcome, the policy (by identity), the method, the source IP, the
// physical colo and the geolocation.
func sameDecision(x, y engine.Decision, xs, ys []engine.Policy) bool {
	if !sameEgress(x, y) {
		return false
	}
	if (x.PolicyIndex < 0) != (y.PolicyIndex < 0) {
		return false
	}
	return x.PolicyIndex < 0 || sameIdentity(&xs[x.PolicyIndex], &ys[y.PolicyIndex])
}

// sameEgress compares the egress part of two decisions (no policy).
func sameEgress(x, y engine.Decision) bool {
	return x.Outcome == y.Outcome && x.Method == y.Method && x.EgressIP == y.EgressIP && x.EgressIPv6Range == y.EgressIPv6Range &&
		x.EgressColo == y.EgressColo && x.GeoCountry == y.GeoCountry && x.NoGeolocation == y.NoGeolocation
}

// kindsDiffering returns the kinds for which policy i of m and policy j of
// n decide differently (every kind when they are not the same policy).
func kindsDiffering(m *model, i int, n *model, j int) []flowspace.FlowKind {
	if !sameIdentity(&m.side.Policies[i], &n.side.Policies[j]) {
		return flowspace.FlowKinds()
	}
	var out []flowspace.FlowKind
	for _, k := range flowspace.FlowKinds() {
		for c := range probeColos {
			if m.outcomes(i)[k][c] != n.outcomes(j)[k][c] {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// groupSets returns, per no-match group of m for kind class kc, the set of
// flows of that class from the colos with that group.
func groupSets(a *flowspace.Analyzer, m *model, kc int) map[string]*flowspace.Set {
	colos := map[string][]string{}
	for c, g := range m.groups[kc] {
		colos[g] = append(colos[g], c)
	}
	out := map[string]*flowspace.Set{}
	for g, cs := range colos {
		sort.Strings(cs)
		out[g] = and(a, classSet(a, kc), a.Ingress(cs))
	}
	return out
}

// classSet is the flows of kind class kc.
func classSet(a *flowspace.Analyzer, kc int) *flowspace.Set {
	if kc == 1 {
		return a.Kind(flowspace.IPv6)
	}
	return or(a, a.Kind(flowspace.IPv4Grey), a.Kind(flowspace.IPv4Orange))
}

// and, or: set operations on small sets of the flow's own dimensions, which
// never exceed the algebra's bound.
func and(a *flowspace.Analyzer, x, y *flowspace.Set) *flowspace.Set {
	s, err := a.And(x, y)
	if err != nil {
		panic(err)
	}
	return s
}

func or(a *flowspace.Analyzer, x, y *flowspace.Set) *flowspace.Set {
	s, err := a.Or(x, y)
	if err != nil {
		panic(err)
	}
	return s
}
