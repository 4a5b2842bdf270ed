package reconcile

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// Integration: Apply through the real API layer (cfapi over cloudflare-go)
// against the emulator with injected faults: 429 with Retry-After, 5xx,
// dropped connections, writes applied whose response is lost.

const emuToken = "test-token-not-secret"

func fromEmu(r emulator.Rule) cfapi.Rule {
	out := cfapi.Rule{ID: r.ID, Name: r.Name, Description: r.Description, Precedence: r.Precedence,
		Enabled: r.Enabled, Action: r.Action, Filters: append([]string(nil), r.Filters...), Traffic: r.Traffic,
		Identity: r.Identity, DevicePosture: r.DevicePosture}
	if e := r.RuleSettings.Egress; e != nil {
		out.Egress = &cfapi.EgressSettings{IPv4: e.IPv4, IPv6: e.IPv6, IPv4Fallback: e.IPv4Fallback}
	}
	return out
}

func emuRules(e *emulator.Emulator) []cfapi.Rule {
	var out []cfapi.Rule
	for _, r := range e.Rules(emulator.DefaultAccountID) {
		out = append(out, fromEmu(r))
	}
	return out
}

func emuEgress(e *emulator.Emulator) []cfapi.Rule {
	var out []cfapi.Rule
	for _, r := range emuRules(e) {
		if cfapi.IsEgress(r) {
			out = append(out, r)
		}
	}
	return out
}

func startEmulator(t *testing.T, seed int64) (*emulator.Emulator, cfapi.Client) {
	t.Helper()
	emu := emulator.New(emulator.Config{Token: emuToken, Seed: seed, RateLimit: -1})
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	api, err := cfapi.New(cfapi.Config{APIToken: emuToken, BaseURL: url, RequestsPerSecond: 10000,
		MaxRetries: 4, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RequestTimeout: 10 * time.Second,
		// The emulator sends Retry-After: 1; honour it, capped so the test stays fast.
		MaxRetryAfter: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var others []emulator.Rule
	for i, p := range []uint64{7, 1500, 2500, 4000, 100000} {
		others = append(others, emulator.Rule{Name: fmt.Sprintf("dns-%d", i), Precedence: p, Enabled: true,
			Action: "block", Filters: []string{"dns"}, Traffic: `any(dns.domains[*] == "blocked.example")`})
	}
	if err := emu.SeedRules(emulator.DefaultAccountID, others); err != nil {
		t.Fatal(err)
	}
	return emu, api
}

func assertEmuConverged(t *testing.T, emu *emulator.Emulator, want []Desired) {
	t.Helper()
	got := emuEgress(emu)
	if len(got) != len(want) {
		t.Fatalf("emulator has %d egress rules, want %d: %v", len(got), len(want), names(got))
	}
	for i, d := range want {
		if !sameContent(got[i], d) {
			t.Fatalf("egress rule %d is %+v, want %+v", i, got[i], d)
		}
	}
}

func TestEmulatorScenarioCalls(t *testing.T) {
	for _, n := range []int{10, 100, 500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			if n > 100 && testing.Short() {
				t.Skip("500 creates through the emulator take seconds")
			}
			emu, api := startEmulator(t, int64(n))
			acc := emulator.DefaultAccountID
			want := overlapping(n)
			calls := func(f func() (Result, error)) (Result, int) {
				before := emu.Stats().Requests
				res, err := f()
				if err != nil {
					t.Fatal(err)
				}
				return res, emu.Stats().Requests - before
			}
			res, c := calls(func() (Result, error) { return Apply(ctx, api, acc, want, Options{Create: true}) })
			t.Logf("n=%d create: %d writes, %d API calls", n, res.Writes, c)
			want = withIDs(want, res)
			res, c = calls(func() (Result, error) { return Apply(ctx, api, acc, want, from(want)) })
			if res.Writes != 0 || c != 1 {
				t.Errorf("no-op: %d writes, %d calls; want 0 and 1", res.Writes, c)
			}
			steps := []struct {
				name   string
				change func([]Desired) []Desired
			}{
				{"insert middle", func(p []Desired) []Desired { return insertAt(p, n/2, portsPol("new", egressLAX, 3, 9)) }},
				{"move bottom to top", func(p []Desired) []Desired { return append([]Desired{p[len(p)-1]}, p[:len(p)-1]...) }},
				{"delete one", func(p []Desired) []Desired { return append(append([]Desired(nil), p[:n/3]...), p[n/3+1:]...) }},
			}
			for _, s := range steps {
				opts := from(want)
				want = s.change(want)
				res, c = calls(func() (Result, error) { return Apply(ctx, api, acc, want, opts) })
				t.Logf("n=%d %s: %d writes, %d API calls", n, s.name, res.Writes, c)
				if res.Writes != 1 || c != 2 {
					t.Errorf("%s: %d writes, %d calls; want 1 and 2", s.name, res.Writes, c)
				}
				want = withIDs(want, res)
				assertEmuConverged(t, emu, want)
			}
		})
	}
}

func TestEmulatorFaultsConverge(t *testing.T) {
	applies := 100
	if testing.Short() {
		applies = 25
	}
	emu, api := startEmulator(t, 1)
	acc := emulator.DefaultAccountID
	others := func() []cfapi.Rule {
		var out []cfapi.Rule
		for _, r := range emuRules(emu) {
			if !cfapi.IsEgress(r) {
				out = append(out, r)
			}
		}
		return out
	}
	baseline := fmt.Sprint(others())
	g := &gen{r: rand.New(rand.NewPCG(99, 1))}
	var want []Desired
	for i := 0; i < 20; i++ {
		want = append(want, g.policy())
	}
	faults := emulator.Faults{Rate429: 0.1, Rate5xx: 0.1, RateDrop: 0.1, RateLostResponse: 0.1, RetryAfter: time.Second}
	var firstFailed, secondFailed, pairsSingle, pairsMixed, writes, requests int
	for k := 0; k < applies; k++ {
		var kinds []string
		prior := want
		for m := 1 + g.r.IntN(3); m > 0; m-- {
			var kind string
			want, kind = g.mutate(want)
			kinds = append(kinds, kind)
		}
		start := emuRules(emu)
		emu.ClearHistory()
		before := emu.Stats().Requests
		emu.SetFaults(faults)
		res, err := Apply(ctx, api, acc, want, from(prior))
		if err != nil {
			firstFailed++
			t.Logf("apply %d (%v) failed, re-applying: %v", k, kinds, err)
			emu.SetFaults(emulator.Faults{})
			w, opts := replan(emuRules(emu), withIDs(want, res))
			emu.SetFaults(faults)
			res, err = Apply(ctx, api, acc, w, opts)
			if err != nil {
				secondFailed++
				t.Logf("apply %d: re-apply failed too, once more without faults: %v", k, err)
				emu.SetFaults(emulator.Faults{})
				w, opts := replan(emuRules(emu), withIDs(want, res))
				if res, err = Apply(ctx, api, acc, w, opts); err != nil {
					t.Fatalf("apply %d: %v", k, err)
				}
			}
		}
		emu.SetFaults(emulator.Faults{})
		requests += emu.Stats().Requests - before
		writes += res.Writes
		assertEmuConverged(t, emu, want)
		if got := fmt.Sprint(others()); got != baseline {
			t.Fatalf("apply %d: non-egress rules changed:\n%s\n%s", k, got, baseline)
		}
		history := [][]cfapi.Rule{start}
		for _, h := range emu.History(acc) {
			var rs []cfapi.Rule
			for _, r := range h {
				rs = append(rs, fromEmu(r))
			}
			history = append(history, rs)
		}
		for _, h := range history {
			seen := map[uint64]bool{}
			for _, r := range h {
				if seen[r.Precedence] {
					t.Fatalf("apply %d: precedence %d used twice in an intermediate list", k, r.Precedence)
				}
				seen[r.Precedence] = true
			}
		}
		if len(history) > 1 {
			history = append(history, emuRules(emu))
		}
		pairs, _ := misrouted(t, history, 40)
		if len(kinds) == 1 && kinds[0] != "edit" && kinds[0] != "rename" {
			pairsSingle += pairs
		} else {
			pairsMixed += pairs
		}
		want = withIDs(want, res)
	}
	st := emu.Stats()
	keys := make([]string, 0, len(st.Faults))
	for k := range st.Faults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var fs []string
	for _, k := range keys {
		fs = append(fs, fmt.Sprintf("%s=%d", k, st.Faults[k]))
	}
	t.Logf("%d applies under faults %v: %d first applies failed (re-applied), %d re-applies failed; %d writes, %d API requests; misrouted flow-states: single insert/delete/move %d, mixed %d",
		applies, fs, firstFailed, secondFailed, writes, requests, pairsSingle, pairsMixed)
	if secondFailed > 0 {
		t.Errorf("%d applies did not converge after one re-apply under faults", secondFailed)
	}
	if pairsSingle != 0 {
		t.Errorf("single insert/delete/move misrouted %d flow-states", pairsSingle)
	}
}

// racer is a Client whose first create races with another writer that takes
// the same precedence just before it (through the emulator's back door).
type racer struct {
	cfapi.Client
	emu  *emulator.Emulator
	done bool
}

func (r *racer) CreateRule(c context.Context, acc string, rule cfapi.Rule) (cfapi.Rule, error) {
	if !r.done {
		r.done = true
		if err := r.emu.SeedRules(acc, []emulator.Rule{{Name: "racing dns rule", Precedence: rule.Precedence, Enabled: true,
			Action: "block", Filters: []string{"dns"}, Traffic: `any(dns.domains[*] == "race.example")`}}); err != nil {
			return cfapi.Rule{}, err
		}
	}
	return r.Client.CreateRule(c, acc, rule)
}

func TestEmulatorPrecedenceClashReplans(t *testing.T) {
	emu, api := startEmulator(t, 5)
	acc := emulator.DefaultAccountID
	want := overlapping(10)
	res, err := Apply(ctx, api, acc, want, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	opts := from(withIDs(want, res))
	want = insertAt(withIDs(want, res), 5, portsPol("new", nil, 8))
	before := emu.Stats().Requests
	res, err = Apply(ctx, &racer{Client: api, emu: emu}, acc, want, opts)
	if err != nil {
		t.Fatal(err)
	}
	// list, refused create, create at another free number between the same
	// neighbours (no re-list: the refusal's text is never read, and the
	// retry keeps clear of every number the plan and the account use).
	if c := emu.Stats().Requests - before; res.Writes != 1 || c != 3 {
		t.Errorf("%d writes, %d calls; want 1 and 3", res.Writes, c)
	}
	assertEmuConverged(t, emu, want)
	if p := res.Rules[5].Precedence; p <= res.Rules[4].Precedence || p >= res.Rules[6].Precedence {
		t.Errorf("retried create at %d, not between its neighbours %d and %d", p, res.Rules[4].Precedence, res.Rules[6].Precedence)
	}
}

// startEmulatorWith is startEmulator with an adjusted emulator
// configuration and the client's token.
func startEmulatorWith(t *testing.T, adjust func(*emulator.Config), token string) (*emulator.Emulator, cfapi.Client) {
	t.Helper()
	cfg := emulator.Config{Token: emuToken, Seed: 3, RateLimit: -1}
	adjust(&cfg)
	emu := emulator.New(cfg)
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	api, err := cfapi.New(cfapi.Config{APIToken: token, BaseURL: url, MaxRetries: -1, RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return emu, api
}

// TestEmulatorScopedTokenCreatesNextToHiddenRules: a token permission-scoped
// to egress policies does not see the DNS rules that hold the numbers a new
// list takes; the creates are retried at other free numbers and succeed,
// and the hidden rules are untouched.
func TestEmulatorScopedTokenCreatesNextToHiddenRules(t *testing.T) {
	const scoped = "scoped-token-not-secret"
	emu, api := startEmulatorWith(t, func(c *emulator.Config) { c.ScopedToken = scoped }, scoped)
	var dns []emulator.Rule
	for i, p := range []uint64{1000, 2000, 3000, 4000, 5000, 6000} {
		dns = append(dns, emulator.Rule{Name: fmt.Sprintf("dns-%d", i), Precedence: p, Enabled: true,
			Action: "block", Filters: []string{"dns"}, Traffic: `any(dns.domains[*] == "blocked.example")`})
	}
	if err := emu.SeedRules(emulator.DefaultAccountID, dns); err != nil {
		t.Fatal(err)
	}
	if all, err := api.ListRules(ctx, emulator.DefaultAccountID); err != nil || len(all) != 0 {
		t.Fatalf("the scoped token sees %d rules (%v), want none", len(all), err)
	}
	want := overlapping(6)
	res, err := Apply(ctx, api, emulator.DefaultAccountID, want, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	assertEmuConverged(t, emu, want)
	for _, r := range res.Rules {
		if r.Precedence%1000 == 0 {
			t.Errorf("%q at %d: a hidden rule's number", r.Name, r.Precedence)
		}
	}
	if st := emu.Stats(); st.ByRoute["POST /accounts/{account_id}/gateway/rules"] != 12 {
		t.Errorf("%d creates sent, want 12 (each refused once, then placed)", st.ByRoute["POST /accounts/{account_id}/gateway/rules"])
	}
	if got := len(emuRules(emu)) - len(emuEgress(emu)); got != 6 {
		t.Errorf("%d DNS rules left, want 6", got)
	}
}

// racing is a Client that deletes a rule through the emulator's back door
// just before Apply writes it (the rule vanishes between the list and the
// write).
type racing struct {
	cfapi.Client
	emu  *emulator.Emulator
	hits int
}

func (r *racing) vanish(acc, id string) {
	r.hits++
	_ = r.emu.DeleteRule(acc, id)
}

func (r *racing) UpdateRule(c context.Context, acc string, rule cfapi.Rule) (cfapi.Rule, error) {
	r.vanish(acc, rule.ID)
	return r.Client.UpdateRule(c, acc, rule)
}

func (r *racing) DeleteRule(c context.Context, acc, id string) error {
	r.vanish(acc, id)
	return r.Client.DeleteRule(c, acc, id)
}

// TestEmulatorNotFoundStylesOnEveryRulePath: Cloudflare has answered an
// unknown rule ID 404, 400 "invalid rule id" and 400 7003; with each, a
// planned delete of a rule that vanished is done, and an update of one that
// vanished creates it again.
func TestEmulatorNotFoundStylesOnEveryRulePath(t *testing.T) {
	for name, style := range map[string]emulator.NotFoundStyle{"404": emulator.NotFound404, "400 invalid rule id": emulator.NotFoundInvalidRuleID, "400 7003": emulator.NotFoundRoute} {
		t.Run(name, func(t *testing.T) {
			emu, api := startEmulatorWith(t, func(c *emulator.Config) { c.NotFound = style }, emuToken)
			acc := emulator.DefaultAccountID
			want := pols(4)
			res, err := Apply(ctx, api, acc, want, Options{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			prior := withIDs(want, res)
			// Delete p003 (it vanishes first): done.
			want = prior[:3]
			res, err = Apply(ctx, &racing{Client: api, emu: emu}, acc, want, from(prior))
			if err != nil || res.Deletes != 1 || len(res.Done) != 1 || !res.Done[0].Gone {
				t.Fatalf("planned delete of a vanished rule: %+v, %v", res.Done, err)
			}
			assertEmuConverged(t, emu, want)
			// Edit p001 (it vanishes first): created again.
			prior = withIDs(want, res)
			want = append([]Desired(nil), prior...)
			want[1].Description = "edited"
			res, err = Apply(ctx, &racing{Client: api, emu: emu}, acc, want, from(prior))
			if err != nil || fmt.Sprint(res.Recreated) != "[1]" {
				t.Fatalf("update of a vanished rule: recreated %v, %v", res.Recreated, err)
			}
			assertEmuConverged(t, emu, want)
			// Destroy of a rule already gone is a success too.
			if err := emu.DeleteRule(acc, res.Rules[0].ID); err != nil {
				t.Fatal(err)
			}
			gone, err := Delete(ctx, &racing{Client: api, emu: emu}, acc, []string{res.Rules[0].ID, res.Rules[1].ID}, Options{})
			if err != nil || len(gone) != 2 {
				t.Fatalf("destroy: gone %v, %v", gone, err)
			}
		})
	}
}

// TestEmulatorSharedAndUnfilteredRules: a read_only egress rule and answers
// without "filters" (egress rules recognised by their action): a create
// next to the shared rule succeeds, never touches it, and a no-op apply is
// one call.
func TestEmulatorSharedAndUnfilteredRules(t *testing.T) {
	emu, api := startEmulatorWith(t, func(c *emulator.Config) { c.OmitFilters = true }, emuToken)
	acc := emulator.DefaultAccountID
	warn := "misconfigured"
	if err := emu.SeedRules(acc, []emulator.Rule{{Name: "org: finance", Precedence: 1500, Enabled: true, Action: "egress",
		Filters: []string{"egress"}, Traffic: "net.dst.port in {7000}", ReadOnly: true, SourceAccount: "parent", WarningStatus: &warn}}); err != nil {
		t.Fatal(err)
	}
	want := pols(3)
	res, err := Apply(ctx, api, acc, want, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	want = withIDs(want, res)
	before := emu.Stats().Requests
	if res, err := Apply(ctx, api, acc, want, from(want)); err != nil || res.Writes != 0 || emu.Stats().Requests-before != 1 {
		t.Errorf("no-op without filters: %d writes, %d calls, %v", res.Writes, emu.Stats().Requests-before, err)
	}
	rules, err := Read(ctx, api, acc)
	if err != nil || len(rules) != 4 || !rules[0].ReadOnly || rules[0].WarningStatus != warn {
		t.Fatalf("Read = %+v, %v: want the shared rule first, flagged, then the 3 policies", rules, err)
	}
	if len(emuEgress(emu)) != 4 {
		t.Errorf("%d egress rules in the emulator, want 4", len(emuEgress(emu)))
	}
}
