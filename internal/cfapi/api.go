package cfapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"
)

// DefaultBaseURL is Cloudflare's API, v4.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// Defaults for Config's zero values.
const (
	DefaultRequestsPerSecond = 4 // Cloudflare's budget: 1,200 requests / 5 min
	DefaultMaxRetries        = 4
	DefaultMinBackoff        = time.Second
	DefaultMaxBackoff        = 30 * time.Second
	DefaultMaxRetryAfter     = 5 * time.Minute
	DefaultRequestTimeout    = 60 * time.Second
	DefaultUserAgent         = "terraform-provider-cfegress"
)

// LogFunc receives one structured log line. The API token never reaches it.
type LogFunc func(ctx context.Context, msg string, fields map[string]any)

// Config configures New. Zero values mean the defaults above.
type Config struct {
	// APIToken is a Cloudflare API token (sent as "Authorization: Bearer").
	APIToken string
	// BaseURL is the API root, default DefaultBaseURL. Paths are appended to
	// it as given (e.g. "/accounts/ID/gateway/rules"), so an emulator's root
	// is passed unchanged, with or without "/client/v4".
	BaseURL string
	// RequestsPerSecond caps the request rate of this client, retries
	// included (default 4).
	RequestsPerSecond float64
	// MaxRetries is the number of retries after the first attempt (default
	// 4); negative disables retries.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff after a 5xx or
	// a dropped connection (defaults 1 s and 30 s).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter caps how long a Retry-After is honoured (default 5 min).
	MaxRetryAfter time.Duration
	// RequestTimeout bounds one attempt (default 60 s).
	RequestTimeout time.Duration
	// HTTPClient's Transport (and CheckRedirect, Jar) is used for the
	// actual requests; optional.
	HTTPClient *http.Client
	// UserAgent, default DefaultUserAgent.
	UserAgent string
	// Logf receives request/retry logs (the provider plugs tflog in).
	Logf LogFunc
}

// String keeps the token out of %v and %+v.
func (c Config) String() string {
	tok := ""
	if c.APIToken != "" {
		tok = redacted
	}
	return fmt.Sprintf("cfapi.Config{APIToken:%s BaseURL:%s RequestsPerSecond:%g MaxRetries:%d}",
		tok, c.BaseURL, c.RequestsPerSecond, c.MaxRetries)
}

// GoString keeps the token out of %#v.
func (c Config) GoString() string { return c.String() }

// API implements Client over cloudflare-go v0.
type API struct {
	cf            *cloudflare.API
	red           redactor
	logf          LogFunc
	baseURL       string
	maxRetries    int
	minBackoff    time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
}

var _ Client = (*API)(nil)

// String keeps the token out of %v.
func (a *API) String() string { return "cfapi.API{" + a.baseURL + "}" }

// GoString keeps the token out of %#v.
func (a *API) GoString() string { return a.String() }

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
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("cfapi: base_url %q is not an http(s) URL like %s", cfg.BaseURL, DefaultBaseURL)
	}
	rps := cfg.RequestsPerSecond
	switch {
	case rps == 0:
		rps = DefaultRequestsPerSecond
	case rps < 0 || math.IsNaN(rps):
		return nil, fmt.Errorf("cfapi: requests_per_second must be positive, got %g", cfg.RequestsPerSecond)
	}
	a := &API{
		red:           redactor{token: tok},
		baseURL:       base,
		maxRetries:    cfg.MaxRetries,
		minBackoff:    orDefault(cfg.MinBackoff, DefaultMinBackoff),
		maxBackoff:    orDefault(cfg.MaxBackoff, DefaultMaxBackoff),
		maxRetryAfter: orDefault(cfg.MaxRetryAfter, DefaultMaxRetryAfter),
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
	inner := &http.Client{Timeout: orDefault(cfg.RequestTimeout, DefaultRequestTimeout)}
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			base0 = cfg.HTTPClient.Transport
		}
		inner.CheckRedirect = cfg.HTTPClient.CheckRedirect
		inner.Jar = cfg.HTTPClient.Jar
	}
	inner.Transport = &attemptTransport{
		base:    base0,
		limiter: rate.NewLimiter(rate.Limit(rps), 1),
		api:     a,
	}
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
	rc.ErrorHandler = func(resp *http.Response, err error, _ int) (*http.Response, error) { return resp, err }

	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	cf, err := cloudflare.NewWithAPIToken(tok,
		cloudflare.BaseURL(base),
		cloudflare.UserAgent(ua),
		cloudflare.HTTPClient(rc.StandardClient()),
		// Retries and rate limiting are ours (see transport.go).
		cloudflare.UsingRetryPolicy(0, 0, 0),
		cloudflare.UsingRateLimit(float64(rate.Inf)),
	)
	if err != nil {
		return nil, fmt.Errorf("cfapi: %s", a.red.str(err.Error()))
	}
	a.cf = cf
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
// API returns all of them in a single page), sorted by precedence.
func (a *API) ListRules(ctx context.Context, accountID string) ([]Rule, error) {
	const op = "list rules"
	if err := checkID(op, "account_id", accountID); err != nil {
		return nil, err
	}
	ctx, rec := withRecord(ctx, false)
	trs, cfErr := a.cf.TeamsRules(ctx, accountID)
	if e := a.finish(ctx, op, false, rec, cfErr); e != nil {
		return nil, e
	}
	rules := make([]Rule, 0, len(trs))
	for _, t := range trs {
		rules = append(rules, fromTeams(t))
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
	t, cfErr := a.cf.TeamsCreateRule(ctx, accountID, toTeams(r))
	if e := a.finish(ctx, op, true, rec, cfErr); e != nil {
		return Rule{}, e
	}
	return fromTeams(t), nil
}

// UpdateRule replaces the whole rule r.ID with r (PUT): every field is
// sent, so unset fields become their zero values on Cloudflare's side.
func (a *API) UpdateRule(ctx context.Context, accountID string, r Rule) (Rule, error) {
	op := fmt.Sprintf("update rule %q (id %s)", r.Name, r.ID)
	if err := checkID(op, "account_id", accountID); err != nil {
		return Rule{}, err
	}
	if err := checkID(op, "rule id", r.ID); err != nil {
		return Rule{}, err
	}
	ctx, rec := withRecord(ctx, true)
	t, cfErr := a.cf.TeamsUpdateRule(ctx, accountID, r.ID, toTeams(r))
	if e := a.finish(ctx, op, true, rec, cfErr); e != nil {
		return Rule{}, e
	}
	return fromTeams(t), nil
}

// DeleteRule deletes one rule. A 404 on a retry after an attempt whose
// response was lost means that attempt deleted it: that is a success.
func (a *API) DeleteRule(ctx context.Context, accountID, ruleID string) error {
	op := "delete rule " + ruleID
	if err := checkID(op, "account_id", accountID); err != nil {
		return err
	}
	if err := checkID(op, "rule id", ruleID); err != nil {
		return err
	}
	ctx, rec := withRecord(ctx, true)
	cfErr := a.cf.TeamsDeleteRule(ctx, accountID, ruleID)
	e := a.finish(ctx, op, true, rec, cfErr)
	if e == nil {
		return nil
	}
	rec.mu.Lock()
	lostEarlier := rec.maybeApplied && rec.attempts > 1
	rec.mu.Unlock()
	if e.Kind == KindNotFound && lostEarlier {
		a.log(ctx, "Cloudflare API delete: 404 after a lost response, the rule was deleted", map[string]any{"rule_id": ruleID})
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

// EgressRules keeps the egress rules of rules (filters = ["egress"]), in order.
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

// toTeams maps a Rule to cloudflare-go's TeamsRule. Egress nil (default
// egress) means no rule_settings.egress (cloudflare-go sends null).
func toTeams(r Rule) cloudflare.TeamsRule {
	t := cloudflare.TeamsRule{
		Name:          r.Name,
		Description:   r.Description,
		Precedence:    r.Precedence,
		Enabled:       r.Enabled,
		Action:        cloudflare.TeamsGatewayAction(r.Action),
		Traffic:       r.Traffic,
		Identity:      r.Identity,
		DevicePosture: r.DevicePosture,
	}
	if r.Filters != nil {
		t.Filters = make([]cloudflare.TeamsFilterType, len(r.Filters))
		for i, f := range r.Filters {
			t.Filters[i] = cloudflare.TeamsFilterType(f)
		}
	}
	if r.Egress != nil {
		t.RuleSettings.EgressSettings = &cloudflare.EgressSettings{
			Ipv4:         r.Egress.IPv4,
			Ipv6Range:    r.Egress.IPv6,
			Ipv4Fallback: r.Egress.IPv4Fallback,
		}
	}
	return t
}

// fromTeams maps cloudflare-go's TeamsRule to a Rule. An absent or
// all-empty rule_settings.egress is default egress (Egress nil).
func fromTeams(t cloudflare.TeamsRule) Rule {
	r := Rule{
		ID:            t.ID,
		Name:          t.Name,
		Description:   t.Description,
		Precedence:    t.Precedence,
		Enabled:       t.Enabled,
		Action:        string(t.Action),
		Traffic:       t.Traffic,
		Identity:      t.Identity,
		DevicePosture: t.DevicePosture,
	}
	if len(t.Filters) > 0 {
		r.Filters = make([]string, len(t.Filters))
		for i, f := range t.Filters {
			r.Filters[i] = string(f)
		}
	}
	if es := t.RuleSettings.EgressSettings; es != nil && (es.Ipv4 != "" || es.Ipv6Range != "" || es.Ipv4Fallback != "") {
		r.Egress = &EgressSettings{IPv4: es.Ipv4, IPv6: es.Ipv6Range, IPv4Fallback: es.Ipv4Fallback}
	}
	if t.CreatedAt != nil {
		r.CreatedAt = *t.CreatedAt
	}
	if t.UpdatedAt != nil {
		r.UpdatedAt = *t.UpdatedAt
	}
	return r
}
