package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// Options tune Apply.
type Options struct {
	// Prior are the rule IDs of the state the plan was made from
	// (Terraform's prior state; none on create). With the desired
	// policies' IDs they are the egress rules the plan knew. Apply deletes
	// the prior rules that no desired policy keeps, and nothing else: an
	// egress rule the plan did not know makes it stop with an
	// *AccountChangedError (before its first write when the rule is there
	// at the start).
	Prior []string
	// Create is set when the resource is being created. A desired policy
	// whose ID (an existing rule the plan adopted) is gone then makes Apply
	// stop before its first write instead of creating the rule again: a
	// create that fails is recorded by Terraform as tainted, and the new ID
	// would contradict the plan.
	Create bool
	// MaxRelists bounds how many times in a row Apply re-lists and re-plans
	// after writes whose outcome is unknown (response lost) or whose rule
	// vanished, without a successful write in between. 0 means 5.
	MaxRelists int
	// Log, when set, receives one line per write (for tflog).
	Log func(format string, args ...any)
}

// Write is one change Apply made to the account.
type Write struct {
	Kind OpKind
	// Index is the desired policy's index; -1 for deletes.
	Index int
	// Rule is the rule as the account now has it (create, update), or the
	// rule deleted (delete; only its ID when it was already gone).
	Rule cfapi.Rule
	// Verified: the write's response was lost and a re-read of the account
	// showed it applied.
	Verified bool
	// Gone: a planned delete of a rule that was already gone (no write was
	// needed, or the API answered not found).
	Gone bool
}

// Result is what Apply did and what is in the account after it.
type Result struct {
	// Rules are the managed egress rules in desired order, as Apply last
	// knew them (IDs and precedences). On error, an entry whose policy is
	// not (known to be) in the account has an empty ID.
	Rules []cfapi.Rule
	// Done are the changes made, in order: every write that succeeded
	// (including lost responses a re-read confirmed) and every planned
	// delete of a rule already gone. The state after any failure is the
	// prior state plus exactly these.
	Done []Write
	// Unverified are writes whose response was lost and whose outcome no
	// re-read could confirm when Apply returned: they may or may not have
	// been applied.
	Unverified []Op
	// Recreated are the indexes of desired policies whose rule (by the ID
	// the plan gave them) had been deleted outside Terraform: Apply created
	// them again, with new IDs.
	Recreated []int
	// Successful write calls, and every API call Apply made (lists
	// included; the API layer's own retries are not counted).
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

// Delete deletes the given egress rules (destroy) and returns the IDs that
// are gone, deleted now or already, also on error (the caller keeps the
// others in its state). IDs that are not egress rules of the account are
// never touched. It lists the account once, then deletes bottom first; a
// failed list deletes nothing.
func Delete(ctx context.Context, c cfapi.Client, accountID string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	egress, err := Read(ctx, c, accountID)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	present := make(map[string]bool, len(egress))
	for _, r := range egress {
		present[r.ID] = true
	}
	var gone []string
	for _, id := range ids {
		if !present[id] {
			gone = append(gone, id) // already gone (or not an egress rule: never ours to delete)
		}
	}
	for k := len(egress) - 1; k >= 0; k-- {
		r := egress[k]
		if !want[r.ID] {
			continue
		}
		for attempt := 0; ; attempt++ {
			if err := ctx.Err(); err != nil {
				return gone, err
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
				return gone, fmt.Errorf("deleting egress policy %q (%s): %w", r.Name, r.ID, err)
			}
			break
		}
		gone = append(gone, r.ID)
	}
	return gone, nil
}

// Apply makes the account's egress rules exactly desired, in order, and
// returns what it did. It deletes only the prior rules (Options.Prior) that
// no desired policy keeps and never a rule the plan did not know, pairs
// policies with rules by ID only, and on any failure returns, with the
// error, a Result whose Done lists exactly the changes made. See the package
// documentation for the algorithm and its guarantees.
func Apply(ctx context.Context, c cfapi.Client, accountID string, desired []Desired, opts Options) (Result, error) {
	if err := checkDesired(desired); err != nil {
		return Result{}, err
	}
	a := &applier{ctx: ctx, c: c, account: accountID, opts: opts,
		known: map[string]bool{}, prior: map[string]bool{}, gone: map[string]bool{}, recreated: map[int]bool{}}
	a.want = append([]Desired(nil), desired...)
	a.planned = make([]string, len(desired))
	for i, d := range desired {
		a.planned[i] = d.ID
		if d.ID != "" {
			a.known[d.ID] = true
		}
	}
	for _, id := range opts.Prior {
		a.known[id] = true
		a.prior[id] = true
	}
	if err := a.list(); err != nil {
		return a.result(), err
	}
	if err := a.check(); err != nil {
		return a.result(), err
	}
	maxStuck := opts.MaxRelists
	if maxStuck <= 0 {
		maxStuck = 5
	}
	clashes, stuck := 0, 0
	for round := 0; ; round++ {
		p, err := PlanFor(a.state, a.want)
		if err != nil {
			return a.result(), a.changed(err)
		}
		if round == 0 {
			cr, up, de := p.Counts()
			a.logf("egress policies: %d to create, %d to update, %d to delete", cr, up, de)
		}
		var failed error
		var class errClass
		for _, op := range p.Ops {
			if err := ctx.Err(); err != nil {
				return a.fail(err)
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
			return a.result(), a.verifyPins()
		}
		switch {
		case ctx.Err() != nil:
			return a.fail(failed)
		case class == errClash && clashes < 2:
			clashes++
			a.logf("precedence clash (%v): re-reading the account and re-planning", failed)
		case (class == errAmbiguous || class == errNotFound) && stuck < maxStuck:
			stuck++
			a.logf("%v: re-reading the account to verify and re-planning", failed)
		default:
			return a.fail(failed)
		}
		if err := a.list(); err != nil {
			return a.fail(err)
		}
		if err := a.check(); err != nil {
			return a.result(), err
		}
	}
}

// checkDesired rejects lists Apply cannot pair safely.
func checkDesired(desired []Desired) error {
	seen := make(map[string]int, len(desired))
	ids := make(map[string]int, len(desired))
	for i, d := range desired {
		if d.Name == "" {
			return fmt.Errorf("policies[%d].name is empty: every egress policy needs a unique name", i)
		}
		if j, dup := seen[d.Name]; dup {
			return fmt.Errorf("policies[%d].name %q is also the name of policies[%d]: policy names must be unique", i, d.Name, j)
		}
		seen[d.Name] = i
		if d.ID != "" {
			if j, dup := ids[d.ID]; dup {
				return fmt.Errorf("policies[%d] and policies[%d] were both planned for the rule %s: this is a bug in the provider", j, i, d.ID)
			}
			ids[d.ID] = i
		}
	}
	return nil
}

type applier struct {
	ctx     context.Context
	c       cfapi.Client
	account string
	opts    Options
	want    []Desired
	planned []string     // the IDs the plan gave the desired policies
	state   []cfapi.Rule // every rule of the account as last known
	res     Result
	// known are the rule IDs the plan knew (prior state and desired) and
	// the rules this apply created; prior the prior state's; gone the
	// planned deletes already recorded as done.
	known, prior, gone map[string]bool
	recreated          map[int]bool
	// pending are writes whose response was lost, verified at the next
	// listing.
	pending []Op
}

func (a *applier) logf(format string, args ...any) {
	if a.opts.Log != nil {
		a.opts.Log(format, args...)
	}
}

// list reads the account and decides the writes whose response was lost
// (the creates it does not find are created again by the re-plan).
func (a *applier) list() error {
	if err := a.read(); err != nil {
		return err
	}
	a.resolve(a.pending)
	a.pending = nil
	return nil
}

func (a *applier) read() error {
	a.res.Calls++
	rules, err := a.c.ListRules(a.ctx, a.account)
	if err != nil {
		return fmt.Errorf("reading the account's Gateway rules: %w", err)
	}
	a.state = rules
	return nil
}

// resolve decides writes whose response was lost from a fresh listing: a
// create landed when a rule nobody knew has its name, number and content;
// an update when the rule has what was sent; a delete when the rule is
// gone. It returns the creates not found (they may not have landed, or not
// yet); the updates and deletes not confirmed did not land, or were
// overwritten since.
func (a *applier) resolve(ops []Op) (notFound []Op) {
	for _, op := range ops {
		switch op.Kind {
		case OpCreate:
			found := false
			for _, r := range a.state {
				if cfapi.IsEgress(r) && !a.known[r.ID] && r.Name == op.Rule.Name && r.Precedence == op.Rule.Precedence && sameContent(r, a.want[op.Index]) {
					a.created(op.Index, r, true)
					found = true
					break
				}
			}
			if !found {
				notFound = append(notFound, op)
			}
		case OpUpdate:
			if r, ok := a.find(op.Rule.ID); ok && r.Precedence == op.Rule.Precedence && sameContent(r, a.want[op.Index]) {
				a.res.Done = append(a.res.Done, Write{Kind: OpUpdate, Index: op.Index, Rule: r, Verified: true})
			}
		case OpDelete:
			if _, ok := a.find(op.Rule.ID); !ok && !a.gone[op.Rule.ID] {
				a.gone[op.Rule.ID] = true
				a.res.Done = append(a.res.Done, Write{Kind: OpDelete, Index: -1, Rule: op.Rule, Verified: true})
			}
		}
	}
	return notFound
}

// check compares a fresh listing with what the plan knew: an egress rule
// nobody knew stops the apply; a planned delete of a rule already gone is
// done; a policy whose rule is gone is created again (or, on create, stops
// the apply).
func (a *applier) check() error {
	var unknown []cfapi.Rule
	present := make(map[string]bool, len(a.state))
	for _, r := range a.state {
		if !cfapi.IsEgress(r) {
			continue
		}
		present[r.ID] = true
		if !a.known[r.ID] {
			unknown = append(unknown, r)
		}
	}
	var vanished []VanishedPolicy
	for i, d := range a.want {
		if d.ID != "" && !present[d.ID] && a.opts.Create && a.effects() == 0 {
			vanished = append(vanished, VanishedPolicy{Index: i, Name: d.Name, ID: d.ID})
		}
	}
	if len(unknown) > 0 || len(vanished) > 0 {
		// Stop, recording nothing more (a stop before the first write
		// leaves the state exactly as it was).
		sort.SliceStable(unknown, func(i, j int) bool { return unknown[i].Precedence < unknown[j].Precedence })
		return &AccountChangedError{Unknown: unknown, Vanished: vanished, Create: a.opts.Create, Writes: a.effects()}
	}
	wanted := make(map[string]bool, len(a.want))
	for _, d := range a.want {
		if d.ID != "" {
			wanted[d.ID] = true
		}
	}
	for _, id := range a.opts.Prior {
		if !present[id] && !wanted[id] && !a.gone[id] {
			a.gone[id] = true
			a.res.Done = append(a.res.Done, Write{Kind: OpDelete, Index: -1, Rule: cfapi.Rule{ID: id}, Gone: true})
		}
	}
	for i, d := range a.want {
		if d.ID == "" || present[d.ID] {
			continue
		}
		a.logf("egress policy %q (policies[%d]): its rule %s was deleted outside Terraform; creating it again", d.Name, i, d.ID)
		// A new ID breaks the plan's promise anyway (the caller reports
		// it): its number need not be kept either.
		a.want[i].ID, a.want[i].Precedence = "", 0
		if d.ID == a.planned[i] && !a.recreated[i] {
			a.recreated[i] = true
			a.res.Recreated = append(a.res.Recreated, i)
		}
	}
	return nil
}

// effects is the number of changes made to the account so far (planned
// deletes of rules already gone are not changes).
func (a *applier) effects() int {
	n := 0
	for _, w := range a.res.Done {
		if !w.Gone {
			n++
		}
	}
	return n
}

// changed completes an *AccountChangedError from PlanFor.
func (a *applier) changed(err error) error {
	var ace *AccountChangedError
	if errors.As(err, &ace) {
		ace.Create, ace.Writes = a.opts.Create, a.effects()
	}
	return err
}

// fail returns the result of a failed apply. Writes whose response was lost
// are verified first by reading the account, on a context of its own (the
// apply's may be the reason it failed), so that the result says exactly
// what was done whenever the API can still be asked. A create not found is
// looked for once more a moment later (a request its client gave up on can
// still be processed); one still not found is reported as unverified.
func (a *applier) fail(err error) (Result, error) {
	if len(a.pending) > 0 {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), 15*time.Second)
		saved := a.ctx
		a.ctx = ctx
		for try := 0; try < 2 && len(a.pending) > 0; try++ {
			if try > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(verifyAgainAfter):
				}
			}
			if a.read() != nil {
				break // the API cannot be asked: what is pending stays unverified
			}
			a.logf("re-read the account to verify writes whose response was lost")
			a.pending = a.resolve(a.pending)
		}
		a.ctx = saved
		cancel()
	}
	a.res.Unverified = append([]Op(nil), a.pending...)
	return a.result(), err
}

// verifyAgainAfter is how long fail waits before looking for a lost create
// once more.
var verifyAgainAfter = time.Second

// verifyPins checks, after a complete apply, that every promised number was
// kept (PlanFor guarantees it; a failure here is a bug).
func (a *applier) verifyPins() error {
	for i, d := range a.want {
		if d.Precedence == 0 {
			continue
		}
		r, ok := a.find(d.ID)
		if !ok || r.Precedence != d.Precedence {
			return fmt.Errorf("policies[%d] %q ended at precedence %d, not the planned %d: this is a bug in the provider", i, d.Name, r.Precedence, d.Precedence)
		}
	}
	return nil
}

func (a *applier) find(id string) (cfapi.Rule, bool) {
	for _, r := range a.state {
		if r.ID == id {
			return r, true
		}
	}
	return cfapi.Rule{}, false
}

func (a *applier) where(op Op) string {
	if op.Index < 0 {
		return fmt.Sprintf("egress policy %q (id %s, not in the configuration)", op.Rule.Name, op.Rule.ID)
	}
	return fmt.Sprintf("egress policy %q (policies[%d])", op.Rule.Name, op.Index)
}

// created records a rule this apply created.
func (a *applier) created(i int, r cfapi.Rule, verified bool) {
	a.want[i].ID = r.ID
	a.known[r.ID] = true
	a.res.Creates++
	a.res.Done = append(a.res.Done, Write{Kind: OpCreate, Index: i, Rule: r, Verified: verified})
}

func (a *applier) exec(op Op) error {
	a.res.Calls++
	a.logf("%s", op)
	switch op.Kind {
	case OpCreate:
		r, err := a.c.CreateRule(a.ctx, a.account, op.Rule)
		if err != nil {
			a.lost(op, err)
			return fmt.Errorf("creating %s at precedence %d: %w", a.where(op), op.Rule.Precedence, err)
		}
		a.state = append(a.state, r)
		a.created(op.Index, r, false)
	case OpUpdate:
		r, err := a.c.UpdateRule(a.ctx, a.account, op.Rule)
		if err != nil {
			a.lost(op, err)
			return fmt.Errorf("updating %s (id %s) at precedence %d: %w", a.where(op), op.Rule.ID, op.Rule.Precedence, err)
		}
		a.replace(r)
		a.res.Updates++
		a.res.Done = append(a.res.Done, Write{Kind: OpUpdate, Index: op.Index, Rule: r})
	case OpDelete:
		err := a.c.DeleteRule(a.ctx, a.account, op.Rule.ID)
		notFound := err != nil && classify(err) == errNotFound
		if err != nil && !notFound {
			a.lost(op, err)
			return fmt.Errorf("deleting %s: %w", a.where(op), err)
		}
		a.remove(op.Rule.ID)
		a.res.Deletes++
		a.gone[op.Rule.ID] = true
		a.res.Done = append(a.res.Done, Write{Kind: OpDelete, Index: -1, Rule: op.Rule, Gone: notFound})
	}
	a.res.Writes++
	return nil
}

// lost remembers a write whose response was lost (it may have landed).
func (a *applier) lost(op Op, err error) {
	if classify(err) == errAmbiguous {
		a.pending = append(a.pending, op)
	}
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
	for i, d := range a.want {
		if r, ok := byID[d.ID]; ok && d.ID != "" {
			res.Rules[i] = r
		}
	}
	res.Done = append([]Write(nil), a.res.Done...)
	res.Recreated = append([]int(nil), a.res.Recreated...)
	return res
}
