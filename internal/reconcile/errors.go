package reconcile

import (
	"fmt"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// AccountChangedError is returned by Apply when the account's egress rules
// are not what the plan was made from, in a way Apply must not resolve on
// its own: an egress rule the plan did not know is there (Apply never
// deletes a rule no plan showed), a rule a create plan adopted is gone, or a
// precedence the plan promised can no longer be kept. When Writes is 0,
// Apply stopped before its first write.
type AccountChangedError struct {
	// Unknown are the egress rules the plan did not know, in precedence
	// order.
	Unknown []cfapi.Rule
	// Vanished are the desired policies whose rule (by the ID the plan gave
	// them) is gone, when Apply may not create them again (Options.Create).
	Vanished []VanishedPolicy
	// Conflicts describe precedences the plan promised that cannot be kept.
	Conflicts []string
	// Create is set when the resource was being created.
	Create bool
	// Writes is the number of writes Apply made before it stopped.
	Writes int
}

// VanishedPolicy is a desired policy whose rule is gone.
type VanishedPolicy struct {
	Index int
	Name  string
	ID    string
}

func (e *AccountChangedError) Error() string {
	var b strings.Builder
	b.WriteString("the account's egress rules changed since the plan: ")
	var parts []string
	if len(e.Unknown) > 0 {
		var rs []string
		for _, r := range e.Unknown {
			rs = append(rs, fmt.Sprintf("%q (id %s, precedence %d)", r.Name, r.ID, r.Precedence))
		}
		parts = append(parts, fmt.Sprintf("%d egress rule%s the plan did not show %s there: %s",
			len(e.Unknown), plural(len(e.Unknown), "", "s"), plural(len(e.Unknown), "is", "are"), strings.Join(rs, ", ")))
	}
	for _, v := range e.Vanished {
		parts = append(parts, fmt.Sprintf("the rule policies[%d] %q was to take over (id %s) has been deleted", v.Index, v.Name, v.ID))
	}
	parts = append(parts, e.Conflicts...)
	b.WriteString(strings.Join(parts, "; "))
	if e.Writes == 0 {
		b.WriteString(". Nothing was written")
	} else {
		fmt.Fprintf(&b, ". The apply stopped after %d write%s (recorded in the state)", e.Writes, plural(e.Writes, "", "s"))
	}
	b.WriteString(": run `terraform plan` again")
	switch {
	case len(e.Unknown) > 0 && e.Create:
		b.WriteString(". It lists the egress rules this configuration does not manage: import them, add them to policies by name, or delete them in the dashboard")
	case len(e.Unknown) > 0:
		b.WriteString(". It shows the new rules as changes made outside Terraform: add them to policies to keep them, or apply that plan to delete them")
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// errClass is what Apply does about a failed write.
type errClass int

const (
	errOther     errClass = iota // give up, report
	errClash                     // precedence taken: re-list and re-plan
	errAmbiguous                 // may have been applied: re-list and verify
	errNotFound                  // the rule is gone
)

// classify maps an API error to what Apply does about it.
func classify(err error) errClass {
	switch cfapi.KindOf(err) {
	case cfapi.KindNotFound:
		return errNotFound
	case cfapi.KindAmbiguous:
		return errAmbiguous
	case cfapi.KindValidation:
		if strings.Contains(strings.ToLower(err.Error()), "precedence") {
			return errClash
		}
	}
	return errOther
}
