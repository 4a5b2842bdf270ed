package reconcile

import (
	"context"
	"fmt"
	"sort"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// Options tune Apply.
type Options struct {
	// FailOnUnmanaged makes Apply return an *UnmanagedError, writing
	// nothing, when the account has egress rules that no desired policy
	// pairs with (by ID or name). Set it when the resource is created;
	// otherwise such rules are deleted (the resource owns every egress rule).
	FailOnUnmanaged bool
	// MaxRelists bounds how many times in a row Apply re-lists and re-plans
	// after writes whose outcome is unknown (response lost) or whose rule
	// vanished, without a successful write in between. 0 means 5.
	MaxRelists int
	// Log, when set, receives one line per write (for tflog).
	Log func(format string, args ...any)
}

// Result is what is in the account after Apply.
type Result struct {
	// Rules are the managed egress rules in desired order, as they are now
	// in the account (IDs and precedences). On error, an entry whose policy
	// is not (known to be) in the account yet has an empty ID.
	Rules []cfapi.Rule
	// Unmanaged are egress rules still in the account that no desired
	// policy pairs with (empty after a successful Apply).
	Unmanaged []cfapi.Rule
	// Successful writes, and every API call Apply made (lists included; the
	// API layer's own retries are not counted).
	Writes, Creates, Updates, Deletes, Calls int
}

// Read returns the account's egress rules in precedence order.
func Read(ctx context.Context, c cfapi.Client, accountID string) ([]cfapi.Rule, error) {
	all, err := c.ListRules(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("reading the account's Gateway rules: %w", err)
	}
	idx := egressInOrder(all)
	out := make([]cfapi.Rule, len(idx))
	for k, j := range idx {
		out[k] = all[j]
	}
	return out, nil
}

// Delete deletes the given egress rules (destroy). Rules already gone are
// success; IDs that are not egress rules of the account are never touched.
// It lists the account once, then deletes bottom first.
func Delete(ctx context.Context, c cfapi.Client, accountID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	egress, err := Read(ctx, c, accountID)
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for k := len(egress) - 1; k >= 0; k-- {
		r := egress[k]
		if !want[r.ID] {
			continue
		}
		for attempt := 0; ; attempt++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := c.DeleteRule(ctx, accountID, r.ID)
			if err == nil {
				break
			}
			switch classify(err) {
			case errNotFound:
				err = nil
			case errAmbiguous:
				if attempt < 3 {
					continue // a repeated delete of a rule that is gone is not-found
				}
			}
			if err != nil {
				return fmt.Errorf("deleting egress policy %q (%s): %w", r.Name, r.ID, err)
			}
			break
		}
	}
	return nil
}

// Apply makes the account's egress rules exactly desired, in order, and
// returns them as they are now. See the package documentation for the
// algorithm and its guarantees.
func Apply(ctx context.Context, c cfapi.Client, accountID string, desired []Desired, opts Options) (Result, error) {
	if err := checkDesired(desired); err != nil {
		return Result{}, err
	}
	a := &applier{ctx: ctx, c: c, account: accountID, opts: opts}
	a.want = append([]Desired(nil), desired...)
	if err := a.list(); err != nil {
		return a.result(), err
	}
	maxStuck := opts.MaxRelists
	if maxStuck <= 0 {
		maxStuck = 5
	}
	clashes, stuck := 0, 0
	for round := 0; ; round++ {
		p := PlanFor(a.state, a.want)
		for i := range a.want {
			a.want[i].ID = p.Rules[i].ID
		}
		if opts.FailOnUnmanaged && len(p.Unmanaged) > 0 {
			return a.result(), &UnmanagedError{Rules: p.Unmanaged}
		}
		if round == 0 {
			cr, up, de := p.Counts()
			a.logf("egress policies: %d to create, %d to update, %d to delete", cr, up, de)
		}
		var failed error
		var class errClass
		for _, op := range p.Ops {
			if err := ctx.Err(); err != nil {
				return a.result(), err
			}
			err := a.exec(op)
			if err == nil {
				stuck = 0
				continue
			}
			failed, class = err, classify(err)
			break
		}
		if failed == nil {
			return a.result(), nil
		}
		switch {
		case class == errClash && clashes < 1:
			clashes++
			a.logf("precedence clash (%v): re-reading the account and re-planning", failed)
		case (class == errAmbiguous || class == errNotFound) && stuck < maxStuck:
			stuck++
			a.logf("%v: re-reading the account to verify and re-planning", failed)
		default:
			if class == errAmbiguous {
				_ = a.list() // best effort: report what is really there
			}
			return a.result(), failed
		}
		if err := a.list(); err != nil {
			return a.result(), err
		}
	}
}

// checkDesired rejects lists Apply cannot pair safely.
func checkDesired(desired []Desired) error {
	seen := make(map[string]int, len(desired))
	for i, d := range desired {
		if d.Name == "" {
			return fmt.Errorf("policies[%d].name is empty: every egress policy needs a unique name", i)
		}
		if j, dup := seen[d.Name]; dup {
			return fmt.Errorf("policies[%d].name %q is also the name of policies[%d]: policy names must be unique", i, d.Name, j)
		}
		seen[d.Name] = i
	}
	return nil
}

type applier struct {
	ctx     context.Context
	c       cfapi.Client
	account string
	opts    Options
	want    []Desired
	state   []cfapi.Rule // every rule of the account as last known
	res     Result
}

func (a *applier) logf(format string, args ...any) {
	if a.opts.Log != nil {
		a.opts.Log(format, args...)
	}
}

func (a *applier) list() error {
	a.res.Calls++
	rules, err := a.c.ListRules(a.ctx, a.account)
	if err != nil {
		return fmt.Errorf("reading the account's Gateway rules: %w", err)
	}
	a.state = rules
	return nil
}

func (a *applier) where(op Op) string {
	if op.Index < 0 {
		return fmt.Sprintf("egress policy %q (id %s, not in the configuration)", op.Rule.Name, op.Rule.ID)
	}
	return fmt.Sprintf("egress policy %q (policies[%d])", op.Rule.Name, op.Index)
}

func (a *applier) exec(op Op) error {
	a.res.Calls++
	a.logf("%s", op)
	switch op.Kind {
	case OpCreate:
		r, err := a.c.CreateRule(a.ctx, a.account, op.Rule)
		if err != nil {
			return fmt.Errorf("creating %s at precedence %d: %w", a.where(op), op.Rule.Precedence, err)
		}
		a.want[op.Index].ID = r.ID
		a.state = append(a.state, r)
		a.res.Creates++
	case OpUpdate:
		r, err := a.c.UpdateRule(a.ctx, a.account, op.Rule)
		if err != nil {
			return fmt.Errorf("updating %s (id %s) at precedence %d: %w", a.where(op), op.Rule.ID, op.Rule.Precedence, err)
		}
		a.replace(r)
		a.res.Updates++
	case OpDelete:
		err := a.c.DeleteRule(a.ctx, a.account, op.Rule.ID)
		if err != nil && classify(err) != errNotFound {
			return fmt.Errorf("deleting %s: %w", a.where(op), err)
		}
		a.remove(op.Rule.ID)
		a.res.Deletes++
	}
	a.res.Writes++
	return nil
}

func (a *applier) replace(r cfapi.Rule) {
	for i := range a.state {
		if a.state[i].ID == r.ID {
			a.state[i] = r
			return
		}
	}
	a.state = append(a.state, r)
}

func (a *applier) remove(id string) {
	for i := range a.state {
		if a.state[i].ID == id {
			a.state = append(a.state[:i], a.state[i+1:]...)
			return
		}
	}
}

// result describes the account as last known for the desired policies.
func (a *applier) result() Result {
	res := a.res
	byID := make(map[string]cfapi.Rule, len(a.state))
	for _, r := range a.state {
		if cfapi.IsEgress(r) {
			byID[r.ID] = r
		}
	}
	res.Rules = make([]cfapi.Rule, len(a.want))
	used := make(map[string]bool, len(a.want))
	for i, d := range a.want {
		if r, ok := byID[d.ID]; ok && d.ID != "" {
			res.Rules[i] = r
			used[d.ID] = true
		}
	}
	for _, r := range byID {
		if !used[r.ID] {
			res.Unmanaged = append(res.Unmanaged, r)
		}
	}
	sort.Slice(res.Unmanaged, func(i, j int) bool { return res.Unmanaged[i].Precedence < res.Unmanaged[j].Precedence })
	return res
}
