package impact

// The change impact as values: the list provider::cfegress::impact returns
// and `cfegress impact --format json` prints, one definition for both.

import (
	"fmt"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

// element is one element before encoding: a region, or a summary line
// (example nil).
type element struct {
	region        string
	example       spec.Object
	before, after spec.Object
	possibly      bool
}

// object is a nil Object as null (an untyped nil), else the Object.
func object(o spec.Object) any {
	if o == nil {
		return nil
	}
	return o
}

var elementFields = []spec.Field[element]{
	{Attr: spec.Attr{Name: "region", Kind: spec.KindString}, Get: func(e *element) any { return e.region }},
	{Attr: spec.Attr{Name: "example", Kind: spec.KindObject, Elem: spec.FlowAttrs()}, Get: func(e *element) any { return object(e.example) }},
	{Attr: spec.Attr{Name: "before", Kind: spec.KindObject, Elem: spec.DecisionAttrs()}, Get: func(e *element) any { return object(e.before) }},
	{Attr: spec.Attr{Name: "after", Kind: spec.KindObject, Elem: spec.DecisionAttrs()}, Get: func(e *element) any { return object(e.after) }},
	{Attr: spec.Attr{Name: "possibly", Kind: spec.KindBool}, Get: func(e *element) any { return e.possibly }},
}

// ElementAttrs returns the attributes of one element of Elements: region
// (the flows, in one line: Text), example (a flow object), before and after
// (Decision objects) and possibly.
func ElementAttrs() []spec.Attr { return spec.Attrs(elementFields) }

// Elements returns res (a result of Analyze) as objects of ElementAttrs: per region its example as
// a flow object, and the decisions Decide gives for that object as it
// decodes (so that deciding the example again gives before and after
// exactly); past the bound, one element per summary line, with a null
// example and decisions. possibly is set when the region's extent is not
// exact (Region.Possibly), its change was not confirmed, or the example
// object is not the region's own flow and decides the same on both lists.
func Elements(res *Result) ([]spec.Object, error) {
	before, after := res.before, res.after
	bp, ap := before.Policies(), after.Policies()
	out := make([]spec.Object, 0, len(res.Regions)+len(res.More)+1)
	for _, r := range res.Regions {
		obj, exact := spec.FlowObject(r.Example, nil)
		ex, down, err := spec.FlowFromObject(obj)
		if err != nil {
			return nil, fmt.Errorf("example flow of %s: %w", r, err)
		}
		db, err := before.Decide(&ex, down)
		if err != nil {
			return nil, fmt.Errorf("example flow of %s: %w", r, err)
		}
		da, err := after.Decide(&ex, down)
		if err != nil {
			return nil, fmt.Errorf("example flow of %s: %w", r, err)
		}
		possibly := r.Possibly || !r.Confirmed || (!exact && sameDecision(db, da, bp, ap))
		out = append(out, spec.Encode(elementFields, &element{
			region: Text(r.Description), example: obj,
			before: spec.DecisionObject(db), after: spec.DecisionObject(da), possibly: possibly,
		}))
	}
	if res.MoreCount > 0 {
		for _, m := range append([]string{fmt.Sprintf("%d more region%s", res.MoreCount, plural(res.MoreCount))}, res.More...) {
			out = append(out, spec.Encode(elementFields, &element{region: "... and " + m, possibly: true}))
		}
	}
	return out, nil
}
