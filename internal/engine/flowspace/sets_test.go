package flowspace

import (
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

func mustSet(t testing.TB, a *Analyzer, traffic string) *Set {
	t.Helper()
	s, err := a.CompileText(traffic, "", "")
	if err != nil {
		t.Fatalf("compile %q: %v", traffic, err)
	}
	return s
}

func TestCoversTable(t *testing.T) {
	cases := []struct {
		outer, inner string
		want         engine.Tri
	}{
		// The two documented catch-all idioms cover everything, and each other.
		{`net.protocol in {"tcp" "udp"}`, `net.dst.port == 443`, engine.Yes},
		{`net.dst.ip != 0.0.0.0`, `net.protocol in {"tcp" "udp"}`, engine.Yes},
		{`net.protocol in {"tcp" "udp"}`, `net.dst.ip != 0.0.0.0`, engine.Yes},
		{`net.dst.ip != 0.0.0.0`, ``, engine.Yes},
		{`net.protocol == "tcp"`, ``, engine.No},
		// CIDRs.
		{`net.dst.ip in {10.0.0.0/8}`, `net.dst.ip in {10.1.0.0/16 10.2.3.4}`, engine.Yes},
		{`net.dst.ip in {10.0.0.0/8}`, `net.dst.ip in {10.1.0.0/16 11.0.0.1}`, engine.No},
		{`net.dst.ip == 10.0.0.0/8`, `net.dst.ip in {10.0.0.0/9 10.128.0.0/9}`, engine.Yes},
		{`net.dst.ip in {10.0.0.0/9 10.128.0.0/9}`, `net.dst.ip == 10.0.0.0/8`, engine.Yes},
		{`net.dst.ip in {2001:db8::/32}`, `net.dst.ip in {2001:db8:1::/48}`, engine.Yes},
		{`net.dst.ip in {0.0.0.0/0}`, `net.dst.ip in {2001:db8:1::/48}`, engine.No},
		{`net.dst.ip < 10.0.0.0 or net.dst.ip >= 10.0.0.0`, `net.dst.ip in {1.2.3.4}`, engine.Yes},
		{`net.dst.ip < 10.0.0.0 or net.dst.ip >= 10.0.0.0`, `net.dst.ip in {::1}`, engine.No},
		// Ports and protocol.
		{`net.dst.port in {1..1024}`, `net.dst.port in {80 443}`, engine.Yes},
		{`net.dst.port < 1000`, `net.dst.port in {80 1000}`, engine.No},
		{`net.dst.port != 80`, `net.dst.port > 80 or net.dst.port < 80`, engine.Yes},
		{`net.dst.port == 443 or net.dst.port != 443`, `net.dst.ip in {10.0.0.0/8}`, engine.Yes},
		{`net.protocol == "udp"`, `net.protocol == "udp" and net.dst.port == 53`, engine.Yes},
		{`net.protocol == "udp"`, `not(net.protocol == "tcp")`, engine.Yes},
		{`net.protocol == "udp"`, `net.protocol != "icmp"`, engine.No},
		// Strings: finite and co-finite.
		{`identity.email != "a@x"`, `identity.email in {"b@x" "c@x"}`, engine.Yes},
		{`identity.email != "a@x"`, `identity.email in {"a@x" "c@x"}`, engine.No},
		{`not(net.dst.geo.country in {"US" "CA"})`, `net.dst.geo.country == "JP"`, engine.Yes},
		// Arrays: "some element" constraints.
		{`any(identity.groups[*].name == "eng")`, `any(identity.groups[*].name in {"eng"}) and identity.email == "a@x"`, engine.Yes},
		{`any(identity.groups[*].name == "eng")`, `any(identity.groups[*].name in {"eng" "ops"})`, engine.No},
		{`any(identity.groups[*].name in {"eng" "ops"})`, `any(identity.groups[*].name == "eng")`, engine.Yes},
		{`any(app.ids[*] != 5)`, `any(app.ids[*] in {6})`, engine.Yes},
		{`any(app.ids[*] == 5) or not(any(app.ids[*] == 5))`, ``, engine.Yes},
		{`not(any(app.ids[*] == 5))`, `not(any(app.ids[*] in {4..6}))`, engine.Yes},
		{`not(any(app.ids[*] in {4..6}))`, `not(any(app.ids[*] == 5))`, engine.No},
		{`identity.saml_attributes["dept"] == "eng"`, `identity.saml_attributes == "dept=eng"`, engine.Yes},
		// The group selectors read one list of (id, name, email) groups: a
		// user without group names has no group IDs either.
		{`not(any(identity.groups[*].name == "x")) and not(any(identity.groups[*].name != "x"))`, `not(any(identity.groups[*].id == "x")) and not(any(identity.groups[*].id != "x"))`, engine.Yes},
		{`any(identity.groups[*].email != "x") or any(identity.groups[*].email == "x")`, `any(identity.groups[*].id == "G")`, engine.Yes},
		{`any(identity.groups[*].id == "G")`, `any(identity.groups[*].name == "eng")`, engine.No},
		{`any(identity.groups[*].id == "G") or not(any(identity.groups[*].name == "eng"))`, `any(identity.groups[*].name == "eng")`, engine.No},
		{`identity.saml_attributes["dept"] == "eng"`, `identity.saml_attributes == "team=eng"`, engine.No},
		// Opaque atoms: same atom is the same dimension; never more.
		{`net.fqdn.host matches ".*"`, `net.dst.port == 80`, engine.No},
		{`net.fqdn.host matches "^a"`, `net.fqdn.host matches "^a" and net.dst.port == 80`, engine.Yes},
		{`net.fqdn.host matches "^a" or not(net.fqdn.host matches "^a")`, ``, engine.Yes},
		{`net.dst.ip in $3f2b1f6a-0000-4000-8000-000000000001`, `net.dst.ip in {1.1.1.1}`, engine.No},
	}
	for _, c := range cases {
		a := NewAnalyzer()
		o, i := mustSet(t, a, c.outer), mustSet(t, a, c.inner)
		if got := a.Covers(o, i); got != c.want {
			t.Errorf("Covers(%q ⊇ %q) = %v, want %v", c.outer, c.inner, got, c.want)
		}
	}
}

func TestIsEmpty(t *testing.T) {
	cases := []struct {
		src  string
		want engine.Tri
	}{
		{`net.dst.port == 80 and net.dst.port == 443`, engine.Yes},
		{`net.dst.port == 80 and net.dst.port in {1..100}`, engine.No},
		{`net.protocol == "icmp"`, engine.Yes},
		{`net.dst.ip == 0.0.0.0`, engine.Yes},
		{`net.dst.ip == ::`, engine.Yes},
		{`net.dst.ip == ::ffff:10.0.0.1`, engine.No}, // unmapped: an IPv4 point
		{`net.fqdn.host matches "a" and not(net.fqdn.host matches "a")`, engine.Yes},
		{`any(app.ids[*] == 5) and not(any(app.ids[*] in {1..9}))`, engine.Yes},
		{`not(any(app.ids[*] != 5)) and any(app.ids[*] == 5)`, engine.No},
		{`not(any(app.ids[*] != 5)) and any(app.ids[*] == 6)`, engine.Yes},
		{`identity.email == ""`, engine.Yes},
		{`net.dst.port < 1`, engine.Yes},
	}
	for _, c := range cases {
		a := NewAnalyzer()
		if got := a.IsEmpty(mustSet(t, a, c.src)); got != c.want {
			t.Errorf("IsEmpty(%q) = %v, want %v", c.src, got, c.want)
		}
	}
}

func TestCoveredByUnion(t *testing.T) {
	a := NewAnalyzer()
	parts := []*Set{
		mustSet(t, a, `net.dst.port < 1000`),
		mustSet(t, a, `net.dst.port in {1000..2000} and net.protocol == "tcp"`),
		mustSet(t, a, `net.dst.port >= 1000 and net.protocol == "udp"`),
	}
	if got := a.CoveredByUnion(mustSet(t, a, `net.dst.port <= 2000`), parts); got != engine.Yes {
		t.Errorf("port <= 2000 covered = %v, want Yes", got)
	}
	if got := a.CoveredByUnion(mustSet(t, a, `net.dst.port <= 2001`), parts); got != engine.No {
		t.Errorf("port <= 2001 covered = %v, want No", got)
	}
	if got := a.CoveredByUnion(a.Universe(), parts); got != engine.No {
		t.Errorf("universe covered = %v, want No", got)
	}
}

// TestBudget: past the work bound the answer is Unknown, never wrong.
func TestBudget(t *testing.T) {
	a := NewAnalyzer()
	var parts []*Set
	for i := 0; i < 64; i++ {
		parts = append(parts, mustSet(t, a, `net.dst.port == `+itoa(i+1)+` or net.src.port == `+itoa(2*i+1)))
	}
	b := mustSet(t, a, `net.dst.port <= 64`)
	if got := a.CoveredByUnion(b, parts); got != engine.Yes {
		t.Fatalf("unbounded = %v, want Yes", got)
	}
	a.Budget = 3
	if got := a.CoveredByUnion(b, parts); got != engine.Unknown {
		t.Fatalf("budget 3 = %v, want Unknown", got)
	}
}

func TestTooComplex(t *testing.T) {
	src := ""
	for i := 0; i < 12; i++ {
		if i > 0 {
			src += " and "
		}
		src += "(net.dst.port != " + itoa(i+1) + " or net.src.port != " + itoa(i+1) + ")"
	}
	n, err := expr.ParseAndCheck(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewAnalyzer().Compile(n); err == nil {
		t.Fatalf("want a too-complex error for a 2^12-box DNF")
	}
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}
