// Package lint checks an ordered list of egress policies before any API call
// (SPEC §4): names, expressions, egress settings against the account's
// dedicated IPs, and the order analysis no other tool offers for Gateway
// policies — shadowed policies, misplaced or missing catch-alls and
// redundant policies — proved with set analysis over the flow space.
//
// # The analysis
//
// Each policy becomes a set of flows in internal/engine/flowspace (the one
// place that says how a policy becomes a set: boxes, unions, witnesses,
// bounded coverage questions); this package only asks it questions. A
// finding whose proof needs a `matches` regex or `$list` reference (opaque
// to the algebra) is a warning that says "possibly"; a question past its
// work bound is reported as cannot_analyse, never answered wrongly. The
// fuzz tests check all of this against the evaluator.
//
// # Unknown values and silencing
//
// Values unknown at plan time are never guessed: a policy whose expression
// (or enabled flag) is unknown never proves anything, and order findings
// that such a policy could invalidate are not reported. Findings are
// silenced per policy by rule ID (Policy.LintIgnore); the list-level ones
// (missing_catch_all, inventory_too_small) by the last policy's LintIgnore,
// since the catch-all belongs there.
//
// It imports only the standard library and the engine packages.
package lint

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace"
)

// Severity is a finding's severity.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// CatchAllMode says how a missing catch-all at the bottom is reported.
type CatchAllMode string

const (
	// CatchAllRequired makes a missing catch-all an error.
	CatchAllRequired CatchAllMode = "required"
	// CatchAllRecommended makes it a warning (the default; also used for "").
	CatchAllRecommended CatchAllMode = "recommended"
	// CatchAllOff does not check.
	CatchAllOff CatchAllMode = "off"
)

// CatchAllModes lists every mode; validators and docs are built from it.
func CatchAllModes() []CatchAllMode {
	return []CatchAllMode{CatchAllRequired, CatchAllRecommended, CatchAllOff}
}

// Rule IDs (stable: users put them in lint_ignore).
const (
	RuleDuplicateName         = "duplicate_name"
	RuleEmptyName             = "empty_name"
	RuleExpressionSyntax      = "expression_syntax"
	RuleExpressionType        = "expression_type"
	RuleDedicatedMissingIP    = "dedicated_missing_ip"
	RuleDefaultWithIP         = "default_with_ip"
	RuleFallbackSameColo      = "fallback_same_colo"
	RuleFallbackEqualsPrimary = "fallback_equals_primary"
	RuleIPv6Fallback          = "ipv6_fallback"
	RuleShadowed              = "shadowed"
	RuleCatchAllNotLast       = "catch_all_not_last"
	RuleMissingCatchAll       = "missing_catch_all"
	RuleSplitLocation         = "split_location"
	RuleFallbackLocal         = "fallback_local"
	RuleRedundant             = "redundant"
	RuleIPNotDedicated        = "ip_not_dedicated"
	RuleInventoryTooSmall     = "inventory_too_small"
	RuleHostSelector          = "host_selector"
	RuleCannotAnalyse         = "cannot_analyse"
	// RuleExpressionTooLong: over Gateway's 140,000 characters per policy
	// expression (Cloudflare One account limits).
	RuleExpressionTooLong = "expression_too_long"
	// RuleNeverMatches: a literal no flow can carry (expr.WarnNeverMatches):
	// net.protocol == "TCP", net.src.geo.continent == "North America", an
	// upper-case host or domain, ...
	RuleNeverMatches = "never_matches"
	// RuleWrongSlot: a field in another expression than its own
	// (expr.WarnWrongSlot), e.g. identity.email in traffic.
	RuleWrongSlot = "wrong_slot"
)

// Rules lists every rule ID, sorted (for lint_ignore validators and docs).
func Rules() []string {
	r := []string{
		RuleDuplicateName, RuleEmptyName, RuleExpressionSyntax, RuleExpressionType,
		RuleDedicatedMissingIP, RuleDefaultWithIP, RuleFallbackSameColo,
		RuleFallbackEqualsPrimary, RuleIPv6Fallback, RuleShadowed, RuleCatchAllNotLast,
		RuleMissingCatchAll, RuleSplitLocation, RuleFallbackLocal, RuleRedundant,
		RuleIPNotDedicated, RuleInventoryTooSmall, RuleHostSelector, RuleCannotAnalyse,
		RuleExpressionTooLong, RuleNeverMatches, RuleWrongSlot,
	}
	sort.Strings(r)
	return r
}

// Policy is one egress policy as configured. A *Known=false field is
// unknown at plan time and is never guessed.
type Policy struct {
	Name      string
	NameKnown bool

	Enabled      bool
	EnabledKnown bool

	Traffic, Identity, DevicePosture          string // "" = no expression
	TrafficKnown, IdentityKnown, PostureKnown bool
	// FromAPI: the expressions were read from the API (data sources). One
	// that does not parse or type-check is reported as cannot_analyse (a
	// warning: it is Cloudflare's text, not the user's) instead of
	// expression_syntax / expression_type.
	FromAPI bool

	// Method is "default", "dedicated" or "" (unknown).
	Method string
	// Raw configuration strings; "" = unset. Malformed values are skipped
	// here (attribute validators report them).
	IPv4, IPv6, IPv4Fallback            string
	IPv4Known, IPv6Known, FallbackKnown bool
	// IPv6Fallback is set when the configuration asks for a secondary IPv6
	// (there is none).
	IPv6Fallback string

	// LintIgnore silences findings on this policy by rule ID. The last
	// policy's LintIgnore also silences the list-level findings
	// (missing_catch_all, inventory_too_small).
	LintIgnore []string
}

// Input is what Lint checks.
type Input struct {
	Policies []Policy
	// Inventory is the account's dedicated egress IPs; InventoryKnown says
	// whether it was given and known (checks against it are skipped
	// otherwise).
	Inventory      []engine.DedicatedIP
	InventoryKnown bool
	// InventoryName is what the caller's user calls the inventory (a
	// function's dedicated_ips, ...), named in messages; "" means
	// engine.DefaultInventoryName.
	InventoryName string
	CatchAll      CatchAllMode
	// Budget bounds the work of one set question (0: DefaultBudget); all
	// questions of one Lint together get 100 times that.
	Budget int

	noWitness bool // tests: decide by subtraction alone
}

// Finding is one lint result.
type Finding struct {
	Rule     string
	Severity Severity
	Policy   string // the policy's name ("" for list-level findings)
	Index    int    // 0-based position in the list; -1 for list-level findings
	// Attribute is the path inside the policy: "name", "traffic",
	// "identity", "device_posture", "egress.method", "egress.ipv4",
	// "egress.ipv6", "egress.ipv4_fallback", "egress.ipv6_fallback", or "".
	Attribute string
	Message   string // says what is wrong and how to fix it
	// Possibly: the finding relies on a `matches` regex or `$list`
	// reference the analyser treats as opaque; it is reported as a warning.
	Possibly bool
	// Covering lists, for shadowed, the earlier policies that cover it; for
	// redundant, the later policies that decide the same; for
	// catch_all_not_last, the enabled policies it hides.
	Covering []int
}

func (f Finding) String() string {
	where := "list"
	if f.Index >= 0 {
		where = fmt.Sprintf("policy %q (#%d)", f.Policy, f.Index)
		if f.Attribute != "" {
			where += " " + f.Attribute
		}
	}
	return fmt.Sprintf("%s %s: %s: %s", f.Severity, f.Rule, where, f.Message)
}

// Stats counts the set questions Lint asked and how many it decided within
// the work bound.
type Stats struct {
	// Questions: shadowing questions (is policy i covered by the enabled
	// policies before it?), one per enabled, analysable policy.
	Questions int
	// Decided: those answered yes or no (not "could not decide").
	Decided int
	// RedundancyQuestions / RedundancyDecided: the same for redundant.
	RedundancyQuestions int
	RedundancyDecided   int
}

// Lint returns the findings for in, ordered by index, then rule.
func Lint(in Input) []Finding {
	fs, _ := LintWithStats(in)
	return fs
}

// LintWithStats is Lint that also reports how many questions it decided.
func LintWithStats(in Input) ([]Finding, Stats) {
	l := &linter{in: in, an: flowspace.NewAnalyzer()}
	l.an.Budget, l.an.NoWitness = in.Budget, in.noWitness
	// All questions together: 100 questions' worth of subtractions, and
	// overlap tests quadratic in the list (the 5,000-policy benchmark corpus
	// needs about 17M of its 328M), so no list can add up to minutes.
	n := len(in.Policies)
	b := l.an.EffectiveBudget()
	l.an.LimitTotal(100*b, 100*64*b+8*n*n)
	l.run()
	return l.result(), l.stats
}

type linter struct {
	in    Input
	an    *flowspace.Analyzer
	out   []Finding
	stats Stats

	sets []*flowspace.Set // nil: unknown, invalid or too complex
	// unspecifiedDst[i]: policy i compares net.dst.ip with 0.0.0.0 or ::
	// by == or in (a destination no flow has).
	unspecifiedDst []bool
	egress         []egressKey // per policy
	inv            invIndex
	noMatch        egressKey

	// the order analysis: the index of every policy's boxes, and masks of
	// it
	ix         *flowspace.Index
	onKnown    flowspace.Mask // enabled, expression known
	maybeOn    flowspace.Mask // not disabled
	sameEgress map[egressKey]flowspace.Mask
}

func (l *linter) add(i int, rule string, sev Severity, attr, msg string) *Finding {
	f := Finding{Rule: rule, Severity: sev, Index: i, Attribute: attr, Message: msg}
	if i >= 0 {
		f.Policy = l.in.Policies[i].Name
	}
	l.out = append(l.out, f)
	return &l.out[len(l.out)-1]
}

func (l *linter) run() {
	ps := l.in.Policies
	l.inv = newInvIndex(l.in.Inventory)
	l.sets = make([]*flowspace.Set, len(ps))
	l.unspecifiedDst = make([]bool, len(ps))
	l.egress = make([]egressKey, len(ps))
	l.names()
	for i := range ps {
		l.expressions(i)
		l.egressRules(i)
	}
	l.inventory()
	l.noMatch = l.noMatchEgress()
	l.order()
}

func (l *linter) result() []Finding {
	var out []Finding
	last := len(l.in.Policies) - 1
	for _, f := range l.out {
		j := f.Index
		if j < 0 {
			j = last
		}
		if j >= 0 && slices.Contains(l.in.Policies[j].LintIgnore, f.Rule) {
			continue
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if x.Index != y.Index {
			return x.Index < y.Index
		}
		if x.Rule != y.Rule {
			return x.Rule < y.Rule
		}
		if x.Attribute != y.Attribute {
			return x.Attribute < y.Attribute
		}
		return x.Message < y.Message
	})
	return out
}

// names: duplicate_name, empty_name.
func (l *linter) names() {
	first := map[string]int{}
	for i, p := range l.in.Policies {
		if !p.NameKnown {
			continue
		}
		if strings.TrimSpace(p.Name) == "" {
			l.add(i, RuleEmptyName, SeverityError, "name", "the policy has no name: set name to a unique, non-empty string")
			continue
		}
		if j, ok := first[p.Name]; ok {
			l.add(i, RuleDuplicateName, SeverityError, "name",
				fmt.Sprintf("policy #%d already has the name %q: policy names must be unique; rename one of them", j, p.Name))
			continue
		}
		first[p.Name] = i
	}
}

// expressions: expression_syntax, expression_type, host_selector,
// cannot_analyse, and the policy's set of flows.
func (l *linter) expressions(i int) {
	p := l.in.Policies[i]
	srcs := []struct {
		attr  string
		src   string
		known bool
		slot  expr.Selector
	}{
		{"traffic", p.Traffic, p.TrafficKnown, expr.SelTraffic},
		{"identity", p.Identity, p.IdentityKnown, expr.SelIdentity},
		{"device_posture", p.DevicePosture, p.PostureKnown, expr.SelPosture},
	}
	var nodes []expr.Node
	ok := true
	for _, s := range srcs {
		if !s.known {
			ok = false
			continue
		}
		if long, n := expr.TooLong(s.src); long {
			ok = false
			l.add(i, RuleExpressionTooLong, SeverityError, s.attr,
				fmt.Sprintf("the %s expression is %d characters long: Gateway accepts at most %d characters per policy expression (Cloudflare One account limits) and would reject the rule; split the policy into several", s.attr, n, expr.MaxExpressionLength))
			continue
		}
		n, err := expr.Parse(s.src)
		rule := RuleExpressionSyntax
		if err == nil {
			err = expr.Check(n)
			rule = RuleExpressionType
		}
		if err != nil {
			ok = false
			if p.FromAPI {
				l.add(i, RuleCannotAnalyse, SeverityWarning, s.attr,
					fmt.Sprintf("the expression stored in Cloudflare cannot be analysed (%v): it is kept as text; order checks skip this policy", err))
			} else {
				l.add(i, rule, SeverityError, s.attr, fmt.Sprintf("%v: fix the %s expression", err, s.attr))
			}
			continue
		}
		for _, w := range expr.Warnings(n, s.slot) {
			rule := RuleNeverMatches
			if w.Kind == expr.WarnWrongSlot {
				rule = RuleWrongSlot
			}
			l.add(i, rule, SeverityWarning, s.attr, w.String())
		}
		if hf := expr.HostSelectorField(n); hf != "" {
			l.add(i, RuleHostSelector, SeverityWarning, s.attr,
				fmt.Sprintf("%s is a host selector: it only matches when Gateway's host selector setting is enabled for the account (Settings > Network > Egress); enable it or select traffic by IP", hf))
		}
		nodes = append(nodes, n)
		if mentionsUnspecifiedDst(n) {
			l.unspecifiedDst[i] = true
		}
	}
	if !ok {
		return
	}
	s, err := l.an.Compile(nodes...)
	if err != nil {
		l.add(i, RuleCannotAnalyse, SeverityWarning, "",
			fmt.Sprintf("the expressions are too complex to analyse (their combination needs more than %d boxes): order checks skip this policy; split it into simpler policies to get them", flowspace.MaxBoxes))
		return
	}
	l.sets[i] = s
}

// mentionsUnspecifiedDst reports whether n asks for the destination
// 0.0.0.0 or :: with == or in.
func mentionsUnspecifiedDst(n expr.Node) bool {
	unspec := func(v expr.Value) bool {
		return (v.Kind == expr.VIP && v.IP.Unmap().IsUnspecified()) ||
			(v.Kind == expr.VCIDR && v.Prefix.Bits() == v.Prefix.Addr().BitLen() && v.Prefix.Addr().Unmap().IsUnspecified())
	}
	found := false
	expr.Walk(n, func(x expr.Node) bool {
		switch x := x.(type) {
		case *expr.Compare:
			found = found || x.Field.Name == "net.dst.ip" && x.Op == expr.OpEq && unspec(x.Value)
		case *expr.In:
			found = found || x.Field.Name == "net.dst.ip" && slices.ContainsFunc(x.Set, unspec)
		}
		return !found
	})
	return found
}

// egressKey is a policy's egress settings by meaning.
type egressKey struct {
	known  bool
	method string
	v4     netip.Addr
	v6     netip.Prefix
	fb     netip.Addr // invalid: no fallback
}

func (a egressKey) same(b egressKey) bool {
	if !a.known || !b.known || a.method != b.method {
		return false
	}
	if a.method == string(engine.MethodDefault) {
		return true
	}
	return a.v4 == b.v4 && a.v6 == b.v6 && a.fb == b.fb
}

func parseV4(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, false
	}
	a = a.Unmap()
	return a, a.Is4()
}

func parseV6(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is6() && !p.Addr().Is4In6() {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is6() && !a.Is4In6() {
		return netip.PrefixFrom(a, 128), true
	}
	return netip.Prefix{}, false
}

// egressRules: dedicated_missing_ip, default_with_ip, ipv6_fallback,
// fallback_local, fallback_equals_primary, ip_not_dedicated,
// fallback_same_colo, split_location.
func (l *linter) egressRules(i int) {
	p := l.in.Policies[i]
	type attr struct {
		name  string
		val   string
		known bool
	}
	attrs := []attr{
		{"egress.ipv4", p.IPv4, p.IPv4Known},
		{"egress.ipv6", p.IPv6, p.IPv6Known},
		{"egress.ipv4_fallback", p.IPv4Fallback, p.FallbackKnown},
	}
	if p.IPv6Fallback != "" {
		l.add(i, RuleIPv6Fallback, SeverityError, "egress.ipv6_fallback",
			"there is no secondary IPv6: IPv6 traffic leaves from any colo with the policy's IPv6 range; remove the IPv6 fallback")
	}
	switch p.Method {
	case string(engine.MethodDefault):
		for _, a := range attrs {
			if a.known && strings.TrimSpace(a.val) != "" {
				l.add(i, RuleDefaultWithIP, SeverityError, a.name,
					fmt.Sprintf("default egress uses Cloudflare's shared pool and takes no IPs: remove %s, or set egress.method = \"dedicated\"", a.name))
			}
		}
		l.egress[i] = egressKey{known: true, method: p.Method}
		return
	case string(engine.MethodDedicated):
		for _, a := range attrs {
			if a.known && strings.TrimSpace(a.val) == "" {
				fix := "set it to one of the account's dedicated IPv4 addresses"
				switch a.name {
				case "egress.ipv6":
					fix = "set it to the IPv6 range (/64) of one of the account's dedicated egress IPs"
				case "egress.ipv4_fallback":
					fix = "set it to a dedicated IPv4 in another colo, or to \"0.0.0.0\" to fall back to default egress"
				}
				l.add(i, RuleDedicatedMissingIP, SeverityError, a.name,
					fmt.Sprintf("dedicated egress needs %s: %s", a.name, fix))
			}
		}
	}

	v4, ok4 := parseV4(p.IPv4)
	v6, ok6 := parseV6(p.IPv6)
	fb, okfb := parseV4(p.IPv4Fallback)
	ok4 = ok4 && p.IPv4Known
	ok6 = ok6 && p.IPv6Known
	okfb = okfb && p.FallbackKnown
	local := okfb && fb == netip.IPv4Unspecified()

	if p.Method == string(engine.MethodDedicated) {
		k := egressKey{known: p.IPv4Known && p.IPv6Known && p.FallbackKnown, method: p.Method, v4: v4, v6: v6, fb: fb}
		if (p.IPv4 != "" && !ok4) || (p.IPv6 != "" && !ok6) || (p.IPv4Fallback != "" && !okfb) {
			k.known = false // malformed: validators report it
		}
		l.egress[i] = k
	}

	if local {
		l.add(i, RuleFallbackLocal, SeverityWarning, "egress.ipv4_fallback",
			"ipv4_fallback = \"0.0.0.0\" falls back to default egress: when the primary's colo is down, traffic silently loses its fixed source IP; set a dedicated IPv4 in another colo instead")
	}
	if ok4 && okfb && v4 == fb {
		l.add(i, RuleFallbackEqualsPrimary, SeverityError, "egress.ipv4_fallback",
			"ipv4_fallback equals ipv4, so an outage of its colo leaves no secondary: set a dedicated IPv4 in another colo, or \"0.0.0.0\"")
	}
	if !l.in.InventoryKnown || p.Method == string(engine.MethodDefault) {
		return
	}
	c4, in4 := l.inv.v4[v4]
	cfb, infb := l.inv.v4[fb]
	c6, in6 := l.inv.colo6(v6)
	if ok4 && !in4 {
		l.add(i, RuleIPNotDedicated, SeverityError, "egress.ipv4",
			fmt.Sprintf("%s is not one of the account's dedicated egress IPv4 addresses (%s): use one of them, or add it to %s", v4, l.inv.list4(), l.invName()))
	}
	if okfb && !local && !infb {
		l.add(i, RuleIPNotDedicated, SeverityError, "egress.ipv4_fallback",
			fmt.Sprintf("%s is not one of the account's dedicated egress IPv4 addresses (%s): use one of them, \"0.0.0.0\", or add it to %s", fb, l.inv.list4(), l.invName()))
	}
	if ok6 && !in6 {
		l.add(i, RuleIPNotDedicated, SeverityError, "egress.ipv6",
			fmt.Sprintf("%s is not within the IPv6 range of any of the account's dedicated egress IPs (%s): use one of them, or add it to %s", v6, l.inv.list6(), l.invName()))
	}
	if ok4 && okfb && !local && in4 && infb && v4 != fb && c4 == cfb {
		l.add(i, RuleFallbackSameColo, SeverityError, "egress.ipv4_fallback",
			fmt.Sprintf("ipv4_fallback %s is in %s, the same colo as ipv4 %s, so it does not help when that colo is down: use a dedicated IPv4 in another colo, or \"0.0.0.0\"", fb, cfb, v4))
	}
	if ok4 && ok6 && in4 && in6 && c4 != c6 {
		l.add(i, RuleSplitLocation, SeverityWarning, "egress.ipv6",
			fmt.Sprintf("ipv4 %s is in %s but the ipv6 range %s is in %s: IPv4 and IPv6 users get different geolocations; use the IPv6 range of the same dedicated egress IP", v4, c4, v6, c6))
	}
}

// invIndex indexes the inventory.
type invIndex struct {
	v4   map[netip.Addr]string // IPv4 -> colo
	list []engine.DedicatedIP
}

func newInvIndex(inv []engine.DedicatedIP) invIndex {
	x := invIndex{v4: map[netip.Addr]string{}, list: inv}
	for _, d := range inv {
		if d.IPv4.IsValid() {
			x.v4[d.IPv4.Unmap()] = d.Colo
		}
	}
	return x
}

// colo6 returns the colo of the inventory range that holds p.
func (x invIndex) colo6(p netip.Prefix) (string, bool) {
	if !p.IsValid() {
		return "", false
	}
	for _, d := range x.list {
		r := d.IPv6Range
		if r.IsValid() && r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return d.Colo, true
		}
	}
	return "", false
}

func (x invIndex) list4() string {
	var s []string
	for _, d := range x.list {
		if d.IPv4.IsValid() {
			s = append(s, d.IPv4.String())
		}
	}
	if len(s) == 0 {
		return "none declared"
	}
	return strings.Join(s, ", ")
}

func (x invIndex) list6() string {
	var s []string
	for _, d := range x.list {
		if d.IPv6Range.IsValid() {
			s = append(s, d.IPv6Range.String())
		}
	}
	if len(s) == 0 {
		return "none declared"
	}
	return strings.Join(s, ", ")
}

// invName is the inventory's name in messages.
func (l *linter) invName() string { return cmp.Or(l.in.InventoryName, engine.DefaultInventoryName) }

// inventory: inventory_too_small.
func (l *linter) inventory() {
	if !l.in.InventoryKnown {
		return
	}
	inv := l.in.Inventory
	colos := map[string]bool{}
	for _, d := range inv {
		colos[d.Colo] = true
	}
	switch {
	case len(inv) < 2:
		l.add(-1, RuleInventoryTooSmall, SeverityWarning, "",
			fmt.Sprintf("the account has %d dedicated egress IP(s); Cloudflare allocates at least two, in two colos, so a colo outage has a secondary: declare them all in %s", len(inv), l.invName()))
	case len(colos) < 2:
		l.add(-1, RuleInventoryTooSmall, SeverityWarning, "",
			fmt.Sprintf("all %d dedicated egress IPs are in one colo (%s): an outage of that colo leaves no secondary; ask Cloudflare for one in another colo", len(inv), inv[0].Colo))
	}
}

// noMatchEgress is what happens to a flow no policy matches, when that is a
// fixed egress: default egress without dedicated IPs, the only dedicated IP
// when there is one. With two or more the nearest to the ingress colo is
// used, which no single policy reproduces.
func (l *linter) noMatchEgress() egressKey {
	if !l.in.InventoryKnown {
		return egressKey{}
	}
	switch inv := l.in.Inventory; len(inv) {
	case 0:
		return egressKey{known: true, method: string(engine.MethodDefault)}
	case 1:
		return egressKey{known: true, method: string(engine.MethodDedicated), v4: inv[0].IPv4.Unmap(), v6: inv[0].IPv6Range.Masked()}
	}
	return egressKey{}
}
