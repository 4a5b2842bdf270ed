package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// TestResourceSchemasDocumented: every attribute of the resources has a
// MarkdownDescription (the schema is the documentation).
func TestResourceSchemasDocumented(t *testing.T) {
	ctx := context.Background()
	for _, newRes := range []func() resource.Resource{NewDedicatedEgressIPResource, NewEgressPoliciesResource} {
		r := newRes()
		var md resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "cfegress"}, &md)
		var sr resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &sr)
		if sr.Diagnostics.HasError() {
			t.Fatalf("%s: %v", md.TypeName, sr.Diagnostics)
		}
		if d := sr.Schema.ValidateImplementation(ctx); d.HasError() {
			t.Fatalf("%s: %v", md.TypeName, d)
		}
		if strings.TrimSpace(sr.Schema.MarkdownDescription) == "" {
			t.Errorf("%s has no MarkdownDescription", md.TypeName)
		}
		checkDocumented(t, md.TypeName, sr.Schema.Attributes)
	}
}

func checkDocumented(t *testing.T, prefix string, attrs map[string]schema.Attribute) {
	t.Helper()
	for name, a := range attrs {
		p := prefix + "." + name
		if strings.TrimSpace(a.GetMarkdownDescription()) == "" {
			t.Errorf("%s has no MarkdownDescription", p)
		}
		switch x := a.(type) {
		case schema.ListNestedAttribute:
			checkDocumented(t, p, x.NestedObject.Attributes)
		case schema.SingleNestedAttribute:
			checkDocumented(t, p, x.Attributes)
		}
	}
}

// TestEgressPoliciesDestroyWarning: a destroy plan warns where unmatched
// traffic goes then.
func TestEgressPoliciesDestroyWarning(t *testing.T) {
	ctx := context.Background()
	r, ok := NewEgressPoliciesResource().(*egressPoliciesResource)
	if !ok {
		t.Fatalf("NewEgressPoliciesResource returned %T", NewEgressPoliciesResource())
	}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx)
	req := resource.ModifyPlanRequest{
		Plan:   tfsdk.Plan{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)},
		Config: tfsdk.Config{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)},
	}
	resp := resource.ModifyPlanResponse{Plan: req.Plan}
	r.ModifyPlan(ctx, req, &resp)
	if resp.Diagnostics.WarningsCount() != 1 || resp.Diagnostics.HasError() {
		t.Fatalf("diagnostics %v", resp.Diagnostics)
	}
	if d := resp.Diagnostics[0].Detail(); !strings.Contains(d, "nearest to the user's ingress colo") {
		t.Fatalf("warning detail %q", d)
	}
}
