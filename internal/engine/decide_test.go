package engine

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"sort"
	"strings"
	"testing"
)

// want is the expected Decision. colo "nearest:CC" means "the healthy colo
// of country CC nearest the ingress colo", computed by brute force.
type want struct {
	outcome Outcome
	index   int
	method  Method
	ip      string // dedicated IPv4, "" = none
	v6      string // IPv6 range, "" = none
	colo    string
	geo     string
	missing string
}

type decideCase struct {
	name     string
	policies []Policy
	inv      []DedicatedIP
	down     ColoSet
	f        *Flow
	want     want
	trace    string // substring of the joined trace
}

func partners() Policy {
	return dedicated("Partners", &testMatcher{cidrs: cidrs("192.0.2.0/24", "2001:db8:ffff::/48")}, ipNRT, v6NRT, ipLAX)
}

func noMatchPolicies() []Policy {
	return []Policy{dedicated("Elsewhere", &testMatcher{cidrs: cidrs("198.18.0.0/15")}, ipLAX, v6LAX, ipNRT)}
}

var fb0 = netip.IPv4Unspecified()

// SPEC §2 rules 0-6, one row per case.
func decideCases() []decideCase {
	all := &testMatcher{}
	emailPolicy := func(c []netip.Prefix) Policy {
		return dedicated("Finance team", &testMatcher{cidrs: c, email: "cfo@example.com"}, ipLAX, v6LAX, ipNRT)
	}
	withEmail := func(f *Flow) *Flow { f.Email = "cfo@example.com"; return f }
	proto := func(f *Flow, p string) *Flow { f.Protocol = p; return f }
	dns := func(f *Flow) *Flow { f.DNS = true; return f }
	priv := func(f *Flow) *Flow { f.PrivateNetwork = true; return f }
	disabled := dedicated("Old catch-all", all, ipLAX, v6LAX, ipNRT)
	disabled.Enabled = false
	return []decideCase{
		// The seed's four rows, dedicated policy matched (user at LAX, policy in NRT).
		{name: "policy/IPv4 grey leaves from the dedicated IP's colo", policies: []Policy{partners()}, inv: invNRTLAX(), f: flow("LAX", "US", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, ip: "203.0.113.10", colo: "NRT", geo: "JP"}, trace: `policy 0 "Partners" matched`},
		{name: "policy/IPv4 orange leaves locally", policies: []Policy{partners()}, inv: invNRTLAX(), f: flow("LAX", "US", dst4, true),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, ip: "203.0.113.10", colo: "LAX", geo: "JP"}},
		{name: "policy/IPv6 grey leaves locally", policies: []Policy{partners()}, inv: invNRTLAX(), f: flow("LAX", "US", dst6, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, v6: "2001:db8:10::/64", colo: "LAX", geo: "JP"}},
		{name: "policy/IPv6 orange leaves locally", policies: []Policy{partners()}, inv: invNRTLAX(), f: flow("LAX", "US", dst6, true),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, v6: "2001:db8:10::/64", colo: "LAX", geo: "JP"}},

		// The seed's four rows, no policy matched (user at KIX: NRT is nearer than LAX).
		{name: "no match/IPv4 grey: nearest dedicated IP (KIX user -> NRT)", policies: noMatchPolicies(), inv: invNRTLAX(), f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomeNoMatch, index: -1, method: MethodDedicated, ip: "203.0.113.10", colo: "NRT", geo: "JP"}, trace: "nearest to ingress colo KIX"},
		{name: "no match/IPv4 orange", policies: noMatchPolicies(), inv: invNRTLAX(), f: flow("KIX", "JP", dst4, true),
			want: want{outcome: OutcomeNoMatch, index: -1, method: MethodDedicated, ip: "203.0.113.10", colo: "KIX", geo: "JP"}},
		{name: "no match/IPv6 grey", policies: noMatchPolicies(), inv: invNRTLAX(), f: flow("KIX", "JP", dst6, false),
			want: want{outcome: OutcomeNoMatch, index: -1, method: MethodDedicated, v6: "2001:db8:10::/64", colo: "KIX", geo: "JP"}},
		{name: "no match/IPv6 orange", policies: noMatchPolicies(), inv: invNRTLAX(), f: flow("KIX", "JP", dst6, true),
			want: want{outcome: OutcomeNoMatch, index: -1, method: MethodDedicated, v6: "2001:db8:10::/64", colo: "KIX", geo: "JP"}},
		{name: "no match/SJC user -> LAX", inv: invNRTLAX(), f: flow("SJC", "US", dst4, false),
			want: want{outcome: OutcomeNoMatch, index: -1, method: MethodDedicated, ip: "203.0.113.20", colo: "LAX", geo: "US"}},
		{name: "no match/grey IPv4, nearest colo down -> next nearest healthy", inv: invNRTLAX(), down: ColoSet{"NRT": true}, f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomeNoMatch, index: -1, method: MethodDedicated, ip: "203.0.113.20", colo: "LAX", geo: "US"}, trace: "is nearer but its colo NRT is down"},
		{name: "no match/orange IPv4 ignores the outage", inv: invNRTLAX(), down: ColoSet{"NRT": true}, f: flow("KIX", "JP", dst4, true),
			want: want{outcome: OutcomeNoMatch, index: -1, method: MethodDedicated, ip: "203.0.113.10", colo: "KIX", geo: "JP"}},
		{name: "no match/IPv6 ignores the outage", inv: invNRTLAX(), down: ColoSet{"NRT": true, "LAX": true}, f: flow("KIX", "JP", dst6, false),
			want: want{outcome: OutcomeNoMatch, index: -1, method: MethodDedicated, v6: "2001:db8:10::/64", colo: "KIX", geo: "JP"}},
		{name: "no match/grey IPv4, all dedicated colos down -> unavailable", inv: invNRTLAX(), down: ColoSet{"NRT": true, "LAX": true}, f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomeUnavailable, index: -1, method: MethodDedicated}, trace: "the colos of all dedicated egress IPs are down"},
		{name: "no match/no dedicated IPs -> default egress", f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomeNoMatch, index: -1, method: MethodDefault, colo: "KIX", geo: "JP"}, trace: "no dedicated egress IPs"},
		{name: "no match/no dedicated IPs, Mexico user at LAX", f: flow("LAX", "MX", dst4, false),
			want: want{outcome: OutcomeNoMatch, index: -1, method: MethodDefault, colo: "nearest:MX", geo: "MX"}},

		// Rule 2: outages and fallbacks.
		{name: "primary colo down -> ipv4_fallback", policies: []Policy{partners()}, inv: invNRTLAX(), down: ColoSet{"NRT": true}, f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, ip: "203.0.113.20", colo: "LAX", geo: "US"}, trace: "colo NRT is down: using ipv4_fallback 203.0.113.20 (LAX)"},
		{name: "fallback 0.0.0.0 -> local default egress", policies: []Policy{dedicated("P", &testMatcher{}, ipNRT, v6NRT, fb0)}, inv: invNRTLAX(), down: ColoSet{"NRT": true}, f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDefault, colo: "KIX", geo: "JP"}, trace: "ipv4_fallback is 0.0.0.0"},
		{name: "both colos down -> unavailable", policies: []Policy{partners()}, inv: invNRTLAX(), down: ColoSet{"NRT": true, "LAX": true}, f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomeUnavailable, index: 0, method: MethodDedicated}, trace: "the flow fails (unavailable)"},
		{name: "no fallback (legacy rule) and colo down -> unavailable", policies: []Policy{dedicated("Legacy", &testMatcher{}, ipNRT, v6NRT, netip.Addr{})}, inv: invNRTLAX(), down: ColoSet{"NRT": true}, f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomeUnavailable, index: 0, method: MethodDedicated}, trace: "has no ipv4_fallback"},
		{name: "fallback unused while the primary is up", policies: []Policy{partners()}, inv: invNRTLAX(), down: ColoSet{"LAX": true}, f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, ip: "203.0.113.10", colo: "NRT", geo: "JP"}},

		// Rule 3: IPv4 orange and IPv6 ignore the dedicated colo's outage.
		{name: "IPv4 orange ignores the dedicated colo's outage", policies: []Policy{partners()}, inv: invNRTLAX(), down: ColoSet{"NRT": true, "LAX": true}, f: flow("KIX", "JP", dst4, true),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, ip: "203.0.113.10", colo: "KIX", geo: "JP"}},
		{name: "IPv6 ignores the dedicated colo's outage", policies: []Policy{partners()}, inv: invNRTLAX(), down: ColoSet{"NRT": true, "LAX": true}, f: flow("KIX", "JP", dst6, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, v6: "2001:db8:10::/64", colo: "KIX", geo: "JP"}},
		{name: "IPv6 geolocation from the inventory entry holding the range", policies: []Policy{dedicated("Split", &testMatcher{}, ipNRT, v6LAX, ipLAX)}, inv: invNRTLAX(), f: flow("KIX", "JP", dst6, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, v6: "2001:db8:20::/64", colo: "KIX", geo: "US"}},
		{name: "IPv6 sub-range inside an entry's /64", policies: []Policy{dedicated("Split", &testMatcher{}, ipNRT, netip.MustParsePrefix("2001:db8:20:0:8000::/80"), ipLAX)}, inv: invNRTLAX(), f: flow("KIX", "JP", dst6, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, v6: "2001:db8:20:0:8000::/80", colo: "KIX", geo: "US"}},
		{name: "IPv6 range in no entry: geolocation of the IPv4's entry", policies: []Policy{dedicated("Odd", &testMatcher{}, ipNRT, netip.MustParsePrefix("2001:db8:99::/64"), ipLAX)}, inv: invNRTLAX(), f: flow("LAX", "US", dst6, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, v6: "2001:db8:99::/64", colo: "LAX", geo: "JP"}, trace: "is in no dedicated egress IP's ipv6_range"},
		{name: "policy without ipv6 uses its IPv4 entry's range", policies: []Policy{dedicated("NoV6", &testMatcher{}, ipLAX, netip.Prefix{}, ipNRT)}, inv: invNRTLAX(), f: flow("KIX", "JP", dst6, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, v6: "2001:db8:20::/64", colo: "KIX", geo: "US"}, trace: "policy has no ipv6"},

		// Rule 4: default egress keeps the user's country.
		{name: "default egress: Mexico user at LAX -> Mexican colo, geo MX", policies: []Policy{defaultPolicy("Default", all)}, inv: invNRTLAX(), f: flow("LAX", "MX", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDefault, colo: "nearest:MX", geo: "MX"}, trace: "the nearest colo in MX"},
		{name: "default egress: Japan user at NRT -> NRT, geo JP", policies: []Policy{defaultPolicy("Default", all)}, inv: invNRTLAX(), f: flow("NRT", "JP", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDefault, colo: "NRT", geo: "JP"}},
		{name: "default egress: IPv6 orange, same rule", policies: []Policy{defaultPolicy("Default", all)}, inv: invNRTLAX(), f: flow("LAX", "MX", dst6, true),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDefault, colo: "nearest:MX", geo: "MX"}},
		{name: "default egress: nearest Mexican colo down -> next nearest Mexican colo", policies: []Policy{defaultPolicy("Default", all)}, inv: invNRTLAX(), down: ColoSet{"GDL": true}, f: flow("LAX", "MX", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDefault, colo: "nearest:MX", geo: "MX"}},
		{name: "default egress: country without a colo -> ingress colo, user's geo", policies: []Policy{defaultPolicy("Default", all)}, inv: invNRTLAX(), f: flow("FRA", "XK", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDefault, colo: "FRA", geo: "XK"}},
		{name: "default egress: no source country -> ingress colo and its country", policies: []Policy{defaultPolicy("Default", all)}, inv: invNRTLAX(), f: flow("FRA", "", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDefault, colo: "FRA", geo: "DE"}},

		// Rule 1: order, disabled policies, unknown matches.
		{name: "disabled policies are skipped, index counts them", policies: []Policy{disabled, partners()}, inv: invNRTLAX(), f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomePolicy, index: 1, method: MethodDedicated, ip: "203.0.113.10", colo: "NRT", geo: "JP"}},
		{name: "first match wins over a later more specific policy", policies: []Policy{dedicated("Everything", all, ipLAX, v6LAX, ipNRT), partners()}, inv: invNRTLAX(), f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, ip: "203.0.113.20", colo: "LAX", geo: "US"}},
		{name: "unknown before the first match -> indeterminate naming the field", policies: []Policy{emailPolicy(nil), partners()}, inv: invNRTLAX(), f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomeIndeterminate, index: 0, missing: "identity.email"}, trace: "needs identity.email"},
		{name: "unknown and no later match -> still indeterminate", policies: []Policy{emailPolicy(nil)}, inv: invNRTLAX(), f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomeIndeterminate, index: 0, missing: "identity.email"}},
		{name: "an earlier certain match wins over a later unknown", policies: []Policy{partners(), emailPolicy(nil)}, inv: invNRTLAX(), f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, ip: "203.0.113.10", colo: "NRT", geo: "JP"}},
		{name: "a policy that is certainly No does not need the field", policies: []Policy{emailPolicy(cidrs("198.18.0.0/15")), partners()}, inv: invNRTLAX(), f: flow("KIX", "JP", dst4, false),
			want: want{outcome: OutcomePolicy, index: 1, method: MethodDedicated, ip: "203.0.113.10", colo: "NRT", geo: "JP"}},
		{name: "the flow carries the field -> certain match", policies: []Policy{emailPolicy(nil), partners()}, inv: invNRTLAX(), f: withEmail(flow("KIX", "JP", dst4, false)),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, ip: "203.0.113.20", colo: "LAX", geo: "US"}},

		// Rule 0: not applicable.
		{name: "ICMP -> not_applicable, default egress", policies: []Policy{partners()}, inv: invNRTLAX(), f: proto(flow("KIX", "JP", dst4, false), "icmp"),
			want: want{outcome: OutcomeNotApplicable, index: -1, method: MethodDefault, colo: "KIX", geo: "JP"}, trace: "do not apply to ICMP"},
		{name: "ICMPv6 -> not_applicable", policies: []Policy{partners()}, inv: invNRTLAX(), f: proto(flow("LAX", "MX", dst6, false), "ICMPv6"),
			want: want{outcome: OutcomeNotApplicable, index: -1, method: MethodDefault, colo: "nearest:MX", geo: "MX"}},
		{name: "DNS -> not_applicable", policies: []Policy{partners()}, inv: invNRTLAX(), f: dns(flow("KIX", "JP", dst4, false)),
			want: want{outcome: OutcomeNotApplicable, index: -1, method: MethodDefault, colo: "KIX", geo: "JP"}, trace: "DNS"},
		{name: "private network -> not_applicable", policies: []Policy{partners()}, inv: invNRTLAX(), f: priv(flow("KIX", "JP", dst4, false)),
			want: want{outcome: OutcomeNotApplicable, index: -1, method: MethodDefault, colo: "KIX", geo: "JP"}, trace: "private-network"},

		// Case-insensitive ingress code.
		{name: "ingress colo code is case-insensitive", policies: []Policy{partners()}, inv: invNRTLAX(), f: flow("lax", "US", dst4, true),
			want: want{outcome: OutcomePolicy, index: 0, method: MethodDedicated, ip: "203.0.113.10", colo: "LAX", geo: "JP"}},
	}
}

func nearestHealthy(t *testing.T, ingress, country string, down ColoSet) string {
	t.Helper()
	from, err := LookupColo(ingress)
	if err != nil {
		t.Fatal(err)
	}
	best, bestD := "", 1e18
	for _, co := range Catalog() {
		if co.Country != country || down[co.Code] {
			continue
		}
		if d := GreatCircleKm(from, co); d < bestD {
			best, bestD = co.Code, d
		}
	}
	if best == "" {
		t.Fatalf("catalog has no healthy colo in %s", country)
	}
	return best
}

func checkDecision(t *testing.T, got Decision, w want, f *Flow, down ColoSet) {
	t.Helper()
	if strings.HasPrefix(w.colo, "nearest:") {
		w.colo = nearestHealthy(t, f.IngressColo, strings.TrimPrefix(w.colo, "nearest:"), down)
	}
	ip, v6 := "", ""
	if got.EgressIP.IsValid() {
		ip = got.EgressIP.String()
	}
	if got.EgressIPv6Range.IsValid() {
		v6 = got.EgressIPv6Range.String()
	}
	if got.Outcome != w.outcome || got.PolicyIndex != w.index || got.Method != w.method || ip != w.ip || v6 != w.v6 ||
		got.EgressColo != w.colo || got.GeoCountry != w.geo || got.Missing != w.missing {
		t.Errorf("got  outcome=%s index=%d method=%q ip=%q v6=%q colo=%q geo=%q missing=%q\nwant outcome=%s index=%d method=%q ip=%q v6=%q colo=%q geo=%q missing=%q\ntrace:\n  %s",
			got.Outcome, got.PolicyIndex, got.Method, ip, v6, got.EgressColo, got.GeoCountry, got.Missing,
			w.outcome, w.index, w.method, w.ip, w.v6, w.colo, w.geo, w.missing, strings.Join(got.Trace, "\n  "))
	}
}

func TestDecideRules(t *testing.T) {
	for _, tc := range decideCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decide(tc.policies, tc.inv, tc.down, tc.f)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			checkDecision(t, got, tc.want, tc.f, tc.down)
			if got.Outcome == OutcomePolicy || got.Outcome == OutcomeUnavailable && got.PolicyIndex >= 0 || got.Outcome == OutcomeIndeterminate {
				if got.PolicyName != tc.policies[got.PolicyIndex].Name {
					t.Errorf("PolicyName = %q, want %q", got.PolicyName, tc.policies[got.PolicyIndex].Name)
				}
			}
			if len(got.Trace) == 0 {
				t.Errorf("empty trace")
			}
			if tc.trace != "" && !strings.Contains(strings.Join(got.Trace, "\n"), tc.trace) {
				t.Errorf("trace lacks %q:\n  %s", tc.trace, strings.Join(got.Trace, "\n  "))
			}
			// The zero-alloc path decides the same, without a trace.
			e, err := Compile(tc.policies, tc.inv)
			if err != nil {
				t.Fatal(err)
			}
			var d Decision
			if err := e.DecideInto(tc.f, tc.down, &d, false); err != nil {
				t.Fatal(err)
			}
			checkDecision(t, d, tc.want, tc.f, tc.down)
			if len(d.Trace) != 0 {
				t.Errorf("DecideInto(trace=false) built a trace: %q", d.Trace)
			}
		})
	}
}

// Guards the table: GDL is the Mexican colo nearest LAX, so the "nearest
// Mexican colo down" row really exercises the outage.
func TestNearestMexicanColoToLAX(t *testing.T) {
	if got := nearestHealthy(t, "LAX", "MX", nil); got != "GDL" {
		t.Errorf("nearest MX colo to LAX = %s, want GDL (update the table row)", got)
	}
}

func TestNoMatchListsCandidates(t *testing.T) {
	inv := append(invNRTLAX(), DedicatedIP{IPv4: ipFRA, IPv6Range: v6FRA, Colo: "FRA"})
	d, err := Decide(nil, inv, ColoSet{"NRT": true}, flow("KIX", "JP", dst4, false))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Candidates) != 3 {
		t.Fatalf("candidates = %+v, want all 3", d.Candidates)
	}
	var colos []string
	for i, c := range d.Candidates {
		colos = append(colos, c.Colo)
		if i > 0 && c.DistanceKm < d.Candidates[i-1].DistanceKm {
			t.Errorf("candidates not sorted by distance: %+v", d.Candidates)
		}
		if c.Down != (c.Colo == "NRT") {
			t.Errorf("candidate %s Down = %v", c.Colo, c.Down)
		}
	}
	if strings.Join(colos, ",") != "NRT,LAX,FRA" {
		t.Errorf("candidate order = %v, want NRT,LAX,FRA from KIX", colos)
	}
	kix, _ := LookupColo("KIX")
	nrt, _ := LookupColo("NRT")
	if got, want := d.Candidates[0].DistanceKm, GreatCircleKm(kix, nrt); got != want {
		t.Errorf("NRT distance = %v, want %v", got, want)
	}
}

// Two dedicated IPs in one colo are equidistant: Cloudflare "keeps each
// user on the same egress IP" (egress policies page, Load balancing), so
// FNV-1a over the user's identity picks one, deterministically, and users
// share the load.
func TestEquidistantSharing(t *testing.T) {
	inv := []DedicatedIP{
		{IPv4: ipNRT2, IPv6Range: v6NRT2, Colo: "NRT"}, // listed first on purpose: order by IPv4 is what counts
		{IPv4: ipNRT, IPv6Range: v6NRT, Colo: "NRT"},
		{IPv4: ipLAX, IPv6Range: v6LAX, Colo: "LAX"},
	}
	e, err := Compile(nil, inv)
	if err != nil {
		t.Fatal(err)
	}
	group := []netip.Addr{ipNRT, ipNRT2} // sorted by IPv4
	picked := map[netip.Addr]int{}
	for u := 0; u < 200; u++ {
		f := flow("KIX", "JP", dst4, false)
		f.UserID = "user-" + itoa(u)
		d, err := e.Decide(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := fnv.New64a()
		h.Write([]byte("user:" + f.UserID))
		wantIP := group[h.Sum64()%2]
		if d.EgressIP != wantIP || d.EgressColo != "NRT" {
			t.Fatalf("user %s: picked %s (%s), want %s", f.UserID, d.EgressIP, d.EgressColo, wantIP)
		}
		if len(d.Candidates) != 3 {
			t.Fatalf("candidates = %d, want 3", len(d.Candidates))
		}
		picked[d.EgressIP]++
	}
	if picked[ipNRT] < 60 || picked[ipNRT2] < 60 {
		t.Errorf("load not shared between users: %v", picked)
	}
	// IPv6 flows share the same way and geolocate with the picked entry.
	f6 := flow("KIX", "JP", dst6, false)
	d6, _ := e.Decide(f6, nil)
	if d6.EgressIPv6Range != v6NRT && d6.EgressIPv6Range != v6NRT2 || d6.EgressColo != "KIX" || d6.GeoCountry != "JP" {
		t.Errorf("IPv6 equidistant decision = %+v", d6)
	}
}

// Regression (issue 12): the pick hashed the 5-tuple, so two connections
// of one user (other source ports, other destinations) could leave from
// two IPs. Every connection of one user now leaves from one IP, for a user
// known by ID, by device, by email, or only by source IP.
func TestRegressionOneUserKeepsOneEquidistantIP(t *testing.T) {
	inv := []DedicatedIP{{IPv4: ipNRT2, IPv6Range: v6NRT2, Colo: "NRT"}, {IPv4: ipNRT, IPv6Range: v6NRT, Colo: "NRT"}}
	e, err := Compile(nil, inv)
	if err != nil {
		t.Fatal(err)
	}
	users := []func(*Flow){
		func(f *Flow) { f.UserID = "7c5a3b2e-1f0d-4e2a-9c8b-000000000001" },
		func(f *Flow) { f.DeviceID = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415" },
		func(f *Flow) { f.Email = "ana@example.com" },
		func(*Flow) {}, // source IP only
	}
	for ui, user := range users {
		seen := map[netip.Addr]bool{}
		for c := 0; c < 64; c++ {
			f := flow("KIX", "JP", dst4, false)
			user(f)
			f.SourcePort = uint16(40000 + c*7)
			f.DestinationPort = uint16(443 + c%3)
			f.DestinationIP = netip.AddrFrom4([4]byte{192, 0, 2, byte(c)})
			if c%2 == 1 {
				f.Protocol = "udp"
			}
			d, err := e.Decide(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			seen[d.EgressIP] = true
		}
		if len(seen) != 1 {
			t.Errorf("user %d: one user's connections left from %d dedicated IPs %v, want 1", ui, len(seen), seen)
		}
	}
}

// The stability promise: this exact user picks this exact IP in every
// release. If this test fails, the identity key or the hash changed: that
// moves users between IPs and needs a changelog entry.
func TestEquidistantPickIsStable(t *testing.T) {
	inv := []DedicatedIP{{IPv4: ipNRT2, IPv6Range: v6NRT2, Colo: "NRT"}, {IPv4: ipNRT, IPv6Range: v6NRT, Colo: "NRT"}}
	e, err := Compile(nil, inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user func(*Flow)
		key  string
		hash uint64
		want netip.Addr
	}{
		{func(f *Flow) { f.UserID = "7c5a3b2e-1f0d-4e2a-9c8b-000000000001"; f.Email = "x@example.com" }, "user:7c5a3b2e-1f0d-4e2a-9c8b-000000000001", 0x27ebda734ee3fe6a, ipNRT}, // even hash: 1st by IPv4
		{func(f *Flow) { f.UserID = "7c5a3b2e-1f0d-4e2a-9c8b-000000000002" }, "user:7c5a3b2e-1f0d-4e2a-9c8b-000000000002", 0x27ebd9734ee3fcb7, ipNRT2},                           // odd hash: 2nd
		{func(f *Flow) { f.DeviceID = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"; f.Email = "a@b" }, "device:f174e90a-fafe-4643-bbbc-4a0ed4fc8415", 0x39159c5e2a24f683, ipNRT2},
		{func(f *Flow) { f.Email = "Ana@Example.com" }, "email:ana@example.com", 0xfae322645acd850e, ipNRT},
		{func(f *Flow) { f.Email = "bo@example.com" }, "email:bo@example.com", 0x60bb97cc698fb61d, ipNRT2},
		{func(*Flow) {}, "ip:198.51.100.7", 0xeaabd957c18812aa, ipNRT},
		{func(f *Flow) { f.SourceIP = netip.Addr{} }, "", 0xcbf29ce484222325, ipNRT2},
	} {
		f := flow("KIX", "JP", dst4, false)
		tc.user(f)
		if got := string(IdentityKey(nil, f)); got != tc.key {
			t.Fatalf("IdentityKey = %q, want %q", got, tc.key)
		}
		h := fnv.New64a()
		h.Write([]byte(tc.key))
		if h.Sum64() != tc.hash || IdentityHash(f) != tc.hash {
			t.Fatalf("hash of %q: hash/fnv %#x, IdentityHash %#x, want %#x", tc.key, h.Sum64(), IdentityHash(f), tc.hash)
		}
		d, err := e.Decide(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.EgressIP != tc.want {
			t.Errorf("%q picked %s, want %s", tc.key, d.EgressIP, tc.want)
		}
		if !strings.Contains(strings.Join(d.Trace, "\n"), fmt.Sprintf("%q", tc.key)) {
			t.Errorf("trace does not name the identity %q: %q", tc.key, d.Trace)
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestFiveTupleKey(t *testing.T) {
	f := &Flow{Protocol: "UDP", SourceIP: netip.MustParseAddr("2001:DB8::1"), SourcePort: 5, DestinationIP: netip.MustParseAddr("::ffff:192.0.2.1"), DestinationPort: 53}
	if got, want := string(FiveTupleKey(nil, f)), "udp|2001:db8::1|5|::ffff:192.0.2.1|53"; got != want {
		t.Errorf("FiveTupleKey = %q, want %q", got, want)
	}
	if got, want := string(FiveTupleKey(nil, &Flow{})), "||0||0"; got != want {
		t.Errorf("empty flow key = %q, want %q", got, want)
	}
}

func TestDecideInputErrors(t *testing.T) {
	e, err := Compile([]Policy{partners()}, invNRTLAX())
	if err != nil {
		t.Fatal(err)
	}
	noDst := flow("KIX", "JP", dst4, false)
	noDst.DestinationIP = netip.Addr{}
	for _, tc := range []struct {
		name string
		f    *Flow
		down ColoSet
		want string
	}{
		{"unknown ingress colo", flow("NTR", "JP", dst4, false), nil, `unknown colo "NTR": did you mean `},
		{"missing ingress colo", flow("", "JP", dst4, false), nil, "ingress_colo is required"},
		{"ingress colo down", flow("KIX", "JP", dst4, false), ColoSet{"KIX": true}, "ingress_colo KIX is in the set of colos that are down"},
		{"no destination", noDst, nil, "destination_ip is required"},
		{"nil flow", nil, nil, "flow is nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Decide(tc.f, tc.down)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidFlow) {
				t.Fatalf("err = %v, want ErrInvalidFlow containing %q", err, tc.want)
			}
		})
	}
	_, err = e.Decide(flow("NTR", "JP", dst4, false), nil)
	if !strings.Contains(err.Error(), "NRT") {
		t.Errorf("suggestion lacks NRT: %v", err)
	}
}

func TestCompileErrors(t *testing.T) {
	nilMatch := partners()
	nilMatch.Match = nil
	disabledNil := nilMatch
	disabledNil.Enabled = false
	notInInv := dedicated("Vendor", &testMatcher{}, netip.MustParseAddr("203.0.113.99"), v6NRT, ipLAX)
	fbNotInInv := dedicated("Vendor", &testMatcher{}, ipNRT, v6NRT, netip.MustParseAddr("203.0.113.98"))
	noV4 := dedicated("NoV4", &testMatcher{}, netip.Addr{}, v6NRT, ipLAX)
	badMethod := partners()
	badMethod.Egress.Method = "fastest"
	for _, tc := range []struct {
		name     string
		policies []Policy
		inv      []DedicatedIP
		want     string
	}{
		{"nil matcher names the policy", []Policy{defaultPolicy("A", MatchAll), nilMatch}, invNRTLAX(), `policy 1 "Partners": no compiled matcher`},
		{"dedicated IP not in inventory", []Policy{notInInv}, invNRTLAX(), `policy 0 "Vendor": egress ipv4 203.0.113.99 is not one of the account's dedicated egress IPs (203.0.113.10 NRT, 203.0.113.20 LAX)`},
		{"fallback not in inventory", []Policy{fbNotInInv}, invNRTLAX(), `policy 0 "Vendor": egress ipv4_fallback 203.0.113.98`},
		{"dedicated without ipv4", []Policy{noV4}, invNRTLAX(), `policy 0 "NoV4": egress method dedicated needs ipv4`},
		{"unknown method", []Policy{badMethod}, invNRTLAX(), `egress method "fastest"`},
		{"inventory colo unknown", nil, []DedicatedIP{{IPv4: ipNRT, Colo: "NTR"}}, `dedicated_egress_ips[0] (203.0.113.10): colo: unknown colo "NTR": did you mean`},
		{"inventory ipv4 not IPv4", nil, []DedicatedIP{{IPv4: netip.MustParseAddr("2001:db8::1"), Colo: "NRT"}}, `dedicated_egress_ips[0]: ipv4 "2001:db8::1" is not an IPv4 address`},
		{"inventory duplicate", nil, []DedicatedIP{{IPv4: ipNRT, Colo: "NRT"}, {IPv4: ipNRT, Colo: "KIX"}}, "listed twice"},
		{"inventory ipv6_range not IPv6", nil, []DedicatedIP{{IPv4: ipNRT, IPv6Range: netip.MustParsePrefix("10.0.0.0/8"), Colo: "NRT"}}, "is not an IPv6 prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.policies, tc.inv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// A disabled policy is never evaluated: it needs no matcher.
	if _, err := Compile([]Policy{disabledNil, partners()}, invNRTLAX()); err != nil {
		t.Errorf("disabled policy without matcher: %v", err)
	}
	// Inventory colo codes are normalised.
	e, err := Compile(nil, []DedicatedIP{{IPv4: ipNRT, Colo: "nrt"}})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := e.Decide(flow("KIX", "JP", dst4, false), nil); d.EgressColo != "NRT" {
		t.Errorf("EgressColo = %q, want NRT", d.EgressColo)
	}
}

func TestCatalogCoversMexicanColos(t *testing.T) {
	var mx []string
	for _, co := range Catalog() {
		if co.Country == "MX" {
			mx = append(mx, co.Code)
		}
	}
	sort.Strings(mx)
	if len(mx) < 3 {
		t.Errorf("Mexican colos = %v, want at least QRO, MEX, GDL", mx)
	}
}

// An Engine is shared by concurrent callers (run with -race).
func TestEngineConcurrentUse(t *testing.T) {
	e, err := Compile([]Policy{partners()}, invNRTLAX())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := e.Decide(flow("LAX", "US", dst4, false), nil)
	done := make(chan Decision, 8)
	for g := 0; g < 8; g++ {
		go func() {
			var d Decision
			for i := 0; i < 200; i++ {
				_ = e.DecideInto(flow("LAX", "US", dst4, false), nil, &d, i%2 == 0)
			}
			done <- d
		}()
	}
	for g := 0; g < 8; g++ {
		if d := <-done; d.EgressIP != want.EgressIP || d.EgressColo != want.EgressColo {
			t.Errorf("concurrent decision %+v, want %+v", d, want)
		}
	}
}
