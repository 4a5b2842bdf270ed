package provider

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

var (
	_ resource.ResourceWithImportState = (*dedicatedEgressIPResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*dedicatedEgressIPResource)(nil)
)

// NewDedicatedEgressIPResource is the cfegress_dedicated_egress_ip resource.
func NewDedicatedEgressIPResource() resource.Resource { return &dedicatedEgressIPResource{} }

type dedicatedEgressIPResource struct{}

// dedicatedIPModel is the state of cfegress_dedicated_egress_ip. The
// dedicated_egress_ips attribute of cfegress_egress_policies has the same
// attributes, so a list of these resources can be passed to it as is.
type dedicatedIPModel struct {
	ID        types.String   `tfsdk:"id"`
	IPv4      semStringValue `tfsdk:"ipv4"`
	IPv6Range semStringValue `tfsdk:"ipv6_range"`
	Colo      semStringValue `tfsdk:"colo"`
	BYOIP     types.Bool     `tfsdk:"byoip"`
	City      types.String   `tfsdk:"city"`
	Country   types.String   `tfsdk:"country"`
	Latitude  types.Float64  `tfsdk:"latitude"`
	Longitude types.Float64  `tfsdk:"longitude"`
}

func (r *dedicatedEgressIPResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dedicated_egress_ip"
}

func (r *dedicatedEgressIPResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One dedicated egress location that Cloudflare allocated to the account: a static IPv4 address and its IPv6 range (usually a `/64`), both in one colo; Cloudflare's or the account's own (BYOIP, `byoip = true`).\n\n" +
			"This is **declared inventory**: Cloudflare provisions dedicated egress IPs through the account team and there is no public API to create or list them, so this resource makes **no API call**. " +
			"Declare each location your account team gave you and pass them to `cfegress_egress_policies.dedicated_egress_ips` (and to the `decide`/`lint` functions): plan-time validation then checks that policies only use the account's IPs, that fallbacks are in another colo, and simulates where traffic leaves.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<COLO>/<ipv4>`, for example `NRT/203.0.113.10`.",
				Computed:            true,
			},
			"ipv4": schema.StringAttribute{
				MarkdownDescription: "The dedicated IPv4 address, for example `203.0.113.10`. Changing it replaces the resource.",
				Required:            true,
				CustomType:          ipType,
				Validators:          []validator.String{ipv4Validator{allowUnspecified: false}},
				PlanModifiers:       []planmodifier.String{requiresReplaceUnlessEquivalent(kindIP)},
			},
			"ipv6_range": schema.StringAttribute{
				MarkdownDescription: "The IPv6 range that comes with the IPv4 address, for example `2001:db8:10::/64` (Cloudflare gives each account a `/64`). Any IPv6 prefix is accepted as Cloudflare shows it, host bits included (`2a06:98c1:54::c61/64` in Cloudflare's own API fixtures, a `/32` in its docs), and compared masked: `2001:DB8:10::1/64` is the same range as `2001:db8:10::/64`. Changing it replaces the resource.",
				Required:            true,
				CustomType:          cidrType,
				Validators:          []validator.String{ipv6RangeValidator{}},
				PlanModifiers:       []planmodifier.String{requiresReplaceUnlessEquivalent(kindCIDR)},
			},
			"colo": schema.StringAttribute{
				MarkdownDescription: "IATA code of the Cloudflare data center the IP is bound to (case-insensitive), for example `NRT`. Must be in the colo catalog (the `cfegress_colos` data source). Changing it replaces the resource.",
				Required:            true,
				CustomType:          coloType,
				Validators:          []validator.String{coloValidator{}},
				PlanModifiers:       []planmodifier.String{requiresReplaceUnlessEquivalent(kindColo)},
			},
			"byoip": schema.BoolAttribute{
				MarkdownDescription: byoipAttrDesc + " Defaults to `false`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"city": schema.StringAttribute{
				MarkdownDescription: "City of the colo, from the catalog.",
				Computed:            true,
			},
			"country": schema.StringAttribute{
				MarkdownDescription: "ISO 3166-1 alpha-2 country of the colo: the geolocation destinations see for this IP, unless `byoip` is true (BYOIP dedicated egress IPs have no IP geolocation).",
				Computed:            true,
			},
			"latitude": schema.Float64Attribute{
				MarkdownDescription: "Latitude of the colo.",
				Computed:            true,
			},
			"longitude": schema.Float64Attribute{
				MarkdownDescription: "Longitude of the colo.",
				Computed:            true,
			},
		},
	}
}

// fillComputed sets id, city, country, latitude and longitude from ipv4 and
// colo when they are known (they are then known at plan time).
func (m *dedicatedIPModel) fillComputed() {
	if m.Colo.IsUnknown() || m.Colo.IsNull() {
		return
	}
	colo, err := lookupColo(m.Colo.ValueString())
	if err != nil {
		return
	}
	m.City = types.StringValue(colo.City)
	m.Country = types.StringValue(colo.Country)
	m.Latitude = types.Float64Value(colo.Latitude)
	m.Longitude = types.Float64Value(colo.Longitude)
	if m.IPv4.IsUnknown() || m.IPv4.IsNull() {
		return
	}
	ip := m.IPv4.ValueString()
	if a, err := netip.ParseAddr(ip); err == nil {
		ip = a.String()
	}
	m.ID = types.StringValue(colo.Code + "/" + ip)
}

func (r *dedicatedEgressIPResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var m dedicatedIPModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.fillComputed()
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &m)...)
}

func (r *dedicatedEgressIPResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m dedicatedIPModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.fillComputed()
	tflog.Info(ctx, "declared dedicated egress IP (no API call: Cloudflare allocates these through the account team)", map[string]any{"id": m.ID.ValueString()})
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *dedicatedEgressIPResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m dedicatedIPModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.fillComputed()
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Update is never called with a change (every argument requires
// replacement); it only carries the plan over.
func (r *dedicatedEgressIPResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m dedicatedIPModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.fillComputed()
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *dedicatedEgressIPResource) Delete(ctx context.Context, _ resource.DeleteRequest, _ *resource.DeleteResponse) {
	tflog.Info(ctx, "removed dedicated egress IP from the declared inventory (no API call)")
}

// ImportState imports `ipv4,ipv6_range,colo` or `ipv4,ipv6_range,colo,byoip`.
func (r *dedicatedEgressIPResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, ",")
	byoip := false
	if len(parts) == 4 && strings.EqualFold(strings.TrimSpace(parts[3]), "byoip") {
		parts, byoip = parts[:3], true
	}
	if len(parts) != 3 {
		resp.Diagnostics.AddError("Invalid import ID",
			fmt.Sprintf("Import ID %q must be `ipv4,ipv6_range,colo` (add `,byoip` for a BYOIP address), for example `203.0.113.10,2001:db8:10::/64,NRT`.", req.ID))
		return
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	if err := checkIPv4(parts[0], false); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("ipv4 (first part of %q): %s", req.ID, err))
	}
	if err := checkIPv6Range(parts[1]); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("ipv6_range (second part of %q): %s", req.ID, err))
	}
	if _, err := lookupColo(parts[2]); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("colo (third part of %q): %s", req.ID, err))
	}
	if resp.Diagnostics.HasError() {
		return
	}
	m := dedicatedIPModel{
		IPv4:      semValue(kindIP, parts[0]),
		IPv6Range: semValue(kindCIDR, parts[1]),
		Colo:      semValue(kindColo, parts[2]),
		BYOIP:     types.BoolValue(byoip),
	}
	m.fillComputed()
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// byoipAttrDesc documents the byoip attribute of a dedicated egress IP.
const byoipAttrDesc = "Whether this is the account's own address (BYOIP) rather than a Cloudflare one. \"BYOIP dedicated egress IPs do not support IP geolocation\" (Cloudflare's dedicated egress IPs documentation): simulations then report `no_geolocation = true` and no `geo_country` for traffic leaving from it."

// lookupColo finds a colo in the engine's catalog (case-insensitive); the
// error suggests the closest codes.
func lookupColo(code string) (engine.Colo, error) {
	return engine.LookupColo(strings.TrimSpace(code))
}
