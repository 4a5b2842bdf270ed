package engine

import (
	"fmt"
	"net/netip"
	"strings"
)

// MatrixRow is one cell group of the egress matrix (SPEC §5
// cfegress_egress_matrix, the seed's table): for one ingress colo and one
// scenario (no policy matched, or one enabled dedicated policy matched), and
// one of the four cases IPv4 grey / IPv4 orange / IPv6 grey / IPv6 orange,
// where the traffic physically leaves, with which source IP and which
// geolocation.
type MatrixRow struct {
	IngressColo string `json:"ingress_colo"`
	// Scenario is "no match" or "policy" (then PolicyIndex/PolicyName say which).
	Scenario    string `json:"scenario"`
	PolicyIndex int    `json:"policy_index"` // -1 for no match
	PolicyName  string `json:"policy_name"`
	// Case is "IPv4 grey", "IPv4 orange", "IPv6 grey" or "IPv6 orange"
	// (orange: destination proxied by Cloudflare).
	Case        string  `json:"case"`
	Destination string  `json:"destination"` // "IPv4" or "IPv6"
	Proxied     bool    `json:"proxied"`
	Outcome     Outcome `json:"outcome"`
	Method      Method  `json:"method"`
	// EgressColo is the physical egress colo ("" when unavailable).
	EgressColo string `json:"egress_colo"`
	// SourceIP is the dedicated IPv4, the IPv6 /64 range, or "" for the
	// shared pool (default egress) and unavailable flows.
	SourceIP   string `json:"source_ip"`
	GeoCountry string `json:"geo_country"`
	// NoGeolocation: the source IP is a BYOIP dedicated IP, which has no IP
	// geolocation (GeoCountry is "").
	NoGeolocation bool `json:"no_geolocation"`
	// Note explains anything a newcomer would not guess (fallbacks, load
	// sharing between equidistant IPs, shared pool).
	Note string `json:"note"`
}

// Matrix is the egress matrix of policies and inv for the given ingress
// colos with the colos in down being down. Policies need no Match (the
// matrix assumes each dedicated policy matched). The representative user is
// local to the ingress colo (source country = the colo's country); for no
// match with several equidistant dedicated IPs the row shows the pick of a
// representative user (source IP 198.51.100.10) and Note names the others.
func Matrix(policies []Policy, inv []DedicatedIP, ingress []string, down ColoSet) ([]MatrixRow, error) {
	e, err := compile(policies, inv, false, "")
	if err != nil {
		return nil, err
	}
	return e.Matrix(ingress, down)
}

var matrixCases = []struct {
	name    string
	v6      bool
	proxied bool
}{
	{"IPv4 grey", false, false},
	{"IPv4 orange", false, true},
	{"IPv6 grey", true, false},
	{"IPv6 orange", true, true},
}

// Matrix is the egress matrix of e (see the package function Matrix).
func (e *Engine) Matrix(ingress []string, down ColoSet) ([]MatrixRow, error) {
	var rows []MatrixRow
	for _, code := range ingress {
		ing, ok := e.cat.index(code)
		if !ok {
			return nil, fmt.Errorf("ingress colo: %w", unknownColoError(code))
		}
		ingColo := e.cat.colos[ing]
		if down[ingColo.Code] {
			return nil, fmt.Errorf("ingress colo %s is in the set of colos that are down: leave it out of the matrix or of the down set", ingColo.Code)
		}
		scenarios := []int{-1}
		for i := range e.policies {
			if e.policies[i].Enabled && e.policies[i].Egress.Method == MethodDedicated {
				scenarios = append(scenarios, i)
			}
		}
		for _, p := range scenarios {
			for _, c := range matrixCases {
				f := &Flow{
					SourceIP:        netip.MustParseAddr("198.51.100.10"),
					SourcePort:      50000,
					SourceCountry:   ingColo.Country,
					IngressColo:     ingColo.Code,
					DestinationIP:   netip.MustParseAddr("192.0.2.80"),
					DestinationPort: 443,
					Proxied:         c.proxied,
					Protocol:        "tcp",
				}
				if c.v6 {
					f.DestinationIP = netip.MustParseAddr("2001:db8:ffff::80")
				}
				var d Decision
				d.PolicyIndex = -1
				row := MatrixRow{IngressColo: ingColo.Code, Case: c.name, Destination: "IPv4", Proxied: c.proxied, PolicyIndex: -1}
				if c.v6 {
					row.Destination = "IPv6"
				}
				if p < 0 {
					row.Scenario = "no match"
					e.noMatch(f, ing, down, &d, false)
				} else {
					row.Scenario, row.PolicyIndex, row.PolicyName = "policy", p, e.policies[p].Name
					e.applyPolicy(p, f, ing, down, &d, false)
				}
				row.Outcome, row.Method, row.EgressColo, row.GeoCountry, row.NoGeolocation = d.Outcome, d.Method, d.EgressColo, d.GeoCountry, d.NoGeolocation
				row.SourceIP = d.EgressSource()
				row.Note = matrixNote(e, p, c.v6, c.proxied, &d, down)
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

func matrixNote(e *Engine, p int, v6, proxied bool, d *Decision, down ColoSet) string {
	var notes []string
	if p >= 0 {
		cp := &e.pol[p]
		prim := &e.inv[cp.v4]
		if !v6 && !proxied && down[prim.Colo] {
			switch cp.fbKind {
			case fallbackDefault:
				notes = append(notes, fmt.Sprintf("%s is down: ipv4_fallback 0.0.0.0 (default egress)", prim.Colo))
			case fallbackIP:
				notes = append(notes, fmt.Sprintf("%s is down: ipv4_fallback %s", prim.Colo, e.inv[cp.fb].IPv4))
			default:
				notes = append(notes, fmt.Sprintf("%s is down and there is no ipv4_fallback", prim.Colo))
			}
		}
		if v6 && cp.v6Note != "" {
			notes = append(notes, cp.v6Note)
		}
	}
	if p < 0 && len(d.Candidates) > 0 && d.Outcome == OutcomeNoMatch {
		grey4 := !v6 && !proxied
		var group []string
		nearest := -1.0
		for _, c := range d.Candidates {
			if (grey4 && c.Down) || (v6 && !c.IPv6Range.IsValid()) {
				continue
			}
			if nearest < 0 {
				nearest = c.DistanceKm
			}
			if c.DistanceKm <= nearest+1.0 {
				group = append(group, c.IPv4.String())
			}
		}
		if len(group) > 1 {
			notes = append(notes, "each user keeps one of "+strings.Join(group, ", ")+" (load shared by a hash of the user's identity)")
		}
		if grey4 && d.Candidates[0].Down {
			notes = append(notes, fmt.Sprintf("nearest %s is down: next nearest healthy", d.Candidates[0].Colo))
		}
	}
	switch {
	case d.Outcome == OutcomeUnavailable:
		notes = append(notes, "flow fails: no usable egress")
	case d.Method == MethodDefault:
		notes = append(notes, "shared egress pool; geolocation is the user's country")
	case d.NoGeolocation:
		notes = append(notes, "BYOIP: no IP geolocation")
	}
	return strings.Join(notes, "; ")
}

// FormatMatrix renders rows as a text table for people (make demo).
func FormatMatrix(rows []MatrixRow) string {
	var b strings.Builder
	b.WriteString("Where does traffic leave Cloudflare? One block per ingress colo (the data center\n")
	b.WriteString("the user is connected to) and per scenario: no egress policy matched, or a dedicated\n")
	b.WriteString("egress policy matched. Columns:\n")
	b.WriteString("  case        IPv4/IPv6 destination, grey = not proxied by Cloudflare, orange = proxied\n")
	b.WriteString("  leaves from the physical colo the traffic exits from\n")
	b.WriteString("  source IP   what the destination sees (dedicated IPv4, IPv6 /64 range, or shared pool)\n")
	b.WriteString("  geo         the country the source IP geolocates to (\"no geolocation\" for a BYOIP IP)\n\n")
	header := []string{"case", "leaves from", "source IP", "geo", "outcome", "note"}
	var block [][]string
	flush := func(title string) {
		if len(block) == 0 {
			return
		}
		b.WriteString(title + "\n")
		widths := make([]int, len(header))
		for _, r := range append([][]string{header}, block...) {
			for i, c := range r {
				widths[i] = max(widths[i], len([]rune(c)))
			}
		}
		line := func(r []string) {
			var l strings.Builder
			l.WriteString("  ")
			for i, c := range r {
				l.WriteString(c)
				if i < len(r)-1 {
					l.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+2))
				}
			}
			b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
		}
		line(header)
		seps := make([]string, len(header))
		for i := range seps {
			seps[i] = strings.Repeat("-", widths[i])
		}
		line(seps)
		for _, r := range block {
			line(r)
		}
		b.WriteString("\n")
		block = nil
	}
	title := ""
	for _, r := range rows {
		t := fmt.Sprintf("Ingress %s, no policy matched", r.IngressColo)
		if r.Scenario != "no match" {
			t = fmt.Sprintf("Ingress %s, policy %d %q matched", r.IngressColo, r.PolicyIndex, r.PolicyName)
		}
		if t != title {
			flush(title)
			title = t
		}
		src, colo, geo := r.SourceIP, r.EgressColo, r.GeoCountry
		if src == "" {
			src = "(shared pool)"
			if r.Outcome == OutcomeUnavailable {
				src = "-"
			}
		}
		if colo == "" {
			colo = "-"
		}
		switch {
		case r.NoGeolocation:
			geo = "no geolocation"
		case geo == "":
			geo = "-"
		}
		block = append(block, []string{r.Case, colo, src, geo, string(r.Outcome), r.Note})
	}
	flush(title)
	return b.String()
}
