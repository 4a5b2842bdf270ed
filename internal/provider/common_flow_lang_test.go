package provider

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// Regression (issue 10, the reviewer's simulation finding): the flow
// decoder lower-cased fqdn_host but not fqdn_domains, while policy
// literals are compared byte for byte, so `fqdn_domains = ["Example.com"]`
// missed `any(net.fqdn.domains[*] == "example.com")` that the same host
// matched. Host names are case-insensitive: hosts and domains are both
// lower-cased when decoded.
func TestRegressionFlowDecoderLowercasesFQDNDomains(t *testing.T) {
	f, _, err := decodeFlow(root("flow", tObj(map[string]tftypes.Value{
		"ingress_colo": tStr("KIX"), "destination_ip": tStr("192.0.2.1"),
		"fqdn_host": tStr(" WWW.Example.COM "), "fqdn_domains": tTuple(tStr("WWW.Example.COM"), tStr("Example.COM ")),
	})))
	if err != nil {
		t.Fatal(err)
	}
	if f.FQDNHost != "www.example.com" || !slices.Equal(f.FQDNDomains, []string{"www.example.com", "example.com"}) {
		t.Fatalf("host %q domains %q, want both lower-cased", f.FQDNHost, f.FQDNDomains)
	}
	// Both sides of the contract: the lower-case literal matches the
	// decoded flow, the upper-case one matches nothing and lint says so.
	for _, tc := range []struct {
		src  string
		want engine.Tri
	}{
		{`any(net.fqdn.domains[*] == "example.com")`, engine.Yes},
		{`net.fqdn.host == "www.example.com"`, engine.Yes},
		{`any(net.fqdn.domains[*] == "Example.COM")`, engine.No},
	} {
		p, err := expr.CompilePolicy(tc.src, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := p.Match(&f); got != tc.want {
			t.Errorf("%s on the decoded flow: %v, want %v", tc.src, got, tc.want)
		}
	}
	n, _ := expr.ParseAndCheck(`any(net.fqdn.domains[*] == "Example.COM")`)
	if ws := expr.Warnings(n, expr.SelTraffic); len(ws) != 1 || ws[0].Kind != expr.WarnNeverMatches {
		t.Errorf("warnings %v, want one never_matches", ws)
	}
}

// The flow fields of the new selectors and of the user's identity.
func TestDecodeFlowNewFields(t *testing.T) {
	f, _, err := decodeFlow(root("flow", tObj(map[string]tftypes.Value{
		"ingress_colo": tStr("KIX"), "destination_ip": tStr("192.0.2.1"),
		"oidc_claims":           tTuple(tStr(`"department=engineering"`), tStr("role=admin")),
		"failed_posture_checks": tTuple(tStr("1308749e-fcfb-4ebc-b051-fe022b632644")),
		"onramp_type":           tStr("Device_Client"),
		"user_id":               tStr("u-1"), "device_id": tStr("d-1"),
	})))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.OIDCClaims, []string{"department=engineering", "role=admin"}) || !slices.Equal(f.FailedPostureChecks, []string{"1308749e-fcfb-4ebc-b051-fe022b632644"}) ||
		f.OnrampType != "device_client" || f.UserID != "u-1" || f.DeviceID != "d-1" {
		t.Fatalf("flow = %+v", f)
	}
	// Cloudflare's OIDC example matches the decoded claim.
	p, err := expr.CompilePolicy("", `any(identity.oidc_claims[*] == "\"department=engineering\"")`, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Match(&f); got != engine.Yes {
		t.Errorf("documented OIDC example on the decoded flow: %v", got)
	}
	for _, tc := range []struct {
		attrs map[string]tftypes.Value
		want  string
	}{
		{map[string]tftypes.Value{"onramp_type": tStr("warp")}, `flow.onramp_type: must be one of agentless_biso, browser_isolation, clientless_rdp, cloudflare_wan, device_client, mcp_portal, mesh, proxy_endpoint, got "warp"`},
		{map[string]tftypes.Value{"oidc_claims": tTuple(tStr("a=1"), tStr("engineering"))}, `flow.oidc_claims[1]: must be a "name=value" claim, got "engineering"`},
	} {
		tc.attrs["ingress_colo"], tc.attrs["destination_ip"] = tStr("KIX"), tStr("192.0.2.1")
		_, _, err := decodeFlow(root("flow", tObj(tc.attrs)))
		if err == nil || err.Error() != tc.want {
			t.Errorf("error %v, want %s", err, tc.want)
		}
	}
	// Unset lists are unknown (nil), empty lists are empty.
	f, _, err = decodeFlow(root("flow", tObj(map[string]tftypes.Value{"ingress_colo": tStr("KIX"), "destination_ip": tStr("192.0.2.1"), "failed_posture_checks": tTuple()})))
	if err != nil || f.FailedPostureChecks == nil || f.OIDCClaims != nil {
		t.Fatalf("flow %+v, %v", f, err)
	}
}

// BYOIP inventory entries: `byoip` on object literals and on resources
// passed as is.
func TestDecodeDedicatedIPsBYOIP(t *testing.T) {
	ips, err := decodeDedicatedIPs(root("dedicated_ips", tTuple(
		tObj(map[string]tftypes.Value{"ipv4": tStr("203.0.113.10"), "ipv6_range": tStr("2a06:98c1:54::c61/64"), "colo": tStr("NRT"), "byoip": tBool(true)}),
		tObj(map[string]tftypes.Value{"ipv4": tStr("203.0.113.20"), "colo": tStr("LAX"), "byoip": tNull()}),
	)))
	if err != nil {
		t.Fatal(err)
	}
	if !ips[0].BYOIP || ips[1].BYOIP {
		t.Fatalf("byoip = %v, %v", ips[0].BYOIP, ips[1].BYOIP)
	}
	_, err = decodeDedicatedIPs(root("dedicated_ips", tTuple(tObj(map[string]tftypes.Value{"ipv4": tStr("203.0.113.10"), "colo": tStr("NRT"), "byoip": tStr("maybe")}))))
	if err == nil || !strings.HasPrefix(err.Error(), "dedicated_ips[0].byoip: must be true or false") {
		t.Fatalf("error = %v", err)
	}
}

// ipv6_range and a policy's ipv6 take any IPv6 prefix as Cloudflare shows
// it: "2a06:98c1:54::c61/64" (cloudflare-go's egress rule fixture), a /32
// (the egress policies page); before, anything but an exact masked /64 was
// an error. They compare masked.
func TestIPv6RangeValidatorAcceptsCloudflaresForms(t *testing.T) {
	for _, s := range []string{"2a06:98c1:54::c61/64", "2001:db8::/32", "2001:DB8:10::/64", "2001:db8:10::1/128"} {
		if err := checkIPv6Range(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for s, want := range map[string]string{
		"10.0.0.0/8":         "is not an IPv6 range: the IPv4 address goes in the ipv4 attribute",
		"2001:db8::1":        `"2001:db8::1" is an address, not a range: write its prefix, e.g. 2001:db8::/64`,
		"::ffff:1.2.3.4/120": "is not an IPv6 range",
		"nope":               "is not an IPv6 range in CIDR notation",
	} {
		if err := checkIPv6Range(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", s, err, want)
		}
	}
	if !semanticEqual(kindCIDR, "2a06:98c1:54::c61/64", "2a06:98c1:54::/64") {
		t.Error("2a06:98c1:54::c61/64 and 2a06:98c1:54::/64 are not the same range")
	}
	var resp validator.StringResponse
	ipv6RangeValidator{}.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("ipv6_range"), ConfigValue: types.StringValue("2a06:98c1:54::c61/64")}, &resp)
	if resp.Diagnostics.HasError() {
		t.Errorf("validator: %v", resp.Diagnostics)
	}
}
