package cfapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			writeEnvelope(w, 429, nil, cfErr(971, "Please wait and consider throttling your request speed"))
			return
		}
		writeEnvelope(w, 200, []any{})
	})
	// MaxBackoff 20ms: only Retry-After can explain a 1 s wait.
	a, sink := newTestAPI(t, f.URL, nil)
	start := time.Now()
	if _, err := a.ListRules(context.Background(), testAccount); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second || el > 3*time.Second {
		t.Errorf("elapsed %v, want about 1s (Retry-After: 1)", el)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	if !strings.Contains(sink.text(), "wait_ms:1000") {
		t.Errorf("retry log lacks the 1000 ms wait:\n%s", sink.text())
	}
}

func TestRetryAfterIsCapped(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
		if n == 1 {
			w.Header().Set("Retry-After", "120")
			writeEnvelope(w, 429, nil, cfErr(971, "slow down"))
			return
		}
		writeEnvelope(w, 200, []any{})
	})
	a, _ := newTestAPI(t, f.URL, func(c *Config) { c.MaxRetryAfter = 30 * time.Millisecond })
	start := time.Now()
	if _, err := a.ListRules(context.Background(), testAccount); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 30*time.Millisecond || el > time.Second {
		t.Errorf("elapsed %v, want about 30ms (MaxRetryAfter)", el)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 30 ", 30 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"Thu, 26 Nov 2026 03:00:05 GMT", 5 * time.Second, true},
		{"Thursday, 26-Nov-26 03:01:00 GMT", time.Minute, true}, // RFC 850
		{"Thu, 26 Nov 2026 02:59:00 GMT", 0, true},              // in the past: now
		{"99999999", 24 * time.Hour, true},
	}
	for _, c := range cases {
		got, ok := parseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("parseRetryAfter(%q) = %v,%v want %v,%v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestBackoffSchedule(t *testing.T) {
	t.Parallel()
	a := &API{maxRetryAfter: time.Minute}
	minW, maxW := time.Second, 30*time.Second
	s := time.Second
	want := []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s}
	for i, w := range want {
		if got := a.backoff(minW, maxW, i, nil); got != w {
			t.Errorf("attempt %d: %v, want %v", i, got, w)
		}
	}
	r503 := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"7"}}}
	if got := a.backoff(minW, maxW, 0, r503); got != 7*time.Second {
		t.Errorf("503 Retry-After 7: %v", got)
	}
	r500 := &http.Response{StatusCode: 500, Header: http.Header{"Retry-After": {"7"}}}
	if got := a.backoff(minW, maxW, 2, r500); got != 4*time.Second {
		t.Errorf("500 ignores Retry-After: %v", got)
	}
	// A 429's Retry-After is waited by the budget's lockout, not here.
	r429 := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"600"}}}
	if got := a.backoff(minW, maxW, 0, r429); got != 0 {
		t.Errorf("429 Retry-After 600: backoff %v, want 0 (the lockout waits)", got)
	}
	if got := a.retryWait(r429, 0); got != time.Minute {
		t.Errorf("429 Retry-After 600: the logged wait is %v, want it capped at 1m", got)
	}
}

func TestServerErrorsBackOffThenSucceed(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
		if n <= 2 {
			writeEnvelope(w, 503, nil, cfErr(2006, "unavailable"))
			return
		}
		writeEnvelope(w, 200, []any{apiRule("a", "a", 1, nil)})
	})
	a, _ := newTestAPI(t, f.URL, func(c *Config) { c.MinBackoff = 40 * time.Millisecond; c.MaxBackoff = time.Second })
	start := time.Now()
	rules, err := a.ListRules(context.Background(), testAccount)
	if err != nil || len(rules) != 1 {
		t.Fatalf("ListRules = %v, %v", rules, err)
	}
	if el := time.Since(start); el < 120*time.Millisecond {
		t.Errorf("elapsed %v, want >= 40ms + 80ms of backoff", el)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestWritesAfterServerErrors(t *testing.T) {
	t.Parallel()
	always := func(status int) func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
		return func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
			writeEnvelope(w, status, nil, cfErr(2006, "boom"))
		}
	}
	rule := Rule{ID: "r1", Name: "n", Action: "egress", Filters: []string{"egress"}, Traffic: "net.dst.port == 1"}

	t.Run("POST 503 is not retried and is ambiguous", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, always(503))
		a, _ := newTestAPI(t, f.URL, nil)
		_, err := a.CreateRule(context.Background(), testAccount, rule)
		if !IsAmbiguous(err) || !strings.Contains(err.Error(), "may or may not have been applied") ||
			!strings.Contains(err.Error(), `create rule "n"`) {
			t.Errorf("err = %v, want ambiguous", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("%d requests, want 1 (a create is never re-sent)", n)
		}
	})
	t.Run("PUT 502 exhausted is ambiguous", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, always(502))
		a, _ := newTestAPI(t, f.URL, nil)
		_, err := a.UpdateRule(context.Background(), testAccount, rule)
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindAmbiguous || e.Status != 502 || e.Attempts != 4 {
			t.Errorf("err = %#v, want ambiguous after 4 attempts", err)
		}
		if n := len(f.requests()); n != 4 {
			t.Errorf("%d requests, want 4", n)
		}
	})
	t.Run("PUT 500 then 200 succeeds", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
			if n == 1 {
				writeEnvelope(w, 500, nil, cfErr(2006, "boom"))
				return
			}
			writeEnvelope(w, 200, apiRule("r1", "n", 5, nil))
		})
		a, _ := newTestAPI(t, f.URL, nil)
		if _, err := a.UpdateRule(context.Background(), testAccount, rule); err != nil {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("POST 429 is retried (nothing was applied)", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
			if n == 1 {
				w.Header().Set("Retry-After", "0")
				writeEnvelope(w, 429, nil, cfErr(971, "slow"))
				return
			}
			writeEnvelope(w, 200, apiRule("r1", "n", 5, nil))
		})
		a, _ := newTestAPI(t, f.URL, nil)
		got, err := a.CreateRule(context.Background(), testAccount, rule)
		if err != nil || got.ID != "r1" {
			t.Errorf("CreateRule = %v, %v", got, err)
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("DELETE 501 is not retried", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, always(501))
		a, _ := newTestAPI(t, f.URL, nil)
		if err := a.DeleteRule(context.Background(), testAccount, "r1"); !IsAmbiguous(err) {
			t.Errorf("err = %v", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

func TestDroppedConnections(t *testing.T) {
	t.Parallel()
	rule := Rule{ID: "r1", Name: "dropme", Action: "egress", Filters: []string{"egress"}, Traffic: "net.dst.port == 1"}

	t.Run("GET dropped once is retried", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
			if n == 1 {
				dropConn(t, w)
				return
			}
			writeEnvelope(w, 200, []any{})
		})
		a, sink := newTestAPI(t, f.URL, nil)
		if _, err := a.ListRules(context.Background(), testAccount); err != nil {
			t.Fatal(err)
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
		if !strings.Contains(sink.text(), "will be retried") {
			t.Errorf("no retry logged:\n%s", sink.text())
		}
	})
	t.Run("GET body cut short is retried", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
			if n == 1 {
				w.Header().Set("Content-Length", "1000")
				w.WriteHeader(200)
				_, _ = w.Write([]byte(`{"success":true,"resu`))
				if fl, ok := w.(http.Flusher); ok {
					fl.Flush()
				}
				dropConn(t, w)
				return
			}
			writeEnvelope(w, 200, []any{apiRule("a", "a", 1, nil)})
		})
		a, _ := newTestAPI(t, f.URL, nil)
		rules, err := a.ListRules(context.Background(), testAccount)
		if err != nil || len(rules) != 1 {
			t.Fatalf("ListRules = %v, %v", rules, err)
		}
	})
	t.Run("GET always dropped is a network error", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) { dropConn(t, w) })
		a, _ := newTestAPI(t, f.URL, nil)
		_, err := a.ListRules(context.Background(), testAccount)
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindNetwork || e.Attempts != 4 || !strings.Contains(e.Error(), "could not reach") {
			t.Errorf("err = %v, want network error after 4 attempts", err)
		}
	})
	t.Run("POST dropped is not re-sent and is ambiguous", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) { dropConn(t, w) })
		a, _ := newTestAPI(t, f.URL, nil)
		_, err := a.CreateRule(context.Background(), testAccount, rule)
		if !IsAmbiguous(err) || !strings.Contains(err.Error(), "connection closed") {
			t.Errorf("err = %v, want ambiguous", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("%d requests, want exactly 1", n)
		}
	})
	t.Run("PUT dropped then 200 succeeds", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
			if n == 1 {
				dropConn(t, w)
				return
			}
			writeEnvelope(w, 200, apiRule("r1", "dropme", 3, nil))
		})
		a, _ := newTestAPI(t, f.URL, nil)
		if _, err := a.UpdateRule(context.Background(), testAccount, rule); err != nil {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("DELETE applied, response lost, retry 404 is success", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
			if n == 1 {
				dropConn(t, w) // pretend the delete was applied
				return
			}
			writeEnvelope(w, 404, nil, cfErr(2003, "invalid rule id"))
		})
		a, _ := newTestAPI(t, f.URL, nil)
		if err := a.DeleteRule(context.Background(), testAccount, "r1"); err != nil {
			t.Errorf("err = %v, want nil", err)
		}
	})
	t.Run("DELETE of a missing rule is NotFound", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
			writeEnvelope(w, 404, nil, cfErr(2003, "invalid rule id"))
		})
		a, _ := newTestAPI(t, f.URL, nil)
		if err := a.DeleteRule(context.Background(), testAccount, "r1"); !IsNotFound(err) {
			t.Errorf("err = %v, want NotFound", err)
		}
	})
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	a, sink := newTestAPI(t, "http://"+addr, func(c *Config) { c.MaxRetries = 2 })
	// Nothing was sent, so even a create is retried and is not ambiguous.
	_, err = a.CreateRule(context.Background(), testAccount, Rule{Name: "x"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindNetwork || e.Attempts != 3 {
		t.Fatalf("err = %v, want network error after 3 attempts", err)
	}
	if !strings.Contains(e.Error(), "refused") || !strings.Contains(e.Error(), "base_url") {
		t.Errorf("message %q should say the connection was refused and mention base_url", e.Error())
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("the net error should be reachable with errors.As")
	}
	attempts := 0
	for _, l := range sink.all() {
		if l.Msg == "Cloudflare API request failed" {
			attempts++
		}
	}
	if attempts != 3 {
		t.Errorf("%d failed attempts logged, want 3", attempts)
	}
}

func TestRateLimiterSpacesRequests(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) { writeEnvelope(w, 200, []any{}) })
	a, _ := newTestAPI(t, f.URL, func(c *Config) { c.RequestsPerSecond = 20 })
	start := time.Now()
	for i := 0; i < 6; i++ {
		if _, err := a.ListRules(context.Background(), testAccount); err != nil {
			t.Fatal(err)
		}
	}
	// Burst 1: the first goes at once, then one every 50 ms.
	if el := time.Since(start); el < 240*time.Millisecond {
		t.Errorf("6 requests at 20/s took %v, want >= 250ms", el)
	}
}

func TestRateLimiterAppliesToRetries(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
		if n <= 3 {
			writeEnvelope(w, 500, nil)
			return
		}
		writeEnvelope(w, 200, []any{})
	})
	a, _ := newTestAPI(t, f.URL, func(c *Config) {
		c.RequestsPerSecond = 10
		c.MinBackoff, c.MaxBackoff = time.Millisecond, time.Millisecond
	})
	start := time.Now()
	if _, err := a.ListRules(context.Background(), testAccount); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 290*time.Millisecond {
		t.Errorf("4 attempts at 10/s took %v, want >= 300ms", el)
	}
}

func TestNoRetriesWhenDisabled(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) { writeEnvelope(w, 503, nil) })
	a, _ := newTestAPI(t, f.URL, func(c *Config) { c.MaxRetries = -1 })
	_, err := a.ListRules(context.Background(), testAccount)
	if KindOf(err) != KindServer {
		t.Errorf("err = %v", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestContextEnds(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) {
		w.Header().Set("Retry-After", "30")
		writeEnvelope(w, 429, nil, cfErr(971, "slow"))
	})
	a, _ := newTestAPI(t, f.URL, func(c *Config) { c.MaxRetryAfter = time.Minute })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.ListRules(ctx, testAccount)
	if KindOf(err) != KindCanceled || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = a.ListRules(ctx, testAccount)
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("waited %v through a 30 s Retry-After despite the deadline", el)
	}
	// The lockout would outlast the deadline: a rate-limit error at once,
	// saying that nothing more was sent.
	if KindOf(err) != KindRateLimited || !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "past this operation's deadline") || !strings.Contains(err.Error(), "nothing was sent") {
		t.Errorf("deadline: err = %v (%v)", err, KindOf(err))
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
		if n == 1 {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		writeEnvelope(w, 200, []any{})
	})
	a, _ := newTestAPI(t, f.URL, func(c *Config) { c.RequestTimeout = 100 * time.Millisecond })
	if _, err := a.ListRules(context.Background(), testAccount); err != nil {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// TestTokenNeverLeaks: a server that echoes the Authorization header in
// its error messages; neither errors nor logs may show the token.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 403, 404, 429, 500, 200} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int, _ []byte) {
				echo := "bad header: " + r.Header.Get("Authorization")
				w.Header().Set("Cf-Ray", "ray-"+r.Header.Get("Authorization"))
				w.Header().Set("Retry-After", "0")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = fmt.Fprintf(w, `{"success":false,"errors":[{"code":10000,"message":%q}],"messages":[],"result":null}`, echo)
			})
			a, sink := newTestAPI(t, f.URL, func(c *Config) { c.MaxRetries = 1 })
			_, err := a.CreateRule(context.Background(), testAccount, Rule{Name: "leak test"})
			if err == nil {
				t.Fatal("want an error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not *Error: %v", err)
			}
			texts := []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", e),
				strings.Join(e.Messages, " "), e.RayID, e.Detail, sink.text()}
			for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
				texts = append(texts, u.Error())
			}
			for _, s := range texts {
				if strings.Contains(s, testToken) {
					t.Errorf("token leaked: %s", s)
				}
			}
			if !strings.Contains(err.Error(), "Bearer "+redacted) {
				t.Errorf("message should show the redacted echo: %s", err.Error())
			}
		})
	}
}
