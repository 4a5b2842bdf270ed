package expr

import (
	"fmt"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// ParseAndCheck parses src and type-checks it. An empty source returns (nil, nil).
func ParseAndCheck(src string) (Node, error) {
	n, err := Parse(src)
	if err != nil || n == nil {
		return n, err
	}
	if err := Check(n); err != nil {
		return nil, err
	}
	return n, nil
}

// Check type-checks n and converts literal values in place to the kind the
// field needs, accepting every form Cloudflare's docs and API use:
//   - quoted numbers and port ranges on number fields (net.dst.port == "2222"),
//   - quoted IPs and CIDRs on IP fields (net.src.internal_src_ip == "192.168.86.0/27"),
//   - a CIDR with == / != (containment),
//   - f[*] outside any(...) (some element matches; a scalar field is a
//     one-element array),
//   - identity.saml_attributes["name"] with or without [*], inside any(...)
//     or not, and the keyless identity.saml_attributes == "name=value" form.
//
// It rejects unknown fields (naming the closest valid one), type mismatches,
// ordering operators on strings, ports outside 0..65535, ranges with lo > hi,
// protocols other than tcp/udp/icmp, regexes that do not compile (Go's RE2
// syntax; Gateway uses Rust's regex crate, whose syntax is nearly the same:
// both lack backreferences and look-around), an array field compared without
// in, any(...) or [*], and a field used on its own as a condition.
// A nil node (empty expression) is valid.
func Check(n Node) error {
	if n == nil {
		return nil
	}
	return check(n, false)
}

func check(n Node, inAny bool) error {
	switch n := n.(type) {
	case *And:
		for _, x := range n.X {
			if err := check(x, false); err != nil {
				return err
			}
		}
	case *Or:
		for _, x := range n.X {
			if err := check(x, false); err != nil {
				return err
			}
		}
	case *Not:
		return check(n.X, false)
	case *Any:
		body, negated := AnyBody(n)
		switch body.(type) {
		case *Compare, *In, *InList, *Matches:
		default:
			return &Error{Pos: n.P, Msg: "any(...) takes one comparison such as any(app.ids[*] in {505})"}
		}
		f := bodyField(body)
		fi, err := lookup(*f)
		if err != nil {
			return err
		}
		if fi.Map && f.HasKey {
			f.Wildcard = true // any(identity.saml_attributes["k"] in {...}) is the documented form
		}
		if !f.Wildcard {
			return &Error{Pos: f.P, Msg: fmt.Sprintf("any(...) iterates an array: write %s inside it", wildcardName(fi.Name))}
		}
		if negated && fi.Map && !f.HasKey {
			return &Error{Pos: n.P, Msg: `a negation inside any(...) needs an element to test: write not(identity.saml_attributes == "name=value"), or any(not(identity.saml_attributes["name"] == "value"))`}
		}
		return check(body, true)
	case *Compare:
		fi, err := lookup(n.Field)
		if err != nil {
			return err
		}
		if err := arrayUse(fi, n.Field, inAny, false); err != nil {
			return err
		}
		if fi.Map && !n.Field.HasKey {
			return checkSAMLPair(n)
		}
		switch n.Op {
		case OpLt, OpLe, OpGt, OpGe:
			if fi.Type == TString {
				return &Error{Pos: n.P, Msg: fmt.Sprintf("%s is a string: %s applies to numbers and IP addresses; use ==, in or matches", fi.Name, n.Op)}
			}
		}
		return convert(fi, &n.Value, false, n.Op == OpEq || n.Op == OpNe)
	case *In:
		fi, err := lookup(n.Field)
		if err != nil {
			return err
		}
		if err := arrayUse(fi, n.Field, inAny, true); err != nil {
			return err
		}
		if fi.Map && !n.Field.HasKey {
			for i := range n.Set {
				v := &n.Set[i]
				if err := convert(fi, v, true, true); err != nil {
					return err
				}
				if _, _, ok := samlPair(v.Str); !ok {
					return &Error{Pos: v.P, Msg: `identity.saml_attributes without a ["name"] key needs "name=value" elements`, Found: strconv.Quote(v.Str)}
				}
			}
			return nil
		}
		// Convert every element before reporting the first error: the
		// printer sorts set elements, so stopping half way would make what
		// Check leaves behind depend on the order the user wrote.
		var first error
		for i := range n.Set {
			if err := convert(fi, &n.Set[i], true, true); err != nil && first == nil {
				first = err
			}
		}
		return first
	case *InList:
		fi, err := lookup(n.Field)
		if err != nil {
			return err
		}
		if fi.Map && !n.Field.HasKey {
			return &Error{Pos: n.P, Msg: keylessSAML}
		}
		return arrayUse(fi, n.Field, inAny, true)
	case *Matches:
		fi, err := lookup(n.Field)
		if err != nil {
			return err
		}
		if fi.Map && !n.Field.HasKey {
			return &Error{Pos: n.P, Msg: keylessSAML}
		}
		if err := arrayUse(fi, n.Field, inAny, false); err != nil {
			return err
		}
		if fi.Type != TString {
			return &Error{Pos: n.P, Msg: fmt.Sprintf("%s is %s %s: matches applies to strings; use == or in", fi.Name, article(fi.Type), fi.Type)}
		}
		// syntax.Parse with the Perl flags is regexp.Compile's validation
		// step; the compiled form is built once, by Compile.
		if _, err := syntax.Parse(n.Regex, syntax.Perl); err != nil {
			return &Error{Pos: n.P, Msg: fmt.Sprintf("invalid regular expression %s: %v", strconv.Quote(n.Regex), unwrapRegexErr(err))}
		}
	case *Bare:
		fi, err := lookup(n.Field)
		if err != nil {
			return err
		}
		if fi.Type != TBool {
			return &Error{Pos: n.P, Msg: fmt.Sprintf("%s is %s %s, not a condition: compare it, e.g. %s", fi.Name, article(fi.Type), fi.Type, example(fi))}
		}
	default:
		return fmt.Errorf("expr: unknown node %T", n)
	}
	return nil
}

// AnyBody returns the comparison inside any(...) and whether it is negated
// (an odd number of not(...) around it, as in
// any(not(identity.groups[*].name in {"Contractors"}))): any(not(c)) is true
// when SOME element fails c, which is not the same as not(any(c)).
func AnyBody(n *Any) (body Node, negated bool) {
	body = n.Body
	for {
		x, ok := body.(*Not)
		if !ok {
			return body, negated
		}
		body, negated = x.X, !negated
	}
}

func unwrapRegexErr(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "error parsing regexp: ")
}

func article(t Type) string {
	if t == TIP {
		return "an"
	}
	return "a"
}

func bodyField(n Node) *FieldRef {
	switch b := n.(type) {
	case *Compare:
		return &b.Field
	case *In:
		return &b.Field
	case *InList:
		return &b.Field
	case *Matches:
		return &b.Field
	case *Bare:
		return &b.Field
	}
	return nil
}

// wildcardName renders f[*] the way Cloudflare writes it.
func wildcardName(name string) string {
	if rest, ok := strings.CutPrefix(name, "identity.groups."); ok {
		return "identity.groups[*]." + rest
	}
	return name + "[*]"
}

func example(fi FieldInfo) string {
	switch fi.Type {
	case TIP:
		return fi.Name + " in {192.0.2.0/24}"
	case TInt:
		if fi.Array {
			return "any(" + wildcardName(fi.Name) + " in {1})"
		}
		return fi.Name + " == 443"
	}
	if fi.Array {
		return "any(" + wildcardName(fi.Name) + ` == "value")`
	}
	if fi.Name == "net.protocol" {
		return `net.protocol == "tcp"`
	}
	return fi.Name + ` == "value"`
}

// lookup resolves a field reference, suggesting the closest valid field.
func lookup(f FieldRef) (FieldInfo, error) {
	fi, ok := LookupField(f.Name)
	if !ok {
		if msg, other := otherPolicyMessage(f.Name); other {
			return fi, &Error{Pos: f.P, Msg: msg}
		}
		if s := closestField(f.Name); s != "" {
			return fi, &Error{Pos: f.P, Msg: fmt.Sprintf("unknown field %q: did you mean %q?", f.Name, s)}
		}
		return fi, &Error{Pos: f.P, Msg: fmt.Sprintf("unknown field %q", f.Name)}
	}
	if f.HasKey && !fi.Map {
		return fi, &Error{Pos: f.P, Msg: fmt.Sprintf("%s takes no [\"key\"]: only identity.saml_attributes is indexed by name", fi.Name)}
	}
	return fi, nil
}

// arrayUse enforces "array fields need in, any(...) or [*]".
func arrayUse(fi FieldInfo, f FieldRef, inAny, isIn bool) error {
	if !fi.Array || inAny || f.Wildcard || isIn {
		return nil
	}
	if fi.Map {
		// identity.saml_attributes["k"] == "v" and the keyless
		// identity.saml_attributes == "name=value" both appear in Cloudflare's docs.
		return nil
	}
	return &Error{Pos: f.P, Msg: fmt.Sprintf("%s is an array: use %s in {...} or any(%s == ...)", fi.Name, fi.Name, wildcardName(fi.Name))}
}

const keylessSAML = `identity.saml_attributes without a ["name"] key takes == "name=value", != "name=value" or in {"name=value" ...}; write identity.saml_attributes["name"] to use other operators`

// checkSAMLPair accepts identity.saml_attributes == "name=value" (the value
// may carry its own quotes, as in Cloudflare's example "\"group=finance\"").
func checkSAMLPair(n *Compare) error {
	if n.Op != OpEq && n.Op != OpNe {
		return &Error{Pos: n.P, Msg: keylessSAML}
	}
	v := &n.Value
	if v.Kind != VString || !v.Quoted {
		return &Error{Pos: v.P, Msg: `identity.saml_attributes takes a quoted "name=value" string`}
	}
	if _, _, ok := samlPair(v.Str); !ok {
		return &Error{Pos: v.P, Msg: `identity.saml_attributes without a ["name"] key needs "name=value"; or write identity.saml_attributes["name"] == "value"`, Found: strconv.Quote(v.Str)}
	}
	return nil
}

func samlPair(s string) (name, value string, ok bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	name, value, ok = strings.Cut(s, "=")
	return name, value, ok && name != ""
}

func isPortField(name string) bool { return name == "net.dst.port" || name == "net.src.port" }

// convert checks v against the field's type and converts quoted forms.
// inSet allows port ranges; cidrOK allows CIDRs.
func convert(fi FieldInfo, v *Value, inSet, cidrOK bool) error {
	shown := func() string {
		if v.Quoted {
			return strconv.Quote(v.Str)
		}
		return valueText(*v)
	}
	switch fi.Type {
	case TString:
		if v.Kind != VString {
			return &Error{Pos: v.P, Msg: fmt.Sprintf("%s is a string: quote the value: %s", fi.Name, strconv.Quote(valueText(*v)))}
		}
		if !v.Quoted {
			return &Error{Pos: v.P, Msg: fmt.Sprintf("string values must be quoted: write %s", strconv.Quote(v.Str))}
		}
		if fi.Name == "net.protocol" {
			// Compared byte for byte, as written: "TCP" is accepted but
			// never matches (Warnings says so); an unknown protocol is an
			// error.
			switch strings.ToLower(v.Str) {
			case "tcp", "udp", "icmp":
			default:
				return &Error{Pos: v.P, Msg: `unknown protocol: use "tcp" or "udp" (egress policies apply to TCP and UDP)`, Found: strconv.Quote(v.Str)}
			}
		}
		if fi.Pairs {
			if _, _, ok := samlPair(v.Str); !ok {
				return &Error{Pos: v.P, Msg: fmt.Sprintf(`%s elements are "name=value" strings, written as Cloudflare does: any(%s == "\"department=engineering\"")`, fi.Name, wildcardName(fi.Name)), Found: strconv.Quote(v.Str)}
			}
		}
		return nil
	case TIP:
		if v.Kind == VString && v.Quoted {
			lv, ok, msg := literal(strings.TrimSpace(v.Str))
			if msg != "" && strings.ContainsAny(v.Str, ".:") {
				return &Error{Pos: v.P, Msg: msg}
			}
			if ok && (lv.Kind == VIP || lv.Kind == VCIDR || lv.Kind == VIPRange) {
				lv.P = v.P
				*v = lv
			}
		}
		switch v.Kind {
		case VIP:
			return nil
		case VCIDR:
			if !cidrOK {
				return &Error{Pos: v.P, Msg: fmt.Sprintf("%s: a CIDR needs ==, != or in {...}", fi.Name)}
			}
			return nil
		case VIPRange:
			if !inSet {
				return &Error{Pos: v.P, Msg: fmt.Sprintf("%s: an IP range goes inside a set: %s in {%s}", fi.Name, fi.Name, valueText(*v))}
			}
			return nil
		}
		return &Error{Pos: v.P, Msg: fmt.Sprintf("%s is an IP address: %s is not an IP address or CIDR", fi.Name, shown())}
	case TInt:
		if v.Kind == VString && v.Quoted {
			lv, ok, msg := literal(strings.TrimSpace(v.Str))
			if msg != "" && !strings.ContainsAny(v.Str, ":/") {
				return &Error{Pos: v.P, Msg: msg}
			}
			if ok && (lv.Kind == VInt || lv.Kind == VRange) {
				lv.P = v.P
				*v = lv
			}
		}
		maxVal := int64(1<<63 - 1)
		if isPortField(fi.Name) {
			maxVal = 65535
		}
		switch v.Kind {
		case VInt:
			if v.Int > maxVal {
				return &Error{Pos: v.P, Msg: fmt.Sprintf("%s: %d is not a port (0..65535)", fi.Name, v.Int)}
			}
			return nil
		case VRange:
			if !inSet {
				return &Error{Pos: v.P, Msg: fmt.Sprintf("%s: a range %d..%d goes inside a set: %s in {%d..%d}", fi.Name, v.Lo, v.Hi, fi.Name, v.Lo, v.Hi)}
			}
			if v.Hi > maxVal {
				return &Error{Pos: v.P, Msg: fmt.Sprintf("%s: %d is not a port (0..65535)", fi.Name, v.Hi)}
			}
			if v.Lo > v.Hi {
				return &Error{Pos: v.P, Msg: fmt.Sprintf("%s: range %d..%d is empty: write %d..%d", fi.Name, v.Lo, v.Hi, v.Hi, v.Lo)}
			}
			return nil
		}
		return &Error{Pos: v.P, Msg: fmt.Sprintf("%s is a number: %s is not a number", fi.Name, shown())}
	}
	return &Error{Pos: v.P, Msg: fmt.Sprintf("%s cannot be compared with a value", fi.Name)}
}

// closestField returns the catalog field nearest to name (edit distance),
// or "" when nothing is reasonably close.
func closestField(name string) string {
	best, bestD := "", 1<<30
	for _, f := range FieldNames() {
		d := engine.EditDistance(name, f)
		// Prefer a field that only differs by a [*]/.x placement or case.
		if strings.EqualFold(name, f) {
			d = 0
		}
		if d < bestD {
			best, bestD = f, d
		}
	}
	if bestD > len(name)/2+2 {
		return ""
	}
	return best
}
