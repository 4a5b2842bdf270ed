package expr

import (
	"slices"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// String-field hints (engine.Hints.Keys).
//
// For a node and a polarity (neg=false: Yes or Unknown; neg=true: No or
// Unknown), keyHints maps a field name to a superset of the values the field
// can have, when the flow carries it, for the node to have that result. A
// field absent from the map is unconstrained; an empty, non-nil list means
// "no value": the node cannot have that result while the flow carries the
// field. For an array field the list constrains SOME element: the node can
// have the result only if at least one element is in the list.
//
// Soundness follows the evaluator (compile.go):
//   - String comparisons are byte for byte (net.protocol included), so the
//     hint values are the literals as written.
//   - any(not(c)) on an array field constrains nothing (compile.go's
//     hintOf returns before the leaf).
//   - A scalar leaf is Unknown only when the flow lacks the field, so when
//     the flow carries it, `f == v` is Yes exactly for v, and `f != v` is No
//     exactly for v: both give {v} in the matching polarity.
//   - An array leaf is "some element satisfies the predicate"; negated it is
//     "every element fails", which an empty array satisfies, so array
//     fields are only constrained in positive polarity, by == and in.
//   - AND is Kleene: a conjunct that is No makes the AND No whatever the
//     other fields are, so each conjunct's constraint holds for the AND.
//     For scalar fields the lists are intersected; for array fields two
//     conjuncts can be satisfied by different elements, so intersecting
//     would be unsound: the smaller list is kept instead.
//   - OR is Yes/Unknown only if some disjunct is, so a field is constrained
//     by the union of the disjuncts' lists when every disjunct constrains
//     it, and unconstrained otherwise.
//   - not(x) swaps the polarity; matches, $list and ordering operators
//     (rejected for strings by Check) give no constraint.
type keyHints map[string][]string

// keyHintField reports whether name is a field the engine's index narrows
// by, and whether it is an array field.
var keyHintField = func() map[string]bool {
	m := map[string]bool{}
	for _, name := range engine.KeyHintFields() {
		fi, ok := LookupField(name)
		if !ok || fi.Type != TString || fi.Map {
			continue // not a plain string field of this language: never hinted
		}
		m[name] = fi.Array
	}
	return m
}()

// keyLeafHint is the hint of `fr op vals` (op == for in {...}) in polarity neg.
func keyLeafHint(fr FieldRef, op Op, vals []Value, neg bool) keyHints {
	array, ok := keyHintField[fr.Name]
	if !ok || fr.HasKey {
		return nil
	}
	if op != OpEq && op != OpNe {
		return nil
	}
	if (op == OpNe) != neg {
		// Yes for f != v / No for f == v: every value but the literals.
		return nil
	}
	if array && neg {
		// not(any(f[*] != v)): every element equals v, and an empty array
		// qualifies, so no element needs to be in any list.
		return nil
	}
	vs := make([]string, 0, len(vals))
	for _, v := range vals {
		if v.Kind != VString {
			return nil // not checked: the evaluator compares v.Str, stay out of it
		}
		vs = append(vs, v.Str)
	}
	slices.Sort(vs)
	return keyHints{fr.Name: slices.Compact(vs)}
}

// and combines the constraints of two conjuncts (either may be nil).
func (k keyHints) and(c keyHints) keyHints {
	if len(c) == 0 {
		return k
	}
	if len(k) == 0 {
		return c
	}
	out := make(keyHints, len(k)+len(c))
	for name, vs := range k {
		out[name] = vs
	}
	for name, cv := range c {
		kv, ok := out[name]
		switch {
		case !ok:
			out[name] = cv
		case keyHintField[name]: // array: either list is sound, keep the smaller
			if len(cv) < len(kv) {
				out[name] = cv
			}
		default:
			out[name] = intersectSorted(kv, cv)
		}
	}
	return out
}

// or combines the constraints of two disjuncts: only fields both constrain.
func (k keyHints) or(c keyHints) keyHints {
	var out keyHints
	for name, kv := range k {
		cv, ok := c[name]
		if !ok {
			continue
		}
		if out == nil {
			out = keyHints{}
		}
		out[name] = unionSorted(kv, cv)
	}
	return out
}

// engineKeys converts to engine.Hints.Keys (nil when nothing is constrained).
func (k keyHints) engineKeys() map[string][]string {
	if len(k) == 0 {
		return nil
	}
	out := make(map[string][]string, len(k))
	for name, vs := range k {
		out[name] = slices.Clone(vs)
		if out[name] == nil {
			out[name] = []string{}
		}
	}
	return out
}

func intersectSorted(a, b []string) []string {
	out := []string{}
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

func unionSorted(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
