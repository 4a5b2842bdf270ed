package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImpactTable: the real saved plan of testdata/plan_insert.tf (an
// inserted policy takes the upper half of the partner's range) moves three
// regions; the table names them, with before and after.
func TestImpactTable(t *testing.T) {
	code, out, errs := runCLI(t, "impact", "testdata/plan_insert.json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	for _, want := range []string{
		"cfegress_egress_policies.this: 3 regions of traffic decided differently",
		"net.dst.ip in {198.51.100.128/25}",
		`"Tokyo office range from Tokyo" (#0)`,
		`"Everything else from Los Angeles" (#2)  dedicated  203.0.113.20  LAX`,
		"example  tcp 198.51.100.129",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestImpactJSONAndGate: --format json is the impact function's list (with
// the address), and --fail-on-impact exits 3.
func TestImpactJSONAndGate(t *testing.T) {
	code, out, errs := runCLI(t, "impact", "--format", "json", "--fail-on-impact", "testdata/plan_insert.json")
	if code != exitImpact {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitImpact, errs)
	}
	var rows []struct {
		Address  string         `json:"address"`
		Region   string         `json:"region"`
		Example  map[string]any `json:"example"`
		Before   map[string]any `json:"before"`
		After    map[string]any `json:"after"`
		Possibly bool           `json:"possibly"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3:\n%s", len(rows), out)
	}
	for _, r := range rows {
		if r.Address != "cfegress_egress_policies.this" || r.Possibly || r.After["policy"] != "Tokyo office range from Tokyo" || r.Example["ingress_colo"] == nil || r.Example["proxied"] == nil {
			t.Errorf("row %+v", r)
		}
		if r.Before["policy"] == r.After["policy"] && r.Before["egress_ip"] == r.After["egress_ip"] {
			t.Errorf("row does not move: %+v", r)
		}
	}
}

// TestImpactNoChange: a plan whose planned list is the current one moves
// nothing; --fail-on-impact then exits 0.
func TestImpactNoChange(t *testing.T) {
	b, err := os.ReadFile("testdata/plan_insert.json")
	if err != nil {
		t.Fatal(err)
	}
	var plan map[string]any
	if err := json.Unmarshal(b, &plan); err != nil {
		t.Fatal(err)
	}
	rcs, _ := plan["resource_changes"].([]any)
	for _, rc := range rcs {
		m, _ := rc.(map[string]any)
		ch, _ := m["change"].(map[string]any)
		before, _ := ch["before"].(map[string]any)
		after, _ := ch["after"].(map[string]any)
		if before == nil || after == nil {
			t.Fatalf("resource change %v", rc)
		}
		after["policies"] = before["policies"]
		ch["after_unknown"] = map[string]any{}
	}
	p := filepath.Join(t.TempDir(), "plan.json")
	b, _ = json.Marshal(plan)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "impact", "--fail-on-impact", p)
	if code != exitOK || !strings.Contains(out, "no traffic moves") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "impact", "--format", "json", p)
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Fatalf("json: exit %d: %s", code, out)
	}
}

// TestImpactBadInput: not a plan, a missing file, a bad format.
func TestImpactBadInput(t *testing.T) {
	if code, _, errs := runCLI(t, "impact", "testdata/state.json"); code != exitError || !strings.Contains(errs, "not a plan") {
		t.Errorf("state as plan: exit %d: %s", code, errs)
	}
	if code, _, _ := runCLI(t, "impact", "testdata/nope.json"); code != exitError {
		t.Errorf("missing file: exit %d", code)
	}
	if code, _, _ := runCLI(t, "impact", "--format", "yaml", "testdata/plan_insert.json"); code != exitUsage {
		t.Errorf("bad format: exit %d", code)
	}
}
