package impact

import (
	"fmt"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace/fstest"
)

func checkOne1(t *testing.T, side Side, inv Invariant) Verdict {
	t.Helper()
	vs, err := Check(side, []Invariant{inv}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return vs[0]
}

func TestInvariantTable(t *testing.T) {
	inv := []engine.DedicatedIP{ipNRT1, ipKIX, ipLAX}
	partner := policy(t, "partner", `net.dst.ip in {198.51.100.0/24}`, dedicated(ipLAX, ipNRT1))
	half := policy(t, "partner-tokyo", `net.dst.ip in {198.51.100.0/25}`, dedicated(ipNRT1, ipKIX))
	catch := policy(t, "catch-all", `net.protocol in {"tcp" "udp"}`, defaultEgress)
	side := Side{Policies: []engine.Policy{half, partner, catch}, Inventory: inv}
	cases := []struct {
		name string
		inv  Invariant
		want Status
	}{
		{"upper half via LAX", Invariant{Traffic: `net.dst.ip in {198.51.100.128/25}`, EgressIP: "203.0.113.3"}, Holds},
		{"whole partner range via LAX", Invariant{Traffic: `net.dst.ip in {198.51.100.0/24}`, EgressIP: "203.0.113.3"}, Violated},
		{"partner policy", Invariant{Traffic: `net.dst.ip in {198.51.100.128/25}`, Policy: "partner", HasPolicy: true}, Holds},
		{"grey upper half leaves from LAX", Invariant{Traffic: `net.dst.ip in {198.51.100.128/25}`, EgressColo: "LAX"}, Violated}, // proxied and IPv6 leave locally
		{"geo US", Invariant{Traffic: `net.dst.ip in {198.51.100.128/25}`, GeoCountry: "US"}, Holds},
		{"from LAX the colo is LAX", Invariant{Traffic: `net.dst.ip in {198.51.100.128/25}`, IngressColos: []string{"LAX"}, EgressColo: "LAX"}, Holds},
		{"default for the rest", Invariant{Traffic: `not(net.dst.ip in {198.51.100.0/24})`, Method: "default"}, Holds},
		{"default keeps the user's country", Invariant{Traffic: `net.dst.port == 443 and not(net.dst.ip in {198.51.100.0/24}) and net.src.geo.country == "MX"`, GeoCountry: "MX"}, Holds},
		{"default from LAX for MX users leaves from MX", Invariant{Traffic: `net.dst.port == 443 and not(net.dst.ip in {198.51.100.0/24}) and net.src.geo.country == "MX"`, IngressColos: []string{"LAX"}, EgressColo: "LAX"}, Violated},
		{"no policy nowhere", Invariant{Traffic: `net.dst.port == 443`, Policy: "", HasPolicy: true}, Violated},
		{"regex only", Invariant{Traffic: `net.fqdn.host matches "^x"`, Method: "default"}, Violated},
	}
	for _, c := range cases {
		v := checkOne1(t, side, c.inv)
		if v.Status != c.want {
			t.Errorf("%s: %s (%s; example %+v -> %s), want %s", c.name, v.Status, v.Reason, v.Example.DestinationIP, decisionText(v.Decision), c.want)
		}
		if v.Status == Violated {
			d, err := engine.Decide(side.Policies, side.Inventory, nil, &v.Example)
			if err != nil || !sameEgress(d, v.Decision) {
				t.Errorf("%s: counterexample decision %s is not Decide's %s (%v)", c.name, decisionText(v.Decision), decisionText(d), err)
			}
		}
	}
	// No match: the nearest dedicated IP.
	side = Side{Policies: []engine.Policy{partner}, Inventory: inv}
	if v := checkOne1(t, side, Invariant{Traffic: `net.dst.port == 443 and not(net.dst.ip in {198.51.100.0/24})`, IngressColos: []string{"NRT", "KIX"}, Policy: "", HasPolicy: true, Method: "dedicated"}); v.Status != Holds {
		t.Errorf("no match from NRT/KIX: %s %s", v.Status, v.Reason)
	}
	if v := checkOne1(t, side, Invariant{Traffic: `net.dst.port == 443 and not(net.dst.ip in {198.51.100.0/24})`, IngressColos: []string{"KIX"}, EgressIP: "203.0.113.2"}); v.Status != Holds {
		t.Errorf("no match from KIX leaves via KIX: %s %s", v.Status, v.Reason)
	}
	if v := checkOne1(t, side, Invariant{Traffic: `net.dst.port == 443 and not(net.dst.ip in {198.51.100.0/24})`, EgressIP: "203.0.113.2"}); v.Status != Violated {
		t.Errorf("no match from everywhere via KIX: %s %s", v.Status, v.Reason)
	}
}

// TestPropertyInvariantsAgreeWithBruteForce: over random lists and random
// invariants, a proven invariant holds for every sampled flow it selects
// (engine.Decide), a violation's counterexample is selected and breaks it,
// and a sampled flow that breaks an invariant means it is not proven.
func TestPropertyInvariantsAgreeWithBruteForce(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 250
	}
	next := fstest.Inputs(77, 512)
	var stats struct{ lists, holds, violated, possibly, undecided, flows, breaking int }
	for iter := 0; iter < n; iter++ {
		r := fstest.New(next())
		ps := genSide(t, r, 1+r.N(6))
		inv := genInventory(r)
		if !usesOnly(ps, inv) {
			continue
		}
		stats.lists++
		var invs []Invariant
		for k := 0; k < 4; k++ {
			iv := Invariant{Name: fmt.Sprint("inv", k), Traffic: fstest.GenExpr(r, 1)}
			if _, err := expr.ParseAndCheck(iv.Traffic); err != nil {
				continue
			}
			switch r.N(6) {
			case 0:
				iv.Policy, iv.HasPolicy = ps[r.N(len(ps))].Name, true
			case 1:
				iv.Method = []string{"default", "dedicated"}[r.N(2)]
			case 2:
				iv.EgressIP = inv[r.N(len(inv))].IPv4.String()
			case 3:
				iv.EgressColo = sampleColos[r.N(len(sampleColos))]
			case 4:
				iv.GeoCountry = []string{"JP", "US", "DE"}[r.N(3)]
			default:
				iv.Policy, iv.HasPolicy = "", true
			}
			if r.N(3) == 0 {
				iv.IngressColos = []string{sampleColos[r.N(len(sampleColos))]}
			}
			invs = append(invs, iv)
		}
		vs, err := Check(Side{Policies: ps, Inventory: inv}, invs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		eng, _ := engine.Compile(ps, inv)
		flows := sampleFlows(r, 150)
		for k, iv := range invs {
			v := vs[k]
			m, _ := expr.CompilePolicy(iv.Traffic, "", "")
			e, _ := resolve(&invs[k], &model{side: Side{Policies: ps, Inventory: inv}})
			switch v.Status {
			case Holds:
				stats.holds++
			case Violated:
				stats.violated++
				if got, _ := m.Match(&v.Example); got != engine.Yes {
					t.Fatalf("%+v: counterexample %+v not selected", iv, v.Example)
				}
				d, _ := eng.Decide(&v.Example, nil)
				if e.mismatch(d, &v.Example) == "" {
					t.Fatalf("%+v: counterexample %+v meets it: %s", iv, v.Example, decisionText(d))
				}
			case Possibly:
				stats.possibly++
			default:
				stats.undecided++
			}
			for _, f := range flows {
				if len(iv.IngressColos) > 0 && f.IngressColo != iv.IngressColos[0] {
					continue
				}
				if got, _ := m.Match(f); got != engine.Yes {
					continue
				}
				d, err := eng.Decide(f, nil)
				if err != nil || d.Outcome == engine.OutcomeIndeterminate {
					continue
				}
				stats.flows++
				if e.mismatch(d, f) != "" {
					stats.breaking++
					if v.Status == Holds {
						t.Fatalf("%+v proven, but flow %+v breaks it: %s\n%s", iv, *f, decisionText(d), lists(ps, nil))
					}
				}
			}
		}
	}
	t.Logf("%+v", stats)
	if stats.holds < 50 || stats.violated < 100 || stats.breaking < 500 {
		t.Fatalf("vacuous: %+v", stats)
	}
}
