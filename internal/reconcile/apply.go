package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
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
	// MaxConcurrentWrites bounds how many writes are in flight at once. 0
	// means DefaultMaxConcurrentWrites; 1 writes one after the other. Writes
	// run together only inside a phase: writes to rules that cannot match a
	// common flow, each of which keeps every intermediate list safe (see
	// phases.go); a phase starts when every write of the previous one
	// succeeded, and after a failure no new write starts.
	MaxConcurrentWrites int
	// MaxPolicies, when > 0, is the account's limit of egress rules. When
	// creating before deleting would go past it, the deletes go first.
	MaxPolicies int
	// Log, when set, receives one line per write (for tflog). It may be
	// called from several goroutines, never at the same time.
	Log func(format string, args ...any)
}

// DefaultMaxConcurrentWrites is Options.MaxConcurrentWrites' default.
// Cloudflare limits each client IP to 200 requests per second; the request
// budget (cfapi) paces them over 5 minutes.
const DefaultMaxConcurrentWrites = 4

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

// Read returns the account's egress rules in precedence order, read_only
// ones (shared by a parent account: never written) included.
func Read(ctx context.Context, c cfapi.Client, accountID string) ([]cfapi.Rule, error) {
	all, err := c.ListRules(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("reading the account's Gateway rules: %w", err)
	}
	return egressRules(all), nil
}

// Delete deletes the given egress rules (destroy) and returns the IDs that
// are gone, deleted now or already, also on error (the caller keeps the
// others in its state). IDs that are not egress rules of the account, and
// read_only rules, are never touched. It lists the account once, then
// deletes bottom first; deletes of rules no flow matches together run
// concurrently (opts.MaxConcurrentWrites, see phases.go), and after a
// failure no new delete starts. A failed list deletes nothing.
func Delete(ctx context.Context, c cfapi.Client, accountID string, ids []string, opts Options) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	all, err := c.ListRules(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("reading the account's Gateway rules: %w", err)
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	present := make(map[string]bool, len(all))
	var egress, kept []cfapi.Rule
	var ops []Op
	for _, j := range egressInOrder(all) {
		r := all[j]
		egress = append(egress, r)
		present[r.ID] = true
		if want[r.ID] && managed(r) {
			ops = append(ops, Op{Kind: OpDelete, Index: -1, Rule: r, From: r.Precedence})
		} else if managed(r) {
			kept = append(kept, r)
		}
	}
	var gone []string
	for _, id := range ids {
		if !present[id] {
			gone = append(gone, id) // already gone (or not an egress rule: never ours to delete)
		}
	}
	slices.Reverse(ops) // bottom first
	groups := sequential(ops)
	if opts.workers() > 1 {
		groups = phases(egress, &Plan{Rules: kept}, ops)
	}
	var mu sync.Mutex
	for _, g := range groups {
		errs := runPool(ctx, len(g), opts.workers(), func(i int, _ func() bool) error {
			r := g[i].Rule
			for attempt := 0; ; attempt++ {
				err := c.DeleteRule(ctx, accountID, r.ID)
				switch {
				case err == nil || classify(err) == errNotFound:
				case classify(err) == errAmbiguous && attempt < 3 && ctx.Err() == nil:
					continue // a repeated delete of a rule that is gone is not-found
				default:
					return fmt.Errorf("deleting egress policy %q (%s): %w", r.Name, r.ID, err)
				}
				mu.Lock()
				gone = append(gone, r.ID)
				mu.Unlock()
				return nil
			}
		})
		if len(errs) > 0 {
			return gone, errors.Join(errs...)
		}
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
		known: map[string]bool{}, prior: map[string]bool{}, gone: map[string]bool{}, recreated: map[int]bool{},
		suspects: map[uint64]bool{}, tried: map[int][]uint64{}, rnd: newRand()}
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
	replans, stuck := 0, 0
	for round := 0; ; round++ {
		p, err := planFor(a.state, a.want, a.suspectList())
		if err != nil {
			return a.result(), a.changed(err)
		}
		a.deletesFirstAtLimit(&p)
		if round == 0 {
			cr, up, de := p.Counts()
			a.logf("egress policies: %d to create, %d to update, %d to delete", cr, up, de)
		}
		a.startRound(&p)
		var errs []error
		for k, ph := range a.phases(&p) {
			if len(ph) > 1 {
				a.logf("phase %d: %d writes to rules no flow matches together, %d at a time", k+1, len(ph), min(len(ph), a.opts.workers()))
			}
			errs = a.runPhase(ph)
			if a.progress {
				stuck, a.progress = 0, false
			}
			if len(errs) > 0 {
				break
			}
		}
		if len(errs) == 0 {
			return a.result(), a.verifyPins()
		}
		class, failed := worst(errs)
		switch {
		case ctx.Err() != nil:
			return a.fail(failed)
		case class == errReplan && replans < 2:
			replans++
			a.logf("%v: re-reading the account and re-planning around the refused numbers", failed)
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

// worst picks, among the failures of one phase, the one Apply acts on: a
// failure it cannot resolve first (all of those, joined), then a refused
// number with no other free one nearby, then lost responses and vanished
// rules.
func worst(errs []error) (errClass, error) {
	var fatal []error
	best, bestClass := errs[0], classify(errs[0])
	for _, err := range errs {
		c := classify(err)
		if c == errOther || c == errValidation {
			fatal = append(fatal, err)
			continue
		}
		if c == errReplan && bestClass != errReplan {
			best, bestClass = err, c
		}
	}
	switch len(fatal) {
	case 0:
		return bestClass, best
	case 1:
		return errOther, fatal[0]
	}
	return errOther, errors.Join(fatal...)
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

	// mu guards everything above and below while a phase's writes run
	// (the API calls themselves run unlocked).
	mu sync.Mutex
	// progress: a write succeeded since the last look.
	progress bool
	// suspects are numbers Cloudflare refused although no rule the token
	// sees holds them; tried the numbers refused per desired policy.
	suspects map[uint64]bool
	tried    map[int][]uint64
	// targets are the numbers the current round's plan gives its rules
	// (by desired index) and those its retries took.
	targets map[int]uint64
	taken   []uint64
	rnd     *rand.Rand
}

func (a *applier) logf(format string, args ...any) {
	if a.opts.Log != nil {
		a.opts.Log(format, args...)
	}
}

// workers is how many writes may be in flight at once.
func (o Options) workers() int {
	if o.MaxConcurrentWrites <= 0 {
		return DefaultMaxConcurrentWrites
	}
	return o.MaxConcurrentWrites
}

// phases splits the round's writes into phases (one write each when
// writing one at a time).
func (a *applier) phases(p *Plan) [][]Op {
	if a.opts.workers() <= 1 {
		return sequential(p.Ops)
	}
	return phases(egressRules(a.state), p, p.Ops)
}

// deletesFirstAtLimit moves the deletes of p before everything else when
// the account's limit of egress rules leaves no room to create first.
func (a *applier) deletesFirstAtLimit(p *Plan) {
	if a.opts.MaxPolicies <= 0 {
		return
	}
	n := 0
	for _, r := range a.state {
		if cfapi.IsEgress(r) {
			n++
		}
	}
	creates, _, deletes := p.Counts()
	if deletes == 0 || n+creates <= a.opts.MaxPolicies {
		return
	}
	a.logf("creating %d egress policies before deleting %d would pass the account's limit of %d egress policies: deleting first (traffic of the deleted rules may take the next matching rule, or none, until the creates are done)",
		creates, deletes, a.opts.MaxPolicies)
	var dels, rest []Op
	for _, o := range p.Ops {
		if o.Kind == OpDelete {
			dels = append(dels, o)
		} else {
			rest = append(rest, o)
		}
	}
	p.Ops = append(dels, rest...)
}

// startRound records the numbers of a round's plan (retries keep clear of
// them and stay between the same rules).
func (a *applier) startRound(p *Plan) {
	a.targets = make(map[int]uint64, len(p.Rules))
	for i, r := range p.Rules {
		a.targets[i] = r.Precedence
	}
	a.taken = a.taken[:0]
}

func (a *applier) suspectList() []uint64 {
	out := make([]uint64, 0, len(a.suspects))
	for p := range a.suspects {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// runPhase makes the writes of one phase, at most workers() at once, and
// returns their failures. After a failure (or the end of ctx) no new write
// starts; the writes in flight finish and are recorded.
func (a *applier) runPhase(ops []Op) []error {
	return runPool(a.ctx, len(ops), a.opts.workers(), func(i int, stopped func() bool) error { return a.exec(ops[i], stopped) })
}

// runPool runs do(0..n-1), at most workers at once, in order of i, and
// returns the failures (ctx's error when it ended before a call). After the
// first failure no new call starts; do's stopped reports it to the calls
// in flight.
func runPool(ctx context.Context, n, workers int, do func(i int, stopped func() bool) error) []error {
	var (
		mu   sync.Mutex
		next int
		stop bool
		errs []error
		wg   sync.WaitGroup
	)
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return stop
	}
	fail := func(err error) {
		mu.Lock()
		stop = true
		errs = append(errs, err)
		mu.Unlock()
	}
	for range max(1, min(workers, n)) {
		wg.Go(func() {
			for {
				mu.Lock()
				if stop || next >= n {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				if err := do(i, stopped); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errs
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
				if managed(r) && !a.known[r.ID] && r.Name == op.Rule.Name && r.Precedence == op.Rule.Precedence && sameContent(r, a.want[op.Index]) {
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
		if !managed(r) {
			continue // other kinds, and read_only egress rules: never ours
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

// exec makes one write (ops of one phase run concurrently: the API call
// runs unlocked, the recording under a.mu). A create or a move refused as
// invalid (400/409/422: Cloudflare publishes no code or text for a
// precedence clash, so the error's text is never read) may have hit a
// number held by a rule this token cannot see: it is retried at other free
// numbers between the same rules, a bounded number of times.
func (a *applier) exec(op Op, stopped func() bool) error {
	for {
		a.mu.Lock()
		a.res.Calls++
		a.logf("%s", op)
		a.mu.Unlock()
		r, err := a.call(op)
		a.mu.Lock()
		if err == nil || (op.Kind == OpDelete && classify(err) == errNotFound) {
			a.record(op, r, err != nil)
			a.mu.Unlock()
			return nil
		}
		a.lost(op, err)
		werr := &WriteError{Op: op, Err: err, what: a.what(op)}
		if !mayRenumber(op, err) {
			a.mu.Unlock()
			return werr
		}
		if d := a.want[op.Index]; d.Precedence != 0 && d.Precedence == op.Rule.Precedence {
			// The plan promised this number: it cannot be changed here.
			a.mu.Unlock()
			return a.changed(&AccountChangedError{Cause: werr, Conflicts: []string{fmt.Sprintf(
				"Cloudflare refused to move policies[%d] %q back to precedence %d, which the plan keeps for it (%v); no rule this token can see holds it, so a Gateway rule the token cannot see probably took it since the plan (%s)",
				op.Index, d.Name, d.Precedence, err, seeEveryRule)}})
		}
		a.suspects[op.Rule.Precedence] = true
		a.tried[op.Index] = append(a.tried[op.Index], op.Rule.Precedence)
		if len(a.tried[op.Index]) >= MaxPrecedenceTries {
			a.mu.Unlock()
			return &PrecedenceRejectedError{Index: op.Index, Name: op.Rule.Name, Kind: op.Kind,
				Tried: append([]uint64(nil), a.tried[op.Index]...), Err: werr}
		}
		next, ok := a.renumber(op)
		if !ok || a.ctx.Err() != nil {
			a.mu.Unlock()
			if !ok {
				return &replanError{werr}
			}
			return werr
		}
		a.mu.Unlock()
		if stopped() {
			return werr
		}
		a.mu.Lock()
		a.logf("%s: refused at precedence %d (%v); trying the free number %d between the same rules", a.what(op), op.Rule.Precedence, err, next)
		a.mu.Unlock()
		op.Rule.Precedence = next
	}
}

// call sends op's write.
func (a *applier) call(op Op) (cfapi.Rule, error) {
	switch op.Kind {
	case OpCreate:
		return a.c.CreateRule(a.ctx, a.account, op.Rule)
	case OpUpdate:
		return a.c.UpdateRule(a.ctx, a.account, op.Rule)
	}
	return cfapi.Rule{}, a.c.DeleteRule(a.ctx, a.account, op.Rule.ID)
}

// record notes a successful write (gone: a delete answered not found).
func (a *applier) record(op Op, r cfapi.Rule, gone bool) {
	a.progress = true
	switch op.Kind {
	case OpCreate:
		a.state = append(a.state, r)
		a.created(op.Index, r, false)
	case OpUpdate:
		a.replace(r)
		a.res.Updates++
		a.res.Done = append(a.res.Done, Write{Kind: OpUpdate, Index: op.Index, Rule: r})
	case OpDelete:
		a.remove(op.Rule.ID)
		a.res.Deletes++
		a.gone[op.Rule.ID] = true
		a.res.Done = append(a.res.Done, Write{Kind: OpDelete, Index: -1, Rule: op.Rule, Gone: gone})
	}
	a.res.Writes++
}

// what describes op for errors and logs.
func (a *applier) what(op Op) string {
	switch op.Kind {
	case OpCreate:
		return fmt.Sprintf("creating %s at precedence %d", a.where(op), op.Rule.Precedence)
	case OpUpdate:
		return fmt.Sprintf("updating %s (id %s) at precedence %d", a.where(op), op.Rule.ID, op.Rule.Precedence)
	}
	return "deleting " + a.where(op)
}

// lost remembers a write whose response was lost (it may have landed).
func (a *applier) lost(op Op, err error) {
	if classify(err) == errAmbiguous {
		a.pending = append(a.pending, op)
	}
}

// renumber picks another free number for op (create or move) between the
// same rules: strictly between the nearest numbers, below and above the one
// refused, of any egress rule's current place and of any rule's place in
// this round's plan (as retries changed it: renumbers run one at a time,
// under a.mu), so that op's rule is on the same side of every rule at every
// moment of the apply; never a number in use, planned, taken by a
// retry or refused before. Random inside that gap, so that a second try
// does not land on a neighbour of the hidden rule the first one hit.
func (a *applier) renumber(op Op) (uint64, bool) {
	t := op.Rule.Precedence
	lo, hi := MinPrecedence-1, MaxPrecedence+1
	bound := func(p uint64) {
		switch {
		case p < t && p > lo:
			lo = p
		case p > t && p < hi:
			hi = p
		}
	}
	var excl []uint64
	for _, r := range a.state {
		excl = append(excl, r.Precedence)
		if cfapi.IsEgress(r) && r.ID != op.Rule.ID {
			bound(r.Precedence)
		}
	}
	for i, p := range a.targets {
		excl = append(excl, p)
		if i != op.Index {
			bound(p)
		}
	}
	excl = append(excl, a.taken...)
	excl = append(excl, a.suspectList()...)
	space := newNumberSpace(nil, excl...)
	free := space.free(lo, hi)
	if free == 0 {
		return 0, false
	}
	p := space.kthFree(lo, a.rnd.Uint64N(free))
	a.taken = append(a.taken, p)
	// Later retries of other rules keep to the same side of this one.
	a.targets[op.Index] = p
	return p, true
}

// mayRenumber: op chose its number (a create, or a move) and Cloudflare
// refused it as invalid, without one of the codes it publishes for other
// causes (2055: the dedicated IPv4 is not the account's; 7003: a bad ID).
func mayRenumber(op Op, err error) bool {
	if classify(err) != errValidation || op.Index < 0 || (op.Kind != OpCreate && !op.Move) {
		return false
	}
	return !cfapi.IsDedicatedIPv4NotOwned(err) && !cfapi.HasCode(err, cfapi.CodeRoute)
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
		if managed(r) {
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
