package impact

import (
	"fmt"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// Summary is the change's impact in one line ("" when nothing moves).
func Summary(res *Result) string {
	n := len(res.Regions) + res.MoreCount
	if n == 0 {
		if len(res.Incomplete) > 0 {
			return "could not compare every flow"
		}
		return ""
	}
	possibly := 0
	for _, r := range res.Regions {
		if r.Possibly {
			possibly++
		}
	}
	s := fmt.Sprintf("%d region%s of traffic decided differently", n, plural(n))
	if possibly > 0 {
		s += fmt.Sprintf(" (%d possibly)", possibly)
	}
	return s
}

// Table renders the regions for people: per region its description, the
// example flow and, before and after, the deciding policy, method, egress
// IP, colo and geolocation.
func Table(res *Result) string {
	var b strings.Builder
	for n, r := range res.Regions {
		fmt.Fprintf(&b, "%d. %s\n", n+1, Text(r.Description))
		if !r.Exact {
			b.WriteString("   (an outer bound: flows that policies ahead take are not spelled out)\n")
		}
		fmt.Fprintf(&b, "   example  %s\n", FlowText(r.Example))
		rows := [][]string{{"", "policy", "method", "egress IP", "colo", "geo"}, decisionRow("before", r.ExampleBefore), decisionRow("after", r.ExampleAfter)}
		writeAligned(&b, "   ", rows)
		if sameEgress(r.ExampleBefore, r.ExampleAfter) {
			b.WriteString("   (the same egress: only the deciding policy changes)\n")
		}
		if r.Possibly || r.Note != "" {
			tag := "note"
			if r.Possibly {
				tag = "possibly"
			}
			fmt.Fprintf(&b, "   %s: %s\n", tag, r.Note)
		}
		b.WriteString("\n")
	}
	if res.MoreCount > 0 {
		fmt.Fprintf(&b, "... and %d more region%s:\n", res.MoreCount, plural(res.MoreCount))
		for _, m := range res.More {
			fmt.Fprintf(&b, "   %s\n", m)
		}
		b.WriteString("\n")
	}
	for _, m := range res.Incomplete {
		fmt.Fprintf(&b, "incomplete: %s\n", m)
	}
	return strings.TrimRight(b.String(), "\n")
}

func decisionRow(side string, d engine.Decision) []string {
	policy := "(no policy)"
	if d.PolicyIndex >= 0 {
		policy = fmt.Sprintf("%q (#%d)", d.PolicyName, d.PolicyIndex)
	}
	ip := "shared pool"
	switch {
	case d.EgressIPv6Range.IsValid():
		ip = d.EgressIPv6Range.String()
	case d.EgressIP.IsValid():
		ip = d.EgressIP.String()
	}
	method := string(d.Method)
	if d.Outcome != engine.OutcomePolicy && d.Outcome != engine.OutcomeNoMatch {
		method = string(d.Outcome)
		ip = "-"
	}
	geo := d.GeoCountry
	if d.NoGeolocation {
		geo = "none (BYOIP)"
	}
	return []string{side, policy, method, ip, orDash(d.EgressColo), orDash(geo)}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeAligned(b *strings.Builder, indent string, rows [][]string) {
	w := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	for _, r := range rows {
		b.WriteString(indent)
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c + strings.Repeat(" ", w[i]-len(c)+2))
		}
		b.WriteString("\n")
	}
}

// FlowText is a flow in one line: protocol, destination, ingress colo and
// the fields that tell it apart.
func FlowText(f engine.Flow) string {
	dst := f.DestinationIP.String()
	if f.DestinationIP.Is6() && !f.DestinationIP.Is4In6() {
		dst = "[" + dst + "]"
	}
	s := fmt.Sprintf("%s %s:%d from %s", f.Protocol, dst, f.DestinationPort, f.IngressColo)
	if f.Proxied {
		s += ", proxied"
	} else if !f.DestinationIP.Is6() || f.DestinationIP.Is4In6() {
		s += ", not proxied"
	}
	var extra []string
	add := func(k, v string) {
		if v != "" {
			extra = append(extra, k+" "+v)
		}
	}
	add("source country", f.SourceCountry)
	add("destination country", f.DstCountry)
	add("host", f.FQDNHost)
	add("email", f.Email)
	if len(f.Groups) > 0 {
		var g []string
		for _, x := range f.Groups {
			g = append(g, x.Name)
		}
		add("groups", strings.Join(g, ","))
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}
