package provider

// Shared acceptance-test harness (used by the resource tests and by the
// simulation helper's data source tests).
//
//	env := newAccEnv(t)              // skips without TF_ACC; t.Parallel() against the emulator
//	resource.Test(t, resource.TestCase{
//		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
//		Steps: []resource.TestStep{{Config: env.Config(`resource "..." "x" { ... }`)}},
//	})
//
// By default every test starts its own in-process emulator (internal/emulator)
// on loopback, so tests are independent and run in parallel. With
// CFEGRESS_ACC_REAL=1, CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID set, the
// same tests target real Cloudflare instead (serially, one account): the
// harness then refuses to start when the account already has egress rules,
// unless CFEGRESS_ACC_SCRATCH_ACCOUNT=1 says the account is a scratch account
// whose egress rules the tests may delete. The real account's dedicated IPs
// are given as CFEGRESS_ACC_INVENTORY="ipv4,ipv6_range,colo;ipv4,ipv6_range,colo".
// Tests that need the emulator itself (fault injection, out-of-band edits,
// request counts) call env.needEmulator(t) and are skipped against Cloudflare.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

const (
	envAccReal    = "CFEGRESS_ACC_REAL"
	envAccScratch = "CFEGRESS_ACC_SCRATCH_ACCOUNT"
	envAccInv     = "CFEGRESS_ACC_INVENTORY"
)

// accEnv is where one acceptance test's provider points.
type accEnv struct {
	Token     string
	AccountID string
	BaseURL   string
	// Emu is the test's emulator; nil against real Cloudflare.
	Emu *emulator.Emulator
	// Inventory is the account's dedicated egress IPs.
	Inventory []engine.DedicatedIP
}

// accOptions tune the emulator of one test.
type accOptions struct {
	// Inventory overrides the emulator's default (NRT + LAX) inventory.
	Inventory []engine.DedicatedIP
	// Seed are rules present before the test starts (emulator only).
	Seed []emulator.Rule
	// Emulator, when set, adjusts the emulator's configuration (emulator
	// only: tests that need it call needEmulator).
	Emulator func(*emulator.Config)
}

// accReal reports whether the suite targets real Cloudflare.
func accReal() bool { return os.Getenv(envAccReal) == "1" }

// realAccountChecked makes the "refuse unless scratch" check once per run.
var realAccountChecked struct {
	once sync.Once
	err  error
}

// newAccEnv returns the test's target. It skips the test unless TF_ACC is
// set and, against the emulator, marks it parallel.
func newAccEnv(t *testing.T, opts ...accOptions) *accEnv {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	var o accOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if accReal() {
		return newRealAccEnv(t, o)
	}
	t.Parallel()
	token := "cfegress-acc-" + randomHex(t, 16)
	inv := o.Inventory
	if len(inv) == 0 {
		inv = emulator.DefaultInventory()
	}
	ecfg := emulator.Config{Token: token, Inventory: inv, RateLimit: -1}
	if o.Emulator != nil {
		o.Emulator(&ecfg)
	}
	emu := emulator.New(ecfg)
	if len(o.Seed) > 0 {
		if err := emu.SeedRules(emulator.DefaultAccountID, o.Seed); err != nil {
			t.Fatalf("seeding the emulator: %v", err)
		}
	}
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("starting the emulator: %v", err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	return &accEnv{Token: token, AccountID: emulator.DefaultAccountID, BaseURL: url, Emu: emu, Inventory: inv}
}

func newRealAccEnv(t *testing.T, o accOptions) *accEnv {
	t.Helper()
	token, account := os.Getenv(envAPIToken), os.Getenv(envAccountID)
	if token == "" || account == "" {
		t.Fatalf("%s=1 needs %s and %s", envAccReal, envAPIToken, envAccountID)
	}
	if len(o.Seed) > 0 {
		t.Skip("needs seeded rules: emulator only")
	}
	inv, err := parseInventory(os.Getenv(envAccInv))
	if err != nil {
		t.Fatalf("%s: %v", envAccInv, err)
	}
	env := &accEnv{Token: token, AccountID: account, BaseURL: os.Getenv(envBaseURL), Inventory: inv}
	realAccountChecked.once.Do(func() {
		rules, err := env.listEgressRules(context.Background())
		if err != nil {
			realAccountChecked.err = fmt.Errorf("listing the account's egress rules: %w", err)
			return
		}
		if len(rules) > 0 && os.Getenv(envAccScratch) != "1" {
			realAccountChecked.err = fmt.Errorf("account %s already has %d egress rules; the acceptance tests would delete them. "+
				"Use a scratch account, or set %s=1 to allow deleting them", account, len(rules), envAccScratch)
		}
	})
	if realAccountChecked.err != nil {
		t.Fatal(realAccountChecked.err)
	}
	return env
}

// parseInventory parses "ipv4,ipv6_range,colo;...".
func parseInventory(s string) ([]engine.DedicatedIP, error) {
	var inv []engine.DedicatedIP
	for _, item := range strings.Split(s, ";") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		p := strings.Split(item, ",")
		if len(p) != 3 {
			return nil, fmt.Errorf("%q is not ipv4,ipv6_range,colo", item)
		}
		a, err := netip.ParseAddr(strings.TrimSpace(p[0]))
		if err != nil {
			return nil, err
		}
		r, err := netip.ParsePrefix(strings.TrimSpace(p[1]))
		if err != nil {
			return nil, err
		}
		inv = append(inv, engine.DedicatedIP{IPv4: a, IPv6Range: r, Colo: strings.ToUpper(strings.TrimSpace(p[2]))})
	}
	return inv, nil
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// needEmulator skips the test against real Cloudflare.
func (e *accEnv) needEmulator(t *testing.T) {
	t.Helper()
	if e.Emu == nil {
		t.Skip("needs the emulator (fault injection, out-of-band edits or request counts)")
	}
}

// ProviderBlock is the provider configuration for this target.
func (e *accEnv) ProviderBlock() string { return e.ProviderBlockWith("") }

// ConfigWith is Config with extra provider arguments (e.g. "max_retries = 0").
func (e *accEnv) ConfigWith(providerExtra, body string) string {
	return e.ProviderBlockWith(providerExtra) + "\n" + body
}

// ProviderBlockWith is ProviderBlock with extra provider arguments.
func (e *accEnv) ProviderBlockWith(extra string) string {
	var b strings.Builder
	// An explicit source: import steps run `terraform init` on the
	// configuration alone, where the implicit hashicorp/cfegress would not
	// match the provider under test.
	b.WriteString("terraform {\n  required_providers {\n    cfegress = { source = \"cfegress/cfegress\" }\n  }\n}\n\n")
	b.WriteString("provider \"cfegress\" {\n")
	fmt.Fprintf(&b, "  api_token  = %q\n", e.Token)
	fmt.Fprintf(&b, "  account_id = %q\n", e.AccountID)
	if e.BaseURL != "" {
		fmt.Fprintf(&b, "  base_url   = %q\n", e.BaseURL)
	}
	if e.Emu != nil {
		b.WriteString("  requests_per_second = 1000\n")
	}
	if extra != "" {
		b.WriteString("  " + extra + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// Config is the provider block followed by body.
func (e *accEnv) Config(body string) string { return e.ProviderBlock() + "\n" + body }

// InventoryResources declares the inventory as cfegress_dedicated_egress_ip
// resources named ip0, ip1, ... and returns the HCL.
func (e *accEnv) InventoryResources() string {
	var b strings.Builder
	for i, d := range e.Inventory {
		fmt.Fprintf(&b, "resource \"cfegress_dedicated_egress_ip\" \"ip%d\" {\n  ipv4       = %q\n  ipv6_range = %q\n  colo       = %q\n}\n\n",
			i, d.IPv4, d.IPv6Range, d.Colo)
	}
	return b.String()
}

// InventoryRefs is the HCL list of the InventoryResources:
// [cfegress_dedicated_egress_ip.ip0, ...].
func (e *accEnv) InventoryRefs() string {
	refs := make([]string, len(e.Inventory))
	for i := range e.Inventory {
		refs[i] = fmt.Sprintf("cfegress_dedicated_egress_ip.ip%d", i)
	}
	return "[" + strings.Join(refs, ", ") + "]"
}

// InventoryLiteral is the inventory as an HCL list of object literals.
func (e *accEnv) InventoryLiteral() string {
	items := make([]string, len(e.Inventory))
	for i, d := range e.Inventory {
		items[i] = fmt.Sprintf("{ ipv4 = %q, ipv6_range = %q, colo = %q }", d.IPv4, d.IPv6Range, d.Colo)
	}
	return "[" + strings.Join(items, ", ") + "]"
}

// client is an API client for this target (checks from the test side).
func (e *accEnv) client() (cfapi.Client, error) {
	return newAPIClient(context.Background(), apiConfig{
		token: e.Token, baseURL: orDefault(e.BaseURL, defaultBaseURL), requestsPerSecond: 50, maxRetries: 4,
	})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// listEgressRules returns the account's egress rules in precedence order.
func (e *accEnv) listEgressRules(ctx context.Context) ([]cfapi.Rule, error) {
	if e.Emu != nil {
		var out []cfapi.Rule
		for _, r := range e.Emu.Rules(e.AccountID) {
			if r.IsEgress() {
				out = append(out, ruleFromEmulator(r))
			}
		}
		return out, nil
	}
	c, err := e.client()
	if err != nil {
		return nil, err
	}
	rules, err := c.ListRules(ctx, e.AccountID)
	if err != nil {
		return nil, err
	}
	var out []cfapi.Rule
	for _, r := range rules {
		if cfapi.IsEgress(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// EgressRules is listEgressRules for tests (fails the test on error).
func (e *accEnv) EgressRules(t *testing.T) []cfapi.Rule {
	t.Helper()
	rules, err := e.listEgressRules(context.Background())
	if err != nil {
		t.Fatalf("listing egress rules: %v", err)
	}
	return rules
}

// EgressRuleNames is the names of the account's egress rules in order.
func (e *accEnv) EgressRuleNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, r := range e.EgressRules(t) {
		names = append(names, r.Name)
	}
	return names
}

// Writes is the number of API writes (POST, PUT, PATCH, DELETE) the
// emulator has answered so far.
func (e *accEnv) Writes(t *testing.T) int {
	t.Helper()
	e.needEmulator(t)
	n := 0
	for route, c := range e.Emu.Stats().ByRoute {
		if !strings.HasPrefix(route, "GET ") {
			n += c
		}
	}
	return n
}

// ruleFromEmulator converts an emulator rule to the API layer's Rule.
func ruleFromEmulator(r emulator.Rule) cfapi.Rule {
	out := cfapi.Rule{
		ID: r.ID, Name: r.Name, Description: r.Description, Precedence: r.Precedence, Enabled: r.Enabled,
		Action: r.Action, Filters: append([]string(nil), r.Filters...), Traffic: r.Traffic, Identity: r.Identity,
		DevicePosture: r.DevicePosture, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if eg := r.RuleSettings.Egress; eg != nil {
		out.Egress = &cfapi.EgressSettings{IPv4: eg.IPv4, IPv6: eg.IPv6, IPv4Fallback: eg.IPv4Fallback}
	}
	return out
}

// emulatorEgressRule builds an egress rule for SeedRules / PutRule.
func emulatorEgressRule(name, traffic string, eg *emulator.EgressSettings) emulator.Rule {
	return emulator.Rule{
		Name: name, Enabled: true, Action: "egress", Filters: []string{"egress"},
		Traffic: traffic, RuleSettings: emulator.RuleSettings{Egress: eg},
	}
}
