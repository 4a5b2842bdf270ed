package impact

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace"
)

// Options bound the analysis.
type Options struct {
	// MaxRegions is the most regions reported one by one (0: 50); the
	// others are summarised in Result.More, never dropped silently.
	MaxRegions int
	// Budget is the work bound of one walk (0: flowspace.DefaultBudget).
	Budget int
}

// Decider is who decides a flow on one side: a policy, or none (no policy
// matched: the nearest dedicated IP).
type Decider struct {
	Index int    // policy index, -1 for none
	Name  string // the policy's name ("" for none)
	// Group is, for none, the dedicated IPs the flow may leave from (their
	// IPv4s, space separated; several when equidistant: the engine picks
	// one per user); "" for a policy or default egress.
	Group string
}

func (d Decider) String() string {
	if d.Index < 0 {
		if d.Group == "" {
			return "no policy (default egress)"
		}
		return "no policy (nearest dedicated IP " + d.Group + ")"
	}
	return fmt.Sprintf("%q (#%d)", d.Name, d.Index)
}

// Region is a set of flows decided by one decider before and one after,
// differently.
type Region struct {
	Before, After Decider
	// Description is the region: an expression over the flow's fields,
	// and the flow kinds and ingress colos it holds.
	Description flowspace.Description
	// Example is one flow of the region; ExampleBefore and ExampleAfter are
	// engine.Decide's decisions for it on each side.
	Example                     engine.Flow
	ExampleBefore, ExampleAfter engine.Decision
	// Confirmed: Decide decides Example differently on the two sides (the
	// region's change is real).
	Confirmed bool
	// Exact: Description is the region itself; otherwise an outer bound
	// (it also holds flows that policies ahead of either decider take: the
	// exact region had too many pieces to spell out).
	Exact bool
	// Possibly: the region's extent depends on `matches` or $list
	// conditions the algebra treats as opaque, or on which equidistant
	// dedicated IP a user gets; Note says which.
	Possibly bool
	Note     string

	set *flowspace.Set
}

// String is the region in one line.
func (r Region) String() string {
	return fmt.Sprintf("%s: %s -> %s", Text(r.Description), r.Before, r.After)
}

// Text is a description in one line: the expression, the kinds and the
// ingress colos.
func Text(d flowspace.Description) string {
	expr := d.Expression
	if expr == "" {
		expr = "all traffic"
	}
	var qual []string
	if len(d.Kinds) < 3 {
		var ks []string
		for _, k := range d.Kinds {
			ks = append(ks, k.String())
		}
		qual = append(qual, strings.Join(ks, ", "))
	}
	if d.IngressColos != nil {
		cs := d.IngressColos
		if len(cs) > 8 {
			cs = append(append([]string(nil), cs[:8]...), fmt.Sprintf("and %d more", len(d.IngressColos)-8))
		}
		qual = append(qual, "from "+strings.Join(cs, " "))
	}
	if len(qual) > 0 {
		expr += " [" + strings.Join(qual, "; ") + "]"
	}
	return expr
}

// Result is what a change moves.
type Result struct {
	// Regions are the regions reported one by one, ordered by the after
	// list's deciding policy, then the before one.
	Regions []Region
	// More summarises the regions past Options.MaxRegions, one line per
	// pair of deciders ("" when none were left out).
	More []string
	// MoreCount is the number of regions More stands for.
	MoreCount int
	// Incomplete says why the regions may not be all of them (a walk past
	// its work bound, a policy too complex to analyse); empty when the
	// answer is exact.
	Incomplete []string

	// before, after: the compiled lists (for Elements).
	before, after *engine.Engine
}

// Moves reports whether the change moves any traffic (a region, listed or
// summarised).
func (r *Result) Moves() bool { return len(r.Regions) > 0 || r.MoreCount > 0 }

// Analyze returns the regions of the flow space that before and after
// decide differently.
func Analyze(before, after Side, opt Options) (*Result, error) {
	if opt.MaxRegions <= 0 {
		opt.MaxRegions = 50
	}
	a := flowspace.NewAnalyzer()
	a.Budget = opt.Budget
	cache := map[string]*flowspace.Set{}
	mb, err := compileSide(a, before, cache, "before")
	if err != nil {
		return nil, err
	}
	ma, err := compileSide(a, after, cache, "after")
	if err != nil {
		return nil, err
	}
	an := &analysis{a: a, mb: mb, ma: ma, regions: map[regionKey]*regionAcc{}}
	an.res.before, an.res.after = mb.eng, ma.eng
	for _, i := range mb.tooComplex {
		an.res.Incomplete = append(an.res.Incomplete, fmt.Sprintf("before: policy %q (#%d) is too complex to analyse: the flows it decides are not compared", before.Policies[i].Name, i))
	}
	for _, j := range ma.tooComplex {
		an.res.Incomplete = append(an.res.Incomplete, fmt.Sprintf("after: policy %q (#%d) is too complex to analyse: the flows it decides are not compared", after.Policies[j].Name, j))
	}
	an.run()
	an.collect(opt.MaxRegions)
	return &an.res, nil
}

type analysis struct {
	a      *flowspace.Analyzer
	mb, ma *model
	// One index over both lists: after's policies first (0..na-1), then
	// before's (na..na+nb-1), so that a walk through "after's policies
	// before P, then all of before's" is in index order.
	ix     *flowspace.Index
	na, nb int
	onB    flowspace.Mask // before's analysable enabled policies
	// walkLimit bounds one walk of a broad policy.
	walkLimit int
	// match[j] is the before policy that after policy j is "the same" as
	// (same identity, expressions and decisions), or -1.
	match    []int
	matchInv []int
	// Prefix counts over before's list, for suspect.
	unpairedBefore, pairMax []int
	regions                 map[regionKey]*regionAcc
	res                     Result
	// none-groups per kind class: before, after.
	gsB, gsA [2]map[string]*flowspace.Set
}

type regionKey struct {
	before, after  int // policy indices, -1 none
	bGroup, aGroup string
}

type regionAcc struct {
	key    regionKey
	pieces []flowspace.Piece
	// approx: pieces hold the region but also flows that earlier policies
	// take (the exact region has too many pieces to spell out); witnesses
	// are boxes of the region proper.
	approx    bool
	witnesses []flowspace.Piece
	inners    []approxPart
}

// approxPart is a question whose answer an approximate region stands for:
// the flows of inner that the items of sub do not take.
type approxPart struct {
	inner *flowspace.Set
	sub   flowspace.Mask
}

// exact tries to spell out an approximate region within a small bound.
func (an *analysis) exact(acc *regionAcc) bool {
	var pieces []flowspace.Piece
	for _, ap := range acc.inners {
		q := an.a.NewQuestion()
		q.Limit(exactLimit)
		q.UseIndex(an.ix, ap.sub, an.ix.Empty())
		ans := q.Partition(ap.inner, func(p flowspace.Piece, _ int) bool {
			for _, kp := range an.split(acc.key.before, acc.key.after, p) {
				if kp.key == acc.key {
					pieces = append(pieces, kp.piece)
				}
			}
			return true
		})
		q.Release()
		if ans != engine.Yes {
			return false
		}
	}
	acc.pieces, acc.approx = pieces, false
	return true
}

func (an *analysis) run() {
	a, mb, ma := an.a, an.mb, an.ma
	an.na, an.nb = len(ma.sets), len(mb.sets)
	all := append(append([]*flowspace.Set(nil), ma.sets...), mb.sets...)
	an.ix = a.NewIndex(all)
	for kc := 0; kc < 2; kc++ {
		an.gsB[kc], an.gsA[kc] = groupSets(a, mb, kc), groupSets(a, ma, kc)
	}

	// Pair the policies that decide their flows the same way.
	an.match = make([]int, an.na)
	an.matchInv = make([]int, an.nb)
	for i := range an.matchInv {
		an.matchInv[i] = -1
	}
	byName := map[string][]int{}
	for i := range mb.sets {
		if mb.sets[i] != nil {
			byName[mb.side.Policies[i].Name] = append(byName[mb.side.Policies[i].Name], i)
		}
	}
	byID := map[string][]int{}
	for i := range mb.sets {
		if id := mb.side.Policies[i].ID; id != "" && mb.sets[i] != nil {
			byID[id] = append(byID[id], i)
		}
	}
	for j := range ma.sets {
		an.match[j] = -1
		if ma.sets[j] == nil {
			continue
		}
		p := &ma.side.Policies[j]
		cands := byName[p.Name]
		if p.ID != "" {
			if ids := byID[p.ID]; len(ids) > 0 {
				cands = ids
			}
		}
		for _, i := range cands {
			if !sameIdentity(&mb.side.Policies[i], p) || an.matchInv[i] >= 0 {
				continue
			}
			if sameExpressions(mb, i, ma, j) && len(kindsDiffering(mb, i, ma, j)) == 0 {
				an.match[j], an.matchInv[i] = i, j
			}
			break
		}
	}

	// Which after-deciders' flows can have moved.
	onA := an.ix.Select(func(o int) bool { return o < an.na && all[o] != nil })
	onB := an.ix.Select(func(o int) bool { return o >= an.na && all[o] != nil })
	an.onB = onB
	unmatchedB := an.ix.Select(func(o int) bool { return o >= an.na && all[o] != nil && an.matchInv[o-an.na] < 0 })
	// unpairedBefore[i]: the unpaired enabled before policies ahead of i;
	// pairMax[i]: the latest after policy paired with one ahead of i (-1).
	an.unpairedBefore, an.pairMax = make([]int, an.nb+1), make([]int, an.nb+1)
	an.pairMax[0] = -1
	for i := 0; i < an.nb; i++ {
		an.unpairedBefore[i+1], an.pairMax[i+1] = an.unpairedBefore[i], max(an.pairMax[i], an.matchInv[i])
		if mb.sets[i] != nil && an.matchInv[i] < 0 {
			an.unpairedBefore[i+1]++
		}
	}
	var cands []int
	for j := range ma.sets {
		if ma.sets[j] == nil {
			continue
		}
		if i := an.match[j]; i >= 0 && !an.suspect(j, i, unmatchedB) {
			continue
		}
		cands = append(cands, j)
	}
	// The walks of broad policies share a bound: one moved policy gets a
	// long walk, a reordered list short ones and then the comparison pair by
	// pair (see walk).
	an.walkLimit = max(min(1000, walkWork), walkWork/max(len(cands), 1))
	for _, j := range cands {
		an.walk(j, onA, onB)
	}
	an.walkNone(onA, onB)
}

// suspect reports whether some flow of after policy j (the same as before
// policy i) may be decided by another policy before: an unpaired before
// policy ahead of i, or a paired one ahead of i whose pair comes after j,
// that overlaps j.
func (an *analysis) suspect(j, i int, unmatchedB flowspace.Mask) bool {
	if an.unpairedBefore[i] == 0 && an.pairMax[i] <= j {
		return false // no such policy ahead of i: the masks below are empty
	}
	ahead := an.ix.Range(an.na, an.na+i)
	crossed := an.ix.Select(func(o int) bool {
		if o < an.na || o >= an.na+i {
			return false
		}
		jj := an.matchInv[o-an.na]
		return jj > j
	})
	return len(ahead.And(unmatchedB).Or(crossed).Owners(an.ma.sets[j])) > 0
}

// walk partitions the flows after policy j decides by the before list's
// deciders, and records those decided differently.
func (an *analysis) walk(j int, onA, onB flowspace.Mask) {
	a, mb, ma := an.a, an.mb, an.ma
	pj := &ma.side.Policies[j]
	// Subtract: after's policies before j (their flows are not j's), and
	// before's policies that decide like j (same identity and decisions).
	same := an.ix.Select(func(o int) bool {
		if o < an.na || mb.sets[o-an.na] == nil {
			return false
		}
		i := o - an.na
		return sameIdentity(&mb.side.Policies[i], pj) && len(kindsDiffering(mb, i, ma, j)) == 0
	})
	// Before's policies paired with an after policy ahead of j never meet
	// j's flows (their pair took them): not obstacles.
	taken := an.ix.Select(func(o int) bool { return o >= an.na && an.matchInv[o-an.na] >= 0 && an.matchInv[o-an.na] < j })
	sub := onA.And(an.ix.Range(0, j)).Or(same)
	obs := onB.Minus(same).Minus(taken)
	// Many before deciders overlapping j (a broad policy that moved, a
	// catch-all now first): the walk would split j's flows by all of them
	// in turn; compare pair by pair instead.
	broad := len(obs.Owners(ma.sets[j])) > broadDeciders
	type emitted struct {
		i int
		p flowspace.Piece
	}
	var got []emitted
	q := a.NewQuestion()
	if broad {
		q.Limit(an.walkLimit)
	}
	q.UseIndex(an.ix, sub, obs)
	ans := q.Partition(ma.sets[j], func(p flowspace.Piece, owner int) bool {
		i := -1
		if owner >= 0 {
			i = owner - an.na
		}
		got = append(got, emitted{i, p})
		return true
	})
	q.Release()
	if ans == engine.Yes {
		for _, e := range got {
			an.record(e.i, j, e.p)
		}
		return
	}
	// Past the bound (j takes a large part of the space, which the walk
	// splits by all of before's policies in turn): compare pair by pair
	// instead, each before policy i that overlaps j on the flows both
	// decide, (S_i ∩ S_j) less the policies ahead of either.
	if !an.pairwise(j, onA.And(an.ix.Range(0, j)), obs) {
		an.res.Incomplete = append(an.res.Incomplete, fmt.Sprintf("the flows of after's policy %q (#%d) were compared only in part: past the analysis bound (simplify the policies that overlap it)", pj.Name, j))
	}
}

// A policy that overlaps more than broadDeciders before deciders is broad:
// its walk gets a share of walkWork (box subtractions, for all broad walks
// together) before the pair by pair comparison takes over. Variables for
// the tests, which force the comparison.
var (
	broadDeciders = 24
	walkWork      = 40000
	// exactLimit bounds spelling out one region found pair by pair.
	exactLimit = 2000
)

// pairwise records the flows of after policy j by before decider, one
// decider at a time: does before policy i decide some flow of j, one that
// no policy ahead of either takes? A coverage question answers (with a
// witness flow); the region is then spelled out when that takes few
// pieces, or else told as (S_i ∩ S_j) less what earlier policies take. False
// when some question was past the bound.
func (an *analysis) pairwise(j int, aheadA, deciders flowspace.Mask) bool {
	a, mb, ma := an.a, an.mb, an.ma
	complete := true
	ask := func(i int, inner *flowspace.Set, sub flowspace.Mask) {
		q := a.NewQuestion()
		q.KeepWitness()
		q.UseIndex(an.ix, sub, an.ix.Empty())
		ans := q.Run(inner, engine.No)
		w, _ := q.Witness()
		q.Release()
		switch ans {
		case engine.Unknown:
			complete = false
			return
		case engine.Yes:
			return // every flow is taken earlier on one side
		}
		// Told as an outer bound for now; collect spells out the regions
		// it reports one by one.
		var ws []keyedPiece // the witness's parts by region (split when first needed)
		split := false
		for _, p := range inner.Pieces() {
			for _, k := range an.record(i, j, p) {
				acc := an.regions[k]
				acc.approx = true
				acc.inners = append(acc.inners, approxPart{inner, sub})
				if !split {
					ws, split = an.split(i, j, w), true
				}
				for _, kp := range ws {
					if kp.key == k {
						acc.witnesses = append(acc.witnesses, kp.piece)
					}
				}
			}
		}
	}
	for _, o := range deciders.Owners(ma.sets[j]) {
		i := o - an.na
		inner, err := a.And(mb.sets[i], ma.sets[j])
		if err != nil {
			complete = false
			continue
		}
		if !inner.Empty() {
			ask(i, inner, aheadA.Or(an.onB.And(an.ix.Range(an.na, an.na+i))))
		}
	}
	// Flows of j no before policy matches.
	ask(-1, ma.sets[j], aheadA.Or(an.onB))
	return complete
}

// walkNone partitions the flows no after policy matches, where they can
// have moved: those of before's unpaired policies (a policy that went away
// or changed), and, when the inventory changed the no-match groups, those
// of the kinds and colos whose group changed.
func (an *analysis) walkNone(onA, onB flowspace.Mask) {
	var inners []*flowspace.Set
	for i, s := range an.mb.sets {
		if s != nil && an.matchInv[i] < 0 {
			inners = append(inners, s)
		}
	}
	for kc := 0; kc < 2; kc++ {
		if d := an.groupsDiffer(kc); d != nil {
			inners = append(inners, d)
		}
	}
	incomplete := false
	for _, inner := range inners {
		q := an.a.NewQuestion()
		q.UseIndex(an.ix, onA, onB)
		ans := q.Partition(inner, func(p flowspace.Piece, owner int) bool {
			i := -1
			if owner >= 0 {
				i = owner - an.na
			}
			an.record(i, -1, p)
			return true
		})
		q.Release()
		incomplete = incomplete || ans == engine.Unknown
	}
	if incomplete {
		an.res.Incomplete = append(an.res.Incomplete, "the flows no policy matches after the change were compared only in part: past the analysis bound")
	}
}

// groupsDiffer is the set of flows of kind class kc from colos whose
// no-match group differs between the sides (nil when none does).
func (an *analysis) groupsDiffer(kc int) *flowspace.Set {
	var colos []string
	for c, g := range an.mb.groups[kc] {
		if an.ma.groups[kc][c] != g {
			colos = append(colos, c)
		}
	}
	if len(colos) == 0 {
		return nil
	}
	sort.Strings(colos)
	return and(an.a, classSet(an.a, kc), an.a.Ingress(colos))
}

// record keeps the part of piece p (decided by before policy i and after
// policy j; -1 = none) that is decided differently, by region, and returns
// the regions it added to.
func (an *analysis) record(i, j int, p flowspace.Piece) []regionKey {
	var keys []regionKey
	for _, kp := range an.split(i, j, p) {
		an.add(kp.key, kp.piece)
		if !slices.Contains(keys, kp.key) {
			keys = append(keys, kp.key)
		}
	}
	return keys
}

type keyedPiece struct {
	key   regionKey
	piece flowspace.Piece
}

// split cuts piece p (decided by before policy i and after policy j; -1 =
// none) into the parts decided differently, keyed by region: by the kinds
// a policy decides differently, by the no-match groups of a side with no
// policy.
func (an *analysis) split(i, j int, p flowspace.Piece) []keyedPiece {
	mb, ma := an.mb, an.ma
	var out []keyedPiece
	switch {
	case i >= 0 && j >= 0:
		kinds := kindsDiffering(mb, i, ma, j)
		if len(kinds) == 0 {
			return nil
		}
		k := regionKey{i, j, "", ""}
		if len(kinds) == 3 {
			return []keyedPiece{{k, p}}
		}
		ks := an.a.Empty()
		for _, k := range kinds {
			ks = or(an.a, ks, an.a.Kind(k))
		}
		for _, q := range p.And(ks) {
			out = append(out, keyedPiece{k, q})
		}
	default:
		for kc := 0; kc < 2; kc++ {
			bgs := map[string]*flowspace.Set{"": nil}
			ags := map[string]*flowspace.Set{"": nil}
			if i < 0 {
				bgs = an.gsB[kc]
			}
			if j < 0 {
				ags = an.gsA[kc]
			}
			cs := classSet(an.a, kc)
			for bg, bs := range bgs {
				for ag, as := range ags {
					if i < 0 && j < 0 && bg == ag {
						continue // the same group: the same decision
					}
					s := cs
					if bs != nil {
						s = and(an.a, s, bs)
					}
					if as != nil {
						s = and(an.a, s, as)
					}
					if s.Empty() {
						continue
					}
					for _, q := range p.And(s) {
						out = append(out, keyedPiece{regionKey{i, j, bg, ag}, q})
					}
				}
			}
		}
	}
	return out
}

func (an *analysis) add(k regionKey, p flowspace.Piece) {
	r, ok := an.regions[k]
	if !ok {
		r = &regionAcc{key: k}
		an.regions[k] = r
	}
	r.pieces = append(r.pieces, p)
}

// collect turns the recorded pieces into regions with confirmed examples.
func (an *analysis) collect(maxRegions int) {
	var keys []regionKey
	for k := range an.regions {
		keys = append(keys, k)
	}
	order := func(i int) int {
		if i < 0 {
			return 1 << 30
		}
		return i
	}
	sort.Slice(keys, func(x, y int) bool {
		a, b := keys[x], keys[y]
		if a.after != b.after {
			return order(a.after) < order(b.after)
		}
		if a.before != b.before {
			return order(a.before) < order(b.before)
		}
		if a.bGroup != b.bGroup {
			return a.bGroup < b.bGroup
		}
		return a.aGroup < b.aGroup
	})
	for n, k := range keys {
		acc := an.regions[k]
		if n >= maxRegions {
			an.res.MoreCount++
			continue
		}
		if acc.approx {
			an.exact(acc)
		}
		r := an.region(acc)
		an.res.Regions = append(an.res.Regions, r)
	}
	if an.res.MoreCount > 0 {
		// One line per pair of deciders left out.
		counts := map[string]int{}
		var lines []string
		for _, k := range keys[maxRegions:] {
			line := fmt.Sprintf("%s -> %s", an.decider(an.mb, k.before, k.bGroup), an.decider(an.ma, k.after, k.aGroup))
			if counts[line] == 0 {
				lines = append(lines, line)
			}
			counts[line]++
		}
		for _, l := range lines {
			an.res.More = append(an.res.More, fmt.Sprintf("%s (%d region%s)", l, counts[l], plural(counts[l])))
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (an *analysis) decider(m *model, i int, group string) Decider {
	if i < 0 {
		return Decider{Index: -1, Group: group}
	}
	return Decider{Index: i, Name: m.side.Policies[i].Name}
}

// region describes one region and finds a confirmed example.
func (an *analysis) region(acc *regionAcc) Region {
	k := acc.key
	set := an.a.SetOf(acc.pieces)
	r := Region{Before: an.decider(an.mb, k.before, k.bGroup), After: an.decider(an.ma, k.after, k.aGroup), Description: an.a.Describe(set, 8), set: set, Exact: !acc.approx}
	equidistant := strings.Contains(k.bGroup, " ") || strings.Contains(k.aGroup, " ")
	var notes []string
	for _, p := range set.Pieces() {
		if p.Opaque() {
			r.Possibly = true
		}
	}
	if r.Possibly {
		notes = append(notes, "its extent depends on `matches`/$list conditions, which the analysis treats as opaque")
	}
	if acc.approx {
		notes = append(notes, "the description is an outer bound: it also holds flows that policies ahead of either decider take (the exact region has too many pieces to spell out)")
	}
	found := false
	var lastErr error
	for _, p := range append(slices.Clone(acc.witnesses), set.Pieces()...) {
		base := an.base(p, k)
		for attempt := 0; attempt < 32 && !found; attempt++ {
			b := base
			b.UserID = fmt.Sprintf("user-%d", attempt+1)
			f, err := an.a.Example(p, b)
			if err != nil {
				lastErr = err
				break
			}
			db, errB := an.mb.eng.Decide(&f, nil)
			da, errA := an.ma.eng.Decide(&f, nil)
			if errB != nil || errA != nil {
				lastErr = fmt.Errorf("%v %v", errB, errA)
				break
			}
			if r.Example.IngressColo == "" {
				r.Example, r.ExampleBefore, r.ExampleAfter = f, db, da
			}
			if !sameDecision(db, da, an.mb.side.Policies, an.ma.side.Policies) && db.PolicyIndex == k.before && da.PolicyIndex == k.after {
				r.Example, r.ExampleBefore, r.ExampleAfter, r.Confirmed = f, db, da, true
				found = true
			}
			if !equidistant {
				break // only the user's identity varies between attempts
			}
		}
		if found {
			break
		}
	}
	if equidistant {
		notes = append(notes, "equidistant dedicated IPs share the load by user: only some users of this region move")
		if !found {
			r.Possibly = true
		}
	}
	if !found {
		r.Possibly = true
		switch {
		case lastErr != nil:
			notes = append(notes, "no example flow could be confirmed: "+lastErr.Error())
		default:
			notes = append(notes, "the example flow is decided alike on both lists")
		}
	}
	r.Note = strings.Join(notes, "; ")
	return r
}

// base is the starting flow of an example: a documentation destination of
// the region's kind and an ingress colo near the dedicated IPs involved.
func (an *analysis) base(p flowspace.Piece, k regionKey) engine.Flow {
	f := probeFlow(flowspace.IPv4Grey, "")
	for _, g := range []string{k.bGroup, k.aGroup} {
		if g == "" {
			continue
		}
		ip, _ := netip.ParseAddr(strings.Fields(g)[0])
		for _, d := range append(an.mb.side.Inventory, an.ma.side.Inventory...) {
			if d.IPv4 == ip {
				f.IngressColo = d.Colo
			}
		}
	}
	if f.IngressColo == "" {
		for _, d := range append(an.mb.side.Inventory, an.ma.side.Inventory...) {
			f.IngressColo = d.Colo
			break
		}
	}
	if f.IngressColo == "" {
		f.IngressColo = "NRT"
	}
	if !p.Overlaps(an.a.Kind(flowspace.IPv4Grey)) && !p.Overlaps(an.a.Kind(flowspace.IPv4Orange)) {
		f.DestinationIP = probeDst6
	}
	return f
}
