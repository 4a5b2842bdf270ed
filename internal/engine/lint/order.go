package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
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
	ov := l.overlaps(en)

	shadowed := make([]bool, n)
	catchAll := make([]engine.Tri, n) // Yes: certain, Unknown: possibly, No
	for i := 0; i < n; i++ {
		s := l.sets[i]
		if s == nil || en[i] != enOn {
			continue
		}
		shadowed[i] = l.shadowed(i, en, ov[i])
		catchAll[i] = l.catchAll(i)
	}
	l.catchAllNotLast(en, catchAll)
	l.missingCatchAll(en, catchAll)
	var unknown []int // policies that may be enabled with an unknown set
	for i := 0; i < n; i++ {
		if l.sets[i] == nil && en[i] != enOff {
			unknown = append(unknown, i)
		}
	}
	for i := 0; i < n; i++ {
		if l.sets[i] == nil || en[i] != enOn || shadowed[i] || !l.egress[i].known {
			continue
		}
		l.redundant(i, en, ov[i], unknown)
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
func (l *linter) shadowed(i int, en []int, ov []int) bool {
	ps := l.in.Policies
	s := l.sets[i]
	l.stats.Questions++
	if len(s.boxes) == 0 {
		l.stats.Decided++
		l.add(i, RuleShadowed, SeverityError, "traffic",
			"the policy's expressions match no flow at all (they contradict each other), so it never applies: fix or remove it")
		return true
	}
	cands := l.ints[:0]
	defer func() { l.ints = cands[:0] }()
	for _, j := range ov {
		if j >= i {
			break
		}
		if en[j] == enOn {
			cands = append(cands, j)
		}
	}
	build := func(strict bool) *question {
		q := l.an.newQuestion()
		q.seq = l.seq[:0]
		defer func() { l.seq = q.seq[:0] }()
		for _, j := range cands {
			sj := l.sets[j]
			if strict {
				sj = sj.strict(false)
			}
			q.add(sj, j, false)
		}
		return q
	}
	q := build(false)
	ans := q.run(s.boxes, engine.No)
	if ans != engine.Unknown {
		l.stats.Decided++
	}
	switch ans {
	case engine.Unknown:
		l.add(i, RuleCannotAnalyse, SeverityWarning, "",
			fmt.Sprintf("could not decide within the analysis bound whether the %d earlier policies that overlap it shadow it; simplify the overlapping expressions to get a verdict", len(cands)))
		return false
	case engine.No:
		return false
	}
	used := append([]int(nil), q.used...)
	slices.Sort(used)
	possibly := false
	if l.opaqueInvolved(s, used) {
		qs := build(true)
		possibly = qs.run(s.strict(true).boxes, engine.No) != engine.Yes
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

func (l *linter) opaqueInvolved(s *Set, others []int) bool {
	if s.opaque {
		return true
	}
	for _, j := range others {
		if l.sets[j] != nil && l.sets[j].opaque {
			return true
		}
	}
	return false
}

// catchAll: Yes if policy i matches every flow, Unknown if it does only if
// opaque atoms are always true, No otherwise.
func (l *linter) catchAll(i int) engine.Tri {
	s := l.sets[i]
	for _, x := range s.hull {
		if !l.an.sp.dims[x.dim].univ.subsetOf(x.c) {
			return engine.No
		}
	}
	u := fset{box{}}
	q := l.an.newQuestion()
	q.add(s, i, false)
	if q.run(u, engine.No) != engine.Yes {
		return engine.No
	}
	if !s.opaque {
		return engine.Yes
	}
	q = l.an.newQuestion()
	q.add(s.strict(false), i, false)
	if q.run(u, engine.No) == engine.Yes {
		return engine.Yes
	}
	return engine.Unknown
}

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
	u := fset{box{}}
	q := l.an.newQuestion()
	for _, i := range on {
		q.add(l.sets[i], i, false)
	}
	if q.run(u, engine.No) != engine.No {
		return // covered, or could not decide
	}
	// The witness may be an artefact of opaque atoms: retry with them true.
	q = l.an.newQuestion()
	for _, i := range on {
		q.add(l.sets[i].optimistic(), i, false)
	}
	possibly := q.run(u, engine.No) != engine.No
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

// optimistic returns s with opaque constraints erased (every opaque atom may
// be true).
func (s *Set) optimistic() *Set { return s.strict(true) }

// redundant reports policy i when removing it changes no decision: every
// flow that reaches it is decided the same way by the first later policy
// that matches it, or by the no-match behaviour.
func (l *linter) redundant(i int, en []int, ov, unknown []int) {
	ps := l.in.Policies
	s := l.sets[i]
	me := l.egress[i]
	endOK := me.same(l.noMatch)
	steps := l.steps[:0]
	defer func() { l.steps = steps[:0] }()
	// Earlier enabled policies take their flows first.
	for _, j := range ov {
		if j >= i {
			break
		}
		if en[j] == enOn {
			steps = append(steps, step{j, l.sets[j], false})
		}
	}
	// Later ones: the same decision removes flows, a different (or unknown)
	// one that can match a remaining flow refutes redundancy.
	// Only the overlapping ones and those with unknown expressions matter.
	later := l.ints[:0]
	defer func() { l.ints = later[:0] }()
	for _, j := range ov {
		if j > i {
			later = append(later, j)
		}
	}
	for _, j := range unknown {
		if j > i {
			later = append(later, j)
		}
	}
	slices.Sort(later)
	for _, j := range later {
		if en[j] == enOff {
			continue
		}
		same := me.same(l.egress[j])
		if l.sets[j] == nil {
			if !same {
				steps = append(steps, step{j, l.an.Universe(), true})
			}
			continue
		}
		switch {
		case same && en[j] == enOn:
			steps = append(steps, step{j, l.sets[j], false})
		case same:
			// might be disabled: neither removes nor refutes
		default:
			steps = append(steps, step{j, l.sets[j], true})
		}
	}
	build := func(strict bool) *question {
		q := l.an.newQuestion()
		q.seq = l.seq[:0]
		defer func() { l.seq = q.seq[:0] }()
		for _, st := range steps {
			set := st.set
			if strict {
				set = set.strict(st.obstacle)
			}
			q.add(set, st.j, st.obstacle)
		}
		return q
	}
	end := engine.No
	if endOK {
		end = engine.Yes
	}
	l.stats.RedundancyQuestions++
	q := build(false)
	ans := q.run(s.boxes, end)
	if ans != engine.Unknown {
		l.stats.RedundancyDecided++
	}
	if ans != engine.Yes {
		return
	}
	var deciders []int
	for _, j := range q.used {
		if j > i {
			deciders = append(deciders, j)
		}
	}
	slices.Sort(deciders)
	possibly := false
	var involved []int
	for _, st := range steps {
		involved = append(involved, st.j)
	}
	if l.opaqueInvolved(s, involved) {
		possibly = build(true).run(s.strict(true).boxes, end) != engine.Yes
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

// overlaps returns, per policy, the other analysable, possibly enabled
// policies whose hulls overlap its hull (sorted). Policies whose hulls
// constrain the destination IP are paired by a sweep over their address
// ranges, so disjoint CIDRs cost nothing; the others are tested against all.
func (l *linter) overlaps(en []int) [][]int {
	n := len(l.sets)
	ov := make([][]int, n)
	live := func(i int) bool { return l.sets[i] != nil && en[i] != enOff && len(l.sets[i].boxes) > 0 }
	check := func(i, j int) {
		if boxOverlap(l.sets[i].hull, l.sets[j].hull) {
			ov[i] = append(ov[i], j)
			ov[j] = append(ov[j], i)
		}
	}
	type span struct {
		lo, hi u128
		i      int
	}
	var v4, v6 []span
	var free []int // no destination-IP bound
	dst, hasDst := l.an.sp.byName["net.dst.ip"]
	for i := 0; i < n; i++ {
		if !live(i) {
			continue
		}
		c, ok := cons{}, false
		if hasDst {
			c, ok = l.sets[i].hull.get(dst)
		}
		if !ok {
			free = append(free, i)
			continue
		}
		if len(c.v4) > 0 {
			v4 = append(v4, span{c.v4[0].lo, c.v4[len(c.v4)-1].hi, i})
		}
		if len(c.v6) > 0 {
			v6 = append(v6, span{c.v6[0].lo, c.v6[len(c.v6)-1].hi, i})
		}
	}
	pairs := map[[2]int]bool{}
	for _, list := range [][]span{v4, v6} {
		slices.SortFunc(list, func(a, b span) int { return a.lo.cmp(b.lo) })
		for x, a := range list {
			for y := x + 1; y < len(list) && list[y].lo.cmp(a.hi) <= 0; y++ {
				i, j := min(a.i, list[y].i), max(a.i, list[y].i)
				if !pairs[[2]int{i, j}] {
					pairs[[2]int{i, j}] = true
					check(i, j)
				}
			}
		}
	}
	for x, i := range free {
		for _, j := range free[x+1:] {
			check(i, j)
		}
		for j := 0; j < n; j++ {
			if live(j) && j != i {
				if _, isFree := slices.BinarySearch(free, j); !isFree {
					check(i, j)
				}
			}
		}
	}
	for i := range ov {
		slices.Sort(ov[i])
		ov[i] = slices.Compact(ov[i])
	}
	return ov
}

// step is one policy of a redundancy walk.
type step struct {
	j        int
	set      *Set
	obstacle bool
}
