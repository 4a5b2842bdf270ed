package provider

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/replay"
)

var (
	_ datasource.DataSource                     = (*sessionReplayDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*sessionReplayDataSource)(nil)
)

// NewSessionReplayDataSource is cfegress_session_replay.
func NewSessionReplayDataSource() datasource.DataSource { return &sessionReplayDataSource{} }

type sessionReplayDataSource struct{}

type sessionReplayModel struct {
	Records             types.String  `tfsdk:"records"`
	RecordsBase64       types.String  `tfsdk:"records_base64"`
	Policies            types.Dynamic `tfsdk:"policies"`
	DedicatedIPs        types.Dynamic `tfsdk:"dedicated_ips"`
	PlannedPolicies     types.Dynamic `tfsdk:"planned_policies"`
	PlannedDedicatedIPs types.Dynamic `tfsdk:"planned_dedicated_ips"`
	MaxExamples         types.Int64   `tfsdk:"max_examples"`

	Sessions          types.Int64  `tfsdk:"sessions"`
	Rows              types.Int64  `tfsdk:"rows"`
	Agree             types.Int64  `tfsdk:"agree"`
	Disagree          types.Int64  `tfsdk:"disagree"`
	Undecidable       types.Int64  `tfsdk:"undecidable"`
	Changed           types.Int64  `tfsdk:"changed"`
	ChangeUndecidable types.Int64  `tfsdk:"change_undecidable"`
	Malformed         types.Int64  `tfsdk:"malformed"`
	PolicyHits        types.List   `tfsdk:"policy_hits"`
	Unused            types.List   `tfsdk:"unused"`
	PlannedHits       types.List   `tfsdk:"planned_policy_hits"`
	PlannedUnused     types.List   `tfsdk:"planned_unused"`
	Disagreements     types.List   `tfsdk:"disagreements"`
	Changes           types.List   `tfsdk:"changes"`
	MalformedLines    types.List   `tfsdk:"malformed_lines"`
	UndecidableFields types.Map    `tfsdk:"undecidable_fields"`
	Inferred          types.Object `tfsdk:"inferred"`
}

var (
	replayEgressAttrTypes = map[string]attr.Type{
		"outcome": types.StringType, "policy": types.StringType, "policy_id": types.StringType, "method": types.StringType,
		"egress_ip": types.StringType, "egress_colo": types.StringType, "geo_country": types.StringType,
	}
	replayHitsAttrTypes = map[string]attr.Type{
		"name": types.StringType, "id": types.StringType, "enabled": types.BoolType, "hits": types.Int64Type, "logged_hits": types.Int64Type,
	}
	replayDisagreementAttrTypes = map[string]attr.Type{
		"session_id": types.StringType, "line": types.Int64Type, "count": types.Int64Type,
		"observed": types.ObjectType{AttrTypes: replayEgressAttrTypes}, "model": types.ObjectType{AttrTypes: replayEgressAttrTypes},
		"reason": types.StringType,
	}
	replayChangeAttrTypes = map[string]attr.Type{
		"session_id": types.StringType, "line": types.Int64Type, "count": types.Int64Type,
		"before": types.ObjectType{AttrTypes: replayEgressAttrTypes}, "after": types.ObjectType{AttrTypes: replayEgressAttrTypes},
	}
	replayMalformedAttrTypes = map[string]attr.Type{"line": types.Int64Type, "error": types.StringType}
	replayInferredAttrTypes  = map[string]attr.Type{
		"grey": types.Int64Type, "orange": types.Int64Type, "either": types.Int64Type, "colo_down": types.Int64Type,
		"user_country": types.Int64Type, "equidistant": types.Int64Type,
	}
)

func (d *sessionReplayDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_session_replay"
}

func egressSideAttributes(what string) map[string]schema.Attribute {
	s := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	return map[string]schema.Attribute{
		"outcome":     s("The engine's outcome (`policy`, `no_match`, `unavailable`, `not_applicable`); null for what was logged."),
		"policy":      s("The policy's name (" + what + "); null for none."),
		"policy_id":   s("The policy's rule ID; null when unknown or none."),
		"method":      s("The egress method the engine used (`dedicated`, `default`); null for what was logged."),
		"egress_ip":   s("The egress IP: the logged address, or the engine's dedicated IPv4 or IPv6 range; null for the shared pool."),
		"egress_colo": s("The physical egress colo."),
		"geo_country": s("The geolocation the destination sees (the engine's); null for what was logged."),
	}
}

func (d *sessionReplayDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	i64 := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	}
	hits := func(desc string) schema.ListNestedAttribute {
		return schema.ListNestedAttribute{Computed: true, MarkdownDescription: desc, NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"name":        schema.StringAttribute{Computed: true, MarkdownDescription: "Policy name."},
			"id":          schema.StringAttribute{Computed: true, MarkdownDescription: "Rule ID; null when the policy has none yet."},
			"enabled":     schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the policy is enabled."},
			"hits":        schema.Int64Attribute{Computed: true, MarkdownDescription: "Sessions the engine sends to this policy."},
			"logged_hits": schema.Int64Attribute{Computed: true, MarkdownDescription: "Sessions Cloudflare logged as decided by this policy (by `EgressRuleID`, else `EgressRuleName`); 0 for the planned list."},
		}}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Replays Zero Trust **Network Session Log** records (the Logpush dataset `zero_trust_network_sessions`, as NDJSON) through the decision engine, " +
			"the same figures as `cfegress replay`. The **model check**: every record's `EgressRuleName`/`EgressRuleID`, `EgressIP` and `EgressColoName` against what the engine decides " +
			"for the same flow on `policies`: a record agrees, disagrees (with both sides and the reason) or is undecidable (a policy needs a field logs do not carry: the user's groups, " +
			"posture, ...). Logs lack whether the destination is proxied, which colos were down and the user's country: a record agrees when some value of them explains it, and " +
			"`inferred` counts which. With `planned_policies`, the sessions whose egress the planned list changes. Rows with a `count` column (aggregated in a log warehouse) weigh that much. " +
			"A simulation: it reads nothing from the account and needs no credentials. " +
			"Pass known values: a data source whose inputs are unknown at plan time is read at apply time (pass the list you give the resource, not the resource's attribute).",
		Attributes: map[string]schema.Attribute{
			"records": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Network Session Log records as NDJSON, one record per line, e.g. `file(\"sessions.ndjson\")`. Field names and types are the dataset's; " +
					"unknown fields are ignored; a malformed line is counted and listed (`malformed_lines`), never an error. One of `records` and `records_base64` is required.",
			},
			"records_base64": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The records as base64, gzip-compressed or not, e.g. `filebase64(\"sessions.ndjson.gz\")` for a file as Logpush writes it.",
			},
			"policies":      schema.DynamicAttribute{Optional: true, MarkdownDescription: "The egress policies that were live when the records were logged. " + simPoliciesAttrDesc},
			"dedicated_ips": schema.DynamicAttribute{Optional: true, MarkdownDescription: simDedicatedIPsAttrDesc},
			"planned_policies": schema.DynamicAttribute{Optional: true, MarkdownDescription: "The egress policies about to be applied (same shape as `policies`). " +
				"When set, `changed` and `changes` say which sessions would leave otherwise."},
			"planned_dedicated_ips": schema.DynamicAttribute{Optional: true, MarkdownDescription: "The dedicated egress IPs of the planned list; default `dedicated_ips`."},
			"max_examples":          schema.Int64Attribute{Optional: true, MarkdownDescription: "How many disagreements, changes and malformed lines are listed one by one (the first in the log); default 100. Counts are always complete."},

			"sessions":           i64("Sessions read: the sum of the rows' `count` (1 for a row without one)."),
			"rows":               i64("Well-formed records read."),
			"agree":              i64("Sessions the engine decides as Cloudflare logged them."),
			"disagree":           i64("Sessions the engine decides otherwise than Cloudflare logged them (see `disagreements`)."),
			"undecidable":        i64("Sessions the engine cannot decide from what the log carries (see `undecidable_fields`)."),
			"changed":            i64("Sessions whose egress (IP, colo, geolocation, method or availability) `planned_policies` changes; 0 without it."),
			"change_undecidable": i64("Sessions the live or the planned list cannot decide; 0 without `planned_policies`."),
			"malformed":          i64("Lines that are not records (see `malformed_lines`)."),
			"policy_hits":        hits("Per policy of `policies`, in order: the sessions the engine and the log send to it."),
			"unused": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Names of the policies of `policies` no session reached, by the engine or the log: candidates for removal."},
			"planned_policy_hits": hits("Per policy of `planned_policies`: the sessions the engine sends to it. Empty without `planned_policies`."),
			"planned_unused": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Names of the policies of `planned_policies` no session reaches."},
			"disagreements": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "The first disagreeing sessions.", NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"session_id": schema.StringAttribute{Computed: true, MarkdownDescription: "The record's `SessionID` (null for an aggregated row)."},
				"line":       schema.Int64Attribute{Computed: true, MarkdownDescription: "The record's line number."},
				"count":      schema.Int64Attribute{Computed: true, MarkdownDescription: "Sessions the row stands for."},
				"observed":   schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "What Cloudflare logged.", Attributes: egressSideAttributes("as logged")},
				"model":      schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "What the engine decides (destination not proxied, no colo down).", Attributes: egressSideAttributes("the engine's")},
				"reason":     schema.StringAttribute{Computed: true, MarkdownDescription: "Which field differs and why."},
			}}},
			"changes": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "The first sessions whose egress `planned_policies` changes.", NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"session_id": schema.StringAttribute{Computed: true, MarkdownDescription: "The record's `SessionID` (null for an aggregated row)."},
				"line":       schema.Int64Attribute{Computed: true, MarkdownDescription: "The record's line number."},
				"count":      schema.Int64Attribute{Computed: true, MarkdownDescription: "Sessions the row stands for."},
				"before":     schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "The engine's decision on `policies`.", Attributes: egressSideAttributes("the engine's")},
				"after":      schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "The engine's decision on `planned_policies`.", Attributes: egressSideAttributes("the engine's")},
			}}},
			"malformed_lines": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "The first lines that are not records.", NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"line":  schema.Int64Attribute{Computed: true, MarkdownDescription: "Line number (1-based)."},
				"error": schema.StringAttribute{Computed: true, MarkdownDescription: "What is wrong with it."},
			}}},
			"undecidable_fields": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "Undecidable sessions by the field they lack: a selector (`identity.groups.name`, `net.src.geo.country`, ...) or a record field (`OriginIP`, ...)."},
			"inferred": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "Agreeing sessions by what the log lacked and the replay inferred.", Attributes: map[string]schema.Attribute{
				"grey":         i64("Only a destination not proxied by Cloudflare explains the log."),
				"orange":       i64("Only a destination proxied by Cloudflare explains the log."),
				"either":       i64("Proxied or not decides the same."),
				"colo_down":    i64("A colo outage explains the log (a fallback, or the next nearest dedicated IP)."),
				"user_country": i64("The user's country was inferred (from the ingress colo, or from a default-egress colo abroad)."),
				"equidistant":  i64("The logged IP is another of the equidistant dedicated IPs than the engine's hash picks (Cloudflare does not publish how it picks)."),
			}},
		},
	}
}

func (d *sessionReplayDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("records"), path.MatchRoot("records_base64")),
	}
}

// replayList decodes one side (policies and dedicated IPs) into a list.
func replayList(ctx context.Context, policies attr.Value, pName string, ips attr.Value, iName string) (*replay.List, string, error) {
	s, eps, err := decodeSimulation(ctx, policies, pName, ips, iName)
	if err != nil {
		return nil, "", err
	}
	if s.unknown != "" {
		return nil, s.unknown, nil
	}
	l, err := replay.NewListNamed(eps, s.inv, iName)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", pName, err)
	}
	return l, "", nil
}

// replayInputDiagRoot is the attribute a decoding error belongs to.
func replayInputDiagRoot(err error, fallback string) string {
	var de *DecodeError
	if errors.As(err, &de) && len(de.Path) > 0 {
		return de.Path[0].name
	}
	return fallback
}

func (d *sessionReplayDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m sessionReplayModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	live, unknown, err := replayList(ctx, m.Policies, "policies", m.DedicatedIPs, "dedicated_ips")
	if err != nil {
		root := replayInputDiagRoot(err, "policies")
		resp.Diagnostics.Append(decodeErrorDiag(root, "Invalid "+root, err))
		return
	}
	var planned *replay.List
	if unknown == "" && !m.PlannedPolicies.IsNull() {
		ips := attr.Value(m.DedicatedIPs)
		ipsName := "dedicated_ips"
		if !m.PlannedDedicatedIPs.IsNull() {
			ips, ipsName = m.PlannedDedicatedIPs, "planned_dedicated_ips"
		}
		planned, unknown, err = replayList(ctx, m.PlannedPolicies, "planned_policies", ips, ipsName)
		if err != nil {
			root := replayInputDiagRoot(err, "planned_policies")
			resp.Diagnostics.Append(decodeErrorDiag(root, "Invalid "+root, err))
			return
		}
	}
	if unknown != "" {
		resp.Diagnostics.AddAttributeError(path.Root(strings.SplitN(strings.SplitN(unknown, "[", 2)[0], ".", 2)[0]), "Value not known",
			unknown+" is not known yet; a data source is read once its inputs are known (pass the policy list you give the resource, not the resource's attribute).")
		return
	}
	var in io.Reader
	if !m.Records.IsNull() {
		in = strings.NewReader(m.Records.ValueString())
	} else {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(m.RecordsBase64.ValueString()))
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("records_base64"), "Invalid records_base64",
				fmt.Sprintf("records_base64 is not base64 (%v): use filebase64(\"sessions.ndjson.gz\"), or records = file(...) for plain NDJSON.", err))
			return
		}
		in = bytes.NewReader(raw)
	}
	opt := replay.Options{Workers: 1, MaxExamples: 100}
	if !m.MaxExamples.IsNull() {
		switch n := m.MaxExamples.ValueInt64(); {
		case n < 0:
			resp.Diagnostics.AddAttributeError(path.Root("max_examples"), "Invalid max_examples", fmt.Sprintf("max_examples is %d: use 0 or more.", n))
			return
		case n == 0:
			opt.MaxExamples = -1
		default:
			opt.MaxExamples = int(min(n, 100000))
		}
	}
	rep, err := replay.Run(in, live, planned, opt)
	if err != nil {
		root := "records"
		if m.Records.IsNull() {
			root = "records_base64"
		}
		resp.Diagnostics.AddAttributeError(path.Root(root), "Unreadable records", fmt.Sprintf("%s could not be read: %v", root, err))
		return
	}
	if err := setReplayReport(&m, rep); err != nil {
		resp.Diagnostics.AddError("Internal error", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func setReplayReport(m *sessionReplayModel, r *replay.Report) error {
	m.Sessions, m.Rows = types.Int64Value(r.Records), types.Int64Value(r.Rows)
	m.Agree, m.Disagree, m.Undecidable = types.Int64Value(r.Agree), types.Int64Value(r.Disagree), types.Int64Value(r.Undecidable)
	m.Changed, m.ChangeUndecidable = types.Int64Value(r.Changed), types.Int64Value(r.ChangeUndecidable)
	m.Malformed = types.Int64Value(r.Malformed)
	var err error
	if m.PolicyHits, err = hitsList(r.Policies); err != nil {
		return err
	}
	if m.PlannedHits, err = hitsList(r.PlannedPolicies); err != nil {
		return err
	}
	if m.Unused, err = stringList(r.Unused); err != nil {
		return err
	}
	if m.PlannedUnused, err = stringList(r.PlannedUnused); err != nil {
		return err
	}
	var ds []attr.Value
	for _, x := range r.Disagreements {
		obs, err := egressObject(x.Observed)
		if err != nil {
			return err
		}
		model, err := egressObject(x.Model)
		if err != nil {
			return err
		}
		o, diags := types.ObjectValue(replayDisagreementAttrTypes, map[string]attr.Value{
			"session_id": strOrNull(x.SessionID), "line": types.Int64Value(int64(x.Line)), "count": types.Int64Value(x.Count),
			"observed": obs, "model": model, "reason": types.StringValue(x.Reason),
		})
		if diags.HasError() {
			return fmt.Errorf("disagreement: %v", diags)
		}
		ds = append(ds, o)
	}
	if m.Disagreements, err = objectList(replayDisagreementAttrTypes, ds); err != nil {
		return err
	}
	var cs []attr.Value
	for _, x := range r.Changes {
		before, err := egressObject(x.Before)
		if err != nil {
			return err
		}
		after, err := egressObject(x.After)
		if err != nil {
			return err
		}
		o, diags := types.ObjectValue(replayChangeAttrTypes, map[string]attr.Value{
			"session_id": strOrNull(x.SessionID), "line": types.Int64Value(int64(x.Line)), "count": types.Int64Value(x.Count),
			"before": before, "after": after,
		})
		if diags.HasError() {
			return fmt.Errorf("change: %v", diags)
		}
		cs = append(cs, o)
	}
	if m.Changes, err = objectList(replayChangeAttrTypes, cs); err != nil {
		return err
	}
	var ms []attr.Value
	for _, x := range r.MalformedLines {
		o, diags := types.ObjectValue(replayMalformedAttrTypes, map[string]attr.Value{"line": types.Int64Value(int64(x.Line)), "error": types.StringValue(x.Error)})
		if diags.HasError() {
			return fmt.Errorf("malformed line: %v", diags)
		}
		ms = append(ms, o)
	}
	if m.MalformedLines, err = objectList(replayMalformedAttrTypes, ms); err != nil {
		return err
	}
	fields := map[string]attr.Value{}
	for _, f := range r.UndecidableFields {
		fields[f.Name] = types.Int64Value(f.Count)
	}
	mv, d := types.MapValue(types.Int64Type, fields)
	if d.HasError() {
		return fmt.Errorf("undecidable_fields: %v", d)
	}
	m.UndecidableFields = mv
	in := r.Inferred
	iv, d := types.ObjectValue(replayInferredAttrTypes, map[string]attr.Value{
		"grey": types.Int64Value(in.Grey), "orange": types.Int64Value(in.Orange), "either": types.Int64Value(in.Either),
		"colo_down": types.Int64Value(in.ColoDown), "user_country": types.Int64Value(in.UserCountry), "equidistant": types.Int64Value(in.Equidistant),
	})
	if d.HasError() {
		return fmt.Errorf("inferred: %v", d)
	}
	m.Inferred = iv
	return nil
}

func egressObject(e replay.Egress) (types.Object, error) {
	o, d := types.ObjectValue(replayEgressAttrTypes, map[string]attr.Value{
		"outcome": strOrNull(e.Outcome), "policy": strOrNull(e.Policy), "policy_id": strOrNull(e.PolicyID), "method": strOrNull(e.Method),
		"egress_ip": strOrNull(e.EgressIP), "egress_colo": strOrNull(e.EgressColo), "geo_country": strOrNull(e.GeoCountry),
	})
	if d.HasError() {
		return o, fmt.Errorf("egress: %v", d)
	}
	return o, nil
}

func hitsList(hs []replay.PolicyHits) (types.List, error) {
	var vs []attr.Value
	for _, h := range hs {
		o, d := types.ObjectValue(replayHitsAttrTypes, map[string]attr.Value{
			"name": types.StringValue(h.Name), "id": strOrNull(h.ID), "enabled": types.BoolValue(h.Enabled),
			"hits": types.Int64Value(h.Hits), "logged_hits": types.Int64Value(h.LoggedHits),
		})
		if d.HasError() {
			return types.List{}, fmt.Errorf("policy hits: %v", d)
		}
		vs = append(vs, o)
	}
	return objectList(replayHitsAttrTypes, vs)
}

func objectList(t map[string]attr.Type, vs []attr.Value) (types.List, error) {
	if vs == nil {
		vs = []attr.Value{}
	}
	return typedList(types.ObjectType{AttrTypes: t}, vs)
}
