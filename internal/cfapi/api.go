package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/packages/pagination"
	"github.com/cloudflare/cloudflare-go/v7/zero_trust"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"
)

// DefaultBaseURL is Cloudflare's API, v4.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// Defaults for Config's zero values.
const (
	DefaultMaxRetries     = 4
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = 30 * time.Second
	DefaultMaxRetryAfter  = BudgetWindow // Cloudflare's lockout lasts 5 minutes
	DefaultRequestTimeout = 60 * time.Second
	DefaultUserAgent      = "terraform-provider-cfegress"
)

// LogFunc receives one structured log line. The API token never reaches it.
// Lines a user should see without debug logging carry LogLevelKey = "info".
type LogFunc func(ctx context.Context, msg string, fields map[string]any)

// LogLevelKey is the field that marks a log line's level ("info"); lines
// without it are debug lines.
const LogLevelKey = "log_level"

// Config configures New. Zero values mean the defaults above.
type Config struct {
	// APIToken is a Cloudflare API token (sent as "Authorization: Bearer").
	APIToken string
	// BaseURL is the API root, default DefaultBaseURL. Paths are appended to
	// it as given (e.g. "/accounts/ID/gateway/rules"), so an emulator's root
	// is passed unchanged, with or without "/client/v4". Plain http:// is
	// accepted for loopback hosts only (see CheckBaseURL).
	BaseURL string
	// RequestsPer5Minutes is this client's budget: at most this many
	// requests (retries included) in any sliding window of 5 minutes,
	// shared by every call and goroutine using the client. While the window
	// has room requests go out at once (bursts are allowed). Default
	// DefaultRequestsPer5Minutes (600, half of Cloudflare's 1,200 per user
	// per 5 minutes, which the dashboard shares); negative disables it.
	RequestsPer5Minutes int
	// RequestsPerSecond is an optional extra cap on the request rate
	// (retries included), on top of the 5-minute budget. 0: no such cap.
	RequestsPerSecond float64
	// MaxRetries is the number of retries after the first attempt (default
	// 4); negative disables retries.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff after a 5xx or
	// a dropped connection (defaults 1 s and 30 s).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter caps how long a Retry-After is honoured (default 5 min,
	// Cloudflare's lockout). A 429's Retry-After blocks every request of
	// the client until it ends (Cloudflare blocks every call), within each
	// call's context deadline.
	MaxRetryAfter time.Duration
	// RequestTimeout bounds one attempt, from sending to the end of the
	// answer (default 60 s); waits for the budget or a lockout before it are
	// bounded by the call's context only.
	RequestTimeout time.Duration
	// HTTPClient's Transport (and CheckRedirect, Jar) is used for the
	// actual requests; optional. Redirects to another host are never
	// followed, whatever CheckRedirect says.
	HTTPClient *http.Client
	// UserAgent, default DefaultUserAgent.
	UserAgent string
	// Logf receives request/retry logs (the provider plugs tflog in).
	Logf LogFunc
	// Clock is the time source of the budget and of Retry-After waits
	// (default: the real clock). For tests.
	Clock Clock
}

// String keeps the token out of %v and %+v.
func (c Config) String() string {
	tok := ""
	if c.APIToken != "" {
		tok = redacted
	}
	return fmt.Sprintf("cfapi.Config{APIToken:%s BaseURL:%s RequestsPer5Minutes:%d RequestsPerSecond:%g MaxRetries:%d}",
		tok, c.BaseURL, c.RequestsPer5Minutes, c.RequestsPerSecond, c.MaxRetries)
}

// GoString keeps the token out of %#v.
func (c Config) GoString() string { return c.String() }

// API implements Client over cloudflare-go v7 (zero_trust.GatewayRuleService).
// It is safe for concurrent use: the budget, the rate limiter and the
// retry machinery are shared by all calls.
type API struct {
	rules         *zero_trust.GatewayRuleService
	red           redactor
	logf          LogFunc
	baseURL       string
	maxRetries    int
	minBackoff    time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	budget        *budget
}

var _ Client = (*API)(nil)

// String keeps the token out of %v.
func (a *API) String() string { return "cfapi.API{" + a.baseURL + "}" }

// GoString keeps the token out of %#v.
func (a *API) GoString() string { return a.String() }

// RequestsPer5Minutes is the client's budget (negative: none).
func (a *API) RequestsPer5Minutes() int { return a.budget.limit }

// New builds an API client. It makes no request.
func New(cfg Config) (*API, error) {
	tok := strings.TrimSpace(cfg.APIToken)
	if tok == "" {
		return nil, errors.New("cfapi: the API token is empty: set api_token in the provider block or the CLOUDFLARE_API_TOKEN environment variable")
	}
	if strings.ContainsAny(tok, " \t\r\n") {
		return nil, errors.New("cfapi: the API token contains whitespace: copy it again from the Cloudflare dashboard (My Profile > API Tokens)")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if err := CheckBaseURL(base); err != nil {
		return nil, fmt.Errorf("cfapi: %w", err)
	}
	rps := cfg.RequestsPerSecond
	if rps < 0 || math.IsNaN(rps) {
		return nil, fmt.Errorf("cfapi: requests_per_second must be positive, got %g", cfg.RequestsPerSecond)
	}
	limit := cfg.RequestsPer5Minutes
	if limit == 0 {
		limit = DefaultRequestsPer5Minutes
	}
	clock := cfg.Clock
	if clock == nil {
		clock = realClock{}
	}
	a := &API{
		red:           redactor{token: tok},
		baseURL:       base,
		maxRetries:    cfg.MaxRetries,
		minBackoff:    orDefault(cfg.MinBackoff, DefaultMinBackoff),
		maxBackoff:    orDefault(cfg.MaxBackoff, DefaultMaxBackoff),
		maxRetryAfter: orDefault(cfg.MaxRetryAfter, DefaultMaxRetryAfter),
		budget:        newBudget(limit, BudgetWindow, clock),
	}
	switch {
	case a.maxRetries == 0:
		a.maxRetries = DefaultMaxRetries
	case a.maxRetries < 0:
		a.maxRetries = 0
	}
	a.maxBackoff = max(a.maxBackoff, a.minBackoff)
	if cfg.Logf != nil {
		a.logf = cfg.Logf
	}

	base0 := http.DefaultTransport
	var userRedirect func(*http.Request, []*http.Request) error
	// No http.Client.Timeout: it would also bound the budget's waits, which
	// happen inside the transport; attemptTransport times each attempt.
	inner := &http.Client{}
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			base0 = cfg.HTTPClient.Transport
		}
		userRedirect = cfg.HTTPClient.CheckRedirect
		inner.Jar = cfg.HTTPClient.Jar
	}
	inner.CheckRedirect = checkRedirect(userRedirect)
	limiter := rate.NewLimiter(rate.Inf, 1)
	if rps > 0 {
		limiter = rate.NewLimiter(rate.Limit(rps), 1)
	}
	inner.Transport = &attemptTransport{base: base0, limiter: limiter, api: a,
		timeout: orDefault(cfg.RequestTimeout, DefaultRequestTimeout)}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = inner
	rc.Logger = nil // it would log URLs to stderr; we log through Logf
	rc.RetryMax = a.maxRetries
	rc.RetryWaitMin = a.minBackoff
	rc.RetryWaitMax = a.maxBackoff
	rc.CheckRetry = a.checkRetry
	rc.Backoff = a.backoff
	// Hand the last response (or error) back instead of "giving up after N
	// attempts": the API layer classifies it.
	rc.ErrorHandler = func(resp *http.Response, err error, _ int) (*http.Response, error) {
		if err != nil && resp != nil {
			// A refused redirect comes with its 3xx response: the error is
			// what counts (and a RoundTripper must not return both).
			_ = resp.Body.Close()
			return nil, err
		}
		return resp, err
	}
	outer := rc.StandardClient()
	outer.CheckRedirect = checkRedirect(nil)

	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	// The service, not cloudflare.NewClient: the client reads
	// CLOUDFLARE_API_KEY, CLOUDFLARE_EMAIL, CLOUDFLARE_BASE_URL... from the
	// environment and would add their headers; everything here is explicit.
	a.rules = zero_trust.NewGatewayRuleService(
		option.WithBaseURL(base+"/"),
		option.WithHTTPClient(outer),
		option.WithAPIToken(tok),
		option.WithHeader("User-Agent", ua),
		// Retries, Retry-After and the budget are ours (see transport.go).
		option.WithMaxRetries(0),
	)
	return a, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// log sends a line to Logf with every string value redacted.
func (a *API) log(ctx context.Context, msg string, fields map[string]any) {
	if a.logf == nil {
		return
	}
	clean := make(map[string]any, len(fields))
	for k, v := range fields {
		switch x := v.(type) {
		case string:
			clean[k] = a.red.str(x)
		case error:
			clean[k] = a.red.str(x.Error())
		case []string:
			clean[k] = a.red.strs(x)
		default:
			clean[k] = v
		}
	}
	a.logf(ctx, a.red.str(msg), clean)
}

// ListRules returns every Gateway rule of the account (one request: the
// API returns all of them in a single page), sorted by precedence. An
// answer whose result_info says it holds more than it carries fails with
// ErrIncompleteList: a partial list is never returned (a caller would read
// the missing rules as deleted).
func (a *API) ListRules(ctx context.Context, accountID string) ([]Rule, error) {
	const op = "list rules"
	if err := checkID(op, "account_id", accountID); err != nil {
		return nil, err
	}
	ctx, rec := withRecord(ctx, false)
	page, cfErr := a.rules.List(ctx, listParams(accountID))
	if e := a.finish(ctx, op, false, rec, cfErr); e != nil {
		return nil, e
	}
	if page == nil {
		page = &pagination.SinglePage[zero_trust.GatewayRule]{}
	}
	if e := a.checkComplete(ctx, op, rec, len(page.Result)); e != nil {
		return nil, e
	}
	rules := make([]Rule, 0, len(page.Result))
	for _, t := range page.Result {
		rules = append(rules, fromGateway(t))
	}
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Precedence < rules[j].Precedence })
	return rules, nil
}

// CreateRule creates r (r.ID is ignored). Precedence 0 lets Cloudflare
// choose one. On KindAmbiguous the rule may exist: list and match by name.
func (a *API) CreateRule(ctx context.Context, accountID string, r Rule) (Rule, error) {
	op := fmt.Sprintf("create rule %q", r.Name)
	if err := checkID(op, "account_id", accountID); err != nil {
		return Rule{}, err
	}
	ctx, rec := withRecord(ctx, true)
	p := newParams(accountID, r)
	t, cfErr := a.rules.New(ctx, p)
	if got, ok := a.answeredAnyway(ctx, op, rec, cfErr); ok {
		return got, nil
	}
	if e := a.finish(ctx, op, true, rec, cfErr); e != nil {
		return Rule{}, e
	}
	return fromGateway(*t), nil
}

// answeredAnyway recovers a write that Cloudflare answered with success
// while the caller's context ended: cloudflare-go returns the context's
// error once it sees it ended after a request
// (internal/requestconfig.Execute: "if ctx != nil && ctx.Err() != nil {
// return ctx.Err() }"), discarding an answer the transport already read.
// The write was applied: its answer is decoded from the record, so that the
// caller records the change (an interrupted apply with several writes in
// flight otherwise loses the ones that landed).
func (a *API) answeredAnyway(ctx context.Context, op string, rec *callRecord, cfErr error) (Rule, bool) {
	if cfErr == nil || ctx.Err() == nil {
		return Rule{}, false
	}
	rec.mu.Lock()
	status, body := rec.status, rec.body
	rec.mu.Unlock()
	if status < 200 || status > 299 {
		return Rule{}, false
	}
	var env struct {
		Success bool                   `json:"success"`
		Result  zero_trust.GatewayRule `json:"result"`
	}
	if json.Unmarshal(body, &env) != nil || !env.Success {
		return Rule{}, false
	}
	a.log(ctx, "Cloudflare API write answered with success as the operation was canceled: the change is recorded", map[string]any{"op": op, "status": status})
	return fromGateway(env.Result), true
}

// UpdateRule replaces the whole rule r.ID with r (PUT): every field the
// client manages is sent (an empty description, identity or device posture
// as "", default egress as rule_settings.egress null); only a zero
// precedence is left out, which keeps the rule's current one.
func (a *API) UpdateRule(ctx context.Context, accountID string, r Rule) (Rule, error) {
	op := fmt.Sprintf("update rule %q (id %s)", r.Name, r.ID)
	if err := checkID(op, "account_id", accountID); err != nil {
		return Rule{}, err
	}
	if err := checkID(op, "rule id", r.ID); err != nil {
		return Rule{}, err
	}
	ctx, rec := withRecord(ctx, true)
	rec.ruleID = true
	p := updateParams(accountID, r)
	t, cfErr := a.rules.Update(ctx, r.ID, p)
	if got, ok := a.answeredAnyway(ctx, op, rec, cfErr); ok {
		return got, nil
	}
	if e := a.finish(ctx, op, true, rec, cfErr); e != nil {
		return Rule{}, e
	}
	return fromGateway(*t), nil
}

// DeleteRule deletes one rule. A not-found answer on a retry after an
// attempt whose response was lost means that attempt deleted it: that is a
// success.
func (a *API) DeleteRule(ctx context.Context, accountID, ruleID string) error {
	op := "delete rule " + ruleID
	if err := checkID(op, "account_id", accountID); err != nil {
		return err
	}
	if err := checkID(op, "rule id", ruleID); err != nil {
		return err
	}
	ctx, rec := withRecord(ctx, true)
	rec.ruleID = true
	_, cfErr := a.rules.Delete(ctx, ruleID, deleteParams(accountID))
	if _, ok := a.answeredAnyway(ctx, op, rec, cfErr); ok {
		return nil
	}
	e := a.finish(ctx, op, true, rec, cfErr)
	if e == nil {
		return nil
	}
	rec.mu.Lock()
	lostEarlier := rec.maybeApplied && rec.attempts > 1
	rec.mu.Unlock()
	if e.Kind == KindNotFound && lostEarlier {
		a.log(ctx, "Cloudflare API delete: not found after a lost response, the rule was deleted", map[string]any{"rule_id": ruleID})
		return nil
	}
	return e
}

func (a *API) finish(ctx context.Context, op string, write bool, rec *callRecord, cfErr error) *Error {
	e := classify(op, write, rec, cfErr, ctx.Err(), a.red)
	if e == nil {
		return nil
	}
	a.log(ctx, "Cloudflare API call failed", map[string]any{
		"op":       op,
		"kind":     e.Kind.String(),
		"status":   e.Status,
		"codes":    fmt.Sprint(e.Codes),
		"attempts": e.Attempts,
		"error":    e.Error(),
	})
	return e
}

// checkID rejects IDs that would change the request path.
func checkID(op, what, id string) *Error {
	var problem string
	switch {
	case id == "":
		problem = what + " is empty"
	case strings.ContainsAny(id, "/?#% \t\r\n"):
		problem = fmt.Sprintf("%s %q contains characters not allowed in a Cloudflare ID", what, id)
	default:
		return nil
	}
	return &Error{Kind: KindValidation, Op: op, Detail: problem}
}

// EgressRules keeps the egress rules of rules (IsEgress), in order.
func EgressRules(rules []Rule) []Rule {
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		if IsEgress(r) {
			out = append(out, r)
		}
	}
	return out
}

// ListEgressRules lists the account's egress rules, by precedence, in one call.
func ListEgressRules(ctx context.Context, c Client, accountID string) ([]Rule, error) {
	rules, err := c.ListRules(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return EgressRules(rules), nil
}

// set marks a cloudflare-go v7 param field (param.Field[T], whose package
// is internal to the SDK) as present with value x.
func set[T any](value *T, present *bool, x T) { *value, *present = x, true }

// newParams maps r to the body of a create. What v7 sends (golden files in
// testdata/): a field that is not Present is left out of the JSON. Every
// field the client manages is Present (PUT replaces the whole rule), except
// a zero precedence, which is left out (Cloudflare assigns one on create and
// keeps the current one on update). Default egress (r.Egress nil) is sent
// as "rule_settings": {"egress": null}, which clears dedicated egress on a
// PUT. version, read_only, sharable, source_account and warning_status are
// Cloudflare's and never sent.
func newParams(accountID string, r Rule) zero_trust.GatewayRuleNewParams {
	var p zero_trust.GatewayRuleNewParams
	set(&p.AccountID.Value, &p.AccountID.Present, accountID)
	set(&p.Action.Value, &p.Action.Present, zero_trust.GatewayRuleNewParamsAction(r.Action))
	set(&p.Name.Value, &p.Name.Present, r.Name)
	set(&p.Description.Value, &p.Description.Present, r.Description)
	set(&p.Enabled.Value, &p.Enabled.Present, r.Enabled)
	set(&p.Traffic.Value, &p.Traffic.Present, r.Traffic)
	set(&p.Identity.Value, &p.Identity.Present, r.Identity)
	set(&p.DevicePosture.Value, &p.DevicePosture.Present, r.DevicePosture)
	if r.Filters != nil {
		fs := make([]zero_trust.GatewayFilter, len(r.Filters))
		for i, f := range r.Filters {
			fs[i] = zero_trust.GatewayFilter(f)
		}
		set(&p.Filters.Value, &p.Filters.Present, fs)
	}
	if r.Precedence != 0 {
		set(&p.Precedence.Value, &p.Precedence.Present, int64(min(r.Precedence, math.MaxInt64)))
	}
	var rs zero_trust.RuleSettingParam
	if r.Egress != nil {
		var eg zero_trust.RuleSettingEgressParam
		set(&eg.IPV4.Value, &eg.IPV4.Present, r.Egress.IPv4)
		set(&eg.IPV6.Value, &eg.IPV6.Present, r.Egress.IPv6)
		set(&eg.IPV4Fallback.Value, &eg.IPV4Fallback.Present, r.Egress.IPv4Fallback)
		set(&rs.Egress.Value, &rs.Egress.Present, eg)
	} else {
		rs.Egress.Null, rs.Egress.Present = true, true
	}
	set(&p.RuleSettings.Value, &p.RuleSettings.Present, rs)
	return p
}

// updateParams is newParams for a PUT: the same JSON fields (the two v7
// types differ only in their action type).
func updateParams(accountID string, r Rule) zero_trust.GatewayRuleUpdateParams {
	n := newParams(accountID, r)
	u := zero_trust.GatewayRuleUpdateParams{
		AccountID: n.AccountID, Name: n.Name, Description: n.Description, Enabled: n.Enabled,
		Traffic: n.Traffic, Identity: n.Identity, DevicePosture: n.DevicePosture, Filters: n.Filters,
		Precedence: n.Precedence, RuleSettings: n.RuleSettings,
	}
	set(&u.Action.Value, &u.Action.Present, zero_trust.GatewayRuleUpdateParamsAction(r.Action))
	return u
}

func listParams(accountID string) zero_trust.GatewayRuleListParams {
	var p zero_trust.GatewayRuleListParams
	set(&p.AccountID.Value, &p.AccountID.Present, accountID)
	return p
}

func deleteParams(accountID string) zero_trust.GatewayRuleDeleteParams {
	var p zero_trust.GatewayRuleDeleteParams
	set(&p.AccountID.Value, &p.AccountID.Present, accountID)
	return p
}

func getParams(accountID string) zero_trust.GatewayRuleGetParams {
	var p zero_trust.GatewayRuleGetParams
	set(&p.AccountID.Value, &p.AccountID.Present, accountID)
	return p
}

// fromGateway maps cloudflare-go v7's GatewayRule to a Rule. An absent,
// null or all-empty rule_settings.egress is default egress (Egress nil);
// absent filters stay nil (IsEgress also accepts action "egress").
func fromGateway(t zero_trust.GatewayRule) Rule {
	r := Rule{
		ID:            t.ID,
		Name:          t.Name,
		Description:   t.Description,
		Enabled:       t.Enabled,
		Action:        string(t.Action),
		Traffic:       t.Traffic,
		Identity:      t.Identity,
		DevicePosture: t.DevicePosture,
		CreatedAt:     t.CreatedAt,
		UpdatedAt:     t.UpdatedAt,
		ReadOnly:      t.ReadOnly,
		Sharable:      t.Sharable,
		SourceAccount: t.SourceAccount,
		WarningStatus: t.WarningStatus,
	}
	if t.Precedence > 0 {
		r.Precedence = uint64(t.Precedence)
	}
	if len(t.Filters) > 0 {
		r.Filters = make([]string, len(t.Filters))
		for i, f := range t.Filters {
			r.Filters[i] = string(f)
		}
	}
	if es := t.RuleSettings.Egress; es.IPV4 != "" || es.IPV6 != "" || es.IPV4Fallback != "" {
		r.Egress = &EgressSettings{IPv4: es.IPV4, IPv6: es.IPV6, IPv4Fallback: es.IPV4Fallback}
	}
	return r
}

// resultInfo is Cloudflare's result_info (v7's SinglePage does not decode it).
type resultInfo struct {
	Page       *int `json:"page"`
	PerPage    *int `json:"per_page"`
	Count      *int `json:"count"`
	TotalCount *int `json:"total_count"`
	TotalPages *int `json:"total_pages"`
}

// ErrIncompleteList is in the chain of a list error whose answer says it
// holds more rules than it carries (more pages, a larger total_count).
var ErrIncompleteList = errors.New("the list answer is incomplete")

// checkComplete fails when the list answer's result_info says there is
// more than the n rules it carries.
func (a *API) checkComplete(ctx context.Context, op string, rec *callRecord, n int) *Error {
	rec.mu.Lock()
	body, status, attempts := rec.body, rec.status, rec.attempts
	rec.mu.Unlock()
	var env struct {
		ResultInfo *resultInfo `json:"result_info"`
	}
	// The client has decoded this body into the page already; a
	// result_info that does not decode is absent, nothing to check.
	_ = json.Unmarshal(body, &env)
	if env.ResultInfo == nil {
		return nil
	}
	ri := env.ResultInfo
	var why string
	switch {
	case ri.TotalPages != nil && *ri.TotalPages > 1:
		why = fmt.Sprintf("result_info says there are %d pages", *ri.TotalPages)
	case ri.TotalCount != nil && *ri.TotalCount > n:
		why = fmt.Sprintf("result_info.total_count is %d", *ri.TotalCount)
	case ri.Count != nil && *ri.Count > n:
		why = fmt.Sprintf("result_info.count is %d", *ri.Count)
	default:
		return nil
	}
	e := &Error{
		Kind: KindUnknown, Op: op, Status: status, Attempts: attempts,
		Detail: fmt.Sprintf("%s but the answer carries %d rules; Cloudflare's Gateway rules list is one page, so the rest cannot be read and the rules are not used (missing rules would look deleted)", why, n),
		cause:  ErrIncompleteList,
	}
	a.log(ctx, "Cloudflare API list refused: incomplete answer", map[string]any{"op": op, "error": e.Error()})
	return e
}
