package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Warnings: what parses and type-checks but cannot do what it says. They
// are not errors (Gateway accepts these expressions), so lint reports them
// as warnings with a stable rule ID; the analyser and the evaluator agree
// with them (a literal reported as never matching is one that no decoded
// flow can carry, so lint builds an empty set from it).

// WarningKind says what a Warning is about.
type WarningKind uint8

const (
	// WarnNeverMatches: a literal no flow's value can equal, because the
	// comparison is byte for byte and the field's values are spelled
	// otherwise: an upper-case protocol ("TCP"), a continent that is not a
	// two-letter code ("North America"), a country that is not an upper-case
	// ISO code, an upper-case host or domain ("Example.com"), an unknown
	// traffic source.
	WarnNeverMatches WarningKind = iota + 1
	// WarnWrongSlot: a field used in another expression than its own (an
	// identity field in traffic, a device posture field in identity, ...).
	WarnWrongSlot
)

// String is the lint rule ID of the kind.
func (k WarningKind) String() string {
	switch k {
	case WarnNeverMatches:
		return "never_matches"
	case WarnWrongSlot:
		return "wrong_slot"
	}
	return "warning"
}

// Warning is one finding of Warnings.
type Warning struct {
	Pos   Pos
	Kind  WarningKind
	Field string
	Msg   string // what is wrong and what to write instead
}

func (w Warning) String() string {
	return fmt.Sprintf("%d:%d: %s", w.Pos.Line, w.Pos.Col, w.Msg)
}

// continentNames maps the spellings people write to the codes Gateway
// compares with. The codes are Cloudflare's (AF AN AS EU NA OC SA, and T1
// for the Tor network: the selector tables of the egress, network and DNS
// policy pages, developers.cloudflare.com/cloudflare-one/traffic-policies/).
var continentNames = map[string]string{
	"africa": "AF", "antarctica": "AN", "asia": "AS", "europe": "EU",
	"north america": "NA", "oceania": "OC", "south america": "SA", "tor network": "T1", "tor": "T1",
}

// ContinentCodes are the continent codes of Gateway's geolocation selectors.
func ContinentCodes() []string { return []string{"AF", "AN", "AS", "EU", "NA", "OC", "SA", "T1"} }

func isContinentCode(s string) bool {
	for _, c := range ContinentCodes() {
		if s == c {
			return true
		}
	}
	return false
}

// isCountryCode: two upper-case ASCII letters (ISO 3166-1 alpha-2 shape,
// T1 included: Cloudflare's code for Tor). Flows carry upper-case codes.
func isCountryCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		if !(s[i] >= 'A' && s[i] <= 'Z' || s[i] == '1' && i == 1) {
			return false
		}
	}
	return true
}

// CanMatchLiteral reports whether a flow can carry the string literal s in
// field name (an == / != / in literal, as the evaluator compares it). It is
// the one contract the evaluator, the analyser and the flow decoders share:
//   - hosts and domains (net.fqdn.host, net.fqdn.domains) are case-insensitive
//     names that flows carry in lower case (the decoders lower-case them), and
//     literals are compared byte for byte, so a literal with an upper-case
//     letter never matches;
//   - net.protocol is "tcp" or "udp" (egress policies do not apply to ICMP,
//     but "icmp" is a protocol the evaluator compares like the others);
//   - continents are two-letter codes, countries upper-case ISO codes;
//   - net.onramp.type is one of OnrampTypes.
//
// Any other field or literal can match.
func CanMatchLiteral(name, s string) bool {
	switch name {
	case "net.fqdn.host", "net.fqdn.domains":
		return strings.ToLower(s) == s
	case "net.protocol":
		return s == "tcp" || s == "udp" || s == "icmp"
	case "net.src.geo.continent", "net.dst.geo.continent":
		return isContinentCode(s)
	case "net.src.geo.country", "net.dst.geo.country":
		return isCountryCode(s)
	case "net.onramp.type":
		return IsOnrampType(s)
	}
	return true
}

// neverMessage explains why literal s of field name never matches and what
// to write instead.
func neverMessage(name, s string) string {
	q := strconv.Quote(s)
	switch name {
	case "net.fqdn.host", "net.fqdn.domains":
		return fmt.Sprintf("%s can never equal %s: host names are case-insensitive and flows carry them in lower case, while Gateway compares the literal byte for byte; write %s", name, q, strconv.Quote(strings.ToLower(s)))
	case "net.protocol":
		return fmt.Sprintf("net.protocol can never equal %s: Gateway compares protocols byte for byte and writes them in lower case; write %s", q, strconv.Quote(strings.ToLower(s)))
	case "net.src.geo.continent", "net.dst.geo.continent":
		fix := ""
		if c, ok := continentNames[strings.ToLower(strings.TrimSpace(s))]; ok {
			fix = "; write " + strconv.Quote(c)
		} else if up := strings.ToUpper(s); isContinentCode(up) {
			fix = "; write " + strconv.Quote(up)
		}
		return fmt.Sprintf("%s can never equal %s: Gateway's continents are two-letter codes (%s)%s", name, q, strings.Join(ContinentCodes(), " "), fix)
	case "net.src.geo.country", "net.dst.geo.country":
		fix := ""
		if up := strings.ToUpper(s); isCountryCode(up) {
			fix = "; write " + strconv.Quote(up)
		}
		return fmt.Sprintf("%s can never equal %s: Gateway's countries are ISO 3166-1 alpha-2 codes in upper case (\"US\", \"JP\")%s", name, q, fix)
	case "net.onramp.type":
		return fmt.Sprintf("net.onramp.type can never equal %s: Cloudflare publishes the traffic sources %s", q, strings.Join(OnrampTypes(), ", "))
	}
	return fmt.Sprintf("%s can never equal %s", name, q)
}

// Warnings returns the warnings of a checked expression n written in the
// slot (traffic, identity or device_posture expression) of a policy, in
// source order. A nil n has none.
func Warnings(n Node, slot Selector) []Warning {
	var out []Warning
	seenSlot := map[string]bool{}
	Walk(n, func(x Node) bool {
		f := bodyField(x)
		if f == nil {
			return true
		}
		fi, ok := LookupField(f.Name)
		if !ok {
			return true
		}
		if fi.Selector != slot && !seenSlot[fi.Name] {
			seenSlot[fi.Name] = true
			out = append(out, Warning{Pos: f.P, Kind: WarnWrongSlot, Field: fi.Name,
				Msg: fmt.Sprintf("%s is %s selector but is used in the %s expression: Gateway's policy builder keeps traffic, identity and device posture conditions in their own expressions (and ANDs them); move it to %s", fi.Name, selectorKind(fi.Selector), slot, fi.Selector)})
		}
		var vals []Value
		switch x := x.(type) {
		case *Compare:
			if x.Op != OpEq && x.Op != OpNe {
				return true
			}
			vals = []Value{x.Value}
		case *In:
			vals = x.Set
		}
		for _, v := range vals {
			if v.Kind == VString && v.Quoted && !CanMatchLiteral(fi.Name, v.Str) {
				out = append(out, Warning{Pos: v.P, Kind: WarnNeverMatches, Field: fi.Name, Msg: neverMessage(fi.Name, v.Str)})
			}
		}
		return true
	})
	return out
}

func selectorKind(s Selector) string {
	switch s {
	case SelIdentity:
		return "an identity"
	case SelPosture:
		return "a device posture"
	}
	return "a traffic"
}

// MaxExpressionLength is Gateway's limit on one policy expression, in
// characters: "Gateway API policy expression | 140,000" (Cloudflare One
// account limits, developers.cloudflare.com/cloudflare-one/account-limits/,
// "Maximum number of characters"; cloudflare-docs
// src/content/docs/cloudflare-one/account-limits.mdx).
const MaxExpressionLength = 140000

// TooLong reports whether src exceeds MaxExpressionLength characters, and
// its length in characters.
func TooLong(src string) (bool, int) {
	if len(src) <= MaxExpressionLength {
		return false, len(src) // never more characters than bytes
	}
	n := utf8.RuneCountInString(src)
	return n > MaxExpressionLength, n
}

// tooLongError is Parse's error for an expression over the limit.
func tooLongError(n int) *Error {
	return &Error{Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("the expression is %d characters long: Gateway accepts at most %d characters per policy expression (Cloudflare One account limits); split it into several policies", n, MaxExpressionLength)}
}
