package reconcile

import (
	"net/netip"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// exprEquivalent reports whether two expressions mean the same (by the
// canonical printer, so Cloudflare's reformatting is never a change).
var exprEquivalent = expr.Equivalent

// sameContent reports whether the existing rule r already is what d asks
// for (precedence aside): compared by meaning, "" equals unset.
func sameContent(r cfapi.Rule, d Desired) bool {
	return cfapi.IsEgress(r) &&
		r.Action == "egress" &&
		r.Name == d.Name &&
		r.Description == d.Description &&
		r.Enabled == d.Enabled &&
		exprEquivalent(r.Traffic, d.Traffic) &&
		exprEquivalent(r.Identity, d.Identity) &&
		exprEquivalent(r.DevicePosture, d.DevicePosture) &&
		sameEgress(r.Egress, d.Egress)
}

func sameEgress(a, b *cfapi.EgressSettings) bool {
	var x, y cfapi.EgressSettings
	if a != nil {
		x = *a
	}
	if b != nil {
		y = *b
	}
	return sameAddr(x.IPv4, y.IPv4) && samePrefix(x.IPv6, y.IPv6) && sameAddr(x.IPv4Fallback, y.IPv4Fallback)
}

// sameAddr compares two IP addresses by meaning; text that is not an
// address compares as trimmed text.
func sameAddr(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return true
	}
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	if errX != nil || errY != nil {
		return false
	}
	return x.Unmap() == y.Unmap()
}

// samePrefix compares two CIDRs by meaning (2001:DB8::/64 = 2001:db8::/64);
// a bare address is its own single-address prefix.
func samePrefix(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return true
	}
	x, okX := parsePrefix(a)
	y, okY := parsePrefix(b)
	return okX && okY && x == y
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// normEgress returns nil for an unset or all-empty egress (default egress).
func normEgress(e *cfapi.EgressSettings) *cfapi.EgressSettings {
	if e == nil || (e.IPv4 == "" && e.IPv6 == "" && e.IPv4Fallback == "") {
		return nil
	}
	c := *e
	return &c
}
