// Command terraform-provider-cfegress is a Terraform provider for Cloudflare
// Zero Trust dedicated egress IPs and ordered egress policies.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/cfegress/terraform-provider-cfegress/internal/provider"
)

// version is set by the release build (goreleaser ldflags).
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "set to true to run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/cfegress/cfegress",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
