package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a parse or type error with the position of the offending token.
//
// Msg says what was expected or what is wrong ("expected \"}\" or a value").
// Found is the offending token ready for display: a quoted token (`"and"`),
// "end of expression", or "" when the error is not about one token.
// Error() renders "L:C: msg[, found X]".
type Error struct {
	Pos   Pos
	Msg   string
	Found string
}

func (e *Error) Error() string {
	if e.Found != "" {
		return fmt.Sprintf("%d:%d: %s, found %s", e.Pos.Line, e.Pos.Col, e.Msg, e.Found)
	}
	return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
}

type tokKind uint8

const (
	tEOF    tokKind = iota
	tWord           // identifiers, keywords, numbers, IPs, CIDRs, ranges
	tString         // "quoted" or r"raw" string; text is the unescaped value
	tList           // $<uuid>; text is the id without '$'
	tLParen
	tRParen
	tLBrace
	tRBrace
	tLBrack
	tRBrack
	tStar
	tComma
	tEq    // ==
	tNe    // !=
	tLt    // <
	tLe    // <=
	tGt    // >
	tGe    // >=
	tAnd   // &&
	tOr    // ||
	tNot   // !
	tXor   // ^^
	tTilde // ~ (matches)
)

type token struct {
	kind tokKind
	text string // unescaped value for strings, raw text otherwise
	raw  string // source text of the token
	pos  Pos
}

// display renders the token for "found ..." in error messages.
func (t token) display() string {
	if t.kind == tEOF {
		return "end of expression"
	}
	s := t.raw
	if utf8.RuneCountInString(s) > 32 {
		r := []rune(s)
		s = string(r[:29]) + "..."
	}
	return strconv.Quote(s)
}

type lexer struct {
	src  string
	off  int
	line int
	col  int
}

func isWordStart(r rune) bool {
	return r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

func isWordChar(r rune) bool {
	return isWordStart(r) || r == '.' || r == '/' || r == '-'
}

func (lx *lexer) peekRune(at int) rune {
	if at >= len(lx.src) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(lx.src[at:])
	return r
}

// advance moves past n bytes, tracking line and column (columns count runes).
func (lx *lexer) advance(n int) {
	end := lx.off + n
	for lx.off < end {
		r, size := utf8.DecodeRuneInString(lx.src[lx.off:])
		lx.off += size
		if r == '\n' {
			lx.line++
			lx.col = 1
		} else {
			lx.col++
		}
	}
}

func (lx *lexer) pos() Pos { return Pos{Line: lx.line, Col: lx.col} }

func (lx *lexer) skipSpace() {
	for lx.off < len(lx.src) {
		switch lx.src[lx.off] {
		case ' ', '\t', '\n', '\r':
			lx.advance(1)
		default:
			return
		}
	}
}

// tokenize splits src into tokens, ending with tEOF.
func tokenize(src string) ([]token, error) {
	lx := &lexer{src: src, line: 1, col: 1}
	// About one token per five bytes of source (an operator, a field, a
	// CIDR): one allocation for most expressions.
	toks := make([]token, 0, len(src)/5+2)
	for {
		lx.skipSpace()
		p := lx.pos()
		if lx.off >= len(src) {
			toks = append(toks, token{kind: tEOF, pos: p})
			return toks, nil
		}
		start := lx.off
		c := src[lx.off]
		two := ""
		if lx.off+1 < len(src) {
			two = src[lx.off : lx.off+2]
		}
		simple := func(k tokKind, n int) {
			lx.advance(n)
			toks = append(toks, token{kind: k, text: src[start:lx.off], raw: src[start:lx.off], pos: p})
		}
		switch {
		case two == "==":
			simple(tEq, 2)
		case two == "!=":
			simple(tNe, 2)
		case two == "<=":
			simple(tLe, 2)
		case two == ">=":
			simple(tGe, 2)
		case two == "&&":
			simple(tAnd, 2)
		case two == "||":
			simple(tOr, 2)
		case two == "^^":
			simple(tXor, 2)
		case c == '<':
			simple(tLt, 1)
		case c == '>':
			simple(tGt, 1)
		case c == '!':
			simple(tNot, 1)
		case c == '~':
			simple(tTilde, 1)
		case c == '(':
			simple(tLParen, 1)
		case c == ')':
			simple(tRParen, 1)
		case c == '{':
			simple(tLBrace, 1)
		case c == '}':
			simple(tRBrace, 1)
		case c == '[':
			simple(tLBrack, 1)
		case c == ']':
			simple(tRBrack, 1)
		case c == '*':
			simple(tStar, 1)
		case c == ',':
			simple(tComma, 1)
		case c == '=':
			lx.advance(1)
			return nil, &Error{Pos: p, Msg: `unexpected "=": use "==" to compare`}
		case c == '"':
			s, err := lx.quoted()
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, text: s, raw: src[start:lx.off], pos: p})
		case c == 'r' && (two == `r"` || two == "r#"):
			s, err := lx.raw()
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, text: s, raw: src[start:lx.off], pos: p})
		case c == '$':
			lx.advance(1)
			for lx.off < len(src) {
				r := lx.peekRune(lx.off)
				if r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
					lx.advance(1)
					continue
				}
				break
			}
			if lx.off == start+1 {
				return nil, &Error{Pos: p, Msg: `expected a list UUID after "$" (a Gateway list is referenced by its ID: $` + exampleListID + `)`}
			}
			name := src[start+1 : lx.off]
			if !isListID(name) {
				return nil, &Error{Pos: p, Msg: fmt.Sprintf("a Gateway list is referenced by its UUID, with or without dashes ($%s), not by name: %q is not a UUID; find the list's id in the dashboard (Reusable components > Lists) or with GET /accounts/{account_id}/gateway/lists", exampleListID, "$"+name)}
			}
			toks = append(toks, token{kind: tList, text: name, raw: src[start:lx.off], pos: p})
		case c == '.' && isWordStart(lx.peekRune(lx.off+1)):
			// ".name" after "identity.groups[*]"
			lx.advance(1)
			lx.word()
			toks = append(toks, token{kind: tWord, text: src[start:lx.off], raw: src[start:lx.off], pos: p})
		default:
			r := lx.peekRune(lx.off)
			if !isWordStart(r) {
				_, size := utf8.DecodeRuneInString(src[lx.off:])
				return nil, &Error{Pos: p, Msg: "unexpected character", Found: strconv.Quote(src[lx.off : lx.off+size])}
			}
			lx.word()
			toks = append(toks, token{kind: tWord, text: src[start:lx.off], raw: src[start:lx.off], pos: p})
		}
	}
}

func (lx *lexer) word() {
	for lx.off < len(lx.src) {
		r := lx.peekRune(lx.off)
		if r >= 0 && isWordChar(r) {
			lx.advance(1)
			continue
		}
		return
	}
}

// quoted reads a "..." string. Its escapes are wirefilter's, no more:
// \" \\ \xHH (two hex digits) and \ooo (three octal digits, at most
// \377), as in wirefilter's lex_quoted_string_as_vec
// (github.com/cloudflare/wirefilter engine/src/rhs_types/bytes.rs, which
// rejects "\n" with InvalidCharacterEscape). Anything else after a
// backslash is an error that says how to write the byte instead.
func (lx *lexer) quoted() (string, error) {
	p := lx.pos()
	lx.advance(1)
	var b strings.Builder
	for {
		if lx.off >= len(lx.src) {
			return "", &Error{Pos: p, Msg: "unterminated string: add the closing \""}
		}
		c := lx.src[lx.off]
		switch c {
		case '"':
			lx.advance(1)
			return b.String(), nil
		case '\\':
			ep := lx.pos()
			if lx.off+1 >= len(lx.src) {
				return "", &Error{Pos: p, Msg: "unterminated string: add the closing \""}
			}
			e := lx.src[lx.off+1]
			switch {
			case e == '"' || e == '\\':
				b.WriteByte(e)
				lx.advance(2)
			case e == 'x':
				if lx.off+4 > len(lx.src) {
					return "", &Error{Pos: ep, Msg: `invalid escape: \x needs two hex digits (\x0a)`}
				}
				v, err := strconv.ParseUint(lx.src[lx.off+2:lx.off+4], 16, 8)
				if err != nil {
					return "", &Error{Pos: ep, Msg: `invalid escape: \x needs two hex digits (\x0a)`, Found: strconv.Quote(lx.src[lx.off : lx.off+4])}
				}
				b.WriteByte(byte(v))
				lx.advance(4)
			case e >= '0' && e <= '7':
				if lx.off+4 > len(lx.src) {
					return "", &Error{Pos: ep, Msg: `invalid escape: an octal escape has three digits, at most \377 (\012)`}
				}
				v, err := strconv.ParseUint(lx.src[lx.off+1:lx.off+4], 8, 8)
				if err != nil {
					return "", &Error{Pos: ep, Msg: `invalid escape: an octal escape has three digits, at most \377 (\012)`, Found: strconv.Quote(lx.src[lx.off : lx.off+4])}
				}
				b.WriteByte(byte(v))
				lx.advance(4)
			default:
				_, size := utf8.DecodeRuneInString(lx.src[lx.off+1:])
				esc := lx.src[lx.off : lx.off+1+size]
				msg := `invalid escape in string: Gateway (wirefilter) takes only \" \\ \xHH and \ooo`
				if code, ok := cEscapes[e]; ok {
					msg += fmt.Sprintf("; write %s as \\x%02x", esc, code)
				}
				return "", &Error{Pos: ep, Msg: msg, Found: strconv.Quote(esc)}
			}
		default:
			_, size := utf8.DecodeRuneInString(lx.src[lx.off:])
			b.WriteString(lx.src[lx.off : lx.off+size])
			lx.advance(size)
		}
	}
}

// cEscapes are the C-style escapes people write that wirefilter rejects,
// with the byte each means.
var cEscapes = map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', 'a': 7, 'b': 8, 'f': 12, 'v': 11, 'e': 27}

// exampleListID is the list UUID of Cloudflare's own API example
// (cloudflare-go's gateway rule tests: http.request.host in $01302951-...).
const exampleListID = "01302951-49f9-47c9-a400-0297e60b6a10"

// isListID reports whether s is a UUID, with dashes (8-4-4-4-12) or
// without (32 hex digits). Gateway lists are referenced by ID
// (developers.cloudflare.com/cloudflare-one/reusable-components/lists/;
// the API writes `in $<id>`). wirefilter's own list names
// (engine/src/rhs_types/list.rs) are [a-z0-9_.]+, which a dashed UUID is
// not: Gateway's list references are its own.
func isListID(s string) bool {
	switch len(s) {
	case 32:
		return isHex(s)
	case 36:
		for _, i := range []int{8, 13, 18, 23} {
			if s[i] != '-' {
				return false
			}
		}
		return isHex(s[0:8]) && isHex(s[9:13]) && isHex(s[14:18]) && isHex(s[19:23]) && isHex(s[24:])
	}
	return false
}

// CanonicalListID returns a list UUID in its canonical spelling: lower
// case, with dashes (8-4-4-4-12). Other strings are returned unchanged.
func CanonicalListID(s string) string {
	if !isListID(s) {
		return s
	}
	s = strings.ToLower(strings.ReplaceAll(s, "-", ""))
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// raw reads r"..." or r#"..."# (any number of #).
func (lx *lexer) raw() (string, error) {
	p := lx.pos()
	lx.advance(1) // r
	hashes := 0
	for lx.off < len(lx.src) && lx.src[lx.off] == '#' {
		hashes++
		lx.advance(1)
	}
	if lx.off >= len(lx.src) || lx.src[lx.off] != '"' {
		return "", &Error{Pos: p, Msg: `invalid raw string: expected r"..." or r#"..."#`}
	}
	lx.advance(1)
	closing := `"` + strings.Repeat("#", hashes)
	i := strings.Index(lx.src[lx.off:], closing)
	if i < 0 {
		return "", &Error{Pos: p, Msg: "unterminated raw string: add the closing " + strconv.Quote(closing)}
	}
	s := lx.src[lx.off : lx.off+i]
	lx.advance(i + len(closing))
	return s, nil
}
