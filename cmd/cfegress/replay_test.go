package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const (
	replayLogs  = "testdata/sessions_plan_insert.ndjson"
	replayPlan  = "testdata/plan_insert.json"
	replayState = "testdata/state.json"
)

// The hand-written sessions of testdata/sessions_plan_insert.ndjson against
// the plan that inserts "Tokyo office range from Tokyo" at the top.
func TestReplayPlanJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "replay", "--logs", replayLogs, "--plan", replayPlan, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// SPEC §7's keys.
	for _, k := range []string{"records", "agree", "disagree", "undecidable", "changed", "policies", "unused", "disagreements", "changes"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	for k, want := range map[string]float64{"records": 6, "agree": 5, "disagree": 1, "undecidable": 0, "changed": 1, "malformed": 1, "other_account_sessions": 1} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if got["address"] != "cfegress_egress_policies.this" || got["account_id"] != "0123456789abcdef0123456789abcdef" {
		t.Errorf("address %v account %v", got["address"], got["account_id"])
	}
	var rep struct {
		Policies []struct {
			Name       string `json:"name"`
			Hits       int64  `json:"hits"`
			LoggedHits int64  `json:"logged_hits"`
		} `json:"policies"`
		Unused        []string `json:"unused"`
		Disagreements []struct {
			SessionID string         `json:"session_id"`
			Observed  map[string]any `json:"observed"`
			Model     map[string]any `json:"model"`
			Reason    string         `json:"reason"`
		} `json:"disagreements"`
		Changes []struct {
			SessionID string         `json:"session_id"`
			Before    map[string]any `json:"before"`
			After     map[string]any `json:"after"`
		} `json:"changes"`
		MalformedLines []struct {
			Line  int    `json:"line"`
			Error string `json:"error"`
		} `json:"malformed_lines"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := []string{"Partner API from a fixed Tokyo IP 3 2", "Mexico sales keep local geolocation 1 1", "Everything else from Los Angeles 2 3"}
	for i, p := range rep.Policies {
		if g := strings.Join([]string{p.Name, itoa(p.Hits), itoa(p.LoggedHits)}, " "); i >= len(want) || g != want[i] {
			t.Errorf("policies[%d] = %s", i, g)
		}
	}
	if len(rep.Unused) != 0 {
		t.Errorf("unused %v", rep.Unused)
	}
	if len(rep.Disagreements) != 1 || rep.Disagreements[0].SessionID != "kix-wrong-rule" ||
		rep.Disagreements[0].Observed["policy"] != "Everything else from Los Angeles" || rep.Disagreements[0].Model["policy"] != "Partner API from a fixed Tokyo IP" ||
		!strings.Contains(rep.Disagreements[0].Reason, "egress rule") {
		t.Errorf("disagreements %+v", rep.Disagreements)
	}
	if len(rep.Changes) != 1 || rep.Changes[0].SessionID != "lax-office-web" ||
		rep.Changes[0].Before["egress_ip"] != "203.0.113.20" || rep.Changes[0].After["egress_ip"] != "203.0.113.10" || rep.Changes[0].After["policy"] != "Tokyo office range from Tokyo" {
		t.Errorf("changes %+v", rep.Changes)
	}
	if len(rep.MalformedLines) != 1 || rep.MalformedLines[0].Line != 7 {
		t.Errorf("malformed %+v", rep.MalformedLines)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestReplayText(t *testing.T) {
	code, out, errOut := runCLI(t, "replay", "--logs", replayLogs, "--plan", replayPlan)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"cfegress_egress_policies.this (account 0123456789abcdef0123456789abcdef): 6 sessions in 6 rows",
		"model check on the live list: 5 agree, 1 disagree, 0 undecidable",
		"against the plan: 1 session change egress",
		`"Everything else from Los Angeles" 203.0.113.20 from LAX geo US -> "Tokyo office range from Tokyo" 203.0.113.10 from NRT geo JP (lax-office-web, line 3)`,
		"(kix-wrong-rule, line 6)",
		"Policies of the planned list:",
		"1 session of other accounts not replayed (ffffffffffffffffffffffffffffffff 1)",
		"line 7: column 108: the line ends before the object is closed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// The state alone is the live list: no changes are reported; the same
// model check figures as with the plan.
func TestReplayStateAndStdinGzip(t *testing.T) {
	raw, err := os.ReadFile(replayLogs)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(raw)
	_ = w.Close()
	var out, errb bytes.Buffer
	code := run([]string{"replay", "--logs", "-", "--state", replayState, "--format", "json", "--workers", "0"}, streams{in: &gz, out: &out, err: &errb})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["records"] != 6.0 || got["agree"] != 5.0 || got["disagree"] != 1.0 || got["changed"] != 0.0 || got["planned_policies"] != nil {
		t.Errorf("state replay: %v", out.String())
	}
}

func TestReplayExitCodes(t *testing.T) {
	if code, _, errOut := runCLI(t, "replay", "--logs", replayLogs, "--plan", replayPlan, "--fail-on-change"); code != exitImpact {
		t.Errorf("--fail-on-change: exit %d (%s), want %d", code, errOut, exitImpact)
	}
	if code, _, errOut := runCLI(t, "replay", "--logs", replayLogs, "--plan", replayPlan, "--fail-on-disagree"); code != exitDisagree {
		t.Errorf("--fail-on-disagree: exit %d (%s), want %d", code, errOut, exitDisagree)
	}
	if code, _, _ := runCLI(t, "replay", "--logs", replayLogs, "--state", replayState, "--fail-on-change"); code != exitOK {
		t.Errorf("--fail-on-change without a plan: exit %d, want 0", code)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"replay", "--plan", replayPlan}, exitUsage, `required flag(s) "logs" not set`},
		{[]string{"replay", "--logs", replayLogs}, exitUsage, "--plan or --state is required"},
		{[]string{"replay", "--logs", replayLogs, "--state", replayState, "--format", "yaml"}, exitUsage, `--format "yaml": use text or json`},
		{[]string{"replay", "--logs", replayLogs, "--state", replayState, "--workers", "-1"}, exitUsage, "--workers -1"},
		{[]string{"replay", "--logs", "testdata/no-such.ndjson", "--state", replayState}, exitError, "--logs: open testdata/no-such.ndjson"},
		{[]string{"replay", "--logs", replayLogs, "--state", replayLogs}, exitError, "--state testdata/sessions_plan_insert.ndjson: reading a state"},
		{[]string{"replay", "--logs", replayLogs, "--state", replayState, "--address", "cfegress_egress_policies.other"}, exitError, "it has: cfegress_egress_policies.this"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tc.args, code, errOut, tc.code, tc.msg)
		}
	}
}
