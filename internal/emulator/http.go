package emulator

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Route patterns, as counted in Stats.ByRoute (method + " " + pattern).
const (
	RouteRules = "/accounts/{account_id}/gateway/rules"
	RouteRule  = "/accounts/{account_id}/gateway/rules/{rule_id}"
)

var accountIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// maxBody bounds request bodies (a Gateway rule is small).
const maxBody = 1 << 20

type envelope struct {
	Success    bool        `json:"success"`
	Errors     []respInfo  `json:"errors"`
	Messages   []respInfo  `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

type respInfo struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// Handler returns the HTTP handler: the API (with and without /client/v4)
// and the /__emulator endpoints.
func (e *Emulator) Handler() http.Handler {
	return http.HandlerFunc(e.serveHTTP)
}

func (e *Emulator) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/__emulator/") {
		e.serveAdmin(w, r)
		return
	}
	apiPath := strings.TrimPrefix(path, "/client/v4")
	if apiPath == "" {
		apiPath = "/"
	}
	e.serveAPI(w, r, apiPath)
}

// parseAPIPath splits /accounts/{a}/gateway/rules[/{id}].
func parseAPIPath(p string) (account, ruleID string, pattern string, ok bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) < 4 || parts[0] != "accounts" || parts[2] != "gateway" || parts[3] != "rules" || parts[1] == "" {
		return "", "", "", false
	}
	switch len(parts) {
	case 4:
		return parts[1], "", RouteRules, true
	case 5:
		if parts[4] == "" {
			return "", "", "", false
		}
		return parts[1], parts[4], RouteRule, true
	}
	return "", "", "", false
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// faultPlan is what faults the request gets, decided up front under the lock.
type faultPlan struct {
	rateLimited time.Duration // > 0: answer 429 with this Retry-After
	drop        bool
	random429   time.Duration
	status5xx   int
	lost        bool // lose the answer of a committed write
	lostDrop    bool // ... by closing the connection (else 502)
	latency     time.Duration
}

// tokenWindow is one token's accepted requests within RateWindow (oldest
// first) and the end of its lockout.
type tokenWindow struct {
	times       []time.Time
	lockedUntil time.Time
}

func (e *Emulator) planFaults(method, routeKey, token string) (faultPlan, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Requests++
	e.stats.ByRoute[routeKey]++
	e.rayN++
	ray := fmt.Sprintf("%016x-EMU", e.rayN)
	f := e.faults
	p := faultPlan{latency: f.Latency}
	// Four draws per request, always, so the fault sequence depends only on
	// the seed and the request's position.
	dDrop, d429, d5xx, dLost := e.ftRand.Float64(), e.ftRand.Float64(), e.ftRand.Float64(), e.ftRand.Float64()
	pick := e.ftRand.IntN(3)
	if d := e.rateLimitLocked(token); d > 0 {
		p.rateLimited = d
		e.stats.Faults["rate_limited"]++
		return p, ray
	}
	switch {
	case dDrop < f.RateDrop:
		p.drop = true
		e.stats.Faults["drop"]++
	case d429 < f.Rate429:
		p.random429 = f.RetryAfter
		e.stats.Faults["429"]++
	case d5xx < f.Rate5xx:
		p.status5xx = []int{500, 502, 503}[pick]
		e.stats.Faults["5xx"]++
	case isWrite(method) && dLost < f.RateLostResponse:
		p.lost = true
		p.lostDrop = pick != 0
	}
	return p, ray
}

// rateLimitLocked counts one request of token against RateLimit per
// RateWindow and returns how long it must wait (0: it may go on). With
// Lockout, exceeding the budget blocks every request of the token for
// Lockout, as Cloudflare does ("If you exceed this limit, all API calls for
// the next five minutes will be blocked", developers.cloudflare.com/
// fundamentals/api/reference/limits/).
func (e *Emulator) rateLimitLocked(token string) time.Duration {
	if e.cfg.RateLimit <= 0 {
		return 0
	}
	w := e.windows[token]
	if w == nil {
		w = &tokenWindow{}
		e.windows[token] = w
	}
	now := e.cfg.Now()
	if now.Before(w.lockedUntil) {
		return max(w.lockedUntil.Sub(now), time.Millisecond)
	}
	cut := now.Add(-e.cfg.RateWindow)
	i := 0
	for i < len(w.times) && !w.times[i].After(cut) {
		i++
	}
	w.times = w.times[i:]
	if len(w.times) >= e.cfg.RateLimit {
		if e.cfg.Lockout > 0 {
			w.lockedUntil = now.Add(e.cfg.Lockout)
			w.times = nil
			return e.cfg.Lockout
		}
		return max(w.times[0].Add(e.cfg.RateWindow).Sub(now), time.Second)
	}
	w.times = append(w.times, now)
	return 0
}

func retryAfterHeader(d time.Duration) string {
	if d < 0 {
		return "0"
	}
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request, apiPath string) {
	account, ruleID, pattern, ok := parseAPIPath(apiPath)
	routeKey := r.Method + " (unknown)"
	if ok {
		routeKey = r.Method + " " + pattern
	}
	plan, ray := e.planFaults(r.Method, routeKey, bearer(r))
	w.Header().Set("Cf-Ray", ray)
	if plan.latency > 0 {
		if !sleepCtx(r.Context(), plan.latency) {
			return
		}
	}
	switch {
	case plan.rateLimited > 0:
		w.Header().Set("Retry-After", retryAfterHeader(plan.rateLimited))
		writeErr(w, &apiError{Status: 429, Code: CodeRateLimited, Message: "Please wait and consider throttling your request speed"})
		return
	case plan.drop:
		dropConn(w)
		return
	case plan.random429 != 0:
		w.Header().Set("Retry-After", retryAfterHeader(plan.random429))
		writeErr(w, &apiError{Status: 429, Code: CodeRateLimited, Message: "Please wait and consider throttling your request speed"})
		return
	case plan.status5xx != 0:
		writeErr(w, &apiError{Status: plan.status5xx, Code: CodeServer, Message: "Internal server error (injected by the emulator)"})
		return
	}

	scope, authOK := e.authorize(r)
	if !authOK {
		writeErr(w, &apiError{Status: 403, Code: CodeAuthentication, Message: "Authentication error"})
		return
	}
	if !ok || !accountIDRe.MatchString(account) {
		routeErr(w, r.URL.Path)
		return
	}
	if !e.accounts[account] {
		writeErr(w, &apiError{Status: 403, Code: CodeUnauthorized, Message: "Unauthorized to access requested resource"})
		return
	}

	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			writeErr(w, &apiError{Status: 400, Code: CodeBadJSON, Message: "could not read the request body"})
			return
		}
		if len(body) > maxBody {
			writeErr(w, &apiError{Status: 413, Code: CodeBadJSON, Message: "request body too large"})
			return
		}
	}

	if isWrite(r.Method) {
		e.mu.Lock()
		hook := e.beforeWrite
		e.mu.Unlock()
		if hook != nil {
			hook(r.Method, account, ruleID)
		}
	}
	c := &call{e: e, account: account, scope: scope}
	var (
		result any
		info   *resultInfo
		aerr   *apiError
	)
	switch {
	case pattern == RouteRules && r.Method == http.MethodGet:
		result, info = c.list(r.URL.Query().Get("page"))
	case pattern == RouteRules && r.Method == http.MethodPost:
		result, aerr = c.create(body)
	case pattern == RouteRule && r.Method == http.MethodGet:
		result, aerr = c.get(ruleID)
	case pattern == RouteRule && r.Method == http.MethodPut:
		result, aerr = c.put(ruleID, body)
	case pattern == RouteRule && r.Method == http.MethodPatch:
		result, aerr = c.patch(ruleID, body)
	case pattern == RouteRule && r.Method == http.MethodDelete:
		result, aerr = c.delete(ruleID)
	default:
		aerr = &apiError{Status: 405, Code: CodeMethod, Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, pattern)}
	}
	if aerr != nil {
		if aerr.route {
			routeErr(w, r.URL.Path)
			return
		}
		writeErr(w, aerr)
		return
	}
	if plan.lost {
		e.mu.Lock()
		e.stats.Faults["lost_response"]++
		e.mu.Unlock()
		if plan.lostDrop {
			dropConn(w)
			return
		}
		writeErr(w, &apiError{Status: 502, Code: CodeServer, Message: "Bad gateway (injected by the emulator after the write was applied)"})
		return
	}
	writeJSON(w, 200, envelope{Success: true, Errors: []respInfo{}, Messages: []respInfo{}, Result: e.present(result), ResultInfo: info})
}

// bearer is the request's bearer token ("" when there is none).
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return ""
	}
	return strings.TrimSpace(h[len(p):])
}

// tokenScope is what a token may see and write.
type tokenScope int

const (
	scopeAll    tokenScope = iota
	scopeEgress            // permission-scoped: egress policies only
)

// authorize checks the bearer token and returns its scope.
func (e *Emulator) authorize(r *http.Request) (tokenScope, bool) {
	tok := bearer(r)
	if tok == "" {
		return 0, false
	}
	if e.cfg.ScopedToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(e.cfg.ScopedToken)) == 1 {
		return scopeEgress, true
	}
	if e.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(e.cfg.Token)) != 1 {
		return 0, false
	}
	if e.cfg.EgressOnly {
		return scopeEgress, true
	}
	return scopeAll, true
}

// present turns a result into what the response carries: rules without
// "filters" when Config.OmitFilters is set.
func (e *Emulator) present(result any) any {
	if !e.cfg.OmitFilters {
		return result
	}
	strip := func(r Rule) any {
		b, err := json.Marshal(r)
		if err != nil {
			return r
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil {
			return r
		}
		delete(m, "filters")
		return m
	}
	switch v := result.(type) {
	case Rule:
		return strip(v)
	case []Rule:
		out := make([]any, len(v))
		for i := range v {
			out[i] = strip(v[i])
		}
		return out
	}
	return result
}

func routeErr(w http.ResponseWriter, path string) {
	if !strings.HasPrefix(path, "/client/v4") {
		path = "/client/v4" + path
	}
	writeJSON(w, 400, envelope{
		Success: false,
		Errors: []respInfo{
			{Code: CodeRoute, Message: fmt.Sprintf("Could not route to %s, perhaps your object identifier is invalid?", path)},
			{Code: CodeNoRoute, Message: "No route for that URI"},
		},
		Messages: []respInfo{},
	})
}

func writeErr(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, envelope{Success: false, Errors: []respInfo{{Code: e.Code, Message: e.Message}}, Messages: []respInfo{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"success":false,"errors":[{"code":2006,"message":"encoding the response failed"}],"messages":[],"result":null}`, 500)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// dropConn closes the client connection without an answer.
func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// --- API operations -----------------------------------------------------

func decodeRule(body []byte) (Rule, *apiError) {
	var r Rule
	if len(bytes.TrimSpace(body)) == 0 {
		return r, &apiError{Status: 400, Code: CodeBadJSON, Message: "request body is empty: send the rule as a JSON object"}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, &apiError{Status: 400, Code: CodeBadJSON, Message: fmt.Sprintf("request body is not a valid rule: %v", err)}
	}
	normRaw(&r)
	return r, nil
}

func normRaw(r *Rule) {
	if string(bytes.TrimSpace(r.Schedule)) == "null" {
		r.Schedule = nil
	}
	if string(bytes.TrimSpace(r.Expiration)) == "null" {
		r.Expiration = nil
	}
}

func reformatRule(r *Rule) {
	r.Traffic = Reformat(r.Traffic)
	r.Identity = Reformat(r.Identity)
	r.DevicePosture = Reformat(r.DevicePosture)
}

// call is one API request's account and token scope.
type call struct {
	e       *Emulator
	account string
	scope   tokenScope
}

// visible: a permission-scoped token sees egress rules only.
func (c *call) visible(r *Rule) bool { return c.scope == scopeAll || r.IsEgress() }

// notFound is the answer for an unknown (or, for a scoped token, hidden)
// rule ID, in the style Config.NotFound chooses.
func (c *call) notFound(id string) *apiError {
	switch c.e.cfg.NotFound {
	case NotFoundInvalidRuleID:
		return &apiError{Status: 400, Code: CodeNotFound, Message: "invalid rule id"}
	case NotFoundRoute:
		return &apiError{route: true}
	}
	return &apiError{Status: 404, Code: CodeNotFound, Message: fmt.Sprintf("invalid rule id: no Gateway rule %q in this account", id)}
}

// forbidden is Cloudflare's answer to a token without the permission.
func forbidden() *apiError {
	return &apiError{Status: 403, Code: CodeAuthentication, Message: "Authentication error"}
}

// list answers a list request: the rules the token sees, one page of
// them when the emulator pages (ListPageSize).
func (c *call) list(page string) (any, *resultInfo) {
	all := c.e.Rules(c.account)
	rs := make([]Rule, 0, len(all))
	for i := range all {
		if c.visible(&all[i]) {
			rs = append(rs, all[i])
		}
	}
	c.e.mu.Lock()
	size := c.e.cfg.ListPageSize
	c.e.mu.Unlock()
	if size <= 0 {
		return rs, &resultInfo{Page: 1, PerPage: len(rs), Count: len(rs), TotalCount: len(rs), TotalPages: 1}
	}
	n, err := strconv.Atoi(page)
	if err != nil || n < 1 {
		n = 1
	}
	pages := max(1, (len(rs)+size-1)/size)
	from := min(len(rs), (n-1)*size)
	to := min(len(rs), from+size)
	out := rs[from:to]
	return out, &resultInfo{Page: n, PerPage: size, Count: len(out), TotalCount: len(rs), TotalPages: pages}
}

func (c *call) create(body []byte) (any, *apiError) {
	r, aerr := decodeRule(body)
	if aerr != nil {
		return nil, aerr
	}
	r.serverFields(nil)
	if !c.visible(&r) {
		return nil, forbidden()
	}
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	stored, aerr := e.createLocked(c.account, r, c.scope)
	if aerr != nil {
		return nil, aerr
	}
	e.history[c.account] = append(e.history[c.account], cloneRules(e.rules[c.account]))
	return stored, nil
}

// createLocked validates and stores a new rule (no history).
func (e *Emulator) createLocked(account string, r Rule, scope tokenScope) (Rule, *apiError) {
	cur := e.rules[account]
	r = r.clone()
	r.ID = ""
	if aerr := e.checkLimitsLocked(account, &r, nil); aerr != nil {
		return Rule{}, aerr
	}
	reformatRule(&r)
	if aerr := e.validateLocked(&r, account, cur, scope); aerr != nil {
		return Rule{}, aerr
	}
	r.ID = e.newIDLocked()
	if r.Precedence == 0 {
		r.Precedence = e.assignPrecedenceLocked(cur)
	}
	now := e.cfg.Now().UTC().Truncate(time.Microsecond)
	r.CreatedAt, r.UpdatedAt, r.DeletedAt = now, now, nil
	r.Version = 1
	next := append(cloneRules(cur), r)
	sortRules(next)
	if err := e.commitLocked(account, next, false); err != nil {
		return Rule{}, &apiError{Status: 500, Code: CodeServer, Message: err.Error()}
	}
	return r.clone(), nil
}

// checkLimitsLocked applies the account limits to r, which replaces old
// (nil for a create): characters per expression and egress policies per
// account.
func (e *Emulator) checkLimitsLocked(account string, r, old *Rule) *apiError {
	if lim := e.cfg.MaxExpressionLength; lim > 0 {
		for _, x := range []struct{ name, src string }{
			{"traffic", r.Traffic}, {"identity", r.Identity}, {"device_posture", r.DevicePosture},
		} {
			if n := utf8.RuneCountInString(x.src); n > lim {
				return &apiError{Status: 400, Code: CodeExpressionTooLong, Message: fmt.Sprintf(
					"%s: the expression is %d characters long; the limit is %d characters per expression", x.name, n, lim)}
			}
		}
	}
	if lim := e.cfg.MaxEgressPolicies; lim > 0 && r.IsEgress() && (old == nil || !old.IsEgress()) {
		n := 0
		for i := range e.rules[account] {
			if e.rules[account][i].IsEgress() {
				n++
			}
		}
		if n >= lim {
			return &apiError{Status: 400, Code: CodeTooManyPolicies, Message: fmt.Sprintf(
				"the account has %d egress policies, its limit; delete one first, or ask Cloudflare to raise the limit of %d", n, lim)}
		}
	}
	return nil
}

// validateLocked is validateRule; a precedence clash with a rule the token
// cannot see does not say which rule holds the number.
func (e *Emulator) validateLocked(r *Rule, account string, others []Rule, scope tokenScope) *apiError {
	aerr := validateRule(r, e.Inventory(account), others)
	if aerr != nil && aerr.Code == CodePrecedence && scope == scopeEgress {
		for i := range others {
			if others[i].ID != r.ID && others[i].Precedence == r.Precedence && !others[i].IsEgress() {
				aerr.Message = fmt.Sprintf("precedence: %d is already in use; precedence must be unique across all of the account's Gateway rules", r.Precedence)
			}
		}
	}
	return aerr
}

func (c *call) get(id string) (any, *apiError) {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.rules[c.account] {
		if r.ID == id && c.visible(&r) {
			return r.clone(), nil
		}
	}
	return nil, c.notFound(id)
}

func (c *call) put(id string, body []byte) (any, *apiError) {
	r, aerr := decodeRule(body)
	if aerr != nil {
		return nil, aerr
	}
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	return c.replaceLocked(id, func(old Rule) (Rule, *apiError) { return r.clone(), nil })
}

// replaceLocked builds the new version of rule id with mk (given the stored
// rule), keeps id/created_at, validates, stores and records history.
func (c *call) replaceLocked(id string, mk func(old Rule) (Rule, *apiError)) (any, *apiError) {
	e, account := c.e, c.account
	cur := e.rules[account]
	idx := -1
	for i := range cur {
		if cur[i].ID == id && c.visible(&cur[i]) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, c.notFound(id)
	}
	old := cur[idx]
	if old.ReadOnly {
		return nil, readOnly(&old)
	}
	r, aerr := mk(old.clone())
	if aerr != nil {
		return nil, aerr
	}
	r.serverFields(&old)
	if !c.visible(&r) {
		return nil, forbidden()
	}
	r.ID = old.ID
	r.CreatedAt = old.CreatedAt
	r.DeletedAt = nil
	if r.Precedence == 0 {
		// A body without a precedence (cloudflare-go v7 leaves an unset one
		// out; v0 sent 0) keeps the rule's precedence.
		r.Precedence = old.Precedence
	}
	if aerr := e.checkLimitsLocked(account, &r, &old); aerr != nil {
		return nil, aerr
	}
	reformatRule(&r)
	if aerr := e.validateLocked(&r, account, cur, c.scope); aerr != nil {
		return nil, aerr
	}
	r.Version = old.Version + 1
	r.UpdatedAt = e.cfg.Now().UTC().Truncate(time.Microsecond)
	next := cloneRules(cur)
	next[idx] = r
	sortRules(next)
	if err := e.commitLocked(account, next, true); err != nil {
		return nil, &apiError{Status: 500, Code: CodeServer, Message: err.Error()}
	}
	return r.clone(), nil
}

func readOnly(r *Rule) *apiError {
	from := "its parent account"
	if r.SourceAccount != "" {
		from = "account " + r.SourceAccount
	}
	return &apiError{Status: 400, Code: CodeReadOnly, Message: fmt.Sprintf(
		"rule %s (%q) is read_only: it is shared by %s and can only be changed there", r.ID, r.Name, from)}
}

// patchFields are the fields PATCH may change.
var patchFields = map[string]bool{
	"name": true, "description": true, "precedence": true, "enabled": true, "action": true,
	"filters": true, "traffic": true, "identity": true, "device_posture": true,
	"rule_settings": true, "schedule": true, "expiration": true,
}

func (c *call) patch(id string, body []byte) (any, *apiError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, &apiError{Status: 400, Code: CodeBadJSON, Message: "request body must be a JSON object of the fields to change"}
	}
	sub := map[string]json.RawMessage{}
	for k, v := range m {
		if patchFields[k] {
			sub[k] = v
		}
	}
	b, _ := json.Marshal(sub)
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	return c.replaceLocked(id, func(old Rule) (Rule, *apiError) {
		// Decode the given fields over the stored rule.
		r := old.clone()
		if err := json.Unmarshal(b, &r); err != nil {
			return old, &apiError{Status: 400, Code: CodeBadJSON, Message: fmt.Sprintf("request body is not a valid rule patch: %v", err)}
		}
		if r.Precedence == 0 {
			r.Precedence = old.Precedence
		}
		normRaw(&r)
		return r, nil
	})
}

func (c *call) delete(id string) (any, *apiError) {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.rules[c.account]
	for i := range cur {
		if cur[i].ID == id && c.visible(&cur[i]) {
			if cur[i].ReadOnly {
				return nil, readOnly(&cur[i])
			}
			next := append(cloneRules(cur[:i]), cloneRules(cur[i+1:])...)
			if err := e.commitLocked(c.account, next, true); err != nil {
				return nil, &apiError{Status: 500, Code: CodeServer, Message: err.Error()}
			}
			return map[string]any{}, nil
		}
	}
	return nil, c.notFound(id)
}
