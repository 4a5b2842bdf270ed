package expr

import (
	"strings"
	"testing"
)

// Regressions of issue 12: places where the parser disagreed with
// wirefilter, Gateway's engine, or with Cloudflare's published selectors.
// Each row names the old behaviour; every row fails on the parser before
// the fix.
func TestRegressionWirefilterDifferences(t *testing.T) {
	cases := []struct {
		bug     string
		src     string
		wantErr string // "" = must be accepted
	}{
		{"a CIDR with host bits was silently masked (10.0.0.1/8 read as 10.0.0.0/8)", `net.dst.ip in {10.0.0.1/8}`, "write 10.0.0.0/8"},
		{"an integer with a leading zero was read as decimal (wirefilter reads 0443 as octal 291)", `net.dst.port == 0443`, "reads it as octal (291)"},
		{`the \n escape was accepted (wirefilter rejects it)`, `identity.name == "a\nb"`, `write \n as \x0a`},
		{"a list referenced by name was accepted", `net.dst.ip in $internal_networks`, "is not a UUID"},
		{"dns.fqdn got a did-you-mean guess instead of its policy type", `dns.fqdn == "example.com"`, "dns.fqdn is a DNS policy selector: egress policies take net.fqdn.host instead"},
		{"IP ranges in sets were rejected", `net.dst.ip in {10.0.0.0..10.0.255.255}`, ""},
		{"a negation inside any(...) was rejected", `any(not(identity.groups[*].name in {"Contractors"}))`, ""},
		{"a list UUID without dashes (accepted, but see Equivalent below)", `net.dst.ip in $0130295149f947c9a4000297e60b6a10`, ""},
		{`octal escapes were rejected (wirefilter takes \ooo)`, `identity.name == "\101"`, ""},
		{"identity.oidc_claims was an unknown field", `any(identity.oidc_claims[*] == "\"department=engineering\"")`, ""},
		{"device_posture.checks.failed was an unknown field", `any(device_posture.checks.failed[*] in {"1308749e-fcfb-4ebc-b051-fe022b632644"})`, ""},
		{"net.onramp.type was an unknown field", `net.onramp.type == "device_client"`, ""},
	}
	for _, tc := range cases {
		_, err := ParseAndCheck(tc.src)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %s rejected: %v", tc.bug, tc.src, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %s: error %v, want one containing %q", tc.bug, tc.src, err, tc.wantErr)
		}
	}
	// The dashed and undashed spellings of one list are the same expression.
	if !Equivalent(`net.dst.ip in $0130295149f947c9a4000297e60b6a10`, `net.dst.ip in $01302951-49f9-47c9-a400-0297e60b6a10`) {
		t.Error("a list UUID without dashes is not Equivalent to the dashed one")
	}
	// Protocol literals were lower-cased, so "TCP" matched tcp flows while
	// Gateway compares byte for byte: now kept as written.
	if c, err := Canonical(`net.protocol == "TCP"`); err != nil || c != `net.protocol == "TCP"` {
		t.Errorf(`protocol literal: %q, %v; want it kept as "TCP"`, c, err)
	}
}
