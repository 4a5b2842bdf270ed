package expr

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// baseFlow carries every field.
func baseFlow() engine.Flow {
	return engine.Flow{
		SourceIP:          netip.MustParseAddr("198.51.100.7"),
		SourcePort:        51000,
		SourceCountry:     "JP",
		SourceContinent:   "AS",
		IngressColo:       "NRT",
		DestinationIP:     netip.MustParseAddr("203.0.113.10"),
		DestinationPort:   443,
		Protocol:          "tcp",
		DstCountry:        "US",
		DstContinent:      "NA",
		InternalSourceIP:  netip.MustParseAddr("192.168.86.5"),
		VirtualNetworkID:  "vnet-1",
		ProxyEndpoint:     "abc.proxy.cloudflare-gateway.com",
		FQDNHost:          "api.example.com",
		FQDNDomains:       []string{"api.example.com", "example.com"},
		ContentCategories: []int64{7, 9},
		AppIDs:            []int64{505},
		Email:             "alice@example.com",
		Name:              "Alice",
		Groups:            []engine.Group{{ID: "g1", Name: "Engineering", Email: "eng@example.com"}, {ID: "g2", Name: "Security"}},
		SAMLAttributes:    map[string][]string{"department": {"finance", "audit"}},
		PostureChecks:     []string{"1308749e-fcfb-4ebc-b051-fe022b632644"},
	}
}

type flowMod func(*engine.Flow)

func dst(ip string) flowMod {
	return func(f *engine.Flow) { f.DestinationIP = netip.MustParseAddr(ip) }
}
func port(p uint16) flowMod { return func(f *engine.Flow) { f.DestinationPort = p } }
func proto(p string) flowMod {
	return func(f *engine.Flow) { f.Protocol = p }
}
func noIdentity(f *engine.Flow) {
	f.Email, f.Name, f.Groups, f.SAMLAttributes = "", "", nil, nil
}

const (
	Y = engine.Yes
	N = engine.No
	U = engine.Unknown
)

func TestEvaluate(t *testing.T) {
	cases := []struct {
		traffic, identity, posture string
		mods                       []flowMod
		want                       engine.Tri
		missing                    string
	}{
		// documented catch-alls: true on every tcp/udp flow
		{traffic: `net.protocol in {"tcp" "udp"}`, want: Y},
		{traffic: `net.protocol in {"tcp" "udp"}`, mods: []flowMod{proto("udp")}, want: Y},
		{traffic: `net.protocol in {"tcp" "udp"}`, mods: []flowMod{proto("icmp")}, want: N},
		{traffic: `net.dst.ip != 0.0.0.0`, want: Y},
		{traffic: `net.dst.ip != 0.0.0.0`, mods: []flowMod{dst("2001:db8::1")}, want: Y},
		{traffic: `net.dst.ip != 0.0.0.0`, mods: []flowMod{proto("udp"), port(53)}, want: Y},
		{traffic: ``, want: Y},
		// ports
		{traffic: `net.dst.port in {443 80}`, want: Y},
		{traffic: `net.dst.port in {443 80}`, mods: []flowMod{port(8080)}, want: N},
		{traffic: `net.dst.port in {8000..8999}`, mods: []flowMod{port(8000)}, want: Y},
		{traffic: `net.dst.port in {8000..8999}`, mods: []flowMod{port(8999)}, want: Y},
		{traffic: `net.dst.port in {8000..8999}`, mods: []flowMod{port(9000)}, want: N},
		{traffic: `net.dst.port == "2222"`, mods: []flowMod{port(2222)}, want: Y},
		{traffic: `net.dst.port != 443`, want: N},
		{traffic: `net.dst.port > 442 and net.dst.port <= 443`, want: Y},
		{traffic: `net.dst.port < 443`, want: N},
		{traffic: `net.dst.port >= 444`, want: N},
		{traffic: `net.dst.port in {443}`, mods: []flowMod{port(0)}, want: U, missing: "net.dst.port"},
		{traffic: `net.src.port >= 50000`, want: Y},
		// IPs: exact, CIDR, v6, mapped, ordering
		{traffic: `net.dst.ip == 203.0.113.10`, want: Y},
		{traffic: `net.dst.ip == 203.0.113.0/24`, want: Y},
		{traffic: `net.dst.ip != 203.0.113.0/24`, want: N},
		{traffic: `net.dst.ip in {10.0.0.0/8 2001:db8::/32}`, mods: []flowMod{dst("2001:db8:1::5")}, want: Y},
		{traffic: `net.dst.ip in {10.0.0.0/8 2001:db8::/32}`, mods: []flowMod{dst("::ffff:10.1.2.3")}, want: Y},
		{traffic: `net.dst.ip in {10.0.0.0/8 2001:db8::/32}`, mods: []flowMod{dst("11.0.0.0")}, want: N},
		{traffic: `net.dst.ip in {10.0.0.0/8 2001:db8::/32}`, mods: []flowMod{dst("9.255.255.255")}, want: N},
		{traffic: `net.dst.ip < 203.0.113.11`, want: Y},
		{traffic: `net.dst.ip > 203.0.113.10`, want: N},
		{traffic: `net.dst.ip > 1.1.1.1`, mods: []flowMod{dst("2001:db8::1")}, want: N},
		{traffic: `net.src.ip[*] in {198.51.100.0/24}`, want: Y},
		{traffic: `any(net.src.ip[*] in {10.0.0.0/8})`, want: N},
		{traffic: `net.src.internal_src_ip == "192.168.86.0/27"`, want: Y},
		{traffic: `net.src.internal_src_ip == "192.168.86.0/27"`, mods: []flowMod{func(f *engine.Flow) { f.InternalSourceIP = netip.Addr{} }}, want: U, missing: "net.src.internal_src_ip"},
		// strings
		{traffic: `net.protocol == "tcp"`, want: Y},
		// Byte for byte: "TCP" is no flow's protocol (lint warns never_matches).
		{traffic: `net.protocol == "TCP"`, want: N},
		{traffic: `net.protocol != "TCP"`, want: Y},
		{traffic: `net.protocol == "udp"`, want: N},
		{traffic: `net.protocol != "udp"`, want: Y},
		{traffic: `net.protocol == "tcp"`, mods: []flowMod{proto("")}, want: U, missing: "net.protocol"},
		{traffic: `net.dst.geo.country == "US" and net.dst.geo.continent == "NA"`, want: Y},
		{traffic: `net.src.geo.country in {"JP" "KR"} and net.src.geo.continent == "AS"`, want: Y},
		{traffic: `net.vnet_id == "vnet-1" and proxy.endpoint matches "\\.proxy\\.cloudflare-gateway\\.com$"`, want: Y},
		{traffic: `net.fqdn.host == "api.example.com"`, want: Y},
		{traffic: `net.fqdn.host matches "^www\\."`, want: N},
		// arrays
		{traffic: `any(net.fqdn.domains[*] == "example.com")`, want: Y},
		{traffic: `any(net.fqdn.domains[*] != "example.com")`, want: Y},
		{traffic: `net.fqdn.domains in {"other.com"}`, want: N},
		{traffic: `any(net.fqdn.domains[*] matches "^ex")`, want: Y},
		{traffic: `any(net.fqdn.content_category[*] in {9})`, want: Y},
		{traffic: `any(net.fqdn.content_category[*] > 10)`, want: N},
		{traffic: `any(app.ids[*] in {505})`, want: Y},
		{traffic: `any(app.ids[*] in {505})`, mods: []flowMod{func(f *engine.Flow) { f.AppIDs = nil }}, want: U, missing: "app.ids"},
		{traffic: `any(app.ids[*] in {505})`, mods: []flowMod{func(f *engine.Flow) { f.AppIDs = []int64{} }}, want: N},
		// identity
		{identity: `identity.email == "alice@example.com"`, want: Y},
		{identity: `identity.email matches ".*@example\\.com"`, want: Y},
		{identity: `identity.name == "Bob"`, want: N},
		{identity: `any(identity.groups[*].name in {"Engineering"})`, want: Y},
		{identity: `any(identity.groups[*].id in {"g2"})`, want: Y},
		{identity: `any(identity.groups[*].email in {"sec@example.com"})`, want: N},
		{identity: `any(identity.groups[*].name in {"Engineering"})`, mods: []flowMod{func(f *engine.Flow) { f.Groups = []engine.Group{} }}, want: N},
		{identity: `any(identity.saml_attributes["department"] in {"finance"})`, want: Y},
		{identity: `identity.saml_attributes["department"] == "hr"`, want: N},
		{identity: `identity.saml_attributes["title"] == "cto"`, want: N},
		{identity: `identity.saml_attributes == "\"department=audit\""`, want: Y},
		{identity: `identity.saml_attributes == "department=hr"`, want: N},
		{identity: `identity.saml_attributes != "department=hr"`, want: Y},
		{identity: `identity.saml_attributes in {"x=y" "department=finance"}`, want: Y},
		{identity: `identity.email == "alice@example.com"`, mods: []flowMod{noIdentity}, want: U, missing: "identity.email"},
		{identity: `any(identity.saml_attributes["department"] in {"finance"})`, mods: []flowMod{noIdentity}, want: U, missing: `identity.saml_attributes["department"]`},
		{identity: `identity.saml_attributes == "a=b"`, mods: []flowMod{noIdentity}, want: U, missing: "identity.saml_attributes"},
		// posture
		{posture: `any(device_posture.checks.passed[*] in {"1308749e-fcfb-4ebc-b051-fe022b632644"})`, want: Y},
		{posture: `any(device_posture.checks.passed[*] in {"other"})`, want: N},
		{posture: `any(device_posture.checks.passed[*] in {"other"})`, mods: []flowMod{func(f *engine.Flow) { f.PostureChecks = nil }}, want: U, missing: "device_posture.checks.passed"},
		// lists are opaque
		{traffic: `net.fqdn.host in $0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4`, want: U, missing: "$0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4 (Gateway list)"},
		{traffic: `net.dst.port == 80 and net.fqdn.host in $0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4`, want: N},
		{traffic: `net.dst.port == 443 or net.fqdn.host in $0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4`, want: Y},
		{traffic: `not(net.fqdn.host in $0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4)`, want: U, missing: "$0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4 (Gateway list)"},
		// Kleene logic with missing fields
		{traffic: `net.dst.port == 80`, identity: `identity.email == "x"`, mods: []flowMod{noIdentity}, want: N},
		{traffic: `net.dst.port == 443`, identity: `identity.email == "x"`, mods: []flowMod{noIdentity}, want: U, missing: "identity.email"},
		{traffic: `net.dst.port == 443`, identity: `identity.email == "alice@example.com"`, want: Y},
		{identity: `identity.email == "x" and identity.name == "Alice"`, mods: []flowMod{noIdentity}, want: U, missing: "identity.email"},
		{identity: `identity.email == "x" or net.dst.port == 443`, mods: []flowMod{noIdentity}, want: Y},
		{identity: `identity.email == "x" or net.dst.port == 80`, mods: []flowMod{noIdentity}, want: U, missing: "identity.email"},
		{identity: `not(identity.email == "x")`, mods: []flowMod{noIdentity}, want: U, missing: "identity.email"},
		{identity: `not(identity.email == "x")`, want: Y},
		{identity: `not(not(identity.email == "x"))`, want: N},
		{identity: `identity.email != "x"`, mods: []flowMod{noIdentity}, want: U, missing: "identity.email"},
		{traffic: `not(net.dst.port == 80 and net.dst.port == 443)`, want: Y},
		{traffic: `not(net.dst.port == 80 or net.dst.port == 443)`, want: N},
	}
	for _, tc := range cases {
		p, err := CompilePolicy(tc.traffic, tc.identity, tc.posture)
		if err != nil {
			t.Errorf("CompilePolicy(%q, %q, %q): %v", tc.traffic, tc.identity, tc.posture, err)
			continue
		}
		f := baseFlow()
		for _, m := range tc.mods {
			m(&f)
		}
		got, missing := p.Match(&f)
		if got != tc.want || missing != tc.missing {
			t.Errorf("%q / %q / %q: got (%v, %q), want (%v, %q)", tc.traffic, tc.identity, tc.posture, got, missing, tc.want, tc.missing)
		}
	}
}

func TestCompilePolicyErrors(t *testing.T) {
	cases := []struct{ traffic, identity, posture, want string }{
		{`net.dst.port in {80`, ``, ``, `traffic: 1:20: expected "}" to close the set opened at 1:17, found end of expression`},
		{``, `identity.emial == "a"`, ``, `identity: 1:1: unknown field "identity.emial": did you mean "identity.email"?`},
		{``, ``, `any(device_posture.checks.faild[*] in {"x"})`, `device_posture: 1:5: unknown field "device_posture.checks.faild": did you mean "device_posture.checks.failed"?`},
		{`dns.fqdn == "example.com"`, ``, ``, `traffic: 1:1: dns.fqdn is a DNS policy selector: egress policies take net.fqdn.host instead`},
	}
	for _, tc := range cases {
		_, err := CompilePolicy(tc.traffic, tc.identity, tc.posture)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}

func TestProgramExprAndFields(t *testing.T) {
	p, err := CompilePolicy(`net.dst.port == "443"`, `identity.email == "a"`, ``)
	if err != nil {
		t.Fatal(err)
	}
	if got := Format(p.Expr()); got != `net.dst.port == 443 and identity.email == "a"` {
		t.Errorf("Expr: %s", got)
	}
	if got := strings.Join(p.Fields(), ","); got != "identity.email,net.dst.port" {
		t.Errorf("Fields: %s", got)
	}
	empty, _ := CompilePolicy("", " ", "")
	if empty.Expr() != nil {
		t.Error("empty policy has an expression")
	}
	if h := empty.Hints(); h.DstIPs != nil || h.DstPorts != nil || h.Protocols != nil {
		t.Errorf("empty policy hints %+v", h)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	p, err := CompilePolicy(
		`net.dst.ip in {10.0.0.0/8 203.0.113.0/24 2001:db8::/32} and net.dst.port in {443 8000..8999} and net.protocol in {"tcp" "udp"} and not(net.src.geo.country in {"RU" "CN"})`,
		`any(identity.groups[*].name in {"Engineering" "Ops"}) or identity.email matches "@example\\.com$"`,
		`any(device_posture.checks.passed[*] in {"1308749e-fcfb-4ebc-b051-fe022b632644"})`)
	if err != nil {
		t.Fatal(err)
	}
	f := baseFlow()
	if got, _ := p.Match(&f); got != engine.Yes {
		t.Fatalf("want Yes, got %v", got)
	}
	if a := testing.AllocsPerRun(100, func() { p.Match(&f) }); a != 0 {
		t.Errorf("Match allocates %v times per call", a)
	}
}
