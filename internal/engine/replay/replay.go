// Package replay replays Network Session Log records (Logpush dataset
// zero_trust_network_sessions) through the decision engine: the model check
// (does the engine decide what Cloudflare logged, on the list that was
// live?) and, given a planned list, the sessions whose egress it would
// change (SPEC §5 cfegress_session_replay, §7 cfegress replay).
//
// Records stream through in constant memory: counts, per-policy hits and a
// bounded number of examples and groups are kept, never the records. With
// Options.Workers > 1 records are parsed and checked on that many
// goroutines; the report is the same whatever the number of workers.
//
// Standard library and the engine only.
package replay

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// List is one egress policy list with the account's dedicated egress IPs,
// compiled for replay.
type List struct {
	Policies  []engine.Policy
	Inventory []engine.DedicatedIP
	eng       *engine.Engine
	byID      map[string]int // rule ID, as given and in lower case -> index
	byName    map[string]int // name -> index (the first policy of that name)
}

// NewList compiles policies (each with its Match set, as for
// engine.Compile) and the inventory.
func NewList(policies []engine.Policy, inv []engine.DedicatedIP) (*List, error) {
	return NewListNamed(policies, inv, "")
}

// NewListNamed is NewList whose errors call the inventory inventoryName
// (engine.CompileNamed): the caller's attribute or flag.
func NewListNamed(policies []engine.Policy, inv []engine.DedicatedIP, inventoryName string) (*List, error) {
	eng, err := engine.CompileNamed(policies, inv, inventoryName)
	if err != nil {
		return nil, err
	}
	l := &List{Policies: policies, Inventory: inv, eng: eng, byID: map[string]int{}, byName: map[string]int{}}
	for i := range policies {
		for _, id := range []string{policies[i].ID, strings.ToLower(policies[i].ID)} {
			if _, dup := l.byID[id]; id != "" && !dup {
				l.byID[id] = i
			}
		}
		if _, dup := l.byName[policies[i].Name]; !dup {
			l.byName[policies[i].Name] = i
		}
	}
	return l, nil
}

// Options tune a replay.
type Options struct {
	// Workers is the number of goroutines that parse and check records;
	// 0 means runtime.GOMAXPROCS(0), 1 checks on the caller's goroutine.
	Workers int
	// MaxExamples bounds the disagreements, changes and malformed lines
	// listed one by one (the first ones in the log); 0 means 100, negative
	// means none. Counts are always complete.
	MaxExamples int
	// MaxGroups bounds the distinct kinds of disagreement and change that
	// are counted separately; 0 means 1000. Past it, new kinds are counted
	// in the totals only (Report.GroupsTruncated).
	MaxGroups int
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case o.MaxExamples == 0:
		o.MaxExamples = 100
	case o.MaxExamples < 0:
		o.MaxExamples = 0
	}
	if o.MaxGroups <= 0 {
		o.MaxGroups = 1000
	}
	return o
}

// Run replays the log read from r (NDJSON, gzip-compressed or not) against
// live, and planned when it is not nil: every record, whatever its
// AccountID. Malformed lines are counted and listed, never fatal; the error
// is for reading r.
func Run(r io.Reader, live, planned *List, opt Options) (*Report, error) {
	reps, sum, err := RunTargets(r, []Target{{Live: live, Planned: planned}}, opt)
	if err != nil {
		return nil, err
	}
	rep := reps[0]
	rep.Malformed, rep.MalformedLines = sum.Malformed, sum.MalformedLines
	return rep, nil
}

// Target is a policy list the records of one account are replayed against.
type Target struct {
	// AccountID selects the records of that account (case-insensitive). A
	// target with "" takes the records no other target selects; a record
	// without AccountID goes to the only target, or to the "" target.
	AccountID     string
	Live, Planned *List
}

// LogSummary is what a replay found in the log itself.
type LogSummary struct {
	// Malformed counts lines that are not records (bad JSON, wrong types,
	// values that are not addresses); MalformedLines lists the first ones.
	Malformed      int64           `json:"malformed"`
	MalformedLines []MalformedLine `json:"malformed_lines"`
	// OtherAccounts counts sessions of accounts no target replays, by
	// AccountID (the first 100 accounts).
	OtherAccounts   int64        `json:"other_account_sessions"`
	OtherAccountIDs []FieldCount `json:"other_accounts"`
}

// RunTargets replays the log against several targets at once, routing each
// record by its AccountID: one report per target, in order.
func RunTargets(r io.Reader, targets []Target, opt Options) ([]*Report, *LogSummary, error) {
	if len(targets) == 0 {
		return nil, nil, fmt.Errorf("replay: no policy list to replay against")
	}
	opt = opt.withDefaults()
	lines, err := engine.NewSessionLineReader(r)
	if err != nil {
		return nil, nil, err
	}
	rt := newRouter(targets)
	var w *worker
	if opt.Workers == 1 {
		w = newWorker(targets, rt, opt)
		for {
			line, lerr, ok := lines.Next()
			if !ok {
				break
			}
			w.line(lines.Line(), line, lerr)
		}
	} else {
		w = runParallel(lines, targets, rt, opt)
	}
	if err := lines.Err(); err != nil {
		return nil, nil, err
	}
	reps := make([]*Report, len(targets))
	for i, a := range w.accs {
		reps[i] = a.report()
	}
	return reps, w.summary(), nil
}

// router maps a record's AccountID to a target.
type router struct {
	byAccount map[string]int
	rest      int // the "" target, -1 for none
	single    bool
}

func newRouter(targets []Target) *router {
	rt := &router{byAccount: map[string]int{}, rest: -1, single: len(targets) == 1}
	for i, t := range targets {
		if t.AccountID == "" {
			if rt.rest < 0 {
				rt.rest = i
			}
			continue
		}
		if _, dup := rt.byAccount[strings.ToLower(t.AccountID)]; !dup {
			rt.byAccount[strings.ToLower(t.AccountID)] = i
		}
	}
	return rt
}

func (rt *router) route(account string) int {
	if account == "" {
		if rt.single {
			return 0
		}
		return rt.rest
	}
	if len(rt.byAccount) == 0 {
		return rt.rest
	}
	if i, ok := rt.byAccount[account]; ok {
		return i
	}
	if i, ok := rt.byAccount[strings.ToLower(account)]; ok {
		return i
	}
	return rt.rest
}

// worker parses and checks lines: one per goroutine.
type worker struct {
	rt       *router
	opt      Options
	p        *engine.SessionParser
	rec      engine.LoggedSession
	checkers []*checker
	accs     []*accumulator

	malformed      int64
	malformedLines []MalformedLine
	other          int64
	otherIDs       map[string]int64
}

func newWorker(targets []Target, rt *router, opt Options) *worker {
	w := &worker{rt: rt, opt: opt, p: engine.NewSessionParser(), otherIDs: map[string]int64{}}
	w.p.Only(replayFields)
	for _, t := range targets {
		w.checkers = append(w.checkers, newChecker(t.Live, t.Planned))
		w.accs = append(w.accs, newAccumulator(t.Live, t.Planned, opt))
	}
	return w
}

const maxOtherAccounts = 100

// replayFields are the record fields the replay reads; byte counts, times,
// the device name and the egress port are skipped.
const replayFields = engine.FieldAccountID | engine.FieldSessionID | engine.FieldIngressColoName |
	engine.FieldOriginIP | engine.FieldOriginPort | engine.FieldProtocol | engine.FieldOfframp |
	engine.FieldSourceIP | engine.FieldSourcePort | engine.FieldSourceInternalIP | engine.FieldEmail |
	engine.FieldUserID | engine.FieldDeviceID | engine.FieldVirtualNetworkID | engine.FieldResolvedFQDN |
	engine.FieldEgressRuleID | engine.FieldEgressRuleName | engine.FieldEgressIP | engine.FieldEgressColoName

func (w *worker) line(num int, line []byte, lerr error) {
	if lerr == nil {
		lerr = w.p.Parse(line, &w.rec)
	}
	if lerr != nil {
		w.addMalformed(num, lerr)
		return
	}
	t := w.rt.route(w.rec.AccountID)
	if t < 0 {
		w.other += w.rec.Count
		if _, ok := w.otherIDs[w.rec.AccountID]; ok || len(w.otherIDs) < maxOtherAccounts {
			w.otherIDs[w.rec.AccountID] += w.rec.Count
		}
		return
	}
	res, err := w.checkers[t].check(&w.rec)
	if err != nil {
		w.addMalformed(num, err)
		return
	}
	w.accs[t].add(num, &w.rec, res)
}

func (w *worker) addMalformed(num int, err error) {
	w.malformed++
	if len(w.malformedLines) < w.opt.MaxExamples {
		msg := err.Error()
		var se *engine.SessionSyntaxError
		var me *malformedError
		if !errors.As(err, &se) && !errors.As(err, &me) {
			msg = "not a session record: " + msg
		}
		w.malformedLines = append(w.malformedLines, MalformedLine{Line: num, Error: msg})
	}
}

func (w *worker) merge(b *worker) {
	for i := range w.accs {
		w.accs[i].merge(b.accs[i])
	}
	w.malformed += b.malformed
	w.malformedLines = firstByLine(append(w.malformedLines, b.malformedLines...), func(m MalformedLine) int { return m.Line }, w.opt.MaxExamples)
	w.other += b.other
	for k, v := range b.otherIDs {
		if _, ok := w.otherIDs[k]; ok || len(w.otherIDs) < maxOtherAccounts {
			w.otherIDs[k] += v
		}
	}
}

func (w *worker) summary() *LogSummary {
	return &LogSummary{
		Malformed: w.malformed, MalformedLines: nonNil(w.malformedLines),
		OtherAccounts: w.other, OtherAccountIDs: counts(w.otherIDs),
	}
}

// batch is a run of consecutive lines handed to one worker.
type batch struct {
	buf  []byte
	ends []int // end offset of each line in buf
	nums []int // line numbers
	errs []error
}

const (
	batchLines = 256
	batchBytes = 128 << 10
)

func runParallel(lines *engine.SessionLineReader, targets []Target, rt *router, opt Options) *worker {
	n := opt.Workers
	work := make(chan *batch, n)
	free := make(chan *batch, 2*n)
	for i := 0; i < 2*n; i++ {
		free <- &batch{buf: make([]byte, 0, batchBytes+64<<10)}
	}
	workers := make([]*worker, n)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = newWorker(targets, rt, opt)
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			for b := range work {
				start := 0
				for k, end := range b.ends {
					w.line(b.nums[k], b.buf[start:end], b.errs[k])
					start = end
				}
				free <- b
			}
		}(workers[i])
	}
	b := <-free
	reset := func(b *batch) {
		b.buf, b.ends, b.nums, b.errs = b.buf[:0], b.ends[:0], b.nums[:0], b.errs[:0]
	}
	reset(b)
	for {
		line, lerr, ok := lines.Next()
		if !ok {
			break
		}
		b.buf = append(b.buf, line...)
		b.ends = append(b.ends, len(b.buf))
		b.nums = append(b.nums, lines.Line())
		b.errs = append(b.errs, lerr)
		if len(b.ends) == batchLines || len(b.buf) >= batchBytes {
			work <- b
			b = <-free
			reset(b)
		}
	}
	if len(b.ends) > 0 {
		work <- b
	}
	close(work)
	wg.Wait()
	for _, o := range workers[1:] {
		workers[0].merge(o)
	}
	return workers[0]
}

// Report is the result of a replay: SPEC §7's JSON keys and more.
type Report struct {
	// Records is the number of sessions read (the sum of the rows'
	// counts); Rows the number of well-formed lines.
	Records int64 `json:"records"`
	Rows    int64 `json:"rows"`
	// Agree, Disagree and Undecidable split Records by the model check on
	// the live list.
	Agree       int64 `json:"agree"`
	Disagree    int64 `json:"disagree"`
	Undecidable int64 `json:"undecidable"`
	// Changed is the number of sessions whose egress (IP, colo,
	// geolocation, method or availability) the planned list changes;
	// ChangeUndecidable those the live or planned list cannot decide.
	Changed           int64 `json:"changed"`
	ChangeUndecidable int64 `json:"change_undecidable"`
	// Policies: per live policy, sessions the model sends to it (Hits) and
	// sessions the log says it decided (LoggedHits: by EgressRuleID, else
	// EgressRuleName).
	Policies []PolicyHits `json:"policies"`
	// Unused are the live policies no session reached: no hit by the model
	// and none logged (candidates for removal; with undecidable sessions,
	// only possibly).
	Unused []string `json:"unused"`
	// PlannedPolicies and PlannedUnused are the same for the planned list.
	PlannedPolicies []PolicyHits `json:"planned_policies,omitempty"`
	PlannedUnused   []string     `json:"planned_unused,omitempty"`
	// Disagreements and Changes are the first examples in the log.
	Disagreements []Disagreement `json:"disagreements"`
	Changes       []Change       `json:"changes"`
	// DisagreementGroups and ChangeGroups count the examples by kind,
	// most sessions first.
	DisagreementGroups []DisagreementGroup `json:"disagreement_groups"`
	ChangeGroups       []ChangeGroup       `json:"change_groups"`
	GroupsTruncated    bool                `json:"groups_truncated"`
	// Inferred counts what the replay had to assume for sessions to agree.
	Inferred Inferred `json:"inferred"`
	// UndecidableFields counts undecidable sessions by the field they lack.
	UndecidableFields []FieldCount `json:"undecidable_fields"`
	// UnknownLoggedRules are egress rules the log names that are not in the
	// live list.
	UnknownLoggedRules []LoggedRule `json:"unknown_logged_rules"`
	// Malformed counts lines that are not records (bad JSON, wrong types,
	// values that are not addresses); MalformedLines lists the first ones.
	Malformed      int64           `json:"malformed"`
	MalformedLines []MalformedLine `json:"malformed_lines"`
}

// PolicyHits is one policy's hit counts.
type PolicyHits struct {
	Name       string `json:"name"`
	ID         string `json:"id,omitempty"`
	Enabled    bool   `json:"enabled"`
	Hits       int64  `json:"hits"`
	LoggedHits int64  `json:"logged_hits"`
}

// Egress is one side of a comparison: what was logged, or what the engine
// decides.
type Egress struct {
	// Outcome is the engine's (policy, no_match, unavailable,
	// not_applicable, indeterminate); "" for what was logged.
	Outcome  string `json:"outcome,omitempty"`
	Policy   string `json:"policy"`
	PolicyID string `json:"policy_id,omitempty"`
	// Method is the engine's egress method (default, dedicated).
	Method string `json:"method,omitempty"`
	// EgressIP: the logged address; for the engine the dedicated IPv4, the
	// IPv6 range, or "" for the shared pool.
	EgressIP   string `json:"egress_ip"`
	EgressColo string `json:"egress_colo"`
	GeoCountry string `json:"geo_country,omitempty"`
}

// Disagreement is a session the engine decides otherwise than logged.
type Disagreement struct {
	SessionID string `json:"session_id"`
	Line      int    `json:"line"`
	Count     int64  `json:"count"`
	Observed  Egress `json:"observed"`
	Model     Egress `json:"model"`
	Reason    string `json:"reason"`
}

// Change is a session whose egress the planned list changes.
type Change struct {
	SessionID string `json:"session_id"`
	Line      int    `json:"line"`
	Count     int64  `json:"count"`
	Before    Egress `json:"before"`
	After     Egress `json:"after"`
}

// DisagreementGroup counts disagreements of one kind.
type DisagreementGroup struct {
	Count    int64  `json:"count"`
	Observed Egress `json:"observed"`
	Model    Egress `json:"model"`
	Reason   string `json:"reason"`
	// Example is the first session of the kind.
	Example     string `json:"example_session_id"`
	ExampleLine int    `json:"example_line"`
}

// ChangeGroup counts changes of one kind (same before, same after).
type ChangeGroup struct {
	Count       int64  `json:"count"`
	Before      Egress `json:"before"`
	After       Egress `json:"after"`
	Example     string `json:"example_session_id"`
	ExampleLine int    `json:"example_line"`
}

// Inferred counts sessions by what the replay assumed for them to agree.
type Inferred struct {
	// Grey and Orange: only a destination not proxied (grey) or proxied
	// (orange) by Cloudflare explains the log; Either: both do.
	Grey   int64 `json:"grey"`
	Orange int64 `json:"orange"`
	Either int64 `json:"either"`
	// ColoDown: a colo outage explains the log (a fallback, or the next
	// nearest dedicated IP); ColosDown lists the colos, with counts.
	ColoDown  int64        `json:"colo_down"`
	ColosDown []FieldCount `json:"colos_down"`
	// UserCountry: default egress left from a colo in another country than
	// the ingress colo's, which the user's country explains.
	UserCountry int64 `json:"user_country"`
	// Equidistant: the logged IP is another equidistant dedicated IP than
	// the engine's hash picks.
	Equidistant int64 `json:"equidistant"`
}

// FieldCount is a count by name.
type FieldCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// LoggedRule is an egress rule named by the log.
type LoggedRule struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Count int64  `json:"count"`
}

// MalformedLine is a line that is not a usable record.
type MalformedLine struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// String is a one-line summary of the counts.
func (r *Report) String() string {
	return fmt.Sprintf("%d sessions (%d rows): %d agree, %d disagree, %d undecidable, %d changed; %d malformed lines",
		r.Records, r.Rows, r.Agree, r.Disagree, r.Undecidable, r.Changed, r.Malformed)
}
