package reconcile

import (
	"sort"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace"
)

// Concurrent writes.
//
// The ops of a plan come in an order whose intermediate lists are safe
// (order.go). Writing several of them at once makes every subset of them a
// possible intermediate list, so a phase of concurrent writes must be safe
// in any order. order.go's model is for arbitrary predicates, where the
// order of almost any two writes matters (two creates of adjacent policies:
// creating the lower one first sends the flows both match to it). But only
// the order of writes to rules that can match a common flow matters:
//
// A state S misroutes a flow matching exactly the rules M when min_S(M) is
// neither min_I(M) nor min_F(M). The witnesses of order.go are M = {r, a, b}
// (or {r, b}, {r, a}, {a, b}) and every rule of M matches the flow, so its
// rules overlap pairwise. Let a phase be writes whose rules are pairwise
// disjoint (no flow matches a rule one write touches and a rule another
// touches; an edit touches the rule's old and new versions). Then a witness
// in the state "before the phase plus any subset T of it" involves at most
// one rule the phase touches, so it is a witness in "before the phase" or
// in "before the phase plus that one write". Hence: if the state before the
// phase is safe and each write alone keeps it safe, every subset is safe.
//
// phases builds such phases greedily along the safe sequential order: a
// write joins the current phase when it is disjoint from every write of it
// and keeps the state before the phase safe on its own (checked with
// overlaps: a witness needs its rules to overlap r, the rule that takes the
// flow); otherwise the phase is closed and the write starts the next one.
// The state before each phase is a state of the sequential order, so a
// phase never makes a list the sequential order would not. Overlaps are
// decided by the flow-set algebra (internal/engine/flowspace, exact over
// the engine's model of the fields, opaque atoms independent); a rule whose
// expressions do not compile overlaps every rule, a disabled rule none.

// overlaps is a symmetric "may match a common flow" relation over the keys
// of an mbbModel.
type overlaps struct {
	idx  map[string]int
	bits [][]uint64
}

func (o *overlaps) has(a, b string) bool {
	i, ok1 := o.idx[a]
	j, ok2 := o.idx[b]
	if !ok1 || !ok2 {
		return true
	}
	return o.bits[i][j>>6]&(1<<uint(j&63)) != 0
}

// newOverlaps compiles every key's rule and tests each pair.
func newOverlaps(content map[string]cfapi.Rule) *overlaps {
	keys := make([]string, 0, len(content))
	for k := range content {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	an := flowspace.NewAnalyzer()
	sets := make([]*flowspace.Set, len(keys))
	for i, k := range keys {
		r := content[k]
		if !r.Enabled {
			sets[i] = an.Empty() // a disabled rule matches nothing
			continue
		}
		s, err := an.CompileText(r.Traffic, r.Identity, r.DevicePosture)
		if err != nil {
			s = an.Universe() // cannot tell: assume it matches every flow
		}
		sets[i] = s
	}
	o := &overlaps{idx: make(map[string]int, len(keys)), bits: make([][]uint64, len(keys))}
	nw := (len(keys) + 63) / 64
	for i, k := range keys {
		o.idx[k] = i
		o.bits[i] = make([]uint64, nw)
	}
	for i := range keys {
		for j := i; j < len(keys); j++ {
			if sets[i].Overlaps(sets[j]) {
				o.bits[i][j>>6] |= 1 << uint(j&63)
				o.bits[j][i>>6] |= 1 << uint(i&63)
			}
		}
	}
	return o
}

// phaseModel is an mbbModel with overlaps: which states misroute a flow
// when only rules that can match a common flow interact.
type phaseModel struct {
	*mbbModel
	ov *overlaps
	// predI[k], predF[k]: the keys before k in the old and the new list
	// that overlap it.
	predI, predF map[string][]string
	inI, inF     map[string]bool
}

func newPhaseModel(m *mbbModel, ov *overlaps) *phaseModel {
	pm := &phaseModel{mbbModel: m, ov: ov, predI: map[string][]string{}, predF: map[string][]string{},
		inI: map[string]bool{}, inF: map[string]bool{}}
	for _, lst := range []struct {
		order []string
		pred  map[string][]string
		in    map[string]bool
	}{{m.iOrder, pm.predI, pm.inI}, {m.fOrder, pm.predF, pm.inF}} {
		for i, k := range lst.order {
			lst.in[k] = true
			for _, a := range lst.order[:i] {
				if ov.has(a, k) {
					lst.pred[k] = append(lst.pred[k], a)
				}
			}
		}
	}
	return pm
}

// misroutes reports whether state sends some flow to neither its old nor
// its new decision, counting only witnesses whose rules overlap the rule
// that takes the flow.
func (pm *phaseModel) misroutes(state []mbbRule) bool {
	at := make(map[string]uint64, len(state))
	for _, r := range state {
		at[r.key] = r.prec
	}
	ahead := func(preds []string, p uint64) bool {
		for _, a := range preds {
			if q, ok := at[a]; !ok || q >= p {
				return false
			}
		}
		return true
	}
	for _, r := range state {
		oldSafe := pm.inI[r.key] && ahead(pm.predI[r.key], r.prec)
		newSafe := pm.inF[r.key] && ahead(pm.predF[r.key], r.prec)
		if !oldSafe && !newSafe {
			return true
		}
	}
	// An old rule gone while a new one that overlaps it is not there yet.
	var goneI, missingF []string
	for _, k := range pm.iOrder {
		if _, ok := at[k]; !ok {
			goneI = append(goneI, k)
		}
	}
	if len(goneI) == 0 {
		return false
	}
	for _, k := range pm.fOrder {
		if _, ok := at[k]; !ok {
			missingF = append(missingF, k)
		}
	}
	for _, a := range goneI {
		for _, b := range missingF {
			if pm.ov.has(a, b) {
				return true
			}
		}
	}
	return false
}

// footprint is the keys op k touches.
func (m *mbbModel) footprint(k int) []string {
	var out []string
	if m.del[k] != "" {
		out = append(out, m.del[k])
	}
	if m.add[k] != "" && m.add[k] != m.del[k] {
		out = append(out, m.add[k])
	}
	return out
}

// maxPhaseWork bounds the work of phases (keys × ops): past it the writes
// stay sequential rather than spend seconds of CPU on the question.
const maxPhaseWork = 4 << 20

// phases splits ops (in their safe sequential order) into phases whose
// writes may run concurrently (see above). current are the account's
// egress rules in precedence order (read_only ones included).
func phases(current []cfapi.Rule, p *Plan, ops []Op) [][]Op {
	if len(ops) < 2 {
		return [][]Op{ops}
	}
	m := newMBBModel(current, p, ops)
	if (len(m.iOrder)+len(m.fOrder))*len(ops) > maxPhaseWork {
		return sequential(ops)
	}
	content := make(map[string]cfapi.Rule, len(current)+len(ops))
	for _, r := range current {
		content[r.ID] = r
	}
	for _, o := range ops {
		if o.Kind == OpUpdate && o.Edit {
			content[oldKey(o.Rule.ID, true)] = content[o.Rule.ID]
			delete(content, o.Rule.ID)
		}
	}
	for k, o := range ops {
		if m.add[k] != "" {
			content[m.add[k]] = o.Rule
		}
	}
	pm := newPhaseModel(m, newOverlaps(content))
	var out [][]Op
	var cur []int
	base := m.start
	for k := range ops {
		if len(cur) > 0 && pm.disjoint(k, cur) && !pm.misroutes(m.apply(base, k)) {
			cur = append(cur, k)
			continue
		}
		if len(cur) > 0 {
			for _, j := range cur {
				base = m.apply(base, j)
			}
			out = append(out, pick(ops, cur))
		}
		cur = []int{k}
	}
	return append(out, pick(ops, cur))
}

func (pm *phaseModel) disjoint(k int, with []int) bool {
	fk := pm.footprint(k)
	for _, j := range with {
		for _, a := range fk {
			for _, b := range pm.footprint(j) {
				if pm.ov.has(a, b) {
					return false
				}
			}
		}
	}
	return true
}

func pick(ops []Op, idx []int) []Op {
	out := make([]Op, len(idx))
	for i, k := range idx {
		out[i] = ops[k]
	}
	return out
}

func sequential(ops []Op) [][]Op {
	out := make([][]Op, len(ops))
	for i := range ops {
		out[i] = ops[i : i+1]
	}
	return out
}
