package main

// cfegress impact PLAN_JSON: the change impact of every
// cfegress_egress_policies in a plan (the output of `terraform show -json
// PLANFILE`), as the provider's plan warning tells it: the regions of the
// flow space decided differently, each with an example flow the engine
// confirms on both lists. Offline, no credentials.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/impact"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

func init() { register(newImpactCmd) }

func newImpactCmd(s streams) *cobra.Command {
	var format string
	var failOnImpact bool
	var maxRegions int
	cmd := &cobra.Command{
		Use:   "impact PLAN_JSON",
		Short: "Which traffic a Terraform plan's egress policy changes move",
		Long: "Reads `terraform show -json PLANFILE` output (a file, or - for stdin) and, for every cfegress_egress_policies the plan\n" +
			"updates, prints the regions of the flow space (every field the expressions use; IPv4 not proxied, IPv4 proxied and IPv6\n" +
			"flows from every ingress colo) whose egress decision differs between the current and the planned list: deciding policy,\n" +
			"method, egress IP, physical colo or geolocation. Each region comes with an example flow the engine decides on both lists.\n\n" +
			"--format json prints the list provider::cfegress::impact returns, one element per region, with the resource's address.\n" +
			"--fail-on-impact exits 3 when any traffic moves (regions that only possibly move count), for CI gates.\n" +
			"Runs offline: no credentials, no API calls.",
		Example: "  terraform plan -out=tfplan\n  terraform show -json tfplan > plan.json\n  cfegress impact plan.json\n  cfegress impact --format json --fail-on-impact plan.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("--format must be table or json, got %q", format)}
			}
			r, closeFn, err := openInput(s, args[0])
			if err != nil {
				return err
			}
			defer closeFn()
			changes, err := readPlan(r)
			if err != nil {
				return err
			}
			moved, err := reportImpact(s.out, changes, format, maxRegions)
			if err != nil {
				return err
			}
			if moved && failOnImpact {
				return withExitCode(exitImpact, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().BoolVar(&failOnImpact, "fail-on-impact", false, "exit with status 3 when any traffic moves")
	cmd.Flags().IntVar(&maxRegions, "max-regions", 50, "regions listed one by one per resource; the others are summarised")
	return cmd
}

// openInput opens a file argument, or stdin for "-".
func openInput(s streams, name string) (io.Reader, func(), error) {
	if name == "-" {
		return s.in, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { _ = f.Close() }, nil
}

// reportImpact analyses every change and prints it; moved reports whether
// any traffic moves.
func reportImpact(w io.Writer, changes []egressChange, format string, maxRegions int) (moved bool, err error) {
	rows := []spec.Object{}
	var problems []string
	if len(changes) == 0 && format == "table" {
		_, _ = fmt.Fprintln(w, "The plan changes no cfegress_egress_policies.")
	}
	for _, c := range changes {
		switch {
		case c.Before == nil:
			if format == "table" {
				_, _ = fmt.Fprintf(w, "%s: created (no current list to compare with).\n\n", c.Address)
			}
			continue
		case c.After == nil:
			if format == "table" {
				_, _ = fmt.Fprintf(w, "%s: destroyed: every egress policy goes; traffic then leaves from the dedicated IP nearest each user's ingress colo.\n\n", c.Address)
			}
			moved = true
			continue
		}
		bp, binv, err := c.Before.engine()
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s (current): %v", c.Address, err))
			continue
		}
		ap, ainv, err := c.After.engine()
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s (planned): %v", c.Address, err))
			continue
		}
		before, after := impact.Side{Policies: bp, Inventory: binv}, impact.Side{Policies: ap, Inventory: ainv}
		res, err := impact.Analyze(before, after, impact.Options{MaxRegions: maxRegions})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", c.Address, err))
			continue
		}
		moved = moved || res.Moves()
		if format == "json" {
			els, err := impact.Elements(res)
			if err != nil {
				return false, fmt.Errorf("%s: %w", c.Address, err)
			}
			for _, e := range els {
				e["address"] = c.Address
				rows = append(rows, e)
			}
			continue
		}
		if !res.Moves() && len(res.Incomplete) == 0 {
			_, _ = fmt.Fprintf(w, "%s: no traffic moves.\n\n", c.Address)
			continue
		}
		if _, err := fmt.Fprintf(w, "%s: %s\n\n%s\n\n", c.Address, impact.Summary(res), impact.Table(res)); err != nil {
			return moved, err
		}
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return false, err
		}
	}
	if len(problems) > 0 {
		return moved, fmt.Errorf("cannot tell the impact of %s", strings.Join(problems, "; "))
	}
	return moved, nil
}
