// Package expr implements Gateway's wirefilter-style traffic expressions
// (SPEC §3): lexer, parser, type checker, canonical printer, compiled
// evaluator over engine.Flow, and set analysis (shadowing, catch-all).
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
	VString ValueKind = iota // Str (Quoted tells whether it was quoted)
	VInt                     // Int
	VIP                      // IP
	VCIDR                    // Prefix
	VRange                   // Lo..Hi (ports)
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
