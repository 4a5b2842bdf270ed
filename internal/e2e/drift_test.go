package e2e

import (
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// TestOutOfBandEdits: egress rules edited, disabled, moved, deleted or
// added in the account between applies (as in the dashboard) make
// `terraform plan -detailed-exitcode` exit 2 and name the policy; apply
// repairs the account and the next plan exits 0. A change to another kind
// of Gateway rule (DNS) is not drift for this resource.
func TestOutOfBandEdits(t *testing.T) {
	terraformPath(t)
	t.Parallel()
	w := newTF(t, emuOptions{Seed: 21, SeedRules: dnsRules()})
	ps := newGen(21).list(8)
	w.write(w.policiesConfig(ps))
	w.mustApply()
	acct := w.acct
	rule := func(i int) emulator.Rule { return egressRules(w.emu)[i] }
	cases := []struct {
		name string
		edit func(t *testing.T) string // returns a name the plan must show
	}{
		{"traffic edited", func(t *testing.T) string {
			r := rule(2)
			r.Traffic = "net.dst.port == 9"
			mustPut(t, w.emu, r)
			return r.Name
		}},
		{"egress changed to default", func(t *testing.T) string {
			r := rule(3)
			if r.RuleSettings.Egress == nil {
				r.RuleSettings.Egress = &emulator.EgressSettings{IPv4: "203.0.113.20", IPv6: "2001:db8:20::/64", IPv4Fallback: "203.0.113.10"}
			} else {
				r.RuleSettings.Egress = nil
			}
			mustPut(t, w.emu, r)
			return r.Name
		}},
		{"disabled and renamed", func(t *testing.T) string {
			r := rule(1)
			old := r.Name
			r.Enabled = !r.Enabled
			r.Name = "renamed-in-dashboard"
			mustPut(t, w.emu, r)
			return old
		}},
		{"moved to the top", func(t *testing.T) string {
			rs := egressRules(w.emu)
			r := rs[len(rs)-1]
			r.Precedence = rs[0].Precedence - 1
			mustPut(t, w.emu, r)
			return r.Name
		}},
		{"deleted", func(t *testing.T) string {
			r := rule(4)
			if err := w.emu.DeleteRule(acct, r.ID); err != nil {
				t.Fatal(err)
			}
			return r.Name
		}},
		{"added", func(t *testing.T) string {
			_, err := w.emu.InsertRule(acct, emulator.Rule{Name: "added-in-dashboard", Enabled: true, Action: "egress",
				Filters: []string{"egress"}, Traffic: "net.dst.port == 7",
				RuleSettings: emulator.RuleSettings{Egress: &emulator.EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"}}})
			if err != nil {
				t.Fatal(err)
			}
			return "added-in-dashboard"
		}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			w.t = t
			name := c.edit(t)
			if d := compare(egressRules(w.emu), ps); d.ok() {
				t.Fatalf("the out-of-band edit changed nothing")
			}
			r := w.plan()
			if r.code != 2 {
				t.Fatalf("plan -detailed-exitcode after the edit: exit %d, want 2 (changes):\n%s", r.code, r)
			}
			if !strings.Contains(r.stdout, name) {
				t.Errorf("the plan does not name %q:\n%s", name, r.stdout)
			}
			w.mustApply()
			if d := compare(egressRules(w.emu), ps); !d.ok() {
				t.Fatalf("apply did not repair the drift: %s", d)
			}
			if code := w.planExit(); code != 0 {
				t.Fatalf("the plan after the repair shows changes:\n%s", w.plan().stdout)
			}
		})
	}
	t.Run("dns_rule_edited_is_not_drift", func(t *testing.T) {
		w.t = t
		for _, r := range w.emu.Rules(acct) {
			if !r.IsEgress() {
				r.Traffic = `any(dns.domains[*] == "other.example")`
				mustPut(t, w.emu, r)
				break
			}
		}
		if r := w.plan(); r.code != 0 {
			t.Fatalf("plan after editing a DNS rule: exit %d, want 0:\n%s", r.code, r)
		}
	})
}

func mustPut(t *testing.T, emu *emulator.Emulator, r emulator.Rule) {
	t.Helper()
	if _, err := emu.PutRule(emulator.DefaultAccountID, r); err != nil {
		t.Fatal(err)
	}
}
