package reconcile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

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
	// Cause, when set, is the refused write that showed the change.
	Cause error
}

// Unwrap returns the refused write, if any.
func (e *AccountChangedError) Unwrap() error { return e.Cause }

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
	errOther      errClass = iota // give up, report
	errValidation                 // Cloudflare refused the content (or the number)
	errReplan                     // a refused number had no free neighbour: re-list and re-plan
	errAmbiguous                  // may have been applied: re-list and verify
	errNotFound                   // the rule is gone
)

// classify maps an error to what Apply does about it, by the API layer's
// classification only (status and the codes Cloudflare publishes), never by
// an error's text.
func classify(err error) errClass {
	var rp *replanError
	if errors.As(err, &rp) {
		return errReplan
	}
	var pr *PrecedenceRejectedError
	var ace *AccountChangedError
	if errors.As(err, &pr) || errors.As(err, &ace) {
		return errOther
	}
	switch {
	case cfapi.IsNotFound(err):
		return errNotFound
	case cfapi.IsAmbiguous(err):
		return errAmbiguous
	case cfapi.IsValidation(err):
		return errValidation
	}
	return errOther
}

// MaxPrecedenceTries is how many different numbers Apply tries for one
// create or move that Cloudflare refuses as invalid before it gives up.
const MaxPrecedenceTries = 5

// seeEveryRule names the permission that lets a token see every rule's
// number (Gateway granular permissions, cloudflare/cloudflare-docs
// src/content/changelog/gateway/2026-06-30-gateway-granular-permissions.mdx).
var seeEveryRule = fmt.Sprintf("give the API token the account permission %q or the role %q, so that it sees every Gateway rule and the numbers they hold",
	cfapi.PermissionZeroTrustRead, cfapi.RoleGatewayPoliciesRead)

// newRand is the random source of retried numbers.
var newRand = func() *rand.Rand {
	return rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed))
}

// WriteError is a write Cloudflare refused or whose answer was lost: Op says
// which (Op.Index is the policy's index in desired, -1 for a delete).
type WriteError struct {
	Op   Op
	Err  error
	what string
}

func (e *WriteError) Error() string { return e.what + ": " + e.Err.Error() }

// Unwrap returns the API error.
func (e *WriteError) Unwrap() error { return e.Err }

// replanError: a refused number had no other free number between the same
// rules; Apply re-plans with the refused numbers taken.
type replanError struct{ *WriteError }

func (e *replanError) Unwrap() error { return e.WriteError }

// PrecedenceRejectedError is a create or a move that Cloudflare refused as
// invalid at MaxPrecedenceTries different free numbers. Cloudflare publishes
// no error for a precedence clash, so this says what is likely.
type PrecedenceRejectedError struct {
	Index int
	Name  string
	Kind  OpKind
	// Tried are the numbers refused, in order.
	Tried []uint64
	// Err is the last refusal (a *WriteError).
	Err error
}

func (e *PrecedenceRejectedError) Error() string {
	verb := "creating"
	if e.Kind == OpUpdate {
		verb = "moving"
	}
	nums := make([]string, len(e.Tried))
	for i, p := range e.Tried {
		nums[i] = fmt.Sprint(p)
	}
	var last string
	var we *WriteError
	if errors.As(e.Err, &we) {
		last = we.Err.Error()
	} else if e.Err != nil {
		last = e.Err.Error()
	}
	return fmt.Sprintf("%s egress policy %q (policies[%d]): Cloudflare refused it at %d different precedences that no rule this API token can see holds (%s); the last answer: %s. "+
		"The likely cause is Gateway rules this token cannot see holding those numbers: with Gateway's granular permissions a token lists only the rules it may read, "+
		"but every Gateway rule's precedence is taken. To fix it, %s. If the token already has it, Cloudflare refuses the policy itself: see its answer",
		verb, e.Name, e.Index, len(e.Tried), strings.Join(nums, ", "), last, seeEveryRule)
}

// Unwrap returns the last refusal.
func (e *PrecedenceRejectedError) Unwrap() error { return e.Err }
