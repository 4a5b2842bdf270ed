package spec

// The Decision object: what provider::cfegress::decide returns, each
// element of cfegress_egress_decision's `decisions`, and the before and
// after of the change impact (provider::cfegress::impact, `cfegress impact
// --format json`).

import (
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

var candidateFields = []Field[engine.Candidate]{
	{Attr: Attr{Name: "ipv4", Kind: KindString, Desc: "The dedicated IPv4 address."},
		Get: func(c *engine.Candidate) any { return c.IPv4.String() }},
	{Attr: Attr{Name: "ipv6_range", Kind: KindString, Desc: "Its IPv6 range."},
		Get: func(c *engine.Candidate) any {
			if !c.IPv6Range.IsValid() {
				return nil
			}
			return c.IPv6Range.String()
		}},
	{Attr: Attr{Name: "colo", Kind: KindString, Desc: "Its colo."},
		Get: func(c *engine.Candidate) any { return c.Colo }},
	{Attr: Attr{Name: "distance_km", Kind: KindFloat, Desc: "Great-circle distance from the ingress colo, km."},
		Get: func(c *engine.Candidate) any { return float64(int64(c.DistanceKm*10+0.5)) / 10 }},
	{Attr: Attr{Name: "down", Kind: KindBool, Desc: "Whether its colo is down."},
		Get: func(c *engine.Candidate) any { return c.Down }},
}

var decisionFields = []Field[engine.Decision]{
	{Attr: Attr{Name: "outcome", Kind: KindString, Desc: "`policy` (a policy matched), `no_match` (no policy matched: the dedicated IP nearest the ingress colo is used), `unavailable` (the flow fails: the dedicated IP's colo and its fallback are down), `indeterminate` (a policy before the first certain match needs a flow field that is not given: see `missing`) or `not_applicable` (ICMP, DNS, private network: egress policies do not apply)."},
		Get: func(d *engine.Decision) any { return string(d.Outcome) }},
	{Attr: Attr{Name: "policy", Kind: KindString, Desc: "Name of the policy that decided; null when none did."},
		Get: func(d *engine.Decision) any {
			if d.PolicyIndex < 0 {
				return nil
			}
			return d.PolicyName
		}},
	{Attr: Attr{Name: "policy_index", Kind: KindInt, Desc: "Index of that policy in `policies`, counting disabled ones, from 0; null when none decided."},
		Get: func(d *engine.Decision) any {
			if d.PolicyIndex < 0 {
				return nil
			}
			return int64(d.PolicyIndex)
		}},
	{Attr: Attr{Name: "method", Kind: KindString, Desc: "`default` (shared pool) or `dedicated`."},
		Get: func(d *engine.Decision) any { return strValue(string(d.Method)) }},
	{Attr: Attr{Name: "egress_ip", Kind: KindString, Desc: "The source IP the destination sees: the dedicated IPv4 for IPv4 flows, the IPv6 range for IPv6 flows; null for the shared pool (default egress) and when there is no egress."},
		Get: func(d *engine.Decision) any { return strValue(d.EgressSource()) }},
	{Attr: Attr{Name: "egress_colo", Kind: KindString, Desc: "IATA code of the colo the traffic physically leaves from."},
		Get: func(d *engine.Decision) any { return strValue(d.EgressColo) }},
	{Attr: Attr{Name: "geo_country", Kind: KindString, Desc: "The country the destination geolocates the traffic to; null when it has none (see `no_geolocation`) or there is no egress."},
		Get: func(d *engine.Decision) any { return strValue(d.GeoCountry) }},
	{Attr: Attr{Name: "no_geolocation", Kind: KindBool, Desc: "True when the source IP is a BYOIP dedicated egress IP (`byoip = true` in the inventory): \"BYOIP dedicated egress IPs do not support IP geolocation\" (Cloudflare), so destinations see no country."},
		Get: func(d *engine.Decision) any { return d.NoGeolocation }},
	{Attr: Attr{Name: "missing", Kind: KindString, Desc: "For `indeterminate`: the flow field a policy needs (e.g. `identity.email`)."},
		Get: func(d *engine.Decision) any { return strValue(d.Missing) }},
	{Attr: Attr{Name: "candidates", Kind: KindObjectList, Elem: Attrs(candidateFields), Desc: "The dedicated egress IPs the engine chose between (no match: sorted by distance from the ingress colo)."},
		Get: func(d *engine.Decision) any {
			out := make([]Object, len(d.Candidates))
			for i := range d.Candidates {
				out[i] = Encode(candidateFields, &d.Candidates[i])
			}
			return out
		}},
	{Attr: Attr{Name: "trace", Kind: KindStringList, Desc: "Human-readable steps of the decision."},
		Get: func(d *engine.Decision) any { return append([]string{}, d.Trace...) }},
}

var decisionAttrs = Attrs(decisionFields)

// DecisionAttrs returns the attributes of the Decision object, in order.
func DecisionAttrs() []Attr { return append([]Attr(nil), decisionAttrs...) }

// DecisionObject encodes a decision as a Decision object.
func DecisionObject(d engine.Decision) Object { return Encode(decisionFields, &d) }
