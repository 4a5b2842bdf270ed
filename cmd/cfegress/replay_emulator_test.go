package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// The two paths agree: the session records the emulator writes (its stored
// rules, through the engine, rendered) replayed by `cfegress replay` against
// the rules as the API lists them (reformatted by the emulator, read back as
// a state) all agree. Flows cover grey and orange, IPv4 and IPv6, users
// abroad, colo outages (fallback to another IP, to default egress, and a
// legacy rule without fallback), no match and default egress; policies use
// only fields session logs carry, so nothing is undecidable.
func TestReplayEmulatorSessionsAgree(t *testing.T) {
	const token = "test-token"
	// Two dedicated IPs in Tokyo: users at KIX and NRT with no matching
	// policy share them (equidistant).
	inv := append(emulator.DefaultInventory(), engine.DedicatedIP{
		IPv4: netip.MustParseAddr("203.0.113.11"), IPv6Range: netip.MustParsePrefix("2001:db8:11::/64"), Colo: "NRT"})
	e := emulator.New(emulator.Config{Token: token, Seed: 7, Inventory: inv})
	base, err := e.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	acct := emulator.DefaultAccountID
	api := func(method, path string, body any) json.RawMessage {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var env struct {
			Success bool            `json:"success"`
			Result  json.RawMessage `json:"result"`
		}
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, &env); err != nil || resp.StatusCode != 200 || !env.Success {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		return env.Result
	}
	rule := func(name, traffic, identity string, egress map[string]string) map[string]any {
		r := map[string]any{"name": name, "description": "", "enabled": true, "action": "egress", "filters": []string{"egress"},
			"traffic": traffic, "identity": identity, "device_posture": ""}
		if egress != nil {
			r["rule_settings"] = map[string]any{"egress": egress}
		}
		return r
	}
	// A legacy rule without ipv4_fallback first (the API no longer takes
	// one), then the rest through the API, which reformats expressions.
	if err := e.SeedRules(acct, []emulator.Rule{{Name: "Legacy SSH via LAX", Enabled: true, Action: "egress", Filters: []string{"egress"}, Precedence: 100,
		Traffic: "net.dst.port == 22 && net.protocol == \"tcp\"", RuleSettings: emulator.RuleSettings{Egress: &emulator.EgressSettings{IPv4: "203.0.113.20", IPv6: "2001:db8:20::/64"}}}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []map[string]any{
		rule("Partners from Tokyo", "net.dst.ip in {192.0.2.0/26 2001:db8:ffff:1::/64}", "", map[string]string{"ipv4": "203.0.113.10", "ipv6": "2001:db8:10::/64", "ipv4_fallback": "203.0.113.20"}),
		rule("Finance from LA", "net.dst.ip in {192.0.2.64/26}", `identity.email in {"cfo@example.com" "ceo@example.com"}`, map[string]string{"ipv4": "203.0.113.20", "ipv6": "2001:db8:20::/64", "ipv4_fallback": "0.0.0.0"}),
		rule("Web keeps the user's geolocation", "net.dst.port in {80 8080}&&net.protocol==\"tcp\"", "", nil),
	} {
		api("POST", "/accounts/"+acct+"/gateway/rules", r)
	}
	// The live list as the API lists it, written as a state.
	var listed []emulator.Rule
	if err := json.Unmarshal(api("GET", "/accounts/"+acct+"/gateway/rules", nil), &listed); err != nil {
		t.Fatal(err)
	}
	state := stateJSON(t, acct, listed, e.Inventory(acct))
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	if err := os.WriteFile(statePath, state, 0o600); err != nil {
		t.Fatal(err)
	}

	// Flows: every ingress colo, user country, family, proxied setting
	// and outage of a dedicated IP's colo.
	var flows []map[string]any
	n := 0
	for _, ing := range []string{"KIX", "NRT", "LAX", "GDL", "FRA", "SIN"} {
		ingColo, err := engine.LookupColo(ing)
		if err != nil {
			t.Fatal(err)
		}
		for _, down := range [][]string{nil, {"NRT"}, {"LAX"}, {"NRT", "LAX"}} {
			if slices.Contains(down, ing) {
				continue
			}
			for _, country := range []string{"", "JP", "US", "MX", "DE"} {
				if len(down) > 0 && country != "" && country != ingColo.Country {
					// An outage on default egress abroad moves a user to a
					// colo no replay can tell from a wrong one (logs say
					// nothing of outages): not this test's subject.
					continue
				}
				for _, dst := range []string{"192.0.2.10", "192.0.2.70", "192.0.2.200", "2001:db8:ffff:1::9", "2001:db8:ffff::9"} {
					for _, port := range []int{443, 80, 22} {
						for _, proxied := range []bool{false, true} {
							n++
							f := map[string]any{
								"source_ip": fmt.Sprintf("198.51.100.%d", n%200), "source_port": 1024 + n, "source_country": country,
								"ingress_colo": ing, "destination_ip": dst, "destination_port": port, "protocol": "tcp", "proxied": proxied,
								"email": []string{"cfo@example.com", "dev@example.com", "ops@example.com"}[n%3],
							}
							if down != nil {
								f["colos_down"] = down
							}
							flows = append(flows, f)
						}
					}
				}
			}
		}
	}
	var recs []json.RawMessage
	for start := 0; start < len(flows); start += 500 {
		end := min(start+500, len(flows))
		var part []json.RawMessage
		if err := json.Unmarshal(api("POST", "/__emulator/accounts/"+acct+"/sessions", flows[start:end]), &part); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, part...)
	}
	if len(recs) != len(flows) {
		t.Fatalf("%d records for %d flows", len(recs), len(flows))
	}
	var ndjson bytes.Buffer
	for _, r := range recs {
		var compact bytes.Buffer
		if err := json.Compact(&compact, r); err != nil {
			t.Fatal(err)
		}
		ndjson.Write(compact.Bytes())
		ndjson.WriteByte('\n')
	}
	logPath := filepath.Join(dir, "sessions.ndjson")
	if err := os.WriteFile(logPath, ndjson.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, "replay", "--logs", logPath, "--state", statePath, "--format", "json", "--workers", "2")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Records, Agree, Disagree, Undecidable, Malformed int64
		Inferred                                         map[string]any
		Disagreements                                    []map[string]any
		Policies                                         []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Records != int64(len(recs)) || rep.Agree != rep.Records || rep.Disagree != 0 || rep.Undecidable != 0 || rep.Malformed != 0 {
		t.Errorf("%d emulator records: %d agree, %d disagree, %d undecidable, %d malformed; first disagreements %v",
			len(recs), rep.Agree, rep.Disagree, rep.Undecidable, rep.Malformed, rep.Disagreements[:min(3, len(rep.Disagreements))])
	}
	// Both paths pick among the two Tokyo IPs by the same identity hash:
	// no record needed the "another equidistant IP" inference.
	if eq, _ := rep.Inferred["equidistant"].(float64); eq != 0 {
		t.Errorf("%v records logged another equidistant IP than the replay's engine picks", eq)
	}
	for _, p := range rep.Policies {
		if hits, _ := p["hits"].(float64); hits == 0 {
			t.Errorf("policy %v has no hits: the flows do not cover it", p["name"])
		}
	}
	t.Logf("%d emulator records replayed: %d agree; inferred %v", len(recs), rep.Agree, rep.Inferred)
}

// stateJSON writes the rules and inventory as `terraform show -json` would
// show a cfegress_egress_policies.
func stateJSON(t *testing.T, acct string, rules []emulator.Rule, inv []engine.DedicatedIP) []byte {
	t.Helper()
	var pols []map[string]any
	for _, r := range rules {
		if !r.IsEgress() {
			continue
		}
		eg := map[string]any{"method": "default", "ipv4": nil, "ipv6": nil, "ipv4_fallback": nil}
		if s := r.RuleSettings.Egress; s != nil && s.IPv4 != "" {
			eg = map[string]any{"method": "dedicated", "ipv4": s.IPv4, "ipv6": s.IPv6, "ipv4_fallback": nilIfEmpty(s.IPv4Fallback)}
		}
		pols = append(pols, map[string]any{"id": r.ID, "name": r.Name, "description": r.Description, "enabled": r.Enabled, "precedence": r.Precedence,
			"traffic": r.Traffic, "identity": nilIfEmpty(r.Identity), "device_posture": nilIfEmpty(r.DevicePosture), "egress": eg})
	}
	var ips []map[string]any
	for _, d := range inv {
		ips = append(ips, map[string]any{"ipv4": d.IPv4.String(), "ipv6_range": d.IPv6Range.String(), "colo": d.Colo})
	}
	st := map[string]any{
		"format_version": "1.0", "terraform_version": "1.11.4",
		"values": map[string]any{"root_module": map[string]any{"resources": []any{map[string]any{
			"address": "cfegress_egress_policies.this", "mode": "managed", "type": "cfegress_egress_policies", "name": "this",
			"provider_name": "registry.terraform.io/cfegress/cfegress", "schema_version": 0,
			"values": map[string]any{"account_id": acct, "id": acct, "policies": pols, "dedicated_egress_ips": ips},
		}}}},
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "Legacy SSH") {
		t.Fatalf("state lacks the seeded rule: %s", b)
	}
	return b
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
