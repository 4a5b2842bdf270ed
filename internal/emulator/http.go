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

func (e *Emulator) planFaults(method, routeKey string) (faultPlan, string) {
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
	now := e.cfg.Now()
	if e.cfg.RateLimit > 0 {
		cut := now.Add(-e.cfg.RateWindow)
		i := 0
		for i < len(e.window) && !e.window[i].After(cut) {
			i++
		}
		e.window = e.window[i:]
		if len(e.window) >= e.cfg.RateLimit {
			p.rateLimited = e.window[0].Add(e.cfg.RateWindow).Sub(now)
			if p.rateLimited < time.Second {
				p.rateLimited = time.Second
			}
			e.stats.Faults["rate_limited"]++
			return p, ray
		}
		e.window = append(e.window, now)
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
	plan, ray := e.planFaults(r.Method, routeKey)
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

	if !e.authorized(r) {
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

	var (
		result any
		info   *resultInfo
		aerr   *apiError
	)
	switch {
	case pattern == RouteRules && r.Method == http.MethodGet:
		rs := e.Rules(account)
		result = rs
		info = &resultInfo{Page: 1, PerPage: len(rs), Count: len(rs), TotalCount: len(rs), TotalPages: 1}
	case pattern == RouteRules && r.Method == http.MethodPost:
		result, aerr = e.apiCreate(account, body)
	case pattern == RouteRule && r.Method == http.MethodGet:
		result, aerr = e.apiGet(account, ruleID)
	case pattern == RouteRule && r.Method == http.MethodPut:
		result, aerr = e.apiPut(account, ruleID, body)
	case pattern == RouteRule && r.Method == http.MethodPatch:
		result, aerr = e.apiPatch(account, ruleID, body)
	case pattern == RouteRule && r.Method == http.MethodDelete:
		result, aerr = e.apiDelete(account, ruleID)
	default:
		aerr = &apiError{Status: 405, Code: CodeMethod, Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, pattern)}
	}
	if aerr != nil {
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
	writeJSON(w, 200, envelope{Success: true, Errors: []respInfo{}, Messages: []respInfo{}, Result: result, ResultInfo: info})
}

func (e *Emulator) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return false
	}
	tok := strings.TrimSpace(h[len(p):])
	if tok == "" {
		return false
	}
	if e.cfg.Token == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(tok), []byte(e.cfg.Token)) == 1
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

func (e *Emulator) apiCreate(account string, body []byte) (any, *apiError) {
	r, aerr := decodeRule(body)
	if aerr != nil {
		return nil, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	stored, aerr := e.createLocked(account, r)
	if aerr != nil {
		return nil, aerr
	}
	e.history[account] = append(e.history[account], cloneRules(e.rules[account]))
	return stored, nil
}

// createLocked validates and stores a new rule (no history).
func (e *Emulator) createLocked(account string, r Rule) (Rule, *apiError) {
	cur := e.rules[account]
	r = r.clone()
	r.ID = ""
	reformatRule(&r)
	if aerr := validateRule(&r, e.Inventory(account), cur); aerr != nil {
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

func (e *Emulator) apiGet(account, id string) (any, *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.rules[account] {
		if r.ID == id {
			return r.clone(), nil
		}
	}
	return nil, notFound(id)
}

func notFound(id string) *apiError {
	return &apiError{Status: 404, Code: CodeNotFound, Message: fmt.Sprintf("invalid rule id: no Gateway rule %q in this account", id)}
}

func (e *Emulator) apiPut(account, id string, body []byte) (any, *apiError) {
	r, aerr := decodeRule(body)
	if aerr != nil {
		return nil, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.replaceLocked(account, id, func(old Rule) (Rule, *apiError) { return r.clone(), nil })
}

// replaceLocked builds the new version of rule id with mk (given the stored
// rule), keeps id/created_at, validates, stores and records history.
func (e *Emulator) replaceLocked(account, id string, mk func(old Rule) (Rule, *apiError)) (any, *apiError) {
	cur := e.rules[account]
	idx := -1
	for i := range cur {
		if cur[i].ID == id {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, notFound(id)
	}
	old := cur[idx]
	r, aerr := mk(old.clone())
	if aerr != nil {
		return nil, aerr
	}
	r.ID = old.ID
	r.CreatedAt = old.CreatedAt
	r.DeletedAt = nil
	if r.Precedence == 0 {
		// cloudflare-go sends 0 when the caller did not set one: keep the
		// rule's precedence.
		r.Precedence = old.Precedence
	}
	reformatRule(&r)
	if aerr := validateRule(&r, e.Inventory(account), cur); aerr != nil {
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

// patchFields are the fields PATCH may change.
var patchFields = map[string]bool{
	"name": true, "description": true, "precedence": true, "enabled": true, "action": true,
	"filters": true, "traffic": true, "identity": true, "device_posture": true,
	"rule_settings": true, "schedule": true, "expiration": true,
}

func (e *Emulator) apiPatch(account, id string, body []byte) (any, *apiError) {
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
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.replaceLocked(account, id, func(old Rule) (Rule, *apiError) {
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

func (e *Emulator) apiDelete(account, id string) (any, *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.rules[account]
	for i := range cur {
		if cur[i].ID == id {
			next := append(cloneRules(cur[:i]), cloneRules(cur[i+1:])...)
			if err := e.commitLocked(account, next, true); err != nil {
				return nil, &apiError{Status: 500, Code: CodeServer, Message: err.Error()}
			}
			return map[string]any{}, nil
		}
	}
	return nil, notFound(id)
}
