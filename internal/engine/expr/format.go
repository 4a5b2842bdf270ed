package expr

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format prints n in canonical form:
//   - single spaces around operators, English logical operators (and, or),
//     symbolic comparisons (==, !=, <, <=, >, >=), not(...) always with
//     parentheses;
//   - nested and/or flattened; parentheses only where needed, except that an
//     "and" group inside an "or" is always parenthesised for readability
//     (so `a or b and c` and `a or (b and c)` print the same);
//   - set elements sorted and deduplicated; IPs lower-case and compressed,
//     CIDRs masked, a full-length CIDR (/32, /128) printed as its address;
//   - strings re-quoted with wirefilter's escapes: \" \\, and \xHH for
//     control characters and bytes that are not UTF-8;
//   - an IP range lo..hi in a set printed with canonical addresses; a list
//     reference as its UUID in lower case with dashes.
//
// Values the type checker converted (net.dst.port == "2222") print in their
// converted form (net.dst.port == 2222), so Format of a checked tree is the
// canonical text. Format(nil) is "" (no constraint). The property
// Format(Parse(Format(x))) == Format(x) holds for every parsed x.
func Format(n Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	format(&b, n)
	return b.String()
}

// Canonical parses and type-checks src and returns its canonical form.
func Canonical(src string) (string, error) {
	n, err := ParseAndCheck(src)
	if err != nil {
		return "", err
	}
	return Format(n), nil
}

// Equivalent reports whether two expressions mean the same by their canonical
// form: true when the whitespace-trimmed texts are equal, or when both parse
// and print the same canonical text. An expression that parses but does not
// type-check (a field this provider does not know yet) is compared by its
// canonical print without type conversion; one that does not parse is only
// equal to the identical raw text.
func Equivalent(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return true
	}
	ca, ok := looseCanonical(a)
	if !ok {
		return false
	}
	cb, ok := looseCanonical(b)
	return ok && ca == cb
}

func looseCanonical(src string) (string, bool) {
	n, err := Parse(src)
	if err != nil {
		return "", false
	}
	if Check(n) != nil {
		n, _ = Parse(src) // Check may have converted part of the tree
	}
	return Format(n), true
}

// junction returns the operands of an and/or node and whether it is an or.
func junction(n Node) (xs []Node, isOr, ok bool) {
	switch n := n.(type) {
	case *Or:
		return n.X, true, true
	case *And:
		return n.X, false, true
	}
	return nil, false, false
}

// formatJunction prints an or (or an and) chain: nested chains of the same
// operator are flattened, the other operator is parenthesised
// (`a or (b and c)`).
func formatJunction(b *strings.Builder, n Node, or bool) {
	sep := " and "
	if or {
		sep = " or "
	}
	first := true
	var each func(x Node)
	each = func(x Node) {
		xs, isOr, ok := junction(x)
		if ok && isOr == or {
			for _, y := range xs {
				each(y)
			}
			return
		}
		if !first {
			b.WriteString(sep)
		}
		first = false
		if ok {
			b.WriteByte('(')
			format(b, x)
			b.WriteByte(')')
			return
		}
		format(b, x)
	}
	each(n)
}

func format(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *Or:
		formatJunction(b, n, true)
	case *And:
		formatJunction(b, n, false)
	case *Not:
		b.WriteString("not(")
		format(b, n.X)
		b.WriteByte(')')
	case *Compare:
		formatField(b, n.Field)
		b.WriteByte(' ')
		b.WriteString(string(n.Op))
		b.WriteByte(' ')
		b.WriteString(valueText(n.Value))
	case *In:
		formatField(b, n.Field)
		b.WriteString(" in {")
		for i, s := range canonicalSet(n.Set) {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s)
		}
		b.WriteByte('}')
	case *InList:
		formatField(b, n.Field)
		b.WriteString(" in $")
		b.WriteString(CanonicalListID(n.ListID))
	case *Matches:
		formatField(b, n.Field)
		b.WriteString(" matches ")
		b.WriteString(quote(n.Regex))
	case *Any:
		b.WriteString("any(")
		format(b, n.Body)
		b.WriteByte(')')
	case *Bare:
		formatField(b, n.Field)
	}
}

// FieldText prints a field reference the way Cloudflare writes it:
// identity.groups[*].name, identity.saml_attributes["k"], app.ids[*].
func FieldText(f FieldRef) string {
	var b strings.Builder
	formatField(&b, f)
	return b.String()
}

func formatField(b *strings.Builder, f FieldRef) {
	name := f.Name
	if f.Wildcard && !f.HasKey {
		if rest, ok := strings.CutPrefix(name, "identity.groups."); ok {
			b.WriteString("identity.groups[*].")
			b.WriteString(rest)
			return
		}
	}
	b.WriteString(name)
	if f.HasKey {
		b.WriteByte('[')
		b.WriteString(quote(f.Key))
		b.WriteByte(']')
		if f.Wildcard && name != "identity.saml_attributes" {
			b.WriteString("[*]")
		}
		return
	}
	if f.Wildcard {
		b.WriteString("[*]")
	}
}

// valueText prints one literal canonically.
func valueText(v Value) string {
	switch v.Kind {
	case VString:
		if v.Quoted {
			return quote(v.Str)
		}
		return v.Str
	case VInt:
		return strconv.FormatInt(v.Int, 10)
	case VIP:
		return v.IP.String()
	case VCIDR:
		p := v.Prefix.Masked()
		if p.Bits() == p.Addr().BitLen() {
			return p.Addr().String()
		}
		return p.String()
	case VRange:
		return strconv.FormatInt(v.Lo, 10) + ".." + strconv.FormatInt(v.Hi, 10)
	case VIPRange:
		return v.IP.String() + ".." + v.IPHi.String()
	}
	return v.Str
}

// canonicalSet returns the printed elements sorted and deduplicated.
func canonicalSet(vs []Value) []string {
	type item struct {
		group int
		v     Value
		text  string
	}
	items := make([]item, len(vs))
	for i, v := range vs {
		g := 0
		switch v.Kind {
		case VInt, VRange:
			g = 1
		case VIP, VCIDR, VIPRange:
			g = 2
		case VString:
			g = 3
			if !v.Quoted {
				g = 4
			}
		}
		items[i] = item{group: g, v: v, text: valueText(v)}
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.group, b.group); c != 0 {
			return c
		}
		switch a.group {
		case 1:
			alo, ahi := intBounds(a.v)
			blo, bhi := intBounds(b.v)
			if c := cmp.Compare(alo, blo); c != 0 {
				return c
			}
			if c := cmp.Compare(ahi, bhi); c != 0 {
				return c
			}
		case 2:
			ar, br := ipBounds(a.v), ipBounds(b.v)
			if c := ar.from.Compare(br.from); c != 0 {
				return c
			}
			if c := ar.to.Compare(br.to); c != 0 {
				return -c // the wider first, as a shorter prefix was
			}
		}
		return strings.Compare(a.text, b.text)
	})
	out := make([]string, 0, len(items))
	for i, it := range items {
		if i > 0 && it.text == items[i-1].text {
			continue
		}
		out = append(out, it.text)
	}
	return out
}

func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case (r == utf8.RuneError && size == 1) || r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			const hex = "0123456789abcdef"
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&15])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}
