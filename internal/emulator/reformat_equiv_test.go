package emulator

import (
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// reformatCorpus: expressions in the forms users write (Cloudflare's
// documented examples among them) that the emulator must store as
// something the project's parser reads as the same thing.
var reformatCorpus = []string{
	`net.dst.port in {443 80}`,
	`net.dst.ip in {0.0.0.0/0 ::/0}`,
	`not(net.dst.port in {22 8000..8999})`,
	`net.dst.port == 443 && net.protocol == "tcp"`,
	`net.dst.port == 443 and net.protocol == "tcp" or net.dst.port == 80`,
	`net.dst.port == 443 or net.protocol == "udp" and net.dst.port == 53`,
	`(net.dst.port == 443 and (net.protocol == "tcp" and net.dst.ip in {192.0.2.0/24}))`,
	`((net.dst.port == 443) or (net.dst.port == 80)) and not (net.dst.ip == 192.0.2.1)`,
	`!(net.dst.port == 22 || net.dst.port == 23) && net.protocol == "tcp"`,
	`not not(net.dst.port == 22)`,
	`net.dst.geo.country == "US"  &&  net.dst.port == 443`,
	`any(identity.groups[*].name in {"Engineering" "Security"})`,
	`identity.email == "a@example.com" || identity.email == "b@example.com"`,
	`identity.email == "\x61@example.com"`,
	`identity.email matches "^.*\x40example\x2ecom$"`,
	`any(device_posture.checks.passed[*] in {"abc"})`,
	"net.dst.port   in {443\t80}\n&& net.protocol == \"tcp\"",
}

// TestReformatKeepsMeaning: every reformatted expression parses and is
// Equivalent (the provider's semantic equality) to what was sent, although
// its text differs for most of them.
func TestReformatKeepsMeaning(t *testing.T) {
	changed := 0
	for _, in := range reformatCorpus {
		if _, err := expr.ParseAndCheck(in); err != nil {
			t.Fatalf("corpus expression %q does not parse: %v", in, err)
		}
		out := Reformat(in)
		if _, err := expr.ParseAndCheck(out); err != nil {
			t.Errorf("Reformat(%q) = %q does not parse: %v", in, out, err)
			continue
		}
		if !expr.Equivalent(in, out) {
			t.Errorf("Reformat(%q) = %q: not Equivalent", in, out)
		}
		if out != in {
			changed++
		}
		if again := Reformat(out); again != out {
			t.Errorf("Reformat is not idempotent: %q -> %q -> %q", in, out, again)
		}
	}
	if changed < len(reformatCorpus)/2 {
		t.Errorf("only %d of %d expressions were reformatted: semantic equality is not exercised", changed, len(reformatCorpus))
	}
}

// FuzzReformat: for any expression the project's parser accepts, the
// emulator's reformatting parses and means the same.
func FuzzReformat(f *testing.F) {
	for _, s := range reformatCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if _, err := expr.ParseAndCheck(in); err != nil {
			return
		}
		out := Reformat(in)
		if _, err := expr.ParseAndCheck(out); err != nil {
			t.Fatalf("Reformat(%q) = %q does not parse: %v", in, out, err)
		}
		if !expr.Equivalent(in, out) {
			t.Fatalf("Reformat(%q) = %q: not Equivalent", in, out)
		}
	})
}
