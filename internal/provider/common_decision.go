package provider

// The Decision object returned by provider::cfegress::decide and the
// cfegress_egress_decision data source, and the shared "decode policies +
// inventory, compile, decide" path of both.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

// decisionAttrTypes is the Decision object's type.
func decisionAttrTypes() map[string]attr.Type { return attrTypes(spec.DecisionAttrs()) }

// decisionDataSourceAttributes is the Decision as computed data-source
// attributes.
func decisionDataSourceAttributes() map[string]dschema.Attribute {
	return dataSourceComputedAttributes(spec.DecisionAttrs())
}

func strOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// decisionValue converts a Decision to its object value.
func decisionValue(d engine.Decision) (types.Object, error) {
	return objectValue(spec.DecisionAttrs(), spec.DecisionObject(d))
}

// simulation is a compiled set of policies and inventory, ready to decide.
type simulation struct {
	policies []policyInput
	inv      []engine.DedicatedIP
	eng      *engine.Engine
	// unknown names the first value the engine needs that is not known yet
	// ("" when everything is known); eng is nil then.
	unknown string
}

// newSimulation decodes the policies and dedicated_ips values (named by
// their argument/attribute names in error paths) and compiles them.
func newSimulation(ctx context.Context, policies attr.Value, policiesName string, ips attr.Value, ipsName string) (*simulation, error) {
	s, eps, err := decodeSimulation(ctx, policies, policiesName, ips, ipsName)
	if err != nil || s.unknown != "" {
		return s, err
	}
	s.eng, err = engine.CompileNamed(eps, s.inv, ipsName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", policiesName, err)
	}
	return s, nil
}

// decodeSimulation decodes policies and inventory into engine values
// without compiling an Engine.
func decodeSimulation(ctx context.Context, policies attr.Value, policiesName string, ips attr.Value, ipsName string) (*simulation, []engine.Policy, error) {
	s := &simulation{}
	pd, err := rootValue(ctx, policies, policiesName)
	if err != nil {
		return nil, nil, err
	}
	s.policies, err = decodePolicies(pd)
	if err := unknownAsSentinel(err, s); err != nil {
		return nil, nil, err
	}
	id, err := rootValue(ctx, ips, ipsName)
	if err != nil {
		return nil, nil, err
	}
	s.inv, err = decodeDedicatedIPs(id)
	if err := unknownAsSentinel(err, s); err != nil {
		return nil, nil, err
	}
	if s.unknown != "" {
		return s, nil, nil
	}
	eps := make([]engine.Policy, 0, len(s.policies))
	for i := range s.policies {
		pi := &s.policies[i]
		if k := pi.unknownForDecide(); k != "" {
			s.unknown = pi.Path.String() + "." + k
			return s, nil, nil
		}
		p, err := pi.enginePolicy()
		if err != nil {
			return nil, nil, err
		}
		eps = append(eps, p)
	}
	return s, eps, nil
}

// unknownAsSentinel records an Unknown DecodeError in s and returns nil for
// it; other errors are returned.
func unknownAsSentinel(err error, s *simulation) error {
	var de *DecodeError
	if errors.As(err, &de) && de.Unknown {
		if s.unknown == "" {
			s.unknown = de.Path.String()
		}
		return nil
	}
	return err
}

// decide runs one flow. Engine input errors (unknown/down ingress colo) are
// returned with "engine: invalid flow: " trimmed.
func (s *simulation) decide(f *engine.Flow, down engine.ColoSet) (engine.Decision, error) {
	d, err := s.eng.Decide(f, down)
	if err != nil {
		return d, errors.New(strings.TrimPrefix(err.Error(), engine.ErrInvalidFlow.Error()+": "))
	}
	return d, nil
}
