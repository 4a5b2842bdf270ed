package spec

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

func TestPolicyEngine(t *testing.T) {
	p, err := Policy{
		Name: "partner", Enabled: true, Traffic: `net.dst.ip in {203.0.113.0/24}`,
		IPv4: "203.0.113.10", IPv6: "2a09:bac0:1000:10::1/64", IPv4Fallback: "0.0.0.0",
	}.Engine()
	if err != nil {
		t.Fatal(err)
	}
	if p.Egress.Method != engine.MethodDedicated {
		t.Errorf("method %q, want dedicated (IPs set, method unset)", p.Egress.Method)
	}
	if p.Egress.IPv6 != netip.MustParsePrefix("2a09:bac0:1000:10::/64") {
		t.Errorf("ipv6 %s, want the masked range", p.Egress.IPv6)
	}
	if p.Egress.IPv4Fallback != netip.IPv4Unspecified() || p.Match == nil {
		t.Errorf("fallback %s, match %v", p.Egress.IPv4Fallback, p.Match)
	}
	f := engine.Flow{DestinationIP: netip.MustParseAddr("203.0.113.5"), IngressColo: "NRT"}
	if m, _ := p.Match.Match(&f); m != engine.Yes {
		t.Errorf("the compiled traffic expression does not match %v", f.DestinationIP)
	}
}

func TestPolicyEngineErrorsNameTheAttribute(t *testing.T) {
	for _, c := range []struct {
		p    Policy
		attr string
		msg  string
	}{
		{Policy{Method: "dedicated"}, "egress.ipv4", "needs ipv4"},
		{Policy{Method: "dedicated", IPv4: "2001:db8::1"}, "egress.ipv4", "not an IPv4"},
		{Policy{IPv4: "203.0.113.10", IPv6: "203.0.113.0/24"}, "egress.ipv6", "not an IPv6 range"},
		{Policy{IPv4: "203.0.113.10", IPv4Fallback: "nope"}, "egress.ipv4_fallback", "0.0.0.0"},
		{Policy{Method: "shared"}, "egress.method", `got "shared"`},
		{Policy{IPv6Fallback: "2001:db8::/64"}, "egress.ipv6_fallback", "no secondary IPv6"},
		{Policy{Traffic: "net.dst.ip =="}, "traffic", "1:"},
		{Policy{Identity: `identity.mail == "a"`}, "identity", "identity.email"},
	} {
		_, err := c.p.Engine()
		var e *Error
		if !errors.As(err, &e) || e.Attr != c.attr || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%+v: error %v, want attribute %s with %q", c.p, err, c.attr, c.msg)
		}
	}
}

func TestListsNameTheIndex(t *testing.T) {
	_, err := Policies([]Policy{{Name: "a"}, {Name: "b", Traffic: "bogus"}})
	if err == nil || !strings.HasPrefix(err.Error(), "[1].traffic: ") {
		t.Errorf("Policies: %v, want an error at [1].traffic", err)
	}
	_, err = DedicatedIPs([]DedicatedIP{{IPv4: "203.0.113.10", Colo: "NRT"}, {IPv4: "203.0.113.11", Colo: "XXX"}})
	if err == nil || !strings.HasPrefix(err.Error(), "[1].colo: ") {
		t.Errorf("DedicatedIPs: %v, want an error at [1].colo", err)
	}
}

func TestDedicatedIPEngine(t *testing.T) {
	ip, err := DedicatedIP{IPv4: " 203.0.113.10 ", IPv6Range: "2a09:bac0:1000:10::/64", Colo: "nrt", BYOIP: true}.Engine()
	if err != nil {
		t.Fatal(err)
	}
	if ip.Colo != "NRT" || ip.IPv4 != netip.MustParseAddr("203.0.113.10") || !ip.BYOIP {
		t.Errorf("got %+v", ip)
	}
	for _, c := range []struct {
		d    DedicatedIP
		attr string
	}{
		{DedicatedIP{Colo: "NRT"}, "ipv4"},
		{DedicatedIP{IPv4: "203.0.113.10"}, "colo"},
		{DedicatedIP{IPv4: "203.0.113.10", Colo: "NRT", IPv6Range: "2001:db8::"}, "ipv6_range"},
	} {
		var e *Error
		if _, err := c.d.Engine(); !errors.As(err, &e) || e.Attr != c.attr {
			t.Errorf("%+v: %v, want an error at %s", c.d, err, c.attr)
		}
	}
}
