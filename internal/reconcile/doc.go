// Package reconcile writes an ordered list of egress policies to a
// Cloudflare account's Gateway rules with as few API writes as possible,
// without ever colliding with another rule's precedence and without sending
// live traffic to the wrong place half way through. It is independent of
// Terraform: the cfegress_egress_policies resource calls Apply, Read, PlanFor
// and Delete.
//
// # Precedence
//
// Every Gateway rule of an account (DNS, network, HTTP, egress) has a
// precedence that is unique across all of them; lower runs first. Egress
// policies are evaluated among egress rules only, so their numbers may
// interleave with other kinds': only their relative order and uniqueness
// matter. The package manages egress rules (filters = ["egress"]) and never
// writes any other rule.
//
// # The algorithm
//
//  1. List all rules of the account once (the only read).
//  2. Pair each desired policy with an existing egress rule: by ID when the
//     ID from the prior state still exists, otherwise by name (adoption: a
//     create retried after a lost response finds its rule instead of creating
//     a duplicate). Egress rules paired with nothing are unmanaged: Apply
//     refuses to touch them when Options.FailOnUnmanaged is set (resource
//     create), and deletes them otherwise (the resource owns them all).
//  3. Choose which paired rules keep their current number. In desired order,
//     the kept rules' numbers must increase, and between two consecutive kept
//     rules there must be enough numbers that no rule of any kind uses for
//     the policies placed between them. Plan maximises the number of kept
//     rules whose content is unchanged (each costs no write), then the number
//     of kept rules, with a dynamic programme over the paired rules (a
//     longest increasing subsequence with gap capacities, O(n²)). With spaced
//     numbers this is the plain longest increasing subsequence: inserting a
//     policy, deleting one or moving one to any place costs one write. With
//     dense numbers (1, 2, 3, ... after an import) it renumbers the fewest
//     rules that open a gap.
//  4. Number the others: the policies between two kept rules get free numbers
//     spread evenly between their neighbours (one insert takes the midpoint);
//     policies after the last kept rule are spaced Spacing (1000) apart. A
//     number is never reused within one apply: numbers of rules that move or
//     are deleted stay taken, so no write can collide whatever the order.
//     (Reuse could save writes only when reordering inside a densely
//     numbered region, at the price of temporary moves that misroute
//     traffic; the renumbered rules get spaced numbers, so that cost is paid
//     once.)
//  5. Write, make-before-break. An intermediate list misroutes some flow
//     (sends it to neither its old nor its new decision) exactly when one of
//     its rules has a rule ahead of it in the old list that is not ahead of
//     it now, and also one ahead of it in the new list that is not ahead of
//     it now, or when an old rule is gone while a new one is not there yet
//     (see order.go; checked against every set of matched rules in tests).
//     The default order: rules moving up the list (to a lower number), lowest
//     destination first; then creates; then content-only updates of rules
//     that keep their number; then rules moving down, highest destination
//     first; deletes last, bottom first (a delete goes before the
//     down-moves only when a rule would otherwise move past a rule that is
//     about to be deleted). When that order has a misrouting intermediate
//     list and the apply has at most 64 writes, a greedy search picks, at each
//     step, a write whose resulting list is safe. Any single insert, delete or
//     move, and in the tests every combination of them, never misroutes;
//     several content edits at once can (they cannot be made atomic).
//  6. Recover: a write refused for a precedence clash (another writer took
//     the number) makes Apply re-list and re-plan once; a write whose response
//     was lost (it may have been applied) or an update of a rule that vanished
//     makes Apply re-list and re-plan, which adopts a create that landed (by
//     name) and verifies updates and deletes. Deleting a rule that is already
//     gone is success.
//
// Content is compared by meaning, so an unchanged rule is never written:
// expressions by equivalence, IPs and CIDRs by their canonical form, and ""
// equals unset. A no-op apply is exactly one API call (the list).
//
// Measured (tests in this package, fake and emulator): with numbers this
// package assigned, inserting, deleting or moving one policy is one write and
// two API calls at 10, 100 and 500 policies, and no intermediate list sends
// any sample flow to neither its old nor its new decision.
//
// On error Apply returns, with the error, a Result describing what is in the
// account for the desired policies at that point, so the caller can save
// partial progress.
package reconcile
