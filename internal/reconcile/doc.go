// Package reconcile writes an ordered list of egress policies to a
// Cloudflare account's Gateway rules with as few API writes as possible,
// without ever colliding with another rule's precedence and without sending
// live traffic to the wrong place half way through. It is independent of
// Terraform: the cfegress_egress_policies resource calls Apply, Read, PlanFor,
// AdoptByName and Delete.
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
// # What an apply may change
//
// The caller (the resource) passes what its plan knew: the desired
// policies with the rule IDs the plan gave them, the IDs of the prior state
// the plan was made from (Options.Prior), and the precedences the plan
// promised (Desired.Precedence, for policies whose planned number was
// known). Apply then guarantees:
//
//   - Deletes are planned, never discovered. Only prior rules that no
//     desired policy keeps are deleted. An egress rule the plan did not know
//     (added in the dashboard since the plan, or missed by a
//     `-refresh=false` plan) makes Apply stop with an *AccountChangedError
//     naming it, before its first write; the next plan shows it as drift.
//     Policies pair with rules by ID only: a rule is taken over by name
//     only when a create plan showed it (AdoptByName gives the IDs the plan
//     displays), or when it is this apply's own create whose response was
//     lost (same name, number and content, found by re-reading).
//   - A policy whose rule was deleted outside Terraform is created again
//     (Result.Recreated: the caller reports the new ID); on create, where
//     that would contradict the plan of a resource Terraform then records
//     as tainted, Apply stops before its first write instead. A planned
//     delete of a rule already gone is done.
//   - A promised precedence is kept: a rule moved since the plan is moved
//     back; when the number is taken Apply stops (AccountChangedError).
//   - Result.Done lists exactly the changes made, also on failure (list,
//     write, context deadline or cancellation): the state after any failure
//     is the prior state plus Done. Writes whose response was lost are
//     verified by re-reading the account (on a context of their own when
//     the apply's has ended); those that could not be verified are in
//     Result.Unverified.
//
// # The algorithm
//
//  1. List all rules of the account (the only read) and check it against
//     what the plan knew (above).
//  2. Pair each desired policy with the egress rule of its ID.
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
//     rules that open a gap. Policies with a promised precedence are always
//     kept, at that number.
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
//     read_only rules are in both lists, at their numbers.
//  6. Concurrently where order cannot matter: that order is cut into
//     phases of writes to rules no flow matches together (decided by the
//     flow-set algebra), each of which keeps the list before the phase
//     safe; every subset of such a phase is then as safe as the sequential
//     order (phases.go has the argument; TestPhasesEverySubsetIsSafe checks
//     every subset by evaluation). Up to Options.MaxConcurrentWrites writes
//     of a phase are in flight; a phase starts when the previous one's writes
//     all succeeded, and after a failure no new write starts: the writes in
//     flight finish and are recorded. Creating 500 disjoint policies is one
//     phase; a catch-all after them is a phase of its own, written last.
//  7. Recover. Cloudflare publishes no error for a precedence clash, so no
//     error text is read: a create or move refused as invalid (400/409/422,
//     except 2055 and 7003, whose meaning is published) may have hit a number
//     held by a rule this token cannot see (the list is authorization-aware:
//     Gateway granular permissions, 2026-06-30). It is retried at another
//     free number between the same rules (random inside the gap, clear of
//     every number in use, planned or refused), at most MaxPrecedenceTries
//     numbers in all, then fails with a *PrecedenceRejectedError naming the
//     likely cause and the permission to see every rule. When the gap has no
//     other free number, Apply re-lists and re-plans with the refused numbers
//     taken (twice at most). A promised number that is refused stops the
//     apply (*AccountChangedError): the plan showed it. A write whose response
//     was lost (it may have been applied) or an update of a rule that
//     vanished makes Apply re-list, verify and re-plan. Every re-list is
//     checked against what the plan knew, like the first. Deleting a rule
//     that is already gone (404, or 400 "invalid rule id" or 7003 on the
//     rule's path: cfapi.IsNotFound) is success.
//
// read_only egress rules (shared by a parent account) are never written,
// deleted, adopted by name or reported as unknown; their numbers are taken,
// and a policy is never numbered across one unless the desired order
// requires it (see PlanFor).
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
// On error Apply returns, with the error, a Result whose Done lists every
// change made, so the caller saves its prior state plus exactly those.
package reconcile
