// Package expr implements Gateway's wirefilter-style traffic expressions
// (SPEC §3): lexer, parser, type checker, canonical printer, compiled
// evaluator over engine.Flow, and set analysis (shadowing, catch-all).
//
// Entry points: Parse, Check, ParseAndCheck, Format, Canonical, Equivalent,
// CompilePolicy (an engine.Matcher and engine.Hinter), Fields,
// UsesHostSelector.
//
// Semantics, as Cloudflare's Gateway docs describe them and where they are
// silent, as this package decides (documented here so the analyser agrees):
//   - Precedence not > and > or; xor is not part of Gateway's language and
//     is rejected. Sets are space separated; commas are rejected.
//   - An array field (net.fqdn.domains, app.ids, identity.groups.*, ...)
//     matches when SOME element satisfies the comparison, whether written
//     any(f[*] op v), f[*] op v or f in {...}. An empty array matches
//     nothing; a nil array is missing (Unknown). A scalar field written with
//     [*] (net.src.ip[*], as in Cloudflare's examples) is a one-element array.
//     A negation may stand inside any(...): any(not(f[*] in S)) is true when
//     some element is not in S (so an empty array gives false), unlike
//     not(any(f[*] in S)).
//   - identity.oidc_claims elements are "name=value" strings; a literal may
//     carry its own quotes ("\"department=engineering\"", as Cloudflare
//     writes it), which the comparison ignores (ClaimValue).
//   - identity.saml_attributes["k"] is the array of values of attribute k
//     (an absent key is an empty array). The keyless form
//     identity.saml_attributes == "k=v" (optionally "\"k=v\"") is true when
//     attribute k has value v.
//   - IP comparisons: == / != / in with an IP or CIDR test membership;
//     < <= > >= compare within the address family (another family: false).
//     IPv4-mapped IPv6 addresses are treated as IPv4.
//   - Missing fields (empty string, invalid address, nil slice or map,
//     port 0) make the condition Unknown; and/or/not use Kleene logic.
//   - `f in $<list-uuid>` is always Unknown (missing "$<uuid> (Gateway
//     list)"): list contents live in Cloudflare. The reference is a UUID,
//     with or without dashes; anything else is an error.
//   - Literals are wirefilter's: an integer with a leading zero is an error
//     (wirefilter reads it as octal), 0x... is hexadecimal; a CIDR with host
//     bits set is an error; an IP range lo..hi (one family, lo <= hi) may
//     stand in a set.
//   - Regexes are Go RE2 syntax. Gateway evaluates Rust's regex crate; both
//     are linear-time engines without backreferences or look-around and
//     agree on the common syntax, but rare constructs may differ.
//   - Strings take wirefilter's escapes only: \" \\ \xHH \ooo (\n is an
//     error), and raw strings r"..." and r#"..."#. String comparisons are
//     byte for byte: net.protocol == "TCP" is accepted but never matches
//     (Warnings reports it, with upper-case host/domain literals and
//     continents that are not two-letter codes).
//   - An expression is at most MaxExpressionLength (140,000) characters.
//
// This file is the AST: the contract shared by the parser, printer,
// evaluator and analyser.
package expr

import "net/netip"

// Pos is a 1-based line:column position in the source.
type Pos struct {
	Line int
	Col  int
}

// Node is an expression node.
type Node interface {
	Position() Pos
	node()
}

// Op is a comparison operator.
type Op string

const (
	OpEq Op = "=="
	OpNe Op = "!="
	OpLt Op = "<"
	OpLe Op = "<="
	OpGt Op = ">"
	OpGe Op = ">="
)

// And is a conjunction of two or more operands (flattened).
type And struct {
	P Pos
	X []Node
}

// Or is a disjunction of two or more operands (flattened).
type Or struct {
	P Pos
	X []Node
}

// Not negates X.
type Not struct {
	P Pos
	X Node
}

// FieldRef names a field. Key is the map key of
// identity.saml_attributes["Key"]; Wildcard is the [*] array form.
type FieldRef struct {
	P        Pos
	Name     string
	Key      string
	HasKey   bool
	Wildcard bool
}

// Compare is `field op value`.
type Compare struct {
	P     Pos
	Field FieldRef
	Op    Op
	Value Value
}

// In is `field in { v1 v2 ... }`.
type In struct {
	P     Pos
	Field FieldRef
	Set   []Value
}

// InList is `field in $<list-uuid>`.
type InList struct {
	P      Pos
	Field  FieldRef
	ListID string
}

// Matches is `field matches "regex"`.
type Matches struct {
	P     Pos
	Field FieldRef
	Regex string
}

// Any is `any(field[*] op value)`: true if some element satisfies Body.
// Body is a Compare, In, InList or Matches whose Field has Wildcard set.
type Any struct {
	P    Pos
	Body Node
}

// Bare is a field used as a boolean on its own (rare; kept for completeness
// of the grammar, rejected by the type checker for non-boolean fields).
type Bare struct {
	P     Pos
	Field FieldRef
}

// ValueKind says which member of Value is set.
type ValueKind uint8

const (
	VString  ValueKind = iota // Str (Quoted tells whether it was quoted)
	VInt                      // Int
	VIP                       // IP
	VCIDR                     // Prefix
	VRange                    // Lo..Hi (ports)
	VIPRange                  // IP..IPHi (an address range in a set)
)

// Value is a literal. The parser fills Kind from the token's shape; the type
// checker converts a quoted number or CIDR ("2222", "192.168.86.0/27") into the
// kind the field needs, as Cloudflare's docs and API use.
type Value struct {
	P      Pos
	Kind   ValueKind
	Str    string
	Quoted bool
	Int    int64
	IP     netip.Addr
	Prefix netip.Prefix
	Lo, Hi int64
	IPHi   netip.Addr // VIPRange: the range's last address (IP is the first)
}

func (n *And) Position() Pos     { return n.P }
func (n *Or) Position() Pos      { return n.P }
func (n *Not) Position() Pos     { return n.P }
func (n *Compare) Position() Pos { return n.P }
func (n *In) Position() Pos      { return n.P }
func (n *InList) Position() Pos  { return n.P }
func (n *Matches) Position() Pos { return n.P }
func (n *Any) Position() Pos     { return n.P }
func (n *Bare) Position() Pos    { return n.P }

func (*And) node()     {}
func (*Or) node()      {}
func (*Not) node()     {}
func (*Compare) node() {}
func (*In) node()      {}
func (*InList) node()  {}
func (*Matches) node() {}
func (*Any) node()     {}
func (*Bare) node()    {}
