package e2e

import (
	"os"
	"slices"
	"testing"
	"time"
)

// scaleN is the list size of the plan timing (issue 7: 1,000 policies,
// goal < 5 s on this machine).
const scaleN = 1000

// applyScale applies scaleN policies and returns the working directory,
// the generator and the policies.
func applyScale(t testing.TB) (*tf, *gen, []pol) {
	t.Helper()
	w := newTF(t, emuOptions{Seed: 41, SeedRules: dnsRules()})
	g := newGen(41)
	ps := g.list(scaleN)
	w.write(w.policiesConfig(ps))
	r := w.mustApply()
	if d := compare(egressRules(w.emu), ps); !d.ok() {
		t.Fatalf("after creating %d policies: %s", scaleN, d)
	}
	t.Logf("terraform apply creating %d policies took %v", scaleN, r.took.Round(time.Millisecond))
	return w, g, ps
}

// TestPlan1000 times `terraform plan` with 1,000 policies against the
// emulator (refresh, validation of the whole list, plan) and counts its API
// calls. It logs the time instead of asserting it (shared CI machines);
// BenchmarkTerraformPlan1000 reports the same in `make bench`. Then it
// inserts one policy in the middle and checks that `terraform apply` writes
// exactly once.
func TestPlan1000(t *testing.T) {
	terraformPath(t)
	t.Parallel()
	w, g, ps := applyScale(t)
	before := w.emu.Stats().Requests
	r := w.plan()
	if r.code != 0 {
		t.Fatalf("plan after apply: exit %d, want 0 (no changes):\n%s", r.code, r)
	}
	calls := w.emu.Stats().Requests - before
	t.Logf("terraform plan with %d policies (no change): %v wall time, %v CPU (terraform + provider), %d API calls (goal < 5 s, <= 2 calls)",
		scaleN, r.took.Round(time.Millisecond), r.cpu.Round(time.Millisecond), calls)
	if calls > 2 {
		t.Errorf("a no-change plan made %d API calls, want at most 2", calls)
	}

	ps = slices.Insert(ps, scaleN/2, g.policy())
	w.write(w.policiesConfig(ps))
	before, wrote := w.emu.Stats().Requests, writes(w.emu)
	r = w.mustApply()
	calls, wrote = w.emu.Stats().Requests-before, writes(w.emu)-wrote
	t.Logf("terraform apply inserting one policy in the middle of %d: %v wall time, %v CPU, %d API calls, %d writes (goal: 1 write)",
		scaleN, r.took.Round(time.Millisecond), r.cpu.Round(time.Millisecond), calls, wrote)
	if wrote != 1 {
		t.Errorf("inserting one policy wrote %d times, want 1", wrote)
	}
	if d := compare(egressRules(w.emu), ps); !d.ok() {
		t.Errorf("after the insert: %s", d)
	}
}

// BenchmarkTerraformPlan1000 is the wall time of `terraform plan
// -detailed-exitcode` with 1,000 policies, no change, against the emulator.
// It needs terraform on PATH (benchmarks only run when asked for, so unlike
// the tests it does not wait for TF_ACC):
//
//	go test -run '^$' -bench TerraformPlan1000 -benchtime 3x ./internal/e2e
//
// Setup (building the provider, creating the 1,000 rules) is not timed.
func BenchmarkTerraformPlan1000(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Setenv("TF_ACC", "1") // terraformPath skips without it
	}
	w, _, _ := applyScale(b)
	before := w.emu.Stats().Requests
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := w.plan()
		if r.code != 0 {
			b.Fatalf("plan: exit %d:\n%s", r.code, r)
		}
		cpu += r.cpu
	}
	b.StopTimer()
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/plan")
	b.ReportMetric(float64(w.emu.Stats().Requests-before)/float64(b.N), "calls/op")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/plan")
}
