package emulator

import "strings"

// Reformat is how the emulator rewrites an expression before storing it,
// standing in for Cloudflare's own re-formatting of stored rules. It is
// deliberately NOT the project's canonical printer, so clients must compare
// expressions by meaning:
//
//   - `&&` becomes `and`, `||` becomes `or`;
//   - every run of whitespace (spaces, tabs, newlines) becomes one space;
//   - leading and trailing whitespace is removed.
//
// Text inside double-quoted string literals (with backslash escapes) is never
// changed.
func Reformat(s string) string {
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
