// Command terraform-provider-cfegress is a Terraform provider for Cloudflare
// Zero Trust dedicated egress IPs and ordered egress policies.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/cfegress/terraform-provider-cfegress/internal/provider"
)

// version and commit are set by the release build (goreleaser ldflags:
// -X main.version={{.Version}} -X main.commit={{.Commit}}). The provider
// reports version to Terraform; -version prints both.
var (
	version = "dev"
	commit  = "none"
)

func main() {
	var debug, showVersion bool
	flag.BoolVar(&debug, "debug", false, "set to true to run the provider with support for debuggers like delve")
	flag.BoolVar(&showVersion, "version", false, "print the provider's version and exit")
	flag.Parse()
	if showVersion {
		printVersion(os.Stdout)
		return
	}
	quietFrameworkTraceUnlessLogging()

	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	server := provider.ProtocolServer(version)
	err := tf6server.Serve("registry.terraform.io/cfegress/cfegress", func() tfprotov6.ProviderServer {
		s, err := server()
		if err != nil {
			log.Fatal(err.Error())
		}
		return s
	}, opts...)
	if err != nil {
		log.Fatal(err.Error())
	}
}

// printVersion writes the one-line version report of -version.
func printVersion(w io.Writer) {
	_, _ = fmt.Fprintf(w, "terraform-provider-cfegress %s (commit %s, %s, %s/%s)\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// logEnv are the variables with which a user asks Terraform (and so this
// provider) for logs.
var logEnv = []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PATH", "TF_ACC_LOG_PATH", "TF_LOG_SDK", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_SDK_PROTO"}

// quietFrameworkTraceUnlessLogging turns terraform-plugin-framework's own
// per-attribute trace logging off when nobody asked for logs. The framework
// otherwise formats a JSON trace line for every value of every plan, which
// Terraform then throws away: with 1,000 policies that is about a sixth of
// the provider's CPU time in `terraform plan`. With TF_LOG (or any of
// logEnv) set, nothing changes and every log line is there.
func quietFrameworkTraceUnlessLogging() {
	for _, k := range logEnv {
		if os.Getenv(k) != "" {
			return
		}
	}
	_ = os.Setenv("TF_LOG_SDK_FRAMEWORK", "off")
}
