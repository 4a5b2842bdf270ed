package provider

// The change impact as JSON values, element for element what
// provider::cfegress::impact returns: the cfegress CLI prints it for
// `impact --format json`, so that CI and Terraform read one shape.

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/impact"
)

// ImpactJSON returns the elements provider::cfegress::impact would return
// for res (the result of impact.Analyze(before, after, ...)), as values for
// encoding/json.
func ImpactJSON(ctx context.Context, res *impact.Result, before, after impact.Side) ([]any, error) {
	sim := func(s impact.Side) (*simulation, error) {
		e, err := engine.Compile(s.Policies, s.Inventory)
		return &simulation{eng: e, inv: s.Inventory}, err
	}
	b, err := sim(before)
	if err != nil {
		return nil, err
	}
	a, err := sim(after)
	if err != nil {
		return nil, err
	}
	rows, err := impactRows(ctx, res, b, a)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, jsonValue(r.object))
	}
	return out, nil
}

// jsonValue converts a framework value to a value encoding/json encodes
// as Terraform's JSON output would (null for null, numbers as numbers).
func jsonValue(v attr.Value) any {
	if v == nil || v.IsNull() || v.IsUnknown() {
		return nil
	}
	switch v := v.(type) {
	case types.String:
		return v.ValueString()
	case basetypesStringer:
		return v.ValueString()
	case types.Bool:
		return v.ValueBool()
	case types.Int64:
		return v.ValueInt64()
	case types.Float64:
		return v.ValueFloat64()
	case types.Number:
		f, _ := v.ValueBigFloat().Float64()
		return f
	case types.List:
		out := []any{}
		for _, e := range v.Elements() {
			out = append(out, jsonValue(e))
		}
		return out
	case types.Map:
		out := map[string]any{}
		for k, e := range v.Elements() {
			out[k] = jsonValue(e)
		}
		return out
	case types.Object:
		out := map[string]any{}
		for k, e := range v.Attributes() {
			out[k] = jsonValue(e)
		}
		return out
	}
	return fmt.Sprint(v)
}

// basetypesStringer is a custom string type (expressions, IPs).
type basetypesStringer interface{ ValueString() string }
