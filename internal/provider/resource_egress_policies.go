package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/lint"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

var (
	_ resource.ResourceWithConfigure      = (*egressPoliciesResource)(nil)
	_ resource.ResourceWithImportState    = (*egressPoliciesResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*egressPoliciesResource)(nil)
	_ resource.ResourceWithValidateConfig = (*egressPoliciesResource)(nil)
)

const (
	defaultApplyTimeout = 30 * time.Minute
	// privateOtherRules is the private-state key under which Read keeps the
	// precedences of the account's non-egress rules, so that the plan can
	// predict which policies keep their numbers.
	privateOtherRules = "other_precedences"
)

// NewEgressPoliciesResource is the cfegress_egress_policies resource.
func NewEgressPoliciesResource() resource.Resource { return &egressPoliciesResource{} }

type egressPoliciesResource struct {
	data *providerData
}

// egressPoliciesModel is the resource's state.
type egressPoliciesModel struct {
	ID                 types.String   `tfsdk:"id"`
	AccountID          types.String   `tfsdk:"account_id"`
	Policies           types.List     `tfsdk:"policies"`
	DedicatedEgressIPs types.List     `tfsdk:"dedicated_egress_ips"`
	CatchAll           types.String   `tfsdk:"catch_all"`
	Expect             types.List     `tfsdk:"expect"`
	Invariants         types.List     `tfsdk:"invariants"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

// policyModel is one element of `policies`.
type policyModel struct {
	ID            types.String   `tfsdk:"id"`
	Precedence    types.Int64    `tfsdk:"precedence"`
	Name          types.String   `tfsdk:"name"`
	Description   types.String   `tfsdk:"description"`
	Enabled       types.Bool     `tfsdk:"enabled"`
	Traffic       semStringValue `tfsdk:"traffic"`
	Identity      semStringValue `tfsdk:"identity"`
	DevicePosture semStringValue `tfsdk:"device_posture"`
	Egress        egressModel    `tfsdk:"egress"`
	LintIgnore    types.Set      `tfsdk:"lint_ignore"`
}

// egressModel is a policy's `egress`.
type egressModel struct {
	Method       types.String   `tfsdk:"method"`
	IPv4         semStringValue `tfsdk:"ipv4"`
	IPv6         semStringValue `tfsdk:"ipv6"`
	IPv4Fallback semStringValue `tfsdk:"ipv4_fallback"`
}

func (r *egressPoliciesResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_egress_policies"
}

func methodNames() []string {
	var out []string
	for _, m := range engine.Methods() {
		out = append(out, string(m))
	}
	return out
}

func catchAllNames() []string {
	var out []string
	for _, m := range lint.CatchAllModes() {
		out = append(out, string(m))
	}
	return out
}

func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "`\"" + s + "\"`"
	}
	return strings.Join(q, ", ")
}

func (r *egressPoliciesResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	dedicatedIPAttrs := map[string]schema.Attribute{
		"ipv4":       schema.StringAttribute{MarkdownDescription: "The dedicated IPv4 address (required).", Optional: true, CustomType: ipType, Validators: []validator.String{ipv4Validator{}}},
		"ipv6_range": schema.StringAttribute{MarkdownDescription: "Its IPv6 range (usually a `/64`; any IPv6 prefix as Cloudflare shows it, compared masked).", Optional: true, CustomType: cidrType, Validators: []validator.String{ipv6RangeValidator{}}},
		"byoip":      schema.BoolAttribute{MarkdownDescription: byoipAttrDesc, Optional: true},
		"colo":       schema.StringAttribute{MarkdownDescription: "IATA code of its colo (required).", Optional: true, CustomType: coloType, Validators: []validator.String{coloValidator{}}},
		"id":         schema.StringAttribute{MarkdownDescription: "Ignored (set when a `cfegress_dedicated_egress_ip` is passed as is).", Optional: true},
		"city":       schema.StringAttribute{MarkdownDescription: "Ignored (set when a `cfegress_dedicated_egress_ip` is passed as is).", Optional: true},
		"country":    schema.StringAttribute{MarkdownDescription: "Ignored (set when a `cfegress_dedicated_egress_ip` is passed as is).", Optional: true},
		"latitude":   schema.Float64Attribute{MarkdownDescription: "Ignored (set when a `cfegress_dedicated_egress_ip` is passed as is).", Optional: true},
		"longitude":  schema.Float64Attribute{MarkdownDescription: "Ignored (set when a `cfegress_dedicated_egress_ip` is passed as is).", Optional: true},
	}
	expectAttrs := map[string]schema.Attribute{
		"flow":        flowResourceAttribute("The flow to decide, as for `provider::cfegress::decide`: `ingress_colo` and `destination_ip` are required."),
		"policy":      schema.StringAttribute{MarkdownDescription: "Expected deciding policy, by name; `\"\"` means no policy matches (the nearest dedicated IP is used).", Optional: true},
		"egress_ip":   schema.StringAttribute{MarkdownDescription: "Expected egress source IP (the IPv6 range for IPv6 flows); `\"\"` means the shared pool (default egress).", Optional: true},
		"egress_colo": schema.StringAttribute{MarkdownDescription: "Expected physical egress colo.", Optional: true},
		"geo_country": schema.StringAttribute{MarkdownDescription: "Expected geolocation (ISO country) the destination sees; `\"\"` means none (a BYOIP dedicated egress IP has no IP geolocation).", Optional: true},
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The account's **whole ordered list** of Gateway egress policies, in one resource. " +
			"The order of `policies` is the evaluation order (the first policy that matches decides); the provider owns the precedence numbers, " +
			"renumbers as few rules as it can when the list changes and writes make-before-break, so live traffic never goes to a place neither the old nor the new list sends it.\n\n" +
			"The list is checked at plan time (and in `terraform validate` for what is already known) before any API call: unique names, expressions that parse and type-check, dedicated IPs from the inventory with a fallback in another colo, policies shadowed by earlier ones, a misplaced or missing catch-all, redundant policies and the `expect` assertions; diagnostics name the policy and its index. " +
			"An update that moves traffic gets one plan warning, `Egress impact:`, with the regions of traffic the planned list decides differently (an example flow each), and `invariants` prove properties of whole ranges of traffic (see the change impact guide). " +
			"The resource owns all of the account's egress rules: creating it where egress rules not in the configuration exist fails with an import hint; " +
			"existing rules with the names of configured policies are taken over, and the plan shows it (their `id`, and a warning). " +
			"Egress rules changed outside Terraform show up as drift. Other Gateway rules (DNS, network, HTTP) are never touched, and neither are egress rules shared by a parent account (`read_only`): they are not part of `policies`, and every plan says where they are evaluated among them. " +
			"A warning Cloudflare sets on a rule (`warning_status`) is shown on its policy at every plan; more policies than the account allows (`max_policies`, 500 by default) is a plan error.\n\n" +
			"Writes to policies that no flow matches together run several at a time (`max_concurrent_writes` in the provider), in phases that keep the make-before-break guarantee. " +
			"A create or move that Cloudflare refuses is retried at other free precedences between the same neighbours (a rule the token cannot see may hold the number), then fails naming the permission needed.\n\n" +
			"An apply changes only what its plan showed. It deletes only rules the plan deletes: an egress rule added after the plan (in the dashboard, or missed by `-refresh=false`) " +
			"stops the apply before its first write with an error naming the rule; run `terraform plan` again, which shows it. " +
			"A rule deleted outside Terraform after the plan is created again (the apply reports its new ID), one moved is moved back to the precedence the plan showed. " +
			"After any failure (an API error, a timeout, Ctrl-C) the state holds the prior state plus exactly the changes made, so no rule ID is lost. " +
			"A create that fails half way records the rules it made; Terraform then marks the resource tainted: `terraform untaint` and `terraform apply` finish it without deleting them. " +
			"See the guide [Applies, concurrent edits and recovery](../guides/applies-and-recovery).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The account ID.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"account_id": schema.StringAttribute{
				MarkdownDescription: "Cloudflare account ID. Defaults to the provider's `account_id`. Changing it replaces the resource.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{notEmptyValidator{}},
			},
			"policies": schema.ListNestedAttribute{
				MarkdownDescription: "The egress policies, in evaluation order (first match wins). Names must be unique: they pair policies with rules across renames and re-creates.",
				Required:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id": schema.StringAttribute{
						MarkdownDescription: "Cloudflare rule ID.",
						Computed:            true,
					},
					"precedence": schema.Int64Attribute{
						MarkdownDescription: "The rule's precedence, chosen by the provider (lower runs first). Never set it: reorder `policies` instead.",
						Computed:            true,
					},
					"name": schema.StringAttribute{
						MarkdownDescription: "Policy name, unique in the list. Renaming a policy at the same position updates the same rule.",
						Required:            true,
					},
					"description": schema.StringAttribute{
						MarkdownDescription: "Description. Unset and `\"\"` are the same.",
						Optional:            true,
						Computed:            true,
						Default:             stringdefault.StaticString(""),
					},
					"enabled": schema.BoolAttribute{
						MarkdownDescription: "Whether the policy is evaluated. Defaults to `true`.",
						Optional:            true,
						Computed:            true,
						Default:             booldefault.StaticBool(true),
					},
					"traffic": schema.StringAttribute{
						MarkdownDescription: "Traffic expression (`net.dst.ip in {203.0.113.0/24}`, `net.dst.port in {443 80}`, ...). Compared by meaning: Cloudflare's reformatting is never a diff. Leave it out to match all traffic.",
						Optional:            true,
						CustomType:          expressionType,
						Validators:          []validator.String{notEmptyValidator{}},
					},
					"identity": schema.StringAttribute{
						MarkdownDescription: "Identity expression (`identity.email == \"a@example.com\"`, `any(identity.groups.name[*] in {\"finance\"})`), ANDed with `traffic`.",
						Optional:            true,
						CustomType:          expressionType,
						Validators:          []validator.String{notEmptyValidator{}},
					},
					"device_posture": schema.StringAttribute{
						MarkdownDescription: "Device posture expression (`any(device_posture.checks.passed[*] in {\"<check-id>\"})`), ANDed with `traffic`.",
						Optional:            true,
						CustomType:          expressionType,
						Validators:          []validator.String{notEmptyValidator{}},
					},
					"egress": schema.SingleNestedAttribute{
						MarkdownDescription: "Where matching traffic leaves Cloudflare.",
						Required:            true,
						Attributes: map[string]schema.Attribute{
							"method": schema.StringAttribute{
								MarkdownDescription: "One of " + quoted(methodNames()) + ": `default` is Cloudflare's shared pool (the user's geolocation is kept); `dedicated` uses the account's dedicated IPs below.",
								Required:            true,
								Validators:          []validator.String{stringvalidator.OneOf(methodNames()...)},
							},
							"ipv4": schema.StringAttribute{
								MarkdownDescription: "Primary dedicated IPv4 (`dedicated` only).",
								Optional:            true,
								CustomType:          ipType,
								Validators:          []validator.String{ipv4Validator{}},
							},
							"ipv6": schema.StringAttribute{
								MarkdownDescription: "Primary dedicated IPv6 range (`dedicated` only), usually the `/64` of one of the account's dedicated egress IPs; any IPv6 prefix is accepted as Cloudflare shows it (`2a06:98c1:54::c61/64`) and compared masked. There is no secondary IPv6: IPv6 can leave from any colo.",
								Optional:            true,
								CustomType:          cidrType,
								Validators:          []validator.String{ipv6RangeValidator{}},
							},
							"ipv4_fallback": schema.StringAttribute{
								MarkdownDescription: "Secondary IPv4, used when the primary's colo is down (`dedicated` only, required by Cloudflare): a dedicated IPv4 in **another** colo, or `0.0.0.0` to fall back to default egress.",
								Optional:            true,
								CustomType:          ipType,
								Validators:          []validator.String{ipv4Validator{allowUnspecified: true}},
							},
						},
					},
					"lint_ignore": schema.SetAttribute{
						MarkdownDescription: "Plan-time validation rule IDs to silence deliberately for this policy (on the last policy, also the list-level ones): " + quoted(lint.Rules()) + ".",
						Optional:            true,
						ElementType:         types.StringType,
						Validators:          []validator.Set{setvalidator.ValueStringsAre(stringvalidator.OneOf(lint.Rules()...))},
					},
				}},
			},
			"dedicated_egress_ips": schema.ListNestedAttribute{
				MarkdownDescription: "The account's dedicated egress IPs (the inventory): `[cfegress_dedicated_egress_ip.nrt, ...]` works as is, as do object literals with `ipv4`, `ipv6_range`, `colo` and optionally `byoip`. When set, policies may only use these IPs, and fallbacks are checked against their colos. Not sent to Cloudflare.",
				Optional:            true,
				NestedObject:        schema.NestedAttributeObject{Attributes: dedicatedIPAttrs},
			},
			"catch_all": schema.StringAttribute{
				MarkdownDescription: "Whether the list must end with a catch-all policy: " + quoted(catchAllNames()) + ". `required` makes a missing catch-all an error, `recommended` (the default) a warning, `off` silences it.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(string(lint.CatchAllRecommended)),
				Validators:          []validator.String{stringvalidator.OneOf(catchAllNames()...)},
			},
			"expect": schema.ListNestedAttribute{
				MarkdownDescription: "Plan-time assertions: for each `flow`, the engine's decision must have the given `policy`, `egress_ip`, `egress_colo` and `geo_country` (each optional). A failed assertion is a plan error. Not sent to Cloudflare.",
				Optional:            true,
				NestedObject:        schema.NestedAttributeObject{Attributes: expectAttrs},
			},
			"invariants": invariantsAttribute(),
			"timeouts":   timeoutsAttribute(ctx),
		},
	}
}

// timeoutsAttribute is the `timeouts` attribute with Markdown descriptions.
func timeoutsAttribute(ctx context.Context) schema.Attribute {
	const d = "Go duration (`30s`, `20m`, `1h`) for %s, default 30m. Rate limits (429 with Retry-After) are waited out within it."
	a, ok := timeouts.Attributes(ctx, timeouts.Opts{
		Create: true, Update: true, Delete: true,
		CreateDescription: fmt.Sprintf(d, "creating the policies"),
		UpdateDescription: fmt.Sprintf(d, "updating the policies"),
		DeleteDescription: fmt.Sprintf(d, "deleting the policies"),
	}).(schema.SingleNestedAttribute)
	if !ok {
		return timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true})
	}
	a.MarkdownDescription = "How long an apply may take."
	for k, v := range a.Attributes {
		if sa, ok := v.(schema.StringAttribute); ok {
			sa.MarkdownDescription = sa.Description
			a.Attributes[k] = sa
		}
	}
	return a
}

func (r *egressPoliciesResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	d, ok := req.ProviderData.(*providerData)
	if !ok {
		resp.Diagnostics.AddError("Unexpected provider data", fmt.Sprintf("expected *providerData, got %T: this is a bug in the provider", req.ProviderData))
		return
	}
	r.data = d
}

// client returns the API client or adds a diagnostic saying what to do.
func (r *egressPoliciesResource) client(diags *diag.Diagnostics) cfapi.Client {
	c, err := r.data.needClient()
	if err != nil {
		diags.AddError("Cloudflare API not available", err.Error())
		return nil
	}
	return c
}

// accountFor returns the resource's account: its own, or the provider's.
func (r *egressPoliciesResource) accountFor(v types.String, diags *diag.Diagnostics) string {
	if !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" {
		return v.ValueString()
	}
	if r.data != nil && r.data.accountID != "" {
		return r.data.accountID
	}
	diags.AddAttributeError(path.Root("account_id"), "Missing account ID",
		"cfegress_egress_policies needs an account: set account_id on the resource, account_id in the provider block, or the CLOUDFLARE_ACCOUNT_ID environment variable.")
	return ""
}

// ---------------------------------------------------------------------------
// Conversions

var (
	egressAttrTypes = map[string]attr.Type{
		"method": types.StringType, "ipv4": ipType, "ipv6": cidrType, "ipv4_fallback": ipType,
	}
	policyAttrTypes = map[string]attr.Type{
		"id": types.StringType, "precedence": types.Int64Type, "name": types.StringType,
		"description": types.StringType, "enabled": types.BoolType,
		"traffic": expressionType, "identity": expressionType, "device_posture": expressionType,
		"egress":      types.ObjectType{AttrTypes: egressAttrTypes},
		"lint_ignore": types.SetType{ElemType: types.StringType},
	}
	policyObjectType = types.ObjectType{AttrTypes: policyAttrTypes}
)

// policiesFromList reads a known list of known policies.
func policiesFromList(ctx context.Context, l types.List) ([]policyModel, diag.Diagnostics) {
	var out []policyModel
	if l.IsNull() || l.IsUnknown() {
		return nil, nil
	}
	diags := l.ElementsAs(ctx, &out, false)
	return out, diags
}

func policiesToList(ctx context.Context, ps []policyModel) (types.List, diag.Diagnostics) {
	if ps == nil {
		ps = []policyModel{}
	}
	return types.ListValueFrom(ctx, policyObjectType, ps)
}

func strOf(v basetypes.StringValue) string {
	if v.IsNull() || v.IsUnknown() {
		return ""
	}
	return v.ValueString()
}

// desiredOf converts planned policies for reconcile.
func desiredOf(ps []policyModel) []reconcile.Desired {
	out := make([]reconcile.Desired, len(ps))
	for i, p := range ps {
		d := reconcile.Desired{
			ID:            strOf(p.ID),
			Precedence:    plannedPrecedence(p.Precedence),
			Name:          p.Name.ValueString(),
			Description:   strOf(p.Description),
			Enabled:       p.Enabled.IsNull() || p.Enabled.IsUnknown() || p.Enabled.ValueBool(),
			Traffic:       strOf(p.Traffic.StringValue),
			Identity:      strOf(p.Identity.StringValue),
			DevicePosture: strOf(p.DevicePosture.StringValue),
		}
		if p.Egress.Method.ValueString() == string(engine.MethodDedicated) {
			d.Egress = &cfapi.EgressSettings{
				IPv4:         strOf(p.Egress.IPv4.StringValue),
				IPv6:         strOf(p.Egress.IPv6.StringValue),
				IPv4Fallback: strOf(p.Egress.IPv4Fallback.StringValue),
			}
		}
		out[i] = d
	}
	return out
}

// plannedPrecedence is a known precedence (the plan promised it), else 0.
func plannedPrecedence(v types.Int64) uint64 {
	if v.IsNull() || v.IsUnknown() || v.ValueInt64() <= 0 {
		return 0
	}
	return uint64(v.ValueInt64())
}

// resIsDedicated reports whether a rule uses dedicated egress.
func resIsDedicated(r cfapi.Rule) bool {
	return r.Egress != nil && (r.Egress.IPv4 != "" || r.Egress.IPv6 != "" || r.Egress.IPv4Fallback != "")
}

// resPolicyFromRule converts an egress rule to a policy; prior (may be nil) is
// the state's policy with the same ID: its spelling of equivalent values and
// its config-only attributes are kept.
func resPolicyFromRule(r cfapi.Rule, prior *policyModel) policyModel {
	var pr policyModel
	if prior != nil {
		pr = *prior
	}
	p := policyModel{
		ID:            types.StringValue(r.ID),
		Precedence:    types.Int64Value(int64(r.Precedence)),
		Name:          types.StringValue(r.Name),
		Description:   types.StringValue(r.Description),
		Enabled:       types.BoolValue(r.Enabled),
		Traffic:       keepIfEquivalent(pr.Traffic, kindExpression, r.Traffic),
		Identity:      keepIfEquivalent(pr.Identity, kindExpression, r.Identity),
		DevicePosture: keepIfEquivalent(pr.DevicePosture, kindExpression, r.DevicePosture),
		LintIgnore:    types.SetNull(types.StringType),
	}
	if prior != nil && !pr.LintIgnore.IsUnknown() {
		p.LintIgnore = pr.LintIgnore
	}
	if resIsDedicated(r) {
		p.Egress = egressModel{
			Method:       types.StringValue(string(engine.MethodDedicated)),
			IPv4:         keepIfEquivalent(pr.Egress.IPv4, kindIP, r.Egress.IPv4),
			IPv6:         keepIfEquivalent(pr.Egress.IPv6, kindCIDR, r.Egress.IPv6),
			IPv4Fallback: keepIfEquivalent(pr.Egress.IPv4Fallback, kindIP, r.Egress.IPv4Fallback),
		}
	} else {
		p.Egress = egressModel{
			Method: types.StringValue(string(engine.MethodDefault)),
			IPv4:   semNull(kindIP), IPv6: semNull(kindCIDR), IPv4Fallback: semNull(kindIP),
		}
	}
	return p
}

// resPoliciesFromRules converts the account's egress rules (in order) to
// policies, keeping prior spellings and config-only attributes by rule ID.
func resPoliciesFromRules(rules []cfapi.Rule, prior []policyModel) []policyModel {
	byID := make(map[string]*policyModel, len(prior))
	for i := range prior {
		if id := strOf(prior[i].ID); id != "" {
			byID[id] = &prior[i]
		}
	}
	out := make([]policyModel, 0, len(rules))
	for _, r := range rules {
		out = append(out, resPolicyFromRule(r, byID[r.ID]))
	}
	return out
}

// resEgressOnly returns the egress rules of rules that the resource
// manages, in precedence order: read_only rules (shared by a parent
// account) are not policies (ModifyPlan shows them in a warning).
func resEgressOnly(rules []cfapi.Rule) []cfapi.Rule {
	var out []cfapi.Rule
	for _, r := range rules {
		if cfapi.IsEgress(r) && !r.ReadOnly {
			out = append(out, r)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// CRUD

func (r *egressPoliciesResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan egressPoliciesModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultApplyTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel, account, client, policies := r.startApply(ctx, plan, timeout, "creating", &resp.Diagnostics)
	defer cancel()
	if resp.Diagnostics.HasError() {
		return
	}

	opts := r.applyOptions(ctx)
	opts.Create = true
	res, err := reconcile.Apply(ctx, client, account, desiredOf(policies), opts)
	if err != nil || len(res.Recreated) > 0 {
		r.failedCreate(ctx, plan, policies, res, err, account, resp)
		return
	}
	r.setApplied(ctx, &plan, policies, res, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	saveManaged(ctx, resp.Private, managedAfter(nil, res))
}

// failedCreate reports a create that failed (or had to re-create a rule its
// plan adopted). When it changed nothing there is no state: the resource
// does not exist yet. Otherwise the state records exactly the rules it
// made, so that no rule ID is lost (a destroy deletes them); Terraform marks
// such a resource tainted, and the detail says how to finish the create
// without deleting anything.
func (r *egressPoliciesResource) failedCreate(ctx context.Context, plan egressPoliciesModel, policies []policyModel, res reconcile.Result, err error, account string, resp *resource.CreateResponse) {
	summary, detail := applyFailure("Creating the egress policies failed", err, account, res)
	ps := partialPolicies(nil, policies, res)
	if len(ps) == 0 {
		addApplyError(&resp.Diagnostics, summary, detail, err)
		return // nothing was made: the resource does not exist yet
	}
	detail += fmt.Sprintf("\n\n%d of the %d policies were created before the apply stopped; their rule IDs are recorded in the state, so nothing is lost "+
		"(terraform destroy deletes them). Terraform marks a resource whose create failed as tainted, and a plain `terraform apply` would then replace it: "+
		"delete these rules, which may already carry traffic, and create them again. To finish the create without deleting anything, run\n"+
		"  terraform untaint <address of this cfegress_egress_policies>\n"+
		"and then terraform apply.", len(ps), len(policies))
	addApplyError(&resp.Diagnostics, summary, detail, err)
	l, d := policiesToList(ctx, ps)
	resp.Diagnostics.Append(d...)
	plan.Policies = l
	if plan.AccountID.IsUnknown() || plan.AccountID.IsNull() {
		plan.AccountID = types.StringValue(account)
	}
	plan.ID = plan.AccountID
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	saveManaged(ctx, resp.Private, managedAfter(nil, reconcile.Result{Done: res.Done}))
}

func (r *egressPoliciesResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, prior egressPoliciesModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, defaultApplyTimeout)
	resp.Diagnostics.Append(d...)
	priorPolicies, d := policiesFromList(ctx, prior.Policies)
	resp.Diagnostics.Append(d...)
	ctx, cancel, account, client, policies := r.startApply(ctx, plan, timeout, "updating", &resp.Diagnostics)
	defer cancel()
	if resp.Diagnostics.HasError() {
		return
	}

	opts := r.applyOptions(ctx)
	for _, p := range priorPolicies {
		if id := strOf(p.ID); id != "" {
			opts.Prior = append(opts.Prior, id)
		}
	}
	res, err := reconcile.Apply(ctx, client, account, desiredOf(policies), opts)
	if err != nil {
		// The prior state plus exactly the changes made: nothing else of the
		// prior state changes (when nothing was done, it is byte for byte
		// the same), so the next plan starts from the truth.
		summary, detail := applyFailure("Updating the egress policies failed", err, account, res)
		if n := changesMade(res); n > 0 {
			detail += fmt.Sprintf("\n\nThe state records the %d change%s made before the apply stopped; run terraform apply again to finish.", n, plural(n))
		}
		addApplyError(&resp.Diagnostics, summary, detail, err)
		if len(res.Done) > 0 {
			l, d := policiesToList(ctx, partialPolicies(priorPolicies, policies, res))
			resp.Diagnostics.Append(d...)
			prior.Policies = l
			if m := loadManaged(ctx, req.Private); m != nil {
				saveManaged(ctx, resp.Private, managedAfter(m, reconcile.Result{Done: res.Done}))
			}
		}
		resp.Diagnostics.Append(resp.State.Set(ctx, &prior)...)
		return
	}
	r.setApplied(ctx, &plan, policies, res, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	// The configuration's rules are now exactly res.Rules.
	saveManaged(ctx, resp.Private, managedAfter(nil, reconcile.Result{Rules: res.Rules}))
	if len(res.Recreated) > 0 {
		summary, detail := applyFailure("", nil, account, res)
		resp.Diagnostics.AddError(summary, detail)
	}
}

// startApply gathers what Create and Update both need from the plan (the
// account, the API client, the planned policies) and bounds ctx by the
// operation's timeout. Problems go to diags; cancel is always safe to call.
func (r *egressPoliciesResource) startApply(ctx context.Context, plan egressPoliciesModel, timeout time.Duration, verb string, diags *diag.Diagnostics) (context.Context, context.CancelFunc, string, cfapi.Client, []policyModel) {
	account := r.accountFor(plan.AccountID, diags)
	client := r.client(diags)
	policies, d := policiesFromList(ctx, plan.Policies)
	diags.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	ctx = tflog.SetField(ctx, "account_id", account)
	if !diags.HasError() {
		tflog.Info(ctx, verb+" egress policies", map[string]any{"policies": len(policies)})
	}
	return ctx, cancel, account, client, policies
}

func (r *egressPoliciesResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state egressPoliciesModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	account := r.accountFor(state.AccountID, &resp.Diagnostics)
	client := r.client(&resp.Diagnostics)
	prior, d := policiesFromList(ctx, state.Policies)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	all, err := client.ListRules(ctx, account)
	if err != nil {
		resp.Diagnostics.AddError("Reading the egress policies failed", fmt.Sprintf("Listing the Gateway rules of account %s: %s", account, err))
		return
	}
	egress := resEgressOnly(all)
	rememberRead(r.data, account, egress)
	tflog.Debug(ctx, "read egress policies", map[string]any{"account_id": account, "egress_rules": len(egress), "rules": len(all)})
	l, d := policiesToList(ctx, resPoliciesFromRules(egress, prior))
	resp.Diagnostics.Append(d...)
	state.Policies = l
	state.AccountID = types.StringValue(account)
	state.ID = types.StringValue(account)
	if state.CatchAll.IsNull() {
		state.CatchAll = types.StringValue(string(lint.CatchAllRecommended))
	}
	if state.Timeouts.IsNull() {
		state.Timeouts = timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{
			"create": types.StringType, "update": types.StringType, "delete": types.StringType,
		})}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	savePrivateOthers(ctx, all, resp.Private)
}

func (r *egressPoliciesResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state egressPoliciesModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultApplyTimeout)
	resp.Diagnostics.Append(d...)
	account := r.accountFor(state.AccountID, &resp.Diagnostics)
	client := r.client(&resp.Diagnostics)
	ps, d := policiesFromList(ctx, state.Policies)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var ids []string
	for _, p := range ps {
		if id := strOf(p.ID); id != "" {
			ids = append(ids, id)
		}
	}
	tflog.Info(ctx, "deleting egress policies", map[string]any{"account_id": account, "rules": len(ids)})
	gone, err := reconcile.Delete(ctx, client, account, ids, r.applyOptions(ctx))
	if err != nil {
		resp.Diagnostics.AddError("Deleting the egress policies failed", fmt.Sprintf("Account %s: %s. The state keeps the %d rules not deleted yet; run terraform destroy again to delete them.", account, err, len(ids)-len(gone)))
		// The rules deleted are gone from the state; the others stay in it.
		deleted := make(map[string]bool, len(gone))
		for _, id := range gone {
			deleted[id] = true
		}
		var left []policyModel
		for _, p := range ps {
			if !deleted[strOf(p.ID)] {
				left = append(left, p)
			}
		}
		l, d := policiesToList(ctx, left)
		resp.Diagnostics.Append(d...)
		state.Policies = l
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
}

// ImportState imports by account ID: the account's egress rules are adopted
// in their current order.
func (r *egressPoliciesResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	account := strings.TrimSpace(req.ID)
	if account == "" {
		resp.Diagnostics.AddError("Invalid import ID", "Import cfegress_egress_policies by account ID: terraform import cfegress_egress_policies.NAME <account_id>")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), account)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("account_id"), account)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("catch_all"), string(lint.CatchAllRecommended))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("policies"), []policyModel{})...)
}

// ---------------------------------------------------------------------------
// Apply helpers

// summaryAccountChanged is the summary of every error that means "the
// account is not what the plan was made from".
const summaryAccountChanged = "The account changed since the plan"

// applyFailure explains a failed apply (err) or, with err nil, an apply
// that had to create again rules deleted outside Terraform since the plan
// (their new IDs differ from the plan's, which Terraform reports as an
// error: this one says what happened instead).
func applyFailure(summary string, err error, account string, res reconcile.Result) (string, string) {
	var b strings.Builder
	var ace *reconcile.AccountChangedError
	switch {
	case err == nil:
		summary = summaryAccountChanged
		fmt.Fprintf(&b, "Account %s: egress rules of this configuration were deleted outside Terraform after the plan; the apply created them again, as the configuration says:\n", account)
		for _, i := range res.Recreated {
			r := res.Rules[i]
			fmt.Fprintf(&b, "  - policies[%d] %q is now rule %s at precedence %d\n", i, r.Name, r.ID, r.Precedence)
		}
		b.WriteString("The account now matches the configuration and the state records the new rule IDs; run terraform plan to confirm (it shows no changes).")
	case errors.As(err, &ace):
		summary = summaryAccountChanged
		fmt.Fprintf(&b, "Account %s: %s.", account, err)
		if len(ace.Vanished) > 0 && ace.Create {
			b.WriteString("\nIf this apply replaces a tainted cfegress_egress_policies, its destroy deleted those rules: run terraform apply again to create the policies.")
		}
	default:
		fmt.Fprintf(&b, "Account %s: %s", account, err)
	}
	if len(res.Recreated) > 0 && err != nil {
		fmt.Fprintf(&b, "\n%d rule(s) deleted outside Terraform since the plan were created again before the failure.", len(res.Recreated))
	}
	if len(res.Unverified) > 0 {
		b.WriteString("\nThe outcome of these writes is unknown (their response was lost and the account could not be read again); the next terraform plan shows what happened:")
		for _, op := range res.Unverified {
			fmt.Fprintf(&b, "\n  - %s", op)
		}
	}
	return summary, b.String()
}

// changesMade counts the writes an apply made (planned deletes of rules
// that were already gone are not changes).
func changesMade(res reconcile.Result) int {
	n := 0
	for _, w := range res.Done {
		if !w.Gone {
			n++
		}
	}
	return n
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// unmanagedDetail lists unmanaged egress rules with an import hint.
func unmanagedDetail(account string, rules []cfapi.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Account %s already has %d egress rule(s) that are not in this configuration:\n", account, len(rules))
	for _, r := range rules {
		fmt.Fprintf(&b, "  - %q (id %s, precedence %d)\n", r.Name, r.ID, r.Precedence)
	}
	fmt.Fprintf(&b, "cfegress_egress_policies owns every egress rule of the account. Import them to manage the existing list:\n"+
		"  terraform import cfegress_egress_policies.<name> %s\n"+
		"or add policies with these names to the configuration (they are then adopted), or delete them in the dashboard.", account)
	return b.String()
}
