package main

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// testdata/plan_insert.json and state.json are real `terraform show -json`
// output (Terraform 1.11.4, this provider, the emulator) of
// testdata/plan_insert.tf: three policies applied, then a plan with
// -var insert=true that inserts "Tokyo office range from Tokyo" on top.

func openFixture(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func names(ps []engine.Policy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestReadPlan(t *testing.T) {
	changes, err := readPlan(openFixture(t, "plan_insert.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Address != "cfegress_egress_policies.this" || !changes[0].Actions.Update() {
		t.Fatalf("changes %+v, want one update of cfegress_egress_policies.this", changes)
	}
	c := changes[0]
	before, binv, err := c.Before.engine()
	if err != nil {
		t.Fatal(err)
	}
	after, ainv, err := c.After.engine()
	if err != nil {
		t.Fatalf("after: %v (unknown ids and precedences must not matter)", err)
	}
	if got := strings.Join(names(before), "|"); got != "Partner API from a fixed Tokyo IP|Mexico sales keep local geolocation|Everything else from Los Angeles" {
		t.Errorf("before: %s", got)
	}
	if got := names(after); len(got) != 4 || got[0] != "Tokyo office range from Tokyo" {
		t.Errorf("after: %v", got)
	}
	if len(binv) != 2 || len(ainv) != 2 || ainv[0].Colo != "NRT" || ainv[1].Colo != "LAX" {
		t.Errorf("inventory before %v after %v", binv, ainv)
	}
	if before[0].ID == "" || after[0].ID != "" {
		t.Errorf("ids: before[0] %q (known), after[0] %q (new: unknown until apply)", before[0].ID, after[0].ID)
	}
	// The policies decide as written: the inserted one takes the Tokyo
	// office range.
	e, err := engine.Compile(after, ainv)
	if err != nil {
		t.Fatal(err)
	}
	f := engine.Flow{IngressColo: "LAX", SourceCountry: "US", DestinationIP: mustAddr(t, "198.51.100.200"), DestinationPort: 80, Protocol: "tcp"}
	if d, err := e.Decide(&f, nil); err != nil || d.PolicyName != "Tokyo office range from Tokyo" || d.EgressColo != "NRT" {
		t.Errorf("decision on the planned list: %+v, %v", d, err)
	}
}

func TestReadStateAndPriorState(t *testing.T) {
	for name, read := range map[string]func() ([]egressResource, error){
		"state":       func() ([]egressResource, error) { return readState(openFixture(t, "state.json")) },
		"prior state": func() ([]egressResource, error) { return priorState(openFixture(t, "plan_insert.json")) },
	} {
		rs, err := read()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rs) != 1 || rs[0].Address != "cfegress_egress_policies.this" {
			t.Fatalf("%s: %+v", name, rs)
		}
		ps, inv, err := rs[0].Config.engine()
		if err != nil || len(ps) != 3 || len(inv) != 2 || ps[0].ID == "" {
			t.Errorf("%s: %d policies, %d IPs, first id %q, err %v", name, len(ps), len(inv), ps[0].ID, err)
		}
	}
}

func TestReadPlanRejectsOtherJSON(t *testing.T) {
	if _, err := readPlan(openFixture(t, "state.json")); err == nil || !strings.Contains(err.Error(), "terraform show -json PLANFILE") {
		t.Errorf("a state read as a plan: %v", err)
	}
	if _, err := readPlan(strings.NewReader("{nope")); err == nil || !strings.Contains(err.Error(), "terraform show -json") {
		t.Errorf("not JSON: %v", err)
	}
	if _, err := readState(strings.NewReader(`{"x": 1}`)); err == nil || !strings.Contains(err.Error(), "terraform show -json") {
		t.Errorf("not a state: %v", err)
	}
}

func TestUnknownValuesTheEngineNeedsAreNamed(t *testing.T) {
	c, err := configOf(
		map[string]any{"policies": []any{map[string]any{"name": "a", "egress": map[string]any{"method": "default"}}}},
		map[string]any{"policies": []any{map[string]any{"id": true, "precedence": true, "traffic": true}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.engine(); err == nil || !strings.Contains(err.Error(), "policies[0].traffic") {
		t.Errorf("an unknown traffic expression: %v", err)
	}
	// A dedicated IP resource being created has unknown computed
	// attributes: they do not stop the engine.
	c, err = configOf(
		map[string]any{"policies": []any{}, "dedicated_egress_ips": []any{map[string]any{"ipv4": "203.0.113.10", "colo": "NRT"}}},
		map[string]any{"dedicated_egress_ips": []any{map[string]any{"id": true, "city": true}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, inv, err := c.engine(); err != nil || len(inv) != 1 {
		t.Errorf("computed attributes of a new dedicated IP: %v, %v", inv, err)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
