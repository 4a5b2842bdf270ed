package replay

// The model check of one record: what Cloudflare logged against what the
// engine decides for the same flow.
//
// What a Network Session Log record carries and what it lacks
// (https://developers.cloudflare.com/logs/logpush/logpush-job/datasets/account/zero_trust_network_sessions/):
//   - carried, and turned into the flow: OriginIP/OriginPort (destination),
//     SourceIP/SourcePort, Protocol, IngressColoName, Email, UserID,
//     DeviceID, VirtualNetworkID, SourceInternalIP, ResolvedFQDN
//     (net.fqdn.host), Offramp (anything but INTERNET is a private network:
//     egress policies do not apply);
//   - not carried, so unknown: the user's country and continent, groups,
//     name, SAML/OIDC attributes, device posture, the destination's
//     geolocation, FQDN domains and categories, app IDs, the proxy endpoint,
//     the on-ramp, whether the destination is proxied by Cloudflare, and
//     which colos were down. A policy that needs one of the fields makes the
//     record undecidable (naming the field); the last three are inferred
//     instead (see hypotheses).
//   - what Cloudflare decided: EgressRuleID/EgressRuleName (the zero UUID
//     and "" when no rule matched, SPEC §2), EgressIP, EgressColoName.

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// equalDistanceKm: dedicated IPs within this distance of the nearest one
// are equidistant (the engine's rule 5, SPEC §2).
const equalDistanceKm = 1.0

// Proxied is what the replay inferred about the destination being proxied
// by Cloudflare (orange) or not (grey), which sessions logs do not carry.
type Proxied uint8

const (
	// ProxiedEither: grey and orange decide the same (IPv6, default egress,
	// an ingress colo that is the dedicated IP's own colo, ...).
	ProxiedEither Proxied = iota
	// ProxiedGrey: only "not proxied" explains the logged egress.
	ProxiedGrey
	// ProxiedOrange: only "proxied" explains the logged egress.
	ProxiedOrange
)

func (p Proxied) String() string {
	switch p {
	case ProxiedGrey:
		return "grey"
	case ProxiedOrange:
		return "orange"
	}
	return "either"
}

// Verdict is the result of the model check of one record.
type Verdict uint8

const (
	Agree Verdict = iota
	Disagree
	Undecidable
)

func (v Verdict) String() string {
	switch v {
	case Disagree:
		return "disagree"
	case Undecidable:
		return "undecidable"
	}
	return "agree"
}

// observed is what Cloudflare logged.
type observed struct {
	hasRule, hasIP, hasColo bool
	ruleNone                bool // the zero UUID / "" / absent: no egress rule matched
	ruleID, ruleName        string
	hasRuleName             bool
	ipText                  string
	ip                      netip.Addr // invalid when ipText is ""
	colo                    string
}

// Result is the model check of one record.
type Result struct {
	Verdict Verdict
	// Reason explains a disagreement or why the record is undecidable.
	Reason string
	// Missing names the field an undecidable record lacks (a selector
	// field such as "net.src.geo.country", or a record field such as
	// "OriginIP").
	Missing string
	// Model is the engine's decision on the live list: under the
	// hypothesis that agrees, or (disagree) under the plain one: not
	// proxied, no colo down, user country unknown.
	Model engine.Decision
	// Inferred: what the replay had to assume for the record to agree.
	Proxied     Proxied
	ColosDown   []string // colos assumed down (a fallback or the next nearest IP explains the log)
	UserCountry string   // the user's country, inferred from a default-egress colo abroad
	// Equidistant: the logged IP is another of the equidistant dedicated
	// IPs than the one the engine's hash picks (Cloudflare publishes only
	// that it keeps a user on one IP, not how it picks: this agrees).
	Equidistant bool
	// LoggedPolicy is the index of the live policy the log names (by ID,
	// else by name), -1 for none or a rule not in the list.
	LoggedPolicy int

	// Against the planned list (when there is one: PlannedRan):
	PlannedRan        bool
	Planned           engine.Decision
	PlannedDecided    bool   // both sides decided (no indeterminate outcome)
	Changed           bool   // the planned list changes this session's egress
	BeforeIP, AfterIP string // egress IP or range text (with the logged equidistant pick)

	obs  observed
	pick *engine.Candidate // the logged equidistant candidate
}

// hypothesis is one way to fill in what the log lacks.
type hypothesis struct {
	proxied            bool
	down               engine.ColoSet
	country, continent string // the user's (net.src.geo.*)
}

// checker checks records against a live list (and a planned one). One per
// goroutine: it owns scratch space.
type checker struct {
	live, planned *List
	flow          engine.Flow
	hyp           hypothesis
	downScratch   engine.ColoSet
	d             [3]engine.Decision
	dAbroad       engine.Decision
	res           Result
}

func newChecker(live, planned *List) *checker {
	return &checker{live: live, planned: planned, downScratch: engine.ColoSet{}}
}

// malformedError is a record whose values cannot be used (an OriginIP that
// is not an address, ...): reported with the malformed lines.
type malformedError struct{ msg string }

func (e *malformedError) Error() string { return e.msg }

// flowOf turns a record into a flow. missing names a required field the
// record lacks.
func flowOf(rec *engine.LoggedSession, f *engine.Flow) (missing string, err error) {
	*f = engine.Flow{}
	r := &rec.SessionRecord
	if r.OriginIP == "" {
		return "OriginIP", nil
	}
	a, perr := netip.ParseAddr(r.OriginIP)
	if perr != nil {
		return "", &malformedError{fmt.Sprintf("OriginIP: %q is not an IP address", r.OriginIP)}
	}
	f.DestinationIP = a.Unmap()
	if r.IngressColoName == "" {
		return "IngressColoName", nil
	}
	f.IngressColo = r.IngressColoName
	if r.SourceIP != "" {
		a, perr := netip.ParseAddr(r.SourceIP)
		if perr != nil {
			return "", &malformedError{fmt.Sprintf("SourceIP: %q is not an IP address", r.SourceIP)}
		}
		f.SourceIP = a.Unmap()
	}
	if r.SourceInternalIP != "" {
		a, perr := netip.ParseAddr(r.SourceInternalIP)
		if perr != nil {
			return "", &malformedError{fmt.Sprintf("SourceInternalIP: %q is not an IP address", r.SourceInternalIP)}
		}
		f.InternalSourceIP = a.Unmap()
	}
	f.SourcePort, f.DestinationPort = uint16(r.SourcePort), uint16(r.OriginPort)
	f.Protocol = lowerProtocol(r.Protocol)
	// Offramp: "The type of destination to which the network session was
	// routed. Possible values are INTERNET | MAGIC | CFD_TUNNEL |
	// DEVICE_CLIENT | MESH." Egress policies apply to the Internet only.
	if r.Offramp != "" && !equalFold(r.Offramp, engine.OfframpInternet) {
		f.PrivateNetwork = true
	}
	f.Email, f.UserID, f.DeviceID, f.VirtualNetworkID = r.Email, r.UserID, r.DeviceID, r.VirtualNetworkID
	if h := r.ResolvedFQDN; h != "" {
		h = strings.TrimSuffix(h, ".")
		if hasUpper(h) {
			h = strings.ToLower(h)
		}
		f.FQDNHost = h
	}
	return "", nil
}

// catalogColo is the catalog's colo of that code; false when there is none.
func catalogColo(code string) (engine.Colo, bool) {
	c, err := engine.LookupColo(code)
	return c, err == nil
}

func lowerProtocol(p string) string {
	switch p {
	case "TCP", "tcp":
		return "tcp"
	case "UDP", "udp":
		return "udp"
	case "ICMP", "icmp":
		return "icmp"
	case "ICMPV6", "icmpv6":
		return "icmpv6"
	}
	return strings.ToLower(p)
}

// equalFold is strings.EqualFold with the usual case, equal as written,
// first.
func equalFold(a, b string) bool { return a == b || strings.EqualFold(a, b) }

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func observedOf(rec *engine.LoggedSession) (observed, error) {
	r := &rec.SessionRecord
	o := observed{
		hasRule:     rec.Fields&(engine.FieldEgressRuleID|engine.FieldEgressRuleName) != 0,
		hasRuleName: rec.Has(engine.FieldEgressRuleName),
		hasIP:       rec.Has(engine.FieldEgressIP),
		hasColo:     rec.Has(engine.FieldEgressColoName),
		ruleName:    r.EgressRuleName,
		colo:        r.EgressColoName,
		ipText:      r.EgressIP,
	}
	if r.EgressRuleID != "" && r.EgressRuleID != engine.ZeroUUID {
		o.ruleID = r.EgressRuleID
	}
	o.ruleNone = o.ruleID == "" && o.ruleName == ""
	if o.ipText != "" {
		a, err := netip.ParseAddr(o.ipText)
		if err != nil {
			return o, &malformedError{fmt.Sprintf("EgressIP: %q is not an IP address", o.ipText)}
		}
		o.ip = a.Unmap()
	}
	return o, nil
}

// check runs the model check of rec into c.res.
func (c *checker) check(rec *engine.LoggedSession) (*Result, error) {
	res := &c.res
	*res = Result{LoggedPolicy: -1, Planned: res.Planned} // Planned: keep its storage
	res.Model.PolicyIndex = -1
	missing, err := flowOf(rec, &c.flow)
	if err != nil {
		return nil, err
	}
	res.obs, err = observedOf(rec)
	if err != nil {
		return nil, err
	}
	res.LoggedPolicy = c.live.loggedPolicy(&res.obs)
	if missing != "" {
		res.Verdict, res.Missing = Undecidable, missing
		res.Reason = fmt.Sprintf("the record has no %s, which the engine needs", missing)
		return res, nil
	}
	if !res.obs.hasRule && !res.obs.hasIP && !res.obs.hasColo {
		res.Verdict, res.Missing = Undecidable, "EgressIP"
		res.Reason = "nothing to compare: the record has none of EgressRuleName, EgressRuleID, EgressIP, EgressColoName (add them to the Logpush job's field_names)"
		return res, nil
	}
	ing, known := catalogColo(c.flow.IngressColo)
	if !known {
		res.Verdict, res.Missing = Undecidable, "IngressColoName"
		res.Reason = fmt.Sprintf("IngressColoName %q is not in the engine's colo catalog", c.flow.IngressColo)
		return res, nil
	}
	c.flow.IngressColo = ing.Code
	if err := c.search(res, hypothesis{}); err != nil {
		return nil, err
	}
	if res.Verdict != Undecidable || (res.Missing != "net.src.geo.country" && res.Missing != "net.src.geo.continent") {
		return res, nil
	}
	// A policy needs the user's country, which logs lack. Most users are
	// in the country of the colo they connect to: if that explains the
	// log, the record agrees with the country inferred; otherwise it stays
	// undecidable (the user may well be abroad).
	saved := *res
	if err := c.search(res, hypothesis{country: ing.Country, continent: ing.Continent}); err != nil {
		return nil, err
	}
	if res.Verdict == Agree {
		if res.UserCountry == "" {
			res.UserCountry = ing.Country
		}
		return res, nil
	}
	*res = saved
	res.Planned = saved.Planned
	return res, nil
}

// search tries the hypotheses, from base, for rec's flow: it sets
// res.Verdict, Model, Reason and what was inferred, and the planned side.
func (c *checker) search(res *Result, base hypothesis) error {
	// H0: not proxied, no colo down.
	d0 := &c.d[0]
	c.hyp = base
	if err := c.decide(c.live, d0); err != nil {
		return err
	}
	res.Model = *d0
	if d0.Outcome == engine.OutcomeIndeterminate {
		res.Verdict, res.Missing = Undecidable, d0.Missing
		res.Reason = fmt.Sprintf("policy %d %q needs %s, which session logs do not carry", d0.PolicyIndex, d0.PolicyName, d0.Missing)
		c.comparePlanned(res, false)
		return nil
	}
	if ok, why := c.live.sameRule(d0, &res.obs); !ok {
		res.Verdict, res.Reason = Disagree, why
		c.comparePlanned(res, true)
		return nil
	}
	m0 := c.compareEgress(c.live, d0, &res.obs, &c.hyp, false) // explained only if no hypothesis agrees
	v4 := c.isV4()
	d1 := &c.d[1]
	if v4 {
		// H1: proxied (IPv4 only; for IPv6 grey and orange are the same).
		// Before accept, which may decide d0 again for a user country.
		orangeOf(d1, d0, c.flow.IngressColo)
	}
	if m0.ok {
		if err := c.accept(res, d0, m0); err != nil {
			return err
		}
		res.Proxied = ProxiedEither
		if v4 {
			// Would orange decide differently? Then the log says grey.
			h := base
			h.proxied = true
			saved := c.hyp
			c.hyp = h
			if m1 := c.compareEgress(c.live, d1, &res.obs, &h, false); !m1.ok {
				res.Proxied = ProxiedGrey
			}
			c.hyp = saved
		}
		c.comparePlanned(res, true)
		return nil
	}
	if v4 {
		c.hyp = base
		c.hyp.proxied = true
		if m1 := c.compareEgress(c.live, d1, &res.obs, &c.hyp, false); m1.ok {
			if err := c.accept(res, d1, m1); err != nil {
				return err
			}
			res.Proxied = ProxiedOrange
			c.comparePlanned(res, true)
			return nil
		}
	}
	// H2…: not proxied, and the colo the decision leaves from is down (its
	// fallback, or the next nearest dedicated IP, explains the log).
	if v4 {
		clear(c.downScratch)
		prev := d0
		d2 := &c.d[2]
		for step := 0; step < 4; step++ {
			x := prev.EgressColo
			if !prev.EgressIP.IsValid() || x == "" || x == c.flow.IngressColo || c.downScratch[x] {
				break
			}
			c.downScratch[x] = true
			c.hyp = base
			c.hyp.down = c.downScratch
			if err := c.decide(c.live, d2); err != nil {
				return err
			}
			if m2 := c.compareEgress(c.live, d2, &res.obs, &c.hyp, false); m2.ok {
				if err := c.accept(res, d2, m2); err != nil {
					return err
				}
				res.Proxied = ProxiedGrey
				for k := range c.downScratch {
					res.ColosDown = append(res.ColosDown, k)
				}
				sortStrings(res.ColosDown)
				c.comparePlanned(res, true)
				return nil
			}
			*d0, *d2 = *d2, *d0 // the latest decision to d0, d0's storage to d2 for the next step
			prev = d0
		}
		// Back to the plain decision for the report.
		c.hyp = base
		if err := c.decide(c.live, d0); err != nil {
			return err
		}
	}
	res.Model = *d0
	res.Verdict = Disagree
	res.Reason = c.compareEgress(c.live, d0, &res.obs, &c.hyp, true).reason + c.unexplained()
	c.hyp = base
	c.comparePlanned(res, true)
	return nil
}

// orangeOf sets dst to the decision for the flow proxied by Cloudflare
// (orange), from grey, its decision not proxied, both with no colo down,
// without deciding again. SPEC §2 rules 2 and 3: with no outage, grey and
// orange differ only in where dedicated IPv4 egress physically leaves, the
// dedicated IP's colo (grey) or the ingress colo (orange); the policy, the
// IP (and the equidistant pick), its geolocation, default egress and the
// candidates are the same. TestOrangeOfIsDecide holds this to the engine.
func orangeOf(dst, grey *engine.Decision, ingress string) {
	cands := append(dst.Candidates[:0], grey.Candidates...)
	*dst = *grey
	dst.Candidates, dst.Trace = cands, nil
	if grey.EgressIP.Is4() {
		dst.EgressColo = ingress
	}
}

func (c *checker) unexplained() string {
	if c.isV4() {
		return " (neither a proxied destination, a colo outage nor the user's country explains it)"
	}
	return " (neither a colo outage nor the user's country explains it)"
}

func (c *checker) isV4() bool {
	return c.flow.DestinationIP.Is4() && !c.flow.PrivateNetwork && !isICMP(c.flow.Protocol)
}

func isICMP(p string) bool { return p == "icmp" || p == "icmpv6" || p == "ipv6-icmp" }

func (c *checker) accept(res *Result, d *engine.Decision, m egressMatch) error {
	res.Verdict = Agree
	if m.country != "" {
		// The model is the decision for a user of that country.
		c.hyp.country, c.hyp.continent = m.country, m.continent
		if err := c.decide(c.live, d); err != nil {
			return err
		}
	}
	res.Model = *d
	res.UserCountry = m.country
	res.Equidistant = m.equidistant
	res.pick = m.pick
	return nil
}

// decide decides c.flow under c.hyp on list l.
func (c *checker) decide(l *List, d *engine.Decision) error {
	c.flow.Proxied = c.hyp.proxied
	c.flow.SourceCountry, c.flow.SourceContinent = c.hyp.country, c.hyp.continent
	err := l.eng.DecideInto(&c.flow, c.hyp.down, d, false)
	c.flow.Proxied, c.flow.SourceCountry, c.flow.SourceContinent = false, "", ""
	if err != nil {
		return &malformedError{err.Error()}
	}
	return nil
}

// loggedPolicy is the index of the policy the log names: by ID first (rule
// IDs are stable), else by name; -1 for no rule or one not in the list.
func (l *List) loggedPolicy(o *observed) int {
	if o.ruleNone {
		return -1
	}
	if o.ruleID != "" {
		if i, ok := l.byID[o.ruleID]; ok {
			return i
		}
		if i, ok := l.byID[strings.ToLower(o.ruleID)]; ok {
			return i
		}
	}
	if o.ruleName != "" {
		if i, ok := l.byName[o.ruleName]; ok {
			return i
		}
	}
	return -1
}

// decidedPolicy is the index of the policy that decided d, -1 for none.
func decidedPolicy(d *engine.Decision) int {
	if d.Outcome == engine.OutcomePolicy || d.Outcome == engine.OutcomeUnavailable {
		return d.PolicyIndex
	}
	return -1
}

// sameRule compares the logged rule with the decision's policy: by ID when
// both have one, else by name; the same name with another ID agrees (a rule
// deleted and created again keeps its name, not its ID).
func (l *List) sameRule(d *engine.Decision, o *observed) (bool, string) {
	if !o.hasRule {
		return true, ""
	}
	p := decidedPolicy(d)
	if o.ruleNone {
		if p < 0 {
			return true, ""
		}
		return false, fmt.Sprintf("egress rule: the log names none (%s), the model matched policy %d %q", engine.ZeroUUID, p, d.PolicyName)
	}
	var why string
	if p < 0 {
		what := "no policy (nearest dedicated IP)"
		if d.Outcome == engine.OutcomeNotApplicable {
			what = "no policy: egress policies do not apply to this traffic (ICMP or a private network)"
		} else if d.Method == engine.MethodDefault {
			what = "no policy (default egress: the account has no dedicated IPs)"
		}
		why = fmt.Sprintf("egress rule: the log names %s, the model matched %s", loggedRuleText(o), what)
	} else {
		pol := &l.Policies[p]
		if o.ruleID != "" && pol.ID != "" && equalFold(o.ruleID, pol.ID) {
			return true, ""
		}
		if o.hasRuleName && o.ruleName != "" && o.ruleName == pol.Name {
			return true, ""
		}
		why = fmt.Sprintf("egress rule: the log names %s, the model matched policy %d %q", loggedRuleText(o), p, pol.Name)
	}
	if i := l.loggedPolicy(o); i >= 0 && !l.Policies[i].Enabled {
		why += fmt.Sprintf(" (the logged rule is policy %d, disabled in this list)", i)
	} else if i < 0 {
		why += " (the logged rule is not in this list: was the log written under another one?)"
	}
	return false, why
}

func loggedRuleText(o *observed) string {
	switch {
	case o.ruleName != "" && o.ruleID != "":
		return fmt.Sprintf("%q (%s)", o.ruleName, o.ruleID)
	case o.ruleName != "":
		return fmt.Sprintf("%q", o.ruleName)
	}
	return o.ruleID
}

type egressMatch struct {
	ok                 bool
	reason             string
	country, continent string
	equidistant        bool
	pick               *engine.Candidate
}

// compareEgress compares the logged EgressIP and EgressColoName with d.
func (c *checker) compareEgress(l *List, d *engine.Decision, o *observed, h *hypothesis, explain bool) egressMatch {
	var m egressMatch
	v4 := c.flow.DestinationIP.Is4()
	grey4 := v4 && !h.proxied
	isDefault := !d.EgressIP.IsValid() && !d.EgressIPv6Range.IsValid() && d.Outcome != engine.OutcomeUnavailable
	// EgressIP.
	if o.hasIP {
		switch {
		case isDefault:
			if o.ip.IsValid() {
				if what := l.dedicatedText(o.ip); what != "" {
					if explain {
						m.reason = fmt.Sprintf("egress IP: the log has %s, %s; the model says %s", o.ipText, what, defaultText(d))
					}
					return m
				}
			}
		case d.Outcome == engine.OutcomeUnavailable:
			if o.ipText != "" {
				if explain {
					m.reason = fmt.Sprintf("egress IP: the log has %s, the model says the flow fails (unavailable: %s)", o.ipText, unavailableText(d))
				}
				return m
			}
		case d.EgressIP.IsValid():
			if o.ip != d.EgressIP {
				if pk := equidistantPick(d, o.ip, true, grey4); pk != nil {
					m.equidistant, m.pick = true, pk
				} else {
					if explain {
						m.reason = fmt.Sprintf("egress IP: the log has %s, the model says %s", orNone(o.ipText), d.EgressIP)
					}
					return m
				}
			}
		default: // an IPv6 range
			if !o.ip.IsValid() || !d.EgressIPv6Range.Contains(o.ip) {
				if pk := equidistantPick(d, o.ip, false, false); pk != nil {
					m.equidistant, m.pick = true, pk
				} else {
					if explain {
						m.reason = fmt.Sprintf("egress IP: the log has %s, the model says an address in %s", orNone(o.ipText), d.EgressIPv6Range)
					}
					return m
				}
			}
		}
	}
	// EgressColoName.
	if o.hasColo && d.Outcome != engine.OutcomeNotApplicable {
		want := d.EgressColo
		if m.pick != nil && grey4 {
			want = m.pick.Colo // grey IPv4: the picked IP's own colo
		}
		if !equalFold(o.colo, want) {
			if isDefault && o.colo != "" {
				if oc, ok := c.defaultAbroad(l, d, o.colo, h); ok {
					m.country, m.continent = oc.Country, oc.Continent
					m.ok = true
					return m
				}
			}
			if explain {
				m.reason = fmt.Sprintf("egress colo: the log has %s, the model says %s", orNone(o.colo), orNone(want))
				if isDefault {
					m.reason += " (default egress leaves from the ingress colo, or from the colo nearest it in the user's country)"
				}
			}
			return m
		}
	}
	m.ok = true
	return m
}

// defaultAbroad: default egress leaves from the nearest colo in the user's
// country when that is not the ingress colo's (SPEC §2 rule 4). The log has
// no user country: if the logged colo is the one the engine picks for a
// user from the logged colo's country, the record agrees with that country
// inferred.
func (c *checker) defaultAbroad(l *List, d *engine.Decision, colo string, h *hypothesis) (engine.Colo, bool) {
	oc, err := engine.LookupColo(colo)
	if err != nil {
		return oc, false
	}
	ic, err := engine.LookupColo(c.flow.IngressColo)
	if err != nil || oc.Country == ic.Country || h.country != "" && h.country != oc.Country {
		return oc, false
	}
	hh := *h
	hh.country, hh.continent = oc.Country, oc.Continent
	saved := c.hyp
	c.hyp = hh
	d2 := &c.dAbroad
	err = c.decide(l, d2)
	c.hyp = saved
	if err != nil || d2.Outcome != d.Outcome || d2.PolicyIndex != d.PolicyIndex || d2.EgressIP.IsValid() || d2.EgressIPv6Range.IsValid() {
		return oc, false
	}
	return oc, equalFold(d2.EgressColo, oc.Code)
}

// equidistantPick returns the candidate of a no-match decision that holds
// ip, when it is one of the dedicated IPs as near the ingress colo as the
// engine's pick (SPEC §2 rule 5). Cloudflare: "If there are two data
// centers of equal distance from the user, Gateway will split the traffic
// between the two data centers, and the load balancer will retain the same
// user selection and egress IP regardless of data center"
// (https://developers.cloudflare.com/cloudflare-one/policies/gateway/egress-policies/#load-balancing,
// read 2026-11). How it picks is not published; the engine's FNV-1a pick is
// our model, so any equidistant candidate agrees.
func equidistantPick(d *engine.Decision, ip netip.Addr, v4, grey4 bool) *engine.Candidate {
	if d.Outcome != engine.OutcomeNoMatch || len(d.Candidates) < 2 || !ip.IsValid() {
		return nil
	}
	// The engine's pick is among the nearest eligible candidates; eligibility:
	// healthy colo for grey IPv4, an IPv6 range for IPv6.
	nearest := -1.0
	for i := range d.Candidates {
		x := &d.Candidates[i]
		if !v4 && !x.IPv6Range.IsValid() || grey4 && x.Down {
			continue
		}
		if nearest < 0 || x.DistanceKm < nearest {
			nearest = x.DistanceKm
		}
	}
	for i := range d.Candidates {
		x := &d.Candidates[i]
		if !v4 && !x.IPv6Range.IsValid() || grey4 && x.Down || x.DistanceKm > nearest+equalDistanceKm {
			continue
		}
		if v4 && x.IPv4 == ip || !v4 && x.IPv6Range.Contains(ip) {
			return x
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func defaultText(d *engine.Decision) string {
	if d.Outcome == engine.OutcomeNotApplicable {
		return "egress policies do not apply (ICMP or a private network): shared pool"
	}
	return "default egress (the shared pool)"
}

func unavailableText(d *engine.Decision) string {
	if d.PolicyIndex >= 0 {
		return fmt.Sprintf("policy %d %q has no healthy egress", d.PolicyIndex, d.PolicyName)
	}
	return "no healthy dedicated egress IP"
}

// dedicatedText says which dedicated IP ip is ("" when none).
func (l *List) dedicatedText(ip netip.Addr) string {
	for i := range l.Inventory {
		x := &l.Inventory[i]
		if x.IPv4 == ip {
			return "the dedicated IP of " + x.Colo
		}
		if x.IPv6Range.IsValid() && x.IPv6Range.Contains(ip) {
			return fmt.Sprintf("in the dedicated range %s of %s", x.IPv6Range, x.Colo)
		}
	}
	return ""
}

// comparePlanned decides the record on the planned list under the same
// hypothesis and says whether its egress changes.
func (c *checker) comparePlanned(res *Result, liveDecided bool) {
	if c.planned == nil {
		return
	}
	res.PlannedRan = true
	if err := c.decide(c.planned, &res.Planned); err != nil {
		res.Planned = engine.Decision{Outcome: engine.OutcomeIndeterminate, PolicyIndex: -1, Missing: err.Error()}
	}
	if !liveDecided || res.Planned.Outcome == engine.OutcomeIndeterminate {
		return
	}
	res.PlannedDecided = true
	res.BeforeIP = egressIPText(&res.Model, res.pick)
	afterPick := (*engine.Candidate)(nil)
	if res.pick != nil {
		// The logged equidistant pick stays the user's IP if the planned
		// list leaves the same candidates in play.
		if res.Planned.EgressIP.IsValid() {
			afterPick = equidistantPick(&res.Planned, res.pick.IPv4, true, !c.hyp.proxied)
		} else if res.Planned.EgressIPv6Range.IsValid() {
			afterPick = equidistantPick(&res.Planned, res.pick.IPv6Range.Addr(), false, false)
		}
	}
	res.AfterIP = egressIPText(&res.Planned, afterPick)
	b, a := &res.Model, &res.Planned
	bColo, aColo := b.EgressColo, a.EgressColo
	if res.pick != nil && b.EgressIP.IsValid() && bColo != c.flow.IngressColo {
		bColo = res.pick.Colo
	}
	if afterPick != nil && a.EgressIP.IsValid() && aColo != c.flow.IngressColo {
		aColo = afterPick.Colo
	}
	res.Changed = res.BeforeIP != res.AfterIP || bColo != aColo || b.GeoCountry != a.GeoCountry ||
		(b.Outcome == engine.OutcomeUnavailable) != (a.Outcome == engine.OutcomeUnavailable) || b.Method != a.Method
}

// egressIPText is the decision's egress address: the IPv4, the IPv6 range,
// "" for the shared pool.
func egressIPText(d *engine.Decision, pick *engine.Candidate) string {
	switch {
	case pick != nil && d.EgressIP.IsValid():
		return pick.IPv4.String()
	case pick != nil && d.EgressIPv6Range.IsValid():
		return pick.IPv6Range.String()
	case d.EgressIP.IsValid():
		return d.EgressIP.String()
	case d.EgressIPv6Range.IsValid():
		return d.EgressIPv6Range.String()
	}
	return ""
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
