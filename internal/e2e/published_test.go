package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// Issue 11 through the real terraform: what Cloudflare publishes that the
// emulator plays (SPEC §6).

// publishedConfig is n disjoint default-egress policies (p0..) and, with
// catchAll, a catch-all after them.
func (w *tf) publishedConfig(n int, catchAll bool, extra string) string {
	var b strings.Builder
	b.WriteString(w.providerBlockWith(w.tok, w.url, extra))
	b.WriteString("resource \"cfegress_egress_policies\" \"all\" {\n  policies = [\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    { name = \"p%d\", traffic = \"net.dst.port == %d\", egress = { method = \"default\" } },\n", i, 4000+i)
	}
	if catchAll {
		b.WriteString("    { name = \"rest\", egress = { method = \"default\" } },\n")
	}
	b.WriteString("  ]\n  catch_all = \"off\"\n}\n")
	return b.String()
}

// TestSharedRulesWarningsAndIncompleteLists: a rule shared by a parent
// account (read_only) is never written, is not in policies, and every plan
// says where it is evaluated; Cloudflare's warning_status on a rule shows
// as a warning on that policy; a saved plan applied while the list answer
// says it has more pages fails loudly, deletes nothing and keeps the state.
func TestSharedRulesWarningsAndIncompleteLists(t *testing.T) {
	terraformPath(t)
	t.Parallel()
	shared := emulator.Rule{Name: "org: finance", Precedence: 1500, Enabled: true, Action: "egress", Filters: []string{"egress"},
		Traffic: "net.dst.port == 7000", ReadOnly: true, SourceAccount: "parent-account-id"}
	w := newTF(t, emuOptions{Seed: 31, SeedRules: []emulator.Rule{shared}})
	w.write(w.publishedConfig(3, false, ""))
	r := w.mustApply()
	for _, s := range []string{"Warning: Egress rules shared by a parent account are evaluated among these policies", `"org: finance"`, "parent-account-id", "evaluated before every policy"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("apply output does not say %s:\n%s", s, r.stdout)
		}
	}
	rules := egressRules(w.emu)
	if len(rules) != 4 || rules[0].Name != "org: finance" || !rules[0].ReadOnly || rules[0].Version != 1 {
		t.Fatalf("egress rules %+v: want the shared rule first, unwritten, then p0..p2", rules)
	}
	// Cloudflare flags p1.
	p1 := rules[2]
	status := "dedicated egress IP not in use"
	p1.WarningStatus = &status
	mustPut(t, w.emu, p1)
	r = w.plan()
	if r.code != 0 {
		t.Fatalf("plan after the warning: exit %d, want 0 (no changes)\n%s", r.code, r)
	}
	for _, s := range []string{`Warning: Cloudflare warns about egress policy "p1"`, status, "policies[1]"} {
		if !strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("plan does not say %s:\n%s", s, r)
		}
	}
	// A saved plan deleting p2, applied while lists say they are incomplete.
	w.write(w.publishedConfig(2, false, ""))
	if r := w.run(nil, "plan", "-out=tfplan", "-input=false"); r.code != 0 {
		t.Fatalf("plan: %s", r)
	}
	w.emu.SetListPageSize(2)
	r = w.run(nil, "apply", "-input=false", "tfplan")
	if r.code == 0 || !strings.Contains(r.stderr, "result_info") || !strings.Contains(r.stderr, "missing rules would look deleted") {
		t.Fatalf("apply with an incomplete list: want a loud failure\n%s", r)
	}
	if n := len(egressRules(w.emu)); n != 4 {
		t.Errorf("%d egress rules after the failed apply, want 4 (nothing deleted)", n)
	}
	w.emu.SetListPageSize(0)
	st := w.run(nil, "state", "show", "cfegress_egress_policies.all")
	if st.code != 0 || !strings.Contains(st.stdout, `"p2"`) {
		t.Errorf("the state lost p2:\n%s", st)
	}
	if code := w.planExit(); code != 2 {
		t.Errorf("plan after the failure: exit %d, want 2 (p2 still to delete)", code)
	}
	w.mustApply()
	if rules := egressRules(w.emu); len(rules) != 3 || rules[0].Version != 1 {
		t.Errorf("after the apply: %+v, want the shared rule (unwritten), p0, p1", rules)
	}
}

// TestLockoutDuringConcurrentApply: Cloudflare blocks every call for a while
// once the budget is exceeded (here: 6 requests, then 2 s) while an apply
// has several writes in flight: the provider waits the lockout out, logs
// it, and the apply completes.
func TestLockoutDuringConcurrentApply(t *testing.T) {
	terraformPath(t)
	t.Parallel()
	w := newTF(t, emuOptions{Seed: 32, Emulator: func(c *emulator.Config) {
		c.RateLimit, c.RateWindow, c.Lockout = 6, time.Hour, 2*time.Second
	}})
	w.write(w.publishedConfig(12, true, ""))
	r := w.apply("TF_LOG_PROVIDER=INFO")
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	if got := len(egressRules(w.emu)); got != 13 {
		t.Errorf("%d egress rules, want 13", got)
	}
	if n := w.emu.Stats().Faults["rate_limited"]; n == 0 {
		t.Error("the emulator never locked the token out: the test proves nothing")
	}
	if !strings.Contains(r.stderr, "lockout") || !strings.Contains(r.stderr, "phase 1: 12 writes") {
		t.Errorf("the apply's log does not show the lockout wait and the concurrent phase:\n%s", lastLines(r.stderr, 40))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
