package provider

// The flow object from an engine.Flow: the change impact's example flows
// are returned as objects `decide` accepts. The encoder is built from the
// flow field table (common_flow.go) without a getter per field: each
// field's setter is probed once to learn which engine.Flow field it writes,
// so a field added to the table is encoded too. An example that does not
// decode back to itself is reported as such (flowObject's exact).

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"reflect"
	"sort"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// flowTarget is the engine.Flow field a flow attribute's setter writes
// (index -1: none, e.g. `name`, `colos_down`).
type flowTarget struct {
	field flowField
	index int
}

var (
	flowTargetsOnce sync.Once
	flowTargets     []flowTarget
	flowTargetsErr  error
)

// probeValues are values of each kind a setter accepts, tried in turn.
func probeValues(k flowKind) []tftypes.Value {
	strs := func(xs ...string) []tftypes.Value {
		var out []tftypes.Value
		for _, x := range xs {
			out = append(out, tftypes.NewValue(tftypes.String, x))
		}
		return out
	}
	list := func(et tftypes.Type, vs ...tftypes.Value) tftypes.Value {
		return tftypes.NewValue(tftypes.List{ElementType: et}, vs)
	}
	switch k {
	case fBool:
		return []tftypes.Value{tftypes.NewValue(tftypes.Bool, true)}
	case fPort:
		return []tftypes.Value{tftypes.NewValue(tftypes.Number, big.NewFloat(4242))}
	case fIP:
		return strs("192.0.2.77")
	case fStringList:
		return []tftypes.Value{list(tftypes.String, strs("NRT")...), list(tftypes.String, strs("x=y")...)}
	case fIntList:
		return []tftypes.Value{list(tftypes.Number, tftypes.NewValue(tftypes.Number, big.NewFloat(7)))}
	case fStringListMap:
		lt := tftypes.List{ElementType: tftypes.String}
		return []tftypes.Value{tftypes.NewValue(tftypes.Map{ElementType: lt}, map[string]tftypes.Value{"k": list(tftypes.String, strs("v")...)})}
	}
	return strs("udp", "device_client", "NRT", "x=y", "x")
}

// targets probes every flow field's setter once.
func targets() ([]flowTarget, error) {
	flowTargetsOnce.Do(func() {
		zero := reflect.ValueOf(engine.Flow{})
		for _, ff := range flowFields {
			t := flowTarget{field: ff, index: -1}
			for _, pv := range probeValues(ff.kind) {
				var f engine.Flow
				if err := ff.set(&f, engine.ColoSet{}, dv{v: pv}); err != nil {
					continue
				}
				got := reflect.ValueOf(f)
				for i := 0; i < got.NumField(); i++ {
					if !reflect.DeepEqual(got.Field(i).Interface(), zero.Field(i).Interface()) {
						if t.index >= 0 && t.index != i {
							flowTargetsErr = fmt.Errorf("flow attribute %s writes two fields", ff.name)
						}
						t.index = i
					}
				}
				if t.index >= 0 {
					break
				}
			}
			flowTargets = append(flowTargets, t)
		}
	})
	return flowTargets, flowTargetsErr
}

// flowObject encodes f as a flow object. exact is false when the object
// does not decode back to f (a flow the object cannot express, such as
// groups whose id, name and e-mail differ).
func flowObject(ctx context.Context, f engine.Flow) (obj types.Object, exact bool, err error) {
	ts, err := targets()
	if err != nil {
		return types.Object{}, false, err
	}
	fv := reflect.ValueOf(f)
	attrs := map[string]attr.Value{}
	for _, t := range ts {
		var v attr.Value
		if t.index >= 0 {
			v, err = encodeFlowValue(t.field, fv.Field(t.index).Interface())
			if err != nil {
				return types.Object{}, false, fmt.Errorf("flow attribute %s: %w", t.field.name, err)
			}
		}
		if v == nil {
			v = nullOf(t.field)
		}
		attrs[t.field.name] = v
	}
	o, diags := types.ObjectValue(flowAttrTypes(), attrs)
	if diags.HasError() {
		return types.Object{}, false, fmt.Errorf("flow object: %v", diags)
	}
	back, _, err := flowFromObject(ctx, o)
	return o, err == nil && reflect.DeepEqual(normalFlow(back), normalFlow(f)), nil
}

// normalFlow clears what the object does not carry the same way (empty
// and absent lists).
func normalFlow(f engine.Flow) engine.Flow {
	if len(f.SAMLAttributes) == 0 {
		f.SAMLAttributes = nil
	}
	return f
}

// nullOf is the null value of a flow attribute.
func nullOf(ff flowField) attr.Value {
	switch ff.kind {
	case fBool:
		return types.BoolNull()
	case fPort:
		return types.Int64Null()
	case fStringList:
		return types.ListNull(types.StringType)
	case fIntList:
		return types.ListNull(types.Int64Type)
	case fStringListMap:
		return types.MapNull(types.ListType{ElemType: types.StringType})
	}
	return types.StringNull()
}

// encodeFlowValue converts one engine.Flow field value to the attribute's
// value (nil: null).
func encodeFlowValue(ff flowField, x any) (attr.Value, error) {
	strList := func(xs []string) attr.Value {
		vs := make([]attr.Value, len(xs))
		for i, s := range xs {
			vs[i] = types.StringValue(s)
		}
		l, _ := types.ListValue(types.StringType, vs)
		return l
	}
	switch v := x.(type) {
	case string:
		if v == "" {
			return nil, nil
		}
		return types.StringValue(v), nil
	case bool:
		return types.BoolValue(v), nil
	case uint16:
		if v == 0 {
			return nil, nil
		}
		return types.Int64Value(int64(v)), nil
	case netip.Addr:
		if !v.IsValid() {
			return nil, nil
		}
		return types.StringValue(v.String()), nil
	case []string:
		if v == nil {
			return nil, nil
		}
		return strList(v), nil
	case []int64:
		if v == nil {
			return nil, nil
		}
		vs := make([]attr.Value, len(v))
		for i, n := range v {
			vs[i] = types.Int64Value(n)
		}
		l, _ := types.ListValue(types.Int64Type, vs)
		return l, nil
	case []engine.Group:
		if v == nil {
			return nil, nil
		}
		// The object lists each group once; its setter uses the value as
		// the group's id, name and e-mail.
		names := make([]string, len(v))
		for i, g := range v {
			names[i] = g.Name
		}
		return strList(names), nil
	case map[string][]string:
		if v == nil {
			return nil, nil
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := map[string]attr.Value{}
		for _, k := range keys {
			m[k] = strList(v[k])
		}
		mv, _ := types.MapValue(types.ListType{ElemType: types.StringType}, m)
		return mv, nil
	}
	return nil, fmt.Errorf("no encoding for %T (kind %d)", x, ff.kind)
}
