// Package provider is the Terraform surface of cfegress: thin glue over the
// decision engine (internal/engine), the expression analyser
// (internal/engine/expr) and the API layer (internal/cfapi).
package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

var (
	_ provider.Provider              = (*cfegressProvider)(nil)
	_ provider.ProviderWithFunctions = (*cfegressProvider)(nil)
)

// Defaults of the provider configuration.
const (
	defaultBaseURL           = "https://api.cloudflare.com/client/v4"
	defaultMaxRetries        = 4
	defaultRequestsPerSecond = 4

	envAPIToken  = "CLOUDFLARE_API_TOKEN"
	envAccountID = "CLOUDFLARE_ACCOUNT_ID"
	envBaseURL   = "CLOUDFLARE_BASE_URL"
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

// providerData is what Configure hands to resources and data sources
// (resp.ResourceData / resp.DataSourceData). Configure never fails for lack
// of credentials: functions and validation work offline, and a resource that
// needs the API calls needClient, which turns err into a diagnostic then.
type providerData struct {
	// client is nil when err != nil or unknown is true.
	client cfapi.Client
	// accountID is the provider's default account ("" when not set).
	accountID string
	// unknown: part of the provider configuration is not known yet (plan
	// with values computed from other resources). The API is not available
	// during this plan; apply configures the provider again with values.
	unknown bool
	// err says why there is no client (no token, bad base URL, ...).
	err error
}

// errNoToken is the error of a provider configured without a token.
var errNoToken = errors.New("cfegress needs an API token: set api_token in the provider block or the CLOUDFLARE_API_TOKEN environment variable")

// needClient returns the API client, or an error a user can act on.
func (d *providerData) needClient() (cfapi.Client, error) {
	switch {
	case d == nil:
		return nil, errNoToken
	case d.unknown:
		return nil, errors.New("the cfegress provider configuration is not known yet (it depends on values computed during apply)")
	case d.err != nil:
		return nil, d.err
	case d.client == nil:
		return nil, errNoToken
	}
	return d.client, nil
}

// available reports whether the API can be called now (known, valid config).
func (d *providerData) available() bool {
	return d != nil && !d.unknown && d.err == nil && d.client != nil
}

func (p *cfegressProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "cfegress"
	resp.Version = p.version
}

func (p *cfegressProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manage Cloudflare Zero Trust dedicated egress IPs and the ordered egress policies that choose where traffic leaves Cloudflare, with the mistakes caught at `terraform plan`.\n\n" +
			"No credentials are needed for the provider functions, the simulation data sources and plan-time validation; the API token is only used by resources and data sources that read or write the account.",
		Attributes: map[string]schema.Attribute{
			"api_token": schema.StringAttribute{
				MarkdownDescription: "Cloudflare API token with the *Zero Trust: Edit* permission on the account. May also be set with the `CLOUDFLARE_API_TOKEN` environment variable. Never logged.",
				Optional:            true,
				Sensitive:           true,
			},
			"account_id": schema.StringAttribute{
				MarkdownDescription: "Default Cloudflare account ID for resources and data sources that do not set their own `account_id`. May also be set with the `CLOUDFLARE_ACCOUNT_ID` environment variable.",
				Optional:            true,
			},
			"base_url": schema.StringAttribute{
				MarkdownDescription: "Cloudflare API base URL. May also be set with the `CLOUDFLARE_BASE_URL` environment variable. Defaults to `" + defaultBaseURL + "`; point it at the `cfegress-emulator` for offline use.",
				Optional:            true,
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many times a rate-limited (429, honouring `Retry-After`) or failed (5xx, dropped connection) request is retried. `0` disables retries. Defaults to %d.", defaultMaxRetries),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(0, 100)},
			},
			"requests_per_second": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Client-side rate limit in requests per second; must be greater than 0. Defaults to %d (Cloudflare allows 1,200 requests per 5 minutes).", defaultRequestsPerSecond),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
		},
	}
}

func (p *cfegressProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := configureData(ctx, m, os.Getenv)
	resp.ResourceData = data
	resp.DataSourceData = data
}

// configureData turns the provider configuration (and the environment) into
// providerData. It never fails: problems are kept in providerData.err.
func configureData(ctx context.Context, m providerModel, getenv func(string) string) *providerData {
	if m.APIToken.IsUnknown() || m.AccountID.IsUnknown() || m.BaseURL.IsUnknown() ||
		m.MaxRetries.IsUnknown() || m.RequestsPerSecond.IsUnknown() {
		tflog.Debug(ctx, "cfegress provider configuration has unknown values; the API is not used during this plan")
		return &providerData{unknown: true}
	}
	d := &providerData{accountID: stringOr(m.AccountID, getenv(envAccountID))}
	token := stringOr(m.APIToken, getenv(envAPIToken))
	baseURL := stringOr(m.BaseURL, getenv(envBaseURL))
	if baseURL == "" {
		baseURL = defaultBaseURL
	}
	retries := int64(defaultMaxRetries)
	if !m.MaxRetries.IsNull() {
		retries = m.MaxRetries.ValueInt64()
	}
	rps := int64(defaultRequestsPerSecond)
	if !m.RequestsPerSecond.IsNull() {
		rps = m.RequestsPerSecond.ValueInt64()
	}
	ctx = tflog.SetField(ctx, "base_url", baseURL)
	if token == "" {
		tflog.Debug(ctx, "cfegress provider configured without an API token; only offline features are available")
		d.err = errNoToken
		return d
	}
	client, err := newAPIClient(ctx, apiConfig{
		token:             token,
		baseURL:           baseURL,
		requestsPerSecond: float64(rps),
		maxRetries:        int(retries),
	})
	if err != nil {
		d.err = fmt.Errorf("cannot configure the Cloudflare API client (base_url %q): %s", baseURL, redact(err.Error(), token))
		return d
	}
	d.client = client
	tflog.Debug(ctx, "cfegress provider configured", map[string]any{
		"account_id":          d.accountID,
		"max_retries":         strconv.FormatInt(retries, 10),
		"requests_per_second": strconv.FormatInt(rps, 10),
	})
	return d
}

// stringOr returns v's value, or fallback when v is null or "".
func stringOr(v types.String, fallback string) string {
	if !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" {
		return v.ValueString()
	}
	return fallback
}

func (p *cfegressProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewDedicatedEgressIPResource,
		NewEgressPoliciesResource,
	}
}

// DataSources lists the data sources (registered in registry_simulation.go).
func (p *cfegressProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return dataSourceConstructors()
}

// Functions lists the provider functions (registered in registry_simulation.go).
func (p *cfegressProvider) Functions(_ context.Context) []func() function.Function {
	return functionConstructors()
}
