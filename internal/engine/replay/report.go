package replay

import (
	"sort"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// accumulator gathers one worker's results; accumulators merge into the
// report. Everything it holds is bounded: counters, per-policy slices, at
// most MaxExamples examples and MaxGroups groups.
type accumulator struct {
	live, planned *List
	opt           Options

	records, rows, agree, disagree, undecidable int64
	changed, changeUndecidable                  int64
	hits, loggedHits, plannedHits               []int64
	inferred                                    Inferred
	colosDown                                   map[string]int64
	undecidableFields                           map[string]int64
	unknownRules                                map[LoggedRule]int64

	disagreements []Disagreement
	changes       []Change
	dGroups       map[dKey]*DisagreementGroup
	cGroups       map[cKey]*ChangeGroup
	truncated     bool
}

// dKey is the kind of a disagreement: the logged and modelled egress, with
// the logged address reduced to what it is (a dedicated IP, or not).
type dKey struct{ obs, model Egress }

type cKey struct{ before, after Egress }

func newAccumulator(live, planned *List, opt Options) *accumulator {
	a := &accumulator{
		live: live, planned: planned, opt: opt,
		hits:              make([]int64, len(live.Policies)),
		loggedHits:        make([]int64, len(live.Policies)),
		colosDown:         map[string]int64{},
		undecidableFields: map[string]int64{},
		unknownRules:      map[LoggedRule]int64{},
		dGroups:           map[dKey]*DisagreementGroup{},
		cGroups:           map[cKey]*ChangeGroup{},
	}
	if planned != nil {
		a.plannedHits = make([]int64, len(planned.Policies))
	}
	return a
}

// maxUnknownRules bounds the distinct unknown logged rules kept.
const maxUnknownRules = 1000

func (a *accumulator) add(num int, rec *engine.LoggedSession, res *Result) {
	w := rec.Count
	a.rows++
	a.records += w
	if lp := res.LoggedPolicy; lp >= 0 {
		a.loggedHits[lp] += w
	} else if !res.obs.ruleNone && res.obs.hasRule {
		k := LoggedRule{Name: res.obs.ruleName, ID: res.obs.ruleID}
		if _, ok := a.unknownRules[k]; ok || len(a.unknownRules) < maxUnknownRules {
			a.unknownRules[k] += w
		}
	}
	switch res.Verdict {
	case Agree:
		a.agree += w
		switch res.Proxied {
		case ProxiedGrey:
			a.inferred.Grey += w
		case ProxiedOrange:
			a.inferred.Orange += w
		default:
			a.inferred.Either += w
		}
		if len(res.ColosDown) > 0 {
			a.inferred.ColoDown += w
			for _, c := range res.ColosDown {
				a.colosDown[c] += w
			}
		}
		if res.UserCountry != "" {
			a.inferred.UserCountry += w
		}
		if res.Equidistant {
			a.inferred.Equidistant += w
		}
	case Disagree:
		a.disagree += w
		obs, model := observedEgress(res, a.live), modelEgress(&res.Model, nil)
		if len(a.disagreements) < a.opt.MaxExamples {
			a.disagreements = append(a.disagreements, Disagreement{
				SessionID: rec.SessionID, Line: num, Count: w, Observed: obs, Model: model, Reason: res.Reason,
			})
		}
		k := dKey{obs: obs, model: model}
		k.obs.EgressIP = a.live.ipClass(res.obs)
		if g := a.dGroups[k]; g != nil {
			g.Count += w
		} else if len(a.dGroups) < a.opt.MaxGroups {
			a.dGroups[k] = &DisagreementGroup{Count: w, Observed: k.obs, Model: model, Reason: res.Reason, Example: rec.SessionID, ExampleLine: num}
		} else {
			a.truncated = true
		}
	case Undecidable:
		a.undecidable += w
		a.undecidableFields[res.Missing] += w
	}
	if p := decidedPolicy(&res.Model); p >= 0 && res.Verdict != Undecidable {
		a.hits[p] += w
	}
	if a.planned == nil {
		return
	}
	if p := decidedPolicy(&res.Planned); res.PlannedRan && p >= 0 && res.Planned.Outcome != engine.OutcomeIndeterminate {
		a.plannedHits[p] += w
	}
	if !res.PlannedDecided {
		a.changeUndecidable += w
		return
	}
	if !res.Changed {
		return
	}
	a.changed += w
	before, after := modelEgress(&res.Model, nil), modelEgress(&res.Planned, nil)
	before.EgressIP, after.EgressIP = res.BeforeIP, res.AfterIP
	if len(a.changes) < a.opt.MaxExamples {
		a.changes = append(a.changes, Change{SessionID: rec.SessionID, Line: num, Count: w, Before: before, After: after})
	}
	k := cKey{before: before, after: after}
	if g := a.cGroups[k]; g != nil {
		g.Count += w
	} else if len(a.cGroups) < a.opt.MaxGroups {
		a.cGroups[k] = &ChangeGroup{Count: w, Before: before, After: after, Example: rec.SessionID, ExampleLine: num}
	} else {
		a.truncated = true
	}
}

// ipClass reduces a logged address to what it is for grouping: the
// dedicated IP (or range) it belongs to, "" when none was logged, else
// "not dedicated".
func (l *List) ipClass(o observed) string {
	if o.ipText == "" {
		return ""
	}
	for i := range l.Inventory {
		x := &l.Inventory[i]
		if x.IPv4 == o.ip {
			return x.IPv4.String()
		}
		if x.IPv6Range.IsValid() && x.IPv6Range.Contains(o.ip) {
			return x.IPv6Range.String()
		}
	}
	return "not dedicated"
}

func observedEgress(res *Result, l *List) Egress {
	o := &res.obs
	e := Egress{Policy: o.ruleName, PolicyID: o.ruleID, EgressIP: o.ipText, EgressColo: o.colo}
	if e.Policy == "" && res.LoggedPolicy >= 0 {
		e.Policy = l.Policies[res.LoggedPolicy].Name
	}
	return e
}

func modelEgress(d *engine.Decision, _ *engine.Candidate) Egress {
	e := Egress{Outcome: string(d.Outcome), Method: string(d.Method), EgressColo: d.EgressColo, GeoCountry: d.GeoCountry}
	if decidedPolicy(d) >= 0 {
		e.Policy, e.PolicyID = d.PolicyName, d.PolicyID
	}
	switch {
	case d.EgressIP.IsValid():
		e.EgressIP = d.EgressIP.String()
	case d.EgressIPv6Range.IsValid():
		e.EgressIP = d.EgressIPv6Range.String()
	}
	return e
}

// merge adds b's results to a. Examples stay the first ones by line: each
// worker sees its batches in log order, so the union holds the first
// MaxExamples of the whole log.
func (a *accumulator) merge(b *accumulator) {
	a.records += b.records
	a.rows += b.rows
	a.agree += b.agree
	a.disagree += b.disagree
	a.undecidable += b.undecidable
	a.changed += b.changed
	a.changeUndecidable += b.changeUndecidable
	for i := range a.hits {
		a.hits[i] += b.hits[i]
		a.loggedHits[i] += b.loggedHits[i]
	}
	for i := range a.plannedHits {
		a.plannedHits[i] += b.plannedHits[i]
	}
	a.inferred.Grey += b.inferred.Grey
	a.inferred.Orange += b.inferred.Orange
	a.inferred.Either += b.inferred.Either
	a.inferred.ColoDown += b.inferred.ColoDown
	a.inferred.UserCountry += b.inferred.UserCountry
	a.inferred.Equidistant += b.inferred.Equidistant
	for k, v := range b.colosDown {
		a.colosDown[k] += v
	}
	for k, v := range b.undecidableFields {
		a.undecidableFields[k] += v
	}
	for k, v := range b.unknownRules {
		if _, ok := a.unknownRules[k]; ok || len(a.unknownRules) < maxUnknownRules {
			a.unknownRules[k] += v
		}
	}
	a.disagreements = firstByLine(append(a.disagreements, b.disagreements...), func(d Disagreement) int { return d.Line }, a.opt.MaxExamples)
	a.changes = firstByLine(append(a.changes, b.changes...), func(c Change) int { return c.Line }, a.opt.MaxExamples)
	a.truncated = mergeGroups(a.dGroups, b.dGroups, a.opt.MaxGroups, func(have, g *DisagreementGroup) {
		have.Count += g.Count
		if g.ExampleLine < have.ExampleLine {
			have.Example, have.ExampleLine, have.Reason = g.Example, g.ExampleLine, g.Reason
		}
	}) || a.truncated
	a.truncated = mergeGroups(a.cGroups, b.cGroups, a.opt.MaxGroups, func(have, g *ChangeGroup) {
		have.Count += g.Count
		if g.ExampleLine < have.ExampleLine {
			have.Example, have.ExampleLine = g.Example, g.ExampleLine
		}
	}) || a.truncated
	a.truncated = a.truncated || b.truncated
}

func firstByLine[T any](xs []T, line func(T) int, n int) []T {
	sort.SliceStable(xs, func(i, j int) bool { return line(xs[i]) < line(xs[j]) })
	if len(xs) > n {
		xs = xs[:n]
	}
	return xs
}

func (a *accumulator) report() *Report {
	r := &Report{
		Records: a.records, Rows: a.rows, Agree: a.agree, Disagree: a.disagree, Undecidable: a.undecidable,
		Changed: a.changed, ChangeUndecidable: a.changeUndecidable,
		Inferred:        a.inferred,
		Disagreements:   nonNil(a.disagreements),
		Changes:         nonNil(a.changes),
		MalformedLines:  []MalformedLine{},
		GroupsTruncated: a.truncated,
	}
	r.Policies, r.Unused = policyHits(a.live, a.hits, a.loggedHits)
	if a.planned != nil {
		r.PlannedPolicies, r.PlannedUnused = policyHits(a.planned, a.plannedHits, nil)
	}
	r.Inferred.ColosDown = counts(a.colosDown)
	r.UndecidableFields = counts(a.undecidableFields)
	r.UnknownLoggedRules = []LoggedRule{}
	for k, v := range a.unknownRules {
		k.Count = v
		r.UnknownLoggedRules = append(r.UnknownLoggedRules, k)
	}
	sort.Slice(r.UnknownLoggedRules, func(i, j int) bool {
		x, y := r.UnknownLoggedRules[i], r.UnknownLoggedRules[j]
		if x.Count != y.Count {
			return x.Count > y.Count
		}
		return x.Name+"\x00"+x.ID < y.Name+"\x00"+y.ID
	})
	r.DisagreementGroups = sortedGroups(a.dGroups, func(g *DisagreementGroup) (int64, int) { return g.Count, g.ExampleLine })
	r.ChangeGroups = sortedGroups(a.cGroups, func(g *ChangeGroup) (int64, int) { return g.Count, g.ExampleLine })
	return r
}

// mergeGroups adds src's groups to dst (add merges one into an existing
// one); it reports whether some did not fit in limit.
func mergeGroups[K comparable, G any](dst, src map[K]*G, limit int, add func(have, g *G)) (truncated bool) {
	for k, g := range src {
		switch have := dst[k]; {
		case have != nil:
			add(have, g)
		case len(dst) < limit:
			dst[k] = g
		default:
			truncated = true
		}
	}
	return truncated
}

// sortedGroups lists the groups, most sessions first, then by first line.
func sortedGroups[K comparable, G any](m map[K]*G, key func(*G) (count int64, line int)) []G {
	out := make([]G, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		ci, li := key(&out[i])
		cj, lj := key(&out[j])
		if ci != cj {
			return ci > cj
		}
		return li < lj
	})
	return out
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func policyHits(l *List, hits, logged []int64) ([]PolicyHits, []string) {
	out := make([]PolicyHits, len(l.Policies))
	unused := []string{}
	for i := range l.Policies {
		p := &l.Policies[i]
		out[i] = PolicyHits{Name: p.Name, ID: p.ID, Enabled: p.Enabled, Hits: hits[i]}
		if logged != nil {
			out[i].LoggedHits = logged[i]
		}
		if out[i].Hits == 0 && out[i].LoggedHits == 0 {
			unused = append(unused, p.Name)
		}
	}
	return out, unused
}

func counts(m map[string]int64) []FieldCount {
	out := make([]FieldCount, 0, len(m))
	for k, v := range m {
		out = append(out, FieldCount{Name: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return strings.Compare(out[i].Name, out[j].Name) < 0
	})
	return out
}
