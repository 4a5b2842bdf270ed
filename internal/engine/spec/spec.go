// Package spec turns egress policies and dedicated egress IPs written as text
// (the way Terraform configuration, plan and state JSON, and the API carry
// them) into engine values, with errors that name the offending attribute.
// The provider, the cfegress CLI and the emulator share it, so one policy
// means the same thing wherever it is read.
//
// It imports only the standard library and the engine packages.
package spec

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// Policy is one egress policy as text. Empty strings are unset values.
type Policy struct {
	ID            string
	Name          string
	Description   string
	Enabled       bool
	Traffic       string
	Identity      string
	DevicePosture string
	// Method is "default" or "dedicated"; "" means dedicated when any IP is
	// set, default otherwise.
	Method       string
	IPv4         string
	IPv6         string
	IPv4Fallback string
	// IPv6Fallback is set when the input asks for a secondary IPv6 (there
	// is none): an error.
	IPv6Fallback string
}

// DedicatedIP is one dedicated egress location as text.
type DedicatedIP struct {
	IPv4      string
	IPv6Range string
	Colo      string
	BYOIP     bool
}

// Error is a value that cannot be converted. Attr names it relative to the
// policy or dedicated IP ("egress.ipv4", "traffic", "colo"); Index is the
// element's position when a list was converted (-1 otherwise).
type Error struct {
	Index int
	Attr  string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Index >= 0 {
		fmt.Fprintf(&b, "[%d]", e.Index)
	}
	if e.Attr != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.Attr)
	}
	if b.Len() == 0 {
		return e.Msg
	}
	return b.String() + ": " + e.Msg
}

func errf(attr, format string, args ...any) *Error {
	return &Error{Index: -1, Attr: attr, Msg: fmt.Sprintf(format, args...)}
}

// EffectiveMethod is the policy's method with the "" default resolved.
func (p Policy) EffectiveMethod() engine.Method {
	if p.Method != "" {
		return engine.Method(p.Method)
	}
	if p.IPv4 != "" || p.IPv6 != "" || p.IPv4Fallback != "" {
		return engine.MethodDedicated
	}
	return engine.MethodDefault
}

// Engine converts the policy for the engine: the method is checked, the IPs
// parsed and the expressions compiled. A returned error is an *Error.
func (p Policy) Engine() (engine.Policy, error) {
	ep := engine.Policy{
		ID: p.ID, Name: p.Name, Description: p.Description, Enabled: p.Enabled,
		Traffic: p.Traffic, Identity: p.Identity, DevicePosture: p.DevicePosture,
	}
	ep.Egress.Method = p.EffectiveMethod()
	switch ep.Egress.Method {
	case engine.MethodDefault, engine.MethodDedicated:
	default:
		return ep, errf("egress.method", "must be \"default\" or \"dedicated\", got %q", p.Method)
	}
	if p.IPv6Fallback != "" {
		return ep, errf("egress.ipv6_fallback", "there is no secondary IPv6: IPv6 leaves from any colo; remove ipv6_fallback")
	}
	if ep.Egress.Method == engine.MethodDedicated {
		ipv4, ipv6, fallback := strings.TrimSpace(p.IPv4), strings.TrimSpace(p.IPv6), strings.TrimSpace(p.IPv4Fallback)
		if ipv4 == "" {
			return ep, errf("egress.ipv4", "a dedicated policy needs ipv4 (one of the account's dedicated egress IPv4 addresses)")
		}
		a, err := netip.ParseAddr(ipv4)
		if err != nil || !a.Is4() {
			return ep, errf("egress.ipv4", "%q is not an IPv4 address", p.IPv4)
		}
		ep.Egress.IPv4 = a
		if ipv6 != "" {
			r, err := netip.ParsePrefix(ipv6)
			if err != nil || !r.Addr().Is6() {
				return ep, errf("egress.ipv6", "%q is not an IPv6 range in CIDR notation (e.g. 2a09:bac0:1000:1::/64)", p.IPv6)
			}
			ep.Egress.IPv6 = r.Masked()
		}
		if fallback != "" {
			a, err := netip.ParseAddr(fallback)
			if err != nil || !a.Is4() {
				return ep, errf("egress.ipv4_fallback", "%q is not an IPv4 address (use \"0.0.0.0\" to fall back to default egress)", p.IPv4Fallback)
			}
			ep.Egress.IPv4Fallback = a
		}
	}
	m, err := expr.CompilePolicy(p.Traffic, p.Identity, p.DevicePosture)
	if err != nil {
		msg := err.Error()
		for _, k := range []string{"traffic", "identity", "device_posture"} {
			if rest, ok := strings.CutPrefix(msg, k+": "); ok {
				return ep, errf(k, "%s", rest)
			}
		}
		return ep, errf("", "%s", msg)
	}
	ep.Match = m
	return ep, nil
}

// Engine converts the dedicated IP for the engine. A returned error is an
// *Error.
func (d DedicatedIP) Engine() (engine.DedicatedIP, error) {
	var ip engine.DedicatedIP
	v4 := strings.TrimSpace(d.IPv4)
	if v4 == "" {
		return ip, errf("ipv4", "an IPv4 address is required")
	}
	a, err := netip.ParseAddr(v4)
	if err != nil || !a.Is4() {
		return ip, errf("ipv4", "%q is not an IPv4 address", d.IPv4)
	}
	ip.IPv4 = a
	if r := strings.TrimSpace(d.IPv6Range); r != "" {
		pfx, err := netip.ParsePrefix(r)
		if err != nil || !pfx.Addr().Is6() {
			return ip, errf("ipv6_range", "must be an IPv6 range in CIDR notation, got %q", d.IPv6Range)
		}
		ip.IPv6Range = pfx
	}
	colo := strings.ToUpper(strings.TrimSpace(d.Colo))
	if colo == "" {
		return ip, errf("colo", "the colo (IATA code, e.g. \"NRT\") is required")
	}
	if _, err := engine.LookupColo(colo); err != nil {
		return ip, errf("colo", "%s", err)
	}
	ip.Colo = colo
	ip.BYOIP = d.BYOIP
	return ip, nil
}

// Policies converts a list of policies; an error names the element's index.
func Policies(ps []Policy) ([]engine.Policy, error) {
	out := make([]engine.Policy, len(ps))
	for i, p := range ps {
		ep, err := p.Engine()
		if err != nil {
			return nil, atIndex(err, i)
		}
		out[i] = ep
	}
	return out, nil
}

// DedicatedIPs converts a list of dedicated IPs; an error names the
// element's index.
func DedicatedIPs(ds []DedicatedIP) ([]engine.DedicatedIP, error) {
	out := make([]engine.DedicatedIP, len(ds))
	for i, d := range ds {
		ip, err := d.Engine()
		if err != nil {
			return nil, atIndex(err, i)
		}
		out[i] = ip
	}
	return out, nil
}

func atIndex(err error, i int) error {
	if e, ok := err.(*Error); ok {
		c := *e
		c.Index = i
		return &c
	}
	return err
}
