// Package emulator is a loopback emulator of Cloudflare's Gateway rules API
// (SPEC §6): the endpoints the provider uses, Cloudflare's response envelope,
// bearer-token and account checks, Cloudflare's validation of egress rules,
// precedence rules, expression re-formatting, persistence, deterministic fault
// injection, and a session-log simulation computed by the decision engine.
//
// Endpoints (each served with and without the /client/v4 prefix):
//
//	GET    /accounts/{account_id}/gateway/rules            list (one page, every rule)
//	POST   /accounts/{account_id}/gateway/rules            create
//	GET    /accounts/{account_id}/gateway/rules/{rule_id}  read
//	PUT    /accounts/{account_id}/gateway/rules/{rule_id}  replace the whole rule
//	PATCH  /accounts/{account_id}/gateway/rules/{rule_id}  update the fields given
//	DELETE /accounts/{account_id}/gateway/rules/{rule_id}  delete
//
// Observability (no auth, never faulted, never counted):
//
//	GET  /__emulator/stats                                  Stats as JSON
//	POST /__emulator/reset                                  Reset()
//	GET  /__emulator/accounts/{account_id}/rules            raw stored rules
//	POST /__emulator/accounts/{account_id}/sessions         flows -> session-log records
//
// Error answers (HTTP status, errors[0].code, message). Where Cloudflare has
// published an answer the emulator gives the same one; its own codes (97xxx)
// are outside the ranges Cloudflare uses (1xxx, 2xxx, 6xxx, 7xxx, 9xxx,
// 10xxx), so no client can come to rely on a code Cloudflare never sent:
//
//	403 10000 "Authentication error"                     missing or wrong bearer token, or a
//	          scoped token writing a rule it may not (Cloudflare answers both with 10000)
//	403  9109 "Unauthorized to access requested resource" a well-formed account ID the token does not own
//	400  7003 "Could not route to /client/v4/accounts/..., perhaps your object identifier is invalid?"
//	          (plus 7000 "No route for that URI")           malformed account ID or unknown path
//	404 CodeNotFound "invalid rule id"                    unknown rule ID (Config.NotFound: or 400
//	          "invalid rule id", or 400 7003, as Cloudflare has answered)
//	400  2055 "Account doesn't own dedicated primary IPv4" rule_settings.egress.ipv4 not in the inventory
//	400 CodeValidation / CodePrecedence / CodeBadJSON     validation (message names the field)
//	400 CodeTooManyPolicies / CodeExpressionTooLong       account limits (Config.MaxEgressPolicies,
//	          MaxExpressionLength)
//	400 CodeReadOnly                                      a write to a read_only (shared) rule
//	405 CodeMethod                                        method not allowed on the path
//	429   971 "Please wait and consider throttling your request speed" (+ Retry-After)
//	5xx CodeServer                                        injected server errors
//
// Sources: 10000 for a bad token and for a missing permission, and the
// 5-minute lockout: developers.cloudflare.com/fundamentals/api/reference/limits/
// (cloudflare/cloudflare-docs src/content/partials/fundamentals/api-rate-limits.mdx);
// "invalid rule id": cloudflare/terraform-provider-cloudflare#1618 and
// #1622; 7003 on a rule path: cloudflare/terraform-provider-cloudflare#3223;
// 2055: the official provider's
// internal/services/zero_trust_gateway_policy/resource_test.go
// (TestAccCloudflareTeamsRule_EgressDedicated). Cloudflare publishes no code
// or text for a precedence clash or a bad expression: clients must not rely
// on the emulator's.
//
// The default inventory (Config.Inventory empty) has two colos:
//
//	NRT 203.0.113.10  2001:db8:10::/64
//	LAX 203.0.113.20  2001:db8:20::/64
package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// DefaultAccountID is the account the emulator serves when Config.AccountIDs
// is empty.
const DefaultAccountID = "0123456789abcdef0123456789abcdef"

// Error codes the emulator answers with (see the package doc). The first
// group and CodeDedicatedIPv4NotOwned are Cloudflare's; the 97xxx codes are
// the emulator's own.
const (
	CodeAuthentication        = 10000
	CodeUnauthorized          = 9109
	CodeRoute                 = 7003
	CodeNoRoute               = 7000
	CodeRateLimited           = 971
	CodeDedicatedIPv4NotOwned = 2055

	CodeValidation        = 97001
	CodePrecedence        = 97002
	CodeNotFound          = 97003
	CodeBadJSON           = 97004
	CodeMethod            = 97005
	CodeServer            = 97006
	CodeTooManyPolicies   = 97007
	CodeExpressionTooLong = 97008
	CodeReadOnly          = 97009
)

// Cloudflare's published account limits (cloudflare/cloudflare-docs
// src/content/docs/cloudflare-one/account-limits.mdx: "Egress policies per
// account 500", "Gateway API policy expression 140,000" characters; "These
// limits may be increased on Enterprise accounts").
const (
	DefaultMaxEgressPolicies   = 500
	DefaultMaxExpressionLength = 140000
)

// NotFoundStyle is how an unknown rule ID is answered; Cloudflare has
// answered each of them (see the package doc).
type NotFoundStyle int

const (
	// NotFound404 answers 404 CodeNotFound "invalid rule id" (default).
	NotFound404 NotFoundStyle = iota
	// NotFoundInvalidRuleID answers 400 "invalid rule id".
	NotFoundInvalidRuleID
	// NotFoundRoute answers 400 7003 "Could not route to ..., perhaps your
	// object identifier is invalid?".
	NotFoundRoute
)

// ParseNotFoundStyle reads "404", "invalid-rule-id" or "7003".
func ParseNotFoundStyle(s string) (NotFoundStyle, error) {
	switch s {
	case "404", "":
		return NotFound404, nil
	case "invalid-rule-id", "400":
		return NotFoundInvalidRuleID, nil
	case "7003":
		return NotFoundRoute, nil
	}
	return 0, fmt.Errorf("unknown not-found style %q: use 404, invalid-rule-id or 7003", s)
}

// DefaultInventory is the built-in two-colo inventory.
func DefaultInventory() []engine.DedicatedIP {
	return []engine.DedicatedIP{
		{IPv4: netip.MustParseAddr("203.0.113.10"), IPv6Range: netip.MustParsePrefix("2001:db8:10::/64"), Colo: "NRT"},
		{IPv4: netip.MustParseAddr("203.0.113.20"), IPv6Range: netip.MustParsePrefix("2001:db8:20::/64"), Colo: "LAX"},
	}
}

// Config configures an Emulator. Zero values take the documented defaults.
type Config struct {
	// Token is the API token every API request must carry as
	// "Authorization: Bearer <token>". Empty: any non-empty bearer token is
	// accepted (a missing one is still refused).
	Token string
	// AccountIDs are the accounts the token owns. Default: [DefaultAccountID].
	AccountIDs []string
	// Inventory is every account's dedicated egress IPs. Default:
	// DefaultInventory().
	Inventory []engine.DedicatedIP
	// AccountInventory overrides Inventory for the accounts it names.
	AccountInventory map[string][]engine.DedicatedIP
	// Seed makes rule IDs, assigned precedences and faults deterministic.
	Seed int64
	// Faults to inject; see Faults.
	Faults Faults
	// RateLimit requests per RateWindow (default 1200 per 300s, Cloudflare's
	// budget); over it the emulator answers 429 with Retry-After. A negative
	// RateLimit disables the limit.
	RateLimit  int
	RateWindow time.Duration
	// Lockout, when > 0, is Cloudflare's behaviour past the budget: once a
	// token exceeds RateLimit requests in RateWindow, every call with it is
	// answered 429 (Retry-After: the seconds left) for Lockout (Cloudflare:
	// 1,200 per 5 minutes, then 5 minutes blocked). 0 keeps the older
	// behaviour: only requests over the limit are refused, with a Retry-After
	// until the window has room. The window is counted per token either way.
	Lockout time.Duration
	// EgressOnly makes Token a permission-scoped token that may only read and
	// write egress policies (Gateway granular permissions, changelog
	// 2026-06-30): the list and GET hide every other rule (a GET, PUT, PATCH
	// or DELETE of one is answered as an unknown ID), writing a non-egress
	// rule is 403 10000, but the hidden rules' precedence numbers still
	// collide with writes.
	EgressOnly bool
	// ScopedToken, when set, is a second accepted token with the EgressOnly
	// view (Token keeps its full view unless EgressOnly is set).
	ScopedToken string
	// NotFound is how an unknown rule ID is answered (default 404).
	NotFound NotFoundStyle
	// OmitFilters leaves "filters" out of every rule in responses; action
	// "egress" still marks an egress rule. Modelled from the project's audit
	// (SPEC §6, issue 11): no public source was found that shows such a
	// response, and Cloudflare's OpenAPI (cloudflare-go v7 GatewayRule) marks
	// filters required, so clients must survive it without relying on it.
	OmitFilters bool
	// MaxEgressPolicies, when > 0, is the account's limit of egress rules
	// (Cloudflare's default is DefaultMaxEgressPolicies, 500, raised on
	// request for Enterprise accounts); a create past it is 400
	// CodeTooManyPolicies. 0 or negative: no limit (most tests model a
	// raised limit).
	MaxEgressPolicies int
	// MaxExpressionLength is the limit of characters per expression (traffic,
	// identity, device_posture); default DefaultMaxExpressionLength
	// (140,000); negative: no limit. Past it: 400 CodeExpressionTooLong.
	MaxExpressionLength int
	// ListPageSize, when > 0, makes the list answer at most this many rules
	// per page (?page=N, default 1) with a result_info that says how many
	// pages and rules there are. Cloudflare's Gateway rules list is one page;
	// this plays an answer that says it is not.
	ListPageSize int
	// StatePath, when set, persists every account's rules in this JSON file
	// (written atomically: temp file, fsync, rename) and loads it on start.
	StatePath string
	// Now is the clock (default time.Now); tests may fix it.
	Now func() time.Time
}

// Faults are injected deterministically (seeded) into API requests; the
// __emulator endpoints are never faulted. Rates are probabilities in [0,1].
type Faults struct {
	// Rate429: answer 429 with Retry-After.
	Rate429 float64
	// Rate5xx: answer 500, 502 or 503 without doing anything.
	Rate5xx float64
	// RateDrop: close the connection without answering, before doing anything.
	RateDrop float64
	// RateLostResponse: for writes (POST, PUT, PATCH, DELETE), commit the
	// write, then lose the answer (close the connection, or answer 502).
	RateLostResponse float64
	// RetryAfter is the Retry-After of random 429s (default 1s; sent in whole
	// seconds, rounded up; a negative value sends "0").
	RetryAfter time.Duration
	// Latency is added to every API request.
	Latency time.Duration
}

// Stats counts API requests (every request that reached the API routes,
// faulted or not; __emulator endpoints are not counted).
type Stats struct {
	Requests int `json:"requests"`
	// ByRoute counts by method and route pattern, e.g.
	// "GET /accounts/{account_id}/gateway/rules"; unknown paths count as
	// "<METHOD> (unknown)".
	ByRoute map[string]int `json:"by_route"`
	// Faults counts injected faults: "rate_limited" (over RateLimit), "429",
	// "5xx", "drop", "lost_response".
	Faults map[string]int `json:"faults"`
}

// Emulator is an in-memory (optionally persisted) Gateway rules API.
type Emulator struct {
	cfg Config

	mu       sync.Mutex
	faults   Faults
	accounts map[string]bool
	rules    map[string][]Rule // precedence order
	baseline map[string][]Rule // what SeedRules added, restored by Reset
	history  map[string][][]Rule
	stats    Stats
	windows  map[string]*tokenWindow // per token: accepted requests within RateWindow, lockout
	idRand   *rand.Rand
	ftRand   *rand.Rand
	rayN     uint64

	srv *http.Server
	ln  net.Listener
	// beforeWrite is the BeforeWrite hook.
	beforeWrite func(method, account, ruleID string)
}

// New returns an emulator. It panics if Config.StatePath names a file that
// exists but cannot be read; use Load to get that as an error.
func New(cfg Config) *Emulator {
	e, err := Load(cfg)
	if err != nil {
		panic(err)
	}
	return e
}

// Load is New with an error for an unreadable state file.
func Load(cfg Config) (*Emulator, error) {
	if len(cfg.AccountIDs) == 0 {
		cfg.AccountIDs = []string{DefaultAccountID}
	}
	if len(cfg.Inventory) == 0 {
		cfg.Inventory = DefaultInventory()
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 1200
	}
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = 300 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxExpressionLength == 0 {
		cfg.MaxExpressionLength = DefaultMaxExpressionLength
	}
	e := &Emulator{
		cfg:      cfg,
		faults:   normFaults(cfg.Faults),
		accounts: map[string]bool{},
		rules:    map[string][]Rule{},
		baseline: map[string][]Rule{},
		history:  map[string][][]Rule{},
	}
	for _, a := range cfg.AccountIDs {
		e.accounts[a] = true
	}
	e.resetLocked()
	if cfg.StatePath != "" {
		if err := e.loadState(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func normFaults(f Faults) Faults {
	if f.RetryAfter == 0 {
		f.RetryAfter = time.Second
	}
	return f
}

// resetLocked clears rules (back to the baseline), history, stats, the rate
// window and re-seeds the random streams.
func (e *Emulator) resetLocked() {
	seed := uint64(e.cfg.Seed)
	e.idRand = rand.New(rand.NewPCG(seed, 0x1d5))
	e.ftRand = rand.New(rand.NewPCG(seed, 0xfa17))
	e.rules = map[string][]Rule{}
	for a, rs := range e.baseline {
		e.rules[a] = cloneRules(rs)
	}
	e.history = map[string][][]Rule{}
	e.stats = Stats{ByRoute: map[string]int{}, Faults: map[string]int{}}
	e.windows = map[string]*tokenWindow{}
	e.rayN = 0
}

// Reset restores the state right after New and SeedRules: rules back to the
// seeded ones, history, stats and the rate-limit window cleared, random
// streams re-seeded. Faults are kept. With StatePath, the file is rewritten.
func (e *Emulator) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetLocked()
	_ = e.saveLocked(e.rules)
}

// SetFaults replaces the injected faults.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	e.faults = normFaults(f)
	e.mu.Unlock()
}

// SetListPageSize changes Config.ListPageSize (0: one page, as Cloudflare
// answers).
func (e *Emulator) SetListPageSize(n int) {
	e.mu.Lock()
	e.cfg.ListPageSize = n
	e.mu.Unlock()
}

// BeforeWrite sets a test hook called before every API write (POST, PUT,
// PATCH, DELETE) that passed authentication, with the method, account and
// rule ID ("" for a create), outside the emulator's lock: a test can change
// the account (PutRule, DeleteRule) just before a write reaches it. nil
// removes it.
func (e *Emulator) BeforeWrite(f func(method, account, ruleID string)) {
	e.mu.Lock()
	e.beforeWrite = f
	e.mu.Unlock()
}

// Stats returns a copy of the request counters.
func (e *Emulator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Requests: e.stats.Requests, ByRoute: map[string]int{}, Faults: map[string]int{}}
	for k, v := range e.stats.ByRoute {
		s.ByRoute[k] = v
	}
	for k, v := range e.stats.Faults {
		s.Faults[k] = v
	}
	return s
}

// Accounts returns the accounts the token owns.
func (e *Emulator) Accounts() []string { return append([]string(nil), e.cfg.AccountIDs...) }

// Inventory returns the account's dedicated egress IPs.
func (e *Emulator) Inventory(account string) []engine.DedicatedIP {
	if inv, ok := e.cfg.AccountInventory[account]; ok {
		return append([]engine.DedicatedIP(nil), inv...)
	}
	return append([]engine.DedicatedIP(nil), e.cfg.Inventory...)
}

// Rules returns a copy of the account's stored rules in precedence order.
func (e *Emulator) Rules(account string) []Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	rs := cloneRules(e.rules[account])
	if rs == nil {
		rs = []Rule{}
	}
	return rs
}

// History returns a snapshot of the account's rules (precedence order) after
// every successful write made through the HTTP API, oldest first. Out-of-band
// edits (SeedRules, PutRule, InsertRule, DeleteRule) are not recorded.
func (e *Emulator) History(account string) [][]Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := e.history[account]
	out := make([][]Rule, len(h))
	for i, s := range h {
		out[i] = cloneRules(s)
	}
	return out
}

// ClearHistory forgets every account's write history.
func (e *Emulator) ClearHistory() {
	e.mu.Lock()
	e.history = map[string][][]Rule{}
	e.mu.Unlock()
}

// SeedRules adds rules to an account, bypassing the API: DNS, network and
// HTTP rules, and legacy egress rules without ipv4_fallback, are allowed.
// Checked: the account exists, names are non-empty, filters has one entry,
// IDs and precedences are unique (within the seed and against stored
// rules). A missing ID gets a generated one, a zero precedence is assigned
// like Cloudflare does, zero timestamps become now. Seeded rules are the
// baseline that Reset restores. Expressions are stored as given.
func (e *Emulator) SeedRules(account string, rules []Rule) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.accounts[account] {
		return fmt.Errorf("emulator: account %q is not one of the emulator's accounts", account)
	}
	cur := cloneRules(e.rules[account])
	now := e.cfg.Now().UTC().Truncate(time.Microsecond)
	var added []Rule
	for i, r := range rules {
		r = r.clone()
		if r.Name == "" {
			return fmt.Errorf("emulator: seed rule %d: name is empty", i)
		}
		if len(r.Filters) != 1 {
			return fmt.Errorf("emulator: seed rule %d (%q): filters must have exactly one entry, got %d", i, r.Name, len(r.Filters))
		}
		if r.ID == "" {
			r.ID = e.newIDLocked()
		}
		for _, o := range cur {
			if o.ID == r.ID {
				return fmt.Errorf("emulator: seed rule %d (%q): id %s is already used", i, r.Name, r.ID)
			}
			if r.Precedence != 0 && o.Precedence == r.Precedence {
				return fmt.Errorf("emulator: seed rule %d (%q): precedence %d is already used by rule %q", i, r.Name, r.Precedence, o.Name)
			}
		}
		if r.Precedence == 0 {
			r.Precedence = e.assignPrecedenceLocked(cur)
		}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = r.CreatedAt
		}
		if r.Version == 0 {
			r.Version = 1
		}
		cur = append(cur, r)
		added = append(added, r)
	}
	sortRules(cur)
	if err := e.commitLocked(account, cur, false); err != nil {
		return err
	}
	e.baseline[account] = append(e.baseline[account], cloneRules(added)...)
	return nil
}

// PutRule stores r in the account as is, bypassing validation (out-of-band
// edit for tests, e.g. drift made in the dashboard): it replaces the rule
// with the same ID or adds it. A missing ID is generated, a zero
// precedence assigned. Precedence clashes are NOT checked. Returns the
// stored rule.
func (e *Emulator) PutRule(account string, r Rule) (Rule, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.accounts[account] {
		return Rule{}, fmt.Errorf("emulator: account %q is not one of the emulator's accounts", account)
	}
	cur := cloneRules(e.rules[account])
	r = r.clone()
	if r.ID == "" {
		r.ID = e.newIDLocked()
	}
	if r.Precedence == 0 {
		r.Precedence = e.assignPrecedenceLocked(cur)
	}
	now := e.cfg.Now().UTC().Truncate(time.Microsecond)
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.UpdatedAt = now
	replaced := false
	for i := range cur {
		if cur[i].ID == r.ID {
			if r.Version <= cur[i].Version {
				r.Version = cur[i].Version + 1
			}
			cur[i] = r
			replaced = true
		}
	}
	if !replaced {
		if r.Version == 0 {
			r.Version = 1
		}
		cur = append(cur, r)
	}
	sortRules(cur)
	return r.clone(), e.commitLocked(account, cur, false)
}

// InsertRule validates r like a POST would (including precedence
// uniqueness and expression reformatting) and stores it without going
// through HTTP, faults or history. Returns the stored rule.
func (e *Emulator) InsertRule(account string, r Rule) (Rule, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.accounts[account] {
		return Rule{}, fmt.Errorf("emulator: account %q is not one of the emulator's accounts", account)
	}
	stored, apiErr := e.createLocked(account, r, scopeAll)
	if apiErr != nil {
		return Rule{}, apiErr
	}
	return stored, nil
}

// DeleteRule removes a rule out-of-band (no validation, no history).
func (e *Emulator) DeleteRule(account, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.rules[account]
	for i := range cur {
		if cur[i].ID == id {
			next := append(cloneRules(cur[:i]), cloneRules(cur[i+1:])...)
			return e.commitLocked(account, next, false)
		}
	}
	return fmt.Errorf("emulator: account %q has no rule %q", account, id)
}

// newIDLocked returns a random (seeded) UUID-formatted ID, like Cloudflare's
// rule IDs.
func (e *Emulator) newIDLocked() string {
	for {
		id := e.randIDLocked()
		if !e.idTakenLocked(id) {
			return id
		}
	}
}

func (e *Emulator) idTakenLocked(id string) bool {
	for _, rs := range e.rules {
		for i := range rs {
			if rs[i].ID == id {
				return true
			}
		}
	}
	return false
}

func (e *Emulator) randIDLocked() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := e.idRand.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// assignPrecedenceLocked: Cloudflare's docs: a rule created without a
// precedence gets one above the current maximum, from 1000, plus a random
// 1-100.
func (e *Emulator) assignPrecedenceLocked(cur []Rule) uint64 {
	base := uint64(1000)
	for _, r := range cur {
		if r.Precedence > base {
			base = r.Precedence
		}
	}
	return base + 1 + e.idRand.Uint64N(100)
}

// commitLocked persists (when StatePath is set) and then installs the new
// rules of the account; with record it appends a history snapshot. On a
// persistence error nothing changes.
func (e *Emulator) commitLocked(account string, next []Rule, record bool) error {
	all := make(map[string][]Rule, len(e.rules)+1)
	for a, rs := range e.rules {
		all[a] = rs
	}
	all[account] = next
	if err := e.saveLocked(all); err != nil {
		return err
	}
	e.rules[account] = next
	if record {
		e.history[account] = append(e.history[account], cloneRules(next))
	}
	return nil
}

// stateFile is the persisted state.
type stateFile struct {
	Version  int               `json:"version"`
	Accounts map[string][]Rule `json:"accounts"`
}

func (e *Emulator) saveLocked(all map[string][]Rule) error {
	if e.cfg.StatePath == "" {
		return nil
	}
	st := stateFile{Version: 1, Accounts: map[string][]Rule{}}
	for a, rs := range all {
		if len(rs) > 0 {
			st.Accounts[a] = rs
		}
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("emulator: encoding state: %w", err)
	}
	return writeFileAtomic(e.cfg.StatePath, append(data, '\n'))
}

// writeFileAtomic writes data to a temp file in path's directory, syncs it
// and renames it over path, so a crash leaves either the old or the new
// file, never a torn one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("emulator: writing state file: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	// A failed Close can mean the data never reached the disk, so its error
	// is returned too (joined to the first failure on the error paths).
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("emulator: writing state file: %w", errors.Join(err, f.Close()))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("emulator: syncing state file: %w", errors.Join(err, f.Close()))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("emulator: writing state file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("emulator: replacing state file: %w", err)
	}
	ok = true
	// Syncing the directory (so the rename itself is durable) is best
	// effort: the new file is complete and in place either way, and a
	// read-only directory handle has nothing to flush on Close.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func (e *Emulator) loadState() error {
	data, err := os.ReadFile(e.cfg.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("emulator: reading state file %s: %w", e.cfg.StatePath, err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("emulator: state file %s is not valid JSON: %w (move it away to start empty)", e.cfg.StatePath, err)
	}
	for a, rs := range st.Accounts {
		sortRules(rs)
		e.rules[a] = rs
	}
	return nil
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves
// Handler in the background. It returns the base URL, e.g.
// "http://127.0.0.1:8787" (API paths work with and without /client/v4).
func (e *Emulator) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("emulator: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second}
	e.mu.Lock()
	e.srv, e.ln = srv, ln
	e.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the server started by Start (open connections are closed).
func (e *Emulator) Close() error {
	e.mu.Lock()
	srv := e.srv
	e.srv = nil
	e.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
