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
	byID      map[string]int // lower-case rule ID -> index
	byName    map[string]int // name -> index (the first policy of that name)
}

// NewList compiles policies (each with its Match set, as for
// engine.Compile) and the inventory.
func NewList(policies []engine.Policy, inv []engine.DedicatedIP) (*List, error) {
	eng, err := engine.Compile(policies, inv)
	if err != nil {
		return nil, err
	}
	l := &List{Policies: policies, Inventory: inv, eng: eng, byID: map[string]int{}, byName: map[string]int{}}
	for i := range policies {
		if id := strings.ToLower(policies[i].ID); id != "" {
			if _, dup := l.byID[id]; !dup {
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
// live, and planned when it is not nil. Malformed lines are counted and
// listed, never fatal; the error is for reading r.
func Run(r io.Reader, live, planned *List, opt Options) (*Report, error) {
	opt = opt.withDefaults()
	lines, err := engine.NewSessionLineReader(r)
	if err != nil {
		return nil, err
	}
	var acc *accumulator
	if opt.Workers == 1 {
		acc = newAccumulator(live, planned, opt)
		p := engine.NewSessionParser()
		c := newChecker(live, planned)
		var rec engine.LoggedSession
		for {
			line, lerr, ok := lines.Next()
			if !ok {
				break
			}
			acc.line(lines.Line(), line, lerr, p, c, &rec)
		}
	} else {
		acc = runParallel(lines, live, planned, opt)
	}
	if err := lines.Err(); err != nil {
		return nil, err
	}
	return acc.report(), nil
}

// batch is a run of consecutive lines handed to one worker.
type batch struct {
	buf  []byte
	ends []int // end offset of each line in buf
	nums []int // line numbers
	errs []error
}

const (
	batchLines = 2048
	batchBytes = 1 << 20
)

func runParallel(lines *engine.SessionLineReader, live, planned *List, opt Options) *accumulator {
	n := opt.Workers
	work := make(chan *batch, n)
	free := make(chan *batch, 2*n)
	for i := 0; i < 2*n; i++ {
		free <- &batch{buf: make([]byte, 0, batchBytes+MaxLineHint)}
	}
	accs := make([]*accumulator, n)
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		accs[w] = newAccumulator(live, planned, opt)
		wg.Add(1)
		go func(acc *accumulator) {
			defer wg.Done()
			p := engine.NewSessionParser()
			c := newChecker(live, planned)
			var rec engine.LoggedSession
			for b := range work {
				start := 0
				for k, end := range b.ends {
					acc.line(b.nums[k], b.buf[start:end], b.errs[k], p, c, &rec)
					start = end
				}
				free <- b
			}
		}(accs[w])
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
	acc := accs[0]
	for _, a := range accs[1:] {
		acc.merge(a)
	}
	return acc
}

// MaxLineHint is the headroom a batch buffer keeps for its last line.
const MaxLineHint = 64 << 10

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
