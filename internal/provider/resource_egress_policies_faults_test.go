package provider

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// faultPolicies is a list of n dedicated policies and a catch-all.
func faultPolicies(n int, prefix string) []testPolicy {
	var ps []testPolicy
	for i := 0; i < n; i++ {
		ps = append(ps, testPolicy{name: fmt.Sprintf("%s%02d", prefix, i), traffic: fmt.Sprintf("net.dst.port == %d", 3000+100*int(prefix[0]-'a')+i), dedicated: true})
	}
	return append(ps, testPolicy{name: "rest", traffic: "net.dst.ip != 0.0.0.0"})
}

// accountMatches checks that the account's egress rules are exactly ps, in
// order: nothing orphaned, duplicated or misordered.
func accountMatches(t *testing.T, env *accEnv, ps []testPolicy) func(*terraform.State) error {
	return func(*terraform.State) error {
		var want []string
		for _, p := range ps {
			want = append(want, p.name)
		}
		if got := strings.Join(env.EgressRuleNames(t), ","); got != strings.Join(want, ",") {
			return fmt.Errorf("account egress rules\n  %s\nwant\n  %s", got, strings.Join(want, ","))
		}
		return nil
	}
}

// TestAccEgressPolicies_failedCreateAndUpdate: a create that fails half way
// records the rules it made in the state (nothing is lost); Terraform marks
// it tainted, so the next apply replaces it (the plan says so), without
// duplicates. An update that fails half way saves what it did and the next
// apply converges. (Resuming a failed create with terraform untaint instead
// is tested through the CLI in internal/e2e.)
func TestAccEgressPolicies_failedCreateAndUpdate(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	ps := faultPolicies(8, "p")
	// Four new policies on top, p01 deleted, p00 moved to the bottom.
	qs := faultPolicies(4, "q")
	changed := append(append(append([]testPolicy{}, qs[:4]...), ps[2:8]...), ps[0], ps[8])
	body := func(p []testPolicy) string {
		full := policiesConfig(env, p)
		return full[len(env.ProviderBlock())+1:]
	}
	var createdBeforeFailure int
	var stop func()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig:   func() { stop = failAfterWrites(env, 3) },
				Config:      env.ConfigWith("max_retries = 0", body(ps)),
				ExpectError: regexp.MustCompile(`(Creating|Updating|Reading) the egress policies failed|Cannot list`),
			},
			{
				PreConfig: func() {
					stop()
					createdBeforeFailure = len(env.EgressRules(t))
					if createdBeforeFailure == 0 || createdBeforeFailure >= len(ps) {
						t.Errorf("the failed create left %d rules; the test wants a create that fails half way", createdBeforeFailure)
					}
				},
				Config: env.ConfigWith("max_retries = 0", body(ps)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policiesAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: accountMatches(t, env, ps),
			},
			{
				PreConfig:   func() { stop = failAfterWrites(env, 2) },
				Config:      env.ConfigWith("max_retries = 0", body(changed)),
				ExpectError: regexp.MustCompile(`(Creating|Updating|Reading) the egress policies failed|Cannot list`),
			},
			{
				PreConfig: func() {
					stop()
					if got := strings.Join(env.EgressRuleNames(t), ","); got == namesOf(ps) || got == namesOf(changed) {
						t.Errorf("the failed update should have left the account half way, it has %s", got)
					}
				},
				Config: env.ConfigWith("max_retries = 0", body(changed)),
				Check:  accountMatches(t, env, changed),
			},
			{
				Config:           env.ConfigWith("max_retries = 0", body(changed)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
	t.Logf("rules in the account after the failed create: %d of %d", createdBeforeFailure, len(ps))
}

// TestAccEgressPolicies_retriesConverge: with retries on, 429s with
// Retry-After, 5xx, dropped connections and lost responses do not fail the
// apply and leave exactly the configured rules.
func TestAccEgressPolicies_retriesConverge(t *testing.T) {
	env := newAccEnv(t)
	env.needEmulator(t)
	ps := faultPolicies(10, "p")
	changed := append([]testPolicy{ps[9]}, ps[:9]...)
	changed = append(changed, testPolicy{name: "new", traffic: "net.dst.port == 4000", dedicated: true}, ps[10])
	body := func(p []testPolicy) string {
		full := policiesConfig(env, p)
		return full[len(env.ProviderBlock())+1:]
	}
	faults := emulator.Faults{Rate429: 0.1, RetryAfter: -1, Rate5xx: 0.1, RateDrop: 0.05, RateLostResponse: 0.1}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { env.Emu.SetFaults(faults) },
				Config:    env.ConfigWith("max_retries = 10", body(ps)),
				Check:     accountMatches(t, env, ps),
			},
			{
				Config: env.ConfigWith("max_retries = 10", body(changed)),
				Check:  accountMatches(t, env, changed),
			},
		},
	})
	if st := env.Emu.Stats(); len(st.Faults) == 0 {
		t.Fatalf("no faults were injected: %v", st)
	}
}

func namesOf(ps []testPolicy) string {
	var n []string
	for _, p := range ps {
		n = append(n, p.name)
	}
	return strings.Join(n, ",")
}

// failAfterWrites makes every API request fail with a 5xx once the emulator
// has answered n more writes; the returned stop restores a healthy API.
// Latency keeps the writes apart so the switch lands between two of them.
func failAfterWrites(env *accEnv, n int) (stop func()) {
	base := 0
	for route, c := range env.Emu.Stats().ByRoute {
		if !strings.HasPrefix(route, "GET ") {
			base += c
		}
	}
	env.Emu.SetFaults(emulator.Faults{Latency: 30 * time.Millisecond})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			w := 0
			for route, c := range env.Emu.Stats().ByRoute {
				if !strings.HasPrefix(route, "GET ") {
					w += c
				}
			}
			if w-base >= n {
				env.Emu.SetFaults(emulator.Faults{Rate5xx: 1})
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		env.Emu.SetFaults(emulator.Faults{})
	}
}
