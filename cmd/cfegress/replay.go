package main

// cfegress replay: Network Session Log records replayed through the engine
// (SPEC §7). The model check against the list that was live, and with a
// plan the sessions whose egress the planned list changes.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/replay"
)

// exitDisagree: `replay --fail-on-disagree` found sessions the model
// decides otherwise than Cloudflare logged. (`--fail-on-change` uses
// exitImpact: traffic moves.)
const exitDisagree = 4

func init() { register(newReplayCommand) }

type replayFlags struct {
	logs, plan, state, format, address string
	workers, examples                  int
	failOnChange, failOnDisagree       bool
}

func newReplayCommand(s streams) *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay --logs FILE (--plan PLAN_JSON | --state STATE_JSON)",
		Short: "Replay Network Session Logs through the engine: does it decide what Cloudflare did, and what would a plan change?",
		Long: `Replays Zero Trust Network Session Log records (Logpush dataset zero_trust_network_sessions,
NDJSON as Logpush writes it, gzip-compressed or not, "-" for stdin) through the decision engine.

The model check compares each record's EgressRuleName/EgressRuleID, EgressIP and EgressColoName
with what the engine decides for the same flow on the list that was live: the plan's prior state
(--plan) or the state (--state). Logs carry no user country, groups, device posture or proxied
flag: a record agrees when some value of what it lacks explains it (the destination proxied or not,
a colo outage, the user in the ingress colo's country or abroad), and the summary says which was
inferred; a record that needs a field logs do not carry is undecidable and names it.

With --plan, the sessions whose egress the planned list would change are listed too (before ->
after), with the hits of every planned policy. Rows aggregated upstream (a "count" column) weigh that
much. Records are routed to each cfegress_egress_policies by AccountID.

Exit codes: 0 done, 1 error, 2 usage, 3 with --fail-on-change when a session's egress changes,
4 with --fail-on-disagree when a session disagrees with the model.`,
		Example: `  terraform plan -out tf.plan && terraform show -json tf.plan > plan.json
  cfegress replay --logs sessions.ndjson.gz --plan plan.json
  cat logs/20261126/*.log.gz | cfegress replay --logs - --state state.json --format json --workers 0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReplay(s, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.logs, "logs", "", "Network Session Log records: an NDJSON `FILE`, gzip-compressed or not, or - for stdin (required)")
	fl.StringVar(&f.plan, "plan", "", "`PLAN_JSON`, the output of terraform show -json PLANFILE: the live list from its prior state, the planned list from its changes")
	fl.StringVar(&f.state, "state", "", "`STATE_JSON`, the output of terraform show -json (a state): the live list")
	fl.StringVar(&f.format, "format", "text", "output `FORMAT`: text or json")
	fl.StringVar(&f.address, "address", "", "replay against the cfegress_egress_policies at this `ADDRESS` only (default: every one, records routed by AccountID)")
	fl.IntVar(&f.workers, "workers", 1, "`N` goroutines parse and check records; 0 = one per CPU core")
	fl.IntVar(&f.examples, "examples", 100, "`N` disagreements, changes and malformed lines are listed one by one (counts are always complete)")
	fl.BoolVar(&f.failOnChange, "fail-on-change", false, "exit 3 when the planned list changes any session's egress")
	fl.BoolVar(&f.failOnDisagree, "fail-on-disagree", false, "exit 4 when any session disagrees with the model")
	_ = cmd.MarkFlagRequired("logs")
	return cmd
}

// replayTarget is one cfegress_egress_policies to replay against.
type replayTarget struct {
	address, accountID string
	live, planned      *replay.List
	// note says where the lists came from when not the obvious place.
	note string
}

func runReplay(s streams, f *replayFlags) error {
	if f.format != "text" && f.format != "json" {
		return usageError{fmt.Errorf("--format %q: use text or json", f.format)}
	}
	if f.plan == "" && f.state == "" {
		return usageError{fmt.Errorf("--plan or --state is required: the live policy list comes from the plan's prior state or from the state")}
	}
	if f.workers < 0 {
		return usageError{fmt.Errorf("--workers %d: use 1 or more, or 0 for one per CPU core", f.workers)}
	}
	if f.examples < 0 {
		return usageError{fmt.Errorf("--examples %d: use 0 or more", f.examples)}
	}
	targets, err := replayTargets(f)
	if err != nil {
		return err
	}
	in, closeIn, err := openLogs(s, f.logs)
	if err != nil {
		return err
	}
	defer closeIn()
	ts := make([]replay.Target, len(targets))
	for i, t := range targets {
		ts[i] = replay.Target{AccountID: t.accountID, Live: t.live, Planned: t.planned}
	}
	opt := replay.Options{Workers: f.workers, MaxExamples: f.examples}
	if f.examples == 0 {
		opt.MaxExamples = -1
	}
	reps, sum, err := replay.RunTargets(in, ts, opt)
	if err != nil {
		return fmt.Errorf("reading %s: %w", logsName(f.logs), err)
	}
	if f.format == "json" {
		err = writeReplayJSON(s.out, targets, reps, sum)
	} else {
		err = writeReplayText(s.out, f, targets, reps, sum)
	}
	if err != nil {
		return err
	}
	var changed, disagree int64
	for _, r := range reps {
		changed += r.Changed
		disagree += r.Disagree
	}
	switch {
	case f.failOnDisagree && disagree > 0:
		return withExitCode(exitDisagree, nil)
	case f.failOnChange && changed > 0:
		return withExitCode(exitImpact, nil)
	}
	return nil
}

func logsName(p string) string {
	if p == "-" {
		return "stdin"
	}
	return p
}

func openLogs(s streams, p string) (io.Reader, func(), error) {
	r, closeFn, err := openInput(s, p)
	if err != nil {
		return nil, nil, fmt.Errorf("--logs: %w", err)
	}
	return r, closeFn, nil
}

// replayTargets reads the live lists (the state, or the plan's prior state)
// and the planned lists (the plan's changes).
func replayTargets(f *replayFlags) ([]replayTarget, error) {
	live := map[string]*egressConfig{}
	var order []string
	planned := map[string]*egressChange{}
	if f.state != "" {
		b, err := os.ReadFile(f.state)
		if err != nil {
			return nil, fmt.Errorf("--state: %w", err)
		}
		res, err := readState(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("--state %s: %w", f.state, err)
		}
		for _, r := range res {
			live[r.Address] = r.Config
			order = append(order, r.Address)
		}
	}
	if f.plan != "" {
		b, err := os.ReadFile(f.plan)
		if err != nil {
			return nil, fmt.Errorf("--plan: %w", err)
		}
		changes, err := readPlan(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("--plan %s: %w", f.plan, err)
		}
		for i := range changes {
			planned[changes[i].Address] = &changes[i]
		}
		if f.state == "" {
			prior, err := priorState(bytes.NewReader(b))
			if err != nil {
				return nil, fmt.Errorf("--plan %s: %w", f.plan, err)
			}
			for _, r := range prior {
				live[r.Address] = r.Config
				order = append(order, r.Address)
			}
		}
		for _, c := range changes {
			if _, ok := live[c.Address]; !ok {
				order = append(order, c.Address)
			}
		}
	}
	var out []replayTarget
	seen := map[string]bool{}
	var all []string
	for _, addr := range order {
		if seen[addr] {
			continue
		}
		seen[addr] = true
		all = append(all, addr)
		if f.address != "" && addr != f.address {
			continue
		}
		t, err := newReplayTarget(addr, live[addr], planned[addr], f.plan != "")
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		src := "--state " + f.state
		if f.state == "" {
			src = "--plan " + f.plan
		}
		if f.address != "" {
			return nil, fmt.Errorf("--address %s: no such cfegress_egress_policies in %s (it has: %s)", f.address, src, orNoneList(all))
		}
		return nil, fmt.Errorf("%s has no cfegress_egress_policies resource: nothing to replay against", src)
	}
	return out, nil
}

func orNoneList(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func newReplayTarget(addr string, live *egressConfig, change *egressChange, withPlan bool) (replayTarget, error) {
	t := replayTarget{address: addr}
	var after *egressConfig
	if change != nil {
		after = change.After
	}
	// The live list; a resource the plan creates had none (only its
	// dedicated IPs, which exist before the policies do).
	var liveInv []engine.DedicatedIP
	if live != nil {
		ps, inv, err := live.engine()
		if err != nil {
			return t, fmt.Errorf("%s (live): %w", addr, err)
		}
		l, err := replay.NewList(ps, inv)
		if err != nil {
			return t, fmt.Errorf("%s (live): %w", addr, err)
		}
		t.live, liveInv = l, inv
		t.accountID = str(live.Raw["account_id"])
	} else {
		var inv []engine.DedicatedIP
		if after != nil {
			var err error
			if _, inv, err = after.engine(); err != nil {
				return t, fmt.Errorf("%s (planned): %w", addr, err)
			}
		}
		l, err := replay.NewList(nil, inv)
		if err != nil {
			return t, fmt.Errorf("%s (live): %w", addr, err)
		}
		t.live, liveInv = l, inv
		t.note = "created by the plan: the live list is empty"
	}
	if !withPlan {
		return t, nil
	}
	switch {
	case change == nil:
		t.planned = t.live // not in the plan's changes: unchanged
	case after == nil:
		// Destroyed: no policies; unmatched traffic leaves from the nearest
		// dedicated IP.
		l, err := replay.NewList(nil, liveInv)
		if err != nil {
			return t, fmt.Errorf("%s (planned): %w", addr, err)
		}
		t.planned = l
		t.note = "destroyed by the plan: the planned list is empty"
	default:
		ps, inv, err := after.engine()
		if err != nil {
			return t, fmt.Errorf("%s (planned): %w", addr, err)
		}
		l, err := replay.NewList(ps, inv)
		if err != nil {
			return t, fmt.Errorf("%s (planned): %w", addr, err)
		}
		t.planned = l
		if t.accountID == "" {
			t.accountID = str(after.Raw["account_id"])
		}
	}
	return t, nil
}

// replayJSON is one resource's report: SPEC §7's keys and the resource.
type replayJSON struct {
	Address   string `json:"address"`
	AccountID string `json:"account_id,omitempty"`
	Note      string `json:"note,omitempty"`
	*replay.Report
}

func writeReplayJSON(w io.Writer, targets []replayTarget, reps []*replay.Report, sum *replay.LogSummary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if len(reps) == 1 {
		r := *reps[0]
		r.Malformed, r.MalformedLines = sum.Malformed, sum.MalformedLines
		return enc.Encode(struct {
			replayJSON
			OtherAccounts   int64               `json:"other_account_sessions"`
			OtherAccountIDs []replay.FieldCount `json:"other_accounts"`
		}{replayJSON{targets[0].address, targets[0].accountID, targets[0].note, &r}, sum.OtherAccounts, sum.OtherAccountIDs})
	}
	out := struct {
		Records     int64 `json:"records"`
		Agree       int64 `json:"agree"`
		Disagree    int64 `json:"disagree"`
		Undecidable int64 `json:"undecidable"`
		Changed     int64 `json:"changed"`
		*replay.LogSummary
		Resources []replayJSON `json:"resources"`
	}{LogSummary: sum}
	for i, r := range reps {
		out.Records += r.Records
		out.Agree += r.Agree
		out.Disagree += r.Disagree
		out.Undecidable += r.Undecidable
		out.Changed += r.Changed
		out.Resources = append(out.Resources, replayJSON{targets[i].address, targets[i].accountID, targets[i].note, r})
	}
	return enc.Encode(out)
}

// topN is how many disagreement and change kinds the text summary shows.
const topN = 10

func writeReplayText(w io.Writer, f *replayFlags, targets []replayTarget, reps []*replay.Report, sum *replay.LogSummary) error {
	var b strings.Builder
	for i, r := range reps {
		t := targets[i]
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s", t.address)
		if t.accountID != "" {
			fmt.Fprintf(&b, " (account %s)", t.accountID)
		}
		if t.note != "" {
			fmt.Fprintf(&b, " — %s", t.note)
		}
		fmt.Fprintf(&b, ": %s in %s\n", plural(r.Records, "session"), plural(r.Rows, "row"))
		fmt.Fprintf(&b, "  model check on the live list: %s agree, %s disagree, %s undecidable\n", num(r.Agree), num(r.Disagree), num(r.Undecidable))
		in := r.Inferred
		fmt.Fprintf(&b, "    agreeing sessions, inferred: not proxied %s, proxied %s, either %s; colo outage %s%s; user's country %s; another equidistant IP %s\n",
			num(in.Grey), num(in.Orange), num(in.Either), num(in.ColoDown), countsText(in.ColosDown), num(in.UserCountry), num(in.Equidistant))
		if len(r.UndecidableFields) > 0 {
			fmt.Fprintf(&b, "    undecidable for want of:%s\n", countsText(r.UndecidableFields))
		}
		if r.PlannedPolicies != nil || f.plan != "" {
			fmt.Fprintf(&b, "  against the plan: %s change egress, %s cannot be decided on both lists\n", plural(r.Changed, "session"), num(r.ChangeUndecidable))
		}
		topKinds(&b, "Top disagreements (sessions, reason, first example):", len(r.DisagreementGroups), func(k int) (int64, string) {
			g := r.DisagreementGroups[k]
			return g.Count, fmt.Sprintf("%s (%s, line %d)", g.Reason, exampleName(g.Example), g.ExampleLine)
		})
		topKinds(&b, "Top changes (sessions, before -> after, first example):", len(r.ChangeGroups), func(k int) (int64, string) {
			g := r.ChangeGroups[k]
			return g.Count, fmt.Sprintf("%s -> %s (%s, line %d)", egressText(g.Before), egressText(g.After), exampleName(g.Example), g.ExampleLine)
		})
		b.WriteString("\n  Policies of the live list:\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		twf(tw, "    #\tname\thits (model)\tlogged hits\t\n")
		for k, p := range r.Policies {
			name := p.Name
			if !p.Enabled {
				name += " (disabled)"
			}
			twf(tw, "    %d\t%s\t%s\t%s\t\n", k, name, num(p.Hits), num(p.LoggedHits))
		}
		_ = tw.Flush()
		if len(r.Unused) > 0 {
			fmt.Fprintf(&b, "  Unused (no session reached them, by the model or the log): %s\n", quoteList(r.Unused))
			if r.Undecidable > 0 {
				fmt.Fprintf(&b, "    (%s undecidable sessions may reach some of them)\n", num(r.Undecidable))
			}
		}
		if r.PlannedPolicies != nil {
			b.WriteString("\n  Policies of the planned list:\n")
			tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			twf(tw, "    #\tname\thits (model)\t\n")
			for k, p := range r.PlannedPolicies {
				twf(tw, "    %d\t%s\t%s\t\n", k, p.Name, num(p.Hits))
			}
			_ = tw.Flush()
			if len(r.PlannedUnused) > 0 {
				fmt.Fprintf(&b, "  Unused in the planned list: %s\n", quoteList(r.PlannedUnused))
			}
		}
		if len(r.UnknownLoggedRules) > 0 {
			fmt.Fprintf(&b, "  Logged rules not in the live list:")
			for k, u := range r.UnknownLoggedRules {
				if k == topN {
					b.WriteString(" …")
					break
				}
				fmt.Fprintf(&b, " %q (%s) %s;", u.Name, u.ID, num(u.Count))
			}
			b.WriteString("\n")
		}
	}
	if sum.OtherAccounts > 0 {
		fmt.Fprintf(&b, "\n%s of other accounts not replayed%s\n", plural(sum.OtherAccounts, "session"), countsText(sum.OtherAccountIDs))
	}
	if sum.Malformed > 0 {
		fmt.Fprintf(&b, "\n%s (not replayed):\n", plural(sum.Malformed, "malformed line"))
		for k, m := range sum.MalformedLines {
			if k == topN {
				fmt.Fprintf(&b, "  … (--format json lists up to --examples)\n")
				break
			}
			fmt.Fprintf(&b, "  line %d: %s\n", m.Line, m.Error)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// twf writes to a tabwriter over a strings.Builder, which cannot fail.
func twf(tw *tabwriter.Writer, format string, args ...any) { _, _ = fmt.Fprintf(tw, format, args...) }

// topKinds writes the first topN of n kinds, counts right-aligned.
func topKinds(b *strings.Builder, title string, n int, kind func(k int) (int64, string)) {
	if n == 0 {
		return
	}
	fmt.Fprintf(b, "\n  %s\n", title)
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', tabwriter.AlignRight)
	for k := 0; k < n; k++ {
		if k == topN {
			twf(tw, "  …\t%d more kinds\t\n", n-topN)
			break
		}
		count, text := kind(k)
		twf(tw, "  %s\t %s\n", num(count), text)
	}
	_ = tw.Flush()
}

func exampleName(id string) string {
	if id == "" {
		return "no SessionID"
	}
	return id
}

func egressText(e replay.Egress) string {
	var parts []string
	switch {
	case e.Policy != "":
		parts = append(parts, fmt.Sprintf("%q", e.Policy))
	case e.Outcome == string(engine.OutcomeNoMatch):
		parts = append(parts, "no match")
	case e.Outcome == string(engine.OutcomeNotApplicable):
		parts = append(parts, "not applicable")
	}
	switch {
	case e.Outcome == string(engine.OutcomeUnavailable):
		parts = append(parts, "unavailable (the flow fails)")
	case e.EgressIP != "":
		parts = append(parts, e.EgressIP)
	default:
		parts = append(parts, "shared pool")
	}
	if e.EgressColo != "" {
		parts = append(parts, "from "+e.EgressColo)
	}
	if e.GeoCountry != "" {
		parts = append(parts, "geo "+e.GeoCountry)
	}
	return strings.Join(parts, " ")
}

func countsText(cs []replay.FieldCount) string {
	if len(cs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(" (")
	for i, c := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		name := c.Name
		if name == "" {
			name = `""`
		}
		fmt.Fprintf(&b, "%s %s", name, num(c.Count))
	}
	b.WriteString(")")
	return b.String()
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// plural is "1 session", "2 sessions".
func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return num(n) + " " + what + "s"
}

// num writes n with thousands separators.
func num(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
