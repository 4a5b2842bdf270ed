package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// expectPoliciesDiff checks the plan of cfegress_egress_policies: the
// before/after `policies` lists are the same except for the after
// elements at changed (inserted or changed ones), and only those have
// unknown values. removed are before indices that disappear.
type expectPoliciesDiff struct {
	addr    string
	changed []int // after indices
	removed []int // before indices
}

func (e expectPoliciesDiff) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != e.addr {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		after, _ := rc.Change.After.(map[string]any)
		afterUnknown, _ := rc.Change.AfterUnknown.(map[string]any)
		bl, _ := before["policies"].([]any)
		al, _ := after["policies"].([]any)
		var ul []any
		if afterUnknown != nil {
			ul, _ = afterUnknown["policies"].([]any)
		}
		changed := map[int]bool{}
		for _, i := range e.changed {
			changed[i] = true
		}
		removed := map[int]bool{}
		for _, i := range e.removed {
			removed[i] = true
		}
		var keptBefore []any
		for i, b := range bl {
			if !removed[i] {
				keptBefore = append(keptBefore, b)
			}
		}
		j := 0
		var errs []error
		for i, a := range al {
			hasUnknown := i < len(ul) && ul[i] != nil && !reflect.DeepEqual(ul[i], false) && hasTrue(ul[i])
			if changed[i] {
				continue
			}
			if hasUnknown {
				errs = append(errs, fmt.Errorf("policies[%d] has unknown values in the plan: %v", i, ul[i]))
			}
			if j >= len(keptBefore) {
				errs = append(errs, fmt.Errorf("policies[%d] has no counterpart before", i))
				continue
			}
			if !reflect.DeepEqual(keptBefore[j], a) {
				errs = append(errs, fmt.Errorf("policies[%d] differs:\nbefore %v\nafter  %v", i, keptBefore[j], a))
			}
			j++
		}
		if j != len(keptBefore) {
			errs = append(errs, fmt.Errorf("%d unchanged policies after, %d before", j, len(keptBefore)))
		}
		resp.Error = errors.Join(errs...)
		return
	}
	resp.Error = fmt.Errorf("%s not in the plan", e.addr)
}

func hasTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case map[string]any:
		for _, y := range x {
			if hasTrue(y) {
				return true
			}
		}
	case []any:
		for _, y := range x {
			if hasTrue(y) {
				return true
			}
		}
	}
	return false
}

// writesCounter measures the API writes of one step.
type writesCounter struct {
	env    *accEnv
	t      *testing.T
	before int
}

func (w *writesCounter) start() { w.before = w.env.Writes(w.t) }

// count is the number of writes since start.
func (w *writesCounter) count() int { return w.env.Writes(w.t) - w.before }

// expect returns a Check asserting the step made exactly n writes.
func (w *writesCounter) expect(n int) func(*terraform.State) error {
	return func(*terraform.State) error {
		if got := w.env.Writes(w.t) - w.before; got != n {
			return fmt.Errorf("the apply made %d API writes, want %d (stats %v)", got, n, w.env.Emu.Stats().ByRoute)
		}
		return nil
	}
}
