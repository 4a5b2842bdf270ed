// Package benchmarks measures how many Cloudflare API calls and writes the
// provider's model (one resource owning the whole ordered list, written by
// internal/reconcile) spends on everyday changes, against the
// one-resource-per-rule model of the official Cloudflare provider (each rule
// a resource with a user-set precedence), both through the same API layer
// (internal/cfapi over cloudflare-go) against the in-process emulator, whose
// Stats count the requests.
//
// The benchmarks live in bench_test.go; this file holds the two models.
//
// What one "op" costs is what Terraform does for it:
//
//   - create: the first apply. Ours: one list (reconcile.Apply re-reads the
//     account) plus one POST per policy. Per rule: one POST per rule.
//   - refresh: a plan with no change. Ours: one list (reconcile.Read).
//     Per rule: Terraform refreshes every resource, one GET per rule.
//   - insert / move / delete: an apply, which refreshes before it writes.
//     Ours: one list (refresh) plus reconcile.Apply (one list plus the
//     writes). Per rule: one GET per rule in state plus the writes the user's
//     numbering needs.
//
// The per-rule model comes in two numberings, because its cost depends on
// what the user wrote: "gapped" (precedences 10, 20, 30, ...: an insert takes
// the midpoint, a move to the top takes half the first number, unless no
// gap is left) and "dense" (1, 2, 3, ...: every insert or move renumbers the
// rules after it). Its writes are made one at a time in an order that never
// reuses a precedence still held (the emulator rejects clashes); a rule is
// parked at a free number when a cycle leaves no other way, which costs one
// more write. Terraform would send them in parallel and hit the clashes.
package benchmarks

import (
	"context"
	"fmt"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

// model is one way of managing the ordered egress list.
type model interface {
	// create makes the account's egress rules desired (none exist yet).
	create(ctx context.Context, desired []reconcile.Desired) error
	// refresh is a plan with no change.
	refresh(ctx context.Context) error
	// apply changes the list to desired (names identify policies).
	apply(ctx context.Context, desired []reconcile.Desired) error
	// names is the managed list as the model believes it is.
	names() []string
}

// ours is the provider's model: reconcile.Read for a refresh,
// reconcile.Read + reconcile.Apply for an apply.
type ours struct {
	api     *cfapi.API
	account string
	state   []reconcile.Desired // with IDs
}

func (m *ours) create(ctx context.Context, desired []reconcile.Desired) error {
	res, err := reconcile.Apply(ctx, m.api, m.account, desired, reconcile.Options{Create: true})
	if err != nil {
		return err
	}
	m.state = withIDs(desired, res)
	return nil
}

func (m *ours) refresh(ctx context.Context) error {
	_, err := reconcile.Read(ctx, m.api, m.account)
	return err
}

func (m *ours) apply(ctx context.Context, desired []reconcile.Desired) error {
	if _, err := reconcile.Read(ctx, m.api, m.account); err != nil {
		return err
	}
	// IDs from prior state, by name, as the resource's plan pairs them.
	ids := map[string]string{}
	var prior []string
	for _, d := range m.state {
		ids[d.Name] = d.ID
		prior = append(prior, d.ID)
	}
	want := make([]reconcile.Desired, len(desired))
	for i, d := range desired {
		d.ID = ids[d.Name]
		want[i] = d
	}
	res, err := reconcile.Apply(ctx, m.api, m.account, want, reconcile.Options{Prior: prior})
	if err != nil {
		return err
	}
	m.state = withIDs(want, res)
	return nil
}

func (m *ours) names() []string {
	out := make([]string, len(m.state))
	for i, d := range m.state {
		out[i] = d.Name
	}
	return out
}

func withIDs(desired []reconcile.Desired, res reconcile.Result) []reconcile.Desired {
	out := make([]reconcile.Desired, len(desired))
	for i, d := range desired {
		if i < len(res.Rules) {
			d.ID = res.Rules[i].ID
		}
		out[i] = d
	}
	return out
}

// numbering is how a user of the per-rule model chooses precedences.
type numbering int

const (
	gapped numbering = iota // 10, 20, 30, ...; midpoints for inserts
	dense                   // 1, 2, 3, ...
)

func (n numbering) String() string {
	if n == dense {
		return "dense"
	}
	return "gapped"
}

// perRuleRes is one resource of the per-rule model, as in Terraform state.
type perRuleRes struct {
	d    reconcile.Desired
	id   string
	prec uint64
}

// perRule is the official provider's model: one resource per rule, each
// with the precedence the user wrote.
type perRule struct {
	api     *cfapi.API
	account string
	num     numbering
	state   []perRuleRes // in list order
}

func (m *perRule) step() uint64 {
	if m.num == dense {
		return 1
	}
	return 10
}

// renumber is the user's full renumbering: step, 2*step, ...
func (m *perRule) renumber(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i+1) * m.step()
	}
	return out
}

func (m *perRule) create(ctx context.Context, desired []reconcile.Desired) error {
	precs := m.renumber(len(desired))
	m.state = nil
	for i, d := range desired {
		r, err := m.api.CreateRule(ctx, m.account, ruleOf(d, "", precs[i]))
		if err != nil {
			return err
		}
		m.state = append(m.state, perRuleRes{d: d, id: r.ID, prec: r.Precedence})
	}
	return nil
}

func (m *perRule) refresh(ctx context.Context) error {
	for _, s := range m.state {
		if _, err := m.api.GetRule(ctx, m.account, s.id); err != nil {
			return err
		}
	}
	return nil
}

// userPrecedences is what the user writes for the new list: existing rules
// keep their numbers where the order allows; new or moved rules take a
// number between their neighbours when there is room; otherwise the user
// renumbers the whole list.
func (m *perRule) userPrecedences(desired []reconcile.Desired) []uint64 {
	old := map[string]uint64{}
	for _, s := range m.state {
		old[s.d.Name] = s.prec
	}
	out := make([]uint64, len(desired))
	// Keep old numbers that are still increasing in the new order (the
	// user does not touch rules that need not move).
	keep := make([]bool, len(desired))
	var last uint64
	for i, d := range desired {
		if p, ok := old[d.Name]; ok && p > last {
			// Keep p only if the next kept rule is above it: a rule moved
			// down past others must be renumbered; check by look-ahead.
			nextOld := uint64(0)
			for _, e := range desired[i+1:] {
				if q, ok := old[e.Name]; ok {
					nextOld = q
					break
				}
			}
			if nextOld == 0 || p < nextOld {
				keep[i], out[i], last = true, p, p
			}
		}
	}
	// Fill the others between kept neighbours.
	for i := 0; i < len(desired); {
		if keep[i] {
			i++
			continue
		}
		j := i
		for j < len(desired) && !keep[j] {
			j++
		}
		var lo, hi uint64
		if i > 0 {
			lo = out[i-1]
		}
		if j < len(desired) {
			hi = out[j]
		} else {
			hi = lo + uint64(j-i+1)*m.step()
		}
		gap := hi - lo - 1
		if m.num == dense || gap < uint64(j-i) {
			return m.renumber(len(desired))
		}
		for k := i; k < j; k++ {
			out[k] = lo + (hi-lo)*uint64(k-i+1)/uint64(j-i+1)
		}
		i = j
	}
	return out
}

func (m *perRule) apply(ctx context.Context, desired []reconcile.Desired) error {
	if err := m.refresh(ctx); err != nil {
		return err
	}
	precs := m.userPrecedences(desired)
	byName := map[string]perRuleRes{}
	for _, s := range m.state {
		byName[s.d.Name] = s
	}
	want := map[string]bool{}
	for _, d := range desired {
		want[d.Name] = true
	}
	held := map[uint64]string{} // precedence -> rule id, egress rules in state
	for _, s := range m.state {
		held[s.prec] = s.id
	}
	// Deletes.
	for _, s := range m.state {
		if !want[s.d.Name] {
			if err := m.api.DeleteRule(ctx, m.account, s.id); err != nil {
				return err
			}
			delete(held, s.prec)
		}
	}
	// Updates of kept resources whose precedence (or content) changed,
	// never onto a number still held; park one rule to break a cycle.
	type upd struct {
		i    int
		id   string
		from uint64
	}
	var pending []upd
	for i, d := range desired {
		if s, ok := byName[d.Name]; ok && (s.prec != precs[i] || !sameDesired(s.d, d)) {
			pending = append(pending, upd{i, s.id, s.prec})
		}
	}
	maxHeld := func() uint64 {
		var mx uint64
		for p := range held {
			mx = max(mx, p)
		}
		for _, p := range precs {
			mx = max(mx, p)
		}
		return mx
	}
	for len(pending) > 0 {
		progress := false
		rest := pending[:0]
		for _, u := range pending {
			to := precs[u.i]
			if owner, ok := held[to]; ok && owner != u.id {
				rest = append(rest, u)
				continue
			}
			if _, err := m.api.UpdateRule(ctx, m.account, ruleOf(desired[u.i], u.id, to)); err != nil {
				return err
			}
			delete(held, u.from)
			held[to] = u.id
			progress = true
		}
		pending = rest
		if !progress && len(pending) > 0 {
			u := &pending[0]
			park := maxHeld() + 1
			if _, err := m.api.UpdateRule(ctx, m.account, ruleOf(byName[desired[u.i].Name].d, u.id, park)); err != nil {
				return err
			}
			delete(held, u.from)
			held[park] = u.id
			u.from = park
		}
	}
	// Creates.
	next := make([]perRuleRes, len(desired))
	for i, d := range desired {
		if s, ok := byName[d.Name]; ok {
			next[i] = perRuleRes{d: d, id: s.id, prec: precs[i]}
			continue
		}
		r, err := m.api.CreateRule(ctx, m.account, ruleOf(d, "", precs[i]))
		if err != nil {
			return err
		}
		next[i] = perRuleRes{d: d, id: r.ID, prec: r.Precedence}
	}
	m.state = next
	return nil
}

func (m *perRule) names() []string {
	out := make([]string, len(m.state))
	for i, s := range m.state {
		out[i] = s.d.Name
	}
	return out
}

func sameDesired(a, b reconcile.Desired) bool {
	a.ID, b.ID = "", ""
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func ruleOf(d reconcile.Desired, id string, prec uint64) cfapi.Rule {
	return cfapi.Rule{
		ID: id, Name: d.Name, Description: d.Description, Precedence: prec, Enabled: d.Enabled,
		Action: "egress", Filters: []string{"egress"}, Traffic: d.Traffic, Identity: d.Identity,
		DevicePosture: d.DevicePosture, Egress: d.Egress,
	}
}
