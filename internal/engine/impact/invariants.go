package impact

import (
	"cmp"
	"fmt"
	"net/netip"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace"
)

// Invariant is "every flow these expressions select (from these ingress
// colos) is decided like this", the generalisation of an `expect` from one
// flow to all of them. Empty expectations are not checked.
type Invariant struct {
	Name                             string
	Traffic, Identity, DevicePosture string
	// IngressColos limits the flows to these ingress colos (IATA codes);
	// empty means every colo.
	IngressColos []string

	// Policy is the name of the policy that must decide; HasPolicy says it
	// is checked ("" with HasPolicy: no policy may match).
	Policy    string
	HasPolicy bool
	// Method is "default" or "dedicated".
	Method string
	// EgressIP is a dedicated IPv4 or IPv6 range: IPv4 flows must leave
	// with that IPv4 and IPv6 flows with that range, or, for an inventory
	// entry's IPv4 (range), with the entry's range (IPv4).
	EgressIP string
	// EgressColo is the physical colo (IATA), GeoCountry the geolocation
	// (ISO alpha-2) the flows must have.
	EgressColo, GeoCountry string
}

// Status is the answer for one invariant.
type Status string

const (
	// Holds: proven for every selected flow.
	Holds Status = "holds"
	// Violated: a flow breaks it, confirmed by engine.Decide.
	Violated Status = "violated"
	// Possibly: the proof fails only through `matches`/$list conditions the
	// algebra treats as opaque, or no counterexample flow could be
	// confirmed.
	Possibly Status = "possibly_violated"
	// Undecided: past the analysis bound.
	Undecided Status = "undecided"
)

// Verdict is the answer for one invariant.
type Verdict struct {
	Status Status
	// Example is a counterexample (Violated, and Possibly when one could be
	// built) and Decision engine.Decide's decision for it.
	Example  engine.Flow
	Decision engine.Decision
	HasFlow  bool
	// Reason says, for Violated and Possibly, what differs, in words.
	Reason string
}

// Check proves or refutes each invariant on one list.
func Check(side Side, invs []Invariant, opt Options) ([]Verdict, error) {
	a := flowspace.NewAnalyzer()
	a.Budget = opt.Budget
	m, err := compileSide(a, side, map[string]*flowspace.Set{}, "policies")
	if err != nil {
		return nil, err
	}
	out := make([]Verdict, len(invs))
	for k := range invs {
		v, err := checkOne(a, m, &invs[k])
		if err != nil {
			return nil, fmt.Errorf("invariant %q: %w", invs[k].Name, err)
		}
		out[k] = v
	}
	return out, nil
}

// expectation is an invariant's expectations, resolved against the
// inventory.
type expectation struct {
	inv        *Invariant
	v4         netip.Addr   // expected IPv4 (IPv4 flows)
	v6         netip.Prefix // expected range (IPv6 flows)
	hasIP      bool
	colo, geo  string
	method     engine.Method
	policyName string
	hasPolicy  bool
	// dflt caches defaultMeets (the same for every default-egress policy;
	// one analyser per check), bad the complements of the sets meets gave.
	dflt    *flowspace.Set
	bad     map[*flowspace.Set]notOf
	byKinds map[[3]uint8]*flowspace.Set // meets of dedicated policies
}

// notOf is a complement and its error.
type notOf struct {
	s   *flowspace.Set
	err error
}

// not is a.Not(good), once per set.
func (e *expectation) not(a *flowspace.Analyzer, good *flowspace.Set) (*flowspace.Set, error) {
	if n, ok := e.bad[good]; ok {
		return n.s, n.err
	}
	s, err := a.Not(good)
	if e.bad == nil {
		e.bad = map[*flowspace.Set]notOf{}
	}
	e.bad[good] = notOf{s, err}
	return s, err
}

func resolve(inv *Invariant, m *model) (*expectation, error) {
	e := &expectation{inv: inv, method: engine.Method(inv.Method), colo: strings.ToUpper(strings.TrimSpace(inv.EgressColo)),
		geo: strings.ToUpper(strings.TrimSpace(inv.GeoCountry)), policyName: inv.Policy, hasPolicy: inv.HasPolicy}
	if e.colo != "" {
		c, err := engine.LookupColo(e.colo)
		if err != nil {
			return nil, fmt.Errorf("egress_colo: %w", err)
		}
		e.colo = c.Code
	}
	if ip := strings.TrimSpace(inv.EgressIP); ip != "" {
		e.hasIP = true
		if a, err := netip.ParseAddr(ip); err == nil && a.Unmap().Is4() {
			e.v4 = a.Unmap()
			for _, d := range m.side.Inventory {
				if d.IPv4 == e.v4 {
					e.v6 = d.IPv6Range.Masked()
				}
			}
		} else if p, err := netip.ParsePrefix(ip); err == nil && p.Addr().Is6() {
			e.v6 = p.Masked()
			for _, d := range m.side.Inventory {
				if d.IPv6Range.Masked() == e.v6 {
					e.v4 = d.IPv4
				}
			}
		} else {
			return nil, fmt.Errorf("egress_ip %q is neither an IPv4 address nor an IPv6 range", ip)
		}
	}
	return e, nil
}

// satisfied reports whether decision d of a flow of kind k meets e (the
// policy is checked by the caller).
func (e *expectation) satisfied(d engine.Decision, k flowspace.FlowKind) bool {
	if e.method != "" && (d.Method != e.method || d.Outcome == engine.OutcomeUnavailable) {
		return false
	}
	if e.hasIP {
		if k == flowspace.IPv6 {
			if !e.v6.IsValid() || d.EgressIPv6Range != e.v6 {
				return false
			}
		} else if !e.v4.IsValid() || d.EgressIP != e.v4 {
			return false
		}
	}
	if e.colo != "" && d.EgressColo != e.colo {
		return false
	}
	if e.geo != "" && d.GeoCountry != e.geo {
		return false
	}
	return true
}

// only returns the expectation without its policy (the decider's flows).
func (e *expectation) egressOnly() bool {
	return e.method == "" && !e.hasIP && e.colo == "" && e.geo == ""
}

// meets returns the flows (over kind, ingress colo and the user's country)
// for which policy i's decision meets e: nil means all of them.
func (e *expectation) meets(a *flowspace.Analyzer, m *model, i int) *flowspace.Set {
	if e.hasPolicy && m.side.Policies[i].Name != e.policyName {
		return a.Empty()
	}
	if e.egressOnly() {
		return nil
	}
	p := &m.side.Policies[i]
	if p.Egress.Method == engine.MethodDefault {
		return e.defaultMeets(a)
	}
	// Per kind: met everywhere (1), from the expected colo only (2), or not
	// (0); the set is built once per such answer.
	var key [3]uint8
	all := true
	for _, k := range flowspace.FlowKinds() {
		d := m.outcomes(i)[k]
		ok0 := e.satisfied(d[0].decision(), k)
		ok1 := e.satisfied(d[1].decision(), k)
		switch {
		case ok0 && ok1:
			key[k] = 1
		case d[0].egressColo == probeColos[0] && d[1].egressColo == probeColos[1] && e.colo != "":
			// The colo is the ingress colo: met from the expected colo when
			// the rest is met there.
			f := probeFlow(k, e.colo)
			dd, err := m.eng.DecideAs(&f, i, nil)
			if err == nil && e.satisfied(dd, k) {
				key[k] = 2
			}
			all = false
		default:
			all = false
		}
	}
	if all {
		return nil
	}
	if out, ok := e.byKinds[key]; ok {
		return out
	}
	out := a.Empty()
	for _, k := range flowspace.FlowKinds() {
		switch key[k] {
		case 1:
			out = or(a, out, a.Kind(k))
		case 2:
			out = or(a, out, and(a, a.Kind(k), a.Ingress([]string{e.colo})))
		}
	}
	if e.byKinds == nil {
		e.byKinds = map[[3]uint8]*flowspace.Set{}
	}
	e.byKinds[key] = out
	return out
}

// defaultMeets returns the flows whose default egress meets e: the
// geolocation is the user's country (upper-cased), the physical colo the
// ingress colo when the user is in its country (or in a country without
// colos), else the colo of the user's country nearest the ingress colo.
func (e *expectation) defaultMeets(a *flowspace.Analyzer) *flowspace.Set {
	if e.method == engine.MethodDedicated || e.hasIP {
		return a.Empty()
	}
	if e.dflt != nil {
		return e.dflt
	}
	out := a.Universe()
	if e.geo != "" {
		out = and(a, out, a.StringIn("net.src.geo.country", caseVariants(e.geo), false))
	}
	if e.colo != "" {
		out = and(a, out, defaultColoIs(a, e.colo))
	}
	e.dflt = out
	return out
}

// defaultColoIs is the set of flows whose default egress leaves from colo x.
func defaultColoIs(a *flowspace.Analyzer, x string) *flowspace.Set {
	cat := engine.Catalog()
	var xc engine.Colo
	countries := map[string]bool{}
	for _, c := range cat {
		countries[c.Country] = true
		if c.Code == x {
			xc = c
		}
	}
	var withColos []string
	for c := range countries {
		withColos = append(withColos, caseVariants(c)...)
	}
	// From x itself: the user is in x's country, or in one without colos.
	fromX := and(a, a.Ingress([]string{x}), or(a,
		a.StringIn("net.src.geo.country", caseVariants(xc.Country), false),
		a.StringIn("net.src.geo.country", withColos, true)))
	// From elsewhere: the user is in x's country and x is its colo nearest
	// the ingress colo.
	var near []string
	for _, c := range cat {
		if c.Country == xc.Country || c.Code == x {
			continue
		}
		if n, ok := engine.NearestColoInCountry(c, xc.Country); ok && n.Code == x {
			near = append(near, c.Code)
		}
	}
	if len(near) == 0 {
		return fromX
	}
	return or(a, fromX, and(a, a.Ingress(near), a.StringIn("net.src.geo.country", caseVariants(xc.Country), false)))
}

// caseVariants are the spellings of a two-letter code that upper-case to it.
func caseVariants(code string) []string {
	if len(code) != 2 {
		return []string{code}
	}
	lo := strings.ToLower(code)
	return []string{code, lo, code[:1] + lo[1:], lo[:1] + code[1:]}
}

// noMatchMeets returns the flows no policy matches whose egress meets e, and
// whether some (kind, colo) meets it only for some users (equidistant
// dedicated IPs share the load).
func (e *expectation) noMatchMeets(a *flowspace.Analyzer, m *model) (*flowspace.Set, bool) {
	if e.hasPolicy && e.policyName != "" {
		return a.Empty(), false
	}
	if e.egressOnly() {
		return nil, false
	}
	if len(m.side.Inventory) == 0 {
		return e.defaultMeets(a), false
	}
	out := a.Empty()
	some := false
	for _, k := range flowspace.FlowKinds() {
		var good []string
		for _, c := range engine.Catalog() {
			g := m.noMatchGroup(c.Code, k == flowspace.IPv6)
			if len(g) == 0 {
				continue // unavailable: never meets an expectation
			}
			met := 0
			for _, d := range g {
				if e.satisfied(m.noMatchVia(d, k, c.Code), k) {
					met++
				}
			}
			switch {
			case met == len(g):
				good = append(good, c.Code)
			case met > 0:
				some = true
			}
		}
		if len(good) > 0 {
			out = or(a, out, and(a, a.Kind(k), a.Ingress(good)))
		}
	}
	return out, some
}

// checkOne proves or refutes one invariant.
func checkOne(a *flowspace.Analyzer, m *model, inv *Invariant) (Verdict, error) {
	e, err := resolve(inv, m)
	if err != nil {
		return Verdict{}, err
	}
	sel, err := a.CompileText(inv.Traffic, inv.Identity, inv.DevicePosture)
	if err != nil {
		return Verdict{}, fmt.Errorf("traffic/identity/device_posture: %w", err)
	}
	if len(inv.IngressColos) > 0 {
		var codes []string
		for _, c := range inv.IngressColos {
			col, err := engine.LookupColo(c)
			if err != nil {
				return Verdict{}, fmt.Errorf("ingress_colos: %w", err)
			}
			codes = append(codes, col.Code)
		}
		sel = and(a, sel, a.Ingress(codes))
	}
	if sel.Empty() {
		return Verdict{Status: Holds}, nil
	}
	// The walk: each policy in order takes its flows, those it decides as
	// expected removed, the others stopped (a counterexample); what no
	// policy matches ends at the no-match decision.
	q := a.NewQuestion()
	q.KeepWitness()
	defer q.Release()
	for i, s := range m.sets {
		if s == nil {
			if m.side.Policies[i].Enabled {
				return Verdict{Status: Undecided, Reason: fmt.Sprintf("policy %q (#%d) is too complex to analyse", m.side.Policies[i].Name, i)}, nil
			}
			continue
		}
		if !s.Overlaps(sel) {
			continue
		}
		good := e.meets(a, m, i)
		switch {
		case good == nil:
			q.Add(s, i, false)
		case good.Empty():
			q.Add(s, i, true)
		default:
			in, err1 := a.And(s, good)
			bad, err2 := e.not(a, good)
			if err1 == nil && err2 == nil {
				bad, err2 = a.And(s, bad)
			}
			if err1 != nil || err2 != nil {
				return Verdict{Status: Undecided, Reason: fmt.Sprintf("policy %q (#%d) is too complex to split by the expectation", m.side.Policies[i].Name, i)}, nil
			}
			q.Add(in, i, false)
			q.Add(bad, i, true)
		}
	}
	good, partial := e.noMatchMeets(a, m)
	end := len(m.sets)
	switch {
	case good == nil:
		q.Add(a.Universe(), end, false)
	case good.Empty():
		q.Add(a.Universe(), end, true)
	default:
		bad, err := a.Not(good)
		if err != nil {
			return Verdict{Status: Undecided, Reason: "the no-match expectation is too complex to analyse"}, nil
		}
		q.Add(good, end, false)
		q.Add(bad, end, true)
	}
	switch q.Run(sel, engine.Yes) {
	case engine.Yes:
		return Verdict{Status: Holds}, nil
	case engine.Unknown:
		return Verdict{Status: Undecided, Reason: "could not prove it within the analysis bound: narrow the invariant's expressions or split it"}, nil
	}
	w, _ := q.Witness()
	v := Verdict{Status: Possibly}
	base := probeFlow(flowspace.IPv4Grey, "NRT")
	if len(inv.IngressColos) > 0 {
		base.IngressColo = strings.ToUpper(inv.IngressColos[0])
	}
	for attempt := 0; attempt < 32; attempt++ {
		b := base
		b.UserID = fmt.Sprintf("user-%d", attempt+1)
		f, err := a.Example(w, b)
		if err != nil {
			v.Reason = "a counterexample needs `matches`/$list conditions that no flow could be built for: " + err.Error()
			return v, nil
		}
		d, err := m.eng.Decide(&f, nil)
		if err != nil {
			v.Reason = err.Error()
			return v, nil
		}
		v.Example, v.Decision, v.HasFlow = f, d, true
		if why := e.mismatch(d, &f); why != "" {
			v.Status, v.Reason = Violated, why
			return v, nil
		}
		if !partial {
			break
		}
	}
	v.Reason = "the analysis found flows that may break it only through `matches`/$list conditions it treats as opaque (or equidistant dedicated IPs); no counterexample flow could be confirmed"
	return v, nil
}

// mismatch says how decision d of flow f misses the expectation ("" when
// it meets it).
func (e *expectation) mismatch(d engine.Decision, f *engine.Flow) string {
	var why []string
	if d.Outcome == engine.OutcomeIndeterminate {
		return ""
	}
	if e.hasPolicy {
		got := ""
		if d.Outcome == engine.OutcomePolicy {
			got = d.PolicyName
		}
		if got != e.policyName {
			w := fmt.Sprintf("policy %q", e.policyName)
			if e.policyName == "" {
				w = "no policy"
			}
			g := fmt.Sprintf("policy %q (#%d)", got, d.PolicyIndex)
			if got == "" {
				g = "no policy (" + string(d.Outcome) + ")"
			}
			why = append(why, fmt.Sprintf("decided by %s, not %s", g, w))
		}
	}
	k := flowspace.KindOf(f)
	ok := e.satisfied(d, k)
	if !ok {
		ip := cmp.Or(d.EgressSource(), "the shared pool")
		why = append(why, fmt.Sprintf("leaves %s from %s via %s (geolocation %s)", d.Method, d.EgressColo, ip, orNone(d.GeoCountry)))
	}
	return strings.Join(why, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
