package provider

// The flow object (internal/engine/spec's flow table: names, kinds,
// documentation, decoding and encoding) in Terraform: the `expect` blocks
// of cfegress_egress_policies, the flows of cfegress_egress_decision, the
// `flow` argument of provider::cfegress::decide and the change impact's
// example flows.
//
// API for other files of this package:
//   - flowResourceAttribute(desc) / flowResourceAttributes(): resource schema
//   - flowDataSourceAttributes(): data-source schema (input attributes)
//   - flowAttrTypes(): the object's attribute types
//   - flowFromObject(ctx, types.Object)
//   - flowFromValue(ctx, attr.Value, name): also types.Dynamic (functions)
//   - flowObject(ctx, engine.Flow): the object of a flow
// All decoders return (engine.Flow, engine.ColoSet, error); the error is a
// *DecodeError whose Path names the flow attribute (e.g. groups[1]), with
// Unknown set when a value is not known yet.

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

// flowAttrTypes is the attribute types of the flow object.
func flowAttrTypes() map[string]attr.Type { return attrTypes(spec.FlowAttrs()) }

// flowResourceAttributes returns the flow's attributes for a resource schema
// (all input: Required or Optional).
func flowResourceAttributes() map[string]rschema.Attribute {
	return resourceInputAttributes(spec.FlowAttrs())
}

// flowResourceAttribute is the flow as a required single nested attribute
// of a resource schema (e.g. `expect[*].flow`).
func flowResourceAttribute(desc string) rschema.SingleNestedAttribute {
	return rschema.SingleNestedAttribute{
		MarkdownDescription: desc,
		Required:            true,
		Attributes:          flowResourceAttributes(),
	}
}

// flowDataSourceAttributes returns the flow's attributes for a data-source
// schema (inputs).
func flowDataSourceAttributes() map[string]dschema.Attribute {
	return dataSourceInputAttributes(spec.FlowAttrs())
}

// decodeFlow reads a flow object (typed or hand-written). Unsupported
// attribute names are errors (a typo would silently change the answer).
func decodeFlow(d dv) (engine.Flow, engine.ColoSet, error) {
	m, err := d.object()
	if err != nil {
		if de, ok := err.(*DecodeError); ok && !de.Unknown {
			de.Msg += " with at least ingress_colo and destination_ip"
		}
		return engine.Flow{}, nil, err
	}
	attrs := spec.FlowAttrs()
	if err := rejectUnknownAttrs(m, spec.AttrNames(attrs)); err != nil {
		return engine.Flow{}, nil, err
	}
	o := make(spec.Object, len(attrs))
	for _, a := range attrs {
		v, err := m[a.Name].withPath(d.p.attr(a.Name)).plain(a.Kind)
		if err != nil {
			return engine.Flow{}, nil, err
		}
		o[a.Name] = v
	}
	f, down, err := spec.FlowFromObject(o)
	if err != nil {
		return f, nil, specErrorAt(d.p, err)
	}
	return f, down, nil
}

// flowLabel returns the flow's `name` attribute ("" when absent).
func flowLabel(d dv) string {
	m, err := d.object()
	if err != nil {
		return ""
	}
	s, _, _ := m[spec.FlowLabelAttr].str()
	return s
}

// flowFromValue decodes a flow from any framework value: types.Object,
// types.Dynamic (function arguments) or a custom object type. name prefixes
// error paths ("flow", or "" for paths relative to the flow).
func flowFromValue(ctx context.Context, v attr.Value, name string) (engine.Flow, engine.ColoSet, error) {
	d, err := rootValue(ctx, v, name)
	if err != nil {
		return engine.Flow{}, nil, err
	}
	return decodeFlow(d)
}

// flowFromObject decodes a typed flow object (e.g. `expect[*].flow` of the
// resource). Error paths are relative to the flow object.
func flowFromObject(ctx context.Context, obj types.Object) (engine.Flow, engine.ColoSet, error) {
	return flowFromValue(ctx, obj, "")
}

// flowObject encodes f as a flow object. exact is false when the object
// does not decode back to f (spec.FlowObject).
func flowObject(_ context.Context, f engine.Flow) (obj types.Object, exact bool, err error) {
	o, exact := spec.FlowObject(f, nil)
	obj, err = objectValue(spec.FlowAttrs(), o)
	return obj, exact, err
}
