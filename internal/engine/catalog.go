package engine

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// coloCSV is the colo catalog: '#' header comments (naming the public
// source), a header row `code,city,country,continent,latitude,longitude`,
// then one row per colo. The loader reads columns by header name, so the
// file may be regenerated from a fuller source without code changes.
//
//go:embed colos.csv
var coloCSV []byte

// EarthRadiusKm is the mean Earth radius (IUGG) used for great-circle distances.
const EarthRadiusKm = 6371.0088

// catalog is the parsed colo catalog with precomputed lookups.
type catalog struct {
	colos     []Colo         // sorted by code
	byCode    map[string]int // upper-case code -> index in colos
	dist      []float64      // len(colos)^2 great-circle distances, row-major
	byCountry map[string][]int
}

var (
	catOnce sync.Once
	cat     *catalog
)

// theCatalog returns the embedded catalog. A malformed embedded file is a
// build defect, so it panics with the parse error (a unit test guards it).
func theCatalog() *catalog {
	catOnce.Do(func() {
		c, err := parseCatalog(coloCSV)
		if err != nil {
			panic("engine: embedded colos.csv: " + err.Error())
		}
		cat = c
	})
	return cat
}

func parseCatalog(data []byte) (*catalog, error) {
	r := csv.NewReader(strings.NewReader(string(data)))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("no header row")
	}
	want := []string{"code", "city", "country", "continent", "latitude", "longitude"}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, w := range want {
		if _, ok := col[w]; !ok {
			return nil, fmt.Errorf("header row lacks column %q (want %s)", w, strings.Join(want, ","))
		}
	}
	c := &catalog{byCode: map[string]int{}, byCountry: map[string][]int{}}
	for n, rec := range recs[1:] {
		line := n + 2 // 1-based, after the header (comments not counted)
		get := func(name string) string {
			i := col[name]
			if i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		code := strings.ToUpper(get("code"))
		if code == "" {
			return nil, fmt.Errorf("record %d: empty code", line)
		}
		lat, err := strconv.ParseFloat(get("latitude"), 64)
		if err != nil || lat < -90 || lat > 90 {
			return nil, fmt.Errorf("record %d (%s): bad latitude %q", line, code, get("latitude"))
		}
		lon, err := strconv.ParseFloat(get("longitude"), 64)
		if err != nil || lon < -180 || lon > 180 {
			return nil, fmt.Errorf("record %d (%s): bad longitude %q", line, code, get("longitude"))
		}
		country := strings.ToUpper(get("country"))
		if len(country) != 2 {
			return nil, fmt.Errorf("record %d (%s): country %q is not an ISO 3166-1 alpha-2 code", line, code, country)
		}
		c.colos = append(c.colos, Colo{
			Code:      code,
			City:      get("city"),
			Country:   country,
			Continent: strings.ToUpper(get("continent")),
			Latitude:  lat,
			Longitude: lon,
		})
	}
	if len(c.colos) == 0 {
		return nil, fmt.Errorf("no colos")
	}
	sort.Slice(c.colos, func(i, j int) bool { return c.colos[i].Code < c.colos[j].Code })
	for i, co := range c.colos {
		if _, dup := c.byCode[co.Code]; dup {
			return nil, fmt.Errorf("duplicate colo %s", co.Code)
		}
		c.byCode[co.Code] = i
		c.byCountry[co.Country] = append(c.byCountry[co.Country], i)
	}
	n := len(c.colos)
	c.dist = make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			d := GreatCircleKm(c.colos[i], c.colos[j])
			c.dist[i*n+j] = d
			c.dist[j*n+i] = d
		}
	}
	return c, nil
}

// index returns the catalog index of code (exact upper case first, then
// case-insensitive).
func (c *catalog) index(code string) (int, bool) {
	if i, ok := c.byCode[code]; ok {
		return i, true
	}
	i, ok := c.byCode[strings.ToUpper(strings.TrimSpace(code))]
	return i, ok
}

func (c *catalog) distance(i, j int) float64 { return c.dist[i*len(c.colos)+j] }

// nearestInCountry returns the colo of country nearest to colo from (from
// itself if it is in that country), skipping colos in down.
func (c *catalog) nearestInCountry(from int, country string, down ColoSet) (int, bool) {
	best, bestD := -1, math.Inf(1)
	for _, i := range c.byCountry[country] {
		if len(down) > 0 && down[c.colos[i].Code] {
			continue
		}
		if d := c.distance(from, i); d < bestD || (d == bestD && c.colos[i].Code < c.colos[best].Code) {
			best, bestD = i, d
		}
	}
	return best, best >= 0
}

// LookupColo returns the colo with IATA code code (case-insensitive). An
// unknown code is an error that suggests the closest known codes.
func LookupColo(code string) (Colo, error) {
	c := theCatalog()
	if i, ok := c.index(code); ok {
		return c.colos[i], nil
	}
	return Colo{}, unknownColoError(code)
}

func unknownColoError(code string) error {
	c := theCatalog()
	q := strings.ToUpper(strings.TrimSpace(code))
	type sug struct {
		code string
		d    int
	}
	var s []sug
	for _, co := range c.colos {
		if d := EditDistance(q, co.Code); d <= 2 {
			s = append(s, sug{co.Code, d})
		}
	}
	anagram := func(c string) bool { return sortedLetters(c) == sortedLetters(q) }
	sort.Slice(s, func(i, j int) bool {
		if s[i].d != s[j].d {
			return s[i].d < s[j].d
		}
		if ai, aj := anagram(s[i].code), anagram(s[j].code); ai != aj {
			return ai // same letters, other order (a typo of order) first
		}
		return s[i].code < s[j].code
	})
	if len(s) > 0 && s[0].d == 1 {
		// Only the closest tier when something is one edit away.
		k := 0
		for k < len(s) && s[k].d == 1 {
			k++
		}
		s = s[:k]
	}
	if len(s) > 5 {
		s = s[:5]
	}
	if len(s) == 0 {
		return fmt.Errorf("unknown colo %q: not a Cloudflare data center in the catalog (use a 3-letter IATA code such as NRT; the cfegress_colos data source lists them all)", code)
	}
	names := make([]string, len(s))
	for i := range s {
		names[i] = s[i].code
	}
	return fmt.Errorf("unknown colo %q: did you mean %s?", code, strings.Join(names, ", "))
}

func sortedLetters(s string) string {
	r := []rune(s)
	sort.Slice(r, func(i, j int) bool { return r[i] < r[j] })
	return string(r)
}

// NewColoSet builds the set of colos that are down from codes
// (case-insensitive), rejecting unknown codes with suggestions. ColoSet keys
// are upper-case IATA codes; the engine looks them up as such.
func NewColoSet(codes ...string) (ColoSet, error) {
	s := ColoSet{}
	for _, code := range codes {
		co, err := LookupColo(code)
		if err != nil {
			return nil, err
		}
		s[co.Code] = true
	}
	return s, nil
}

// EditDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and adjacent transpositions cost 1 (NTR -> NRT is
// 1). Every "did you mean" suggestion of the project (colo codes, expression
// fields, attribute names) uses it.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	n, m := len(ra), len(rb)
	d := make([][]int, n+1)
	for i := range d {
		d[i] = make([]int, m+1)
		d[i][0] = i
	}
	for j := 0; j <= m; j++ {
		d[0][j] = j
	}
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[n][m]
}

// Catalog returns every colo, sorted by code. The slice is a copy.
func Catalog() []Colo {
	c := theCatalog()
	out := make([]Colo, len(c.colos))
	copy(out, c.colos)
	return out
}

// GreatCircleKm is the haversine great-circle distance between two colos in
// kilometres (Earth radius EarthRadiusKm).
func GreatCircleKm(a, b Colo) float64 {
	const rad = math.Pi / 180
	lat1, lat2 := a.Latitude*rad, b.Latitude*rad
	dlat := lat2 - lat1
	dlon := (b.Longitude - a.Longitude) * rad
	h := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1)*math.Cos(lat2)*math.Sin(dlon/2)*math.Sin(dlon/2)
	if h > 1 {
		h = 1
	}
	return 2 * EarthRadiusKm * math.Asin(math.Sqrt(h))
}

// NearestColoInCountry returns the catalog colo in country (ISO alpha-2,
// case-insensitive) nearest to from; from itself when it is in that country.
// Ties break by code. ok is false when the catalog has no colo there.
func NearestColoInCountry(from Colo, country string) (Colo, bool) {
	c := theCatalog()
	country = strings.ToUpper(strings.TrimSpace(country))
	if i, ok := c.index(from.Code); ok && c.colos[i] == from {
		j, ok := c.nearestInCountry(i, country, nil)
		if !ok {
			return Colo{}, false
		}
		return c.colos[j], true
	}
	// from is not a catalog colo (or differs from it): measure directly.
	best, bestD := -1, math.Inf(1)
	for _, i := range c.byCountry[country] {
		if d := GreatCircleKm(from, c.colos[i]); d < bestD {
			best, bestD = i, d
		}
	}
	if best < 0 {
		return Colo{}, false
	}
	return c.colos[best], true
}
