package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSource = (*egressDecisionDataSource)(nil)

// NewEgressDecisionDataSource is cfegress_egress_decision.
func NewEgressDecisionDataSource() datasource.DataSource { return &egressDecisionDataSource{} }

type egressDecisionDataSource struct{}

type egressDecisionModel struct {
	Policies     types.Dynamic `tfsdk:"policies"`
	DedicatedIPs types.Dynamic `tfsdk:"dedicated_ips"`
	Flows        types.List    `tfsdk:"flows"`
	Decisions    types.List    `tfsdk:"decisions"`
}

const simPoliciesAttrDesc = "The ordered egress policies: pass `cfegress_egress_policies.<name>.policies` (resource or data source) as is, or a hand-written list of objects with `name`, `enabled` (default true), `traffic`, `identity`, `device_posture` and `egress = { method, ipv4, ipv6, ipv4_fallback }`. Other attributes (`id`, `precedence`, ...) are ignored. Omit for none."

const simDedicatedIPsAttrDesc = "The account's dedicated egress IPs: a list of objects with `ipv4`, `ipv6_range` and `colo`; `[cfegress_dedicated_egress_ip.nrt, ...]` works as is. Omit for none (every flow takes default egress)."

func decisionWithNameAttrTypes() map[string]attr.Type {
	m := decisionAttrTypes()
	m["name"] = types.StringType
	return m
}

func (d *egressDecisionDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_egress_decision"
}

func (d *egressDecisionDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	out := decisionDataSourceAttributes()
	out["name"] = schema.StringAttribute{Computed: true, MarkdownDescription: "The flow's `name`, if it has one."}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Where each of a list of flows leaves Cloudflare, given the ordered egress policies and the dedicated egress IPs: " +
			"the decision engine's answer (matched policy, method, source IP, physical egress colo, geolocation, candidates and a trace). " +
			"A simulation: it reads nothing from the account and needs no credentials.",
		Attributes: map[string]schema.Attribute{
			"policies":      schema.DynamicAttribute{Optional: true, MarkdownDescription: simPoliciesAttrDesc},
			"dedicated_ips": schema.DynamicAttribute{Optional: true, MarkdownDescription: simDedicatedIPsAttrDesc},
			"flows": schema.ListNestedAttribute{
				Required:            true,
				MarkdownDescription: "The flows to decide about.",
				NestedObject:        schema.NestedAttributeObject{Attributes: flowDataSourceAttributes()},
			},
			"decisions": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "One decision per flow, in the order of `flows`.",
				NestedObject:        schema.NestedAttributeObject{Attributes: out},
			},
		},
	}
}

// decodeErrorDiag attaches a decoding error to the attribute root (a
// dynamic attribute's inner path cannot be addressed), the message naming
// the inner path.
// simulationInputDiag reports a decoding error of a simulation data
// source's `policies` or `dedicated_ips` at the attribute it came from.
func simulationInputDiag(err error) diag.Diagnostic {
	root := "policies"
	var de *DecodeError
	if errors.As(err, &de) && len(de.Path) > 0 && de.Path[0].name == "dedicated_ips" {
		root = "dedicated_ips"
	}
	return decodeErrorDiag(root, "Invalid "+root, err)
}

func decodeErrorDiag(root string, summary string, err error) diag.Diagnostic {
	return diag.NewAttributeErrorDiagnostic(path.Root(root), summary, err.Error())
}

func (d *egressDecisionDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m egressDecisionModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	sim, err := newSimulation(ctx, m.Policies, "policies", m.DedicatedIPs, "dedicated_ips")
	if err != nil {
		resp.Diagnostics.Append(simulationInputDiag(err))
		return
	}
	if sim.unknown != "" {
		resp.Diagnostics.AddAttributeError(path.Root("policies"), "Value not known", sim.unknown+" is not known yet; a data source is read once its inputs are known.")
		return
	}
	decisions := make([]attr.Value, 0, len(m.Flows.Elements()))
	for i, e := range m.Flows.Elements() {
		fp := path.Root("flows").AtListIndex(i)
		nd, err := rootValue(ctx, e, "")
		if err != nil {
			resp.Diagnostics.AddAttributeError(fp, "Invalid flow", err.Error())
			return
		}
		nd.p = attrPath{}.attr("flows").idx(i)
		fl, down, err := decodeFlow(nd)
		if err != nil {
			p := fp
			var de *DecodeError
			if errors.As(err, &de) {
				p = de.Path.From(path.Empty())
			}
			resp.Diagnostics.AddAttributeError(p, "Invalid flow", err.Error())
			return
		}
		dec, err := sim.decide(&fl, down)
		if err != nil {
			resp.Diagnostics.AddAttributeError(fp, "Invalid flow", fmt.Sprintf("flows[%d]: %s", i, err))
			return
		}
		obj, err := decisionValue(dec)
		if err != nil {
			resp.Diagnostics.AddError("Internal error", err.Error())
			return
		}
		attrs := obj.Attributes()
		attrs["name"] = strOrNull(flowLabel(nd))
		withName, diags := types.ObjectValue(decisionWithNameAttrTypes(), attrs)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		decisions = append(decisions, withName)
	}
	list, diags := types.ListValue(types.ObjectType{AttrTypes: decisionWithNameAttrTypes()}, decisions)
	resp.Diagnostics.Append(diags...)
	m.Decisions = list
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
