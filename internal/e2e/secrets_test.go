package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// TestTokenNeverLogged runs terraform with TF_LOG=TRACE (terraform's and
// the provider's logs, every request the provider makes) through a
// successful apply, a plan, an apply that fails on the API (5xx on every
// request), one against an unreachable base URL and one with a wrong token,
// with the token in the provider block and in CLOUDFLARE_API_TOKEN. The
// token (and the wrong one) must appear nowhere in stdout or stderr, nor in
// terraform.tfstate (which holds no provider configuration).
func TestTokenNeverLogged(t *testing.T) {
	terraformPath(t)
	t.Parallel()
	w := newTF(t, emuOptions{Seed: 31})
	ps := newGen(31).list(4)
	trace := []string{"TF_LOG=TRACE"}
	var outputs []string
	record := func(what string, r result, wantOK bool) {
		t.Helper()
		outputs = append(outputs, what+"\n"+r.stdout+r.stderr)
		if wantOK && r.code != 0 {
			t.Fatalf("%s failed:\n%s", what, r)
		}
		if !wantOK && r.code == 0 {
			t.Fatalf("%s succeeded, want a failure:\n%s", what, r)
		}
		if !strings.Contains(r.stderr, "[TRACE]") {
			t.Fatalf("%s: no TRACE logs in stderr: TF_LOG=TRACE was not honoured", what)
		}
	}
	w.write(w.policiesConfig(ps))
	record("apply", w.apply(trace...), true)
	if !strings.Contains(outputs[0], "gateway/rules") {
		t.Errorf("the TRACE output does not show the provider's requests: the test would not see a leaked header")
	}
	record("plan", w.run(trace, "plan", "-input=false"), true)

	// The API fails on every request (after one retry).
	ps2 := append(ps, newGen(32).list(1)...)
	w.write(w.providerBlockWith(w.tok, w.url, "  max_retries         = 1\n") + resourceHCL(ps2))
	w.emu.SetFaults(emulator.Faults{Rate5xx: 1})
	r := w.apply(trace...)
	w.emu.SetFaults(emulator.Faults{})
	record("apply with the API failing", r, false)

	// Unreachable base URL.
	w.write(w.providerBlockWith(w.tok, "http://127.0.0.1:1", "  max_retries         = 1\n") + resourceHCL(ps))
	record("plan with an unreachable base_url", w.run(trace, "plan", "-input=false"), false)

	// Wrong token, in the environment this time.
	wrong := "cfegress-wrong-" + randomHex(t, 16)
	w.write(w.providerBlockWith("", w.url, "") + resourceHCL(ps))
	r = w.run(append(trace, "CLOUDFLARE_API_TOKEN="+wrong), "plan", "-input=false")
	record("plan with a wrong token", r, false)
	if !strings.Contains(strings.ToLower(r.stderr), "authentication") {
		t.Errorf("the wrong token's error does not say it is an authentication problem:\n%s", tail(r.stderr, 2000))
	}
	// The right token from the environment.
	record("plan with the token from the environment", w.run(append(trace, "CLOUDFLARE_API_TOKEN="+w.tok), "plan", "-input=false"), true)

	secret := strings.TrimPrefix(w.tok, "cfegress-e2e-")
	wrongSecret := strings.TrimPrefix(wrong, "cfegress-wrong-")
	for _, out := range outputs {
		what, _, _ := strings.Cut(out, "\n")
		for _, s := range []string{secret, secret[:12], wrongSecret} {
			if i := strings.Index(out, s); i >= 0 {
				t.Errorf("%s: the API token appears in terraform's output: ...%s...", what, out[max(0, i-200):min(len(out), i+len(s)+50)])
			}
		}
	}
	state, err := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(state), "cfegress_egress_policies") {
		t.Fatalf("terraform.tfstate does not hold the resource:\n%s", state)
	}
	if strings.Contains(string(state), secret) {
		t.Errorf("the API token is in terraform.tfstate")
	}
	n := 0
	for _, o := range outputs {
		n += len(o)
	}
	t.Logf("%d terraform runs at TF_LOG=TRACE, %d bytes of output, token absent; terraform.tfstate (%d bytes) has no token", len(outputs), n, len(state))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
