package engine

import (
	"math"
	"sort"
	"strings"
	"testing"
)

func TestCatalogEmbeddedParses(t *testing.T) {
	c, err := parseCatalog(coloCSV)
	if err != nil {
		t.Fatalf("embedded colos.csv: %v", err)
	}
	if !strings.Contains(string(coloCSV[:200]), "#") {
		t.Errorf("colos.csv must start with '#' header comments naming its public source")
	}
	for _, code := range []string{"NRT", "KIX", "LAX", "SJC", "ORD", "IAD", "FRA", "AMS", "LHR", "CDG", "SIN", "HKG", "SYD", "GRU", "JNB", "QRO", "MEX", "GDL"} {
		if _, ok := c.byCode[code]; !ok {
			t.Errorf("catalog lacks %s", code)
		}
	}
	all := Catalog()
	if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].Code < all[j].Code }) {
		t.Errorf("Catalog() is not sorted by code")
	}
	for _, co := range all {
		if len(co.Code) != 3 || len(co.Country) != 2 || len(co.Continent) != 2 {
			t.Errorf("malformed colo %+v", co)
		}
	}
	for _, mx := range []string{"QRO", "MEX", "GDL"} {
		if co, _ := LookupColo(mx); co.Country != "MX" {
			t.Errorf("%s country = %q, want MX", mx, co.Country)
		}
	}
}

func TestParseCatalogErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"missing column": {"code,city,country,continent,latitude\nNRT,Tokyo,JP,AS,35\n", `lacks column "longitude"`},
		"bad latitude":   {"code,city,country,continent,latitude,longitude\nNRT,Tokyo,JP,AS,north,140\n", "bad latitude"},
		"out of range":   {"code,city,country,continent,latitude,longitude\nNRT,Tokyo,JP,AS,95,140\n", "bad latitude"},
		"bad country":    {"code,city,country,continent,latitude,longitude\nNRT,Tokyo,JPN,AS,35,140\n", "not an ISO 3166-1"},
		"duplicate":      {"code,city,country,continent,latitude,longitude\nNRT,Tokyo,JP,AS,35,140\nnrt,Tokyo,JP,AS,35,140\n", "duplicate colo NRT"},
		"empty":          {"# only comments\n", "no header row"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseCatalog([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Columns are read by header name, in any order, with comments anywhere.
	c, err := parseCatalog([]byte("# src: test\nlatitude,longitude,code,country,city,continent\n# x\n35.7647,140.3864,nrt,jp,Tokyo,as\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.colos[0]; got.Code != "NRT" || got.Country != "JP" || got.Continent != "AS" || got.Latitude != 35.7647 {
		t.Errorf("parsed %+v", got)
	}
}

func TestLookupColo(t *testing.T) {
	for _, in := range []string{"NRT", "nrt", " Nrt "} {
		co, err := LookupColo(in)
		if err != nil || co.Code != "NRT" || co.Country != "JP" {
			t.Errorf("LookupColo(%q) = %+v, %v", in, co, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"NTR", `unknown colo "NTR": did you mean NRT`}, // transposition first
		{"RNT", `unknown colo "RNT": did you mean NRT`},
		{"LXA", "LAX"},
		{"FRB", "FRA"},
		{"ZZZZZZ", "not a Cloudflare data center"},
	} {
		_, err := LookupColo(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LookupColo(%q) err = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestNewColoSet(t *testing.T) {
	s, err := NewColoSet("nrt", "LAX")
	if err != nil || !s["NRT"] || !s["LAX"] || len(s) != 2 {
		t.Errorf("NewColoSet = %v, %v", s, err)
	}
	if _, err := NewColoSet("NRT", "NTR"); err == nil || !strings.Contains(err.Error(), `unknown colo "NTR"`) {
		t.Errorf("err = %v", err)
	}
}

func TestGreatCircleKm(t *testing.T) {
	q := Colo{Latitude: 0, Longitude: 0}
	for _, tc := range []struct {
		b    Colo
		want float64
	}{
		{Colo{Latitude: 0, Longitude: 90}, math.Pi / 2 * EarthRadiusKm},
		{Colo{Latitude: 90, Longitude: 0}, math.Pi / 2 * EarthRadiusKm},
		{Colo{Latitude: 0, Longitude: 180}, math.Pi * EarthRadiusKm},
		{q, 0},
	} {
		if got := GreatCircleKm(q, tc.b); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("GreatCircleKm(0/0, %v/%v) = %v, want %v", tc.b.Latitude, tc.b.Longitude, got, tc.want)
		}
	}
	nrt, _ := LookupColo("NRT")
	kix, _ := LookupColo("KIX")
	lax, _ := LookupColo("LAX")
	// Published airport-to-airport great-circle distances: NRT-KIX ~ 490 km,
	// NRT-LAX ~ 8,750 km. Coordinates may be refined; stay within 3%.
	for _, tc := range []struct {
		a, b Colo
		want float64
	}{{nrt, kix, 490}, {nrt, lax, 8750}} {
		got := GreatCircleKm(tc.a, tc.b)
		if math.Abs(got-tc.want)/tc.want > 0.03 {
			t.Errorf("%s-%s = %.0f km, want ~%.0f", tc.a.Code, tc.b.Code, got, tc.want)
		}
		if back := GreatCircleKm(tc.b, tc.a); back != got {
			t.Errorf("distance not symmetric: %v vs %v", got, back)
		}
	}
}

func TestNearestColoInCountry(t *testing.T) {
	lax, _ := LookupColo("LAX")
	got, ok := NearestColoInCountry(lax, "mx")
	if !ok || got.Country != "MX" {
		t.Fatalf("NearestColoInCountry(LAX, MX) = %+v, %v", got, ok)
	}
	for _, co := range Catalog() { // brute force: nothing in MX is nearer
		if co.Country == "MX" && GreatCircleKm(lax, co) < GreatCircleKm(lax, got) {
			t.Errorf("%s is nearer to LAX than %s", co.Code, got.Code)
		}
	}
	nrt, _ := LookupColo("NRT")
	if got, ok := NearestColoInCountry(nrt, "JP"); !ok || got.Code != "NRT" {
		t.Errorf("NearestColoInCountry(NRT, JP) = %+v, %v, want NRT itself", got, ok)
	}
	if _, ok := NearestColoInCountry(nrt, "XX"); ok {
		t.Errorf("NearestColoInCountry(NRT, XX) found a colo")
	}
	// A colo value that is not a catalog entry is measured directly.
	near := Colo{Code: "TST", Latitude: 35.0, Longitude: 139.0}
	if got, ok := NearestColoInCountry(near, "JP"); !ok || got.Country != "JP" {
		t.Errorf("NearestColoInCountry(custom, JP) = %+v, %v", got, ok)
	}
}
