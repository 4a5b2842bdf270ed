package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace"
)

// Order findings: shadowed, catch_all_not_last, missing_catch_all,
// redundant. Every claim is a proof over the flow space; unknown values
// (expressions, enabled) are never guessed:
//   - a policy with an unknown or unanalysable expression may match anything
//     or nothing: it never covers another (shadowed, catch-all), and if it
//     may decide differently it blocks redundant; with any such policy
//     enabled, missing_catch_all is not reported;
//   - a policy whose enabled flag is unknown neither covers nor is checked.

const (
	enOff = iota
	enOn
	enUnknown
)

func (l *linter) enabled(i int) int {
	p := l.in.Policies[i]
	switch {
	case !p.EnabledKnown:
		return enUnknown
	case p.Enabled:
		return enOn
	}
	return enOff
}

func (l *linter) order() {
	ps := l.in.Policies
	n := len(ps)
	en := make([]int, n)
	for i := range ps {
		en[i] = l.enabled(i)
	}
	// One index over every policy's boxes; a policy whose expression is not
	// known (but may be enabled) is the whole flow space, so that redundancy
	// walks stop at it.
	isets := make([]*flowspace.Set, n)
	for i := range ps {
		isets[i] = l.sets[i]
		if isets[i] == nil && en[i] != enOff {
			isets[i] = l.an.Universe()
		}
	}
	l.ix = l.an.NewIndex(isets)
	l.onKnown = l.ix.Select(func(j int) bool { return en[j] == enOn && l.sets[j] != nil })
	l.maybeOn = l.ix.Select(func(j int) bool { return en[j] != enOff })
	l.sameEgress = map[egressKey]flowspace.Mask{}

	shadowed := make([]bool, n)
	catchAll := make([]engine.Tri, n) // Yes: certain, Unknown: possibly, No
	for i := 0; i < n; i++ {
		s := l.sets[i]
		if s == nil || en[i] != enOn {
			continue
		}
		shadowed[i] = l.shadowed(i)
		catchAll[i] = l.catchAll(i)
	}
	l.catchAllNotLast(en, catchAll)
	l.missingCatchAll(en, catchAll)
	for i := 0; i < n; i++ {
		if l.sets[i] == nil || en[i] != enOn || shadowed[i] || !l.egress[i].known {
			continue
		}
		l.redundant(i)
	}
}

func policyRef(ps []Policy, i int) string {
	if ps[i].NameKnown && ps[i].Name != "" {
		return fmt.Sprintf("%q (#%d)", ps[i].Name, i)
	}
	return fmt.Sprintf("#%d", i)
}

// policiesRef is refs with the noun: `policy "a" (#1)` or
// `policies "a" (#1), "b" (#2)`.
func policiesRef(ps []Policy, idx []int) string {
	return verb(len(idx), "policy ", "policies ") + refs(ps, idx)
}

// verb picks the singular or plural form for n things.
func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func refs(ps []Policy, idx []int) string {
	var s []string
	for _, i := range idx {
		s = append(s, policyRef(ps, i))
	}
	if len(s) > 5 {
		s = append(s[:5], fmt.Sprintf("and %d more", len(s)-5))
	}
	return strings.Join(s, ", ")
}

// shadowed reports policy i when the enabled policies before it match every
// flow it matches.
func (l *linter) shadowed(i int) bool {
	ps := l.in.Policies
	s := l.sets[i]
	l.stats.Questions++
	if s.Empty() {
		l.stats.Decided++
		msg := "the policy's expressions match no flow at all (they contradict each other), so it never applies: fix or remove it"
		if l.unspecifiedDst[i] {
			msg = "the policy's expressions match no flow at all: they need the destination to be the unspecified address (0.0.0.0 or ::), which no traffic is sent to (the engine refuses it as a destination too), so it never applies; `net.dst.ip != 0.0.0.0` is the catch-all idiom, `net.dst.ip == 0.0.0.0` matches nothing: fix or remove it"
		}
		l.add(i, RuleShadowed, SeverityError, "traffic", msg)
		return true
	}
	before := l.onKnown.And(l.ix.Range(0, i))
	q := l.an.NewQuestion()
	q.UseIndex(l.ix, before, l.ix.Empty())
	ans := q.Run(s, engine.No)
	used := append([]int(nil), q.Used()...)
	q.Release()
	if ans != engine.Unknown {
		l.stats.Decided++
	}
	switch ans {
	case engine.Unknown:
		l.add(i, RuleCannotAnalyse, SeverityWarning, "",
			fmt.Sprintf("could not decide within the analysis bound whether the %d earlier policies that overlap it shadow it; simplify the overlapping expressions to get a verdict", len(before.Owners(s))))
		return false
	case engine.No:
		return false
	}
	slices.Sort(used)
	possibly := false
	if l.opaqueInvolved(s, used) {
		qs := l.an.NewQuestion()
		for _, j := range before.Owners(s) {
			qs.Add(l.sets[j].Strict(false), j, false)
		}
		possibly = qs.Run(s.Strict(true), engine.No) != engine.Yes
		qs.Release()
	}
	if possibly {
		f := l.add(i, RuleShadowed, SeverityWarning, "traffic",
			fmt.Sprintf("possibly shadowed: %s before it %s every flow it matches, if the `matches`/$list conditions they share behave alike (the analyser treats them as opaque); reorder, narrow the earlier %s, or remove this one", policiesRef(ps, used), verb(len(used), "matches", "match"), verb(len(used), "policy", "policies")))
		f.Possibly, f.Covering = true, used
		return true // redundant would only repeat this
	}
	f := l.add(i, RuleShadowed, SeverityError, "traffic",
		fmt.Sprintf("no flow can reach it: %s before it already %s every flow it matches; move this policy above %s, narrow %s, or remove this one", policiesRef(ps, used), verb(len(used), "matches", "match"), verb(len(used), "it", "them"), verb(len(used), "it", "them")))
	f.Covering = used
	return true
}

func (l *linter) opaqueInvolved(s *flowspace.Set, others []int) bool {
	if s.Opaque() {
		return true
	}
	for _, j := range others {
		if l.sets[j] != nil && l.sets[j].Opaque() {
			return true
		}
	}
	return false
}

// catchAll: Yes if policy i matches every flow, Unknown if it does only if
// opaque atoms are always true, No otherwise.
func (l *linter) catchAll(i int) engine.Tri { return l.an.CoversAll(l.sets[i]) }

func (l *linter) catchAllNotLast(en []int, catchAll []engine.Tri) {
	ps := l.in.Policies
	for i := range ps {
		if catchAll[i] == engine.No || en[i] != enOn {
			continue
		}
		var after []int
		for k := i + 1; k < len(ps); k++ {
			if en[k] == enOn {
				after = append(after, k)
			}
		}
		if len(after) == 0 {
			continue
		}
		if catchAll[i] == engine.Unknown {
			f := l.add(i, RuleCatchAllNotLast, SeverityWarning, "traffic",
				fmt.Sprintf("possibly a catch-all (if its `matches`/$list conditions are always true) that is not the last enabled policy: %s after it would never match; move it to the end of the list", policiesRef(ps, after)))
			f.Possibly, f.Covering = true, after
			continue
		}
		f := l.add(i, RuleCatchAllNotLast, SeverityError, "traffic",
			fmt.Sprintf("a catch-all (it matches every flow) that is not the last enabled policy: %s after it can never match; move it to the end of the list or narrow its expression", policiesRef(ps, after)))
		f.Covering = after
	}
}

// missingCatchAll: some flow matches no enabled policy (it then leaves from
// the account's nearest dedicated IP).
func (l *linter) missingCatchAll(en []int, catchAll []engine.Tri) {
	mode := l.in.CatchAll
	if mode == "" {
		mode = CatchAllRecommended
	}
	ps := l.in.Policies
	if mode == CatchAllOff {
		return
	}
	if len(ps) == 0 {
		// Nothing to attach a warning to, and an empty list is a choice;
		// but "required" asked for a catch-all.
		if mode == CatchAllRequired {
			l.add(-1, RuleMissingCatchAll, SeverityError, "",
				"the list has no egress policies, so all traffic leaves from the account's dedicated egress IP nearest the user's colo: add a catch-all policy (traffic = `net.protocol in {\"tcp\" \"udp\"}`), or set catch_all = \"recommended\"")
		}
		return
	}
	var on []int
	for i := range ps {
		switch {
		case en[i] == enUnknown:
			return // it might be the catch-all
		case en[i] == enOff:
			continue
		case l.sets[i] == nil:
			return // unknown expression: it might match everything
		case catchAll[i] == engine.Yes:
			return
		}
		on = append(on, i)
	}
	u := l.an.Universe()
	q := l.an.NewQuestion()
	for _, i := range on {
		q.Add(l.sets[i], i, false)
	}
	ans := q.Run(u, engine.No)
	q.Release()
	if ans != engine.No {
		return // covered, or could not decide
	}
	// The witness may be an artefact of opaque atoms: retry with them true.
	q = l.an.NewQuestion()
	for _, i := range on {
		q.Add(l.sets[i].Optimistic(), i, false)
	}
	possibly := q.Run(u, engine.No) != engine.No
	q.Release()
	sev := SeverityWarning
	if mode == CatchAllRequired && !possibly {
		sev = SeverityError
	}
	msg := "some flows match no enabled policy and leave from the account's dedicated egress IP nearest the user's colo: add a catch-all as the last policy (traffic = `net.protocol in {\"tcp\" \"udp\"}`)"
	if possibly {
		msg = "possibly " + msg + " (unless its `matches`/$list conditions cover them)"
	}
	if mode == CatchAllRequired {
		msg += "; catch_all = \"required\""
	}
	f := l.add(-1, RuleMissingCatchAll, sev, "", msg)
	f.Possibly = possibly
}

// redundant reports policy i when removing it changes no decision: every
// flow that reaches it is decided the same way by the first later policy
// that matches it, or by the no-match behaviour.
func (l *linter) redundant(i int) {
	ps := l.in.Policies
	s := l.sets[i]
	me := l.egress[i]
	endOK := me.same(l.noMatch)
	n := len(ps)
	// Earlier enabled policies take their flows first. Later ones: the same
	// decision removes flows, a different (or unknown) one that can match a
	// remaining flow refutes redundancy; a same one that might be disabled
	// neither removes nor refutes.
	same, ok := l.sameEgress[me]
	if !ok {
		same = l.ix.Select(func(j int) bool { return me.same(l.egress[j]) })
		l.sameEgress[me] = same
	}
	later := l.ix.Range(i+1, n)
	sub := l.onKnown.And(l.ix.Range(0, i)).Or(l.onKnown.And(same).And(later))
	obs := l.maybeOn.And(later).Minus(same)
	end := engine.No
	if endOK {
		end = engine.Yes
	}
	l.stats.RedundancyQuestions++
	q := l.an.NewQuestion()
	q.UseIndex(l.ix, sub, obs)
	ans := q.Run(s, end)
	used := append([]int(nil), q.Used()...)
	q.Release()
	if ans != engine.Unknown {
		l.stats.RedundancyDecided++
	}
	if ans != engine.Yes {
		return
	}
	var deciders []int
	for _, j := range used {
		if j > i {
			deciders = append(deciders, j)
		}
	}
	slices.Sort(deciders)
	possibly := false
	involved := sub.Or(obs).Owners(s)
	if l.opaqueInvolved(s, involved) {
		qs := l.an.NewQuestion()
		for _, j := range involved {
			obstacle := j > i && (l.sets[j] == nil || !me.same(l.egress[j]))
			set := l.an.Universe()
			if l.sets[j] != nil {
				set = l.sets[j].Strict(obstacle)
			}
			qs.Add(set, j, obstacle)
		}
		possibly = qs.Run(s.Strict(true), end) != engine.Yes
		qs.Release()
	}
	by := ""
	switch {
	case len(deciders) > 0 && endOK:
		by = fmt.Sprintf("later policy %s or, for flows no policy matches, the no-match behaviour", refs(ps, deciders))
	case len(deciders) > 0:
		by = fmt.Sprintf("later policy %s", refs(ps, deciders))
	default:
		by = "the no-match behaviour (the account's only dedicated egress IP, or default egress without dedicated IPs)"
	}
	msg := fmt.Sprintf("removing it changes no decision: every flow it decides gets the same egress from %s; remove it, or change its egress if it should differ", by)
	f := l.add(i, RuleRedundant, SeverityWarning, "", msg)
	f.Covering = deciders
	if possibly {
		f.Possibly = true
		f.Message = "possibly redundant (the analyser treats `matches`/$list conditions as opaque): " + msg
	}
}
