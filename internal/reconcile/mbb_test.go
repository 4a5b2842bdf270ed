package reconcile

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// Make-before-break measure: every intermediate rule list an apply produced
// is replayed through the engine on sample flows; a flow is misrouted in a
// state when that state sends it to neither its old nor its new decision.

var testInventory = []engine.DedicatedIP{
	{IPv4: netip.MustParseAddr("203.0.113.10"), IPv6Range: netip.MustParsePrefix("2001:db8:10::/64"), Colo: "NRT"},
	{IPv4: netip.MustParseAddr("203.0.113.20"), IPv6Range: netip.MustParsePrefix("2001:db8:20::/64"), Colo: "LAX"},
}

// Egress settings the tests use: dedicated in NRT or in LAX.
var (
	egressNRT = &cfapi.EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"}
	egressLAX = &cfapi.EgressSettings{IPv4: "203.0.113.20", IPv6: "2001:db8:20::/64", IPv4Fallback: "203.0.113.10"}
)

var portTerm = regexp.MustCompile(`(\d+)(?:\.\.(\d+))?`)

// toyMatcher matches flows whose destination port is in the {...} set of a
// `net.dst.port in {...}` expression (ports and a..b ranges): a toy
// predicate standing in for the compiled expression.
func toyMatcher(traffic string) engine.Matcher {
	type rng struct{ lo, hi uint16 }
	var set []rng
	for _, m := range portTerm.FindAllStringSubmatch(traffic, -1) {
		lo, _ := strconv.Atoi(m[1])
		hi := lo
		if m[2] != "" {
			hi, _ = strconv.Atoi(m[2])
		}
		set = append(set, rng{uint16(lo), uint16(hi)})
	}
	return engine.MatcherFunc(func(f *engine.Flow) (engine.Tri, string) {
		for _, r := range set {
			if f.DestinationPort >= r.lo && f.DestinationPort <= r.hi {
				return engine.Yes, ""
			}
		}
		return engine.No, ""
	})
}

func toEngine(rules []cfapi.Rule) []engine.Policy {
	var out []engine.Policy
	for _, r := range rules {
		if !cfapi.IsEgress(r) {
			continue
		}
		p := engine.Policy{ID: r.ID, Name: r.Name, Enabled: r.Enabled, Traffic: r.Traffic,
			Egress: engine.Egress{Method: engine.MethodDefault}, Match: toyMatcher(r.Traffic)}
		if e := normEgress(r.Egress); e != nil {
			p.Egress = engine.Egress{Method: engine.MethodDedicated, IPv4: netip.MustParseAddr(e.IPv4),
				IPv6: netip.MustParsePrefix(e.IPv6), IPv4Fallback: netip.MustParseAddr(e.IPv4Fallback)}
		}
		out = append(out, p)
	}
	return out
}

// decisions returns, per sample flow (destination ports 1..ports), where
// the list sends it: policy name, egress IP and colo.
func decisions(t testing.TB, rules []cfapi.Rule, ports int) []string {
	t.Helper()
	e, err := engine.Compile(toEngine(rules), testInventory)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	out := make([]string, ports)
	var d engine.Decision
	for p := 1; p <= ports; p++ {
		f := engine.Flow{IngressColo: "KIX", DestinationIP: netip.MustParseAddr("198.51.100.7"),
			Protocol: "tcp", DestinationPort: uint16(p)}
		if err := e.DecideInto(&f, nil, &d, false); err != nil {
			t.Fatalf("decide: %v", err)
		}
		out[p-1] = fmt.Sprintf("%s|%s|%s|%s", d.Outcome, d.PolicyName, d.EgressIP, d.EgressColo)
	}
	return out
}

// misrouted replays history (history[0] = before the apply, last = after)
// and returns how many (flow, intermediate list) pairs were sent to neither
// the old nor the new decision, and how many distinct flows were affected.
func misrouted(t testing.TB, history [][]cfapi.Rule, ports int) (pairs, flows int) {
	t.Helper()
	if len(history) < 3 {
		return 0, 0
	}
	old := decisions(t, history[0], ports)
	nw := decisions(t, history[len(history)-1], ports)
	hit := make([]bool, ports)
	for _, h := range history[1 : len(history)-1] {
		for i, d := range decisions(t, h, ports) {
			if d != old[i] && d != nw[i] {
				pairs++
				hit[i] = true
			}
		}
	}
	for _, h := range hit {
		if h {
			flows++
		}
	}
	return pairs, flows
}

// portsPol builds a policy matching a set of ports with the given egress.
func portsPol(name string, e *cfapi.EgressSettings, ports ...int) Desired {
	s := ""
	for i, p := range ports {
		if i > 0 {
			s += " "
		}
		s += strconv.Itoa(p)
	}
	return Desired{Name: name, Enabled: true, Traffic: "net.dst.port in {" + s + "}", Egress: e}
}

// overlapPorts is the port space overlapping's policies draw from.
const overlapPorts = 60

// overlapping builds n policies whose port sets (from 1..overlapPorts)
// overlap heavily, with alternating egress, so that any misordering shows in
// decisions.
func overlapping(n int) []Desired {
	const ports = overlapPorts
	out := make([]Desired, n)
	for i := range out {
		e := egressNRT
		switch i % 3 {
		case 1:
			e = egressLAX
		case 2:
			e = nil
		}
		a, b, c := 1+(i*7)%ports, 1+(i*13+5)%ports, 1+(i*31+11)%ports
		out[i] = portsPol(fmt.Sprintf("p%03d", i), e, a, b, c)
	}
	return out
}

func TestMakeBeforeBreakSingleChanges(t *testing.T) {
	const ports = overlapPorts
	for _, dense := range []bool{false, true} {
		for _, n := range []int{10, 100, 500} {
			if n > 100 && dense && testing.Short() {
				continue // hundreds of intermediate lists: slow under -short
			}
			start := overlapping(n)
			scenarios := map[string]func([]Desired) []Desired{
				"insert": func(p []Desired) []Desired {
					return insertAt(p, n/2, portsPol("new", egressLAX, 3, 17, 29, 41))
				},
				"delete":    func(p []Desired) []Desired { return append(append([]Desired(nil), p[:n/2]...), p[n/2+1:]...) },
				"move up":   func(p []Desired) []Desired { return append([]Desired{p[n-1]}, p[:n-1]...) },
				"move down": func(p []Desired) []Desired { return append(append([]Desired(nil), p[1:]...), p[0]) },
				"move middle": func(p []Desired) []Desired {
					return insertAt(append(append([]Desired(nil), p[:n/3]...), p[n/3+1:]...), 2*n/3, p[n/3])
				},
			}
			for name, change := range scenarios {
				t.Run(fmt.Sprintf("dense=%v/%d/%s", dense, n, name), func(t *testing.T) {
					var f *fakeClient
					var prior []Desired
					if dense {
						var rules []cfapi.Rule
						for i, d := range start {
							r := ruleFor(d, fmt.Sprintf("e%d", i), uint64(i+1))
							rules = append(rules, r)
							prior = append(prior, d)
							prior[i].ID = r.ID
						}
						f = newFake(rules...)
						f.resetCounters()
					} else {
						f, prior = setup(t, start)
					}
					want := change(prior)
					res, err := Apply(ctx, f, "acc", want, from(prior))
					if err != nil {
						t.Fatal(err)
					}
					assertConverged(t, f, want)
					f.checkHealthy(t, false)
					pairs, flows := misrouted(t, f.history, ports)
					t.Logf("writes=%d intermediate lists=%d misrouted flow-states=%d flows=%d", res.Writes, len(f.history)-2, pairs, flows)
					if pairs != 0 {
						t.Errorf("%d (flow, intermediate list) pairs misrouted", pairs)
					}
					if !dense && res.Writes != 1 {
						t.Errorf("%d writes, want 1", res.Writes)
					}
				})
			}
		}
	}
}
