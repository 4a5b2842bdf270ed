package engine

import (
	"net/netip"
	"strings"
	"testing"
)

// Errors about the inventory name it as the caller's user gave it: a data
// source's or function's dedicated_ips is not cfegress_egress_policies'
// dedicated_egress_ips, and "add it to dedicated_egress_ips" sent users of
// provider::cfegress::decide to an attribute they do not have.
func TestCompileNamedInventoryErrors(t *testing.T) {
	vendor := dedicated("Vendor", &testMatcher{}, netip.MustParseAddr("203.0.113.99"), netip.Prefix{}, netip.Addr{})
	for _, tc := range []struct {
		name     string
		policies []Policy
		inv      []DedicatedIP
		want     string
	}{
		{"dedicated IP not in inventory", []Policy{vendor}, invNRTLAX(), "add it to dedicated_ips or use one of them"},
		{"inventory colo unknown", nil, []DedicatedIP{{IPv4: ipNRT, Colo: "NTR"}}, `dedicated_ips[0] (203.0.113.10): colo:`},
		{"inventory ipv4 not IPv4", nil, []DedicatedIP{{IPv4: netip.MustParseAddr("2001:db8::1"), Colo: "NRT"}}, `dedicated_ips[0]: ipv4`},
		{"inventory duplicate", nil, []DedicatedIP{{IPv4: ipNRT, Colo: "NRT"}, {IPv4: ipNRT, Colo: "KIX"}}, "dedicated_ips[1]: ipv4 203.0.113.10 is listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompileNamed(tc.policies, tc.inv, "dedicated_ips")
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "dedicated_egress_ips") {
				t.Errorf("CompileNamed(dedicated_ips): err = %v, want it to contain %q and not dedicated_egress_ips", err, tc.want)
			}
			_, err = Compile(tc.policies, tc.inv)
			if want := strings.ReplaceAll(tc.want, "dedicated_ips", DefaultInventoryName); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Compile: err = %v, want it to contain %q", err, want)
			}
		})
	}
}
