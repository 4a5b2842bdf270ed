package e2e

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// dnsRules are other Gateway rules of the account, interleaved with the
// egress rules' precedences: the provider must never touch them.
func dnsRules() []emulator.Rule {
	var out []emulator.Rule
	for i, p := range []uint64{7, 1500, 2500, 4000, 12345, 100000} {
		out = append(out, emulator.Rule{Name: fmt.Sprintf("dns-%d", i), Precedence: p, Enabled: true,
			Action: "block", Filters: []string{"dns"}, Traffic: `any(dns.domains[*] == "blocked.example")`})
	}
	return out
}

// faultsUnderTest are injected into every apply of TestFaultsConverge.
var faultsUnderTest = emulator.Faults{
	Rate429:          0.08,
	Rate5xx:          0.08,
	RateDrop:         0.05,
	RateLostResponse: 0.2,
	RetryAfter:       time.Second,
	Latency:          2 * time.Millisecond,
}

// mbb counts, for one kind of change, flows sent to neither their old nor
// their new egress in any intermediate rule list the account held.
type mbb struct {
	applies, states, checks, misrouted int
}

// faultReport aggregates the chains of TestFaultsConverge.
type faultReport struct {
	mu                               sync.Mutex
	applies, firstFailed, reapplied2 int
	outages                          int
	div                              divergence
	othersChanged, perpetualDiffs    int
	plansChecked                     int
	byKind                           map[string]*mbb
	faults                           map[string]int
	requests                         int
}

// TestFaultsConverge: 100 terraform applies of randomly changed policy
// lists (5 to 25 policies: inserts, deletes, moves, edits, reorders, mixed)
// under injected 429s with Retry-After, 5xx, latency, dropped connections
// and writes whose response is lost, in 4 independent chains run
// concurrently (most of the time is spent waiting for Retry-After and
// backoff). About twice per chain the API goes down half way through an
// apply, which must fail and be repaired by the re-apply. After each apply (re-applied once when it fails) the account's
// egress rules must equal the configuration: none orphaned, duplicated,
// wrongly ordered or with the wrong content, and the DNS rules untouched.
// Every 5th apply is followed by a plan that must show no change.
//
// Make-before-break: every intermediate rule list the emulator held during
// each apply is replayed through the engine on a sample of flows; flows sent
// to neither their old nor their new egress are counted per kind of change
// (must be 0 for insert, delete, move and edit).
func TestFaultsConverge(t *testing.T) {
	terraformPath(t)
	providerDir(t) // build first: the time reported is the applies'
	chains, perChain := 4, 25
	if testing.Short() {
		perChain = 5
	}
	rep := &faultReport{byKind: map[string]*mbb{}, faults: map[string]int{}}
	for _, k := range changeKinds {
		rep.byKind[k] = &mbb{}
	}
	start := time.Now()
	// The chains run concurrently (goroutines, not t.Parallel, whose limit
	// is GOMAXPROCS: they mostly wait for Retry-After and backoff).
	var wg sync.WaitGroup
	for c := 0; c < chains; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(fmt.Sprintf("chain%d", c), func(t *testing.T) { faultChain(t, uint64(c+1), perChain, rep) })
		}()
	}
	wg.Wait()
	took := time.Since(start)
	var kinds []string
	for _, k := range changeKinds {
		m := rep.byKind[k]
		kinds = append(kinds, fmt.Sprintf("%s: %d applies, %d intermediate lists, %d flow checks, %d misrouted", k, m.applies, m.states, m.checks, m.misrouted))
	}
	var fs []string
	for k, v := range rep.faults {
		fs = append(fs, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(fs)
	t.Logf("%d applies in %v (%d chains in parallel): %d first applies failed (%d of them in a forced API outage after their first write) and were re-applied, %d re-applies failed; "+
		"%d API requests, faults injected %v; divergence after apply: %s; DNS rules changed %d times; %d/%d follow-up plans showed changes\n  make-before-break:\n  %s",
		rep.applies, took.Round(time.Second), chains, rep.firstFailed, rep.outages, rep.reapplied2, rep.requests, fs, rep.div.String(), rep.othersChanged,
		rep.perpetualDiffs, rep.plansChecked, strings.Join(kinds, "\n  "))
	for _, k := range []string{kindInsert, kindDelete, kindMove, kindEdit} {
		if m := rep.byKind[k]; m.misrouted != 0 {
			t.Errorf("make-before-break: %d flows misrouted during %s changes, want 0", m.misrouted, k)
		}
	}
}

func faultChain(t *testing.T, seed uint64, applies int, rep *faultReport) {
	w := newTF(t, emuOptions{Seed: int64(seed), SeedRules: dnsRules()})
	g := newGen(seed)
	ps := g.list(5 + g.r.IntN(10))
	w.write(w.policiesConfig(ps))
	w.mustApply()
	if d := compare(egressRules(w.emu), ps); !d.ok() {
		t.Fatalf("initial apply: %s", d)
	}
	others := otherRules(w.emu)
	base := w.emu.Stats().Requests
	for k := 0; k < applies; k++ {
		old := egressRules(w.emu)
		var kind string
		ps, kind = g.change(ps, changeKinds[(k+int(seed))%len(changeKinds)])
		w.write(w.policiesConfig(ps))
		w.emu.ClearHistory()
		w.emu.SetFaults(faultsUnderTest)
		// About twice per chain, for changes of several writes, the API goes
		// down (every request 5xx) after the apply's first write, so the
		// apply fails half way and the re-apply (under the usual faults)
		// must converge from what it left.
		outage := (kind == kindReorder || kind == kindMixed) && k%4 == 0
		var stopOutage func() bool
		if outage {
			stopOutage = outageAfter(w.emu, writes(w.emu)+1)
		}
		r := w.apply()
		first, second := r.code != 0, false
		if outage {
			// Counted when it broke the apply (a change of one write is
			// complete before the outage begins).
			outage = stopOutage() && first
		}
		if first {
			t.Logf("apply %d (%s) failed, re-applying: %s", k, kind, errorLines(r.stderr))
			w.emu.SetFaults(faultsUnderTest)
			r = w.apply()
			if second = r.code != 0; second {
				t.Errorf("apply %d (%s): the re-apply failed too:\n%s", k, kind, r)
				w.emu.SetFaults(emulator.Faults{})
				w.mustApply()
			}
		}
		w.emu.SetFaults(emulator.Faults{})
		now := egressRules(w.emu)
		d := compare(now, ps)
		if !d.ok() {
			t.Errorf("apply %d (%s): %s", k, kind, d)
		}
		othersChanged := otherRules(w.emu) != others
		if othersChanged {
			t.Errorf("apply %d (%s): the DNS rules changed", k, kind)
		}
		perpetual, planned := false, false
		if k%5 == 4 {
			planned = true
			if code := w.planExit(); code != 0 {
				perpetual = true
				t.Errorf("apply %d (%s): the next plan shows changes:\n%s", k, kind, w.plan().stdout)
			}
		}
		states, checks, mis := replay(t, old, w.emu.History(w.acct), now)
		if mis > 0 {
			t.Logf("apply %d (%s): %d flow decisions in intermediate lists were neither the old nor the new one", k, kind, mis)
		}

		rep.mu.Lock()
		rep.applies++
		if first {
			rep.firstFailed++
		}
		if outage {
			rep.outages++
		}
		if second {
			rep.reapplied2++
		}
		rep.div.Orphaned += d.Orphaned
		rep.div.Duplicated += d.Duplicated
		rep.div.Misordered += d.Misordered
		rep.div.Wrong += d.Wrong
		if othersChanged {
			rep.othersChanged++
		}
		if planned {
			rep.plansChecked++
		}
		if perpetual {
			rep.perpetualDiffs++
		}
		m := rep.byKind[kind]
		m.applies++
		m.states += states
		m.checks += checks
		m.misrouted += mis
		rep.mu.Unlock()
	}
	st := w.emu.Stats()
	rep.mu.Lock()
	rep.requests += st.Requests - base
	for k, v := range st.Faults {
		rep.faults[k] += v
	}
	rep.mu.Unlock()
}

// outageAfter makes every API request of emu fail with a 5xx once it has
// answered `after` writes in total. The returned stop ends the watch and
// reports whether the outage began.
func outageAfter(emu *emulator.Emulator, after int) (stop func() bool) {
	done := make(chan struct{})
	began := make(chan bool, 1)
	go func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				began <- false
				return
			case <-tick.C:
				if writes(emu) >= after {
					emu.SetFaults(emulator.Faults{Rate5xx: 1})
					<-done
					began <- true
					return
				}
			}
		}
	}()
	return func() bool {
		close(done)
		return <-began
	}
}

// errorLines keeps the "Error:" lines of terraform's stderr.
func errorLines(stderr string) string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "Error:") || strings.Contains(l, "Account ") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, " | ")
}

// sampleFlows are the flows replayed: every port the lists use (each
// policy's own, the shared ones) and one no policy uses, to IPv4 grey,
// IPv4 orange and IPv6 destinations, from users at NRT and LAX.
func sampleFlows(lists ...[]emulator.Rule) []engine.Flow {
	ports := map[int]bool{1: true}
	for _, s := range sharedPorts {
		ports[s] = true
	}
	for _, l := range lists {
		for _, r := range l {
			for _, f := range strings.FieldsFunc(r.Traffic, func(c rune) bool { return c < '0' || c > '9' }) {
				var p int
				if _, err := fmt.Sscan(f, &p); err == nil && p > 0 && p < 65536 {
					ports[p] = true
				}
			}
		}
	}
	var sorted []int
	for p := range ports {
		sorted = append(sorted, p)
	}
	sort.Ints(sorted)
	var flows []engine.Flow
	for _, ing := range []struct{ colo, country string }{{"NRT", "JP"}, {"LAX", "US"}} {
		for _, dst := range []struct {
			ip      string
			proxied bool
		}{{"198.51.100.7", false}, {"198.51.100.7", true}, {"2001:db8:ffff::7", false}} {
			for _, p := range sorted {
				flows = append(flows, engine.Flow{
					SourceIP: netip.MustParseAddr("192.0.2.10"), SourcePort: 50000, SourceCountry: ing.country,
					IngressColo: ing.colo, DestinationIP: netip.MustParseAddr(dst.ip), DestinationPort: uint16(p),
					Proxied: dst.proxied, Protocol: "tcp",
				})
			}
		}
	}
	return flows
}

// where is the egress of a decision: what the destination and the network
// see (not which policy decided: two policies with the same egress send the
// flow to the same place).
func where(d engine.Decision) string {
	return fmt.Sprintf("%s %s %s %s %s", d.Outcome, d.EgressIP, d.EgressIPv6Range, d.EgressColo, d.GeoCountry)
}

func decideAll(t *testing.T, rules []emulator.Rule, flows []engine.Flow) []string {
	t.Helper()
	ps, err := enginePolicies(rules)
	if err != nil {
		t.Fatalf("stored rules do not compile: %v", err)
	}
	eng, err := engine.Compile(ps, emulator.DefaultInventory())
	if err != nil {
		t.Fatalf("stored rules do not compile: %v", err)
	}
	out := make([]string, len(flows))
	for i := range flows {
		d, err := eng.Decide(&flows[i], nil)
		if err != nil {
			t.Fatalf("deciding flow %d: %v", i, err)
		}
		out[i] = where(d)
	}
	return out
}

// replay decides the sample flows with the old list, the new list and
// every intermediate list, and counts intermediate decisions that are
// neither the old nor the new one.
func replay(t *testing.T, old []emulator.Rule, history [][]emulator.Rule, now []emulator.Rule) (states, checks, misrouted int) {
	t.Helper()
	flows := sampleFlows(old, now)
	before, after := decideAll(t, old, flows), decideAll(t, now, flows)
	for _, h := range history {
		got := decideAll(t, h, flows)
		states++
		for i := range flows {
			checks++
			if got[i] != before[i] && got[i] != after[i] {
				misrouted++
			}
		}
	}
	return states, checks, misrouted
}
