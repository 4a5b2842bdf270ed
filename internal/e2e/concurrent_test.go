package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// colleague is a second writer of the account while Terraform runs: it
// adds, edits, moves and deletes egress and DNS rules through the HTTP API,
// as someone in the dashboard would. It remembers what it did, so that the
// test can tell its changes from the provider's.
type colleague struct {
	d *dashboard
	r *rand.Rand // used by the colleague's goroutine only
	n int        // actions so far (same)

	mu       sync.Mutex // guards what the test reads
	active   bool
	busy     sync.WaitGroup
	dns      map[string]emulator.Rule // every DNS rule, as last written (nobody else may touch them)
	created  map[string]bool          // egress rules it created
	deleted  map[string]bool          // egress rules it deleted
	actions  map[string]int
	failures []string
	stop     chan struct{}
	done     chan struct{}
}

func newColleague(w *tf, seed uint64) *colleague {
	c := &colleague{d: w.dashboard(), r: rand.New(rand.NewPCG(seed, 99)), dns: map[string]emulator.Rule{},
		created: map[string]bool{}, deleted: map[string]bool{}, actions: map[string]int{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, r := range w.emu.Rules(w.acct) {
		if !r.IsEgress() {
			c.dns[r.ID] = r
		}
	}
	go c.run()
	return c
}

// resume and pause switch the colleague on and off; pause returns once its
// current action is done.
func (c *colleague) resume() {
	c.mu.Lock()
	c.active = true
	c.mu.Unlock()
}

func (c *colleague) pause() {
	c.mu.Lock()
	c.active = false
	c.mu.Unlock()
	c.busy.Wait()
}

func (c *colleague) close() {
	close(c.stop)
	<-c.done
}

func (c *colleague) run() {
	defer close(c.done)
	for {
		wait := time.Duration(200+c.r.IntN(400)) * time.Millisecond
		select {
		case <-c.stop:
			return
		case <-time.After(wait):
		}
		c.mu.Lock()
		if !c.active {
			c.mu.Unlock()
			continue
		}
		c.busy.Add(1)
		c.mu.Unlock()
		c.act()
		c.busy.Done()
	}
}

// act makes one change: mostly edits and moves, sometimes an add or a
// delete, of DNS and egress rules.
func (c *colleague) act() {
	rules, err := c.d.list()
	if err != nil {
		c.fail("list: %v", err)
		return
	}
	var egress, dns []emulator.Rule
	used := map[uint64]bool{}
	for _, r := range rules {
		used[r.Precedence] = true
		if r.IsEgress() {
			egress = append(egress, r)
		} else {
			dns = append(dns, r)
		}
	}
	roll := c.r.IntN(100)
	pick := func(rs []emulator.Rule) emulator.Rule { return rs[c.r.IntN(len(rs))] }
	free := func() uint64 {
		for {
			if p := uint64(1 + c.r.IntN(40000)); !used[p] {
				return p
			}
		}
	}
	c.n++
	n := c.n

	var kind string
	switch {
	case roll < 25 && len(dns) > 0: // edit a DNS rule
		kind = "dns edit"
		r := pick(dns)
		r.Traffic = fmt.Sprintf(`any(dns.domains[*] == "edit-%d.example")`, n)
		c.putDNS(kind, r)
	case roll < 40 && len(dns) > 0: // move a DNS rule
		kind = "dns move"
		r := pick(dns)
		r.Precedence = free()
		c.putDNS(kind, r)
	case roll < 45: // add a DNS rule
		kind = "dns add"
		r, err := c.d.create(emulator.Rule{Name: fmt.Sprintf("dns-by-colleague-%d", n), Enabled: true, Action: "block",
			Filters: []string{"dns"}, Traffic: fmt.Sprintf(`any(dns.domains[*] == "new-%d.example")`, n)})
		if c.done1(kind, err) {
			c.mu.Lock()
			c.dns[r.ID] = r
			c.mu.Unlock()
		}
	case roll < 50 && len(dns) > 3: // delete a DNS rule
		kind = "dns delete"
		r := pick(dns)
		if c.done1(kind, c.d.delete(r.ID)) {
			c.mu.Lock()
			delete(c.dns, r.ID)
			c.mu.Unlock()
		}
	case roll < 55: // add an egress rule
		kind = "egress add"
		r, err := c.d.create(colleagueEgress(fmt.Sprintf("by-colleague-%d", n), 30000+n))
		if c.done1(kind, err) {
			c.mu.Lock()
			c.created[r.ID] = true
			c.mu.Unlock()
		}
	case roll < 75 && len(egress) > 0: // edit an egress rule
		kind = "egress edit"
		r := pick(egress)
		switch c.r.IntN(3) {
		case 0:
			r.Description = fmt.Sprintf("edited in the dashboard %d", n)
		case 1:
			r.Enabled = !r.Enabled
		default:
			r.Traffic = fmt.Sprintf("net.dst.port == %d", 40000+n)
		}
		_, err := c.d.update(r)
		c.done1(kind, err)
	case roll < 92 && len(egress) > 0: // move an egress rule
		kind = "egress move"
		r := pick(egress)
		r.Precedence = free()
		_, err := c.d.update(r)
		c.done1(kind, err)
	case len(egress) > 0: // delete an egress rule
		kind = "egress delete"
		r := pick(egress)
		if c.done1(kind, c.d.delete(r.ID)) {
			c.mu.Lock()
			c.deleted[r.ID] = true
			c.mu.Unlock()
		}
	}
}

func (c *colleague) putDNS(kind string, r emulator.Rule) {
	stored, err := c.d.update(r)
	if c.done1(kind, err) {
		c.mu.Lock()
		c.dns[stored.ID] = stored
		c.mu.Unlock()
	}
}

// done1 counts an action; a rejected one (a number taken meanwhile, a rule
// the provider just deleted) is no change and no failure of the test.
func (c *colleague) done1(kind string, err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.actions[kind+" (refused)"]++
		return false
	}
	c.actions[kind]++
	return true
}

func (c *colleague) fail(format string, args ...any) {
	c.mu.Lock()
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// dnsDiff lists DNS rules that are not as the colleague (their only
// writer) left them.
func (c *colleague) dnsDiff(emu *emulator.Emulator) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, r := range emu.Rules(emulator.DefaultAccountID) {
		if r.IsEgress() {
			continue
		}
		seen[r.ID] = true
		m, ok := c.dns[r.ID]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("unknown DNS rule %q (%s)", r.Name, r.ID))
		case m.Traffic != r.Traffic || m.Precedence != r.Precedence || m.Name != r.Name || m.Enabled != r.Enabled || m.Version != r.Version:
			out = append(out, fmt.Sprintf("DNS rule %q (%s) changed: %+v, the colleague left %+v", r.Name, r.ID, r, m))
		}
	}
	for id, m := range c.dns {
		if !seen[id] {
			out = append(out, fmt.Sprintf("DNS rule %q (%s) deleted", m.Name, id))
		}
	}
	return out
}

// plannedDeletes reads a saved plan (terraform show -json) and returns the
// rule IDs it deletes: in its prior state and not among its planned
// policies.
func (w *tf) plannedDeletes(planFile string) map[string]bool {
	w.t.Helper()
	r := w.run(nil, "show", "-json", planFile)
	if r.code != 0 {
		w.t.Fatalf("show -json:\n%s", r)
	}
	var p struct {
		ResourceChanges []struct {
			Type   string `json:"type"`
			Change struct {
				Before, After struct {
					Policies []struct {
						ID any `json:"id"`
					} `json:"policies"`
				}
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(r.stdout[strings.Index(r.stdout, "{"):]), &p); err != nil {
		w.t.Fatalf("plan JSON: %v", err)
	}
	out := map[string]bool{}
	for _, rc := range p.ResourceChanges {
		if rc.Type != "cfegress_egress_policies" {
			continue
		}
		kept := map[string]bool{}
		for _, a := range rc.Change.After.Policies {
			if id, ok := a.ID.(string); ok {
				kept[id] = true
			}
		}
		for _, b := range rc.Change.Before.Policies {
			if id, ok := b.ID.(string); ok && !kept[id] {
				out[id] = true
			}
		}
	}
	return out
}

// concurrentReport aggregates TestConcurrentEditors.
type concurrentReport struct {
	mu                                                  sync.Mutex
	applies, succeeded, stopped, otherErrors            int
	stopReasons                                         map[string]int
	unplannedDeletes, dnsTouched, lostIDs, notConverged int
	plannedDeletes, colleagueRulesDeletedAsPlanned      int
	actions                                             map[string]int
}

// TestConcurrentEditors: while `terraform apply` runs saved plans of
// random changes (5 to 25 policies), a colleague adds, edits, moves and
// deletes egress and DNS rules through the API, several times a second.
// For every apply: no rule is deleted that its plan did not show, no DNS
// rule is touched, no rule ID the provider made or knew is missing from
// the state, the apply either succeeds or stops with the "account changed"
// error, and (with the colleague paused) the next apply converges to
// exactly the configuration (every 4th time, and last, a plan is then
// empty). Four chains run concurrently.
func TestConcurrentEditors(t *testing.T) {
	terraformPath(t)
	t.Parallel()
	providerDir(t)
	chains, perChain := 4, 13
	if testing.Short() {
		chains, perChain = 2, 3
	}
	rep := &concurrentReport{actions: map[string]int{}, stopReasons: map[string]int{}}
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < chains; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(fmt.Sprintf("chain%d", c), func(t *testing.T) { concurrentChain(t, uint64(100+c), perChain, rep) })
		}()
	}
	wg.Wait()
	var acts []string
	for k, v := range rep.actions {
		acts = append(acts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(acts)
	var reasons []string
	for k, v := range rep.stopReasons {
		reasons = append(reasons, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(reasons)
	t.Logf("%d applies under a concurrent editor in %v (%d chains): %d succeeded, %d stopped with the account-changed error (%s), %d other errors; "+
		"rules deleted that no plan showed: %d; DNS rules touched: %d; lost IDs: %d; not converged after the next apply: %d; "+
		"planned deletes %d (of them %d colleague rules the plan showed); colleague actions: %s",
		rep.applies, time.Since(start).Round(time.Second), chains, rep.succeeded, rep.stopped, strings.Join(reasons, " "), rep.otherErrors,
		rep.unplannedDeletes, rep.dnsTouched, rep.lostIDs, rep.notConverged, rep.plannedDeletes, rep.colleagueRulesDeletedAsPlanned, strings.Join(acts, " "))
	if rep.applies < chains*perChain {
		t.Errorf("%d applies, want %d", rep.applies, chains*perChain)
	}
}

func concurrentChain(t *testing.T, seed uint64, applies int, rep *concurrentReport) {
	w := newTF(t, emuOptions{Seed: int64(seed), SeedRules: dnsRules()})
	g := newGen(seed)
	ps := g.list(5 + g.r.IntN(10))
	w.write(w.policiesConfig(ps))
	w.mustApply()
	col := newColleague(w, seed)
	defer col.close()
	planFile := filepath.Join(w.dir, "change.tfplan")
	for k := 0; k < applies; k++ {
		ps, _ = g.change(ps, changeKinds[(k+int(seed))%len(changeKinds)])
		w.write(w.policiesConfig(ps))
		_ = os.Remove(planFile)

		w.emu.ClearHistory()
		seen := map[string]emulator.Rule{}
		for _, r := range egressRules(w.emu) {
			seen[r.ID] = r
		}
		col.resume()
		if r := w.run(nil, "plan", "-out="+planFile, "-input=false"); r.code != 0 {
			col.pause()
			t.Fatalf("apply %d: plan:\n%s", k, r)
		}
		planned := w.plannedDeletes(planFile)
		r := w.run(nil, "apply", "-input=false", planFile)
		col.pause()

		// Every egress rule that existed during the apply and is gone now
		// was deleted by its plan or by the colleague.
		for _, h := range w.emu.History(w.acct) {
			for _, rule := range h {
				if rule.IsEgress() {
					seen[rule.ID] = rule
				}
			}
		}
		now := map[string]bool{}
		for _, rule := range egressRules(w.emu) {
			now[rule.ID] = true
		}
		col.mu.Lock()
		var unplanned []string
		colleaguePlanned := 0
		for id, rule := range seen {
			if now[id] || col.deleted[id] {
				continue
			}
			if !planned[id] {
				unplanned = append(unplanned, fmt.Sprintf("%q (%s)", rule.Name, id))
			} else if col.created[id] {
				colleaguePlanned++
			}
		}
		col.mu.Unlock()
		// The state has every rule the provider made or knew.
		_, sps, _, _ := w.state()
		inState := map[string]bool{}
		for _, p := range sps {
			inState[p.ID] = true
		}
		var lost []string
		col.mu.Lock()
		for _, rule := range egressRules(w.emu) {
			if !inState[rule.ID] && !col.created[rule.ID] {
				lost = append(lost, fmt.Sprintf("%q (%s)", rule.Name, rule.ID))
			}
		}
		col.mu.Unlock()
		dns := col.dnsDiff(w.emu)
		stopped := r.code != 0 && strings.Contains(r.stderr, "changed since the plan")
		other := r.code != 0 && !stopped
		if len(unplanned) > 0 {
			t.Errorf("apply %d deleted rules no plan showed: %v", k, unplanned)
		}
		if len(lost) > 0 {
			t.Errorf("apply %d: rules in the account but not in the state: %v", k, lost)
		}
		if len(dns) > 0 {
			t.Errorf("apply %d touched DNS rules: %v", k, dns)
		}
		if other {
			t.Errorf("apply %d failed with another error:\n%s", k, r)
		}

		// With the colleague paused, the next apply converges.
		converged := true
		if cr := w.apply(); cr.code != 0 {
			converged = false
			t.Errorf("apply %d: the next apply failed:\n%s", k, cr)
		} else if d := compare(egressRules(w.emu), ps); !d.ok() {
			converged = false
			t.Errorf("apply %d: after the next apply: %s", k, d)
		} else if k%4 == 3 || k == applies-1 {
			if code := w.planExit(); code != 0 {
				converged = false
				t.Errorf("apply %d: the plan after the next apply shows changes", k)
			}
		}
		if d := col.dnsDiff(w.emu); len(d) > 0 {
			t.Errorf("apply %d: the next apply touched DNS rules: %v", k, d)
			dns = append(dns, d...)
		}

		rep.mu.Lock()
		rep.applies++
		switch {
		case r.code == 0:
			rep.succeeded++
		case stopped:
			rep.stopped++
			for reason, text := range map[string]string{"rule added": "the plan did not show", "rule deleted, re-created": "is now rule",
				"precedence taken": "which the plan keeps", "no room": "no longer leave room"} {
				if strings.Contains(r.stderr, text) {
					rep.stopReasons[reason]++
				}
			}
		default:
			rep.otherErrors++
		}
		rep.unplannedDeletes += len(unplanned)
		rep.lostIDs += len(lost)
		rep.dnsTouched += len(dns)
		rep.plannedDeletes += len(planned)
		rep.colleagueRulesDeletedAsPlanned += colleaguePlanned
		if !converged {
			rep.notConverged++
		}
		rep.mu.Unlock()
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, f := range col.failures {
		t.Errorf("colleague: %s", f)
	}
	rep.mu.Lock()
	for k, v := range col.actions {
		rep.actions[k] += v
	}
	rep.mu.Unlock()
}
