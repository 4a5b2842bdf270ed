package provider

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Issue 7, bad input: a table of invalid configurations (provider
// credentials and settings, IPs, CIDRs, colos, expressions of every kind,
// order, names, inventory, expectations). Each must fail at `terraform plan`
// with a diagnostic that names the attribute (or the policy and its index)
// and says what to do (the regexps check both; a space in them matches any
// run of white space, as terraform wraps long lines), and nothing may be written
// to the account (the emulator counts 0 writes). Each case is its own
// terraform run against its own emulator, in parallel.

// badInputEgress is a valid dedicated egress in the emulator's default
// inventory (NRT, falling back to LAX).
const badInputEgress = `{ method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" }`

// badInputInventory is the emulator's default inventory plus a second NRT IP.
const badInputInventory = `[
    { ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.11", ipv6_range = "2001:db8:11::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2001:db8:20::/64", colo = "LAX" },
  ]`

type badInputCase struct {
	name string
	// provider replaces the provider block (%[1]s token, %[2]s account,
	// %[3]s base URL); "" uses the test's.
	provider string
	// resource is the body of cfegress_egress_policies (policies etc.);
	// when it has no dedicated_egress_ips, badInputInventory is added.
	resource string
	// want must match the error (attribute or policy, and the fix).
	want string
}

// badInputList wraps policies in `policies = [...]`, with a catch-all last.
func badInputList(ps ...string) string {
	return "  policies = [\n    " + strings.Join(append(ps, `{ name = "rest", egress = { method = "default" } }`), ",\n    ") + ",\n  ]\n"
}

// badInputTraffic is a policy "web" with the given traffic expression.
func badInputTraffic(traffic string) string {
	return fmt.Sprintf(`{ name = "web", traffic = %q, egress = %s }`, traffic, badInputEgress)
}

// badInputEgressPolicy is a policy "web" on port 443 with the given egress.
func badInputEgressPolicy(egress string) string {
	return `{ name = "web", traffic = "net.dst.port == 443", egress = ` + egress + ` }`
}

func badInputCases() []badInputCase {
	const web = `Policy "web" \(policies\[0\]\)`
	return []badInputCase{
		// Provider configuration and credentials.
		{name: "missing credentials",
			provider: `provider "cfegress" {
  account_id = %[2]q
  base_url   = %[3]q
}`,
			resource: badInputList(badInputTraffic("net.dst.port == 443")),
			want:     `(?s)api_token.*CLOUDFLARE_API_TOKEN`},
		{name: "wrong token",
			provider: `provider "cfegress" {
  api_token  = "wrong-%[1]s"
  account_id = %[2]q
  base_url   = %[3]q
}`,
			resource: badInputList(badInputTraffic("net.dst.port == 443")),
			want:     `(?s)authentication failed or a permission is missing.*when the token \(api_token / CLOUDFLARE_API_TOKEN\) is invalid, expired or revoked and when it lacks a permission.*"Zero Trust Read"`},
		{name: "token with whitespace",
			provider: `provider "cfegress" {
  api_token  = "%[1]s extra"
  account_id = %[2]q
  base_url   = %[3]q
}`,
			resource: badInputList(badInputTraffic("net.dst.port == 443")),
			want:     `(?s)token contains whitespace.*copy it again`},
		{name: "unreachable base URL",
			provider: `provider "cfegress" {
  api_token   = %[1]q
  account_id  = %[2]q
  base_url    = "http://127.0.0.1:1"
  max_retries = 1
}`,
			resource: badInputList(badInputTraffic("net.dst.port == 443")),
			want:     `(?s)could not reach the Cloudflare API.*127\.0\.0\.1:1.*check network access and base_url`},
		{name: "base URL not http",
			provider: `provider "cfegress" {
  api_token  = %[1]q
  account_id = %[2]q
  base_url   = "ftp://api.example.com"
}`,
			resource: badInputList(badInputTraffic("net.dst.port == 443")),
			want:     `(?s)base_url "ftp://api.example.com" is not an http\(s\) URL like https://api.cloudflare.com/client/v4`},
		// Issue 11: the token is never sent over plain http:// to a host that
		// is not a loopback address; plan fails on the provider's base_url.
		{name: "base URL plain http to a remote host",
			provider: `provider "cfegress" {
  api_token  = %[1]q
  account_id = %[2]q
  base_url   = "http://api.example.com/client/v4"
}`,
			resource: badInputList(badInputTraffic("net.dst.port == 443")),
			want:     `(?s)Invalid base_url.*in provider "cfegress".*base_url = "http://api.example.com/client/v4".*plain http:// to api.example.com, which is not a loopback address: the API token would cross the network unencrypted. Use https://`},
		{name: "missing account ID",
			provider: `provider "cfegress" {
  api_token = %[1]q
  base_url  = %[3]q
}`,
			resource: badInputList(badInputTraffic("net.dst.port == 443")),
			want:     `(?s)Missing account ID.*set account_id on the resource, account_id in the provider block, or the\s+CLOUDFLARE_ACCOUNT_ID`},
		{name: "account the token does not own",
			resource: `  account_id = "fedcba9876543210fedcba9876543210"` + "\n" + badInputList(badInputTraffic("net.dst.port == 443")),
			want:     `(?s)Account fedcba9876543210fedcba9876543210: list rules: the API token is not allowed.*check account_id.*"Zero Trust Read"`},
		{name: "requests_per_second zero",
			provider: `provider "cfegress" {
  api_token           = %[1]q
  account_id          = %[2]q
  base_url            = %[3]q
  requests_per_second = 0
}`,
			resource: badInputList(badInputTraffic("net.dst.port == 443")),
			want:     `(?s)requests_per_second.*at least 1`},
		{name: "max_retries negative",
			provider: `provider "cfegress" {
  api_token   = %[1]q
  account_id  = %[2]q
  base_url    = %[3]q
  max_retries = -1
}`,
			resource: badInputList(badInputTraffic("net.dst.port == 443")),
			want:     `(?s)max_retries.*between 0 and 100`},

		// IPs and CIDRs of the egress.
		{name: "ipv4 out of range", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv4 = "203.0.113.300", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" }`)),
			want: `(?s)Invalid IPv4 address.*policies\[0\]\.egress\.ipv4.*not an IPv4 address`},
		{name: "ipv4 given an IPv6 address", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv4 = "2001:db8::1", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" }`)),
			want: `(?s)Invalid IPv4 address.*policies\[0\]\.egress\.ipv4`},
		// Any IPv6 prefix is a range (issue 12); one that is in no inventory
		// range is the account's problem, said by lint.
		{name: "ipv6 range outside the inventory", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/48", ipv4_fallback = "203.0.113.20" }`)),
			want: `(?s)not one of the account's dedicated egress IPs.*2001:db8:10::/48 is not within the IPv6 range`},
		{name: "ipv6 range without prefix length", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::", ipv4_fallback = "203.0.113.20" }`)),
			want: `(?s)Invalid IPv6 range.*policies\[0\]\.egress\.ipv6`},
		{name: "ipv6 range given an IPv4 CIDR", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "203.0.113.0/24", ipv4_fallback = "203.0.113.20" }`)),
			want: `(?s)Invalid IPv6 range.*policies\[0\]\.egress\.ipv6`},
		{name: "fallback not an address", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "nrt-backup" }`)),
			want: `(?s)Invalid IPv4 address.*policies\[0\]\.egress\.ipv4_fallback`},
		{name: "fallback in the same colo", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.11" }`)),
			want: web + `: fallback in the same colo`},
		{name: "missing fallback", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64" }`)),
			want: `(?s)` + web + `: dedicated egress without its IPs.*ipv4_fallback`},
		{name: "fallback equals primary", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.10" }`)),
			want: web + `: fallback (equal to the primary IPv4|in the same colo)`},
		{name: "dedicated without ipv4", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" }`)),
			want: `(?s)` + web + `: dedicated egress without its IPs.*ipv4`},
		{name: "default with IPs", resource: badInputList(badInputEgressPolicy(`{ method = "default", ipv4 = "203.0.113.10" }`)),
			want: web + `: default egress with IPs`},
		{name: "unknown method", resource: badInputList(badInputEgressPolicy(`{ method = "dedicate" }`)),
			want: `(?s)policies\[0\]\.egress\.method.*value must be one of:.*"default".*"dedicated"`},
		{name: "IP not in the inventory", resource: badInputList(badInputEgressPolicy(`{ method = "dedicated", ipv4 = "198.51.100.7", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" }`)),
			want: `(?s)` + web + `: IP is not one of the account's dedicated egress IPs.*use one of them, or add it to dedicated_egress_ips`},

		// Inventory.
		{name: "unknown colo in the inventory",
			resource: `  dedicated_egress_ips = [{ ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NTR" }]` + "\n" + badInputList(),
			want:     `(?s)dedicated_egress_ips\[0\]\.colo.*NTR.*did you mean`},
		{name: "bad IPv4 in the inventory",
			resource: `  dedicated_egress_ips = [{ ipv4 = "203.0.113", ipv6_range = "2001:db8:10::/64", colo = "NRT" }]` + "\n" + badInputList(),
			want:     `(?s)Invalid IPv4 address.*dedicated_egress_ips\[0\]\.ipv4`},
		{name: "inventory range without a prefix length",
			resource: `  dedicated_egress_ips = [{ ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::", colo = "NRT" }]` + "\n" + badInputList(),
			want:     `(?s)Invalid IPv6 range.*dedicated_egress_ips\[0\]\.ipv6_range.*is an address, not a range`},

		// Expressions.
		{name: "expression: unclosed set", resource: badInputList(badInputTraffic("net.dst.port in {443")),
			want: `(?s)` + web + `: expression does not parse.*1:\d+.*fix the traffic expression`},
		{name: "expression: unknown operator", resource: badInputList(badInputTraffic("net.dst.port === 443")),
			want: `(?s)` + web + `: expression does not parse.*1:\d+.*fix the traffic expression`},
		{name: "expression: dangling and", resource: badInputList(badInputTraffic("net.dst.port == 443 and")),
			want: `(?s)` + web + `: expression does not parse.*1:\d+.*fix the traffic expression`},
		{name: "expression: unknown field", resource: badInputList(badInputTraffic("net.dst.prot == 443")),
			want: `(?s)` + web + `: expression does not.*net\.dst\.prot.*fix the traffic expression`},
		{name: "expression: string for a port", resource: badInputList(badInputTraffic(`net.dst.port == "https"`)),
			want: `(?s)` + web + `: expression does not type-check.*fix the traffic expression`},
		{name: "expression: bad IP", resource: badInputList(badInputTraffic("net.dst.ip == 10.0.0.300")),
			want: `(?s)` + web + `: expression does not (parse|type-check).*10\.0\.0\.300.*fix the traffic expression`},
		{name: "expression: bad CIDR", resource: badInputList(badInputTraffic("net.dst.ip in {10.0.0.0/33}")),
			want: `(?s)` + web + `: expression does not (parse|type-check).*10\.0\.0\.0/33.*fix the traffic expression`},
		{name: "expression: port out of range", resource: badInputList(badInputTraffic("net.dst.port == 70000")),
			want: `(?s)` + web + `: expression does not (parse|type-check).*70000.*fix the traffic expression`},
		{name: "expression: bad regex", resource: badInputList(badInputTraffic(`net.fqdn.host matches "(["`)),
			want: `(?s)` + web + `: expression does not (parse|type-check).*invalid regular expression.*fix the traffic expression`},
		{name: "expression: matches on a number", resource: badInputList(badInputTraffic(`net.dst.port matches "44.*"`)),
			want: `(?s)` + web + `: expression does not type-check.*fix the traffic expression`},
		{name: "expression: wrong element type in any()", resource: badInputList(badInputTraffic("any(net.fqdn.domains[*] == 5)")),
			want: `(?s)` + web + `: expression does not type-check.*fix the traffic expression`},
		{name: "expression: list reference without an ID", resource: badInputList(badInputTraffic("net.dst.ip in $")),
			want: `(?s)` + web + `: expression does not parse.*1:\d+.*list UUID.*fix the traffic expression`},
		{name: "expression: port range upside down", resource: badInputList(badInputTraffic("net.dst.port in {900..800}")),
			want: `(?s)` + web + `: expression does not (parse|type-check).*900.*fix the traffic expression`},
		{name: "expression: unknown protocol", resource: badInputList(badInputTraffic(`net.protocol == "sctp"`)),
			want: `(?s)` + web + `: expression does not type-check.*sctp.*fix the traffic expression`},
		{name: "expression: array field compared without any()", resource: badInputList(badInputTraffic(`net.fqdn.domains == "example.com"`)),
			want: `(?s)` + web + `: expression does not type-check.*(any|in|\[\*\]).*fix the traffic expression`},
		{name: "expression: field alone as a condition", resource: badInputList(badInputTraffic("net.dst.port")),
			want: `(?s)` + web + `: expression does not (parse|type-check).*fix the traffic expression`},
		{name: "expression: identity field in an identity expression with a bad value", resource: badInputList(`{ name = "web", identity = "identity.email == 5", egress = { method = "default" } }`),
			want: `(?s)` + web + `: expression does not type-check.*fix the identity expression`},
		{name: "expression: empty traffic", resource: badInputList(badInputTraffic("")),
			want: `(?s)Empty value.*policies\[0\]\.traffic.*leave the attribute out`},

		// Order and names.
		{name: "catch-all in the middle", resource: `  policies = [
    { name = "everything", traffic = "net.dst.ip != 0.0.0.0", egress = ` + badInputEgress + ` },
    { name = "ssh", traffic = "net.dst.port == 22", egress = { method = "default" } },
  ]
`, want: `(?s)Policy "everything" \(policies\[0\]\): catch-all is not the last policy.*move it to the end of the list`},
		{name: "shadowed policy", resource: badInputList(badInputTraffic("net.dst.port in {443 80}"),
			`{ name = "https", traffic = "net.dst.port == 443", egress = { method = "default" } }`),
			want: `(?s)Policy "https" \(policies\[1\]\): policy can never match.*policy\s+"web"\s+\(#0\)\s+before\s+it\s+already\s+matches.*move\s+this\s+policy\s+above\s+it`},
		{name: "duplicate names", resource: badInputList(badInputTraffic("net.dst.port == 22"), badInputTraffic("net.dst.port == 23")),
			want: `Policy "web" \(policies\[1\]\): duplicate policy name`},
		{name: "empty name", resource: badInputList(`{ name = "", traffic = "net.dst.port == 22", egress = { method = "default" } }`),
			want: `(?s)Policy "" \(policies\[0\]\): empty policy name.*set name to a unique, non-empty string`},
		{name: "missing catch-all when required", resource: `  catch_all = "required"
  policies = [` + badInputTraffic("net.dst.port == 443") + `]
`, want: `Egress policies: no catch-all at the bottom`},
		{name: "catch_all mode unknown", resource: `  catch_all = "always"` + "\n" + badInputList(badInputTraffic("net.dst.port == 443")),
			want: `(?s)catch_all.*value must be one of`},
		{name: "lint_ignore unknown rule", resource: badInputList(`{ name = "web", egress = { method = "default" }, lint_ignore = ["shadowing"] }`),
			want: `(?s)policies\[0\]\.lint_ignore.*value must be one of`},
		{name: "expect not met", resource: badInputList(badInputTraffic("net.dst.port == 443")) +
			`  expect = [{ flow = { ingress_colo = "LAX", destination_ip = "192.0.2.1", destination_port = 22, protocol = "tcp", source_country = "US" }, policy = "web" }]` + "\n",
			want: `(?s)expect\[0\]: flow from LAX to 192.0.2.1:22.*expected policy "web" \(policies\[0\]\), but the flow is decided by policy "rest"`},
		{name: "expect with an unknown ingress colo", resource: badInputList(badInputTraffic("net.dst.port == 443")) +
			`  expect = [{ flow = { ingress_colo = "XXX", destination_ip = "192.0.2.1" }, policy = "web" }]` + "\n",
			want: `(?s)expect\[0\].*XXX`},
	}
}

func TestAccEgressPolicies_badInput(t *testing.T) {
	if os.Getenv(envAPIToken) != "" {
		t.Skip("CLOUDFLARE_API_TOKEN is set: the missing-credentials case cannot be tested")
	}
	cases := badInputCases()
	if len(cases) < 30 {
		t.Fatalf("only %d bad-input cases, issue 7 wants at least 30", len(cases))
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			env := newAccEnv(t)
			env.needEmulator(t)
			provider := env.ProviderBlock()
			if c.provider != "" {
				provider = fmt.Sprintf(c.provider, env.Token, env.AccountID, env.BaseURL)
			}
			body := c.resource
			if !strings.Contains(body, "dedicated_egress_ips") {
				body = "  dedicated_egress_ips = " + badInputInventory + "\n" + body
			}
			cfg := provider + "\n\nresource \"cfegress_egress_policies\" \"this\" {\n" + body + "}\n"
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      cfg,
					PlanOnly:    true,                                                       // the error must come from plan (or validate), not apply
					ExpectError: regexp.MustCompile(strings.ReplaceAll(c.want, " ", `\s+`)), // terraform wraps long lines
				}},
			})
			if n := env.Writes(t); n != 0 {
				t.Errorf("%d writes to the account, want 0", n)
			}
		})
	}
}
