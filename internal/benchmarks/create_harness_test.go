package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// A harness for write-throughput benchmarks (issue 11: "create 500 policies
// with 50 ms API latency"), reusable by benchmarks of concurrent writers.

// LatencyEmulator starts an emulator that adds latency to every API request
// and has no rate limit of its own (the client's budget is what is
// measured). It returns the emulator and its base URL; stop it with Close.
func LatencyEmulator(tok string, latency time.Duration) (*emulator.Emulator, string, error) {
	emu := emulator.New(emulator.Config{Token: tok, RateLimit: -1, Seed: 1, Faults: emulator.Faults{Latency: latency}})
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	return emu, url, nil
}

// NumberedRules is n egress rules with distinct names, ports and
// precedences (1000, 1010, ...), a third of them default egress.
func NumberedRules(n int) []cfapi.Rule {
	out := make([]cfapi.Rule, n)
	for i := range out {
		d := policy(fmt.Sprintf("p%04d", i), 10000+i)
		out[i] = cfapi.Rule{Name: d.Name, Precedence: uint64(1000 + 10*i), Enabled: true, Action: "egress",
			Filters: []string{"egress"}, Traffic: d.Traffic, Egress: d.Egress}
	}
	return out
}

// CreateRules creates rules through c with at most workers requests in
// flight (1: one after the other) and returns the first error.
func CreateRules(ctx context.Context, c cfapi.Client, account string, rules []cfapi.Rule, workers int) error {
	workers = max(1, min(workers, len(rules)))
	next := make(chan cfapi.Rule)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for r := range next {
				if _, err := c.CreateRule(ctx, account, r); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, r := range rules {
		next <- r
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// MaxInWindow is the largest number of the sorted times in any window of
// length w (half-open).
func MaxInWindow(sorted []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range sorted {
		for sorted[i].Sub(sorted[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// RequestRecorder is an http.RoundTripper that notes when each request is
// sent; plug its HTTPClient into cfapi.Config.HTTPClient.
type RequestRecorder struct {
	mu    sync.Mutex
	times []time.Time
}

// HTTPClient is a client whose transport records and sends each request.
func (r *RequestRecorder) HTTPClient() *http.Client { return &http.Client{Transport: r} }

// RoundTrip records the time and sends req with http.DefaultTransport.
func (r *RequestRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.times = append(r.times, time.Now())
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// Times are the recorded send times, sorted.
func (r *RequestRecorder) Times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]time.Time(nil), r.times...)
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}
