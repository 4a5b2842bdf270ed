package benchmarks

// Creating 500 egress rules one after the other through cfapi against the
// emulator with 50 ms of latency per request (issue 11):
//
//	go test -run '^$' -bench Create500 -benchtime 1x ./internal/benchmarks
//
// "budget_600" is the client as configured by default (a sliding window of
// 600 requests per 5 minutes that allows bursts). "flat_4rps" is the
// previous client (4 requests per second, no burst); it takes about two
// minutes, so it runs only with CFEGRESS_BENCH_BEFORE=1. Sequential writes
// are bound by the latency (500 × 50 ms = 25 s); going faster needs
// concurrent writes (CreateRules takes a number of workers).
//
// BenchmarkApplyCreate500 is the same through reconcile.Apply (the
// provider's create: one list, then the writes in phases of rules no flow
// matches together, MaxConcurrentWrites at a time) with the client's
// default budget; "with_catch_all" ends the list with a catch-all that
// overlaps every policy (written alone, last).

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

func BenchmarkCreate500(b *testing.B) {
	const n, latency = 500, 50 * time.Millisecond
	cases := []struct {
		name    string
		cfg     cfapi.Config
		workers int
		slow    bool
	}{
		{name: "flat_4rps", cfg: cfapi.Config{RequestsPerSecond: 4, RequestsPer5Minutes: -1}, workers: 1, slow: true},
		{name: "budget_600", cfg: cfapi.Config{}, workers: 1},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.slow && os.Getenv("CFEGRESS_BENCH_BEFORE") != "1" {
				b.Skip("the previous 4 requests/s client takes about 2 minutes: set CFEGRESS_BENCH_BEFORE=1")
			}
			emu, url, err := LatencyEmulator(token, latency)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = emu.Close() })
			rules := NumberedRules(n)
			var maxWindow int
			for b.Loop() {
				b.StopTimer()
				emu.Reset()
				cfg := c.cfg
				cfg.APIToken, cfg.BaseURL, cfg.MaxRetries = token, url, -1
				rec := &RequestRecorder{}
				cfg.HTTPClient = rec.HTTPClient()
				api, err := cfapi.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := CreateRules(context.Background(), api, account, rules, c.workers); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if got := len(emu.Rules(account)); got != n {
					b.Fatalf("%d rules created, want %d", got, n)
				}
				maxWindow = max(maxWindow, MaxInWindow(rec.Times(), cfapi.BudgetWindow))
				b.StartTimer()
			}
			b.ReportMetric(float64(maxWindow), "max_requests_per_300s")
			b.ReportMetric(latency.Seconds()*1000, "latency_ms")
		})
	}
}

func BenchmarkApplyCreate500(b *testing.B) {
	const n, latency = 500, 50 * time.Millisecond
	emu, url, err := LatencyEmulator(token, latency)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = emu.Close() })
	for _, catchAll := range []bool{false, true} {
		for _, workers := range []int{1, 2, 4, 8} {
			name := fmt.Sprintf("workers_%d", workers)
			if catchAll {
				if workers != reconcile.DefaultMaxConcurrentWrites {
					continue
				}
				name = "with_catch_all/" + name
			}
			b.Run(name, func(b *testing.B) {
				desired := make([]reconcile.Desired, n)
				for i := range desired {
					desired[i] = policy(fmt.Sprintf("p%04d", i), 10000+i)
				}
				if catchAll {
					desired[n-1] = reconcile.Desired{Name: "catch-all", Enabled: true, Traffic: "net.dst.ip in {0.0.0.0/0 ::/0}"}
				}
				var maxWindow, requests int
				for b.Loop() {
					b.StopTimer()
					emu.Reset()
					rec := &RequestRecorder{}
					api, err := cfapi.New(cfapi.Config{APIToken: token, BaseURL: url, MaxRetries: -1, HTTPClient: rec.HTTPClient()})
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					res, err := reconcile.Apply(context.Background(), api, account, desired, reconcile.Options{Create: true, MaxConcurrentWrites: workers})
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					if got := len(emu.Rules(account)); got != n || res.Creates != n {
						b.Fatalf("%d rules in the account, %d creates; want %d", got, res.Creates, n)
					}
					times := rec.Times()
					requests = len(times)
					maxWindow = max(maxWindow, MaxInWindow(times, cfapi.BudgetWindow))
					if maxWindow > cfapi.DefaultRequestsPer5Minutes {
						b.Fatalf("%d requests in a 5-minute window, over the default budget of %d", maxWindow, cfapi.DefaultRequestsPer5Minutes)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(maxWindow), "max_requests_per_300s")
				b.ReportMetric(float64(requests), "requests")
				b.ReportMetric(latency.Seconds()*1000, "latency_ms")
			})
		}
	}
}
