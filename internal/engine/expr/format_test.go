package expr

import "testing"

func TestEquivalent(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		// spacing, operator spelling, set order, redundant parentheses
		{`net.dst.port in {443 80}`, `net.dst.port in {80   443}`, true},
		{`net.dst.port == 80 && net.protocol == "tcp"`, `(net.dst.port==80) and (net.protocol == "tcp")`, true},
		{`net.dst.port == 80 || net.dst.port == 81`, `net.dst.port == 80 or net.dst.port == 81`, true},
		{`a or b`, `a or b`, true}, // raw text equal even though it does not check
		{`net.dst.port == "2222"`, `net.dst.port == 2222`, true},
		{`net.src.internal_src_ip == "192.168.86.0/27"`, `net.src.internal_src_ip == 192.168.86.0/27`, true},
		{`net.dst.ip in {10.0.0.0/8 2001:DB8::/32}`, `net.dst.ip in {2001:db8::/32 10.0.0.0/8}`, true},
		{`!(net.dst.port == 80)`, `not(net.dst.port == 80)`, true},
		{`not net.dst.port == 80`, `not(net.dst.port == 80)`, true},
		{`a.b == 1 or c.d == 2 and e.f == 3`, `a.b == 1 or (c.d == 2 and e.f == 3)`, true}, // unknown fields: loose canonical
		{"  net.dst.port == 80\n", "net.dst.port == 80", true},
		{``, `   `, true},
		// different meaning or order of operands
		{`net.dst.port in {443 80}`, `net.dst.port in {443 8080}`, false},
		{`net.dst.port == 80 and net.protocol == "tcp"`, `net.protocol == "tcp" and net.dst.port == 80`, false},
		{`(net.dst.port == 1 or net.dst.port == 2) and net.dst.port == 3`, `net.dst.port == 1 or net.dst.port == 2 and net.dst.port == 3`, false},
		{`net.dst.port == 80`, ``, false},
		// unparsable: compared as raw text
		{`net.dst.port in {80`, `net.dst.port in {80`, true},
		{`net.dst.port in {80`, `net.dst.port in { 80`, false},
		{`net.dst.port in {80`, `net.dst.port in {80}`, false},
	}
	for _, tc := range cases {
		if got := Equivalent(tc.a, tc.b); got != tc.want {
			ca, _ := looseCanonical(tc.a)
			cb, _ := looseCanonical(tc.b)
			t.Errorf("Equivalent(%q, %q) = %v, want %v (%q vs %q)", tc.a, tc.b, got, tc.want, ca, cb)
		}
		if got := Equivalent(tc.b, tc.a); got != tc.want {
			t.Errorf("Equivalent not symmetric for %q, %q", tc.a, tc.b)
		}
	}
}

// roundTripCorpus are expressions whose canonical form must be a fixed point.
var roundTripCorpus = []string{
	`net.dst.port in {443 80}`,
	`net.protocol in {"tcp" "udp"}`,
	`net.dst.ip != 0.0.0.0`,
	`not(net.dst.port == 1 or net.dst.port == 2) and (net.dst.port == 3 or net.dst.port == 4 and net.dst.port == 5)`,
	`!(!(net.dst.port == 1))`,
	`identity.name == "tab\x09here \"q\" back\\slash \x01 \xff \011 \377"`,
	`identity.email matches r"^[a-z]+\.[a-z]+@example\.com$"`,
	`any(identity.groups[*].name in {"b" "a"}) or any(identity.saml_attributes["k \"x\""] == "v")`,
	`net.dst.ip in {::ffff:10.0.0.0/104 10.0.0.1/32 fe80::/10 0.0.0.0/0 ::/0}`,
	`net.dst.port in {1..2 0 65535 "3" "4..5"}`,
	`a.b == 1 or c.d in {x y}`,
	`net.fqdn.host in $0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4 and any(net.fqdn.domains[*] in $01302951-49f9-47c9-a400-0297e60b6a10)`,
	`identity.saml_attributes in {"b=1" "a=2"}`,
}

func TestFormatRoundTrip(t *testing.T) {
	for _, src := range append(roundTripCorpus, func() []string {
		var s []string
		for _, d := range documented {
			s = append(s, d.src)
		}
		return s
	}()...) {
		n, err := Parse(src)
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		_ = Check(n) // round trip holds checked or not
		f1 := Format(n)
		n2, err := Parse(f1)
		if err != nil {
			t.Errorf("Parse(Format(%q)) = Parse(%q): %v", src, f1, err)
			continue
		}
		_ = Check(n2)
		if f2 := Format(n2); f2 != f1 {
			t.Errorf("round trip of %q:\n first %s\nsecond %s", src, f1, f2)
		}
	}
}

func TestFormatNil(t *testing.T) {
	if Format(nil) != "" {
		t.Fatal("Format(nil) must be empty")
	}
}

func TestFormatBuiltTrees(t *testing.T) {
	// Trees built by hand (the lint helper builds some) print flattened.
	p := func(port int64) Node {
		return &Compare{Field: FieldRef{Name: "net.dst.port"}, Op: OpEq, Value: Value{Kind: VInt, Int: port}}
	}
	n := &And{X: []Node{&And{X: []Node{p(1), p(2)}}, &Or{X: []Node{p(3), &Or{X: []Node{p(4), p(5)}}}}}}
	want := `net.dst.port == 1 and net.dst.port == 2 and (net.dst.port == 3 or net.dst.port == 4 or net.dst.port == 5)`
	if got := Format(n); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
