package lint

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// Test inventory: two IPs in NRT, one in KIX, one in LAX.
var testInv = []engine.DedicatedIP{
	{IPv4: netip.MustParseAddr("203.0.113.1"), IPv6Range: netip.MustParsePrefix("2001:db8:1::/64"), Colo: "NRT"},
	{IPv4: netip.MustParseAddr("203.0.113.2"), IPv6Range: netip.MustParsePrefix("2001:db8:2::/64"), Colo: "KIX"},
	{IPv4: netip.MustParseAddr("203.0.113.3"), IPv6Range: netip.MustParsePrefix("2001:db8:3::/64"), Colo: "LAX"},
	{IPv4: netip.MustParseAddr("203.0.113.4"), IPv6Range: netip.MustParsePrefix("2001:db8:4::/64"), Colo: "NRT"},
}

type opt func(*Policy)

// pol is an enabled policy, all values known, egress dedicated NRT with a
// KIX fallback.
func pol(name, traffic string, opts ...opt) Policy {
	p := Policy{
		Name: name, NameKnown: true, Enabled: true, EnabledKnown: true,
		Traffic: traffic, TrafficKnown: true, IdentityKnown: true, PostureKnown: true,
		Method: "dedicated", IPv4: "203.0.113.1", IPv6: "2001:db8:1::/64", IPv4Fallback: "203.0.113.2",
		IPv4Known: true, IPv6Known: true, FallbackKnown: true,
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func ded(v4, v6, fb string) opt {
	return func(p *Policy) { p.Method, p.IPv4, p.IPv6, p.IPv4Fallback = "dedicated", v4, v6, fb }
}

var (
	nrt  = ded("203.0.113.1", "2001:db8:1::/64", "203.0.113.2")
	kix  = ded("203.0.113.2", "2001:db8:2::/64", "203.0.113.1")
	lax  = ded("203.0.113.3", "2001:db8:3::/64", "203.0.113.1")
	dflt = func(p *Policy) { p.Method, p.IPv4, p.IPv6, p.IPv4Fallback = "default", "", "", "" }
	off  = func(p *Policy) { p.Enabled = false }
)

func identity(src string) opt { return func(p *Policy) { p.Identity = src } }
func ignore(rules ...string) opt {
	return func(p *Policy) { p.LintIgnore = rules }
}

const catchAll = `net.protocol in {"tcp" "udp"}`

func summary(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		s := fmt.Sprintf("%d:%s:%s", f.Index, f.Rule, f.Severity)
		if f.Possibly {
			s += ":possibly"
		}
		out = append(out, s)
	}
	return out
}

func TestLintRules(t *testing.T) {
	inv := func(in Input) Input { in.Inventory, in.InventoryKnown = testInv, true; return in }
	cases := []struct {
		name string
		in   Input
		want []string
		// covering: for the first finding of rule cover.rule, the expected Covering.
		cover map[string][]int
	}{
		{name: "clean", in: inv(Input{Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
			pol("web", `net.dst.port == 80`, kix),
			pol("rest", catchAll, dflt),
		}})},
		{name: "duplicate_name", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, nrt),
			pol("a", `net.dst.port == 80`, kix),
			pol("rest", catchAll, dflt),
		}}), want: []string{"1:duplicate_name:error"}},
		{name: "empty_name", in: inv(Input{Policies: []Policy{
			pol(" ", `net.dst.port == 443`, nrt),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:empty_name:error"}},
		{name: "unknown name is not empty", in: inv(Input{Policies: []Policy{
			pol("", `net.dst.port == 443`, nrt, func(p *Policy) { p.NameKnown = false }),
			pol("rest", catchAll, dflt),
		}})},
		{name: "expression_syntax", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port in {80 and`, nrt),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:expression_syntax:error"}},
		{name: "expression_type", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == "abc"`, nrt),
			pol("b", `net.dst.ip == 80`, nrt),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:expression_type:error", "1:expression_type:error"}},
		{name: "quoted number and CIDR are fine", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == "2222"`, nrt),
			pol("b", `net.src.internal_src_ip == "192.168.86.0/27"`, kix),
			pol("rest", catchAll, dflt),
		}})},
		{name: "cannot_analyse from the API", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port in {80 and`, nrt, func(p *Policy) { p.FromAPI = true }),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:cannot_analyse:warning"}},
		{name: "cannot_analyse too complex", in: inv(Input{Policies: []Policy{
			pol("a", complexExpr(12), nrt),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:cannot_analyse:warning"}},
		{name: "dedicated_missing_ip", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, ded("203.0.113.1", "", "")),
			pol("b", `net.dst.port == 80`, ded("203.0.113.1", "2001:db8:1::/64", ""), func(p *Policy) { p.FallbackKnown = false }),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:dedicated_missing_ip:error", "0:dedicated_missing_ip:error"}},
		{name: "default_with_ip", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, dflt, func(p *Policy) { p.IPv4 = "203.0.113.1" }),
			pol("rest", catchAll, nrt),
		}}), want: []string{"0:default_with_ip:error"}},
		{name: "fallback_same_colo", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, ded("203.0.113.1", "2001:db8:1::/64", "203.0.113.4")),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:fallback_same_colo:error"}},
		{name: "fallback_same_colo needs the inventory", in: Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, ded("203.0.113.1", "2001:db8:1::/64", "203.0.113.4")),
			pol("rest", catchAll, dflt),
		}}},
		{name: "fallback_equals_primary", in: Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, ded("203.0.113.1", "2001:db8:1::/64", "::ffff:203.0.113.1")),
			pol("rest", catchAll, dflt),
		}}, want: []string{"0:fallback_equals_primary:error"}},
		{name: "ipv6_fallback", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, nrt, func(p *Policy) { p.IPv6Fallback = "2001:db8:2::/64" }),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:ipv6_fallback:error"}},
		{name: "fallback_local", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, ded("203.0.113.1", "2001:db8:1::/64", "0.0.0.0")),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:fallback_local:warning"}},
		{name: "split_location", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, ded("203.0.113.1", "2001:db8:2::/64", "203.0.113.2")),
			pol("b", `net.dst.port == 80`, ded("203.0.113.1", "2001:db8:4::/64", "203.0.113.2")), // NRT too
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:split_location:warning"}},
		{name: "ip_not_dedicated", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, ded("198.51.100.1", "2001:db8:1::/64", "198.51.100.2")),
			pol("b", `net.dst.port == 80`, ded("203.0.113.1", "2001:db8:9::/64", "203.0.113.2")),
			pol("c", `net.dst.port == 22`, ded("203.0.113.1", "2001:DB8:1:0:8000::/80", "203.0.113.2")), // inside the range
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:ip_not_dedicated:error", "0:ip_not_dedicated:error", "1:ip_not_dedicated:error"}},
		{name: "malformed IPs are the validators' job", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, ded("203.0.113", "nope", "1.2.3.4.5")),
			pol("rest", catchAll, dflt),
		}})},
		{name: "inventory_too_small: one IP", in: Input{InventoryKnown: true, Inventory: testInv[:1], Policies: []Policy{
			pol("a", `net.dst.port == 443`, ded("203.0.113.1", "2001:db8:1::/64", "0.0.0.0")),
			pol("rest", catchAll, dflt),
		}}, want: []string{"-1:inventory_too_small:warning", "0:fallback_local:warning"}},
		{name: "inventory_too_small: one colo", in: Input{InventoryKnown: true, Inventory: []engine.DedicatedIP{testInv[0], testInv[3]}, Policies: []Policy{
			pol("rest", catchAll, dflt),
		}}, want: []string{"-1:inventory_too_small:warning"}},
		{name: "inventory_too_small silenced by the last policy", in: Input{InventoryKnown: true, Inventory: []engine.DedicatedIP{testInv[0], testInv[3]}, Policies: []Policy{
			pol("rest", catchAll, dflt, ignore(RuleInventoryTooSmall)),
		}}},
		{name: "host_selector", in: inv(Input{Policies: []Policy{
			pol("a", `net.fqdn.host == "example.com"`, nrt),
			pol("b", `any(app.ids[*] in {505})`, kix),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:host_selector:warning", "1:host_selector:warning"}},

		// Order analysis.
		{name: "shadowed", in: inv(Input{Policies: []Policy{
			pol("web", `net.dst.port in {80 443}`, nrt),
			pol("https", `net.dst.port == 443 and net.dst.ip in {10.0.0.0/8}`, kix),
			pol("rest", catchAll, dflt),
		}}), want: []string{"1:shadowed:error"}, cover: map[string][]int{RuleShadowed: {0}}},
		{name: "shadowed by a union", in: inv(Input{Policies: []Policy{
			pol("low", `net.dst.port < 1000`, nrt),
			pol("tcp", `net.dst.port >= 1000 and net.protocol == "tcp"`, kix),
			pol("x", `net.dst.ip in {10.0.0.0/8} and net.dst.port >= 900 and net.protocol == "tcp"`, lax),
			pol("rest", catchAll, dflt),
		}}), want: []string{"2:shadowed:error"}, cover: map[string][]int{RuleShadowed: {0, 1}}},
		{name: "not shadowed: udp escapes", in: inv(Input{Policies: []Policy{
			pol("low", `net.dst.port < 1000`, nrt),
			pol("tcp", `net.dst.port >= 1000 and net.protocol == "tcp"`, kix),
			pol("x", `net.dst.ip in {10.0.0.0/8} and net.dst.port >= 900`, lax),
			pol("rest", catchAll, dflt),
		}})},
		{name: "contradiction matches nothing", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 80 and net.dst.port == 443`, nrt),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:shadowed:error"}},
		{name: "disabled policies do not shadow", in: inv(Input{Policies: []Policy{
			pol("all", catchAll, dflt, off),
			pol("https", `net.dst.port == 443`, nrt),
			pol("rest", `net.dst.ip != 0.0.0.0`, dflt),
		}})},
		{name: "catch_all_not_last (protocol idiom)", in: inv(Input{Policies: []Policy{
			pol("all", catchAll, dflt),
			pol("https", `net.dst.port == 443`, nrt),
		}}), want: []string{"0:catch_all_not_last:error", "1:shadowed:error"}, cover: map[string][]int{RuleCatchAllNotLast: {1}, RuleShadowed: {0}}},
		{name: "catch_all_not_last (0.0.0.0 idiom)", in: inv(Input{Policies: []Policy{
			pol("all", `net.dst.ip != 0.0.0.0`, dflt),
			pol("https", `net.dst.port == 443`, nrt),
		}}), want: []string{"0:catch_all_not_last:error", "1:shadowed:error"}},
		{name: "catch-all followed only by disabled policies", in: inv(Input{Policies: []Policy{
			pol("all", catchAll, dflt),
			pol("https", `net.dst.port == 443`, nrt, off),
		}})},
		{name: "missing_catch_all", in: inv(Input{Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
		}}), want: []string{"-1:missing_catch_all:warning"}},
		{name: "missing_catch_all required", in: inv(Input{CatchAll: CatchAllRequired, Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
		}}), want: []string{"-1:missing_catch_all:error"}},
		{name: "empty list: nothing recommended", in: inv(Input{})},
		{name: "empty list: a catch-all is required", in: inv(Input{CatchAll: CatchAllRequired}), want: []string{"-1:missing_catch_all:error"}},
		{name: "missing_catch_all off", in: inv(Input{CatchAll: CatchAllOff, Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
		}})},
		{name: "missing_catch_all silenced by the last policy", in: inv(Input{Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
			pol("web", `net.dst.port == 80`, kix, ignore(RuleMissingCatchAll)),
		}})},
		{name: "tcp + udp together are a catch-all", in: inv(Input{CatchAll: CatchAllRequired, Policies: []Policy{
			pol("tcp", `net.protocol == "tcp"`, nrt),
			pol("udp", `net.protocol == "udp"`, kix),
		}})},
		{name: "missing_catch_all suppressed by an unknown expression", in: inv(Input{Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
			pol("x", ``, kix, func(p *Policy) { p.TrafficKnown = false }),
		}})},
		{name: "missing_catch_all possibly (regex)", in: inv(Input{Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
			pol("hosts", `net.fqdn.host matches ".*"`, kix),
		}}), want: []string{"-1:missing_catch_all:warning:possibly", "1:host_selector:warning"}},
		{name: "unknown expression never shadows", in: inv(Input{Policies: []Policy{
			pol("x", ``, kix, func(p *Policy) { p.TrafficKnown = false }),
			pol("https", `net.dst.port == 443`, nrt),
			pol("rest", catchAll, dflt),
		}})},
		{name: "unknown expression after a catch-all", in: inv(Input{Policies: []Policy{
			pol("rest", catchAll, dflt),
			pol("x", ``, kix, func(p *Policy) { p.TrafficKnown = false }),
		}}), want: []string{"0:catch_all_not_last:error"}},
		{name: "unknown enabled after a catch-all", in: inv(Input{Policies: []Policy{
			pol("rest", catchAll, dflt),
			pol("x", `net.dst.port == 443`, kix, func(p *Policy) { p.EnabledKnown = false }),
		}})},
		{name: "redundant: a later policy decides the same", in: inv(Input{Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
			pol("web", `net.dst.port in {80 443}`, ded("203.0.113.1", "2001:DB8:1:0::/64", "::ffff:203.0.113.2")),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:redundant:warning"}, cover: map[string][]int{RuleRedundant: {1}}},
		{name: "not redundant: different fallback", in: inv(Input{Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
			pol("web", `net.dst.port in {80 443}`, ded("203.0.113.1", "2001:db8:1::/64", "203.0.113.3")),
			pol("rest", catchAll, dflt),
		}})},
		{name: "not redundant: a different policy in between", in: inv(Input{Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
			pol("ten", `net.dst.ip in {10.0.0.0/8}`, kix),
			pol("web", `net.dst.port in {80 443}`, nrt),
			pol("rest", catchAll, dflt),
		}})},
		{name: "redundant: the policy in between takes the differing flows first", in: inv(Input{Policies: []Policy{
			pol("ten", `net.dst.ip in {10.0.0.0/8}`, kix),
			pol("https", `net.dst.port == 443`, nrt),
			pol("ten2", `net.dst.ip in {10.0.0.0/8}`, lax),
			pol("web", `net.dst.port in {80 443}`, nrt),
			pol("rest", catchAll, dflt),
		}}), want: []string{"1:redundant:warning", "2:shadowed:error"}},
		{name: "redundancy blocked by an unknown expression", in: inv(Input{Policies: []Policy{
			pol("https", `net.dst.port == 443`, nrt),
			pol("x", ``, kix, func(p *Policy) { p.TrafficKnown = false }),
			pol("web", `net.dst.port in {80 443}`, nrt),
			pol("rest", catchAll, dflt),
		}})},
		{name: "redundant with the no-match behaviour: the only dedicated IP", in: Input{InventoryKnown: true, Inventory: testInv[:1], CatchAll: CatchAllOff, Policies: []Policy{
			pol("https", `net.dst.port == 443`, ded("203.0.113.1", "2001:db8:1::/64", "")),
		}}, want: []string{"-1:inventory_too_small:warning", "0:dedicated_missing_ip:error", "0:redundant:warning"}},
		{name: "unknown fallback: no-match comparison undecided", in: Input{InventoryKnown: true, Inventory: testInv[:1], CatchAll: CatchAllOff, Policies: []Policy{
			pol("https", `net.dst.port == 443`, ded("203.0.113.1", "2001:db8:1::/64", ""), func(p *Policy) { p.FallbackKnown = false }),
		}}, want: []string{"-1:inventory_too_small:warning"}},
		{name: "redundant with the no-match behaviour: default without dedicated IPs", in: Input{InventoryKnown: true, CatchAll: CatchAllOff, Policies: []Policy{
			pol("https", `net.dst.port == 443`, dflt),
		}}, want: []string{"-1:inventory_too_small:warning", "0:redundant:warning"}},
		{name: "default is never the no-match behaviour with dedicated IPs", in: inv(Input{CatchAll: CatchAllOff, Policies: []Policy{
			pol("https", `net.dst.port == 443`, dflt),
		}})},
		{name: "no-match undecidable without the inventory", in: Input{CatchAll: CatchAllOff, Policies: []Policy{
			pol("https", `net.dst.port == 443`, dflt),
		}}},

		// Opaque atoms: "possibly", never certain.
		{name: "possibly shadowed through a shared regex", in: inv(Input{Policies: []Policy{
			pol("a", `net.fqdn.host matches "^a"`, nrt),
			pol("b", `net.fqdn.host matches "^a" and net.dst.port == 443`, kix),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:host_selector:warning", "1:host_selector:warning", "1:shadowed:warning:possibly"}},
		{name: "regex proves nothing", in: inv(Input{Policies: []Policy{
			pol("a", `net.fqdn.host matches ".*"`, nrt),
			pol("b", `net.dst.port == 443`, kix),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:host_selector:warning"}},
		{name: "regex in the covered policy only: certain", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.port == 443`, nrt),
			pol("b", `net.fqdn.host matches "^a" and net.dst.port == 443`, kix),
			pol("rest", catchAll, dflt),
		}}), want: []string{"1:host_selector:warning", "1:shadowed:error"}},
		{name: "a tautology over a list is a catch-all whatever the list holds", in: inv(Input{Policies: []Policy{
			pol("a", `net.dst.ip in $3f2b1f6a-0000-4000-8000-000000000001 or not(net.dst.ip in $3f2b1f6a-0000-4000-8000-000000000001)`, nrt),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:catch_all_not_last:error", "1:shadowed:error"}},
		{name: "possibly a catch-all", in: inv(Input{Policies: []Policy{
			pol("a", `(net.dst.ip in $3f2b1f6a-0000-4000-8000-000000000001 and net.dst.port == 80) or not(net.dst.ip in $3f2b1f6a-0000-4000-8000-000000000001) or net.dst.port != 80`, nrt),
			pol("rest", catchAll, dflt),
		}}), want: []string{"0:catch_all_not_last:warning:possibly", "1:shadowed:warning:possibly"}},
		{name: "identity expressions are ANDed", in: inv(Input{Policies: []Policy{
			pol("eng", catchAll, nrt, identity(`any(identity.groups[*].name == "eng")`)),
			pol("eng-https", `net.dst.port == 443`, kix, identity(`any(identity.groups[*].name in {"eng"}) and identity.email == "a@example.com"`)),
			pol("rest", catchAll, dflt),
		}}), want: []string{"1:shadowed:error"}},
		{name: "lint_ignore silences per policy", in: inv(Input{Policies: []Policy{
			pol("web", `net.dst.port in {80 443}`, nrt),
			pol("https", `net.dst.port == 443`, kix, ignore(RuleShadowed)),
			pol("rest", catchAll, dflt),
		}})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := Lint(c.in)
			got := summary(fs)
			want := append([]string(nil), c.want...)
			if !slices.Equal(got, want) {
				t.Fatalf("findings:\n got %q\nwant %q\n%s", got, want, dump(fs))
			}
			for rule, cov := range c.cover {
				for _, f := range fs {
					if f.Rule == rule {
						if !slices.Equal(f.Covering, cov) {
							t.Errorf("%s covering = %v, want %v", rule, f.Covering, cov)
						}
						break
					}
				}
			}
			for _, f := range fs {
				if f.Message == "" || (f.Index >= 0 && f.Policy != c.in.Policies[f.Index].Name) {
					t.Errorf("bad finding %+v", f)
				}
				if f.Possibly && (f.Severity != SeverityWarning || !strings.Contains(f.Message, "possibly")) {
					t.Errorf("a possibly finding must be a warning saying so: %+v", f)
				}
			}
		})
	}
}

func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

func complexExpr(n int) string {
	var parts []string
	for i := 1; i <= n; i++ {
		parts = append(parts, fmt.Sprintf("(net.dst.port != %d or net.src.port != %d)", i, i))
	}
	return strings.Join(parts, " and ")
}

func TestRulesAndModes(t *testing.T) {
	if n := len(Rules()); n != 22 {
		t.Errorf("Rules() has %d IDs, want the 19 of issue 4 and the 3 of issue 12", n)
	}
	for _, r := range []string{RuleExpressionTooLong, RuleNeverMatches, RuleWrongSlot} {
		if !slices.Contains(Rules(), r) {
			t.Errorf("Rules() lacks %s", r)
		}
	}
	if !slices.IsSorted(Rules()) {
		t.Errorf("Rules() not sorted")
	}
	if got := CatchAllModes(); !slices.Equal(got, []CatchAllMode{"required", "recommended", "off"}) {
		t.Errorf("CatchAllModes() = %v", got)
	}
}

func TestDeterministicOrder(t *testing.T) {
	in := Input{Inventory: testInv, InventoryKnown: true, Policies: []Policy{
		pol("a", catchAll, dflt),
		pol("a", `net.dst.port == 443`, ded("198.51.100.1", "2001:db8:2::/64", "0.0.0.0")),
	}}
	first := Lint(in)
	for i := 0; i < 5; i++ {
		if got := Lint(in); !slices.EqualFunc(got, first, func(a, b Finding) bool { return a.String() == b.String() }) {
			t.Fatalf("run %d differs", i)
		}
	}
	for i := 1; i < len(first); i++ {
		if first[i-1].Index > first[i].Index || (first[i-1].Index == first[i].Index && first[i-1].Rule > first[i].Rule) {
			t.Fatalf("not ordered by index, rule: %s", dump(first))
		}
	}
}

// TestPathologicalIsBounded: expressions built to blow up the box count are
// cut off quickly (cannot_analyse), never hang.
func TestPathologicalIsBounded(t *testing.T) {
	var ps []Policy
	for i := 0; i < 20; i++ {
		ps = append(ps, pol(fmt.Sprint("p", i), complexExpr(7+i%5), nrt))
		ps = append(ps, pol(fmt.Sprint("q", i), "not("+complexExpr(6)+") or net.dst.port == "+fmt.Sprint(i+1), kix))
	}
	start := time.Now()
	fs, _ := LintWithStats(Input{Policies: ps, Inventory: testInv, InventoryKnown: true})
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	n := 0
	for _, f := range fs {
		if f.Rule == RuleCannotAnalyse {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("expected cannot_analyse findings:\n%s", dump(fs))
	}
}

// TestMissingCatchAllGroupSelectorsReadOneGroupList is the regression test
// for missing_catch_all reported as an error although the policies cover
// every flow, because lint treated identity.groups.id, .name and .email as
// three independent arrays: it invented a user with group IDs but no group
// names. The three selectors read one list of groups.
func TestMissingCatchAllGroupSelectorsReadOneGroupList(t *testing.T) {
	grouped := pol("grouped", "", identity(`any(identity.groups[*].id == "x") or any(identity.groups[*].id != "x")`))
	ungrouped := pol("ungrouped", "", identity(`not(any(identity.groups[*].name == "x")) and not(any(identity.groups[*].name != "x"))`))
	noEmail := pol("no-group-email", "", identity(`not(any(identity.groups[*].email == "x")) and not(any(identity.groups[*].email != "x"))`))
	for _, ps := range [][]Policy{{grouped, ungrouped}, {ungrouped, grouped}, {grouped, noEmail}} {
		in := Input{Policies: ps, Inventory: testInv, InventoryKnown: true, CatchAll: CatchAllRequired}
		for _, f := range Lint(in) {
			if f.Rule == RuleMissingCatchAll {
				t.Errorf("%s, %s: %s", ps[0].Name, ps[1].Name, f)
			}
		}
	}
	// A real gap is still found: users in groups other than G.
	onlyG := pol("only-g", "", identity(`any(identity.groups[*].id == "G")`))
	in := Input{Policies: []Policy{onlyG, ungrouped}, Inventory: testInv, InventoryKnown: true, CatchAll: CatchAllRequired}
	if got := summary(Lint(in)); !slices.Contains(got, "-1:missing_catch_all:error") {
		t.Errorf("findings %v, want the missing_catch_all error", got)
	}
	// The engine agrees: a user in some group, and one in none, match.
	for _, groups := range [][]engine.Group{{{ID: "a", Name: "b", Email: "c"}}, {}} {
		f := engine.Flow{IngressColo: "NRT", DestinationIP: netip.MustParseAddr("198.51.100.1"), Protocol: "tcp", DestinationPort: 443, Groups: groups}
		d := decideLint(t, []Policy{grouped, ungrouped}, f)
		if d.Outcome != engine.OutcomePolicy {
			t.Errorf("groups %v: outcome %s, want a policy", groups, d.Outcome)
		}
	}
}

// decideLint decides f with the engine on lint policies (dedicated NRT
// egress, as pol builds them).
func decideLint(t *testing.T, ps []Policy, f engine.Flow) engine.Decision {
	t.Helper()
	d, err := engine.Decide(enginePolicies(t, ps), testInv, nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// enginePolicies compiles lint policies for the engine.
func enginePolicies(t *testing.T, ps []Policy) []engine.Policy {
	t.Helper()
	var eps []engine.Policy
	for _, p := range ps {
		m, err := expr.CompilePolicy(p.Traffic, p.Identity, p.DevicePosture)
		if err != nil {
			t.Fatal(err)
		}
		e := engine.Egress{Method: engine.Method(p.Method)}
		if p.Method == "dedicated" {
			e.IPv4, e.IPv6, e.IPv4Fallback = netip.MustParseAddr(p.IPv4), netip.MustParsePrefix(p.IPv6), netip.MustParseAddr(p.IPv4Fallback)
		}
		eps = append(eps, engine.Policy{Name: p.Name, Enabled: p.Enabled, Match: m, Egress: e})
	}
	return eps
}

// TestUnspecifiedDestinationOneContract is the regression test for lint
// and the engine disagreeing on the unspecified address: lint left 0.0.0.0
// and :: out of the destination space (so `net.dst.ip == 0.0.0.0` was a
// shadowed error) while decide() and expect routed a flow to 0.0.0.0. The
// contract: no flow goes to 0.0.0.0 or ::, both ways.
func TestUnspecifiedDestinationOneContract(t *testing.T) {
	// Lint: a policy that needs the unspecified destination matches
	// nothing, and says why; `!= 0.0.0.0` is a catch-all.
	for _, src := range []string{`net.dst.ip == 0.0.0.0`, `net.dst.ip == ::`, `net.dst.ip in {0.0.0.0 ::}`, `net.dst.ip == ::ffff:0.0.0.0`} {
		in := Input{Policies: []Policy{pol("unspecified", src), pol("all", catchAll, dflt)}, Inventory: testInv, InventoryKnown: true}
		fs := Lint(in)
		if got := summary(fs); !slices.Contains(got, "0:shadowed:error") {
			t.Errorf("%s: findings %v, want shadowed error", src, got)
		} else if !strings.Contains(fs[0].Message, "unspecified address") {
			t.Errorf("%s: message %q does not say why", src, fs[0].Message)
		}
	}
	in := Input{Policies: []Policy{pol("all", `net.dst.ip != 0.0.0.0`, dflt)}, Inventory: testInv, InventoryKnown: true, CatchAll: CatchAllRequired}
	if got := summary(Lint(in)); len(got) != 0 {
		t.Errorf("net.dst.ip != 0.0.0.0 alone: findings %v, want none (a catch-all)", got)
	}
	// Engine: the unspecified address is refused as a destination; every
	// other address matches the catch-all idiom.
	ps := []Policy{pol("all", `net.dst.ip != 0.0.0.0`)}
	for _, dst := range []string{"0.0.0.0", "::", "::ffff:0.0.0.0"} {
		f := engine.Flow{IngressColo: "NRT", DestinationIP: netip.MustParseAddr(dst), Protocol: "tcp", DestinationPort: 443}
		_, err := engine.Decide(enginePolicies(t, ps), testInv, nil, &f)
		if !errors.Is(err, engine.ErrInvalidFlow) || !strings.Contains(err.Error(), "unspecified address") {
			t.Errorf("Decide to %s: error %v, want the unspecified-address input error", dst, err)
		}
	}
	for _, dst := range []string{"0.0.0.1", "255.255.255.255", "::1", "2001:db8::"} {
		f := engine.Flow{IngressColo: "NRT", DestinationIP: netip.MustParseAddr(dst), Protocol: "udp", DestinationPort: 53}
		if d := decideLint(t, ps, f); d.Outcome != engine.OutcomePolicy {
			t.Errorf("Decide to %s: outcome %s, want the catch-all", dst, d.Outcome)
		}
	}
}
