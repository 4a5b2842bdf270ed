package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/lint"
)

// dynTuple is a tuple of objects of string attributes, as Terraform hands
// hand-written HCL to a dynamic argument.
func dynTuple(objs ...map[string]attr.Value) types.Dynamic {
	var ts []attr.Type
	var vs []attr.Value
	for _, o := range objs {
		at := map[string]attr.Type{}
		for k, v := range o {
			at[k] = v.Type(context.Background())
		}
		ts = append(ts, types.ObjectType{AttrTypes: at})
		vs = append(vs, types.ObjectValueMust(at, o))
	}
	return types.DynamicValue(types.TupleValueMust(ts, vs))
}

// The decide/lint functions and the decision, matrix and session replay
// data sources take the inventory as dedicated_ips: an engine error must
// send the user there, not to cfegress_egress_policies' dedicated_egress_ips.
func TestInventoryErrorsNameDedicatedIPs(t *testing.T) {
	ctx := context.Background()
	egress := types.ObjectValueMust(map[string]attr.Type{"method": types.StringType, "ipv4": types.StringType},
		map[string]attr.Value{"method": types.StringValue("dedicated"), "ipv4": types.StringValue("203.0.113.99")})
	policies := dynTuple(map[string]attr.Value{"name": types.StringValue("Vendor"), "traffic": types.StringValue("net.dst.port == 443"), "egress": egress})
	ips := dynTuple(map[string]attr.Value{"ipv4": types.StringValue("203.0.113.10"), "colo": types.StringValue("NRT")})
	check := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "add it to dedicated_ips") || strings.Contains(err.Error(), "dedicated_egress_ips") {
			t.Errorf("%s: err = %v, want it to say \"add it to dedicated_ips\" and not name dedicated_egress_ips", what, err)
		}
	}
	_, err := newSimulation(ctx, policies, "policies", ips, "dedicated_ips")
	check("decide, decision, matrix", err)
	_, _, err = replayList(ctx, policies, "policies", ips, "dedicated_ips")
	check("session replay", err)
	in, err := lintInput(ctx, policies, ips)
	if err != nil || in == nil {
		t.Fatalf("lintInput: %v %v", in, err)
	}
	named := false
	for _, f := range lint.Lint(*in) {
		named = named || strings.Contains(f.Message, "add it to dedicated_ips")
		if strings.Contains(f.Message, "dedicated_egress_ips") {
			t.Errorf("lint %s: %q", f.Rule, f.Message)
		}
	}
	if !named {
		t.Errorf("no lint finding says \"add it to dedicated_ips\"")
	}
}
