package replay

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

// What the engine renders as a session-log record, replayed, agrees with
// the engine: random flows (every proxied setting, users abroad, colo
// outages, IPv4 and IPv6, equidistant IPs, legacy rules without fallback)
// over policies on fields session logs carry. The replay must recover what
// the log lacks (proxied, outages, the user's country) or say it cannot.
func TestRenderedRecordsAgree(t *testing.T) {
	ps, inv := consistencyList(t)
	eps, err := spec.Policies(ps)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Compile(eps, inv)
	if err != nil {
		t.Fatal(err)
	}
	c := newChecker(list(t, ps, inv), nil)
	p := engine.NewSessionParser()
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	downs := [][]string{nil, nil, {"NRT"}, {"LAX"}, {"FRA"}, {"NRT", "LAX"}, {"NRT", "LAX", "FRA"}}
	counts := map[string]int{}
	const n = 20000
	for i := 0; i < n; i++ {
		f := engine.Flow{
			SourceIP:    netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", rng.IntN(40))),
			SourcePort:  uint16(1024 + rng.IntN(60000)),
			IngressColo: pick("KIX", "NRT", "LAX", "FRA", "GDL", "SIN", "ORD"),
			Protocol:    pick("tcp", "tcp", "udp", "icmp"),
			Proxied:     rng.IntN(2) == 0,
			Email:       pick("cfo@example.com", "dev@example.com", "ceo@example.com"),
			UserID:      pick("", "u-1", "u-2"),
		}
		f.PrivateNetwork = rng.IntN(12) == 0 // a Tunnel/WAN destination: logged with a private Offramp
		f.SourceCountry = pick("", "JP", "US", "MX", "DE", "SG")
		if rng.IntN(3) == 0 {
			f.DestinationIP = netip.MustParseAddr(fmt.Sprintf("2001:db8:ffff:%d::%d", rng.IntN(2), 1+rng.IntN(200)))
		} else {
			f.DestinationIP = netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", rng.IntN(256)))
		}
		f.DestinationPort = uint16([]int{443, 80, 8080, 8443, 22, 53}[rng.IntN(6)])
		var down engine.ColoSet
		if d := downs[rng.IntN(len(downs))]; d != nil {
			down = engine.ColoSet{}
			for _, x := range d {
				if x != f.IngressColo {
					down[x] = true
				}
			}
		}
		d, err := eng.Decide(&f, down)
		if err != nil {
			t.Fatal(err)
		}
		// Outages are inferred for dedicated IPs' colos only: a user abroad
		// on default egress whose own country's nearest colo is down leaves
		// from another colo that no replay can tell from a wrong one.
		if len(down) > 0 && d.Method == engine.MethodDefault && f.SourceCountry != "" {
			if _, ok := down[nearestColo(t, f.IngressColo, f.SourceCountry)]; ok {
				continue
			}
		}
		// Cloudflare always decides; the engine says indeterminate when the
		// flow lacks a field, and its rendering of that is no real record.
		if d.Outcome == engine.OutcomeIndeterminate {
			continue
		}
		rec := engine.RenderSession(d, &f, engine.SessionMeta{SessionID: fmt.Sprint(i), DeviceID: "dev-1"})
		rec.UserID = f.UserID
		line, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		var ls engine.LoggedSession
		if err := p.Parse(line, &ls); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		res, err := c.check(&ls)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		counts[res.Verdict.String()]++
		switch {
		case res.Verdict == Disagree:
			t.Errorf("flow %+v down %v decided %s %s %s %s\nrecord %s\nreplay: %s", f, down, d.Outcome, d.PolicyName, d.EgressIP, d.EgressColo, line, res.Reason)
		case res.Verdict == Undecidable && res.Missing == "net.src.geo.country":
			// The user's country: logs lack it, and the ingress colo's
			// does not explain this record.
		case res.Verdict == Undecidable && d.Outcome != engine.OutcomeIndeterminate:
			t.Errorf("%s: undecidable (%s) but the engine decided %s", line, res.Reason, d.Outcome)
		case res.Verdict == Agree && decidedPolicy(&res.Model) != decidedPolicy(&d):
			t.Errorf("%s: agrees with policy %d, the engine decided %d", line, decidedPolicy(&res.Model), decidedPolicy(&d))
		}
		if res.Verdict == Agree && f.Proxied && res.Proxied == ProxiedGrey || !f.Proxied && res.Proxied == ProxiedOrange {
			t.Errorf("%s: inferred %s, the flow was proxied=%v", line, res.Proxied, f.Proxied)
		}
		// The same record naming another rule never agrees (it disagrees,
		// or stays undecidable for want of the user's country): no
		// inference changes which rule decides.
		if res.Verdict == Agree {
			other := ps[(decidedPolicy(&d)+1+len(ps))%len(ps)]
			mut := ls
			mut.EgressRuleName, mut.EgressRuleID = other.Name, other.ID
			r2, err := c.check(&mut)
			if err != nil || r2.Verdict == Agree || r2.Verdict == Undecidable && r2.Missing != "net.src.geo.country" {
				t.Errorf("%s renamed to rule %q: %v %v", line, other.Name, r2.Verdict, err)
			}
			counts["renamed: "+r2.Verdict.String()]++
		}
		if t.Failed() && counts["disagree"]+counts["undecidable"] > 10 {
			t.FailNow()
		}
	}
	t.Logf("%d rendered records replayed: %v", n, counts)
	if counts["agree"] < n/2 {
		t.Errorf("only %d agree", counts["agree"])
	}
}

// A private-network flow rendered by the engine and replayed is private
// again (not_applicable: egress policies do not apply) and agrees, whatever
// the policies would do with the same flow on the Internet.
func TestRenderedPrivateNetworkRecordAgrees(t *testing.T) {
	ps, inv := consistencyList(t)
	l := list(t, ps, inv)
	f := engine.Flow{
		SourceIP: netip.MustParseAddr("198.51.100.3"), SourcePort: 40000, IngressColo: "KIX", Protocol: "tcp",
		DestinationIP: netip.MustParseAddr("192.0.2.10"), DestinationPort: 443, PrivateNetwork: true,
	}
	d, err := l.eng.Decide(&f, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := engine.RenderSession(d, &f, engine.SessionMeta{SessionID: "private-1"})
	line, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var ls engine.LoggedSession
	if err := engine.NewSessionParser().Parse(line, &ls); err != nil {
		t.Fatal(err)
	}
	res, err := newChecker(l, nil).check(&ls)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Agree || res.Model.Outcome != engine.OutcomeNotApplicable {
		t.Errorf("%s: %s (%s), model %s", line, res.Verdict, res.Reason, res.Model.Outcome)
	}
}

// consistencyList is TestRenderedRecordsAgree's policies and inventory.
func consistencyList(t *testing.T) ([]spec.Policy, []engine.DedicatedIP) {
	inv, err := spec.DedicatedIPs([]spec.DedicatedIP{
		{IPv4: "203.0.113.10", IPv6Range: "2001:db8:10::/64", Colo: "NRT"},
		{IPv4: "203.0.113.11", IPv6Range: "2001:db8:11::/64", Colo: "NRT"},
		{IPv4: "203.0.113.20", IPv6Range: "2001:db8:20::/64", Colo: "LAX"},
		{IPv4: "203.0.113.30", Colo: "FRA"}, // no IPv6 range
	})
	if err != nil {
		t.Fatal(err)
	}
	ps := []spec.Policy{
		{ID: id("01"), Name: "Partners", Enabled: true, Traffic: `net.dst.ip in {192.0.2.0/26 2001:db8:ffff:1::/64}`, IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"},
		{ID: id("02"), Name: "Finance", Enabled: true, Traffic: `net.dst.ip in {192.0.2.64/26}`, Identity: `identity.email in {"cfo@example.com" "ceo@example.com"}`, IPv4: "203.0.113.20", IPv4Fallback: "0.0.0.0"},
		{ID: id("03"), Name: "Legacy", Enabled: true, Traffic: `net.dst.port == 8443`, IPv4: "203.0.113.30"}, // no fallback
		{ID: id("04"), Name: "Off", Enabled: false, Traffic: `net.dst.port == 22`, IPv4: "203.0.113.20", IPv4Fallback: "203.0.113.10"},
		{ID: id("05"), Name: "Web", Enabled: true, Traffic: `net.dst.port in {80 8080} and net.protocol == "tcp"`, Method: "default"},
		{ID: id("07"), Name: "Mexico", Enabled: true, Traffic: `net.src.geo.country == "MX" and net.dst.port == 443 and net.dst.ip in {192.0.2.128/25}`, Method: "default"},
		{ID: id("06"), Name: "Lab", Enabled: true, Traffic: `net.src.ip in {198.51.100.0/28}`, IPv4: "203.0.113.30", IPv4Fallback: "203.0.113.11"},
	}
	return ps, inv
}

// The replay derives the orange decision from the grey one (orangeOf)
// instead of deciding again: it must be what the engine decides, for every
// kind of flow the replay meets, with no colo down (hypotheses H0, H1).
func TestOrangeOfIsDecide(t *testing.T) {
	ps, inv := consistencyList(t)
	eps, err := spec.Policies(ps)
	if err != nil {
		t.Fatal(err)
	}
	// The same inventory with no IPv6 range and alone per colo, and none:
	// every branch of rules 2-5.
	invs := [][]engine.DedicatedIP{inv, inv[2:], nil}
	rng := rand.New(rand.NewPCG(5, 6))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	n := 0
	for _, iv := range invs {
		var use []engine.Policy
		for _, p := range eps {
			if p.Egress.Method == engine.MethodDedicated && len(iv) < len(inv) {
				continue // its IPs are not in this inventory
			}
			use = append(use, p)
		}
		eng, err := engine.Compile(use, iv)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5000; i++ {
			f := engine.Flow{
				SourceIP:      netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", rng.IntN(40))),
				SourcePort:    uint16(1024 + rng.IntN(60000)),
				IngressColo:   pick("KIX", "NRT", "LAX", "FRA", "GDL", "SIN", "ORD"),
				Protocol:      pick("tcp", "udp"),
				Email:         pick("cfo@example.com", "dev@example.com", "ceo@example.com"),
				UserID:        pick("", "u-1", "u-2"),
				SourceCountry: pick("", "JP", "US", "MX", "DE", "SG"),
			}
			f.DestinationIP = netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", rng.IntN(256)))
			f.DestinationPort = uint16([]int{443, 80, 8080, 8443, 22}[rng.IntN(5)])
			var grey, orange, derived engine.Decision
			if err := eng.DecideInto(&f, nil, &grey, false); err != nil {
				t.Fatal(err)
			}
			f.Proxied = true
			if err := eng.DecideInto(&f, nil, &orange, false); err != nil {
				t.Fatal(err)
			}
			ing, err := engine.LookupColo(f.IngressColo)
			if err != nil {
				t.Fatal(err)
			}
			orangeOf(&derived, &grey, ing.Code)
			if len(derived.Candidates) == 0 && len(orange.Candidates) == 0 {
				derived.Candidates, orange.Candidates = nil, nil
			}
			if diff := cmp.Diff(orange, derived, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Fatalf("flow %+v: orangeOf(grey) is not the orange decision (-decided +derived):\n%s", f, diff)
			}
			n++
		}
	}
	t.Logf("%d flows", n)
}

func nearestColo(t *testing.T, from, country string) string {
	c, err := engine.LookupColo(from)
	if err != nil {
		t.Fatal(err)
	}
	if c.Country == country {
		return c.Code
	}
	n, _ := engine.NearestColoInCountry(c, country)
	return n.Code
}
