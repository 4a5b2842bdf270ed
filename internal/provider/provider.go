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
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

var (
	_ provider.Provider              = (*cfegressProvider)(nil)
	_ provider.ProviderWithFunctions = (*cfegressProvider)(nil)
)

// Defaults of the provider configuration.
const (
	defaultBaseURL             = cfapi.DefaultBaseURL
	defaultMaxRetries          = 4
	defaultRequestsPer5Minutes = cfapi.DefaultRequestsPer5Minutes
	defaultMaxConcurrentWrites = reconcile.DefaultMaxConcurrentWrites
	// defaultMaxPolicies is Cloudflare's limit of egress policies per
	// account: "Egress policies per account | 500", "These limits may be
	// increased on Enterprise accounts" (Cloudflare One account limits,
	// developers.cloudflare.com/cloudflare-one/account-limits/,
	// cloudflare/cloudflare-docs src/content/docs/cloudflare-one/account-limits.mdx).
	defaultMaxPolicies = 500

	envAPIToken            = "CLOUDFLARE_API_TOKEN"
	envAccountID           = "CLOUDFLARE_ACCOUNT_ID"
	envBaseURL             = "CLOUDFLARE_BASE_URL"
	envRequestsPer5Minutes = "CFEGRESS_REQUESTS_PER_5_MINUTES"
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
	APIToken            types.String `tfsdk:"api_token"`
	AccountID           types.String `tfsdk:"account_id"`
	BaseURL             types.String `tfsdk:"base_url"`
	MaxRetries          types.Int64  `tfsdk:"max_retries"`
	RequestsPer5Minutes types.Int64  `tfsdk:"requests_per_5_minutes"`
	RequestsPerSecond   types.Int64  `tfsdk:"requests_per_second"`
	MaxConcurrentWrites types.Int64  `tfsdk:"max_concurrent_writes"`
	MaxPolicies         types.Int64  `tfsdk:"max_policies"`
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
	// settingErr is a setting Configure reports as an error at once.
	settingErr *settingError
	// maxConcurrentWrites and maxPolicies are the provider's settings (0:
	// the defaults).
	maxConcurrentWrites int
	maxPolicies         int
}

// policyLimit is the account's limit of egress policies.
func (d *providerData) policyLimit() int {
	if d == nil || d.maxPolicies <= 0 {
		return defaultMaxPolicies
	}
	return d.maxPolicies
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
				MarkdownDescription: "Cloudflare API token. It needs to read every Gateway rule of the account (the account permission *" + cfapi.PermissionZeroTrustRead + "*, or the role *" + cfapi.RoleGatewayPoliciesRead + "*) so that egress policies keep clear of the other rules' precedence numbers, and to write egress policies (*" + cfapi.PermissionZeroTrustEdit + "*, or the role *" + cfapi.RoleGatewayEgressPoliciesAdmin + "*). May also be set with the `CLOUDFLARE_API_TOKEN` environment variable. Never logged, and never sent over plain `http://` except to a loopback address.",
				Optional:            true,
				Sensitive:           true,
			},
			"account_id": schema.StringAttribute{
				MarkdownDescription: "Default Cloudflare account ID for resources and data sources that do not set their own `account_id`. May also be set with the `CLOUDFLARE_ACCOUNT_ID` environment variable.",
				Optional:            true,
			},
			"base_url": schema.StringAttribute{
				MarkdownDescription: "Cloudflare API base URL. May also be set with the `CLOUDFLARE_BASE_URL` environment variable. Defaults to `" + defaultBaseURL + "`; point it at the `cfegress-emulator` for offline use. It must be `https://`, or `http://` to a loopback address (`127.0.0.1`, `[::1]`, `localhost`): the API token is never sent unencrypted over the network. Redirects to another host are never followed.",
				Optional:            true,
				Validators:          []validator.String{baseURLValidator{}},
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many times a rate-limited (429, honouring `Retry-After`) or failed (5xx, dropped connection) request is retried. `0` disables retries. Defaults to %d.", defaultMaxRetries),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(0, 100)},
			},
			"requests_per_5_minutes": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("The provider's request budget: at most this many API requests (retries included) in any sliding 5-minute window, shared by everything one provider instance does. Requests go out at once while the window has room, so bursts are not slowed down. Defaults to %d, half of Cloudflare's limit of %s requests per 5 minutes per user, which the dashboard and every other tool using the same user's credentials share; past it Cloudflare blocks every call for 5 minutes. Raise it if Cloudflare raised your limit, lower it if other automation shares the token. May also be set with the `%s` environment variable. When Cloudflare answers 429, the provider waits for its `Retry-After` (up to the 5-minute lockout) within the resource's timeouts, logging its progress.",
					defaultRequestsPer5Minutes, "1,200", envRequestsPer5Minutes),
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"max_concurrent_writes": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many API writes an apply keeps in flight at once (1 to 32; default %d). Writes run together only when their order cannot matter: they touch policies that no flow matches together (decided from their expressions), and each leaves every intermediate list make-before-break; the rest are written one after the other, in the safe order. `1` writes one at a time. All writes share the `requests_per_5_minutes` budget. With 50 ms of API latency, creating 500 policies takes about 27 s one at a time and 7 s at the default.", defaultMaxConcurrentWrites),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, 32)},
			},
			"max_policies": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("The account's limit of egress policies, checked at plan time: a `cfegress_egress_policies` with more policies is a plan error instead of a failed apply. Defaults to %d, Cloudflare's limit per account; Enterprise accounts can have it raised by Cloudflare: then set the raised limit here. At the limit, an apply that replaces policies deletes before it creates.", defaultMaxPolicies),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"requests_per_second": schema.Int64Attribute{
				MarkdownDescription: "An optional extra cap on the request rate, in requests per second, on top of `requests_per_5_minutes` (which allows bursts); must be greater than 0. Unset by default: only the 5-minute budget applies. Cloudflare also limits each client IP to 200 requests per second.",
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
	// Settings that are wrong whatever the resource: an error now, naming
	// the attribute (or the environment variable it came from).
	if data.settingErr != nil {
		resp.Diagnostics.AddAttributeError(path.Root(data.settingErr.attribute), data.settingErr.summary, data.settingErr.detail)
		return
	}
	resp.ResourceData = data
	resp.DataSourceData = data
}

// settingError is a provider setting that cannot be used at all.
type settingError struct {
	attribute, summary, detail string
}

// baseURLValidator refuses a base_url the token may not be sent to (plain
// http:// to a host that is not a loopback address), at validate and plan.
type baseURLValidator struct{}

func (baseURLValidator) Description(context.Context) string {
	return "an https:// URL, or http:// to a loopback address"
}

func (v baseURLValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (baseURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() || req.ConfigValue.ValueString() == "" {
		return
	}
	if err := cfapi.CheckBaseURL(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid base_url", err.Error())
	}
}

// configureData turns the provider configuration (and the environment) into
// providerData. It never fails: problems are kept in providerData.err.
func configureData(ctx context.Context, m providerModel, getenv func(string) string) *providerData {
	if m.APIToken.IsUnknown() || m.AccountID.IsUnknown() || m.BaseURL.IsUnknown() ||
		m.MaxRetries.IsUnknown() || m.RequestsPer5Minutes.IsUnknown() || m.RequestsPerSecond.IsUnknown() ||
		m.MaxConcurrentWrites.IsUnknown() || m.MaxPolicies.IsUnknown() {
		tflog.Debug(ctx, "cfegress provider configuration has unknown values; the API is not used during this plan")
		return &providerData{unknown: true}
	}
	d := &providerData{accountID: stringOr(m.AccountID, getenv(envAccountID))}
	if !m.MaxConcurrentWrites.IsNull() {
		d.maxConcurrentWrites = int(m.MaxConcurrentWrites.ValueInt64())
	}
	if !m.MaxPolicies.IsNull() {
		d.maxPolicies = int(m.MaxPolicies.ValueInt64())
	}
	token := stringOr(m.APIToken, getenv(envAPIToken))
	baseURL := stringOr(m.BaseURL, getenv(envBaseURL))
	if baseURL == "" {
		baseURL = defaultBaseURL
	}
	if err := cfapi.CheckBaseURL(baseURL); err != nil {
		from := "base_url"
		if stringOr(m.BaseURL, "") == "" {
			from = "base_url (from the " + envBaseURL + " environment variable)"
		}
		d.err = fmt.Errorf("cannot configure the Cloudflare API client: %s", err)
		d.settingErr = &settingError{attribute: "base_url", summary: "Invalid base_url",
			detail: fmt.Sprintf("%s: %s", from, err)}
		return d
	}
	retries := int64(defaultMaxRetries)
	if !m.MaxRetries.IsNull() {
		retries = m.MaxRetries.ValueInt64()
	}
	budget := int64(defaultRequestsPer5Minutes)
	switch {
	case !m.RequestsPer5Minutes.IsNull():
		budget = m.RequestsPer5Minutes.ValueInt64()
	case getenv(envRequestsPer5Minutes) != "":
		n, err := strconv.ParseInt(strings.TrimSpace(getenv(envRequestsPer5Minutes)), 10, 32)
		if err != nil || n < 1 {
			d.err = fmt.Errorf("%s=%q is not a positive whole number", envRequestsPer5Minutes, getenv(envRequestsPer5Minutes))
			d.settingErr = &settingError{attribute: "requests_per_5_minutes", summary: "Invalid requests_per_5_minutes",
				detail: fmt.Sprintf("requests_per_5_minutes from the %s environment variable is %q: it must be a whole number of requests, at least 1 (default %d).",
					envRequestsPer5Minutes, getenv(envRequestsPer5Minutes), defaultRequestsPer5Minutes)}
			return d
		}
		budget = n
	}
	var rps int64 // 0: no per-second cap
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
		token:               token,
		baseURL:             baseURL,
		requestsPer5Minutes: int(budget),
		requestsPerSecond:   float64(rps),
		maxRetries:          int(retries),
	})
	if err != nil {
		d.err = fmt.Errorf("cannot configure the Cloudflare API client (base_url %q): %s", baseURL, redact(err.Error(), token))
		return d
	}
	d.client = client
	tflog.Debug(ctx, "cfegress provider configured", map[string]any{
		"account_id":             d.accountID,
		"max_retries":            strconv.FormatInt(retries, 10),
		"requests_per_5_minutes": strconv.FormatInt(budget, 10),
		"requests_per_second":    strconv.FormatInt(rps, 10),
		"max_concurrent_writes":  strconv.Itoa(d.maxConcurrentWrites),
		"max_policies":           strconv.Itoa(d.policyLimit()),
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
