package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// TestInterruptedApply kills terraform and the provider (SIGKILL to the
// process group: no chance to save state) half way through an apply, while
// the emulator answers slowly, then checks that the next `terraform apply`
// converges from what was left: every policy once, in order, nothing lost,
// nothing duplicated, and a plan afterwards shows no change.
func TestInterruptedApply(t *testing.T) {
	terraformPath(t)
	t.Run("create", func(t *testing.T) {
		t.Parallel()
		w := newTF(t, emuOptions{Seed: 11, SeedRules: dnsRules()})
		ps := newGen(11).list(20)
		w.write(w.policiesConfig(ps))
		n := w.killDuringApply(6)
		got := egressRules(w.emu)
		t.Logf("killed after %d writes; the account holds %d of the %d policies and terraform has no state for them", n, len(got), len(ps))
		if len(got) == 0 || len(got) >= len(ps) {
			t.Fatalf("the apply was not interrupted half way: %d of %d policies written", len(got), len(ps))
		}
		w.converges(ps)
	})
	t.Run("update", func(t *testing.T) {
		t.Parallel()
		w, next := applyThenChange(t, 12)
		before := writes(w.emu)
		n := w.killDuringApply(before + 4)
		d := compare(egressRules(w.emu), next)
		t.Logf("killed after %d writes of the update; the account is half way: %s", n-before, d)
		if d.ok() {
			t.Fatalf("the apply was not interrupted half way")
		}
		w.converges(next)
	})
	t.Run("update_interrupted", func(t *testing.T) {
		t.Parallel()
		w, next := applyThenChange(t, 13)
		before := writes(w.emu)
		n, r := w.interruptDuringApply(before + 4)
		if r.code == 0 {
			t.Fatalf("the interrupted apply exited 0:\n%s", r)
		}
		t.Logf("interrupted after %d writes of the update (exit %d)", n-before, r.code)
		// State = prior + exactly the writes made: every egress rule of the
		// account is in the state, at the precedence the state says, and
		// the state has nothing else. The one exception the provider may
		// make is a create whose response the interruption cut off and
		// that it could not find by reading the account again (the request
		// can still be processed after its client gave up): the error must
		// then name it as a write of unknown outcome.
		_, sps, _, _ := w.state()
		inState := map[string]statePolicy{}
		for _, p := range sps {
			inState[p.ID] = p
		}
		acct := egressRules(w.emu)
		reported := 0
		for _, rule := range acct {
			p, ok := inState[rule.ID]
			if !ok && strings.Contains(r.stderr, "outcome of these writes is unknown") && strings.Contains(r.stderr, fmt.Sprintf("create %q", rule.Name)) {
				t.Logf("rule %q landed after the apply's last read; the error reported its create as of unknown outcome", rule.Name)
				reported++
				continue
			}
			if !ok || uint64(p.Precedence) != rule.Precedence || p.Name != rule.Name {
				t.Errorf("rule %q (%s, precedence %d) is not in the state as it is (state: %+v, present %v)", rule.Name, rule.ID, rule.Precedence, p, ok)
			}
		}
		if len(sps)+reported != len(acct) {
			t.Errorf("the state has %d policies, the account %d egress rules", len(sps), len(acct))
		}
		if t.Failed() {
			t.Logf("the interrupted apply:\n%s", r)
		}
		// The state knows every rule: an apply without refresh converges
		// (it would stop on a rule the state had lost).
		args := []string{"apply", "-auto-approve", "-input=false", "-refresh=false"}
		if reported > 0 {
			args = args[:3] // the refresh finds the reported rule
		}
		if r := w.run(nil, args...); r.code != 0 {
			t.Fatalf("%v after the interruption:\n%s", args, r)
		}
		if d := compare(egressRules(w.emu), next); !d.ok() {
			t.Fatalf("after the interruption and one apply: %s", d)
		}
		if code := w.planExit(); code != 0 {
			t.Errorf("a plan after the converging apply shows changes:\n%s", w.plan().stdout)
		}
	})
}

// applyThenChange applies 20 generated policies, then writes a
// configuration whose apply makes many writes (the list reversed, 3
// dropped, 4 added) and returns it.
func applyThenChange(t *testing.T, seed uint64) (*tf, []pol) {
	t.Helper()
	w := newTF(t, emuOptions{Seed: int64(seed), SeedRules: dnsRules()})
	g := newGen(seed)
	ps := g.list(20)
	w.write(w.policiesConfig(ps))
	w.mustApply()
	next := slices.Clone(ps)
	slices.Reverse(next)
	next = slices.Delete(next, 5, 8)
	next = slices.Insert(next, 2, g.policy(), g.policy())
	next = append(next, g.policy(), g.policy())
	w.write(w.policiesConfig(next))
	return w, next
}

// signalDuringApply starts terraform apply with 150 ms of latency on every
// API request, sends sig to its process group once the emulator has
// answered `after` writes in total, and returns once terraform has exited:
// what it printed and its Wait error. It fails the test if terraform
// finished before the signal.
func (w *tf) signalDuringApply(after int, sig syscall.Signal) (result, error) {
	w.t.Helper()
	w.emu.SetFaults(emulator.Faults{Latency: 150 * time.Millisecond})
	defer w.emu.SetFaults(emulator.Faults{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"apply", "-auto-approve", "-input=false", "-no-color"}
	c, so, se := w.cmd(ctx, nil, args...)
	if err := c.Start(); err != nil {
		w.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for writes(w.emu) < after {
		select {
		case err := <-done:
			w.t.Fatalf("terraform finished before it could be interrupted (%v):\n%s\n%s", err, so, se)
		case <-tick.C:
		}
	}
	if err := syscall.Kill(-c.Process.Pid, sig); err != nil {
		w.t.Fatalf("sending %v to terraform's process group: %v", sig, err)
	}
	err := <-done
	r := result{args: args, stdout: so.String(), stderr: se.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	}
	return r, err
}

// interruptDuringApply interrupts an apply as Ctrl-C in a terminal does
// (SIGINT to the process group: terraform asks the provider to stop, and
// waits for it to return and save the state) once `after` writes are done.
// It returns the number of writes once terraform has exited, and its
// result; nothing may write after that.
func (w *tf) interruptDuringApply(after int) (int, result) {
	w.t.Helper()
	r, _ := w.signalDuringApply(after, syscall.SIGINT)
	n := writes(w.emu)
	time.Sleep(500 * time.Millisecond)
	if m := writes(w.emu); m != n {
		w.t.Fatalf("writes went on after terraform exited (%d -> %d)", n, m)
	}
	return n, r
}

// killDuringApply kills terraform and the provider (SIGKILL to the process
// group) once `after` writes are done, and returns the number of writes
// once they are dead. It fails the test if anything still writes after the
// kill.
func (w *tf) killDuringApply(after int) int {
	w.t.Helper()
	// Wait normally reports "signal: killed". A nil error means terraform
	// exited on its own just before the kill; the callers' checks of the
	// account (half way or not) decide whether that matters.
	if _, err := w.signalDuringApply(after, syscall.SIGKILL); err == nil {
		w.t.Logf("terraform exited 0 just as it was killed")
	}
	// Requests already in flight finish (their latency), then nothing more.
	time.Sleep(500 * time.Millisecond)
	n := writes(w.emu)
	time.Sleep(time.Second)
	if m := writes(w.emu); m != n {
		w.t.Fatalf("writes went on after the kill (%d -> %d): the provider survived", n, m)
	}
	return n
}

// converges runs terraform apply (no faults) and checks that the account
// equals ps and that a plan afterwards shows no change.
func (w *tf) converges(ps []pol) {
	w.t.Helper()
	others := otherRules(w.emu)
	r := w.apply()
	if r.code != 0 {
		w.t.Fatalf("the apply after the interruption failed:\n%s", r)
	}
	if d := compare(egressRules(w.emu), ps); !d.ok() {
		w.t.Fatalf("after the interruption and one apply: %s", d)
	}
	if otherRules(w.emu) != others {
		w.t.Errorf("the DNS rules changed")
	}
	if code := w.planExit(); code != 0 {
		w.t.Errorf("a plan after the converging apply shows changes:\n%s", w.plan().stdout)
	}
}
