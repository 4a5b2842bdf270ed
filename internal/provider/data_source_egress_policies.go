package provider

import (
	"context"
	"fmt"
	"net/netip"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

var (
	_ datasource.DataSource              = (*egressPoliciesDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*egressPoliciesDataSource)(nil)
)

// NewEgressPoliciesDataSource is cfegress_egress_policies (data source): the
// account's egress rules as they are, in order.
func NewEgressPoliciesDataSource() datasource.DataSource { return &egressPoliciesDataSource{} }

type egressPoliciesDataSource struct {
	data *providerData
}

type egressPoliciesDSModel struct {
	AccountID     types.String          `tfsdk:"account_id"`
	Policies      []egressPolicyDSModel `tfsdk:"policies"`
	DedicatedIPv4 []types.String        `tfsdk:"dedicated_ipv4"`
	DedicatedIPv6 []types.String        `tfsdk:"dedicated_ipv6"`
}

type egressPolicyDSModel struct {
	ID            types.String  `tfsdk:"id"`
	Precedence    types.Int64   `tfsdk:"precedence"`
	Name          types.String  `tfsdk:"name"`
	Description   types.String  `tfsdk:"description"`
	Enabled       types.Bool    `tfsdk:"enabled"`
	Traffic       types.String  `tfsdk:"traffic"`
	Identity      types.String  `tfsdk:"identity"`
	DevicePosture types.String  `tfsdk:"device_posture"`
	Egress        egressDSModel `tfsdk:"egress"`
	ReadOnly      types.Bool    `tfsdk:"read_only"`
	SourceAccount types.String  `tfsdk:"source_account"`
	WarningStatus types.String  `tfsdk:"warning_status"`
}

type egressDSModel struct {
	Method       types.String `tfsdk:"method"`
	IPv4         types.String `tfsdk:"ipv4"`
	IPv6         types.String `tfsdk:"ipv6"`
	IPv4Fallback types.String `tfsdk:"ipv4_fallback"`
}

func (d *egressPoliciesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_egress_policies"
}

func (d *egressPoliciesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The account's Gateway egress policies as they are, in evaluation order (lowest precedence first), and the dedicated egress IPs they use. " +
			"Read-only: it never changes the account. `policies` has the shape of the `cfegress_egress_policies` resource's `policies`, " +
			"so it can be passed as is to `provider::cfegress::decide`, `provider::cfegress::lint`, `cfegress_egress_decision` and `cfegress_egress_matrix`. " +
			"Needs the API token.",
		Attributes: map[string]schema.Attribute{
			"account_id": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Cloudflare account ID. Defaults to the provider's `account_id`.",
			},
			"policies": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The account's egress policies in evaluation order, those shared by a parent account (`read_only`) included: Gateway evaluates them with the others. Other Gateway rules (DNS, network, HTTP) are not listed.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":             str("Cloudflare rule ID."),
					"precedence":     schema.Int64Attribute{Computed: true, MarkdownDescription: "Cloudflare precedence (lower runs first; shared with the account's other Gateway rules)."},
					"name":           str("Policy name."),
					"description":    str("Description; null when empty."),
					"enabled":        schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the policy is enabled."},
					"traffic":        str("Traffic expression as Cloudflare stores it; null when empty."),
					"identity":       str("Identity expression; null when empty."),
					"device_posture": str("Device posture expression; null when empty."),
					"egress": schema.SingleNestedAttribute{
						Computed:            true,
						MarkdownDescription: "Egress method and IPs.",
						Attributes: map[string]schema.Attribute{
							"method":        str("`dedicated` (the rule has egress IPs) or `default` (shared pool)."),
							"ipv4":          str("Primary dedicated IPv4; null for default."),
							"ipv6":          str("Dedicated IPv6 range; null when unset."),
							"ipv4_fallback": str("Secondary IPv4 (`0.0.0.0` = fall back to default egress); null when the rule has none (legacy rules)."),
						},
					},
					"read_only":      schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the rule is shared by a parent account (Cloudflare's `read_only`: \"shared via the Orgs API and read only\"). `cfegress_egress_policies` never writes such a rule and does not list it in its `policies`."},
					"source_account": str("The account that created the rule (Cloudflare's `source_account`); null when Cloudflare does not say."),
					"warning_status": str("Cloudflare's warning on a rule it considers misconfigured (`warning_status`); null when none."),
				}},
			},
			"dedicated_ipv4": schema.ListAttribute{
				Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The dedicated IPv4 addresses the policies use (primary and fallback, without `0.0.0.0`), sorted. There is no public API that lists an account's dedicated egress IPs or their colos: declare them as `cfegress_dedicated_egress_ip`.",
			},
			"dedicated_ipv6": schema.ListAttribute{
				Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The dedicated IPv6 ranges the policies use, sorted.",
			},
		},
	}
}

func (d *egressPoliciesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	pd, ok := req.ProviderData.(*providerData)
	if !ok {
		resp.Diagnostics.AddError("Unexpected provider data", fmt.Sprintf("expected *providerData, got %T: this is a bug in the provider", req.ProviderData))
		return
	}
	d.data = pd
}

func (d *egressPoliciesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m egressPoliciesDSModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	account := m.AccountID.ValueString()
	if account == "" && d.data != nil {
		account = d.data.accountID
	}
	if account == "" {
		resp.Diagnostics.AddAttributeError(path.Root("account_id"), "Missing account ID",
			"cfegress_egress_policies needs an account: set account_id on the data source, account_id in the provider block, or the CLOUDFLARE_ACCOUNT_ID environment variable.")
		return
	}
	client, err := d.data.needClient()
	if err != nil {
		resp.Diagnostics.AddError("Cloudflare API not available", err.Error())
		return
	}
	rules, err := reconcile.Read(ctx, client, account)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the account's egress policies", err.Error())
		return
	}
	tflog.Debug(ctx, "read egress policies", map[string]any{"account_id": account, "egress_rules": len(rules)})
	m.AccountID = types.StringValue(account)
	m.Policies, m.DedicatedIPv4, m.DedicatedIPv6 = dsPoliciesFromRules(rules)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// dsPoliciesFromRules converts egress rules (in order) to the data source's
// policies and the dedicated IPs they use.
func dsPoliciesFromRules(rules []cfapi.Rule) ([]egressPolicyDSModel, []types.String, []types.String) {
	out := make([]egressPolicyDSModel, 0, len(rules))
	v4s, v6s := map[string]bool{}, map[string]bool{}
	addV4 := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil && !a.IsUnspecified() {
			v4s[a.String()] = true
		}
	}
	for _, r := range rules {
		p := egressPolicyDSModel{
			ID:            types.StringValue(r.ID),
			Precedence:    types.Int64Value(int64(r.Precedence)),
			Name:          types.StringValue(r.Name),
			Description:   strOrNull(r.Description),
			Enabled:       types.BoolValue(r.Enabled),
			Traffic:       strOrNull(r.Traffic),
			Identity:      strOrNull(r.Identity),
			DevicePosture: strOrNull(r.DevicePosture),
			Egress: egressDSModel{
				Method: types.StringValue(string(engine.MethodDefault)),
				IPv4:   types.StringNull(), IPv6: types.StringNull(), IPv4Fallback: types.StringNull(),
			},
			ReadOnly:      types.BoolValue(r.ReadOnly),
			SourceAccount: strOrNull(r.SourceAccount),
			WarningStatus: strOrNull(r.WarningStatus),
		}
		if e := r.Egress; e != nil && (e.IPv4 != "" || e.IPv6 != "" || e.IPv4Fallback != "") {
			p.Egress = egressDSModel{
				Method: types.StringValue(string(engine.MethodDedicated)),
				IPv4:   strOrNull(e.IPv4), IPv6: strOrNull(e.IPv6), IPv4Fallback: strOrNull(e.IPv4Fallback),
			}
			addV4(e.IPv4)
			addV4(e.IPv4Fallback)
			if pr, err := netip.ParsePrefix(e.IPv6); err == nil {
				v6s[pr.Masked().String()] = true
			}
		}
		out = append(out, p)
	}
	return out, dsSortedIPs(v4s), dsSortedIPs(v6s)
}

func dsSortedIPs(set map[string]bool) []types.String {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, errA := netip.ParsePrefix(keys[i])
		b, errB := netip.ParsePrefix(keys[j])
		if errA == nil && errB == nil {
			return a.Addr().Less(b.Addr())
		}
		x, errX := netip.ParseAddr(keys[i])
		y, errY := netip.ParseAddr(keys[j])
		if errX == nil && errY == nil {
			return x.Less(y)
		}
		return keys[i] < keys[j]
	})
	out := make([]types.String, len(keys))
	for i, k := range keys {
		out[i] = types.StringValue(k)
	}
	return out
}
