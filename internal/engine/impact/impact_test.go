package impact

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace/fstest"
)

// Inventory: two IPs in NRT (equidistant from everywhere), KIX, LAX, FRA.
var (
	ipNRT1 = engine.DedicatedIP{IPv4: netip.MustParseAddr("203.0.113.1"), IPv6Range: netip.MustParsePrefix("2001:db8:1::/64"), Colo: "NRT"}
	ipNRT2 = engine.DedicatedIP{IPv4: netip.MustParseAddr("203.0.113.5"), IPv6Range: netip.MustParsePrefix("2001:db8:5::/64"), Colo: "NRT"}
	ipKIX  = engine.DedicatedIP{IPv4: netip.MustParseAddr("203.0.113.2"), IPv6Range: netip.MustParsePrefix("2001:db8:2::/64"), Colo: "KIX"}
	ipLAX  = engine.DedicatedIP{IPv4: netip.MustParseAddr("203.0.113.3"), IPv6Range: netip.MustParsePrefix("2001:db8:3::/64"), Colo: "LAX"}
	ipFRA  = engine.DedicatedIP{IPv4: netip.MustParseAddr("203.0.113.4"), Colo: "FRA"} // no IPv6 range
)

func dedicated(d engine.DedicatedIP, fb engine.DedicatedIP) engine.Egress {
	return engine.Egress{Method: engine.MethodDedicated, IPv4: d.IPv4, IPv6: d.IPv6Range, IPv4Fallback: fb.IPv4}
}

var defaultEgress = engine.Egress{Method: engine.MethodDefault}

// policy compiles a policy.
func policy(t testing.TB, name, traffic string, eg engine.Egress) engine.Policy {
	t.Helper()
	p := engine.Policy{Name: name, Enabled: true, Traffic: traffic, Egress: eg}
	m, err := compilePolicy(p)
	if err != nil {
		t.Fatalf("%s: %v", traffic, err)
	}
	p.Match = m
	return p
}

func compilePolicy(p engine.Policy) (engine.Matcher, error) {
	return expr.CompilePolicy(p.Traffic, p.Identity, p.DevicePosture)
}

func analyze(t testing.TB, before, after Side) *Result {
	t.Helper()
	res, err := Analyze(before, after, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func dump(res *Result) string {
	var b strings.Builder
	for _, r := range res.Regions {
		fmt.Fprintf(&b, "  %s (confirmed %v possibly %v %s)\n    example %v -> %s %s\n", r, r.Confirmed, r.Possibly, r.Note, r.Example.DestinationIP, decisionText(r.ExampleBefore), decisionText(r.ExampleAfter))
	}
	for _, m := range res.More {
		fmt.Fprintf(&b, "  more: %s\n", m)
	}
	for _, m := range res.Incomplete {
		fmt.Fprintf(&b, "  incomplete: %s\n", m)
	}
	return b.String()
}

func decisionText(d engine.Decision) string {
	ip := d.EgressIP.String()
	if d.EgressIPv6Range.IsValid() {
		ip = d.EgressIPv6Range.String()
	}
	return fmt.Sprintf("[%s %q %s %s %s %s]", d.Outcome, d.PolicyName, d.Method, ip, d.EgressColo, d.GeoCountry)
}

// TestInsertMovesHalfARange is the example: inserting one policy
// moves half of a partner's range from the Los Angeles IP to the Tokyo IP.
func TestInsertMovesHalfARange(t *testing.T) {
	inv := []engine.DedicatedIP{ipNRT1, ipKIX, ipLAX}
	partner := policy(t, "partner", `net.dst.ip in {198.51.100.0/24}`, dedicated(ipLAX, ipNRT1))
	catch := policy(t, "catch-all", `net.protocol in {"tcp" "udp"}`, defaultEgress)
	half := policy(t, "partner-tokyo", `net.dst.ip in {198.51.100.0/25}`, dedicated(ipNRT1, ipKIX))
	res := analyze(t, Side{Policies: []engine.Policy{partner, catch}, Inventory: inv}, Side{Policies: []engine.Policy{half, partner, catch}, Inventory: inv})
	if len(res.Regions) != 1 || len(res.Incomplete) > 0 {
		t.Fatalf("want one region:\n%s", dump(res))
	}
	r := res.Regions[0]
	if r.Before.Name != "partner" || r.After.Name != "partner-tokyo" || !r.Confirmed || r.Possibly {
		t.Fatalf("region %s", dump(res))
	}
	if r.Description.Expression != "net.dst.ip in {198.51.100.0/25}" || len(r.Description.Kinds) != 2 {
		t.Errorf("description %+v", r.Description)
	}
	if r.ExampleBefore.EgressIP != ipLAX.IPv4 || r.ExampleAfter.EgressIP != ipNRT1.IPv4 || r.ExampleAfter.EgressColo != "NRT" {
		t.Errorf("example %s -> %s", decisionText(r.ExampleBefore), decisionText(r.ExampleAfter))
	}
}

// TestNoImpact: changes that move no traffic give no region.
func TestNoImpact(t *testing.T) {
	inv := []engine.DedicatedIP{ipNRT1, ipKIX, ipLAX}
	a := policy(t, "a", `net.dst.ip in {198.51.100.0/24}`, dedicated(ipLAX, ipNRT1))
	b := policy(t, "b", `net.dst.ip in {192.0.2.0/24} and net.dst.port == 443`, dedicated(ipKIX, ipNRT1))
	c := policy(t, "c", `net.protocol in {"tcp" "udp"}`, defaultEgress)
	a.ID, b.ID, c.ID = "id-a", "id-b", "id-c"
	base := []engine.Policy{a, b, c}
	described := slices.Clone(base)
	described[0].Description = "a new description"
	reformatted := slices.Clone(base)
	reformatted[1] = policy(t, "b", `(net.dst.port == 443) && net.dst.ip in {192.0.2.0/24}`, dedicated(ipKIX, ipNRT1))
	reformatted[1].ID = "id-b"
	reordered := []engine.Policy{b, a, c}
	renamed := slices.Clone(base)
	renamed[0].Name = "a-renamed" // same rule ID
	for name, after := range map[string][]engine.Policy{"description": described, "reformatting": reformatted, "reordering disjoint policies": reordered, "rename": renamed} {
		res := analyze(t, Side{Policies: base, Inventory: inv}, Side{Policies: after, Inventory: inv})
		if res.Moves() || len(res.Incomplete) > 0 {
			t.Errorf("%s moves traffic:\n%s", name, dump(res))
		}
	}
	// Reordering overlapping policies does.
	wide := policy(t, "wide", `net.dst.ip in {198.51.0.0/16}`, defaultEgress)
	res := analyze(t, Side{Policies: []engine.Policy{a, wide, c}, Inventory: inv}, Side{Policies: []engine.Policy{wide, a, c}, Inventory: inv})
	if !res.Moves() {
		t.Errorf("reordering overlapping policies moves nothing")
	}
}

// TestInventoryChangeMovesNoMatch: a new dedicated IP nearer some ingress
// colos takes their no-match traffic.
func TestInventoryChangeMovesNoMatch(t *testing.T) {
	p := policy(t, "web", `net.dst.port == 443`, dedicated(ipNRT1, ipKIX))
	res := analyze(t, Side{Policies: []engine.Policy{p}, Inventory: []engine.DedicatedIP{ipNRT1, ipKIX}}, Side{Policies: []engine.Policy{p}, Inventory: []engine.DedicatedIP{ipNRT1, ipKIX, ipLAX}})
	if !res.Moves() {
		t.Fatalf("no region")
	}
	var colos []string
	for _, r := range res.Regions {
		if r.Before.Index != -1 || r.After.Index != -1 || !r.Confirmed || !strings.Contains(r.After.Group, "203.0.113.3") {
			t.Errorf("region %s", dump(res))
		}
		if r.Description.IngressColos == nil {
			t.Errorf("region %s: from every colo", r)
		}
		colos = append(colos, r.Description.IngressColos...)
	}
	if !slices.Contains(colos, "LAX") || !slices.Contains(colos, "QRO") || slices.Contains(colos, "NRT") || slices.Contains(colos, "KIX") {
		t.Errorf("ingress colos %v", colos)
	}
}

// genSide draws a random list of policies.
func genSide(t testing.TB, r *fstest.Rand, n int) []engine.Policy {
	var ps []engine.Policy
	for i := 0; i < n; i++ {
		ps = append(ps, genPolicy(t, r, fmt.Sprintf("p%d", i)))
	}
	return ps
}

var egresses = []engine.Egress{
	dedicated(ipNRT1, ipKIX), dedicated(ipKIX, ipNRT1), dedicated(ipLAX, ipNRT1), dedicated(ipNRT2, ipLAX), defaultEgress,
}

func genPolicy(t testing.TB, r *fstest.Rand, name string) engine.Policy {
	for {
		src := fstest.GenExpr(r, 2)
		if r.N(12) == 0 {
			src = `net.protocol in {"tcp" "udp"}`
		}
		if _, err := expr.ParseAndCheck(src); err != nil {
			continue
		}
		p := policy(t, name, src, egresses[r.N(len(egresses))])
		p.ID = "id-" + name
		p.Enabled = r.N(10) != 0
		return p
	}
}

// mutate applies one to three random edits.
func mutate(t testing.TB, r *fstest.Rand, ps []engine.Policy, serial *int) []engine.Policy {
	out := slices.Clone(ps)
	for k := 0; k <= r.N(3); k++ {
		switch op := r.N(9); {
		case op == 0 || len(out) == 0: // insert
			*serial++
			p := genPolicy(t, r, fmt.Sprintf("new%d", *serial))
			out = slices.Insert(out, r.N(len(out)+1), p)
		case op == 1: // delete
			i := r.N(len(out))
			out = slices.Delete(out, i, i+1)
		case op == 2: // move
			i := r.N(len(out))
			p := out[i]
			out = slices.Delete(out, i, i+1)
			out = slices.Insert(out, r.N(len(out)+1), p)
		case op == 3: // change the egress
			i := r.N(len(out))
			out[i].Egress = egresses[r.N(len(egresses))]
		case op == 4: // change the expression
			i := r.N(len(out))
			np := genPolicy(t, r, out[i].Name)
			np.ID, np.Egress, np.Enabled = out[i].ID, out[i].Egress, out[i].Enabled
			out[i] = np
		case op == 5: // rename (the rule ID stays)
			i := r.N(len(out))
			out[i].Name += "-renamed"
		case op == 6: // toggle
			i := r.N(len(out))
			out[i].Enabled = !out[i].Enabled
		case op == 7: // swap neighbours
			if len(out) > 1 {
				i := r.N(len(out) - 1)
				out[i], out[i+1] = out[i+1], out[i]
			}
		default: // a description: no change
			out[r.N(len(out))].Description = "edited"
		}
	}
	return out
}

func genInventory(r *fstest.Rand) []engine.DedicatedIP {
	inv := []engine.DedicatedIP{ipNRT1, ipKIX, ipLAX, ipNRT2}
	if r.N(3) == 0 {
		inv = append(inv, ipFRA)
	}
	return inv
}

var sampleColos = []string{"NRT", "KIX", "LAX", "FRA", "SYD", "GRU", "JNB", "ORD", "SIN", "MEX", "GIG", "QRO", "LHR"}

// sampleFlows draws complete flows of every kind from several colos.
func sampleFlows(r *fstest.Rand, n int) []*engine.Flow {
	fs := fstest.GenFlows(r, n)
	for i, f := range fs {
		f.IngressColo = sampleColos[(i+r.N(len(sampleColos)))%len(sampleColos)]
		f.Proxied = r.N(2) == 0
		f.UserID = fmt.Sprintf("u%d", r.N(7))
	}
	return fs
}

// TestPropertySoundAndComplete: over random pairs of lists (and
// inventories), every confirmed region's example is decided differently
// by engine.Decide on the two lists and lies in its region; every sampled
// flow decided differently lies in a region of its deciders; every sampled
// flow in an exact region is decided differently.
func TestPropertySoundAndComplete(t *testing.T) {
	pairs := 1500
	if testing.Short() {
		pairs = 300
	}
	next := fstest.Inputs(2026, 512)
	var stats struct{ pairs, regions, confirmed, possibly, flows, changed, covered, inExact, incomplete, unknown, pairwise, approx int }
	defer func(b, w, e int) { broadDeciders, walkWork, exactLimit = b, w, e }(broadDeciders, walkWork, exactLimit)
	for iter := 0; iter < pairs; iter++ {
		r := fstest.New(next())
		// One pair in three compares pair by pair (and spells regions out
		// only within a small bound), as broad policies of long lists do.
		broadDeciders, walkWork, exactLimit = 24, 40000, 2000
		if iter%3 == 0 {
			broadDeciders, walkWork = 0, 1
			stats.pairwise++
			if iter%2 == 0 {
				exactLimit = 1 // regions stay outer bounds
			}
		}
		serial := 0
		before := genSide(t, r, 1+r.N(6))
		after := mutate(t, r, before, &serial)
		invB := genInventory(r)
		invA := invB
		if r.N(5) == 0 {
			invA = genInventory(r)
		}
		// Policies must use IPs of their side's inventory.
		if !usesOnly(before, invB) || !usesOnly(after, invA) {
			continue
		}
		res, err := Analyze(Side{Policies: before, Inventory: invB}, Side{Policies: after, Inventory: invA}, Options{MaxRegions: 1000})
		if err != nil {
			t.Fatal(err)
		}
		stats.pairs++
		if len(res.Incomplete) > 0 {
			stats.incomplete++
			continue
		}
		eb, _ := engine.Compile(before, invB)
		ea, _ := engine.Compile(after, invA)
		for _, reg := range res.Regions {
			stats.regions++
			if reg.Possibly {
				stats.possibly++
			}
			if !reg.Confirmed {
				if !reg.Possibly {
					t.Fatalf("unconfirmed exact region %s\n%s", reg, lists(before, after))
				}
				continue
			}
			stats.confirmed++
			db, err1 := eb.Decide(&reg.Example, nil)
			da, err2 := ea.Decide(&reg.Example, nil)
			if err1 != nil || err2 != nil || sameDecision(db, da, before, after) {
				t.Fatalf("region %s: example not decided differently: %s %s (%v %v)\n%s", reg, decisionText(db), decisionText(da), err1, err2, lists(before, after))
			}
			if in, ok := reg.set.Contains(&reg.Example); ok && !in && reg.Exact {
				t.Fatalf("region %s: example %+v not in the region", reg, reg.Example)
			}
		}
		for _, f := range sampleFlows(r, 120) {
			db, err1 := eb.Decide(f, nil)
			da, err2 := ea.Decide(f, nil)
			if err1 != nil || err2 != nil || db.Outcome == engine.OutcomeIndeterminate || da.Outcome == engine.OutcomeIndeterminate {
				continue
			}
			stats.flows++
			changed := !sameDecision(db, da, before, after)
			if changed {
				stats.changed++
			}
			found, known := false, true
			for _, reg := range res.Regions {
				in, ok := reg.set.Contains(f)
				if !ok {
					known = false
					continue
				}
				if !in {
					continue
				}
				if !reg.Exact {
					// An outer bound: it may hold flows of other deciders.
					if reg.Before.Index == db.PolicyIndex && reg.After.Index == da.PolicyIndex && changed {
						found = true
						stats.approx++
					}
					continue
				}
				if reg.Before.Index != db.PolicyIndex || reg.After.Index != da.PolicyIndex {
					t.Fatalf("flow %+v in region %s but decided by %d -> %d\n%s", *f, reg, db.PolicyIndex, da.PolicyIndex, lists(before, after))
				}
				found = true
				if !reg.Possibly {
					stats.inExact++
					if !changed {
						t.Fatalf("flow %+v in exact region %s but decided alike: %s\n%s", *f, reg, decisionText(db), lists(before, after))
					}
				}
			}
			if changed && !found {
				if !known {
					stats.unknown++
					continue
				}
				t.Fatalf("flow %+v decided %s -> %s is in no region\n%s\n%s", *f, decisionText(db), decisionText(da), lists(before, after), dump(res))
			}
			if changed {
				stats.covered++
			}
		}
	}
	t.Logf("%+v", stats)
	if stats.pairs < pairs/2 || stats.confirmed < stats.pairs/4 || stats.changed < 1000 || stats.incomplete > stats.pairs/20 {
		t.Fatalf("vacuous: %+v", stats)
	}
}

func usesOnly(ps []engine.Policy, inv []engine.DedicatedIP) bool {
	for _, p := range ps {
		if p.Egress.Method != engine.MethodDedicated {
			continue
		}
		for _, ip := range []netip.Addr{p.Egress.IPv4, p.Egress.IPv4Fallback} {
			if !slices.ContainsFunc(inv, func(d engine.DedicatedIP) bool { return d.IPv4 == ip }) {
				return false
			}
		}
	}
	return true
}

func lists(before, after []engine.Policy) string {
	var b strings.Builder
	for _, side := range []struct {
		name string
		ps   []engine.Policy
	}{{"before", before}, {"after", after}} {
		fmt.Fprintf(&b, "%s:\n", side.name)
		for i, p := range side.ps {
			fmt.Fprintf(&b, "  #%d %s %s en=%v %s %s: %s\n", i, p.ID, p.Name, p.Enabled, p.Egress.Method, p.Egress.IPv4, p.Traffic)
		}
	}
	return b.String()
}

var _ = flowspace.IPv6
