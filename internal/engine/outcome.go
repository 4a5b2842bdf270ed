package engine

import (
	"fmt"
	"sort"
)

// Analyses over whole sets of flows (the change impact, the invariants)
// need the decision a given decider makes, without a flow that reaches it
// through the policies: what policy p does with a flow of this kind from
// this ingress colo, and which dedicated IPs a flow that no policy matches
// may leave from. These are the engine's own rules (applyPolicy, noMatch),
// not a copy.

// DecideAs returns the decision for f as if policy p were the first policy
// that matches it (p = -1: as if no policy matched). p must be an enabled
// policy. Input errors are those of Decide.
func (e *Engine) DecideAs(f *Flow, p int, down ColoSet) (Decision, error) {
	d := Decision{PolicyIndex: -1}
	if p >= len(e.policies) || p < -1 || (p >= 0 && !e.policies[p].Enabled) {
		return d, fmt.Errorf("DecideAs: %d is not an enabled policy", p)
	}
	if !f.DestinationIP.IsValid() {
		return d, fmt.Errorf("%w: destination_ip is required", ErrInvalidFlow)
	}
	ing, ok := e.cat.index(f.IngressColo)
	if !ok {
		return d, fmt.Errorf("%w: ingress_colo: %w", ErrInvalidFlow, unknownColoError(f.IngressColo))
	}
	if p < 0 {
		e.noMatch(f, ing, down, &d, false)
		return d, nil
	}
	pol := &e.policies[p]
	d.PolicyIndex, d.PolicyName, d.PolicyID = p, pol.Name, pol.ID
	e.applyPolicy(p, f, ing, down, &d, false)
	return d, nil
}

// NoMatchGroup returns the dedicated IPs a flow that no policy matches may
// leave from when all colos are up: the one nearest the ingress colo
// (IPv6 flows: among those with an IPv6 range) and every one within 1 km of
// it, in IPv4 order (the order the load-sharing pick indexes). It is empty
// without dedicated IPs (default egress) or, for IPv6, without ranges.
func (e *Engine) NoMatchGroup(ingress string, v6 bool) ([]DedicatedIP, error) {
	ing, ok := e.cat.index(ingress)
	if !ok {
		return nil, fmt.Errorf("ingress_colo: %w", unknownColoError(ingress))
	}
	nearest := -1.0
	var out []DedicatedIP
	for _, k := range e.byIngress[ing] {
		x := &e.inv[k]
		if v6 && !x.IPv6Range.IsValid() {
			continue
		}
		dist := e.cat.distance(ing, x.colo)
		if nearest < 0 {
			nearest = dist
		}
		if dist > nearest+1.0 {
			break
		}
		out = append(out, x.DedicatedIP)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IPv4.Less(out[j].IPv4) })
	return out, nil
}

// Policies returns the engine's policies (a copy of the slice).
func (e *Engine) Policies() []Policy { return append([]Policy(nil), e.policies...) }
