package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// The emulator's default inventory (emulator.DefaultInventory).
var egressChoices = []struct{ ipv4, ipv6, fallback string }{
	{}, // default egress
	{"203.0.113.10", "2001:db8:10::/64", "203.0.113.20"}, // NRT, falls back to LAX
	{"203.0.113.20", "2001:db8:20::/64", "203.0.113.10"}, // LAX, falls back to NRT
	{"203.0.113.10", "2001:db8:10::/64", "0.0.0.0"},      // NRT, falls back to default egress
}

// sharedPorts are matched by several policies, so order decides them.
var sharedPorts = []int{80, 443, 8080, 8443}

// pol is one egress policy of a generated configuration. Every policy has
// a port of its own, so no policy is ever fully shadowed by earlier ones.
type pol struct {
	Name    string
	Own     int   // its own port
	Shared  []int // some of sharedPorts
	Egress  int   // index into egressChoices
	Enabled bool
	Desc    string
}

func (p pol) ports() []int {
	ps := append([]int{p.Own}, p.Shared...)
	sort.Ints(ps)
	return ps
}

func (p pol) traffic() string {
	var s []string
	for _, x := range p.ports() {
		s = append(s, fmt.Sprint(x))
	}
	return "net.dst.port in {" + strings.Join(s, " ") + "}"
}

// hcl renders the policy as an element of `policies`.
func (p pol) hcl() string {
	var b strings.Builder
	fmt.Fprintf(&b, "    {\n      name    = %q\n      traffic = %q\n", p.Name, p.traffic())
	if !p.Enabled {
		b.WriteString("      enabled = false\n")
	}
	if p.Desc != "" {
		fmt.Fprintf(&b, "      description = %q\n", p.Desc)
	}
	e := egressChoices[p.Egress]
	if e.ipv4 == "" {
		b.WriteString("      egress  = { method = \"default\" }\n")
	} else {
		fmt.Fprintf(&b, "      egress  = { method = \"dedicated\", ipv4 = %q, ipv6 = %q, ipv4_fallback = %q }\n", e.ipv4, e.ipv6, e.fallback)
		if e.fallback == "0.0.0.0" {
			b.WriteString("      lint_ignore = [\"fallback_local\"]\n")
		}
	}
	b.WriteString("    },\n")
	return b.String()
}

// inventoryHCL is the emulator's default inventory as dedicated_egress_ips.
const inventoryHCL = `[
    { ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2001:db8:20::/64", colo = "LAX" },
  ]`

// policiesConfig is the provider block and one cfegress_egress_policies
// resource holding ps. Lint warnings that generated lists trip on purpose
// (no catch-all, fallback to default egress, redundant policies) are
// silenced, so the output stays readable.
func (w *tf) policiesConfig(ps []pol) string { return w.providerBlock() + resourceHCL(ps) }

// resourceHCL is the cfegress_egress_policies resource holding ps.
func resourceHCL(ps []pol) string {
	var b strings.Builder
	b.WriteString("resource \"cfegress_egress_policies\" \"all\" {\n  catch_all = \"off\"\n  dedicated_egress_ips = " + inventoryHCL + "\n  policies = [\n")
	for _, p := range ps {
		b.WriteString(p.hcl())
	}
	b.WriteString("  ]\n}\n")
	return b.String()
}

// gen makes random policies and changes, deterministically.
type gen struct {
	r    *rand.Rand
	next int
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 7))} }

func (g *gen) policy() pol {
	g.next++
	p := pol{Name: fmt.Sprintf("policy-%03d", g.next), Own: 20000 + g.next, Egress: g.r.IntN(len(egressChoices)), Enabled: g.r.IntN(8) != 0}
	for _, s := range sharedPorts {
		if g.r.IntN(3) == 0 {
			p.Shared = append(p.Shared, s)
		}
	}
	return p
}

func (g *gen) list(n int) []pol {
	out := make([]pol, n)
	for i := range out {
		out[i] = g.policy()
	}
	return out
}

// Change kinds.
const (
	kindInsert  = "insert"
	kindDelete  = "delete"
	kindMove    = "move"
	kindEdit    = "edit"
	kindReorder = "reorder"
	kindMixed   = "mixed"
)

var changeKinds = []string{kindInsert, kindDelete, kindMove, kindEdit, kindReorder, kindMixed}

// change applies one change of the given kind to ps (5 to 25 policies) and
// returns the kind it made (an insert into 25 policies deletes instead, a
// delete from 5 inserts).
func (g *gen) change(ps []pol, kind string) ([]pol, string) {
	ps = slices.Clone(ps)
	switch kind {
	case kindInsert:
		if len(ps) >= 25 {
			return g.change(ps, kindDelete)
		}
		k := g.r.IntN(len(ps) + 1)
		return slices.Insert(ps, k, g.policy()), kind
	case kindDelete:
		if len(ps) <= 5 {
			return g.change(ps, kindInsert)
		}
		k := g.r.IntN(len(ps))
		return slices.Delete(ps, k, k+1), kind
	case kindMove:
		from := g.r.IntN(len(ps))
		to := g.r.IntN(len(ps) - 1)
		if to >= from {
			to++
		}
		p := ps[from]
		ps = slices.Delete(ps, from, from+1)
		return slices.Insert(ps, to, p), kind
	case kindEdit:
		k := g.r.IntN(len(ps))
		p := &ps[k]
		switch g.r.IntN(4) {
		case 0:
			p.Egress = (p.Egress + 1 + g.r.IntN(len(egressChoices)-1)) % len(egressChoices)
		case 1:
			p.Shared = nil
			for _, s := range sharedPorts {
				if g.r.IntN(2) == 0 {
					p.Shared = append(p.Shared, s)
				}
			}
		case 2:
			p.Enabled = !p.Enabled
		default:
			p.Desc = fmt.Sprintf("edited %d", g.r.IntN(1000))
		}
		return ps, kind
	case kindReorder:
		// Shuffle a window of 3 to 6 policies.
		n := min(len(ps), 3+g.r.IntN(4))
		at := g.r.IntN(len(ps) - n + 1)
		w := ps[at : at+n]
		g.r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
		return ps, kind
	default: // mixed: 2 to 4 random changes of the simple kinds
		for m := 2 + g.r.IntN(3); m > 0; m-- {
			ps, _ = g.change(ps, changeKinds[g.r.IntN(4)])
		}
		return ps, kindMixed
	}
}

// egressRules returns the emulator's egress rules in precedence order.
func egressRules(emu *emulator.Emulator) []emulator.Rule {
	var out []emulator.Rule
	for _, r := range emu.Rules(emulator.DefaultAccountID) {
		if r.IsEgress() {
			out = append(out, r)
		}
	}
	return out
}

// otherRules returns the emulator's non-egress rules, as text (every field).
func otherRules(emu *emulator.Emulator) string {
	var b strings.Builder
	for _, r := range emu.Rules(emulator.DefaultAccountID) {
		if !r.IsEgress() {
			fmt.Fprintf(&b, "%+v\n", r)
		}
	}
	return b.String()
}

// divergence compares the account's egress rules with the configuration.
type divergence struct {
	Orphaned, Duplicated, Misordered, Wrong int
	Details                                 []string
}

func (d divergence) ok() bool {
	return d.Orphaned == 0 && d.Duplicated == 0 && d.Misordered == 0 && d.Wrong == 0
}

func (d divergence) String() string {
	s := fmt.Sprintf("%d orphaned, %d duplicated, %d wrongly ordered, %d with wrong content",
		d.Orphaned, d.Duplicated, d.Misordered, d.Wrong)
	if len(d.Details) > 0 {
		s += ": " + strings.Join(d.Details, "; ")
	}
	return s
}

// compare reports how the account's egress rules differ from ps: rules not
// in the config (orphaned), names stored more than once (duplicated),
// positions where the order differs (wrongly ordered; also counts a missing
// rule) and rules whose content differs from the config.
func compare(rules []emulator.Rule, ps []pol) divergence {
	var d divergence
	want := map[string]pol{}
	for _, p := range ps {
		want[p.Name] = p
	}
	seen := map[string]int{}
	var order []string
	for _, r := range rules {
		seen[r.Name]++
		p, ok := want[r.Name]
		switch {
		case !ok:
			d.Orphaned++
			d.Details = append(d.Details, fmt.Sprintf("orphan %q", r.Name))
			continue
		case seen[r.Name] > 1:
			d.Duplicated++
			d.Details = append(d.Details, fmt.Sprintf("duplicate %q", r.Name))
			continue
		}
		order = append(order, r.Name)
		if msg := contentDiff(r, p); msg != "" {
			d.Wrong++
			d.Details = append(d.Details, fmt.Sprintf("%q: %s", r.Name, msg))
		}
	}
	for i, p := range ps {
		if i >= len(order) || order[i] != p.Name {
			d.Misordered++
		}
	}
	if d.Misordered > 0 {
		var names []string
		for _, p := range ps {
			names = append(names, p.Name)
		}
		d.Details = append(d.Details, fmt.Sprintf("order %v, want %v", order, names))
	}
	return d
}

func contentDiff(r emulator.Rule, p pol) string {
	var msgs []string
	if !expr.Equivalent(r.Traffic, p.traffic()) {
		msgs = append(msgs, fmt.Sprintf("traffic %q, want %q", r.Traffic, p.traffic()))
	}
	if r.Enabled != p.Enabled {
		msgs = append(msgs, fmt.Sprintf("enabled %v", r.Enabled))
	}
	if r.Description != p.Desc {
		msgs = append(msgs, fmt.Sprintf("description %q, want %q", r.Description, p.Desc))
	}
	e := egressChoices[p.Egress]
	got := r.RuleSettings.Egress
	switch {
	case e.ipv4 == "" && got != nil && (got.IPv4 != "" || got.IPv6 != "" || got.IPv4Fallback != ""):
		msgs = append(msgs, fmt.Sprintf("egress %+v, want default", *got))
	case e.ipv4 != "" && (got == nil || !sameAddr(got.IPv4, e.ipv4) || !samePrefix(got.IPv6, e.ipv6) || !sameAddr(got.IPv4Fallback, e.fallback)):
		msgs = append(msgs, fmt.Sprintf("egress %+v, want %+v", got, e))
	}
	return strings.Join(msgs, ", ")
}

func sameAddr(a, b string) bool {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	return err1 == nil && err2 == nil && x == y
}

func samePrefix(a, b string) bool {
	x, err1 := netip.ParsePrefix(a)
	y, err2 := netip.ParsePrefix(b)
	return err1 == nil && err2 == nil && x.Masked() == y.Masked()
}

// enginePolicies converts stored egress rules (precedence order) to
// compiled engine policies.
func enginePolicies(rules []emulator.Rule) ([]engine.Policy, error) {
	var out []engine.Policy
	for _, r := range rules {
		if !r.IsEgress() {
			continue
		}
		p := engine.Policy{ID: r.ID, Name: r.Name, Enabled: r.Enabled, Traffic: r.Traffic,
			Identity: r.Identity, DevicePosture: r.DevicePosture, Egress: engine.Egress{Method: engine.MethodDefault}}
		if e := r.RuleSettings.Egress; e != nil && e.IPv4 != "" {
			p.Egress.Method = engine.MethodDedicated
			var err error
			if p.Egress.IPv4, err = netip.ParseAddr(e.IPv4); err != nil {
				return nil, err
			}
			if p.Egress.IPv6, err = netip.ParsePrefix(e.IPv6); err != nil {
				return nil, err
			}
			p.Egress.IPv6 = p.Egress.IPv6.Masked()
			if e.IPv4Fallback != "" {
				if p.Egress.IPv4Fallback, err = netip.ParseAddr(e.IPv4Fallback); err != nil {
					return nil, err
				}
			}
		}
		m, err := expr.CompilePolicy(p.Traffic, p.Identity, p.DevicePosture)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %v", r.Name, err)
		}
		p.Match = m
		out = append(out, p)
	}
	return out, nil
}
