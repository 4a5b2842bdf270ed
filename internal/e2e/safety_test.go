package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// stateFile is the part of terraform.tfstate the tests read.
type stateFile struct {
	Resources []struct {
		Type      string `json:"type"`
		Instances []struct {
			Status     string `json:"status"`
			Attributes struct {
				Policies json.RawMessage `json:"policies"`
			} `json:"attributes"`
		} `json:"instances"`
	} `json:"resources"`
}

// statePolicy is one element of the state's policies.
type statePolicy struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Precedence int64  `json:"precedence"`
}

// state reads the cfegress_egress_policies instance of terraform.tfstate:
// its policies attribute as stored (compacted JSON), the policies, and its
// status ("" or "tainted"). ok is false when there is no such instance.
func (w *tf) state() (raw []byte, ps []statePolicy, status string, ok bool) {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
	if os.IsNotExist(err) {
		return nil, nil, "", false
	}
	if err != nil {
		w.t.Fatal(err)
	}
	var sf stateFile
	if err := json.Unmarshal(b, &sf); err != nil {
		w.t.Fatalf("terraform.tfstate: %v", err)
	}
	for _, r := range sf.Resources {
		if r.Type != "cfegress_egress_policies" || len(r.Instances) == 0 {
			continue
		}
		in := r.Instances[0]
		var c bytes.Buffer
		if err := json.Compact(&c, in.Attributes.Policies); err != nil {
			w.t.Fatalf("state policies: %v", err)
		}
		if err := json.Unmarshal(in.Attributes.Policies, &ps); err != nil {
			w.t.Fatalf("state policies: %v", err)
		}
		return c.Bytes(), ps, in.Status, true
	}
	return nil, nil, "", false
}

func ruleNames(rs []emulator.Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

// TestSavedPlanKeepsRuleAddedAfterThePlan is the first reproduction of
// issue 10: apply 6 policies, save a plan that inserts one, a colleague adds
// an egress rule in the dashboard, apply the saved plan. The apply used to
// succeed and delete the colleague's rule, which no plan ever showed. Now it
// stops before its first write with an error naming the rule, the rule
// stays, and the next plan names it.
func TestSavedPlanKeepsRuleAddedAfterThePlan(t *testing.T) {
	terraformPath(t)
	t.Parallel()
	w := newTF(t, emuOptions{Seed: 31, SeedRules: dnsRules()})
	g := newGen(31)
	ps := g.list(6)
	w.write(w.policiesConfig(ps))
	w.mustApply()
	rawBefore, _, _, _ := w.state()

	w.write(w.policiesConfig(slices.Insert(slices.Clone(ps), 3, g.policy())))
	if r := w.run(nil, "plan", "-out=insert.tfplan", "-input=false"); r.code != 0 {
		t.Fatalf("plan -out:\n%s", r)
	}
	added, err := w.dashboard().create(colleagueEgress("added-by-colleague", 4242))
	if err != nil {
		t.Fatal(err)
	}
	before := egressRules(w.emu)
	writesBefore := writes(w.emu)

	r := w.run(nil, "apply", "-input=false", "insert.tfplan")
	if r.code == 0 {
		t.Errorf("applying the saved plan succeeded; it must stop: the account changed since the plan")
	}
	for _, want := range []string{"added-by-colleague", added.ID, "terraform plan", "changed since the plan"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the error does not say %q:\n%s", want, r.stderr)
		}
	}
	if got := egressRules(w.emu); !slices.Equal(ruleNames(got), ruleNames(before)) {
		t.Errorf("the account's egress rules changed: %v, before the apply %v", ruleNames(got), ruleNames(before))
	}
	if n := writes(w.emu) - writesBefore; n != 0 {
		t.Errorf("the apply made %d writes before stopping, want 0", n)
	}
	if rawAfter, _, _, _ := w.state(); !bytes.Equal(rawAfter, rawBefore) {
		t.Errorf("the state's policies changed:\n before %s\n after  %s", rawBefore, rawAfter)
	}
	p := w.plan()
	if p.code != 2 || !strings.Contains(p.stdout, "added-by-colleague") {
		t.Errorf("the next plan (exit %d) must show the colleague's rule as a change:\n%s", p.code, p)
	}
	if !strings.Contains(p.stdout+p.stderr, "This plan deletes egress rules added outside Terraform") {
		t.Errorf("the next plan does not warn that it deletes a rule added outside Terraform:\n%s", p)
	}
}

// TestFailedUpdateKeepsStateByteForByte is the second reproduction of
// issue 10: apply 7 policies, make every API request fail, apply a change
// with -refresh=false. The failed update used to save `policies = []`,
// forgetting every rule ID. Now the state keeps the same policies and IDs,
// byte for byte, and the next apply (API healthy again) converges.
func TestFailedUpdateKeepsStateByteForByte(t *testing.T) {
	terraformPath(t)
	t.Parallel()
	w := newTF(t, emuOptions{Seed: 32, SeedRules: dnsRules()})
	g := newGen(32)
	ps := g.list(7)
	cfg := func(ps []pol) string {
		return w.providerBlockWith(w.tok, w.url, "  max_retries = 1\n") + resourceHCL(ps)
	}
	w.write(cfg(ps))
	w.mustApply()
	rawBefore, before, _, ok := w.state()
	if !ok || len(before) != 7 {
		t.Fatalf("state after the first apply: %d policies", len(before))
	}

	next := slices.Clone(ps)
	next[2].Desc = "edited"
	next = slices.Insert(next, 5, g.policy())
	w.write(cfg(next))
	w.emu.SetFaults(emulator.Faults{Rate5xx: 1})
	r := w.run(nil, "apply", "-auto-approve", "-input=false", "-refresh=false")
	w.emu.SetFaults(emulator.Faults{})
	if r.code == 0 {
		t.Fatalf("the apply succeeded although every API request failed:\n%s", r)
	}
	rawAfter, after, _, _ := w.state()
	if !bytes.Equal(rawAfter, rawBefore) {
		t.Errorf("the failed update changed the state's policies (%d -> %d):\n before %s\n after  %s", len(before), len(after), rawBefore, rawAfter)
	}
	if d := compare(egressRules(w.emu), ps); !d.ok() {
		t.Errorf("the account changed: %s", d)
	}
	w.mustApply()
	if d := compare(egressRules(w.emu), next); !d.ok() {
		t.Errorf("after the next apply: %s", d)
	}
	if code := w.planExit(); code != 0 {
		t.Errorf("the plan after the converging apply shows changes:\n%s", w.plan().stdout)
	}
}

// TestFailedCreateResumes: a create that fails half way (the API goes down
// after its third write) records the rules it made in the state, which
// Terraform marks tainted, and the error says how to resume. With
// `terraform untaint` the next apply finishes the create without deleting
// or re-creating them; without it the plan replaces the resource, warns
// that the replacement deletes the rules first, and the apply converges.
func TestFailedCreateResumes(t *testing.T) {
	terraformPath(t)
	for i, untaint := range []bool{true, false} {
		name := "untaint"
		if !untaint {
			name = "replace"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newTF(t, emuOptions{Seed: int64(40 + i), SeedRules: dnsRules()})
			ps := newGen(uint64(40 + i)).list(8)
			w.write(w.providerBlockWith(w.tok, w.url, "  max_retries = 0\n") + resourceHCL(ps))
			w.emu.SetFaults(emulator.Faults{Latency: 40 * time.Millisecond})
			stop := outageAfter(w.emu, writes(w.emu)+3)
			r := w.apply()
			stop()
			w.emu.SetFaults(emulator.Faults{})
			if r.code == 0 {
				t.Fatalf("the create did not fail:\n%s", r)
			}
			for _, want := range []string{"terraform untaint", "recorded in the state"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the error does not say %q:\n%s", want, r.stderr)
				}
			}
			_, sps, status, ok := w.state()
			made := egressRules(w.emu)
			if !ok || status != "tainted" || len(sps) != len(made) || len(made) == 0 || len(made) >= len(ps) {
				t.Fatalf("after the failed create: state has %d policies (status %q, present %v), the account %d of %d", len(sps), status, ok, len(made), len(ps))
			}
			ids := map[string]bool{}
			for _, p := range sps {
				ids[p.ID] = true
			}
			for _, r := range made {
				if !ids[r.ID] {
					t.Errorf("rule %q (%s) is in the account but not in the state: a lost ID", r.Name, r.ID)
				}
			}
			if untaint {
				if r := w.run(nil, "untaint", "cfegress_egress_policies.all"); r.code != 0 {
					t.Fatalf("untaint:\n%s", r)
				}
			} else {
				p := w.plan()
				if p.code != 2 || !strings.Contains(p.stdout+p.stderr, "deletes its egress rules first") {
					t.Errorf("the plan of the tainted resource must warn that the replacement deletes its rules first:\n%s", p)
				}
			}
			before := writes(w.emu)
			w.mustApply()
			if d := compare(egressRules(w.emu), ps); !d.ok() {
				t.Fatalf("after the resuming apply: %s", d)
			}
			if untaint {
				if n := writes(w.emu) - before; n != len(ps)-len(made) {
					t.Errorf("the resumed create made %d writes, want %d (the missing creates only)", n, len(ps)-len(made))
				}
				kept := 0
				for _, r := range egressRules(w.emu) {
					if ids[r.ID] {
						kept++
					}
				}
				if kept != len(made) {
					t.Errorf("%d of the %d rules the failed create made kept their IDs", kept, len(made))
				}
			}
			if code := w.planExit(); code != 0 {
				t.Errorf("the plan after the resuming apply shows changes:\n%s", w.plan().stdout)
			}
		})
	}
}
