package expr

import (
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
		`any(identity.saml_attributes["k"][*] in $l)`, `net.dst.port in {1..2..3}`, "a\n==\n\"\xff\"",
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
