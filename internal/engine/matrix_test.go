package engine

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

type seedRow struct {
	v6, proxied   bool
	dedicatedColo bool // physically egresses the dedicated IP's colo
}

func readSeedTable(t *testing.T) []seedRow {
	t.Helper()
	fh, err := os.Open("testdata/seed_egress_location.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fh.Close() }() // opened read-only
	r := csv.NewReader(fh)
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []seedRow
	for _, rec := range recs[1:] {
		rows = append(rows, seedRow{v6: rec[0] == "IPv6", proxied: rec[1] == "Yes", dedicatedColo: rec[2] == "dedicated"})
	}
	if len(rows) != 4 {
		t.Fatalf("seed table has %d rows, want 4", len(rows))
	}
	return rows
}

// The seed's four-row table, for a matched dedicated policy and for no
// match, through both Decide and Matrix. User at LAX; the policy's and the
// nearest dedicated IP are in different colos so that "dedicated" and
// "local" differ.
func TestSeedEgressLocationTable(t *testing.T) {
	for _, sc := range []struct {
		name     string
		policies []Policy
		inv      []DedicatedIP
		ingress  string
		dedColo  string // the colo of the dedicated IP that applies
		ip, v6   string
		geo      string
	}{
		{"policy matched", []Policy{partners()}, invNRTLAX(), "LAX", "NRT", "203.0.113.10", "2001:db8:10::/64", "JP"},
		{"no match", noMatchPolicies(), invNRTLAX(), "KIX", "NRT", "203.0.113.10", "2001:db8:10::/64", "JP"},
		{"no match, far user", nil, []DedicatedIP{{IPv4: ipFRA, IPv6Range: v6FRA, Colo: "FRA"}}, "SYD", "FRA", "203.0.113.30", "2001:db8:30::/64", "DE"},
	} {
		for _, row := range readSeedTable(t) {
			dst := dst4
			if row.v6 {
				dst = dst6
			}
			f := flow(sc.ingress, "XX", dst, row.proxied)
			d, err := Decide(sc.policies, sc.inv, nil, f)
			if err != nil {
				t.Fatal(err)
			}
			wantColo := sc.ingress
			if row.dedicatedColo {
				wantColo = sc.dedColo
			}
			src := d.EgressIP.String()
			wantSrc := sc.ip
			if row.v6 {
				src, wantSrc = d.EgressIPv6Range.String(), sc.v6
			}
			if d.EgressColo != wantColo || src != wantSrc || d.GeoCountry != sc.geo {
				t.Errorf("%s, v6=%v proxied=%v: colo %s src %s geo %s, want %s %s %s", sc.name, row.v6, row.proxied, d.EgressColo, src, d.GeoCountry, wantColo, wantSrc, sc.geo)
			}
		}
	}
}

func TestMatrixSeed(t *testing.T) {
	rows, err := Matrix([]Policy{partners()}, invNRTLAX(), []string{"KIX", "lax"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2*2*4 {
		t.Fatalf("%d rows, want 16 (2 ingress x (no match + 1 policy) x 4 cases)", len(rows))
	}
	seed := readSeedTable(t)
	type ded struct{ colo, ip, v6, geo string }
	nrt := ded{"NRT", "203.0.113.10", "2001:db8:10::/64", "JP"}
	lax := ded{"LAX", "203.0.113.20", "2001:db8:20::/64", "US"}
	for i, r := range rows {
		c := seed[i%4]
		if r.Proxied != c.proxied || (r.Destination == "IPv6") != c.v6 {
			t.Fatalf("row %d case %q out of the seed's order", i, r.Case)
		}
		wantIngress := []string{"KIX", "LAX"}[i/8]
		// The dedicated IP that applies: the policy's (NRT), or with no match
		// the one nearest the ingress colo (KIX -> NRT, LAX -> LAX).
		x := nrt
		if r.Scenario == "no match" && wantIngress == "LAX" {
			x = lax
		}
		if wantScenario := []string{"no match", "policy"}[(i/4)%2]; r.Scenario != wantScenario {
			t.Errorf("row %d scenario %q, want %q", i, r.Scenario, wantScenario)
		}
		wantColo := wantIngress
		if c.dedicatedColo {
			wantColo = x.colo
		}
		wantSrc := x.ip
		if c.v6 {
			wantSrc = x.v6
		}
		if r.IngressColo != wantIngress || r.EgressColo != wantColo || r.SourceIP != wantSrc || r.GeoCountry != x.geo {
			t.Errorf("row %+v: want ingress %s colo %s src %s geo %s", r, wantIngress, wantColo, wantSrc, x.geo)
		}
	}
}

func TestMatrixOutagesAndNotes(t *testing.T) {
	ps := []Policy{partners(), dedicated("ZeroFallback", nil, ipNRT, v6NRT, fb0), defaultPolicy("Default", nil)}
	rows, err := Matrix(ps, invNRTLAX(), []string{"KIX"}, ColoSet{"NRT": true})
	if err != nil {
		t.Fatal(err)
	}
	// no match + 2 dedicated policies (the default policy has no row).
	if len(rows) != 12 {
		t.Fatalf("%d rows, want 12", len(rows))
	}
	byKey := map[string]MatrixRow{}
	for _, r := range rows {
		byKey[r.Scenario+"/"+r.PolicyName+"/"+r.Case] = r
	}
	check := func(key, colo, src, geo string, outcome Outcome, note string) {
		t.Helper()
		r, ok := byKey[key]
		if !ok {
			t.Fatalf("no row %s", key)
		}
		if r.EgressColo != colo || r.SourceIP != src || r.GeoCountry != geo || r.Outcome != outcome || !strings.Contains(r.Note, note) {
			t.Errorf("%s = %+v, want colo %s src %s geo %s outcome %s note ~%q", key, r, colo, src, geo, outcome, note)
		}
	}
	check("no match//IPv4 grey", "LAX", "203.0.113.20", "US", OutcomeNoMatch, "nearest NRT is down")
	check("no match//IPv4 orange", "KIX", "203.0.113.10", "JP", OutcomeNoMatch, "")
	check("policy/Partners/IPv4 grey", "LAX", "203.0.113.20", "US", OutcomePolicy, "NRT is down: ipv4_fallback 203.0.113.20")
	check("policy/Partners/IPv6 grey", "KIX", "2001:db8:10::/64", "JP", OutcomePolicy, "")
	check("policy/ZeroFallback/IPv4 grey", "KIX", "", "JP", OutcomePolicy, "0.0.0.0")

	if _, err := Matrix(ps, invNRTLAX(), []string{"NTR"}, nil); err == nil || !strings.Contains(err.Error(), "did you mean") {
		t.Errorf("unknown ingress: %v", err)
	}
	if _, err := Matrix(ps, invNRTLAX(), []string{"KIX"}, ColoSet{"KIX": true}); err == nil {
		t.Errorf("down ingress accepted")
	}
}

func TestMatrixEquidistantNote(t *testing.T) {
	inv := []DedicatedIP{{IPv4: ipNRT, IPv6Range: v6NRT, Colo: "NRT"}, {IPv4: ipNRT2, IPv6Range: v6NRT2, Colo: "NRT"}}
	rows, err := Matrix(nil, inv, []string{"KIX"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rows[0].Note, "each user keeps one of 203.0.113.10, 203.0.113.11 (load shared by a hash of the user's identity)") {
		t.Errorf("note = %q", rows[0].Note)
	}
}

// FormatMatrix output for the demo; `go test -run TestFormatMatrixGolden -update` rewrites it.
func TestFormatMatrixGolden(t *testing.T) {
	inv := append(invNRTLAX(), DedicatedIP{IPv4: ipFRA, IPv6Range: v6FRA, Colo: "FRA"})
	ps := []Policy{partners(), dedicated("EU vendors", nil, ipFRA, v6FRA, fb0)}
	rows, err := Matrix(ps, inv, []string{"KIX", "LAX"}, ColoSet{"FRA": true})
	if err != nil {
		t.Fatal(err)
	}
	got := FormatMatrix(rows)
	js, err := json.MarshalIndent(rows[:1], "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got += "\nFirst row as JSON:\n" + string(js) + "\n"
	const path = "testdata/matrix_demo.golden"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("FormatMatrix differs from %s (run with -update if intended):\n%s", path, got)
	}
}
