package cfapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// simClock is a simulated clock for a known number of worker goroutines:
// time stands still while any worker is running and jumps to the earliest
// wake-up time once every worker sleeps (a discrete-event simulation). So a
// test sees exactly the times the budget chose, with no real waiting.
type simClock struct {
	mu       sync.Mutex
	cond     *sync.Cond
	now      time.Time
	active   int // workers not finished
	sleeping int
	wakes    []time.Time
}

func newSimClock(workers int) *simClock {
	c := &simClock{now: time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC), active: workers}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.After(c.now) {
		return ctx.Err()
	}
	c.sleeping++
	c.wakes = append(c.wakes, t)
	c.advanceLocked()
	for c.now.Before(t) {
		c.cond.Wait()
	}
	c.sleeping--
	c.wakes = slices.DeleteFunc(c.wakes, func(w time.Time) bool { return !w.After(c.now) })
	return ctx.Err()
}

// done: a worker finished (it will not sleep again).
func (c *simClock) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.active--
	c.advanceLocked()
}

func (c *simClock) advanceLocked() {
	if c.sleeping == 0 || c.sleeping < c.active {
		return
	}
	next := slices.MinFunc(c.wakes, func(a, b time.Time) int { return a.Compare(b) })
	if next.After(c.now) {
		c.now = next
	}
	c.cond.Broadcast()
}

// timedFake is a fake Cloudflare that notes the simulated time of every
// request; with lockoutFirst the first one is answered 429, Retry-After 300
// (Cloudflare's lockout), the others 200.
func timedFake(t *testing.T, clock *simClock, lockoutFirst bool) (*fakeServer, func() []time.Time) {
	var (
		mu    sync.Mutex
		times []time.Time
	)
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ []byte) {
		mu.Lock()
		times = append(times, clock.Now())
		mu.Unlock()
		if lockoutFirst && n == 1 {
			w.Header().Set("Retry-After", "300")
			writeEnvelope(w, 429, nil, cfErr(971, "Please wait and consider throttling your request speed"))
			return
		}
		writeEnvelope(w, 200, []any{})
	})
	return f, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), times...)
	}
}

// TestBudgetNeverExceedsTheWindow: 1,601 requests from 8 goroutines through
// one client with the default budget (600 per 5 minutes), on a simulated
// clock: the first 600 go out at once (a burst), and no window of 300 s
// ever holds more than 600 requests.
func TestBudgetNeverExceedsTheWindow(t *testing.T) {
	t.Parallel()
	const workers, total = 8, 1601
	clock := newSimClock(workers)
	f, recorded := timedFake(t, clock, false)
	a, _ := newTestAPI(t, f.URL, func(c *Config) {
		c.RequestsPerSecond = 0
		c.RequestsPer5Minutes = 0 // the default
		c.Clock = clock
	})
	var next atomic.Int32
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			defer clock.done()
			for next.Add(1) <= total {
				if _, err := a.ListRules(context.Background(), testAccount); err != nil {
					t.Errorf("ListRules: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	times := recorded()
	if len(times) != total {
		t.Fatalf("%d requests, want %d", len(times), total)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	t0 := times[0]
	for i := 0; i+DefaultRequestsPer5Minutes < len(times); i++ {
		if d := times[i+DefaultRequestsPer5Minutes].Sub(times[i]); d < BudgetWindow {
			t.Fatalf("requests %d and %d are %v apart: %d requests within a 5-minute window",
				i, i+DefaultRequestsPer5Minutes, d, DefaultRequestsPer5Minutes+1)
		}
	}
	for i, want := range map[int]time.Duration{0: 0, 599: 0, 600: BudgetWindow, 1199: BudgetWindow, 1200: 2 * BudgetWindow} {
		if got := times[i].Sub(t0); got != want {
			t.Errorf("request %d at +%v, want +%v (a burst of 600 per window)", i, got, want)
		}
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("took %v of real time: the simulated clock was not used", el)
	}
}

// TestLockoutIsWaitedOutWithProgress: a 429 with Retry-After (Cloudflare's
// 5-minute lockout) makes the client wait it out, logging a line when the
// wait starts and every 30 s, then succeed.
func TestLockoutIsWaitedOutWithProgress(t *testing.T) {
	t.Parallel()
	clock := newSimClock(1)
	f, recorded := timedFake(t, clock, true)
	a, sink := newTestAPI(t, f.URL, func(c *Config) { c.Clock = clock; c.MaxRetryAfter = 0 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if _, err := a.ListRules(ctx, testAccount); err != nil {
		t.Fatal(err)
	}
	clock.done()
	if times := recorded(); len(times) != 2 || times[1].Sub(times[0]) != 5*time.Minute {
		t.Fatalf("request times %v, want the retry 5 minutes after the 429", recorded())
	}
	var progress []logLine
	for _, l := range sink.all() {
		if strings.Contains(l.Msg, "lockout: waiting") {
			progress = append(progress, l)
		}
		if strings.Contains(l.Msg, "rate limit reached") && (l.Fields[LogLevelKey] != "info" || l.Fields["retry_after_s"] != int64(300)) {
			t.Errorf("429 line: %v", l)
		}
	}
	if len(progress) != 10 {
		t.Fatalf("%d progress lines, want 10 (one every 30 s of a 5-minute wait):\n%s", len(progress), sink.text())
	}
	if p := progress[0].Fields; p[LogLevelKey] != "info" || p["wait_left_s"] != int64(300) {
		t.Errorf("first progress line %v", p)
	}
	if p := progress[9].Fields; p["wait_left_s"] != int64(30) {
		t.Errorf("last progress line %v", p)
	}
}

// TestLockoutHoldsEveryGoroutine: once one call meets the lockout, the
// other goroutines' requests wait for it too (Cloudflare blocks every call).
func TestLockoutHoldsEveryGoroutine(t *testing.T) {
	t.Parallel()
	const workers = 4
	clock := newSimClock(workers)
	f, recorded := timedFake(t, clock, true)
	first := make(chan struct{}) // closed once the lockout has started
	var once sync.Once
	a, _ := newTestAPI(t, f.URL, func(c *Config) {
		c.Clock = clock
		prev := c.Logf
		c.Logf = func(ctx context.Context, msg string, fields map[string]any) {
			prev(ctx, msg, fields)
			if strings.Contains(msg, "rate limit reached") {
				once.Do(func() { close(first) })
			}
		}
	})
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			defer clock.done()
			if i > 0 {
				<-first
			}
			for range 3 {
				if _, err := a.ListRules(context.Background(), testAccount); err != nil {
					t.Errorf("ListRules: %v", err)
				}
			}
		})
	}
	wg.Wait()
	times := recorded()
	t0 := times[0]
	for i, at := range times[1:] {
		if d := at.Sub(t0); d < 5*time.Minute {
			t.Errorf("request %d at +%v, inside the lockout", i+2, d)
		}
	}
	if len(times) != 3*workers+1 {
		t.Errorf("%d requests, want %d", len(times), 3*workers+1)
	}
}

// TestConcurrentWritesThroughOneClient: independent rules written
// concurrently through one client (run with -race) all land, each once.
func TestConcurrentWritesThroughOneClient(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.Config{Token: testToken, RateLimit: -1, Faults: emulator.Faults{Latency: 5 * time.Millisecond}})
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	a, _ := newTestAPI(t, url, func(c *Config) { c.RequestsPerSecond = 0 })
	const workers, each = 16, 15
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := Rule{Name: fmt.Sprintf("w%d-%d", w, i), Precedence: uint64(10000 + w*100 + i), Enabled: true,
					Action: "egress", Filters: []string{"egress"}, Traffic: "net.dst.port == 443"}
				got, err := a.CreateRule(context.Background(), testAccount, r)
				if err != nil || got.Name != r.Name {
					t.Errorf("create %s: %+v %v", r.Name, got, err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(emu.Rules(testAccount)); n != workers*each {
		t.Errorf("%d rules stored, want %d", n, workers*each)
	}
	if n := emu.Stats().Requests; n != workers*each {
		t.Errorf("%d requests, want %d", n, workers*each)
	}
}
