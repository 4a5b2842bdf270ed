package main

// Reading cfegress_egress_policies out of `terraform show -json` output (a
// saved plan or the state), with hashicorp/terraform-json. Both subcommands
// (impact, replay) use it: they need the policy lists and the inventory as
// text, which internal/engine/spec turns into engine values.

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

// policiesType is the resource type the CLI reads.
const policiesType = "cfegress_egress_policies"

// egressConfig is one side (before or after) of a cfegress_egress_policies.
type egressConfig struct {
	Policies     []spec.Policy
	DedicatedIPs []spec.DedicatedIP
	// Raw is the resource's whole attribute object (for attributes a
	// subcommand reads itself, such as invariants).
	Raw map[string]any
	// Unknown lists the attributes (as HCL paths, "policies[2].traffic")
	// whose values the plan does not know yet and the engine needs.
	Unknown []string
}

// egressChange is one cfegress_egress_policies of a plan.
type egressChange struct {
	Address string
	Actions tfjson.Actions
	// Before is nil when the resource is created, After when it is
	// destroyed.
	Before, After *egressConfig
}

// egressResource is one cfegress_egress_policies of a state.
type egressResource struct {
	Address string
	Config  *egressConfig
}

// readPlan reads `terraform show -json PLANFILE` output.
func readPlan(r io.Reader) ([]egressChange, error) {
	var p tfjson.Plan
	if err := decodeJSON(r, &p, "a plan"); err != nil {
		return nil, err
	}
	if p.FormatVersion == "" || p.ResourceChanges == nil && p.PlannedValues == nil && p.PriorState == nil {
		return nil, fmt.Errorf("this is not a plan: expected the output of `terraform show -json PLANFILE` (with format_version and resource_changes)")
	}
	var out []egressChange
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Type != policiesType || rc.Mode != tfjson.ManagedResourceMode || rc.Change == nil {
			continue
		}
		c := egressChange{Address: rc.Address, Actions: rc.Change.Actions}
		var err error
		if c.Before, err = configOf(rc.Change.Before, nil); err != nil {
			return nil, fmt.Errorf("%s (before): %w", rc.Address, err)
		}
		if c.After, err = configOf(rc.Change.After, rc.Change.AfterUnknown); err != nil {
			return nil, fmt.Errorf("%s (after): %w", rc.Address, err)
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, nil
}

// readState reads `terraform show -json` output of a state (no plan file).
func readState(r io.Reader) ([]egressResource, error) {
	var s tfjson.State
	if err := decodeJSON(r, &s, "a state"); err != nil {
		return nil, err
	}
	if s.FormatVersion == "" {
		return nil, fmt.Errorf("this is not a state: expected the output of `terraform show -json` (with format_version and values)")
	}
	return stateResources(&s)
}

// priorState returns the plan's prior state resources (what was live when
// the plan was made).
func priorState(r io.Reader) ([]egressResource, error) {
	var p tfjson.Plan
	if err := decodeJSON(r, &p, "a plan"); err != nil {
		return nil, err
	}
	if p.PriorState == nil {
		return nil, nil
	}
	return stateResources(p.PriorState)
}

func stateResources(s *tfjson.State) ([]egressResource, error) {
	if s.Values == nil || s.Values.RootModule == nil {
		return nil, nil
	}
	var out []egressResource
	var walk func(m *tfjson.StateModule) error
	walk = func(m *tfjson.StateModule) error {
		for _, res := range m.Resources {
			if res == nil || res.Type != policiesType || res.Mode != tfjson.ManagedResourceMode {
				continue
			}
			cfg, err := configOf(res.AttributeValues, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", res.Address, err)
			}
			out = append(out, egressResource{Address: res.Address, Config: cfg})
		}
		for _, c := range m.ChildModules {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(s.Values.RootModule); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, nil
}

func decodeJSON(r io.Reader, v any, what string) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading %s: %w (expected the output of `terraform show -json`)", what, err)
	}
	return nil
}

// configOf reads a resource's attribute object (nil when the resource does
// not exist on that side). unknown is the plan's after_unknown mask.
func configOf(v any, unknown any) (*egressConfig, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected an object, got %T", v)
	}
	um, _ := unknown.(map[string]any)
	c := &egressConfig{Raw: m}
	if um["policies"] == true {
		c.Unknown = append(c.Unknown, "policies")
	}
	pols, _ := m["policies"].([]any)
	upols, _ := um["policies"].([]any)
	for i, e := range pols {
		pm, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("policies[%d]: expected an object, got %T", i, e)
		}
		var pu map[string]any
		if i < len(upols) {
			if upols[i] == true {
				c.Unknown = append(c.Unknown, fmt.Sprintf("policies[%d]", i))
			}
			pu, _ = upols[i].(map[string]any)
		}
		p := spec.Policy{
			ID: str(pm["id"]), Name: str(pm["name"]), Description: str(pm["description"]), Enabled: true,
			Traffic: str(pm["traffic"]), Identity: str(pm["identity"]), DevicePosture: str(pm["device_posture"]),
		}
		if b, ok := pm["enabled"].(bool); ok {
			p.Enabled = b
		}
		for _, k := range []string{"name", "enabled", "traffic", "identity", "device_posture", "egress"} {
			if pu[k] == true {
				c.Unknown = append(c.Unknown, fmt.Sprintf("policies[%d].%s", i, k))
			}
		}
		if eg, ok := pm["egress"].(map[string]any); ok {
			p.Method, p.IPv4, p.IPv6, p.IPv4Fallback = str(eg["method"]), str(eg["ipv4"]), str(eg["ipv6"]), str(eg["ipv4_fallback"])
			eu, _ := pu["egress"].(map[string]any)
			for _, k := range []string{"method", "ipv4", "ipv6", "ipv4_fallback"} {
				if eu[k] == true {
					c.Unknown = append(c.Unknown, fmt.Sprintf("policies[%d].egress.%s", i, k))
				}
			}
		}
		c.Policies = append(c.Policies, p)
	}
	if um["dedicated_egress_ips"] == true {
		c.Unknown = append(c.Unknown, "dedicated_egress_ips")
	}
	ips, _ := m["dedicated_egress_ips"].([]any)
	uips, _ := um["dedicated_egress_ips"].([]any)
	for i, e := range ips {
		im, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("dedicated_egress_ips[%d]: expected an object, got %T", i, e)
		}
		if i < len(uips) {
			// Computed attributes of a cfegress_dedicated_egress_ip being
			// created (id, city, ...) do not matter: only these do.
			iu, _ := uips[i].(map[string]any)
			for _, k := range []string{"ipv4", "ipv6_range", "colo", "byoip"} {
				if uips[i] == true || iu[k] == true {
					c.Unknown = append(c.Unknown, fmt.Sprintf("dedicated_egress_ips[%d].%s", i, k))
				}
			}
		}
		d := spec.DedicatedIP{IPv4: str(im["ipv4"]), IPv6Range: str(im["ipv6_range"]), Colo: str(im["colo"])}
		if b, ok := im["byoip"].(bool); ok {
			d.BYOIP = b
		}
		c.DedicatedIPs = append(c.DedicatedIPs, d)
	}
	return c, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// engine converts the configuration for the engine. Values the plan does
// not know yet, that the engine needs, are an error naming them.
func (c *egressConfig) engine() ([]engine.Policy, []engine.DedicatedIP, error) {
	var needed []string
	for _, u := range c.Unknown {
		if !strings.HasSuffix(u, ".id") && !strings.HasSuffix(u, ".precedence") {
			needed = append(needed, u)
		}
	}
	if len(needed) > 0 {
		return nil, nil, fmt.Errorf("the plan does not know %s yet (known only after apply): the engine cannot decide on unknown values", strings.Join(needed, ", "))
	}
	ps, err := spec.Policies(c.Policies)
	if err != nil {
		return nil, nil, fmt.Errorf("policies%w", err)
	}
	inv, err := spec.DedicatedIPs(c.DedicatedIPs)
	if err != nil {
		return nil, nil, fmt.Errorf("dedicated_egress_ips%w", err)
	}
	return ps, inv, nil
}
