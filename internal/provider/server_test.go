package provider

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// callLint calls provider::cfegress::lint([], dedicatedIPs) on s.
func callLint(t *testing.T, s tfprotov6.ProviderServer, dedicatedIPs *tfprotov6.DynamicValue) *tfprotov6.CallFunctionResponse {
	t.Helper()
	empty, err := tfprotov6.NewDynamicValue(tftypes.DynamicPseudoType, tftypes.NewValue(tftypes.Tuple{ElementTypes: []tftypes.Type{}}, []tftypes.Value{}))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.CallFunction(context.Background(), &tfprotov6.CallFunctionRequest{
		Name:      "lint",
		Arguments: []*tfprotov6.DynamicValue{&empty, dedicatedIPs},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestOpenTofuNullFunctionArgument: OpenTofu 1.10 sends a typed null
// argument (`var.inventory` declared with a type and left null) as an empty
// DynamicValue; the framework alone refused it ("DynamicValue had no JSON
// or msgpack data set"), so `lint(policies, var.inventory)` failed on
// OpenTofu only. The provider's server reads it as the null Terraform
// sends.
func TestOpenTofuNullFunctionArgument(t *testing.T) {
	framework, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	if resp := callLint(t, framework, &tfprotov6.DynamicValue{}); resp.Error == nil {
		t.Fatal("the framework alone accepted an empty argument: this server's fix may no longer be needed")
	}
	s, err := ProtocolServer("test")()
	if err != nil {
		t.Fatal(err)
	}
	asTerraform := callLint(t, s, &tfprotov6.DynamicValue{MsgPack: msgpackNull})
	if asTerraform.Error != nil {
		t.Fatalf("lint([], null) as Terraform sends it: %v", asTerraform.Error.Text)
	}
	for name, arg := range map[string]*tfprotov6.DynamicValue{"empty": {}, "nil": nil} {
		asOpenTofu := callLint(t, s, arg)
		if asOpenTofu.Error != nil {
			t.Fatalf("%s argument: %v", name, asOpenTofu.Error.Text)
		}
		if diff := cmp.Diff(asTerraform.Result, asOpenTofu.Result); diff != "" {
			t.Errorf("%s argument: result differs from Terraform's null (-terraform +opentofu):\n%s", name, diff)
		}
	}
}
