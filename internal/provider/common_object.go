package provider

// Terraform types, schemas and values of the objects internal/engine/spec
// defines (the flow, the Decision, the change impact element), built from
// their attribute tables: a name is written once, in the engine-side table,
// and the cfegress CLI prints the same objects as JSON.

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

// attrTypes is the attribute types of an object of attrs.
func attrTypes(attrs []spec.Attr) map[string]attr.Type {
	m := make(map[string]attr.Type, len(attrs))
	for _, a := range attrs {
		m[a.Name] = attrType(a)
	}
	return m
}

// attrType is the Terraform type of one attribute.
func attrType(a spec.Attr) attr.Type {
	switch a.Kind {
	case spec.KindBool:
		return types.BoolType
	case spec.KindInt:
		return types.Int64Type
	case spec.KindFloat:
		return types.Float64Type
	case spec.KindStringList, spec.KindIntList:
		return types.ListType{ElemType: elemType(a.Kind)}
	case spec.KindStringListMap:
		return types.MapType{ElemType: elemType(a.Kind)}
	case spec.KindObject:
		return types.ObjectType{AttrTypes: attrTypes(a.Elem)}
	case spec.KindObjectList:
		return types.ListType{ElemType: types.ObjectType{AttrTypes: attrTypes(a.Elem)}}
	}
	return types.StringType
}

// elemType is the element type of a list or map kind.
func elemType(k spec.Kind) attr.Type {
	switch k {
	case spec.KindIntList:
		return types.Int64Type
	case spec.KindStringListMap:
		return types.ListType{ElemType: types.StringType}
	}
	return types.StringType
}

// objectValue converts an Object of attrs (nil: null) to its value.
func objectValue(attrs []spec.Attr, o spec.Object) (types.Object, error) {
	at := attrTypes(attrs)
	if o == nil {
		return types.ObjectNull(at), nil
	}
	vals := make(map[string]attr.Value, len(attrs))
	for _, a := range attrs {
		v, err := attrValue(a, o[a.Name])
		if err != nil {
			return types.Object{}, fmt.Errorf("%s: %w", a.Name, err)
		}
		vals[a.Name] = v
	}
	obj, diags := types.ObjectValue(at, vals)
	if diags.HasError() {
		return types.Object{}, fmt.Errorf("object: %v", diags)
	}
	return obj, nil
}

// attrValue converts one attribute's value (nil: null).
func attrValue(a spec.Attr, v any) (attr.Value, error) {
	if v == nil {
		return nullValue(a), nil
	}
	switch x := v.(type) {
	case string:
		return types.StringValue(x), nil
	case bool:
		return types.BoolValue(x), nil
	case int64:
		return types.Int64Value(x), nil
	case float64:
		return types.Float64Value(x), nil
	case []string:
		return stringList(x)
	case []int64:
		vs := make([]attr.Value, len(x))
		for i, n := range x {
			vs[i] = types.Int64Value(n)
		}
		return typedList(types.Int64Type, vs)
	case map[string][]string:
		m := make(map[string]attr.Value, len(x))
		for k, l := range x {
			lv, err := stringList(l)
			if err != nil {
				return nil, err
			}
			m[k] = lv
		}
		mv, diags := types.MapValue(elemType(a.Kind), m)
		if diags.HasError() {
			return nil, fmt.Errorf("%v", diags)
		}
		return mv, nil
	case spec.Object:
		return objectValue(a.Elem, x)
	case []spec.Object:
		vs := make([]attr.Value, len(x))
		for i, o := range x {
			ov, err := objectValue(a.Elem, o)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			vs[i] = ov
		}
		return typedList(types.ObjectType{AttrTypes: attrTypes(a.Elem)}, vs)
	}
	return nil, fmt.Errorf("%T is not %s", v, a.Kind)
}

// stringList is a list of strings' value.
func stringList(xs []string) (types.List, error) {
	vs := make([]attr.Value, len(xs))
	for i, x := range xs {
		vs[i] = types.StringValue(x)
	}
	return typedList(types.StringType, vs)
}

// typedList is a list value of elements of type t.
func typedList(t attr.Type, vs []attr.Value) (types.List, error) {
	l, diags := types.ListValue(t, vs)
	if diags.HasError() {
		return l, fmt.Errorf("%v", diags)
	}
	return l, nil
}

// nullValue is the null value of an attribute.
func nullValue(a spec.Attr) attr.Value {
	switch t := attrType(a).(type) {
	case types.ObjectType:
		return types.ObjectNull(t.AttrTypes)
	case types.ListType:
		return types.ListNull(t.ElemType)
	case types.MapType:
		return types.MapNull(t.ElemType)
	}
	switch a.Kind {
	case spec.KindBool:
		return types.BoolNull()
	case spec.KindInt:
		return types.Int64Null()
	case spec.KindFloat:
		return types.Float64Null()
	}
	return types.StringNull()
}

// resourceInputAttributes are attrs as resource schema attributes (inputs:
// Required or Optional). Only scalar, list and map kinds.
func resourceInputAttributes(attrs []spec.Attr) map[string]rschema.Attribute {
	m := make(map[string]rschema.Attribute, len(attrs))
	for _, a := range attrs {
		req, opt := a.Required, !a.Required
		switch a.Kind {
		case spec.KindBool:
			m[a.Name] = rschema.BoolAttribute{MarkdownDescription: a.Desc, Required: req, Optional: opt}
		case spec.KindInt:
			m[a.Name] = rschema.Int64Attribute{MarkdownDescription: a.Desc, Required: req, Optional: opt}
		case spec.KindStringList, spec.KindIntList:
			m[a.Name] = rschema.ListAttribute{ElementType: elemType(a.Kind), MarkdownDescription: a.Desc, Required: req, Optional: opt}
		case spec.KindStringListMap:
			m[a.Name] = rschema.MapAttribute{ElementType: elemType(a.Kind), MarkdownDescription: a.Desc, Required: req, Optional: opt}
		default:
			m[a.Name] = rschema.StringAttribute{MarkdownDescription: a.Desc, Required: req, Optional: opt}
		}
	}
	return m
}

// dataSourceInputAttributes are attrs as data-source schema attributes
// (inputs). Only scalar, list and map kinds.
func dataSourceInputAttributes(attrs []spec.Attr) map[string]dschema.Attribute {
	m := make(map[string]dschema.Attribute, len(attrs))
	for _, a := range attrs {
		req, opt := a.Required, !a.Required
		switch a.Kind {
		case spec.KindBool:
			m[a.Name] = dschema.BoolAttribute{MarkdownDescription: a.Desc, Required: req, Optional: opt}
		case spec.KindInt:
			m[a.Name] = dschema.Int64Attribute{MarkdownDescription: a.Desc, Required: req, Optional: opt}
		case spec.KindStringList, spec.KindIntList:
			m[a.Name] = dschema.ListAttribute{ElementType: elemType(a.Kind), MarkdownDescription: a.Desc, Required: req, Optional: opt}
		case spec.KindStringListMap:
			m[a.Name] = dschema.MapAttribute{ElementType: elemType(a.Kind), MarkdownDescription: a.Desc, Required: req, Optional: opt}
		default:
			m[a.Name] = dschema.StringAttribute{MarkdownDescription: a.Desc, Required: req, Optional: opt}
		}
	}
	return m
}

// dataSourceComputedAttributes are attrs as computed data-source schema
// attributes (results).
func dataSourceComputedAttributes(attrs []spec.Attr) map[string]dschema.Attribute {
	m := make(map[string]dschema.Attribute, len(attrs))
	for _, a := range attrs {
		switch a.Kind {
		case spec.KindBool:
			m[a.Name] = dschema.BoolAttribute{Computed: true, MarkdownDescription: a.Desc}
		case spec.KindInt:
			m[a.Name] = dschema.Int64Attribute{Computed: true, MarkdownDescription: a.Desc}
		case spec.KindFloat:
			m[a.Name] = dschema.Float64Attribute{Computed: true, MarkdownDescription: a.Desc}
		case spec.KindStringList, spec.KindIntList:
			m[a.Name] = dschema.ListAttribute{Computed: true, ElementType: elemType(a.Kind), MarkdownDescription: a.Desc}
		case spec.KindStringListMap:
			m[a.Name] = dschema.MapAttribute{Computed: true, ElementType: elemType(a.Kind), MarkdownDescription: a.Desc}
		case spec.KindObject:
			m[a.Name] = dschema.SingleNestedAttribute{Computed: true, MarkdownDescription: a.Desc, Attributes: dataSourceComputedAttributes(a.Elem)}
		case spec.KindObjectList:
			m[a.Name] = dschema.ListNestedAttribute{Computed: true, MarkdownDescription: a.Desc,
				NestedObject: dschema.NestedAttributeObject{Attributes: dataSourceComputedAttributes(a.Elem)}}
		default:
			m[a.Name] = dschema.StringAttribute{Computed: true, MarkdownDescription: a.Desc}
		}
	}
	return m
}

// plain decodes d as a value of kind k for internal/engine/spec: nil for
// null, else the kind's Go type. Unknown values are Unknown DecodeErrors.
func (d dv) plain(k spec.Kind) (any, error) {
	var v any
	var ok bool
	var err error
	switch k {
	case spec.KindString:
		v, ok, err = d.str()
	case spec.KindBool:
		v, ok, err = d.boolean()
	case spec.KindInt:
		v, ok, err = d.integer(-1<<53, 1<<53)
	case spec.KindStringList:
		v, ok, err = d.strListOrNull()
	case spec.KindIntList:
		v, ok, err = d.intListOrNull()
	case spec.KindStringListMap:
		v, ok, err = d.strListMapOrNull()
	default:
		return nil, d.errf("cannot read %s here", k)
	}
	if err != nil || !ok {
		return nil, err
	}
	return v, nil
}

// strListOrNull is a list of strings; ok is false for null.
func (d dv) strListOrNull() ([]string, bool, error) {
	if d.known() && d.null() {
		return nil, false, nil
	}
	l, err := d.strList()
	if l == nil {
		l = []string{}
	}
	return l, err == nil, err
}

// intListOrNull is a list of whole numbers; ok is false for null.
func (d dv) intListOrNull() ([]int64, bool, error) {
	if d.known() && d.null() {
		return nil, false, nil
	}
	els, err := d.list()
	if err != nil {
		return nil, false, err
	}
	out := make([]int64, 0, len(els))
	for _, e := range els {
		n, ok, err := e.integer(-1<<53, 1<<53)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, e.errf("must be a number, got null")
		}
		out = append(out, n)
	}
	return out, true, nil
}

// strListMapOrNull is a map of lists of strings; ok is false for null.
func (d dv) strListMapOrNull() (map[string][]string, bool, error) {
	if d.known() && d.null() {
		return nil, false, nil
	}
	m, err := d.object()
	if err != nil {
		return nil, false, err
	}
	out := make(map[string][]string, len(m))
	for k, e := range m {
		l, err := e.strList()
		if err != nil {
			return nil, false, err
		}
		out[k] = l
	}
	return out, true, nil
}
