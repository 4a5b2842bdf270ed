package spec

// Objects as users read and write them: the flow (flow.go) and the
// Decision (decision.go), in Terraform (the provider's schemas, function
// arguments and results) and in JSON (the cfegress CLI). Each is a table
// of attributes, written once here; the provider builds its types, schemas
// and values from the table, the CLI encodes the Object with encoding/json,
// so the two spell every name the same way.

import (
	"fmt"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// Kind is the type of an attribute's value: the Go type an Object holds
// for it (nil is null).
type Kind uint8

const (
	KindString        Kind = iota // string
	KindBool                      // bool
	KindInt                       // int64
	KindFloat                     // float64
	KindStringList                // []string
	KindIntList                   // []int64
	KindStringListMap             // map[string][]string
	KindObject                    // Object of Attr.Elem
	KindObjectList                // []Object of Attr.Elem
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "a string"
	case KindBool:
		return "a bool"
	case KindInt:
		return "a whole number"
	case KindFloat:
		return "a number"
	case KindStringList:
		return "a list of strings"
	case KindIntList:
		return "a list of whole numbers"
	case KindStringListMap:
		return "a map of lists of strings"
	case KindObject:
		return "an object"
	case KindObjectList:
		return "a list of objects"
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

// Attr is one attribute of an object: its name (as Terraform and JSON
// spell it), the kind of its value and its documentation.
type Attr struct {
	Name string
	Kind Kind
	// Required: an input object (a flow) must give it.
	Required bool
	// Desc documents the attribute (Markdown).
	Desc string
	// Elem is the attributes of the object (KindObject) or of each of the
	// list's objects (KindObjectList).
	Elem []Attr
}

// Object is an object's values by attribute name, each nil (null) or of
// its attribute's Kind. Encoders set every attribute, so that
// encoding/json writes an Object as Terraform writes the same value in
// JSON (`terraform output -json`): every attribute, null for null.
type Object map[string]any

// Field is an attribute of objects read from a T.
type Field[T any] struct {
	Attr
	// Get returns the attribute's value of x: nil (untyped, for null) or a
	// value of the attribute's Kind.
	Get func(x *T) any
}

// Attrs returns the attributes of fields, in order.
func Attrs[T any](fields []Field[T]) []Attr {
	out := make([]Attr, len(fields))
	for i, f := range fields {
		out[i] = f.Attr
	}
	return out
}

// Encode reads x into an Object.
func Encode[T any](fields []Field[T], x *T) Object {
	o := make(Object, len(fields))
	for _, f := range fields {
		o[f.Name] = f.Get(x)
	}
	return o
}

// AttrNames returns the names of attrs, in order.
func AttrNames(attrs []Attr) []string {
	out := make([]string, len(attrs))
	for i, a := range attrs {
		out[i] = a.Name
	}
	return out
}

// kindOf is the kind of a value of an Object (ok false: none).
func kindOf(v any) (k Kind, ok bool) {
	switch v.(type) {
	case string:
		return KindString, true
	case bool:
		return KindBool, true
	case int64:
		return KindInt, true
	case float64:
		return KindFloat, true
	case []string:
		return KindStringList, true
	case []int64:
		return KindIntList, true
	case map[string][]string:
		return KindStringListMap, true
	case Object:
		return KindObject, true
	case []Object:
		return KindObjectList, true
	}
	return 0, false
}

// checkKind reports whether v (not nil) is of kind k.
func checkKind(k Kind, v any) bool {
	vk, ok := kindOf(v)
	return ok && vk == k
}

// Unsupported is the message for an attribute name that is not one of
// names: it suggests the closest one (a typo in a flow would otherwise
// change the answer silently).
func Unsupported(name string, names []string) string {
	best, bestD := "", 4 // within edit distance 3
	for _, c := range names {
		if d := engine.EditDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unsupported attribute; did you mean %q?", best)
	}
	return "unsupported attribute; expected one of " + strings.Join(names, ", ")
}
