package emulator

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// Sessions returns one Network Session Log record per flow, computed by the
// decision engine from the account's current egress rules (precedence
// order; other rules are ignored) and inventory, with no colo down. Records
// are deterministic: SessionID comes from the flow's 5-tuple hash and its
// position, SessionStartTime from Config.Now.
func (e *Emulator) Sessions(account string, flows []engine.Flow) ([]engine.SessionRecord, error) {
	return e.sessions(account, flows, nil)
}

func (e *Emulator) sessions(account string, flows []engine.Flow, downs []engine.ColoSet) ([]engine.SessionRecord, error) {
	if !e.accounts[account] {
		return nil, fmt.Errorf("emulator: account %q is not one of the emulator's accounts", account)
	}
	rules := e.Rules(account)
	policies, err := policiesFromRules(rules)
	if err != nil {
		return nil, err
	}
	for i := range policies {
		p := &policies[i]
		m, err := expr.CompilePolicy(p.Traffic, p.Identity, p.DevicePosture)
		if err != nil {
			if !p.Enabled {
				continue // a disabled rule never decides
			}
			return nil, fmt.Errorf("emulator: stored rule %s (%q) does not compile: %v", p.ID, p.Name, err)
		}
		p.Match = m
	}
	eng, err := engine.Compile(policies, e.Inventory(account))
	if err != nil {
		return nil, fmt.Errorf("emulator: the account's egress rules do not compile: %v", err)
	}
	start := e.cfg.Now().UTC().Truncate(time.Second)
	out := make([]engine.SessionRecord, 0, len(flows))
	for i := range flows {
		f := &flows[i]
		var down engine.ColoSet
		if i < len(downs) {
			down = downs[i]
		}
		d, err := eng.Decide(f, down)
		if err != nil {
			return nil, fmt.Errorf("flow %d: %v", i, err)
		}
		meta := engine.SessionMeta{
			AccountID: account,
			SessionID: fmt.Sprintf("%016x%016x", engine.FlowHash(f), uint64(i)),
			Start:     start.Add(time.Duration(i) * time.Millisecond),
			Duration:  time.Second,
		}
		out = append(out, engine.RenderSession(d, f, meta))
	}
	return out, nil
}

// sessionsJSON is POST /__emulator/accounts/{account_id}/sessions.
func (e *Emulator) sessionsJSON(account string, flows []FlowJSON) (any, *apiError) {
	fs := make([]engine.Flow, len(flows))
	downs := make([]engine.ColoSet, len(flows))
	for i, j := range flows {
		f, down, err := j.ToFlow()
		if err != nil {
			return nil, &apiError{Status: http.StatusBadRequest, Code: CodeValidation, Message: fmt.Sprintf("flow %d: %v", i, err)}
		}
		fs[i], downs[i] = f, down
	}
	recs, err := e.sessions(account, fs, downs)
	if err != nil {
		return nil, &apiError{Status: http.StatusBadRequest, Code: CodeValidation, Message: err.Error()}
	}
	return recs, nil
}
