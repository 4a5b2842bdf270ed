package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseRateLimit(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		win  time.Duration
		fail bool
	}{
		{"1200/300", 1200, 300 * time.Second, false},
		{"5/0.5", 5, 500 * time.Millisecond, false},
		{"off", -1, 0, false},
		{"0", -1, 0, false},
		{"1200", 0, 0, true},
		{"x/300", 0, 0, true},
		{"10/0", 0, 0, true},
		{"-1/10", 0, 0, true},
	}
	for _, tc := range cases {
		n, w, err := parseRateLimit(tc.in)
		if (err != nil) != tc.fail || n != tc.n || w != tc.win {
			t.Errorf("parseRateLimit(%q) = %d, %s, %v", tc.in, n, w, err)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadInventory(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "inv.json", `[{"ipv4":"192.0.2.1","ipv6_range":"2001:DB8:1::/64","colo":"fra"},{"ipv4":"192.0.2.2","ipv6_range":"2001:db8:2::/64","colo":"AMS"}]`)
	inv, err := readInventory(good)
	if err != nil || len(inv) != 2 || inv[0].Colo != "FRA" || inv[0].IPv6Range.String() != "2001:db8:1::/64" {
		t.Fatalf("%+v %v", inv, err)
	}
	for name, content := range map[string]string{
		"notjson": `{`, "empty": `[]`, "badv4": `[{"ipv4":"x","ipv6_range":"2001:db8::/64","colo":"FRA"}]`,
		"badv6": `[{"ipv4":"192.0.2.1","ipv6_range":"2001:db8::1","colo":"FRA"}]`, "nocolo": `[{"ipv4":"192.0.2.1","ipv6_range":"2001:db8::/64"}]`,
	} {
		if _, err := readInventory(writeFile(t, dir, name+".json", content)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-fault-429-rate", "2"},
		{"-rate-limit", "nope"},
		{"-inventory", filepath.Join(dir, "missing.json")},
		{"-seed-rules", writeFile(t, dir, "bad.json", `[{"name":""}]`), "-listen", "127.0.0.1:0"},
		{"extra-arg"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, stderr %s", args, code, errb.String())
		}
	}
}

// TestRunServesAndStopsOnSignal runs the command in-process: it prints the
// URL (never the token), serves the seeded rules with the inventory and
// token given, persists state, and exits 0 on SIGINT.
func TestRunServesAndStopsOnSignal(t *testing.T) {
	dir := t.TempDir()
	inv := writeFile(t, dir, "inv.json", `[{"ipv4":"192.0.2.1","ipv6_range":"2001:db8:1::/64","colo":"FRA"},{"ipv4":"192.0.2.2","ipv6_range":"2001:db8:2::/64","colo":"AMS"}]`)
	seed := writeFile(t, dir, "rules.json", `[{"id":"dns-1","name":"block","precedence":10,"action":"block","filters":["dns"],"traffic":"any(dns.domains[*] == \"x.example\")","enabled":true}]`)
	state := filepath.Join(dir, "state.json")
	const token = "very-secret-token"
	const acct = "abcdefabcdefabcdefabcdefabcdef12"
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"-listen", "127.0.0.1:0", "-token", token, "-account", acct, "-inventory", inv,
			"-seed-rules", seed, "-state", state, "-seed", "4", "-rate-limit", "100/60"}, pw, &errb)
		_ = pw.Close() // a PipeWriter's Close always returns nil
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v (stderr %s)", err, errb.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if strings.Contains(line, token) {
		t.Fatal("the token was printed")
	}
	const prefix = "cfegress-emulator listening on "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("line %q", line)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, prefix))

	post := func(body string) *http.Response {
		req, _ := http.NewRequest("POST", base+"/client/v4/accounts/"+acct+"/gateway/rules", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close() // only the status code is used
		return res
	}
	ok := `{"name":"p","action":"egress","filters":["egress"],"traffic":"net.dst.port == 443","rule_settings":{"egress":{"ipv4":"192.0.2.1","ipv6":"2001:db8:1::/64","ipv4_fallback":"192.0.2.2"}}}`
	if res := post(ok); res.StatusCode != 200 {
		t.Fatalf("create with the inventory's IPs: %d", res.StatusCode)
	}
	if res := post(strings.Replace(ok, "192.0.2.1", "203.0.113.10", 1)); res.StatusCode != 400 {
		t.Fatalf("create with an IP outside the inventory: %d", res.StatusCode)
	}
	res, err := http.Get(base + "/__emulator/accounts/" + acct + "/rules")
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Result []struct {
			ID, Name string
		} `json:"result"`
	}
	_ = json.NewDecoder(res.Body).Decode(&env)
	_ = res.Body.Close()
	if len(env.Result) != 2 || env.Result[0].ID != "dns-1" || env.Result[1].Name != "p" {
		t.Fatalf("rules %+v", env.Result)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not stop on SIGINT")
	}
	if strings.Contains(errb.String(), token) {
		t.Fatal("the token was printed on stderr")
	}
	data, err := os.ReadFile(state)
	if err != nil || !strings.Contains(string(data), `"dns-1"`) || !strings.Contains(string(data), `"p"`) {
		t.Fatalf("state file: %v %s", err, data)
	}
	if strings.Contains(string(data), token) {
		t.Fatal("the token is in the state file")
	}
}
