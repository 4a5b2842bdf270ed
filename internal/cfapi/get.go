package cfapi

import (
	"context"
	"fmt"
)

// GetRule reads one Gateway rule by ID (one request). It is not part of
// Client: the provider reads the whole list at once; GetRule exists for
// comparisons with the one-resource-per-rule model (internal/benchmarks),
// where every rule is refreshed by its own request. An unknown ID is
// KindNotFound.
func (a *API) GetRule(ctx context.Context, accountID, ruleID string) (Rule, error) {
	op := fmt.Sprintf("get rule %s", ruleID)
	if err := checkID(op, "account_id", accountID); err != nil {
		return Rule{}, err
	}
	if err := checkID(op, "rule id", ruleID); err != nil {
		return Rule{}, err
	}
	ctx, rec := withRecord(ctx, false)
	rec.ruleID = true
	t, cfErr := a.rules.Get(ctx, ruleID, getParams(accountID))
	if e := a.finish(ctx, op, false, rec, cfErr); e != nil {
		return Rule{}, e
	}
	return fromGateway(*t), nil
}
