package benchmarks

import (
	"context"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

func TestMaxInWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s ...int) []time.Time {
		out := make([]time.Time, len(s))
		for i, x := range s {
			out[i] = t0.Add(time.Duration(x) * time.Second)
		}
		return out
	}
	for _, c := range []struct {
		times []time.Time
		want  int
	}{
		{nil, 0}, {at(0), 1}, {at(0, 0, 0), 3}, {at(0, 299, 300), 2}, {at(0, 1, 2, 300, 301), 3}, {at(0, 300, 600), 1},
	} {
		if got := MaxInWindow(c.times, 300*time.Second); got != c.want {
			t.Errorf("MaxInWindow(%v) = %d, want %d", c.times, got, c.want)
		}
	}
}

// TestCreateRulesWorkers: the harness creates every rule once, with one
// worker and with several, and the recorder sees every request.
func TestCreateRulesWorkers(t *testing.T) {
	emu, url, err := LatencyEmulator(token, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	for _, workers := range []int{1, 8} {
		emu.Reset()
		rec := &RequestRecorder{}
		api, err := cfapi.New(cfapi.Config{APIToken: token, BaseURL: url, MaxRetries: -1, HTTPClient: rec.HTTPClient()})
		if err != nil {
			t.Fatal(err)
		}
		if err := CreateRules(context.Background(), api, account, NumberedRules(40), workers); err != nil {
			t.Fatal(err)
		}
		if n := len(emu.Rules(account)); n != 40 {
			t.Errorf("workers %d: %d rules", workers, n)
		}
		if n := len(rec.Times()); n != 40 {
			t.Errorf("workers %d: %d requests recorded", workers, n)
		}
	}
}
