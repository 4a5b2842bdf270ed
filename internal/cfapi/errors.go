package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ErrorKind classifies an API failure by what the user (or the caller) can
// do about it.
type ErrorKind int

const (
	// KindUnknown is anything not classified below (an unexpected status,
	// an unreadable response, a 200 with "success": false, ...).
	KindUnknown ErrorKind = iota
	// KindAuthentication: the token is missing, invalid, expired or revoked
	// (401, or 403 with one of Cloudflare's authentication codes).
	KindAuthentication
	// KindAuthorization: the token is valid but lacks permission (403).
	KindAuthorization
	// KindNotFound: the account or the rule does not exist: 404, or, on a
	// path naming one rule, 400 "invalid rule id" or 400 code 7003 (see
	// isRuleGone).
	KindNotFound
	// KindValidation: Cloudflare rejected the request's content (400, 409,
	// 422), with Cloudflare's codes and messages.
	KindValidation
	// KindRateLimited: still 429 after every retry.
	KindRateLimited
	// KindServer: a read still failed with 5xx after every retry.
	KindServer
	// KindNetwork: Cloudflare could not be reached (no response).
	KindNetwork
	// KindAmbiguous: a write (create, update, delete) was sent but its
	// response was lost (dropped connection, 5xx, timeout): the change MAY
	// have been applied. Re-read the rules before deciding what to do.
	KindAmbiguous
	// KindCanceled: the caller's context was canceled or timed out before
	// any write could have been applied.
	KindCanceled
)

var kindNames = [...]string{
	KindUnknown:        "unknown",
	KindAuthentication: "authentication",
	KindAuthorization:  "authorization",
	KindNotFound:       "not_found",
	KindValidation:     "validation",
	KindRateLimited:    "rate_limited",
	KindServer:         "server",
	KindNetwork:        "network",
	KindAmbiguous:      "ambiguous",
	KindCanceled:       "canceled",
}

func (k ErrorKind) String() string {
	if int(k) >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// authCodes are Cloudflare's error codes that mean "who are you?" rather
// than "you may not": a bad, expired or malformed token. 10000 is also
// what a valid token without the permission gets (see CodeAuthentication).
var authCodes = map[int]bool{
	1000:               true, // Invalid API Token (some endpoints)
	6003:               true, // Invalid request headers
	6111:               true, // Invalid format for Authorization header
	9103:               true, // Unknown X-Auth-Key or X-Auth-Email
	9106:               true, // Missing X-Auth-Key, X-Auth-Email or Authorization headers
	CodeAuthentication: true,
	10001:              true, // Unable to authenticate request
}

// Cloudflare's error codes the client recognises.
const (
	// CodeAuthentication is "Authentication error" (HTTP 403): Cloudflare
	// answers it for an invalid, expired or revoked token AND for a valid
	// token without the permission the call needs, so the error says both
	// (cloudflare/terraform-provider-cloudflare#1533, a maintainer on "HTTP
	// status 403: Authentication error (10000)": "this is likely an issue with
	// your token permissions"; cloudflare/cf-terraforming#754: "The 10000
	// error code comes from the API gateway and is associated with not having
	// the right permissions").
	CodeAuthentication = 10000
	// CodeRoute is "Could not route to ..., perhaps your object identifier
	// is invalid?" (HTTP 400). On a path naming one rule it means the rule
	// does not exist: cloudflare/terraform-provider-cloudflare#3223
	// (2024-04-03) shows it for GET /accounts/{id}/gateway/rules/{rule_id}.
	// On the list path it means a malformed account ID.
	CodeRoute = 7003
	// CodeDedicatedIPv4NotOwned is "Account doesn't own dedicated primary
	// IPv4" (the rule's rule_settings.egress.ipv4 is not one of the
	// account's dedicated egress IPs), quoted with its code in the official
	// provider's internal/services/zero_trust_gateway_policy/resource_test.go
	// (TestAccCloudflareTeamsRule_EgressDedicated). Cloudflare publishes no
	// code or text for a precedence clash or a bad expression.
	CodeDedicatedIPv4NotOwned = 2055

	codeNoRoute = 7000 // "No route for that URI"
)

// invalidRuleID is the message Cloudflare has answered (HTTP 400) for an
// unknown or deleted rule ID: cloudflare/terraform-provider-cloudflare#1618
// (2022-05-11, "error finding Teams Rule ...: invalid rule id" after the
// rule was deleted) and #1622 (a maintainer: "we should be returning a 404
// here; not a 400").
const invalidRuleID = "invalid rule id"

// Permissions Cloudflare publishes for API tokens and roles.
//   - API token permissions (cloudflare/cloudflare-docs
//     src/content/partials/fundamentals/account-permissions-table.mdx,
//     developers.cloudflare.com/fundamentals/api/reference/permissions/):
//     "Zero Trust Read" and "Zero Trust Edit" (shown as "Zero Trust Write"
//     in the API).
//   - Resource-scoped roles, Gateway granular permissions changelog
//     (src/content/changelog/gateway/2026-06-30-gateway-granular-permissions.mdx):
//     "Zero Trust Gateway Policies Read" (view all Gateway policies) and
//     "Zero Trust Gateway Egress Policies Admin" (view and edit egress
//     policies). A token limited to egress policies sees only egress rules in
//     the list, while the precedence numbers of the others still collide.
const (
	PermissionZeroTrustRead        = "Zero Trust Read"
	PermissionZeroTrustEdit        = "Zero Trust Edit"
	RoleGatewayPoliciesRead        = "Zero Trust Gateway Policies Read"
	RoleGatewayEgressPoliciesAdmin = "Zero Trust Gateway Egress Policies Admin"
)

// permissionFor names what a call needs: reading every Gateway rule (the
// provider reads all of them to keep clear of their precedence numbers), and
// for writes, editing egress policies too.
func permissionFor(write bool) string {
	read := fmt.Sprintf("the account permission %q (or the role %q)", PermissionZeroTrustRead, RoleGatewayPoliciesRead)
	if !write {
		return "reading the account's Gateway rules needs " + read
	}
	return fmt.Sprintf("writing egress policies needs the account permission %q (or the role %q, together with %q so that every rule's precedence is visible)",
		PermissionZeroTrustEdit, RoleGatewayEgressPoliciesAdmin, RoleGatewayPoliciesRead)
}

// codeInvalidToken is "Invalid access token" (authentication) but also
// "Unauthorized to access requested resource" (authorization): Cloudflare
// uses 9109 for both, so its message decides.
const codeInvalidToken = 9109

// isAuthError reports Cloudflare errors meaning "bad credentials".
func isAuthError(codes []int, msgs []string) bool {
	for i, c := range codes {
		if authCodes[c] {
			return true
		}
		if c == codeInvalidToken && i < len(msgs) {
			m := strings.ToLower(msgs[i])
			if strings.Contains(m, "token") || strings.Contains(m, "authenticat") {
				return true
			}
		}
	}
	return false
}

// Error is every error the API layer returns (except for invalid Config in
// New). It never contains the API token.
type Error struct {
	Kind ErrorKind
	// Op is what was being done: `list rules`, `create rule "name"`, ...
	Op string
	// Status is the final HTTP status (0 when no response arrived).
	Status int
	// Codes and Messages are Cloudflare's errors[].code and errors[].message.
	Codes    []int
	Messages []string
	// Attempts is how many HTTP requests were made (retries included).
	Attempts int
	// RayID is Cloudflare's cf-ray header, useful for support tickets.
	RayID string
	// Detail is extra, already redacted, context (a network error's text).
	Detail string

	cause error // never a value that can carry server text; see Unwrap
	write bool  // the call was a write (for the permission it needs)
	// unsent: the budget (or Cloudflare's lockout) would have waited past
	// the deadline, so the last attempt was not sent.
	unsent bool
}

// Error is one sentence the user can act on.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	what := e.cloudflareSays()
	switch e.Kind {
	case KindAuthentication:
		if e.Status == http.StatusForbidden && slices.Contains(e.Codes, CodeAuthentication) {
			fmt.Fprintf(&b, "authentication failed or a permission is missing (%s): Cloudflare answers this both when the token (api_token / CLOUDFLARE_API_TOKEN) is invalid, expired or revoked and when it lacks a permission on this account_id; %s", what, permissionFor(e.write))
			break
		}
		fmt.Fprintf(&b, "authentication failed (%s): check that api_token / CLOUDFLARE_API_TOKEN is a valid, unexpired Cloudflare API token; %s", what, permissionFor(e.write))
	case KindAuthorization:
		fmt.Fprintf(&b, "the API token is not allowed to do this (%s): check account_id, and give the token the permission on it: %s", what, permissionFor(e.write))
	case KindNotFound:
		fmt.Fprintf(&b, "not found (%s): check account_id; if a rule was deleted outside Terraform, refresh (terraform apply -refresh-only) to forget it", what)
	case KindValidation:
		if e.Status == 0 {
			fmt.Fprintf(&b, "invalid request: %s", e.detailOr("no details"))
			break
		}
		hint := "fix the rule's attributes named in the message"
		switch {
		case slices.Contains(e.Codes, CodeDedicatedIPv4NotOwned):
			hint = "the policy's egress.ipv4 is not a dedicated egress IPv4 of this account: use one of the account's dedicated egress IPs (cfegress_dedicated_egress_ip), or check account_id"
		case slices.Contains(e.Codes, CodeRoute) || slices.Contains(e.Codes, codeNoRoute):
			hint = "check account_id (Cloudflare account IDs are 32 hexadecimal characters) and the rule ID"
		}
		fmt.Fprintf(&b, "Cloudflare rejected the request (%s): %s", what, hint)
	case KindRateLimited:
		if e.Status == 0 || e.unsent {
			fmt.Fprintf(&b, "rate limited (%s): nothing was sent; raise the resource's timeouts, lower requests_per_5_minutes if other tools share the token, or try again in a few minutes (Cloudflare allows 1,200 requests per 5 minutes per user, dashboard included, and blocks every call for 5 minutes past it)", e.detailOr(what))
			break
		}
		fmt.Fprintf(&b, "rate limited by Cloudflare (%s) after %d attempts: lower requests_per_5_minutes (Cloudflare allows 1,200 requests per 5 minutes per user, dashboard included, and blocks every call for 5 minutes past it) or try again in a few minutes", what, e.Attempts)
	case KindServer:
		fmt.Fprintf(&b, "Cloudflare server error (%s) after %d attempts: try again later; check https://www.cloudflarestatus.com", what, e.Attempts)
	case KindNetwork:
		fmt.Fprintf(&b, "could not reach the Cloudflare API (%s) after %d attempts: check network access and base_url", e.detailOr("no response"), e.Attempts)
	case KindAmbiguous:
		fmt.Fprintf(&b, "the request was sent but its response was lost (%s): the change may or may not have been applied; run terraform apply again (the provider re-reads the rules and adopts a rule it created)", e.lostWhat())
	case KindCanceled:
		fmt.Fprintf(&b, "canceled before completion (%s): nothing was changed; run the operation again, with a longer timeout if needed", e.detailOr("context canceled"))
	default:
		fmt.Fprintf(&b, "unexpected answer from Cloudflare (%s): this may be a Cloudflare API change or outage; try again, and report it if it persists", what)
	}
	if e.RayID != "" {
		fmt.Fprintf(&b, " [cf-ray %s]", e.RayID)
	}
	return b.String()
}

func (e *Error) detailOr(def string) string {
	if e.Detail != "" {
		return e.Detail
	}
	return def
}

func (e *Error) lostWhat() string {
	if e.Status != 0 {
		return e.cloudflareSays()
	}
	return e.detailOr("connection dropped")
}

// cloudflareSays renders "HTTP 400, Cloudflare error 2001: msg; error 2002: msg2".
func (e *Error) cloudflareSays() string {
	var parts []string
	if e.Status != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", e.Status))
	}
	n := max(len(e.Codes), len(e.Messages))
	var errs []string
	for i := 0; i < n; i++ {
		var s string
		switch {
		case i < len(e.Codes) && i < len(e.Messages):
			s = fmt.Sprintf("Cloudflare error %d: %s", e.Codes[i], e.Messages[i])
		case i < len(e.Codes):
			s = fmt.Sprintf("Cloudflare error %d", e.Codes[i])
		default:
			s = "Cloudflare: " + e.Messages[i]
		}
		errs = append(errs, s)
	}
	if len(errs) > 0 {
		parts = append(parts, strings.Join(errs, "; "))
	}
	if e.Detail != "" && e.Kind != KindNetwork && e.Kind != KindCanceled {
		parts = append(parts, e.Detail)
	}
	if len(parts) == 0 {
		return "no details"
	}
	return strings.Join(parts, ", ")
}

// Unwrap returns the underlying cause when it is safe to expose: a
// context error or a transport error, never an error carrying server text.
func (e *Error) Unwrap() error { return e.cause }

// Is lets errors.Is(err, &Error{Kind: KindNotFound}) match by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Kind == e.Kind && (t.Op == "" || t.Op == e.Op)
}

// KindOf returns err's ErrorKind (KindUnknown when err is not an *Error).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// IsNotFound reports that the account or rule does not exist (a 404, or one
// of Cloudflare's 400 answers for an unknown rule ID).
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// IsAuthentication reports an invalid/expired token.
func IsAuthentication(err error) bool { return KindOf(err) == KindAuthentication }

// IsAuthorization reports a token without the needed permission.
func IsAuthorization(err error) bool { return KindOf(err) == KindAuthorization }

// IsValidation reports Cloudflare rejecting the request's content.
func IsValidation(err error) bool { return KindOf(err) == KindValidation }

// IsRateLimited reports 429 after every retry.
func IsRateLimited(err error) bool { return KindOf(err) == KindRateLimited }

// IsAmbiguous reports a write whose outcome is unknown: it MAY have been
// applied. Callers re-list and reconcile (e.g. adopt a created rule by name).
func IsAmbiguous(err error) bool { return KindOf(err) == KindAmbiguous }

// HasCode reports whether err is an *Error carrying Cloudflare error code.
func HasCode(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && slices.Contains(e.Codes, code)
}

// IsDedicatedIPv4NotOwned reports Cloudflare's 2055, "Account doesn't own
// dedicated primary IPv4": the rule's egress.ipv4 is not one of the
// account's dedicated egress IPs. The caller maps it to that attribute.
func IsDedicatedIPv4NotOwned(err error) bool { return HasCode(err, CodeDedicatedIPv4NotOwned) }

// IsRetryable reports errors worth trying again later as they are
// (server, network, rate limit, ambiguous); the others need a change first.
func IsRetryable(err error) bool {
	switch KindOf(err) {
	case KindServer, KindNetwork, KindRateLimited, KindAmbiguous:
		return true
	}
	return false
}

// redactor removes the API token (and its "Bearer" form) from text.
type redactor struct{ token string }

const redacted = "[REDACTED]"

func (r redactor) str(s string) string {
	if r.token == "" || s == "" {
		return s
	}
	return strings.ReplaceAll(s, r.token, redacted)
}

func (r redactor) strs(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = r.str(s)
	}
	return out
}

// envelope is Cloudflare's response envelope, decoded leniently.
type envelope struct {
	Success *bool      `json:"success"`
	Errors  []respInfo `json:"errors"`
}

type respInfo struct {
	Code    int
	Message string
}

// classify turns the record of one call (and cloudflare-go's error, used
// only for its category, never its text) into an *Error, or nil on success.
func classify(op string, write bool, rec *callRecord, cfErr, ctxErr error, red redactor) *Error {
	rec.mu.Lock()
	defer rec.mu.Unlock()

	e := &Error{Op: op, Status: rec.status, Attempts: rec.attempts, write: write}
	if rec.header != nil {
		e.RayID = red.str(rec.header.Get("Cf-Ray"))
	}

	// The budget (or Cloudflare's lockout) would wait past the deadline:
	// nothing more was sent.
	if bw, ok := isBudgetWait(cfErr); ok {
		e.Kind = KindRateLimited
		if write && rec.maybeApplied {
			e.Kind = KindAmbiguous
		}
		e.Detail = bw.Error()
		e.cause = context.DeadlineExceeded
		e.unsent = true
		return e
	}
	// A redirect to another host was refused (the token stays home).
	var redirect *errRedirectRefused
	if errors.As(cfErr, &redirect) {
		e.Kind = KindUnknown
		if write && rec.maybeApplied {
			e.Kind = KindAmbiguous
		}
		e.Detail = red.str(redirect.Error())
		return e
	}

	// The caller's context ended (possibly while waiting to retry).
	if rec.status != 0 && ctxErr != nil && cfErr != nil &&
		(errors.Is(cfErr, context.Canceled) || errors.Is(cfErr, context.DeadlineExceeded)) {
		e.Kind = KindCanceled
		if write && (rec.maybeApplied || (rec.status >= 200 && rec.status < 300)) {
			// (A 2xx answer to a write means it was applied.)
			e.Kind = KindAmbiguous
		}
		e.Detail = fmt.Sprintf("%v while waiting to retry after HTTP %d", ctxCause(cfErr), rec.status)
		e.cause = ctxCause(cfErr)
		return e
	}

	// No HTTP response at all.
	if rec.status == 0 {
		if cfErr == nil {
			return nil // cannot happen through cloudflare-go; be safe
		}
		cause := rec.transportErr
		if cause == nil {
			cause = cfErr
		}
		e.Detail = red.str(describeTransportErr(cause))
		canceled := ctxErr != nil || errors.Is(cfErr, errRateWaitDeadline)
		if !canceled && errors.Is(cause, context.DeadlineExceeded) {
			e.Detail = "no answer within the request timeout: " + e.Detail
		}
		switch {
		case write && rec.maybeApplied:
			e.Kind = KindAmbiguous
			if canceled {
				e.cause = ctxCause(cfErr)
			}
		case canceled:
			e.Kind = KindCanceled
			e.cause = ctxCause(cfErr)
		case rec.attempts == 0:
			e.Kind = KindUnknown // failed before sending anything
		default:
			e.Kind = KindNetwork
		}
		if e.cause == nil && rec.transportErr != nil {
			e.cause = safeCause{msg: e.Detail, err: rec.transportErr}
		}
		return e
	}

	env, envOK := decodeEnvelope(rec.body)
	for _, ri := range env.Errors {
		e.Codes = append(e.Codes, ri.Code)
		e.Messages = append(e.Messages, red.str(ri.Message))
	}

	switch {
	case rec.status >= 200 && rec.status < 300:
		if cfErr == nil && envOK && env.Success != nil && *env.Success {
			return nil
		}
		switch {
		case !envOK || env.Success == nil:
			e.Detail = "the response is not Cloudflare's JSON envelope"
		case !*env.Success:
			e.Detail = `"success": false in an HTTP 2xx response`
			if isAuthError(e.Codes, e.Messages) {
				e.Kind = KindAuthentication
				return e
			}
		default:
			e.Detail = "the result could not be decoded"
		}
		e.Kind = KindUnknown
		return e
	case rec.status == http.StatusUnauthorized:
		e.Kind = KindAuthentication
	case rec.status == http.StatusForbidden:
		if isAuthError(e.Codes, e.Messages) {
			e.Kind = KindAuthentication
		} else {
			e.Kind = KindAuthorization
		}
	case rec.status == http.StatusNotFound:
		e.Kind = KindNotFound
	case rec.status == http.StatusBadRequest && rec.ruleID && isRuleGone(e.Codes, e.Messages):
		e.Kind = KindNotFound
	case rec.status == http.StatusBadRequest || rec.status == http.StatusConflict ||
		rec.status == http.StatusUnprocessableEntity:
		e.Kind = KindValidation
	case rec.status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		if write && rec.maybeApplied {
			e.Kind = KindAmbiguous
		}
	case rec.status >= 500:
		e.Kind = KindServer
		if write {
			e.Kind = KindAmbiguous
		}
	default:
		e.Kind = KindUnknown
	}
	return e
}

// isRuleGone reports Cloudflare's 400 answers for a rule ID that does not
// exist (on a path naming one rule): code 7003, or the message "invalid rule
// id" (any case; see invalidRuleID and CodeRoute for the sources).
func isRuleGone(codes []int, msgs []string) bool {
	if slices.Contains(codes, CodeRoute) {
		return true
	}
	for _, m := range msgs {
		if strings.Contains(strings.ToLower(m), invalidRuleID) {
			return true
		}
	}
	return false
}

// decodeEnvelope reads success and errors; errors[] items may be objects
// {code,message} or bare strings (Cloudflare does both).
func decodeEnvelope(body []byte) (envelope, bool) {
	var raw struct {
		Success *bool             `json:"success"`
		Errors  []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return envelope{}, false
	}
	env := envelope{Success: raw.Success}
	for _, m := range raw.Errors {
		var s string
		if json.Unmarshal(m, &s) == nil {
			env.Errors = append(env.Errors, respInfo{Message: s})
			continue
		}
		var o struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(m, &o) == nil {
			env.Errors = append(env.Errors, respInfo{Code: o.Code, Message: o.Message})
		}
	}
	return env, true
}

func ctxCause(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return context.Canceled
	}
	return nil
}

// safeCause exposes a transport error for errors.Is/As while printing only
// the redacted text.
type safeCause struct {
	msg string
	err error
}

func (s safeCause) Error() string { return s.msg }
func (s safeCause) Unwrap() error { return s.err }
