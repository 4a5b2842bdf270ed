package cfapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testToken   = "tok-SECRET-1234567890abcdef"
	testAccount = "0123456789abcdef0123456789abcdef"
)

// seen is one request the fake server received.
type seen struct {
	Method string
	Path   string
	Auth   string
	UA     string
	Body   []byte
}

// fakeServer is an httptest server whose handler the test chooses, and that
// records every request.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newFake(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int, body []byte)) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("User-Agent"), body})
		n := len(f.reqs)
		f.mu.Unlock()
		h(w, r, n, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// logLine is one Logf call.
type logLine struct {
	Msg    string
	Fields map[string]any
}

type logSink struct {
	mu    sync.Mutex
	lines []logLine
}

func (s *logSink) logf(_ context.Context, msg string, fields map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, logLine{msg, fields})
}

func (s *logSink) all() []logLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]logLine(nil), s.lines...)
}

func (s *logSink) text() string {
	var b strings.Builder
	for _, l := range s.all() {
		fmt.Fprintf(&b, "%s %v\n", l.Msg, l.Fields)
	}
	return b.String()
}

// newTestAPI is an API against base with fast retries.
func newTestAPI(t *testing.T, base string, mod func(*Config)) (*API, *logSink) {
	t.Helper()
	sink := &logSink{}
	cfg := Config{
		APIToken:          testToken,
		BaseURL:           base,
		RequestsPerSecond: 1000,
		MaxRetries:        3,
		MinBackoff:        5 * time.Millisecond,
		MaxBackoff:        20 * time.Millisecond,
		Logf:              sink.logf,
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a, sink
}

// writeEnvelope writes Cloudflare's envelope.
func writeEnvelope(w http.ResponseWriter, status int, result any, errs ...map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if errs == nil {
		errs = []map[string]any{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"success":  status < 400 && len(errs) == 0,
		"errors":   errs,
		"messages": []any{},
		"result":   result,
	})
}

func cfErr(code int, msg string) map[string]any {
	return map[string]any{"code": code, "message": msg}
}

// apiRule is a rule as Cloudflare returns it.
func apiRule(id, name string, prec int, egress map[string]string) map[string]any {
	rs := map[string]any{}
	if egress != nil {
		rs["egress"] = egress
	}
	return map[string]any{
		"id": id, "name": name, "description": "", "precedence": prec, "enabled": true,
		"action": "egress", "filters": []string{"egress"}, "traffic": "net.dst.port == 443",
		"identity": "", "device_posture": "", "version": 1, "rule_settings": rs,
		"created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:06Z",
	}
}

// dropConn closes the client's connection without an answer.
func dropConn(t *testing.T, w http.ResponseWriter) {
	t.Helper()
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Errorf("response writer cannot hijack")
		return
	}
	c, _, err := hj.Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	_ = c.Close()
}

// writeJSONBody writes any JSON body with the given status.
func writeJSONBody(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
