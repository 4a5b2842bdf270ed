package expr

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxDepth bounds how deeply and/or/not nest in the parsed expression, so
// hostile input cannot exhaust the stack of anything that walks the tree.
// maxSyntaxDepth bounds the parser's own recursion (parentheses and
// not/! prefixes). It is well above 2*maxDepth because the canonical printer
// may spell one level of the tree as two (`!x` as `not(x)`, `a or b and c`
// as `a or (b and c)`): whatever parses must parse again once printed.
const (
	maxDepth       = 200
	maxSyntaxDepth = 4*maxDepth + 8
)

// Parse parses a traffic, identity or device posture expression.
//
// Grammar (precedence not > and > or, as in Cloudflare's Rules language;
// Gateway does not document xor, so xor/^^ is rejected with a hint):
//
//	expr      = and { ("or" | "||") and }
//	and       = unary { ("and" | "&&") unary }
//	unary     = ("not" | "!") unary | primary
//	primary   = "(" expr ")" | "any" "(" anybody ")" | predicate
//	anybody   = ("not" | "!") anybody | "(" anybody ")" | predicate
//	predicate = field [ cmpop value | "in" ( set | $list ) | ("matches" | "~") string ]
//	field     = name [ "[" string "]" ] [ "[*]" ] [ "." name ]
//	set       = "{" value { value } "}"      (space separated, like Cloudflare)
//
// A value is a quoted string, a number, an IP address, a CIDR or a port range
// a..b. English operator spellings (eq ne lt le gt ge) are accepted too.
//
// An empty or whitespace-only source returns (nil, nil): "no constraint".
// A source over MaxExpressionLength characters is an error (Gateway's
// limit).
// Errors are *Error with the position of the offending token.
func Parse(src string) (Node, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	if long, n := TooLong(src); long {
		return nil, tooLongError(n)
	}
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, p.errAt(t, `unbalanced ")": no matching "("`)
		}
		return nil, p.errAt(t, `expected "and", "or" or end of expression`)
	}
	if deep := tooDeep(n, 1); deep != nil {
		return nil, &Error{Pos: deep.Position(), Msg: "expression nested too deeply"}
	}
	return n, nil
}

// tooDeep returns the first node below n nested deeper than maxDepth
// and/or/not levels (n itself at depth d), or nil.
func tooDeep(n Node, d int) Node {
	if d > maxDepth {
		return n
	}
	switch x := n.(type) {
	case *And:
		for _, c := range x.X {
			if deep := tooDeep(c, d+1); deep != nil {
				return deep
			}
		}
	case *Or:
		for _, c := range x.X {
			if deep := tooDeep(c, d+1); deep != nil {
				return deep
			}
		}
	case *Not:
		return tooDeep(x.X, d+1)
	}
	return nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, msg string) *Error {
	return &Error{Pos: t.pos, Msg: msg, Found: t.display()}
}

// isWord: keywords are lower case, as in wirefilter ("AND" is not "and").
func isWord(t token, w string) bool { return t.kind == tWord && t.text == w }

func (p *parser) isOr(t token) bool  { return t.kind == tOr || isWord(t, "or") }
func (p *parser) isAnd(t token) bool { return t.kind == tAnd || isWord(t, "and") }
func (p *parser) isXor(t token) bool { return t.kind == tXor || isWord(t, "xor") }

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxSyntaxDepth {
		return &Error{Pos: t.pos, Msg: "expression nested too deeply"}
	}
	return nil
}

func (p *parser) expr() (Node, error) {
	if err := p.enter(p.peek()); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	xs := []Node{first}
	for {
		t := p.peek()
		if p.isXor(t) {
			return nil, &Error{Pos: t.pos, Msg: `Gateway expressions have no "xor": write (a and not(b)) or (not(a) and b)`, Found: t.display()}
		}
		if !p.isOr(t) {
			break
		}
		p.next()
		n, err := p.and()
		if err != nil {
			return nil, err
		}
		xs = append(xs, n)
	}
	if len(xs) == 1 {
		return first, nil
	}
	return &Or{P: first.Position(), X: flatten(xs, true)}, nil
}

func (p *parser) and() (Node, error) {
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	xs := []Node{first}
	for p.isAnd(p.peek()) {
		p.next()
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		xs = append(xs, n)
	}
	if len(xs) == 1 {
		return first, nil
	}
	return &And{P: first.Position(), X: flatten(xs, false)}, nil
}

// flatten merges nested operands of the same kind: (a and b) and c -> a and b and c.
func flatten(xs []Node, or bool) []Node {
	out := make([]Node, 0, len(xs))
	for _, x := range xs {
		if or {
			if o, ok := x.(*Or); ok {
				out = append(out, o.X...)
				continue
			}
		} else if a, ok := x.(*And); ok {
			out = append(out, a.X...)
			continue
		}
		out = append(out, x)
	}
	return out
}

func (p *parser) unary() (Node, error) {
	t := p.peek()
	if t.kind == tNot || isWord(t, "not") {
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Not{P: t.pos, X: x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (Node, error) {
	t := p.peek()
	switch {
	case t.kind == tLParen:
		p.next()
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			return nil, p.errAt(c, `expected ")"`)
		}
		p.next()
		return n, nil
	case isWord(t, "any") && p.toks[p.i+1].kind == tLParen:
		p.next()
		p.next()
		body, err := p.anyBody()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			return nil, p.errAt(c, `expected ")" to close any(`)
		}
		p.next()
		return &Any{P: t.pos, Body: body}, nil
	case t.kind == tWord && !isKeyword(t.text) && looksLikeField(t.text):
		return p.predicate(false)
	case t.kind == tEOF:
		return nil, p.errAt(t, "expected a condition")
	default:
		return nil, p.errAt(t, `expected a field name, "not" or "("`)
	}
}

// anyBody parses what any(...) holds: one comparison on an array element,
// possibly negated, as in any(not(identity.groups[*].name in {"Contractors"}))
// ("some group is not Contractors"): not/! and parentheses may wrap it.
func (p *parser) anyBody() (Node, error) {
	t := p.peek()
	switch {
	case t.kind == tNot || isWord(t, "not"):
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		p.next()
		x, err := p.anyBody()
		if err != nil {
			return nil, err
		}
		return &Not{P: t.pos, X: x}, nil
	case t.kind == tLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		p.next()
		x, err := p.anyBody()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			if p.isAnd(c) || p.isOr(c) {
				return nil, p.errAt(c, `any(...) takes one comparison: write any(a) and any(b), not any(a and b)`)
			}
			return nil, p.errAt(c, `expected ")"`)
		}
		p.next()
		return x, nil
	}
	body, err := p.predicate(true)
	if err != nil {
		return nil, err
	}
	if _, bare := body.(*Bare); bare {
		return nil, p.errAt(p.peek(), `expected an operator inside any(...) (==, !=, <, <=, >, >=, in, matches)`)
	}
	if c := p.peek(); p.isAnd(c) || p.isOr(c) {
		return nil, p.errAt(c, `any(...) takes one comparison: write any(a) and any(b), not any(a and b)`)
	}
	return body, nil
}

func isKeyword(w string) bool {
	switch w {
	case "and", "or", "not", "xor", "in", "matches", "any",
		"eq", "ne", "lt", "le", "gt", "ge":
		return true
	}
	return false
}

// looksLikeField: a name made of letters, digits, '_' and '.', starting with a letter.
func looksLikeField(w string) bool {
	if w == "" {
		return false
	}
	c := w[0]
	if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c != '_' && c != '.' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return !strings.Contains(w, "..") && !strings.HasSuffix(w, ".")
}

func (p *parser) field() (FieldRef, error) {
	t := p.next()
	f := FieldRef{P: t.pos, Name: t.text}
	for p.peek().kind == tLBrack {
		lb := p.next()
		in := p.next()
		switch {
		case in.kind == tStar && !f.Wildcard:
			f.Wildcard = true
		case in.kind == tString && !f.HasKey && !f.Wildcard:
			f.Key = in.text
			f.HasKey = true
		default:
			return f, p.errAt(in, `expected "*" or a quoted key inside "[ ]"`)
		}
		if c := p.next(); c.kind != tRBrack {
			return f, p.errAt(c, `expected "]" to close the "[" at `+strconv.Itoa(lb.pos.Line)+":"+strconv.Itoa(lb.pos.Col))
		}
	}
	if t := p.peek(); t.kind == tWord && strings.HasPrefix(t.text, ".") {
		// identity.groups[*].name
		p.next()
		if !looksLikeField(t.text[1:]) {
			return f, p.errAt(t, "expected a field name")
		}
		f.Name += t.text
	}
	return f, nil
}

func (p *parser) cmpOp(t token) (Op, bool) {
	switch t.kind {
	case tEq:
		return OpEq, true
	case tNe:
		return OpNe, true
	case tLt:
		return OpLt, true
	case tLe:
		return OpLe, true
	case tGt:
		return OpGt, true
	case tGe:
		return OpGe, true
	case tWord:
		switch t.text {
		case "eq":
			return OpEq, true
		case "ne":
			return OpNe, true
		case "lt":
			return OpLt, true
		case "le":
			return OpLe, true
		case "gt":
			return OpGt, true
		case "ge":
			return OpGe, true
		}
	}
	return "", false
}

const opExpected = `expected an operator (==, !=, <, <=, >, >=, in, matches)`

func (p *parser) predicate(inAny bool) (Node, error) {
	t := p.peek()
	if t.kind != tWord || isKeyword(t.text) || !looksLikeField(t.text) {
		return nil, p.errAt(t, "expected a field name")
	}
	f, err := p.field()
	if err != nil {
		return nil, err
	}
	o := p.peek()
	if op, ok := p.cmpOp(o); ok {
		p.next()
		v, err := p.value(`expected a value`)
		if err != nil {
			return nil, err
		}
		return &Compare{P: f.P, Field: f, Op: op, Value: v}, nil
	}
	switch {
	case isWord(o, "in"):
		p.next()
		s := p.peek()
		switch s.kind {
		case tList:
			p.next()
			return &InList{P: f.P, Field: f, ListID: s.text}, nil
		case tLBrace:
			p.next()
			set, err := p.set(s)
			if err != nil {
				return nil, err
			}
			return &In{P: f.P, Field: f, Set: set}, nil
		default:
			return nil, p.errAt(s, `expected "{" or a list reference ($<list-uuid>) after "in"`)
		}
	case isWord(o, "matches") || o.kind == tTilde:
		p.next()
		s := p.next()
		if s.kind != tString {
			return nil, p.errAt(s, `expected a quoted regular expression after "matches"`)
		}
		return &Matches{P: f.P, Field: f, Regex: s.text}, nil
	}
	if !inAny && (o.kind == tEOF || o.kind == tRParen || p.isAnd(o) || p.isOr(o)) {
		return &Bare{P: f.P, Field: f}, nil
	}
	return nil, p.errAt(o, opExpected)
}

func (p *parser) set(open token) ([]Value, error) {
	var out []Value
	for {
		t := p.peek()
		switch t.kind {
		case tRBrace:
			if len(out) == 0 {
				return nil, p.errAt(t, "expected a value: a set needs at least one element")
			}
			p.next()
			return out, nil
		case tComma:
			return nil, &Error{Pos: t.pos, Msg: `set elements are separated by spaces, not commas: remove ","`}
		case tEOF:
			return nil, p.errAt(t, `expected "}" to close the set opened at `+strconv.Itoa(open.pos.Line)+":"+strconv.Itoa(open.pos.Col))
		}
		v, err := p.value(`expected "}" or a value`)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// value parses one literal. expected is the message when the token is not a value.
func (p *parser) value(expected string) (Value, error) {
	t := p.peek()
	switch t.kind {
	case tString:
		p.next()
		return Value{P: t.pos, Kind: VString, Str: t.text, Quoted: true}, nil
	case tWord:
		if isKeyword(t.text) || strings.HasPrefix(t.text, ".") {
			return Value{}, p.errAt(t, expected)
		}
		p.next()
		v, ok, msg := literal(t.text)
		if msg != "" {
			return Value{}, &Error{Pos: t.pos, Msg: msg}
		}
		if ok {
			v.P = t.pos
			return v, nil
		}
		c := t.text[0]
		if (c >= '0' && c <= '9') || strings.Contains(t.text, ":") {
			return Value{}, &Error{Pos: t.pos, Msg: "invalid value: not a number, IP address, CIDR, IP range a..b or port range a..b", Found: t.display()}
		}
		// An unquoted word: kept so the type checker can say "quote it".
		return Value{P: t.pos, Kind: VString, Str: t.text}, nil
	default:
		return Value{}, p.errAt(t, expected)
	}
}

// literal classifies an unquoted token (or a quoted string the checker
// converts): number, port range, IP address, CIDR or IP range. ok=false
// with msg "" means "not a literal of these kinds"; a non-empty msg says
// why a token of one of these shapes is invalid, as wirefilter rejects it
// (github.com/cloudflare/wirefilter, engine/src/rhs_types/int.rs and
// ip.rs):
//   - an integer with a leading zero is octal in wirefilter ("0123" is 83),
//     which nobody writing a port means: an error that gives both readings;
//     0x... is hexadecimal, as in wirefilter;
//   - a CIDR with host bits set (cidr crate: InvalidHostPart) is rejected,
//     with the masked form to write instead;
//   - an IP range lo..hi needs two addresses of one family, lo <= hi
//     (IncompatibleRangeBounds).
func literal(s string) (Value, bool, string) {
	if s == "" {
		return Value{}, false, ""
	}
	if n, ok, msg := intLiteral(s); ok || msg != "" {
		return Value{Kind: VInt, Int: n, Str: s}, ok, msg
	}
	if i := strings.Index(s, ".."); i > 0 {
		lo, okLo, msgLo := intLiteral(s[:i])
		hi, okHi, msgHi := intLiteral(s[i+2:])
		if okLo && okHi {
			return Value{Kind: VRange, Lo: lo, Hi: hi, Str: s}, true, ""
		}
		if msgLo != "" || msgHi != "" {
			return Value{}, false, msgLo + msgHi
		}
		return ipRangeLiteral(s, s[:i], s[i+2:])
	}
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil || pfx.Addr().Zone() != "" || pfx.Bits() < unmapBits(pfx.Addr()) {
			return Value{}, false, ""
		}
		if m := pfx.Masked(); m != pfx {
			return Value{}, false, fmt.Sprintf("%s has host bits set, which Gateway (wirefilter) rejects: write %s", s, m)
		}
		pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-unmapBits(pfx.Addr()))
		return Value{Kind: VCIDR, Prefix: pfx.Masked(), Str: s}, true, ""
	}
	if strings.ContainsAny(s, ".:") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return Value{}, false, ""
		}
		return Value{Kind: VIP, IP: a.Unmap(), Str: s}, true, ""
	}
	return Value{}, false, ""
}

// intLiteral reads a decimal or 0x hexadecimal integer. A decimal with a
// leading zero is an error (msg): wirefilter reads it as octal.
func intLiteral(s string) (int64, bool, string) {
	if h, ok := strings.CutPrefix(s, "0x"); ok && h != "" && isHex(h) {
		n, err := strconv.ParseInt(h, 16, 64)
		if err != nil {
			return 0, false, fmt.Sprintf("%s is too large a number", s)
		}
		return n, true, ""
	}
	if !isDigits(s) {
		return 0, false, ""
	}
	if len(s) > 1 && s[0] == '0' {
		dec := strings.TrimLeft(s, "0")
		if dec == "" {
			dec = "0"
		}
		if oct, err := strconv.ParseInt(s, 8, 64); err == nil {
			return 0, false, fmt.Sprintf("%s has a leading zero, so Gateway (wirefilter) reads it as octal (%d): write %s, or %d if octal was meant", s, oct, dec, oct)
		}
		return 0, false, fmt.Sprintf("%s has a leading zero, so Gateway (wirefilter) reads it as octal, and it is not an octal number: write %s", s, dec)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Sprintf("%s is too large a number", s)
	}
	return n, true, ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// ipRangeLiteral reads lo..hi as an IP range (both addresses of one family,
// lo <= hi). IPv4-mapped IPv6 addresses count as IPv4, as everywhere in
// this package.
func ipRangeLiteral(s, los, his string) (Value, bool, string) {
	lo, err1 := netip.ParseAddr(los)
	hi, err2 := netip.ParseAddr(his)
	if err1 != nil || err2 != nil || lo.Zone() != "" || hi.Zone() != "" {
		if (err1 == nil) != (err2 == nil) {
			return Value{}, false, fmt.Sprintf("%s is not an IP range: both ends must be IP addresses (10.0.0.0..10.0.255.255)", s)
		}
		return Value{}, false, ""
	}
	lo, hi = lo.Unmap(), hi.Unmap()
	if lo.BitLen() != hi.BitLen() {
		return Value{}, false, fmt.Sprintf("IP range %s mixes IPv4 and IPv6 (wirefilter rejects it): write one range per address family", s)
	}
	if hi.Less(lo) {
		return Value{}, false, fmt.Sprintf("IP range %s runs backwards (wirefilter rejects it): write %s..%s", s, hi, lo)
	}
	return Value{Kind: VIPRange, IP: lo, IPHi: hi, Str: s}, true, ""
}

// unmapBits is 96 for an IPv4-mapped IPv6 address (::ffff:a.b.c.d/bits).
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
