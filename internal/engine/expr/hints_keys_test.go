package expr

import (
	"reflect"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

type keys = map[string][]string

// TestHintsKeysTight: Hints.Keys for the string fields the engine's index
// narrows by (engine.KeyHintFields), one row per rule of hints_keys.go.
func TestHintsKeysTight(t *testing.T) {
	cases := []struct {
		name, traffic, identity string
		want                    keys // nil: no Keys at all
	}{
		{"eq", `net.src.geo.country == "JP"`, ``, keys{"net.src.geo.country": {"JP"}}},
		{"values kept byte for byte (no case folding)", `net.src.geo.country == "jp"`, ``, keys{"net.src.geo.country": {"jp"}}},
		{"in: sorted, deduplicated", `net.dst.geo.country in {"US" "JP" "US"}`, ``, keys{"net.dst.geo.country": {"JP", "US"}}},
		{"every scalar key field", `net.src.geo.continent == "AS" and net.dst.geo.continent == "EU" and net.vnet_id == "v" and proxy.endpoint == "p" and net.fqdn.host == "h"`,
			`identity.email == "e" and identity.name == "n"`,
			keys{"net.src.geo.continent": {"AS"}, "net.dst.geo.continent": {"EU"}, "net.vnet_id": {"v"}, "proxy.endpoint": {"p"}, "net.fqdn.host": {"h"}, "identity.email": {"e"}, "identity.name": {"n"}}},
		{"expressions are ANDed", `net.dst.ip in {10.0.0.0/8}`, `identity.email == "a"`, keys{"identity.email": {"a"}}},
		{"scalar AND intersects", `net.src.geo.country in {"JP" "US" "MX"} and net.src.geo.country in {"US" "MX" "DE"}`, ``, keys{"net.src.geo.country": {"MX", "US"}}},
		{"scalar AND disjoint: empty, non-nil", `net.src.geo.country == "JP" and net.src.geo.country == "US"`, ``, keys{"net.src.geo.country": {}}},
		{"AND keeps a field constrained by one conjunct", `net.src.geo.country == "JP" and identity.email matches "x"`, ``, keys{"net.src.geo.country": {"JP"}}},
		{"OR unions when every disjunct constrains", `net.src.geo.country == "JP" or net.src.geo.country in {"US" "JP"}`, ``, keys{"net.src.geo.country": {"JP", "US"}}},
		{"OR with an unconstrained disjunct", `net.src.geo.country == "JP" or net.dst.port == 443`, ``, nil},
		{"OR keeps only common fields", `(net.src.geo.country == "JP" and identity.email == "a") or (net.src.geo.country == "US" and identity.name == "n")`, ``,
			keys{"net.src.geo.country": {"JP", "US"}}},
		{"not(==): no constraint", `not(net.src.geo.country == "JP")`, ``, nil},
		{"!=: no constraint", `net.src.geo.country != "JP"`, ``, nil},
		{"not(!=) is ==", `not(net.src.geo.country != "JP")`, ``, keys{"net.src.geo.country": {"JP"}}},
		{"not(in): no constraint", `not(net.src.geo.country in {"JP" "US"})`, ``, nil},
		{"not(a or b) = not a and not b", `not(net.src.geo.country != "JP" or identity.email != "a")`, ``, keys{"net.src.geo.country": {"JP"}, "identity.email": {"a"}}},
		{"not(a and b) = not a or not b", `not(net.src.geo.country != "JP" and identity.email != "a")`, ``, nil},
		{"not(a and b), same field", `not(net.src.geo.country != "JP" and net.src.geo.country != "US")`, ``, keys{"net.src.geo.country": {"JP", "US"}}},
		{"matches: no constraint", `net.fqdn.host matches "^api\\."`, ``, nil},
		{"$list: no constraint", `net.fqdn.host in $0a1b2c3d-0000-4000-8000-000000000000`, ``, nil},
		{"scalar with [*]", `net.fqdn.host[*] == "h"`, ``, keys{"net.fqdn.host": {"h"}}},
		{"array any ==", `any(net.fqdn.domains[*] == "example.com")`, ``, keys{"net.fqdn.domains": {"example.com"}}},
		{"array in", `net.fqdn.domains in {"b.com" "a.com"}`, ``, keys{"net.fqdn.domains": {"a.com", "b.com"}}},
		{"array [*] in", `net.fqdn.domains[*] in {"a.com"}`, ``, keys{"net.fqdn.domains": {"a.com"}}},
		{"groups name", `any(identity.groups[*].name in {"Eng" "Ops"})`, ``, keys{"identity.groups.name": {"Eng", "Ops"}}},
		{"groups id and email", `any(identity.groups[*].id == "g1")`, `any(identity.groups[*].email == "eng@example.com")`,
			keys{"identity.groups.id": {"g1"}, "identity.groups.email": {"eng@example.com"}}},
		{"array !=: no constraint", `any(net.fqdn.domains[*] != "a.com")`, ``, nil},
		{"not(any(==)): no constraint", `not(any(net.fqdn.domains[*] == "a.com"))`, ``, nil},
		{"not(any(!=)) holds for an empty array: no constraint", `not(any(net.fqdn.domains[*] != "a.com"))`, ``, nil},
		{"array AND keeps one list, never intersects", `any(identity.groups[*].name == "Eng") and any(identity.groups[*].name in {"Ops" "Fin"})`, ``,
			keys{"identity.groups.name": {"Eng"}}},
		{"array OR unions", `any(net.fqdn.domains[*] == "a.com") or net.fqdn.domains in {"b.com"}`, ``, keys{"net.fqdn.domains": {"a.com", "b.com"}}},
		{"saml and posture are not key fields", `net.dst.port == 1`, `any(identity.saml_attributes["dept"] == "x") and identity.saml_attributes == "dept=x"`, nil},
		{"protocol is a Protocols hint, not a key", `net.protocol == "tcp"`, ``, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := CompilePolicy(tc.traffic, tc.identity, "")
			if err != nil {
				t.Fatalf("%s / %s: %v", tc.traffic, tc.identity, err)
			}
			if got := p.Hints().Keys; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Hints(%s / %s).Keys\n got %#v\nwant %#v", tc.traffic, tc.identity, got, tc.want)
			}
		})
	}
}

// TestHintsKeysOnlyIndexedFields: every field the hints name is one the
// engine's index uses.
func TestHintsKeysOnlyIndexedFields(t *testing.T) {
	idx := map[string]bool{}
	for _, f := range engine.KeyHintFields() {
		idx[f] = true
	}
	for name := range keyHintField {
		if !idx[name] {
			t.Errorf("%s is hinted but not in engine.KeyHintFields", name)
		}
	}
	// Every KeyHintFields field is a plain string field of the language, so
	// none is silently dropped.
	for f := range idx {
		if _, ok := keyHintField[f]; !ok {
			t.Errorf("engine.KeyHintFields lists %s, which expr never hints", f)
		}
	}
}

// The hints a Program hands out are its own copies: changing them does not
// change the next call's answer.
func TestHintsKeysAreCopies(t *testing.T) {
	p, err := CompilePolicy(`net.src.geo.country in {"JP" "US"}`, ``, ``)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Hints()
	h.Keys["net.src.geo.country"][0] = "XX"
	h.Keys["identity.email"] = []string{"x"}
	if got := p.Hints().Keys; !reflect.DeepEqual(got, map[string][]string{"net.src.geo.country": {"JP", "US"}}) {
		t.Fatalf("hints changed through a returned copy: %#v", got)
	}
}
