package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// testAccProtoV6ProviderFactories instantiates the provider for acceptance tests.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"cfegress": ProtocolServer("test"),
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigureData(t *testing.T) {
	ctx := context.Background()
	const token = "secret-token-value-0123456789"
	cases := []struct {
		name      string
		m         providerModel
		env       map[string]string
		wantErr   string
		unknown   bool
		account   string
		hasClient bool
	}{
		{name: "no credentials is not an error at configure", wantErr: "cfegress needs an API token: set api_token"},
		{name: "token from env, account from env", env: map[string]string{envAPIToken: token, envAccountID: "acc-env"}, account: "acc-env", hasClient: true},
		{name: "config wins over env", m: providerModel{APIToken: types.StringValue(token), AccountID: types.StringValue("acc-cfg")}, env: map[string]string{envAccountID: "acc-env"}, account: "acc-cfg", hasClient: true},
		{name: "unknown token at plan", m: providerModel{APIToken: types.StringUnknown()}, unknown: true},
		{name: "unknown account at plan", m: providerModel{AccountID: types.StringUnknown()}, unknown: true},
		{name: "base url from env", env: map[string]string{envAPIToken: token, envBaseURL: "http://127.0.0.1:1"}, hasClient: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Zero framework values are null: unset attributes.
			d := configureData(ctx, c.m, env(c.env))
			if d.unknown != c.unknown {
				t.Fatalf("unknown = %v, want %v", d.unknown, c.unknown)
			}
			if c.unknown {
				if d.available() {
					t.Fatal("available with an unknown configuration")
				}
				return
			}
			_, err := d.needClient()
			switch {
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("needClient error = %v, want %q", err, c.wantErr)
			case c.wantErr == "" && err != nil:
				t.Fatalf("needClient error = %v", err)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Fatalf("error contains the token: %v", err)
			}
			if d.accountID != c.account {
				t.Fatalf("account = %q, want %q", d.accountID, c.account)
			}
			if (d.client != nil) != c.hasClient {
				t.Fatalf("client = %v, want client %v", d.client, c.hasClient)
			}
		})
	}
}

func TestSemanticEqual(t *testing.T) {
	cases := []struct {
		k    semKind
		a, b string
		want bool
	}{
		{kindCIDR, "2001:DB8::/64", "2001:db8::/64", true},
		{kindCIDR, "2001:db8:0:0::/64", "2001:db8::/64", true},
		{kindCIDR, "2001:db8::/64", "2001:db8:1::/64", false},
		{kindCIDR, "2001:db8::/64", "2001:db8::/48", false},
		{kindIP, "2001:DB8::1", "2001:db8::1", true},
		{kindIP, "203.0.113.10", "203.0.113.11", false},
		{kindColo, "nrt", "NRT", true},
		{kindColo, "NRT", "KIX", false},
		{kindExpression, "net.dst.port in {443 80}", "net.dst.port in {443 80} ", true},
		{kindExpression, "net.dst.port == 443 && net.protocol == \"tcp\"", "net.dst.port == 443 and net.protocol == \"tcp\"", true},
		{kindExpression, "net.dst.port == 443", "net.dst.port == 80", false},
	}
	for _, c := range cases {
		if got := semanticEqual(c.k, c.a, c.b); got != c.want {
			t.Errorf("semanticEqual(%v, %q, %q) = %v, want %v", c.k, c.a, c.b, got, c.want)
		}
	}
}

func TestCheckIPv6Range(t *testing.T) {
	for s, want := range map[string]string{
		"2001:db8:10::/64": "",
		// Any IPv6 prefix as Cloudflare shows it (issue 12), compared masked.
		"2001:db8:10::1/64":    "",
		"2a06:98c1:54::c61/64": "",
		"2001:db8::/48":        "",
		"2001:db8::":           "is an address, not a range: write its prefix, e.g. 2001:db8::/64",
		"203.0.113.0/24":       "not an IPv6 range",
		"nonsense":             "not an IPv6 range in CIDR notation",
	} {
		err := checkIPv6Range(s)
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("checkIPv6Range(%q) = %v, want %q", s, err, want)
		}
	}
}

// TestAccProvider_invalidArguments: bad provider arguments are rejected;
// the declared inventory works without any credentials.
func TestAccProvider_invalidArguments(t *testing.T) {
	newAccEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: `provider "cfegress" {
  requests_per_second = 0
}
resource "cfegress_dedicated_egress_ip" "x" {
  ipv4 = "203.0.113.10"
  ipv6_range = "2001:db8:10::/64"
  colo = "NRT"
}`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`requests_per_second`),
			},
			{
				// No token needed for the declared inventory.
				Config: `provider "cfegress" {}
resource "cfegress_dedicated_egress_ip" "x" {
  ipv4 = "203.0.113.10"
  ipv6_range = "2001:db8:10::/64"
  colo = "NRT"
}`,
			},
		},
	})
}

// TestAccProvider_unknownConfigAtPlan: a provider configuration computed
// from another resource is unknown at plan time; the plan works and the
// apply uses the known values.
func TestAccProvider_unknownConfigAtPlan(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	cfg := fmt.Sprintf(`
terraform {
  required_providers {
    cfegress = { source = "cfegress/cfegress" }
  }
}

resource "terraform_data" "token" {
  input = %q
}

provider "cfegress" {
  api_token  = terraform_data.token.output
  account_id = %q
  base_url   = %q
}

resource "cfegress_egress_policies" "this" {
  policies = [{ name = "rest", traffic = "net.dst.ip != 0.0.0.0", egress = { method = "default" } }]
}
`, env.Token, env.AccountID, env.BaseURL)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: func(*terraform.State) error {
				if names := env.EgressRuleNames(t); len(names) != 1 || names[0] != "rest" {
					return fmt.Errorf("account has %v", names)
				}
				return nil
			},
		}},
	})
}
