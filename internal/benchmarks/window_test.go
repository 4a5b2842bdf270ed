package benchmarks

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

// jumpClock is a monotonic fake clock whose sleeps return at once, moving
// the time forward to their end. Every grant of the budget is checked
// against the window at the time it is made and time never goes back, so
// the request times it records satisfy the budget exactly as real time
// would, without waiting.
type jumpClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *jumpClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
	return ctx.Err()
}

// clockRecorder notes the clock's time of every request.
type clockRecorder struct {
	clock *jumpClock
	mu    sync.Mutex
	times []time.Time
}

func (r *clockRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.times = append(r.times, r.clock.Now())
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// TestApplyKeepsTheBudgetWindow: reconcile.Apply creating 700 policies, 8
// writes at a time, through one client with the default budget (600
// requests per 5 minutes): the first 600 requests go out at once, and no
// window of 5 minutes (on the client's clock) holds more than 600.
func TestApplyKeepsTheBudgetWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("700 creates through the emulator")
	}
	const n = 700
	emu, url, err := LatencyEmulator(token, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	clock := &jumpClock{now: time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)}
	rec := &clockRecorder{clock: clock}
	api, err := cfapi.New(cfapi.Config{APIToken: token, BaseURL: url, MaxRetries: -1, Clock: clock, HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	desired := make([]reconcile.Desired, n)
	for i := range desired {
		desired[i] = policy(fmt.Sprintf("p%04d", i), 10000+i)
	}
	res, err := reconcile.Apply(context.Background(), api, account, desired, reconcile.Options{Create: true, MaxConcurrentWrites: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.Creates != n {
		t.Fatalf("%d creates, want %d", res.Creates, n)
	}
	times := append([]time.Time(nil), rec.times...)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	if len(times) != n+1 {
		t.Fatalf("%d requests, want %d (one list, the creates)", len(times), n+1)
	}
	if got := MaxInWindow(times, cfapi.BudgetWindow); got != cfapi.DefaultRequestsPer5Minutes {
		t.Errorf("at most %d requests in a 5-minute window, want exactly the budget of %d", got, cfapi.DefaultRequestsPer5Minutes)
	}
	if el := times[len(times)-1].Sub(times[0]); el != cfapi.BudgetWindow {
		t.Errorf("the last request %v after the first, want 5 minutes (the 601st waits for the first to leave the window)", el)
	}
}
