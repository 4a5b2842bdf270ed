// Package provider is the Terraform surface of cfegress: thin glue over the
// decision engine (internal/engine), the expression analyser
// (internal/engine/expr) and the API layer (internal/cfapi).
package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ provider.Provider              = (*cfegressProvider)(nil)
	_ provider.ProviderWithFunctions = (*cfegressProvider)(nil)
)

// New returns a constructor for the provider at the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &cfegressProvider{version: version}
	}
}

type cfegressProvider struct {
	version string
}

type providerModel struct {
	APIToken          types.String `tfsdk:"api_token"`
	AccountID         types.String `tfsdk:"account_id"`
	BaseURL           types.String `tfsdk:"base_url"`
	MaxRetries        types.Int64  `tfsdk:"max_retries"`
	RequestsPerSecond types.Int64  `tfsdk:"requests_per_second"`
}

func (p *cfegressProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "cfegress"
	resp.Version = p.version
}

func (p *cfegressProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manage Cloudflare Zero Trust dedicated egress IPs and the ordered egress policies that choose where traffic leaves Cloudflare, with the mistakes caught at `terraform plan`.",
		Attributes: map[string]schema.Attribute{
			"api_token": schema.StringAttribute{
				MarkdownDescription: "Cloudflare API token with Zero Trust edit permission. May also be set with `CLOUDFLARE_API_TOKEN`.",
				Optional:            true,
				Sensitive:           true,
			},
			"account_id": schema.StringAttribute{
				MarkdownDescription: "Default Cloudflare account ID for resources. May also be set with `CLOUDFLARE_ACCOUNT_ID`.",
				Optional:            true,
			},
			"base_url": schema.StringAttribute{
				MarkdownDescription: "Cloudflare API base URL. May also be set with `CLOUDFLARE_BASE_URL`. Defaults to `https://api.cloudflare.com/client/v4`.",
				Optional:            true,
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: "How many times a rate-limited (429) or failed (5xx, dropped connection) request is retried. Defaults to 4.",
				Optional:            true,
			},
			"requests_per_second": schema.Int64Attribute{
				MarkdownDescription: "Client-side rate limit. Defaults to 4 (Cloudflare allows 1,200 requests per 5 minutes).",
				Optional:            true,
			},
		},
	}
}

func (p *cfegressProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
}

func (p *cfegressProvider) Resources(_ context.Context) []func() resource.Resource {
	return nil
}

// DataSources lists the data sources (registered in registry_simulation.go).
func (p *cfegressProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return dataSourceConstructors()
}

// Functions lists the provider functions (registered in registry_simulation.go).
func (p *cfegressProvider) Functions(_ context.Context) []func() function.Function {
	return functionConstructors()
}
