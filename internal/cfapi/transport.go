package cfapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// How retries work (cloudflare-go v7 retries on its own, with its own
// backoff, outside any shared budget, so its retries are turned off with
// option.WithMaxRetries(0)):
//
//	cloudflare-go v7  ->  http.Client{Transport: retryablehttp.RoundTripper}
//	                        retryablehttp.Client (CheckRetry, Backoff: ours)
//	                          http.Client{Transport: attemptTransport}
//	                            budget (5-minute window, lockout) ->
//	                            per-second cap -> base transport (one attempt)
//
// Each API call carries a *callRecord in its context; attemptTransport
// writes what every attempt did into it (status, headers, body, transport
// error, whether a write may have reached Cloudflare), so the API layer can
// classify the final outcome with Cloudflare's codes and nothing else
// (cloudflare-go v7 does not look at "success": false in a 200; its error
// texts are never shown).

// maxBody bounds a response body (1,000 rules are about 0.5 MB).
const maxBody = 64 << 20

type recordKey struct{}

// callRecord is what happened during one API call (all its attempts).
type callRecord struct {
	mu       sync.Mutex
	write    bool // POST, PUT, PATCH, DELETE
	ruleID   bool // the path names one rule (GET, PUT, DELETE of a rule)
	attempts int
	// maybeApplied: some attempt of a write reached Cloudflare and got no
	// usable answer (dropped connection, timeout, 5xx).
	maybeApplied bool

	// The last attempt's outcome.
	status       int
	header       http.Header
	body         []byte
	transportErr error
}

func withRecord(ctx context.Context, write bool) (context.Context, *callRecord) {
	rec := &callRecord{write: write}
	return context.WithValue(ctx, recordKey{}, rec), rec
}

func recordFrom(ctx context.Context) *callRecord {
	rec, _ := ctx.Value(recordKey{}).(*callRecord)
	return rec
}

func (r *callRecord) beginAttempt() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	r.status, r.header, r.body, r.transportErr = 0, nil, nil, nil
	return r.attempts
}

func (r *callRecord) endAttempt(status int, header http.Header, body []byte, err error, lost bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.header, r.body, r.transportErr = status, header, body, err
	if lost && r.write {
		r.maybeApplied = true
	}
}

func isWriteMethod(m string) bool {
	switch m {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// attemptError is a failed attempt with no HTTP response. sent is true
// once a connection to the server was obtained: the request may have
// reached Cloudflare.
type attemptError struct {
	method string
	sent   bool
	err    error
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// attemptTransport makes one attempt: waits for the budget (and for
// Cloudflare's lockout after a 429) and the per-second cap, sends, reads the
// whole body (a connection dropped mid-body is a failed attempt that can be
// retried) and records the outcome. A 429 with Retry-After starts a lockout
// that every request of the client waits out.
type attemptTransport struct {
	base    http.RoundTripper
	limiter *rate.Limiter
	api     *API
	timeout time.Duration // one attempt: send, answer, body
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	rec := recordFrom(ctx)
	if rec == nil {
		rec = &callRecord{write: isWriteMethod(req.Method)}
	}
	if err := t.api.budget.take(ctx, t.api.progress(ctx)); err != nil {
		closeBody(req)
		return nil, err
	}
	if err := t.limiter.Wait(ctx); err != nil {
		closeBody(req)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The limiter refuses to wait past the context's deadline.
		return nil, errRateWaitDeadline
	}

	var gotConn atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) }}
	actx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel() // the body is read in full below
	req = req.WithContext(httptrace.WithClientTrace(actx, trace))

	attempt := rec.beginAttempt()
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
		if err != nil {
			resp = nil
		}
	}
	fields := map[string]any{
		"method":      req.Method,
		"path":        req.URL.Path,
		"attempt":     attempt,
		"duration_ms": time.Since(start).Milliseconds(),
	}
	if err != nil {
		// A keep-alive connection the server had already closed carried
		// nothing: not sent.
		sent := gotConn.Load() && !strings.Contains(err.Error(), "server closed idle connection")
		rec.endAttempt(0, nil, nil, err, sent)
		fields["error"] = describeTransportErr(err)
		t.api.log(ctx, "Cloudflare API request failed", fields)
		return nil, &attemptError{method: req.Method, sent: sent, err: err}
	}
	rec.endAttempt(resp.StatusCode, resp.Header.Clone(), body, nil, resp.StatusCode >= 500)
	fields["status"] = resp.StatusCode
	t.api.log(ctx, "Cloudflare API request", fields)
	if resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := t.api.retryAfter(resp); ok && d > 0 {
			until := t.api.budget.lockout(d)
			t.api.log(ctx, "Cloudflare API rate limit reached (HTTP 429): every request waits for Cloudflare's lockout to end", map[string]any{
				LogLevelKey:     "info",
				"retry_after_s": int64(d / time.Second),
				"until":         until.UTC().Format(time.RFC3339),
			})
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// progress returns the budget's progress callback for one call: an info
// line when a wait starts and every ProgressInterval while it lasts.
func (a *API) progress(ctx context.Context) func(lockout bool, left time.Duration, until time.Time) {
	return func(lockout bool, left time.Duration, until time.Time) {
		msg := "Cloudflare API rate-limit lockout: waiting before the next request"
		if !lockout {
			msg = "Cloudflare API request budget spent: waiting for room in the 5-minute window (requests_per_5_minutes)"
			if left < 5*time.Second {
				return // a short wait is not worth a line
			}
		}
		a.log(ctx, msg, map[string]any{
			LogLevelKey:          "info",
			"wait_left_s":        int64(left.Round(time.Second) / time.Second),
			"until":              until.UTC().Format(time.RFC3339),
			"requests_per_5_min": a.budget.limit,
		})
	}
}

// errRateWaitDeadline: the rate limiter would wait past the caller's deadline.
var errRateWaitDeadline = fmt.Errorf("the request rate limiter would wait past the operation's deadline: %w", context.DeadlineExceeded)

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// checkRetry is retryablehttp's CheckRetry: retry 429, 5xx (except 501)
// and transport failures, but never re-send a create (POST) that may have
// reached Cloudflare: that could create the rule twice. Such a create fails
// with KindAmbiguous and the caller reconciles by listing.
func (a *API) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if !retryableTransportErr(err) {
			return false, nil
		}
		var ae *attemptError
		if errors.As(err, &ae) && ae.sent && ae.method == http.MethodPost {
			a.log(ctx, "Cloudflare API create not retried: the request may have been applied", map[string]any{
				"error": describeTransportErr(err),
			})
			return false, nil
		}
		a.logRetry(ctx, resp, describeTransportErr(err))
		return true, nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
	case resp.StatusCode == http.StatusNotImplemented:
		return false, nil
	case resp.StatusCode >= 500:
		if resp.Request != nil && resp.Request.Method == http.MethodPost {
			return false, nil
		}
	default:
		return false, nil
	}
	a.logRetry(ctx, resp, "HTTP "+strconv.Itoa(resp.StatusCode))
	return true, nil
}

// retryWait is how long the next attempt will wait: Retry-After (a 429's
// through the lockout) or the backoff.
func (a *API) retryWait(resp *http.Response, attemptNum int) time.Duration {
	if d, ok := a.retryAfter(resp); ok {
		return d
	}
	return expBackoff(a.minBackoff, a.maxBackoff, attemptNum)
}

func (a *API) logRetry(ctx context.Context, resp *http.Response, reason string) {
	if a.logf == nil {
		return
	}
	rec := recordFrom(ctx)
	n := 1
	if rec != nil {
		rec.mu.Lock()
		n = rec.attempts
		rec.mu.Unlock()
	}
	if n > a.maxRetries {
		return // retryablehttp gives up: no retry will happen
	}
	a.log(ctx, "Cloudflare API request will be retried", map[string]any{
		"reason":  reason,
		"attempt": n,
		"wait_ms": a.retryWait(resp, n-1).Milliseconds(),
	})
}

// backoff is retryablehttp's Backoff. After a 429 with Retry-After it is 0:
// the budget's lockout (set by attemptTransport) makes this retry, and every
// other request of the client, wait until it ends. A 503's Retry-After
// (seconds or HTTP-date) is waited here, capped by maxRetryAfter; otherwise
// min·2^attempt capped by max. No jitter: the shared budget spaces requests.
func (a *API) backoff(minWait, maxWait time.Duration, attemptNum int, resp *http.Response) time.Duration {
	if d, ok := a.retryAfter(resp); ok {
		if resp.StatusCode == http.StatusTooManyRequests {
			return 0
		}
		return d
	}
	return expBackoff(minWait, maxWait, attemptNum)
}

// retryAfter is the Retry-After of a 429 or 503, capped by maxRetryAfter.
func (a *API) retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, a.maxRetryAfter), true
		}
	}
	return 0, false
}

func expBackoff(minWait, maxWait time.Duration, attemptNum int) time.Duration {
	d := minWait
	for i := 0; i < attemptNum && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait)
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// retryableTransportErr: everything that may be transient. Context ends,
// certificate problems, bad URLs and redirect loops are not.
func retryableTransportErr(err error) bool {
	// The caller's context ending is caught by checkRetry before this, so a
	// deadline here is one attempt's timeout (RequestTimeout): retryable.
	if errors.Is(err, errRateWaitDeadline) || errors.Is(err, context.Canceled) {
		return false
	}
	var redirect *errRedirectRefused
	if _, ok := isBudgetWait(err); ok || errors.As(err, &redirect) {
		return false
	}
	var (
		certErr     *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidCert x509.CertificateInvalidError
	)
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &invalidCert) {
		return false
	}
	msg := err.Error()
	if strings.Contains(msg, "unsupported protocol scheme") || strings.Contains(msg, "stopped after") ||
		strings.Contains(msg, "invalid header") {
		return false
	}
	return true
}

// describeTransportErr is a short text for a transport error, without the
// URL wrappers of net/http and cloudflare-go.
func describeTransportErr(err error) string {
	if err == nil {
		return ""
	}
	for {
		var ue *url.Error
		if !errors.As(err, &ue) {
			break
		}
		err = ue.Err
	}
	var ae *attemptError
	if errors.As(err, &ae) {
		err = ae.err
		for {
			var ue *url.Error
			if !errors.As(err, &ue) {
				break
			}
			err = ue.Err
		}
	}
	msg := err.Error()
	if msg == "EOF" || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed by the server (" + msg + ")"
	}
	return msg
}
