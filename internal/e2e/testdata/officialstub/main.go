// Command officialstub stands in for the official Cloudflare provider
// (registry cloudflare/cloudflare) in the migration end-to-end test
// (internal/e2e/migrate_test.go), which cannot download it. It declares
// the attributes of cloudflare_teams_rule (v4) and
// cloudflare_zero_trust_gateway_policy (v5) that an egress rule uses, so
// Terraform can read a state holding them and plan the migration guide's
// `removed { lifecycle { destroy = false } }` blocks.
//
// It never talks to any API: Read keeps the state as it is, and Create,
// Update and Delete fail, so a migration step that would make the official
// provider write or delete anything fails the test instead of passing
// quietly.
package main

import (
	"context"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func main() {
	err := providerserver.Serve(context.Background(), func() provider.Provider { return &stub{} }, providerserver.ServeOpts{
		Address: "registry.terraform.io/cloudflare/cloudflare",
	})
	if err != nil {
		log.Fatal(err)
	}
}

type stub struct{}

func (*stub) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "cloudflare"
}

func (*stub) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = pschema.Schema{Attributes: map[string]pschema.Attribute{
		"api_token": pschema.StringAttribute{Optional: true, Sensitive: true},
		"base_url":  pschema.StringAttribute{Optional: true},
	}}
}

func (*stub) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {}

func (*stub) DataSources(context.Context) []func() datasource.DataSource { return nil }

func (*stub) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		func() resource.Resource { return &rule{typeName: "cloudflare_teams_rule", v4: true} },
		func() resource.Resource { return &rule{typeName: "cloudflare_zero_trust_gateway_policy"} },
	}
}

// rule is either official resource type: v4 writes rule_settings and egress
// as blocks (lists of one object), v5 as nested attributes.
type rule struct {
	typeName string
	v4       bool
}

func (r *rule) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = r.typeName
}

func (r *rule) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	str := func() schema.StringAttribute { return schema.StringAttribute{Optional: true} }
	egress := map[string]schema.Attribute{"ipv4": str(), "ipv6": str(), "ipv4_fallback": str()}
	s := schema.Schema{Attributes: map[string]schema.Attribute{
		"id":             schema.StringAttribute{Computed: true},
		"account_id":     str(),
		"name":           str(),
		"description":    str(),
		"precedence":     schema.Int64Attribute{Optional: true},
		"enabled":        schema.BoolAttribute{Optional: true},
		"action":         str(),
		"filters":        schema.ListAttribute{Optional: true, ElementType: types.StringType},
		"traffic":        str(),
		"identity":       str(),
		"device_posture": str(),
	}}
	if r.v4 {
		s.Blocks = map[string]schema.Block{"rule_settings": schema.ListNestedBlock{NestedObject: schema.NestedBlockObject{
			Blocks: map[string]schema.Block{"egress": schema.ListNestedBlock{NestedObject: schema.NestedBlockObject{Attributes: egress}}},
		}}}
	} else {
		s.Attributes["rule_settings"] = schema.SingleNestedAttribute{Optional: true, Attributes: map[string]schema.Attribute{
			"egress": schema.SingleNestedAttribute{Optional: true, Attributes: egress},
		}}
	}
	resp.Schema = s
}

func (r *rule) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

func (r *rule) Create(_ context.Context, _ resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.AddError("officialstub: create", r.typeName+": the migration must not create rules through the official provider")
}

func (r *rule) Update(_ context.Context, _ resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.AddError("officialstub: update", r.typeName+": the migration must not update rules through the official provider")
}

func (r *rule) Delete(_ context.Context, _ resource.DeleteRequest, resp *resource.DeleteResponse) {
	resp.Diagnostics.AddError("officialstub: delete", r.typeName+": the migration must not delete rules through the official provider")
}
