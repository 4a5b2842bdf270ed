package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// TestConfigureDataSettings: base_url and requests_per_5_minutes from the
// configuration or the environment (issue 11).
func TestConfigureDataSettings(t *testing.T) {
	ctx := context.Background()
	const token = "secret-token-value-0123456789"
	cases := []struct {
		name      string
		m         providerModel
		env       map[string]string
		attribute string // the setting error's attribute ("" when none)
		detail    []string
		budget    int
	}{
		{name: "plain http to a remote host from the environment", env: map[string]string{envAPIToken: token, envBaseURL: "http://api.example.com"},
			attribute: "base_url", detail: []string{envBaseURL, "plain http://", "api.example.com", "https://"}},
		{name: "plain http to a remote host, no token either", env: map[string]string{envBaseURL: "http://192.0.2.7:8787"},
			attribute: "base_url", detail: []string{"192.0.2.7", "not a loopback address"}},
		{name: "http to loopback", env: map[string]string{envAPIToken: token, envBaseURL: "http://localhost:8787"}, budget: 600},
		{name: "budget default", env: map[string]string{envAPIToken: token}, budget: 600},
		{name: "budget from the environment", env: map[string]string{envAPIToken: token, envRequestsPer5Minutes: " 900 "}, budget: 900},
		{name: "budget from the configuration wins", m: providerModel{RequestsPer5Minutes: types.Int64Value(300)},
			env: map[string]string{envAPIToken: token, envRequestsPer5Minutes: "900"}, budget: 300},
		{name: "budget from the environment not a number", env: map[string]string{envAPIToken: token, envRequestsPer5Minutes: "lots"},
			attribute: "requests_per_5_minutes", detail: []string{envRequestsPer5Minutes, `"lots"`, "at least 1"}},
		{name: "budget from the environment zero", env: map[string]string{envAPIToken: token, envRequestsPer5Minutes: "0"},
			attribute: "requests_per_5_minutes", detail: []string{envRequestsPer5Minutes}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := configureData(ctx, c.m, env(c.env))
			if c.attribute != "" {
				if d.settingErr == nil || d.settingErr.attribute != c.attribute {
					t.Fatalf("setting error = %+v, want one on %s", d.settingErr, c.attribute)
				}
				for _, s := range c.detail {
					if !strings.Contains(d.settingErr.detail, s) {
						t.Errorf("detail %q lacks %q", d.settingErr.detail, s)
					}
				}
				if d.client != nil || d.err == nil {
					t.Errorf("a client was built: %v", d.err)
				}
				return
			}
			if d.settingErr != nil || d.client == nil {
				t.Fatalf("setting error %+v, client %v, err %v", d.settingErr, d.client, d.err)
			}
			api, ok := d.client.(*cfapi.API)
			if !ok {
				t.Fatalf("client is %T", d.client)
			}
			if got := budgetOf(t, api); got != c.budget {
				t.Errorf("budget = %d, want %d", got, c.budget)
			}
		})
	}
}

// budgetOf is the client's requests_per_5_minutes.
func budgetOf(t *testing.T, a *cfapi.API) int {
	t.Helper()
	return a.RequestsPer5Minutes()
}

// tflogLines decodes tflogtest's JSON lines.
func tflogLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if _, ok := m["@message"].(string); !ok {
			m["@message"] = ""
		}
		out = append(out, m)
	}
	return out
}

// TestAPILockoutLogsProgressAtInfo: the provider's client waits out
// Cloudflare's lockout (429 with Retry-After), logging it at INFO through
// tflog, and then succeeds.
func TestAPILockoutLogsProgressAtInfo(t *testing.T) {
	const token = "cfegress-lockout-token"
	emu := emulator.New(emulator.Config{Token: token, RateLimit: 1, RateWindow: time.Minute, Lockout: 2 * time.Second})
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	d := configureData(ctx, providerModel{APIToken: types.StringValue(token), BaseURL: types.StringValue(url)}, env(nil))
	c, err := d.needClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // the resource's timeout
	defer cancel()
	for i := range 2 {
		if _, err := c.ListRules(ctx, emulator.DefaultAccountID); err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
	}
	if n := emu.Stats().Faults["rate_limited"]; n != 1 {
		t.Errorf("%d rate-limited answers, want 1", n)
	}
	lines := tflogLines(t, &logs)
	var started, progress bool
	for _, l := range lines {
		switch {
		case strings.Contains(l["@message"].(string), "rate limit reached (HTTP 429)"):
			started = l["@level"] == "info" && l["retry_after_s"] == float64(2)
		case strings.Contains(l["@message"].(string), "rate-limit lockout: waiting before the next request"):
			progress = l["@level"] == "info" && l["wait_left_s"] != nil && l["until"] != nil
			if _, leaked := l[cfapi.LogLevelKey]; leaked {
				t.Errorf("the level marker reached the log line: %v", l)
			}
		}
	}
	if !started || !progress {
		t.Errorf("lockout lines at INFO: started %v, progress %v\n%s", started, progress, logs.String())
	}
}

// TestAccProvider_lockoutIsWaitedOut: an apply that meets Cloudflare's
// lockout (the emulator allows 3 requests, then blocks every call for 2 s)
// waits it out within the resource's timeout and succeeds.
func TestAccProvider_lockoutIsWaitedOut(t *testing.T) {
	env := newAccEnv(t, accOptions{Emulator: func(c *emulator.Config) {
		c.RateLimit, c.RateWindow, c.Lockout = 3, time.Hour, 2*time.Second
	}})
	env.needEmulator(t)
	cfg := env.Config(`resource "cfegress_egress_policies" "this" {
  policies = [
    { name = "a", traffic = "net.dst.port == 1", egress = { method = "default" } },
    { name = "b", traffic = "net.dst.port == 2", egress = { method = "default" } },
    { name = "c", traffic = "net.dst.port == 3", egress = { method = "default" } },
    { name = "rest", egress = { method = "default" } },
  ]
  timeouts = { create = "2m" }
}`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: func(*terraform.State) error {
				if names := env.EgressRuleNames(t); len(names) != 4 {
					return fmt.Errorf("account has %v", names)
				}
				if n := env.Emu.Stats().Faults["rate_limited"]; n == 0 {
					return fmt.Errorf("the emulator never locked the token out: the test proves nothing")
				}
				return nil
			},
		}},
	})
}

// TestAccProvider_lockoutPastTheTimeout: a lockout longer than the
// resource's timeout fails the apply at once, saying so and what to do.
func TestAccProvider_lockoutPastTheTimeout(t *testing.T) {
	env := newAccEnv(t, accOptions{Emulator: func(c *emulator.Config) {
		c.RateLimit, c.RateWindow, c.Lockout = 2, time.Hour, time.Hour
	}})
	env.needEmulator(t)
	cfg := env.Config(`resource "cfegress_egress_policies" "this" {
  policies = [
    { name = "a", traffic = "net.dst.port == 1", egress = { method = "default" } },
    { name = "b", traffic = "net.dst.port == 2", egress = { method = "default" } },
    { name = "rest", egress = { method = "default" } },
  ]
  timeouts = { create = "1m" }
}`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      cfg,
			ExpectError: regexp.MustCompile(`(?s)rate[-\s]+limit[-\s]+lockout\s+lasts.*past\s+this\s+operation's\s+deadline.*raise\s+the\s+resource's\s+timeouts`),
		}},
	})
}
