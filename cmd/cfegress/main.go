// Command cfegress reviews egress changes and logs outside Terraform, the way
// infracost reads plan JSON in CI: `cfegress impact PLAN_JSON` says which
// traffic a plan moves, `cfegress replay --logs FILE` replays Network Session
// Log records through the engine. It runs offline and needs no credentials.
//
// It is glue, like the provider: flags are parsed here, every answer comes
// from internal/engine.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// version is set by the release build (goreleaser ldflags).
var version = "dev"

// Exit codes. Subcommands document which they use.
const (
	exitOK = 0
	// exitError: the command could not do its work (unreadable input, ...).
	exitError = 1
	// exitUsage: bad flags or arguments.
	exitUsage = 2
	// exitImpact: `impact --fail-on-impact` found traffic that moves.
	exitImpact = 3
)

// exitCodeError makes run return code after printing err (when err has a
// message).
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.err }

// withExitCode wraps err so that run exits with code.
func withExitCode(code int, err error) error { return &exitCodeError{code: code, err: err} }

// streams are the command's standard streams (tests pass buffers).
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// subcommands are added by the files that implement them (impact.go,
// replay.go, ...), each from an init function.
var subcommands []func(s streams) *cobra.Command

func register(f func(s streams) *cobra.Command) { subcommands = append(subcommands, f) }

func newRoot(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "cfegress",
		Short: "Review Cloudflare Zero Trust egress policy changes and session logs offline",
		Long: "cfegress answers, without credentials, the questions a reviewer of an egress change asks:\n" +
			"which traffic a Terraform plan moves (impact), and whether Cloudflare's Network Session Logs\n" +
			"agree with the policies (replay). It reads `terraform show -json` output and Logpush NDJSON.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetVersionTemplate("cfegress {{.Version}}\n")
	for _, f := range subcommands {
		root.AddCommand(f(s))
	}
	return root
}

// run executes the command line and returns the process exit code.
func run(args []string, s streams) int {
	root := newRoot(s)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	code := exitError
	var ec *exitCodeError
	if errors.As(err, &ec) {
		code = ec.code
	} else if isUsageError(err) {
		code = exitUsage
	}
	if msg := err.Error(); msg != "" {
		if code == exitUsage {
			msg += "\nRun 'cfegress --help' for usage."
		}
		// Nothing is left to tell a failed write of the error to: the
		// exit code still says it.
		_, _ = fmt.Fprintf(s.err, "cfegress: %s\n", msg)
	}
	return code
}

// usageError marks a bad command line.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func isUsageError(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	// cobra's own flag and argument errors are plain errors; they are all
	// about the command line.
	var ec *exitCodeError
	return !errors.As(err, &ec) && cobraUsageError(err)
}

func main() {
	os.Exit(run(os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
}
