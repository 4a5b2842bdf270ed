// Command cfegress-emulator serves a loopback emulator of Cloudflare's
// Gateway rules API (see package internal/emulator) for the demo, manual
// testing and CI.
//
//	cfegress-emulator -token secret -account 0123456789abcdef0123456789abcdef \
//	    -inventory inventory.json -state state.json -seed-rules rules.json
//
// It prints one line, "cfegress-emulator listening on http://HOST:PORT", and
// exits cleanly on SIGINT or SIGTERM. The token is never printed.
//
// By default it plays Cloudflare's published limits (1,200 requests per token
// per 5 minutes, then every call refused for 5 minutes; 500 egress policies;
// 140,000 characters per expression). Switches play the other published
// behaviours: -egress-only / -scoped-token (a permission-scoped token),
// -not-found 404|invalid-rule-id|7003, -omit-filters, -list-page-size, and
// read_only / warning_status rules through -seed-rules.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// inventoryEntry is one element of the -inventory file.
type inventoryEntry struct {
	IPv4      string `json:"ipv4"`
	IPv6Range string `json:"ipv6_range"`
	Colo      string `json:"colo"`
}

type accountsFlag []string

func (a *accountsFlag) String() string { return strings.Join(*a, ",") }
func (a *accountsFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*a = append(*a, p)
		}
	}
	return nil
}

// options are the flags that are not emulator.Config fields.
type options struct {
	listen    string
	seedRules string
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, opts, code := parseFlags(args, stderr)
	if code != 0 {
		return code
	}
	accounts := cfg.AccountIDs
	emu, err := emulator.Load(cfg)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "cfegress-emulator: -state: %v\n", err)
		return 1
	}
	if opts.seedRules != "" {
		acct := emulator.DefaultAccountID
		if len(accounts) > 0 {
			acct = accounts[0]
		}
		if len(emu.Rules(acct)) == 0 {
			data, err := os.ReadFile(opts.seedRules)
			if err != nil {
				_, _ = fmt.Fprintf(stderr, "cfegress-emulator: -seed-rules: %v\n", err)
				return 2
			}
			var rules []emulator.Rule
			if err := json.Unmarshal(data, &rules); err != nil {
				_, _ = fmt.Fprintf(stderr, "cfegress-emulator: -seed-rules %s: not a JSON list of rules: %v\n", opts.seedRules, err)
				return 2
			}
			if err := emu.SeedRules(acct, rules); err != nil {
				_, _ = fmt.Fprintf(stderr, "cfegress-emulator: -seed-rules %s: %v\n", opts.seedRules, err)
				return 2
			}
		}
	}
	// Catch signals before announcing the URL, so a signal sent right after
	// the line is printed is handled.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	url, err := emu.Start(opts.listen)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "cfegress-emulator: %v\n", err)
		return 1
	}
	// Diagnostics above and this announcement are best effort: if the
	// stream is gone there is nowhere left to report that to.
	_, _ = fmt.Fprintf(stdout, "cfegress-emulator listening on %s\n", url)
	<-ctx.Done()
	if err := emu.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_, _ = fmt.Fprintf(stderr, "cfegress-emulator: shutting down: %v\n", err)
		return 1
	}
	return 0
}

// parseFlags turns the command line into the emulator's Config; a non-zero
// code means: exit with it (the problem was written to stderr).
func parseFlags(args []string, stderr io.Writer) (emulator.Config, options, int) {
	fs := flag.NewFlagSet("cfegress-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var accounts accountsFlag
	listen := fs.String("listen", "127.0.0.1:8787", "address to listen on (loopback)")
	token := fs.String("token", "", "API token clients must send as 'Authorization: Bearer TOKEN' (default: env CLOUDFLARE_API_TOKEN; empty accepts any token)")
	fs.Var(&accounts, "account", "account ID the token owns (repeat or comma-separate; default 0123456789abcdef0123456789abcdef)")
	invPath := fs.String("inventory", "", "JSON file: list of {ipv4, ipv6_range, colo} dedicated egress IPs (default: NRT 203.0.113.10 2001:db8:10::/64, LAX 203.0.113.20 2001:db8:20::/64)")
	statePath := fs.String("state", "", "JSON file to persist rules across restarts (atomic writes)")
	seed := fs.Int64("seed", 1, "seed for rule IDs, assigned precedences and faults")
	seedRules := fs.String("seed-rules", "", "JSON file: list of Gateway rules (any kind; read_only, sharable, source_account and warning_status may be set) to seed into the first account, when the state file has none")
	f429 := fs.Float64("fault-429-rate", 0, "probability of a 429 with Retry-After")
	f5xx := fs.Float64("fault-5xx-rate", 0, "probability of a 5xx answer")
	fDrop := fs.Float64("fault-drop-rate", 0, "probability of closing the connection without an answer")
	fLost := fs.Float64("fault-lost-response-rate", 0, "probability that a write is applied but its answer lost")
	latency := fs.Duration("latency", 0, "latency added to every API request")
	rateLimit := fs.String("rate-limit", "1200/300", "per-token rate limit N/SECONDS (Cloudflare: 1200/300); 'off' disables")
	lockout := fs.Duration("lockout", 5*time.Minute, "past the rate limit, every call of the token is 429 for this long (Cloudflare: 5m); 0: only the calls over the limit are refused")
	egressOnly := fs.Bool("egress-only", false, "the token is permission-scoped to egress policies: the list and GET hide other rules, whose precedence numbers still collide")
	scopedToken := fs.String("scoped-token", "", "a second accepted token, permission-scoped to egress policies (see -egress-only)")
	notFound := fs.String("not-found", "404", "how an unknown rule ID is answered: 404, invalid-rule-id (400) or 7003 (400), as Cloudflare has answered")
	omitFilters := fs.Bool("omit-filters", false, "leave \"filters\" out of rules in responses")
	maxPolicies := fs.Int("max-egress-policies", emulator.DefaultMaxEgressPolicies, "egress policies per account (Cloudflare's default: 500); 0 or negative: no limit")
	maxExpr := fs.Int("max-expression-length", emulator.DefaultMaxExpressionLength, "characters per expression (Cloudflare: 140000); negative: no limit")
	pageSize := fs.Int("list-page-size", 0, "answer lists in pages of this many rules, with a result_info that says so (Cloudflare's list is one page); 0: one page")
	if err := fs.Parse(args); err != nil {
		return emulator.Config{}, options{}, 2
	}
	usage := func(format string, a ...any) (emulator.Config, options, int) {
		_, _ = fmt.Fprintf(stderr, "cfegress-emulator: "+format+"\n", a...)
		return emulator.Config{}, options{}, 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *token == "" {
		*token = os.Getenv("CLOUDFLARE_API_TOKEN")
	}
	for name, r := range map[string]float64{"-fault-429-rate": *f429, "-fault-5xx-rate": *f5xx, "-fault-drop-rate": *fDrop, "-fault-lost-response-rate": *fLost} {
		if r < 0 || r > 1 {
			return usage("%s must be between 0 and 1, got %v", name, r)
		}
	}
	nf, err := emulator.ParseNotFoundStyle(*notFound)
	if err != nil {
		return usage("-not-found: %v", err)
	}
	if *lockout < 0 {
		return usage("-lockout must not be negative, got %v", *lockout)
	}
	if *maxExpr == 0 {
		return usage("-max-expression-length 0 would refuse every expression: use a negative value for no limit")
	}
	cfg := emulator.Config{
		Token:      *token,
		AccountIDs: accounts,
		Seed:       *seed,
		StatePath:  *statePath,
		Faults: emulator.Faults{
			Rate429: *f429, Rate5xx: *f5xx, RateDrop: *fDrop, RateLostResponse: *fLost, Latency: *latency,
		},
		Lockout:             *lockout,
		EgressOnly:          *egressOnly,
		ScopedToken:         *scopedToken,
		NotFound:            nf,
		OmitFilters:         *omitFilters,
		MaxEgressPolicies:   *maxPolicies,
		MaxExpressionLength: *maxExpr,
		ListPageSize:        *pageSize,
	}
	n, win, err := parseRateLimit(*rateLimit)
	if err != nil {
		return usage("-rate-limit: %v", err)
	}
	cfg.RateLimit, cfg.RateWindow = n, win
	if *invPath != "" {
		inv, err := readInventory(*invPath)
		if err != nil {
			return usage("-inventory: %v", err)
		}
		cfg.Inventory = inv
	}
	return cfg, options{listen: *listen, seedRules: *seedRules}, 0
}

// parseRateLimit reads "N/SECONDS" (e.g. "1200/300"); "off" or "0" disables.
func parseRateLimit(s string) (int, time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return -1, 0, nil
	}
	ns, ss, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want N/SECONDS, e.g. 1200/300", s)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n <= 0 {
		return 0, 0, fmt.Errorf("%q: N must be a positive integer", s)
	}
	sec, err := strconv.ParseFloat(ss, 64)
	if err != nil || sec <= 0 {
		return 0, 0, fmt.Errorf("%q: SECONDS must be a positive number", s)
	}
	return n, time.Duration(sec * float64(time.Second)), nil
}

func readInventory(path string) ([]engine.DedicatedIP, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var entries []inventoryEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("%s: want a JSON list of {\"ipv4\", \"ipv6_range\", \"colo\"}: %v", path, err)
	}
	var inv []engine.DedicatedIP
	for i, e := range entries {
		v4, err := netip.ParseAddr(e.IPv4)
		if err != nil || !v4.Is4() {
			return nil, fmt.Errorf("%s: entry %d: ipv4 %q is not an IPv4 address", path, i, e.IPv4)
		}
		v6, err := netip.ParsePrefix(e.IPv6Range)
		if err != nil || !v6.Addr().Is6() {
			return nil, fmt.Errorf("%s: entry %d: ipv6_range %q is not an IPv6 CIDR", path, i, e.IPv6Range)
		}
		if e.Colo == "" {
			return nil, fmt.Errorf("%s: entry %d: colo is empty (an IATA code such as NRT)", path, i)
		}
		inv = append(inv, engine.DedicatedIP{IPv4: v4, IPv6Range: v6.Masked(), Colo: strings.ToUpper(e.Colo)})
	}
	if len(inv) == 0 {
		return nil, fmt.Errorf("%s: the inventory is empty", path)
	}
	return inv, nil
}
