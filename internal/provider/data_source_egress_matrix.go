package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

var _ datasource.DataSource = (*egressMatrixDataSource)(nil)

// NewEgressMatrixDataSource is cfegress_egress_matrix.
func NewEgressMatrixDataSource() datasource.DataSource { return &egressMatrixDataSource{} }

type egressMatrixDataSource struct{}

type egressMatrixModel struct {
	Policies     types.Dynamic    `tfsdk:"policies"`
	DedicatedIPs types.Dynamic    `tfsdk:"dedicated_ips"`
	IngressColos []types.String   `tfsdk:"ingress_colos"`
	ColosDown    []types.String   `tfsdk:"colos_down"`
	Rows         []matrixRowModel `tfsdk:"rows"`
	Text         types.String     `tfsdk:"text"`
}

type matrixRowModel struct {
	IngressColo types.String `tfsdk:"ingress_colo"`
	Scenario    types.String `tfsdk:"scenario"`
	Policy      types.String `tfsdk:"policy"`
	PolicyIndex types.Int64  `tfsdk:"policy_index"`
	Case        types.String `tfsdk:"case"`
	Destination types.String `tfsdk:"destination"`
	Proxied     types.Bool   `tfsdk:"proxied"`
	Outcome     types.String `tfsdk:"outcome"`
	Method      types.String `tfsdk:"method"`
	EgressColo  types.String `tfsdk:"egress_colo"`
	SourceIP    types.String `tfsdk:"source_ip"`
	GeoCountry  types.String `tfsdk:"geo_country"`
	NoGeo       types.Bool   `tfsdk:"no_geolocation"`
	Note        types.String `tfsdk:"note"`
}

func (d *egressMatrixDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_egress_matrix"
}

func (d *egressMatrixDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The egress matrix: for each ingress colo, and for \"no policy matched\" and each enabled dedicated policy, " +
			"where IPv4 grey, IPv4 orange, IPv6 grey and IPv6 orange traffic physically leaves Cloudflare, with which source IP and which geolocation. " +
			"Grey = destination not proxied by Cloudflare, orange = proxied. The representative user is local to the ingress colo. " +
			"A simulation: it reads nothing from the account and needs no credentials.",
		Attributes: map[string]schema.Attribute{
			"policies":      schema.DynamicAttribute{Optional: true, MarkdownDescription: simPoliciesAttrDesc + " Expressions are not evaluated: each enabled dedicated policy gets its own rows, as if it matched."},
			"dedicated_ips": schema.DynamicAttribute{Optional: true, MarkdownDescription: simDedicatedIPsAttrDesc},
			"ingress_colos": schema.ListAttribute{
				Required: true, ElementType: types.StringType,
				MarkdownDescription: "IATA codes of the ingress colos (where users connect), e.g. `[\"KIX\", \"LAX\"]`.",
			},
			"colos_down": schema.ListAttribute{
				Optional: true, ElementType: types.StringType,
				MarkdownDescription: "IATA codes of colos to treat as down (shows the `ipv4_fallback` at work).",
			},
			"text": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The same matrix as a plain-text table for people (`terraform output -raw`), with a header that explains the columns.",
			},
			"rows": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The matrix, four rows (the four cases) per ingress colo and scenario.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"ingress_colo":   str("The ingress colo."),
					"scenario":       str("`no match` or `policy`."),
					"policy":         str("The policy's name (scenario `policy`); null for no match."),
					"policy_index":   schema.Int64Attribute{Computed: true, MarkdownDescription: "The policy's index in `policies`; null for no match."},
					"case":           str("`IPv4 grey`, `IPv4 orange`, `IPv6 grey` or `IPv6 orange`."),
					"destination":    str("`IPv4` or `IPv6`."),
					"proxied":        schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the destination is proxied by Cloudflare (orange)."},
					"outcome":        str("The decision's outcome (`policy`, `no_match`, `unavailable`)."),
					"method":         str("`dedicated` or `default`."),
					"egress_colo":    str("The colo the traffic physically leaves from; null when unavailable."),
					"source_ip":      str("The source IP the destination sees: a dedicated IPv4 or IPv6 range; null for the shared pool."),
					"geo_country":    str("The country the destination geolocates the traffic to; null when there is none (`no_geolocation`)."),
					"no_geolocation": schema.BoolAttribute{Computed: true, MarkdownDescription: "True when the source IP is a BYOIP dedicated egress IP (`byoip = true`): BYOIP dedicated egress IPs do not support IP geolocation."},
					"note":           str("What a newcomer would not guess (fallbacks, shared load, shared pool); null when nothing."),
				}},
			},
		},
	}
}

func (d *egressMatrixDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m egressMatrixModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	sim, eps, err := decodeSimulation(ctx, m.Policies, "policies", m.DedicatedIPs, "dedicated_ips")
	if err != nil {
		resp.Diagnostics.Append(simulationInputDiag(err))
		return
	}
	if sim.unknown != "" {
		resp.Diagnostics.AddAttributeError(path.Root("policies"), "Value not known", sim.unknown+" is not known yet; a data source is read once its inputs are known.")
		return
	}
	var ingress []string
	for _, c := range m.IngressColos {
		ingress = append(ingress, strings.ToUpper(strings.TrimSpace(c.ValueString())))
	}
	down := engine.ColoSet{}
	for i, c := range m.ColosDown {
		code := strings.ToUpper(strings.TrimSpace(c.ValueString()))
		if _, err := engine.LookupColo(code); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("colos_down").AtListIndex(i), "Unknown colo", err.Error())
			return
		}
		down[code] = true
	}
	eng, err := engine.CompileNamed(eps, sim.inv, "dedicated_ips") // errors name this data source's attribute
	var rows []engine.MatrixRow
	if err == nil {
		rows, err = eng.Matrix(ingress, down)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot build the egress matrix", err.Error())
		return
	}
	m.Text = types.StringValue(engine.FormatMatrix(rows))
	m.Rows = make([]matrixRowModel, 0, len(rows))
	for _, r := range rows {
		row := matrixRowModel{
			IngressColo: types.StringValue(r.IngressColo),
			Scenario:    types.StringValue(r.Scenario),
			Policy:      types.StringNull(),
			PolicyIndex: types.Int64Null(),
			Case:        types.StringValue(r.Case),
			Destination: types.StringValue(r.Destination),
			Proxied:     types.BoolValue(r.Proxied),
			Outcome:     types.StringValue(string(r.Outcome)),
			Method:      strOrNull(string(r.Method)),
			EgressColo:  strOrNull(r.EgressColo),
			SourceIP:    strOrNull(r.SourceIP),
			GeoCountry:  strOrNull(r.GeoCountry),
			NoGeo:       types.BoolValue(r.NoGeolocation),
			Note:        strOrNull(r.Note),
		}
		if r.PolicyIndex >= 0 {
			row.Policy, row.PolicyIndex = types.StringValue(r.PolicyName), types.Int64Value(int64(r.PolicyIndex))
		}
		m.Rows = append(m.Rows, row)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
