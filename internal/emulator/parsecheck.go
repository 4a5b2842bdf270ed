package emulator

import (
	"fmt"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// parseCheck checks that one expression of an egress rule parses and uses
// only fields the egress builder accepts.
//
// TODO(emulator): switch to expr.ParseAndCheck once it is committed
// (`grep -n "func ParseAndCheck" internal/engine/expr/*.go`). Until then this
// is a local, conservative stand-in: balanced quotes, parentheses, brackets
// and braces, and every dotted identifier outside string literals must be a
// known field (expr.LookupField).
func parseCheck(src string) error {
	var stack []byte
	inStr := false
	line, col := 1, 0
	var strLine, strCol int
	for i := 0; i < len(src); i++ {
		c := src[i]
		col++
		if c == '\n' {
			line, col = line+1, 0
		}
		if inStr {
			switch c {
			case '\\':
				i++
				col++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr, strLine, strCol = true, line, col
		case '(', '{', '[':
			stack = append(stack, c)
		case ')', '}', ']':
			want := map[byte]byte{')': '(', '}': '{', ']': '['}[c]
			if len(stack) == 0 || stack[len(stack)-1] != want {
				return fmt.Errorf("%d:%d: unexpected %q", line, col, c)
			}
			stack = stack[:len(stack)-1]
		default:
			if isIdentStart(c) && (i == 0 || !isIdentChar(src[i-1])) {
				j := i
				for j < len(src) && (isIdentChar(src[j]) || src[j] == '.') {
					j++
				}
				word := src[i:j]
				if strings.Contains(word, ".") {
					if _, ok := expr.LookupField(word); !ok {
						return fmt.Errorf("%d:%d: unknown field %q", line, col, word)
					}
				}
				col += j - i - 1
				i = j - 1
			}
		}
	}
	if inStr {
		return fmt.Errorf("%d:%d: unterminated string literal", strLine, strCol)
	}
	if len(stack) > 0 {
		return fmt.Errorf("%d:%d: unclosed %q", line, col, stack[len(stack)-1])
	}
	return nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9')
}
