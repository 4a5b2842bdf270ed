package expr

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// FuzzParse: the parser never panics; whatever parses prints to a fixed
// point (Format(Parse(Format(x))) == Format(x)); whatever also type-checks
// compiles, and Canonical is idempotent and Equivalent to the input.
func FuzzParse(f *testing.F) {
	for _, d := range documented {
		f.Add(d.src)
	}
	for _, s := range roundTripCorpus {
		f.Add(s)
	}
	for _, s := range []string{
		`net.dst.port in {80`, `((`, `not not !x`, `a[*].b`, `r#"x"#`, `"\x4`, `$`, `net.dst.ip in {::ffff:1.2.3.4/100}`,
		`any(identity.saml_attributes["k"][*] in $0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4)`, `net.dst.port in {1..2..3}`, "a\n==\n\"\xff\"",
		// the syntax of issue #12: IP ranges, any(not ...), escapes, lists, octal, host bits
		`net.dst.ip in {10.0.0.0..10.0.255.255 ::1..::2 192.0.2.0/24}`, `net.dst.ip in {10.0.0.9..10.0.0.1}`, `net.dst.ip in {1.2.3.4..::1}`,
		`any(not(identity.groups[*].name in {"Contractors"}))`, `any(!(!(net.fqdn.domains[*] == "a")))`, `any(not(a and b))`,
		`identity.name == "\x41\101\377\"\\"`, `identity.name == "\n"`, `identity.name == "\400"`, `identity.name == "\0"`,
		`net.dst.ip in $0130295149F947C9A4000297E60B6A10`, `net.dst.ip in $internal_networks`, `net.dst.ip in $0130295149f947c9a4000297e60b6a1`,
		`net.dst.port in {0443 0x1bb 08..0x50}`, `net.dst.ip == 10.0.0.1/8`, `net.protocol == "TCP"`,
		`any(identity.oidc_claims[*] == "\"department=engineering\"")`, `net.onramp.type == "mesh"`, `dns.fqdn == "x"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := Parse(src)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse(%q): error %T is not *Error", src, err)
			}
			return
		}
		checkErr := Check(n)
		f1 := Format(n)
		n2, err := Parse(f1)
		if err != nil {
			t.Fatalf("Parse(Format(%q)) = Parse(%q): %v", src, f1, err)
		}
		if checkErr == nil {
			if err := Check(n2); err != nil {
				t.Fatalf("%q checks but its canonical form %q does not: %v", src, f1, err)
			}
		} else {
			_ = Check(n2)
		}
		if f2 := Format(n2); f2 != f1 {
			t.Fatalf("round trip of %q:\n first %s\nsecond %s", src, f1, f2)
		}
		if checkErr != nil {
			return
		}
		if _, err := Compile(n); err != nil {
			t.Fatalf("%q checks but does not compile: %v", src, err)
		}
		if !Equivalent(src, f1) {
			t.Fatalf("%q is not Equivalent to its canonical form %q", src, f1)
		}
	})
}

// FuzzGenerated drives the random expression generator of hints_test.go
// (every form of the language, IP ranges and any(not ...) included) from
// the fuzz input: each expression parses, checks, prints to a fixed point,
// is Equivalent to its canonical form, and its canonical form decides every
// random flow exactly as it does and as the reference interpreter does.
func FuzzGenerated(f *testing.F) {
	for _, seed := range []uint64{0, 1, 2, 3, 42, 1 << 40} {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:8], seed)
		binary.LittleEndian.PutUint64(b[8:], seed*7+1)
		f.Add(b[:])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b [16]byte
		copy(b[:], data)
		r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])))
		src := randExpr(r, 4)
		if len(data) > 16 && data[16]%2 == 1 {
			src = randExprOf(r, 4, randKeyLeaf)
		}
		n, err := ParseAndCheck(src)
		if err != nil {
			t.Fatalf("generated %q does not check: %v", src, err)
		}
		canon := Format(n)
		n2, err := ParseAndCheck(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not check: %v", canon, src, err)
		}
		if again := Format(n2); again != canon {
			t.Fatalf("round trip of %q:\n first %s\nsecond %s", src, canon, again)
		}
		if !Equivalent(src, canon) {
			t.Fatalf("%q is not Equivalent to its canonical form %q", src, canon)
		}
		p1, err1 := Compile(n)
		p2, err2 := Compile(n2)
		if err1 != nil || err2 != nil {
			t.Fatalf("%q: compile: %v / %v", src, err1, err2)
		}
		for i := 0; i < 40; i++ {
			fl := randFlow(r)
			a, am := p1.Match(&fl)
			c, cm := p2.Match(&fl)
			ref, refm := refEval(n, &fl)
			if a != c || am != cm || a != ref || am != refm {
				t.Fatalf("%q on %+v: source %v %q, canonical %q %v %q, reference %v %q", src, fl, a, am, canon, c, cm, ref, refm)
			}
		}
	})
}
