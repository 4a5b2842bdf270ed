package expr

import (
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// Table tests for the language as Cloudflare publishes it (issue #12), one
// per bullet, from the public example each cites.

// evalCase evaluates traffic/identity/posture on baseFlow with mods.
type evalCase struct {
	traffic, identity, posture string
	mods                       []flowMod
	want                       engine.Tri
}

func runEval(t *testing.T, cases []evalCase) {
	t.Helper()
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
		if got, _ := p.Match(&f); got != tc.want {
			t.Errorf("%q / %q / %q: %v, want %v", tc.traffic, tc.identity, tc.posture, got, tc.want)
		}
		// The canonical form means the same.
		c, err := CompilePolicy(canon(t, tc.traffic), canon(t, tc.identity), canon(t, tc.posture))
		if err != nil {
			t.Fatalf("canonical form of %q: %v", tc.traffic, err)
		}
		if got, _ := c.Match(&f); got != tc.want {
			t.Errorf("canonical form of %q / %q / %q: %v, want %v", tc.traffic, tc.identity, tc.posture, got, tc.want)
		}
	}
}

func canon(t *testing.T, src string) string {
	t.Helper()
	c, err := Canonical(src)
	if err != nil {
		t.Fatalf("Canonical(%q): %v", src, err)
	}
	return c
}

func claims(cs ...string) flowMod {
	return func(f *engine.Flow) { f.OIDCClaims = append([]string{}, cs...) }
}
func failed(cs ...string) flowMod {
	return func(f *engine.Flow) { f.FailedPostureChecks = append([]string{}, cs...) }
}
func onramp(s string) flowMod { return func(f *engine.Flow) { f.OnrampType = s } }
func groups(names ...string) flowMod {
	return func(f *engine.Flow) {
		f.Groups = []engine.Group{}
		for _, n := range names {
			f.Groups = append(f.Groups, engine.Group{ID: "id-" + n, Name: n})
		}
	}
}

// identity.oidc_claims, in egress policies since 2026-03-24. Cloudflare's
// example (Identity-based policies, #oidc-claims) writes the pair with its
// own quotes: any(identity.oidc_claims[*] == "\"department=engineering\"");
// the changelog writes it bare (department=engineering). Both mean the
// claim department with value engineering; the value is compared byte for
// byte.
func TestOIDCClaimsSelector(t *testing.T) {
	const doc = `any(identity.oidc_claims[*] == "\"department=engineering\"")`
	runEval(t, []evalCase{
		{identity: doc, mods: []flowMod{claims("department=engineering", "role=admin")}, want: Y},
		{identity: doc, mods: []flowMod{claims("department=Engineering")}, want: N},
		{identity: doc, mods: []flowMod{claims("role=admin")}, want: N},
		{identity: doc, mods: []flowMod{claims()}, want: N},
		{identity: doc, want: U}, // the flow does not say
		{identity: `any(identity.oidc_claims[*] in {"department=engineering" "department=sales"})`, mods: []flowMod{claims("department=sales")}, want: Y},
		{identity: `any(not(identity.oidc_claims[*] == "department=engineering"))`, mods: []flowMod{claims("department=engineering", "role=admin")}, want: Y},
		{identity: `not(any(identity.oidc_claims[*] == "department=engineering"))`, mods: []flowMod{claims("department=engineering", "role=admin")}, want: N},
		{identity: `any(identity.oidc_claims[*] matches "^department=")`, mods: []flowMod{claims("department=x")}, want: Y},
	})
	if got, want := canon(t, doc), doc; got != want {
		t.Errorf("canonical form %s, want %s (the claim's quotes are kept as written)", got, want)
	}
	if !Equivalent(doc, `any(identity.oidc_claims[*] == "\"department=engineering\"")`) {
		t.Error("the documented example is not Equivalent to itself")
	}
	_, err := ParseAndCheck(`any(identity.oidc_claims[*] == "engineering")`)
	if err == nil || !strings.Contains(err.Error(), `"name=value"`) {
		t.Errorf("a claim without name=: %v", err)
	}
}

// device_posture.checks.failed and net.onramp.type: the egress page's
// device posture selector (any(device_posture.checks.failed[*] in
// {"1308749e-..."})) and the Traffic Source selector of Cloudflare's
// changelogs (net.onramp.type == "device_client").
func TestFailedPostureAndOnrampSelectors(t *testing.T) {
	const check = "1308749e-fcfb-4ebc-b051-fe022b632644"
	runEval(t, []evalCase{
		{posture: `any(device_posture.checks.failed[*] in {"` + check + `"})`, mods: []flowMod{failed(check)}, want: Y},
		{posture: `any(device_posture.checks.failed[*] in {"` + check + `"})`, mods: []flowMod{failed()}, want: N},
		{posture: `any(device_posture.checks.failed[*] in {"` + check + `"})`, want: U},
		// passed and failed are separate lists
		{posture: `any(device_posture.checks.passed[*] in {"` + check + `"})`, mods: []flowMod{failed(check)}, want: Y},
		{traffic: `net.onramp.type == "device_client"`, mods: []flowMod{onramp("device_client")}, want: Y},
		{traffic: `net.onramp.type == "device_client"`, mods: []flowMod{onramp("mesh")}, want: N},
		{traffic: `net.onramp.type == "device_client"`, want: U},
		{traffic: `net.onramp.type in {"mesh" "cloudflare_wan"}`, mods: []flowMod{onramp("cloudflare_wan")}, want: Y},
	})
	for _, name := range []string{"device_posture.checks.failed", "net.onramp.type", "identity.oidc_claims"} {
		if _, ok := LookupField(name); !ok {
			t.Errorf("%s is not in the catalog", name)
		}
	}
}

// A selector of another policy type names the policy type and, when there
// is one, the egress selector to use (Cloudflare's DNS, network and HTTP
// policy selector pages). Before, dns.fqdn got `did you mean "app.ids"?`.
func TestOtherPolicyTypeSelectors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`dns.fqdn == "example.com"`, `1:1: dns.fqdn is a DNS policy selector: egress policies take net.fqdn.host instead`},
		{`any(dns.domains[*] == "example.com")`, `1:5: dns.domains is a DNS policy selector: egress policies take net.fqdn.domains instead`},
		{`http.request.host == "example.com"`, `1:1: http.request.host is an HTTP policy selector: egress policies take net.fqdn.host instead`},
		{`net.sni.host == "www.example.com"`, `1:1: net.sni.host is a network policy selector: egress policies take net.fqdn.host instead`},
		{`net.detected_protocol == "tls"`, `1:1: net.detected_protocol is a network policy selector, not an egress one: egress policies have no detected-protocol selector: select by net.dst.port and net.protocol`},
		{`dns.query_rtype == "TXT"`, `1:1: dns.query_rtype is a DNS policy selector, not an egress one: egress policies have no equivalent (their selectors are listed at developers.cloudflare.com/cloudflare-one/traffic-policies/egress-policies/#selectors)`},
		{`dns.some_future_field == "x"`, `1:1: dns.some_future_field is a DNS policy selector, not an egress one: egress policies have no equivalent (their selectors are listed at developers.cloudflare.com/cloudflare-one/traffic-policies/egress-policies/#selectors)`},
		{`http.conn.dst_ip in {10.0.0.0/8}`, `1:1: http.conn.dst_ip is an HTTP policy selector: egress policies take net.dst.ip instead`},
	}
	for _, tc := range cases {
		_, err := ParseAndCheck(tc.src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
	// Every egress replacement the table names is a field of the catalog.
	for name, of := range otherFields {
		if _, ok := LookupField(name); ok {
			t.Errorf("%s is both an egress field and another policy type's", name)
		}
		if of.egress != "" {
			if _, ok := LookupField(of.egress); !ok {
				t.Errorf("%s: replacement %s is not an egress field", name, of.egress)
			}
		}
	}
}

// What wirefilter accepts: IP ranges in sets (wirefilter's test_ip_in:
// ip.addr in { 127.0.0.0/8 ::1 10.0.0.0..10.0.255.255 }), a negation inside
// any(...), list references by UUID with or without dashes.
func TestWirefilterAccepts(t *testing.T) {
	cases := []struct{ src, canonical string }{
		{`net.dst.ip in {10.0.0.0..10.0.255.255}`, `net.dst.ip in {10.0.0.0..10.0.255.255}`},
		{`net.dst.ip in { 127.0.0.0/8 ::1 10.0.0.0..10.0.255.255 }`, `net.dst.ip in {10.0.0.0..10.0.255.255 127.0.0.0/8 ::1}`},
		{`net.dst.ip in {::1..::2}`, `net.dst.ip in {::1..::2}`},
		{`net.src.ip in {"192.0.2.10..192.0.2.20"}`, `net.src.ip in {192.0.2.10..192.0.2.20}`},
		{`any(not(identity.groups[*].name in {"Contractors"}))`, `any(not(identity.groups[*].name in {"Contractors"}))`},
		{`any(!identity.groups[*].name in {"Contractors"})`, `any(not(identity.groups[*].name in {"Contractors"}))`},
		{`any((not(identity.groups[*].name == "Contractors")))`, `any(not(identity.groups[*].name == "Contractors"))`},
		{`net.dst.ip in $01302951-49f9-47c9-a400-0297e60b6a10`, `net.dst.ip in $01302951-49f9-47c9-a400-0297e60b6a10`},
		{`net.dst.ip in $0130295149f947c9a4000297e60b6a10`, `net.dst.ip in $01302951-49f9-47c9-a400-0297e60b6a10`},
		{`net.dst.ip in $0130295149F947C9A4000297E60B6A10`, `net.dst.ip in $01302951-49f9-47c9-a400-0297e60b6a10`},
		{`net.dst.port in {0x1bb 0x50..0x51}`, `net.dst.port in {80..81 443}`},
		{`identity.name == "\x41\101\\\""`, `identity.name == "AA\\\""`},
	}
	for _, tc := range cases {
		got, err := Canonical(tc.src)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if got != tc.canonical {
			t.Errorf("%s:\n got %s\nwant %s", tc.src, got, tc.canonical)
		}
		if !Equivalent(tc.src, got) {
			t.Errorf("%s is not Equivalent to %s", tc.src, got)
		}
	}
	runEval(t, []evalCase{
		{traffic: `net.dst.ip in {10.0.0.0..10.0.255.255}`, mods: []flowMod{dst("10.0.255.255")}, want: Y},
		{traffic: `net.dst.ip in {10.0.0.0..10.0.255.255}`, mods: []flowMod{dst("10.1.0.0")}, want: N},
		{traffic: `net.dst.ip in {10.0.0.5..10.0.0.9}`, mods: []flowMod{dst("::ffff:10.0.0.7")}, want: Y},
		{traffic: `not(net.dst.ip in {10.0.0.5..10.0.0.9})`, mods: []flowMod{dst("10.0.0.4")}, want: Y},
		{traffic: `net.dst.ip in {2001:db8::10..2001:db8::20}`, mods: []flowMod{dst("2001:db8::1f")}, want: Y},
		// some group is not Contractors ...
		{identity: `any(not(identity.groups[*].name in {"Contractors"}))`, mods: []flowMod{groups("Contractors", "Sales")}, want: Y},
		// ... which a user in Contractors alone, or in no group, is not
		{identity: `any(not(identity.groups[*].name in {"Contractors"}))`, mods: []flowMod{groups("Contractors")}, want: N},
		{identity: `any(not(identity.groups[*].name in {"Contractors"}))`, mods: []flowMod{groups()}, want: N},
		{identity: `not(any(identity.groups[*].name in {"Contractors"}))`, mods: []flowMod{groups()}, want: Y},
		{identity: `any(not(not(identity.groups[*].name == "Sales")))`, mods: []flowMod{groups("Sales")}, want: Y},
		{traffic: `any(not(app.ids[*] in {505}))`, want: N}, // baseFlow's only app is 505
		{traffic: `any(not(net.src.ip[*] in {198.51.100.0/24}))`, want: N},
		{traffic: `net.dst.ip in $01302951-49f9-47c9-a400-0297e60b6a10`, want: U},
	})
}

// What wirefilter rejects is an error that says what to write instead.
// Before: 10.0.0.1/8 was silently masked, 0443 read as 443, "\n" accepted,
// $internal_networks accepted.
func TestWirefilterRejects(t *testing.T) {
	cases := []struct{ src, want string }{
		{`net.dst.ip in {10.0.0.1/8}`, `1:16: 10.0.0.1/8 has host bits set, which Gateway (wirefilter) rejects: write 10.0.0.0/8`},
		{`net.dst.ip == 2001:db8::1/32`, `1:15: 2001:db8::1/32 has host bits set, which Gateway (wirefilter) rejects: write 2001:db8::/32`},
		{`net.src.internal_src_ip == "192.168.86.1/27"`, `1:28: 192.168.86.1/27 has host bits set, which Gateway (wirefilter) rejects: write 192.168.86.0/27`},
		{`net.dst.port == 0443`, `1:17: 0443 has a leading zero, so Gateway (wirefilter) reads it as octal (291): write 443, or 291 if octal was meant`},
		{`net.dst.port in {08..80}`, `1:18: 08 has a leading zero, so Gateway (wirefilter) reads it as octal, and it is not an octal number: write 8`},
		{`identity.name == "a\nb"`, `1:20: invalid escape in string: Gateway (wirefilter) takes only \" \\ \xHH and \ooo; write \n as \x0a, found "\\n"`},
		{`identity.name == "a\tb"`, `1:20: invalid escape in string: Gateway (wirefilter) takes only \" \\ \xHH and \ooo; write \t as \x09, found "\\t"`},
		{`identity.name == "\400"`, `1:19: invalid escape: an octal escape has three digits, at most \377 (\012), found "\\400"`},
		{`identity.name == "\01"`, `1:19: invalid escape: an octal escape has three digits, at most \377 (\012), found "\\01\""`},
		{`net.dst.ip in $internal_networks`, `1:15: a Gateway list is referenced by its UUID, with or without dashes ($01302951-49f9-47c9-a400-0297e60b6a10), not by name: "$internal_networks" is not a UUID; find the list's id in the dashboard (Reusable components > Lists) or with GET /accounts/{account_id}/gateway/lists`},
		{`net.dst.ip in $0130295149f947c9a4000297e60b6a1`, `1:15: a Gateway list is referenced by its UUID, with or without dashes ($01302951-49f9-47c9-a400-0297e60b6a10), not by name: "$0130295149f947c9a4000297e60b6a1" is not a UUID; find the list's id in the dashboard (Reusable components > Lists) or with GET /accounts/{account_id}/gateway/lists`},
		{`net.dst.ip in {10.0.0.9..10.0.0.1}`, `1:16: IP range 10.0.0.9..10.0.0.1 runs backwards (wirefilter rejects it): write 10.0.0.1..10.0.0.9`},
		{`net.dst.ip in {10.0.0.0..::1}`, `1:16: IP range 10.0.0.0..::1 mixes IPv4 and IPv6 (wirefilter rejects it): write one range per address family`},
		{`net.dst.ip == 10.0.0.0..10.0.0.9`, `1:15: net.dst.ip: an IP range goes inside a set: net.dst.ip in {10.0.0.0..10.0.0.9}`},
		{`any(not(identity.groups[*].name == "a" and identity.groups[*].name == "b"))`, `1:40: any(...) takes one comparison: write any(a) and any(b), not any(a and b), found "and"`},
	}
	for _, tc := range cases {
		_, err := ParseAndCheck(tc.src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

// Warnings: what parses but never matches, and fields in another slot.
func TestWarnings(t *testing.T) {
	cases := []struct {
		src  string
		slot Selector
		want []string // "kind: message prefix"
	}{
		{`net.protocol == "TCP"`, SelTraffic, []string{`never_matches: net.protocol can never equal "TCP": Gateway compares protocols byte for byte and writes them in lower case; write "tcp"`}},
		{`net.protocol in {"tcp" "UDP"}`, SelTraffic, []string{`never_matches: net.protocol can never equal "UDP"`}},
		// Cloudflare's own example on the egress policies page.
		{`net.src.geo.continent == "North America"`, SelTraffic, []string{`never_matches: net.src.geo.continent can never equal "North America": Gateway's continents are two-letter codes (AF AN AS EU NA OC SA T1); write "NA"`}},
		{`net.dst.geo.continent != "eu"`, SelTraffic, []string{`never_matches: net.dst.geo.continent can never equal "eu": Gateway's continents are two-letter codes (AF AN AS EU NA OC SA T1); write "EU"`}},
		{`net.dst.geo.country == "us"`, SelTraffic, []string{`never_matches: net.dst.geo.country can never equal "us": Gateway's countries are ISO 3166-1 alpha-2 codes in upper case ("US", "JP"); write "US"`}},
		{`net.fqdn.host == "Example.com"`, SelTraffic, []string{`never_matches: net.fqdn.host can never equal "Example.com": host names are case-insensitive and flows carry them in lower case, while Gateway compares the literal byte for byte; write "example.com"`}},
		{`any(net.fqdn.domains[*] in {"example.com" "Example.ORG"})`, SelTraffic, []string{`never_matches: net.fqdn.domains can never equal "Example.ORG"`}},
		{`net.onramp.type == "warp"`, SelTraffic, []string{`never_matches: net.onramp.type can never equal "warp"`}},
		{`identity.email == "a@example.com"`, SelTraffic, []string{`wrong_slot: identity.email is an identity selector but is used in the traffic expression: Gateway's policy builder keeps traffic, identity and device posture conditions in their own expressions (and ANDs them); move it to identity`}},
		{`net.dst.port == 443 and any(device_posture.checks.passed[*] in {"x"})`, SelIdentity, []string{`wrong_slot: net.dst.port is a traffic selector but is used in the identity expression`, `wrong_slot: device_posture.checks.passed is a device posture selector`}},
		// none: correct values, regexes, case in other fields
		{`net.protocol == "tcp" and net.src.geo.continent == "NA" and net.fqdn.host == "example.com"`, SelTraffic, nil},
		{`net.fqdn.host matches "(?i)EXAMPLE"`, SelTraffic, nil},
		{`identity.email == "Alice@Example.com"`, SelIdentity, nil},
		{`net.dst.geo.country == "T1"`, SelTraffic, nil},
	}
	for _, tc := range cases {
		n, err := ParseAndCheck(tc.src)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		ws := Warnings(n, tc.slot)
		if len(ws) != len(tc.want) {
			t.Errorf("%s: %d warnings %v, want %d", tc.src, len(ws), ws, len(tc.want))
			continue
		}
		for i, w := range ws {
			if got := w.Kind.String() + ": " + w.Msg; !strings.HasPrefix(got, tc.want[i]) {
				t.Errorf("%s:\n got %s\nwant %s...", tc.src, got, tc.want[i])
			}
		}
	}
	// A never-matching literal never matches (the evaluator agrees).
	runEval(t, []evalCase{
		{traffic: `net.fqdn.host == "API.example.com"`, want: N},
		{traffic: `net.src.geo.continent == "North America"`, want: N},
	})
}

// Gateway's limit: 140,000 characters per policy expression (Cloudflare One
// account limits).
func TestExpressionLengthLimit(t *testing.T) {
	atom := `net.dst.port == 1 or `
	long := strings.Repeat(atom, MaxExpressionLength/len(atom)+1) + `net.dst.port == 2`
	_, err := Parse(long)
	if err == nil || !strings.Contains(err.Error(), "at most 140000 characters per policy expression") {
		t.Fatalf("a %d-character expression: %v", len(long), err)
	}
	// At the limit exactly, in characters (not bytes): accepted.
	pad := MaxExpressionLength - len(`identity.name == ""`)
	ok := `identity.name == "` + strings.Repeat("é", pad) + `"`
	if long, n := TooLong(ok); long || n != MaxExpressionLength {
		t.Fatalf("TooLong = %v, %d; want false, %d", long, n, MaxExpressionLength)
	}
	if _, err := Parse(ok); err != nil {
		t.Fatalf("an expression of exactly %d characters (%d bytes): %v", MaxExpressionLength, len(ok), err)
	}
}
