package benchmarks

// API calls per operation, ours against the per-rule model (see models.go).
//
//	go test -run '^$' -bench APICalls -benchtime 1x ./internal/benchmarks
//
// Every iteration restores the emulator to the state before the operation
// (emulator.Reset, no HTTP), so an iteration costs the operation itself:
// at 500 policies, "create" is 500 POSTs (about a second here), the others a
// few requests to 500 GETs. `make bench` (-benchtime 1s) runs each a few
// times. The metrics are exact counts and do not depend on the iterations:
// calls/op (every API request, refreshes included), writes/op (POST, PUT,
// PATCH, DELETE) and budget%/op (calls as a share of Cloudflare's 1,200
// requests per 5 minutes).

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

const (
	token   = "bench-token-not-secret"
	account = emulator.DefaultAccountID
)

var (
	egressNRT = &cfapi.EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"}
	egressLAX = &cfapi.EgressSettings{IPv4: "203.0.113.20", IPv6: "2001:db8:20::/64", IPv4Fallback: "203.0.113.10"}
)

// policies returns n distinct policies, each matching its own port.
func policies(n int) []reconcile.Desired {
	out := make([]reconcile.Desired, n)
	for i := range out {
		out[i] = policy(fmt.Sprintf("p%04d", i), 10000+i)
	}
	return out
}

func policy(name string, port int) reconcile.Desired {
	eg := egressNRT
	switch port % 3 {
	case 0:
		eg = egressLAX
	case 1:
		eg = nil // default egress
	}
	return reconcile.Desired{Name: name, Enabled: true, Traffic: fmt.Sprintf("net.dst.port == %d", port), Egress: eg}
}

// scenario is one operation on a list of n policies.
type scenario struct {
	name   string
	change func(ps []reconcile.Desired) []reconcile.Desired // nil: create or refresh
}

func scenarios() []scenario {
	return []scenario{
		{name: "create"},
		{name: "refresh"},
		{name: "insert_middle", change: func(ps []reconcile.Desired) []reconcile.Desired {
			k := len(ps) / 2
			out := append(append(append([]reconcile.Desired(nil), ps[:k]...), policy("inserted", 9999)), ps[k:]...)
			return out
		}},
		{name: "move_bottom_to_top", change: func(ps []reconcile.Desired) []reconcile.Desired {
			return append([]reconcile.Desired{ps[len(ps)-1]}, ps[:len(ps)-1]...)
		}},
		{name: "delete_one", change: func(ps []reconcile.Desired) []reconcile.Desired {
			k := len(ps) / 3
			return append(append([]reconcile.Desired(nil), ps[:k]...), ps[k+1:]...)
		}},
	}
}

type modelKind struct {
	name string
	new  func(api *cfapi.API) model
}

func modelKinds() []modelKind {
	return []modelKind{
		{"ours", func(api *cfapi.API) model { return &ours{api: api, account: account} }},
		{"perrule_gapped", func(api *cfapi.API) model { return &perRule{api: api, account: account, num: gapped} }},
		{"perrule_dense", func(api *cfapi.API) model { return &perRule{api: api, account: account, num: dense} }},
	}
}

// otherRules are DNS rules every account has; no model may touch them.
func otherRules() []emulator.Rule {
	var out []emulator.Rule
	for i, p := range []uint64{50_000_000, 50_000_500, 60_000_000} {
		out = append(out, emulator.Rule{Name: fmt.Sprintf("dns-%d", i), Precedence: p, Enabled: true,
			Action: "block", Filters: []string{"dns"}, Traffic: `any(dns.domains[*] == "blocked.example")`})
	}
	return out
}

// env is an emulator with a client; no rate limit on either side.
type env struct {
	emu *emulator.Emulator
	api *cfapi.API
}

func newEnv(tb testing.TB, seed []emulator.Rule) *env {
	tb.Helper()
	emu := emulator.New(emulator.Config{Token: token, RateLimit: -1, Seed: 1})
	if err := emu.SeedRules(account, append(otherRules(), seed...)); err != nil {
		tb.Fatal(err)
	}
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = emu.Close() })
	// No budget: the iterations of a benchmark reuse the client, and these
	// benchmarks count calls, not time.
	api, err := cfapi.New(cfapi.Config{APIToken: token, BaseURL: url, RequestsPer5Minutes: -1, MaxRetries: -1,
		RequestTimeout: 30 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return &env{emu: emu, api: api}
}

// counts of the emulator since the last Reset.
func counts(emu *emulator.Emulator) (calls, writes, gets int) {
	st := emu.Stats()
	for route, n := range st.ByRoute {
		if strings.HasPrefix(route, "GET ") {
			gets += n
		} else {
			writes += n
		}
	}
	return st.Requests, writes, gets
}

func egressNames(emu *emulator.Emulator) []string {
	var out []string
	for _, r := range emu.Rules(account) {
		if r.IsEgress() {
			out = append(out, r.Name)
		}
	}
	return out
}

func desiredNames(ds []reconcile.Desired) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	return out
}

// measurement is one model × size × scenario.
type measurement struct {
	calls, writes, gets int
}

// prepared is a model whose n policies were created, on an emulator whose
// Reset brings back exactly that account, and a constructor for a fresh
// model object in the same state.
type prepared struct {
	e     *env
	fresh func() model
	list  []reconcile.Desired
	// created is what creating the n policies cost.
	created measurement
}

// prepare creates n policies with the model (measured), then moves the
// result into a new emulator as its baseline, so Reset restores it without
// HTTP. With empty, the new emulator has no egress rules (for "create").
func prepare(tb testing.TB, mk modelKind, n int, empty bool) *prepared {
	tb.Helper()
	list := policies(n)
	if empty {
		e := newEnv(tb, nil)
		return &prepared{e: e, list: list, fresh: func() model { return mk.new(e.api) }}
	}
	setup := newEnv(tb, nil)
	m := mk.new(setup.api)
	if err := m.create(context.Background(), list); err != nil {
		tb.Fatalf("%s: creating %d policies: %v", mk.name, n, err)
	}
	var created measurement
	created.calls, created.writes, created.gets = counts(setup.emu)
	if got, w := fmt.Sprint(egressNames(setup.emu)), fmt.Sprint(desiredNames(list)); got != w {
		tb.Fatalf("%s create: the account's egress rules are\n%s\nwant\n%s", mk.name, got, w)
	}
	var seed []emulator.Rule
	for _, r := range setup.emu.Rules(account) {
		if r.IsEgress() {
			seed = append(seed, r)
		}
	}
	_ = setup.emu.Close()
	e := newEnv(tb, seed)
	// The model's state refers to the same IDs and precedences.
	snapshot := m
	return &prepared{e: e, list: list, created: created, fresh: func() model { return cloneModel(snapshot, e.api) }}
}

func cloneModel(m model, api *cfapi.API) model {
	switch x := m.(type) {
	case *ours:
		return &ours{api: api, account: x.account, state: append([]reconcile.Desired(nil), x.state...)}
	case *perRule:
		return &perRule{api: api, account: x.account, num: x.num, state: append([]perRuleRes(nil), x.state...)}
	}
	panic(fmt.Sprintf("unknown model %T", m))
}

// run performs the scenario once on a freshly reset emulator and returns
// what it cost; it checks that the account ends up as desired.
func (p *prepared) run(tb testing.TB, s scenario) measurement {
	tb.Helper()
	p.e.emu.Reset()
	m := p.fresh()
	ctx := context.Background()
	var err error
	want := p.list
	switch {
	case s.name == "create":
		err = m.create(ctx, p.list)
	case s.change == nil:
		err = m.refresh(ctx)
	default:
		want = s.change(p.list)
		err = m.apply(ctx, want)
	}
	if err != nil {
		tb.Fatalf("%s: %v", s.name, err)
	}
	calls, writes, gets := counts(p.e.emu)
	if got, w := fmt.Sprint(egressNames(p.e.emu)), fmt.Sprint(desiredNames(want)); got != w {
		tb.Fatalf("%s: the account's egress rules are\n%s\nwant\n%s", s.name, got, w)
	}
	if got, w := fmt.Sprint(m.names()), fmt.Sprint(desiredNames(want)); got != w {
		tb.Fatalf("%s: the model's state is\n%s\nwant\n%s", s.name, got, w)
	}
	return measurement{calls: calls, writes: writes, gets: gets}
}

// BenchmarkAPICalls reports calls/op, writes/op and budget%/op for every
// model, size and scenario. ns/op is the wall time of the operation
// against the loopback emulator (no latency, no rate limit).
func BenchmarkAPICalls(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		for _, mk := range modelKinds() {
			var p, empty *prepared // made once per model and size, on first use
			for _, s := range scenarios() {
				b.Run(fmt.Sprintf("n=%d/%s/%s", n, s.name, mk.name), func(sb *testing.B) {
					q := &p
					if s.name == "create" {
						q = &empty
					}
					if *q == nil {
						*q = prepare(b, mk, n, s.name == "create")
					}
					var m measurement
					sb.ResetTimer()
					for i := 0; i < sb.N; i++ {
						m = (*q).run(sb, s)
					}
					sb.StopTimer()
					sb.ReportMetric(float64(m.calls), "calls/op")
					sb.ReportMetric(float64(m.writes), "writes/op")
					sb.ReportMetric(100*float64(m.calls)/1200, "budget%/op")
				})
			}
		}
	}
}
