package expr

import (
	"os"
	"strings"
	"testing"
)

// corpusEntry is one expression of testdata/corpus/gateway_expressions.txt.
type corpusEntry struct {
	line   int
	source string
	expect string // "ok", "warn:<kind>", "reject:<text>"
	slot   Selector
	src    string
}

func readCorpus(t *testing.T) []corpusEntry {
	t.Helper()
	data, err := os.ReadFile("testdata/corpus/gateway_expressions.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusEntry
	source := ""
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "@ "):
			source = strings.TrimPrefix(line, "@ ")
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 3 || source == "" {
			t.Fatalf("corpus line %d: want <expect> TAB <slot> TAB <expression> after an @ source line: %q", i+1, line)
		}
		e := corpusEntry{line: i + 1, source: source, expect: f[0], src: f[2]}
		switch f[1] {
		case "traffic":
			e.slot = SelTraffic
		case "identity":
			e.slot = SelIdentity
		case "device_posture":
			e.slot = SelPosture
		default:
			t.Fatalf("corpus line %d: unknown slot %q", i+1, f[1])
		}
		out = append(out, e)
	}
	return out
}

// TestGatewayCorpus: every well-formed egress expression of the corpus
// (Cloudflare's docs and changelogs, cloudflare-go's and the official
// provider's tests and examples, public configurations, wirefilter's own
// tests; the source of each is in the file) is accepted, with exactly the
// warnings listed; everything else is rejected with an error that says why.
func TestGatewayCorpus(t *testing.T) {
	entries := readCorpus(t)
	var good, accepted, bad, rejected int
	sources := map[string]bool{}
	for _, e := range entries {
		sources[e.source] = true
		n, err := ParseAndCheck(e.src)
		if want, ok := strings.CutPrefix(e.expect, "reject:"); ok {
			bad++
			switch {
			case err == nil:
				t.Errorf("line %d: %s\n  accepted, want an error containing %q\n  (source: %s)", e.line, e.src, want, e.source)
			case !strings.Contains(err.Error(), want):
				t.Errorf("line %d: %s\n  error %q does not contain %q", e.line, e.src, err, want)
			default:
				rejected++
			}
			continue
		}
		good++
		if err != nil {
			t.Errorf("line %d: %s\n  rejected: %v\n  (source: %s)", e.line, e.src, err, e.source)
			continue
		}
		var kinds []string
		for _, w := range Warnings(n, e.slot) {
			kinds = append(kinds, "warn:"+w.Kind.String())
		}
		want := []string{}
		if e.expect != "ok" {
			want = []string{e.expect}
		}
		if strings.Join(kinds, ",") != strings.Join(want, ",") {
			t.Errorf("line %d: %s\n  warnings %v, want %v", e.line, e.src, kinds, want)
			continue
		}
		// What is accepted survives Cloudflare's reformatting: its canonical
		// form parses, checks and is Equivalent to it.
		if c := Format(n); !Equivalent(e.src, c) {
			t.Errorf("line %d: %s is not Equivalent to its canonical form %s", e.line, e.src, c)
		}
		accepted++
	}
	t.Logf("%d expressions from %d sources: %d/%d well-formed egress expressions accepted, %d/%d others rejected with the expected error", len(entries), len(sources), accepted, good, rejected, bad)
	if good < 50 || bad < 30 {
		t.Fatalf("corpus too small: %d good, %d bad", good, bad)
	}
}
