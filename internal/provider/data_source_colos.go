package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

var _ datasource.DataSource = (*colosDataSource)(nil)

// NewColosDataSource is cfegress_colos: the embedded colo catalog.
func NewColosDataSource() datasource.DataSource { return &colosDataSource{} }

type colosDataSource struct{}

type colosModel struct {
	Country   types.String `tfsdk:"country"`
	Continent types.String `tfsdk:"continent"`
	Colos     []coloModel  `tfsdk:"colos"`
	Codes     types.List   `tfsdk:"codes"`
}

type coloModel struct {
	Code      types.String  `tfsdk:"code"`
	City      types.String  `tfsdk:"city"`
	Country   types.String  `tfsdk:"country"`
	Continent types.String  `tfsdk:"continent"`
	Latitude  types.Float64 `tfsdk:"latitude"`
	Longitude types.Float64 `tfsdk:"longitude"`
}

var continents = []string{"AF", "AN", "AS", "EU", "NA", "OC", "SA"}

func (d *colosDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_colos"
}

func (d *colosDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The colo catalog the engine uses: Cloudflare's data-center cities with their IATA code, country, continent and airport coordinates " +
			"(embedded in the provider, built from public lists of Cloudflare colos; the source is named in `internal/engine/colos.csv`). " +
			"Distances between colos are great-circle kilometres between these coordinates. Needs no credentials.",
		Attributes: map[string]schema.Attribute{
			"country": schema.StringAttribute{
				MarkdownDescription: "Only colos in this country (ISO 3166-1 alpha-2, e.g. `JP`).",
				Optional:            true,
			},
			"continent": schema.StringAttribute{
				MarkdownDescription: "Only colos on this continent: one of `" + strings.Join(continents, "`, `") + "`.",
				Optional:            true,
			},
			"codes": schema.ListAttribute{
				MarkdownDescription: "The IATA codes of the selected colos, sorted.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"colos": schema.ListNestedAttribute{
				MarkdownDescription: "The selected colos, sorted by code.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"code":      schema.StringAttribute{Computed: true, MarkdownDescription: "IATA code, e.g. `NRT`."},
					"city":      schema.StringAttribute{Computed: true, MarkdownDescription: "City."},
					"country":   schema.StringAttribute{Computed: true, MarkdownDescription: "ISO 3166-1 alpha-2 country."},
					"continent": schema.StringAttribute{Computed: true, MarkdownDescription: "Continent (two letters)."},
					"latitude":  schema.Float64Attribute{Computed: true, MarkdownDescription: "Latitude of the city's airport, decimal degrees."},
					"longitude": schema.Float64Attribute{Computed: true, MarkdownDescription: "Longitude of the city's airport, decimal degrees."},
				}},
			},
		},
	}
}

func (d *colosDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m colosModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	country := strings.ToUpper(strings.TrimSpace(m.Country.ValueString()))
	continent := strings.ToUpper(strings.TrimSpace(m.Continent.ValueString()))
	if continent != "" && !slices.Contains(continents, continent) {
		resp.Diagnostics.AddAttributeError(path.Root("continent"), "Unknown continent",
			fmt.Sprintf("continent %q is not one of %s.", m.Continent.ValueString(), strings.Join(continents, ", ")))
		return
	}
	if country != "" && len(country) != 2 {
		resp.Diagnostics.AddAttributeError(path.Root("country"), "Invalid country",
			fmt.Sprintf("country %q is not an ISO 3166-1 alpha-2 code (two letters, e.g. JP).", m.Country.ValueString()))
		return
	}
	m.Colos = []coloModel{}
	var codes []string
	for _, c := range engine.Catalog() {
		if country != "" && c.Country != country || continent != "" && c.Continent != continent {
			continue
		}
		m.Colos = append(m.Colos, coloModel{
			Code: types.StringValue(c.Code), City: types.StringValue(c.City),
			Country: types.StringValue(c.Country), Continent: types.StringValue(c.Continent),
			Latitude: types.Float64Value(c.Latitude), Longitude: types.Float64Value(c.Longitude),
		})
		codes = append(codes, c.Code)
	}
	l, diags := types.ListValueFrom(ctx, types.StringType, codes)
	resp.Diagnostics.Append(diags...)
	if codes == nil {
		l, diags = types.ListValueFrom(ctx, types.StringType, []string{})
		resp.Diagnostics.Append(diags...)
	}
	m.Codes = l
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
