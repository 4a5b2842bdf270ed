package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ function.Function = (*decideFunction)(nil)

// NewDecideFunction is provider::cfegress::decide.
func NewDecideFunction() function.Function { return &decideFunction{} }

type decideFunction struct{}

func (f *decideFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "decide"
}

const policiesParamDesc = "The ordered egress policies, as the `policies` attribute of `cfegress_egress_policies` (resource or data source) holds them, or hand-written: a list of objects with `name`, `enabled` (default true), `traffic`, `identity`, `device_posture` and `egress = { method, ipv4, ipv6, ipv4_fallback }`. Other attributes (`id`, `precedence`, ...) are ignored and may be unknown; optional ones may be absent."

const dedicatedIPsParamDesc = "The account's dedicated egress IPs: a list of objects with `ipv4`, `ipv6_range` and `colo`; `[cfegress_dedicated_egress_ip.nrt, ...]` works as is. An empty list means the account has none (every flow takes default egress)."

func (f *decideFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Where a flow leaves Cloudflare: the egress Decision of the engine.",
		MarkdownDescription: "Runs the decision engine on one flow: the first enabled policy that matches decides; " +
			"with no match, the dedicated IP nearest the ingress colo is used (see the provider documentation for the rules). " +
			"Needs no credentials; usable in `check` blocks and outputs. When a value it needs is not known yet (plan), the result is unknown.\n\n" +
			"Returns an object with these attributes:\n\n" + decisionAttrDocs(),
		Parameters: []function.Parameter{
			function.DynamicParameter{Name: "policies", MarkdownDescription: policiesParamDesc, AllowNullValue: true, AllowUnknownValues: true},
			function.DynamicParameter{Name: "dedicated_ips", MarkdownDescription: dedicatedIPsParamDesc, AllowNullValue: true, AllowUnknownValues: true},
			function.DynamicParameter{Name: "flow", MarkdownDescription: "The flow: an object with `ingress_colo` and `destination_ip` (required) and optionally `source_ip`, `source_country`, `proxied`, `protocol`, `destination_port`, `source_port`, `email`, `groups`, `colos_down` and the other selectors of the `flow` of `cfegress_egress_decision`.", AllowUnknownValues: true},
		},
		Return: function.ObjectReturn{AttributeTypes: decisionAttrTypes()},
	}
}

func (f *decideFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var policies, ips, flow types.Dynamic
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &policies, &ips, &flow))
	if resp.Error != nil {
		return
	}
	sim, err := newSimulation(ctx, policies, "policies", ips, "dedicated_ips")
	if err != nil {
		resp.Error = argError(err, map[string]int64{"policies": 0, "dedicated_ips": 1})
		return
	}
	fl, down, err := flowFromValue(ctx, flow, "flow")
	var de *DecodeError
	if errors.As(err, &de) && de.Unknown {
		resp.Error = resp.Result.Set(ctx, types.ObjectUnknown(decisionAttrTypes()))
		return
	}
	if err != nil {
		resp.Error = function.NewArgumentFuncError(2, err.Error())
		return
	}
	if sim.unknown != "" {
		resp.Error = resp.Result.Set(ctx, types.ObjectUnknown(decisionAttrTypes()))
		return
	}
	d, err := sim.decide(&fl, down)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(2, "flow: "+err.Error())
		return
	}
	obj, err := decisionValue(d)
	if err != nil {
		resp.Error = function.NewFuncError(err.Error())
		return
	}
	resp.Error = resp.Result.Set(ctx, obj)
}

// argError turns a decoding error into an argument error of the argument its
// path starts with.
func argError(err error, args map[string]int64) *function.FuncError {
	var de *DecodeError
	if errors.As(err, &de) && len(de.Path) > 0 {
		if i, ok := args[de.Path[0].name]; ok {
			return function.NewArgumentFuncError(i, de.Error())
		}
	}
	msg := err.Error()
	for name, i := range args {
		if len(msg) > len(name) && msg[:len(name)+1] == name+":" {
			return function.NewArgumentFuncError(i, msg)
		}
	}
	return function.NewFuncError(fmt.Sprintf("cannot decide: %s", msg))
}

// decisionAttrDocs lists the Decision's attributes as Markdown.
func decisionAttrDocs() string {
	var b strings.Builder
	for _, name := range []string{"outcome", "policy", "policy_index", "method", "egress_ip", "egress_colo", "geo_country", "no_geolocation", "missing", "candidates", "trace"} {
		fmt.Fprintf(&b, "- `%s`: %s\n", name, decisionDescriptions[name])
	}
	b.WriteString("\nEach candidate is an object with `ipv4`, `ipv6_range`, `colo`, `distance_km` (from the ingress colo) and `down`.\n")
	return b.String()
}
