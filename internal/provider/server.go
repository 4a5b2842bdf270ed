package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// ProtocolServer is the provider's protocol 6 server, as main serves it and
// the acceptance tests run it: terraform-plugin-framework's, with OpenTofu's
// null function arguments read as the nulls they are.
func ProtocolServer(version string) func() (tfprotov6.ProviderServer, error) {
	framework := providerserver.NewProtocol6WithError(New(version)())
	return func() (tfprotov6.ProviderServer, error) {
		s, err := framework()
		if err != nil {
			return nil, err
		}
		return nullArgumentsServer{s}, nil
	}
}

// msgpackNull is a null value of any type in MessagePack (nil, 0xc0), as
// Terraform sends a null function argument.
var msgpackNull = []byte{0xc0}

// nullArgumentsServer fills in the null function arguments OpenTofu leaves
// out. OpenTofu (1.10.10: internal/plugin6/grpc_provider.go, CallFunction)
// skips encoding an argument that is null when its parameter allows null,
// so the provider receives an empty DynamicValue, which the framework
// refuses as "DynamicValue had no JSON or msgpack data set" ("always an
// issue in terraform-plugin-framework"). Terraform sends the null encoded.
// An empty value carries no data of any other kind, so reading it as null
// changes nothing for Terraform. (A bare `null` literal has no type:
// OpenTofu answers such a call itself with an unknown result without
// calling the provider, which no provider can change.)
type nullArgumentsServer struct {
	tfprotov6.ProviderServer
}

func (s nullArgumentsServer) CallFunction(ctx context.Context, req *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	if req != nil {
		for i, a := range req.Arguments {
			if a == nil || (a.MsgPack == nil && a.JSON == nil) {
				req.Arguments[i] = &tfprotov6.DynamicValue{MsgPack: msgpackNull}
			}
		}
	}
	return s.ProviderServer.CallFunction(ctx, req)
}
