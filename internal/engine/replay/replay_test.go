package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

// The seed's inventory: one dedicated IP in Tokyo (NRT), one in Los Angeles
// (LAX), each with its IPv6 range.
func seedInventory(t testing.TB) []engine.DedicatedIP {
	inv, err := spec.DedicatedIPs([]spec.DedicatedIP{
		{IPv4: "203.0.113.10", IPv6Range: "2001:db8:10::/64", Colo: "NRT"},
		{IPv4: "203.0.113.20", IPv6Range: "2001:db8:20::/64", Colo: "LAX"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func id(n string) string { return "a1b2c3d4-0000-4000-8000-0000000000" + n }

// livePolicies is the list the hand-written records were logged under.
func livePolicies() []spec.Policy {
	return []spec.Policy{
		{ID: id("01"), Name: "Partners", Enabled: true, Traffic: `net.dst.ip in {192.0.2.128/25 2001:db8:ffff:1::/64}`,
			IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"},
		{ID: id("02"), Name: "Finance", Enabled: true, Traffic: `net.dst.ip in {198.18.0.0/15}`, Identity: `identity.email == "cfo@example.com"`,
			IPv4: "203.0.113.20", IPv6: "2001:db8:20::/64", IPv4Fallback: "0.0.0.0"},
		{ID: id("03"), Name: "Legacy", Enabled: false, Traffic: `net.dst.port == 8443`,
			IPv4: "203.0.113.20", IPv4Fallback: "203.0.113.10"},
		{ID: id("04"), Name: "Japan users", Enabled: true, Traffic: `net.dst.ip in {198.51.100.0/24} and net.src.geo.country == "JP"`,
			IPv4: "203.0.113.10", IPv4Fallback: "203.0.113.20"},
		{ID: id("05"), Name: "Web default", Enabled: true, Traffic: `net.dst.ip in {192.88.99.0/24}`, Method: "default"},
		{ID: id("06"), Name: "Unused", Enabled: true, Traffic: `net.dst.port == 9999`,
			IPv4: "203.0.113.20", IPv4Fallback: "203.0.113.10"},
	}
}

// plannedPolicies moves Partners to LAX, removes Legacy and adds a
// catch-all (default egress) at the bottom.
func plannedPolicies() []spec.Policy {
	p := livePolicies()
	p[0].IPv4, p[0].IPv6, p[0].IPv4Fallback = "203.0.113.20", "2001:db8:20::/64", "203.0.113.10"
	out := append([]spec.Policy{p[0], p[1]}, p[3:]...)
	return append(out, spec.Policy{Name: "Catch-all", Enabled: true, Traffic: `net.protocol in {"tcp" "udp"}`, Method: "default"})
}

func list(t testing.TB, ps []spec.Policy, inv []engine.DedicatedIP) *List {
	t.Helper()
	eps, err := spec.Policies(ps)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewList(eps, inv)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// expectation is what a hand-written record says about itself in fields
// Cloudflare does not have (the reader ignores unknown fields).
type expectation struct {
	Why      string `json:"_why"`
	Expect   string `json:"_expect"`
	Inferred string `json:"_inferred"`
	Reason   string `json:"_reason"`
	Missing  string `json:"_missing"`
	Changed  *bool  `json:"_changed"`
}

func handwritten(t *testing.T) [][]byte {
	raw, err := os.ReadFile("testdata/handwritten.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	return lines
}

func inferredText(r *Result) string {
	switch {
	case len(r.ColosDown) > 0:
		return "colo_down:" + strings.Join(r.ColosDown, ",")
	case r.UserCountry != "":
		return "user_country:" + r.UserCountry
	}
	return r.Proxied.String()
}

// Each hand-written record, checked on its own against the seed's tables:
// its verdict, what was inferred, the reason of a disagreement and, against
// the planned list, whether its egress changes.
func TestHandwrittenRecords(t *testing.T) {
	inv := seedInventory(t)
	c := newChecker(list(t, livePolicies(), inv), list(t, plannedPolicies(), inv))
	p := engine.NewSessionParser()
	n := map[string]int{}
	for i, line := range handwritten(t) {
		var want expectation
		if json.Unmarshal(line, &want) != nil || want.Expect == "" {
			continue // the malformed lines: TestHandwrittenReport
		}
		n[want.Expect]++
		var rec engine.LoggedSession
		if err := p.Parse(line, &rec); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		res, err := c.check(&rec)
		if err != nil {
			t.Fatalf("line %d (%s): %v", i+1, want.Why, err)
		}
		where := rec.SessionID + " (" + want.Why + ")"
		if res.Verdict.String() != want.Expect {
			t.Errorf("%s: %s, want %s; reason %q", where, res.Verdict, want.Expect, res.Reason)
			continue
		}
		switch res.Verdict {
		case Agree:
			if got := inferredText(res); got != want.Inferred {
				t.Errorf("%s: inferred %s, want %s", where, got, want.Inferred)
			}
		case Disagree:
			if !strings.Contains(res.Reason, want.Reason) {
				t.Errorf("%s: reason %q, want it to contain %q", where, res.Reason, want.Reason)
			}
		case Undecidable:
			if res.Missing != want.Missing {
				t.Errorf("%s: missing %q, want %q (%s)", where, res.Missing, want.Missing, res.Reason)
			}
		}
		switch {
		case want.Changed == nil && res.PlannedDecided:
			t.Errorf("%s: decided against the plan (changed %v), want undecidable", where, res.Changed)
		case want.Changed != nil && !res.PlannedDecided:
			t.Errorf("%s: not decided against the plan, want changed=%v", where, *want.Changed)
		case want.Changed != nil && res.Changed != *want.Changed:
			t.Errorf("%s: changed %v (before %s %s, after %s %s), want %v", where, res.Changed,
				res.BeforeIP, res.Model.EgressColo, res.AfterIP, res.Planned.EgressColo, *want.Changed)
		}
	}
	if n["agree"] != 16 || n["disagree"] != 8 || n["undecidable"] != 5 {
		t.Errorf("hand-written records: %v", n)
	}
}

// Many batches (the hand-written file 400 times: 11,600 lines, batches of
// batchLines) give the same report, examples and groups whatever the number
// of workers: the first examples in the log, counts summed across batches.
func TestWorkersSameReportAcrossBatches(t *testing.T) {
	inv := seedInventory(t)
	live, planned := list(t, livePolicies(), inv), list(t, plannedPolicies(), inv)
	raw, err := os.ReadFile("testdata/handwritten.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.Repeat(append(bytes.TrimRight(raw, "\n"), '\n'), 400)
	var first *Report
	for _, workers := range []int{1, 2, 3} {
		r, err := Run(bytes.NewReader(raw), live, planned, Options{Workers: workers, MaxExamples: 50})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = r
			if r.Rows != 400*29 || len(r.Disagreements) != 50 || len(r.Changes) != 50 {
				t.Fatalf("workers=1: %s, %d disagreements, %d changes listed", r, len(r.Disagreements), len(r.Changes))
			}
		} else if !reflect.DeepEqual(first, r) {
			t.Errorf("workers=%d: the report differs from workers=1:\n%s\n%s", workers, r, first)
		}
	}
}

// The whole file through Run: the totals, weighed by count, and the
// per-policy figures, worked out by hand from the records' _why.
func TestHandwrittenReport(t *testing.T) {
	inv := seedInventory(t)
	live, planned := list(t, livePolicies(), inv), list(t, plannedPolicies(), inv)
	raw, err := os.ReadFile("testdata/handwritten.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var first *Report
	for _, workers := range []int{1, 2, 3, 8} {
		r, err := Run(bytes.NewReader(raw), live, planned, Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = r
		} else if !reflect.DeepEqual(first, r) {
			t.Errorf("workers=%d: the report differs from workers=1:\n%+v\n%+v", workers, r, first)
		}
	}
	r := first
	// s16 is one row weighing 1000 sessions.
	if r.Rows != 29 || r.Records != 1028 || r.Agree != 1015 || r.Disagree != 8 || r.Undecidable != 5 {
		t.Errorf("counts: %s", r)
	}
	if r.Changed != 1013 || r.ChangeUndecidable != 5 {
		t.Errorf("changed %d, change_undecidable %d; want 1013, 5", r.Changed, r.ChangeUndecidable)
	}
	wantInf := Inferred{Grey: 1005, Orange: 2, Either: 8, ColoDown: 2, UserCountry: 2,
		ColosDown: []FieldCount{{"LAX", 1}, {"NRT", 1}}}
	if !reflect.DeepEqual(r.Inferred, wantInf) {
		t.Errorf("inferred %+v, want %+v", r.Inferred, wantInf)
	}
	type hl struct{ hits, logged int64 }
	wantHits := map[string]hl{"Partners": {6, 5}, "Finance": {2, 2}, "Legacy": {0, 1}, "Japan users": {1, 2}, "Web default": {4, 4}, "Unused": {0, 0}}
	for _, p := range r.Policies {
		if w := wantHits[p.Name]; p.Hits != w.hits || p.LoggedHits != w.logged {
			t.Errorf("policy %q: hits %d logged %d, want %d %d", p.Name, p.Hits, p.LoggedHits, w.hits, w.logged)
		}
	}
	if !reflect.DeepEqual(r.Unused, []string{"Unused"}) {
		t.Errorf("unused %v", r.Unused)
	}
	wantPlanned := map[string]int64{"Partners": 6, "Finance": 2, "Japan users": 1, "Web default": 4, "Unused": 0, "Catch-all": 1008}
	for _, p := range r.PlannedPolicies {
		if p.Hits != wantPlanned[p.Name] {
			t.Errorf("planned policy %q: hits %d, want %d", p.Name, p.Hits, wantPlanned[p.Name])
		}
	}
	if !reflect.DeepEqual(r.PlannedUnused, []string{"Unused"}) {
		t.Errorf("planned unused %v", r.PlannedUnused)
	}
	if !reflect.DeepEqual(r.UnknownLoggedRules, []LoggedRule{{Name: "Old VPN rule", ID: id("99"), Count: 1}}) {
		t.Errorf("unknown logged rules %+v", r.UnknownLoggedRules)
	}
	wantFields := []FieldCount{{"EgressIP", 1}, {"IngressColoName", 1}, {"OriginIP", 1}, {"identity.email", 1}, {"net.src.geo.country", 1}}
	if !reflect.DeepEqual(r.UndecidableFields, wantFields) {
		t.Errorf("undecidable fields %+v", r.UndecidableFields)
	}
	// Malformed lines: counted and listed with their line numbers, never fatal.
	wantBad := []MalformedLine{
		{30, "the line ends before the object is closed"}, {31, `OriginIP: "not-an-ip" is not an IP address`},
		{32, "count: -1 is negative"}, {33, "expected a JSON object"},
	}
	if r.Malformed != 4 || len(r.MalformedLines) != 4 {
		t.Fatalf("malformed %d %+v", r.Malformed, r.MalformedLines)
	}
	for i, w := range wantBad {
		if g := r.MalformedLines[i]; g.Line != w.Line || !strings.Contains(g.Error, w.Error) {
			t.Errorf("malformed line %+v, want line %d with %q", g, w.Line, w.Error)
		}
	}
	// Disagreements: every one listed, in log order, with both sides.
	var ids []string
	for _, d := range r.Disagreements {
		ids = append(ids, d.SessionID)
	}
	if strings.Join(ids, " ") != "d01 d02 d03 d04 d05 d06 d07 d08" {
		t.Errorf("disagreements %v", ids)
	}
	d := r.Disagreements[2] // d03
	if d.Line != 21 || d.Observed.EgressColo != "LAX" || d.Model.EgressColo != "NRT" || d.Model.EgressIP != "203.0.113.10" || d.Model.Outcome != "no_match" {
		t.Errorf("d03: %+v", d)
	}
	if len(r.DisagreementGroups) != 8 || r.DisagreementGroups[0].Example != "d01" {
		t.Errorf("groups %+v", r.DisagreementGroups)
	}
	// Changes: the largest kind first: the seed's kind (no match at KIX,
	// the NRT IP -> the catch-all's shared pool at KIX): s01, the 1,000 of
	// s16, and d03, d06, d07 (modelled so, though they disagree).
	g := r.ChangeGroups[0]
	if g.Count != 1000+4 || g.Before.EgressIP != "203.0.113.10" || g.Before.EgressColo != "NRT" || g.After.EgressIP != "" || g.After.EgressColo != "KIX" || g.After.Policy != "Catch-all" || g.Example != "s01" {
		t.Errorf("top change group %+v", g)
	}
}

// Equidistant dedicated IPs (two in NRT): Cloudflare says only that it
// keeps a user on one IP, so a session logged with either agrees; one in
// another colo does not.
func TestEquidistantAgree(t *testing.T) {
	inv, err := spec.DedicatedIPs([]spec.DedicatedIP{
		{IPv4: "203.0.113.10", IPv6Range: "2001:db8:10::/64", Colo: "NRT"},
		{IPv4: "203.0.113.11", IPv6Range: "2001:db8:11::/64", Colo: "NRT"},
		{IPv4: "203.0.113.20", IPv6Range: "2001:db8:20::/64", Colo: "LAX"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newChecker(list(t, nil, inv), nil)
	rec := func(ip, colo, origin string) *engine.LoggedSession {
		s, err := engine.ParseSession([]byte(`{"IngressColoName":"KIX","OriginIP":"` + origin + `","OriginPort":443,"Protocol":"TCP","SourceIP":"198.51.100.7","SourcePort":50000,"UserID":"u-1","EgressRuleName":"","EgressIP":"` + ip + `","EgressColoName":"` + colo + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		return &s
	}
	equidistant := 0
	for _, tc := range []struct{ ip, colo, origin string }{
		{"203.0.113.10", "NRT", "192.0.2.80"}, {"203.0.113.11", "NRT", "192.0.2.80"},
		{"2001:db8:10::5", "KIX", "2001:db8:ffff::1"}, {"2001:db8:11::5", "KIX", "2001:db8:ffff::1"},
	} {
		res, err := c.check(rec(tc.ip, tc.colo, tc.origin))
		if err != nil || res.Verdict != Agree {
			t.Fatalf("%s: %v %v %s", tc.ip, res.Verdict, err, res.Reason)
		}
		if res.Equidistant {
			equidistant++
		}
	}
	if equidistant != 2 {
		t.Errorf("%d of 4 records inferred equidistant, want 2 (one per family: the engine's hash picks the other)", equidistant)
	}
	for _, tc := range []struct{ ip, colo string }{{"203.0.113.20", "NRT"}, {"203.0.113.11", "LAX"}} {
		if res, _ := c.check(rec(tc.ip, tc.colo, "192.0.2.80")); res.Verdict != Disagree {
			t.Errorf("%s from %s: %v, want disagree", tc.ip, tc.colo, res.Verdict)
		}
	}
	// The LAX IP from LAX: both NRT IPs' colo down explains it.
	if res, _ := c.check(rec("203.0.113.20", "LAX", "192.0.2.80")); res.Verdict != Agree || strings.Join(res.ColosDown, ",") != "NRT" {
		t.Errorf("LAX from KIX: %v %v %s", res.Verdict, res.ColosDown, res.Reason)
	}
}

// Records go to the list of their account; others are counted, not
// replayed.
func TestRunTargetsRoutesByAccount(t *testing.T) {
	inv := seedInventory(t)
	a, b := list(t, livePolicies(), inv), list(t, nil, inv)
	log := strings.Join([]string{
		`{"AccountID":"AAAA","IngressColoName":"LAX","OriginIP":"192.0.2.200","EgressRuleName":"Partners","EgressIP":"203.0.113.10","EgressColoName":"NRT"}`,
		`{"AccountID":"aaaa","IngressColoName":"LAX","OriginIP":"192.0.2.201","EgressRuleName":"Partners","EgressIP":"203.0.113.10","EgressColoName":"NRT","count":2}`,
		`{"AccountID":"BBBB","IngressColoName":"KIX","OriginIP":"192.0.2.200","EgressRuleName":"","EgressIP":"203.0.113.10","EgressColoName":"NRT"}`,
		`{"AccountID":"CCCC","IngressColoName":"KIX","OriginIP":"192.0.2.200","EgressIP":"203.0.113.10","count":5}`,
		`{"IngressColoName":"KIX","OriginIP":"192.0.2.200","EgressIP":"203.0.113.10"}`,
		`{"AccountID":"BBBB",`,
	}, "\n")
	for _, workers := range []int{1, 2} {
		reps, sum, err := RunTargets(strings.NewReader(log), []Target{{AccountID: "AAAA", Live: a}, {AccountID: "BBBB", Live: b}}, Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if reps[0].Records != 3 || reps[0].Agree != 3 || reps[1].Records != 1 || reps[1].Agree != 1 {
			t.Errorf("workers=%d: A %s; B %s", workers, reps[0], reps[1])
		}
		if sum.OtherAccounts != 6 || !reflect.DeepEqual(sum.OtherAccountIDs, []FieldCount{{"CCCC", 5}, {"", 1}}) || sum.Malformed != 1 || sum.MalformedLines[0].Line != 6 {
			t.Errorf("workers=%d: summary %+v", workers, sum)
		}
	}
}

// Examples and kinds are bounded whatever the log's length; counts are not.
func TestRunBoundedExamplesAndGroups(t *testing.T) {
	inv := seedInventory(t)
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		// The NRT IP from ten colos, none of them NRT or KIX, for a KIX
		// user: ten kinds of disagreement.
		colo := []string{"LAX", "FRA", "SIN", "ORD", "AMS", "CDG", "LHR", "SYD", "GRU", "JNB"}[i%10]
		fmt.Fprintf(&b, `{"SessionID":"r%d","IngressColoName":"KIX","OriginIP":"192.0.2.%d","OriginPort":443,"Protocol":"TCP","EgressRuleName":"","EgressIP":"203.0.113.%d","EgressColoName":"%s"}`+"\n",
			i, 1+i%100, 10, colo)
	}
	r, err := Run(strings.NewReader(b.String()), list(t, nil, inv), nil, Options{Workers: 2, MaxExamples: 7, MaxGroups: 4})
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != 5000 || r.Disagree != 5000 {
		t.Fatalf("%s", r)
	}
	// The first seven of the log, in order, though two workers saw them.
	var ids []string
	for _, d := range r.Disagreements {
		ids = append(ids, d.SessionID)
	}
	if strings.Join(ids, " ") != "r0 r1 r2 r3 r4 r5 r6" {
		t.Errorf("examples %v", ids)
	}
	if len(r.DisagreementGroups) != 4 || !r.GroupsTruncated {
		t.Errorf("%d groups, truncated %v", len(r.DisagreementGroups), r.GroupsTruncated)
	}
}
