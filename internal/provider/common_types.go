package provider

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// semKind says how two strings of a semantic string type compare.
type semKind uint8

const (
	// kindExpression: traffic/identity/device_posture expressions, equal
	// when they mean the same (expr.Equivalent), so Cloudflare's
	// reformatting is never a diff.
	kindExpression semKind = iota + 1
	// kindCIDR: prefixes equal by meaning (2001:DB8::/64 = 2001:db8::/64).
	kindCIDR
	// kindIP: addresses equal by meaning.
	kindIP
	// kindColo: IATA codes, case-insensitive.
	kindColo
)

func (k semKind) String() string {
	switch k {
	case kindExpression:
		return "ExpressionType"
	case kindCIDR:
		return "CIDRType"
	case kindIP:
		return "IPType"
	case kindColo:
		return "ColoType"
	}
	return "SemanticStringType"
}

var (
	_ basetypes.StringTypable                    = semStringType{}
	_ basetypes.StringValuableWithSemanticEquals = semStringValue{}
)

// semStringType is a string type whose values compare by meaning (semantic
// equality): Terraform keeps the prior value when the new one means the same.
type semStringType struct {
	basetypes.StringType
	kind semKind
}

var (
	expressionType = semStringType{kind: kindExpression}
	cidrType       = semStringType{kind: kindCIDR}
	ipType         = semStringType{kind: kindIP}
	coloType       = semStringType{kind: kindColo}
)

func (t semStringType) String() string { return t.kind.String() }

func (t semStringType) Equal(o attr.Type) bool {
	ot, ok := o.(semStringType)
	return ok && ot.kind == t.kind
}

func (t semStringType) ValueType(context.Context) attr.Value { return semStringValue{kind: t.kind} }

func (t semStringType) ValueFromString(_ context.Context, in basetypes.StringValue) (basetypes.StringValuable, diag.Diagnostics) {
	return semStringValue{StringValue: in, kind: t.kind}, nil
}

func (t semStringType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.StringType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	sv, ok := v.(basetypes.StringValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return semStringValue{StringValue: sv, kind: t.kind}, nil
}

// semStringValue is a value of semStringType.
type semStringValue struct {
	basetypes.StringValue
	kind semKind
}

func (v semStringValue) Type(context.Context) attr.Type { return semStringType{kind: v.kind} }

func (v semStringValue) Equal(o attr.Value) bool {
	ov, ok := o.(semStringValue)
	return ok && ov.kind == v.kind && v.StringValue.Equal(ov.StringValue)
}

// StringSemanticEquals reports whether the new value means the same as v.
func (v semStringValue) StringSemanticEquals(_ context.Context, nv basetypes.StringValuable) (bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	n, ok := nv.(semStringValue)
	if !ok {
		return false, diags
	}
	return semanticEqual(v.kind, v.ValueString(), n.ValueString()), diags
}

// semanticEqual compares two strings of kind k by meaning.
func semanticEqual(k semKind, a, b string) bool {
	if a == b {
		return true
	}
	switch k {
	case kindExpression:
		return expressionsEquivalent(a, b)
	case kindCIDR:
		pa, ea := netip.ParsePrefix(strings.TrimSpace(a))
		pb, eb := netip.ParsePrefix(strings.TrimSpace(b))
		return ea == nil && eb == nil && pa.Masked() == pb.Masked() && pa.Bits() == pb.Bits()
	case kindIP:
		ia, ea := netip.ParseAddr(strings.TrimSpace(a))
		ib, eb := netip.ParseAddr(strings.TrimSpace(b))
		return ea == nil && eb == nil && ia == ib
	case kindColo:
		return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
	}
	return false
}

// Constructors of known/null values of each kind.

func semValue(k semKind, s string) semStringValue {
	return semStringValue{StringValue: types.StringValue(s), kind: k}
}

func semNull(k semKind) semStringValue {
	return semStringValue{StringValue: types.StringNull(), kind: k}
}

// semOptional maps "" to null (the API's "" and a null config are the same).
func semOptional(k semKind, s string) semStringValue {
	if s == "" {
		return semNull(k)
	}
	return semValue(k, s)
}

// keepIfEquivalent returns prior when it means the same as s (so the state
// keeps the user's spelling), else s (with "" as null).
func keepIfEquivalent(prior semStringValue, k semKind, s string) semStringValue {
	if !prior.IsNull() && !prior.IsUnknown() && semanticEqual(k, prior.ValueString(), s) {
		return semValue(k, prior.ValueString())
	}
	return semOptional(k, s)
}

// requiresReplaceUnlessEquivalent is RequiresReplace, except when the new
// value means the same as the old one (`nrt` -> `NRT`, `2001:DB8::/64` ->
// `2001:db8::/64`): Terraform then shows an in-place update of the spelling.
func requiresReplaceUnlessEquivalent(k semKind) planmodifier.String {
	return stringplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
		st, ok1 := req.StateValue.ToStringValue(context.Background())
		pl, ok2 := req.PlanValue.ToStringValue(context.Background())
		if ok1.HasError() || ok2.HasError() || st.IsNull() || st.IsUnknown() || pl.IsNull() || pl.IsUnknown() {
			resp.RequiresReplace = true
			return
		}
		resp.RequiresReplace = !semanticEqual(k, st.ValueString(), pl.ValueString())
	}, "Changing the value replaces the resource (a different spelling of the same value does not).",
		"Changing the value replaces the resource (a different spelling of the same value does not).")
}
