package reconcile

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// Fault modes the fake can inject into one write.
const (
	faultNone          = ""
	faultLostLanded    = "ambiguous-landed" // applied, response lost
	faultLostNotLanded = "ambiguous-lost"   // not applied, response lost
	faultClash         = "clash"            // another writer takes the number first
	faultVanish        = "vanish"           // the target rule is deleted out of band first
	faultFail          = "fail"             // a plain error, nothing applied
	faultCanceled      = "canceled"         // the caller's context ended before the write was sent
	faultInvalid       = "invalid"          // refused as invalid (400), nothing applied
	faultNotOwned      = "not-owned"        // 400 2055: the dedicated IPv4 is not the account's
)

// fakeClient is an in-memory Gateway rules API. It enforces precedence
// uniqueness across all rules, counts calls, injects faults, records every
// intermediate rule list and every write to a non-egress rule.
type fakeClient struct {
	mu         sync.Mutex
	account    string
	rules      []cfapi.Rule
	seq        int
	lists      int
	writes     int // write calls received (failed ones too)
	rejected   []string
	violations []string
	history    [][]cfapi.Rule
	// fault, when set, is asked before each write (n counts writes from 1).
	fault func(n int, op string, r cfapi.Rule) string
	// listFault, when set, is asked before each list (n counts lists from
	// 1); a non-nil error fails the list.
	listFault func(n int) error
	// reformat mimics Cloudflare rewriting stored expressions.
	reformat bool
	// limit, when > 0, refuses a create past this many egress rules.
	limit int
	// hideOthers plays a token permission-scoped to egress policies: the
	// list shows egress rules only, the others' numbers still collide.
	hideOthers bool
	// inFlight and maxInFlight count concurrent writes; pause is how long
	// a write takes before it is processed (0: no pause).
	inFlight, maxInFlight, arrived int
	pause                          time.Duration
}

func newFake(rules ...cfapi.Rule) *fakeClient {
	f := &fakeClient{account: "acc"}
	for _, r := range rules {
		if r.ID == "" {
			f.seq++
			r.ID = fmt.Sprintf("seed-%04d", f.seq)
		}
		f.rules = append(f.rules, cloneRule(r))
	}
	f.sortLocked()
	return f
}

func cloneRule(r cfapi.Rule) cfapi.Rule {
	r.Filters = append([]string(nil), r.Filters...)
	if r.Egress != nil {
		e := *r.Egress
		r.Egress = &e
	}
	return r
}

func cloneRules(rs []cfapi.Rule) []cfapi.Rule {
	out := make([]cfapi.Rule, len(rs))
	for i, r := range rs {
		out[i] = cloneRule(r)
	}
	return out
}

func (f *fakeClient) sortLocked() {
	sort.SliceStable(f.rules, func(i, j int) bool { return f.rules[i].Precedence < f.rules[j].Precedence })
}

func (f *fakeClient) snapshotLocked() {
	f.sortLocked()
	f.history = append(f.history, cloneRules(f.rules))
}

func (f *fakeClient) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists + f.writes
}

func (f *fakeClient) resetCounters() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists, f.writes, f.history, f.rejected = 0, 0, nil, nil
	f.history = append(f.history, cloneRules(f.rules)) // the starting list
}

func (f *fakeClient) all() []cfapi.Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sortLocked()
	return cloneRules(f.rules)
}

func (f *fakeClient) egress() []cfapi.Rule {
	var out []cfapi.Rule
	for _, r := range f.all() {
		if cfapi.IsEgress(r) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeClient) nonEgress() []cfapi.Rule {
	var out []cfapi.Rule
	for _, r := range f.all() {
		if !cfapi.IsEgress(r) {
			out = append(out, r)
		}
	}
	return out
}

func apiErr(kind cfapi.ErrorKind, op, msg string) error {
	return &cfapi.Error{Kind: kind, Op: op, Status: 400, Messages: []string{msg}}
}

func (f *fakeClient) checkAccount(id string) error {
	if id != f.account {
		return apiErr(cfapi.KindNotFound, "list rules", "account not found")
	}
	return nil
}

func (f *fakeClient) ListRules(_ context.Context, accountID string) ([]cfapi.Rule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if err := f.checkAccount(accountID); err != nil {
		return nil, err
	}
	if f.listFault != nil {
		if err := f.listFault(f.lists); err != nil {
			return nil, err
		}
	}
	f.sortLocked()
	out := cloneRules(f.rules)
	if f.hideOthers {
		out = slices.DeleteFunc(out, func(r cfapi.Rule) bool { return !cfapi.IsEgress(r) })
	}
	return out, nil
}

// enter and leave bracket a write (they count writes in flight and their
// arrivals; a pause lets concurrent writes overlap).
func (f *fakeClient) enter() {
	f.mu.Lock()
	f.inFlight++
	f.arrived++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	pause := f.pause
	f.mu.Unlock()
	if pause > 0 {
		time.Sleep(pause)
	}
}

func (f *fakeClient) leave() {
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
}

func (f *fakeClient) indexLocked(id string) int {
	for i, r := range f.rules {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// precedenceErrLocked enforces uniqueness across ALL rules.
func (f *fakeClient) precedenceErrLocked(r cfapi.Rule, op string) error {
	if r.Precedence == 0 {
		return apiErr(cfapi.KindValidation, op, "precedence must be set")
	}
	for _, o := range f.rules {
		if o.ID != r.ID && o.Precedence == r.Precedence {
			f.rejected = append(f.rejected, fmt.Sprintf("%s: precedence %d held by %q", op, r.Precedence, o.Name))
			// Cloudflare publishes no code or text for a clash: the
			// fake's answer says nothing about it.
			return apiErr(cfapi.KindValidation, op, "Bad Request")
		}
	}
	return nil
}

// preFaultLocked applies the side effects of a fault that happen before the
// write and returns the mode.
func (f *fakeClient) preFaultLocked(op string, r cfapi.Rule) string {
	if f.fault == nil {
		return faultNone
	}
	mode := f.fault(f.writes, op, r)
	switch mode {
	case faultClash:
		if r.Precedence != 0 && f.ownerLocked(r.Precedence) < 0 {
			f.seq++
			f.rules = append(f.rules, cfapi.Rule{ID: fmt.Sprintf("intruder-%04d", f.seq), Name: "intruder", Precedence: r.Precedence,
				Action: "block", Filters: []string{"dns"}, Traffic: "any(dns.domains[*] == \"x.example\")"})
			f.snapshotLocked()
		}
	case faultVanish:
		if i := f.indexLocked(r.ID); i >= 0 {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
			f.snapshotLocked()
		}
	}
	return mode
}

func (f *fakeClient) ownerLocked(p uint64) int {
	for i, r := range f.rules {
		if r.Precedence == p {
			return i
		}
	}
	return -1
}

func lost(op string) error {
	return &cfapi.Error{Kind: cfapi.KindAmbiguous, Op: op, Detail: "connection dropped"}
}

// notOwned is Cloudflare's 2055 (official provider's
// TestAccCloudflareTeamsRule_EgressDedicated).
func notOwned(op string) error {
	return &cfapi.Error{Kind: cfapi.KindValidation, Op: op, Status: 400, Codes: []int{cfapi.CodeDedicatedIPv4NotOwned},
		Messages: []string{"Account doesn't own dedicated primary IPv4"}}
}

func canceled(op string) error {
	return &cfapi.Error{Kind: cfapi.KindCanceled, Op: op, Detail: "context canceled"}
}

// clone returns a fake holding the same rules (counters, faults and
// history reset).
func (f *fakeClient) clone() *fakeClient {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &fakeClient{account: f.account, rules: cloneRules(f.rules), seq: f.seq, reformat: f.reformat}
	c.history = append(c.history, cloneRules(c.rules))
	return c
}

func (f *fakeClient) store(r cfapi.Rule) cfapi.Rule {
	r = cloneRule(r)
	if f.reformat {
		r.Traffic = strings.Join(strings.Fields(r.Traffic), "  ")
		if r.Egress != nil {
			r.Egress.IPv6 = strings.ToUpper(r.Egress.IPv6)
		}
	}
	return r
}

func (f *fakeClient) CreateRule(_ context.Context, accountID string, r cfapi.Rule) (cfapi.Rule, error) {
	f.enter()
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	op := fmt.Sprintf("create rule %q", r.Name)
	if err := f.checkAccount(accountID); err != nil {
		return cfapi.Rule{}, err
	}
	mode := f.preFaultLocked("create", r)
	switch mode {
	case faultInvalid:
		f.rejected = append(f.rejected, op+": invalid (injected)")
		return cfapi.Rule{}, apiErr(cfapi.KindValidation, op, "Bad Request")
	case faultNotOwned:
		return cfapi.Rule{}, notOwned(op)
	case faultLostNotLanded:
		return cfapi.Rule{}, lost(op)
	case faultFail:
		return cfapi.Rule{}, &cfapi.Error{Kind: cfapi.KindRateLimited, Op: op, Status: 429}
	case faultCanceled:
		return cfapi.Rule{}, canceled(op)
	}
	if r.ID != "" {
		return cfapi.Rule{}, apiErr(cfapi.KindValidation, op, "id must not be set")
	}
	if f.limit > 0 && len(slices.DeleteFunc(cloneRules(f.rules), func(r cfapi.Rule) bool { return !cfapi.IsEgress(r) })) >= f.limit {
		f.rejected = append(f.rejected, op+": over the limit")
		return cfapi.Rule{}, apiErr(cfapi.KindValidation, op, "Bad Request")
	}
	if err := f.precedenceErrLocked(r, op); err != nil {
		return cfapi.Rule{}, err
	}
	f.seq++
	r.ID = fmt.Sprintf("rule-%05d", f.seq)
	r = f.store(r)
	f.rules = append(f.rules, r)
	f.snapshotLocked()
	if mode == faultLostLanded {
		return cfapi.Rule{}, lost(op)
	}
	return cloneRule(r), nil
}

func (f *fakeClient) UpdateRule(_ context.Context, accountID string, r cfapi.Rule) (cfapi.Rule, error) {
	f.enter()
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	op := fmt.Sprintf("update rule %q", r.Name)
	if err := f.checkAccount(accountID); err != nil {
		return cfapi.Rule{}, err
	}
	mode := f.preFaultLocked("update", r)
	switch mode {
	case faultInvalid:
		f.rejected = append(f.rejected, op+": invalid (injected)")
		return cfapi.Rule{}, apiErr(cfapi.KindValidation, op, "Bad Request")
	case faultNotOwned:
		return cfapi.Rule{}, notOwned(op)
	case faultLostNotLanded:
		return cfapi.Rule{}, lost(op)
	case faultFail:
		return cfapi.Rule{}, &cfapi.Error{Kind: cfapi.KindRateLimited, Op: op, Status: 429}
	case faultCanceled:
		return cfapi.Rule{}, canceled(op)
	}
	i := f.indexLocked(r.ID)
	if i < 0 {
		return cfapi.Rule{}, apiErr(cfapi.KindNotFound, op, "rule not found")
	}
	if !cfapi.IsEgress(f.rules[i]) || f.rules[i].ReadOnly {
		f.violations = append(f.violations, fmt.Sprintf("update of non-egress or read_only rule %q", f.rules[i].Name))
	}
	if err := f.precedenceErrLocked(r, op); err != nil {
		return cfapi.Rule{}, err
	}
	r.CreatedAt = f.rules[i].CreatedAt
	r = f.store(r)
	f.rules[i] = r
	f.snapshotLocked()
	if mode == faultLostLanded {
		return cfapi.Rule{}, lost(op)
	}
	return cloneRule(r), nil
}

func (f *fakeClient) DeleteRule(_ context.Context, accountID, id string) error {
	f.enter()
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	op := fmt.Sprintf("delete rule %s", id)
	if err := f.checkAccount(accountID); err != nil {
		return err
	}
	mode := f.preFaultLocked("delete", cfapi.Rule{ID: id})
	switch mode {
	case faultLostNotLanded:
		return lost(op)
	case faultFail:
		return &cfapi.Error{Kind: cfapi.KindRateLimited, Op: op, Status: 429}
	case faultCanceled:
		return canceled(op)
	}
	i := f.indexLocked(id)
	if i < 0 {
		return apiErr(cfapi.KindNotFound, op, "rule not found")
	}
	if !cfapi.IsEgress(f.rules[i]) || f.rules[i].ReadOnly {
		f.violations = append(f.violations, fmt.Sprintf("delete of non-egress or read_only rule %q", f.rules[i].Name))
	}
	f.rules = append(f.rules[:i], f.rules[i+1:]...)
	f.snapshotLocked()
	if mode == faultLostLanded {
		return lost(op)
	}
	return nil
}

// checkHealthy fails the test on any write to a non-egress rule, any
// intermediate list with a duplicate precedence, or any write the fake
// refused for a precedence clash that was not injected.
func (f *fakeClient) checkHealthy(t testing.TB, injectedClashes bool) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.violations {
		t.Errorf("violation: %s", v)
	}
	if !injectedClashes {
		for _, r := range f.rejected {
			t.Errorf("write refused: %s", r)
		}
	}
	for k, h := range f.history {
		seen := map[uint64]string{}
		for _, r := range h {
			if o, dup := seen[r.Precedence]; dup {
				t.Errorf("intermediate list %d: precedence %d held by %q and %q", k, r.Precedence, o, r.Name)
			}
			seen[r.Precedence] = r.Name
		}
	}
}

// egressRule builds a stored egress rule.
func egressRule(id, name string, prec uint64, traffic string) cfapi.Rule {
	return cfapi.Rule{ID: id, Name: name, Precedence: prec, Enabled: true, Action: "egress",
		Filters: []string{"egress"}, Traffic: traffic}
}

// otherRule builds a non-egress rule (DNS, HTTP, network).
func otherRule(id, name string, prec uint64) cfapi.Rule {
	return cfapi.Rule{ID: id, Name: name, Precedence: prec, Enabled: true, Action: "block",
		Filters: []string{"dns"}, Traffic: `any(dns.domains[*] == "blocked.example")`}
}
