package reconcile

import (
	"fmt"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
)

// UnmanagedError is returned by Apply with Options.FailOnUnmanaged when the
// account has egress rules that no desired policy pairs with. Nothing was
// written.
type UnmanagedError struct {
	// Rules are the unmanaged egress rules, in precedence order.
	Rules []cfapi.Rule
}

func (e *UnmanagedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the account already has %d egress polic%s that the configuration does not list: ",
		len(e.Rules), plural(len(e.Rules), "y", "ies"))
	for i, r := range e.Rules {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q (id %s, precedence %d)", r.Name, r.ID, r.Precedence)
	}
	b.WriteString("; import them into this resource (by account ID), add them to policies by name, or delete them in the dashboard")
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
	errClash                     // precedence taken: re-list and re-plan once
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
