package emulator

import (
	"strconv"
	"strings"
)

// Reformat is how the emulator rewrites an expression before storing it,
// standing in for Cloudflare's own: "The API automatically formats and
// sanitizes expressions before storing them. To prevent Terraform state
// drift, use the formatted expression returned in the API response"
// (Cloudflare's OpenAPI for traffic, identity and device_posture, as
// cloudflare-go v7's zero_trust.GatewayRule documents them). Cloudflare does
// not publish its rules, so the emulator has its own, deliberately NOT the
// project's canonical printer, so that clients must compare expressions by
// meaning and not by text:
//
//   - spaces: tokens are separated by exactly one space, except inside
//     brackets and calls (`any(dns.domains[*] == "x")`, `{443 80}`);
//   - words for operators: `&&` is `and`, `||` is `or`, `^^` is `xor`, `!`
//     is `not`;
//   - parentheses: an and/or/xor group inside another kind of group is
//     wrapped in parentheses (`a and b or c` is `(a and b) or c`),
//     redundant ones around a comparison or around a group of the same
//     kind are dropped, `not x` and `!x` are written `not(x)`, as
//     Cloudflare's docs write it;
//   - escapes: in "..." strings a `\xHH` escape of a printable character is
//     written as the character (`\x22` as `\"`, `\x5c` as `\\`); raw strings
//     are kept as they are.
//
// An expression it cannot read (unbalanced brackets, an unterminated
// string, ...) only has its whitespace and `&&`/`||` rewritten; the
// emulator's validation rejects it anyway.
func Reformat(s string) string {
	toks, ok := rfTokenize(s)
	if !ok {
		return reformatSpaces(s)
	}
	p := &rfParser{toks: toks}
	n, ok := p.expr()
	if !ok || p.i != len(p.toks) {
		return reformatSpaces(s)
	}
	var b strings.Builder
	n.print(&b, "")
	return b.String()
}

// rfTok is one token: kind 's' string, 'r' raw string, 'p' punctuation or
// operator, 'w' word (field, number, IP, function name, keyword).
type rfTok struct {
	kind byte
	text string
}

func (t rfTok) is(s string) bool { return t.kind != 's' && t.kind != 'r' && t.text == s }

// rfTokenize splits s into tokens; ok is false for what it cannot read.
func rfTokenize(s string) ([]rfTok, bool) {
	var toks []rfTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '"':
			j, ok := endQuoted(s, i)
			if !ok {
				return nil, false
			}
			toks = append(toks, rfTok{'s', normEscapes(s[i:j])})
			i = j
		case c == 'r' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '#'):
			j, ok := endRaw(s, i)
			if !ok {
				return nil, false
			}
			toks = append(toks, rfTok{'r', s[i:j]})
			i = j
		case strings.HasPrefix(s[i:], "&&"):
			toks = append(toks, rfTok{'w', "and"})
			i += 2
		case strings.HasPrefix(s[i:], "||"):
			toks = append(toks, rfTok{'w', "or"})
			i += 2
		case strings.HasPrefix(s[i:], "^^"):
			toks = append(toks, rfTok{'w', "xor"})
			i += 2
		case strings.HasPrefix(s[i:], "=="), strings.HasPrefix(s[i:], "!="),
			strings.HasPrefix(s[i:], "<="), strings.HasPrefix(s[i:], ">="):
			toks = append(toks, rfTok{'p', s[i : i+2]})
			i += 2
		case c == '!':
			toks = append(toks, rfTok{'w', "not"})
			i++
		case strings.IndexByte("()[]{}*,<>~=", c) >= 0:
			toks = append(toks, rfTok{'p', s[i : i+1]})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r\f\v\"()[]{}*,<>~=!&|^", rune(s[j])) {
				j++
			}
			if j == i {
				return nil, false // a lone '&', '|' or '^'
			}
			toks = append(toks, rfTok{'w', s[i:j]})
			i = j
		}
	}
	return toks, true
}

// endQuoted returns the end of the "..." string starting at i.
func endQuoted(s string, i int) (int, bool) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// endRaw returns the end of the r"..." or r#"..."# string starting at i.
func endRaw(s string, i int) (int, bool) {
	j := i + 1
	hashes := 0
	for j < len(s) && s[j] == '#' {
		hashes++
		j++
	}
	if j >= len(s) || s[j] != '"' {
		return 0, false
	}
	closing := `"` + strings.Repeat("#", hashes)
	k := strings.Index(s[j+1:], closing)
	if k < 0 {
		return 0, false
	}
	return j + 1 + k + len(closing), true
}

// normEscapes rewrites \xHH escapes of printable ASCII in a "..." literal.
func normEscapes(lit string) string {
	if !strings.Contains(lit, `\x`) {
		return lit
	}
	var b strings.Builder
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' || i+1 >= len(lit) {
			b.WriteByte(lit[i])
			continue
		}
		if lit[i+1] == 'x' && i+3 < len(lit) {
			if v, err := strconv.ParseUint(lit[i+2:i+4], 16, 8); err == nil {
				switch {
				case v == '"':
					b.WriteString(`\"`)
				case v == '\\':
					b.WriteString(`\\`)
				case v >= 0x20 && v < 0x7f:
					b.WriteByte(byte(v))
				default:
					b.WriteString(lit[i : i+4])
				}
				i += 3
				continue
			}
		}
		b.WriteString(lit[i : i+2])
		i++
	}
	return b.String()
}

// rfNode is a boolean structure: op "and", "or", "xor" with kids, "not"
// with one kid, or a leaf (a comparison or a call: its tokens).
type rfNode struct {
	op   string
	kids []*rfNode
	leaf []rfTok
}

type rfParser struct {
	toks []rfTok
	i    int
}

func (p *rfParser) peek(s string) bool { return p.i < len(p.toks) && p.toks[p.i].is(s) }

// expr := xorExpr ("or" xorExpr)*; xor binds tighter than or, and tighter
// than xor, not tighter than and (wirefilter's order).
func (p *rfParser) expr() (*rfNode, bool) { return p.chain("or", p.xorExpr) }

func (p *rfParser) xorExpr() (*rfNode, bool) { return p.chain("xor", p.andExpr) }

func (p *rfParser) andExpr() (*rfNode, bool) { return p.chain("and", p.unary) }

func (p *rfParser) chain(op string, next func() (*rfNode, bool)) (*rfNode, bool) {
	first, ok := next()
	if !ok {
		return nil, false
	}
	if !p.peek(op) {
		return first, true
	}
	n := &rfNode{op: op}
	n.add(first)
	for p.peek(op) {
		p.i++
		k, ok := next()
		if !ok {
			return nil, false
		}
		n.add(k)
	}
	return n, true
}

// add appends k, flattening a group of the same kind (associative).
func (n *rfNode) add(k *rfNode) {
	if k.op == n.op {
		n.kids = append(n.kids, k.kids...)
		return
	}
	n.kids = append(n.kids, k)
}

func (p *rfParser) unary() (*rfNode, bool) {
	switch {
	case p.peek("not"):
		p.i++
		k, ok := p.unary()
		if !ok {
			return nil, false
		}
		return &rfNode{op: "not", kids: []*rfNode{k}}, true
	case p.peek("("):
		p.i++
		k, ok := p.expr()
		if !ok || !p.peek(")") {
			return nil, false
		}
		p.i++
		return k, true
	}
	return p.leaf()
}

// leaf reads tokens up to the next and/or/xor or unbalanced ")" at depth 0.
func (p *rfParser) leaf() (*rfNode, bool) {
	start, depth := p.i, 0
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		if depth == 0 && (t.is("and") || t.is("or") || t.is("xor") || t.is(")")) {
			break
		}
		switch {
		case t.is("(") || t.is("[") || t.is("{"):
			depth++
		case t.is(")") || t.is("]") || t.is("}"):
			depth--
			if depth < 0 {
				return nil, false
			}
		}
		p.i++
	}
	if p.i == start || depth != 0 {
		return nil, false
	}
	return &rfNode{leaf: p.toks[start:p.i]}, true
}

// print writes n; parent is the op of the enclosing group ("" at the top).
func (n *rfNode) print(b *strings.Builder, parent string) {
	switch {
	case n.leaf != nil:
		printLeaf(b, n.leaf)
	case n.op == "not":
		// As Cloudflare's docs write it: not(net.dst.port in {22 8000..8999}).
		b.WriteString("not(")
		n.kids[0].print(b, "")
		b.WriteByte(')')
	default:
		wrap := parent != ""
		if wrap {
			b.WriteByte('(')
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(" " + n.op + " ")
			}
			k.print(b, n.op)
		}
		if wrap {
			b.WriteByte(')')
		}
	}
}

// printLeaf joins a comparison's tokens with single spaces, none after an
// opening bracket or before a closing one, a "[" or a ",", none between a
// function name and its "(" or before a ".name" after "]".
func printLeaf(b *strings.Builder, toks []rfTok) {
	for i, t := range toks {
		if i > 0 && spaceBetween(toks[i-1], t) {
			b.WriteByte(' ')
		}
		if t.is("not") {
			b.WriteString("not")
			continue
		}
		b.WriteString(t.text)
	}
}

func spaceBetween(prev, t rfTok) bool {
	switch {
	case prev.is("(") || prev.is("[") || prev.is("{"):
		return false
	case t.is(")") || t.is("]") || t.is("}") || t.is("[") || t.is(","):
		return false
	case t.is("(") && prev.kind == 'w':
		return false // a call: any(...), lower(...)
	case t.kind == 'w' && strings.HasPrefix(t.text, ".") && prev.is("]"):
		return false // identity.groups[*].name
	}
	return true
}

// reformatSpaces is the fallback: whitespace runs become one space, `&&`
// and `||` become `and` and `or`, outside "..." strings.
func reformatSpaces(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inStr := false
	pendingSpace := false
	emit := func(str string) {
		if pendingSpace && b.Len() > 0 {
			b.WriteByte(' ')
		}
		pendingSpace = false
		b.WriteString(str)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inStr {
			b.WriteByte(c)
			switch c {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				inStr = false
			}
			continue
		}
		switch {
		case c == '"':
			emit(`"`)
			inStr = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			pendingSpace = true
		case c == '&' && i+1 < len(s) && s[i+1] == '&':
			pendingSpace = true
			emit("and")
			pendingSpace = true
			i++
		case c == '|' && i+1 < len(s) && s[i+1] == '|':
			pendingSpace = true
			emit("or")
			pendingSpace = true
			i++
		default:
			emit(string(c))
		}
	}
	return b.String()
}
